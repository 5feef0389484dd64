/**
 * A tiny S3-speaking fault server for the failure paths s3rver cannot produce: throttling, access denied,
 * server errors, a request that is never answered, and malformed XML. It answers scripted replies in order,
 * repeating the last one, and records every request it saw.
 */
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One scripted answer: an S3 error, a raw response, or silence. */
export type FaultReply =
  | { error: string; status: number; headers?: Record<string, string> }
  | { status: number; body?: string; headers?: Record<string, string>; chunked?: boolean }
  | { hang: true };

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

export interface FaultServer {
  /** `http://127.0.0.1:<port>`: use with `forcePathStyle: true`. */
  endpoint: string;
  requests: RecordedRequest[];
  /** Replaces the script; the last reply repeats once the others are used. Clears `requests`. */
  script(...replies: FaultReply[]): void;
  close(): Promise<void>;
}

/**
 * Starts the fault server on 127.0.0.1 with an ephemeral port.
 *
 * @example
 * ```ts
 * const faults = await startFaultServer();
 * faults.script({ error: 'SlowDown', status: 503 }, { status: 200, headers: { etag: '"abc"' } });
 * ```
 */
export async function startFaultServer(): Promise<FaultServer> {
  let replies: FaultReply[] = [{ status: 200 }];
  const requests: RecordedRequest[] = [];
  const server = createServer((request, response) => {
    requests.push({ method: request.method ?? '', url: request.url ?? '', headers: request.headers });
    const reply = replies.length > 1 ? (replies.shift() as FaultReply) : (replies[0] as FaultReply);
    request.resume();
    request.on('end', () => {
      if ('hang' in reply) return;
      const headers = { 'x-amz-request-id': `req-${requests.length}`, ...reply.headers };
      const body =
        'error' in reply
          ? `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${reply.error}</Code><Message>Scripted ${reply.error}</Message><RequestId>req-${requests.length}</RequestId></Error>`
          : (reply.body ?? '');
      const payload = request.method === 'HEAD' ? '' : body;
      const chunked = 'chunked' in reply && reply.chunked === true;
      response.writeHead(reply.status, {
        'content-type': 'application/xml',
        ...(chunked ? {} : { 'content-length': String(Buffer.byteLength(payload)) }),
        ...headers,
      });
      // Without a length the body goes out chunked, as from stores that stream without announcing a size.
      if (chunked) {
        response.write(payload);
        response.end();
      } else {
        response.end(payload);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    requests,
    script: (...next) => {
      replies = next.length > 0 ? next : [{ status: 200 }];
      requests.length = 0;
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
