import { createHmac } from 'node:crypto';
import {
  ConflictError,
  createLogger,
  PayloadTooLargeError,
  type RouteRequest,
  type Secret,
  UnavailableError,
} from '@circle-core/core';
import { type CapturedLogs, captureLogs } from '@circle-core/core/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeliveryClaim, DeliveryLedger, WebhookEvent } from '#shared/interfaces/webhook-events.ts';
import { githubEventName, receiveWebhook, type WebhookReceiver } from './webhook.ts';

const SECRET = 'unit-test-webhook-secret';
const BODY = JSON.stringify({ action: 'created', comment: { id: 1 }, organization: { login: 'octo-org' } });

function secretOf(value: string): Secret {
  return {
    name: 'test/webhook',
    text: async () => value,
    json: async () => {
      throw new Error('not used');
    },
    refresh: async () => undefined,
    prefetch: async () => undefined,
    reject: () => undefined,
  };
}

function request(body: Buffer | string = BODY, headers: Record<string, string> = {}): RouteRequest {
  const raw = typeof body === 'string' ? Buffer.from(body) : body;
  return {
    method: 'POST',
    path: '/github/webhook',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'issue_comment',
      'x-github-delivery': 'delivery-1',
      'x-hub-signature-256': `sha256=${createHmac('sha256', SECRET).update(raw).digest('hex')}`,
      ...headers,
    },
    query: {},
    rawBody: raw,
    correlationId: 'corr-unit',
  };
}

/** An in-memory ledger whose steps can be made to fail. */
function ledger(claim: DeliveryClaim, failures: { accept?: boolean; release?: boolean } = {}) {
  const steps: string[] = [];
  const store: DeliveryLedger = {
    claim: async () => {
      steps.push('claim');
      return claim;
    },
    accept: async () => {
      steps.push('accept');
      if (failures.accept) throw new UnavailableError('DynamoDB down');
    },
    release: async () => {
      steps.push('release');
      if (failures.release) throw new UnavailableError('DynamoDB down');
    },
  };
  return { store, steps };
}

function receiver(overrides: Partial<WebhookReceiver> = {}): WebhookReceiver {
  const published: WebhookEvent[] = [];
  return {
    secret: secretOf(SECRET),
    ledger: ledger({ status: 'claimed', token: 't' }).store,
    sink: { name: 'memory', durable: true, publish: async (event) => void published.push(event) },
    logger: createLogger('github', 'test'),
    now: () => Date.parse('2024-05-01T00:00:00Z'),
    ...overrides,
  };
}

let logs: CapturedLogs;
beforeEach(() => {
  logs = captureLogs();
});
afterEach(() => {
  logs.restore();
});

describe('Function: receiveWebhook', () => {
  it('names the event, sets the organization as source and records the delivery after handing it on', async () => {
    // Prepare
    const published: WebhookEvent[] = [];
    const { store, steps } = ledger({ status: 'claimed', token: 't' });
    // Act
    const response = await receiveWebhook(
      request(),
      receiver({
        ledger: store,
        sink: { name: 'memory', durable: true, publish: async (e) => void published.push(e) },
      }),
    );
    // Assess
    expect(response).toEqual({
      status: 202,
      body: { accepted: true, event: 'issue-comment-created', deliveryId: 'delivery-1' },
    });
    expect(published[0]).toMatchObject({
      source: 'octo-org',
      receivedAt: '2024-05-01T00:00:00.000Z',
      correlationId: 'corr-unit',
    });
    expect(steps).toEqual(['claim', 'accept']);
  });

  it('throws ConflictError while another invocation holds the delivery', async () => {
    // Act
    const attempt = receiveWebhook(request(), receiver({ ledger: ledger({ status: 'in-progress' }).store }));
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ConflictError);
  });

  it('still answers 202 when recording fails after the event was handed on, and logs why', async () => {
    // Prepare
    const { store } = ledger({ status: 'claimed', token: 't' }, { accept: true });
    // Act
    const response = await receiveWebhook(request(), receiver({ ledger: store }));
    // Assess
    expect(response.status).toBe(202);
    expect(
      logs
        .records()
        .some((record) => String(record['message']).startsWith('Recording an accepted delivery failed')),
    ).toBe(true);
  });

  it('answers 503 when handing on fails with a 4xx-class error, even if releasing the claim fails too', async () => {
    // Prepare
    const { store, steps } = ledger({ status: 'claimed', token: 't' }, { release: true });
    const sink = {
      name: 'memory',
      durable: true,
      publish: () => Promise.reject(new PayloadTooLargeError(262_144)),
    };
    // Act
    const attempt = receiveWebhook(request(), receiver({ ledger: store, sink }));
    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'UnavailableError', status: 503 });
    expect(steps).toEqual(['claim', 'release']);
  });

  it('fails closed with ConfigurationError when the secret is empty', async () => {
    // Act
    const attempt = receiveWebhook(request(), receiver({ secret: secretOf('') }));
    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'ConfigurationError', status: 500 });
  });

  it('accepts deliveries signed with the new or the old secret while the secret holds both (one per line)', async () => {
    // Prepare: mid-rotation, the stored secret holds the new secret and the old one
    const signedBy = (key: string) =>
      request(BODY, {
        'x-hub-signature-256': `sha256=${createHmac('sha256', key).update(BODY).digest('hex')}`,
      });
    const rotating = () => receiver({ secret: secretOf(`new-webhook-secret\n${SECRET}\n`) });

    // Act
    const byNew = await receiveWebhook(signedBy('new-webhook-secret'), rotating());
    const byOld = await receiveWebhook(signedBy(SECRET), rotating());
    const byOther = receiveWebhook(signedBy('someone-else'), rotating());

    // Assess
    expect([byNew.status, byOld.status]).toEqual([202, 202]);
    await expect(byOther).rejects.toMatchObject({ name: 'AuthError' });
  });

  it('refuses an empty body and bytes that are not UTF-8 with 401', async () => {
    // Prepare
    const notUtf8 = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    // Act & Assess
    await expect(receiveWebhook(request(''), receiver())).rejects.toMatchObject({ name: 'AuthError' });
    await expect(receiveWebhook(request(notUtf8), receiver())).rejects.toMatchObject({ name: 'AuthError' });
  });

  it('ignores an action that is not a plain word when naming the event', async () => {
    // Prepare
    const body = JSON.stringify({ action: '../../x' });
    // Act
    const response = await receiveWebhook(request(body), receiver());
    // Assess
    expect(response.body).toMatchObject({ event: 'issue_comment-received'.replace('_', '-') });
  });
});

describe('Function: githubEventName', () => {
  it('makes past-tense kebab-case names', () => {
    // Act & Assess
    expect(githubEventName('issues', 'opened')).toBe('issue-opened');
    expect(githubEventName('pull_request', 'ready_for_review')).toBe('pull-request-ready-for-review');
    expect(githubEventName('push', undefined)).toBe('push-received');
  });
});
