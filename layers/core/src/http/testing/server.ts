/** A real `node:http` server on 127.0.0.1 for the HTTP client's tests: records requests, swappable handler. */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpClient } from '../client.ts';
import type { HttpClientOptions } from '../types.ts';

/** A request as the server saw it. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export type Handler = (request: SeenRequest, response: ServerResponse, raw: IncomingMessage) => void;

export interface TestServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  port: number;
  requests: SeenRequest[];
  /** TCP connections accepted so far. */
  connections: number;
  /** Replaces the handler for the next requests. */
  handle(handler: Handler): void;
  close(): Promise<void>;
}

const json: Handler = (_request, response) => {
  response.setHeader('content-type', 'application/json');
  response.end('{"ok":true}');
};

/**
 * Starts a server on an ephemeral port of 127.0.0.1.
 *
 * @example
 * ```ts
 * const server = await startServer((req, res) => res.end('hi'));
 * afterAll(() => server.close());
 * ```
 */
export async function startServer(handler: Handler = json): Promise<TestServer> {
  let current = handler;
  const requests: SeenRequest[] = [];
  const server = createServer((raw, response) => {
    const chunks: Buffer[] = [];
    raw.on('data', (chunk: Buffer) => chunks.push(chunk));
    raw.on('end', () => {
      const seen = {
        method: raw.method ?? '',
        url: raw.url ?? '',
        headers: raw.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(seen);
      current(seen, response, raw);
    });
  });
  const state: TestServer = {
    origin: '',
    port: 0,
    requests,
    connections: 0,
    handle(next) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server.on('connection', () => {
    state.connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.port = (server.address() as AddressInfo).port;
  state.origin = `http://127.0.0.1:${state.port}`;
  return state;
}

/**
 * A handler answering `status` with a JSON body and extra headers.
 *
 * @example
 * ```ts
 * server.handle(reply(503, { message: 'down' }, { 'retry-after': '1' }));
 * ```
 */
export function reply(status: number, body?: unknown, headers: Record<string, string> = {}): Handler {
  return (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(body === undefined ? undefined : JSON.stringify(body));
  };
}

/**
 * A handler that answers each request with the next handler of `handlers` (the last one repeats).
 *
 * @example
 * ```ts
 * server.handle(sequence(reply(503), reply(200, { ok: true })));
 * ```
 */
export function sequence(...handlers: Handler[]): Handler {
  let index = 0;
  return (request, response, raw) => {
    const next = handlers[Math.min(index, handlers.length - 1)];
    index += 1;
    next?.(request, response, raw);
  };
}

/**
 * The error a promise rejects with; fails when it resolves.
 *
 * @example
 * ```ts
 * const error = await rejection(client.request({ method: 'GET' }));
 * ```
 */
export async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the promise to reject, but it resolved');
}

/** HttpClients made for one test file: tiny backoff, pointed at a test server, all closed together. */
export interface TestClients {
  make(options?: Partial<HttpClientOptions>): HttpClient;
  /** Closes a client built elsewhere with the others. */
  track(client: HttpClient): HttpClient;
  closeAll(): void;
}

/**
 * Builds clients for provider `Acme` against `origin()` with 1-5 ms backoff, so retry tests stay fast.
 *
 * @example
 * ```ts
 * const clients = testClients(() => server.origin);
 * afterEach(() => clients.closeAll());
 * const response = await clients.make({ maxAttempts: 2 }).request({ method: 'GET', path: '/' });
 * ```
 */
export function testClients(origin: () => string): TestClients {
  const made: HttpClient[] = [];
  const track = (client: HttpClient): HttpClient => {
    made.push(client);
    return client;
  };
  return {
    make: (options = {}) =>
      track(
        new HttpClient({ provider: 'Acme', baseUrl: origin(), baseDelayMs: 1, maxDelayMs: 5, ...options }),
      ),
    track,
    closeAll: () => {
      for (const client of made.splice(0)) client.close();
    },
  };
}
