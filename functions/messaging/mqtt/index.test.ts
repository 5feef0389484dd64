/**
 * The MQTT connector against the machine's Mosquitto (127.0.0.1:1883, MQTT 5) and the embedded aedes
 * broker (MQTT 3.1.1, the local stack's fallback), with the local stack's Secrets Manager: the
 * message-publisher conformance suite on both (observed by a subscriber, since MQTT has no pull), each
 * operation on each trigger, and the failure paths (wildcard topics, the pull refused with 501, a rotated
 * password on aedes with auth, nothing listening, an untrusted certificate, no time left). Topics are
 * named per run; retained messages are cleared.
 */
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { configureSecrets } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import mqtt from 'mqtt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  describeMessagePublisherConformance,
  type ObservedMessage,
} from '#shared/interfaces/message-publisher.conformance.ts';
import { type EmbeddedMqtt, startEmbeddedMqtt } from '../../../scripts/local/stores/aedes.ts';
import { MOSQUITTO, startUntrustedTls, uniqueName } from '../../../test/peers/brokers.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';
import { freePort } from '../../../test/peers/tls.ts';
import { type MqttClientOptions, MqttPublisher } from './client.ts';

const SECRET = 'test/mqtt/credentials';
const ROOT = uniqueName('circle-mqtt-test');
const TOPIC = `${ROOT}/events`;

interface HttpResult {
  statusCode: number;
  body: string;
}

let secrets: SecretsManagerPeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown): Promise<HttpResult> {
  return (await connector.handler(
    httpEvent({ path: `/mqtt/${operation}`, body }),
    lambdaContext(),
  )) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

function options(overrides: Partial<MqttClientOptions> = {}): MqttClientOptions {
  return {
    host: MOSQUITTO.host,
    port: MOSQUITTO.port,
    tls: 'disable',
    protocolVersion: 5,
    secretName: SECRET,
    secretMaxAgeSeconds: 300,
    topic: TOPIC,
    qos: 1,
    clientIdPrefix: 'circle-test',
    connectTimeoutMs: 2_000,
    timeoutMs: 5_000,
    ...overrides,
  };
}

/** A subscriber on `topic` that buffers what arrives, as the conformance suite's collect. */
async function subscriber(
  url: string,
  topic: string,
  protocolVersion: 4 | 5,
): Promise<{ collect(waitMs: number): Promise<ObservedMessage[]>; close(): Promise<void> }> {
  const client = await mqtt.connectAsync(url, { protocolVersion, reconnectPeriod: 0 });
  const buffered: ObservedMessage[] = [];
  let wake = (): void => undefined;
  client.on('message', (_topic, payload, packet) => {
    const attributes: Record<string, string> = {};
    for (const [name, value] of Object.entries(packet.properties?.userProperties ?? {})) {
      attributes[name] = Array.isArray(value) ? value.join(',') : value;
    }
    buffered.push({ body: payload.toString('utf8'), attributes });
    wake();
  });
  await client.subscribeAsync(topic, { qos: 1 });
  return {
    collect: async (waitMs) => {
      if (buffered.length === 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, waitMs);
          wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      return buffered.splice(0);
    },
    close: () => client.endAsync(),
  };
}

beforeAll(async () => {
  secrets = await startSecretsManager({ [SECRET]: '{}' });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    MQTT_HOST: MOSQUITTO.host,
    MQTT_PORT: String(MOSQUITTO.port),
    MQTT_TLS: 'disable',
    MQTT_SECRET: SECRET,
    MQTT_TOPIC: TOPIC,
  });
  configureSecrets({});
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await secrets.close();
});

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describeMessagePublisherConformance('MQTT 5 on Mosquitto 127.0.0.1:1883', async () => {
  const topic = `${uniqueName('circle-mqtt-conformance')}/events`;
  const watcher = await subscriber(`mqtt://${MOSQUITTO.host}:${MOSQUITTO.port}`, topic, 5);
  const publisher = MqttPublisher.create(options({ topic }));
  return {
    publisher,
    collect: watcher.collect,
    close: async () => {
      await publisher.close();
      await watcher.close();
    },
  };
});

describeMessagePublisherConformance('MQTT 3.1.1 on the embedded aedes broker', async () => {
  const broker = await startEmbeddedMqtt();
  const topic = `${uniqueName('circle-mqtt-conformance')}/events`;
  const watcher = await subscriber(broker.url, topic, 4);
  const publisher = MqttPublisher.create(options({ port: broker.port, protocolVersion: 4, topic }));
  return {
    publisher,
    collect: watcher.collect,
    close: async () => {
      await publisher.close();
      await watcher.close();
      await broker.close();
    },
  };
});

describe('Connector: mqtt', () => {
  describe('Operations', () => {
    it('publishes retained at QoS 2 and a new subscriber collects it; clear-retained removes it', async () => {
      // Prepare
      const topic = `${ROOT}/sensors/7/temperature`;
      // Act
      const published = await call('publish-message', {
        destination: topic,
        body: '21.5',
        qos: 2,
        retain: true,
        attributes: { unit: 'celsius' },
      });
      const collected = await call('collect-messages', {
        topicFilter: `${ROOT}/sensors/+/temperature`,
        waitTimeMs: 1_000,
        qos: 2,
      });
      const cleared = await call('clear-retained', { topic });
      const after = await call('collect-messages', { topicFilter: `${ROOT}/sensors/#`, waitTimeMs: 500 });
      // Assess
      expect(published.statusCode).toBe(200);
      expect(parsed(collected)['messages']).toEqual([
        { topic, body: '21.5', retained: true, qos: 2, attributes: { unit: 'celsius' } },
      ]);
      expect(parsed(cleared)).toEqual({ topic, cleared: true });
      expect(parsed(after)['messages']).toEqual([]);
    });

    it('clears a topic of exactly 65535 bytes of UTF-8, and refuses one byte more with a 400 saying the limit in bytes', async () => {
      // Prepare: 'あ' is 3 bytes of UTF-8, so these topics hold far fewer characters than bytes
      const prefix = `${ROOT}/`;
      const room = 65_535 - Buffer.byteLength(prefix);
      const atLimit = `${prefix}${'あ'.repeat(Math.floor(room / 3))}${'a'.repeat(room % 3)}`;
      const over = `${atLimit}a`;
      // Act
      const kept = await call('clear-retained', { topic: atLimit });
      const refused = await call('clear-retained', { topic: over });
      // Assess
      expect(Buffer.byteLength(atLimit)).toBe(65_535);
      expect(kept.statusCode).toBe(200);
      expect(refused.statusCode).toBe(400);
      expect(parsed(refused)).toMatchObject({
        errors: [{ pointer: '/topic', message: expect.stringContaining('at most 65535 bytes') }],
      });
    });

    it('collects live messages published during the wait, at most maxMessages', async () => {
      // Prepare
      const publisher = MqttPublisher.create(options());
      const collector = MqttPublisher.create(options());
      const topic = `${ROOT}/live`;
      // Act
      const collecting = collector.collect({ topicFilter: topic, maxMessages: 2, waitTimeMs: 5_000 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      const batch = await publisher.publishBatch({
        destination: topic,
        entries: [{ body: 'a' }, { body: 'b', qos: 0 }, { body: 'c' }],
      });
      const collected = await collecting;
      // Assess
      expect(batch).toMatchObject({ succeeded: 3, failed: 0 });
      expect(collected.messages.map((message) => message.body)).toEqual(['a', 'b']);
      await publisher.close();
      await collector.close();
    });

    it('refuses wildcard topics and filters that misuse them, and answers 501 for the pull', async () => {
      // Act
      const wildcard = await call('publish-message', { destination: `${ROOT}/+/x`, body: '{}' });
      const badFilter = await call('collect-messages', { topicFilter: `${ROOT}/#/x` });
      const badQos = await call('publish-message', { body: '{}', qos: 3 });
      const receive = await call('receive-messages', { maxMessages: 1 });
      const acknowledge = await call('acknowledge-messages', { receipts: ['r'] });
      // Assess
      expect(wildcard.statusCode).toBe(400);
      expect(badFilter.statusCode).toBe(400);
      expect(badQos.statusCode).toBe(400);
      expect(receive.statusCode).toBe(501);
      expect(acknowledge.statusCode).toBe(501);
    });
    it('refuses at once with a 400 naming it an attribute or topic Mosquitto would drop the connection on, and publishes nothing', async () => {
      // Prepare
      const topic = `${ROOT}/probe`;
      const watcher = await subscriber(`mqtt://${MOSQUITTO.host}:${MOSQUITTO.port}`, topic, 5);
      const started = Date.now();
      // Act
      const lineBreak = await call('publish-message', {
        destination: topic,
        body: 'x',
        attributes: { k: 'v\nw' },
      });
      const atQos0 = await call('publish-message', {
        destination: topic,
        body: 'x',
        qos: 0,
        attributes: { k: 'next\u0085line' },
      });
      const batch = await call('publish-batch', {
        destination: topic,
        entries: [{ body: 'a' }, { body: 'b', attributes: { k: 'v\r\nw', n: 'half \ud800' } }],
      });
      const badTopic = await call('publish-message', { destination: `${ROOT}/a\u009fb`, body: 'x' });
      const elapsed = Date.now() - started;
      const fine = await call('publish-message', {
        destination: topic,
        body: 'y',
        attributes: { k: 'é 😀' },
      });
      const observed = await watcher.collect(2_000);
      // Assess
      expect(lineBreak.statusCode).toBe(400);
      expect(parsed(lineBreak)).toMatchObject({
        code: 'validation_error',
        errors: [{ pointer: '/attributes/k', message: expect.stringContaining('control character') }],
      });
      expect(atQos0.statusCode).toBe(400);
      expect(parsed(batch)).toMatchObject({ errors: [{ pointer: '/entries/1/attributes/k' }] });
      expect(parsed(badTopic)).toMatchObject({ errors: [{ pointer: '/destination' }] });
      expect(elapsed).toBeLessThan(2_000);
      expect(fine.statusCode).toBe(200);
      expect(observed).toEqual([{ body: 'y', attributes: { k: 'é 😀' } }]);
      await watcher.close();
    });
    it('refuses at once with a 400 naming /topicFilter a filter MQTT 5 forbids or Mosquitto would drop the connection on', async () => {
      // Prepare
      const topic = `${ROOT}/filters/é`;
      const started = Date.now();
      // Act
      const refused = await Promise.all(
        [
          `${ROOT}/#/b`,
          `${ROOT}/a+/b`,
          `${ROOT}/a#`,
          '',
          `${ROOT}/a\u0001b`,
          `${ROOT}/a\u009fb`,
          `${ROOT}/line\nbreak`,
          `${ROOT}/half\ud800`,
          `${ROOT}/\ufffe`,
          `${ROOT}/${'é'.repeat(33_000)}`,
        ].map((topicFilter) => call('collect-messages', { topicFilter, waitTimeMs: 0 })),
      );
      const elapsed = Date.now() - started;
      await call('publish-message', { destination: topic, body: 'kept', retain: true });
      const collected = await call('collect-messages', { topicFilter: `${ROOT}/filters/+`, maxMessages: 1 });
      await call('clear-retained', { topic });
      // Assess
      expect(refused.map((response) => response.statusCode)).toEqual(refused.map(() => 400));
      for (const response of refused) {
        expect(parsed(response)).toMatchObject({
          code: 'validation_error',
          errors: [{ pointer: '/topicFilter', message: expect.any(String) }],
        });
      }
      expect(elapsed).toBeLessThan(2_000);
      expect(collected.statusCode).toBe(200);
      expect(parsed(collected)['messages']).toEqual([expect.objectContaining({ topic, body: 'kept' })]);
    });
  });

  describe('Connection', () => {
    it('reads the secret again when the password rotated, and never shows it', async () => {
      // Prepare
      const password = 'mqtt-current-password-3d8e';
      const wrong = 'mqtt-rotated-away-password-6a0c';
      const broker: EmbeddedMqtt = await startEmbeddedMqtt({
        authenticate: (username, given) => username === 'app' && given === password,
      });
      const name = 'test/mqtt/rotating';
      await secrets.set(name, JSON.stringify({ username: 'app', password: wrong }));
      const client = MqttPublisher.create(
        options({ port: broker.port, protocolVersion: 4, secretName: name }),
      );
      const refused = await client.ping().catch((error: unknown) => error);
      await secrets.set(name, JSON.stringify({ username: 'app', password }));
      // Act
      const after = await client.publish({ body: '{"after":"rotation"}' }).then(() => 'ok');
      // Assess
      expect(refused).toMatchObject({ name: 'AuthError', status: 401 });
      expect((refused as Error).message).not.toContain(wrong);
      expect(after).toBe('ok');
      expect(logs.text()).not.toContain(wrong);
      expect(logs.text()).not.toContain(password);
      await client.close();
      await broker.close();
    });

    it('answers 503 when nothing listens', async () => {
      // Prepare
      const client = MqttPublisher.create(options({ port: await freePort(), connectTimeoutMs: 500 }));
      // Act
      const failure = await client.ping().catch((error: unknown) => error);
      // Assess
      expect(failure).toMatchObject({ name: 'UnavailableError', code: 'provider_unavailable' });
    });

    it('refuses a server certificate no trusted CA signed, naming the setting', async () => {
      // Prepare
      const untrusted = await startUntrustedTls();
      const client = MqttPublisher.create(
        options({ host: 'localhost', port: untrusted.port, tls: 'verify-full' }),
      );
      // Act
      const failure = await client.ping().catch((error: unknown) => error);
      // Assess
      expect(failure).toMatchObject({ name: 'ConfigurationError' });
      expect((failure as Error).message).toContain('MQTT_TLS=verify-full');
      await untrusted.close();
    });

    it('bounds a collect by the time left, and refuses a call with no time left', async () => {
      // Prepare
      const client = MqttPublisher.create(options({ remainingTimeMs: () => 1_500 }));
      const none = MqttPublisher.create(options({ remainingTimeMs: () => 100 }));
      const started = Date.now();
      // Act
      const collected = await client.collect({ topicFilter: `${ROOT}/quiet`, waitTimeMs: 20_000 });
      const elapsed = Date.now() - started;
      const refused = await none.collect({ topicFilter: `${ROOT}/quiet` }).catch((error: unknown) => error);
      // Assess
      expect(collected.messages).toEqual([]);
      // The 20 s wait was cut to the 1.3 s left; generous headroom for a loaded machine.
      expect(elapsed).toBeLessThan(10_000);
      expect(refused).toMatchObject({ name: 'TimeoutError' });
      await client.close();
    });
  });

  describe('Concurrent invocations of one warm handler (Lambda Managed Instances) and a dropped connection', () => {
    /** A TCP proxy to Mosquitto whose connections the test cuts, as a broker restart or an idle kill would. */
    async function cuttableProxy(): Promise<{
      port: number;
      connections(): number;
      cut(): void;
      close(): Promise<void>;
    }> {
      const sockets = new Set<Socket>();
      const server = createServer((inbound) => {
        const outbound = connect({ host: MOSQUITTO.host, port: MOSQUITTO.port });
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
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const cut = (): void => {
        for (const socket of sockets) socket.destroy();
      };
      return {
        port: (server.address() as AddressInfo).port,
        connections: () => sockets.size,
        cut,
        close: async () => {
          cut();
          await new Promise<void>((resolve) => server.close(() => resolve()));
        },
      };
    }

    it('lets other invocations publish while collects wait, and each collect gets the messages of its own filter', async () => {
      // Prepare: retained, so a message published before a subscription is still collected.
      const shared = `${ROOT}/lmi/shared`;
      const own = `${ROOT}/lmi/own`;
      const collect = (topicFilter: string) =>
        call('collect-messages', { topicFilter, maxMessages: 1, waitTimeMs: 8_000 });
      // Act
      const [first, second, third, ...published] = await Promise.all([
        collect(shared),
        collect(shared),
        collect(own),
        call('publish-message', { destination: shared, body: 'for-shared', retain: true }),
        call('publish-message', { destination: own, body: 'for-own', retain: true }),
      ]);
      await call('clear-retained', { topic: shared });
      await call('clear-retained', { topic: own });
      // Assess
      expect(published.map((response) => response.statusCode)).toEqual([200, 200]);
      const bodies = (response: HttpResult | undefined) =>
        (parsed(response as HttpResult)['messages'] as { topic: string; body: string }[]).map(
          (message) => `${message.topic}=${message.body}`,
        );
      expect(bodies(first)).toEqual([`${shared}=for-shared`]);
      expect(bodies(second)).toEqual([`${shared}=for-shared`]);
      expect(bodies(third)).toEqual([`${own}=for-own`]);
    });

    it('answers a publish the cut connection lost with a retryable 503 naming it, and the next publish opens a new one', async () => {
      // Prepare
      const proxy = await cuttableProxy();
      const topic = `${ROOT}/cut`;
      const client = MqttPublisher.create(options({ port: proxy.port, qos: 1 }));
      await client.publish({ destination: topic, body: 'before' });
      proxy.cut();
      // Act: sent on the cut connection before the client saw it close, then again.
      const lost = await client
        .publish({ destination: topic, body: 'lost' })
        .catch((error: unknown) => error);
      const published = await client.publish({ destination: topic, body: 'after', retain: true });
      const collected = await client.collect({ topicFilter: topic, maxMessages: 1, waitTimeMs: 2_000 });
      await client.clearRetained({ topic });
      // Assess
      expect(lost).toMatchObject({ name: 'UnavailableError', code: 'provider_unavailable' });
      expect(published).toEqual({});
      expect(collected.messages).toMatchObject([{ body: 'after', retained: true }]);
      await client.close();
      await proxy.close();
    });

    it('starts a collect over on a new connection when its connection was cut while it waited', async () => {
      // Prepare
      const proxy = await cuttableProxy();
      const topic = `${ROOT}/cut-collect`;
      const collector = MqttPublisher.create(options({ port: proxy.port }));
      const publisher = MqttPublisher.create(options());
      const subscribed = new Promise<void>((resolve) => {
        const watch = setInterval(() => {
          // Mosquitto holds the collect's connection through the proxy: two sockets.
          if (proxy.connections() >= 2) {
            clearInterval(watch);
            resolve();
          }
        }, 10);
      });
      const collecting = collector.collect({ topicFilter: topic, maxMessages: 1, waitTimeMs: 8_000 });
      await subscribed;
      // Act
      proxy.cut();
      await publisher.publish({ destination: topic, body: 'after-cut', retain: true });
      const collected = await collecting;
      await publisher.clearRetained({ topic });
      // Assess
      expect(collected.messages).toMatchObject([{ body: 'after-cut' }]);
      await collector.close();
      await publisher.close();
      await proxy.close();
    });
  });

  describe('Triggers', () => {
    it('runs a queued publish, a Step Functions task envelope, and answers health', async () => {
      // Act
      const queued = await connector.handler(
        sqsEvent([{ body: { operation: 'publish-message', input: { body: '{"via":"sqs"}' } } }]),
        lambdaContext(),
      );
      const task = await connector.handler(
        { operation: 'publish-batch', input: { entries: [{ body: '{"via":"task"}', qos: 0 }] } },
        lambdaContext(),
      );
      const health = await connector.handler(
        httpEvent({ method: 'GET', path: '/mqtt/health' }),
        lambdaContext(),
      );
      // Assess
      expect(queued).toEqual({ batchItemFailures: [] });
      expect(task).toMatchObject({ succeeded: 1, failed: 0 });
      expect((health as HttpResult).statusCode).toBe(200);
    });
  });
});
