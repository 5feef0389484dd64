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
  type FieldIssue,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '../errors.ts';
import { type RateLimitHeaders, rateLimitWaitMs } from '../http/backoff.ts';
import { providerMessage } from '../http/response-errors.ts';
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
  /** For a validation row: the caller's input field the code is always about (`/cursor`). */
  pointer?: string;
  /**
   * For an auth or forbidden row: false when the code is not about the credentials (an account suspended,
   * a refusal by the provider's policy), so the HTTP client neither renews them nor sends the request
   * again (a write would be sent twice). Default true: a rotated credential looks like a refusal.
   */
  credentialFailure?: boolean;
}

/**
 * Where a refused request (HTTP 400/422) names the request field at fault, and the caller's input pointer
 * for each provider field name (the connector's names may differ: `max_tokens` is `/maxTokens`). Names
 * without a pointer give none. The provider's message (its `message` or `error.message`, one line, at
 * most 200 characters) becomes the pointer's message and is appended to the problem's message.
 */
export interface FieldTable {
  /** A body field holding the field name, dotted (OpenAI's `error.param`). */
  param?: string;
  /** A body field whose text starts with the field name and a colon (Anthropic's `error.message`). */
  prefix?: string;
  pointers: Readonly<Record<string, string>>;
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
  /** Where a refused request names the field at fault; see {@link FieldTable}. */
  fields?: FieldTable;
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

/** The input field a refused request names, as the connector's pointer, per the table's {@link FieldTable}. */
function fieldPointer(body: unknown, fields: FieldTable | undefined): string | undefined {
  if (fields === undefined) return undefined;
  let name: unknown;
  if (fields.param !== undefined) name = fieldAt(body, fields.param);
  if (typeof name !== 'string' && fields.prefix !== undefined) {
    const text = fieldAt(body, fields.prefix);
    name = typeof text === 'string' ? /^\s*([\w.-]{1,64})\s*:/.exec(text)?.[1] : undefined;
  }
  if (typeof name !== 'string') return undefined;
  // `messages.[1].role`, `messages.0.content`: the field is the leading name when the path has no row.
  const head = /^[A-Za-z_][\w-]*/.exec(name)?.[0];
  return (
    ownValue(fields.pointers, name) ?? (head === undefined ? undefined : ownValue(fields.pointers, head))
  );
}

function errorFor(
  kind: ErrorKind,
  message: string,
  details: Record<string, unknown>,
  wait?: number,
  issues: FieldIssue[] = [],
  credentialFailure?: boolean,
) {
  const options = { details };
  switch (kind) {
    case 'validation':
      return new ValidationError(message, issues, options);
    case 'auth':
      return new AuthError(message, { ...options, credentialFailure });
    case 'forbidden':
      return new ForbiddenError(message, { ...options, credentialFailure });
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
 * A validation row's field issues (the row's own pointer, else the field the body names) and the
 * provider's message when the table declares {@link ErrorTable.fields}.
 */
function refusedField(
  row: ErrorRow,
  body: unknown,
  table: ErrorTable,
): { issues: FieldIssue[]; said?: string | undefined } {
  const issues: FieldIssue[] =
    row.pointer === undefined ? [] : [{ pointer: row.pointer, message: row.meaning }];
  const said = table.fields === undefined ? undefined : providerMessage(body);
  if (said === undefined) return { issues };
  const pointer = row.pointer === undefined ? fieldPointer(body, table.fields) : undefined;
  if (pointer !== undefined) issues.push({ pointer, message: said });
  return { issues, said };
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
  const { issues, said } =
    row.kind === 'validation' ? refusedField(row, response.body, table) : { issues: [] };
  if (said !== undefined) suffix += `: ${said}`;
  const message = `${provider} ${operation} failed: ${row.meaning} (${safeCode})${suffix}`;
  const wait = rateLimitWaitMs(response.headers, context.rateLimit);
  return errorFor(row.kind, message, details, wait, issues, row.credentialFailure);
}

/** A 400/422 without a row that names a field with a pointer: the status mapping's error, with the pointer. */
function fieldFailure(response: HttpResponse, table: ErrorTable, context: ErrorContext) {
  const { status, body } = response;
  if (status !== 400 && status !== 422) return undefined;
  const pointer = fieldPointer(body, table.fields);
  const said = providerMessage(body);
  if (pointer === undefined || said === undefined) return undefined;
  const operation = operationOf(response.url);
  return new ValidationError(
    `${context.provider} rejected the request (HTTP ${status}): ${said}`,
    [{ pointer, message: said }],
    {
      details: {
        status,
        provider: context.provider,
        [table.detailKeys?.operation ?? 'operation']: operation,
      },
    },
  );
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
    return fieldFailure(response, table, context);
  }
  return codeError(code, response, table, context);
}
