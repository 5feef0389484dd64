/**
 * The Twilio connector against the Twilio contract fake (`scripts/local/sandboxes/twilio.ts`), the local
 * stack's Secrets Manager and dynalite (the delivery ledger): each operation on each trigger, Twilio's
 * error codes, signed status callbacks and incoming messages, and the failure paths every connector must
 * survive.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  configureSecrets,
  createLogger,
  defineSecret,
  eventReceivingFromConfig,
  resetCircuitBreakers,
} from '@circle-core/core';
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
  signTwilioRequest,
  startTwilioFake,
  TWILIO_GEO_BLOCKED_NUMBER,
  TWILIO_INVALID_NUMBER,
  TWILIO_NOT_MOBILE_NUMBER,
  TWILIO_SANDBOX_ACCOUNT_SID,
  TWILIO_SANDBOX_AUTH_TOKEN,
  TWILIO_SANDBOX_FROM,
  TWILIO_SANDBOX_MESSAGES,
  TWILIO_SANDBOX_SECRET,
  TWILIO_SANDBOX_SERVICE_SID,
  TWILIO_UNSUBSCRIBED_NUMBER,
  type TwilioFakeState,
} from '../../../scripts/local/sandboxes/twilio.ts';
import { createTable, type DynalitePeer, startDynalite } from '../../../test/peers/dynalite.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';
import { receiveTwilioWebhook, twilioSignedText, verifyTwilioSignature } from './webhook.ts';

const suffix = randomUUID().slice(0, 8);
const CREDENTIALS_SECRET = `test/twilio/credentials-${suffix}`;
const STATE_TABLE = `twilio-state-${suffix}`;
const ROTATED_TOKEN = 'twilio-rotated-auth-token';
const WEBHOOK_URL = 'https://api.example.test/twilio/webhook';
const TO = '+15558675310';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let fake: FakeServer<TwilioFakeState>;
let secrets: SecretsManagerPeer;
let dynamo: DynalitePeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({
    path: `/twilio/${operation}`,
    body,
    headers: { 'idempotency-key': randomUUID() },
  });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

beforeAll(async () => {
  [fake, secrets, dynamo] = await Promise.all([
    startTwilioFake(),
    startSecretsManager({ [CREDENTIALS_SECRET]: TWILIO_SANDBOX_SECRET }),
    startDynalite(),
  ]);
  await createTable(dynamo.endpoint, STATE_TABLE);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    TWILIO_API_URL: fake.url,
    TWILIO_CREDENTIALS_SECRET: CREDENTIALS_SECRET,
    TWILIO_FROM_NUMBER: TWILIO_SANDBOX_FROM,
    TWILIO_STATE_TABLE: STATE_TABLE,
    TWILIO_TIMEOUT_MS: '1000',
    TWILIO_MAX_RETRY_AFTER_MS: '5000',
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
  fake.state.sendCallbacks = false;
  await secrets.set(CREDENTIALS_SECRET, TWILIO_SANDBOX_SECRET);
  configureSecrets({});
  resetCircuitBreakers();
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describe('Connector: twilio', () => {
  describe('Operation: send-message', () => {
    it('posts a form-encoded message with basic auth and answers the Message resource', async () => {
      // Act
      const response = await call('send-message', {
        to: TO,
        body: 'Disk full on db-1',
        statusCallback: WEBHOOK_URL,
      });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(parsed(response)).toMatchObject({
        sid: expect.stringMatching(/^SM[0-9a-f]{32}$/),
        to: TO,
        from: TWILIO_SANDBOX_FROM,
        body: 'Disk full on db-1',
        status: 'queued',
        direction: 'outbound-api',
        segments: 1,
      });
      const [sent] = fake.logFor('send-message');
      expect(sent?.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(sent?.path).toBe(`/2010-04-01/Accounts/${TWILIO_SANDBOX_ACCOUNT_SID}/Messages.json`);
      expect(sent?.token).toBe(`${TWILIO_SANDBOX_ACCOUNT_SID}:${TWILIO_SANDBOX_AUTH_TOKEN}`);
      expect(fake.state.messages.at(-1)).toMatchObject({ to: TO, statusCallback: WEBHOOK_URL });
    });

    it('sends through a Messaging Service instead of the default number', async () => {
      // Act
      const response = await call('send-message', {
        to: TO,
        body: 'via service',
        messagingServiceSid: TWILIO_SANDBOX_SERVICE_SID,
      });

      // Assess
      expect(parsed(response)).toMatchObject({
        from: null,
        messagingServiceSid: TWILIO_SANDBOX_SERVICE_SID,
        status: 'accepted',
      });
    });

    it('refuses numbers that are not E.164 with a 400 naming the field, before any call', async () => {
      // Act
      const response = await call('send-message', { to: '555-867-5310', from: '15005550006', body: 'x' });

      // Assess
      expect(response.statusCode).toBe(400);
      const pointers = (parsed(response)['errors'] as { pointer: string }[]).map((issue) => issue.pointer);
      expect(pointers).toEqual(['/to', '/from']);
      expect(fake.log).toEqual([]);
    });

    it("maps Twilio's error codes: 21211 no such number, 21610 unsubscribed, 21606 foreign From", async () => {
      // Act
      const invalid = await call('send-message', { to: TWILIO_INVALID_NUMBER, body: 'x' });
      const unsubscribed = await call('send-message', { to: TWILIO_UNSUBSCRIBED_NUMBER, body: 'x' });
      const foreign = await call('send-message', { to: TO, from: '+15005550009', body: 'x' });

      // Assess
      expect(invalid.statusCode).toBe(404);
      expect(parsed(invalid)['detail']).toContain("the 'To' number is not a valid phone number (21211)");
      expect(unsubscribed.statusCode).toBe(400);
      expect(parsed(unsubscribed)['detail']).toContain('unsubscribed (replied STOP)');
      expect(foreign.statusCode).toBe(400);
      expect(parsed(foreign)['detail']).toContain('(21606)');
      expect(fake.state.messages).toHaveLength(3);
    });

    it('maps 21614 (To is no mobile number) to a 400 on /to and 21408 (Geo Permissions) to a 403', async () => {
      // Act: Twilio's test numbers for both (https://www.twilio.com/docs/iam/test-credentials).
      const landline = await call('send-message', { to: TWILIO_NOT_MOBILE_NUMBER, body: 'x' });
      const geo = await call('send-message', { to: TWILIO_GEO_BLOCKED_NUMBER, body: 'x' });

      // Assess
      expect(landline.statusCode).toBe(400);
      expect(parsed(landline)['detail']).toContain('(21614)');
      expect(parsed(landline)['errors']).toEqual([
        { pointer: '/to', message: expect.stringContaining('not a mobile number') },
      ]);
      expect(geo.statusCode).toBe(403);
      expect(parsed(geo)['detail']).toContain('Geo Permissions');
      expect(parsed(geo)['detail']).toContain('(21408)');
      expect(fake.state.messages).toHaveLength(3);
    });

    it('is sent once: a 5xx on a send is not retried (Twilio has no idempotency key)', async () => {
      // Prepare
      fake.inject({ kind: 'server-error' }, { route: 'send-message' });

      // Act
      const response = await call('send-message', { to: TO, body: 'once' });

      // Assess
      expect(response.statusCode).toBe(503);
      expect(fake.logFor('send-message')).toHaveLength(1);
    });
  });

  describe('Operation: get-message', () => {
    it('reads a message, and answers 404 (20404) naming an unknown one', async () => {
      // Act
      const found = await call('get-message', { sid: TWILIO_SANDBOX_MESSAGES[0] });
      const missing = await call('get-message', { sid: `SM${'f'.repeat(32)}` });
      const malformedSid = await call('get-message', { sid: '../Calls' });

      // Assess
      expect(parsed(found)).toMatchObject({ sid: TWILIO_SANDBOX_MESSAGES[0], status: 'delivered' });
      expect(parsed(found)['createdAt']).toMatch(/^\w{3}, \d{2} \w{3} 2026 09:00:00 \+0000$/);
      expect(missing.statusCode).toBe(404);
      expect(parsed(missing)['detail']).toContain(`Twilio message SM${'f'.repeat(32)} was not found`);
      expect(malformedSid.statusCode).toBe(400);
    });
  });

  describe('Operation: get-message (fields Twilio leaves out)', () => {
    it('answers null segments, price and price unit when Twilio has none yet or an unreadable count', async () => {
      // Prepare: a queued message has no num_segments or price yet; price_unit may be missing entirely
      const base = {
        sid: TWILIO_SANDBOX_MESSAGES[0],
        account_sid: TWILIO_SANDBOX_ACCOUNT_SID,
        to: TO,
        from: TWILIO_SANDBOX_FROM,
        body: 'x',
        status: 'queued',
        direction: 'outbound-api',
        date_created: null,
      };
      fake.inject({ kind: 'answer', answer: json(200, base) }, { route: 'get-message' });
      fake.inject(
        { kind: 'answer', answer: json(200, { ...base, num_segments: 'n/a' }) },
        { route: 'get-message' },
      );

      // Act
      const queued = parsed(await call('get-message', { sid: TWILIO_SANDBOX_MESSAGES[0] }));
      const odd = parsed(await call('get-message', { sid: TWILIO_SANDBOX_MESSAGES[0] }));

      // Assess
      expect(queued).toMatchObject({
        segments: null,
        price: null,
        priceUnit: null,
        sentAt: null,
        errorCode: null,
      });
      expect(odd['segments']).toBeNull();
    });
  });

  describe('Operation: list-messages', () => {
    it('pages newest first through next_page_uri, keeping the filter', async () => {
      // Act
      const first = await call('list-messages', { to: TO, pageSize: 2 });
      const cursor = parsed(first)['nextCursor'];
      const second = await call('list-messages', { to: TO, pageSize: 2, cursor });

      // Assess
      const sids = (page: HttpResult) => (parsed(page)['messages'] as { sid: string }[]).map((m) => m.sid);
      expect(sids(first)).toEqual([TWILIO_SANDBOX_MESSAGES[2], TWILIO_SANDBOX_MESSAGES[1]]);
      expect(sids(second)).toEqual([TWILIO_SANDBOX_MESSAGES[0]]);
      expect(parsed(second)['nextCursor']).toBeUndefined();
      const query = fake.logFor('list-messages')[1]?.query;
      expect(query).toMatchObject({
        To: TO,
        PageSize: '2',
        Page: '1',
        PageToken: `PA${TWILIO_SANDBOX_MESSAGES[1]}`,
      });
    });

    it('refuses a cursor it did not issue with a 400 on /cursor', async () => {
      // Act
      const response = await call('list-messages', { cursor: 'not-ours' });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['errors']).toEqual([expect.objectContaining({ pointer: '/cursor' })]);
    });

    it('answers a cursor reused with other filters (Invalid PageToken) with a 400 on /cursor', async () => {
      // Prepare
      const first = await call('list-messages', { to: TO, pageSize: 1 });
      const cursor = parsed(first)['nextCursor'];

      // Act
      const response = await call('list-messages', { from: TO, pageSize: 1, cursor });

      // Assess
      expect(cursor).toEqual(expect.any(String));
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['errors']).toEqual([
        { pointer: '/cursor', message: expect.stringContaining('same filters') },
      ]);
      expect(parsed(response)['detail']).toContain('Invalid PageToken');
    });

    it("answers Twilio's 21481 Invalid PageToken with its code, as a 400 on /cursor", async () => {
      // Prepare: Twilio's code for an unknown PageToken is 21481 (twilio.com/docs/api/errors/21481)
      const first = await call('list-messages', { to: TO, pageSize: 1 });
      const cursor = parsed(first)['nextCursor'];

      // Act
      const response = await call('list-messages', { from: TO, pageSize: 1, cursor });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['detail']).toContain('(21481)');
      expect(parsed(response)['errors']).toEqual([expect.objectContaining({ pointer: '/cursor' })]);
    });

    it('waits as Retry-After says on 20429, then answers', async () => {
      // Prepare
      fake.inject({ kind: 'throttled', retryAfterSeconds: 0 }, { route: 'list-messages' });

      // Act
      const response = await call('list-messages', {});

      // Assess
      expect(response.statusCode).toBe(200);
      expect(fake.logFor('list-messages').map((entry) => entry.status)).toEqual([429, 200]);
    });

    it('answers 429 with the wait when Retry-After is longer than allowed', async () => {
      // Prepare
      fake.inject({ kind: 'throttled', retryAfterSeconds: 120 }, { route: 'list-messages' });

      // Act
      const response = await call('list-messages', {});

      // Assess
      expect(response.statusCode).toBe(429);
      expect(parsed(response)['code']).toBe('rate_limited');
      expect(response.headers['retry-after']).toBe('120');
    });

    it('retries a 5xx, and answers 503 when Twilio keeps failing', async () => {
      // Prepare
      fake.inject({ kind: 'server-error' }, { route: 'list-messages' });

      // Act
      const recovered = await call('list-messages', {});
      fake.inject(
        { kind: 'server-error', status: 503 },
        { route: 'list-messages', times: Number.POSITIVE_INFINITY },
      );
      const failed = await call('list-messages', {});

      // Assess
      expect(recovered.statusCode).toBe(200);
      expect(failed.statusCode).toBe(503);
      expect(parsed(failed)['code']).toBe('provider_unavailable');
    });

    it('answers 502 for a malformed or oversized answer and 504 when Twilio hangs', async () => {
      // Prepare
      fake.inject({ kind: 'malformed' }, { route: 'list-messages', times: 3 });
      const malformed = await call('list-messages', {});
      fake.clearFaults();
      fake.inject({ kind: 'oversized', bytes: 30 * 1024 * 1024 }, { route: 'list-messages', times: 3 });
      const oversized = await call('list-messages', {});
      fake.clearFaults();
      fake.inject({ kind: 'slow', delayMs: 3000 }, { route: 'get-message', times: 3 });

      // Act
      const slow = await call('get-message', { sid: TWILIO_SANDBOX_MESSAGES[0] });

      // Assess
      expect(malformed.statusCode).toBe(502);
      expect(parsed(malformed)['code']).toBe('unexpected_response');
      expect(oversized.statusCode).toBe(502);
      expect(slow.statusCode).toBe(504);
    }, 20_000);
  });

  describe('Operation: post-message (notifier)', () => {
    it('texts the channel number from the default sender and answers the SID as ts', async () => {
      // Act
      const response = await call('post-message', { channel: TO, text: 'Deploy finished' });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(parsed(response)).toEqual({ channel: TO, ts: fake.state.messages.at(-1)?.sid });
    });

    it('answers 501 for blocks or a thread, which SMS does not have', async () => {
      // Act
      const blocks = await call('post-message', { channel: TO, text: 'x', blocks: [{ type: 'divider' }] });
      const thread = await call('post-message', {
        channel: TO,
        text: 'x',
        threadTs: TWILIO_SANDBOX_MESSAGES[0],
      });

      // Assess
      expect([blocks.statusCode, thread.statusCode]).toEqual([501, 501]);
      expect(fake.logFor('send-message')).toEqual([]);
    });
  });

  describe('Credentials', () => {
    it('reads the secret again after a 401 (rotation) and succeeds with the new auth token', async () => {
      // Prepare
      await connector.run('list-messages', {});
      fake.state.credentials.clear();
      fake.state.credentials.add(`${TWILIO_SANDBOX_ACCOUNT_SID}:${ROTATED_TOKEN}`);
      await secrets.set(
        CREDENTIALS_SECRET,
        JSON.stringify({ accountSid: TWILIO_SANDBOX_ACCOUNT_SID, authToken: ROTATED_TOKEN }),
      );

      // Act
      const response = await call('list-messages', {});

      // Assess
      expect(response.statusCode).toBe(200);
      expect(fake.logFor('list-messages').map((entry) => entry.status)).toEqual([200, 401, 200]);
    });

    it('sends once for 21610 (recipient unsubscribed): no secret re-read and resend, a 400 on /to', async () => {
      // Act
      const response = await call('send-message', { to: TWILIO_UNSUBSCRIBED_NUMBER, body: 'x' });

      // Assess: an opt-out is no credential failure, so nothing is worth a second try.
      expect(fake.logFor('send-message')).toHaveLength(1);
      expect(response.statusCode).toBe(400);
      expect(parsed(response)).toMatchObject({ code: 'validation_error' });
      expect(parsed(response)['detail']).toContain('(21610)');
      expect(parsed(response)['errors']).toEqual([
        { pointer: '/to', message: expect.stringContaining('unsubscribed') },
      ]);
    });

    it('sends once for 21610 answered with HTTP 403 too: the code decides, not the status', async () => {
      // Prepare
      fake.inject(
        {
          kind: 'answer',
          answer: json(403, {
            code: 21610,
            message: 'Attempt to send to unsubscribed recipient',
            more_info: 'https://www.twilio.com/docs/errors/21610',
            status: 403,
          }),
        },
        { route: 'send-message', times: Number.POSITIVE_INFINITY },
      );

      // Act
      const response = await call('send-message', { to: TO, body: 'x' });

      // Assess
      expect(fake.logFor('send-message')).toHaveLength(1);
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['detail']).toContain('(21610)');
    });

    it('sends once for 21408 (Geo Permissions), a 403 that unchanged credentials cannot get past', async () => {
      // Act: the core re-reads the secret after a 403; only other credentials are worth a second send.
      const response = await call('send-message', { to: TWILIO_GEO_BLOCKED_NUMBER, body: 'x' });

      // Assess
      expect(fake.logFor('send-message')).toHaveLength(1);
      expect(response.statusCode).toBe(403);
      expect(parsed(response)['detail']).toContain('(21408)');
    });

    it('sends 21408 (Geo Permissions) once even when the secret was rotated meanwhile: not a credential failure', async () => {
      // Prepare: the cached auth token still works (Twilio keeps it until the secondary is promoted), and
      // the secret already holds the new one.
      await connector.run('list-messages', {});
      fake.state.credentials.add(`${TWILIO_SANDBOX_ACCOUNT_SID}:${ROTATED_TOKEN}`);
      await secrets.set(
        CREDENTIALS_SECRET,
        JSON.stringify({ accountSid: TWILIO_SANDBOX_ACCOUNT_SID, authToken: ROTATED_TOKEN }),
      );

      // Act
      const response = await call('send-message', { to: TWILIO_GEO_BLOCKED_NUMBER, body: 'x' });

      // Assess: no re-read of the secret, so no second send with the other token.
      expect(response.statusCode).toBe(403);
      expect(parsed(response)['detail']).toContain('(21408)');
      expect(fake.logFor('send-message')).toHaveLength(1);
    });

    it('uses an API key pair when the secret has one', async () => {
      // Prepare
      const keySid = `SK${'a'.repeat(32)}`;
      fake.state.credentials.add(`${keySid}:key-secret`);
      await secrets.set(
        CREDENTIALS_SECRET,
        JSON.stringify({
          accountSid: TWILIO_SANDBOX_ACCOUNT_SID,
          apiKeySid: keySid,
          apiKeySecret: 'key-secret',
        }),
      );

      // Act
      const response = await call('get-message', { sid: TWILIO_SANDBOX_MESSAGES[1] });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(fake.logFor('get-message')[0]?.token).toBe(`${keySid}:key-secret`);
    });

    it('answers 401 (20003) when refused, and never shows the auth token (marker)', async () => {
      // Prepare
      fake.state.credentials.clear();

      // Act
      const response = await call('send-message', { to: TO, body: 'x' });
      const health = (await connector.handler(
        httpEvent({ method: 'GET', path: '/twilio/health' }),
        lambdaContext(),
      )) as HttpResult;

      // Assess
      expect(response.statusCode).toBe(401);
      expect(parsed(response)['detail']).toContain('(20003)');
      expect(health.statusCode).not.toBe(200);
      expect(`${response.body}${health.body}${logs.text()}`).not.toContain(TWILIO_SANDBOX_AUTH_TOKEN);
    });

    it('answers 500 for a secret that is not the credentials JSON, naming no value', async () => {
      // Prepare
      await secrets.set(CREDENTIALS_SECRET, '{"accountSid":"nope","authToken":"marker-value-x"}');

      // Act
      const response = await call('list-messages', {});

      // Assess
      expect(response.statusCode).toBe(500);
      expect(`${response.body}${logs.text()}`).not.toContain('marker-value-x');
    });
    it('answers 503, not a configuration error, while Secrets Manager cannot be reached', async () => {
      // Prepare: nothing listens on port 9.
      process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] = 'http://127.0.0.1:9';
      configureSecrets({});

      try {
        // Act
        const response = await call('list-messages', {});

        // Assess
        expect(response.statusCode).toBe(503);
        expect(JSON.parse(response.body)).toMatchObject({ code: 'provider_unavailable' });
      } finally {
        process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] = secrets.endpoint;
        configureSecrets({});
      }
    });
  });

  describe('Triggers', () => {
    it('runs a queued request, a Step Functions task, a direct invoke and health', async () => {
      // Act
      const queued = await connector.handler(
        sqsEvent([{ body: { operation: 'send-message', input: { to: TO, body: 'Queued' } } }]),
        lambdaContext(),
      );
      const task = await connector.handler(
        { trigger: 'task', operation: 'get-message', input: { sid: TWILIO_SANDBOX_MESSAGES[0] } },
        lambdaContext(),
      );
      const direct = (await connector.run('list-messages', { pageSize: 1 })) as {
        messages: unknown[];
        nextCursor?: string;
      };
      const health = (await connector.handler(
        httpEvent({ method: 'GET', path: '/twilio/health' }),
        lambdaContext(),
      )) as HttpResult;

      // Assess
      expect(queued).toEqual({ batchItemFailures: [] });
      expect(fake.state.messages.map((m) => m.body)).toContain('Queued');
      expect(task).toMatchObject({ sid: TWILIO_SANDBOX_MESSAGES[0] });
      expect(direct.messages).toHaveLength(1);
      expect(direct.nextCursor).toBeDefined();
      expect(health.statusCode).toBe(200);
    });

    it('reports an invalid queued request as a failed record without calling Twilio', async () => {
      // Act
      const result = await connector.handler(
        sqsEvent([{ body: { operation: 'send-message', input: { to: 'nobody', body: 'x' } } }]),
        lambdaContext(),
      );

      // Assess
      expect(fake.log).toEqual([]);
      expect(result).toBeDefined();
    });
  });

  describe('Route: POST /twilio/webhook', () => {
    const deliver = async (
      params: Record<string, string>,
      signature?: string,
      query?: Record<string, string>,
    ) =>
      (await connector.handler(
        httpEvent({
          path: '/twilio/webhook',
          body: new URLSearchParams(params).toString(),
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            ...(signature === undefined ? {} : { 'x-twilio-signature': signature }),
          },
          ...(query === undefined ? {} : { query }),
          authorizer: 'none',
        }),
        lambdaContext(),
      )) as HttpResult;
    const callback = (sid: string, status: string) => ({
      AccountSid: TWILIO_SANDBOX_ACCOUNT_SID,
      From: TWILIO_SANDBOX_FROM,
      MessageSid: sid,
      MessageStatus: status,
      SmsSid: sid,
      SmsStatus: status,
      To: TO,
    });
    const newSid = () => `SM${randomUUID().replaceAll('-', '')}`;

    it('accepts a signed status callback once per MessageSid + MessageStatus', async () => {
      // Prepare
      const sid = newSid();
      const sent = callback(sid, 'sent');
      const delivered = callback(sid, 'delivered');

      // Act
      const first = await deliver(sent, signTwilioRequest(WEBHOOK_URL, sent, TWILIO_SANDBOX_AUTH_TOKEN));
      const again = await deliver(sent, signTwilioRequest(WEBHOOK_URL, sent, TWILIO_SANDBOX_AUTH_TOKEN));
      const next = await deliver(
        delivered,
        signTwilioRequest(WEBHOOK_URL, delivered, TWILIO_SANDBOX_AUTH_TOKEN),
      );

      // Assess
      expect([first.statusCode, again.statusCode, next.statusCode]).toEqual([200, 200, 200]);
      expect(first.headers['content-type']).toContain('text/xml');
      expect(first.body).toContain('<Response></Response>');
      expect([first, again, next].map((r) => r.headers['x-circle-delivery'])).toEqual([
        'accepted',
        'duplicate',
        'accepted',
      ]);
      expect(logs.text()).toContain('message-status');
    });

    it('accepts an incoming message signed over a URL with a query string', async () => {
      // Prepare
      const params = { ...callback(newSid(), 'received'), Body: 'STOP please', NumMedia: '0' };
      const signature = signTwilioRequest(`${WEBHOOK_URL}?tenant=acme`, params, TWILIO_SANDBOX_AUTH_TOKEN);

      // Act
      const response = await deliver(params, signature, { tenant: 'acme' });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(response.headers['x-circle-delivery']).toBe('accepted');
      expect(logs.text()).toContain('message-received');
    });

    it('verifies over the query string exactly as Twilio called it: %20, an empty value, repeated names in order', async () => {
      // Prepare: no TWILIO_WEBHOOK_URL; API Gateway (payload 2.0) keeps the raw query in rawQueryString and
      // hands queryStringParameters on decoded, empty values kept, repeated names comma-joined
      const rawQuery = 'tenant=acme%20corp&flag=&tag=b&tag=a';
      const delivery = (params: Record<string, string>, signedUrl: string) => {
        const event = httpEvent({
          path: '/twilio/webhook',
          body: new URLSearchParams(params).toString(),
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            'x-twilio-signature': signTwilioRequest(signedUrl, params, TWILIO_SANDBOX_AUTH_TOKEN),
          },
          authorizer: 'none',
        });
        event.rawQueryString = rawQuery;
        event.queryStringParameters = { tenant: 'acme corp', flag: '', tag: 'b,a' };
        return connector.handler(event, lambdaContext()) as Promise<HttpResult>;
      };
      const signed = callback(newSid(), 'sent');
      const reordered = callback(newSid(), 'sent');

      // Act
      const accepted = await delivery(signed, `${WEBHOOK_URL}?${rawQuery}`);
      const otherUrl = await delivery(reordered, `${WEBHOOK_URL}?tenant=acme%20corp&flag=&tag=a&tag=b`);

      // Assess
      expect(accepted.statusCode).toBe(200);
      expect(accepted.headers['x-circle-delivery']).toBe('accepted');
      expect(otherUrl.statusCode).toBe(401);
    });

    it('answers 401 for tampered, unsigned, wrongly keyed, wrong-URL and non-form deliveries', async () => {
      // Prepare
      const params = callback(newSid(), 'failed');
      const good = signTwilioRequest(WEBHOOK_URL, params, TWILIO_SANDBOX_AUTH_TOKEN);
      const json = (await connector.handler(
        httpEvent({
          path: '/twilio/webhook',
          body: params,
          headers: { 'x-twilio-signature': good },
          authorizer: 'none',
        }),
        lambdaContext(),
      )) as HttpResult;

      // Act
      const answers = await Promise.all([
        deliver({ ...params, MessageStatus: 'delivered' }, good),
        deliver(params),
        deliver(params, signTwilioRequest(WEBHOOK_URL, params, 'someone-else')),
        deliver(
          params,
          signTwilioRequest('https://evil.example/twilio/webhook', params, TWILIO_SANDBOX_AUTH_TOKEN),
        ),
        deliver(params, good, { extra: '1' }),
      ]);

      // Assess
      expect([...answers, json].map((answer) => answer.statusCode)).toEqual([401, 401, 401, 401, 401, 401]);
      expect(logs.text()).not.toContain(TWILIO_SANDBOX_AUTH_TOKEN);
    });

    it('answers 401 without a Host or a content type, and for too many parameters', async () => {
      // Prepare
      const params = callback(newSid(), 'sent');
      const signature = signTwilioRequest(WEBHOOK_URL, params, TWILIO_SANDBOX_AUTH_TOKEN);
      const event = (drop: string, body = new URLSearchParams(params).toString(), signed = signature) => {
        const built = httpEvent({
          path: '/twilio/webhook',
          body,
          headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signed },
          authorizer: 'none',
        });
        delete (built.headers as Record<string, string | undefined>)[drop];
        return built;
      };
      const many = new URLSearchParams(params);
      for (let i = 0; i < 200; i += 1) many.append(`P${i}`, 'x');

      // Act
      const answers = (await Promise.all([
        connector.handler(event('host'), lambdaContext()),
        connector.handler(event('content-type'), lambdaContext()),
        connector.handler(
          event(
            'none',
            many.toString(),
            signTwilioRequest(WEBHOOK_URL, Object.fromEntries(many), TWILIO_SANDBOX_AUTH_TOKEN),
          ),
          lambdaContext(),
        ),
      ])) as HttpResult[];

      // Assess
      expect(answers.map((answer) => answer.statusCode)).toEqual([401, 401, 401]);
      expect(answers.map((answer) => parsed(answer)['detail'])).toEqual([
        'Webhook signature cannot be checked without a Host header',
        'Webhook is not a form-encoded Twilio request',
        'Webhook has too many parameters',
      ]);
    });

    it('rebuilds the URL with the forwarded scheme, https when the header is blank', async () => {
      // Prepare
      const plain = callback(newSid(), 'sent');
      const blank = callback(newSid(), 'sent');
      const send = (params: Record<string, string>, url: string, proto: string) =>
        connector.handler(
          httpEvent({
            path: '/twilio/webhook',
            body: new URLSearchParams(params).toString(),
            headers: {
              'content-type': 'application/x-www-form-urlencoded',
              'x-forwarded-proto': proto,
              'x-twilio-signature': signTwilioRequest(url, params, TWILIO_SANDBOX_AUTH_TOKEN),
            },
            authorizer: 'none',
          }),
          lambdaContext(),
        ) as Promise<HttpResult>;

      // Act
      const http = await send(plain, WEBHOOK_URL.replace('https:', 'http:'), 'http, https');
      const defaulted = await send(blank, WEBHOOK_URL, ' ');

      // Assess
      expect([http.statusCode, defaulted.statusCode]).toEqual([200, 200]);
    });

    it('verifies against the configured public URL (TWILIO_WEBHOOK_URL) rather than the Host', async () => {
      // Prepare: library use of the receiver, the way the connector wires it with TWILIO_WEBHOOK_URL set
      const configured = 'https://hooks.example.com/sms';
      const receiving = await eventReceivingFromConfig(
        'TWILIO',
        { TWILIO_STATE_TABLE: STATE_TABLE },
        'twilio',
      );
      const receiver = { secret: defineSecret(CREDENTIALS_SECRET), receiving, url: configured };
      const params = callback(newSid(), 'sent');
      const request = (url: string) => ({
        method: 'POST',
        path: '/twilio/webhook',
        headers: {
          host: 'api.example.test',
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': signTwilioRequest(url, params, TWILIO_SANDBOX_AUTH_TOKEN),
        },
        query: {},
        rawBody: Buffer.from(new URLSearchParams(params).toString()),
        correlationId: randomUUID(),
      });
      const logger = createLogger('twilio', 'test');

      // Act
      const accepted = await receiveTwilioWebhook(request(configured), receiver, logger);
      const byHost = receiveTwilioWebhook(request(WEBHOOK_URL), receiver, logger);

      // Assess
      expect(accepted.status).toBe(200);
      await expect(byHost).rejects.toMatchObject({ name: 'AuthError' });
    });

    it('verifies against a configured TWILIO_WEBHOOK_URL that carries its own query string, exactly as configured', async () => {
      // Prepare: the URL configured at Twilio has a query string (kept URL-encoded, as Twilio signs it)
      const configured = 'https://hooks.example.com/sms?tenant=acme%20corp&region=eu';
      const receiving = await eventReceivingFromConfig(
        'TWILIO',
        { TWILIO_STATE_TABLE: STATE_TABLE },
        'twilio',
      );
      const receiver = { secret: defineSecret(CREDENTIALS_SECRET), receiving, url: configured };
      const params = callback(newSid(), 'sent');
      const request = {
        method: 'POST',
        path: '/twilio/webhook',
        headers: {
          host: 'api.example.test',
          'content-type': 'application/x-www-form-urlencoded',
          'x-twilio-signature': signTwilioRequest(configured, params, TWILIO_SANDBOX_AUTH_TOKEN),
        },
        // API Gateway hands the query on decoded
        query: { tenant: 'acme corp', region: 'eu' },
        rawBody: Buffer.from(new URLSearchParams(params).toString()),
        correlationId: randomUUID(),
      };

      // Act
      const answer = await receiveTwilioWebhook(request, receiver, createLogger('twilio', 'test')).catch(
        (error: Error) => error,
      );

      // Assess
      expect(answer).toMatchObject({ status: 200 });
    });

    it('answers 400 for a signed request without a MessageSid', async () => {
      // Prepare
      const params = { AccountSid: TWILIO_SANDBOX_ACCOUNT_SID, CallStatus: 'ringing' };

      // Act
      const response = await deliver(
        params,
        signTwilioRequest(WEBHOOK_URL, params, TWILIO_SANDBOX_AUTH_TOKEN),
      );

      // Assess
      expect(response.statusCode).toBe(400);
    });

    it('fails closed (500, not accepted) when the secret has no auth token', async () => {
      // Prepare
      const keyOnly = {
        accountSid: TWILIO_SANDBOX_ACCOUNT_SID,
        apiKeySid: `SK${'b'.repeat(32)}`,
        apiKeySecret: 'key-secret',
      };
      await secrets.set(CREDENTIALS_SECRET, JSON.stringify(keyOnly));
      const params = callback(newSid(), 'sent');

      // Act
      const response = await deliver(
        params,
        signTwilioRequest(WEBHOOK_URL, params, TWILIO_SANDBOX_AUTH_TOKEN),
      );

      // Assess
      expect(response.statusCode).toBe(500);
      expect(response.headers['x-circle-delivery']).toBeUndefined();
    });

    it('verifies the status callbacks the fake sends, signed as Twilio signs them', async () => {
      // Prepare: a public endpoint in front of the connector's route, as API Gateway would be.
      const server: Server = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (chunk: Buffer) => chunks.push(chunk));
        req.on('end', async () => {
          const headers = Object.fromEntries(
            Object.entries(req.headers).map(([name, value]) => [name, String(value)]),
          );
          const answer = (await connector.handler(
            httpEvent({
              path: '/twilio/webhook',
              body: Buffer.concat(chunks).toString('utf8'),
              headers: { ...headers, 'x-forwarded-proto': 'http' },
              authorizer: 'none',
            }),
            lambdaContext(),
          )) as HttpResult;
          res.writeHead(answer.statusCode).end(answer.body);
        });
      });
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/twilio/webhook`;
      fake.state.sendCallbacks = true;

      // Act
      await call('send-message', { to: TO, body: 'with callbacks', statusCallback: url });
      for (let waited = 0; fake.state.callbacks.length < 2 && waited < 10_000; waited += 50) {
        await new Promise((done) => setTimeout(done, 50));
      }
      server.close();

      // Assess
      expect(fake.state.callbacks.map((c) => [c.params['MessageStatus'], c.answered])).toEqual([
        ['sent', 200],
        ['delivered', 200],
      ]);
      expect(fake.state.messages.at(-1)?.status).toBe('delivered');
    }, 20_000);
  });
});

describe('Function: verifyTwilioSignature', () => {
  it("matches Twilio's documented example signature", () => {
    // The published vector of Twilio's request validation (twilio-node's fixture): this URL and these
    // parameters under auth token 12345 sign to RSOYDt4T1cUTdK1PDd93/VVr8B8=.
    const params = new URLSearchParams({
      CallSid: 'CA1234567890ABCDE',
      Caller: '+14158675309',
      Digits: '1234',
      From: '+14158675309',
      To: '+18005551212',
    });
    const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';

    // Act
    const text = twilioSignedText(url, params);

    // Assess
    expect(text).toBe(
      `${url}CallSidCA1234567890ABCDECaller+14158675309Digits1234From+14158675309To+18005551212`,
    );
    expect(() =>
      verifyTwilioSignature({ url, params, signature: 'RSOYDt4T1cUTdK1PDd93/VVr8B8=', authToken: '12345' }),
    ).not.toThrow();
    expect(() => verifyTwilioSignature({ url, params, signature: 'x', authToken: '' })).toThrow('empty');
    // A repeated name's values are sorted too, equal ones kept.
    expect(twilioSignedText('u', new URLSearchParams('B=2&A=2&A=1&A=3&A=1'))).toBe('uA1A1A2A3B2');
  });
});
