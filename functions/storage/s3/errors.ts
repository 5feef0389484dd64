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
  const code = typeof raw.code === 'string' ? raw.code : '';
  const status = raw.$metadata?.httpStatusCode;
  const details: Record<string, unknown> = { command: target.command };
  if (name !== '' && name !== 'Error') details['s3Code'] = name;
  if (status !== undefined) details['httpStatus'] = status;
  if (raw.$metadata?.requestId !== undefined) details['requestId'] = raw.$metadata.requestId;
  const options = { cause: error, details };
  const what = describeTarget(target);

  // Our own per-call AbortSignal is the only abort source, so an abort is always the time budget running out.
  if (name === 'AbortError' || name === 'TimeoutError' || name === 'RequestTimeout' || code === 'ETIMEDOUT') {
    return new TimeoutError(`S3 ${target.command} timed out after ${target.budgetMs} ms`, options);
  }
  if (name === 'NoSuchBucket') {
    // For a copy the missing bucket may be the destination, so prefer the name S3 reports.
    const bucket = typeof raw.BucketName === 'string' ? raw.BucketName.slice(0, 63) : target.bucket;
    return new NotFoundError(`Bucket "${bucket}" does not exist`, options);
  }
  if (name === 'NoSuchKey' || name === 'NotFound' || status === 404) {
    const message =
      target.key === undefined
        ? `Bucket "${target.bucket}" was not found`
        : `Object "${target.key}" not found in bucket "${target.bucket}"`;
    return new NotFoundError(message, options);
  }
  if (THROTTLING.has(name) || status === 429) {
    return new RateLimitedError(`S3 throttled ${target.command} on ${what} (${name || status})`, {
      ...options,
      retryAfterMs: retryAfterMs(raw),
    });
  }
  if (CREDENTIALS.has(name)) {
    return new AuthError(`S3 refused the credentials for ${target.command} (${name})`, options);
  }
  if (name === 'AccessDenied' || name === 'AllAccessDisabled' || status === 403) {
    return new ForbiddenError(`S3 denied ${target.command} on ${what}`, options);
  }
  if (PRECONDITION.has(name) || status === 412) {
    return new ConflictError(`S3 precondition failed for ${target.command} on ${what}`, options);
  }
  if (INVALID_REQUEST.has(name)) {
    return new ValidationError(`S3 rejected ${target.command} on ${what} (${name})`, [], options);
  }
  if (status !== undefined && status >= 500) {
    return new UnavailableError(`S3 answered ${status} to ${target.command} on ${what}`, options);
  }
  if (NETWORK_CODES.has(code) || (status === undefined && raw.$fault === undefined && isNetworkError(error))) {
    return new UnavailableError(`S3 could not be reached for ${target.command} (${code || name})`, options);
  }
  if (status !== undefined && status < 300) {
    // A 2xx that failed: the SDK could not deserialize the body (malformed XML, truncated stream).
    return new UnexpectedResponseError(`S3 answered ${target.command} with a body that cannot be read`, options);
  }
  if (status !== undefined) {
    return new UnexpectedResponseError(`S3 answered ${status} to ${target.command} on ${what}`, options);
  }
  return new ConnectorError(`S3 ${target.command} failed unexpectedly`, options);
}

function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  return /socket hang up|ECONN|EPIPE|network/i.test(error.message);
}
