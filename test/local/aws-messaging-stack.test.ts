/**
 * The AWS messaging connectors on the running local stack (`npm start -- --only ...`), as the READMEs run
 * them: through the HTTP API with the local API key, against the stack's own AWS endpoint, and checked from
 * outside with the real AWS SDK clients.
 */
import { randomUUID } from 'node:crypto';
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StackProcess, startStackProcess } from './stack-process.ts';

let stack: StackProcess;
const client = () => ({
  endpoint: stack.awsUrl,
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
});

async function post(path: string, input: unknown) {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.apiKey}`,
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify(input),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  stack = await startStackProcess({}, ['--only', 'sqs,sns,eventbridge']);
}, 240_000);

afterAll(async () => {
  if (stack !== undefined) await stack.stop();
});

describe('Local stack: Amazon SQS connector', () => {
  it('publishes, receives, releases and acknowledges on its queue, which the SDK sees too', async () => {
    // Act
    const sent = await post('/sqs/publish-batch', {
      entries: [{ body: '{"order":"o-1"}', attributes: { kind: 'order' } }, { body: '{"order":"o-2"}' }],
    });
    const first = await post('/sqs/receive-messages', { maxMessages: 1, waitTimeMs: 2_000 });
    const [message] = first.body['messages'] as { receipt: string; body: string; attributes: object }[];
    const released = await post('/sqs/release-messages', { receipts: [message?.receipt] });
    const attributes = await post('/sqs/get-queue-attributes', {});
    const queueUrl = String(attributes.body['queueUrl']);
    const seen = await new SQSClient(client()).send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
    );
    // Assess
    expect(sent).toMatchObject({ status: 200, body: { succeeded: 2, failed: 0 } });
    expect(message).toMatchObject({ body: '{"order":"o-1"}', attributes: { kind: 'order' } });
    expect(released.body).toEqual({ results: [{ receipt: message?.receipt, ok: true }] });
    expect(attributes.body).toMatchObject({ fifo: false, approximateMessages: 2 });
    expect(queueUrl).toBe(`${stack.awsUrl}/000000000000/circle-core-dev-SqsMessagesQueue`);
    expect(seen.Messages?.map((m) => m.Body).sort()).toEqual(['{"order":"o-1"}', '{"order":"o-2"}']);
  });

  it('refuses another queue with a 403 and a standard queue ordering key with a 501', async () => {
    // Act
    const other = await post('/sqs/publish-message', { destination: 'not-mine', body: 'x' });
    const ordered = await post('/sqs/publish-message', { body: 'x', orderingKey: 'g' });
    // Assess
    expect([other.status, ordered.status]).toEqual([403, 501]);
  });
});

describe('Local stack: Amazon SNS connector', () => {
  it("fans out through function.yml's filtered subscription: only kind=order reaches SnsOrdersQueue", async () => {
    // Act
    const order = await post('/sns/publish-message', {
      body: '{"order":"o-7"}',
      attributes: { kind: 'order' },
    });
    const refund = await post('/sns/publish-batch', {
      entries: [{ body: '{"refund":"r-1"}', attributes: { kind: 'refund' } }],
    });
    const listed = await post('/sns/list-subscriptions', {});
    const seen = await new SQSClient(client()).send(
      new ReceiveMessageCommand({
        QueueUrl: `${stack.awsUrl}/000000000000/circle-core-dev-SnsOrdersQueue`,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    // Assess
    expect(order.status).toBe(200);
    expect(refund).toMatchObject({ status: 200, body: { succeeded: 1, failed: 0 } });
    // The topic's subscriptions as serverless.yml declares them: this connector's orders queue, and the
    // issue-fanout workflow's queue (its filter takes kind=issue only).
    const subscriptions = listed.body['subscriptions'] as { protocol: string; endpoint: string }[];
    expect(subscriptions.map(({ protocol, endpoint }) => `${protocol} ${endpoint}`).sort()).toEqual([
      'sqs arn:aws:sqs:us-east-1:000000000000:circle-core-dev-IssueFanoutQueue',
      'sqs arn:aws:sqs:us-east-1:000000000000:circle-core-dev-SnsOrdersQueue',
    ]);
    expect(seen.Messages?.map((m) => [m.Body, m.MessageAttributes?.['kind']?.StringValue])).toEqual([
      ['{"order":"o-7"}', 'order'],
    ]);
  });
});

describe('Local stack: Amazon EventBridge connector', () => {
  it("routes by function.yml's rule: only order-placed reaches EventbridgeOrdersQueue, as its detail", async () => {
    // Act
    const placed = await post('/eventbridge/publish-message', {
      body: '{"order":"o-9","total":250}',
      detailType: 'order-placed',
    });
    const other = await post('/eventbridge/publish-batch', {
      entries: [{ body: '{"order":"o-9"}', detailType: 'order-shipped' }, { body: 'not json' }],
    });
    const bus = await post('/eventbridge/describe-event-bus', {});
    const seen = await new SQSClient(client()).send(
      new ReceiveMessageCommand({
        QueueUrl: `${stack.awsUrl}/000000000000/circle-core-dev-EventbridgeOrdersQueue`,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
      }),
    );
    // Assess
    expect(placed.status).toBe(200);
    expect(other).toMatchObject({ status: 200, body: { succeeded: 1, failed: 1 } });
    expect(bus.body).toEqual({
      name: 'circle-core-dev-events',
      arn: 'arn:aws:events:us-east-1:000000000000:event-bus/circle-core-dev-events',
    });
    expect(seen.Messages?.map((m) => JSON.parse(m.Body ?? ''))).toEqual([{ order: 'o-9', total: 250 }]);
  });
});
