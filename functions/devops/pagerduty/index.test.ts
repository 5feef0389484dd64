/**
 * The PagerDuty connector against the PagerDuty contract fake (`scripts/local/sandboxes/pagerduty.ts`,
 * both APIs), the local stack's Secrets Manager and dynalite (the delivery ledger): each operation on each
 * trigger, signed webhooks v3 (several signatures during a rotation), and the failure paths every
 * connector must survive.
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
import { type FakeServer, json } from '../../../scripts/local/sandboxes/kit/index.ts';
import {
  PAGERDUTY_SANDBOX_FROM,
  PAGERDUTY_SANDBOX_ROUTING_KEY,
  PAGERDUTY_SANDBOX_TOKEN,
  type PagerDutyFakeState,
  signPagerDutyWebhook,
  startPagerDutyFake,
} from '../../../scripts/local/sandboxes/pagerduty.ts';
import { createTable, type DynalitePeer, startDynalite } from '../../../test/peers/dynalite.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';
import { verifyPagerDutySignature } from './webhook.ts';

const suffix = randomUUID().slice(0, 8);
const TOKEN_SECRET = `test/pagerduty/api-key-${suffix}`;
const ROUTING_SECRET = `test/pagerduty/routing-key-${suffix}`;
const WEBHOOK_SECRET = `test/pagerduty/webhook-${suffix}`;
const WEBHOOK_KEY = 'pagerduty-unit-webhook-key';
const STATE_TABLE = `pagerduty-state-${suffix}`;

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let fake: FakeServer<PagerDutyFakeState>;
let secrets: SecretsManagerPeer;
let dynamo: DynalitePeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({
    path: `/pagerduty/${operation}`,
    body,
    headers: { 'idempotency-key': randomUUID() },
  });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

beforeAll(async () => {
  [fake, secrets, dynamo] = await Promise.all([
    startPagerDutyFake(),
    startSecretsManager({
      [TOKEN_SECRET]: PAGERDUTY_SANDBOX_TOKEN,
      [ROUTING_SECRET]: PAGERDUTY_SANDBOX_ROUTING_KEY,
      [WEBHOOK_SECRET]: WEBHOOK_KEY,
    }),
    startDynalite(),
  ]);
  await createTable(dynamo.endpoint, STATE_TABLE);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    PAGERDUTY_API_URL: fake.url,
    PAGERDUTY_EVENTS_API_URL: fake.url,
    PAGERDUTY_FROM_EMAIL: PAGERDUTY_SANDBOX_FROM,
    PAGERDUTY_TOKEN_SECRET: TOKEN_SECRET,
    PAGERDUTY_ROUTING_KEY_SECRET: ROUTING_SECRET,
    PAGERDUTY_WEBHOOK_SECRET_SECRET: WEBHOOK_SECRET,
    PAGERDUTY_STATE_TABLE: STATE_TABLE,
    PAGERDUTY_TIMEOUT_MS: '1000',
    PAGERDUTY_MAX_RETRY_AFTER_MS: '5000',
  });
  configureSecrets({});
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await Promise.all([fake.close(), secrets.close(), dynamo.close()]);
});

beforeEach(async () => {
  fake.reset();
  await secrets.set(TOKEN_SECRET, PAGERDUTY_SANDBOX_TOKEN);
  configureSecrets({});
  resetCircuitBreakers();
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describe('Connector: pagerduty', () => {
  describe('Incidents (REST API v2)', () => {
    it('creates an incident as the From user with Token auth, then acknowledges and resolves it', async () => {
      // Act
      const created = await call('create-incident', {
        title: 'Checkout is down',
        serviceId: 'PWIXJZS',
        urgency: 'high',
        details: 'HTTP 500 on /pay',
        incidentKey: 'checkout-down-1',
      });
      const id = parsed(created)['id'];
      const acknowledged = await call('acknowledge-incident', { incidentId: id });
      const resolved = await call('resolve-incident', { incidentId: id });
      const again = await call('acknowledge-incident', { incidentId: id });

      // Assess
      expect(parsed(created)).toMatchObject({
        title: 'Checkout is down',
        status: 'triggered',
        serviceId: 'PWIXJZS',
        incidentKey: 'checkout-down-1',
        assigneeIds: ['PXPGF42'],
      });
      expect(parsed(acknowledged)['status']).toBe('acknowledged');
      expect(parsed(resolved)['status']).toBe('resolved');
      expect(parsed(again)['status']).toBe('resolved');
      const sent = fake.logFor('create-incident')[0];
      expect(sent?.headers['from']).toBe(PAGERDUTY_SANDBOX_FROM);
      expect(sent?.token).toBe(PAGERDUTY_SANDBOX_TOKEN);
      expect(sent?.headers['accept']).toBe('application/vnd.pagerduty+json;version=2');
    });

    it('answers 409 for a second open incident with the same incident key, 400 for an unknown service', async () => {
      const input = { title: 'Twice', serviceId: 'PWIXJZS', incidentKey: 'same-key' };
      const first = await call('create-incident', input);
      const second = await call('create-incident', input);
      const unknown = await call('create-incident', { title: 'x', serviceId: 'PNOPE00' });
      expect([first.statusCode, second.statusCode, unknown.statusCode]).toEqual([200, 409, 400]);
      expect(parsed(unknown)['detail']).toContain('Service not found');
      expect(fake.logFor('create-incident')).toHaveLength(3);
    });

    it('reads an incident, and answers 404 naming one that does not exist', async () => {
      const read = await call('get-incident', { incidentId: 'PT4KHLK' });
      const missing = await call('get-incident', { incidentId: 'PNOPE00' });
      expect(parsed(read)).toMatchObject({
        number: 1,
        status: 'triggered',
        url: `${fake.url}/incidents/PT4KHLK`,
      });
      expect(missing.statusCode).toBe(404);
      expect(parsed(missing)['detail']).toContain('PagerDuty incident PNOPE00 was not found');
    });

    it('lists with statuses[] and offset pagination until more is false', async () => {
      // Prepare
      for (const title of ['a', 'b', 'c']) await call('create-incident', { title, serviceId: 'PWIXJZS' });

      // Act
      const first = await call('list-incidents', { statuses: ['triggered', 'acknowledged'], limit: 2 });
      const second = await call('list-incidents', {
        statuses: ['triggered', 'acknowledged'],
        limit: 2,
        cursor: parsed(first)['nextCursor'],
      });

      // Assess
      const ids = (page: HttpResult) => (parsed(page)['incidents'] as { id: string }[]).map((i) => i.id);
      expect(ids(first)).toHaveLength(2);
      expect(ids(second)).toHaveLength(2);
      expect(parsed(second)['nextCursor']).toBeUndefined();
      expect(new Set([...ids(first), ...ids(second)]).size).toBe(4);
      expect(ids(second)).not.toContain('PQ1LXJ3');
      expect(fake.logFor('list-incidents')[1]?.query).toMatchObject({ offset: '2', limit: '2' });
    });

    it('answers 400 naming /until when until is not after since (an empty or reversed window), before any call', async () => {
      // Act
      const reversed = await call('list-incidents', {
        since: '2026-12-07T10:00:00Z',
        until: '2026-12-07T09:00:00Z',
      });
      const equal = await call('list-incidents', {
        since: '2026-12-07T10:00:00Z',
        until: '2026-12-07T10:00:00Z',
      });
      const sameInstant = await call('list-incidents', {
        since: '2026-12-07T12:00:00+02:00',
        until: '2026-12-07T10:00:00Z',
      });
      const offsetReversed = await call('list-incidents', {
        since: '2026-12-07T10:30:00+01:00',
        until: '2026-12-07T09:15:00Z',
      });
      const subMillisecond = await call('list-incidents', {
        since: '2026-12-07T10:00:00.0001Z',
        until: '2026-12-07T10:00:00.0002Z',
      });
      const ordered = await call('list-incidents', {
        since: '2026-12-07T11:00:00+02:00',
        until: '2026-12-07T10:00:00Z',
      });

      // Assess
      for (const response of [reversed, equal, sameInstant, offsetReversed]) {
        expect(response.statusCode).toBe(400);
        expect(parsed(response)['errors']).toEqual([
          { pointer: '/until', message: 'until must be after since' },
        ]);
      }
      expect(subMillisecond.statusCode).toBe(200);
      expect(ordered.statusCode).toBe(200);
      expect(fake.logFor('list-incidents').map((entry) => entry.query)).toEqual([
        expect.objectContaining({ since: '2026-12-07T10:00:00.0001Z', until: '2026-12-07T10:00:00.0002Z' }),
        expect.objectContaining({ since: '2026-12-07T11:00:00+02:00', until: '2026-12-07T10:00:00Z' }),
      ]);
    });

    it('looks up who is on call for an escalation policy, with their email', async () => {
      const response = await call('list-oncalls', { escalationPolicyIds: ['PT20YPA'] });
      expect(parsed(response)['oncalls']).toEqual([
        expect.objectContaining({
          userId: 'PXPGF42',
          userEmail: 'alice@example.com',
          escalationLevel: 1,
          scheduleId: 'PI7DH85',
        }),
        expect.objectContaining({ userId: 'PAM4FGS', escalationLevel: 2, scheduleId: null, start: null }),
      ]);
    });
  });

  describe('Finding an incident and reaching the person on call', () => {
    it('lists only the incidents with an incident key (incident_key), none for an unknown key', async () => {
      // Prepare
      await call('trigger-alert', {
        summary: 'Keyed',
        source: 'db-1',
        severity: 'error',
        dedupKey: 'db-1:k1',
      });
      await call('create-incident', { title: 'Other', serviceId: 'PWIXJZS', incidentKey: 'db-1:k2' });

      // Act
      const keyed = parsed(await call('list-incidents', { incidentKey: 'db-1:k1' }));
      const none = parsed(await call('list-incidents', { incidentKey: 'db-1:nothing' }));

      // Assess
      expect(keyed['incidents']).toEqual([
        expect.objectContaining({ title: 'Keyed', incidentKey: 'db-1:k1', status: 'triggered' }),
      ]);
      expect(none['incidents']).toEqual([]);
      expect(fake.logFor('list-incidents')[0]?.query).toMatchObject({ incident_key: 'db-1:k1' });
    });

    it("answers a user's contact methods with the SMS number in E.164, and 404 for an unknown user", async () => {
      // Act
      const alice = parsed(await call('list-contact-methods', { userId: 'PXPGF42' }));
      const bob = parsed(await call('list-contact-methods', { userId: 'PAM4FGS' }));
      const bot = parsed(await call('list-contact-methods', { userId: 'PBOT0CC' }));
      const missing = await call('list-contact-methods', { userId: 'PNOPE00' });

      // Assess
      expect(alice).toEqual({
        contactMethods: [
          { id: 'PSMSA01', type: 'sms', label: 'Mobile', address: '5558675310', phone: '+15558675310' },
          { id: 'PEMLA01', type: 'email', label: 'Work', address: 'alice@example.com', phone: null },
        ],
        smsNumber: '+15558675310',
      });
      // Bob's first method is a phone: the SMS number is his SMS one.
      expect(bob['smsNumber']).toBe('+15558675311');
      expect(bot).toEqual({ contactMethods: [], smsNumber: null });
      expect(missing.statusCode).toBe(404);
      expect(parsed(missing)['detail']).toContain('PagerDuty user PNOPE00 was not found');
    });

    it('answers other method types as other, and no phone for a number without a country code', async () => {
      // Prepare
      fake.inject(
        {
          kind: 'answer',
          answer: json(200, {
            contact_methods: [
              { id: 'P1', type: 'sms_contact_method', address: '5550100' },
              { id: 'P2', type: 'push_notification_contact_method', label: 'Phone', address: 'iPhone' },
              { id: 'P3', type: 'pager_contact_method', address: '12345' },
            ],
          }),
        },
        { route: 'list-contact-methods' },
      );

      // Act
      const answer = parsed(await call('list-contact-methods', { userId: 'PXPGF42' }));

      // Assess
      expect(answer).toEqual({
        contactMethods: [
          { id: 'P1', type: 'sms', label: null, address: '5550100', phone: null },
          { id: 'P2', type: 'push', label: 'Phone', address: 'iPhone', phone: null },
          { id: 'P3', type: 'other', label: null, address: '12345', phone: null },
        ],
        smsNumber: null,
      });
    });
  });

  describe('On-calls PagerDuty describes less fully', () => {
    it('names a user by summary, else by id, without an email, and hands on the next page', async () => {
      // Prepare: users not included (no name or email), the second not even summarised; more pages follow
      const policy = { id: 'PT20YPA', type: 'escalation_policy_reference' };
      fake.inject(
        {
          kind: 'answer',
          answer: json(200, {
            oncalls: [
              {
                user: { id: 'PXPGF42', summary: 'Alice Example' },
                escalation_policy: policy,
                escalation_level: 1,
              },
              { user: { id: 'PAM4FGS' }, escalation_policy: policy, escalation_level: 2 },
            ],
            limit: 2,
            offset: 0,
            more: true,
          }),
        },
        { route: 'list-oncalls' },
      );

      // Act
      const answer = parsed(await call('list-oncalls', { limit: 2 }));

      // Assess
      expect(answer['oncalls']).toMatchObject([
        { userId: 'PXPGF42', userName: 'Alice Example', userEmail: null, scheduleId: null, start: null },
        { userId: 'PAM4FGS', userName: 'PAM4FGS', userEmail: null, escalationLevel: 2 },
      ]);
      expect(answer['nextCursor']).toEqual(expect.any(String));
    });
  });

  describe('Alerts (Events API v2)', () => {
    it('triggers with a dedup key, folds a repeat into the same incident, and resolves it', async () => {
      // Act
      const alert = {
        summary: 'Disk full on db-1',
        source: 'db-1',
        severity: 'critical',
        dedupKey: 'disk-db-1',
      };
      const first = await call('trigger-alert', { ...alert, customDetails: { used: '97%' } });
      const repeat = await call('trigger-alert', alert);
      const acknowledged = await call('acknowledge-alert', { dedupKey: 'disk-db-1' });
      const resolved = await call('resolve-alert', { dedupKey: 'disk-db-1' });

      // Assess
      expect(parsed(first)).toEqual({ dedupKey: 'disk-db-1', status: 'success', message: 'Event processed' });
      expect([repeat, acknowledged, resolved].map((r) => r.statusCode)).toEqual([200, 200, 200]);
      const incidents = fake.state.incidents.filter((incident) => incident.incidentKey === 'disk-db-1');
      expect(incidents).toHaveLength(1);
      expect(incidents[0]?.status).toBe('resolved');
      expect(fake.state.events.map((event) => event.routingKey)).toEqual(
        Array(4).fill(PAGERDUTY_SANDBOX_ROUTING_KEY),
      );
      expect(fake.logFor('enqueue')[0]?.body).not.toHaveProperty('routing_key');
      expect(logs.text()).not.toContain(PAGERDUTY_SANDBOX_ROUTING_KEY);
    });

    it('counts the summary (1024) and dedup key (255) limits in characters: emoji at the limit are sent whole', async () => {
      // Prepare
      const summary = '🔥'.repeat(1_024);
      const dedupKey = `日本${'😀'.repeat(253)}`;
      // Act
      const full = await call('trigger-alert', { summary, source: 'db-1', severity: 'info', dedupKey });
      const over = await call('trigger-alert', { summary: `${summary}x`, source: 'db-1', severity: 'info' });
      const longKey = await call('resolve-alert', { dedupKey: `${dedupKey}x` });
      // Assess
      expect(full.statusCode).toBe(200);
      const sent = fake.logFor('enqueue').at(-1)?.body as {
        dedup_key?: string;
        payload?: { summary?: string };
      };
      expect(sent.payload?.summary).toBe(summary);
      expect(sent.dedup_key).toBe(dedupKey);
      expect([over, longKey].map((r) => r.statusCode)).toEqual([400, 400]);
      expect(JSON.stringify(parsed(over)['errors'])).toContain('/summary');
      expect(JSON.stringify(parsed(longKey)['errors'])).toContain('/dedupKey');
      expect(fake.logFor('enqueue')).toHaveLength(1);
    });

    it('acknowledges and resolves by a dedup key in any script, and refuses half an emoji naming /dedupKey', async () => {
      // Prepare: the key also makes the retried POST safe; it must not break the request's headers.
      const dedupKey = 'Zoë-日本-🔥';
      // Act
      const triggered = await call('trigger-alert', {
        summary: 'Zoë: 日本 🔥',
        source: 'db',
        severity: 'info',
        dedupKey,
      });
      const resolved = await call('resolve-alert', { dedupKey });
      const half = await call('resolve-alert', { dedupKey: `key-${'🔥'.slice(0, 1)}` });
      // Assess
      expect([triggered.statusCode, resolved.statusCode]).toEqual([200, 200]);
      expect(parsed(triggered)['dedupKey']).toBe(dedupKey);
      expect(fake.state.incidents.find((incident) => incident.incidentKey === dedupKey)?.status).toBe(
        'resolved',
      );
      expect(half.statusCode).toBe(400);
      expect(parsed(half)['errors']).toEqual([expect.objectContaining({ pointer: '/dedupKey' })]);
      expect(fake.logFor('enqueue')).toHaveLength(2);
    });

    it('answers a dedup key it made when none is given, and retries a 5xx with the same key', async () => {
      fake.inject({ kind: 'server-error', status: 502 }, { route: 'enqueue' });
      const response = await call('trigger-alert', { summary: 'x', source: 'y', severity: 'info' });
      const keys = fake.logFor('enqueue').map((entry) => (entry.body as { dedup_key?: string }).dedup_key);
      expect(response.statusCode).toBe(200);
      expect(keys).toHaveLength(2);
      expect(keys[0]).toBe(keys[1]);
      expect(parsed(response)['dedupKey']).toBe(keys[0]);
    });

    it('answers 400 with what PagerDuty refused for a bad routing key', async () => {
      await secrets.set(ROUTING_SECRET, 'not-a-routing-key');
      configureSecrets({});
      const response = await call('acknowledge-alert', { dedupKey: 'k' });
      await secrets.set(ROUTING_SECRET, PAGERDUTY_SANDBOX_ROUTING_KEY);
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['detail']).toContain("'routing_key' is invalid");
      expect(response.body).not.toContain('not-a-routing-key');
    });
  });

  describe('Failures', () => {
    it('waits as Retry-After says on a 429, retries a 5xx, then answers', async () => {
      fake.inject({ kind: 'throttled', retryAfterSeconds: 0 }, { route: 'get-incident' });
      fake.inject({ kind: 'server-error' }, { route: 'get-incident' });
      const response = await call('get-incident', { incidentId: 'PT4KHLK' });
      expect(response.statusCode).toBe(200);
      expect(fake.logFor('get-incident').map((entry) => entry.status)).toEqual([429, 500, 200]);
    });

    it('answers 429 with the wait when it exceeds what it may wait, 502 for malformed, 504 when hung', async () => {
      fake.inject({ kind: 'throttled', retryAfterSeconds: 120 }, { route: 'list-oncalls' });
      const throttled = await call('list-oncalls', {});
      fake.inject({ kind: 'malformed' }, { route: 'list-oncalls', times: Number.POSITIVE_INFINITY });
      const malformed = await call('list-oncalls', {});
      fake.clearFaults();
      fake.inject({ kind: 'hang' }, { route: 'list-oncalls', times: Number.POSITIVE_INFINITY });
      const hung = await call('list-oncalls', {});
      fake.clearFaults();
      fake.inject({ kind: 'oversized', bytes: 12 * 1024 * 1024 }, { route: 'list-oncalls' });
      const oversized = await call('list-oncalls', {});
      expect([throttled.statusCode, malformed.statusCode, hung.statusCode, oversized.statusCode]).toEqual([
        429, 502, 504, 502,
      ]);
    });

    it('reads the API key again after a 401 (rotation), and never shows a refused one', async () => {
      // Prepare
      await connector.run('get-incident', { incidentId: 'PT4KHLK' });
      fake.state.tokens.clear();
      fake.state.tokens.add('pagerduty-rotated-key');
      await secrets.set(TOKEN_SECRET, 'pagerduty-rotated-key');

      // Act
      const rotated = await call('get-incident', { incidentId: 'PT4KHLK' });
      fake.state.tokens.clear();
      const refused = await call('get-incident', { incidentId: 'PT4KHLK' });

      // Assess
      expect(rotated.statusCode).toBe(200);
      expect(
        fake
          .logFor('get-incident')
          .map((entry) => entry.status)
          .slice(0, 3),
      ).toEqual([200, 401, 200]);
      expect(refused.statusCode).toBe(401);
      expect(`${refused.body}${logs.text()}`).not.toContain('pagerduty-rotated-key');
    });
  });

  describe('Triggers', () => {
    it('runs a queued request and a Step Functions task, and answers health', async () => {
      const queued = await connector.handler(
        sqsEvent([{ body: { operation: 'acknowledge-incident', input: { incidentId: 'PT4KHLK' } } }]),
        lambdaContext(),
      );
      const task = await connector.handler(
        { trigger: 'task', operation: 'get-incident', input: { incidentId: 'PT4KHLK' } },
        lambdaContext(),
      );
      const health = await connector.handler(
        httpEvent({ method: 'GET', path: '/pagerduty/health' }),
        lambdaContext(),
      );
      expect(queued).toEqual({ batchItemFailures: [] });
      expect(task).toMatchObject({ status: 'acknowledged' });
      expect((health as HttpResult).statusCode).toBe(200);
    });
  });

  describe('Route: POST /pagerduty/webhook', () => {
    const deliver = async (body: string, signature?: string) =>
      (await connector.handler(
        httpEvent({
          path: '/pagerduty/webhook',
          body,
          headers: signature === undefined ? {} : { 'x-pagerduty-signature': signature },
          authorizer: 'none',
        }),
        lambdaContext(),
      )) as HttpResult;
    const payload = (id: string, occurredAt = new Date().toISOString()) =>
      JSON.stringify({
        event: {
          id,
          event_type: 'incident.triggered',
          resource_type: 'incident',
          occurred_at: occurredAt,
          data: { id: 'PT4KHLK', type: 'incident' },
        },
      });

    it('accepts an event signed among several signatures (rotation) once, then answers a duplicate', async () => {
      const id = `01${randomUUID().replaceAll('-', '').slice(0, 20).toUpperCase()}`;
      const body = payload(id);
      const signature = signPagerDutyWebhook(['an-old-secret', WEBHOOK_KEY], body);
      const first = await deliver(body, signature);
      const again = await deliver(body, signature);
      expect(first.statusCode).toBe(202);
      expect(parsed(first)).toMatchObject({ accepted: true, event: 'incident-triggered', deliveryId: id });
      expect(parsed(again)).toEqual({ duplicate: true, deliveryId: id });
    });

    it('answers 401 for tampered, unsigned, wrongly keyed and stale events', async () => {
      const body = payload('01TAMPERED');
      const stale = payload('01STALE', new Date(Date.now() - 7_200_000).toISOString());
      const answers = await Promise.all([
        deliver(body.replace('PT4KHLK', 'PQ1LXJ3'), signPagerDutyWebhook([WEBHOOK_KEY], body)),
        deliver(body),
        deliver(body, signPagerDutyWebhook(['someone-else'], body)),
        deliver(stale, signPagerDutyWebhook([WEBHOOK_KEY], stale)),
        deliver(body, 'v0=abc, sha256=def'),
      ]);
      expect(answers.map((answer) => answer.statusCode)).toEqual([401, 401, 401, 401, 401]);
      expect(logs.text()).not.toContain(WEBHOOK_KEY);
    });

    it('accepts an event without data (no source)', async () => {
      const id = `01${randomUUID().replaceAll('-', '').slice(0, 20).toUpperCase()}`;
      const body = JSON.stringify({
        event: { id, event_type: 'pagey.ping', occurred_at: new Date().toISOString(), data: null },
      });
      const response = await deliver(body, signPagerDutyWebhook([WEBHOOK_KEY], body));
      expect(parsed(response)).toMatchObject({ accepted: true, event: 'pagey-ping', deliveryId: id });
      expect(logs.records().filter((record) => record['source'] !== undefined)).toEqual([]);
    });

    it('answers 400 for a signed payload without an event id', async () => {
      const body = JSON.stringify({ event: { occurred_at: new Date().toISOString() } });
      const response = await deliver(body, signPagerDutyWebhook([WEBHOOK_KEY], body));
      expect(response.statusCode).toBe(400);
    });
  });
});

describe('Function: verifyPagerDutySignature', () => {
  it('refuses an empty secret as a configuration error, and accepts upper-case hex', () => {
    const body = Buffer.from('{}');
    expect(() => verifyPagerDutySignature(body, 'v1=00', '')).toThrow('secret is empty');
    const signature = signPagerDutyWebhook(['k'], body).toUpperCase().replace('V1=', 'v1=');
    expect(() => verifyPagerDutySignature(body, signature, 'k')).not.toThrow();
  });
});
