/**
 * The local stack's SNS and EventBridge, driven by the real AWS SDK v3 clients over their real protocols
 * (SNS: query; EventBridge: JSON 1.1): topics, filter policies delivering to SQS, raw delivery, FIFO,
 * batches with per-entry failures; buses, rules with event patterns, targets with input transformers,
 * PutEvents with per-entry failures and the 1 MiB limit.
 */
import { randomUUID } from 'node:crypto';
import {
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
  PutRuleCommand,
  PutTargetsCommand,
  TestEventPatternCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateTopicCommand,
  GetTopicAttributesCommand,
  ListSubscriptionsByTopicCommand,
  PublishBatchCommand,
  PublishCommand,
  SNSClient,
  SubscribeCommand,
} from '@aws-sdk/client-sns';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpointPeer, startAwsEndpointPeer } from '../peers/aws-endpoint.ts';

const client = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  maxAttempts: 1,
};
let aws: AwsEndpointPeer;
let sns: SNSClient;
let sqs: SQSClient;
let events: EventBridgeClient;

const unique = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;

async function queue(name: string, fifo = false): Promise<{ url: string; arn: string }> {
  const created = await sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: fifo ? { FifoQueue: 'true' } : {} }),
  );
  return { url: created.QueueUrl ?? '', arn: aws.queueArn(name) };
}

async function bodies(url: string, attributes = false) {
  const received = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      ...(attributes ? { MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] } : {}),
    }),
  );
  return received.Messages ?? [];
}

beforeAll(async () => {
  aws = await startAwsEndpointPeer();
  sns = new SNSClient({ ...client, endpoint: aws.endpoint });
  sqs = new SQSClient({ ...client, endpoint: aws.endpoint });
  events = new EventBridgeClient({ ...client, endpoint: aws.endpoint });
});

afterAll(async () => {
  await aws.close();
});

describe('Local SNS (query protocol)', () => {
  it('delivers only to subscribers whose filter policy matches, in the SNS envelope or raw', async () => {
    // Prepare
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: unique('orders') }));
    const big = await queue(unique('big-orders'));
    const eu = await queue(unique('eu-orders'));
    await sns.send(
      new SubscribeCommand({
        TopicArn,
        Protocol: 'sqs',
        Endpoint: big.arn,
        Attributes: { FilterPolicy: JSON.stringify({ total: [{ numeric: ['>=', 100] }] }) },
      }),
    );
    await sns.send(
      new SubscribeCommand({
        TopicArn,
        Protocol: 'sqs',
        Endpoint: eu.arn,
        Attributes: {
          FilterPolicy: JSON.stringify({ region: [{ prefix: 'eu-' }] }),
          FilterPolicyScope: 'MessageBody',
          RawMessageDelivery: 'true',
        },
      }),
    );
    const publish = (message: unknown, total: string) =>
      sns.send(
        new PublishCommand({
          TopicArn,
          Message: JSON.stringify(message),
          Subject: 'order',
          MessageAttributes: { total: { DataType: 'Number', StringValue: total } },
        }),
      );
    // Act
    const first = await publish({ id: 1, region: 'us-east-1' }, '250');
    await publish({ id: 2, region: 'eu-west-1' }, '20');
    // Assess
    const bigMessages = await bodies(big.url);
    expect(bigMessages).toHaveLength(1);
    const envelope = JSON.parse(bigMessages[0]?.Body ?? '{}');
    expect(envelope).toMatchObject({
      Type: 'Notification',
      MessageId: first.MessageId,
      TopicArn,
      Subject: 'order',
      Message: JSON.stringify({ id: 1, region: 'us-east-1' }),
      MessageAttributes: { total: { Type: 'Number', Value: '250' } },
    });
    const euMessages = await bodies(eu.url, true);
    expect(euMessages.map((message) => message.Body)).toEqual([
      JSON.stringify({ id: 2, region: 'eu-west-1' }),
    ]);
    expect(euMessages[0]?.MessageAttributes?.['total']).toEqual({ DataType: 'Number', StringValue: '20' });
  });

  it('lists the subscriptions of a topic, and answers NotFound for an unknown one', async () => {
    // Prepare
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: unique('listed') }));
    const target = await queue(unique('listed'));
    const { SubscriptionArn } = await sns.send(
      new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: target.arn }),
    );
    // Act
    const listed = await sns.send(new ListSubscriptionsByTopicCommand({ TopicArn }));
    const missing = await sns
      .send(new ListSubscriptionsByTopicCommand({ TopicArn: aws.topicArn('nowhere') }))
      .catch((error: Error) => error.name);
    // Assess
    expect(listed.Subscriptions).toEqual([
      { SubscriptionArn, Owner: '000000000000', Protocol: 'sqs', Endpoint: target.arn, TopicArn },
    ]);
    expect(missing).toBe('NotFoundException');
  });

  it('publishes a batch, reporting a failed entry beside the successful ones', async () => {
    // Prepare
    const { TopicArn } = await sns.send(new CreateTopicCommand({ Name: unique('batch') }));
    const target = await queue(unique('batch'));
    await sns.send(
      new SubscribeCommand({
        TopicArn,
        Protocol: 'sqs',
        Endpoint: target.arn,
        Attributes: { RawMessageDelivery: 'true' },
      }),
    );
    // Act
    const result = await sns.send(
      new PublishBatchCommand({
        TopicArn,
        PublishBatchRequestEntries: [
          { Id: 'a', Message: 'first' },
          {
            Id: 'b',
            Message: 'second',
            MessageAttributes: { n: { DataType: 'Number', StringValue: 'NaN-ish' } },
          },
          { Id: 'c', Message: 'third' },
        ],
      }),
    );
    const duplicate = await sns
      .send(
        new PublishBatchCommand({
          TopicArn,
          PublishBatchRequestEntries: [
            { Id: 'x', Message: '1' },
            { Id: 'x', Message: '2' },
          ],
        }),
      )
      .catch((error: Error) => error.name);
    // Assess
    expect(result.Successful?.map((entry) => entry.Id)).toEqual(['a', 'c']);
    expect(result.Failed).toEqual([
      expect.objectContaining({ Id: 'b', Code: 'InvalidParameter', SenderFault: true }),
    ]);
    expect((await bodies(target.url)).map((message) => message.Body).sort()).toEqual(['first', 'third']);
    expect(duplicate).toBe('BatchEntryIdsNotDistinctException');
  });

  it('keeps FIFO order ids: group and deduplication id reach a FIFO queue, a duplicate is delivered once', async () => {
    // Prepare
    const name = `${unique('ledger')}.fifo`;
    const { TopicArn } = await sns.send(
      new CreateTopicCommand({ Name: name, Attributes: { FifoTopic: 'true' } }),
    );
    const target = await queue(`${unique('ledger')}.fifo`, true);
    await sns.send(new SubscribeCommand({ TopicArn, Protocol: 'sqs', Endpoint: target.arn }));
    const send = () =>
      sns.send(
        new PublishCommand({
          TopicArn,
          Message: 'debit 5',
          MessageGroupId: 'account-1',
          MessageDeduplicationId: 'tx-1',
        }),
      );
    // Act
    const first = await send();
    const again = await send();
    const noGroup = await sns
      .send(new PublishCommand({ TopicArn, Message: 'x', MessageDeduplicationId: 'tx-2' }))
      .catch((error: Error) => error.name);
    const attributes = await sns.send(new GetTopicAttributesCommand({ TopicArn }));
    // Assess
    expect(again.MessageId).toBe(first.MessageId);
    expect(first.SequenceNumber).toMatch(/^\d{20,}$/);
    const received = await bodies(target.url, true);
    expect(received).toHaveLength(1);
    expect(received[0]?.Attributes).toMatchObject({
      MessageGroupId: 'account-1',
      MessageDeduplicationId: 'tx-1',
    });
    expect(noGroup).toBe('InvalidParameterException');
    expect(attributes.Attributes?.['FifoTopic']).toBe('true');
  });
});

describe('Local EventBridge (JSON 1.1)', () => {
  it('delivers a matching event to an SQS target through its input transformer, and only a matching one', async () => {
    // Prepare
    const bus = unique('orders');
    await events.send(new CreateEventBusCommand({ Name: bus }));
    const target = await queue(unique('big-orders'));
    await events.send(
      new PutRuleCommand({
        Name: 'big-orders',
        EventBusName: bus,
        EventPattern: JSON.stringify({
          source: [{ prefix: 'com.acme' }],
          detail: { total: [{ numeric: ['>', 100] }], status: [{ 'anything-but': 'test' }] },
        }),
      }),
    );
    await events.send(
      new PutTargetsCommand({
        Rule: 'big-orders',
        EventBusName: bus,
        Targets: [
          {
            Id: 'queue',
            Arn: target.arn,
            InputTransformer: {
              InputPathsMap: { id: '$.detail.id', total: '$.detail.total' },
              InputTemplate: '{"order": "<id>", "total": <total>, "rule": "<aws.events.rule-name>"}',
            },
          },
        ],
      }),
    );
    const put = (detail: unknown) =>
      events.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: bus,
              Source: 'com.acme.shop',
              DetailType: 'order-placed',
              Detail: JSON.stringify(detail),
            },
          ],
        }),
      );
    // Act
    const matched = await put({ id: 'o-1', total: 250, status: 'new' });
    await put({ id: 'o-2', total: 50, status: 'new' });
    await put({ id: 'o-3', total: 500, status: 'test' });
    // Assess
    expect(matched.FailedEntryCount).toBe(0);
    expect(matched.Entries?.[0]?.EventId).toMatch(/^[0-9a-f-]{36}$/);
    expect((await bodies(target.url)).map((message) => JSON.parse(message.Body ?? ''))).toEqual([
      { order: 'o-1', total: 250, rule: 'big-orders' },
    ]);
  });

  it('delivers the whole event without a transformer', async () => {
    // Prepare
    const target = await queue(unique('all'));
    const source = unique('com.example');
    await events.send(
      new PutRuleCommand({ Name: unique('all'), EventPattern: JSON.stringify({ source: [source] }) }),
    );
    const rules = [...aws.buses.bus('default').rules.values()].filter((rule) =>
      rule.patternText?.includes(source),
    );
    await events.send(
      new PutTargetsCommand({ Rule: rules[0]?.name, Targets: [{ Id: 'q', Arn: target.arn }] }),
    );
    // Act
    const put = await events.send(
      new PutEventsCommand({
        Entries: [{ Source: source, DetailType: 'ping', Detail: '{"n":1}', Resources: ['arn:aws:s3:::b'] }],
      }),
    );
    // Assess
    const event = JSON.parse((await bodies(target.url))[0]?.Body ?? '{}');
    expect(event).toMatchObject({
      version: '0',
      id: put.Entries?.[0]?.EventId,
      'detail-type': 'ping',
      source,
      account: '000000000000',
      region: 'us-east-1',
      resources: ['arn:aws:s3:::b'],
      detail: { n: 1 },
    });
  });

  it('reports failed entries one by one, takes a 600 KiB event and refuses a request over 1 MiB as a whole', async () => {
    // Act
    const mixed = await events.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'app', DetailType: 'ok', Detail: '{}' },
          { Source: 'app', DetailType: 'bad', Detail: 'not json' },
          { Source: 'app', DetailType: 'nowhere', Detail: '{}', EventBusName: 'no-such-bus' },
        ],
      }),
    );
    // EventBridge takes entries up to 1 MiB since January 2026.
    const large = await events.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'app', DetailType: 'big', Detail: JSON.stringify({ pad: 'x'.repeat(600 * 1024) }) },
        ],
      }),
    );
    const tooBig = await events
      .send(
        new PutEventsCommand({
          Entries: [
            { Source: 'app', DetailType: 'big', Detail: JSON.stringify({ pad: 'x'.repeat(1_048_576) }) },
          ],
        }),
      )
      .catch((error: Error) => error.name);
    // Assess
    expect(mixed.FailedEntryCount).toBe(2);
    expect(mixed.Entries?.map((entry) => entry.ErrorCode ?? 'ok')).toEqual([
      'ok',
      'MalformedDetail',
      'ResourceNotFoundException',
    ]);
    expect(large.FailedEntryCount).toBe(0);
    expect(tooBig).toBe('ValidationException');
  });

  it('tests a pattern, and refuses a malformed one', async () => {
    // Act
    const result = await events.send(
      new TestEventPatternCommand({
        EventPattern: JSON.stringify({ detail: { size: [{ numeric: ['>=', 10] }] } }),
        Event: JSON.stringify({ id: '1', source: 's', detail: { size: 12 } }),
      }),
    );
    const malformed = await events
      .send(new PutRuleCommand({ Name: 'bad', EventPattern: '{"source":"not-an-array"}' }))
      .catch((error: Error) => error.name);
    // Assess
    expect(result.Result).toBe(true);
    expect(malformed).toBe('InvalidEventPatternException');
  });
});
