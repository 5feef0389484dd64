import {
  AuthError,
  ConflictError,
  ConnectorError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';

/** What was being attempted when a call failed; names only, never bodies or credentials. */
export interface S3CallTarget {
  /** The SDK command, e.g. `GetObject`. */
  command: string;
  bucket: string;
  key?: string | undefined;
  /** The time budget the call had, for the timeout message. */
  budgetMs: number;
}

/** The parts of an AWS SDK v3 error (or a Node network error) the mapping reads. */
interface RawS3Error {
  name?: unknown;
  code?: unknown;
  message?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: number; requestId?: string };
  $response?: { headers?: Record<string, string | undefined> };
  /** S3 names the missing bucket in NoSuchBucket errors; the SDK copies it onto the exception. */
  BucketName?: unknown;
}

// The S3 error codes (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html) we give a
// meaning; everything else falls back to its HTTP status.
const TIMEOUTS = new Set(['AbortError', 'TimeoutError', 'RequestTimeout']);
const THROTTLING = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottled',
  'BandwidthLimitExceeded',
]);
const CREDENTIALS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
]);
const INVALID_REQUEST = new Set([
  'KeyTooLongError',
  'InvalidBucketName',
  'EntityTooLarge',
  'MetadataTooLarge',
  'InvalidArgument',
  'InvalidObjectName',
]);
/**
 * Errors the SDK or Node's HTTP stack throws while building a request from our input, before anything is
 * sent: `URIError` when text cannot be percent-encoded (a lone surrogate in a key or query value), and an
 * invalid character in a header value. Nothing answered, so the input is the cause.
 */
const REQUEST_BUILD_NAMES = new Set(['URIError']);
const REQUEST_BUILD_CODES = new Set(['ERR_INVALID_CHAR']);
const PRECONDITION = new Set(['PreconditionFailed', 'ConditionalRequestConflict']);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Everything a rule looks at, read once from the raw error. */
interface Facts {
  error: unknown;
  raw: RawS3Error;
  name: string;
  code: string;
  status: number | undefined;
  target: S3CallTarget;
  /** `object "k" in bucket "b"` or `bucket "b"`. */
  what: string;
  options: { cause: unknown; details: Record<string, unknown> };
}

interface Rule {
  when(facts: Facts): boolean;
  build(facts: Facts): ConnectorError;
}

/** First match wins: specific S3 codes before the HTTP status fallbacks. */
const RULES: Rule[] = [
  {
    // Our own per-call AbortSignal is the only abort source, so an abort is the time budget running out.
    when: ({ name, code }) => TIMEOUTS.has(name) || code === 'ETIMEDOUT',
    build: ({ target, options }) =>
      new TimeoutError(`S3 ${target.command} timed out after ${target.budgetMs} ms`, options),
  },
  {
    // Before any response: an error that carries an HTTP status came from S3, not from our input.
    when: ({ name, code, status }) =>
      status === undefined && (REQUEST_BUILD_NAMES.has(name) || REQUEST_BUILD_CODES.has(code)),
    build: ({ target, what, options }) =>
      new ValidationError(
        `S3 ${target.command} on ${what} cannot be sent: the input has text a request cannot carry`,
        [],
        options,
      ),
  },
  {
    when: ({ name }) => name === 'NoSuchBucket',
    build: ({ raw, target, options }) => {
      // For a copy the missing bucket may be the destination, so prefer the name S3 reports.
      const bucket = typeof raw.BucketName === 'string' ? raw.BucketName.slice(0, 63) : target.bucket;
      return new NotFoundError(`Bucket "${bucket}" does not exist`, options);
    },
  },
  {
    when: ({ name, status }) => name === 'NoSuchKey' || name === 'NotFound' || status === 404,
    build: ({ target, options }) =>
      new NotFoundError(
        target.key === undefined
          ? `Bucket "${target.bucket}" was not found`
          : `Object "${target.key}" not found in bucket "${target.bucket}"`,
        options,
      ),
  },
  {
    when: ({ name, status }) => THROTTLING.has(name) || status === 429,
    build: ({ raw, name, status, target, what, options }) =>
      new RateLimitedError(`S3 throttled ${target.command} on ${what} (${name || status})`, {
        ...options,
        retryAfterMs: retryAfterMs(raw),
      }),
  },
  {
    when: ({ name }) => CREDENTIALS.has(name),
    build: ({ name, target, options }) =>
      new AuthError(`S3 refused the credentials for ${target.command} (${name})`, options),
  },
  {
    when: ({ name, status }) => name === 'AccessDenied' || name === 'AllAccessDisabled' || status === 403,
    build: ({ target, what, options }) =>
      new ForbiddenError(`S3 denied ${target.command} on ${what}`, options),
  },
  {
    when: ({ name, status }) => PRECONDITION.has(name) || status === 412,
    build: ({ target, what, options }) =>
      new ConflictError(`S3 precondition failed for ${target.command} on ${what}`, options),
  },
  {
    when: ({ name }) => INVALID_REQUEST.has(name),
    build: ({ name, target, what, options }) =>
      new ValidationError(`S3 rejected ${target.command} on ${what} (${name})`, [], options),
  },
  {
    when: ({ status }) => status !== undefined && status >= 500,
    build: ({ status, target, what, options }) =>
      new UnavailableError(`S3 answered ${status} to ${target.command} on ${what}`, options),
  },
  {
    when: ({ code, status, raw, error }) =>
      NETWORK_CODES.has(code) || (status === undefined && raw.$fault === undefined && isNetworkError(error)),
    build: ({ code, name, target, options }) =>
      new UnavailableError(`S3 could not be reached for ${target.command} (${code || name})`, options),
  },
  {
    // A 2xx that failed: the SDK could not deserialize the body (malformed XML, truncated stream).
    when: ({ status }) => status !== undefined && status < 300,
    build: ({ target, options }) =>
      new UnexpectedResponseError(`S3 answered ${target.command} with a body that cannot be read`, options),
  },
  {
    when: ({ status }) => status !== undefined,
    build: ({ status, target, what, options }) =>
      new UnexpectedResponseError(`S3 answered ${status} to ${target.command} on ${what}`, options),
  },
];

function describeTarget(target: S3CallTarget): string {
  return target.key === undefined
    ? `bucket "${target.bucket}"`
    : `object "${target.key}" in bucket "${target.bucket}"`;
}

function retryAfterMs(raw: RawS3Error): number | undefined {
  const header = raw.$response?.headers?.['retry-after'];
  const seconds = header === undefined ? Number.NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return /socket hang up|ECONN|EPIPE|network/i.test(error.message);
}

/**
 * Maps anything the AWS SDK (or the network under it) throws for an S3 call to the core error taxonomy.
 * Messages name the command, bucket and key only; the S3 code, status and request id go to `details`,
 * and the raw error stays as `cause` for the log.
 *
 * @example
 * ```ts
 * try { await s3.send(command); }
 * catch (error) { throw toS3Error(error, { command: 'GetObject', bucket, key, budgetMs: 5000 }); }
 * ```
 */
export function toS3Error(error: unknown, target: S3CallTarget): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const raw = (typeof error === 'object' && error !== null ? error : {}) as RawS3Error;
  const name = typeof raw.name === 'string' ? raw.name : '';
  const status = raw.$metadata?.httpStatusCode;
  const details: Record<string, unknown> = { command: target.command };
  if (name !== '' && name !== 'Error') details['s3Code'] = name;
  if (status !== undefined) details['httpStatus'] = status;
  if (raw.$metadata?.requestId !== undefined) details['requestId'] = raw.$metadata.requestId;
  const facts: Facts = {
    error,
    raw,
    name,
    code: typeof raw.code === 'string' ? raw.code : '',
    status,
    target,
    what: describeTarget(target),
    options: { cause: error, details },
  };
  const rule = RULES.find((candidate) => candidate.when(facts));
  return rule?.build(facts) ?? new ConnectorError(`S3 ${target.command} failed unexpectedly`, facts.options);
}
