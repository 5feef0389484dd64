/**
 * Azure Blob Storage's error codes (https://learn.microsoft.com/rest/api/storageservices/blob-service-error-codes)
 * as core errors, and the one wrapper every call goes through: the time budget, and each failure mapped
 * once. The SDK's `RestError` carries the service's `x-ms-error-code` as `code` and the HTTP status.
 */
import {
  AuthError,
  ConflictError,
  ConnectorError,
  type ConnectorErrorOptions,
  callBudget,
  ForbiddenError,
  NotFoundError,
  ownValue,
  RateLimitedError,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';

type Kind =
  | 'not-found'
  | 'conflict'
  | 'validation'
  | 'auth'
  | 'forbidden'
  | 'rate-limited'
  | 'unavailable'
  | 'timeout';

/** One row: the kind, and what to tell the caller. */
interface Row {
  kind: Kind;
  hint?: string;
  /** Where one code comes with several statuses that mean different things: the kind for such a status. */
  byStatus?: Readonly<Record<number, Kind>>;
}

const KEY_HINT = 'Azure refused the account key or SAS token; check the secret (AZURE_BLOB_SECRET)';
const DENIED_HINT =
  "the credential may not do this: check the SAS permissions or the account's network rules";

/** What an Azure Blob error code means; codes without a row fall back to the HTTP status. */
export const AZURE_BLOB_ERRORS: Readonly<Record<string, Row>> = {
  BlobNotFound: { kind: 'not-found' },
  ContainerNotFound: { kind: 'not-found', hint: 'the container does not exist' },
  ResourceNotFound: { kind: 'not-found' },
  // Documented as a 500 (the source was not verified in time: worth a retry); a missing source comes as a
  // 404 and one the request may not read (another account's private blob) as a 403.
  CannotVerifyCopySource: {
    kind: 'not-found',
    hint: 'the copy source could not be read',
    byStatus: { 403: 'forbidden', 500: 'unavailable', 503: 'unavailable' },
  },
  BlobAlreadyExists: { kind: 'conflict', hint: 'the blob exists (onlyIfAbsent)' },
  ConditionNotMet: { kind: 'conflict', hint: 'a condition of the request did not hold' },
  TargetConditionNotMet: { kind: 'conflict' },
  SourceConditionNotMet: { kind: 'conflict' },
  LeaseIdMissing: { kind: 'conflict', hint: 'the blob is leased' },
  LeaseAlreadyPresent: { kind: 'conflict', hint: 'the blob is leased' },
  BlobArchived: { kind: 'conflict', hint: 'the blob is in the Archive tier; rehydrate it first' },
  PendingCopyOperation: { kind: 'conflict', hint: 'a copy to this blob is still pending' },
  SnapshotsPresent: { kind: 'conflict' },
  AuthenticationFailed: { kind: 'auth', hint: KEY_HINT },
  InvalidAuthenticationInfo: { kind: 'auth', hint: KEY_HINT },
  NoAuthenticationInformation: { kind: 'auth', hint: KEY_HINT },
  // Azure's answer to a request it will not authorise (network rules, SAS scope), and azurite's to a wrong
  // signature: read as a credential problem, so a rotated key is fetched again once before it is reported.
  AuthorizationFailure: {
    kind: 'auth',
    hint: `${KEY_HINT}, or ${DENIED_HINT.replace('the credential may not do this: ', '')}`,
  },
  AuthorizationPermissionMismatch: { kind: 'forbidden', hint: DENIED_HINT },
  AuthorizationResourceTypeMismatch: { kind: 'forbidden', hint: DENIED_HINT },
  AuthorizationServiceMismatch: { kind: 'forbidden', hint: DENIED_HINT },
  AuthorizationSourceIPMismatch: { kind: 'forbidden', hint: DENIED_HINT },
  AuthorizationProtocolMismatch: { kind: 'forbidden', hint: DENIED_HINT },
  InsufficientAccountPermissions: { kind: 'forbidden', hint: DENIED_HINT },
  AccountIsDisabled: { kind: 'forbidden', hint: 'the storage account is disabled' },
  InvalidBlobOrBlock: { kind: 'validation' },
  InvalidResourceName: { kind: 'validation' },
  InvalidMetadata: { kind: 'validation' },
  MetadataTooLarge: { kind: 'validation' },
  RequestBodyTooLarge: { kind: 'validation' },
  OutOfRangeInput: { kind: 'validation' },
  InvalidHeaderValue: { kind: 'validation' },
  InvalidInput: { kind: 'validation' },
  ServerBusy: { kind: 'rate-limited', hint: 'the account is over its request rate' },
  OperationTimedOut: { kind: 'timeout' },
  InternalError: { kind: 'unavailable' },
};

/** Node's network failures, when nothing answered. */
const NETWORK =
  /^(?:ECONNREFUSED|ECONNRESET|EPIPE|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|REQUEST_SEND_ERROR)$/;

function kindOfStatus(status: number | undefined): Kind | undefined {
  if (status === undefined) return undefined;
  if (status === 401) return 'auth';
  // A 403 without a code (a HEAD has no body) may be a rotated key: treated as one, so it is refreshed.
  if (status === 403) return 'auth';
  if (status === 404) return 'not-found';
  if (status === 409 || status === 412) return 'conflict';
  if (status === 400 || status === 413 || status === 416) return 'validation';
  if (status === 429) return 'rate-limited';
  if (status >= 500) return 'unavailable';
  return undefined;
}

/** What was being attempted: the REST operation and what it acts on (names only). */
export interface AzureCallTarget {
  /** Azure's operation name: `PutBlob`, `GetBlob`, `ListBlobs`, ... */
  action: string;
  container: string;
  key?: string;
}

interface RawRestError {
  name?: unknown;
  code?: unknown;
  /** Where the SDK puts `x-ms-error-code` of an answer without a body (HEAD). */
  details?: { errorCode?: unknown };
  statusCode?: unknown;
  response?: { headers?: { get(name: string): string | undefined } };
}

function describe(target: AzureCallTarget): string {
  return target.key === undefined
    ? `container "${target.container}"`
    : `blob "${target.key}" in container "${target.container}"`;
}

/** What a failure is: its kind, Azure's code and the HTTP status, read from the SDK's error. */
interface Facts {
  kind: Kind | undefined;
  row: Row | undefined;
  code: string | undefined;
  status: number | undefined;
  label: string;
  raw: RawRestError;
}

function classify(error: unknown): Facts {
  const raw = (typeof error === 'object' && error !== null ? error : {}) as RawRestError;
  const status = typeof raw.statusCode === 'number' ? raw.statusCode : undefined;
  const given = typeof raw.code === 'string' ? raw.code : raw.details?.errorCode;
  const code = typeof given === 'string' && /^[\w.-]{1,64}$/.test(given) ? given : undefined;
  const name = typeof raw.name === 'string' ? raw.name : 'Error';
  const row = code === undefined ? undefined : ownValue(AZURE_BLOB_ERRORS, code);
  let kind =
    (status === undefined ? undefined : row?.byStatus?.[status]) ?? row?.kind ?? kindOfStatus(status);
  if (kind === undefined && status === undefined) {
    if (name === 'AbortError' || name === 'TimeoutError') kind = 'timeout';
    else if (code !== undefined && NETWORK.test(code)) kind = 'unavailable';
  }
  const label = code ?? (status === undefined ? name : `HTTP ${status}`);
  return { kind, row, code, status, label, raw };
}

function detailsOf(target: AzureCallTarget, facts: Facts): Record<string, unknown> {
  const details: Record<string, unknown> = {
    service: 'Azure Blob',
    action: target.action,
    container: target.container,
  };
  if (facts.code !== undefined) details['azureError'] = facts.code;
  if (facts.status !== undefined) details['httpStatus'] = facts.status;
  const requestId = facts.raw.response?.headers?.get('x-ms-request-id');
  if (requestId !== undefined && /^[\w-]{1,64}$/.test(requestId)) details['requestId'] = requestId;
  return details;
}

function retryAfterMs(raw: RawRestError): number | undefined {
  const after = Number(raw.response?.headers?.get('retry-after') ?? Number.NaN);
  return Number.isFinite(after) && after >= 0 ? after * 1000 : undefined;
}

const ERRORS: Record<
  Exclude<Kind, 'rate-limited' | 'timeout'>,
  new (
    message: string,
    options: ConnectorErrorOptions,
  ) => ConnectorError
> = {
  'not-found': NotFoundError,
  conflict: ConflictError,
  validation: class extends ValidationError {
    constructor(message: string, options: ConnectorErrorOptions) {
      super(message, [], options);
    }
  },
  auth: AuthError,
  forbidden: ForbiddenError,
  unavailable: UnavailableError,
};

/**
 * An Azure SDK failure as a core error: core errors pass through; the rest are read by their code, then
 * their status. The message names the operation, the container and key, and the code; never a body.
 *
 * @example
 * ```ts
 * catch (error) { throw azureFailure({ action: 'GetBlob', container: 'data', key: 'a.txt' }, error, 1000); }
 * ```
 */
export function azureFailure(target: AzureCallTarget, error: unknown, budgetMs?: number): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const facts = classify(error);
  const options: ConnectorErrorOptions = { cause: error, details: detailsOf(target, facts) };
  const what = describe(target);
  const hint = facts.row?.hint === undefined ? '' : `: ${facts.row.hint}`;
  if (facts.kind === 'timeout') {
    const after = budgetMs === undefined ? '' : ` after ${budgetMs} ms`;
    return new TimeoutError(`Azure Blob ${target.action} on ${what} timed out${after}`, options);
  }
  if (facts.kind === 'not-found') return new NotFoundError(`${what} was not found${hint}`, options);
  const message = `Azure Blob ${target.action} on ${what} failed (${facts.label})${hint}`;
  if (facts.kind === 'rate-limited') {
    return new RateLimitedError(message, { ...options, retryAfterMs: retryAfterMs(facts.raw) });
  }
  if (facts.kind !== undefined) return new ERRORS[facts.kind](message, options);
  return facts.status === undefined
    ? new ConnectorError(message, options)
    : new UnexpectedResponseError(message, options);
}

/**
 * Runs one SDK call with the time budget (the call's timeout cut by the invocation's time left) as its
 * abort signal, mapping any failure with {@link azureFailure}.
 *
 * @example
 * ```ts
 * await azureCall({ action: 'GetBlobProperties', container, key }, 10_000, (abortSignal) => blob.getProperties({ abortSignal }));
 * ```
 */
export async function azureCall<T>(
  target: AzureCallTarget,
  timeoutMs: number,
  run: (abortSignal: AbortSignal) => Promise<T>,
): Promise<T> {
  const budgetMs = callBudget(timeoutMs, `Azure Blob ${target.action}`);
  try {
    return await run(AbortSignal.timeout(budgetMs));
  } catch (error) {
    throw azureFailure(target, error, budgetMs);
  }
}
