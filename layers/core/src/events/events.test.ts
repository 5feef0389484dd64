/**
 * The event-receiving kit against real peers: the delivery ledger on dynalite (DynamoDB's protocol), the
 * sinks against the SQS and Step Functions JSON protocols, and handOn's claim, publish, accept, release.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsJsonFake, startAwsJsonFake } from '../../../../test/fakes/aws-json.ts';
import { createTable, type DynalitePeer, startDynalite } from '../../../../test/peers/dynalite.ts';
import { ConfigurationError, ConflictError, PayloadTooLargeError, UnavailableError } from '../errors.ts';
import { createLogger } from '../observability.ts';
import { DynamoDbDeliveryLedger } from './ledger.ts';
import { handOn } from './receive.ts';
import { executionNameFor, FanOutSink, LogEventSink, SqsEventSink, StepFunctionsEventSink } from './sinks.ts';
import type { WebhookEvent, WebhookEventSink } from './types.ts';

const TABLE = 'state-test';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
let dynamo: DynalitePeer;
let aws: AwsJsonFake;
let documents: DynamoDBDocumentClient;
let clock = 1_800_000_000_000;
const now = (): number => clock;

function event(deliveryId: string, overrides: Partial<WebhookEvent> = {}): WebhookEvent {
  return {
    provider: 'github',
    name: 'issue-opened',
    event: 'issues',
    action: 'opened',
    deliveryId,
    correlationId: 'corr-1',
    receivedAt: new Date(clock).toISOString(),
    source: 'octo/hello',
    payload: { n: 1 },
    ...overrides,
  };
}

beforeAll(async () => {
  [dynamo, aws] = await Promise.all([startDynalite(), startAwsJsonFake()]);
  await createTable(dynamo.endpoint, TABLE);
  documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials }),
  );
});

afterAll(async () => {
  documents.destroy();
  await Promise.all([dynamo.close(), aws.close()]);
});

describe('Class: DynamoDbDeliveryLedger', () => {
  const ledger = (): DynamoDbDeliveryLedger =>
    new DynamoDbDeliveryLedger({ table: TABLE, ttlDays: 7, leaseSeconds: 60, now }, documents);

  it('claims a new delivery, reports it in progress while claimed, and duplicate once accepted', async () => {
    // Act
    const first = await ledger().claim('d-1');
    const concurrent = await ledger().claim('d-1');
    if (first.status === 'claimed') await ledger().accept('d-1', first.token);
    const replay = await ledger().claim('d-1');
    // Assess
    expect(first.status).toBe('claimed');
    expect(concurrent).toEqual({ status: 'in-progress' });
    expect(replay).toEqual({ status: 'duplicate' });
    const { Item } = await documents.send(new GetCommand({ TableName: TABLE, Key: { pk: 'delivery#d-1' } }));
    expect(Item).toMatchObject({ status: 'accepted', expiresAt: Math.floor(clock / 1000) + 7 * 86_400 });
  });

  it('lets a released delivery be claimed again at once', async () => {
    // Prepare
    const first = await ledger().claim('d-2');
    // Act
    if (first.status === 'claimed') await ledger().release('d-2', first.token);
    const again = await ledger().claim('d-2');
    // Assess
    expect(again.status).toBe('claimed');
  });

  it('lets another invocation take over a claim whose lease expired, and ignores the old holder', async () => {
    // Prepare
    const stale = await ledger().claim('d-3');
    clock += 61_000;
    // Act
    const takeover = await ledger().claim('d-3');
    if (stale.status === 'claimed') await ledger().release('d-3', stale.token);
    const whileHeld = await ledger().claim('d-3');
    // Assess
    expect(takeover.status).toBe('claimed');
    expect(whileHeld).toEqual({ status: 'in-progress' });
  });

  it('forgets an accepted delivery once its TTL passed, even before DynamoDB deletes it', async () => {
    // Prepare
    const first = await ledger().claim('d-4');
    if (first.status === 'claimed') await ledger().accept('d-4', first.token);
    clock += 8 * 86_400_000;
    // Act
    const later = await ledger().claim('d-4');
    // Assess
    expect(later.status).toBe('claimed');
  });

  it('throws ConfigurationError when the table does not exist', async () => {
    // Prepare
    const missing = new DynamoDbDeliveryLedger({ table: 'absent', ttlDays: 7 }, documents);
    // Act & Assess
    await expect(missing.claim('d-5')).rejects.toBeInstanceOf(ConfigurationError);
    await expect(missing.accept('d-5', 't')).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('Class: StepFunctionsEventSink', () => {
  const sfn = (): SFNClient => new SFNClient({ endpoint: aws.endpoint, region: 'us-east-1', credentials });
  const arn = 'arn:aws:states:us-east-1:123456789012:stateMachine:events';

  it('counts a second start for the same delivery as handed on (Step Functions refuses the duplicate)', async () => {
    // Prepare
    const sink = new StepFunctionsEventSink({ stateMachineArn: arn, connector: 'github' }, sfn());
    await sink.publish(event('dup-1'));
    // Act
    await sink.publish(event('dup-1', { receivedAt: '2030-01-01T00:00:00.000Z' }));
    // Assess
    const started = aws.calls.filter((call) => call.body['name'] === 'github-dup-1');
    expect(started).toHaveLength(1);
    expect(aws.failed.at(-1)?.body['name']).toBe('github-dup-1');
  });

  it('refuses an event larger than 256 KiB with PayloadTooLargeError', async () => {
    // Prepare
    const sink = new StepFunctionsEventSink({ stateMachineArn: arn, connector: 'github' }, sfn());
    // Act
    const attempt = sink.publish(event('big', { payload: 'x'.repeat(300_000) }));
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(PayloadTooLargeError);
  });

  it('maps a missing state machine to ConfigurationError', async () => {
    // Prepare
    aws.failNext('AWSStepFunctions.StartExecution', { type: 'StateMachineDoesNotExist' });
    const sink = new StepFunctionsEventSink({ stateMachineArn: arn, connector: 'github' }, sfn());
    // Act & Assess
    await expect(sink.publish(event('nope'))).rejects.toBeInstanceOf(ConfigurationError);
  });
});

describe('Class: SqsEventSink', () => {
  const sqs = (): SQSClient => new SQSClient({ endpoint: aws.endpoint, region: 'us-east-1', credentials });

  it('sets the message group and deduplication id on a FIFO queue', async () => {
    // Prepare
    const sink = new SqsEventSink(
      { queueUrl: `${aws.endpoint}/123456789012/events.fifo`, connector: 'github' },
      sqs(),
    );
    // Act
    await sink.publish(event('fifo-1'));
    // Assess
    const sent = aws.calls.at(-1)?.body;
    expect(sent?.['MessageGroupId']).toBe('octo/hello');
    expect(String(sent?.['MessageDeduplicationId'])).toMatch(/^[0-9a-f]{64}$/);
  });

  it('maps a failing SendMessage to a retryable UnavailableError', async () => {
    // Prepare
    aws.failNext('AmazonSQS.SendMessage', { type: 'ServiceUnavailable', status: 503, times: 3 });
    const sink = new SqsEventSink(
      { queueUrl: `${aws.endpoint}/123456789012/events`, connector: 'github' },
      sqs(),
    );
    // Act & Assess
    await expect(sink.publish(event('sqs-fail'))).rejects.toBeInstanceOf(UnavailableError);
  });
});

describe('Class: FanOutSink', () => {
  it('stops at the first sink that fails', async () => {
    // Prepare
    const published: string[] = [];
    const ok = {
      name: 'ok',
      durable: true,
      publish: async (e: WebhookEvent) => void published.push(e.deliveryId),
    };
    const broken = {
      name: 'broken',
      durable: true,
      publish: () => Promise.reject(new UnavailableError('down')),
    };
    const sink = new FanOutSink([broken, ok]);
    // Act
    const attempt = sink.publish(event('fan-1'));
    // Assess
    await expect(attempt).rejects.toThrow('down');
    expect(published).toEqual([]);
    expect(sink.name).toBe('broken+ok');
  });
});

describe('Function: executionNameFor', () => {
  it('uses the delivery id when it is a valid name and a digest otherwise', () => {
    // Act
    const plain = executionNameFor('github', '72d3162e-cc78-11e3-81ab-4c9367dc0958');
    const odd = executionNameFor('github', 'issue-sync:octo/hello#12@2024-05-01T00:00:00Z');
    // Assess
    expect(plain).toBe('github-72d3162e-cc78-11e3-81ab-4c9367dc0958');
    expect(odd).toMatch(/^github-[0-9a-f]{64}$/);
    expect(executionNameFor('github', 'issue-sync:octo/hello#12@2024-05-01T00:00:00Z')).toBe(odd);
  });
});

describe('Function: handOn', () => {
  const logger = createLogger('events-test', '0.0.0');
  const ledger = (): DynamoDbDeliveryLedger =>
    new DynamoDbDeliveryLedger({ table: TABLE, ttlDays: 7, leaseSeconds: 60, now }, documents);
  const recording = (): WebhookEventSink & { published: string[] } => {
    const published: string[] = [];
    return {
      name: 'memory',
      durable: true,
      published,
      publish: async (e) => void published.push(e.deliveryId),
    };
  };

  it('hands a delivery on once and answers duplicate for its redelivery', async () => {
    // Prepare
    const sink = recording();
    // Act
    const first = await handOn(event('h-1'), { ledger: ledger(), sink, logger });
    const again = await handOn(event('h-1'), { ledger: ledger(), sink, logger });
    // Assess
    expect(first).toEqual({ status: 'accepted', durable: true });
    expect(again).toEqual({ status: 'duplicate' });
    expect(sink.published).toEqual(['h-1']);
  });

  it('releases the claim when the sink fails, so the redelivery is handed on', async () => {
    // Prepare
    const sink = recording();
    const broken: WebhookEventSink = {
      name: 'broken',
      durable: true,
      publish: () => Promise.reject(new ConflictError('refused')),
    };
    // Act
    const failed = await handOn(event('h-2'), { ledger: ledger(), sink: broken, logger }).catch(
      (e: unknown) => e,
    );
    const retried = await handOn(event('h-2'), { ledger: ledger(), sink, logger });
    // Assess
    expect(failed).toBeInstanceOf(UnavailableError);
    expect(retried.status).toBe('accepted');
    expect(sink.published).toEqual(['h-2']);
  });

  it('answers 409 while another invocation holds the delivery', async () => {
    // Prepare
    await ledger().claim('h-3');
    // Act & Assess
    await expect(
      handOn(event('h-3'), { ledger: ledger(), sink: recording(), logger }),
    ).rejects.toBeInstanceOf(ConflictError);
  });

  it('prepares the event only for a delivery it claimed, and releases the claim when preparing fails', async () => {
    // Prepare
    const sink = recording();
    const prepared: string[] = [];
    let failing = true;
    const prepare = async (e: WebhookEvent): Promise<WebhookEvent> => {
      prepared.push(e.deliveryId);
      if (failing) throw new UnavailableError('upstream down');
      return { ...e, payload: { enriched: true } };
    };
    const published: WebhookEvent[] = [];
    const capturing: WebhookEventSink = {
      name: 'memory',
      durable: true,
      publish: async (e) => void published.push(e),
    };

    // Act
    const failed = await handOn(event('h-5'), { ledger: ledger(), sink, logger, prepare }).catch(
      (e: unknown) => e,
    );
    failing = false;
    const retried = await handOn(event('h-5'), { ledger: ledger(), sink: capturing, logger, prepare });
    const replay = await handOn(event('h-5'), { ledger: ledger(), sink: capturing, logger, prepare });

    // Assess
    expect(failed).toBeInstanceOf(UnavailableError);
    expect(sink.published).toEqual([]);
    expect([retried.status, replay.status]).toEqual(['accepted', 'duplicate']);
    expect(published.map((e) => e.payload)).toEqual([{ enriched: true }]);
    expect(prepared).toEqual(['h-5', 'h-5']);
  });

  it('reports a log sink as not durable', async () => {
    const outcome = await handOn(event('h-4'), { ledger: ledger(), sink: new LogEventSink(logger), logger });
    expect(outcome).toEqual({ status: 'accepted', durable: false });
  });
});
