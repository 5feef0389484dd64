/**
 * EventBridgePublisher on answers EventBridge may give with fields left out (a stub SDK client answering
 * by command), and its bus named by ARN.
 */
import type { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { describe, expect, it } from 'vitest';
import { EventBridgePublisher } from './client.ts';

const ARN = 'arn:aws:events:us-east-1:000000000000:event-bus/orders';

function stub(answers: Record<string, unknown>): EventBridgeClient {
  return {
    send: async (command: { constructor: { name: string } }) =>
      answers[command.constructor.name.replace(/Command$/, '')] ?? {},
  } as unknown as EventBridgeClient;
}

const publisher = (answers: Record<string, unknown>) =>
  new EventBridgePublisher(stub(answers), {
    bus: ARN,
    source: 'shop',
    detailType: 'message',
    timeoutMs: 1_000,
    maxAttempts: 1,
  });

describe('Class: EventBridgePublisher', () => {
  it('takes its bus by ARN or name, and maps entry failures by whose fault they are', async () => {
    // Act
    const one = await publisher({ PutEvents: { Entries: [{ EventId: 'e-1' }] } }).publish({
      body: '{}',
      destination: 'orders',
      resources: ['arn:aws:s3:::b'],
    });
    const batch = await publisher({
      PutEvents: { Entries: [{ ErrorCode: 'InternalFailure' }, {}, { ErrorCode: 'ThrottlingException' }] },
    }).publishBatch({ destination: ARN, entries: [{ body: '{}' }, { body: '{}' }, { body: '{}' }] });
    const refused = publisher({ PutEvents: { Entries: [{ ErrorCode: 'MalformedDetail' }] } }).publish({
      body: '{}',
    });
    // Assess
    expect(one).toEqual({ messageId: 'e-1' });
    expect(batch.results.map((r) => (r.ok ? 'ok' : r.error.name))).toEqual([
      'UnavailableError',
      'UnexpectedResponseError',
      'RateLimitedError',
    ]);
    await expect(refused).rejects.toMatchObject({ name: 'ValidationError' });
  });

  it('describes a bus and a rule with fields left out', async () => {
    // Act
    const bus = publisher({}).describeBus();
    const rule = await publisher({
      DescribeRule: { ScheduleExpression: 'rate(1 hour)' },
      ListTargetsByRule: { Targets: [{}] },
    }).describeRule({ name: 'hourly' });
    // Assess
    await expect(bus).rejects.toMatchObject({ name: 'UnexpectedResponseError' });
    expect(rule).toEqual({
      name: 'hourly',
      arn: '',
      state: 'ENABLED',
      scheduleExpression: 'rate(1 hour)',
      targets: [{ id: '', arn: '' }],
    });
  });

  it("maps every entry ErrorCode the PutEvents reference lists, the bus's account among them", async () => {
    // Act
    const codes = [
      'AccessDeniedException',
      'InvalidAccountIdException',
      'InvalidArgument',
      'NotAuthorizedForSourceException',
      'NotAuthorizedForDetailTypeException',
    ];
    const batch = await publisher({
      PutEvents: { Entries: codes.map((ErrorCode) => ({ ErrorCode })) },
    }).publishBatch({ entries: codes.map(() => ({ body: '{}' })) });
    // Assess
    expect(batch.results.map((r) => (r.ok ? 'ok' : `${r.error.name} ${r.error.retryable}`))).toEqual([
      'ConfigurationError false',
      'ConfigurationError false',
      'ValidationError false',
      'ForbiddenError false',
      'ForbiddenError false',
    ]);
  });
});
