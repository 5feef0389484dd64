/**
 * The local HTTP API (API Gateway HTTP API, payload 2.0) on 127.0.0.1:3000: every `httpApi` route of every
 * function; routes with an authorizer in AWS require the local API key as a bearer token and are refused
 * with a 401 problem before the function runs; webhook routes stay open. `GET /health` describes the stack.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpRoute } from '../config/model.ts';
import type { InvokeOutcome } from '../functions/function-process.ts';
import type { StackLog } from '../log.ts';
import { hasApiKey } from './api-key.ts';
import { gatewayEvent, gatewayRequestId, gatewayResponse } from './event.ts';
import { type CompiledRoute, compileRoutes, matchRoute } from './routes.ts';

/** API Gateway's payload limit. */
const BODY_LIMIT = 10 * 1024 * 1024;
/** API Gateway's integration timeout. */
const INTEGRATION_TIMEOUT_MS = 30_000;

/** The running HTTP API. */
export interface HttpApi {
  url: string;
  port: number;
  /** Serves these routes from now on (the stack starts listening before the functions are up). */
  setRoutes(routes: HttpRoute[]): void;
  close(): Promise<void>;
}

function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function unauthorized(res: ServerResponse, requestId: string, present: boolean): void {
  const problem = {
    type: 'https://circle-core.dev/problems/unauthorized',
    title: 'Unauthorized',
    status: 401,
    detail: present
      ? 'The local API key is not valid; use the key printed at start-up (also in .local/api-key).'
      : 'This route requires the local API key: send "Authorization: Bearer <key>" (printed at start-up, also in .local/api-key).',
    code: 'unauthorized',
    instance: requestId,
  };
  const text = JSON.stringify(problem);
  res.writeHead(401, {
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(text),
    'www-authenticate': 'Bearer realm="circle-core-local"',
    'apigw-requestid': requestId,
  });
  res.end(text);
}

function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > BODY_LIMIT) {
        resolve(undefined);
        req.resume();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(size > BODY_LIMIT ? undefined : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function corsHeaders(cors: unknown, origin: string | undefined): Record<string, string> {
  if (cors === undefined || cors === false || cors === null) return {};
  const options = typeof cors === 'object' ? (cors as Record<string, unknown>) : {};
  const allowed = Array.isArray(options['allowedOrigins']) ? (options['allowedOrigins'] as string[]) : ['*'];
  const allowOrigin = allowed.includes('*')
    ? '*'
    : origin !== undefined && allowed.includes(origin)
      ? origin
      : undefined;
  if (allowOrigin === undefined) return {};
  const headers: Record<string, string> = { 'access-control-allow-origin': allowOrigin };
  const allowedHeaders = Array.isArray(options['allowedHeaders'])
    ? (options['allowedHeaders'] as string[]).join(',')
    : 'Content-Type,X-Amz-Date,Authorization,X-Api-Key,X-Amz-Security-Token,X-Amz-User-Agent,X-Amzn-Trace-Id,Idempotency-Key,X-Correlation-Id';
  headers['access-control-allow-headers'] = allowedHeaders;
  headers['access-control-allow-methods'] = Array.isArray(options['allowedMethods'])
    ? (options['allowedMethods'] as string[]).join(',')
    : 'OPTIONS,GET,POST,PUT,PATCH,DELETE';
  if (options['allowCredentials'] === true) headers['access-control-allow-credentials'] = 'true';
  return headers;
}

/** CORS preflights, `GET /health` and the not-yet-ready answer: requests the gateway serves itself. */
function servedByGateway(
  req: IncomingMessage,
  res: ServerResponse,
  state: {
    method: string;
    rawPath: string;
    cors: Record<string, string>;
    ready: boolean;
    health: () => unknown;
  },
): boolean {
  const { method, rawPath, cors } = state;
  if (method === 'OPTIONS' && Object.keys(cors).length > 0 && req.headers['access-control-request-method']) {
    res.writeHead(204, { ...cors, 'access-control-max-age': '600' });
    res.end();
    return true;
  }
  if (method === 'GET' && (rawPath === '/health' || rawPath === '/health/')) {
    sendJson(res, 200, state.health(), cors);
    return true;
  }
  if (!state.ready) {
    sendJson(res, 503, { message: 'Service Unavailable (the local stack is starting)' }, cors);
    return true;
  }
  return false;
}

async function withIntegrationTimeout(
  invocation: Promise<InvokeOutcome>,
  timeoutMs: number,
): Promise<InvokeOutcome | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const outcome = await Promise.race([
    invocation,
    new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs + 500);
    }),
  ]);
  clearTimeout(timer);
  return outcome;
}

/** What API Gateway answers: the function's response, or its own 500/503 when the integration failed. */
function respond(
  res: ServerResponse,
  outcome: InvokeOutcome | 'timeout',
  headers: Record<string, string>,
): void {
  if (outcome === 'timeout' || outcome.error?.errorType === 'Sandbox.Timedout') {
    sendJson(res, 503, { message: 'Service Unavailable' }, headers);
    return;
  }
  if (outcome.error !== undefined) {
    sendJson(res, 500, { message: 'Internal Server Error' }, headers);
    return;
  }
  const response = gatewayResponse(outcome.payload ?? 'null');
  res.writeHead(response.status, { ...headers, ...response.headers, 'content-length': response.body.length });
  res.end(response.body);
}

/**
 * Starts the HTTP API on 127.0.0.1 (`port` 0 picks a free one).
 *
 * @example
 * ```ts
 * const api = await startHttpApi({ port: 3000, apiKey, invoke, health: () => stack.health(), log });
 * api.setRoutes(model.functions.flatMap((fn) => fn.routes));
 * ```
 */
export async function startHttpApi(options: {
  port: number;
  apiKey: string;
  cors?: unknown;
  invoke: (functionKey: string, event: unknown) => Promise<InvokeOutcome>;
  timeoutMsOf: (functionKey: string) => number;
  health: () => unknown;
  log: StackLog;
}): Promise<HttpApi> {
  let routes: CompiledRoute[] = [];
  let ready = false;

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const question = url.indexOf('?');
    const rawPath = question >= 0 ? url.slice(0, question) : url;
    const rawQueryString = question >= 0 ? url.slice(question + 1) : '';
    const method = (req.method ?? 'GET').toUpperCase();
    const requestId = gatewayRequestId();
    const cors = corsHeaders(options.cors, req.headers.origin);

    if (servedByGateway(req, res, { method, rawPath, cors, ready, health: options.health })) return;
    const match = matchRoute(routes, method, rawPath);
    if (match === undefined) {
      sendJson(res, 404, { message: 'Not Found' }, { ...cors, 'apigw-requestid': requestId });
      return;
    }
    if (match.route.authorized && !hasApiKey(req.headers.authorization, options.apiKey)) {
      // Like an API Gateway authorizer: refused before the function runs.
      req.resume();
      unauthorized(res, requestId, req.headers.authorization !== undefined);
      return;
    }
    const body = await readBody(req);
    if (body === undefined) {
      sendJson(res, 413, { message: 'Request Entity Too Large' }, { ...cors, 'apigw-requestid': requestId });
      return;
    }
    const event = gatewayEvent(
      {
        method,
        rawPath,
        rawQueryString,
        headers: req.headers,
        body,
        sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        protocol: `HTTP/${req.httpVersion}`,
      },
      {
        route: match.route,
        pathParameters: match.pathParameters,
        authorized: match.route.authorized,
        requestId,
      },
    );
    const timeoutMs = Math.min(options.timeoutMsOf(match.route.functionKey), INTEGRATION_TIMEOUT_MS);
    const outcome = await withIntegrationTimeout(options.invoke(match.route.functionKey, event), timeoutMs);
    respond(res, outcome, { ...cors, 'apigw-requestid': requestId });
  };

  const server: Server = createServer((req, res) => {
    serve(req, res).catch((error: unknown) => {
      options.log.error('HTTP API error', { error: (error as Error).message });
      if (!res.headersSent) sendJson(res, 500, { message: 'Internal Server Error' });
      else res.end();
    });
  });
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    setRoutes: (next) => {
      routes = compileRoutes(next);
      ready = true;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
