/**
 * The Teams connector against the Teams contract fake (`scripts/local/sandboxes/teams.ts`: the identity
 * platform's token endpoint, Graph's channel messages and a Workflows webhook) and the local stack's
 * Secrets Manager: each operation on each trigger, Graph's and the webhook's error codes, and the failure
 * paths every connector must survive, with the client secret and the webhook's sig as leak markers.
 */
import { randomUUID } from 'node:crypto';
import { configureSecrets, resetCircuitBreakers } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { NOT_WELL_FORMED } from '#shared/models/paths.ts';
import type { FakeServer } from '../../../scripts/local/sandboxes/kit/index.ts';
import {
  startTeamsFake,
  storedTeamsMessage,
  TEAMS_SANDBOX_CHANNEL,
  TEAMS_SANDBOX_CLIENT_ID,
  TEAMS_SANDBOX_CLIENT_SECRET,
  TEAMS_SANDBOX_SECRET,
  TEAMS_SANDBOX_TEAM,
  TEAMS_SANDBOX_TENANT,
  TEAMS_SANDBOX_THREAD,
  TEAMS_SANDBOX_WEBHOOK_SIG,
  TEAMS_SANDBOX_WORKFLOW,
  type TeamsFakeState,
  teamsWebhookUrl,
} from '../../../scripts/local/sandboxes/teams.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';

const suffix = randomUUID().slice(0, 8);
const CREDENTIALS_SECRET = `test/teams/credentials-${suffix}`;
const WEBHOOKS_SECRET = `test/teams/webhooks-${suffix}`;
const CHANNEL = `${TEAMS_SANDBOX_TEAM}/${TEAMS_SANDBOX_CHANNEL}`;
const REPLIES = ['1767603780000', '1767603720000', '1767603660000'];

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let fake: FakeServer<TeamsFakeState>;
let secrets: SecretsManagerPeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({
    path: `/teams/${operation}`,
    body,
    headers: { 'idempotency-key': randomUUID() },
  });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);
const webhooks = () => JSON.stringify({ default: teamsWebhookUrl(fake.url) });

beforeAll(async () => {
  fake = await startTeamsFake();
  secrets = await startSecretsManager({
    [CREDENTIALS_SECRET]: TEAMS_SANDBOX_SECRET,
    [WEBHOOKS_SECRET]: webhooks(),
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    TEAMS_API_URL: `${fake.url}/v1.0`,
    TEAMS_LOGIN_URL: fake.url,
    TEAMS_TENANT_ID: TEAMS_SANDBOX_TENANT,
    TEAMS_TEAM_ID: TEAMS_SANDBOX_TEAM,
    TEAMS_CREDENTIALS_SECRET: CREDENTIALS_SECRET,
    TEAMS_WEBHOOKS_SECRET: WEBHOOKS_SECRET,
    TEAMS_TIMEOUT_MS: '1000',
    TEAMS_MAX_RETRY_AFTER_MS: '5000',
  });
  configureSecrets({});
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await Promise.all([fake.close(), secrets.close()]);
});

beforeEach(async () => {
  // The container keeps its cached token across tests, as it would keep one Microsoft issued.
  const issued = new Map(fake.state.tokens);
  fake.reset();
  for (const [token, expires] of issued) fake.state.tokens.set(token, expires);
  await secrets.set(CREDENTIALS_SECRET, TEAMS_SANDBOX_SECRET);
  await secrets.set(WEBHOOKS_SECRET, webhooks());
  configureSecrets({});
  resetCircuitBreakers();
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describe('Connector: teams', () => {
  describe('Operation: post-webhook-message', () => {
    it('posts text and a card as one Adaptive Card attachment, and the flow posts it in the channel', async () => {
      // Prepare
      const card = {
        type: 'AdaptiveCard',
        version: '1.4',
        body: [{ type: 'FactSet', facts: [{ title: 'Host', value: 'db-1' }] }],
      };

      // Act
      const response = await call('post-webhook-message', { text: 'Disk full on db-1', card });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(parsed(response)).toEqual({ webhook: 'default', status: 202 });
      expect(fake.state.webhookPosts).toEqual([
        {
          type: 'message',
          attachments: [
            {
              contentType: 'application/vnd.microsoft.card.adaptive',
              contentUrl: null,
              content: {
                ...card,
                body: [{ type: 'TextBlock', text: 'Disk full on db-1', wrap: true }, ...card.body],
              },
            },
          ],
        },
      ]);
      const posted = fake.state.teams.get(TEAMS_SANDBOX_TEAM)?.get(TEAMS_SANDBOX_CHANNEL)?.messages.at(-1);
      expect(posted?.from).toBe('Workflows');
      expect(fake.logFor('token')).toEqual([]);
    });

    it('posts to a named webhook of the JSON secret, and answers 400 naming /webhook for an unknown name', async () => {
      // Prepare
      await secrets.set(WEBHOOKS_SECRET, JSON.stringify({ oncall: teamsWebhookUrl(fake.url) }));
      configureSecrets({});

      // Act
      const named = await call('post-webhook-message', { webhook: 'oncall', text: 'Paging' });
      const unknown = await call('post-webhook-message', { webhook: 'default', text: 'x' });

      // Assess
      expect(named.statusCode).toBe(200);
      expect(unknown.statusCode).toBe(400);
      expect(parsed(unknown)['errors']).toEqual([expect.objectContaining({ pointer: '/webhook' })]);
      expect(fake.state.webhookPosts).toHaveLength(1);
    });

    it('refuses an empty post, a card that is no AdaptiveCard and unknown fields with 400s naming them', async () => {
      // Act
      const empty = await call('post-webhook-message', {});
      const notCard = await call('post-webhook-message', { card: { type: 'MessageCard' } });
      const extra = await call('post-webhook-message', { text: 'x', channel: 'general' });

      // Assess
      expect([empty.statusCode, notCard.statusCode, extra.statusCode]).toEqual([400, 400, 400]);
      expect(parsed(empty)['errors']).toEqual([expect.objectContaining({ pointer: '/text' })]);
      expect(parsed(notCard)['errors']).toEqual([expect.objectContaining({ pointer: '/card/type' })]);
      expect(JSON.stringify(parsed(extra)['errors'])).toContain('channel');
      expect(fake.log).toEqual([]);
    });

    it('maps a wrong sig (401), a deleted workflow (404) and a disabled one, never showing the sig (marker)', async () => {
      // Prepare
      const wrong = teamsWebhookUrl(fake.url, TEAMS_SANDBOX_WORKFLOW, 'stale-sig-marker');
      const gone = teamsWebhookUrl(fake.url, 'deadbeef', TEAMS_SANDBOX_WEBHOOK_SIG);
      await secrets.set(WEBHOOKS_SECRET, JSON.stringify({ wrong, gone, default: teamsWebhookUrl(fake.url) }));
      configureSecrets({});
      const workflow = fake.state.workflows.get(TEAMS_SANDBOX_WORKFLOW);

      // Act
      const badSig = await call('post-webhook-message', { webhook: 'wrong', text: 'x' });
      const missing = await call('post-webhook-message', { webhook: 'gone', text: 'x' });
      if (workflow !== undefined) workflow.enabled = false;
      const disabled = await call('post-webhook-message', { text: 'x' });

      // Assess
      expect([badSig.statusCode, missing.statusCode, disabled.statusCode]).toEqual([401, 404, 403]);
      expect(parsed(badSig)['detail']).toContain('DirectApiInvalidAuthorizationSignature');
      expect(parsed(missing)['detail']).toContain('Webhook gone was not found');
      expect(parsed(disabled)['detail']).toContain('turned off');
      const seen = `${badSig.body}${missing.body}${disabled.body}${logs.text()}${JSON.stringify(fake.log)}`;
      expect(seen).not.toContain('stale-sig-marker');
      expect(seen).not.toContain(TEAMS_SANDBOX_WEBHOOK_SIG);
    });

    it('refuses a post over Teams\u2019 28 KB message limit with a 413 naming /card or /text, before any call', async () => {
      // Prepare
      const big = 'x'.repeat(40_000);
      const card = { type: 'AdaptiveCard', version: '1.4', body: [{ type: 'TextBlock', text: big }] };
      const wide = 'é'.repeat(15_000);

      // Act
      const oversizedCard = await call('post-webhook-message', { card });
      const oversizedText = await call('post-webhook-message', { text: wide });

      // Assess
      expect([oversizedCard.statusCode, oversizedText.statusCode]).toEqual([413, 413]);
      expect(parsed(oversizedCard)['detail']).toContain('/card');
      expect(parsed(oversizedCard)['detail']).toContain('28672');
      expect(parsed(oversizedText)['detail']).toContain('/text');
      expect(fake.log).toEqual([]);
    });

    it('refuses a lone surrogate (half an emoji) in the text or anywhere in the card with a 400 naming it, before any call', async () => {
      // Prepare: JSON carries a lone surrogate as \ud83d; Teams would show U+FFFD or refuse the card
      const half = '\u{1F525}'.slice(0, 1);
      const card = (extra: Record<string, unknown>) => ({ type: 'AdaptiveCard', version: '1.4', ...extra });
      // Act
      const text = await call('post-webhook-message', { text: `disk full ${half}` });
      const inBody = await call('post-webhook-message', {
        card: card({ body: [{ type: 'TextBlock', text: half }] }),
      });
      const inAction = await call('post-webhook-message', {
        card: card({
          actions: [{ type: 'Action.OpenUrl', title: `open ${half}`, url: 'https://example.com' }],
        }),
      });
      const graph = await call('post-message', { channel: CHANNEL, text: `disk full ${half}` });
      // Assess
      expect(parsed(text)['errors']).toEqual([{ pointer: '/text', message: NOT_WELL_FORMED }]);
      expect(parsed(inBody)['errors']).toEqual([{ pointer: '/card/body/0/text', message: NOT_WELL_FORMED }]);
      expect(parsed(inAction)['errors']).toEqual([
        { pointer: '/card/actions/0/title', message: NOT_WELL_FORMED },
      ]);
      expect(parsed(graph)['errors']).toEqual([{ pointer: '/text', message: NOT_WELL_FORMED }]);
      expect([text, inBody, inAction, graph].map((response) => response.statusCode)).toEqual([
        400, 400, 400, 400,
      ]);
      expect(fake.log).toEqual([]);
    });

    it('counts the 28 KB limit in UTF-8 bytes of the payload as sent: emoji text of exactly 28 672 bytes passes, one byte more does not', async () => {
      // Prepare: the payload's bytes around a one-letter text, as the webhook received them.
      const probe = await call('post-webhook-message', { text: 'a' });
      expect(probe.statusCode).toBe(200);
      const overhead = Buffer.byteLength(JSON.stringify(fake.state.webhookPosts[0]), 'utf8') - 1;
      const room = 28 * 1024 - overhead;
      const exact = `${'🔥'.repeat(Math.floor(room / 4))}${'a'.repeat(room % 4)}`;

      // Act
      const fits = await call('post-webhook-message', { text: exact });
      const over = await call('post-webhook-message', { text: `${exact}a` });

      // Assess
      expect(fits.statusCode).toBe(200);
      expect(Buffer.byteLength(JSON.stringify(fake.state.webhookPosts[1]), 'utf8')).toBe(28 * 1024);
      expect(over.statusCode).toBe(413);
      expect(parsed(over)['detail']).toContain(`/text: ${28 * 1024 + 1} bytes`);
      expect(fake.logFor('webhook')).toHaveLength(2);
    });

    it('maps the webhook\u2019s own 413 (message size too large) to a 413 naming the field', async () => {
      // Prepare: a webhook that takes less than the connector checks, so Teams refuses it itself.
      fake.state.webhookMaxBytes = 1_000;
      const card = {
        type: 'AdaptiveCard',
        version: '1.4',
        body: [{ type: 'TextBlock', text: 'y'.repeat(2_000) }],
      };

      // Act
      const refused = await call('post-webhook-message', { card });

      // Assess
      expect(refused.statusCode).toBe(413);
      expect(parsed(refused)['detail']).toContain('/card');
      expect(fake.logFor('webhook')).toHaveLength(1);
      expect(fake.state.webhookPosts).toEqual([]);
    });

    it('is sent once: a 5xx or a timeout on a webhook post is not retried (no idempotency at Teams)', async () => {
      // Prepare
      fake.inject({ kind: 'server-error', status: 502 }, { route: 'webhook' });

      // Act
      const failed = await call('post-webhook-message', { text: 'once' });
      fake.inject({ kind: 'slow', delayMs: 3000 }, { route: 'webhook' });
      const slow = await call('post-webhook-message', { text: 'slow' });

      // Assess
      expect(failed.statusCode).toBe(503);
      expect(slow.statusCode).toBe(504);
      expect(fake.logFor('webhook')).toHaveLength(2);
    }, 20_000);
  });

  describe('Operation: post-message (notifier, Graph)', () => {
    it('posts text to a channel of the default team with an app-only token, and replies in the thread', async () => {
      // Act
      const posted = await call('post-message', {
        channel: TEAMS_SANDBOX_CHANNEL,
        text: 'Deploy <b>finished</b>',
      });
      const ts = parsed(posted)['ts'] as string;
      const reply = await call('post-message', { channel: CHANNEL, text: 'all green', threadTs: ts });

      // Assess
      expect(posted.statusCode).toBe(200);
      expect(parsed(posted)).toEqual({ channel: TEAMS_SANDBOX_CHANNEL, ts: expect.stringMatching(/^\d+$/) });
      expect(parsed(reply)).toEqual({ channel: CHANNEL, ts: expect.stringMatching(/^\d+$/), threadTs: ts });
      expect(storedTeamsMessage(fake.state, CHANNEL, ts)).toEqual({ text: 'Deploy <b>finished</b>' });
      const [sent] = fake.logFor('post-message');
      expect(sent?.path).toBe(
        `/v1.0/teams/${TEAMS_SANDBOX_TEAM}/channels/19%3Aops-alerts%40thread.tacv2/messages`,
      );
      expect(sent?.token).toMatch(/^graph-fake-/);
      expect(fake.logFor('token')).toHaveLength(1);
    });

    it('sends blocks as an Adaptive Card referenced from an html body, the text escaped', async () => {
      // Act
      const response = await call('post-message', {
        channel: CHANNEL,
        text: 'a < b',
        blocks: [{ type: 'TextBlock', text: 'Disk full', weight: 'bolder' }],
      });

      // Assess
      expect(response.statusCode).toBe(200);
      const [sent] = fake.logFor('post-message');
      expect(sent?.body).toMatchObject({
        body: { contentType: 'html', content: 'a &lt; b<attachment id="card"></attachment>' },
        attachments: [{ id: 'card', contentType: 'application/vnd.microsoft.card.adaptive' }],
      });
      expect(storedTeamsMessage(fake.state, CHANNEL, parsed(response)['ts'] as string)?.blocks).toEqual([
        { type: 'TextBlock', text: 'Disk full', weight: 'bolder' },
      ]);
    });

    it('answers 404 for a missing channel or thread parent, 400 for a malformed channel, 501 for update', async () => {
      // Act
      const channel = await call('post-message', { channel: '19:nope@thread.tacv2', text: 'x' });
      const parent = await call('post-message', { channel: CHANNEL, text: 'x', threadTs: '42' });
      const malformed = await call('post-message', { channel: 'general', text: 'x' });
      const update = await connector.run('get-message', { channel: CHANNEL, ts: TEAMS_SANDBOX_THREAD });

      // Assess
      expect([channel.statusCode, parent.statusCode, malformed.statusCode]).toEqual([404, 404, 400]);
      expect(parsed(channel)['detail']).toContain('Channel 19:nope@thread.tacv2 was not found');
      expect(parsed(malformed)['errors']).toEqual([expect.objectContaining({ pointer: '/channel' })]);
      expect(update).toMatchObject({ id: TEAMS_SANDBOX_THREAD });
    });

    it('is sent once on a 5xx, and waits as Retry-After says on a 429 before sending again', async () => {
      // Prepare
      fake.inject({ kind: 'server-error', status: 503 }, { route: 'post-message' });
      const failed = await call('post-message', { channel: CHANNEL, text: 'once' });
      fake.inject({ kind: 'throttled', retryAfterSeconds: 120 }, { route: 'post-message' });

      // Act
      const throttled = await call('post-message', { channel: CHANNEL, text: 'later' });

      // Assess
      expect(failed.statusCode).toBe(503);
      expect(throttled.statusCode).toBe(429);
      expect(throttled.headers['retry-after']).toBe('120');
      expect(fake.logFor('post-message').map((r) => r.status)).toEqual([503, 429]);
    });
  });

  describe('Operation: get-message', () => {
    it('reads a root message and a reply, and answers 404 naming a missing one', async () => {
      // Act
      const root = await call('get-message', { channel: CHANNEL, ts: TEAMS_SANDBOX_THREAD });
      const reply = await call('get-message', {
        channel: CHANNEL,
        ts: REPLIES[2],
        threadTs: TEAMS_SANDBOX_THREAD,
      });
      const missing = await call('get-message', { channel: CHANNEL, ts: '1' });

      // Assess
      expect(parsed(root)).toMatchObject({
        id: TEAMS_SANDBOX_THREAD,
        channel: CHANNEL,
        replyToId: null,
        contentType: 'text',
        content: 'Incident INC-42: api is down',
        from: 'Circle Core',
        cards: 0,
        importance: 'normal',
      });
      expect(parsed(reply)).toMatchObject({
        id: REPLIES[2],
        replyToId: TEAMS_SANDBOX_THREAD,
        content: 'Paged the on-call',
      });
      expect(missing.statusCode).toBe(404);
      expect(parsed(missing)['detail']).toContain('Message 1 was not found');
    });

    it('retries a 5xx and a short Retry-After on a read, and answers 502/504 for malformed, oversized or slow answers', async () => {
      // Prepare
      fake.inject({ kind: 'server-error' }, { route: 'get-message' });
      fake.inject({ kind: 'throttled', retryAfterSeconds: 0 }, { route: 'get-message' });
      const recovered = await call('get-message', { channel: CHANNEL, ts: TEAMS_SANDBOX_THREAD });
      fake.inject({ kind: 'malformed' }, { route: 'get-message', times: 3 });
      const malformed = await call('get-message', { channel: CHANNEL, ts: TEAMS_SANDBOX_THREAD });
      fake.clearFaults();
      fake.inject({ kind: 'oversized', bytes: 30 * 1024 * 1024 }, { route: 'get-message', times: 3 });
      const oversized = await call('get-message', { channel: CHANNEL, ts: TEAMS_SANDBOX_THREAD });
      fake.clearFaults();
      fake.inject({ kind: 'wrong-shape', json: { id: 1 } }, { route: 'get-message', times: 3 });
      const wrong = await call('get-message', { channel: CHANNEL, ts: TEAMS_SANDBOX_THREAD });
      fake.clearFaults();
      fake.inject({ kind: 'slow', delayMs: 3000 }, { route: 'get-message', times: 3 });

      // Act
      const slow = await call('get-message', { channel: CHANNEL, ts: TEAMS_SANDBOX_THREAD });

      // Assess
      expect(recovered.statusCode).toBe(200);
      expect(
        fake
          .logFor('get-message')
          .slice(0, 3)
          .map((r) => r.status),
      ).toEqual([500, 429, 200]);
      expect([malformed.statusCode, oversized.statusCode, wrong.statusCode, slow.statusCode]).toEqual([
        502, 502, 502, 504,
      ]);
    }, 30_000);
  });

  describe('Operation: list-replies', () => {
    it('pages newest first through @odata.nextLink, and refuses a cursor it did not issue', async () => {
      // Act
      const first = await call('list-replies', { channel: CHANNEL, ts: TEAMS_SANDBOX_THREAD, limit: 2 });
      const cursor = parsed(first)['nextCursor'];
      const second = await call('list-replies', {
        channel: CHANNEL,
        ts: TEAMS_SANDBOX_THREAD,
        limit: 2,
        cursor,
      });
      const forged = await call('list-replies', { channel: CHANNEL, ts: TEAMS_SANDBOX_THREAD, cursor: 'Jg' });

      // Assess
      const ids = (page: HttpResult) => (parsed(page)['messages'] as { id: string }[]).map((m) => m.id);
      expect(ids(first)).toEqual(REPLIES.slice(0, 2));
      expect(ids(second)).toEqual(REPLIES.slice(2));
      expect(parsed(second)['nextCursor']).toBeUndefined();
      expect(fake.logFor('list-replies')[1]?.query).toMatchObject({
        $top: '2',
        $skiptoken: expect.any(String),
      });
      expect(forged.statusCode).toBe(400);
      expect(parsed(forged)['errors']).toEqual([expect.objectContaining({ pointer: '/cursor' })]);
    });
  });

  describe('Credentials', () => {
    it('renews the token after a Graph 401 with a rotated client secret re-read from Secrets Manager', async () => {
      // Prepare
      await call('post-message', { channel: CHANNEL, text: 'before' });
      const rotated = 'rotated-client-secret-marker';
      await secrets.set(
        CREDENTIALS_SECRET,
        JSON.stringify({ clientId: TEAMS_SANDBOX_CLIENT_ID, clientSecret: rotated }),
      );
      fake.state.apps.set(TEAMS_SANDBOX_CLIENT_ID, rotated);
      fake.state.tokens.clear();

      // Act
      const response = await call('post-message', { channel: CHANNEL, text: 'after' });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(fake.logFor('post-message').map((r) => r.status)).toEqual([201, 401, 201]);
      expect(fake.logFor('token').map((r) => r.status)).toEqual([200]);
      expect(`${response.body}${logs.text()}`).not.toContain(rotated);
    });

    it('answers 401 when the client secret is refused, and never shows it (marker)', async () => {
      // Prepare
      fake.state.apps.set(TEAMS_SANDBOX_CLIENT_ID, 'changed-at-microsoft');
      fake.state.tokens.clear();

      // Act
      const response = await call('post-message', { channel: CHANNEL, text: 'x' });
      const health = (await connector.handler(
        httpEvent({ method: 'GET', path: '/teams/health' }),
        lambdaContext(),
      )) as HttpResult;

      // Assess
      expect(response.statusCode).toBe(401);
      expect(parsed(response)['detail']).toContain('invalid_client');
      expect(health.statusCode).not.toBe(200);
      const seen = `${response.body}${health.body}${logs.text()}${JSON.stringify(fake.log)}`;
      expect(seen).not.toContain(TEAMS_SANDBOX_CLIENT_SECRET);
      expect(seen).not.toContain('changed-at-microsoft');
    });

    it('answers 500 for a credentials secret of the wrong shape, naming no value', async () => {
      // Prepare
      await secrets.set(CREDENTIALS_SECRET, '{"clientId":"x","secret":"marker-value-x"}');
      fake.state.tokens.clear();

      // Act
      const response = await call('get-message', { channel: CHANNEL, ts: TEAMS_SANDBOX_THREAD });

      // Assess
      expect(response.statusCode).toBe(500);
      expect(`${response.body}${logs.text()}`).not.toContain('marker-value-x');
    });
  });

  describe('Triggers', () => {
    it('runs a queued request, a Step Functions task, a direct invoke and health', async () => {
      // Act
      const queued = await connector.handler(
        sqsEvent([{ body: { operation: 'post-webhook-message', input: { text: 'Queued' } } }]),
        lambdaContext(),
      );
      const task = await connector.handler(
        { trigger: 'task', operation: 'get-message', input: { channel: CHANNEL, ts: TEAMS_SANDBOX_THREAD } },
        lambdaContext(),
      );
      const direct = (await connector.run('list-replies', {
        channel: CHANNEL,
        ts: TEAMS_SANDBOX_THREAD,
        limit: 1,
      })) as { messages: unknown[]; nextCursor?: string };
      const health = (await connector.handler(
        httpEvent({ method: 'GET', path: '/teams/health' }),
        lambdaContext(),
      )) as HttpResult;

      // Assess
      expect(queued).toEqual({ batchItemFailures: [] });
      expect(JSON.stringify(fake.state.webhookPosts)).toContain('Queued');
      expect(task).toMatchObject({ id: TEAMS_SANDBOX_THREAD });
      expect(direct.messages).toHaveLength(1);
      expect(direct.nextCursor).toBeDefined();
      expect(health.statusCode).toBe(200);
      expect(fake.logFor('list-channels')).toHaveLength(1);
    });

    it('reports an invalid queued request as a failed record without calling Teams', async () => {
      // Act
      const result = await connector.handler(
        sqsEvent([{ body: { operation: 'post-message', input: { channel: CHANNEL } } }]),
        lambdaContext(),
      );

      // Assess: no dead-letter queue is configured here, so the poison record is reported failed.
      expect((result as { batchItemFailures: unknown[] }).batchItemFailures).toHaveLength(1);
      expect(fake.log).toEqual([]);
    });
  });
});
