import {
  AuthError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { slackApi } from './client.ts';
import { SLACK_ERRORS } from './errors.ts';

/** Slack's declared failure mapping (the error table applied by the core's REST kit). */
const inspectSlackResponse = slackApi.inspect;

const URL_OF = (method: string) => `https://slack.com/api/${method}`;

function answer(
  body: unknown,
  options: { status?: number; headers?: Record<string, string>; method?: string } = {},
) {
  return {
    status: options.status ?? 200,
    headers: options.headers ?? { 'content-type': 'application/json; charset=utf-8' },
    body,
    url: URL_OF(options.method ?? 'chat.postMessage'),
  };
}

describe('Function: slackApi.inspect', () => {
  it.each([
    ['channel_not_found', NotFoundError],
    ['users_not_found', NotFoundError],
    ['message_not_found', NotFoundError],
    ['thread_not_found', NotFoundError],
    ['invalid_auth', AuthError],
    ['not_authed', AuthError],
    ['account_inactive', AuthError],
    ['token_revoked', AuthError],
    ['token_expired', AuthError],
    ['missing_scope', ForbiddenError],
    ['not_in_channel', ForbiddenError],
    ['restricted_action', ForbiddenError],
    ['ratelimited', RateLimitedError],
    ['invalid_arguments', ValidationError],
    ['invalid_blocks', ValidationError],
    ['msg_too_long', ValidationError],
    ['msg_blocks_too_long', ValidationError],
    ['cannot_reply_to_message', ValidationError],
    ['messages_tab_disabled', ForbiddenError],
    ['no_text', ValidationError],
    ['is_archived', ConflictError],
    ['internal_error', UnavailableError],
    ['fatal_error', UnavailableError],
    ['service_unavailable', UnavailableError],
  ])('maps ok:false %s to %o, naming the code and the method', (code, errorClass) => {
    // Act
    const error = inspectSlackResponse(answer({ ok: false, error: code }));
    // Assess
    expect(error).toBeInstanceOf(errorClass);
    expect(error?.message).toContain(`chat.postMessage failed`);
    expect(error?.message).toContain(`(${code})`);
    expect(error?.details).toEqual({ provider: 'Slack', method: 'chat.postMessage', slackError: code });
  });

  it('maps a refused token to AuthError (401), not to its ForbiddenError subclass', () => {
    // Act
    const auth = inspectSlackResponse(answer({ ok: false, error: 'invalid_auth' }));
    // Assess
    expect(auth).not.toBeInstanceOf(ForbiddenError);
    expect(auth?.status).toBe(401);
  });

  it('passes an ok answer', () => {
    // Act
    const error = inspectSlackResponse(answer({ ok: true, channel: 'C1', ts: '1.2' }));
    // Assess
    expect(error).toBeUndefined();
  });

  it('leaves non-2xx answers to the core mapping (429 Retry-After, 5xx)', () => {
    // Act
    const throttled = inspectSlackResponse(
      answer({ ok: false, error: 'ratelimited' }, { status: 429, headers: { 'retry-after': '30' } }),
    );
    const down = inspectSlackResponse(answer('<html>bad gateway</html>', { status: 502 }));
    // Assess
    expect(throttled).toBeUndefined();
    expect(down).toBeUndefined();
  });

  it('carries Retry-After on a 200 ratelimited answer', () => {
    // Act
    const error = inspectSlackResponse(
      answer({ ok: false, error: 'rate_limited' }, { headers: { 'retry-after': '7' } }),
    );
    // Assess
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterMs).toBe(7000);
  });

  it('adds the needed and granted scopes for missing_scope', () => {
    // Act
    const error = inspectSlackResponse(
      answer(
        { ok: false, error: 'missing_scope', needed: 'chat:write', provided: 'channels:read' },
        { method: 'chat.update' },
      ),
    );
    // Assess
    expect(error).toBeInstanceOf(ForbiddenError);
    expect(error?.message).toBe(
      'Slack chat.update failed: the token lacks a scope the method needs (missing_scope); needed: chat:write',
    );
    expect(error?.details).toMatchObject({ needed: 'chat:write', provided: 'channels:read' });
  });

  it('maps an unknown code to UnexpectedResponseError with the code', () => {
    // Act
    const error = inspectSlackResponse(
      answer({ ok: false, error: 'brand_new_error' }, { method: 'auth.test' }),
    );
    // Assess
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error?.message).toBe('Slack auth.test failed with error brand_new_error');
    expect(error?.details).toMatchObject({ slackError: 'brand_new_error' });
  });

  it.each(['constructor', '__proto__'])(
    'maps the code %s to UnexpectedResponseError, not to an Object.prototype member',
    (code) => {
      // Act
      const error = inspectSlackResponse(answer({ ok: false, error: code }, { method: 'auth.test' }));
      // Assess
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error?.message).toBe(`Slack auth.test failed with error ${code}`);
    },
  );

  it('does not echo an error field that is not a Slack code', () => {
    // Act
    const error = inspectSlackResponse(answer({ ok: false, error: 'Bearer xoxb-leaked <script>' }));
    // Assess
    expect(error?.message).not.toContain('xoxb');
    expect(error?.details).toMatchObject({ slackError: 'unrecognised_error' });
  });

  it.each([
    ['a text body', '<html>maintenance</html>', /not a JSON object/],
    ['a JSON array', [1, 2], /not a JSON object/],
    ['JSON without ok', { channels: [] }, /without the ok field/],
    ['a non-boolean ok', { ok: 'yes' }, /without the ok field/],
  ])('maps %s on HTTP 200 to UnexpectedResponseError', (_label, body, message) => {
    // Act
    const error = inspectSlackResponse(answer(body, { method: 'conversations.list' }));
    // Assess
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error?.message).toMatch(message);
    expect(error?.details).toEqual({ provider: 'Slack', method: 'conversations.list', status: 200 });
  });

  it('treats a redirect as unexpected rather than success', () => {
    // Act
    const error = inspectSlackResponse(answer('', { status: 302 }));
    // Assess
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error?.message).toBe('Slack answered chat.postMessage with HTTP 302');
  });

  it('names the method "call" when the URL has no method segment', () => {
    // Act
    const error = inspectSlackResponse({
      status: 200,
      headers: {},
      body: { ok: false, error: 'no_text' },
      url: '::',
    });
    // Assess
    expect(error?.message).toBe('Slack call failed: the message has neither text nor blocks (no_text)');
  });
});

describe('Constant: SLACK_ERRORS', () => {
  it('maps every table row to the class its kind names', () => {
    // Prepare
    const classes = {
      'not-found': NotFoundError,
      auth: AuthError,
      forbidden: ForbiddenError,
      'rate-limited': RateLimitedError,
      validation: ValidationError,
      conflict: ConflictError,
      unavailable: UnavailableError,
      unexpected: UnexpectedResponseError,
    };
    // Act
    const mismatches = Object.entries(SLACK_ERRORS).filter(([code, rule]) => {
      const error = inspectSlackResponse(answer({ ok: false, error: code }, { method: 'chat.update' }));
      if (error === undefined) return true;
      return !(error instanceof classes[rule.kind]) || !error.message.includes(rule.meaning);
    });
    // Assess
    expect(mismatches).toEqual([]);
  });
});
