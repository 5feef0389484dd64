import { createHmac } from 'node:crypto';
import { configureSecrets, resetCircuitBreakers } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type SlackFake, startSlackFake } from '../../../scripts/local/sandboxes/slack.ts';
import { type AwsJsonFake, startAwsJsonFake } from '../../../test/fakes/aws-json.ts';
import { type SecretsManagerFake, startSecretsManagerFake } from '../../../test/fakes/secrets-manager.ts';
import { createTable, type DynalitePeer, startDynalite } from '../../../test/peers/dynalite.ts';

const TOKEN_SECRET = 'test/slack/bot-token';
const SIGNING_SECRET_NAME = 'test/slack/signing-secret';
const TOKEN = 'xoxb-1111-original-token';
const ROTATED_TOKEN = 'xoxb-2222-rotated-token';
const SIGNING_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';

type HttpResult = APIGatewayProxyStructuredResultV2 & {
  statusCode: number;
  body: string;
  headers: Record<string, string>;
};

let slack: SlackFake;
let sm: SecretsManagerFake;
let dynamo: DynalitePeer;
let aws: AwsJsonFake;
let logs: CapturedLogs;
let handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
const savedEnv = { ...process.env };

/** Every signature the tests computed, so the log test can prove none of them leaked. */
const signatures: string[] = [];

/** Slack's v0 signature, computed here independently of the connector and the core. */
function sign(body: string, options: { timestamp?: number; secret?: string; prefix?: string } = {}) {
  const timestamp = String(options.timestamp ?? Math.floor(Date.now() / 1000));
  const digest = createHmac('sha256', options.secret ?? SIGNING_SECRET)
    .update(`v0:${timestamp}:${body}`)
    .digest('hex');
  const signature = `${options.prefix ?? 'v0='}${digest}`;
  signatures.push(digest);
  return { 'x-slack-request-timestamp': timestamp, 'x-slack-signature': signature };
}

async function http(options: Parameters<typeof httpEvent>[0]): Promise<HttpResult> {
  return (await handler(httpEvent(options), lambdaContext())) as HttpResult;
}

async function operation(name: string, body: unknown): Promise<HttpResult> {
  return http({ path: `/slack/${name}`, body });
}

function event(body: string, headers: Record<string, string>) {
  return http({
    path: '/slack/events',
    body,
    headers: { 'content-type': 'application/json', ...headers },
    authorizer: 'none',
  });
}

function json(response: HttpResult): Record<string, unknown> {
  return JSON.parse(response.body) as Record<string, unknown>;
}

beforeAll(async () => {
  slack = await startSlackFake({ tokens: [TOKEN] });
  sm = await startSecretsManagerFake({ [TOKEN_SECRET]: TOKEN, [SIGNING_SECRET_NAME]: SIGNING_SECRET });
  [dynamo, aws] = await Promise.all([startDynalite(), startAwsJsonFake()]);
  await createTable(dynamo.endpoint, 'slack-state');
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: aws.endpoint,
    SLACK_STATE_TABLE: 'slack-state',
    SLACK_EVENTS_QUEUE_URL: `${aws.endpoint}/123456789012/slack-events`,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    SLACK_API_URL: slack.url,
    SLACK_BOT_TOKEN_SECRET: TOKEN_SECRET,
    SLACK_SIGNING_SECRET_SECRET: SIGNING_SECRET_NAME,
    // Short enough for the hang test, long enough for a loaded two-core machine's ordinary answers.
    SLACK_TIMEOUT_MS: '1500',
  });
  configureSecrets({});
  ({ handler } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await slack.close();
  await sm.close();
  await Promise.all([dynamo.close(), aws.close()]);
});

/** The events the connector handed to its queue, as sent. */
function queued(): Record<string, unknown>[] {
  return aws.calls
    .filter((call) => call.target === 'AmazonSQS.SendMessage')
    .map((call) => JSON.parse(String(call.body['MessageBody'])) as Record<string, unknown>);
}

beforeEach(() => {
  slack.reset();
  slack.tokens.clear();
  slack.tokens.add(TOKEN);
  sm.set(TOKEN_SECRET, TOKEN);
  // A fresh cache per test, so each one starts from the current secret values.
  configureSecrets({});
  resetCircuitBreakers();
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describe('Connector: slack', () => {
  describe('HTTP trigger', () => {
    it('posts a message and returns channel and ts', async () => {
      // Act
      const response = await operation('post-message', { channel: 'C0ALERTS', text: 'Deploy finished' });
      // Assess
      expect(response.statusCode).toBe(200);
      const body = json(response);
      expect(body).toEqual({ channel: 'C0ALERTS', ts: expect.stringMatching(/^\d+\.\d{6}$/) });
      expect(slack.message('C0ALERTS', String(body['ts']))?.text).toBe('Deploy finished');
    });

    it('updates a message it posted', async () => {
      // Prepare
      const posted = json(await operation('post-message', { channel: 'C0ALERTS', text: 'deploying' }));
      // Act
      const response = await operation('update-message', {
        channel: 'C0ALERTS',
        ts: posted['ts'],
        text: 'done',
      });
      // Assess
      expect(response.statusCode).toBe(200);
      expect(json(response)).toEqual({ channel: 'C0ALERTS', ts: posted['ts'] });
      expect(slack.message('C0ALERTS', String(posted['ts']))?.text).toBe('done');
    });

    it('lists channels page by page', async () => {
      // Act
      const first = json(await operation('list-channels', { limit: 2 }));
      const second = json(await operation('list-channels', { limit: 2, cursor: first['nextCursor'] }));
      // Assess
      expect((first['channels'] as { id: string }[]).map((c) => c.id)).toEqual(['C0GENERAL', 'C0RANDOM']);
      expect((second['channels'] as { id: string }[]).map((c) => c.id)).toEqual(['C0ALERTS', 'C0ARCHIVE']);
    });

    it('answers a cursor Slack does not know with a 400 pointing at /cursor', async () => {
      // Act
      const response = await operation('list-channels', { cursor: 'garbage' });
      // Assess
      expect(response.statusCode).toBe(400);
      expect(json(response)['errors']).toEqual([
        { pointer: '/cursor', message: expect.stringContaining('the cursor is not valid') },
      ]);
    });

    it('finds a user by email', async () => {
      // Act
      const response = await operation('find-user-by-email', { email: 'bob@example.com' });
      // Assess
      expect(json(response)).toEqual({
        id: 'U0BOB',
        name: 'bob',
        realName: 'Bob Example',
        email: 'bob@example.com',
      });
    });

    it.each([
      ['a domain in another script', 'zoë@bücher.example'],
      ['a UTF-8 part before the @ (RFC 6531)', '用户@例子.广告'],
      ['a Punycode domain', 'ops@xn--bcher-kva.example'],
    ])('finds a user whose address has %s, sending it to Slack as given', async (_what, email) => {
      // Prepare
      slack.users.push({ id: 'U0INTL', name: 'intl', realName: 'Intl Example', email });
      try {
        // Act
        const response = await operation('find-user-by-email', { email });

        // Assess
        expect(response.statusCode).toBe(200);
        expect(json(response)).toMatchObject({ id: 'U0INTL', email });
        expect(slack.requests.at(-1)?.args['email']).toBe(email);
      } finally {
        slack.users.pop();
      }
    });

    it.each([
      ['no-at-sign.example.com', 'one @'],
      ['two@@example.com', 'one @'],
      ['name @example.com', 'spaces'],
      ['"quoted"@example.com', 'quoted'],
      ['.dot@example.com', 'dot'],
      ['a..b@example.com', 'dot'],
      [`${'x'.repeat(65)}@example.com`, '64 bytes'],
      [`${'é'.repeat(33)}@example.com`, '64 bytes'],
      ['ops@localhost', 'domain'],
      ['ops@-bad-.example', 'domain'],
      ['ops@exa_mple.com', 'domain'],
      ['ops\uD83D@example.com', 'well-formed'],
    ])('refuses %s with a 400 on /email that says why (%s), without calling Slack', async (email, why) => {
      // Prepare
      const before = slack.requests.length;

      // Act
      const response = await operation('find-user-by-email', { email });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(json(response)['errors']).toEqual([
        { pointer: '/email', message: expect.stringContaining(why) },
      ]);
      expect(slack.requests.length).toBe(before);
    });

    it('answers 400 with pointers for input that fails validation, without calling Slack', async () => {
      // Act
      const response = await operation('post-message', { channel: 'C0ALERTS' });
      // Assess
      expect(response.statusCode).toBe(400);
      expect(json(response)['errors']).toEqual([
        { pointer: '/text', message: 'Provide text, blocks or both' },
      ]);
      expect(slack.requests).toEqual([]);
    });

    it('reports health from auth.test with the capabilities', async () => {
      // Act
      const response = await http({ method: 'GET', path: '/slack/health' });
      // Assess
      expect(response.statusCode).toBe(200);
      expect(json(response)).toMatchObject({
        connector: 'slack',
        status: 'ok',
        capabilities: ['threads', 'blocks', 'update', 'channels', 'user-lookup'],
        checks: [
          { name: 'config', ok: true },
          { name: 'setup', ok: true },
          { name: 'provider', ok: true },
        ],
      });
      expect(slack.requestsFor('auth.test')).toHaveLength(1);
    });

    it('reports failing health (503) when Slack keeps refusing the token', async () => {
      // Prepare
      slack.tokens.clear();
      // Act
      const response = await http({ method: 'GET', path: '/slack/health' });
      // Assess
      expect(response.statusCode).toBe(503);
      expect(json(response)['checks']).toContainEqual({
        name: 'provider',
        ok: false,
        detail: 'Slack auth.test failed: the bot token is not valid (invalid_auth)',
      });
    });
  });

  describe('SQS trigger', () => {
    it('runs each record and reports only the failed one', async () => {
      // Prepare
      const batch = sqsEvent([
        {
          messageId: 'ok-1',
          body: { operation: 'post-message', input: { channel: 'C0RANDOM', text: 'one' } },
        },
        {
          messageId: 'lost',
          body: { operation: 'post-message', input: { channel: 'C0MISSING', text: 'two' } },
        },
        {
          messageId: 'ok-2',
          body: { operation: 'find-user-by-email', input: { email: 'alice@example.com' } },
        },
      ]);
      // Act
      const response = await handler(batch, lambdaContext());
      // Assess
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'lost' }] });
      expect(slack.messages.filter((m) => m.channel === 'C0RANDOM').map((m) => m.text)).toEqual(['one']);
      expect(slack.requestsFor('users.lookupByEmail')).toHaveLength(1);
    });
  });

  describe('Step Functions task', () => {
    it('returns the output of every operation', async () => {
      // Act
      const posted = (await handler(
        {
          operation: 'post-message',
          input: { channel: 'C0GENERAL', text: 'from a workflow' },
          trigger: 'task',
        },
        lambdaContext(),
      )) as { channel: string; ts: string };
      const updated = await handler(
        {
          operation: 'update-message',
          input: { channel: 'C0GENERAL', ts: posted.ts, text: 'edited' },
          trigger: 'task',
        },
        lambdaContext(),
      );
      const listed = (await handler(
        { operation: 'list-channels', input: { types: ['private_channel'] }, trigger: 'task' },
        lambdaContext(),
      )) as { channels: { id: string }[] };
      const user = await handler(
        { operation: 'find-user-by-email', input: { email: 'alice@example.com' }, trigger: 'task' },
        lambdaContext(),
      );
      // Assess
      expect(updated).toEqual({ channel: 'C0GENERAL', ts: posted.ts });
      expect(listed.channels.map((c) => c.id)).toEqual(['G0PRIVATE']);
      expect(user).toMatchObject({ id: 'U0ALICE' });
    });

    it('throws the stable error name for Retry/Catch', async () => {
      // Act
      const attempt = handler(
        {
          operation: 'update-message',
          input: { channel: 'C0GENERAL', ts: '1.000042', text: 'x' },
          trigger: 'task',
        },
        lambdaContext(),
      );
      // Assess
      await expect(attempt).rejects.toMatchObject({ name: 'NotFoundError' });
    });
  });

  describe('Failure paths', () => {
    it('refreshes a rotated token once and retries', async () => {
      // Prepare
      await operation('post-message', { channel: 'C0ALERTS', text: 'warm the cache' });
      slack.tokens.clear();
      slack.tokens.add(ROTATED_TOKEN);
      sm.set(TOKEN_SECRET, ROTATED_TOKEN);
      const secretReads = sm.calls.filter((name) => name === TOKEN_SECRET).length;
      // Act
      const response = await operation('post-message', { channel: 'C0ALERTS', text: 'after rotation' });
      // Assess
      expect(response.statusCode).toBe(200);
      expect(slack.requestsFor('chat.postMessage').map((r) => r.token)).toEqual([
        TOKEN,
        TOKEN,
        ROTATED_TOKEN,
      ]);
      expect(sm.calls.filter((name) => name === TOKEN_SECRET).length).toBe(secretReads + 1);
      expect(slack.messages.filter((m) => m.text === 'after rotation')).toHaveLength(1);
    });

    it('answers 401 after one refresh when the new token is refused too, without looping', async () => {
      // Prepare
      slack.tokens.clear();
      slack.tokens.add('xoxb-someone-else');
      // Act
      const response = await operation('post-message', { channel: 'C0ALERTS', text: 'refused' });
      // Assess
      expect(response.statusCode).toBe(401);
      expect(json(response)).toMatchObject({
        code: 'unauthorized',
        detail: 'Slack chat.postMessage failed: the bot token is not valid (invalid_auth)',
      });
      expect(slack.requestsFor('chat.postMessage')).toHaveLength(2);
    });

    it('answers 404 for an unknown channel', async () => {
      // Act
      const response = await operation('post-message', { channel: 'C0MISSING', text: 'lost' });
      // Assess
      expect(response.statusCode).toBe(404);
      expect(json(response)).toMatchObject({
        code: 'not_found',
        detail:
          'Slack chat.postMessage failed: the channel does not exist or the app cannot see it (channel_not_found)',
      });
    });

    it('waits for a short Retry-After and then succeeds', async () => {
      // Prepare
      slack.failNext('conversations.list', { retryAfter: 1 });
      const started = Date.now();
      // Act
      const response = await operation('list-channels', {});
      // Assess
      expect(response.statusCode).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(slack.requestsFor('conversations.list')).toHaveLength(2);
    });

    it('answers 429 at once with Retry-After when Slack asks for longer than the budget', async () => {
      // Prepare
      slack.failNext('conversations.list', { retryAfter: 120 });
      const started = Date.now();
      // Act
      const response = await operation('list-channels', {});
      // Assess
      expect(Date.now() - started).toBeLessThan(900);
      expect(response.statusCode).toBe(429);
      expect(response.headers['retry-after']).toBe('120');
      expect(json(response)).toMatchObject({ code: 'rate_limited', retryAfterMs: 120_000 });
      expect(slack.requestsFor('conversations.list')).toHaveLength(1);
    });

    it('retries an idempotent call after a 5xx and then succeeds', async () => {
      // Prepare
      slack.failNext('conversations.list', { status: 503 });
      // Act
      const response = await operation('list-channels', { limit: 1 });
      // Assess
      expect(response.statusCode).toBe(200);
      expect(slack.requestsFor('conversations.list')).toHaveLength(2);
    });

    it('answers 504 when Slack does not answer within SLACK_TIMEOUT_MS', async () => {
      // Prepare
      slack.failNext('chat.postMessage', { hang: true });
      const started = Date.now();
      // Act
      const response = await operation('post-message', { channel: 'C0ALERTS', text: 'hanging' });
      // Assess
      expect(response.statusCode).toBe(504);
      expect(json(response)['code']).toBe('timeout');
      // Stopped by the timeout, not by the hang ending (it never does): far below the test's own limit.
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    it.each([
      ['a body that is not JSON', { body: '<html><body>Gateway hiccup</body></html>' }],
      ['JSON without ok', { body: { channels: [] } }],
    ])('answers 502 for %s', async (_label, fault) => {
      // Prepare
      slack.failNext('conversations.list', fault);
      // Act
      const response = await operation('list-channels', {});
      // Assess
      expect(response.statusCode).toBe(502);
      expect(json(response)['code']).toBe('unexpected_response');
      expect(slack.requestsFor('conversations.list')).toHaveLength(1);
    });
  });

  describe('Route: POST /slack/events', () => {
    const challengeBody = JSON.stringify({
      token: 'legacy',
      challenge: 'c-3po-challenge',
      type: 'url_verification',
    });

    it('answers the URL verification challenge for a valid signature', async () => {
      // Act
      const response = await event(challengeBody, sign(challengeBody));
      // Assess
      expect(response.statusCode).toBe(200);
      expect(json(response)).toEqual({ challenge: 'c-3po-challenge' });
    });

    it.each([
      [
        'a changed body byte',
        () => ({ body: challengeBody.replace('c-3po', 'c-4po'), headers: sign(challengeBody) }),
      ],
      [
        'a stale timestamp',
        () => ({
          body: challengeBody,
          headers: sign(challengeBody, { timestamp: Math.floor(Date.now() / 1000) - 301 }),
        }),
      ],
      [
        'a future timestamp',
        () => ({
          body: challengeBody,
          headers: sign(challengeBody, { timestamp: Math.floor(Date.now() / 1000) + 301 }),
        }),
      ],
      [
        'a missing signature header',
        () => ({
          body: challengeBody,
          headers: { 'x-slack-request-timestamp': String(Math.floor(Date.now() / 1000)) },
        }),
      ],
      [
        'a missing timestamp header',
        () => ({
          body: challengeBody,
          headers: { 'x-slack-signature': sign(challengeBody)['x-slack-signature'] },
        }),
      ],
      ['the v1= prefix', () => ({ body: challengeBody, headers: sign(challengeBody, { prefix: 'v1=' }) })],
      [
        'another signing secret',
        () => ({ body: challengeBody, headers: sign(challengeBody, { secret: 'not-the-secret' }) }),
      ],
    ])('answers 401 for %s', async (_label, build) => {
      // Prepare
      const { body, headers } = build();
      // Act
      const response = await event(body, headers);
      // Assess
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toBe('application/problem+json');
      expect(response.body).not.toContain('c-3po-challenge');
    });

    it('hands an event to the events queue once, answers its retry as a duplicate, and logs no content', async () => {
      // Prepare
      const body = JSON.stringify({
        token: 'legacy-verification-token',
        team_id: 'T0CIRCLE',
        api_app_id: 'A0CIRCLE',
        type: 'event_callback',
        event_id: 'Ev0PV52K21',
        event_time: 1_700_000_000,
        event: {
          type: 'app_mention',
          user: 'U0ALICE',
          text: '<@U0BOT> the launch codes are 0000',
          channel: 'C0GENERAL',
        },
      });
      const before = queued().length;
      // Act
      const response = await event(body, sign(body));
      const retry = await event(body, {
        ...sign(body),
        'x-slack-retry-num': '1',
        'x-slack-retry-reason': 'http_timeout',
      });
      // Assess
      expect(response.statusCode).toBe(200);
      expect(json(response)).toEqual({ ok: true });
      expect(retry.statusCode).toBe(200);
      expect(json(retry)).toEqual({ ok: true, duplicate: true });
      const sent = queued().slice(before);
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({
        provider: 'slack',
        name: 'app-mention-received',
        deliveryId: 'Ev0PV52K21',
        source: 'T0CIRCLE',
        payload: { eventId: 'Ev0PV52K21', event: { type: 'app_mention' } },
      });
      expect(JSON.stringify(sent)).not.toContain('legacy-verification-token');
      expect(logs.text()).not.toContain('launch codes');
      expect(logs.text()).not.toContain('legacy-verification-token');
    });

    it('answers 400 for a signed body that is not a known payload', async () => {
      // Prepare
      const body = JSON.stringify({ type: 'block_suggestion' });
      // Act
      const response = await event(body, sign(body));
      // Assess
      expect(response.statusCode).toBe(400);
    });

    it('fails closed with 500, never an unverified 2xx, when the signing secret cannot be read', async () => {
      // Prepare
      sm.failNext('AccessDeniedException');
      // Act
      const response = await event(challengeBody, sign(challengeBody));
      // Assess
      expect(response.statusCode).toBe(500);
      expect(response.body).not.toContain('c-3po-challenge');
      expect(json(response)['detail']).toContain(
        `secret ${SIGNING_SECRET_NAME} failed (AccessDeniedException): the function's role needs secretsmanager:GetSecretValue`,
      );
    });
  });

  describe('Route: POST /slack/commands', () => {
    const form = new URLSearchParams({
      token: 'legacy-verification-token',
      team_id: 'T0CIRCLE',
      team_domain: 'circle-test',
      channel_id: 'C0GENERAL',
      channel_name: 'general',
      user_id: 'U0ALICE',
      user_name: 'alice',
      command: '/deploy',
      text: 'api to production',
      api_app_id: 'A0CIRCLE',
      response_url: 'https://hooks.slack.com/commands/T0CIRCLE/1234/secret-hook',
      trigger_id: '13345224609.738474920.8088930838d88f008e0',
    }).toString();

    it('acknowledges a signed command with an ephemeral message and hands it on once per request', async () => {
      // Prepare
      const headers = { 'content-type': 'application/x-www-form-urlencoded', ...sign(form) };
      const before = queued().length;
      // Act
      const response = await http({ path: '/slack/commands', body: form, headers, authorizer: 'none' });
      const replay = await http({ path: '/slack/commands', body: form, headers, authorizer: 'none' });
      // Assess
      expect(response.statusCode).toBe(200);
      expect(json(response)).toEqual({
        response_type: 'ephemeral',
        text: 'Received /deploy, working on it.',
      });
      expect(replay.statusCode).toBe(200);
      const sent = queued().slice(before);
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({
        name: 'command-received',
        action: 'deploy',
        payload: { command: '/deploy', teamId: 'T0CIRCLE', channelId: 'C0GENERAL', userId: 'U0ALICE' },
      });
      expect(logs.text()).not.toContain('secret-hook');
      expect(logs.text()).not.toContain('api to production');
    });

    it('answers 401 for an unsigned command', async () => {
      // Act
      const response = await http({
        path: '/slack/commands',
        body: form,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        authorizer: 'none',
      });
      // Assess
      expect(response.statusCode).toBe(401);
    });
  });

  describe('Logs', () => {
    it('never contain the token, the signing secret, an Authorization header or a signature', async () => {
      // Prepare
      const responses: HttpResult[] = [];
      const body = JSON.stringify({ type: 'url_verification', challenge: 'x' });
      // Act
      responses.push(await operation('post-message', { channel: 'C0ALERTS', text: 'log me not' }));
      slack.tokens.clear();
      slack.tokens.add(ROTATED_TOKEN);
      sm.set(TOKEN_SECRET, ROTATED_TOKEN);
      responses.push(await operation('list-channels', {}));
      slack.tokens.clear();
      responses.push(await operation('post-message', { channel: 'C0ALERTS', text: 'refused' }));
      responses.push(await operation('find-user-by-email', { email: 'nobody@example.com' }));
      responses.push(await event(body, sign(body)));
      responses.push(await event(body, sign(body, { secret: 'wrong' })));
      await handler({ operation: 'list-channels', input: {} }, lambdaContext()).catch(() => undefined);
      logs.restore();
      // Assess
      const everything = [logs.text(), ...responses.map((response) => JSON.stringify(response))].join('\n');
      expect(responses.map((response) => response.statusCode)).toEqual([200, 200, 401, 401, 200, 401]);
      expect(logs.records().length).toBeGreaterThan(5);
      for (const secret of [TOKEN, ROTATED_TOKEN, SIGNING_SECRET, ...signatures]) {
        expect(everything).not.toContain(secret);
      }
      expect(everything).not.toMatch(/bearer|authorization|x-slack-signature/i);
    });
  });
});
