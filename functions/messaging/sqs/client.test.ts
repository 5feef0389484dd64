/**
 * SqsPublisher on answers SQS may give with fields left out or odd (a stub SDK client answering by
 * command): what the publisher makes of each, so no optional field is trusted blindly.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { describe, expect, it } from 'vitest';
import { SqsPublisher } from './client.ts';

const URL = 'http://127.0.0.1:4566/000000000000/jobs';

function stub(answers: Record<string, unknown>): SQSClient {
  return {
    send: async (command: { constructor: { name: string } }) =>
      answers[command.constructor.name.replace(/Command$/, '')] ?? {},
  } as unknown as SQSClient;
}

const publisher = (answers: Record<string, unknown>) =>
  new SqsPublisher(stub(answers), { queueUrl: URL, timeoutMs: 1_000, maxAttempts: 1 });

describe('Class: SqsPublisher', () => {
  it('answers what SQS reported, and nothing it left out', async () => {
    // Act
    const one = await publisher({}).publish({ body: 'x', destination: 'jobs' });
    const batch = await publisher({
      SendMessageBatch: { Successful: [{ Id: '0' }], Failed: [{ Id: '1' }] },
    }).publishBatch({
      destination: URL,
      entries: [{ body: 'a' }, { body: 'b' }],
    });
    // Assess
    expect(one).toEqual({});
    expect(batch.results).toEqual([
      { index: 0, ok: true },
      { index: 1, ok: false, error: expect.objectContaining({ name: 'UnexpectedResponseError' }) },
    ]);
  });

  it("answers an entry SQS refused as the sender's fault with a code it does not document as a 400", async () => {
    const batch = await publisher({
      SendMessageBatch: {
        Successful: [{ Id: '0' }],
        Failed: [{ Id: '1', Code: 'SomethingNew', SenderFault: true }],
      },
    }).publishBatch({ destination: URL, entries: [{ body: 'a' }, { body: 'b' }] });
    expect(batch.results[1]).toMatchObject({
      ok: false,
      error: {
        name: 'ValidationError',
        retryable: false,
        message: expect.stringContaining('(SomethingNew)'),
      },
    });
  });

  it('refuses a batch answer that does not account for every entry', async () => {
    const out = publisher({ SendMessageBatch: { Successful: [] } }).publishBatch({
      entries: [{ body: 'a' }],
    });
    await expect(out).rejects.toMatchObject({ name: 'UnexpectedResponseError' });
  });

  it('reads a received message with an odd receive count and a binary attribute', async () => {
    // Act
    const { messages } = await publisher({
      ReceiveMessage: {
        Messages: [
          {
            ReceiptHandle: 'r',
            Body: 'b',
            Attributes: { ApproximateReceiveCount: 'x' },
            MessageAttributes: { data: { DataType: 'Binary' } },
          },
        ],
      },
    }).receive({});
    // Assess
    expect(messages).toEqual([
      { receipt: 'r', body: 'b', attributes: {}, redelivered: false, deliveryCount: 1 },
    ]);
  });

  it('reads queue attributes with a redrive policy, an unreadable one, and none', async () => {
    // Act
    const withPolicy = await publisher({
      GetQueueAttributes: {
        Attributes: {
          QueueArn: 'arn:aws:sqs:us-east-1:000000000000:jobs',
          FifoQueue: 'true',
          VisibilityTimeout: '-5',
          RedrivePolicy:
            '{"deadLetterTargetArn":"arn:aws:sqs:us-east-1:000000000000:dlq","maxReceiveCount":"3"}',
        },
      },
    }).queueAttributes({});
    const unreadable = await publisher({
      GetQueueAttributes: { Attributes: { RedrivePolicy: 'not json' } },
    }).queueAttributes();
    const none = await publisher({}).queueAttributes();
    // Assess
    expect(withPolicy).toMatchObject({
      fifo: true,
      visibilityTimeoutSeconds: 0,
      deadLetterTargetArn: 'arn:aws:sqs:us-east-1:000000000000:dlq',
      maxReceiveCount: 3,
    });
    expect(unreadable).not.toHaveProperty('deadLetterTargetArn');
    expect(none).toMatchObject({ queueArn: '', approximateMessages: 0 });
  });

  it("reports a receipt SQS failed without a code as that receipt's failure", async () => {
    const out = await publisher({ DeleteMessageBatch: { Failed: [{ Id: '0' }] } }).acknowledge({
      receipts: ['r1', 'r2'],
    });
    expect(out.results).toEqual([
      { receipt: 'r1', ok: false, error: expect.objectContaining({ name: 'UnexpectedResponseError' }) },
      { receipt: 'r2', ok: true },
    ]);
  });

  it("maps the refusals SQS's API reference lists for its calls by the SDK's exception names", async () => {
    // Prepare: each refused call as the SDK throws it (the exception's name, the status SQS answers with)
    const refused = (name: string, status: number) =>
      new SqsPublisher(
        {
          send: async () => {
            throw Object.assign(new Error(name), {
              name,
              $fault: 'client',
              $metadata: { httpStatusCode: status },
            });
          },
        } as unknown as SQSClient,
        { queueUrl: URL, timeoutMs: 1_000, maxAttempts: 1 },
      );
    // Act
    const outcomes = await Promise.all(
      (
        [
          ['KmsInvalidState', 400],
          ['KmsInvalidKeyUsage', 400],
          ['KmsOptInRequired', 403],
          ['InvalidAddress', 404],
        ] as const
      ).map(([name, status]) =>
        refused(name, status)
          .publish({ body: 'x' })
          .then(
            () => 'sent',
            (error: Error) => `${name}: ${error.name}`,
          ),
      ),
    );
    // Assess
    expect(outcomes).toEqual([
      'KmsInvalidState: ConfigurationError',
      'KmsInvalidKeyUsage: ConfigurationError',
      'KmsOptInRequired: ConfigurationError',
      'InvalidAddress: ConfigurationError',
    ]);
  });
});
