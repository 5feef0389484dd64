/**
 * `forward-messages`, the polling schedule that brings NATS consumption to Lambda, against the machine's
 * NATS JetStream (127.0.0.1:4222), with the delivery ledger in DynamoDB (dynalite) and events handed on
 * to SQS (the local stack's AWS endpoint), all through the connector's handler as the EventBridge
 * schedule invokes it. Covers: bounded runs resuming where the last stopped, a run that died between its
 * pull and the hand-on (nothing lost), one that died between the hand-on and the acknowledgement (not
 * handed on twice), a failing sink (released, handed on by the next run) and a run with no time left.
 */
import { ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { configureSecrets } from '@circle-core/core';
import { captureLogs, lambdaContext } from '@circle-core/core/testing';
import { AckPolicy, connect, type JetStreamManager, type NatsConnection } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpointPeer, startAwsEndpointPeer } from '../../../test/peers/aws-endpoint.ts';
import { NATS, uniqueName } from '../../../test/peers/brokers.ts';
import { createTable, type DynalitePeer, startDynalite } from '../../../test/peers/dynalite.ts';
import { NatsClient } from './client.ts';
import { deliveryIdOf } from './forward.ts';

const SECRET = 'test/nats/credentials';
const TABLE = 'nats-state';
const QUEUE = 'nats-events';
const STREAM = uniqueName('CIRCLE_NATS_FORWARD').replace(/-/g, '_');
/** A short ack wait, so a message a dead run held comes back within the test. */
const ACK_WAIT_MS = 1_500;

let admin: NatsConnection;
let manager: JetStreamManager;
let aws: AwsEndpointPeer;
let dynamo: DynalitePeer;
let sqs: SQSClient;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

interface Report {
  stream: string;
  consumer: string;
  pulled: number;
  handedOn: number;
  duplicates: number;
  released: number;
  unsettled: number;
  sink: string;
  stoppedBy: string;
}

/** One scheduled run, as the EventBridge rule in function.yml invokes it. */
async function scheduledRun(input: Record<string, unknown>, remainingMs = 28_000): Promise<Report> {
  return (await connector.handler(
    { operation: 'forward-messages', input, trigger: 'schedule' },
    lambdaContext({ remainingMs }),
  )) as Report;
}

/** A durable pull consumer of its own on the stream, with the short ack wait. */
async function freshConsumer(): Promise<{ consumer: string; subject: string }> {
  const consumer = uniqueName('fwd');
  const subject = `${STREAM}.${consumer}`;
  await manager.consumers.add(STREAM, {
    durable_name: consumer,
    ack_policy: AckPolicy.Explicit,
    ack_wait: ACK_WAIT_MS * 1_000_000,
    filter_subject: subject,
  });
  return { consumer, subject };
}

async function publish(subject: string, count: number): Promise<void> {
  const js = admin.jetstream();
  for (let index = 0; index < count; index += 1) {
    await js.publish(subject, new TextEncoder().encode(JSON.stringify({ index })));
  }
}

/** Every event on the SQS queue so far (each received once, then deleted by nobody: it stays in flight). */
async function drainEvents(): Promise<{ deliveryId: string; payload: { sequence: number; body: string } }[]> {
  const events: { deliveryId: string; payload: { sequence: number; body: string } }[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: aws.queueUrl(QUEUE),
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 600,
      }),
    );
    if (Messages.length === 0) return events;
    for (const message of Messages) events.push(JSON.parse(message.Body ?? '{}'));
  }
}

async function consumerState(consumer: string): Promise<{ pending: number; ackPending: number }> {
  const info = await manager.consumers.info(STREAM, consumer);
  return { pending: info.num_pending, ackPending: info.num_ack_pending };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeAll(async () => {
  admin = await connect({ servers: `${NATS.host}:${NATS.port}` });
  manager = await admin.jetstreamManager();
  await manager.streams.add({ name: STREAM, subjects: [`${STREAM}.>`] });
  aws = await startAwsEndpointPeer({ secrets: { [SECRET]: '{}' }, queues: [QUEUE] });
  dynamo = await startDynalite();
  await createTable(dynamo.endpoint, TABLE);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoint,
    AWS_ENDPOINT_URL_SQS: aws.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    NATS_HOST: NATS.host,
    NATS_PORT: String(NATS.port),
    NATS_TLS: 'disable',
    NATS_SECRET: SECRET,
    NATS_STREAM: STREAM,
    NATS_CONSUMER: 'unused',
    NATS_STATE_TABLE: TABLE,
    NATS_EVENTS_QUEUE_URL: aws.queueUrl(QUEUE),
  });
  configureSecrets({});
  sqs = new SQSClient({
    endpoint: aws.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await manager.streams.delete(STREAM).catch(() => false);
  await admin.close();
  sqs.destroy();
  await aws.close();
  await dynamo.close();
});

describe('Connector: nats, forward-messages (the polling schedule)', () => {
  it('forwards a bounded batch per run, acknowledging each after its hand-on, and the next run resumes after it', async () => {
    // Prepare
    const { consumer, subject } = await freshConsumer();
    await publish(subject, 25);
    await drainEvents();

    // Act
    const first = await scheduledRun({ source: consumer, maxMessages: 10 });
    const afterFirst = await consumerState(consumer);
    const second = await scheduledRun({ source: consumer, maxMessages: 100 });
    const third = await scheduledRun({ source: consumer, maxMessages: 100, waitTimeMs: 0 });
    const events = await drainEvents();

    // Assess
    expect(first).toMatchObject({
      stream: STREAM,
      consumer,
      pulled: 10,
      handedOn: 10,
      stoppedBy: 'max-messages',
    });
    expect(first.sink).toBe('sqs');
    expect(afterFirst).toEqual({ pending: 15, ackPending: 0 });
    expect(second).toMatchObject({ pulled: 15, handedOn: 15, duplicates: 0, stoppedBy: 'drained' });
    expect(third).toMatchObject({ pulled: 0, handedOn: 0, stoppedBy: 'drained' });
    expect(await consumerState(consumer)).toEqual({ pending: 0, ackPending: 0 });
    const bodies = events.map((event) => JSON.parse(event.payload.body).index);
    expect(bodies).toEqual([...Array(25).keys()]);
    expect(events[0]?.deliveryId).toBe(deliveryIdOf(STREAM, events[0]?.payload.sequence ?? 0));
  });

  it('loses nothing when a run dies between its pull and the hand-on: the messages come back after the ack wait', async () => {
    // Prepare: a run pulls five and dies before handing any on (its connection is gone, nothing acknowledged).
    const { consumer, subject } = await freshConsumer();
    await publish(subject, 5);
    await drainEvents();
    const dying = NatsClient.create({
      host: NATS.host,
      port: NATS.port,
      tls: 'disable',
      secretName: SECRET,
      secretMaxAgeSeconds: 300,
      subject,
      stream: STREAM,
      consumer,
      connectTimeoutMs: 2_000,
      timeoutMs: 5_000,
    });
    const held = await dying.pull({ maxMessages: 5, waitTimeMs: 1_000 });
    await dying.close();

    // Act
    const during = await scheduledRun({ source: consumer, waitTimeMs: 0 });
    await pause(ACK_WAIT_MS + 500);
    const after = await scheduledRun({ source: consumer, waitTimeMs: 500 });
    const events = await drainEvents();

    // Assess
    expect(held.messages).toHaveLength(5);
    expect(during).toMatchObject({ pulled: 0, handedOn: 0 });
    expect(after).toMatchObject({ pulled: 5, handedOn: 5, duplicates: 0 });
    expect(events.map((event) => event.payload.sequence)).toEqual(held.messages.map((m) => m.sequence));
    expect(await consumerState(consumer)).toEqual({ pending: 0, ackPending: 0 });
  });

  it('hands nothing on twice when a run dies between the hand-on and the acknowledgement', async () => {
    // Prepare: the acknowledgements of the first run never reach JetStream (the run died before them).
    const { consumer, subject } = await freshConsumer();
    await publish(subject, 4);
    await drainEvents();
    const { NatsClient: Client } = await import('./client.ts');
    const acknowledge = Client.prototype.acknowledge;
    Client.prototype.acknowledge = () => Promise.reject(new Error('the process died here'));
    let dead: unknown;
    try {
      await scheduledRun({ source: consumer });
    } catch (error) {
      dead = error;
    } finally {
      Client.prototype.acknowledge = acknowledge;
    }
    const handedBefore = await drainEvents();

    // Act
    await pause(ACK_WAIT_MS + 500);
    const next = await scheduledRun({ source: consumer, waitTimeMs: 500 });
    const handedAfter = await drainEvents();

    // Assess
    expect(dead).toBeInstanceOf(Error);
    expect(handedBefore).toHaveLength(4);
    expect(next).toMatchObject({ pulled: 4, handedOn: 0, duplicates: 4 });
    expect(handedAfter).toEqual([]);
    expect(await consumerState(consumer)).toEqual({ pending: 0, ackPending: 0 });
  });

  it('releases what it could not hand on (the sink failed) and stops; the next run hands it on in order', async () => {
    // Prepare
    const { consumer, subject } = await freshConsumer();
    await publish(subject, 3);
    await drainEvents();
    const logs = captureLogs();
    aws.failNext('AmazonSQS.SendMessage', { type: 'InvalidParameterValue', times: 1 });

    // Act
    let failed: Report;
    try {
      failed = await scheduledRun({ source: consumer });
    } finally {
      logs.restore();
    }
    const next = await scheduledRun({ source: consumer, waitTimeMs: 500 });
    const events = await drainEvents();

    // Assess
    expect(failed).toMatchObject({ pulled: 3, handedOn: 0, released: 3, stoppedBy: 'hand-on-failed' });
    expect(next).toMatchObject({ pulled: 3, handedOn: 3, stoppedBy: 'drained' });
    expect(events.map((event) => JSON.parse(event.payload.body).index)).toEqual([0, 1, 2]);
    expect(await consumerState(consumer)).toEqual({ pending: 0, ackPending: 0 });
  });

  it('pulls nothing when the time left is within the reserve, so a run never ends holding messages', async () => {
    // Prepare
    const { consumer, subject } = await freshConsumer();
    await publish(subject, 2);

    // Act: NATS_TIMEOUT_MS defaults to 5 s, so the reserve is 10 s plus the wait.
    const short = await scheduledRun({ source: consumer, waitTimeMs: 1_000 }, 9_000);

    // Assess
    expect(short).toMatchObject({ pulled: 0, stoppedBy: 'time' });
    expect(await consumerState(consumer)).toEqual({ pending: 2, ackPending: 0 });
  });
});
