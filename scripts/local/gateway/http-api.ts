/**
 * The local HTTP API (API Gateway HTTP API, payload 2.0) on 127.0.0.1:3000: every `httpApi` route of every
 * function; routes with an authorizer in AWS require the local API key as a bearer token and are refused
 * with a 401 problem before the function runs; webhook routes stay open. Routes whose authorizer is a JWT
 * authorizer of `provider.httpApi.authorizers` get the token checked as API Gateway does instead
 * (jwt-authorizer.ts), with its answers (`{"message":"Unauthorized"}`). `GET /health` describes the stack
 * (503 until it is ready: it is the readiness check).
 * What the gateway answers itself (unknown path, wrong method, refusals, integration failures) is an
 * RFC 9457 problem, the shape the connectors answer in, rather than API Gateway's `{"message": ...}`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HttpRoute } from '../config/model.ts';
import type { StreamingInvocation } from '../functions/function-process.ts';
import { type InvokeOutcome, RESPONSE_TOO_LARGE } from '../functions/function-process.ts';
import { guard, type RefusalWriter } from '../guard.ts';
import type { StackLog } from '../log.ts';
import { hasApiKey } from './api-key.ts';
import { gatewayEvent, gatewayRequestId, gatewayResponse } from './event.ts';
import { JwtAuthorizers } from './jwt-authorizer.ts';
import { type CompiledRoute, compileRoutes, matchRoute, methodsFor, routePrefixes } from './routes.ts';

/** What the authorizer step answers once it has refused the request itself. */
const REFUSED = Symbol('refused');

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
  /** Serves the local console under `/_console` (same origin, its own sign-in; see console/server.ts). */
  setConsole(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>): void;
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

const TITLES: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  413: 'Payload Too Large',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
};

/** An answer of the gateway itself: an RFC 9457 problem with a stable `code`, as the connectors answer. */
function sendProblem(
  res: ServerResponse,
  problem: {
    status: number;
    code: string;
    detail: string;
    requestId?: string;
    /** RFC 9457 extension members. */
    extensions?: Record<string, unknown>;
  },
  headers: Record<string, string> = {},
): void {
  const body: Record<string, unknown> = {
    type: `https://circle-core.dev/problems/${problem.code.replaceAll('_', '-')}`,
    title: TITLES[problem.status] ?? 'Error',
    status: problem.status,
    detail: problem.detail,
    code: problem.code,
    ...problem.extensions,
  };
  const all: Record<string, string> = { ...headers };
  if (problem.requestId !== undefined) {
    body['instance'] = problem.requestId;
    all['apigw-requestid'] = problem.requestId;
  }
  const text = JSON.stringify(body);
  res.writeHead(problem.status, {
    ...all,
    'content-type': 'application/problem+json',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

function unauthorized(res: ServerResponse, requestId: string, present: boolean): void {
  const detail = present
    ? 'The local API key is not valid; use the key printed at start-up (also in .local/api-key).'
    : 'This route requires the local API key: send "Authorization: Bearer <key>" (printed at start-up, also in .local/api-key).';
  sendProblem(
    res,
    { status: 401, code: 'unauthorized', detail, requestId },
    { 'www-authenticate': 'Bearer realm="circle-core-local"' },
  );
}

/**
 * No route for the path (404; when its first segment is no provider's, the providers that have routes), or
 * none for this method (405, with the methods that have one).
 */
function noRoute(
  res: ServerResponse,
  request: { method: string; rawPath: string; requestId: string; allowed: string[]; providers: string[] },
  headers: Record<string, string>,
): void {
  const { method, rawPath, requestId, allowed, providers } = request;
  const path = rawPath.length > 200 ? `${rawPath.slice(0, 200)}...` : rawPath;
  if (allowed.length === 0) {
    const first = rawPath.split('/').find((segment) => segment !== '') ?? '';
    if (providers.includes(first)) {
      const detail = `No route serves ${path}.`;
      sendProblem(res, { status: 404, code: 'not_found', detail, requestId }, headers);
      return;
    }
    const list = providers.map((provider) => `/${provider}`).join(', ');
    const detail = `No route serves ${path}: no function has routes under /${first.slice(0, 50)}. Known: ${list} (GET /health lists every route).`;
    const extensions = { knownProviders: providers };
    sendProblem(res, { status: 404, code: 'not_found', detail, requestId, extensions }, headers);
    return;
  }
  sendProblem(
    res,
    {
      status: 405,
      code: 'method_not_allowed',
      detail: `${path} has no ${method.slice(0, 20)} route; its routes take ${allowed.join(', ')}.`,
      requestId,
    },
    { ...headers, allow: allowed.join(', ') },
  );
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

/** The origins a CORS configuration names one by one; `*` opens nothing locally (see guard.ts). */
function explicitOrigins(cors: unknown): string[] {
  const allowed =
    typeof cors === 'object' && cors !== null
      ? (cors as Record<string, unknown>)['allowedOrigins']
      : undefined;
  return Array.isArray(allowed)
    ? allowed.filter((origin): origin is string => typeof origin === 'string' && origin !== '*')
    : [];
}

/**
 * CORS preflights, `GET /health`, `GET /openapi.json` and the not-yet-ready answer: requests the gateway
 * serves itself.
 */
function servedByGateway(
  req: IncomingMessage,
  res: ServerResponse,
  state: {
    method: string;
    rawPath: string;
    cors: Record<string, string>;
    ready: boolean;
    health: () => unknown;
    openApi: (() => unknown) | undefined;
  },
): boolean {
  const { method, rawPath, cors } = state;
  if (method === 'OPTIONS' && Object.keys(cors).length > 0 && req.headers['access-control-request-method']) {
    res.writeHead(204, { ...cors, 'access-control-max-age': '600' });
    res.end();
    return true;
  }
  if (method === 'GET' && (rawPath === '/health' || rawPath === '/health/')) {
    // Readiness: a script that waits for /health must not send its first calls into the start-up 503s.
    if (state.ready) sendJson(res, 200, state.health(), cors);
    else sendJson(res, 503, state.health(), { ...cors, 'retry-after': '1' });
    return true;
  }
  const openApi = method === 'GET' && rawPath === '/openapi.json' ? state.openApi?.() : undefined;
  if (openApi !== undefined) {
    sendJson(res, 200, openApi, cors);
    return true;
  }
  if (!state.ready) {
    sendProblem(
      res,
      { status: 503, code: 'starting', detail: 'The local stack is starting; try again in a moment.' },
      { ...cors, 'retry-after': '1' },
    );
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

/** What API Gateway answers: the function's response, or its own 5xx when the integration failed. */
function respond(
  res: ServerResponse,
  outcome: InvokeOutcome | 'timeout',
  context: { requestId: string; headers: Record<string, string> },
): void {
  const { requestId, headers } = context;
  if (outcome === 'timeout' || outcome.error?.errorType === 'Sandbox.Timedout') {
    const detail = 'The function did not answer within the integration timeout.';
    sendProblem(res, { status: 503, code: 'timeout', detail, requestId }, headers);
    return;
  }
  if (outcome.error?.errorType === RESPONSE_TOO_LARGE) {
    const detail = `The function's response is over Lambda's 6 MB limit: ${outcome.error.errorMessage} In AWS this request fails too.`;
    sendProblem(res, { status: 502, code: 'response_too_large', detail, requestId }, headers);
    return;
  }
  if (outcome.error !== undefined) {
    const detail = 'The function failed (an unhandled error); see its log.';
    sendProblem(res, { status: 500, code: 'integration_failed', detail, requestId }, headers);
    return;
  }
  const response = gatewayResponse(outcome.payload ?? 'null');
  res.writeHead(response.status, { ...headers, ...response.headers, 'content-length': response.body.length });
  res.end(response.body);
}

/**
 * Reads a streamed response's framing: the JSON prelude (`{ statusCode, headers }`) up to 8 NUL bytes, then
 * the body as it comes.
 */
class PreludeReader {
  #buffered: Buffer = Buffer.alloc(0);
  #done = false;

  /** The head once the prelude is complete (once only) and the body bytes of this chunk; else undefined. */
  read(
    chunk: Buffer,
  ): { head: { statusCode?: number; headers?: Record<string, string> }; body: Buffer } | undefined {
    if (this.#done) return { head: {}, body: chunk };
    this.#buffered = Buffer.concat([this.#buffered, chunk]);
    const end = this.#buffered.indexOf(PRELUDE_END);
    if (end < 0) return undefined;
    this.#done = true;
    let head: { statusCode?: number; headers?: Record<string, string> } = {};
    try {
      head = JSON.parse(this.#buffered.subarray(0, end).toString('utf8')) as typeof head;
    } catch {
      head = { statusCode: 502, headers: { 'content-type': 'text/plain' } };
    }
    const body = this.#buffered.subarray(end + PRELUDE_END.length);
    this.#buffered = Buffer.alloc(0);
    return { head, body };
  }

  /** What was written without a prelude. */
  rest(): Buffer {
    return this.#buffered;
  }
}

/** The path the function sees: a function URL's, on its own host, is what follows `/lambda-url/<key>`. */
function functionPath(route: HttpRoute, rawPath: string): string {
  const url = route.functionUrl;
  return url === undefined ? rawPath : rawPath.slice(url.prefix.length) || '/';
}

/** What ends a streamed response's prelude (`HttpResponseStream.from`): 8 NUL bytes, as in Lambda. */
const PRELUDE_END = Buffer.alloc(8);

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
  /** Runs the function; with `streaming`, a streaming handler's response goes there as it is written. */
  invoke: (functionKey: string, event: unknown, streaming?: StreamingInvocation) => Promise<InvokeOutcome>;
  timeoutMsOf: (functionKey: string) => number;
  health: () => unknown;
  /** The OpenAPI document served at `GET /openapi.json` (public, like `/health`), once it is loaded. */
  openApi?: () => unknown;
  log: StackLog;
}): Promise<HttpApi> {
  let routes: CompiledRoute[] = [];
  let ready = false;
  let consoleHandler: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;
  const jwtAuthorizers = new JwtAuthorizers({ warn: (message, fields) => options.log.warn(message, fields) });

  /**
   * Like an API Gateway authorizer, before the function runs: the JWT authorizer's checks, or the local
   * API key on other authorized routes. Answers the event's authorizer context, or REFUSED once answered.
   */
  const authorize = async (
    req: IncomingMessage,
    res: ServerResponse,
    context: { route: HttpRoute; rawQueryString: string; requestId: string; cors: Record<string, string> },
  ): Promise<unknown> => {
    const { route, rawQueryString, requestId, cors } = context;
    if (route.jwt !== undefined) {
      const decision = await jwtAuthorizers.authorize(route.jwt, { headers: req.headers, rawQueryString });
      if (decision.allow) return decision.context;
      // API Gateway's own answer, not a problem: what a client of the deployed API sees.
      req.resume();
      sendJson(res, decision.status, decision.body, {
        ...cors,
        ...decision.headers,
        'apigw-requestid': requestId,
      });
      return REFUSED;
    }
    if (route.authorized && !hasApiKey(req.headers.authorization, options.apiKey)) {
      req.resume();
      unauthorized(res, requestId, req.headers.authorization !== undefined);
      return REFUSED;
    }
    return undefined;
  };

  const serve = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = req.url ?? '/';
    const question = url.indexOf('?');
    const rawPath = question >= 0 ? url.slice(0, question) : url;
    const rawQueryString = question >= 0 ? url.slice(question + 1) : '';
    const method = (req.method ?? 'GET').toUpperCase();
    const requestId = gatewayRequestId();
    const cors = corsHeaders(options.cors, req.headers.origin);

    const own = { method, rawPath, cors, ready, health: options.health, openApi: options.openApi };
    if (servedByGateway(req, res, own)) return;
    if (consoleHandler !== undefined && (rawPath === '/_console' || rawPath.startsWith('/_console/'))) {
      await consoleHandler(req, res);
      return;
    }
    const match = matchRoute(routes, method, rawPath);
    if (match === undefined) {
      req.resume();
      const providers = routePrefixes(routes);
      noRoute(res, { method, rawPath, requestId, allowed: methodsFor(routes, rawPath), providers }, cors);
      return;
    }
    const authorizer = await authorize(req, res, { route: match.route, rawQueryString, requestId, cors });
    if (authorizer === REFUSED) return;
    const body = await readBody(req);
    if (body === undefined) {
      const detail = `The request body is larger than API Gateway's ${BODY_LIMIT / 1024 / 1024} MB limit.`;
      sendProblem(res, { status: 413, code: 'payload_too_large', detail, requestId }, cors);
      return;
    }
    const event = gatewayEvent(
      {
        method,
        rawPath: functionPath(match.route, rawPath),
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
        authorizer,
        requestId,
      },
    );
    await dispatch(req, res, { route: match.route, event, requestId, cors });
  };

  /** Runs the route's function and answers: streamed for a RESPONSE_STREAM function URL, else as a whole. */
  const dispatch = async (
    req: IncomingMessage,
    res: ServerResponse,
    call: { route: HttpRoute; event: unknown; requestId: string; cors: Record<string, string> },
  ): Promise<void> => {
    const { route, event, requestId, cors } = call;
    if (route.functionUrl?.invokeMode === 'RESPONSE_STREAM') {
      await streamFunctionUrl(req, res, { functionKey: route.functionKey, event, requestId, cors });
      return;
    }
    // A function URL has no integration timeout of its own: the function's timeout is the limit.
    const limit = route.functionUrl === undefined ? INTEGRATION_TIMEOUT_MS : Number.POSITIVE_INFINITY;
    const timeoutMs = Math.min(options.timeoutMsOf(route.functionKey), limit);
    const outcome = await withIntegrationTimeout(options.invoke(route.functionKey, event), timeoutMs);
    respond(res, outcome, { requestId, headers: cors });
  };

  /**
   * A function URL with `InvokeMode: RESPONSE_STREAM`: the status and headers from the prelude the handler
   * wrote (`awslambda.HttpResponseStream.from`), then every chunk to the caller as the function writes it;
   * a caller that goes away closes the function's response stream. A function that failed before writing
   * anything is a problem, as for any route.
   */
  const streamFunctionUrl = async (
    req: IncomingMessage,
    res: ServerResponse,
    call: { functionKey: string; event: unknown; requestId: string; cors: Record<string, string> },
  ): Promise<void> => {
    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const prelude = new PreludeReader();
    const onChunk = (chunk: Buffer): void => {
      const parsed = prelude.read(chunk);
      if (parsed === undefined) return;
      if (!res.headersSent) {
        res.writeHead(parsed.head.statusCode ?? 200, {
          ...call.cors,
          ...parsed.head.headers,
          'x-amzn-requestid': call.requestId,
        });
        // The head goes now, not with the first body bytes: a client sees the stream open at once.
        res.flushHeaders();
      }
      if (parsed.body.length > 0) res.write(parsed.body);
    };
    const outcome = await options.invoke(call.functionKey, call.event, {
      onChunk,
      signal: controller.signal,
    });
    req.resume();
    if (res.headersSent) {
      res.end();
      return;
    }
    if (outcome.error !== undefined) {
      respond(res, outcome, { requestId: call.requestId, headers: call.cors });
      return;
    }
    // A handler that ended its stream without a prelude: Lambda answers 200 with what it wrote.
    res.writeHead(200, { ...call.cors, 'content-type': 'application/octet-stream' });
    res.end(prelude.rest());
  };

  const refuse: RefusalWriter = (_req, res, refusal) =>
    sendProblem(res, { status: 403, code: 'forbidden', detail: refusal.message });
  const server: Server = createServer(
    guard(
      (req, res) => {
        serve(req, res).catch((error: unknown) => {
          options.log.error('HTTP API error', { error: (error as Error).message });
          const detail = 'The local gateway failed to serve the request; see the stack log.';
          if (!res.headersSent) sendProblem(res, { status: 500, code: 'internal_error', detail });
          else res.end();
        });
      },
      refuse,
      { origins: explicitOrigins(options.cors) },
    ),
  );
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
    setConsole: (handler) => {
      consoleHandler = handler;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
