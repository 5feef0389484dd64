/**
 * Topics, subscriptions, buses and rules declared in serverless.yml reach the local stack: the model reads
 * them (intrinsics resolved), `startMessaging` creates them, and a publish or an event delivered through
 * the endpoint's services lands where the template says, a Lambda subscriber and a Step Functions target
 * included.
 */
import { describe, expect, it } from 'vitest';
import { startMessaging } from '../../scripts/local/aws/messaging.ts';
import type { AwsServices } from '../../scripts/local/aws/server.ts';
import { buildModel } from '../../scripts/local/config/model.ts';
import type { ServerlessConfig } from '../../scripts/local/config/serverless.ts';
import { createStackLog } from '../../scripts/local/log.ts';
import { QueueEngine } from '../../scripts/local/queues/queue-engine.ts';

const config: ServerlessConfig = {
  service: 'svc',
  provider: { stage: 'dev', region: 'us-east-1' },
  functions: { audit: { handler: 'index.handler' } },
  resources: {
    Resources: {
      AlertsTopic: {
        Type: 'AWS::SNS::Topic',
        Properties: {
          Subscription: [{ Protocol: 'lambda', Endpoint: { 'Fn::GetAtt': ['AuditLambdaFunction', 'Arn'] } }],
        },
      },
      LedgerTopic: {
        Type: 'AWS::SNS::Topic',
        Properties: { FifoTopic: true, ContentBasedDeduplication: true },
      },
      UrgentQueue: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'urgent' } },
      UrgentSubscription: {
        Type: 'AWS::SNS::Subscription',
        Properties: {
          TopicArn: { Ref: 'AlertsTopic' },
          Protocol: 'sqs',
          Endpoint: { 'Fn::GetAtt': ['UrgentQueue', 'Arn'] },
          FilterPolicy: { severity: ['high'] },
          RawMessageDelivery: true,
        },
      },
      OrdersBus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'orders' } },
      RefundsRule: {
        Type: 'AWS::Events::Rule',
        Properties: {
          EventBusName: { Ref: 'OrdersBus' },
          EventPattern: { 'detail-type': ['refund-requested'] },
          Targets: [
            { Id: 'queue', Arn: { 'Fn::GetAtt': ['UrgentQueue', 'Arn'] }, InputPath: '$.detail' },
            { Id: 'flow', Arn: 'arn:aws:states:us-east-1:000000000000:stateMachine:refunds' },
          ],
        },
      },
    },
  },
};

describe('Function: startMessaging', () => {
  it('reads the template and delivers as it declares', async () => {
    // Prepare
    const model = buildModel(config, { awsUrl: 'http://127.0.0.1:4566' });
    const engine = new QueueEngine({
      region: 'us-east-1',
      accountId: '000000000000',
      baseUrl: 'http://127.0.0.1:4566',
    });
    for (const queue of model.queues) engine.create(queue.name, queue.attributes);
    const invoked: Array<{ arn: string; event: unknown }> = [];
    const started: unknown[] = [];
    const services: AwsServices = {
      accountId: '000000000000',
      stepFunctions: async (request) => {
        started.push(request.body);
        return {};
      },
    };
    const { topics, buses } = startMessaging(model, engine, services, {
      invoke: async (arn, event) => {
        invoked.push({ arn, event });
        return { requestId: 'r', durationMs: 1, logTail: '' };
      },
      log: createStackLog({ pretty: false, write: () => undefined }),
    });
    const alerts = model.topics.find((topic) => topic.logicalId === 'AlertsTopic');
    // Act
    const alertsArn = topics.arnOf(alerts?.name ?? '');
    topics.publish(alertsArn, {
      message: 'disk full',
      attributes: { severity: { DataType: 'String', StringValue: 'high' } },
    });
    topics.publish(alertsArn, {
      message: 'fyi',
      attributes: { severity: { DataType: 'String', StringValue: 'low' } },
    });
    await services.events?.({
      operation: 'PutEvents',
      body: {
        Entries: [
          {
            EventBusName: 'orders',
            Source: 'shop',
            DetailType: 'refund-requested',
            Detail: '{"order":"o-9"}',
          },
        ],
      },
    });
    // Assess
    expect(model.topics.map((topic) => topic.name)).toEqual([
      'svc-dev-AlertsTopic',
      'svc-dev-LedgerTopic.fifo',
    ]);
    expect(topics.topic(topics.arnOf('svc-dev-LedgerTopic.fifo')).fifo).toBe(true);
    expect(invoked.map((call) => call.arn)).toEqual([
      'arn:aws:lambda:us-east-1:000000000000:function:svc-dev-audit',
      'arn:aws:lambda:us-east-1:000000000000:function:svc-dev-audit',
    ]);
    expect(invoked[0]?.event).toMatchObject({
      Records: [{ EventSource: 'aws:sns', Sns: { Message: 'disk full' } }],
    });
    const urgent = engine.get('urgent')?.receive({ max: 10 }) ?? [];
    expect(urgent.map((message) => message.body)).toEqual(['disk full', '{"order":"o-9"}']);
    expect(buses.rule(model.rules[0]?.name, 'orders').targets).toHaveLength(2);
    expect(started).toEqual([
      expect.objectContaining({
        stateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:refunds',
      }),
    ]);
    expect(typeof services.sns).toBe('function');
  });
});
