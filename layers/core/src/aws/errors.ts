/**
 * One mapping from AWS SDK v3 failures to the error taxonomy, for every service a connector or the core
 * calls. The decision is made on the AWS error name first, then on a Node error code (`ECONNRESET`), then
 * on the HTTP status, each looked up in the caller's rows, the service's rows and the rows every service
 * shares; messages name the service, the action, the resource and the AWS error name, never a request or
 * a response body.
 */
import {
  AuthError,
  ConfigurationError,
  ConflictError,
  ConnectorError,
  type ConnectorErrorOptions,
  ForbiddenError,
  NotFoundError,
  NotSupportedError,
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
  /** AWS refused the credentials (401): the caller of a connector that acts with its own role sees it. */
  | 'auth'
  /** The credentials are valid but may not do this to this resource (403). */
  | 'forbidden'
  /** The service (or an S3-compatible store) does not implement what the request asks for (501): not retried. */
  | 'not-supported'
  | 'rate-limited'
  | 'unavailable'
  | 'timeout';

/** One row: the kind, and optionally how its message reads. */
export type AwsErrorRow =
  | AwsErrorKind
  | {
      kind: AwsErrorKind;
      /** Appended to the message after a colon: what to check. */
      hint?: string;
      /**
       * What happened to the target's `resource`: the message becomes `<resource> <says>` (`secret x was
       * not found`) instead of `<service> <action> on <resource> failed (<error>)`.
       */
      says?: string;
      /**
       * The resource this error names when it is not the target's (S3's NoSuchBucket on a copy names the
       * destination bucket). Read from the error's own fields: names only, never a body.
       */
      resource?: (error: unknown, target: AwsCallTarget) => string;
    };

/**
 * Meaning of failures for one service, keyed by AWS error name (`NoSuchKey`), Node error code
 * (`ECONNRESET`) or HTTP status (`'403'`, for answers without an error code).
 */
export type AwsErrorTable = Readonly<Record<string, AwsErrorRow>>;

const IAM_HINT = "check the connector's settings and its IAM role";
const CREDENTIALS_HINT = 'AWS rejected the credentials';
const SECRET_ROLE_HINT =
  "the function's role needs secretsmanager:GetSecretValue on it (and kms:Decrypt on its key when it uses a customer managed KMS key)";

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
  UnrecognizedClientException: { kind: 'configuration', hint: CREDENTIALS_HINT },
  InvalidClientTokenId: { kind: 'configuration', hint: CREDENTIALS_HINT },
  InvalidAccessKeyId: { kind: 'configuration', hint: CREDENTIALS_HINT },
  InvalidSignatureException: { kind: 'configuration', hint: CREDENTIALS_HINT },
  SignatureDoesNotMatch: { kind: 'configuration', hint: CREDENTIALS_HINT },
  IncompleteSignature: { kind: 'configuration', hint: CREDENTIALS_HINT },
  MissingAuthenticationToken: { kind: 'configuration', hint: CREDENTIALS_HINT },
  ExpiredToken: { kind: 'configuration', hint: 'the AWS credentials expired' },
  ExpiredTokenException: { kind: 'configuration', hint: 'the AWS credentials expired' },
  CredentialsProviderError: { kind: 'configuration', hint: 'no AWS credentials were found' },
  KMSAccessDeniedException: { kind: 'configuration', hint: 'the role needs kms:Decrypt on the key' },
  KmsAccessDenied: { kind: 'configuration', hint: 'the role needs kms:Decrypt on the key' },
  // Node's network failures, when nothing answered.
  ECONNREFUSED: 'unavailable',
  ECONNRESET: 'unavailable',
  EPIPE: 'unavailable',
  ENOTFOUND: 'unavailable',
  EAI_AGAIN: 'unavailable',
  EHOSTUNREACH: 'unavailable',
  ENETUNREACH: 'unavailable',
  ENETDOWN: 'unavailable',
  ENETRESET: 'unavailable',
  ECONNABORTED: 'unavailable',
  ETIMEDOUT: 'timeout',
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
  // A secret the connector reads is its configuration: every refusal is the operator's to fix.
  'Secrets Manager': {
    ResourceNotFoundException: { kind: 'configuration', says: 'was not found' },
    AccessDeniedException: { kind: 'configuration', hint: SECRET_ROLE_HINT },
    DecryptionFailure: {
      kind: 'configuration',
      says: 'could not be decrypted',
      hint: "the function's role needs kms:Decrypt on the secret's KMS key",
    },
    InvalidRequestException: {
      kind: 'configuration',
      hint: 'check the name and that it is not scheduled for deletion',
    },
    InvalidParameterException: {
      kind: 'configuration',
      hint: 'check the name and that it is not scheduled for deletion',
    },
    // Any other client error (Secrets Manager answers them all with 400) is a setting or the role.
    '400': 'configuration',
  },
};

/**
 * Thrown by the SDK or Node's HTTP stack while building a request, before anything is sent: `URIError`
 * when text cannot be percent-encoded (a lone surrogate), `ERR_INVALID_CHAR` for a header value.
 */
const REQUEST_BUILD = new Set(['URIError', 'ERR_INVALID_CHAR']);
/** A socket failure without a Node error code (`socket hang up` from some agents). */
const NETWORK_MESSAGE = /socket hang up|ECONN|EPIPE|network/i;

/** What was being attempted, for the message: names only. */
export interface AwsCallTarget {
  /** `DynamoDB`, `SQS`, `S3`, ... */
  service: string;
  /** The API action, e.g. `PutItem`. */
  action: string;
  /** The caller's own rows, checked before {@link AWS_SERVICE_ERRORS} and {@link COMMON_AWS_ERRORS}. */
  table?: AwsErrorTable | undefined;
  /** What the call acts on, as it reads mid-sentence: `object "a.txt" in bucket "data"`, `secret app/x`. */
  resource?: string | undefined;
  /**
   * The request carries the caller's input (keys, names, header values): a request the SDK cannot build
   * from it is the caller's mistake (400), not an internal failure.
   */
  callerInput?: boolean | undefined;
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

/** The first row for the error's name, then its code, then its status: caller's, service's, shared. */
function rowFor(keys: readonly (string | undefined)[], target: AwsCallTarget): AwsErrorRow | undefined {
  const service = Object.hasOwn(AWS_SERVICE_ERRORS, target.service)
    ? AWS_SERVICE_ERRORS[target.service]
    : undefined;
  for (const key of keys) {
    if (key === undefined) continue;
    for (const table of [target.table, service, COMMON_AWS_ERRORS]) {
      if (table !== undefined && Object.hasOwn(table, key)) return table[key];
    }
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

/** The parts of an SDK v3 error (or a Node network error) the mapping reads. */
interface RawAwsError {
  code?: unknown;
  $fault?: unknown;
  $metadata?: { httpStatusCode?: unknown; requestId?: unknown };
  $response?: { headers?: Record<string, string | undefined> };
}

/** Everything the messages are built from. */
interface Facts {
  kind: AwsErrorKind | undefined;
  row: AwsErrorRow | undefined;
  /** The AWS error name, or the Node error code of a network failure. */
  label: string;
  status: number | undefined;
  raw: RawAwsError;
}

function classify(error: unknown, target: AwsCallTarget): Facts {
  const name = awsErrorName(error);
  const raw = (typeof error === 'object' && error !== null ? error : {}) as RawAwsError;
  const status = typeof raw.$metadata?.httpStatusCode === 'number' ? raw.$metadata.httpStatusCode : undefined;
  const code = typeof raw.code === 'string' ? raw.code : undefined;
  // A network failure says more by its code (ECONNRESET) than by its name: a plain Error, or one the SDK
  // names TimeoutError when a reused keep-alive socket was closed under it ("socket hang up").
  const network = status === undefined && code !== undefined && /^E[A-Z_]+$/.test(code);
  const label = code !== undefined && (network || name === 'Error' || name === 'UnknownError') ? code : name;
  if (status === undefined && (REQUEST_BUILD.has(name) || REQUEST_BUILD.has(code ?? ''))) {
    // Nothing was sent. With the caller's text in the request it is theirs to fix; otherwise it is ours.
    if (target.callerInput !== true) return { kind: undefined, row: undefined, label, status, raw };
    const row = { kind: 'validation', hint: 'the input has text a request cannot carry' } as const;
    return { kind: 'validation', row, label, status, raw };
  }
  const row = rowFor(network ? [code, name] : [name, code, status?.toString()], target);
  let kind = typeof row === 'string' ? row : (row?.kind ?? kindFromStatus(status));
  const unanswered = status === undefined && raw.$fault === undefined;
  if (kind === undefined && unanswered && error instanceof Error && NETWORK_MESSAGE.test(error.message)) {
    kind = 'unavailable';
  }
  return { kind, row, label, status, raw };
}

function retryAfterMs(raw: RawAwsError): number | undefined {
  const header = raw.$response?.headers?.['retry-after'];
  const seconds = header === undefined ? Number.NaN : Number(header);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/** The message: `<resource> <says>` when the row (or not-found) says what happened, else `... failed`. */
function messageOf(facts: Facts, target: AwsCallTarget, error: unknown): string {
  const row = typeof facts.row === 'object' ? facts.row : undefined;
  const defaultHint =
    facts.kind === 'configuration'
      ? IAM_HINT
      : facts.kind === 'auth'
        ? CREDENTIALS_HINT
        : facts.status !== undefined && facts.status < 300
          ? 'the answer could not be read'
          : undefined;
  // A row that says what happened is complete; the default hints only finish a bare "failed".
  const hint = row?.hint ?? (row?.says === undefined ? defaultHint : undefined);
  const suffix = hint === undefined ? '' : `: ${hint}`;
  const resource = row?.resource?.(error, target) ?? target.resource;
  const says = row?.says ?? (facts.kind === 'not-found' ? 'was not found' : undefined);
  if (resource !== undefined && says !== undefined) return `${resource} ${says}${suffix}`;
  const on = resource === undefined ? '' : ` on ${resource}`;
  return `${target.service} ${target.action}${on} failed (${facts.label})${suffix}`;
}

/**
 * An AWS SDK failure as a core error. Core errors pass through unchanged; the rest are classified by the
 * caller's rows, the service's rows and the shared rows (on the error's name, code, then status), then by
 * the HTTP status. An answer nothing classifies is an {@link UnexpectedResponseError}; a failure without
 * an answer is an internal {@link ConnectorError} whose message is not shown to the caller.
 *
 * @example
 * ```ts
 * catch (err) { throw awsFailure({ service: 'SQS', action: 'SendMessage' }, err); }
 * ```
 */
export function awsFailure(target: AwsCallTarget, error: unknown): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const facts = classify(error, target);
  const { raw, status } = facts;
  const details: Record<string, unknown> = {
    service: target.service,
    action: target.action,
    awsError: awsErrorName(error),
  };
  if (status !== undefined) details['httpStatus'] = status;
  if (typeof raw.$metadata?.requestId === 'string') details['requestId'] = raw.$metadata.requestId;
  const options: ConnectorErrorOptions = { cause: error, details: { ...details, ...target.details } };
  if (facts.kind === 'timeout') {
    const what = `${target.service} ${target.action}`;
    const after = target.budgetMs === undefined ? '' : ` after ${target.budgetMs} ms`;
    return new TimeoutError(`${what} timed out${after}`, options);
  }
  const message = messageOf(facts, target, error);
  switch (facts.kind) {
    case 'not-found':
      return new NotFoundError(message, options);
    case 'conflict':
      return new ConflictError(message, options);
    case 'configuration':
      return new ConfigurationError(message, options);
    case 'validation':
      return new ValidationError(message, [], options);
    case 'auth':
      return new AuthError(message, options);
    case 'forbidden':
      return new ForbiddenError(message, options);
    case 'not-supported':
      return new NotSupportedError(message, options);
    case 'rate-limited':
      return new RateLimitedError(message, { ...options, retryAfterMs: retryAfterMs(raw) });
    case 'unavailable':
      return new UnavailableError(message, options);
    default:
      return status === undefined
        ? new ConnectorError(message, options)
        : new UnexpectedResponseError(message, options);
  }
}

/**
 * One entry of a batch call the service refused while it accepted the others (SQS and SNS `Failed`
 * entries, EventBridge `ErrorCode`s, DeleteMessageBatch receipts): mapped by the same rows as a refused
 * call, from the entry's code and whether the sender was at fault (a 4xx) or the service (a 5xx). A
 * sender's fault no row lists is a {@link ValidationError}: the same request carried the accepted entries,
 * so what the service refused is this entry's own content. An entry without a code, or a whole call's
 * unlisted code, stays an {@link UnexpectedResponseError} (502).
 *
 * @example
 * ```ts
 * const error = awsEntryFailure({ service: 'SQS', action: 'SendMessageBatch', table }, 'InvalidMessageContents');
 * ```
 */
export function awsEntryFailure(
  target: AwsCallTarget,
  code: string | undefined,
  senderFault = true,
): ConnectorError {
  const entry = Object.assign(new Error(code ?? 'UnknownError'), {
    name: code ?? 'UnknownError',
    $fault: senderFault ? 'client' : 'server',
    $metadata: { httpStatusCode: senderFault ? 400 : 500 },
  });
  const error = awsFailure(target, entry);
  if (code === undefined || !senderFault || !(error instanceof UnexpectedResponseError)) return error;
  const options =
    error.details === undefined ? { cause: error.cause } : { cause: error.cause, details: error.details };
  return new ValidationError(error.message, [], options);
}
