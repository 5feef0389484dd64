/**
 * Forwards S3 and DynamoDB requests arriving on the AWS endpoint to the embedded stores (s3rver, dynalite),
 * so one `AWS_ENDPOINT_URL` serves every client. The signature is not re-computed: neither store checks
 * SigV4, and s3rver only needs an access key it knows.
 */
import { type IncomingMessage, request, type ServerResponse } from 'node:http';

/** The access key the embedded s3rver is told about (the stack's fake credentials). */
export const LOCAL_ACCESS_KEY_ID = 'test';

/**
 * The service a SigV4-signed request is for (`s3`, `sqs`, `sts`, ...), from its credential scope.
 *
 * @example
 * ```ts
 * signedService(req); // 's3' for 'AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/s3/aws4_request, ...'
 * ```
 */
export function signedService(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization ?? '';
  const header = /Credential=[^/]+\/\d{8}\/[^/]+\/([^/]+)\/aws4_request/.exec(authorization);
  if (header?.[1] !== undefined) return header[1];
  const url = new URL(req.url ?? '/', 'http://localhost');
  const query = url.searchParams.get('X-Amz-Credential');
  const scope = query?.split('/')[3];
  if (scope !== undefined) return scope;
  if (/^AWS [^:]+:/.test(authorization) || url.searchParams.has('AWSAccessKeyId')) return 's3';
  return undefined;
}

function rewriteCredential(text: string): string {
  return text.replace(/Credential=[^/]+\//, `Credential=${LOCAL_ACCESS_KEY_ID}/`);
}

/**
 * Forwards a request to `target` (an `http://host:port` origin); `body` when it was already read, else the
 * request streams through.
 *
 * @example
 * ```ts
 * proxy(req, res, 'http://127.0.0.1:4568', { s3: true });
 * ```
 */
export function proxy(
  req: IncomingMessage,
  res: ServerResponse,
  target: string,
  options: { body?: Buffer; s3?: boolean } = {},
): void {
  const origin = new URL(target);
  const headers = { ...req.headers };
  let path = req.url ?? '/';
  if (options.s3) {
    if (typeof headers.authorization === 'string')
      headers.authorization = rewriteCredential(headers.authorization);
    path = path.replace(/(X-Amz-Credential=)[^%&/]+(%2F|\/)/, `$1${LOCAL_ACCESS_KEY_ID}$2`);
  }
  const upstream = request(
    { hostname: origin.hostname, port: origin.port, method: req.method, path, headers },
    (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on('error', (error) => {
    if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
    res.end(`local store unavailable: ${error.message}`);
  });
  if (options.body !== undefined) upstream.end(options.body);
  else req.pipe(upstream);
}
