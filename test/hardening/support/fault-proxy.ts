/**
 * A fault-injecting front for a contract fake on 127.0.0.1: every request is forwarded to the fake unless
 * a fault is queued (or set as sticky), in which case the proxy answers the fault itself. It records when
 * each request arrived and when its answer was sent, and counts TCP connections, so tests can measure
 * retry delays and prove that no connection was opened.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** What the proxy answers instead of forwarding. */
export type Fault =
  /** A status with optional headers and body (JSON when an object). */
  | { status: number; headers?: Record<string, string>; body?: unknown }
  /** Accept the request and never answer (until the client gives up or the proxy closes). */
  | { hang: true }
  /** A 200 JSON answer of `bytes` bytes, announced by Content-Length unless `chunked`. */
  | { bytes: number; chunked?: boolean }
  /** Forward, but only after this long. */
  | { delayMs: number };

/** One request as the proxy saw it. */
export interface ProxiedRequest {
  method: string;
  path: string;
  /** Lower-cased names. */
  headers: Record<string, string>;
  body: string;
  /** `performance.now()` when the request was complete. */
  receivedAt: number;
  /** `performance.now()` when the answer was finished (undefined for a hang). */
  answeredAt: number | undefined;
  /** The fault answered, or undefined when forwarded. */
  fault: Fault | undefined;
}

export interface FaultProxy {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  requests: ProxiedRequest[];
  /** TCP connections accepted so far. */
  readonly connections: number;
  /** Queues faults for the next requests, one each. */
  push(...faults: Fault[]): void;
  /** A fault for every request once the queue is empty; undefined forwards again. */
  always(fault: Fault | undefined): void;
  /** Forgets recorded requests, queued and sticky faults. */
  reset(): void;
  close(): Promise<void>;
}

function flatten(headers: IncomingMessage['headers']): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

/**
 * Starts the proxy in front of `upstream` (an `http://127.0.0.1:<port>` origin).
 *
 * @example
 * ```ts
 * const proxy = await startFaultProxy(github.baseUrl);
 * proxy.push({ status: 503 }, { status: 503 });
 * process.env.GITHUB_API_URL = proxy.url;
 * ```
 */
export async function startFaultProxy(upstream: string): Promise<FaultProxy> {
  const target = new URL(upstream);
  const queue: Fault[] = [];
  let sticky: Fault | undefined;
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();
  let connections = 0;

  const answer = (seen: ProxiedRequest, response: ServerResponse, fault: Fault): void => {
    if ('hang' in fault) return;
    if ('bytes' in fault) {
      const chunk = Buffer.alloc(64 * 1024, 'a');
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (fault.chunked !== true) headers['content-length'] = String(fault.bytes);
      response.writeHead(200, headers);
      let left = fault.bytes;
      const pump = (): void => {
        while (left > 0) {
          const size = Math.min(left, chunk.length);
          left -= size;
          if (!response.write(chunk.subarray(0, size))) {
            response.once('drain', pump);
            return;
          }
        }
        response.end(() => {
          seen.answeredAt = performance.now();
        });
      };
      response.on('error', () => undefined);
      pump();
      return;
    }
    if ('status' in fault) {
      const isText = typeof fault.body === 'string';
      const body =
        fault.body === undefined ? '' : isText ? (fault.body as string) : JSON.stringify(fault.body);
      response.writeHead(fault.status, {
        'content-type': isText ? 'text/plain' : 'application/json; charset=utf-8',
        ...fault.headers,
      });
      response.end(body, () => {
        seen.answeredAt = performance.now();
      });
    }
  };

  const forward = (
    seen: ProxiedRequest,
    raw: IncomingMessage,
    response: ServerResponse,
    body: Buffer,
  ): void => {
    const headers = { ...raw.headers, host: target.host };
    const upstreamRequest = httpRequest(
      { hostname: target.hostname, port: target.port, method: raw.method, path: raw.url, headers },
      (upstreamResponse) => {
        response.writeHead(upstreamResponse.statusCode ?? 502, upstreamResponse.headers);
        upstreamResponse.pipe(response);
        upstreamResponse.on('end', () => {
          seen.answeredAt = performance.now();
        });
      },
    );
    upstreamRequest.on('error', () => response.destroy());
    upstreamRequest.end(body);
  };

  const server = createServer((raw, response) => {
    const chunks: Buffer[] = [];
    raw.on('data', (chunk: Buffer) => chunks.push(chunk));
    raw.on('end', () => {
      const body = Buffer.concat(chunks);
      const fault = queue.shift() ?? sticky;
      const seen: ProxiedRequest = {
        method: raw.method ?? '',
        path: raw.url ?? '',
        headers: flatten(raw.headers),
        body: body.toString('utf8'),
        receivedAt: performance.now(),
        answeredAt: undefined,
        fault,
      };
      requests.push(seen);
      if (fault === undefined) {
        forward(seen, raw, response, body);
      } else if ('delayMs' in fault) {
        setTimeout(() => forward(seen, raw, response, body), fault.delayMs);
      } else {
        answer(seen, response, fault);
      }
    });
  });
  server.on('connection', (socket: Socket) => {
    connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    get connections() {
      return connections;
    },
    push: (...faults) => {
      queue.push(...faults);
    },
    always: (fault) => {
      sticky = fault;
    },
    reset: () => {
      queue.length = 0;
      sticky = undefined;
      requests.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
