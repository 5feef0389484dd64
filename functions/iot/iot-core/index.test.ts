/**
 * The AWS IoT Core connector against the local stack's own IoT data plane (`scripts/local/aws/iot-data.ts`,
 * the REST API, SigV4-signed by the real AWS SDK client), whose shadow messages and publishes go to a real
 * MQTT broker (the machine's Mosquitto, else the embedded aedes) where a real subscriber reads them: shadow
 * versions and conflicts, named shadows, not found, publish with QoS/retain/properties, each trigger, and
 * the failure paths.
 */
import { IoTDataPlaneClient, PublishCommand } from '@aws-sdk/client-iot-data-plane';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  describeMessagePublisherConformance,
  type ObservedMessage,
} from '#shared/interfaces/message-publisher.conformance.ts';
import {
  IotDataPlane,
  type IotDataService,
  iotDataService,
  mqttBroker,
} from '../../../scripts/local/aws/iot-data.ts';
import { AwsError } from '../../../scripts/local/aws/protocol.ts';
import { type AwsEndpoint, startAwsEndpoint } from '../../../scripts/local/aws/server.ts';
import { createStackLog } from '../../../scripts/local/log.ts';
import { type EmbeddedMqtt, startEmbeddedMqtt } from '../../../scripts/local/stores/aedes.ts';
import { answers } from '../../../scripts/local/stores/brokers.ts';
import { IotCoreClient } from './client.ts';
import { IotTopicPublisher } from './publisher.ts';

interface HttpResult {
  statusCode: number;
  body: string;
}
interface Received {
  topic: string;
  payload: string;
  retain: boolean;
  qos: number;
  userProperties: Record<string, string | string[]>;
}

/** A payload marker the log checks search for: message content never reaches a log line. */
const PAYLOAD_MARKER = 'iot-payload-marker-5c2e';
const RUN = Math.random().toString(36).slice(2, 8);

let aws: AwsEndpoint;
/** A second endpoint over the same kind of data plane that first answers what `faults` says. */
let faulty: AwsEndpoint;
const faults: ('unavailable' | 'throttled' | 'hang' | 'garbage')[] = [];
let embedded: EmbeddedMqtt | undefined;
let brokerUrl: string;
let protocolVersion: 4 | 5;
let broker: ReturnType<typeof mqttBroker>;
let subscriber: MqttClient;
const received: Received[] = [];
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({ path: `/iot-core/${operation}`, body });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

/** Waits until the subscriber got a message on `topic` matching `match` (bounded by count, not time). */
async function receivedOn(topic: string, match: (message: Received) => boolean = () => true) {
  for (let round = 0; round < 200; round += 1) {
    const found = received.find((message) => message.topic === topic && match(message));
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`nothing arrived on ${topic}`);
}

function failingSdk(name: string, status: number, message = `${name} from the test`): IoTDataPlaneClient {
  const error = Object.assign(new Error(message), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'req-1' },
    $response: { headers: { 'retry-after': '2' } },
  });
  return { send: async () => Promise.reject(error) } as unknown as IoTDataPlaneClient;
}

function answering(payload: string): IoTDataPlaneClient {
  return {
    send: async () => ({ payload: new TextEncoder().encode(payload), $metadata: {} }),
  } as unknown as IoTDataPlaneClient;
}

/** An SDK client that answers `{}` and records every command it was handed. */
function recording(): { sdk: IoTDataPlaneClient; sent: unknown[] } {
  const sent: unknown[] = [];
  const sdk = {
    send: async (command: unknown) => {
      sent.push(command);
      return { $metadata: {} };
    },
  } as unknown as IoTDataPlaneClient;
  return { sdk, sent };
}

const options = { endpoint: undefined, timeoutMs: 2_000, maxAttempts: 1 };

/** The machine's Mosquitto speaks MQTT 5, so user properties (the interface's attributes) arrive. */
const MOSQUITTO = await answers(1883);

beforeAll(async () => {
  if (MOSQUITTO) {
    brokerUrl = 'mqtt://127.0.0.1:1883';
    protocolVersion = 5;
  } else {
    embedded = await startEmbeddedMqtt();
    brokerUrl = embedded.url;
    protocolVersion = 4;
  }
  subscriber = await mqtt.connectAsync(brokerUrl, { protocolVersion, reconnectPeriod: 0 });
  subscriber.on('message', (topic, payload, packet) => {
    const properties = (packet as { properties?: { userProperties?: Record<string, string | string[]> } })
      .properties;
    received.push({
      topic,
      payload: payload.toString('utf8'),
      retain: packet.retain,
      qos: packet.qos,
      userProperties: properties?.userProperties ?? {},
    });
  });
  await subscriber.subscribeAsync([`$aws/things/+/shadow/#`, `devices/${RUN}/#`], { qos: 1 });
  broker = mqttBroker(brokerUrl, protocolVersion);
  aws = await startAwsEndpoint({
    port: 0,
    log: createStackLog({ pretty: false, write: () => undefined }),
    services: {
      accountId: '000000000000',
      iotData: iotDataService(new IotDataPlane({ broker, seed: true })),
    },
  });
  const healthy = iotDataService(new IotDataPlane({ broker, seed: true }));
  const withFaults: IotDataService = async (request) => {
    const fault = faults.shift();
    if (fault === 'unavailable') throw new AwsError('ServiceUnavailableException', 'down', { status: 503 });
    if (fault === 'throttled') throw new AwsError('ThrottlingException', 'Rate exceeded', { status: 429 });
    if (fault === 'garbage') return { status: 200, body: 'not a shadow' };
    if (fault === 'hang') await new Promise((resolve) => setTimeout(resolve, 2_000));
    return healthy(request);
  };
  faulty = await startAwsEndpoint({
    port: 0,
    log: createStackLog({ pretty: false, write: () => undefined }),
    services: { accountId: '000000000000', iotData: withFaults },
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: aws.url,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    IOT_CORE_TIMEOUT_MS: '3000',
  });
  ({ connector } = await import('./index.ts'));
}, 60_000);

afterAll(async () => {
  process.env = savedEnv;
  await subscriber?.endAsync();
  await broker?.close();
  await aws?.close();
  await faulty?.close();
  await embedded?.close();
});

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

if (MOSQUITTO) {
  describeMessagePublisherConformance(
    'AWS IoT Core (local data plane, Mosquitto 127.0.0.1:1883)',
    async () => {
      const topic = `devices/${RUN}-conformance/commands`;
      const watcher = await mqtt.connectAsync('mqtt://127.0.0.1:1883', {
        protocolVersion: 5,
        reconnectPeriod: 0,
      });
      const seen: ObservedMessage[] = [];
      watcher.on('message', (_topic, payload, packet) => {
        const user = (packet as { properties?: { userProperties?: Record<string, string | string[]> } })
          .properties?.userProperties;
        const attributes = Object.fromEntries(
          Object.entries(user ?? {}).map(([name, value]) => [
            name,
            Array.isArray(value) ? String(value[0]) : value,
          ]),
        );
        seen.push({ body: payload.toString('utf8'), attributes });
      });
      await watcher.subscribeAsync(topic, { qos: 1 });
      const client = await IotCoreClient.create(options);
      return {
        publisher: new IotTopicPublisher(client, { topic }),
        disallowedDestination: 'factory/line-1/commands',
        collect: async (waitMs) => {
          for (let waited = 0; seen.length === 0 && waited < waitMs; waited += 50) {
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
          return seen.splice(0, seen.length);
        },
        close: () => watcher.endAsync(),
      };
    },
  );
}

describe('Connector: iot-core', () => {
  describe('Operations: thing shadows', () => {
    it('reads the seeded shadow with desired, reported, delta, metadata and version', async () => {
      // Act
      const response = await call('get-thing-shadow', { thingName: 'sensor-42' });
      // Assess
      expect(response.statusCode).toBe(200);
      const shadow = parsed(response);
      expect(shadow).toMatchObject({
        thingName: 'sensor-42',
        state: {
          desired: { temperature: 21, mode: 'eco' },
          reported: { temperature: 19, mode: 'eco', firmware: '1.4.2' },
          delta: { temperature: 21 },
        },
        version: 1,
      });
      expect(shadow['metadata']).toMatchObject({
        desired: { temperature: { timestamp: expect.any(Number) } },
      });
    });

    it('refuses an update with a stale version (409 ConflictError naming the current version)', async () => {
      // Prepare
      const thingName = `thermostat-${RUN}`;
      const first = parsed(
        await call('update-thing-shadow', { thingName, state: { desired: { target: 20 } } }),
      );
      const second = await call('update-thing-shadow', {
        thingName,
        state: { reported: { target: 20 } },
        version: first['version'],
      });
      // Act
      const stale = await call('update-thing-shadow', {
        thingName,
        state: { desired: { target: 25 } },
        version: first['version'],
      });
      // Assess
      expect(first['version']).toBe(1);
      expect(second.statusCode).toBe(200);
      expect(parsed(second)['version']).toBe(2);
      expect(stale.statusCode).toBe(409);
      const problem = parsed(stale);
      expect(problem['detail']).toBe(
        `classic shadow of thing "${thingName}" is at version 2, not 1: read it again and retry`,
      );
      const read = parsed(await call('get-thing-shadow', { thingName }));
      expect(read).toMatchObject({
        version: 2,
        state: { desired: { target: 20 }, reported: { target: 20 } },
      });
      expect(read['state']).not.toHaveProperty('delta');
    });

    it('answers the accepted document and sends update/accepted, documents and delta to MQTT subscribers', async () => {
      // Prepare
      const thingName = `lamp-${RUN}`;
      // Act
      const response = await call('update-thing-shadow', {
        thingName,
        state: { desired: { power: 'on', color: { r: 255, g: 0 } }, reported: { power: 'off' } },
        clientToken: 'token-1',
      });
      // Assess
      expect(response.statusCode).toBe(200);
      expect(parsed(response)).toMatchObject({
        version: 1,
        clientToken: 'token-1',
        state: { desired: { power: 'on', color: { r: 255, g: 0 } }, reported: { power: 'off' } },
        metadata: { desired: { power: { timestamp: expect.any(Number) } } },
      });
      const base = `$aws/things/${thingName}/shadow/update`;
      const accepted = JSON.parse((await receivedOn(`${base}/accepted`)).payload);
      const documents = JSON.parse((await receivedOn(`${base}/documents`)).payload);
      const delta = JSON.parse((await receivedOn(`${base}/delta`)).payload);
      expect(accepted).toMatchObject({ version: 1, clientToken: 'token-1' });
      expect(documents).toMatchObject({
        previous: null,
        current: { version: 1, state: { reported: { power: 'off' } } },
      });
      expect(delta).toMatchObject({ version: 1, state: { power: 'on', color: { r: 255, g: 0 } } });
    });

    it('keeps named shadows apart, lists them in pages and deletes with the version carried on', async () => {
      // Prepare
      const thingName = `robot-${RUN}`;
      for (const shadowName of ['arm', 'battery', 'wheels']) {
        await call('update-thing-shadow', { thingName, shadowName, state: { reported: { ok: true } } });
      }
      await call('update-thing-shadow', { thingName, shadowName: 'arm', state: { reported: { angle: 30 } } });
      // Act
      const names: string[] = [];
      let nextToken: string | undefined;
      for (let page = 0; page < 5; page += 1) {
        const answer = parsed(
          await call('list-named-shadows', { thingName, pageSize: 2, ...(nextToken ? { nextToken } : {}) }),
        );
        names.push(...(answer['shadowNames'] as string[]));
        nextToken = answer['nextToken'] as string | undefined;
        if (nextToken === undefined) break;
      }
      const arm = parsed(await call('get-thing-shadow', { thingName, shadowName: 'arm' }));
      const classic = await call('get-thing-shadow', { thingName });
      const deleted = await call('delete-thing-shadow', { thingName, shadowName: 'arm' });
      const gone = await call('get-thing-shadow', { thingName, shadowName: 'arm' });
      const again = parsed(
        await call('update-thing-shadow', {
          thingName,
          shadowName: 'arm',
          state: { reported: { angle: 0 } },
        }),
      );
      // Assess
      expect(names).toEqual(['arm', 'battery', 'wheels']);
      expect(arm).toMatchObject({
        shadowName: 'arm',
        version: 2,
        state: { reported: { ok: true, angle: 30 } },
      });
      expect(classic.statusCode).toBe(404);
      expect(parsed(deleted)).toMatchObject({ deleted: true, version: 2, shadowName: 'arm' });
      await receivedOn(`$aws/things/${thingName}/shadow/name/arm/delete/accepted`);
      expect(gone.statusCode).toBe(404);
      expect(again['version']).toBe(3);
    });

    it('takes the shadow names AWS IoT takes ([$a-zA-Z0-9:_-]{1,64}), the reserved $package among them', async () => {
      // Prepare
      const thingName = `pkg-${RUN}`;
      // Act
      const updated = await call('update-thing-shadow', {
        thingName,
        shadowName: '$package',
        state: { reported: { firmware: { version: '1.2.0' } } },
      });
      const read = await call('get-thing-shadow', { thingName, shadowName: '$package' });
      const listed = parsed(await call('list-named-shadows', { thingName }));
      const tooLong = await call('get-thing-shadow', { thingName, shadowName: `$${'a'.repeat(64)}` });
      const slash = await call('get-thing-shadow', { thingName, shadowName: 'a/b' });
      // Assess
      expect(updated.statusCode).toBe(200);
      expect(read.statusCode).toBe(200);
      expect(parsed(read)).toMatchObject({
        shadowName: '$package',
        state: { reported: { firmware: { version: '1.2.0' } } },
      });
      expect(listed['shadowNames']).toEqual(['$package']);
      for (const refused of [tooLong, slash]) {
        expect(refused.statusCode).toBe(400);
        expect(JSON.stringify(parsed(refused)['errors'])).toContain('/shadowName');
      }
    });

    it('refuses a nextToken issued for another thing, or never issued, with a 400 naming /nextToken', async () => {
      // Prepare
      const thingName = `pgthing-${RUN}`;
      for (const shadowName of ['a', 'b', 'c']) {
        await call('update-thing-shadow', { thingName, shadowName, state: { reported: { ok: true } } });
      }
      const first = parsed(await call('list-named-shadows', { thingName, pageSize: 1 }));
      const nextToken = first['nextToken'] as string;
      // Act
      const same = await call('list-named-shadows', { thingName, pageSize: 1, nextToken });
      const other = await call('list-named-shadows', { thingName: 'sensor-42', nextToken });
      const garbage = await call('list-named-shadows', { thingName, nextToken: 'bm90LWEtdG9rZW4' });
      // Assess
      expect(parsed(same)['shadowNames']).toEqual(['b']);
      for (const refused of [other, garbage]) {
        expect(refused.statusCode).toBe(400);
        expect((parsed(refused)['errors'] as { pointer: string }[]).map((e) => e.pointer)).toEqual([
          '/nextToken',
        ]);
      }
    });

    it('answers 404 naming the shadow for a thing that has none, and for a delete of nothing', async () => {
      // Act
      const missing = await call('get-thing-shadow', { thingName: 'never-made', shadowName: 'config' });
      const deleted = await call('delete-thing-shadow', { thingName: 'never-made' });
      // Assess
      expect(missing.statusCode).toBe(404);
      expect(parsed(missing)['detail']).toBe('shadow "config" of thing "never-made" was not found');
      expect(deleted.statusCode).toBe(404);
      expect(parsed(deleted)['detail']).toBe('classic shadow of thing "never-made" was not found');
    });

    it('refuses bad input with a 400 naming the field, and a document over 8 KB', async () => {
      // Act
      const typo = await call('get-thing-shadow', { thingName: 'sensor-42', shadow: 'config' });
      const badName = await call('get-thing-shadow', { thingName: 'has space' });
      const empty = await call('update-thing-shadow', { thingName: 'sensor-42', state: {} });
      const big = await call('update-thing-shadow', {
        thingName: `big-${RUN}`,
        state: { reported: { blob: 'x'.repeat(9_000) } },
      });
      // Assess
      expect(typo.statusCode).toBe(400);
      expect(parsed(typo)['errors']).toEqual([{ pointer: '/shadow', message: 'unknown field' }]);
      expect(badName.statusCode).toBe(400);
      expect(JSON.stringify(parsed(badName)['errors'])).toContain('/thingName');
      expect(empty.statusCode).toBe(400);
      expect(big.statusCode).toBe(400);
      expect(parsed(big)['detail']).toContain('is too large');
      expect(parsed(big)['detail']).toContain('8 KB');
    });
  });

  describe('Operation: publish-message', () => {
    it('publishes JSON with QoS 1, retained, to a real MQTT subscriber', async () => {
      // Prepare
      const topic = `devices/${RUN}/commands`;
      // Act
      const response = await call('publish-message', {
        topic,
        payload: { command: 'reboot', note: PAYLOAD_MARKER },
        qos: 1,
        retain: true,
        userProperties: { origin: 'ops' },
      });
      // Assess
      expect(response.statusCode).toBe(200);
      expect(parsed(response)).toMatchObject({ topic, qos: 1, retain: true });
      const message = await receivedOn(topic);
      expect(JSON.parse(message.payload)).toEqual({ command: 'reboot', note: PAYLOAD_MARKER });
      expect(message.qos).toBe(1);
      if (protocolVersion === 5) expect(message.userProperties).toMatchObject({ origin: 'ops' });
      const late = await mqtt.connectAsync(brokerUrl, { protocolVersion, reconnectPeriod: 0 });
      const retained = new Promise<Buffer>((resolve) =>
        late.on('message', (_t, payload) => resolve(payload)),
      );
      await late.subscribeAsync(topic, { qos: 1 });
      expect(JSON.parse((await retained).toString('utf8'))).toMatchObject({ command: 'reboot' });
      await late.publishAsync(topic, '', { qos: 1, retain: true });
      await late.endAsync();
      expect(logs.lines.join('\n')).not.toContain(PAYLOAD_MARKER);
    });

    it('publishes text as is, and refuses wildcards and QoS 2 before any call', async () => {
      // Prepare
      const topic = `devices/${RUN}/text`;
      // Act
      const text = await call('publish-message', { topic, payload: 'plain text' });
      const wildcard = await call('publish-message', { topic: 'devices/+/x', payload: 'x' });
      const qos2 = await call('publish-message', { topic, payload: 'x', qos: 2 });
      // Assess
      expect(text.statusCode).toBe(200);
      expect((await receivedOn(topic)).payload).toBe('plain text');
      expect(parsed(text)['bytes']).toBe(10);
      expect(wildcard.statusCode).toBe(400);
      expect(JSON.stringify(parsed(wildcard)['errors'])).toContain('/topic');
      expect(qos2.statusCode).toBe(400);
    });
    it("refuses a payload over 128 KB with 413 naming /payload before any call, and maps AWS IoT's own 413 alike", async () => {
      // Prepare
      const topic = `devices/${RUN}/big`;
      const { sdk, sent } = recording();
      const real = new IoTDataPlaneClient({ endpoint: aws.url, region: 'us-east-1', maxAttempts: 1 });
      // Sends what the connector built, with a payload grown past the limit: the local data plane's answer.
      const grown = {
        send: (command: PublishCommand, opts: unknown) =>
          real.send(
            new PublishCommand({ ...command.input, payload: new Uint8Array(131_073) }),
            opts as never,
          ),
      } as unknown as IoTDataPlaneClient;
      // Act
      const big = await call('publish-message', { topic, payload: 'x'.repeat(140_000) });
      const atLimit = await call('publish-message', { topic, payload: 'x'.repeat(131_072) });
      const direct = new IotCoreClient(sdk, options).publish({
        topic,
        payload: { blob: 'x'.repeat(131_072) },
        qos: 0,
        retain: false,
      });
      const refusedByAws = new IotCoreClient(grown, options).publish({
        topic,
        payload: 'small',
        qos: 0,
        retain: false,
      });
      // Assess
      expect(big.statusCode).toBe(413);
      expect(parsed(big)).toMatchObject({ code: 'payload_too_large' });
      expect(parsed(big)['detail']).toContain('/payload');
      expect(parsed(big)['detail']).toContain('131072');
      expect(atLimit.statusCode).toBe(200);
      expect(parsed(atLimit)['bytes']).toBe(131_072);
      await expect(direct).rejects.toMatchObject({ name: 'PayloadTooLargeError', status: 413 });
      expect(sent).toHaveLength(0);
      await expect(refusedByAws).rejects.toMatchObject({
        name: 'PayloadTooLargeError',
        status: 413,
        message: expect.stringContaining('/payload'),
      });
      real.destroy();
    });

    it('refuses topics, user properties and content types MQTT or AWS IoT refuse, with a 400 naming the field', async () => {
      // Prepare
      const { sdk, sent } = recording();
      const client = new IotCoreClient(sdk, options);
      const base = { topic: `devices/${RUN}/checked`, payload: 'x' };
      const pointers = async (input: Record<string, unknown>) => {
        const response = await call('publish-message', { ...base, ...input });
        return [
          response.statusCode,
          (parsed(response)['errors'] as { pointer: string }[] | undefined)?.map((e) => e.pointer),
        ];
      };
      // Act / Assess
      expect(await pointers({ topic: 'devices/x\u0000y' })).toEqual([400, ['/topic']]);
      expect(await pointers({ topic: 'devices/x\ny' })).toEqual([400, ['/topic']]);
      expect(await pointers({ topic: 'devices/a/a/a/a/a/a/a/a/a/a/x' })).toEqual([400, ['/topic']]);
      expect(await pointers({ userProperties: { origin: 'a\r\nb' } })).toEqual([
        400,
        ['/userProperties/origin'],
      ]);
      expect(await pointers({ userProperties: { 'a/b': 'x\u0000' } })).toEqual([
        400,
        ['/userProperties/a~1b'],
      ]);
      expect(await pointers({ userProperties: { 'bad\tname': 'x' } })).toEqual([
        400,
        ['/userProperties/bad\tname'],
      ]);
      expect(await pointers({ contentType: 'text/plain\r\nX-Injected: 1' })).toEqual([400, ['/contentType']]);
      expect(await pointers({ responseTopic: 'devices/r\u0000' })).toEqual([400, ['/responseTopic']]);
      const slashes = await call('publish-message', { ...base, topic: 'devices/a/b/c/d/e/f/g/h' });
      expect(parsed(slashes)).toMatchObject({ status: 400 });
      expect(parsed(slashes)['detail']).toContain('7');
      const seven = await client.publish({
        topic: 'devices/a/b/c/d/e/f/g',
        payload: 'x',
        qos: 0,
        retain: false,
      });
      const ingest = await client.publish({
        topic: '$aws/rules/telemetry/a/b/c/d/e/f/g/h',
        payload: 'x',
        qos: 0,
        retain: false,
      });
      expect([seven.bytes, ingest.bytes, sent.length]).toEqual([1, 1, 2]);
    });
    it('counts the 256-byte topic quota in bytes of UTF-8 on the message-publisher path too, and refuses lone surrogates, before any call', async () => {
      // Prepare: 'あ' is 3 bytes of UTF-8; `devices/` + 82 of them is 254 bytes, + 83 is 257
      const { sdk, sent } = recording();
      const recorded = new IotTopicPublisher(new IotCoreClient(sdk, options), { topic: `devices/${RUN}/t` });
      const real = new IotTopicPublisher(await IotCoreClient.create(options), { topic: `devices/${RUN}/t` });
      const over = `devices/${'あ'.repeat(83)}`;
      // Act
      const one = await recorded.publish({ destination: over, body: 'x' }).catch((error: unknown) => error);
      const batch = await recorded
        .publishBatch({ destination: over, entries: [{ body: 'x' }] })
        .catch((error: unknown) => error);
      const kept = await real.publish({ destination: `devices/${'あ'.repeat(82)}`, body: 'x' });
      const surrogate = await call('publish-message', { topic: `devices/${RUN}/x\ud800`, payload: 'x' });
      // Assess
      for (const refused of [one, batch]) {
        expect(refused).toMatchObject({
          name: 'ValidationError',
          issues: [{ pointer: '/destination', message: expect.stringContaining('at most 256 bytes') }],
        });
      }
      expect(kept).toEqual({});
      expect(surrogate.statusCode).toBe(400);
      expect(parsed(surrogate)).toMatchObject({ errors: [{ pointer: '/topic' }] });
      expect(sent).toEqual([]);
    });
  });

  describe('Concurrent invocations of one warm handler (Lambda Managed Instances)', () => {
    it("gives each of two interleaved updates of one version its own outcome, even when the first's answer comes last", async () => {
      // Prepare: the first data plane answer is held until the second invocation's call was answered.
      const thingName = `interleaved-${RUN}`;
      await call('update-thing-shadow', { thingName, state: { desired: { target: 20 } } });
      const send = IoTDataPlaneClient.prototype.send;
      let secondAnswered = (): void => undefined;
      const second = new Promise<void>((resolve) => {
        secondAnswered = resolve;
      });
      let sends = 0;
      const spy = vi.spyOn(IoTDataPlaneClient.prototype, 'send').mockImplementation(async function (
        this: IoTDataPlaneClient,
        ...args: unknown[]
      ) {
        sends += 1;
        const mine = sends;
        try {
          return await (send as (...all: unknown[]) => Promise<unknown>).apply(this, args);
        } finally {
          if (mine === 1) await second;
          else secondAnswered();
        }
      });
      // Act
      const outcomes = await Promise.all(
        [21, 22].map((target) =>
          call('update-thing-shadow', { thingName, state: { desired: { target } }, version: 1 }),
        ),
      ).finally(() => spy.mockRestore());
      const read = parsed(await call('get-thing-shadow', { thingName }));
      // Assess
      const won = outcomes.filter((outcome) => outcome.statusCode === 200);
      const lost = outcomes.filter((outcome) => outcome.statusCode === 409);
      expect([won.length, lost.length]).toEqual([1, 1]);
      expect(parsed(won[0] as HttpResult)).toMatchObject({ version: 2 });
      expect(parsed(lost[0] as HttpResult)['detail']).toBe(
        `classic shadow of thing "${thingName}" is at version 2, not 1: read it again and retry`,
      );
      const winner = outcomes.indexOf(won[0] as HttpResult);
      expect(read).toMatchObject({ version: 2, state: { desired: { target: [21, 22][winner] } } });
    });
  });

  describe('Triggers', () => {
    it('serves SQS records, Step Functions tasks and health', async () => {
      // Act
      const queued = await connector.handler(
        sqsEvent([
          {
            body: {
              operation: 'update-thing-shadow',
              input: { thingName: `queued-${RUN}`, state: { desired: { on: true } } },
            },
          },
        ]),
        lambdaContext(),
      );
      const task = await connector.handler(
        { operation: 'get-thing-shadow', input: { thingName: `queued-${RUN}` } },
        lambdaContext(),
      );
      const health = (await connector.handler(
        httpEvent({ method: 'GET', path: '/iot-core/health' }),
        lambdaContext(),
      )) as HttpResult;
      // Assess
      expect(queued).toEqual({ batchItemFailures: [] });
      expect(task).toMatchObject({ version: 1, state: { desired: { on: true }, delta: { on: true } } });
      expect(health.statusCode).toBe(200);
    });
  });

  describe('Failure paths', () => {
    it('maps the data plane errors into the taxonomy', async () => {
      // Prepare
      const read = (name: string, status: number) =>
        new IotCoreClient(failingSdk(name, status), options).getShadow({ thingName: 'sensor-42' });
      // Act / Assess
      await expect(read('ThrottlingException', 429)).rejects.toMatchObject({
        name: 'RateLimitedError',
        status: 429,
      });
      await expect(read('ServiceUnavailableException', 503)).rejects.toMatchObject({
        name: 'UnavailableError',
        retryable: true,
      });
      await expect(read('UnauthorizedException', 401)).rejects.toMatchObject({
        name: 'ConfigurationError',
        message: expect.stringContaining('IOT_DATA_ENDPOINT'),
      });
      await expect(read('ForbiddenException', 403)).rejects.toMatchObject({
        name: 'ConfigurationError',
        message: expect.stringContaining('iot:GetThingShadow'),
      });
      await expect(read('InternalFailureException', 500)).rejects.toMatchObject({ name: 'UnavailableError' });
    });

    it('retries a 503 within the attempts and succeeds; fails retryable once they are spent', async () => {
      // Prepare
      const client = (maxAttempts: number, timeoutMs = 5_000) =>
        IotCoreClient.create({ endpoint: faulty.url, timeoutMs, maxAttempts });
      faults.splice(0, faults.length, 'unavailable');
      // Act
      const recovered = await (await client(3)).getShadow({ thingName: 'sensor-42' });
      faults.splice(0, faults.length, 'unavailable', 'unavailable');
      const spent = (await client(2)).getShadow({ thingName: 'sensor-42' });
      // Assess
      expect(recovered.version).toBe(1);
      await expect(spent).rejects.toMatchObject({ name: 'UnavailableError', status: 503, retryable: true });
      expect(faults).toEqual([]);
    });

    it('answers 429 for throttling, 504 for no answer within the budget, 502 for a garbled answer', async () => {
      // Prepare
      const client = (timeoutMs: number) =>
        IotCoreClient.create({ endpoint: faulty.url, timeoutMs, maxAttempts: 1 });
      // Act
      faults.splice(0, faults.length, 'throttled');
      const throttled = (await client(5_000)).getShadow({ thingName: 'sensor-42' });
      await expect(throttled).rejects.toMatchObject({ name: 'RateLimitedError', status: 429 });
      faults.splice(0, faults.length, 'hang');
      const slow = (await client(300)).getShadow({ thingName: 'sensor-42' });
      await expect(slow).rejects.toMatchObject({ status: 504 });
      faults.splice(0, faults.length, 'garbage');
      const garbled = (await client(5_000)).getShadow({ thingName: 'sensor-42' });
      // Assess
      await expect(garbled).rejects.toMatchObject({ name: 'UnexpectedResponseError', status: 502 });
    });

    it('answers 502 for a shadow answer that is not JSON or has no version', async () => {
      // Act
      const garbled = new IotCoreClient(answering('<html>'), options).getShadow({ thingName: 'a' });
      const versionless = new IotCoreClient(answering('{"state":{}}'), options).getShadow({ thingName: 'a' });
      // Assess
      await expect(garbled).rejects.toMatchObject({ name: 'UnexpectedResponseError', status: 502 });
      await expect(versionless).rejects.toMatchObject({ name: 'UnexpectedResponseError', status: 502 });
    });

    it('names no version in a conflict when the re-read fails too', async () => {
      // Act
      const update = new IotCoreClient(failingSdk('ConflictException', 409), options).updateShadow({
        thingName: 'sensor-42',
        state: { desired: { temperature: 1 } },
        version: 1,
      });
      // Assess
      await expect(update).rejects.toMatchObject({
        name: 'ConflictError',
        message: 'classic shadow of thing "sensor-42" is at a newer version, not 1: read it again and retry',
      });
    });

    it('reports health failing when the data plane refuses the credentials, fine when the probe is missing', async () => {
      // Act / Assess
      await expect(
        new IotCoreClient(failingSdk('ResourceNotFoundException', 404), options).ping(),
      ).resolves.toBe(undefined);
      await expect(
        new IotCoreClient(failingSdk('UnauthorizedException', 401), options).ping(),
      ).rejects.toMatchObject({ name: 'ConfigurationError' });
    });
  });
});
