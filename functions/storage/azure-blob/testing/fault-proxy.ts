/**
 * A proxy in front of azurite for the failures azurite cannot produce: throttling (503 ServerBusy with
 * Retry-After), server errors, a request never answered, an answer that is not Azure's XML. Without a
 * scripted fault it forwards the request unchanged, so the connector still talks to the real emulator.
 */
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer: an Azure error (XML body and `x-ms-error-code`), a raw body, or silence. */
export type AzureFault =
  | { status: number; code: string; headers?: Record<string, string> }
  | { status: number; body: string; contentType: string }
  | { hang: true };

export interface FaultProxy {
  /** The account endpoint through the proxy: `http://127.0.0.1:<port>/<account>`. */
  endpoint: string;
  /** Requests seen (method and path), forwarded or not. */
  seen: string[];
  /** Queues faults for the next requests, in order; later requests are forwarded. */
  script(...faults: AzureFault[]): void;
  /** Drops the faults not used yet and the requests seen. */
  reset(): void;
  close(): Promise<void>;
}

/**
 * Starts the proxy for `target` (azurite's account endpoint) on 127.0.0.1.
 *
 * @example
 * ```ts
 * const proxy = await startFaultProxy(azurite.endpoint);
 * proxy.script({ status: 503, code: 'ServerBusy', headers: { 'retry-after': '1' } });
 * ```
 */
export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const upstream = new URL(target);
  const queue: AzureFault[] = [];
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const fault = queue.shift();
    if (fault === undefined) {
      const forward = httpRequest(
        {
          host: upstream.hostname,
          port: upstream.port,
          method: req.method,
          path: req.url,
          headers: req.headers,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      req.pipe(forward);
      return;
    }
    req.resume();
    if ('hang' in fault) return;
    const body =
      'code' in fault
        ? `<?xml version="1.0" encoding="utf-8"?><Error><Code>${fault.code}</Code><Message>Scripted</Message></Error>`
        : fault.body;
    const payload = req.method === 'HEAD' ? '' : body;
    res.writeHead(fault.status, {
      'content-type': 'code' in fault ? 'application/xml' : fault.contentType,
      'content-length': String(Buffer.byteLength(payload)),
      'x-ms-request-id': `scripted-${seen.length}`,
      ...('code' in fault ? { 'x-ms-error-code': fault.code, ...fault.headers } : {}),
    });
    res.end(payload);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}${upstream.pathname}`,
    seen,
    script: (...faults) => {
      queue.push(...faults);
    },
    reset: () => {
      queue.length = 0;
      seen.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
