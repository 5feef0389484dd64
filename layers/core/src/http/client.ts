/**
 * The one outbound HTTP client of the core. Every HTTP provider goes through it, so connection reuse,
 * deadlines, retries, rate limits, the circuit breaker, the size cap, the SSRF guard and the mapping of
 * failures onto the error taxonomy live here once and a provider client stays thin.
 */

import type { AgentOptions, Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { LookupFunction, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AuthTarget, RequestAuth } from '../auth/types.ts';
import { ANSWER_RESERVE_MS, callBudget } from '../budget.ts';
import { currentCorrelationId, remainingTimeMs } from '../context.ts';
import type { RateBudget } from '../coordination/rate-budget.ts';
import {
  AuthError,
  CircuitOpenError,
  ConfigurationError,
  type ConnectorError,
  RateLimitedError,
  TimeoutError,
  toConnectorError,
  UnexpectedResponseError,
  ValidationError,
} from '../errors.ts';
import { backoffDelayMs, type RateLimitHeaders } from './backoff.ts';
import { type CircuitBreaker, type CircuitBreakerOptions, circuitBreakerFor } from './circuit-breaker.ts';
import { http, https } from './node-http.ts';
import { failureForResponse, type ResponseFailure } from './response-errors.ts';
import { assertUrlSyntaxAllowed, guardedLookup } from './ssrf.ts';
import { decodeBody, isHostFailure, type RawResponse, sendHop } from './transport.ts';
import type { HttpClientOptions, HttpMethod, HttpRequest, HttpResponse, HttpStream } from './types.ts';

export type { HttpClientOptions, HttpMethod, HttpRequest, HttpResponse, HttpStream } from './types.ts';

/** An attempt with less time than this cannot succeed; not starting it saves the budget. */
const MIN_ATTEMPT_MS = 50;
const IDEMPOTENT = new Set<HttpMethod>(['GET', 'HEAD', 'PUT', 'DELETE']);
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Headers that must not follow a redirect to another origin. */
const CREDENTIAL_HEADERS = ['authorization', 'proxy-authorization', 'cookie'];

type Outcome = { ok: true; response: HttpResponse } | ({ ok: false } & ResponseFailure);

interface Settings {
  provider: string;
  baseUrl: string | undefined;
  auth: RequestAuth | undefined;
  headers: Record<string, string>;
  timeoutMs: number;
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  maxRetryAfterMs: number;
  maxResponseBytes: number;
  rateLimit: RateLimitHeaders;
  idempotencyHeader: string;
  budget: RateBudget | undefined;
  breaker: CircuitBreakerOptions | false;
  ssrfGuard: boolean;
  maxRedirects: number;
  inspect: HttpClientOptions['inspect'];
  lookup: LookupFunction;
}

interface Prepared {
  url: URL;
  method: HttpMethod;
  headers: Record<string, string>;
  body: Buffer | undefined;
  guarded: boolean;
  bytes: boolean;
  /** Streaming mode ({@link HttpClient.stream}): the caller's signal, if any. */
  stream?: { signal?: AbortSignal | undefined } | undefined;
  /** The last hop sent with credentials: what a 401/403 refused, handed to `auth.refresh`. */
  credentials?: AuthTarget | undefined;
}

/** A 2xx answer to a `bytes` request as received; anything else decoded (text or JSON). */
function decodeAnswer(raw: RawResponse, prepared: Prepared): { body: unknown; malformed: boolean } {
  if (raw.stream !== undefined) return { body: raw.stream, malformed: false };
  if (prepared.bytes && raw.status < 300 && prepared.method !== 'HEAD') {
    return { body: raw.body, malformed: false };
  }
  return decodeBody(raw, prepared.method);
}

function lowerCaseKeys(headers: Record<string, string> | undefined): Record<string, string> {
  const lowered: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) lowered[name.toLowerCase()] = value;
  return lowered;
}

/** An HTTP header name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What a header value may not hold, as node:http refuses it: controls but tab, and anything past Latin-1. */
const NOT_IN_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;

/**
 * The request's own headers, named in lower case; one HTTP cannot carry is the caller's mistake (a header
 * value is usually built from input: a token, a conditional query), refused before anything is sent
 * rather than failing inside node:http as an internal error. The message names the header, never the value.
 */
function requestHeaders(
  provider: string,
  headers: Record<string, string> | undefined,
): Record<string, string> {
  const lowered = lowerCaseKeys(headers);
  for (const [name, value] of Object.entries(lowered)) {
    if (!HEADER_NAME.test(name)) {
      throw new ValidationError(`The ${provider} request has a header name HTTP cannot carry`);
    }
    if (NOT_IN_HEADER_VALUE.test(value)) {
      throw new ValidationError(
        `The ${provider} request's ${name} header has a character HTTP cannot carry (a line break, another control character or a letter beyond Latin-1)`,
      );
    }
  }
  return lowered;
}

/**
 * An idempotency key as a header carries it. Keys are often made from a caller's text (a dedup key, an order
 * name), and a header holds visible ASCII only: such a key goes percent-encoded, whole, so it is the same on
 * every attempt and two keys stay two. `Zoë-1` goes as `Zo%C3%AB-1`; `order-1` as it is.
 */
function headerKey(key: string): string {
  return /^[\x20-\x7e]*$/.test(key) ? key : encodeURIComponent(key.toWellFormed());
}

function lowerCaseNames(limits: RateLimitHeaders): RateLimitHeaders {
  const named: RateLimitHeaders = { ...limits };
  for (const key of ['retryAfter', 'remaining', 'reset'] as const) {
    const name = limits[key];
    if (name !== undefined) named[key] = name.toLowerCase();
  }
  return named;
}

function positive(name: string, value: number | undefined, fallback: number, min = 1): number {
  const resolved = value ?? fallback;
  if (!Number.isFinite(resolved) || resolved < min) {
    throw new ConfigurationError(`HttpClient option ${name} must be a number >= ${min}`);
  }
  return resolved;
}

function settingsFrom(options: HttpClientOptions): Settings {
  const breaker = options.circuitBreaker;
  return {
    provider: options.provider,
    baseUrl: options.baseUrl,
    auth: options.auth,
    headers: {
      accept: 'application/json',
      'user-agent': `circle-core/${options.provider.replace(/[^\w.-]+/g, '-')}`,
      ...lowerCaseKeys(options.headers),
    },
    timeoutMs: positive('timeoutMs', options.timeoutMs, 10_000),
    maxAttempts: positive('maxAttempts', options.maxAttempts, 3),
    baseDelayMs: positive('baseDelayMs', options.baseDelayMs, 100, 0),
    maxDelayMs: positive('maxDelayMs', options.maxDelayMs, 5_000, 0),
    maxRetryAfterMs: positive('maxRetryAfterMs', options.maxRetryAfterMs, 60_000, 0),
    maxResponseBytes: positive('maxResponseBytes', options.maxResponseBytes, 5 * 1024 * 1024),
    rateLimit: lowerCaseNames(options.rateLimit ?? {}),
    idempotencyHeader: (options.idempotencyHeader ?? 'Idempotency-Key').toLowerCase(),
    budget: options.budget,
    breaker:
      breaker === false
        ? false
        : {
            failureThreshold: positive('failureThreshold', breaker?.failureThreshold, 5),
            resetAfterMs: positive('resetAfterMs', breaker?.resetAfterMs, 30_000, 0),
          },
    ssrfGuard: options.ssrfGuard ?? false,
    maxRedirects: positive('maxRedirects', options.maxRedirects, 0, 0),
    inspect: options.inspect,
    lookup: options.lookup ?? guardedLookup,
  };
}

/** What changes from one hop to the next. */
type Hop = Pick<Prepared, 'url' | 'method' | 'headers' | 'body'>;

/**
 * The next hop after a redirect: 303 (and 301/302 after a POST, as browsers do) turn into a GET without
 * body; 307/308 repeat the request as it was. Credentials never follow to another origin.
 */
function redirected(hop: Hop, status: number, url: URL, origin: string): Hop {
  let { method, body, headers } = hop;
  if (status === 303 || (method === 'POST' && status !== 307 && status !== 308)) {
    if (method !== 'HEAD') method = 'GET';
    body = undefined;
    const { 'content-type': _type, 'content-length': _length, ...rest } = headers;
    headers = rest;
  }
  if (url.origin !== origin) {
    headers = { ...headers };
    for (const name of CREDENTIAL_HEADERS) delete headers[name];
  }
  return { url, method, headers, body };
}

/** `text` (resolved against `base`) as a URL when it is a valid http or https URL. */
function parseHttpUrl(text: string, base?: URL): URL | undefined {
  try {
    const url = new URL(text, base);
    return url.protocol === 'http:' || url.protocol === 'https:' ? url : undefined;
  } catch {
    return undefined;
  }
}

/** The default port is spelled out so `https://h` and `https://h:443` share one breaker. */
function hostKey(url: URL): string {
  return `${url.hostname}:${url.port === '' ? (url.protocol === 'https:' ? '443' : '80') : url.port}`;
}

/**
 * The outbound HTTP client: one keep-alive connection pool per instance, a deadline on every attempt
 * derived from the invocation's remaining time, full-jitter retries of idempotent calls, `Retry-After`,
 * one credential refresh on 401/403, a shared per-host circuit breaker, a response size cap and an SSRF
 * guard for URLs from input. Failures surface as the core's error classes.
 *
 * @example
 * ```ts
 * const github = new HttpClient({ provider: 'GitHub', baseUrl: 'https://api.github.com', auth });
 * const { body } = await github.request<{ id: number }>({ method: 'GET', path: '/repos/o/r/issues/1' });
 * await github.request({ method: 'POST', path: '/repos/o/r/issues', json: issue, idempotencyKey: id });
 * ```
 */
export class HttpClient {
  /** Sockets opened and attempts sent by this client so far (benchmarks, tests). */
  readonly stats: { socketsOpened: number; attempts: number } = { socketsOpened: 0, attempts: 0 };
  readonly #settings: Settings;
  /** Built per protocol on first use: an `https:` pool loads the TLS stack (about 10 ms of cold start). */
  readonly #agents: { http?: HttpAgent | undefined; https?: HttpsAgent | undefined };
  #guardedAgents: { http?: HttpAgent | undefined; https?: HttpsAgent | undefined } | undefined;
  readonly #owned: HttpAgent[] = [];
  readonly #seen = new WeakSet<Socket>();

  constructor(options: HttpClientOptions) {
    this.#settings = settingsFrom(options);
    // A guarded client checks every connection; an unguarded one gets a separate guarded pool on demand,
    // so a socket opened for a trusted URL is never reused for one that came from input.
    this.#agents = { http: options.agent?.http, https: options.agent?.https };
    if (this.#settings.ssrfGuard) this.#guardedAgents = this.#agents;
  }

  /**
   * Sends `request`, retrying and mapping failures as the class describes. Resolves for 2xx and 3xx
   * (unless `inspect` objects); rejects with a ConnectorError subclass otherwise.
   *
   * @example
   * ```ts
   * const res = await client.request<{ ok: boolean }>({ method: 'POST', path: '/chat.postMessage', json: msg });
   * ```
   */
  async request<T = unknown>(request: HttpRequest): Promise<HttpResponse<T>> {
    return this.#send<T>(this.#prepare(request), request);
  }

  /**
   * Sends `request` and answers as soon as a 2xx answer's headers arrived, its body the chunks as they
   * come (Server-Sent Events, an event stream). Everything up to the headers is as {@link request}: the
   * SSRF guard, credentials and their one refresh, the breaker, retries of idempotent calls, and the
   * per-attempt timeout (capped by the time left), which bounds the headers only. The body is bounded by
   * the invocation's time left and the size cap, and ends early when `signal` aborts; a failure while it is
   * read throws from the iteration (TimeoutError, UnavailableError) and is never retried, since part of the
   * answer was already handed on. Stop reading early with `break` (the socket is then destroyed). A
   * non-2xx answer is read whole and mapped as usual; `inspect` sees only those.
   *
   * @example
   * ```ts
   * const { body } = await client.stream({ method: 'POST', path: '/chat', json: { stream: true } }, signal);
   * for await (const chunk of body) process.stdout.write(chunk);
   * ```
   */
  async stream(request: HttpRequest, signal?: AbortSignal): Promise<HttpStream> {
    const prepared = { ...this.#prepare(request), stream: { signal } };
    const response = await this.#send<AsyncIterable<Uint8Array>>(prepared, request);
    if (
      typeof (response.body as Partial<AsyncIterable<Uint8Array>> | undefined)?.[Symbol.asyncIterator] !==
      'function'
    ) {
      // A 3xx answered as-is (no redirects followed): nothing to stream.
      throw new UnexpectedResponseError(
        `${this.#settings.provider} answered HTTP ${response.status} without a body to stream`,
        { details: { status: response.status, provider: this.#settings.provider } },
      );
    }
    return response;
  }

  async #send<T>(prepared: Prepared, request: HttpRequest): Promise<HttpResponse<T>> {
    const maxAttempts = positive('maxAttempts', request.maxAttempts, this.#settings.maxAttempts);
    const requestTimeoutMs = positive('timeoutMs', request.timeoutMs, this.#settings.timeoutMs);
    const idempotent =
      IDEMPOTENT.has(request.method) || request.idempotencyKey !== undefined || request.readOnly === true;
    let attempt = 0;
    let refreshed = false;
    let free = false;
    let last: ConnectorError | undefined;
    for (;;) {
      const timeoutMs = this.#attemptBudget(requestTimeoutMs, last);
      if (!free) attempt += 1;
      free = false;
      const outcome = await this.#attempt(prepared, timeoutMs);
      if (outcome.ok) return outcome.response as HttpResponse<T>;
      last = outcome.error;
      if (prepared.stream?.signal?.aborted === true) throw outcome.error;
      if (
        !refreshed &&
        outcome.error instanceof AuthError &&
        outcome.error.credentialFailure &&
        this.#settings.auth?.refresh !== undefined
      ) {
        refreshed = true;
        // A rotated secret is the likely cause; fresh credentials get one extra try, even for POST. Not
        // for a refusal the provider says is about something else (`credentialFailure: false`).
        if (await this.#settings.auth.refresh(prepared.credentials)) {
          free = true;
          continue;
        }
      }
      await this.#waitOrThrow(outcome, { attempt, maxAttempts, idempotent });
    }
  }

  /**
   * Destroys the connection pools this client created (injected agents belong to the caller).
   *
   * @example
   * ```ts
   * afterAll(() => client.close());
   * ```
   */
  close(): void {
    for (const agent of this.#owned) agent.destroy();
  }

  /**
   * This attempt's timeout: the request's own, capped by the time left less the core's one answer reserve
   * ({@link callBudget}). Less than {@link MIN_ATTEMPT_MS} cannot succeed: the last failure (or a
   * TimeoutError) is thrown instead of starting it.
   */
  #attemptBudget(requestTimeoutMs: number, last: ConnectorError | undefined): number {
    const { provider } = this.#settings;
    const noTime = () =>
      last ?? new TimeoutError(`No time left to call ${provider}`, { details: { provider } });
    let left: number;
    try {
      left = callBudget(Number.POSITIVE_INFINITY, `A call to ${provider}`);
    } catch {
      throw noTime();
    }
    if (left < MIN_ATTEMPT_MS) throw noTime();
    return Math.min(requestTimeoutMs, left);
  }

  #own<A extends HttpAgent>(agent: A): A {
    this.#owned.push(agent);
    return agent;
  }

  #agentOptions(lookup: LookupFunction | undefined): AgentOptions {
    const options: AgentOptions = { keepAlive: true, maxSockets: 50 };
    if (lookup !== undefined) options.lookup = lookup;
    return options;
  }

  #agentFor(url: URL, guarded: boolean): HttpAgent {
    let agents = this.#agents;
    if (guarded) {
      this.#guardedAgents ??= {};
      agents = this.#guardedAgents;
    }
    const options = (): AgentOptions => this.#agentOptions(guarded ? this.#settings.lookup : undefined);
    if (url.protocol === 'https:') {
      agents.https ??= this.#own(new https.Agent(options()));
      return agents.https;
    }
    agents.http ??= this.#own(new http.Agent(options()));
    return agents.http;
  }

  #prepare(request: HttpRequest): Prepared {
    const { provider, baseUrl } = this.#settings;
    const guarded = this.#settings.ssrfGuard || request.untrustedUrl === true;
    let target = request.url;
    if (target === undefined && baseUrl !== undefined) {
      const path = (request.path ?? '').replace(/^\/+/, '');
      target = path === '' ? baseUrl : `${baseUrl.replace(/\/+$/, '')}/${path}`;
    }
    if (target === undefined) {
      throw new ConfigurationError(`No URL for the ${provider} request: set baseUrl or pass url`);
    }
    const url = guarded ? assertUrlSyntaxAllowed(target) : parseHttpUrl(target);
    if (url === undefined) {
      throw new ValidationError(`The ${provider} request URL is not an absolute http(s) URL`);
    }
    for (const [name, value] of Object.entries(request.query ?? {})) {
      if (value !== undefined) url.searchParams.append(name, String(value));
    }
    const headers = { ...this.#settings.headers, ...requestHeaders(provider, request.headers) };
    const correlationId = currentCorrelationId();
    if (correlationId !== undefined) headers['x-correlation-id'] ??= correlationId;
    let body: Buffer | undefined;
    if (request.json !== undefined) {
      body = Buffer.from(JSON.stringify(request.json));
      headers['content-type'] ??= 'application/json';
    } else if (request.body !== undefined) {
      body = Buffer.from(request.body);
    }
    if (request.idempotencyKey !== undefined) {
      headers[this.#settings.idempotencyHeader] = headerKey(request.idempotencyKey);
    }
    return { url, method: request.method, headers, body, guarded, bytes: request.bytes === true };
  }

  /** One attempt: breaker, credentials, the request and its redirects, then the response mapping. */
  async #attempt(prepared: Prepared, timeoutMs: number): Promise<Outcome> {
    const { provider } = this.#settings;
    const breaker =
      this.#settings.breaker === false
        ? undefined
        : circuitBreakerFor(hostKey(prepared.url), this.#settings.breaker);
    if (breaker !== undefined && !breaker.tryAcquire()) {
      return { ok: false, error: new CircuitOpenError(prepared.url.host), retryAfterMs: undefined };
    }
    const { budget } = this.#settings;
    if (budget !== undefined) {
      try {
        await budget.take();
      } catch (error) {
        breaker?.release();
        const failure = toConnectorError(error);
        const retryAfterMs = failure instanceof RateLimitedError ? failure.retryAfterMs : undefined;
        return { ok: false, error: failure, retryAfterMs };
      }
    }
    this.stats.attempts += 1;
    let raw: RawResponse;
    let finalUrl: URL;
    try {
      ({ raw, finalUrl } = await this.#follow(prepared, Date.now() + timeoutMs, timeoutMs));
    } catch (error) {
      this.#report(breaker, error);
      return { ok: false, error: toConnectorError(error), retryAfterMs: undefined };
    }
    if (raw.status >= 500) breaker?.onFailure();
    else breaker?.onSuccess();
    const { body, malformed } = decodeAnswer(raw, prepared);
    const response: HttpResponse = { status: raw.status, headers: raw.headers, body, url: finalUrl.href };
    // A streamed 2xx body is not read here: the provider's quirks apply to whole answers only.
    const inspected = raw.stream === undefined ? this.#settings.inspect?.(response) : undefined;
    if (inspected !== undefined) {
      const retryAfterMs = inspected instanceof RateLimitedError ? inspected.retryAfterMs : undefined;
      await this.#pauseAll(retryAfterMs);
      return { ok: false, error: inspected, retryAfterMs };
    }
    if (malformed && raw.status < 300) {
      const error = new UnexpectedResponseError(
        `${provider} answered a JSON content-type that does not parse`,
        {
          details: { status: raw.status, provider },
        },
      );
      return { ok: false, error, retryAfterMs: undefined };
    }
    const failure = failureForResponse(response, provider, Date.now(), this.#settings.rateLimit);
    if (failure === undefined) return { ok: true, response };
    if (failure.error instanceof RateLimitedError) await this.#pauseAll(failure.retryAfterMs);
    return { ok: false, ...failure };
  }

  /** One container was told to wait: every container sharing the budget waits with it. */
  async #pauseAll(retryAfterMs: number | undefined): Promise<void> {
    if (retryAfterMs !== undefined) await this.#settings.budget?.pause(Date.now() + retryAfterMs);
  }

  #report(breaker: CircuitBreaker | undefined, error: unknown): void {
    if (isHostFailure(error)) breaker?.onFailure();
    else breaker?.release();
  }

  /** Sends the hops of one attempt, applying credentials on each same-origin hop. */
  async #follow(
    prepared: Prepared,
    deadlineAt: number,
    timeoutMs: number,
  ): Promise<{ raw: RawResponse; finalUrl: URL }> {
    const { auth, provider, maxRedirects, maxResponseBytes } = this.#settings;
    let current: Hop = prepared;
    for (let hop = 0; ; hop += 1) {
      const sent = { url: new URL(current.url), headers: { ...current.headers } };
      if (current.url.origin === prepared.url.origin && auth !== undefined) {
        await auth.apply(sent);
        prepared.credentials = sent;
      }
      const raw = await sendHop({
        url: sent.url,
        method: current.method,
        headers: lowerCaseKeys(sent.headers),
        body: current.body,
        agent: this.#agentFor(sent.url, prepared.guarded),
        lookup: prepared.guarded ? this.#settings.lookup : undefined,
        deadlineAt,
        timeoutMs,
        maxResponseBytes,
        provider,
        onSocket: (socket) => this.#count(socket),
        stream:
          prepared.stream === undefined
            ? undefined
            : { bodyDeadlineAt: Date.now() + remainingTimeMs(), signal: prepared.stream.signal },
      });
      const location = raw.headers['location'];
      if (!REDIRECTS.has(raw.status) || location === undefined || hop >= maxRedirects) {
        return { raw, finalUrl: current.url };
      }
      const next = this.#redirectTarget(location, sent.url, prepared.guarded);
      current = redirected(current, raw.status, next, prepared.url.origin);
    }
  }

  #redirectTarget(location: string, from: URL, guarded: boolean): URL {
    const next = parseHttpUrl(location, from);
    if (next === undefined) {
      throw new UnexpectedResponseError(`${this.#settings.provider} redirected to an unusable URL`);
    }
    return guarded ? assertUrlSyntaxAllowed(next) : next;
  }

  /** Counts connections, not socket objects: a socket refused during its lookup never connected. */
  #count(socket: Socket): void {
    if (this.#seen.has(socket)) return;
    this.#seen.add(socket);
    if (!socket.connecting) this.stats.socketsOpened += 1;
    else socket.once('connect', () => (this.stats.socketsOpened += 1));
  }

  /** Waits before the next attempt, or throws when retrying is not allowed or cannot fit the budget. */
  async #waitOrThrow(
    failure: ResponseFailure,
    context: { attempt: number; maxAttempts: number; idempotent: boolean },
  ): Promise<void> {
    const { error, retryAfterMs } = failure;
    const stop =
      !error.retryable ||
      error instanceof CircuitOpenError ||
      !context.idempotent ||
      context.attempt >= context.maxAttempts;
    if (stop) throw error;
    const budget = remainingTimeMs() - ANSWER_RESERVE_MS - MIN_ATTEMPT_MS;
    if (retryAfterMs !== undefined) {
      if (retryAfterMs > Math.min(budget, this.#settings.maxRetryAfterMs)) {
        // Never clamp: waiting less than asked would just be throttled again. Tell the caller how long.
        throw new RateLimitedError(
          `${this.#settings.provider} asked to wait ${Math.ceil(retryAfterMs / 1000)} s, more than the time left`,
          { retryAfterMs, details: error.details ?? { provider: this.#settings.provider }, cause: error },
        );
      }
      await sleep(retryAfterMs);
      return;
    }
    const delay = backoffDelayMs(context.attempt, this.#settings);
    if (delay > budget) throw error;
    await sleep(delay);
  }
}
