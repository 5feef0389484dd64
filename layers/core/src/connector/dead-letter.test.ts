import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type AwsJsonFake, startAwsJsonFake } from '../../../../test/fakes/aws-json.ts';
import {
  AuthError,
  ConfigurationError,
  ForbiddenError,
  NotFoundError,
  UnavailableError,
  ValidationError,
} from '../errors.ts';
import { type CapturedLogs, captureLogs, lambdaContext, sqsEvent } from '../testing/index.ts';
import { deadLetterMessage } from './dead-letter.ts';
import { defineConnector } from './define.ts';

const DLQ = (endpoint: string): string => `${endpoint}/123456789012/echo-requests-dlq`;

function connector() {
  return defineConnector({
    name: 'echo',
    version: '2.1.0',
    config: z.object({}),
    setup: () => ({}),
    operations: (op) => ({
      'echo-text': op({
        description: 'Echoes text',
        input: z.object({ text: z.string() }),
        output: z.object({ text: z.string() }),
        run: async ({ text }) => {
          if (text === 'down') throw new UnavailableError('provider down');
          if (text === 'missing') throw new NotFoundError('No such thing');
          if (text === 'revoked') throw new AuthError('the token was refused, even after reading it again');
          if (text === 'scope') throw new ForbiddenError('the token lacks a scope');
          if (text === 'unset') throw new ConfigurationError('secret circle-core/dev/x is missing');
          return { text };
        },
      }),
      'send-batch': op({
        description: 'Sends texts, one result per entry; "refused" and "busy" entries are not sent',
        effect: 'write',
        input: z.object({ to: z.string(), entries: z.array(z.string()) }),
        output: z.object({ results: z.array(z.object({ index: z.number(), ok: z.boolean() })) }),
        unfinished: (output, input) => {
          if (input.to === 'buggy') throw new TypeError('a bug in the reader');
          const left = output.results.filter((result) => !result.ok).map((result) => result.index);
          if (left.length === 0) return undefined;
          return {
            input: { ...input, entries: left.map((index) => input.entries[index]) },
            issues: left.map((index) => ({
              pointer: `/entries/${index}`,
              message: `${input.entries[index]}`,
            })),
            retryable: left.some((index) => input.entries[index] === 'busy'),
          };
        },
        run: async ({ entries }) => ({
          results: entries.map((text, index) => ({ index, ok: text !== 'refused' && text !== 'busy' })),
        }),
      }),
    }),
  });
}

type Batch = { batchItemFailures: { itemIdentifier: string }[] };

describe('Dead letters', () => {
  let aws: AwsJsonFake;
  let logs: CapturedLogs;
  const saved = { ...process.env };

  beforeAll(async () => {
    aws = await startAwsJsonFake();
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_SQS: aws.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
  });
  afterAll(async () => {
    process.env = saved;
    await aws.close();
  });
  beforeEach(() => {
    logs = captureLogs();
    process.env['CIRCLE_DEAD_LETTER_QUEUE_URL'] = DLQ(aws.endpoint);
    aws.calls.length = 0;
  });
  afterEach(() => {
    logs.restore();
    delete process.env['CIRCLE_DEAD_LETTER_QUEUE_URL'];
  });

  it('moves a poison record to the DLQ at once with its reason, and reports the batch handled', async () => {
    // Prepare
    const event = sqsEvent([
      { messageId: 'ok', body: { operation: 'echo-text', input: { text: 'hi' } } },
      { messageId: 'poison', body: { operation: 'echo-text', input: { text: 7 } }, correlationId: 'corr-9' },
      { messageId: 'gone', body: { operation: 'echo-text', input: { text: 'missing' } } },
    ]);
    // Act
    const response = (await connector().handler(event, lambdaContext())) as Batch;
    // Assess
    expect(response.batchItemFailures).toEqual([]);
    const sent = aws.calls
      .filter((call) => call.target === 'AmazonSQS.SendMessage')
      .map((call) => call.body)
      .sort((a, b) => String(a['MessageBody']).localeCompare(String(b['MessageBody'])));
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({
      QueueUrl: DLQ(aws.endpoint),
      MessageBody: JSON.stringify({ operation: 'echo-text', input: { text: 7 } }),
      MessageAttributes: {
        correlationId: { DataType: 'String', StringValue: 'corr-9' },
        errorName: { DataType: 'String', StringValue: 'ValidationError' },
        errorCode: { DataType: 'String', StringValue: 'validation_error' },
        errorMessage: { DataType: 'String', StringValue: expect.stringContaining('/text') },
        connectorVersion: { DataType: 'String', StringValue: '2.1.0' },
      },
    });
    expect(sent[0]?.['MessageAttributes']).toMatchObject({ errorName: { StringValue: 'NotFoundError' } });
    expect(
      logs.records().filter((line) => line['message'] === 'Poison record moved to the dead-letter queue'),
    ).toHaveLength(2);
  });

  it('moves only the refused entries of a batch operation to the DLQ, with their reasons and a key of their own', async () => {
    // Prepare
    const event = sqsEvent([
      {
        messageId: 'partial',
        body: { operation: 'send-batch', input: { to: 'q', entries: ['a', 'refused', 'b', 'busy'] } },
        correlationId: 'corr-3',
      },
      { messageId: 'whole', body: { operation: 'send-batch', input: { to: 'q', entries: ['c'] } } },
    ]);
    // Act
    const response = (await connector().handler(event, lambdaContext())) as Batch;
    // Assess: the record is handled; what is left is in the DLQ, alone
    expect(response.batchItemFailures).toEqual([]);
    const sent = aws.calls.filter((call) => call.target === 'AmazonSQS.SendMessage').map((call) => call.body);
    expect(sent).toHaveLength(1);
    expect(JSON.parse(String(sent[0]?.['MessageBody']))).toEqual({
      operation: 'send-batch',
      input: { to: 'q', entries: ['refused', 'busy'] },
      correlationId: 'corr-3',
      idempotencyKey: 'partial:unfinished',
    });
    expect(sent[0]?.['MessageAttributes']).toMatchObject({
      errorName: { StringValue: 'UnavailableError' },
      errorMessage: {
        StringValue: expect.stringMatching(
          /2 part\(s\) of send-batch not done \(retryable\): \/entries\/1: refused; \/entries\/3: busy/,
        ),
      },
    });
    expect(
      logs
        .records()
        .find(
          (line) => line['message'] === 'Record partly done; what is left moved to the dead-letter queue',
        ),
    ).toMatchObject({ unfinished: 2, retryable: true });
  });

  it("keeps a bound queue's bare input shape and names a refusal a ValidationError; without a DLQ the record stays whole", async () => {
    // Prepare
    process.env['CIRCLE_QUEUE_BINDINGS'] = 'texts=send-batch';
    try {
      const event = sqsEvent([{ messageId: 'bare', body: { to: 'q', entries: ['refused', 'a'] } }], {
        queue: 'texts',
      });
      // Act
      const moved = (await connector().handler(event, lambdaContext())) as Batch;
      delete process.env['CIRCLE_DEAD_LETTER_QUEUE_URL'];
      const kept = (await connector().handler(event, lambdaContext())) as Batch;
      // Assess
      expect(moved.batchItemFailures).toEqual([]);
      const sent = aws.calls
        .filter((call) => call.target === 'AmazonSQS.SendMessage')
        .map((call) => call.body);
      expect(sent).toHaveLength(1);
      expect(JSON.parse(String(sent[0]?.['MessageBody']))).toEqual({ to: 'q', entries: ['refused'] });
      expect(sent[0]?.['MessageAttributes']).toMatchObject({ errorName: { StringValue: 'ValidationError' } });
      expect(kept.batchItemFailures).toEqual([{ itemIdentifier: 'bare' }]);
      expect(logs.text()).toContain('Record partly done; left whole for the redrive policy');
    } finally {
      delete process.env['CIRCLE_QUEUE_BINDINGS'];
    }
  });

  it("treats a bug in the unfinished reader as the record's internal error, not the batch's", async () => {
    // Act
    const response = (await connector().handler(
      sqsEvent([
        { messageId: 'buggy', body: { operation: 'send-batch', input: { to: 'buggy', entries: ['a'] } } },
        { messageId: 'fine', body: { operation: 'send-batch', input: { to: 'q', entries: ['b'] } } },
      ]),
      lambdaContext(),
    )) as Batch;
    // Assess: the buggy record is parked whole as an internal error; the other one is done
    expect(response.batchItemFailures).toEqual([]);
    const sent = aws.calls.filter((call) => call.target === 'AmazonSQS.SendMessage').map((call) => call.body);
    expect(sent).toHaveLength(1);
    expect(JSON.parse(String(sent[0]?.['MessageBody']))).toMatchObject({ input: { to: 'buggy' } });
    expect(sent[0]?.['MessageAttributes']).toMatchObject({
      errorMessage: { StringValue: 'Internal error (see the log)' },
    });
  });

  it('leaves retryable failures to the visibility timeout', async () => {
    // Act
    const response = (await connector().handler(
      sqsEvent([{ messageId: 'down', body: { operation: 'echo-text', input: { text: 'down' } } }]),
      lambdaContext(),
    )) as Batch;
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'down' }]);
    expect(aws.calls).toHaveLength(0);
  });

  it("leaves a failure of the connector's own credentials or configuration to the redrive policy", async () => {
    // Prepare: the record is fine; the secret or the app is not (a bad rotation, a missing scope)
    const event = sqsEvent(
      ['revoked', 'scope', 'unset'].map((text) => ({
        messageId: text,
        body: { operation: 'echo-text', input: { text } },
      })),
    );
    // Act
    const response = (await connector().handler(event, lambdaContext())) as Batch;
    // Assess: back to the queue, so the records succeed once the operator fixes it
    expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual([
      'revoked',
      'scope',
      'unset',
    ]);
    expect(aws.calls).toHaveLength(0);
    expect(logs.text()).toContain('left for the redrive policy');
  });

  it('moves a record failing on its last receive to the DLQ with its reason, whatever the failure', async () => {
    // Prepare: the redrive policy's maxReceiveCount is 5; these are the fifth receives
    process.env['CIRCLE_MAX_RECEIVE_COUNT'] = '5';
    try {
      const event = sqsEvent(
        ['down', 'scope'].map((text) => ({
          messageId: text,
          body: { operation: 'echo-text', input: { text } },
          receiveCount: 5,
        })),
      );
      const early = sqsEvent([
        { messageId: 'early', body: { operation: 'echo-text', input: { text: 'down' } }, receiveCount: 4 },
      ]);
      // Act
      const last = (await connector().handler(event, lambdaContext())) as Batch;
      const before = (await connector().handler(early, lambdaContext())) as Batch;
      // Assess: parked now with the reason, instead of by the queue without one
      expect(last.batchItemFailures).toEqual([]);
      const names = aws.calls
        .filter((call) => call.target === 'AmazonSQS.SendMessage')
        .map(
          (call) =>
            (call.body['MessageAttributes'] as Record<string, { StringValue: string }>)['errorName']
              ?.StringValue,
        )
        .sort();
      expect(names).toEqual(['ForbiddenError', 'UnavailableError']);
      expect(before.batchItemFailures).toEqual([{ itemIdentifier: 'early' }]);
      expect(logs.text()).toContain('Record failed on its last receive, moved to the dead-letter queue');
    } finally {
      delete process.env['CIRCLE_MAX_RECEIVE_COUNT'];
    }
  });

  it('falls back to the redrive policy when the DLQ refuses the message, losing nothing', async () => {
    // Prepare
    aws.failNext('AmazonSQS.SendMessage', { type: 'ServiceUnavailable', status: 503, times: 5 });
    // Act
    const response = (await connector().handler(
      sqsEvent([{ messageId: 'poison', body: { operation: 'echo-text', input: {} } }]),
      lambdaContext(),
    )) as Batch;
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'poison' }]);
    expect(logs.text()).toContain('Moving a poison record to the dead-letter queue failed');
  });

  it('leaves poison for the redrive policy when no DLQ is configured', async () => {
    // Prepare
    delete process.env['CIRCLE_DEAD_LETTER_QUEUE_URL'];
    // Act
    const response = (await connector().handler(
      sqsEvent([{ messageId: 'poison', body: 'not json' }]),
      lambdaContext(),
    )) as Batch;
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'poison' }]);
    expect(aws.calls).toHaveLength(0);
  });
});

describe('Function: deadLetterMessage', () => {
  const record = sqsEvent([{ messageId: 'm-1', body: 'payload', groupId: 'orders' }], { queue: 'q.fifo' })
    .Records[0] as NonNullable<ReturnType<typeof sqsEvent>['Records'][0]>;

  it('keeps the FIFO group and deduplicates by message id', () => {
    // Act
    const input = deadLetterMessage('https://sqs/123/dlq.fifo', record, new ValidationError('bad'), '1.0.0');
    // Assess
    expect(input).toMatchObject({
      MessageGroupId: 'orders',
      MessageDeduplicationId: 'm-1',
      MessageBody: 'payload',
    });
  });

  it("keeps at most six of the record's own attributes beside the four of the failure", () => {
    // Prepare
    const many = {
      ...record,
      messageAttributes: Object.fromEntries(
        Array.from({ length: 9 }, (_, index) => [
          `a${index}`,
          { dataType: 'String', stringValue: `v${index}` },
        ]),
      ),
    } as typeof record;
    // Act
    const input = deadLetterMessage('https://sqs/123/dlq', many, new ValidationError('bad'), '1.0.0');
    // Assess
    expect(Object.keys(input.MessageAttributes ?? {})).toHaveLength(10);
    expect(input.MessageGroupId).toBeUndefined();
  });

  it('keeps a 600 KiB record whole with its own attributes and failure: SQS takes 1 MiB since January 2026', () => {
    // Prepare: over the old 256 KiB, well under 1 MiB
    const big = {
      ...record,
      body: 'x'.repeat(600 * 1024),
      messageAttributes: { trace: { dataType: 'String', stringValue: 'abc' } },
    } as typeof record;
    // Act
    const input = deadLetterMessage(
      'https://sqs/123/dlq',
      big,
      new ValidationError('é'.repeat(500)),
      '1.0.0',
    );
    // Assess
    const attributes = input.MessageAttributes ?? {};
    expect(input.MessageBody).toBe(big.body);
    expect(attributes['trace']?.StringValue).toBe('abc');
    expect(attributes['errorMessage']?.StringValue).toBe('é'.repeat(500));
    expect(attributes['connectorVersion']?.StringValue).toBe('1.0.0');
  });

  it('makes a record near the 1 MiB limit fit: its own attributes go, then the message is shortened', () => {
    // Prepare: a body 300 bytes under the limit, with an attribute of its own
    const big = {
      ...record,
      body: 'x'.repeat(1_048_576 - 300),
      messageAttributes: { trace: { dataType: 'String', stringValue: 'abc' } },
    } as typeof record;
    // Act
    const input = deadLetterMessage(
      'https://sqs/123/dlq',
      big,
      new ValidationError('é'.repeat(500)),
      '1.0.0',
    );
    // Assess
    const attributes = input.MessageAttributes ?? {};
    const bytes =
      Buffer.byteLength(input.MessageBody ?? '') +
      Object.entries(attributes).reduce(
        (sum, [name, value]) =>
          sum +
          Buffer.byteLength(name) +
          Buffer.byteLength(value.DataType ?? '') +
          Buffer.byteLength(value.StringValue ?? ''),
        0,
      );
    expect(bytes).toBeLessThanOrEqual(1_048_576);
    expect(attributes['trace']).toBeUndefined();
    expect(attributes['errorName']?.StringValue).toBe('ValidationError');
    expect(input.MessageBody).toBe(big.body);
    expect(attributes['errorMessage']?.StringValue).toMatch(/^é+$/);
    expect(attributes['errorCode']?.StringValue).toBe('validation_error');
    // With room for the failure's name alone, only it is kept.
    const tight = deadLetterMessage(
      'https://sqs/123/dlq',
      { ...big, body: 'x'.repeat(1_048_576 - 40) },
      new ValidationError('bad'),
      '1.0.0',
    );
    expect(Object.keys(tight.MessageAttributes ?? {})).toEqual(['errorName']);
  });

  it('never carries the message of an error that is not safe to show', () => {
    // Act
    const input = deadLetterMessage(
      'https://sqs/123/dlq',
      record,
      new UnavailableError('secret-internal-detail'),
      '1.0.0',
    );
    // Assess: UnavailableError is exposed (below 500 or a taxonomy message); a plain internal error is not.
    expect(input.MessageAttributes?.['errorMessage']?.StringValue).toBe(
      new UnavailableError('x').expose ? 'secret-internal-detail' : 'Internal error (see the log)',
    );
  });
});
