/**
 * One mapping from AWS SDK v3 failures to the error taxonomy, for every service a connector or the core
 * calls. The decision is made on the AWS error name first (a per-service table, then the rows every
 * service shares), then on the HTTP status; messages name the service, the action and the AWS error
 * name, never a request or a response body.
 */
import {
  ConfigurationError,
  ConflictError,
  ConnectorError,
  NotFoundError,
  RateLimitedError,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '../errors.ts';

/** What an AWS error means to a caller. */
export type AwsErrorKind =
  | 'not-found'
  | 'conflict'
  /** The connector's settings, resource or role are wrong: a retry cannot fix it. */
  | 'configuration'
  /** The caller's input was refused. */
  | 'validation'
  | 'rate-limited'
  | 'unavailable'
  | 'timeout';

/** One row: the kind, and optionally a hint appended to the message (what to check). */
export type AwsErrorRow = AwsErrorKind | { kind: AwsErrorKind; hint: string };

/** AWS error name -> meaning, for one service. */
export type AwsErrorTable = Readonly<Record<string, AwsErrorRow>>;

const IAM_HINT = "check the connector's settings and its IAM role";

/** Rows every AWS service shares. A service table overrides them. */
export const COMMON_AWS_ERRORS: AwsErrorTable = {
  AbortError: 'timeout',
  TimeoutError: 'timeout',
  RequestTimeout: 'timeout',
  RequestTimeoutException: 'timeout',
  Throttling: 'rate-limited',
  ThrottlingException: 'rate-limited',
  ThrottledException: 'rate-limited',
  TooManyRequestsException: 'rate-limited',
  RequestLimitExceeded: 'rate-limited',
  RequestThrottled: 'rate-limited',
  RequestThrottledException: 'rate-limited',
  SlowDown: 'rate-limited',
  ProvisionedThroughputExceededException: 'rate-limited',
  LimitExceededException: 'rate-limited',
  InternalFailure: 'unavailable',
  InternalError: 'unavailable',
  InternalServerError: 'unavailable',
  InternalServiceError: 'unavailable',
  InternalServiceErrorException: 'unavailable',
  ServiceUnavailable: 'unavailable',
  ServiceUnavailableException: 'unavailable',
  AccessDenied: { kind: 'configuration', hint: IAM_HINT },
  AccessDeniedException: { kind: 'configuration', hint: IAM_HINT },
  UnrecognizedClientException: { kind: 'configuration', hint: 'AWS rejected the credentials' },
  InvalidClientTokenId: { kind: 'configuration', hint: 'AWS rejected the credentials' },
  InvalidAccessKeyId: { kind: 'configuration', hint: 'AWS rejected the credentials' },
  InvalidSignatureException: { kind: 'configuration', hint: 'AWS rejected the credentials' },
  SignatureDoesNotMatch: { kind: 'configuration', hint: 'AWS rejected the credentials' },
  IncompleteSignature: { kind: 'configuration', hint: 'AWS rejected the credentials' },
  MissingAuthenticationToken: { kind: 'configuration', hint: 'AWS rejected the credentials' },
  ExpiredToken: { kind: 'configuration', hint: 'the AWS credentials expired' },
  ExpiredTokenException: { kind: 'configuration', hint: 'the AWS credentials expired' },
  CredentialsProviderError: { kind: 'configuration', hint: 'no AWS credentials were found' },
  KMSAccessDeniedException: { kind: 'configuration', hint: 'the role needs kms:Decrypt on the key' },
  KmsAccessDenied: { kind: 'configuration', hint: 'the role needs kms:Decrypt on the key' },
};

/**
 * Rows of the services the core itself calls, found by the target's `service`. A connector calling another
 * service passes its rows as `table` (S3's live with the S3 connector).
 */
export const AWS_SERVICE_ERRORS: Readonly<Record<string, AwsErrorTable>> = {
  DynamoDB: {
    ResourceNotFoundException: { kind: 'configuration', hint: 'the table does not exist' },
    ConditionalCheckFailedException: 'conflict',
    TransactionConflictException: 'conflict',
  },
  SQS: {
    QueueDoesNotExist: { kind: 'configuration', hint: 'the queue does not exist' },
    'AWS.SimpleQueueService.NonExistentQueue': { kind: 'configuration', hint: 'the queue does not exist' },
  },
  'Step Functions': {
    StateMachineDoesNotExist: { kind: 'configuration', hint: 'the state machine does not exist' },
    StateMachineDeleting: { kind: 'configuration', hint: 'the state machine is being deleted' },
    InvalidArn: { kind: 'configuration', hint: 'the state machine ARN is malformed' },
    ExecutionAlreadyExists: 'conflict',
  },
};

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ETIMEDOUT',
]);

/** What was being attempted, for the message: names only. */
export interface AwsCallTarget {
  /** `DynamoDB`, `SQS`, `S3`, ... */
  service: string;
  /** The API action, e.g. `PutItem`. */
  action: string;
  /** The caller's own rows, checked before {@link AWS_SERVICE_ERRORS} and {@link COMMON_AWS_ERRORS}. */
  table?: AwsErrorTable | undefined;
  /** The time budget the call had, for a timeout's message. */
  budgetMs?: number | undefined;
  /** Extra non-secret facts for the error's details (a bucket, a table name). */
  details?: Record<string, unknown> | undefined;
}

/**
 * The AWS error name of an SDK failure (`ConditionalCheckFailedException`, ...), or `UnknownError`.
 *
 * @example
 * ```ts
 * if (awsErrorName(err) === 'ConditionalCheckFailedException') return false;
 * ```
 */
export function awsErrorName(error: unknown): string {
  const name = (error as { name?: unknown } | undefined)?.name;
  return typeof name === 'string' ? name : 'UnknownError';
}

function rowFor(name: string, target: AwsCallTarget): AwsErrorRow | undefined {
  const service = Object.hasOwn(AWS_SERVICE_ERRORS, target.service)
    ? AWS_SERVICE_ERRORS[target.service]
    : undefined;
  for (const table of [target.table, service, COMMON_AWS_ERRORS]) {
    if (table !== undefined && Object.hasOwn(table, name)) return table[name];
  }
  return undefined;
}

function kindFromStatus(status: number | undefined): AwsErrorKind | undefined {
  if (status === undefined) return undefined;
  if (status === 404) return 'not-found';
  if (status === 409 || status === 412) return 'conflict';
  if (status === 429) return 'rate-limited';
  if (status === 401 || status === 403) return 'configuration';
  if (status >= 500) return 'unavailable';
  return undefined;
}

/**
 * An AWS SDK failure as a core error. Core errors pass through unchanged; the rest are classified by the
 * service's table, the shared rows, network error codes and finally the HTTP status. Anything left is an
 * {@link UnexpectedResponseError}.
 *
 * @example
 * ```ts
 * catch (err) { throw awsFailure({ service: 'SQS', action: 'SendMessage' }, err); }
 * ```
 */
export function awsFailure(target: AwsCallTarget, error: unknown): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const name = awsErrorName(error);
  const raw = error as { code?: unknown; $metadata?: { httpStatusCode?: unknown } } | undefined;
  const status =
    typeof raw?.$metadata?.httpStatusCode === 'number' ? raw.$metadata.httpStatusCode : undefined;
  const code = typeof raw?.code === 'string' ? raw.code : undefined;
  const row = rowFor(name, target);
  const kind: AwsErrorKind | undefined =
    typeof row === 'string'
      ? row
      : (row?.kind ??
        (code !== undefined && NETWORK_CODES.has(code) ? 'unavailable' : kindFromStatus(status)));
  const hint = typeof row === 'object' ? `: ${row.hint}` : '';
  const what = `${target.service} ${target.action}`;
  const options = {
    cause: error,
    details: { service: target.service, action: target.action, awsError: name, ...target.details },
  };
  // A network failure is a plain Error: its code (ECONNREFUSED) says more than its name.
  const label = code !== undefined && (name === 'Error' || name === 'UnknownError') ? code : name;
  const message = `${what} failed (${label})${hint}`;
  switch (kind) {
    case 'timeout':
      return new TimeoutError(
        target.budgetMs === undefined ? `${what} timed out` : `${what} timed out after ${target.budgetMs} ms`,
        options,
      );
    case 'not-found':
      return new NotFoundError(message, options);
    case 'conflict':
      return new ConflictError(message, options);
    case 'configuration':
      return new ConfigurationError(hint === '' ? `${message}: ${IAM_HINT}` : message, options);
    case 'validation':
      return new ValidationError(message, [], options);
    case 'rate-limited':
      return new RateLimitedError(message, options);
    case 'unavailable':
      return new UnavailableError(message, options);
    default:
      return new UnexpectedResponseError(message, options);
  }
}
