/**
 * A REST provider as data: base URL (overridable per stage by a setting), auth kind, default headers,
 * error table, pagination style and rate-limit headers, declared once with {@link defineRestProvider}.
 * The declaration derives the provider's settings and builds a typed {@link RestClient} on the core's
 * HttpClient (keep-alive, budgets, retries, circuit breaker, SSRF guard) whose answers are parsed with zod
 * and whose failures are mapped once.
 */
import * as z from 'zod';
import { apiKeyAuth } from '../auth/api-key.ts';
import { basicAuth } from '../auth/basic.ts';
import { bearerAuth } from '../auth/bearer.ts';
import type { CredentialSource, RequestAuth } from '../auth/types.ts';
import { envInteger } from '../config.ts';
import { type RateLimitDeclaration, SharedRateBudget } from '../coordination/rate-budget.ts';
import { type CoordinationTable, coordinationFromEnv } from '../coordination/table.ts';
import {
  ConfigurationError,
  type ConnectorError,
  NotFoundError,
  UnexpectedResponseError,
} from '../errors.ts';
import type { RateLimitHeaders } from '../http/backoff.ts';
import { HttpClient } from '../http/client.ts';
import type { HttpMethod, HttpRequest, HttpResponse, HttpStream } from '../http/types.ts';
import { parseOptions } from '../schema-parse.ts';
import { type ErrorTable, operationOf, tableFailure } from './errors.ts';
import {
  type Collected,
  type CollectOptions,
  collectPages,
  type Page,
  type PageQuery,
  type PaginationStyle,
} from './pagination.ts';

/** How a provider authenticates, as one of the core's auth kinds built from one credential. */
export type RestAuthKind =
  | { kind: 'bearer' }
  | { kind: 'api-key'; header?: string; query?: string; prefix?: string }
  | { kind: 'basic' }
  | { kind: 'none' };

/** Everything the core needs to know about a REST provider. */
export interface RestProviderDeclaration<P extends string> {
  /** The name in messages and logs: `Slack`. */
  name: string;
  /** Prefix of the derived settings: `SLACK` gives `SLACK_API_URL`, `SLACK_TIMEOUT_MS`, ... */
  settingsPrefix: P;
  /** The public API's base URL, the default of `<PREFIX>_API_URL`. */
  baseUrl: string;
  /** Added to the setting's description, e.g. how a self-hosted edition's URL looks. */
  baseUrlNote?: string;
  /** How a credential is sent; default bearer. A client may pass a ready auth instead (token exchanges). */
  auth?: RestAuthKind;
  /** Sent with every request. */
  headers?: Record<string, string>;
  /** The content-type of JSON bodies; default `application/json`. */
  jsonContentType?: string;
  /** Where error codes sit and what they mean. */
  errors?: ErrorTable;
  /** A provider quirk the table cannot say, checked first: return an error to fail the call. */
  inspect?: (response: HttpResponse) => ConnectorError | undefined;
  /** How list operations page. */
  pagination?: PaginationStyle;
  /** Rate-limit headers beyond `Retry-After`, their reset format, and statuses that mean "throttled". */
  rateLimit?: RateLimitHeaders;
  /** The header of idempotency keys, when the provider has them (then writes may be retried with one). */
  idempotencyHeader?: string;
  /**
   * The provider's published rate limit, about 10% under it: with `CIRCLE_COORDINATION_TABLE` set, every
   * container of the connector draws from this one budget ({@link SharedRateBudget}).
   */
  rateBudget?: RateLimitDeclaration;
}

/** The settings every REST provider has, as a zod shape to spread into its config. */
type RestIntegerSetting<P extends string> =
  | `${P}_TIMEOUT_MS`
  | `${P}_MAX_ATTEMPTS`
  | `${P}_MAX_RETRY_AFTER_MS`
  | `${P}_RATE_LIMIT`;

export type RestSettingsShape<P extends string> = { [K in `${P}_API_URL`]: z.ZodDefault<z.ZodURL> } & {
  [K in RestIntegerSetting<P>]: ReturnType<typeof envInteger>;
};

/** The parsed settings. */
export type RestSettings<P extends string> = { [K in `${P}_API_URL`]: string } & {
  [K in RestIntegerSetting<P>]: number;
};

export interface RestClientOptions {
  /** Default: the declared base URL. */
  baseUrl?: string | undefined;
  /** The credential for the declared auth kind (a Secret is re-read after a 401/403). */
  credential?: CredentialSource | undefined;
  /** A ready auth instead of `credential` (an app installation token, an OAuth2 grant). */
  auth?: RequestAuth | undefined;
  /** Per attempt, default 10 000; always capped by the time left. */
  timeoutMs?: number | undefined;
  /** Attempts of idempotent calls, default 3. */
  maxAttempts?: number | undefined;
  /** The longest Retry-After waited for, default 60 000. */
  maxRetryAfterMs?: number | undefined;
  /** A ready HTTP client (tests); the other options are then ignored. */
  http?: HttpClient | undefined;
  /**
   * Where the declared rate budget is shared; default the table `CIRCLE_COORDINATION_TABLE` names, keyed
   * by the lower-cased settings prefix. `false`: this container alone.
   */
  coordination?: CoordinationTable | false | undefined;
  /** Replaces the declared budget's limit (`<PREFIX>_RATE_LIMIT`); 0 shares no budget. */
  rateLimit?: number | undefined;
}

/** One call's options besides its method, path and answer schema. */
export interface RestCallOptions {
  query?: PageQuery;
  headers?: Record<string, string>;
  /** Sent as JSON with the declared content-type. */
  json?: unknown;
  /** A raw body; pass its content-type in `headers`. */
  body?: string | Uint8Array;
  /** A 2xx answer's body as received, a Buffer (downloads); use `send` without a schema. */
  bytes?: boolean;
  /** Makes a write retryable when the provider declares an idempotency header. */
  idempotencyKey?: string;
  /** A POST that changes nothing (a GraphQL query): retried like a GET (`HttpRequest.readOnly`). */
  readOnly?: boolean;
  /** What the answer is, for messages (`an issue list`); default the last path segment. */
  what?: string;
  /** The subject a 404 is about (`Repository octo/hello`): the NotFoundError then names it. */
  notFound?: string;
}

/** A parsed answer with its status and headers. */
export interface RestAnswer<T> {
  status: number;
  headers: Record<string, string>;
  body: T;
  url: string;
}

/** A list call: one page, read with the provider's pagination style. */
export interface RestListOptions<A, T> extends RestCallOptions {
  /** The cursor of a previous page; absent for the first. */
  cursor?: string | undefined;
  /** The page's items, from the parsed answer. */
  items: (answer: A) => T[];
  /** Overrides the declared style for this endpoint. */
  pagination?: PaginationStyle;
}

/** A declared REST provider: its settings, its auth, its failure mapping and its clients. */
export interface RestProvider<P extends string> {
  readonly declaration: RestProviderDeclaration<P>;
  readonly name: string;
  /** `<PREFIX>_API_URL` (default the declared base URL), `_TIMEOUT_MS`, `_MAX_ATTEMPTS`, `_MAX_RETRY_AFTER_MS`. */
  readonly settings: RestSettingsShape<P>;
  /** The declared auth kind built from a credential. */
  auth(credential: CredentialSource): RequestAuth;
  /** The failure the declaration maps an answer to (quirk, then table), or `undefined`. */
  inspect(response: HttpResponse): ConnectorError | undefined;
  client(options?: RestClientOptions): RestClient;
  /** A client from the parsed settings and a credential or a ready auth. */
  clientFromSettings(
    settings: RestSettings<P>,
    access: Pick<RestClientOptions, 'credential' | 'auth' | 'http'>,
  ): RestClient;
}

function authFor(kind: RestAuthKind, credential: CredentialSource, provider: string): RequestAuth {
  switch (kind.kind) {
    case 'bearer':
      return bearerAuth({ token: credential });
    case 'api-key': {
      const { kind: _kind, ...where } = kind;
      return apiKeyAuth({ key: credential, ...where });
    }
    case 'basic':
      if (typeof credential === 'string') {
        throw new ConfigurationError(`${provider} basic auth reads a secret holding { username, password }`);
      }
      return basicAuth({ credentials: credential });
    case 'none':
      return { apply: async () => undefined, refresh: async () => false };
  }
}

/** The period of a rate budget set only by `<PREFIX>_RATE_LIMIT`, for a provider that declares none. */
const DEFAULT_BUDGET_PERIOD_MS = 60_000;

/** The declared rate budget, shared through the coordination table when there is one. */
function sharedBudget(
  declaration: RestProviderDeclaration<string>,
  { coordination, rateLimit }: RestClientOptions,
): SharedRateBudget | undefined {
  const limit = rateLimit ?? declaration.rateBudget?.limit ?? 0;
  if (limit === 0 || coordination === false) return undefined;
  const table = coordination ?? coordinationFromEnv(declaration.settingsPrefix.toLowerCase());
  const perMs = declaration.rateBudget?.perMs ?? DEFAULT_BUDGET_PERIOD_MS;
  return table === undefined
    ? undefined
    : new SharedRateBudget({ table, provider: declaration.name, limit, perMs });
}

/**
 * Declares a REST provider once; connectors write only these facts, their models and their quirks.
 *
 * @example
 * ```ts
 * export const slackApi = defineRestProvider({
 *   name: 'Slack',
 *   settingsPrefix: 'SLACK',
 *   baseUrl: 'https://slack.com/api',
 *   auth: { kind: 'bearer' },
 *   errors: { codeIn: 'ok-false', codeField: 'error', rows: SLACK_ERRORS },
 *   pagination: bodyCursor({ field: 'response_metadata.next_cursor', param: 'cursor' }),
 * });
 * const SlackConfig = z.object({ ...slackApi.settings, SLACK_BOT_TOKEN_SECRET: z.string() });
 * const rest = slackApi.clientFromSettings(loadConfig(SlackConfig), { credential: defineSecret(name) });
 * ```
 */
export function defineRestProvider<P extends string>(
  declaration: RestProviderDeclaration<P>,
): RestProvider<P> {
  const { name, settingsPrefix: prefix, rateBudget: budget } = declaration;
  const context = { provider: name, rateLimit: declaration.rateLimit };
  const settings = {
    [`${prefix}_API_URL`]: z
      .url({ protocol: /^https?$/ })
      .default(declaration.baseUrl)
      .describe(
        `Base URL of the ${name} API (a contract fake's URL locally${declaration.baseUrlNote === undefined ? '' : `; ${declaration.baseUrlNote}`})`,
      ),
    [`${prefix}_TIMEOUT_MS`]: envInteger(10_000, { min: 100, max: 900_000 }).describe(
      "Per attempt, ms; always capped by the invocation's time left",
    ),
    [`${prefix}_MAX_ATTEMPTS`]: envInteger(3, { min: 1, max: 10 }).describe(
      'Attempts of idempotent calls; writes without an idempotency key are sent once',
    ),
    [`${prefix}_MAX_RETRY_AFTER_MS`]: envInteger(60_000, { min: 0, max: 900_000 }).describe(
      'The longest Retry-After waited for; longer fails at once with the delay',
    ),
    [`${prefix}_RATE_LIMIT`]: envInteger(budget?.limit ?? 0, { min: 0, max: 1_000_000_000 }).describe(
      `Calls per ${(budget?.perMs ?? DEFAULT_BUDGET_PERIOD_MS) / 1000} s that every container shares through CIRCLE_COORDINATION_TABLE (about 10% under ${name}'s limit); 0 = no shared budget (the local stack's sandboxes)`,
    ),
  } as RestSettingsShape<P>;
  const provider: RestProvider<P> = {
    declaration,
    name,
    settings,
    auth: (credential) => authFor(declaration.auth ?? { kind: 'bearer' }, credential, name),
    inspect: (response) =>
      declaration.inspect?.(response) ?? tableFailure(response, declaration.errors, context),
    client(options = {}) {
      const auth =
        options.auth ?? (options.credential === undefined ? undefined : provider.auth(options.credential));
      const budget = sharedBudget(declaration, options);
      const http =
        options.http ??
        new HttpClient({
          provider: name,
          baseUrl: options.baseUrl ?? declaration.baseUrl,
          headers: { ...declaration.headers },
          inspect: provider.inspect,
          ...(auth === undefined ? {} : { auth }),
          ...(budget === undefined ? {} : { budget }),
          ...(declaration.rateLimit === undefined ? {} : { rateLimit: declaration.rateLimit }),
          ...(declaration.idempotencyHeader === undefined
            ? {}
            : { idempotencyHeader: declaration.idempotencyHeader }),
          ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
          ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
          ...(options.maxRetryAfterMs === undefined ? {} : { maxRetryAfterMs: options.maxRetryAfterMs }),
        });
      return new RestClient(declaration, http);
    },
    clientFromSettings(values, access) {
      const read = values as unknown as Record<string, string | number>;
      return provider.client({
        ...access,
        baseUrl: String(read[`${prefix}_API_URL`]),
        timeoutMs: Number(read[`${prefix}_TIMEOUT_MS`]),
        maxAttempts: Number(read[`${prefix}_MAX_ATTEMPTS`]),
        maxRetryAfterMs: Number(read[`${prefix}_MAX_RETRY_AFTER_MS`]),
        rateLimit: Number(read[`${prefix}_RATE_LIMIT`]),
      });
    },
  };
  return provider;
}

/**
 * The typed client of a declared provider: `get/post/put/patch/delete` parse the answer with a zod
 * schema (an answer that does not fit is an UnexpectedResponseError naming the fields, never the values);
 * every failure was mapped once by the declaration on the way in.
 *
 * @example
 * ```ts
 * const { user } = await rest.get('/users.lookupByEmail', LookupAnswer, { query: { email } });
 * const issue = await rest.post('/repos/o/r/issues', RawIssue, { json: { title }, notFound: 'Repository o/r' });
 * ```
 */
export class RestClient {
  readonly #declaration: RestProviderDeclaration<string>;
  /** The underlying HTTP client (stats, close). */
  readonly http: HttpClient;

  constructor(declaration: RestProviderDeclaration<string>, http: HttpClient) {
    this.#declaration = declaration;
    this.http = http;
  }

  get<S extends z.ZodType>(path: string, schema: S, options?: RestCallOptions): Promise<z.output<S>> {
    return this.#body('GET', path, schema, options);
  }

  post<S extends z.ZodType>(path: string, schema: S, options?: RestCallOptions): Promise<z.output<S>> {
    return this.#body('POST', path, schema, options);
  }

  put<S extends z.ZodType>(path: string, schema: S, options?: RestCallOptions): Promise<z.output<S>> {
    return this.#body('PUT', path, schema, options);
  }

  patch<S extends z.ZodType>(path: string, schema: S, options?: RestCallOptions): Promise<z.output<S>> {
    return this.#body('PATCH', path, schema, options);
  }

  delete<S extends z.ZodType>(path: string, schema: S, options?: RestCallOptions): Promise<z.output<S>> {
    return this.#body('DELETE', path, schema, options);
  }

  /**
   * One call with its status and headers; without a schema the body is returned as received.
   *
   * @example
   * ```ts
   * const { body, headers } = await rest.send('GET', '/rate_limit', RateLimitAnswer);
   * ```
   */
  async send<S extends z.ZodType = z.ZodUnknown>(
    method: HttpMethod,
    path: string,
    schema?: S,
    options: RestCallOptions = {},
  ): Promise<RestAnswer<z.output<S>>> {
    const request = this.#request(method, path, options);
    let response: HttpResponse;
    try {
      response = await this.http.request(request);
    } catch (error) {
      throw options.notFound === undefined ? error : this.#named(error, options.notFound);
    }
    const what = options.what ?? operationOf(path);
    const body =
      schema === undefined ? (response.body as z.output<S>) : this.#parse(schema, response.body, what);
    return { status: response.status, headers: response.headers, body, url: response.url };
  }

  /**
   * One call whose 2xx body is read as it arrives (a provider's Server-Sent Events): failures up to the
   * headers are mapped and retried as for {@link send} (a POST only with an idempotency key or `readOnly`),
   * the body is bounded by the time left and ends early when `signal` aborts; nothing is retried once the
   * body started ({@link HttpClient.stream}).
   *
   * @example
   * ```ts
   * const { body } = await rest.stream('POST', '/chat/completions', { json: { stream: true } }, signal);
   * for await (const event of readSse(body)) console.log(event.data);
   * ```
   */
  async stream(
    method: HttpMethod,
    path: string,
    options: RestCallOptions = {},
    signal?: AbortSignal,
  ): Promise<HttpStream> {
    try {
      return await this.http.stream(this.#request(method, path, options), signal);
    } catch (error) {
      throw options.notFound === undefined ? error : this.#named(error, options.notFound);
    }
  }

  #request(method: HttpMethod, path: string, options: RestCallOptions): HttpRequest {
    const request: HttpRequest = { method, path };
    if (options.query !== undefined) request.query = options.query;
    const headers = { ...options.headers };
    if (options.json !== undefined) {
      request.json = options.json;
      headers['content-type'] ??= this.#declaration.jsonContentType ?? 'application/json';
    } else if (options.body !== undefined) request.body = options.body;
    if (Object.keys(headers).length > 0) request.headers = headers;
    if (options.idempotencyKey !== undefined) request.idempotencyKey = options.idempotencyKey;
    if (options.readOnly === true) request.readOnly = true;
    if (options.bytes === true) request.bytes = true;
    return request;
  }

  /**
   * One page of a listing, read with the declared pagination style (or `options.pagination`).
   *
   * @example
   * ```ts
   * const page = await rest.list('/conversations.list', ListAnswer, { query: { limit: 100 }, cursor, items: (a) => a.channels });
   * ```
   */
  async list<S extends z.ZodType, T>(
    path: string,
    schema: S,
    options: RestListOptions<z.output<S>, T>,
  ): Promise<Page<T>> {
    const style = options.pagination ?? this.#declaration.pagination;
    if (style === undefined) {
      throw new ConfigurationError(`${this.#declaration.name} declares no pagination style for ${path}`);
    }
    const listing = { path, first: options.query ?? {} };
    const query = style.query(listing.first, options.cursor, listing);
    const answer = await this.send('GET', path, schema, { ...options, query });
    const items = options.items(answer.body);
    return {
      items,
      ...style.next({ headers: answer.headers, body: answer.body, query, count: items.length, listing }),
    };
  }

  /**
   * Reads pages of a listing within the time left ({@link collectPages}) and returns a cursor to resume.
   *
   * @example
   * ```ts
   * const { items, nextCursor } = await rest.collect('/items', Answer, { items: (a) => a.items, maxPages: 10 });
   * ```
   */
  collect<S extends z.ZodType, T>(
    path: string,
    schema: S,
    options: RestListOptions<z.output<S>, T> & CollectOptions,
  ): Promise<Collected<T>> {
    return collectPages((cursor) => this.list(path, schema, { ...options, cursor }), options);
  }

  /** Closes the connection pool. */
  close(): void {
    this.http.close();
  }

  async #body<S extends z.ZodType>(
    method: HttpMethod,
    path: string,
    schema: S,
    options?: RestCallOptions,
  ): Promise<z.output<S>> {
    return (await this.send(method, path, schema, options)).body;
  }

  #parse<S extends z.ZodType>(schema: S, body: unknown, what: string): z.output<S> {
    const parsed = schema.safeParse(body, parseOptions());
    if (parsed.success) return parsed.data;
    // Field names only: values could be anything the provider sent.
    const fields = [...new Set(parsed.error.issues.map((issue) => issue.path.join('.') || '(root)'))].slice(
      0,
      10,
    );
    const provider = this.#declaration.name;
    throw new UnexpectedResponseError(
      `${provider} answered ${what} without the expected fields (${fields.join(', ').slice(0, 200)})`,
      { details: { provider, fields } },
    );
  }

  #named(error: unknown, subject: string): unknown {
    if (!(error instanceof NotFoundError)) return error;
    const hint = this.#declaration.errors?.notFoundHint;
    return new NotFoundError(
      `${subject} was not found${hint === undefined ? '' : `, ${hint}`} (${error.message})`,
      {
        cause: error,
        ...(error.details === undefined ? {} : { details: error.details }),
      },
    );
  }
}
