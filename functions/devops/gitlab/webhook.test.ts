/**
 * The GitLab webhook receiver on its own: changing the webhook's secret token. GitLab sends the one token the
 * webhook has in `X-Gitlab-Token`; while it is changed, the stored secret may hold the new and the old one,
 * one per line, so no delivery is refused in between.
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
import { receiveGitlabWebhook } from './webhook.ts';

const NEW_TOKEN = 'gitlab-new-secret-token';
const OLD_TOKEN = 'gitlab-old-secret-token';
const logger = createLogger('gitlab', 'test');
const body = JSON.stringify({
  object_kind: 'issue',
  object_attributes: { iid: 7, action: 'open' },
  project: { path_with_namespace: 'group/project' },
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
  return { secret: { name: 'test', text: async () => secretText } as unknown as Secret, receiving };
}

function withToken(token: string) {
  return {
    method: 'POST',
    path: '/gitlab/webhook',
    headers: {
      'content-type': 'application/json',
      'x-gitlab-token': token,
      'x-gitlab-event': 'Issue Hook',
      'idempotency-key': randomUUID(),
    },
    query: {},
    rawBody: Buffer.from(body),
    correlationId: randomUUID(),
  };
}

describe('Function: receiveGitlabWebhook', () => {
  it('accepts deliveries with the new or the old token while the secret holds both (one per line)', async () => {
    // Prepare
    const published: WebhookEvent[] = [];
    const receiver = receiverWith(`${NEW_TOKEN}\n${OLD_TOKEN}\n`, published);

    // Act
    const answers = await Promise.all(
      [NEW_TOKEN, OLD_TOKEN, `${NEW_TOKEN}\n${OLD_TOKEN}`, 'someone-else'].map((token) =>
        receiveGitlabWebhook(withToken(token), receiver, logger).catch((error: { status: number }) => error),
      ),
    );

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([202, 202, 401, 401]);
    expect(published.map((event) => event.name)).toEqual(['issue-opened', 'issue-opened']);
  });
});
