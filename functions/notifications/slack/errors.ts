/**
 * Slack's `ok: false` error codes mapped onto the core error taxonomy, in one table, so every method of the
 * client fails the same way for the same code (and the HTTP client's `inspect` hook applies it once).
 */
import {
  AuthError,
  ConflictError,
  type ConnectorError,
  ForbiddenError,
  type HttpResponse,
  NotFoundError,
  ownValue,
  parseRetryAfter,
  RateLimitedError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';

/** The core error class a Slack code maps to. */
export type SlackErrorKind =
  | 'not-found'
  | 'auth'
  | 'forbidden'
  | 'rate-limited'
  | 'validation'
  | 'conflict'
  | 'unavailable';

/** One row: the class, and what the code means in words a caller can act on. */
export interface SlackErrorRule {
  kind: SlackErrorKind;
  meaning: string;
}

/**
 * Slack error codes -> core error classes. Codes about the shape of our own request (`invalid_post_type`,
 * `invalid_charset`, `invalid_form_data`, ...) are deliberately absent: they mean a bug here, not a caller
 * mistake, and surface as UnexpectedResponseError with the code.
 */
export const SLACK_ERRORS: Readonly<Record<string, SlackErrorRule>> = {
  channel_not_found: { kind: 'not-found', meaning: 'the channel does not exist or the app cannot see it' },
  users_not_found: { kind: 'not-found', meaning: 'no user has that email address' },
  user_not_found: { kind: 'not-found', meaning: 'the user does not exist' },
  message_not_found: { kind: 'not-found', meaning: 'no message has that ts in the channel' },
  thread_not_found: { kind: 'not-found', meaning: 'no thread parent has that threadTs in the channel' },
  invalid_auth: { kind: 'auth', meaning: 'the bot token is not valid' },
  not_authed: { kind: 'auth', meaning: 'no bot token was sent' },
  account_inactive: { kind: 'auth', meaning: 'the token belongs to a deleted user or workspace' },
  token_revoked: { kind: 'auth', meaning: 'the token was revoked or the app was removed' },
  token_expired: { kind: 'auth', meaning: 'the token has expired' },
  not_allowed_token_type: { kind: 'auth', meaning: 'this kind of token cannot call the method' },
  missing_scope: { kind: 'forbidden', meaning: 'the token lacks a scope the method needs' },
  not_in_channel: { kind: 'forbidden', meaning: 'the bot is not a member of the channel; invite it first' },
  restricted_action: { kind: 'forbidden', meaning: 'a workspace preference prevents the bot from posting' },
  restricted_action_read_only_channel: { kind: 'forbidden', meaning: 'the channel is read-only' },
  restricted_action_thread_only_channel: {
    kind: 'forbidden',
    meaning: 'the channel only accepts thread replies',
  },
  restricted_action_non_threadable_channel: {
    kind: 'forbidden',
    meaning: 'the channel does not accept thread replies',
  },
  cant_update_message: { kind: 'forbidden', meaning: 'the bot may only update messages it posted' },
  no_permission: { kind: 'forbidden', meaning: 'the token lacks the permission for this channel or method' },
  access_denied: { kind: 'forbidden', meaning: 'access to the resource is denied' },
  ekm_access_denied: { kind: 'forbidden', meaning: 'administrators have suspended posting (EKM)' },
  team_access_not_granted: { kind: 'forbidden', meaning: 'the token has no access to that workspace' },
  ratelimited: { kind: 'rate-limited', meaning: 'the method is rate limited' },
  rate_limited: { kind: 'rate-limited', meaning: 'the app posted too many messages' },
  invalid_arguments: { kind: 'validation', meaning: 'the arguments are invalid' },
  invalid_blocks: { kind: 'validation', meaning: 'Slack refused the blocks (check the Block Kit syntax)' },
  invalid_blocks_format: { kind: 'validation', meaning: 'the blocks are not valid Block Kit JSON' },
  block_mismatch: { kind: 'validation', meaning: 'rich-text blocks cannot be replaced by other blocks' },
  msg_too_long: { kind: 'validation', meaning: 'the message text is too long' },
  no_text: { kind: 'validation', meaning: 'the message has neither text nor blocks' },
  too_many_attachments: { kind: 'validation', meaning: 'the message has too many attachments' },
  invalid_cursor: { kind: 'validation', meaning: 'the cursor is not valid (any more)' },
  invalid_limit: { kind: 'validation', meaning: 'the limit is not valid' },
  invalid_types: { kind: 'validation', meaning: 'the channel types are not valid for this token' },
  is_archived: { kind: 'conflict', meaning: 'the channel is archived' },
  is_inactive: { kind: 'conflict', meaning: 'the channel is frozen, archived or deleted' },
  edit_window_closed: { kind: 'conflict', meaning: "the workspace's edit window for the message has closed" },
  internal_error: { kind: 'unavailable', meaning: 'Slack failed internally' },
  fatal_error: { kind: 'unavailable', meaning: 'Slack failed; part of the operation may have happened' },
  service_unavailable: { kind: 'unavailable', meaning: 'Slack is temporarily unavailable' },
  request_timeout: { kind: 'unavailable', meaning: 'Slack did not receive the whole request' },
  team_added_to_org: { kind: 'unavailable', meaning: 'the workspace is migrating to an Enterprise org' },
  org_login_required: { kind: 'unavailable', meaning: 'the workspace is migrating to an Enterprise org' },
};

/** Slack codes are short snake_case words; anything else is not echoed into a message. */
const CODE_PATTERN = /^[a-z0-9_.]{1,64}$/;
/** Web API method names: `chat.postMessage`, `users.lookupByEmail`. */
const METHOD_PATTERN = /^[a-zA-Z]+(?:\.[a-zA-Z]+){1,3}$/;

/** What is known about the failed call. */
export interface SlackFailureContext {
  /** The Web API method, e.g. `chat.postMessage`. */
  method: string;
  status: number;
  headers: Record<string, string>;
  /** The whole `ok: false` answer (for `needed`/`provided` scopes); never echoed wholesale. */
  body: Record<string, unknown>;
}

function scopes(value: unknown): string | undefined {
  return typeof value === 'string' && /^[\w:.,-]{1,500}$/.test(value) ? value : undefined;
}

/**
 * The core error for a Slack error code. The message names the method, the meaning and the code; details
 * carry the code, the method and, for `missing_scope`, the scopes needed and granted. Nothing else of the
 * answer, and never a token.
 *
 * @example
 * ```ts
 * slackError('channel_not_found', { method: 'chat.postMessage', status: 200, headers: {}, body: {} });
 * // NotFoundError 'Slack chat.postMessage failed: the channel does not exist or the app cannot see it (channel_not_found)'
 * ```
 */
export function slackError(code: string, context: SlackFailureContext): ConnectorError {
  const safeCode = CODE_PATTERN.test(code) ? code : 'unrecognised_error';
  const rule = ownValue(SLACK_ERRORS, safeCode);
  const details: Record<string, unknown> = {
    provider: 'Slack',
    method: context.method,
    slackError: safeCode,
  };
  const needed = scopes(context.body['needed']);
  if (needed !== undefined) details['needed'] = needed;
  const provided = scopes(context.body['provided']);
  if (provided !== undefined) details['provided'] = provided;
  if (rule === undefined) {
    return new UnexpectedResponseError(`Slack ${context.method} failed with error ${safeCode}`, { details });
  }
  const message = `Slack ${context.method} failed: ${rule.meaning} (${safeCode})`;
  switch (rule.kind) {
    case 'not-found':
      return new NotFoundError(message, { details });
    case 'auth':
      return new AuthError(message, { details });
    case 'forbidden':
      return new ForbiddenError(needed === undefined ? message : `${message}; needed: ${needed}`, {
        details,
      });
    case 'rate-limited':
      return new RateLimitedError(message, {
        details,
        retryAfterMs: parseRetryAfter(context.headers['retry-after']),
      });
    case 'validation':
      return new ValidationError(message, [], { details });
    case 'conflict':
      return new ConflictError(message, { details });
    case 'unavailable':
      return new UnavailableError(message, { details });
  }
}

/** The method name is the last path segment of the call's URL (`.../api/chat.postMessage`). */
function methodOf(url: string): string {
  try {
    const segment = new URL(url).pathname.split('/').pop() ?? '';
    return METHOD_PATTERN.test(segment) ? segment : 'call';
  } catch {
    return 'call';
  }
}

/**
 * The HTTP client's `inspect` hook for Slack. Slack answers most failures as HTTP 200 `{ ok: false, error }`,
 * so every 2xx is checked here: `ok: true` passes, `ok: false` maps through {@link SLACK_ERRORS}, and a body
 * that is not a JSON object with a boolean `ok` is an UnexpectedResponseError. Non-2xx answers are left to
 * the core (429 + Retry-After -> RateLimitedError, 5xx -> UnavailableError, ...); 1xx/3xx are unexpected.
 *
 * @example
 * ```ts
 * new HttpClient({ provider: 'Slack', baseUrl, auth, inspect: inspectSlackResponse });
 * ```
 */
export function inspectSlackResponse(response: HttpResponse): ConnectorError | undefined {
  const { status } = response;
  if (status >= 400) return undefined;
  const method = methodOf(response.url);
  const details = { provider: 'Slack', method, status };
  if (status < 200 || status >= 300) {
    return new UnexpectedResponseError(`Slack answered ${method} with HTTP ${status}`, { details });
  }
  const body = response.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return new UnexpectedResponseError(`Slack answered ${method} with a body that is not a JSON object`, {
      details,
    });
  }
  const record = body as Record<string, unknown>;
  if (record['ok'] === true) return undefined;
  if (record['ok'] !== false) {
    return new UnexpectedResponseError(`Slack answered ${method} without the ok field`, { details });
  }
  const code = typeof record['error'] === 'string' ? record['error'] : 'unrecognised_error';
  return slackError(code, { method, status, headers: response.headers, body: record });
}
