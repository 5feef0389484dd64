/**
 * The Amazon SQS connector against the local stack's own SQS endpoint (the queue engine `npm start`
 * runs), spoken to by the real AWS SDK client: the message-publisher conformance suite, FIFO ordering and
 * deduplication, visibility and attributes, every trigger, and the failure paths the AWS kit maps.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SQSClient } from '@aws-sdk/client-sqs';
import { PayloadTooLargeError, withInvocation } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeMessagePublisherConformance } from '#shared/interfaces/message-publisher.conformance.ts';
import type { ReceiveOutput, SettleOutput } from '#shared/models/message-publisher.ts';
import { type AwsEndpointPeer, startAwsEndpointPeer } from '../../../test/peers/aws-endpoint.ts';
import { SqsPublisher } from './client.ts';

interface HttpResult {
  statusCode: number;
  body: string;
}

const QUEUE = `sqs-connector-${randomUUID().slice(0, 8)}`;
const FIFO = `sqs-connector-${randomUUID().slice(0, 8)}.fifo`;
const DLQ = `sqs-connector-dlq-${randomUUID().slice(0, 8)}`;
let aws: AwsEndpointPeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };
const options = (queueUrl: string) => ({ queueUrl, timeoutMs: 2_000, maxAttempts: 1 });

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({ path: `/sqs/${operation}`, body });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

/** An SDK client whose every call fails as AWS would, for the mapping. */
function failingSdk(name: string, status: number): SQSClient {
  const error = Object.assign(new Error(`${name} from the test`), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'req-1' },
    $response: { headers: { 'retry-after': '2' } },
  });
  return { send: async () => Promise.reject(error) } as unknown as SQSClient;
}

beforeAll(async () => {
  aws = await startAwsEndpointPeer({ queues: [QUEUE, FIFO, DLQ] });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SQS: aws.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    SQS_QUEUE_URL: aws.queueUrl(QUEUE),
    SQS_TIMEOUT_MS: '3000',
  });
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await aws.close();
});

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describeMessagePublisherConformance('Amazon SQS on the local stack endpoint', async () => {
  const name = `conformance-${randomUUID().slice(0, 8)}`;
  const peer = await startAwsEndpointPeer({ queues: [name] });
  // Its own peer, so its messages never meet the connector tests'; the SDK client names the endpoint.
  const sdk = new SQSClient({
    endpoint: peer.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  return {
    publisher: new SqsPublisher(sdk, options(peer.queueUrl(name))),
    // A body with a character outside SQS's set (a NUL) fails alone, refused before the call; the others go.
    refusedEntry: { body: '{"conformance":"refused","nul":"\u0000"}' },
    disallowedDestination: 'another-teams-queue',
    close: () => peer.close(),
  };
});

describe('Connector: sqs', () => {
  describe('Operations: publish-message, receive-messages, acknowledge-messages', () => {
    it('sends a message with attributes, receives it once, and deletes it', async () => {
      // Act
      const sent = await call('publish-message', { body: '{"order":1}', attributes: { kind: 'order' } });
      const received = parsed(await call('receive-messages', { maxMessages: 10, waitTimeMs: 1_000 }));
      const messages = received['messages'] as { receipt: string; body: string; attributes: object }[];
      const deleted = await call('acknowledge-messages', { receipts: messages.map((m) => m.receipt) });
      // Assess
      expect(sent.statusCode).toBe(200);
      expect(messages.map((m) => [m.body, m.attributes])).toEqual([['{"order":1}', { kind: 'order' }]]);
      expect(parsed(deleted)).toEqual({ results: [{ receipt: messages[0]?.receipt, ok: true }] });
      expect(aws.queueCounts(QUEUE)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });

    it('refuses a body or attribute value SQS cannot carry naming the field, sending nothing of it', async () => {
      // Prepare
      const before = aws.calls.length;
      // Act
      const body = await call('publish-message', { body: '\u0001bad' });
      const attribute = await call('publish-message', { body: 'x', attributes: { kind: 'a\ufffeb' } });
      const refusedCalls = aws.calls.length - before;
      const batch = await call('publish-batch', { entries: [{ body: 'fine 1' }, { body: 'bad \u0008' }] });
      const received = parsed(await call('receive-messages', { maxMessages: 10, waitTimeMs: 1_000 }));
      const messages = received['messages'] as { receipt: string; body: string }[];
      await call('acknowledge-messages', { receipts: messages.map((m) => m.receipt) });
      // Assess
      expect([body.statusCode, attribute.statusCode]).toEqual([400, 400]);
      expect(parsed(body)).toMatchObject({
        code: 'validation_error',
        errors: [{ pointer: '/body', message: expect.stringContaining('found U+0001 at character 1') }],
      });
      expect(parsed(attribute)['errors']).toEqual([
        { pointer: '/attributes/kind', message: expect.stringContaining('U+FFFE') },
      ]);
      expect(refusedCalls).toBe(0);
      expect(parsed(batch)).toMatchObject({
        succeeded: 1,
        failed: 1,
        results: [
          { index: 0, ok: true },
          {
            index: 1,
            ok: false,
            error: { code: 'validation_error', message: expect.stringContaining('/entries/1/body') },
          },
        ],
      });
      expect(
        aws.calls.filter((c) => c.target === 'AmazonSQS.SendMessageBatch').at(-1)?.body['Entries'],
      ).toHaveLength(1);
      expect(messages.map((m) => m.body)).toEqual(['fine 1']);
    });

    it("answers the README's publish-batch example: the refused entry's error as the README shows it", async () => {
      // Prepare: the README's answer, for a batch whose second body has U+0000 as its 7th character.
      const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
      const blocks = [...readme.matchAll(/```json\n([\s\S]*?)```/g)].map((m) => JSON.parse(m[1] ?? ''));
      const shown = blocks.find((block) => 'results' in block) as { results: unknown[] };
      // Act
      const batch = await call('publish-batch', { entries: [{ body: '{"n":1}' }, { body: 'order-\u0000' }] });
      const received = parsed(await call('receive-messages', { maxMessages: 10, waitTimeMs: 1_000 }));
      const messages = received['messages'] as { receipt: string }[];
      await call('acknowledge-messages', { receipts: messages.map((m) => m.receipt) });
      // Assess
      expect(batch.statusCode).toBe(200);
      expect(parsed(batch)).toEqual({
        ...shown,
        results: [{ ...(shown.results[0] as object), messageId: expect.any(String) }, shown.results[1]],
      });
    });

    it('sends a 600 KiB message through the peer, as SQS takes messages up to 1 MiB since January 2026', async () => {
      // Prepare: 600 KiB of body, over the old 256 KiB and under the 1 MiB SQS now takes.
      const body = 'x'.repeat(600 * 1024);
      const before = aws.calls.length;
      // Act
      const sent = await call('publish-message', { body });
      const received = parsed(await call('receive-messages', { maxMessages: 10, waitTimeMs: 1_000 }));
      const messages = received['messages'] as { body: string; receipt: string }[];
      await call('acknowledge-messages', { receipts: messages.map((m) => m.receipt) });
      // Assess
      expect(sent.statusCode).toBe(200);
      expect(aws.calls.slice(before)[0]?.body['MessageBody']).toBe(body);
      expect(messages.map((m) => m.body.length)).toEqual([body.length]);
    });

    it('refuses a message over 1 MiB before the call with a 413 naming the 1048576-byte limit', async () => {
      // Prepare: two bytes over 1 MiB in fewer characters than the model's bound, as the direct trigger
      // (an HTTP body that size is the adapter's own 413).
      const before = aws.calls.length;
      // Act
      const error = await connector
        .run('publish-message', { body: 'é'.repeat(524_289) })
        .catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(PayloadTooLargeError);
      expect(error).toMatchObject({ status: 413, limitBytes: 1_048_576 });
      expect((error as Error).message).toContain('1048576');
      expect(aws.calls.length).toBe(before);
    });

    it("counts each attribute's data type toward SQS's 1 MiB, refusing before the call a message SQS would", async () => {
      // Prepare: ten attributes of 3 bytes of name and value each; the body fills 1 MiB with them, so
      // only the 6 bytes of each attribute's type ("String") take the message over, as SQS counts it.
      // Direct invocations: an HTTP body this size is over the adapter's own 1 MiB.
      const attributes = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`a${i}`, 'v']));
      const body = 'é'.repeat((1_048_576 - 30) / 2);
      const before = aws.calls.length;
      // Act
      const over = await connector.run('publish-message', { body, attributes }).catch((e: unknown) => e);
      const fits = await connector.run('publish-message', { body: body.slice(30), attributes });
      const received = (await connector.run('receive-messages', {
        maxMessages: 10,
        waitTimeMs: 0,
      })) as ReceiveOutput;
      await connector.run('acknowledge-messages', { receipts: received.messages.map((m) => m.receipt) });
      // Assess
      expect(over).toBeInstanceOf(PayloadTooLargeError);
      expect(over).toMatchObject({ status: 413, limitBytes: 1_048_576 });
      expect((over as Error).message).toContain(
        '1048636 bytes (body and attributes, with their names and types)',
      );
      expect(aws.calls.slice(before)[0]?.body['MessageBody']).toBe(body.slice(30));
      expect(fits).toMatchObject({ messageId: expect.any(String) });
      expect(received.messages.map((m) => m.body)).toEqual([body.slice(30)]);
    });

    it('keeps the long poll within the time left: a short invocation asks SQS to wait 0 s', async () => {
      // Prepare
      const sqs = await SqsPublisher.create(options(aws.queueUrl(QUEUE)));
      // Act
      const started = Date.now();
      const out = await withInvocation({ deadline: Date.now() + 3_000, correlationId: 'c' }, () =>
        sqs.receive({ maxMessages: 1, waitTimeMs: 20_000 }),
      );
      // Assess
      expect(out.messages).toEqual([]);
      expect(
        aws.calls.filter((c) => c.target === 'AmazonSQS.ReceiveMessage').at(-1)?.body['WaitTimeSeconds'],
      ).toBe(0);
      expect(Date.now() - started).toBeLessThan(3_000);
    });
  });

  describe('Operations: change-visibility, get-queue-attributes', () => {
    it('hides a received message for longer, then reports it in flight in the attributes', async () => {
      // Prepare
      await connector.run('publish-message', { body: '{"n":2}' });
      const { messages } = (await connector.run('receive-messages', {
        maxMessages: 1,
        waitTimeMs: 1_000,
      })) as ReceiveOutput;
      const receipt = messages[0]?.receipt ?? '';
      // Act
      const changed = (await connector.run('change-visibility', {
        receipts: [receipt],
        visibilityTimeoutSeconds: 600,
      })) as SettleOutput;
      const attributes = await connector.run('get-queue-attributes', {});
      const unknown = (await connector.run('change-visibility', {
        receipts: ['bogus'],
        visibilityTimeoutSeconds: 5,
      })) as SettleOutput;
      // Assess
      expect(changed.results).toEqual([{ receipt, ok: true }]);
      expect(attributes).toMatchObject({
        queueUrl: aws.queueUrl(QUEUE),
        queueArn: aws.queueArn(QUEUE),
        fifo: false,
        approximateInFlight: 1,
        visibilityTimeoutSeconds: 30,
      });
      expect(unknown.results[0]).toMatchObject({ ok: false, error: { name: 'NotFoundError' } });
      await connector.run('acknowledge-messages', { receipts: [receipt] });
    });
  });

  describe('FIFO queues', () => {
    const fifo = () => SqsPublisher.create(options(aws.queueUrl(FIFO)));

    it('offers ordering and deduplication, and carries group and deduplication ids to the receiver', async () => {
      // Prepare
      const sqs = await fifo();
      // Act
      const first = await sqs.publish({ body: 'a', orderingKey: 'account-1', deduplicationId: 'tx-1' });
      await sqs.publish({ body: 'a again', orderingKey: 'account-1', deduplicationId: 'tx-1' });
      const batch = await sqs.publishBatch({
        entries: [
          { body: 'b', orderingKey: 'account-1' },
          { body: 'no group' },
          { body: 'c', orderingKey: 'account-1' },
        ],
      });
      const { messages } = await sqs.receive({ maxMessages: 10, waitTimeMs: 500 });
      // Assess
      expect([...sqs.capabilities].sort()).toEqual(['attributes', 'deduplication', 'ordering', 'pull']);
      expect(first.sequence).toMatch(/^\d+$/);
      expect(batch).toMatchObject({ succeeded: 2, failed: 1 });
      expect(batch.results[1]).toMatchObject({ ok: false, error: { name: 'ValidationError' } });
      expect(messages.map((m) => [m.body, m.orderingKey])).toEqual([
        ['a', 'account-1'],
        ['b', 'account-1'],
        ['c', 'account-1'],
      ]);
      expect(messages[0]).toMatchObject({ deduplicationId: 'tx-1', redelivered: false, deliveryCount: 1 });
    });

    it('refuses an ordering key on a standard queue with a 501 before calling SQS', async () => {
      // Act
      const before = aws.calls.length;
      const response = await call('publish-message', { body: 'x', orderingKey: 'g' });
      // Assess
      expect(response.statusCode).toBe(501);
      expect(aws.calls.length).toBe(before);
    });
  });

  describe('Class: SqsPublisher failures', () => {
    const url = () => aws.queueUrl(QUEUE);

    it('maps throttling to RateLimitedError with the wait AWS asked for', async () => {
      const failure = new SqsPublisher(failingSdk('ThrottlingException', 400), options(url())).publish({
        body: 'x',
      });
      await expect(failure).rejects.toMatchObject({ name: 'RateLimitedError', retryAfterMs: 2_000 });
    });

    it('maps a missing queue to a ConfigurationError naming the setting', async () => {
      const sqs = await SqsPublisher.create(options(aws.queueUrl('no-such-queue')));
      await expect(sqs.ping()).rejects.toMatchObject({
        name: 'ConfigurationError',
        message: 'queue "no-such-queue" does not exist: check SQS_QUEUE_URL',
      });
    });

    it('maps a refused role to a ConfigurationError, a 5xx to UnavailableError, an abort to TimeoutError', async () => {
      // Prepare
      aws.failNext('AmazonSQS.SendMessage', { type: 'AccessDeniedException', status: 400 });
      const sqs = await SqsPublisher.create(options(url()));
      // Act
      const denied = await sqs.publish({ body: 'x' }).catch((error: Error) => error);
      const down = await new SqsPublisher(failingSdk('InternalError', 500), options(url()))
        .receive({})
        .catch((error: Error) => error);
      const slow = await new SqsPublisher(failingSdk('AbortError', 0), options(url()))
        .acknowledge({ receipts: ['r'] })
        .catch((error: Error) => error);
      // Assess
      expect(denied).toMatchObject({ name: 'ConfigurationError' });
      expect(down).toMatchObject({ name: 'UnavailableError', retryable: true });
      expect(slow).toMatchObject({ name: 'TimeoutError' });
    });

    it('answers an unreadable message as UnexpectedResponseError', async () => {
      // Prepare
      const sdk = { send: async () => ({ Messages: [{ MessageId: 'm' }] }) } as unknown as SQSClient;
      // Act
      const out = new SqsPublisher(sdk, options(url())).receive({});
      // Assess
      await expect(out).rejects.toMatchObject({ name: 'UnexpectedResponseError' });
    });
  });

  describe('Concurrent invocations of one warm handler (Lambda Managed Instances)', () => {
    it('keeps a long poll waiting while other invocations poll with their own time left and publish, and it takes their message', async () => {
      // Prepare
      const invoke = async (operation: string, body: unknown, remainingMs: number) =>
        (await connector.handler(
          httpEvent({ path: `/sqs/${operation}`, body }),
          lambdaContext({ remainingMs }),
        )) as HttpResult;
      const before = aws.calls.length;
      // Act: the long poll is in flight while a short invocation polls and a third publishes.
      const waiting = invoke('receive-messages', { maxMessages: 1, waitTimeMs: 5_000 }, 25_000);
      const short = await invoke('receive-messages', { maxMessages: 1, waitTimeMs: 20_000 }, 3_000);
      const sent = await invoke('publish-message', { body: '{"during":"poll"}' }, 25_000);
      const long = await waiting;
      const messages = parsed(long)['messages'] as { receipt: string; body: string }[];
      await call('acknowledge-messages', { receipts: messages.map((message) => message.receipt) });
      // Assess
      expect(parsed(short)).toEqual({ messages: [] });
      expect(sent.statusCode).toBe(200);
      expect(messages.map((message) => message.body)).toEqual(['{"during":"poll"}']);
      const waits = aws.calls
        .slice(before)
        .filter((c) => c.target === 'AmazonSQS.ReceiveMessage')
        .map((c) => c.body['WaitTimeSeconds'])
        .sort();
      expect(waits).toEqual([0, 5]);
      expect(aws.queueCounts(QUEUE)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });
  });

  describe('Triggers', () => {
    it('runs a queued request and reports no failed record', async () => {
      // Act
      const event = sqsEvent([
        { body: { operation: 'publish-message', input: { body: '{"from":"queue"}' } } },
      ]);
      const result = await connector.handler(event, lambdaContext());
      const { messages } = (await connector.run('receive-messages', {
        maxMessages: 10,
        waitTimeMs: 500,
      })) as ReceiveOutput;
      // Assess
      expect(result).toEqual({ batchItemFailures: [] });
      expect(messages.map((m) => m.body)).toContain('{"from":"queue"}');
      await connector.run('acknowledge-messages', { receipts: messages.map((m) => m.receipt) });
    });

    it('sends the entries of a queued batch it can and moves only the refused one to the dead-letter queue', async () => {
      // Prepare: the audit's case, a NUL in one entry of three
      process.env['CIRCLE_DEAD_LETTER_QUEUE_URL'] = aws.queueUrl(DLQ);
      const sdk = new SQSClient({
        endpoint: aws.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        maxAttempts: 1,
      });
      const entries = [{ body: 'good-1' }, { body: 'bad\u0000x' }, { body: 'good-2' }];
      try {
        // Act
        const result = await connector.handler(
          sqsEvent([{ messageId: 'batch-1', body: { operation: 'publish-batch', input: { entries } } }]),
          lambdaContext(),
        );
        const sent = (await connector.run('receive-messages', {
          maxMessages: 10,
          waitTimeMs: 500,
        })) as ReceiveOutput;
        const parked = (await new SqsPublisher(sdk, options(aws.queueUrl(DLQ))).receive({
          maxMessages: 10,
          waitTimeMs: 500,
        })) as ReceiveOutput;
        // Assess
        expect(result).toEqual({ batchItemFailures: [] });
        expect(sent.messages.map((m) => m.body).sort()).toEqual(['good-1', 'good-2']);
        expect(parked.messages).toHaveLength(1);
        expect(JSON.parse(parked.messages[0]?.body ?? '')).toMatchObject({
          operation: 'publish-batch',
          input: { entries: [{ body: 'bad\u0000x' }] },
          idempotencyKey: 'batch-1:unfinished',
        });
        expect(parked.messages[0]?.attributes).toMatchObject({
          errorName: 'ValidationError',
          errorMessage: expect.stringContaining('/entries/1'),
        });
        await connector.run('acknowledge-messages', { receipts: sent.messages.map((m) => m.receipt) });
      } finally {
        delete process.env['CIRCLE_DEAD_LETTER_QUEUE_URL'];
      }
    });

    it('runs a Step Functions task envelope and answers health with its capabilities', async () => {
      // Act
      const output = await connector.handler(
        { operation: 'publish-batch', input: { entries: [{ body: '1' }, { body: '2' }] } },
        lambdaContext(),
      );
      const health = (await connector.handler(
        httpEvent({ method: 'GET', path: '/sqs/health' }),
        lambdaContext(),
      )) as HttpResult;
      // Assess
      expect(output).toMatchObject({ succeeded: 2, failed: 0 });
      expect(health.statusCode).toBe(200);
      expect(parsed(health)['capabilities']).toEqual(['attributes', 'pull']);
      const { messages } = (await connector.run('receive-messages', {
        maxMessages: 10,
        waitTimeMs: 500,
      })) as ReceiveOutput;
      await connector.run('acknowledge-messages', { receipts: messages.map((m) => m.receipt) });
    });

    it('refuses another queue with a 403 and an unknown field with a 400 naming it', async () => {
      // Act
      const other = await call('publish-message', { destination: 'someone-elses', body: 'x' });
      const typo = await call('receive-messages', { maxMesages: 1 });
      // Assess
      expect(other.statusCode).toBe(403);
      expect(typo.statusCode).toBe(400);
      expect(parsed(typo)['errors']).toEqual([{ pointer: '/maxMesages', message: 'unknown field' }]);
    });
  });
});
