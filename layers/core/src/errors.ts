/**
 * The error taxonomy. Every failure a connector can surface is one of these classes; only a provider's
 * `client.ts` turns raw provider failures into them, and {@link toProblem}, {@link isRetryable} and the
 * error `name` map them to HTTP, queue and Step Functions outcomes in one place.
 *
 * Messages must never contain request bodies, tokens or secret values: they may reach a caller or a log.
 */

/** One invalid field of an input, addressed by an RFC 6901 JSON pointer (`/items/0/name`). */
export interface FieldIssue {
  pointer: string;
  message: string;
}

export interface ConnectorErrorOptions extends ErrorOptions {
  /** Extra, non-secret facts for logs and problem bodies (e.g. the provider's error code). */
  details?: Record<string, unknown>;
}

/**
 * Base class of every connector failure.
 *
 * @example
 * ```ts
 * throw new ConnectorError('Something failed', { cause: err });
 * ```
 */
export class ConnectorError extends Error {
  /** Stable machine code, snake_case; part of the public contract. */
  readonly code: string = 'internal_error';
  /** HTTP status this failure maps to. */
  readonly status: number = 500;
  /** Whether trying the same request again later may succeed. */
  readonly retryable: boolean = false;
  /** Whether the message is safe to show to the caller (below 500 it is). */
  readonly expose: boolean = false;
  readonly details: Record<string, unknown> | undefined;

  constructor(message: string, options: ConnectorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConnectorError';
    this.details = options.details;
  }
}

/**
 * A setting or secret is missing or malformed. The message names the variable, never its value.
 *
 * @example
 * ```ts
 * throw new ConfigurationError('S3_BUCKET is required (expected a bucket name)');
 * ```
 */
export class ConfigurationError extends ConnectorError {
  override readonly code = 'configuration_error';
  override readonly status = 500;
  // The caller cannot fix it, but the message only names settings, so it is safe and useful to show.
  override readonly expose = true;
  constructor(message: string, options?: ConnectorErrorOptions) {
    super(message, options);
    this.name = 'ConfigurationError';
  }
}

/**
 * The caller's input does not match the operation's schema (or is not valid JSON).
 *
 * @example
 * ```ts
 * throw new ValidationError('Invalid input', [{ pointer: '/bucket', message: 'Required' }]);
 * ```
 */
export class ValidationError extends ConnectorError {
  override readonly code = 'validation_error';
  override readonly status = 400;
  override readonly expose = true;
  readonly issues: FieldIssue[];
  constructor(message: string, issues: FieldIssue[] = [], options?: ConnectorErrorOptions) {
    super(message, options);
    this.name = 'ValidationError';
    this.issues = issues;
  }
}

/**
 * The request body exceeds the configured limit, or an operation's answer exceeds what its trigger can
 * carry (a synchronous Lambda response, a Step Functions state).
 *
 * @example
 * ```ts
 * throw new PayloadTooLargeError(1_048_576);
 * ```
 */
export class PayloadTooLargeError extends ConnectorError {
  override readonly code = 'payload_too_large';
  override readonly status = 413;
  override readonly expose = true;
  readonly limitBytes: number;
  /** `message` replaces the default one, e.g. for a response over the trigger's limit. */
  constructor(limitBytes: number, options?: ConnectorErrorOptions & { message?: string }) {
    super(options?.message ?? `Request body exceeds the limit of ${limitBytes} bytes`, options);
    this.name = 'PayloadTooLargeError';
    this.limitBytes = limitBytes;
  }
}

/**
 * The request body has a content type the route does not accept.
 *
 * @example
 * ```ts
 * throw new UnsupportedMediaTypeError('Operation routes accept only application/json bodies');
 * ```
 */
export class UnsupportedMediaTypeError extends ConnectorError {
  override readonly code = 'unsupported_media_type';
  override readonly status = 415;
  override readonly expose = true;
  constructor(message: string, options?: ConnectorErrorOptions) {
    super(message, options);
    this.name = 'UnsupportedMediaTypeError';
  }
}

/**
 * The caller is not authenticated (inbound) or the provider refused our credentials (outbound).
 *
 * @example
 * ```ts
 * throw new AuthError('Slack rejected the token (invalid_auth)');
 * ```
 */
export class AuthError extends ConnectorError {
  override readonly code: string = 'unauthorized';
  override readonly status: number = 401;
  override readonly expose = true;
  readonly #credentialFailure: boolean;
  constructor(message: string, options?: AuthErrorOptions) {
    super(message, options);
    this.name = 'AuthError';
    this.#credentialFailure = options?.credentialFailure !== false;
  }

  /**
   * Whether fresh credentials may get past the refusal (true unless the provider said otherwise): the HTTP
   * client renews credentials and sends once more only then. A refusal for another reason (an account
   * suspended, a policy) would only be met again, and a write would be sent twice.
   */
  get credentialFailure(): boolean {
    return this.#credentialFailure;
  }
}

export interface AuthErrorOptions extends ConnectorErrorOptions {
  /**
   * False when the provider refused for a reason fresh credentials cannot change (an account suspended,
   * a policy of the provider's): the HTTP client then neither renews the credentials nor sends again.
   */
  credentialFailure?: boolean | undefined;
}

/**
 * Authenticated but not allowed (provider 403, missing scope).
 *
 * @example
 * ```ts
 * throw new ForbiddenError('The token lacks the chat:write scope');
 * ```
 */
export class ForbiddenError extends AuthError {
  override readonly code = 'forbidden';
  override readonly status = 403;
  constructor(message: string, options?: AuthErrorOptions) {
    super(message, options);
    this.name = 'ForbiddenError';
  }
}

/**
 * The addressed resource does not exist.
 *
 * @example
 * ```ts
 * throw new NotFoundError('Object reports/1.csv not found in bucket data');
 * ```
 */
export class NotFoundError extends ConnectorError {
  override readonly code = 'not_found';
  override readonly status = 404;
  override readonly expose = true;
  constructor(message: string, options?: ConnectorErrorOptions) {
    super(message, options);
    this.name = 'NotFoundError';
  }
}

/**
 * The request conflicts with the resource's state (already exists, version mismatch, idempotency key
 * reused with another payload).
 *
 * @example
 * ```ts
 * throw new ConflictError('Row with id 7 already exists');
 * ```
 */
export class ConflictError extends ConnectorError {
  override readonly code = 'conflict';
  override readonly status = 409;
  override readonly expose = true;
  constructor(message: string, options?: ConnectorErrorOptions) {
    super(message, options);
    this.name = 'ConflictError';
  }
}

/**
 * The operation or an optional capability is not offered by this provider.
 *
 * @example
 * ```ts
 * throw new NotSupportedError('presign-url is not supported by this object store');
 * ```
 */
export class NotSupportedError extends ConnectorError {
  override readonly code = 'not_supported';
  override readonly status = 501;
  override readonly expose = true;
  constructor(message: string, options?: ConnectorErrorOptions) {
    super(message, options);
    this.name = 'NotSupportedError';
  }
}

/**
 * The provider throttled us. `retryAfterMs` is the provider's requested wait, when it gave one.
 *
 * @example
 * ```ts
 * throw new RateLimitedError('GitHub secondary rate limit', { retryAfterMs: 60_000 });
 * ```
 */
export class RateLimitedError extends ConnectorError {
  override readonly code = 'rate_limited';
  override readonly status = 429;
  override readonly retryable = true;
  override readonly expose = true;
  readonly retryAfterMs: number | undefined;
  constructor(message: string, options: ConnectorErrorOptions & { retryAfterMs?: number | undefined } = {}) {
    super(message, options);
    this.name = 'RateLimitedError';
    this.retryAfterMs = options.retryAfterMs;
  }
}

/**
 * The provider is down, answered 5xx, or the network failed. Worth retrying later.
 *
 * @example
 * ```ts
 * throw new UnavailableError('S3 answered 503', { cause: err });
 * ```
 */
export class UnavailableError extends ConnectorError {
  override readonly code: string = 'provider_unavailable';
  override readonly status: number = 503;
  override readonly retryable = true;
  override readonly expose = true;
  constructor(message: string, options?: ConnectorErrorOptions) {
    super(message, options);
    this.name = 'UnavailableError';
  }
}

/**
 * Calls to a host fail fast because its circuit breaker is open.
 *
 * @example
 * ```ts
 * throw new CircuitOpenError('slack.com');
 * ```
 */
export class CircuitOpenError extends UnavailableError {
  override readonly code = 'circuit_open';
  constructor(host: string, options?: ConnectorErrorOptions) {
    super(`Calls to ${host} are paused after repeated failures (circuit open)`, options);
    this.name = 'CircuitOpenError';
  }
}

/**
 * An attempt or the whole call ran out of time.
 *
 * @example
 * ```ts
 * throw new TimeoutError('GET api.github.com timed out after 3000 ms');
 * ```
 */
export class TimeoutError extends ConnectorError {
  override readonly code = 'timeout';
  override readonly status = 504;
  override readonly retryable = true;
  override readonly expose = true;
  constructor(message: string, options?: ConnectorErrorOptions) {
    super(message, options);
    this.name = 'TimeoutError';
  }
}

/**
 * The provider answered something we cannot use (malformed JSON, missing fields, too large).
 *
 * @example
 * ```ts
 * throw new UnexpectedResponseError('Slack answered a body that is not JSON');
 * ```
 */
export class UnexpectedResponseError extends ConnectorError {
  override readonly code = 'unexpected_response';
  override readonly status = 502;
  override readonly expose = true;
  constructor(message: string, options?: ConnectorErrorOptions) {
    super(message, options);
    this.name = 'UnexpectedResponseError';
  }
}

/**
 * Wraps anything that is not already a {@link ConnectorError}; known errors pass through unchanged.
 *
 * @example
 * ```ts
 * catch (err) { throw toConnectorError(err); }
 * ```
 */
export function toConnectorError(error: unknown): ConnectorError {
  if (error instanceof ConnectorError) return error;
  return new ConnectorError('Internal error', { cause: error });
}

/** An RFC 9457 problem details body. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  errors?: FieldIssue[];
  retryAfterMs?: number;
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/**
 * Maps any error to an HTTP status and an RFC 9457 `application/problem+json` body. Unexposed errors
 * (5xx internals) get a generic detail; the real message belongs in the log, not the response.
 *
 * @example
 * ```ts
 * const { status, body } = toProblem(new NotFoundError('No such key'), { instance: requestId });
 * ```
 */
export function toProblem(error: unknown, options: { instance?: string } = {}): Problem {
  const err = toConnectorError(error);
  const problem: Problem = {
    type: `https://circle-core.dev/problems/${err.code.replaceAll('_', '-')}`,
    title: TITLES[err.status] ?? 'Error',
    status: err.status,
    detail: err.expose ? err.message : 'The connector failed unexpectedly; see its logs.',
    code: err.code,
  };
  if (options.instance !== undefined) problem.instance = options.instance;
  if (err instanceof ValidationError && err.issues.length > 0) problem.errors = err.issues;
  if (err instanceof RateLimitedError && err.retryAfterMs !== undefined)
    problem.retryAfterMs = err.retryAfterMs;
  return problem;
}

/**
 * The queue decision: true when another delivery may succeed (the record is retried after the visibility
 * timeout), false when it cannot (a poison record). Either way the record is reported as failed, never
 * dropped: the redrive policy parks poison in the dead-letter queue after `maxReceiveCount` receives, where
 * nothing accepted is lost. The decision sets how the failure is logged.
 *
 * @example
 * ```ts
 * logger.warn(isRetryable(err) ? 'Record failed, will be retried' : 'Poison record, left for the DLQ');
 * ```
 */
export function isRetryable(error: unknown): boolean {
  return error instanceof ConnectorError ? error.retryable : true;
}

/**
 * The stable error name Step Functions `Retry`/`Catch` match on (`RateLimitedError`, `NotFoundError`, ...).
 * Unknown errors become `ConnectorError` so no library-internal name leaks into a state machine.
 *
 * @example
 * ```ts
 * const name = stepFunctionsErrorName(err); // 'RateLimitedError'
 * ```
 */
export function stepFunctionsErrorName(error: unknown): string {
  return toConnectorError(error).name;
}

/** The names state machines may match in a `Retry` block: the retryable classes. */
export const RETRYABLE_ERROR_NAMES = [
  'RateLimitedError',
  'UnavailableError',
  'CircuitOpenError',
  'TimeoutError',
] as const;
