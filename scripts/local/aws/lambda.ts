/**
 * Lambda's REST API for the local functions: Invoke (RequestResponse, Event, DryRun, LogType Tail),
 * ListFunctions, GetFunction and GetFunctionConfiguration. Invoke takes only what the AWS SDKs and CLIs
 * send (a SigV4 `Authorization`, or a JSON or binary body), never a body a web page can POST unasked.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FunctionProcess } from '../functions/function-process.ts';
import type { FunctionRegistry } from '../functions/registry.ts';
import { mediaType } from './protocol.ts';

/** Lambda's limit on a synchronous Invoke request (its error names this number). */
export const INVOKE_REQUEST_LIMIT_BYTES = 6_291_456;

/**
 * Whether an Invoke request is shaped the way the SDKs and CLIs send it. A browser sends `text/plain`, a
 * form or no content type without asking first (a CORS "simple request"); a SigV4 `Authorization` header,
 * `application/json` or `application/octet-stream` (what the v3 SDK sends) needs a preflight, which the
 * endpoint never grants.
 */
function sentByAwsClient(req: IncomingMessage): boolean {
  if (/^AWS4-HMAC-SHA256 Credential=\S/.test(req.headers.authorization ?? '')) return true;
  const type = mediaType(req.headers['content-type']);
  return type === 'application/json' || type === 'application/octet-stream';
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...headers,
  });
  res.end(text);
}

function error(res: ServerResponse, status: number, type: string, message: string): void {
  send(res, status, { Type: 'User', message }, { 'x-amzn-errortype': type });
}

function configuration(fn: FunctionProcess): Record<string, unknown> {
  return {
    FunctionName: fn.spec.name,
    FunctionArn: fn.spec.arn,
    Runtime: 'nodejs24.x',
    Handler: fn.spec.handler,
    Timeout: fn.spec.timeoutSeconds,
    MemorySize: fn.spec.memorySize,
    Version: '$LATEST',
    State: fn.state === 'failed' ? 'Failed' : 'Active',
    PackageType: 'Zip',
    Environment: { Variables: fn.spec.environment },
  };
}

/** Invoke: refuses what a web page could send and what Lambda would refuse, then runs the function. */
async function invoke(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  fn: FunctionProcess,
): Promise<void> {
  if (!sentByAwsClient(req)) {
    const type = mediaType(req.headers['content-type']) || 'none';
    return error(
      res,
      415,
      'UnsupportedMediaTypeException',
      `Invoke refused: content type ${JSON.stringify(type.slice(0, 100))} and no SigV4 Authorization. ` +
        'Send the payload as application/json, or sign the request as the AWS SDKs and CLI do.',
    );
  }
  const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
  if (type === 'RequestResponse' && body.length > INVOKE_REQUEST_LIMIT_BYTES) {
    return error(
      res,
      413,
      'RequestTooLargeException',
      `Request must be smaller than ${INVOKE_REQUEST_LIMIT_BYTES} bytes for the InvokeFunction operation`,
    );
  }
  let event: unknown = {};
  const text = body.toString('utf8');
  if (text.trim() !== '') {
    try {
      event = JSON.parse(text);
    } catch {
      return error(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
    }
  }
  if (type === 'DryRun') return send(res, 204, '');
  if (type === 'Event') {
    void fn.invoke(event);
    return send(res, 202, '');
  }
  const outcome = await fn.invoke(event);
  const headers: Record<string, string> = { 'x-amz-executed-version': '$LATEST' };
  if (req.headers['x-amz-log-type'] === 'Tail') {
    headers['x-amz-log-result'] = Buffer.from(outcome.logTail).toString('base64');
  }
  if (outcome.error !== undefined) {
    headers['x-amz-function-error'] = 'Unhandled';
    return send(res, 200, outcome.error, headers);
  }
  return send(res, 200, outcome.payload ?? 'null', headers);
}

/**
 * Serves one Lambda REST request (`/2015-03-31/functions/...`); the body is already read.
 *
 * @example
 * ```ts
 * await handleLambda(req, res, body, registry);
 * ```
 */
export async function handleLambda(
  req: IncomingMessage,
  res: ServerResponse,
  body: Buffer,
  registry: FunctionRegistry,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://localhost');
  const parts = url.pathname.split('/').filter(Boolean);
  // ['2015-03-31', 'functions', name?, 'invocations' | 'configuration'?]
  const name = parts[2];
  if (name === undefined) {
    if (req.method !== 'GET') return error(res, 405, 'InvalidRequestContentException', 'Method not allowed');
    return send(res, 200, { Functions: registry.all().map(configuration) });
  }
  const fn = registry.find(name);
  if (fn === undefined) {
    return error(res, 404, 'ResourceNotFoundException', `Function not found: ${decodeURIComponent(name)}`);
  }
  const action = parts[3];
  if (req.method === 'GET' && action === undefined) {
    return send(res, 200, { Configuration: configuration(fn), Code: { RepositoryType: 'S3' } });
  }
  if (req.method === 'GET' && action === 'configuration') return send(res, 200, configuration(fn));
  if (req.method !== 'POST' || action !== 'invocations') {
    return error(
      res,
      400,
      'InvalidRequestContentException',
      `Unsupported Lambda request ${req.method} ${url.pathname}`,
    );
  }
  return invoke(req, res, body, fn);
}
