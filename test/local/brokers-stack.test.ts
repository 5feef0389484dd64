/**
 * The local stack's brokers (scripts/local/stores/brokers.ts): which broker each of the RabbitMQ, NATS
 * and MQTT functions is given (the machine's when it answers, aedes for MQTT when Mosquitto does not, a
 * warning naming the broker and how to start it otherwise, the shell's when it names one), and the three
 * connectors driven on the running stack over HTTP and through their request queues (SQS).
 */
import { ListQueuesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalFunction } from '../../scripts/local/config/model.ts';
import { brokerAbsent, startLocalBrokers } from '../../scripts/local/stores/brokers.ts';
import { uniqueName } from '../peers/brokers.ts';
import { freePort } from '../peers/tls.ts';
import { postOperation, type StackProcess, startStackProcess } from './stack-process.ts';

const fn = (key: string, environment: Record<string, string>): LocalFunction => ({
  key,
  name: `circle-core-dev-${key}`,
  arn: `arn:aws:lambda:us-east-1:000000000000:function:circle-core-dev-${key}`,
  handler: 'index.handler',
  timeoutSeconds: 28,
  memorySize: 512,
  environment,
  routes: [],
  queues: [],
  schedules: [],
});

/** A secret store in memory with the two calls the plan uses. */
function memorySecrets() {
  const values = new Map<string, string>();
  return {
    values,
    get: async (name: string) => (values.has(name) ? { name, value: values.get(name) } : undefined),
    put: async (name: string, content: { value?: string }) => {
      values.set(name, content.value ?? '');
      return { name, versionId: 'v1', createdAt: 0, updatedAt: 0 };
    },
  };
}

describe('Local stack: broker plan', () => {
  it("gives each broker function the machine's broker, aedes for MQTT without Mosquitto, or a clear warning", async () => {
    // Prepare
    const secrets = memorySecrets();
    secrets.values.set('circle-core/dev/nats/credentials', '{"token":"kept"}');
    const warnings: string[] = [];
    const closed = await freePort();
    const functions = [
      fn('rabbitmq', { RABBITMQ_SECRET: 'circle-core/dev/rabbitmq/credentials', RABBITMQ_PORT: '5671' }),
      fn('nats', { NATS_SECRET: 'circle-core/dev/nats/credentials' }),
      fn('mqtt', { MQTT_SECRET: 'circle-core/dev/mqtt/credentials' }),
      fn('s3', {}),
    ];
    // Act
    const brokers = await startLocalBrokers(
      functions,
      {},
      secrets as never,
      (message) => warnings.push(message),
      { ports: { rabbitmq: closed, mqtt: closed } },
    );
    const env: Record<string, string> = { RABBITMQ_PORT: '5671', RABBITMQ_TLS: 'verify-full' };
    brokers.apply(functions[0] as LocalFunction, env);
    const mqttEnv: Record<string, string> = {};
    brokers.apply(functions[2] as LocalFunction, mqttEnv);
    const s3Env: Record<string, string> = {};
    brokers.apply(functions[3] as LocalFunction, s3Env);
    // Assess
    expect(env).toMatchObject({
      RABBITMQ_HOST: '127.0.0.1',
      RABBITMQ_PORT: String(closed),
      RABBITMQ_TLS: 'disable',
    });
    expect(warnings).toEqual([
      brokerAbsent({
        title: 'RabbitMQ',
        port: closed,
        prefix: 'RABBITMQ',
        start: 'rabbitmq-server -detached',
      }),
    ]);
    expect(warnings[0]).toContain('bash scripts/ensure-services.sh');
    expect(brokers.reach.get('rabbitmq')).toMatchObject({
      kind: 'machine',
      target: expect.stringContaining('NOT RUNNING'),
    });
    expect(brokers.reach.get('nats')).toMatchObject({
      kind: 'machine',
      target: "the machine's NATS (JetStream) 127.0.0.1:4222",
    });
    expect(brokers.reach.get('mqtt')).toMatchObject({
      kind: 'embedded',
      target: expect.stringMatching(/^aedes mqtt:\/\/127\.0\.0\.1:\d+/),
    });
    expect(mqttEnv).toMatchObject({ MQTT_PROTOCOL_VERSION: '4', MQTT_TLS: 'disable' });
    expect(mqttEnv['MQTT_PORT']).not.toBe(String(closed));
    expect(s3Env).toEqual({});
    expect(secrets.values.get('circle-core/dev/rabbitmq/credentials')).toBe(
      '{"username":"guest","password":"guest"}',
    );
    expect(secrets.values.get('circle-core/dev/nats/credentials')).toBe('{"token":"kept"}');
    expect(brokers.summary()).toContain('mqtt: aedes');
    await brokers.close();
  });

  it('leaves a function the shell points elsewhere alone', async () => {
    // Act
    const brokers = await startLocalBrokers(
      [fn('rabbitmq', {})],
      { RABBITMQ_HOST: 'mq.internal' },
      memorySecrets() as never,
      () => 0,
    );
    const env: Record<string, string> = {};
    brokers.apply(fn('rabbitmq', {}), env);
    // Assess
    expect(env).toEqual({});
    expect(brokers.reach.get('rabbitmq')).toMatchObject({ kind: 'configured' });
    expect((await startLocalBrokers([], {}, memorySecrets() as never, () => 0)).summary()).toBe('not used');
  });
});

describe('Local stack: the broker connectors, running', () => {
  let stack: StackProcess;

  const post = (path: string, input: unknown) => postOperation(stack, path, input);

  /** Sends an operation request to a function's request queue, as a deployed caller would. */
  async function enqueue(resource: string, request: unknown): Promise<void> {
    const sqs = new SQSClient({
      endpoint: stack.awsUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
    const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
    const queueUrl = QueueUrls.find((url) => url.endsWith(resource));
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: JSON.stringify(request) }));
  }

  /** Pulls through HTTP until `count` messages came (the queue trigger runs asynchronously). */
  async function pull(path: string, input: Record<string, unknown>, count: number) {
    const messages: { body: string; receipt: string }[] = [];
    const deadline = Date.now() + 30_000;
    while (messages.length < count && Date.now() < deadline) {
      const got = await post(path, { ...input, maxMessages: 10, waitTimeMs: 1_000 });
      messages.push(...((got.body['messages'] as { body: string; receipt: string }[] | undefined) ?? []));
    }
    return messages;
  }

  beforeAll(async () => {
    stack = await startStackProcess({}, ['--only', 'rabbitmq,nats,mqtt']);
  }, 240_000);

  afterAll(async () => {
    if (stack !== undefined) await stack.stop();
  });

  it('says in /health which broker each connector talks to', async () => {
    // Act
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as { connectors?: unknown };
    // Assess
    expect(JSON.stringify(health.connectors)).toContain("the machine's RabbitMQ 127.0.0.1:5672");
    expect(JSON.stringify(health.connectors)).toContain('NATS (JetStream) 127.0.0.1:4222');
  });

  it('RabbitMQ: declares a queue, publishes over HTTP and through SQS, pulls and acknowledges over HTTP', async () => {
    // Prepare
    const queue = uniqueName('circle-local');
    const declared = await post('/rabbitmq/declare-queue', { queue, type: 'classic' });
    // Act
    const published = await post('/rabbitmq/publish-message', { destination: queue, body: '{"via":"http"}' });
    await enqueue('RabbitmqRequestsQueue', {
      operation: 'publish-message',
      input: { destination: queue, body: '{"via":"sqs"}' },
    });
    const messages = await pull('/rabbitmq/receive-messages', { source: queue }, 2);
    const acknowledged = await post('/rabbitmq/acknowledge-messages', {
      source: queue,
      receipts: messages.map((message) => message.receipt),
    });
    // Assess
    expect(declared.status).toBe(200);
    expect(published.status).toBe(200);
    expect(messages.map((message) => message.body).sort()).toEqual(['{"via":"http"}', '{"via":"sqs"}']);
    expect(acknowledged.body['results']).toEqual(
      messages.map((message) => ({ receipt: message.receipt, ok: true })),
    );
  });

  it('NATS: publishes to the stream the stack created, with deduplication, and pulls through a declared consumer', async () => {
    // Prepare
    const consumer = uniqueName('circle-local').replace(/-/g, '_');
    const declared = await post('/nats/declare-consumer', { consumer, deliverPolicy: 'new' });
    const id = uniqueName('order');
    // Act
    const first = await post('/nats/publish-message', { body: '{"via":"http"}', deduplicationId: id });
    const repeat = await post('/nats/publish-message', { body: '{"via":"http"}', deduplicationId: id });
    await enqueue('NatsRequestsQueue', { operation: 'publish-message', input: { body: '{"via":"sqs"}' } });
    const messages = await pull('/nats/receive-messages', { source: consumer }, 2);
    const acknowledged = await post('/nats/acknowledge-messages', {
      source: consumer,
      receipts: messages.map((message) => message.receipt),
    });
    // Assess
    expect(declared.status).toBe(200);
    expect(first.body).toMatchObject({ duplicate: false });
    expect(repeat.body).toMatchObject({ duplicate: true });
    expect(messages.map((message) => message.body).sort()).toEqual(['{"via":"http"}', '{"via":"sqs"}']);
    expect(acknowledged.body['results']).toEqual(
      messages.map((message) => ({ receipt: message.receipt, ok: true })),
    );
  });

  it("NATS: forward-messages hands a durable consumer's messages on to the stack's NatsEventsQueue, once", async () => {
    // Prepare
    const consumer = uniqueName('circle-forward').replace(/-/g, '_');
    await post('/nats/declare-consumer', { consumer, deliverPolicy: 'new' });
    const marker = uniqueName('forwarded');
    for (const n of [1, 2, 3]) await post('/nats/publish-message', { body: JSON.stringify({ marker, n }) });
    // Act: the schedule's operation, run over HTTP (the stack made its state table and events queue)
    const first = await post('/nats/forward-messages', { source: consumer, waitTimeMs: 500 });
    const second = await post('/nats/forward-messages', { source: consumer, waitTimeMs: 0 });
    const sqs = new SQSClient({
      endpoint: stack.awsUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
    const queueUrl = QueueUrls.find((url) => url.endsWith('NatsEventsQueue'));
    const events: { name: string; payload: { body: string } }[] = [];
    for (;;) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 600 }),
      );
      if (Messages.length === 0) break;
      events.push(...Messages.map((message) => JSON.parse(message.Body ?? '{}')));
    }
    sqs.destroy();
    // Assess
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ consumer, pulled: 3, handedOn: 3, sink: 'sqs', stoppedBy: 'drained' });
    expect(second.body).toMatchObject({ pulled: 0, handedOn: 0 });
    const mine = events.filter((event) => event.payload.body.includes(marker));
    expect(mine.map((event) => JSON.parse(event.payload.body).n)).toEqual([1, 2, 3]);
    expect(mine.every((event) => event.name === 'message-received')).toBe(true);
  });

  it('MQTT: a retained publish over HTTP and one through SQS are collected over HTTP', async () => {
    // Prepare
    const root = uniqueName('circle-local');
    // Act
    const published = await post('/mqtt/publish-message', {
      destination: `${root}/http`,
      body: '21.5',
      retain: true,
    });
    await enqueue('MqttRequestsQueue', {
      operation: 'publish-message',
      input: { destination: `${root}/sqs`, body: '22.0', retain: true },
    });
    let bodies: string[] = [];
    const deadline = Date.now() + 30_000;
    while (bodies.length < 2 && Date.now() < deadline) {
      const collected = await post('/mqtt/collect-messages', {
        topicFilter: `${root}/+`,
        maxMessages: 2,
        waitTimeMs: 1_000,
      });
      bodies = ((collected.body['messages'] as { body: string }[] | undefined) ?? []).map(
        (message) => message.body,
      );
    }
    await post('/mqtt/clear-retained', { topic: `${root}/http` });
    await post('/mqtt/clear-retained', { topic: `${root}/sqs` });
    const pull = await post('/mqtt/receive-messages', {});
    // Assess
    expect(published.status).toBe(200);
    expect(bodies.sort()).toEqual(['21.5', '22.0']);
    expect(pull.status).toBe(501);
  });
});
