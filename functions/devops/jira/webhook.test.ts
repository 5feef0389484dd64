/**
 * The Jira webhook receiver on its own: rotating the webhook's secret. Jira signs each delivery with the one
 * secret the webhook has (`X-Hub-Signature: sha256=<hex HMAC>`); while it is changed, the stored secret may
 * hold the new and the old one, one per line, so no delivery is refused in between.
 */
import { randomUUID } from 'node:crypto';
import {
  createLogger,
  type EventReceiving,
  MemoryDeliveryLedger,
  type Secret,
  type WebhookEvent,
} from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { signJiraWebhook } from '../../../scripts/local/sandboxes/jira.ts';
import { receiveJiraWebhook } from './webhook.ts';

const NEW_SECRET = 'jira-new-webhook-secret';
const OLD_SECRET = 'jira-old-webhook-secret';
const NOW = Date.parse('2026-12-07T12:00:00Z');
const logger = createLogger('jira', 'test');
const body = JSON.stringify({
  timestamp: NOW - 1000,
  webhookEvent: 'jira:issue_created',
  issue: { key: 'OPS-1' },
});

function receiverWith(secretText: string, published: WebhookEvent[]) {
  const ledger = new MemoryDeliveryLedger();
  const receiving = {
    ledger,
    requireLedger: () => ledger,
    sinkOr: () => ({
      name: 'memory',
      durable: true,
      publish: async (event: WebhookEvent) => void published.push(event),
    }),
  } as unknown as EventReceiving;
  const secret = { name: 'test', text: async () => secretText } as unknown as Secret;
  return { secret, receiving, maxAgeSeconds: 3600, now: () => NOW };
}

function signedBy(key: string) {
  return {
    method: 'POST',
    path: '/jira/webhook',
    headers: {
      'content-type': 'application/json',
      'x-hub-signature': signJiraWebhook(key, body),
      'x-atlassian-webhook-identifier': randomUUID(),
    },
    query: {},
    rawBody: Buffer.from(body),
    correlationId: randomUUID(),
  };
}

describe('Function: receiveJiraWebhook', () => {
  it('accepts deliveries signed with the new or the old secret while the secret holds both (one per line)', async () => {
    // Prepare
    const published: WebhookEvent[] = [];
    const receiver = receiverWith(`${NEW_SECRET}\n${OLD_SECRET}`, published);

    // Act
    const answers = await Promise.all(
      [NEW_SECRET, OLD_SECRET, 'someone-else'].map((key) =>
        receiveJiraWebhook(signedBy(key), receiver, logger).catch((error: { status: number }) => error),
      ),
    );

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 401]);
    expect(published.map((event) => event.name)).toEqual(['issue-created', 'issue-created']);
  });
});
