/**
 * Lambda's REST API for the local functions: Invoke (RequestResponse, Event, DryRun, LogType Tail),
 * ListFunctions, GetFunction and GetFunctionConfiguration.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FunctionProcess } from '../functions/function-process.ts';
import type { FunctionRegistry } from '../functions/registry.ts';

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
  let event: unknown = {};
  const text = body.toString('utf8');
  if (text.trim() !== '') {
    try {
      event = JSON.parse(text);
    } catch {
      return error(res, 400, 'InvalidRequestContentException', 'Could not parse request body into json');
    }
  }
  const type = String(req.headers['x-amz-invocation-type'] ?? 'RequestResponse');
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
