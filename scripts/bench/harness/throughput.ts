/**
 * Publish throughput of the messaging connectors (issue 14): 1,000 messages published in batches of the
 * provider's batch limit, one batch after the other, through each connector's client (the code every
 * trigger runs: input validation, the provider's limits checked before the call, a result per entry,
 * errors mapped, the kit's reused connection or SDK client), and through the provider's own client used
 * raw on the same peer in the same round, alternating which goes first. Peers: the local stack's AWS
 * endpoint (SQS, SNS, EventBridge, started here), the machine's RabbitMQ and NATS JetStream, Mosquitto
 * (or the embedded aedes when Mosquitto does not answer). A broker that does not answer is reported as
 * not measured, not as a failure.
 *
 * Run by `scripts/bench/run.ts` as a child (task in BENCH_TASK, answer over IPC), or alone for a look:
 * `node scripts/bench/harness/throughput.ts` prints the figures.
 */
import { randomUUID } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PublishBatchCommand, SNSClient } from '@aws-sdk/client-sns';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import amqplib from 'amqplib';
import mqtt from 'mqtt';
import { connect as natsConnect } from 'nats';
import { EventBridgePublisher } from '../../../functions/messaging/eventbridge/client.ts';
import { MqttPublisher } from '../../../functions/messaging/mqtt/client.ts';
import { NatsClient } from '../../../functions/messaging/nats/client.ts';
import { RabbitmqClient } from '../../../functions/messaging/rabbitmq/client.ts';
import { SnsPublisher } from '../../../functions/messaging/sns/client.ts';
import { SqsPublisher } from '../../../functions/messaging/sqs/client.ts';
import { startSecretsManagerFake } from '../../../test/fakes/secrets-manager.ts';
import { EventBuses, eventBridgeService } from '../../local/aws/eventbridge.ts';
import { startAwsEndpoint } from '../../local/aws/server.ts';
import { SnsTopics, snsService } from '../../local/aws/sns.ts';
import { sqsService } from '../../local/aws/sqs.ts';
import { createStackLog } from '../../local/log.ts';
import { QueueEngine } from '../../local/queues/queue-engine.ts';
import { startEmbeddedMqtt } from '../../local/stores/aedes.ts';
import { answers } from '../../local/stores/brokers.ts';
import type { ThroughputResult, ThroughputTask } from './protocol.ts';

/** One side of a comparison: publishes `count` messages in batches and resolves when all are confirmed. */
type Publish = (bodies: readonly string[]) => Promise<void>;

interface Subject {
  connector: string;
  peer: string;
  batch: number;
  /** Undefined: the peer does not answer (the reason says why). */
  sides?: { connector: Publish; raw: Publish; close(): Promise<void> };
  reason?: string;
}

const task: ThroughputTask =
  process.env['BENCH_TASK'] === undefined
    ? { messages: 1_000, rounds: 3 }
    : (JSON.parse(process.env['BENCH_TASK']) as ThroughputTask);
const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
const SECRET = 'circle-core/bench/throughput/credentials';
const RABBITMQ_SECRET = 'circle-core/bench/throughput/rabbitmq';
const run = randomUUID().slice(0, 8);

Object.assign(process.env, {
  AWS_REGION: REGION,
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  // Not measured: one log line per connector call would only cost both sides' terminal.
  POWERTOOLS_LOG_LEVEL: 'ERROR',
});

const chunks = <T>(items: readonly T[], size: number): T[][] => {
  const out: T[][] = [];
  for (let index = 0; index < items.length; index += size) out.push(items.slice(index, index + size));
  return out;
};

/** Publishes batch after batch; a batch with a failed entry fails the measurement. */
const inBatches =
  (size: number, send: (batch: readonly string[]) => Promise<void>): Publish =>
  async (bodies) => {
    for (const batch of chunks(bodies, size)) await send(batch);
  };

const allOk = (what: string, output: { failed: number }): void => {
  if (output.failed > 0) throw new Error(`${what}: ${output.failed} entries failed`);
};

async function startLocalAws(): Promise<{ url: string; close(): Promise<void> }> {
  const services: Parameters<typeof startAwsEndpoint>[0]['services'] = { accountId: ACCOUNT };
  const aws = await startAwsEndpoint({
    port: 0,
    services,
    log: createStackLog({ pretty: false, write: () => undefined }),
  });
  const queues = new QueueEngine({ region: REGION, accountId: ACCOUNT, baseUrl: aws.url });
  queues.create('bench-throughput');
  queues.create('bench-throughput-topic');
  queues.create('bench-throughput-bus');
  const topics = new SnsTopics({ region: REGION, accountId: ACCOUNT, deliveries: { queues } });
  topics.create('bench-throughput');
  const buses = new EventBuses({ region: REGION, accountId: ACCOUNT, targets: { queues } });
  buses.createBus('bench-throughput');
  services.sqs = sqsService(queues);
  services.sns = snsService(topics);
  services.events = eventBridgeService(buses);
  return { url: aws.url, close: () => aws.close() };
}

const timeouts = { timeoutMs: 10_000, maxAttempts: 3 };

async function sqsSubject(url: string): Promise<Subject> {
  const queueUrl = `${url}/${ACCOUNT}/bench-throughput`;
  const connector = await SqsPublisher.create({ queueUrl, ...timeouts });
  const raw = new SQSClient({ endpoint: url, region: REGION });
  return {
    connector: 'sqs',
    peer: 'local stack SQS',
    batch: 10,
    sides: {
      connector: inBatches(10, async (batch) =>
        allOk('sqs', await connector.publishBatch({ entries: batch.map((body) => ({ body })) })),
      ),
      raw: inBatches(10, async (batch) => {
        const out = await raw.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: batch.map((body, index) => ({ Id: String(index), MessageBody: body })),
          }),
        );
        if ((out.Failed ?? []).length > 0) throw new Error('raw sqs: entries failed');
      }),
      close: async () => raw.destroy(),
    },
  };
}

async function snsSubject(url: string): Promise<Subject> {
  const topicArn = `arn:aws:sns:${REGION}:${ACCOUNT}:bench-throughput`;
  const connector = await SnsPublisher.create({ topicArn, ...timeouts });
  const raw = new SNSClient({ endpoint: url, region: REGION });
  return {
    connector: 'sns',
    peer: 'local stack SNS',
    batch: 10,
    sides: {
      connector: inBatches(10, async (batch) =>
        allOk('sns', await connector.publishBatch({ entries: batch.map((body) => ({ body })) })),
      ),
      raw: inBatches(10, async (batch) => {
        const out = await raw.send(
          new PublishBatchCommand({
            TopicArn: topicArn,
            PublishBatchRequestEntries: batch.map((body, index) => ({ Id: String(index), Message: body })),
          }),
        );
        if ((out.Failed ?? []).length > 0) throw new Error('raw sns: entries failed');
      }),
      close: async () => raw.destroy(),
    },
  };
}

async function eventBridgeSubject(url: string): Promise<Subject> {
  const options = { bus: 'bench-throughput', source: 'circle.bench', detailType: 'bench-message' };
  const connector = await EventBridgePublisher.create({ ...options, ...timeouts });
  const raw = new EventBridgeClient({ endpoint: url, region: REGION });
  return {
    connector: 'eventbridge',
    peer: 'local stack EventBridge',
    batch: 10,
    sides: {
      connector: inBatches(10, async (batch) =>
        allOk('eventbridge', await connector.publishBatch({ entries: batch.map((body) => ({ body })) })),
      ),
      raw: inBatches(10, async (batch) => {
        const out = await raw.send(
          new PutEventsCommand({
            Entries: batch.map((body) => ({
              EventBusName: options.bus,
              Source: options.source,
              DetailType: options.detailType,
              Detail: body,
            })),
          }),
        );
        if ((out.FailedEntryCount ?? 0) > 0) throw new Error('raw eventbridge: entries failed');
      }),
      close: async () => raw.destroy(),
    },
  };
}

const BROKER = { host: '127.0.0.1', tls: 'disable' as const, secretName: SECRET, secretMaxAgeSeconds: 300 };
const BOUNDS = { connectTimeoutMs: 5_000, timeoutMs: 10_000 };

async function rabbitmqSubject(): Promise<Subject> {
  const base = { connector: 'rabbitmq', peer: 'RabbitMQ 127.0.0.1:5672', batch: 100 };
  if (!(await answers(5672))) return { ...base, reason: 'RabbitMQ does not answer on 127.0.0.1:5672' };
  const queue = `bench-throughput-${run}`;
  const admin = await amqplib.connect('amqp://guest:guest@127.0.0.1:5672');
  const raw = await admin.createConfirmChannel();
  await raw.assertQueue(queue, { autoDelete: false, durable: false });
  const connector = RabbitmqClient.create({
    ...BROKER,
    ...BOUNDS,
    secretName: RABBITMQ_SECRET,
    port: 5672,
    vhost: '/',
    exchange: '',
    routingKey: queue,
    queue,
    persistent: false,
  });
  return {
    ...base,
    sides: {
      connector: inBatches(100, async (batch) =>
        allOk('rabbitmq', await connector.publishBatch({ entries: batch.map((body) => ({ body })) })),
      ),
      // The same guarantees as the connector: confirms, mandatory, a message id, not persistent.
      raw: inBatches(100, async (batch) => {
        for (const body of batch) {
          raw.publish('', queue, Buffer.from(body), { mandatory: true, messageId: randomUUID() });
        }
        await raw.waitForConfirms();
      }),
      close: async () => {
        await raw.deleteQueue(queue);
        await raw.close();
        await admin.close();
        await connector.close();
      },
    },
  };
}

async function natsSubject(): Promise<Subject> {
  const base = { connector: 'nats', peer: 'NATS JetStream 127.0.0.1:4222', batch: 100 };
  if (!(await answers(4222))) return { ...base, reason: 'NATS does not answer on 127.0.0.1:4222' };
  const stream = `BENCH_THROUGHPUT_${run}`;
  const subject = `${stream}.messages`;
  const raw = await natsConnect({ servers: '127.0.0.1:4222' });
  const manager = await raw.jetstreamManager();
  await manager.streams.add({ name: stream, subjects: [subject] });
  const js = raw.jetstream();
  const connector = NatsClient.create({ ...BROKER, ...BOUNDS, port: 4222, subject, stream, consumer: '' });
  const encoder = new TextEncoder();
  return {
    ...base,
    sides: {
      connector: inBatches(100, async (batch) =>
        allOk('nats', await connector.publishBatch({ entries: batch.map((body) => ({ body })) })),
      ),
      // As the connector publishes a batch: concurrently on one connection, each acknowledged by the stream.
      raw: inBatches(100, async (batch) => {
        await Promise.all(batch.map((body) => js.publish(subject, encoder.encode(body))));
      }),
      close: async () => {
        await manager.streams.delete(stream);
        await raw.close();
        await connector.close();
      },
    },
  };
}

async function mqttSubject(): Promise<Subject> {
  const mosquitto = await answers(1883);
  const embedded = mosquitto ? undefined : await startEmbeddedMqtt();
  const port = embedded?.port ?? 1883;
  const topic = `bench/throughput/${run}`;
  const raw = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 5, reconnectPeriod: 0 });
  const connector = MqttPublisher.create({
    ...BROKER,
    ...BOUNDS,
    port,
    protocolVersion: 5,
    topic,
    qos: 1,
    clientIdPrefix: 'bench-throughput-',
  });
  return {
    connector: 'mqtt',
    peer: mosquitto ? 'Mosquitto 127.0.0.1:1883 (QoS 1)' : 'embedded aedes (QoS 1)',
    batch: 100,
    sides: {
      connector: inBatches(100, async (batch) =>
        allOk('mqtt', await connector.publishBatch({ entries: batch.map((body) => ({ body })) })),
      ),
      raw: inBatches(100, async (batch) => {
        await Promise.all(batch.map((body) => raw.publishAsync(topic, body, { qos: 1 })));
      }),
      close: async () => {
        await raw.endAsync();
        await connector.close();
        await embedded?.close();
      },
    },
  };
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

async function messagesPerSecond(publish: Publish, round: number, side: string): Promise<number> {
  const bodies = Array.from({ length: task.messages }, (_, index) =>
    JSON.stringify({ round, side, index, at: Date.now() }),
  );
  const started = performance.now();
  await publish(bodies);
  return task.messages / ((performance.now() - started) / 1000);
}

const secrets = await startSecretsManagerFake({
  [SECRET]: '{}',
  [RABBITMQ_SECRET]: JSON.stringify({ username: 'guest', password: 'guest' }),
});
process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] = secrets.endpoint;
const aws = await startLocalAws();
for (const service of ['SQS', 'SNS', 'EVENTBRIDGE']) process.env[`AWS_ENDPOINT_URL_${service}`] = aws.url;
const results: ThroughputResult[] = [];
try {
  const subjects = [
    () => sqsSubject(aws.url),
    () => snsSubject(aws.url),
    () => eventBridgeSubject(aws.url),
    rabbitmqSubject,
    natsSubject,
    mqttSubject,
  ];
  for (const start of subjects) {
    const subject = await start();
    const base = {
      connector: subject.connector,
      peer: subject.peer,
      batch: subject.batch,
      messages: task.messages,
    };
    if (subject.sides === undefined) {
      results.push({ ...base, rounds: 0, reason: subject.reason ?? 'not measured' });
      continue;
    }
    const { sides } = subject;
    try {
      // One unmeasured pass each: connections opened, secrets read, code paths warm.
      const warmUp = [JSON.stringify({ warmUp: true })];
      await sides.connector(warmUp);
      await sides.raw(warmUp);
      const connectorRates: number[] = [];
      const rawRates: number[] = [];
      for (let round = 0; round < task.rounds; round += 1) {
        // Alternating which side goes first, so neither always meets a fresher peer.
        const order = round % 2 === 0 ? (['connector', 'raw'] as const) : (['raw', 'connector'] as const);
        for (const side of order) {
          const rate = await messagesPerSecond(sides[side], round, side);
          (side === 'connector' ? connectorRates : rawRates).push(rate);
        }
      }
      const connectorRate = median(connectorRates);
      const rawRate = median(rawRates);
      results.push({
        ...base,
        rounds: task.rounds,
        connector_per_second: Math.round(connectorRate),
        raw_per_second: Math.round(rawRate),
        ratio: Math.round((connectorRate / rawRate) * 1000) / 1000,
      });
    } catch (error) {
      results.push({ ...base, rounds: 0, reason: error instanceof Error ? error.message : String(error) });
    } finally {
      await sides.close().catch(() => undefined);
    }
  }
} finally {
  await aws.close();
  await secrets.close();
}

if (process.send === undefined) {
  console.log(JSON.stringify(results, null, 2));
  process.exit(0);
} else {
  process.send(results, undefined, {}, () => process.exit(0));
}
