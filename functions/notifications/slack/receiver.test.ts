import { createHmac } from 'node:crypto';
import {
  AuthError,
  ConfigurationError,
  createLogger,
  MemoryDeliveryLedger,
  type RouteRequest,
  type Secret,
  UnsupportedMediaTypeError,
  ValidationError,
  type WebhookEvent,
  type WebhookEventSink,
} from '@circle-core/core';
import { type CapturedLogs, captureLogs } from '@circle-core/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type * as z from 'zod';
import { SlackReceiver, slackEventName } from './receiver.ts';

const NOW = 1_750_000_000_000;
const SECRET = 'signing-secret-one';
const logger = createLogger('slack', 'test');
const context = { logger, correlationId: 'corr-1' };

/** A Secrets Manager stand-in for unit tests: a value that can rotate, counting forced re-reads. */
function rotatingSecret(initial: string): Secret & { value: string; refreshes: number; cached: string } {
  const secret = {
    name: 'test/slack/signing-secret',
    value: initial,
    cached: initial,
    refreshes: 0,
    text: async () => secret.cached,
    json: async <T>(schema: z.ZodType<T>) => schema.parse(JSON.parse(secret.cached)),
    refresh: async () => {
      secret.refreshes += 1;
      secret.cached = secret.value;
    },
    prefetch: async () => undefined,
    reject: () => undefined,
  };
  return secret;
}

/** Signs like Slack does, independently of the code under test. */
function signed(
  body: string,
  options: { secret?: string; timestamp?: number; headers?: Record<string, string> } = {},
): RouteRequest {
  const timestamp = String(options.timestamp ?? Math.floor(NOW / 1000));
  const digest = createHmac('sha256', options.secret ?? SECRET)
    .update(`v0:${timestamp}:${body}`)
    .digest('hex');
  return {
    method: 'POST',
    path: '/slack/events',
    headers: {
      'content-type': 'application/json',
      'x-slack-request-timestamp': timestamp,
      'x-slack-signature': `v0=${digest}`,
      ...options.headers,
    },
    query: {},
    rawBody: Buffer.from(body, 'utf8'),
    correlationId: 'corr-1',
  };
}

function recordingSink(): WebhookEventSink & { events: WebhookEvent[] } {
  const events: WebhookEvent[] = [];
  return { name: 'memory', durable: true, events, publish: async (event) => void events.push(event) };
}

/** The receiving half of the connector's setup, on an in-memory ledger. */
function receiving(sink: WebhookEventSink = recordingSink(), ledger = new MemoryDeliveryLedger()) {
  return { requireLedger: () => ledger, sinkOr: () => sink };
}

const EVENT = JSON.stringify({
  token: 'legacy-token',
  team_id: 'T1',
  api_app_id: 'A1',
  type: 'event_callback',
  event_id: 'Ev1',
  event_time: 1_750_000_000,
  event: { type: 'reaction_added', reaction: 'tada', user: 'U1' },
});

describe('Class: SlackReceiver', () => {
  let clock: number;
  let logs: CapturedLogs;
  beforeEach(() => {
    clock = NOW;
    logs = captureLogs();
  });
  afterEach(() => {
    logs.restore();
  });

  describe('Method: verify', () => {
    it('re-reads a rotated signing secret once and accepts the request', async () => {
      // Prepare
      const secret = rotatingSecret(SECRET);
      const receiver = new SlackReceiver({ signingSecret: secret, receiving: receiving(), now: () => clock });
      secret.value = 'signing-secret-two';
      // Act
      await receiver.verify(signed(EVENT, { secret: 'signing-secret-two' }));
      // Assess
      expect(secret.refreshes).toBe(1);
    });

    it('lets concurrent requests signed with a rotated secret wait for the one re-read in flight', async () => {
      // Prepare: the re-read is held until both requests are in (concurrent invocations under Lambda
      // Managed Instances share the receiver)
      const secret = rotatingSecret(SECRET);
      const receiver = new SlackReceiver({ signingSecret: secret, receiving: receiving(), now: () => clock });
      secret.value = 'signing-secret-two';
      const reread = secret.refresh;
      let reached = () => {};
      let release = () => {};
      const inFlight = new Promise<void>((resolve) => {
        reached = resolve;
      });
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      secret.refresh = async () => {
        reached();
        await released;
        await reread();
      };
      // Act
      const first = receiver.verify(signed(EVENT, { secret: 'signing-secret-two' }));
      await inFlight;
      const second = receiver.verify(signed(EVENT, { secret: 'signing-secret-two' }));
      release();
      const outcomes = await Promise.allSettled([first, second]);
      // Assess
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled']);
      expect(secret.refreshes).toBe(1);
    });

    it('re-reads at most once a minute for requests that do not verify', async () => {
      // Prepare
      const secret = rotatingSecret(SECRET);
      const receiver = new SlackReceiver({ signingSecret: secret, receiving: receiving(), now: () => clock });
      const forged = () => signed(EVENT, { secret: 'forged', timestamp: Math.floor(clock / 1000) });
      // Act
      const first = receiver.verify(forged());
      await expect(first).rejects.toBeInstanceOf(AuthError);
      clock += 30_000;
      const second = receiver.verify(forged());
      await expect(second).rejects.toBeInstanceOf(AuthError);
      clock += 31_000;
      const third = receiver.verify(forged());
      await expect(third).rejects.toBeInstanceOf(AuthError);
      // Assess
      expect(secret.refreshes).toBe(2);
    });

    it('does not re-read the secret for a stale request or a missing signature', async () => {
      // Prepare
      const secret = rotatingSecret(SECRET);
      const receiver = new SlackReceiver({ signingSecret: secret, receiving: receiving(), now: () => clock });
      const stale = signed(EVENT, { timestamp: Math.floor(NOW / 1000) - 600 });
      const unsigned = signed(EVENT, { headers: { 'x-slack-signature': '' } });
      // Act
      await expect(receiver.verify(stale)).rejects.toThrow('Webhook timestamp is too old');
      await expect(receiver.verify(unsigned)).rejects.toThrow('Webhook signature is missing');
      // Assess
      expect(secret.refreshes).toBe(0);
    });

    it('fails closed with ConfigurationError when the signing secret is empty', async () => {
      // Prepare
      const receiver = new SlackReceiver({ signingSecret: '   ', receiving: receiving(), now: () => clock });
      // Act
      const attempt = receiver.verify(signed(EVENT, { secret: '' }));
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(ConfigurationError);
    });
  });

  describe('Method: handleEvents', () => {
    it('hands the event to the sink without the verification token', async () => {
      // Prepare
      const sink = recordingSink();
      const receiver = new SlackReceiver({
        signingSecret: SECRET,
        receiving: receiving(sink),
        now: () => clock,
      });
      // Act
      const response = await receiver.handleEvents(signed(EVENT), context);
      // Assess
      expect(response).toEqual({ status: 200, body: { ok: true } });
      expect(sink.events).toMatchObject([
        {
          provider: 'slack',
          name: 'reaction-added',
          event: 'reaction_added',
          deliveryId: 'Ev1',
          source: 'T1',
        },
      ]);
      expect(sink.events.map((event) => event.payload)).toEqual([
        {
          eventId: 'Ev1',
          eventType: 'reaction_added',
          teamId: 'T1',
          apiAppId: 'A1',
          eventTime: 1_750_000_000,
          event: { type: 'reaction_added', reaction: 'tada', user: 'U1' },
          retryNum: undefined,
          retryReason: undefined,
        },
      ]);
      expect(JSON.stringify(sink.events)).not.toContain('legacy-token');
    });

    it('lets a failing sink fail the request, so Slack delivers the event again', async () => {
      // Prepare
      const sink: WebhookEventSink = {
        name: 'broken',
        durable: true,
        publish: async () => {
          throw new Error('queue down');
        },
      };
      const receiver = new SlackReceiver({
        signingSecret: SECRET,
        receiving: receiving(sink),
        now: () => clock,
      });
      // Act
      const attempt = receiver.handleEvents(signed(EVENT), context);
      // Assess
      await expect(attempt).rejects.toMatchObject({ name: 'ConnectorError', status: 500 });
    });

    it('hands a retried or replayed event on once, answering the repeat as a duplicate', async () => {
      // Prepare
      const sink = recordingSink();
      const receiver = new SlackReceiver({
        signingSecret: SECRET,
        receiving: receiving(sink),
        now: () => clock,
      });
      // Act
      const first = await receiver.handleEvents(signed(EVENT), context);
      const retried = await receiver.handleEvents(
        signed(EVENT, { headers: { 'x-slack-retry-num': '1', 'x-slack-retry-reason': 'http_timeout' } }),
        context,
      );
      const replayed = await receiver.handleEvents(signed(EVENT), context);
      // Assess
      expect(first).toEqual({ status: 200, body: { ok: true } });
      expect(retried).toEqual({ status: 200, body: { ok: true, duplicate: true } });
      expect(replayed).toEqual({ status: 200, body: { ok: true, duplicate: true } });
      expect(sink.events.map((event) => event.deliveryId)).toEqual(['Ev1']);
    });

    it('refuses events without a state table, naming the setting (fails closed)', async () => {
      // Prepare
      const receiver = new SlackReceiver({
        signingSecret: SECRET,
        receiving: {
          requireLedger: () => {
            throw new ConfigurationError('SLACK_STATE_TABLE is required to receive events');
          },
          sinkOr: () => recordingSink(),
        },
        now: () => clock,
      });
      // Act & Assess
      await expect(receiver.handleEvents(signed(EVENT), context)).rejects.toThrow('SLACK_STATE_TABLE');
    });

    it('answers url_verification without a state table', async () => {
      // Prepare
      const receiver = new SlackReceiver({
        signingSecret: SECRET,
        receiving: {
          requireLedger: () => {
            throw new ConfigurationError('SLACK_STATE_TABLE is required to receive events');
          },
          sinkOr: () => recordingSink(),
        },
        now: () => clock,
      });
      const body = JSON.stringify({ type: 'url_verification', token: 't', challenge: 'c-123' });
      // Act
      const response = await receiver.handleEvents(signed(body), context);
      // Assess
      expect(response).toEqual({ status: 200, body: { challenge: 'c-123' } });
    });

    it('acknowledges app_rate_limited with a warning line', async () => {
      // Prepare
      const receiver = new SlackReceiver({ signingSecret: SECRET, receiving: receiving(), now: () => clock });
      const body = JSON.stringify({
        type: 'app_rate_limited',
        team_id: 'T1',
        minute_rate_limited: 1_518_467_820,
      });
      // Act
      const response = await receiver.handleEvents(signed(body), context);
      // Assess
      expect(response.status).toBe(200);
      expect(logs.records().find((line) => line['level'] === 'WARN')).toMatchObject({
        teamId: 'T1',
        minuteRateLimited: 1_518_467_820,
      });
    });

    it('throws ValidationError for a signed body that is not JSON', async () => {
      // Prepare
      const receiver = new SlackReceiver({ signingSecret: SECRET, receiving: receiving(), now: () => clock });
      // Act
      const attempt = receiver.handleEvents(signed('token=abc&type=url_verification'), context);
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    });
  });

  describe('Method: handleCommand', () => {
    const form = new URLSearchParams({
      command: '/status',
      text: '',
      team_id: 'T1',
      channel_id: 'C1',
      user_id: 'U1',
      response_url: 'https://hooks.slack.com/commands/T1/1/abc',
      trigger_id: 'trig-1',
    }).toString();
    const formHeaders = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };

    it('hands the command to the sink and answers the custom acknowledgement', async () => {
      // Prepare
      const sink = recordingSink();
      const receiver = new SlackReceiver({
        signingSecret: SECRET,
        receiving: receiving(sink),
        acknowledge: (command) => `On it: ${command.command}`,
        now: () => clock,
      });
      // Act
      const response = await receiver.handleCommand(signed(form, { headers: formHeaders }), context);
      // Assess
      expect(response).toEqual({ status: 200, body: { response_type: 'ephemeral', text: 'On it: /status' } });
      expect(sink.events).toMatchObject([
        { name: 'command-received', event: 'slash_command', action: 'status' },
      ]);
      expect(sink.events.map((event) => event.payload)).toEqual([
        {
          command: '/status',
          text: '',
          teamId: 'T1',
          channelId: 'C1',
          userId: 'U1',
          responseUrl: 'https://hooks.slack.com/commands/T1/1/abc',
          triggerId: 'trig-1',
        },
      ]);
    });

    it('hands a replayed command request on once, and a new signed request again', async () => {
      // Prepare
      const sink = recordingSink();
      const receiver = new SlackReceiver({
        signingSecret: SECRET,
        receiving: receiving(sink),
        now: () => clock,
      });
      const request = signed(form, { headers: formHeaders });
      // Act
      await receiver.handleCommand(request, context);
      const replay = await receiver.handleCommand(request, context);
      await receiver.handleCommand(
        signed(form, { headers: formHeaders, timestamp: Math.floor(NOW / 1000) + 1 }),
        context,
      );
      // Assess
      expect(replay.status).toBe(200);
      expect(sink.events).toHaveLength(2);
      expect(sink.events[0]?.deliveryId).toMatch(/^command-[0-9a-f]{40}$/);
      expect(sink.events[0]?.deliveryId).not.toBe(sink.events[1]?.deliveryId);
    });

    it('throws UnsupportedMediaTypeError for a JSON body', async () => {
      // Prepare
      const receiver = new SlackReceiver({ signingSecret: SECRET, receiving: receiving(), now: () => clock });
      // Act
      const attempt = receiver.handleCommand(signed('{"command":"/status"}'), context);
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(UnsupportedMediaTypeError);
    });

    it('throws ValidationError naming the missing fields', async () => {
      // Prepare
      const receiver = new SlackReceiver({ signingSecret: SECRET, receiving: receiving(), now: () => clock });
      // Act
      const attempt = receiver.handleCommand(signed('command=%2Fstatus', { headers: formHeaders }), context);
      // Assess
      await expect(attempt).rejects.toMatchObject({
        name: 'ValidationError',
        issues: expect.arrayContaining([{ pointer: '/response_url', message: expect.any(String) }]),
      });
    });
  });
});

describe('Function: slackEventName', () => {
  it.each([
    ['app_mention', 'app-mention-received'],
    ['message', 'message-received'],
    ['reaction_added', 'reaction-added'],
    ['member_joined_channel', 'member-joined-channel-received'],
  ])('names %s %s', (type, name) => {
    expect(slackEventName(type)).toBe(name);
  });
});
