import type { SQSEvent } from 'aws-lambda';
import { describe, expect, it } from 'vitest';
import { sqsService } from '../../scripts/local/aws/sqs.ts';
import type { SqsMapping } from '../../scripts/local/config/model.ts';
import type { InvokeOutcome } from '../../scripts/local/functions/function-process.ts';
import { createStackLog } from '../../scripts/local/log.ts';
import { EventSourceMapping } from '../../scripts/local/queues/event-source-mapping.ts';
import { md5OfAttributes, md5OfBody } from '../../scripts/local/queues/md5.ts';
import { QueueEngine } from '../../scripts/local/queues/queue-engine.ts';

const log = createStackLog({ pretty: false, write: () => undefined });

function engineWithDlq(maxReceiveCount = 2) {
  const engine = new QueueEngine({
    region: 'us-east-1',
    accountId: '000000000000',
    baseUrl: 'http://127.0.0.1:4566',
  });
  const dlq = engine.create('jobs-dlq');
  const queue = engine.create('jobs', {
    VisibilityTimeout: '30',
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount }),
  });
  return { engine, queue, dlq };
}

describe('Class: LocalQueue', () => {
  describe('Method: receive', () => {
    it('moves a message to the dead-letter queue after maxReceiveCount receives, keeping its id', () => {
      // Prepare
      const { queue, dlq } = engineWithDlq(2);
      const { messageId } = queue.send({ body: 'poison' });

      // Act
      const receives: number[] = [];
      for (let attempt = 0; attempt < 3; attempt += 1) {
        const [message] = queue.receive({ max: 1 });
        if (message !== undefined) {
          receives.push(message.receiveCount);
          queue.changeVisibility(message.receiptHandle ?? '', 0);
        }
      }

      // Assess
      expect(receives).toEqual([1, 2]);
      expect(dlq.receive({ max: 10 }).map((message) => message.id)).toEqual([messageId]);
      expect(queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    });

    it('hides a received message for the visibility timeout and honours a delay', () => {
      // Prepare
      const { queue } = engineWithDlq();
      queue.send({ body: 'now' });
      queue.send({ body: 'later', delaySeconds: 60 });

      // Act
      const first = queue.receive({ max: 10 });
      const second = queue.receive({ max: 10 });

      // Assess
      expect(first.map((message) => message.body)).toEqual(['now']);
      expect(second).toEqual([]);
      expect(queue.counts()).toEqual({ visible: 0, inFlight: 1, delayed: 1 });
    });
  });

  describe('Method: delete', () => {
    it('ignores a stale receipt handle and refuses a malformed one', () => {
      // Prepare
      const { queue } = engineWithDlq(10);
      queue.send({ body: 'x' });
      // Handles are read at once: a received message object carries its latest handle.
      const stale = String(queue.receive({ max: 1 })[0]?.receiptHandle);
      queue.changeVisibility(stale, 0);
      const current = String(queue.receive({ max: 1 })[0]?.receiptHandle);

      // Act
      queue.delete(stale);
      const afterStale = queue.counts();
      queue.delete(current);

      // Assess
      expect(afterStale.inFlight).toBe(1);
      expect(queue.counts().inFlight).toBe(0);
      expect(() => queue.delete('garbage')).toThrow(/not a valid receipt handle/);
    });
  });

  describe('Method: changeVisibility', () => {
    it('refuses a message that is not in flight', () => {
      // Prepare
      const { queue } = engineWithDlq();
      queue.send({ body: 'x' });
      const [message] = queue.receive({ max: 1 });
      queue.changeVisibility(message?.receiptHandle ?? '', 0);

      // Act
      const again = () => queue.changeVisibility(message?.receiptHandle ?? '', 5);

      // Assess
      expect(again).toThrow(expect.objectContaining({ type: 'MessageNotInflight' }));
    });
  });

  describe('Method: send (FIFO)', () => {
    it('requires a group, deduplicates within five minutes and serves one group at a time', () => {
      // Prepare
      const engine = new QueueEngine({ region: 'us-east-1', accountId: '000000000000', baseUrl: 'http://h' });
      const queue = engine.create('orders.fifo', { FifoQueue: 'true', ContentBasedDeduplication: 'true' });

      // Act
      const a1 = queue.send({ body: 'a1', groupId: 'a' });
      queue.send({ body: 'a2', groupId: 'a' });
      queue.send({ body: 'b1', groupId: 'b' });
      const duplicate = queue.send({ body: 'a1', groupId: 'a' });
      const first = queue.receive({ max: 1 });
      const second = queue.receive({ max: 10 });

      // Assess
      expect(() => queue.send({ body: 'x' })).toThrow(/MessageGroupId/);
      expect(duplicate.messageId).toBe(a1.messageId);
      expect(Number(duplicate.sequenceNumber)).toBeGreaterThan(0);
      expect(first.map((message) => message.body)).toEqual(['a1']);
      expect(second.map((message) => message.body)).toEqual(['b1']);
    });
  });
});

describe('Class: QueueEngine', () => {
  describe('Method: create', () => {
    it('returns the same queue for equal attributes and refuses different ones', () => {
      // Prepare
      const engine = new QueueEngine({
        region: 'us-east-1',
        accountId: '000000000000',
        baseUrl: 'http://h:1',
      });
      const queue = engine.create('q', { VisibilityTimeout: '10' });

      // Act
      const again = engine.create('q', { VisibilityTimeout: '10' });

      // Assess
      expect(again).toBe(queue);
      expect(() => engine.create('q', { VisibilityTimeout: '20' })).toThrow(
        expect.objectContaining({ type: 'QueueNameExists' }),
      );
      expect(engine.byUrl('http://localhost:9/000000000000/q')).toBe(queue);
      expect(() => engine.byUrl('http://h:1/000000000000/missing')).toThrow(/does not exist/);
    });
  });
});

describe('Function: md5OfAttributes', () => {
  it('digests attributes independently of their order and sensitive to type and value', () => {
    // Act
    const one = md5OfAttributes({
      a: { DataType: 'String', StringValue: 'x' },
      b: { DataType: 'Number', StringValue: '1' },
    });
    const reordered = md5OfAttributes({
      b: { DataType: 'Number', StringValue: '1' },
      a: { DataType: 'String', StringValue: 'x' },
    });
    const retyped = md5OfAttributes({
      a: { DataType: 'String', StringValue: 'x' },
      b: { DataType: 'String', StringValue: '1' },
    });

    // Assess
    expect(one).toMatch(/^[0-9a-f]{32}$/);
    expect(reordered).toBe(one);
    expect(retyped).not.toBe(one);
    expect(md5OfAttributes({})).toBeUndefined();
    expect(md5OfBody('hello')).toBe('5d41402abc4b2a76b9719d911017c592');
  });
});

describe('Class: EventSourceMapping', () => {
  const spec: SqsMapping = {
    functionKey: 'fn',
    queueName: 'jobs',
    batchSize: 10,
    batchingWindowSeconds: 0,
    reportBatchItemFailures: true,
    enabled: true,
    maximumConcurrency: 1,
  };
  const outcome = (payload: unknown): InvokeOutcome => ({
    requestId: 'r',
    durationMs: 1,
    logTail: '',
    payload: JSON.stringify(payload),
  });

  async function runOnce(respond: (event: SQSEvent) => InvokeOutcome, options: Partial<SqsMapping> = {}) {
    const { queue } = engineWithDlq(5);
    for (const body of ['ok-1', 'bad', 'ok-2']) queue.send({ body });
    const events: SQSEvent[] = [];
    const mapping = new EventSourceMapping({ ...spec, ...options }, queue, {
      invoke: async (event) => {
        events.push(event);
        return respond(event);
      },
      region: 'us-east-1',
      log,
    });
    mapping.start();
    while (events.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await mapping.stop();
    return { queue, events, stats: mapping.stats };
  }

  it('deletes the successes of a batch and leaves the reported failures in flight', async () => {
    // Act
    const { queue, events } = await runOnce((event) =>
      outcome({
        batchItemFailures: event.Records.filter((record) => record.body === 'bad').map((record) => ({
          itemIdentifier: record.messageId,
        })),
      }),
    );

    // Assess
    expect(events[0]?.Records.map((record) => record.body)).toEqual(['ok-1', 'bad', 'ok-2']);
    expect(events[0]?.Records[0]).toMatchObject({
      eventSource: 'aws:sqs',
      attributes: { ApproximateReceiveCount: '1' },
    });
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 1, delayed: 0 });
  });

  it('keeps the whole batch when the function throws or names an unknown item', async () => {
    // Act
    const thrown = await runOnce(() => ({
      requestId: 'r',
      durationMs: 1,
      logTail: '',
      error: { errorType: 'Error', errorMessage: 'boom' },
    }));
    const unknown = await runOnce(() => outcome({ batchItemFailures: [{ itemIdentifier: 'not-in-batch' }] }));

    // Assess
    expect(thrown.queue.counts().inFlight).toBe(3);
    expect(thrown.stats.failedBatches).toBe(1);
    expect(unknown.queue.counts().inFlight).toBe(3);
  });

  it('deletes everything without ReportBatchItemFailures', async () => {
    // Act
    const { queue, stats } = await runOnce(() => outcome({ batchItemFailures: [{ itemIdentifier: 'x' }] }), {
      reportBatchItemFailures: false,
    });

    // Assess
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    expect(stats).toMatchObject({ batches: 1, received: 3, deleted: 3 });
  });
});

describe('Function: sqsService (message size)', () => {
  // SQS takes messages up to 1 MiB since January 2026 (AWS Compute Blog, "More room to build: serverless
  // services now support payloads up to 1 MB"): a new queue's MaximumMessageSize and a batch's total.
  const setup = () => {
    const engine = new QueueEngine({ region: 'us-east-1', accountId: '000000000000', baseUrl: 'http://h:1' });
    const url = engine.create('sizes', {}).url;
    return { sqs: sqsService(engine), url };
  };

  it('gives a new queue 1 MiB, takes a 600 KiB message and refuses one over 1 MiB naming the limit', async () => {
    // Prepare
    const { sqs, url } = setup();
    // Act
    const attributes = (await sqs({
      operation: 'GetQueueAttributes',
      body: { QueueUrl: url, AttributeNames: ['MaximumMessageSize'] },
    })) as { Attributes: Record<string, string> };
    const sent = (await sqs({
      operation: 'SendMessage',
      body: { QueueUrl: url, MessageBody: 'x'.repeat(600 * 1024) },
    })) as Record<string, unknown>;
    const over = await sqs({
      operation: 'SendMessage',
      body: { QueueUrl: url, MessageBody: 'x'.repeat(1_048_577) },
    }).catch((error: unknown) => error);
    // Assess
    expect(attributes.Attributes['MaximumMessageSize']).toBe('1048576');
    expect(sent['MessageId']).toEqual(expect.any(String));
    expect(over).toMatchObject({
      type: 'InvalidParameterValue',
      message: expect.stringContaining('1048576'),
    });
  });

  it('refuses a batch whose messages together are over 1 MiB as a whole, sending none of it', async () => {
    // Prepare: two 600 KiB messages, each within the limit
    const { sqs, url } = setup();
    const entry = (id: string) => ({ Id: id, MessageBody: 'x'.repeat(600 * 1024) });
    // Act
    const over = await sqs({
      operation: 'SendMessageBatch',
      body: { QueueUrl: url, Entries: [entry('a'), entry('b')] },
    }).catch((error: unknown) => error);
    const one = (await sqs({
      operation: 'SendMessageBatch',
      body: { QueueUrl: url, Entries: [entry('c')] },
    })) as {
      Successful: unknown[];
    };
    const received = (await sqs({
      operation: 'ReceiveMessage',
      body: { QueueUrl: url, MaxNumberOfMessages: 10 },
    })) as { Messages?: unknown[] };
    // Assess
    expect(over).toMatchObject({ type: 'BatchRequestTooLong', message: expect.stringContaining('1048576') });
    expect(one.Successful).toHaveLength(1);
    expect(received.Messages).toHaveLength(1);
  });
});
