/**
 * The NATS JetStream connector against the machine's NATS server with JetStream (127.0.0.1:4222) and the
 * local stack's Secrets Manager: the message-publisher conformance suite, each operation on each trigger,
 * and the failure paths (no stream on the subject, missing consumer, forged and expired receipts, a
 * rotated password on a throwaway nats-server with auth, nothing listening, TLS asked of a server without
 * it, no time left). Streams are named per run and deleted afterwards.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configureSecrets } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { AckPolicy, connect, type NatsConnection } from 'nats';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeMessagePublisherConformance } from '#shared/interfaces/message-publisher.conformance.ts';
import { NATS, uniqueName } from '../../../test/peers/brokers.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';
import { freePort } from '../../../test/peers/tls.ts';
import { NatsClient, type NatsClientOptions } from './client.ts';
import { toNatsError } from './errors.ts';

const SECRET = 'test/nats/credentials';
const STREAM = uniqueName('CIRCLE_NATS_TEST').replace(/-/g, '_');
const SUBJECT = `${STREAM}.events`;
const CONSUMER = 'workers';

interface HttpResult {
  statusCode: number;
  body: string;
}

let secrets: SecretsManagerPeer;
let logs: CapturedLogs;
let admin: NatsConnection;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };
const streams: string[] = [];

async function call(operation: string, body: unknown): Promise<HttpResult> {
  return (await connector.handler(
    httpEvent({ path: `/nats/${operation}`, body }),
    lambdaContext(),
  )) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

function options(overrides: Partial<NatsClientOptions> = {}): NatsClientOptions {
  return {
    host: NATS.host,
    port: NATS.port,
    tls: 'disable',
    secretName: SECRET,
    secretMaxAgeSeconds: 300,
    subject: SUBJECT,
    stream: STREAM,
    consumer: CONSUMER,
    connectTimeoutMs: 2_000,
    timeoutMs: 5_000,
    ...overrides,
  };
}

/** A stream of this run on `<name>.>` with a durable pull consumer, deleted after the file. */
async function freshStream(prefix: string): Promise<{ stream: string; subject: string }> {
  const stream = uniqueName(prefix).replace(/-/g, '_');
  streams.push(stream);
  const manager = await admin.jetstreamManager();
  await manager.streams.add({ name: stream, subjects: [`${stream}.>`], duplicate_window: 120_000_000_000 });
  await manager.consumers.add(stream, { durable_name: CONSUMER, ack_policy: AckPolicy.Explicit });
  return { stream, subject: `${stream}.events` };
}

/** Waits until something accepts TCP connections on the port. */
async function listening(port: number): Promise<void> {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect({ host: '127.0.0.1', port });
      socket.once('connect', () => resolve(socket.destroy() === socket));
      socket.once('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nothing listens on ${port}`);
}

beforeAll(async () => {
  admin = await connect({ servers: `${NATS.host}:${NATS.port}` });
  secrets = await startSecretsManager({ [SECRET]: '{}' });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    NATS_HOST: NATS.host,
    NATS_PORT: String(NATS.port),
    NATS_TLS: 'disable',
    NATS_SECRET: SECRET,
    NATS_SUBJECT: SUBJECT,
    NATS_STREAM: STREAM,
    NATS_CONSUMER: CONSUMER,
  });
  configureSecrets({});
  streams.push(STREAM);
  const manager = await admin.jetstreamManager();
  await manager.streams.add({ name: STREAM, subjects: [`${STREAM}.>`] });
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  const manager = await admin.jetstreamManager();
  for (const stream of streams) await manager.streams.delete(stream).catch(() => false);
  await admin.close();
  await secrets.close();
});

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describeMessagePublisherConformance('NATS JetStream on 127.0.0.1:4222', async () => {
  const { stream, subject } = await freshStream('CIRCLE_NATS_CONFORMANCE');
  const publisher = NatsClient.create(options({ stream, subject }));
  return { publisher, destination: subject, source: CONSUMER, close: () => publisher.close() };
});

describe('Connector: nats', () => {
  describe('Operations', () => {
    it('declares a consumer, publishes with headers and a deduplication id, pulls, releases and acknowledges over HTTP', async () => {
      // Prepare
      const declared = await call('declare-consumer', { consumer: CONSUMER, ackWaitMs: 30_000 });
      const body = JSON.stringify({ order: 42 });
      // Act
      const first = await call('publish-message', {
        body,
        attributes: { kind: 'order' },
        deduplicationId: 'order-42',
      });
      const repeat = await call('publish-message', { body, deduplicationId: 'order-42' });
      const pulled = await call('receive-messages', { maxMessages: 10, waitTimeMs: 2_000 });
      const receipt = (parsed(pulled)['messages'] as { receipt: string }[])[0]?.receipt;
      const released = await call('release-messages', { receipts: [receipt] });
      const again = await call('receive-messages', { maxMessages: 10, waitTimeMs: 2_000 });
      const second = (parsed(again)['messages'] as { receipt: string }[])[0]?.receipt;
      const acknowledged = await call('acknowledge-messages', { receipts: [second] });
      const stream = await call('inspect-stream', {});
      // Assess
      expect(parsed(declared)).toMatchObject({ stream: STREAM, consumer: CONSUMER, pending: 0 });
      expect(parsed(first)).toEqual({ messageId: 'order-42', sequence: '1', duplicate: false });
      expect(parsed(repeat)).toEqual({ messageId: 'order-42', sequence: '1', duplicate: true });
      expect(parsed(pulled)['messages']).toMatchObject([
        {
          body,
          attributes: { kind: 'order' },
          deduplicationId: 'order-42',
          redelivered: false,
          deliveryCount: 1,
        },
      ]);
      expect(parsed(released)).toEqual({ results: [{ receipt, ok: true }] });
      expect(parsed(again)['messages']).toMatchObject([{ body, redelivered: true, deliveryCount: 2 }]);
      expect(parsed(acknowledged)).toEqual({ results: [{ receipt: second, ok: true }] });
      expect(parsed(stream)).toMatchObject({
        stream: STREAM,
        subjects: [`${STREAM}.>`],
        messages: 1,
        lastSequence: 1,
        consumers: 1,
      });
    });

    it('answers 404 for a subject no stream listens on, per entry in a batch', async () => {
      // Prepare
      const nowhere = `${uniqueName('circle-nowhere')}.events`;
      // Act
      const one = await call('publish-message', { destination: nowhere, body: '{}' });
      const batch = await call('publish-batch', { destination: nowhere, entries: [{ body: '{}' }] });
      const wildcard = await call('publish-message', { destination: 'events.>', body: '{}' });
      // Assess
      expect(one.statusCode).toBe(404);
      expect(parsed(one)['detail']).toContain('no stream listens on the subject');
      expect(parsed(batch)).toMatchObject({
        failed: 1,
        results: [{ ok: false, error: { name: 'NotFoundError' } }],
      });
      expect(wildcard.statusCode).toBe(400);
    });

    it('refuses an attribute value with a line break with a 400 naming it, and publishes nothing', async () => {
      // Prepare
      const { stream, subject } = await freshStream('CIRCLE_NATS_HEADERS');
      // Act
      const one = await call('publish-message', {
        destination: subject,
        body: 'x',
        attributes: { k: 'v\r\nInjected: yes' },
      });
      const batch = await call('publish-batch', {
        destination: subject,
        entries: [
          { body: 'a', attributes: { ok: 'fine' } },
          { body: 'b', attributes: { k: 'v\nw' } },
        ],
      });
      const info = await (await admin.jetstreamManager()).streams.info(stream);
      // Assess
      expect(one.statusCode).toBe(400);
      expect(parsed(one)).toMatchObject({
        code: 'validation_error',
        errors: [{ pointer: '/attributes/k', message: expect.stringContaining('line break') }],
      });
      expect(batch.statusCode).toBe(400);
      expect(parsed(batch)).toMatchObject({ errors: [{ pointer: '/entries/1/attributes/k' }] });
      expect(info.state.messages).toBe(0);
    });

    it('refuses a subject with an empty token or a control character with a 400 naming it, and publishes nothing', async () => {
      // Prepare
      const { stream } = await freshStream('CIRCLE_NATS_SUBJECTS');
      const bad = [
        `${stream}..events`,
        `${stream}.events.`,
        `${stream}.ev\u0000ents`,
        `${stream}.ev\u0007ents`,
      ];
      // Act
      const ones = await Promise.all(
        bad.map((destination) => call('publish-message', { destination, body: '{}' })),
      );
      const batch = await call('publish-batch', { destination: bad[0], entries: [{ body: '{}' }] });
      const consumer = await call('declare-consumer', {
        stream,
        consumer: 'filtered',
        filterSubject: `${stream}..events`,
      });
      const info = await (await admin.jetstreamManager()).streams.info(stream);
      // Assess
      for (const response of [...ones, batch]) {
        expect(response.statusCode).toBe(400);
        expect(parsed(response)).toMatchObject({ errors: [{ pointer: '/destination' }] });
      }
      expect(consumer.statusCode).toBe(400);
      expect(parsed(consumer)).toMatchObject({ errors: [{ pointer: '/filterSubject' }] });
      expect(info.state.messages).toBe(0);
    });

    it('answers 404 for a missing consumer or stream, and refuses a forged receipt without sending it', async () => {
      // Act
      const consumer = await call('receive-messages', { source: 'nobody', waitTimeMs: 0 });
      const stream = await call('inspect-stream', { stream: 'NO_SUCH_STREAM_X' });
      const forged = await call('acknowledge-messages', {
        receipts: [`$JS.ACK.OTHER.${CONSUMER}.1.1.1.1.0`, 'orders.new'],
      });
      // Assess
      expect(consumer.statusCode).toBe(404);
      expect(stream.statusCode).toBe(404);
      expect(parsed(forged)).toMatchObject({
        results: [
          { ok: false, error: { name: 'ValidationError' } },
          { ok: false, error: { name: 'ValidationError' } },
        ],
      });
    });

    it('refuses to pull or publish without a named or configured subject, stream and consumer', async () => {
      // Prepare
      const bare = NatsClient.create(options({ subject: '', stream: '', consumer: '' }));
      // Act
      const publish = await bare.publish({ body: '{}' }).catch((error: unknown) => error);
      const receive = await bare.receive({}).catch((error: unknown) => error);
      const stream = await bare.inspectStream({}).catch((error: unknown) => error);
      // Assess
      expect(publish).toMatchObject({ name: 'ValidationError', issues: [{ pointer: '/destination' }] });
      expect(receive).toMatchObject({ name: 'ValidationError', issues: [{ pointer: '/source' }] });
      expect(stream).toMatchObject({ name: 'ValidationError', issues: [{ pointer: '/stream' }] });
    });
  });

  describe('Server limits', () => {
    it("refuses a message over the server's max_payload with a 413 naming the body, before publishing", async () => {
      // Prepare: a throwaway server announcing max_payload 1024 (the machine's server has the default 1 MiB)
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'nats-max-payload-'));
      const config = join(dir, 'server.conf');
      writeFileSync(config, `listen: "127.0.0.1:${port}"\nmax_payload: 1024\n`);
      const server: ChildProcess = spawn('nats-server', ['-c', config], { stdio: 'ignore' });
      try {
        await listening(port);
        const client = NatsClient.create(options({ port }));
        // Act
        const single = await client.publish({ body: 'x'.repeat(2_000) }).catch((error: unknown) => error);
        const batch = await client
          .publishBatch({ entries: [{ body: 'small' }, { body: 'y'.repeat(2_000) }] })
          .catch((error: unknown) => error);
        // Assess
        expect(single).toMatchObject({ name: 'PayloadTooLargeError', status: 413, limitBytes: 1024 });
        expect((single as Error).message).toMatch(/^The message at \/body is \d+ bytes .*max_payload 1024/);
        expect(batch).toMatchObject({ name: 'PayloadTooLargeError', status: 413, limitBytes: 1024 });
        expect((batch as Error).message).toMatch(/^The message at \/entries\/1\/body is \d+ bytes/);
        await client.close();
      } finally {
        server.kill();
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it("maps the client's own MAX_PAYLOAD_EXCEEDED to a 413 naming the body", () => {
      // Act
      const error = toNatsError(
        Object.assign(new Error('MAX_PAYLOAD_EXCEEDED'), { code: 'MAX_PAYLOAD_EXCEEDED' }),
        'publish',
      );
      // Assess
      expect(error).toMatchObject({ name: 'PayloadTooLargeError', status: 413 });
      expect(error.message).toContain('body');
    });
  });

  describe('Connection', () => {
    it('reads the secret again when the password rotated on a server with auth, and never shows it', async () => {
      // Prepare
      const port = await freePort();
      const password = 'nats-current-password-5e2a';
      const wrong = 'nats-rotated-away-password-91b3';
      const server: ChildProcess = spawn(
        'nats-server',
        ['-a', '127.0.0.1', '-p', String(port), '--user', 'app', '--pass', password],
        {
          stdio: 'ignore',
        },
      );
      try {
        await listening(port);
        const name = 'test/nats/rotating';
        await secrets.set(name, JSON.stringify({ username: 'app', password: wrong }));
        const client = NatsClient.create(options({ port, secretName: name }));
        const refused = await client.ping().catch((error: unknown) => error);
        await secrets.set(name, JSON.stringify({ username: 'app', password }));
        // Act
        const after = await client.ping().then(() => 'ok');
        // Assess
        expect(refused).toMatchObject({ name: 'AuthError', status: 401 });
        expect((refused as Error).message).not.toContain(wrong);
        expect(after).toBe('ok');
        expect(logs.text()).not.toContain(wrong);
        expect(logs.text()).not.toContain(password);
        await client.close();
      } finally {
        server.kill();
      }
    });

    it('connects with a token on a server that asks for one, and refuses a user name without a password', async () => {
      // Prepare
      const port = await freePort();
      const token = 'nats-token-7d41';
      const server: ChildProcess = spawn(
        'nats-server',
        ['-a', '127.0.0.1', '-p', String(port), '--auth', token],
        {
          stdio: 'ignore',
        },
      );
      try {
        await listening(port);
        await secrets.set('test/nats/token', JSON.stringify({ token }));
        await secrets.set('test/nats/other-token', JSON.stringify({ token: 'nats-wrong-token' }));
        await secrets.set('test/nats/half', JSON.stringify({ username: 'app' }));
        const good = NatsClient.create(options({ port, secretName: 'test/nats/token' }));
        const wrong = NatsClient.create(options({ port, secretName: 'test/nats/other-token' }));
        const half = NatsClient.create(options({ port, secretName: 'test/nats/half' }));
        // Act
        const ok = await good.ping().then(() => 'ok');
        const refused = await wrong.ping().catch((error: unknown) => error);
        const incomplete = await half.ping().catch((error: unknown) => error);
        // Assess
        expect(ok).toBe('ok');
        expect(refused).toMatchObject({ name: 'AuthError', status: 401 });
        expect(incomplete).toMatchObject({ name: 'ConfigurationError' });
        expect((incomplete as Error).message).toContain('needs both "username" and "password"');
        expect(logs.text()).not.toContain(token);
        await Promise.all([good.close(), wrong.close(), half.close()]);
      } finally {
        server.kill();
      }
    });

    it('refuses a secret with two ways to authenticate, naming the setting', async () => {
      // Prepare
      const name = 'test/nats/ambiguous';
      await secrets.set(name, JSON.stringify({ token: 't0ken-value', username: 'app', password: 'pw' }));
      const client = NatsClient.create(options({ secretName: name }));
      // Act
      const failure = await client.ping().catch((error: unknown) => error);
      // Assess
      expect(failure).toMatchObject({ name: 'ConfigurationError' });
      expect((failure as Error).message).toContain('NATS_SECRET');
      expect((failure as Error).message).not.toContain('t0ken-value');
    });

    it('answers 503 when nothing listens, and a configuration error when TLS is asked of a server without it', async () => {
      // Prepare
      const closed = NatsClient.create(options({ port: await freePort(), connectTimeoutMs: 500 }));
      const tls = NatsClient.create(options({ tls: 'verify-full' }));
      // Act
      const refused = await closed.ping().catch((error: unknown) => error);
      const noTls = await tls.ping().catch((error: unknown) => error);
      // Assess
      expect(refused).toMatchObject({ name: 'UnavailableError', code: 'provider_unavailable' });
      expect(noTls).toMatchObject({ name: 'ConfigurationError' });
      expect((noTls as Error).message).toContain('NATS_TLS');
    });

    it('bounds a pull by the time left, and refuses a call with no time left', async () => {
      // Prepare
      const { stream, subject } = await freshStream('CIRCLE_NATS_BOUNDED');
      const client = NatsClient.create(options({ stream, subject, remainingTimeMs: () => 1_500 }));
      const none = NatsClient.create(options({ stream, subject, remainingTimeMs: () => 100 }));
      const started = Date.now();
      // Act
      const pulled = await client.receive({ waitTimeMs: 20_000 });
      const elapsed = Date.now() - started;
      const refused = await none.receive({}).catch((error: unknown) => error);
      // Assess
      expect(pulled.messages).toEqual([]);
      // The 20 s wait was cut to the 1.3 s left; generous headroom for a loaded machine.
      expect(elapsed).toBeLessThan(10_000);
      expect(refused).toMatchObject({ name: 'TimeoutError' });
      await client.close();
    });
  });

  describe('Concurrent invocations of one warm client (Lambda Managed Instances) and a dropped connection', () => {
    /** A TCP proxy to the NATS server whose connections the test cuts, as a server restart or an idle kill would. */
    async function cuttableProxy(): Promise<{ port: number; cut(): void; close(): Promise<void> }> {
      const sockets = new Set<Socket>();
      const server = createServer((inbound) => {
        const outbound = tcpConnect({ host: NATS.host, port: NATS.port });
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
        cut,
        close: async () => {
          cut();
          await new Promise<void>((resolve) => server.close(() => resolve()));
        },
      };
    }

    it('lets another invocation publish while a pull waits on an empty consumer, and the pull takes that message', async () => {
      // Prepare
      const { stream, subject } = await freshStream('CIRCLE_NATS_SHARED');
      const client = NatsClient.create(options({ stream, subject }));
      await client.ping();
      // Act
      const waiting = client.receive({ maxMessages: 1, waitTimeMs: 8_000 });
      const published = await client.publish({ body: '{"during":"pull"}' });
      const pulled = await waiting;
      // Assess
      expect(published).toMatchObject({ sequence: '1' });
      expect(pulled.messages).toMatchObject([{ body: '{"during":"pull"}' }]);
      await client.acknowledge({ receipts: pulled.messages.map((message) => message.receipt) });
      await client.close();
    });

    it('gives each of interleaved invocations its own acknowledgement, its own messages and its own acks', async () => {
      // Prepare
      const { stream, subject } = await freshStream('CIRCLE_NATS_INTERLEAVED');
      const client = NatsClient.create(options({ stream, subject }));
      const bodies = Array.from({ length: 6 }, (_, index) => `{"n":${index}}`);
      // Act
      const published = await Promise.all(
        bodies.map((body, index) => client.publish({ body, deduplicationId: `id-${index}` })),
      );
      const pulls = await Promise.all(
        [1, 2, 3].map(() => client.receive({ maxMessages: 2, waitTimeMs: 2_000 })),
      );
      const acks = await Promise.all(
        pulls.map((pull) =>
          client.acknowledge({ receipts: pull.messages.map((message) => message.receipt) }),
        ),
      );
      const info = await admin.jetstreamManager().then((manager) => manager.consumers.info(stream, CONSUMER));
      // Assess
      expect(published.map((output) => output.messageId)).toEqual(bodies.map((_, index) => `id-${index}`));
      expect(new Set(published.map((output) => output.sequence)).size).toBe(6);
      expect(pulls.map((pull) => pull.messages.length)).toEqual([2, 2, 2]);
      expect(pulls.flatMap((pull) => pull.messages.map((message) => message.body)).sort()).toEqual(
        [...bodies].sort(),
      );
      acks.forEach((ack, index) => {
        expect(ack.results).toEqual(
          pulls[index]?.messages.map((message) => ({ receipt: message.receipt, ok: true })),
        );
      });
      expect(info).toMatchObject({ num_pending: 0, num_ack_pending: 0 });
      await client.close();
    });

    it('answers a publish the cut connection lost with a retryable 503 naming it, and the next publish opens a new one', async () => {
      // Prepare
      const proxy = await cuttableProxy();
      const { stream, subject } = await freshStream('CIRCLE_NATS_CUT');
      const client = NatsClient.create(options({ stream, subject, port: proxy.port }));
      await client.publish({ body: '{"before":"cut"}' });
      proxy.cut();
      // Act: sent on the cut connection before the client saw it close, then again.
      const lost = await client
        .publish({ body: '{"after":"cut"}', deduplicationId: 'after-cut' })
        .catch((error: unknown) => error);
      const published = await client.publish({ body: '{"after":"cut"}', deduplicationId: 'after-cut' });
      const pulled = await client.receive({ maxMessages: 10, waitTimeMs: 1_000 });
      // Assess
      expect(lost).toMatchObject({ name: 'UnavailableError', code: 'provider_unavailable' });
      expect((lost as Error).message).toContain('the connection closed');
      expect(published).toMatchObject({ messageId: 'after-cut', sequence: '2' });
      expect(pulled.messages.map((message) => message.body)).toEqual(['{"before":"cut"}', '{"after":"cut"}']);
      await client.close();
      await proxy.close();
    });

    it('finishes a pull whose connection was cut while it waited, on a new connection', async () => {
      // Prepare
      const proxy = await cuttableProxy();
      const { stream, subject } = await freshStream('CIRCLE_NATS_CUT_PULL');
      const client = NatsClient.create(options({ stream, subject, port: proxy.port }));
      await client.ping();
      const waiting = client.receive({ maxMessages: 1, waitTimeMs: 8_000 });
      // Act
      proxy.cut();
      await admin.jetstream().publish(subject, new TextEncoder().encode('{"after":"cut"}'));
      const pulled = await waiting;
      // Assess
      expect(pulled.messages).toMatchObject([{ body: '{"after":"cut"}' }]);
      await client.close();
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
      const task = await connector.handler({ operation: 'inspect-stream', input: {} }, lambdaContext());
      const health = await connector.handler(
        httpEvent({ method: 'GET', path: '/nats/health' }),
        lambdaContext(),
      );
      // Assess
      expect(queued).toEqual({ batchItemFailures: [] });
      expect(task).toMatchObject({ stream: STREAM });
      expect((health as HttpResult).statusCode).toBe(200);
    });
  });
});
