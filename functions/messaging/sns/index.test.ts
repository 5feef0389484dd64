/**
 * The Amazon SNS connector against the local stack's own SNS endpoint (query protocol), spoken to by the
 * real AWS SDK client: the message-publisher conformance suite (observed through an SQS queue subscribed
 * with raw delivery), filter policies, FIFO topics, subscriptions and attributes, every trigger, and the
 * failure paths the AWS kit maps.
 */
import { randomUUID } from 'node:crypto';
import { SNSClient } from '@aws-sdk/client-sns';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  describeMessagePublisherConformance,
  type ObservedMessage,
} from '#shared/interfaces/message-publisher.conformance.ts';
import { type AwsEndpointPeer, startAwsEndpointPeer } from '../../../test/peers/aws-endpoint.ts';
import { SnsPublisher } from './client.ts';

interface HttpResult {
  statusCode: number;
  body: string;
}

const TOPIC = `sns-connector-${randomUUID().slice(0, 8)}`;
const FIFO = `sns-connector-${randomUUID().slice(0, 8)}.fifo`;
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
let aws: AwsEndpointPeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };
const options = (topicArn: string) => ({ topicArn, timeoutMs: 2_000, maxAttempts: 1 });

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({ path: `/sns/${operation}`, body });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

/** Subscribes a new queue to a topic of `peer` (raw delivery, optional filter) and reads what reaches it. */
function subscriber(peer: AwsEndpointPeer, topic: string, filterPolicy?: object) {
  const queue = `sub-${randomUUID().slice(0, 8)}${topic.endsWith('.fifo') ? '.fifo' : ''}`;
  const created = peer.topics.subscribe(peer.topicArn(topic), 'sqs', peer.queueArn(queue), {
    RawMessageDelivery: 'true',
    ...(filterPolicy === undefined ? {} : { FilterPolicy: JSON.stringify(filterPolicy) }),
  });
  const sqs = new SQSClient({ endpoint: peer.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  return {
    subscriptionArn: created.arn,
    queue,
    collect: async (waitMs: number): Promise<ObservedMessage[]> => {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: peer.queueUrl(queue),
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: Math.min(20, Math.floor(waitMs / 1000)),
          MessageAttributeNames: ['All'],
          MessageSystemAttributeNames: ['MessageGroupId', 'MessageDeduplicationId'],
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length > 0) {
        await sqs.send(
          new DeleteMessageBatchCommand({
            QueueUrl: peer.queueUrl(queue),
            Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
          }),
        );
      }
      return messages.map((m) => ({
        body: m.Body ?? '',
        attributes: Object.fromEntries(
          Object.entries(m.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue ?? '']),
        ),
        orderingKey: m.Attributes?.MessageGroupId,
        deduplicationId: m.Attributes?.MessageDeduplicationId,
      }));
    },
  };
}

function failingSdk(name: string, status: number): SNSClient {
  const error = Object.assign(new Error(`${name} from the test`), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'req-1' },
    $response: { headers: { 'retry-after': '2' } },
  });
  return { send: async () => Promise.reject(error) } as unknown as SNSClient;
}

beforeAll(async () => {
  aws = await startAwsEndpointPeer({ topics: [TOPIC, FIFO], createOnUse: true });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SNS: aws.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    SNS_TOPIC_ARN: aws.topicArn(TOPIC),
    SNS_TIMEOUT_MS: '3000',
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

describeMessagePublisherConformance('Amazon SNS on the local stack endpoint', async () => {
  const topic = `conformance-${randomUUID().slice(0, 8)}`;
  const peer = await startAwsEndpointPeer({ topics: [topic], createOnUse: true });
  const sdk = new SNSClient({ endpoint: peer.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  // The subscriber queue is created by its first receive (createOnUse), before anything is published.
  const { collect } = subscriber(peer, topic);
  await collect(0);
  return {
    publisher: new SnsPublisher(sdk, options(peer.topicArn(topic))),
    collect,
    disallowedDestination: 'another-teams-topic',
    close: () => peer.close(),
  };
});

describe('Connector: sns', () => {
  describe('Operations: publish-message, publish-batch', () => {
    it('reaches only the subscribers whose filter policy matches the attributes', async () => {
      // Prepare
      const orders = subscriber(aws, TOPIC, { kind: ['order'] });
      const everything = subscriber(aws, TOPIC);
      await Promise.all([orders.collect(0), everything.collect(0)]);
      // Act
      const sent = await call('publish-message', { body: '{"order":1}', attributes: { kind: 'order' } });
      await call('publish-message', { body: '{"refund":1}', attributes: { kind: 'refund' } });
      // Assess
      expect(sent.statusCode).toBe(200);
      expect(parsed(sent)['messageId']).toMatch(/^[0-9a-f-]{36}$/);
      expect((await orders.collect(0)).map((m) => [m.body, m.attributes])).toEqual([
        ['{"order":1}', { kind: 'order' }],
      ]);
      expect((await everything.collect(0)).map((m) => m.body).sort()).toEqual([
        '{"order":1}',
        '{"refund":1}',
      ]);
    });

    it('lists the subscriptions and reports the topic attributes', async () => {
      // Act
      const listed = await call('list-subscriptions', {});
      const attributes = await call('get-topic-attributes', {});
      // Assess
      const subscriptions = parsed(listed)['subscriptions'] as { protocol: string; endpoint: string }[];
      expect(subscriptions.length).toBeGreaterThanOrEqual(2);
      expect(subscriptions.every((s) => s.protocol === 'sqs' && s.endpoint.startsWith('arn:aws:sqs:'))).toBe(
        true,
      );
      expect(parsed(attributes)).toMatchObject({ topicArn: aws.topicArn(TOPIC), fifo: false });
      expect(parsed(attributes)['subscriptionsConfirmed']).toBe(subscriptions.length);
    });
    it('refuses a body or attribute value an SQS subscriber cannot carry with a 400 naming it, before calling SNS', async () => {
      // Prepare
      const orders = subscriber(aws, TOPIC, { kind: ['order'] });
      await orders.collect(0);
      const before = aws.calls.length;
      // Act
      const body = await call('publish-message', { body: 'ctl\u0001char', attributes: { kind: 'order' } });
      const attribute = await call('publish-message', { body: 'x', attributes: { kind: 'or\u0000der' } });
      const surrogate = await call('publish-message', { body: 'half \ud800', attributes: { kind: 'order' } });
      const batch = await call('publish-batch', {
        entries: [{ body: 'fine' }, { body: 'x\uffff', attributes: { kind: 'order', note: 'a\u001fb' } }],
      });
      const refusedCalls = aws.calls.length - before;
      const fine = await call('publish-message', {
        body: 'tab\tline\ncr\r \u0085 é 😀',
        attributes: { kind: 'order' },
      });
      // Assess
      expect([body, attribute, surrogate, batch].map((r) => r.statusCode)).toEqual([400, 400, 400, 400]);
      expect(parsed(body)).toMatchObject({
        code: 'validation_error',
        errors: [{ pointer: '/body', message: expect.stringContaining('U+0001') }],
      });
      expect(parsed(attribute)['errors']).toEqual([
        { pointer: '/attributes/kind', message: expect.stringContaining('U+0000') },
      ]);
      expect(parsed(surrogate)['errors']).toEqual([{ pointer: '/body', message: expect.any(String) }]);
      expect(parsed(batch)['errors']).toEqual([
        { pointer: '/entries/1/body', message: expect.stringContaining('U+FFFF') },
        { pointer: '/entries/1/attributes/note', message: expect.stringContaining('U+001F') },
      ]);
      expect(refusedCalls).toBe(0);
      expect(fine.statusCode).toBe(200);
      expect((await orders.collect(0)).map((m) => m.body)).toEqual(['tab\tline\ncr\r \u0085 é 😀']);
    });

    it("counts each attribute's data type toward SNS's 256 KiB, refusing before the call a message SNS would", async () => {
      // Prepare: ten attributes of 3 bytes of name and value each; the body fills 256 KiB with them, so
      // only the 6 bytes of each attribute's type ("String") take the message over, as SNS counts it.
      const attributes = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`a${i}`, 'v']));
      const body = 'é'.repeat((262_144 - 30) / 2);
      const before = aws.calls.length;
      // Act
      const over = await call('publish-message', { body, attributes });
      const refusedCalls = aws.calls.length - before;
      const fits = await call('publish-message', { body: body.slice(30), attributes });
      // Assess
      expect(over.statusCode).toBe(413);
      expect(parsed(over)).toMatchObject({
        code: 'payload_too_large',
        detail: expect.stringContaining('262204 bytes (body and attributes, with their names and types)'),
      });
      expect(refusedCalls).toBe(0);
      expect(fits.statusCode).toBe(200);
    });

    it('refuses a nextToken SNS did not issue with a 400 naming /nextToken', async () => {
      // Act
      const refused = await Promise.all(
        ['garbage', '-1', '1.5'].map((nextToken) => call('list-subscriptions', { nextToken })),
      );
      // Assess
      for (const response of refused) {
        expect(response.statusCode).toBe(400);
        expect(parsed(response)['errors']).toEqual([
          { pointer: '/nextToken', message: 'expected the nextToken of a previous list-subscriptions page' },
        ]);
      }
    });
  });

  describe('FIFO topics', () => {
    it('carries group and deduplication ids, drops a repeat, and reports an entry without a group alone', async () => {
      // Prepare
      const ledger = subscriber(aws, FIFO);
      await ledger.collect(0);
      const sns = await SnsPublisher.create(options(aws.topicArn(FIFO)));
      // Act
      const first = await sns.publish({ body: 'debit 5', orderingKey: 'account-1', deduplicationId: 'tx-1' });
      const again = await sns.publish({ body: 'debit 5', orderingKey: 'account-1', deduplicationId: 'tx-1' });
      const batch = await sns.publishBatch({
        entries: [
          { body: 'credit 2', orderingKey: 'account-1', deduplicationId: 'tx-2' },
          { body: 'no group', deduplicationId: 'tx-3' },
        ],
      });
      const seen = await ledger.collect(0);
      // Assess
      expect([...sns.capabilities].sort()).toEqual(['attributes', 'deduplication', 'ordering']);
      expect(again.messageId).toBe(first.messageId);
      expect(first.sequence).toMatch(/^\d+$/);
      expect(batch).toMatchObject({ succeeded: 1, failed: 1 });
      expect(batch.results[1]).toMatchObject({
        ok: false,
        error: { name: 'ValidationError', retryable: false },
      });
      expect(seen.map((m) => [m.body, m.orderingKey, m.deduplicationId])).toEqual([
        ['debit 5', 'account-1', 'tx-1'],
        ['credit 2', 'account-1', 'tx-2'],
      ]);
    });

    it('refuses an ordering key on a standard topic with a 501 before calling SNS', async () => {
      // Act
      const before = aws.calls.length;
      const response = await call('publish-message', { body: 'x', orderingKey: 'g' });
      const receive = await call('receive-messages', {});
      // Assess
      expect([response.statusCode, receive.statusCode]).toEqual([501, 501]);
      expect(aws.calls.length).toBe(before);
    });
  });

  describe('Class: SnsPublisher failures', () => {
    const arn = () => aws.topicArn(TOPIC);

    it('maps throttling to RateLimitedError with the wait AWS asked for', async () => {
      const failure = new SnsPublisher(failingSdk('ThrottledException', 400), options(arn())).publish({
        body: 'x',
      });
      await expect(failure).rejects.toMatchObject({ name: 'RateLimitedError', retryAfterMs: 2_000 });
    });

    it('maps a missing topic to a ConfigurationError naming the setting, over the real protocol', async () => {
      const sns = await SnsPublisher.create(options(aws.topicArn('no-such-topic')));
      await expect(sns.publish({ body: 'x' })).rejects.toMatchObject({
        name: 'ConfigurationError',
        message: 'topic "no-such-topic" does not exist: check SNS_TOPIC_ARN',
      });
    });

    it('maps a refused role, a 5xx and an abort', async () => {
      // Prepare
      aws.failNext('sns.Publish', { type: 'AuthorizationError', status: 403 });
      const sns = await SnsPublisher.create(options(arn()));
      // Act
      const denied = await sns.publish({ body: 'x' }).catch((error: Error) => error);
      const down = await new SnsPublisher(failingSdk('InternalErrorException', 500), options(arn()))
        .publishBatch({ entries: [{ body: 'x' }] })
        .catch((error: Error) => error);
      const slow = await new SnsPublisher(failingSdk('AbortError', 0), options(arn()))
        .listSubscriptions({})
        .catch((error: Error) => error);
      // Assess
      expect(denied).toMatchObject({
        name: 'ConfigurationError',
        message: expect.stringContaining('sns:Publish'),
      });
      expect(down).toMatchObject({ name: 'UnavailableError', retryable: true });
      expect(slow).toMatchObject({ name: 'TimeoutError' });
    });
  });

  describe('Concurrent invocations of one warm handler (Lambda Managed Instances)', () => {
    it("answers each of two interleaved invocations with its own publish, even when the first's answer comes last", async () => {
      // Prepare: the first Publish's answer is held until the second invocation's call was answered.
      const everything = subscriber(aws, TOPIC);
      await everything.collect(0);
      const send = SNSClient.prototype.send;
      let secondAnswered = (): void => undefined;
      const second = new Promise<void>((resolve) => {
        secondAnswered = resolve;
      });
      let sends = 0;
      const spy = vi.spyOn(SNSClient.prototype, 'send').mockImplementation(async function (
        this: SNSClient,
        ...args: unknown[]
      ) {
        sends += 1;
        const answer = await (send as (...all: unknown[]) => Promise<unknown>).apply(this, args);
        if (sends === 1) await second;
        else secondAnswered();
        return answer;
      });
      // Act
      const [single, batch] = await Promise.all([
        call('publish-message', { body: '{"from":"single"}' }),
        call('publish-batch', {
          entries: [{ body: '{"from":"batch","n":1}' }, { body: '{"from":"batch","n":2}' }],
        }),
      ]).finally(() => spy.mockRestore());
      // Assess
      expect(sends).toBe(2);
      expect(parsed(single)).toEqual({ messageId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      expect(parsed(batch)).toMatchObject({ succeeded: 2, failed: 0 });
      const ids = (parsed(batch)['results'] as { messageId: string }[]).map((result) => result.messageId);
      expect(new Set([parsed(single)['messageId'], ...ids]).size).toBe(3);
      expect((await everything.collect(0)).map((m) => m.body).sort()).toEqual([
        '{"from":"batch","n":1}',
        '{"from":"batch","n":2}',
        '{"from":"single"}',
      ]);
    });
  });

  describe('Triggers', () => {
    it('runs a queued request and a Step Functions task, and answers health', async () => {
      // Prepare
      const listener = subscriber(aws, TOPIC);
      await listener.collect(0);
      // Act
      const queued = await connector.handler(
        sqsEvent([{ body: { operation: 'publish-message', input: { body: '{"from":"queue"}' } } }]),
        lambdaContext(),
      );
      const task = await connector.handler(
        { operation: 'publish-batch', input: { entries: [{ body: '{"from":"task"}' }] } },
        lambdaContext(),
      );
      const health = (await connector.handler(
        httpEvent({ method: 'GET', path: '/sns/health' }),
        lambdaContext(),
      )) as HttpResult;
      // Assess
      expect(queued).toEqual({ batchItemFailures: [] });
      expect(task).toMatchObject({ succeeded: 1, failed: 0 });
      expect(health.statusCode).toBe(200);
      expect(parsed(health)['capabilities']).toEqual(['attributes']);
      expect((await listener.collect(0)).map((m) => m.body).sort()).toEqual([
        '{"from":"queue"}',
        '{"from":"task"}',
      ]);
    });

    it('refuses another topic with a 403 and an unknown field with a 400 naming it', async () => {
      const other = await call('publish-message', { destination: 'someone-elses', body: 'x' });
      const typo = await call('list-subscriptions', { nextTokn: 'x' });
      expect(other.statusCode).toBe(403);
      expect(typo.statusCode).toBe(400);
      expect(parsed(typo)['errors']).toEqual([{ pointer: '/nextTokn', message: 'unknown field' }]);
    });
  });
});
