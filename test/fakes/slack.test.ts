import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_SLACK_TOKEN, type SlackFake, startSlackFake } from '../../scripts/local/sandboxes/slack.ts';

let fake: SlackFake;

/** Calls the fake the way any Slack client would: plain fetch, no connector code. */
async function call(
  method: string,
  init: {
    body?: string;
    contentType?: string;
    token?: string | null;
    httpMethod?: string;
    query?: string;
  } = {},
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (init.token !== null) headers['authorization'] = `Bearer ${init.token ?? DEFAULT_SLACK_TOKEN}`;
  if (init.contentType !== undefined) headers['content-type'] = init.contentType;
  const response = await fetch(`${fake.url}/${method}${init.query ?? ''}`, {
    method: init.httpMethod ?? 'POST',
    headers,
    // Bytes, so fetch adds no content-type of its own.
    ...(init.body === undefined ? {} : { body: new TextEncoder().encode(init.body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    json: text.startsWith('{') ? JSON.parse(text) : {},
  };
}

const JSON_UTF8 = 'application/json; charset=utf-8';
const FORM = 'application/x-www-form-urlencoded';

describe('Function: startSlackFake', () => {
  beforeAll(async () => {
    fake = await startSlackFake();
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
  });

  describe('authentication', () => {
    it('answers not_authed without a token and invalid_auth for an unknown one, with HTTP 200', async () => {
      // Act
      const none = await call('auth.test', { token: null });
      const wrong = await call('auth.test', { token: 'xoxb-wrong' });
      // Assess
      expect([none.status, none.json]).toEqual([200, { ok: false, error: 'not_authed' }]);
      expect([wrong.status, wrong.json]).toEqual([200, { ok: false, error: 'invalid_auth' }]);
    });

    it('reads the token from a form body but not from a JSON body', async () => {
      // Act
      const form = await call('auth.test', {
        token: null,
        contentType: FORM,
        body: `token=${DEFAULT_SLACK_TOKEN}`,
      });
      const json = await call('auth.test', {
        token: null,
        contentType: JSON_UTF8,
        body: JSON.stringify({ token: DEFAULT_SLACK_TOKEN }),
      });
      // Assess
      expect(form.json).toMatchObject({ ok: true, user_id: 'U0BOT' });
      expect(json.json).toEqual({ ok: false, error: 'not_authed' });
    });
  });

  describe('request bodies', () => {
    it('accepts form-encoded arguments with JSON-valued blocks', async () => {
      // Prepare
      const body = new URLSearchParams({
        channel: 'general',
        blocks: JSON.stringify([{ type: 'divider' }]),
        unfurl_links: 'false',
      }).toString();
      // Act
      const { json } = await call('chat.postMessage', { contentType: FORM, body });
      // Assess
      expect(json).toMatchObject({
        ok: true,
        channel: 'C0GENERAL',
        message: { blocks: [{ type: 'divider' }] },
      });
      expect(fake.requests[0]).toMatchObject({ bodyKind: 'form', token: DEFAULT_SLACK_TOKEN });
    });

    it('warns missing_charset for JSON without a charset and refuses an unknown charset', async () => {
      // Prepare
      const body = JSON.stringify({ channel: 'C0RANDOM', text: 'hi' });
      // Act
      const bare = await call('chat.postMessage', { contentType: 'application/json', body });
      const latin = await call('chat.postMessage', { contentType: 'application/json; charset=koi8-r', body });
      // Assess
      expect(bare.json).toMatchObject({
        ok: true,
        warning: 'missing_charset',
        response_metadata: { warnings: ['missing_charset'] },
      });
      expect(latin.json).toEqual({ ok: false, error: 'invalid_charset' });
    });

    it.each([
      ['missing_post_type', { body: '{}' }],
      ['invalid_json', { contentType: JSON_UTF8, body: '{"channel":' }],
      ['json_not_object', { contentType: JSON_UTF8, body: '[1]' }],
      ['invalid_post_type', { contentType: 'text/xml', body: '<a/>' }],
    ])('answers %s for a body Slack would refuse', async (error, init) => {
      // Act
      const { json } = await call('chat.postMessage', init);
      // Assess
      expect(json).toEqual({ ok: false, error });
    });

    it('refuses a JSON body for users.lookupByEmail, which reads only forms and queries', async () => {
      // Act
      const json = await call('users.lookupByEmail', {
        contentType: JSON_UTF8,
        body: JSON.stringify({ email: 'alice@example.com' }),
      });
      const get = await call('users.lookupByEmail', {
        httpMethod: 'GET',
        query: '?email=alice%40example.com',
      });
      // Assess
      expect(json.json).toEqual({ ok: false, error: 'invalid_post_type' });
      expect(get.json).toMatchObject({
        ok: true,
        user: { id: 'U0ALICE', profile: { email: 'alice@example.com' } },
      });
    });
  });

  describe('methods', () => {
    it('pages conversations.list with next_cursor and answers invalid_limit outside 1..1000', async () => {
      // Act
      const first = await call('conversations.list', {
        httpMethod: 'GET',
        query: '?limit=4&types=public_channel',
      });
      const cursor = (first.json['response_metadata'] as { next_cursor: string }).next_cursor;
      const last = await call('conversations.list', {
        httpMethod: 'GET',
        query: `?limit=4&cursor=${encodeURIComponent(cursor)}`,
      });
      const tooMany = await call('conversations.list', { httpMethod: 'GET', query: '?limit=1001' });
      // Assess
      expect((first.json['channels'] as unknown[]).length).toBe(4);
      expect(last.json).toMatchObject({
        channels: [{ id: 'C0OUTSIDE' }],
        response_metadata: { next_cursor: '' },
      });
      expect(tooMany.json).toEqual({ ok: false, error: 'invalid_limit' });
    });

    it('answers no_text, msg_too_long, invalid_blocks and unknown_method', async () => {
      // Act
      const answers = await Promise.all([
        call('chat.postMessage', { contentType: JSON_UTF8, body: JSON.stringify({ channel: 'C0RANDOM' }) }),
        call('chat.postMessage', {
          contentType: JSON_UTF8,
          body: JSON.stringify({ channel: 'C0RANDOM', text: 'x'.repeat(40_001) }),
        }),
        call('chat.postMessage', {
          contentType: JSON_UTF8,
          body: JSON.stringify({ channel: 'C0RANDOM', blocks: [{ text: 'no type' }] }),
        }),
        call('chat.delete', { contentType: JSON_UTF8, body: '{}' }),
      ]);
      // Assess
      expect(answers.map((answer) => answer.json['error'])).toEqual([
        'no_text',
        'msg_too_long',
        'invalid_blocks',
        'unknown_method',
      ]);
    });

    it('answers 404 outside /api', async () => {
      // Act
      const response = await fetch(fake.url.replace('/api', '/nope'));
      // Assess
      expect(response.status).toBe(404);
    });
  });

  describe('Method: failNext', () => {
    it('answers 429 ratelimited with Retry-After, then serves normally', async () => {
      // Prepare
      fake.failNext('auth.test', { retryAfter: 3 });
      // Act
      const limited = await call('auth.test');
      const normal = await call('auth.test');
      // Assess
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('3');
      expect(limited.json).toEqual({ ok: false, error: 'ratelimited' });
      expect(normal.json['ok']).toBe(true);
      expect(fake.requestsFor('auth.test')).toHaveLength(2);
    });

    it('applies a "*" fault to any method and a delay-only fault as a slow normal answer', async () => {
      // Prepare
      fake.failNext('*', { status: 503 });
      fake.failNext('auth.test', { delayMs: 50 });
      // Act
      const down = await call('conversations.list', { httpMethod: 'GET' });
      const started = Date.now();
      const slow = await call('auth.test');
      // Assess
      expect([down.status, down.json]).toEqual([503, { ok: false, error: 'service_unavailable' }]);
      expect(slow.json['ok']).toBe(true);
      expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    });

    it('answers the method-specific fault before a "*" one queued earlier', async () => {
      // Prepare
      fake.failNext('*', { error: 'fatal_error' });
      fake.failNext('auth.test', { error: 'account_inactive' });
      // Act
      const first = await call('auth.test');
      const second = await call('auth.test');
      // Assess
      expect([first.json['error'], second.json['error']]).toEqual(['account_inactive', 'fatal_error']);
    });

    it('never answers a hang fault (the client gives up), and records the call', async () => {
      // Prepare
      fake.failNext('auth.test', { hang: true });
      // Act
      const outcome = await fetch(`${fake.url}/auth.test`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEFAULT_SLACK_TOKEN}` },
        signal: AbortSignal.timeout(100),
      }).catch((error: unknown) => error);
      // Assess
      expect((outcome as Error).name).toBe('TimeoutError');
      expect(fake.requestsFor('auth.test')).toHaveLength(1);
    });
  });

  describe('Method: inject', () => {
    it.each([
      ['unauthorized', 'chat.postMessage', { ok: false, error: 'invalid_auth' }],
      [
        'forbidden',
        'conversations.list',
        {
          ok: false,
          error: 'missing_scope',
          needed: 'channels:read',
          provided: 'chat:write,channels:read,groups:read,users:read,users:read.email',
        },
      ],
      ['not-found', 'users.lookupByEmail', { ok: false, error: 'users_not_found' }],
      ['conflict', 'chat.postMessage', { ok: false, error: 'is_archived' }],
    ] as const)('answers %s on %s as Slack does: HTTP 200, ok false', async (kind, method, expected) => {
      // Prepare
      fake.inject(method, { kind });
      // Act
      const faulted = await call(method, { httpMethod: 'GET' });
      const other = await call('auth.test');
      // Assess
      expect([faulted.status, faulted.json]).toEqual([200, expected]);
      expect(other.json['ok']).toBe(true);
    });

    it('answers throttled as HTTP 429 ratelimited with Retry-After, and a 5xx twice then the method', async () => {
      // Prepare
      fake.inject('auth.test', { kind: 'throttled', retryAfterSeconds: 30 });
      fake.inject('conversations.list', { kind: 'server-error', status: 500 }, { times: 2 });
      // Act
      const limited = await call('auth.test');
      const lists = [];
      for (let attempt = 0; attempt < 3; attempt += 1) lists.push(await call('conversations.list'));
      // Assess
      expect([limited.status, limited.headers.get('retry-after'), limited.json]).toEqual([
        429,
        '30',
        { ok: false, error: 'ratelimited' },
      ]);
      expect(lists.map((answer) => [answer.status, answer.json['error']])).toEqual([
        [500, 'internal_error'],
        [500, 'internal_error'],
        [200, undefined],
      ]);
    });

    it('cuts a chat.postMessage answer short after the message was stored', async () => {
      // Prepare
      fake.inject('chat.postMessage', { kind: 'malformed' });
      // Act
      const response = await fetch(`${fake.url}/chat.postMessage`, {
        method: 'POST',
        headers: { authorization: `Bearer ${DEFAULT_SLACK_TOKEN}`, 'content-type': JSON_UTF8 },
        body: JSON.stringify({ channel: 'C0RANDOM', text: 'posted once' }),
      });
      const text = await response.text();
      // Assess
      expect(() => JSON.parse(text)).toThrow(SyntaxError);
      expect(fake.messages.filter((message) => message.text === 'posted once')).toHaveLength(1);
    });
  });
});
