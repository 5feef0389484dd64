/**
 * The contract-fake kit's server: a plain `node:http` server on 127.0.0.1 that routes requests to a
 * provider fake's handlers, checks tokens through its hook, answers injected faults, keeps seeded state
 * and a request log. No test framework in here: the local stack serves the same fakes as sandboxes.
 */

import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type Answer,
  AnswerError,
  type ErrorDialect,
  type ErrorKind,
  plainErrors,
  USUAL_STATUS,
} from './answers.ts';
import { type Fault, FaultQueue, type FaultTarget, malformed, payloadOf, wrongShape } from './faults.ts';
import {
  bearerToken,
  type FakeRequest,
  headersOf,
  type LoggedRequest,
  logEntryOf,
  parseBody,
  readBody,
  SECRET_FIELDS,
  SECRET_HEADERS,
} from './requests.ts';
import { compilePath, methodsOf } from './routes.ts';

/** What a handler or hook is given. */
export interface RouteContext<S> {
  request: FakeRequest;
  /** The decoded path parameters (empty outside a route). */
  params: Record<string, string>;
  state: S;
  /** The fake's base URL, e.g. `http://127.0.0.1:41234`, for links in answers. */
  url: string;
}

/** One endpoint of the provider's API. */
export interface Route<S> {
  /** What faults and the log call it, e.g. `list-issues`. */
  name: string;
  method: string | readonly string[];
  /** `/repos/:owner/:repo/issues`, or with a trailing rest: `/repos/:owner/:repo/contents/*path`. */
  path: string;
  /** Whether the token check runs first; default true. */
  auth?: boolean;
  handle(context: RouteContext<S>): Answer | Promise<Answer>;
}

/** A provider fake: its state, its routes and its dialect. */
export interface FakeDefinition<S> {
  /** The provider's name, for messages. */
  name: string;
  /** The seeded state: built at start and again by `reset()`. */
  seed(): S;
  /** Tried in order. */
  routes: ReadonlyArray<Route<S>>;
  /** How the credential is read; default `Authorization: Bearer <token>`. */
  token?(request: FakeRequest): string | undefined;
  /** The token check before a route with `auth` (the default): undefined lets the request through. */
  authorize?(context: RouteContext<S>): 'unauthorized' | 'forbidden' | undefined;
  /** The provider's error bodies; default {@link plainErrors}. */
  errors?: ErrorDialect;
  /** The answer when no route matches; default the dialect's `not-found`. */
  unrouted?(request: FakeRequest): Answer;
  /** Checks every request gets before routing (an API version header); may answer at once. */
  before?(context: RouteContext<S>): Answer | undefined;
  /** Headers on every answer (request ids, rate-limit counters); an answer's own headers win. */
  headers?(context: RouteContext<S>, answer: Answer): Record<string, string>;
  /** Sees every request first, e.g. to keep a provider-shaped record of it. */
  onRequest?(request: FakeRequest, state: S): void;
  /** Header names the log drops besides {@link SECRET_HEADERS}. */
  secretHeaders?: readonly string[];
  /** Body and query fields the log drops besides {@link SECRET_FIELDS}. */
  secretFields?: readonly string[];
  /** Larger request bodies answer 413; default 10 MiB. */
  maxRequestBytes?: number;
}

export interface StartOptions {
  /** Default 0: an ephemeral port (tests); the local stack may pin one. */
  port?: number;
  /** Default `127.0.0.1`. */
  host?: string;
  /** Called with the server before it listens (the local stack puts its Host/Origin gate in front). */
  prepare?: (server: Server) => void;
}

/** A running fake. */
export interface FakeServer<S> {
  /** e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  /** The live state; tests may change it. */
  readonly state: S;
  /** Every request received, in order, without secrets. */
  readonly log: LoggedRequest[];
  /** The log entries of one route. */
  logFor(route: string): LoggedRequest[];
  /** Answers the next matching request(s) with `fault`. */
  inject(fault: Fault, target?: FaultTarget): void;
  clearFaults(): void;
  /** Forgets the log and pending faults and restores the seeded state in place (held references stay valid). */
  reset(): void;
  /** Stops listening and cuts every connection, hanging ones included. Safe to call twice. */
  close(): Promise<void>;
}

const CHUNK = 64 * 1024;

/**
 * Copies `fresh` into `target` key by key, keeping arrays, maps and sets as the same objects, so a test
 * that holds `fake.messages` still sees the live list after a reset.
 */
function restoreInPlace(target: object, fresh: object): void {
  const into = target as Record<string, unknown>;
  for (const [key, value] of Object.entries(fresh)) {
    const current = into[key];
    if (Array.isArray(current) && Array.isArray(value)) current.splice(0, current.length, ...value);
    else if (current instanceof Map && value instanceof Map) {
      current.clear();
      for (const [k, v] of value) current.set(k, v);
    } else if (current instanceof Set && value instanceof Set) {
      current.clear();
      for (const v of value) current.add(v);
    } else into[key] = value;
  }
}

const sleep = (ms: number): Promise<void> =>
  ms <= 0 ? Promise.resolve() : new Promise((resolve) => setTimeout(resolve, ms).unref());

function* padded(bytes: Buffer | undefined, padding: number): Generator<Buffer> {
  if (bytes !== undefined) yield bytes;
  const spaces = Buffer.alloc(Math.min(CHUNK, padding), 0x20);
  for (let left = padding; left > 0; left -= CHUNK) yield left >= CHUNK ? spaces : spaces.subarray(0, left);
}

/**
 * Starts a fake on 127.0.0.1 (an ephemeral port unless told).
 *
 * @example
 * ```ts
 * const fake = await startFake({
 *   name: 'Echo',
 *   seed: () => ({ tokens: new Set(['t0']) }),
 *   authorize: ({ request, state }) => (state.tokens.has(request.token ?? '') ? undefined : 'unauthorized'),
 *   routes: [{ name: 'get-item', method: 'GET', path: '/items/:id', handle: ({ params }) => json(200, params) }],
 * });
 * fake.inject({ kind: 'throttled', retryAfterSeconds: 2 }, { route: 'get-item' });
 * ```
 */
export async function startFake<S extends object>(
  definition: FakeDefinition<S>,
  options: StartOptions = {},
): Promise<FakeServer<S>> {
  const routes = definition.routes.map((route) => ({
    route,
    methods: methodsOf(route.method),
    pattern: compilePath(route.path),
  }));
  const dialect = definition.errors ?? plainErrors;
  const secrets = {
    headers: new Set([...SECRET_HEADERS, ...(definition.secretHeaders ?? [])].map((h) => h.toLowerCase())),
    fields: new Set([...SECRET_FIELDS, ...(definition.secretFields ?? [])].map((f) => f.toLowerCase())),
  };
  const state = definition.seed();
  const log: LoggedRequest[] = [];
  const faults = new FaultQueue();
  const hanging = new Set<ServerResponse>();
  let url = '';

  const errorAnswer = (
    kind: ErrorKind,
    request: FakeRequest,
    status = USUAL_STATUS[kind],
    retryAfterSeconds?: number,
  ): Answer => {
    const detail =
      retryAfterSeconds === undefined ? { status, request } : { status, request, retryAfterSeconds };
    const answer = dialect(kind, detail);
    if (retryAfterSeconds === undefined) return answer;
    return { ...answer, headers: { ...answer.headers, 'retry-after': String(retryAfterSeconds) } };
  };

  const routeAnswer = async (context: RouteContext<S>, entry: LoggedRequest): Promise<Answer> => {
    const { request } = context;
    try {
      const early = definition.before?.(context);
      if (early !== undefined) return early;
      const route = routes.find((candidate) => candidate.route.name === request.route)?.route;
      if (route === undefined) return definition.unrouted?.(request) ?? errorAnswer('not-found', request);
      const refusal = route.auth === false ? undefined : definition.authorize?.(context);
      if (refusal !== undefined) return errorAnswer(refusal, request);
      return await route.handle(context);
    } catch (error) {
      if (error instanceof AnswerError) return error.answer;
      entry.error = error instanceof Error ? error.message : String(error);
      return errorAnswer('server-error', request);
    }
  };

  /** The answer a fault gives in place of the route's, or undefined when the route answers. */
  const faultAnswer = (fault: Fault, request: FakeRequest): Answer | undefined => {
    switch (fault.kind) {
      case 'answer':
        return fault.answer;
      case 'throttled':
        return errorAnswer(
          'throttled',
          request,
          fault.status ?? USUAL_STATUS.throttled,
          fault.retryAfterSeconds,
        );
      case 'server-error':
        return errorAnswer('server-error', request, fault.status ?? USUAL_STATUS['server-error']);
      case 'unauthorized':
      case 'forbidden':
      case 'not-found':
      case 'conflict':
        return errorAnswer(fault.kind, request);
      default:
        return undefined;
    }
  };

  const send = async (
    res: ServerResponse,
    context: RouteContext<S>,
    entry: LoggedRequest,
    answer: Answer,
    oversize?: { bytes: number; chunked?: boolean },
  ): Promise<void> => {
    if (res.destroyed) return;
    if (answer.chunks !== undefined) {
      await sendChunks(res, context, entry, answer);
      return;
    }
    const { bytes, contentType } = payloadOf(answer);
    const headers: Record<string, string> = {};
    const lowered = (from: Record<string, string> | undefined) => {
      for (const [name, value] of Object.entries(from ?? {})) headers[name.toLowerCase()] = value;
    };
    lowered(definition.headers?.(context, answer));
    if (contentType !== undefined) headers['content-type'] = contentType;
    lowered(answer.headers);
    const size = bytes?.length ?? 0;
    const padding = oversize === undefined ? 0 : Math.max(0, oversize.bytes - size);
    if (oversize?.chunked !== true) headers['content-length'] = String(size + padding);
    entry.status = answer.status;
    res.writeHead(answer.status, headers);
    if (padding === 0) {
      res.end(bytes);
      return;
    }
    // A client that stops reading (its own size cap) ends the stream early: not the fake's failure.
    await pipeline(Readable.from(padded(bytes, padding)), res).catch(() => undefined);
  };

  /** A streamed answer: each chunk written as it is produced; a client that goes away stops the producer. */
  const sendChunks = async (
    res: ServerResponse,
    context: RouteContext<S>,
    entry: LoggedRequest,
    answer: Answer,
  ): Promise<void> => {
    const headers: Record<string, string> = {};
    for (const from of [definition.headers?.(context, answer), answer.headers]) {
      for (const [name, value] of Object.entries(from ?? {})) headers[name.toLowerCase()] = value;
    }
    headers['content-type'] = answer.contentType ?? 'text/plain; charset=utf-8';
    entry.status = answer.status;
    res.writeHead(answer.status, headers);
    res.flushHeaders();
    try {
      for await (const chunk of answer.chunks ?? []) {
        if (res.destroyed) break;
        if (!res.write(chunk)) await Promise.race([once(res, 'drain'), once(res, 'close')]);
      }
    } catch {
      // A producer that fails mid-stream cuts the answer short, as a dropped connection does.
      res.destroy();
      return;
    }
    res.end();
  };

  /** The request as hooks and handlers see it (`raw` undefined: too large, so no body). */
  const requestOf = (req: IncomingMessage, raw: Buffer | undefined): FakeRequest => {
    const target = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const headers = headersOf(req);
    let params: Record<string, string> | undefined;
    const matched = routes.find((candidate) => {
      params = candidate.methods.has(method) ? candidate.pattern.match(target.pathname) : undefined;
      return params !== undefined;
    });
    const rawBody = raw?.toString('utf8') ?? '';
    const request: FakeRequest = {
      method,
      path: target.pathname,
      query: Object.fromEntries(target.searchParams),
      search: target.search,
      headers,
      rawBody,
      bytes: raw ?? Buffer.alloc(0),
      body: parseBody(rawBody, headers['content-type']),
      route: matched?.route.name,
      params: params ?? {},
      token: undefined,
    };
    request.token = definition.token === undefined ? bearerToken(headers) : definition.token(request);
    return request;
  };

  /** Answers (or withholds the answer) as the fault says. */
  const answerFault = async (
    res: ServerResponse,
    context: RouteContext<S>,
    entry: LoggedRequest,
    taken: { fault: Fault; delayMs: number },
  ): Promise<void> => {
    const { fault, delayMs } = taken;
    entry.fault = fault.kind;
    await sleep(fault.kind === 'slow' ? delayMs + fault.delayMs : delayMs);
    if (fault.kind === 'hang') {
      hanging.add(res);
      res.on('close', () => hanging.delete(res));
      return;
    }
    if (fault.kind === 'drop') {
      res.socket?.destroy();
      return;
    }
    const instead = faultAnswer(fault, context.request);
    if (instead !== undefined) {
      await send(res, context, entry, instead);
      return;
    }
    const answer = await routeAnswer(context, entry);
    if (fault.kind === 'malformed') await send(res, context, entry, malformed(answer));
    else if (fault.kind === 'wrong-shape') await send(res, context, entry, wrongShape(answer, fault.json));
    else if (fault.kind === 'oversized') await send(res, context, entry, answer, fault);
    else await send(res, context, entry, answer);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const raw = await readBody(req, definition.maxRequestBytes ?? 10 * 1024 * 1024);
    const request = requestOf(req, raw);
    const entry = logEntryOf(request, secrets);
    log.push(entry);
    const context: RouteContext<S> = { request, params: request.params, state, url };
    if (raw === undefined) {
      await send(res, context, entry, { status: 413, body: 'request body too large' });
      return;
    }
    definition.onRequest?.(request, state);
    const taken = faults.take(request);
    if (taken === undefined) await send(res, context, entry, await routeAnswer(context, entry));
    else await answerFault(res, context, entry, taken);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`${definition.name} fake failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    });
  });
  options.prepare?.(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  url = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;

  return {
    url,
    port,
    state,
    log,
    logFor: (route) => log.filter((entry) => entry.route === route),
    inject: (fault, target) => faults.add(fault, target),
    clearFaults: () => faults.clear(),
    reset: () => {
      log.length = 0;
      faults.clear();
      restoreInPlace(state, definition.seed());
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
