/**
 * The RabbitMQ connector against the machine's RabbitMQ (127.0.0.1:5672, guest/guest) and the local
 * stack's Secrets Manager: the message-publisher conformance suite, each operation on each trigger, and
 * the failure paths (unroutable messages, missing queues and exchanges, conflicting declarations, expired
 * receipts, a rotated password, nothing listening, an untrusted certificate, no time left). Every queue
 * is named per run and deleted afterwards.
 */

import { execFile } from 'node:child_process';
import { type AddressInfo, connect as connectTcp, createServer, type Socket } from 'node:net';
import { promisify } from 'node:util';
import { configureSecrets, NotFoundError } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import amqp from 'amqplib';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { describeMessagePublisherConformance } from '#shared/interfaces/message-publisher.conformance.ts';
import { RABBITMQ, startUntrustedTls, uniqueName } from '../../../test/peers/brokers.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';
import { freePort } from '../../../test/peers/tls.ts';
import { RabbitmqClient, type RabbitmqClientOptions } from './client.ts';

const SECRET = 'test/rabbitmq/credentials';
const credentials = (password: string): string => JSON.stringify({ username: RABBITMQ.username, password });
const QUEUE = uniqueName('circle-rabbitmq-test');

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let secrets: SecretsManagerPeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };
const queues: string[] = [QUEUE];

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({ path: `/rabbitmq/${operation}`, body });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

function options(overrides: Partial<RabbitmqClientOptions> = {}): RabbitmqClientOptions {
  return {
    host: RABBITMQ.host,
    port: RABBITMQ.port,
    tls: 'disable',
    vhost: '/',
    secretName: SECRET,
    secretMaxAgeSeconds: 300,
    exchange: '',
    routingKey: QUEUE,
    queue: QUEUE,
    persistent: true,
    connectTimeoutMs: 2_000,
    timeoutMs: 5_000,
    ...overrides,
  };
}

/** A classic queue of this run, deleted after the file. */
async function freshQueue(client: RabbitmqClient, prefix = 'circle-rabbitmq-test'): Promise<string> {
  const queue = uniqueName(prefix);
  queues.push(queue);
  await client.declareQueue({ queue, type: 'classic' });
  return queue;
}

beforeAll(async () => {
  secrets = await startSecretsManager({ [SECRET]: credentials(RABBITMQ.password) });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    RABBITMQ_HOST: RABBITMQ.host,
    RABBITMQ_PORT: String(RABBITMQ.port),
    RABBITMQ_TLS: 'disable',
    RABBITMQ_SECRET: SECRET,
    RABBITMQ_ROUTING_KEY: QUEUE,
    RABBITMQ_QUEUE: QUEUE,
  });
  configureSecrets({});
  ({ connector } = await import('./index.ts'));
  const admin = RabbitmqClient.create(options());
  await admin.declareQueue({ queue: QUEUE, type: 'quorum' });
  await admin.close();
});

afterAll(async () => {
  process.env = savedEnv;
  const connection = await amqp.connect({ hostname: RABBITMQ.host, port: RABBITMQ.port });
  const channel = await connection.createChannel();
  for (const queue of queues) await channel.deleteQueue(queue);
  await connection.close();
  await secrets.close();
});

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describeMessagePublisherConformance('RabbitMQ on 127.0.0.1:5672', async () => {
  const publisher = RabbitmqClient.create(options());
  const queue = await freshQueue(publisher, 'circle-rabbitmq-conformance');
  return { publisher, destination: queue, source: queue, close: () => publisher.close() };
});

describe('Connector: rabbitmq', () => {
  describe('Operations: publish-message, receive-messages, acknowledge-messages, release-messages', () => {
    it('publishes with headers to the configured queue, and pulls, releases and acknowledges over HTTP', async () => {
      // Prepare
      const body = JSON.stringify({ order: 42 });
      // Act
      const published = await call('publish-message', { body, attributes: { kind: 'order' } });
      const first = await call('receive-messages', { maxMessages: 10, waitTimeMs: 2_000 });
      const receipt = (parsed(first)['messages'] as { receipt: string }[])[0]?.receipt;
      const released = await call('release-messages', { receipts: [receipt] });
      const second = await call('receive-messages', { maxMessages: 10, waitTimeMs: 2_000 });
      const again = (parsed(second)['messages'] as { receipt: string }[])[0]?.receipt;
      const acknowledged = await call('acknowledge-messages', { receipts: [again] });
      const info = await call('inspect-queue', { queue: QUEUE });
      // Assess
      expect(published.statusCode).toBe(200);
      expect(parsed(published)['messageId']).toMatch(/^[0-9a-f-]{36}$/);
      expect(parsed(first)['messages']).toMatchObject([
        { body, attributes: { kind: 'order' }, redelivered: false, deliveryCount: 1 },
      ]);
      expect(parsed(released)).toEqual({ results: [{ receipt, ok: true }] });
      // A quorum queue counts deliveries (x-delivery-count), so the second one says 2.
      expect(parsed(second)['messages']).toMatchObject([{ body, redelivered: true, deliveryCount: 2 }]);
      expect(parsed(acknowledged)).toEqual({ results: [{ receipt: again, ok: true }] });
      // A quorum queue may count the basic.get reader as a consumer: only the messages are asserted.
      expect(parsed(info)).toMatchObject({ queue: QUEUE, messageCount: 0 });
    });

    it('reports an unroutable message: 404 for one, a failed result per entry for a batch', async () => {
      // Prepare
      const nowhere = uniqueName('circle-rabbitmq-nowhere');
      // Act
      const one = await call('publish-message', { destination: nowhere, body: '{}' });
      const batch = await call('publish-batch', {
        destination: nowhere,
        entries: [{ body: '{}' }, { body: '[]' }],
      });
      // Assess
      expect(one.statusCode).toBe(404);
      expect(parsed(one)['detail']).toContain(`routing key "${nowhere}"`);
      expect(parsed(batch)).toMatchObject({
        succeeded: 0,
        failed: 2,
        results: [
          { index: 0, ok: false, error: { name: 'NotFoundError', code: 'not_found', retryable: false } },
          { index: 1, ok: false, error: { name: 'NotFoundError' } },
        ],
      });
    });

    it('publishes through an exchange by routing key to the queues bound to it', async () => {
      // Prepare
      const admin = RabbitmqClient.create(options());
      const queue = uniqueName('circle-rabbitmq-topic');
      queues.push(queue);
      await admin.declareQueue({
        queue,
        type: 'classic',
        bindings: [{ exchange: 'amq.topic', routingKey: `${queue}.orders.*` }],
      });
      const topic = RabbitmqClient.create(options({ exchange: 'amq.topic', routingKey: '', queue }));
      // Act
      const batch = await topic.publishBatch({
        destination: `${queue}.orders.created`,
        entries: [{ body: '{"n":1}' }, { body: '{"n":2}' }],
      });
      const unmatched = await topic
        .publish({ destination: `${queue}.invoices.created`, body: '{}' })
        .catch((error: unknown) => error);
      const pulled = await topic.receive({ maxMessages: 5, waitTimeMs: 2_000 });
      // Assess
      expect(batch).toMatchObject({ succeeded: 2, failed: 0 });
      expect(unmatched).toBeInstanceOf(NotFoundError);
      expect(pulled.messages.map((message) => message.body)).toEqual(['{"n":1}', '{"n":2}']);
      await topic.acknowledge({ receipts: pulled.messages.map((message) => message.receipt) });
      await topic.close();
      await admin.close();
    });

    it('refuses to pull or publish without a named or configured queue', async () => {
      // Prepare
      const bare = RabbitmqClient.create(options({ routingKey: '', queue: '' }));
      // Act
      const receive = await bare.receive({}).catch((error: unknown) => error);
      const publish = await bare.publish({ body: '{}' }).catch((error: unknown) => error);
      // Assess
      expect(receive).toMatchObject({ name: 'ValidationError', issues: [{ pointer: '/source' }] });
      expect(publish).toMatchObject({ name: 'ValidationError', issues: [{ pointer: '/destination' }] });
    });
  });

  describe('Names counted in bytes (AMQP short strings: at most 255 bytes)', () => {
    const long = 'あ'.repeat(200); // 200 characters, 600 bytes of UTF-8

    it('refuses a 600-byte destination or source with 400 naming the field and the limit, before anything is sent', async () => {
      // Act
      const publish = await call('publish-message', { body: '{}', destination: long });
      const batch = await call('publish-batch', { destination: long, entries: [{ body: '{}' }] });
      const receive = await call('receive-messages', { source: long });
      // Assess
      for (const [response, pointer] of [
        [publish, '/destination'],
        [batch, '/destination'],
        [receive, '/source'],
      ] as const) {
        expect(response.statusCode).toBe(400);
        expect(parsed(response)).toMatchObject({
          errors: [{ pointer, message: expect.stringContaining('at most 255 bytes') }],
        });
      }
    });

    it('refuses a 600-byte binding key with 400 naming it, and keeps a 255-byte one', async () => {
      // Act
      const queue = uniqueName('circle-rabbitmq-bytes');
      queues.push(queue);
      const refused = await call('declare-queue', {
        queue,
        type: 'classic',
        bindings: [{ exchange: 'amq.topic', routingKey: long }],
      });
      const kept = await call('declare-queue', {
        queue,
        type: 'classic',
        bindings: [{ exchange: 'amq.topic', routingKey: 'あ'.repeat(85) }],
      });
      // Assess
      expect(refused.statusCode).toBe(400);
      expect(parsed(refused)).toMatchObject({
        errors: [
          { pointer: '/bindings/0/routingKey', message: expect.stringContaining('at most 255 bytes') },
        ],
      });
      expect(kept.statusCode).toBe(200);
    });
  });

  describe('Operations: declare-queue, inspect-queue', () => {
    it('declares idempotently, refuses other arguments with 409, and answers 404 for a missing queue', async () => {
      // Prepare
      const queue = uniqueName('circle-rabbitmq-declare');
      queues.push(queue);
      const declaration = {
        queue,
        type: 'classic',
        maxLength: 100,
        overflow: 'reject-publish',
        messageTtlMs: 60_000,
      };
      // Act
      const first = await call('declare-queue', declaration);
      const repeat = await call('declare-queue', declaration);
      const conflicting = await call('declare-queue', { ...declaration, maxLength: 5 });
      const missing = await call('inspect-queue', { queue: uniqueName('circle-rabbitmq-missing') });
      const afterwards = await call('inspect-queue', { queue });
      const reserved = await call('declare-queue', { queue: 'amq.mine' });
      const nonDurableQuorum = await call('declare-queue', { queue, durable: false });
      // Assess
      expect(parsed(first)).toEqual({ queue, messageCount: 0, consumerCount: 0 });
      expect(repeat.statusCode).toBe(200);
      expect(conflicting.statusCode).toBe(409);
      expect(parsed(conflicting)['detail']).toContain('PRECONDITION_FAILED');
      expect(missing.statusCode).toBe(404);
      expect(afterwards.statusCode).toBe(200);
      expect(reserved.statusCode).toBe(400);
      expect(nonDurableQuorum.statusCode).toBe(400);
    });

    it('answers 404 when a pull names a missing queue, then works on a new channel', async () => {
      // Act
      const missing = await call('receive-messages', {
        source: uniqueName('circle-rabbitmq-gone'),
        waitTimeMs: 0,
      });
      const after = await call('inspect-queue', { queue: QUEUE });
      // Assess
      expect(missing.statusCode).toBe(404);
      expect(parsed(missing)['detail']).toContain('no queue');
      expect(after.statusCode).toBe(200);
    });

    it('keeps a receipt held before an inspect-queue of a missing queue (404) valid: the message is acknowledged, not redelivered', async () => {
      // Prepare: a message pulled and held, as another caller of the container would hold it
      const queue = uniqueName('circle-rabbitmq-held');
      queues.push(queue);
      await call('declare-queue', { queue, type: 'classic' });
      await call('publish-message', { destination: queue, body: '{"held":1}' });
      const pulled = await call('receive-messages', { source: queue, maxMessages: 1, waitTimeMs: 2_000 });
      const receipt = (parsed(pulled)['messages'] as { receipt: string }[])[0]?.receipt;
      // Act
      const missing = await call('inspect-queue', { queue: uniqueName('circle-rabbitmq-missing') });
      const acknowledged = await call('acknowledge-messages', { receipts: [receipt] });
      const again = await call('receive-messages', { source: queue, waitTimeMs: 500 });
      const info = await call('inspect-queue', { queue });
      // Assess
      expect(parsed(pulled)['messages']).toMatchObject([{ body: '{"held":1}', redelivered: false }]);
      expect(missing.statusCode).toBe(404);
      expect(parsed(missing)['detail']).toContain('no queue');
      expect(parsed(acknowledged)).toEqual({ results: [{ receipt, ok: true }] });
      expect(parsed(again)).toEqual({ messages: [] });
      expect(parsed(info)).toMatchObject({ queue, messageCount: 0 });
    });

    it('keeps held receipts and the connection across a 404 pull, a 409 declare and a publish to a missing exchange', async () => {
      // Prepare: a client whose exchange does not exist, holding a message another producer sent
      const connect = vi.spyOn(amqp, 'connect');
      const client = RabbitmqClient.create(options({ exchange: uniqueName('circle-rabbitmq-no-exchange') }));
      const queue = await freshQueue(client);
      const producer = await amqp.connect({ hostname: RABBITMQ.host, port: RABBITMQ.port });
      const channel = await producer.createConfirmChannel();
      channel.sendToQueue(queue, Buffer.from('held'));
      await channel.waitForConfirms();
      await producer.close();
      const held = await client.receive({ source: queue, waitTimeMs: 2_000 });
      // Act: each of these makes the broker close the channel it runs on
      const pulled = await client
        .receive({ source: uniqueName('circle-rabbitmq-missing'), waitTimeMs: 0 })
        .catch((error: unknown) => error);
      const redeclared = await client
        .declareQueue({ queue, type: 'classic', maxLength: 5 })
        .catch((error: unknown) => error);
      const published = await client.publish({ body: '{}' }).catch((error: unknown) => error);
      const acknowledged = await client.acknowledge({ receipts: [held.messages[0]?.receipt ?? ''] });
      const again = await client.receive({ source: queue, waitTimeMs: 500 });
      // Assess
      expect(held.messages).toMatchObject([{ body: 'held', redelivered: false }]);
      expect(pulled).toMatchObject({ name: 'NotFoundError', status: 404 });
      expect((pulled as Error).message).toContain('no queue');
      expect(redeclared).toMatchObject({ name: 'ConflictError', status: 409 });
      expect(published).toMatchObject({ name: 'NotFoundError', status: 404 });
      expect((published as Error).message).toContain('no exchange');
      expect(acknowledged.results).toEqual([{ receipt: held.messages[0]?.receipt, ok: true }]);
      expect(again.messages).toEqual([]);
      expect(await client.inspectQueue({ queue })).toMatchObject({ queue, messageCount: 0 });
      // The connector's own connection: the producer's is the other one.
      expect(connect).toHaveBeenCalledTimes(2);
      await client.close();
      connect.mockRestore();
    });

    it('answers 404 for a publish to a missing exchange', async () => {
      // Prepare
      const client = RabbitmqClient.create(options({ exchange: uniqueName('circle-rabbitmq-no-exchange') }));
      // Act
      const failure = await client.publish({ body: '{}' }).catch((error: unknown) => error);
      // Assess
      expect(failure).toBeInstanceOf(NotFoundError);
      expect((failure as Error).message).toContain('no exchange');
      await client.close();
    });
  });

  describe('Connection', () => {
    it('keeps one connection across calls, and after it closed a receipt it issued expires', async () => {
      // Prepare
      const connect = vi.spyOn(amqp, 'connect');
      const client = RabbitmqClient.create(options());
      const queue = await freshQueue(client);
      await client.publish({ destination: queue, body: '{"held":true}' });
      const { messages } = await client.receive({ source: queue, waitTimeMs: 2_000 });
      // Act
      await client.close();
      const expired = await client.acknowledge({ source: queue, receipts: [messages[0]?.receipt ?? ''] });
      const back = await client.receive({ source: queue, waitTimeMs: 2_000 });
      // Assess
      expect(connect).toHaveBeenCalledTimes(2);
      expect(expired.results).toMatchObject([
        { ok: false, error: { name: 'ConflictError', code: 'conflict' } },
      ]);
      expect(back.messages).toMatchObject([{ body: '{"held":true}', redelivered: true }]);
      await client.acknowledge({ receipts: back.messages.map((message) => message.receipt) });
      await client.close();
      connect.mockRestore();
    });

    it('reads the secret again when the password rotated, and never shows it', async () => {
      // Prepare
      const wrong = 'rotated-away-password-7c1f';
      await secrets.set(SECRET, credentials(wrong));
      configureSecrets({});
      const client = RabbitmqClient.create(options());
      const refused = await client.ping().catch((error: unknown) => error);
      await secrets.set(SECRET, credentials(RABBITMQ.password));
      // Act
      const after = await client.ping().then(() => 'ok');
      // Assess
      expect(refused).toMatchObject({ name: 'AuthError' });
      expect((refused as Error).message).not.toContain(wrong);
      expect(after).toBe('ok');
      expect(logs.text()).not.toContain(wrong);
      await client.close();
    });

    it('answers 403 for a virtual host the user may not use', async () => {
      // Prepare
      const client = RabbitmqClient.create(options({ vhost: uniqueName('circle-no-vhost') }));
      // Act
      const failure = await client.ping().catch((error: unknown) => error);
      // Assess
      expect(failure).toMatchObject({ name: 'ForbiddenError', status: 403 });
      expect((failure as Error).message).toContain('RABBITMQ_VHOST');
    });

    it('answers 503 when nothing listens', async () => {
      // Prepare
      const client = RabbitmqClient.create(options({ port: await freePort(), connectTimeoutMs: 500 }));
      // Act
      const failure = client.ping();
      // Assess
      await expect(failure).rejects.toMatchObject({ name: 'UnavailableError', code: 'provider_unavailable' });
    });

    it('refuses a server certificate no trusted CA signed, naming the setting', async () => {
      // Prepare
      const untrusted = await startUntrustedTls();
      const client = RabbitmqClient.create(
        options({ host: 'localhost', port: untrusted.port, tls: 'verify-full' }),
      );
      // Act
      const failure = await client.ping().catch((error: unknown) => error);
      // Assess
      expect(failure).toMatchObject({ name: 'ConfigurationError' });
      expect((failure as Error).message).toContain('RABBITMQ_TLS=verify-full');
      await untrusted.close();
    });

    it('bounds a pull by the time left, and refuses a call with no time left', async () => {
      // Prepare
      const client = RabbitmqClient.create(options({ remainingTimeMs: () => 1_500 }));
      const queue = await freshQueue(client);
      const none = RabbitmqClient.create(options({ remainingTimeMs: () => 100 }));
      const started = Date.now();
      // Act
      const pulled = await client.receive({ source: queue, waitTimeMs: 20_000 });
      const elapsed = Date.now() - started;
      const refused = await none.receive({ source: queue }).catch((error: unknown) => error);
      // Assess
      expect(pulled.messages).toEqual([]);
      // The 20 s wait was cut to the 1.3 s left; generous headroom for a loaded machine.
      expect(elapsed).toBeLessThan(10_000);
      expect(refused).toMatchObject({ name: 'TimeoutError' });
      await client.close();
    });
  });

  describe('Odd messages, queue arguments and refusals', () => {
    it('reads every AMQP header type as text, and a message without id or headers', async () => {
      // Prepare: published by another AMQP client, as a producer outside the connector would
      const client = RabbitmqClient.create(options());
      const queue = await freshQueue(client);
      const producer = await amqp.connect({ hostname: RABBITMQ.host, port: RABBITMQ.port });
      const channel = await producer.createConfirmChannel();
      channel.sendToQueue(queue, Buffer.from('typed'), {
        headers: {
          text: 'a',
          bytes: Buffer.from('hi'),
          count: 3,
          flag: true,
          nested: { a: 1 },
          list: [1, 'b'],
          nothing: null,
        },
      });
      channel.sendToQueue(queue, Buffer.from('bare'));
      await channel.waitForConfirms();
      await producer.close();
      // Act
      const { messages } = await client.receive({ source: queue, maxMessages: 2, waitTimeMs: 2_000 });
      // Assess
      expect(messages.map(({ receipt: _receipt, ...message }) => message)).toEqual([
        {
          body: 'typed',
          attributes: {
            text: 'a',
            bytes: 'hi',
            count: '3',
            flag: 'true',
            nested: '{"a":1}',
            list: '[1,"b"]',
          },
          redelivered: false,
        },
        { body: 'bare', attributes: {}, redelivered: false },
      ]);
      await client.acknowledge({ receipts: messages.map((message) => message.receipt) });
      await client.close();
    });

    it('declares a queue whose expired messages go to its dead-letter exchange', async () => {
      // Prepare: an exchange of this run, bound to a queue that collects what expires
      const client = RabbitmqClient.create(options());
      const admin = await amqp.connect({ hostname: RABBITMQ.host, port: RABBITMQ.port });
      const channel = await admin.createChannel();
      const exchange = uniqueName('circle-rabbitmq-dlx');
      await channel.assertExchange(exchange, 'fanout', { durable: false });
      const dead = uniqueName('circle-rabbitmq-dead');
      const source = uniqueName('circle-rabbitmq-expiring');
      queues.push(dead, source);
      await client.declareQueue({ queue: dead, type: 'classic', bindings: [{ exchange, routingKey: '' }] });
      await client.declareQueue({
        queue: source,
        type: 'classic',
        messageTtlMs: 50,
        deadLetterExchange: exchange,
      });
      // Act
      await client.publish({ destination: source, body: 'expires' });
      const { messages } = await client.receive({ source: dead, maxMessages: 1, waitTimeMs: 3_000 });
      // Assess
      expect(messages).toMatchObject([{ body: 'expires' }]);
      expect((await client.inspectQueue({ queue: source })).messageCount).toBe(0);
      await client.acknowledge({ receipts: messages.map((message) => message.receipt) });
      await channel.deleteExchange(exchange);
      await admin.close();
      await client.close();
    });

    it('answers 503 for a publish the broker refuses (basic.nack of a full reject-publish queue)', async () => {
      // Prepare
      const client = RabbitmqClient.create(options());
      const queue = uniqueName('circle-rabbitmq-full');
      queues.push(queue);
      await client.declareQueue({ queue, type: 'classic', maxLength: 1, overflow: 'reject-publish' });
      // Act
      const first = await client.publish({ destination: queue, body: 'fits' });
      const refused = await client
        .publish({ destination: queue, body: 'full' })
        .catch((error: unknown) => error);
      // Assess
      expect(first.messageId).toMatch(/^[0-9a-f-]{36}$/);
      expect(refused).toMatchObject({ name: 'UnavailableError', status: 503 });
      expect((refused as Error).message).toContain('basic.nack');
      expect((await client.inspectQueue({ queue })).messageCount).toBe(1);
      await client.close();
    });

    it('refuses a secret without a password, naming RABBITMQ_SECRET', async () => {
      // Prepare
      const name = 'test/rabbitmq/no-password';
      await secrets.set(name, JSON.stringify({ username: RABBITMQ.username }));
      const client = RabbitmqClient.create(options({ secretName: name }));
      // Act
      const failure = await client.ping().catch((error: unknown) => error);
      // Assess
      expect(failure).toMatchObject({ name: 'ConfigurationError' });
      expect((failure as Error).message).toContain('RABBITMQ_SECRET needs "username" and "password"');
      await client.close();
    });

    it('refuses a call when the time ran out after connecting, and the connection stays usable', async () => {
      // Prepare: the connection opened while there was time
      let left = 10_000;
      const client = RabbitmqClient.create(options({ remainingTimeMs: () => left }));
      const queue = await freshQueue(client);
      // Act
      left = 100;
      const refused = await client.declareQueue({ queue, type: 'classic' }).catch((error: unknown) => error);
      left = 10_000;
      const after = await client.inspectQueue({ queue });
      // Assess
      expect(refused).toMatchObject({ name: 'TimeoutError' });
      expect(after).toMatchObject({ queue, messageCount: 0 });
      await client.close();
    });
  });

  describe('Concurrent invocations of one warm handler (Lambda Managed Instances) and a dropped connection', () => {
    /** The connection the connector opens next, captured so that the broker can close it by its name. */
    function nextConnection(): Promise<amqp.ChannelModel> {
      const connect = vi.spyOn(amqp, 'connect');
      return new Promise((resolve) => {
        connect.mockImplementationOnce(async (...args: Parameters<typeof amqp.connect>) => {
          connect.mockRestore();
          const model = await amqp.connect(...args);
          resolve(model);
          return model;
        });
      });
    }

    /** The broker closes this test's own connection (rabbitmqctl close_connection), as on a node restart. */
    async function brokerCloses(model: amqp.ChannelModel): Promise<void> {
      const socket = (model.connection as unknown as { stream: { localAddress: string; localPort: number } })
        .stream;
      const closed = new Promise<void>((resolve) => model.once('close', () => resolve()));
      const run = promisify(execFile);
      const listed = await run('rabbitmqctl', [
        'list_connections',
        'pid',
        'peer_host',
        'peer_port',
        '--no-table-headers',
        '-q',
      ]);
      const pid = listed.stdout
        .split('\n')
        .map((line) => line.split('\t'))
        .find(([, host, port]) => host === socket.localAddress && port === String(socket.localPort))?.[0];
      if (pid === undefined) throw new Error('rabbitmqctl does not list the test connection');
      await run('rabbitmqctl', ['close_connection', pid, 'test']);
      await closed;
    }

    it('lets another invocation publish while a pull waits on an empty queue, and the pull takes that message', async () => {
      // Prepare
      const queue = await freshQueue(await connector.runtime.client());
      // Act
      const waiting = call('receive-messages', { source: queue, maxMessages: 1, waitTimeMs: 8_000 });
      const published = await call('publish-message', { destination: queue, body: '{"during":"pull"}' });
      const pulled = await waiting;
      // Assess
      expect(published.statusCode).toBe(200);
      expect(parsed(pulled)['messages']).toMatchObject([{ body: '{"during":"pull"}' }]);
      await call('acknowledge-messages', {
        source: queue,
        receipts: (parsed(pulled)['messages'] as { receipt: string }[]).map((message) => message.receipt),
      });
    });

    it('gives each of interleaved invocations its own confirm, its own messages and its own acks', async () => {
      // Prepare
      const queue = await freshQueue(await connector.runtime.client());
      const bodies = Array.from({ length: 6 }, (_, index) => `{"n":${index}}`);
      // Act
      const published = await Promise.all(
        bodies.map((body) => call('publish-message', { destination: queue, body })),
      );
      const pulls = await Promise.all(
        [1, 2, 3].map(() => call('receive-messages', { source: queue, maxMessages: 2, waitTimeMs: 2_000 })),
      );
      const held = pulls.map((pull) => parsed(pull)['messages'] as { body: string; receipt: string }[]);
      const acks = await Promise.all(
        held.map((messages) =>
          call('acknowledge-messages', {
            source: queue,
            receipts: messages.map((message) => message.receipt),
          }),
        ),
      );
      const info = await call('inspect-queue', { queue });
      // Assess
      const ids = published.map((response) => parsed(response)['messageId']);
      expect(new Set(ids).size).toBe(6);
      expect(held.map((messages) => messages.length)).toEqual([2, 2, 2]);
      expect(
        held
          .flat()
          .map((message) => message.body)
          .sort(),
      ).toEqual([...bodies].sort());
      acks.forEach((ack, index) => {
        expect(parsed(ack)).toEqual({
          results: held[index]?.map((message) => ({ receipt: message.receipt, ok: true })),
        });
      });
      expect(parsed(info)).toMatchObject({ messageCount: 0 });
    });

    it('publishes on a new connection in the next invocation after the broker closed the idle one', async () => {
      // Prepare
      const client = await connector.runtime.client();
      const queue = await freshQueue(client);
      await client.close();
      const opened = nextConnection();
      await call('publish-message', { destination: queue, body: '{"before":"close"}' });
      await brokerCloses(await opened);
      // Act
      const published = await call('publish-message', { destination: queue, body: '{"after":"close"}' });
      const pulled = await call('receive-messages', { source: queue, maxMessages: 10, waitTimeMs: 1_000 });
      // Assess
      expect(published.statusCode).toBe(200);
      expect((parsed(pulled)['messages'] as { body: string }[]).map((message) => message.body)).toEqual([
        '{"before":"close"}',
        '{"after":"close"}',
      ]);
      await call('acknowledge-messages', {
        source: queue,
        receipts: (parsed(pulled)['messages'] as { receipt: string }[]).map((message) => message.receipt),
      });
    });

    it('answers a publish whose connection was cut before its confirm with a 503 naming the connection, and the next one opens a new one', async () => {
      // Prepare: a TCP proxy to the broker whose connections the test cuts, as a network failure would.
      const sockets = new Set<Socket>();
      const proxy = createServer((inbound) => {
        const outbound = connectTcp({ host: RABBITMQ.host, port: RABBITMQ.port });
        for (const socket of [inbound, outbound]) {
          sockets.add(socket);
          socket.on('error', () => undefined);
          socket.on('close', () => {
            sockets.delete(socket);
            inbound.destroy();
            outbound.destroy();
          });
        }
        inbound.pipe(outbound).pipe(inbound);
      });
      await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
      const client = RabbitmqClient.create(options({ port: (proxy.address() as AddressInfo).port }));
      const queue = await freshQueue(client);
      // Act: sent on the cut connection before the client saw it close, then again.
      for (const socket of sockets) socket.destroy();
      const lost = await client
        .publish({ destination: queue, body: '{"lost":"maybe"}' })
        .catch((e: unknown) => e);
      const published = await client.publish({ destination: queue, body: '{"after":"cut"}' });
      // Assess
      expect(lost).toMatchObject({ name: 'UnavailableError', code: 'provider_unavailable' });
      expect((lost as Error).message).toContain('the connection is unavailable');
      expect(published.messageId).toMatch(/^[0-9a-f-]{36}$/);
      await client.close();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    });

    it('keeps a pull going on a new connection when the broker closed the one it polled on', async () => {
      // Prepare
      const client = await connector.runtime.client();
      const queue = await freshQueue(client);
      await client.close();
      const opened = nextConnection();
      // The longest wait, so that rabbitmqctl (slow on a loaded machine) closes the connection within it;
      // the pull answers as soon as the message came.
      const waiting = call('receive-messages', { source: queue, maxMessages: 1, waitTimeMs: 20_000 });
      // Act
      await brokerCloses(await opened);
      const published = await call('publish-message', { destination: queue, body: '{"after":"close"}' });
      const pulled = await waiting;
      // Assess
      expect(published.statusCode).toBe(200);
      expect(pulled.statusCode).toBe(200);
      expect(parsed(pulled)['messages']).toMatchObject([{ body: '{"after":"close"}', redelivered: false }]);
      await call('acknowledge-messages', {
        source: queue,
        receipts: (parsed(pulled)['messages'] as { receipt: string }[]).map((message) => message.receipt),
      });
    }, 40_000);
  });

  describe('Triggers', () => {
    it('runs a queued publish and reports no failed record', async () => {
      // Act
      const event = sqsEvent([{ body: { operation: 'publish-message', input: { body: '{"via":"sqs"}' } } }]);
      const result = (await connector.handler(event, lambdaContext())) as {
        batchItemFailures: unknown[];
      };
      const pulled = (await connector.run('receive-messages', { waitTimeMs: 2_000 })) as {
        messages: { body: string; receipt: string }[];
      };
      // Assess
      expect(result.batchItemFailures).toEqual([]);
      expect(pulled.messages.map((message) => message.body)).toEqual(['{"via":"sqs"}']);
      await connector.run('acknowledge-messages', {
        receipts: pulled.messages.map((message) => message.receipt),
      });
    });

    it('runs a Step Functions task envelope and answers health', async () => {
      // Act
      const output = await connector.handler(
        { operation: 'inspect-queue', input: { queue: QUEUE } },
        lambdaContext(),
      );
      const health = await connector.handler(
        httpEvent({ method: 'GET', path: '/rabbitmq/health' }),
        lambdaContext(),
      );
      // Assess
      expect(output).toMatchObject({ queue: QUEUE, messageCount: 0 });
      expect((health as HttpResult).statusCode).toBe(200);
    });
  });
});
