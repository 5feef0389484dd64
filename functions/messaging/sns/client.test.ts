/**
 * SnsPublisher on answers SNS may give with fields left out (a stub SDK client answering by command).
 */
import type { SNSClient } from '@aws-sdk/client-sns';
import { describe, expect, it } from 'vitest';
import { SnsPublisher } from './client.ts';

const ARN = 'arn:aws:sns:us-east-1:000000000000:alerts';

function stub(answers: Record<string, unknown>): SNSClient {
  return {
    send: async (command: { constructor: { name: string } }) =>
      answers[command.constructor.name.replace(/Command$/, '')] ?? {},
  } as unknown as SNSClient;
}

const publisher = (answers: Record<string, unknown>) =>
  new SnsPublisher(stub(answers), { topicArn: ARN, timeoutMs: 1_000, maxAttempts: 1 });

describe('Class: SnsPublisher', () => {
  it('answers what SNS reported, and nothing it left out', async () => {
    // Act
    const one = await publisher({}).publish({ body: 'x', destination: 'alerts' });
    const batch = await publisher({
      PublishBatch: { Successful: [{ Id: '0' }], Failed: [{ Id: '1', SenderFault: false }] },
    }).publishBatch({
      destination: ARN,
      entries: [{ body: 'a' }, { body: 'b' }],
    });
    const mismatch = publisher({ PublishBatch: {} }).publishBatch({ entries: [{ body: 'a' }] });
    // Assess
    expect(one).toEqual({});
    expect(batch.results[0]).toEqual({ index: 0, ok: true });
    expect(batch.results[1]).toMatchObject({
      ok: false,
      error: { name: 'UnavailableError', retryable: true },
    });
    await expect(mismatch).rejects.toMatchObject({ name: 'UnexpectedResponseError' });
  });

  it('reads subscriptions and topic attributes with fields left out', async () => {
    // Act
    const listed = await publisher({
      ListSubscriptionsByTopic: { Subscriptions: [{}], NextToken: 'n' },
    }).listSubscriptions();
    const attributes = await publisher({
      GetTopicAttributes: {
        Attributes: { SubscriptionsConfirmed: 'x', DisplayName: 'Alerts', KmsMasterKeyId: 'alias/aws/sns' },
      },
    }).topicAttributes();
    const bare = await publisher({}).topicAttributes();
    // Assess
    expect(listed).toEqual({
      topicArn: ARN,
      subscriptions: [{ subscriptionArn: '', protocol: '', endpoint: '', owner: '' }],
      nextToken: 'n',
    });
    expect(attributes).toMatchObject({
      subscriptionsConfirmed: 0,
      displayName: 'Alerts',
      kmsMasterKeyId: 'alias/aws/sns',
    });
    expect(bare).toEqual({
      topicArn: ARN,
      fifo: false,
      contentBasedDeduplication: false,
      subscriptionsConfirmed: 0,
      subscriptionsPending: 0,
    });
  });

  it("maps the refusals SNS's API reference lists for Publish and PublishBatch by their names and query codes", async () => {
    // Prepare: a refused call as the SDK throws it (the exception's name), and entries with SNS's codes
    const refused = (name: string) =>
      ({
        send: async () => {
          throw Object.assign(new Error(name), {
            name,
            $fault: 'client',
            $metadata: { httpStatusCode: 400 },
          });
        },
      }) as unknown as SNSClient;
    const options = { topicArn: ARN, timeoutMs: 1_000, maxAttempts: 1 };
    // Act
    const kmsState = new SnsPublisher(refused('KMSInvalidStateException'), options).publish({ body: 'x' });
    const batch = await publisher({
      PublishBatch: {
        Failed: [
          { Id: '0', Code: 'KMSInvalidState', SenderFault: true },
          { Id: '1', Code: 'ParameterValueInvalid', SenderFault: true },
          { Id: '2', Code: 'KMSOptInRequired', SenderFault: true },
        ],
      },
    }).publishBatch({ entries: [{ body: 'a' }, { body: 'b' }, { body: 'c' }] });
    // Assess
    await expect(kmsState).rejects.toMatchObject({ name: 'ConfigurationError' });
    expect(batch.results.map((result) => (result.ok ? 'ok' : result.error.name))).toEqual([
      'ConfigurationError',
      'ValidationError',
      'ConfigurationError',
    ]);
  });
});
