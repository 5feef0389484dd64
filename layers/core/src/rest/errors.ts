/**
 * A REST provider's error table as data: where the error code sits in an answer (the HTTP status, a body
 * field of a failed answer, or a body field of a 2xx answer that says it failed, like Slack's
 * `{ ok: false, error }`), and rows mapping codes onto the core's error classes with a hint a caller can
 * act on. One function applies any table, so no connector checks answers by hand.
 */
import {
  AuthError,
  ConflictError,
  type ConnectorError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '../errors.ts';
import { type RateLimitHeaders, rateLimitWaitMs } from '../http/backoff.ts';
import type { HttpResponse } from '../http/types.ts';
import { ownValue } from '../json.ts';

/** The core error class a provider code maps to. */
export type ErrorKind =
  | 'validation'
  | 'auth'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'rate-limited'
  | 'unavailable'
  | 'unexpected';

/** One row: the class, and what the code means in words a caller can act on. */
export interface ErrorRow {
  kind: ErrorKind;
  meaning: string;
}

/** Where a provider puts its error code, and what its codes mean. */
export interface ErrorTable {
  /**
   * `status`: the HTTP status is the code (rows keyed `'404'`, ...); `body`: a field of a failed (4xx/5xx)
   * answer; `ok-false`: a field of a 2xx answer whose `okField` is false (Slack). Codes without a row
   * keep the core's status mapping (`status`, `body`) or are unexpected (`ok-false`).
   */
  codeIn: 'status' | 'body' | 'ok-false';
  /** The body field holding the code (a string, or an integer looked up as its decimal text), dotted for nesting (`error.code`); for `body` and `ok-false`. */
  codeField?: string;
  /** For `ok-false`: the boolean field that is true on success; default `ok`. */
  okField?: string;
  rows?: Readonly<Record<string, ErrorRow>>;
  /** The detail keys naming the code and the call; default `providerError` and `operation`. */
  detailKeys?: { code?: string; operation?: string };
  /** Body fields copied into the details when they are short tokens (Slack's `needed`, `provided`). */
  detailFields?: readonly string[];
  /** Body fields also appended to the message (`; needed: chat:write`). */
  messageFields?: readonly string[];
  /** Added to a not-found message about a named subject (GitHub hides what a token may not see). */
  notFoundHint?: string;
}

/** Codes are short words; anything else is not echoed into a message. */
const CODE_PATTERN = /^[A-Za-z0-9_.:-]{1,64}$/;
const DETAIL_PATTERN = /^[\w:.,-]{1,500}$/;
/** A call is named by the last segment of its path when that is a plain word (`chat.postMessage`). */
const OPERATION_PATTERN = /^[A-Za-z][\w.-]{0,63}$/;
const UNRECOGNISED = 'unrecognised_error';

/**
 * The name of a call in messages: the last segment of its URL's path when it is a plain word, else
 * `call`. Never anything from a query string.
 *
 * @example
 * ```ts
 * operationOf('https://slack.com/api/chat.postMessage'); // 'chat.postMessage'
 * ```
 */
export function operationOf(url: string): string {
  let segment = '';
  try {
    segment = new URL(url, 'http://x').pathname.split('/').pop() ?? '';
  } catch {
    // Not a URL: no name to give.
  }
  return OPERATION_PATTERN.test(segment) ? segment : 'call';
}

/**
 * The value at a dotted path of a JSON body, or `undefined`.
 *
 * @example
 * ```ts
 * fieldAt({ error: { code: 'card_declined' } }, 'error.code'); // 'card_declined'
 * ```
 */
export function fieldAt(body: unknown, path: string): unknown {
  let value: unknown = body;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
    value = ownValue(value as Record<string, unknown>, key);
  }
  return value;
}

/** What the mapping needs to know besides the table. */
export interface ErrorContext {
  provider: string;
  rateLimit?: RateLimitHeaders | undefined;
}

function errorFor(kind: ErrorKind, message: string, details: Record<string, unknown>, wait?: number) {
  const options = { details };
  switch (kind) {
    case 'validation':
      return new ValidationError(message, [], options);
    case 'auth':
      return new AuthError(message, options);
    case 'forbidden':
      return new ForbiddenError(message, options);
    case 'not-found':
      return new NotFoundError(message, options);
    case 'conflict':
      return new ConflictError(message, options);
    case 'rate-limited':
      return new RateLimitedError(message, { ...options, retryAfterMs: wait });
    case 'unavailable':
      return new UnavailableError(message, options);
    case 'unexpected':
      return new UnexpectedResponseError(message, options);
  }
}

/**
 * The error for one provider code: the message names the provider, the call, the row's meaning and the
 * code; the details carry the code, the call and the declared detail fields. A code that is not a plain
 * word is reported as `unrecognised_error`; a code without a row is an UnexpectedResponseError.
 *
 * @example
 * ```ts
 * codeError('channel_not_found', response, table, { provider: 'Slack' });
 * // NotFoundError 'Slack chat.postMessage failed: the channel does not exist ... (channel_not_found)'
 * ```
 */
export function codeError(
  code: string,
  response: HttpResponse,
  table: ErrorTable,
  context: ErrorContext,
): ConnectorError {
  const { provider } = context;
  const operation = operationOf(response.url);
  const safeCode = CODE_PATTERN.test(code) ? code : UNRECOGNISED;
  const details: Record<string, unknown> = {
    provider,
    [table.detailKeys?.operation ?? 'operation']: operation,
    [table.detailKeys?.code ?? 'providerError']: safeCode,
  };
  let suffix = '';
  for (const field of table.detailFields ?? []) {
    const value = fieldAt(response.body, field);
    if (typeof value !== 'string' || !DETAIL_PATTERN.test(value)) continue;
    details[field] = value;
    if (table.messageFields?.includes(field)) suffix += `; ${field}: ${value}`;
  }
  const row = table.rows === undefined ? undefined : ownValue(table.rows, safeCode);
  if (row === undefined) {
    return new UnexpectedResponseError(`${provider} ${operation} failed with error ${safeCode}`, { details });
  }
  const message = `${provider} ${operation} failed: ${row.meaning} (${safeCode})${suffix}`;
  return errorFor(row.kind, message, details, rateLimitWaitMs(response.headers, context.rateLimit));
}

/** Slack-style answers: every 2xx carries a boolean `okField`; false means failure with a code. */
function okFalseFailure(response: HttpResponse, table: ErrorTable, context: ErrorContext) {
  const { provider } = context;
  const operation = operationOf(response.url);
  const details = {
    provider,
    [table.detailKeys?.operation ?? 'operation']: operation,
    status: response.status,
  };
  const okField = table.okField ?? 'ok';
  const body = response.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return new UnexpectedResponseError(
      `${provider} answered ${operation} with a body that is not a JSON object`,
      {
        details,
      },
    );
  }
  const ok = fieldAt(body, okField);
  if (ok === true) return undefined;
  if (ok !== false) {
    return new UnexpectedResponseError(`${provider} answered ${operation} without the ${okField} field`, {
      details,
    });
  }
  const code = fieldAt(body, table.codeField ?? 'error');
  return codeError(typeof code === 'string' ? code : UNRECOGNISED, response, table, context);
}

/**
 * Applies a provider's error table to a final answer: `undefined` lets the core's status mapping decide
 * (success for 2xx). A 1xx or 3xx answer (the REST client follows no redirects) is unexpected.
 *
 * @example
 * ```ts
 * const error = tableFailure(response, { codeIn: 'ok-false', codeField: 'error', rows }, { provider: 'Slack' });
 * ```
 */
export function tableFailure(
  response: HttpResponse,
  table: ErrorTable | undefined,
  context: ErrorContext,
): ConnectorError | undefined {
  const { status } = response;
  if (status < 200 || (status >= 300 && status < 400)) {
    const operation = operationOf(response.url);
    const key = table?.detailKeys?.operation ?? 'operation';
    return new UnexpectedResponseError(`${context.provider} answered ${operation} with HTTP ${status}`, {
      details: { provider: context.provider, [key]: operation, status },
    });
  }
  if (table === undefined) return undefined;
  if (table.codeIn === 'ok-false') return status < 300 ? okFalseFailure(response, table, context) : undefined;
  if (status < 400) return undefined;
  const raw = table.codeIn === 'status' ? String(status) : fieldAt(response.body, table.codeField ?? 'code');
  // Numeric codes (Twilio's `{ code: 20404 }`) are looked up as their decimal text.
  const code = typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : raw;
  if (typeof code !== 'string' || table.rows === undefined || ownValue(table.rows, code) === undefined) {
    return undefined;
  }
  return codeError(code, response, table, context);
}
