/**
 * The Redis connector against the machine's real Redis (test/peers/redis.ts: a random key prefix and ACL
 * users of its own per run) and the local stack's Secrets Manager: the key-value conformance suite, each
 * trigger, ACL auth with a rotation, key prefixing, and the connection's failure paths.
 */
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { configureSecrets, ForbiddenError } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { describeKeyValueConformance } from '#shared/interfaces/key-value.conformance.ts';
import { type RedisPeer, startRedisPeer } from '../../../test/peers/redis.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';
import { RedisKeyValueStore, type RedisStoreOptions } from './client.ts';
import { isConnectionLost } from './connection.ts';
import { toRedisError } from './errors.ts';

const SECRET = 'test/redis/credentials';
const PASSWORD = 'redis-test-password-7f3a';
const ROTATED = 'redis-rotated-password-91c2';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let redis: RedisPeer;
let secrets: SecretsManagerPeer;
let user: string;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

const options = (overrides: Partial<RedisStoreOptions> = {}): RedisStoreOptions => ({
  host: redis.host,
  port: redis.port,
  tls: false,
  database: 0,
  keyPrefix: redis.prefix,
  secretMaxAgeSeconds: 0,
  connectTimeoutMs: 2_000,
  timeoutMs: 2_000,
  ...overrides,
});

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({
    path: `/redis/${operation}`,
    body,
    headers: { 'idempotency-key': crypto.randomUUID() },
  });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

beforeAll(async () => {
  redis = await startRedisPeer();
  user = await redis.addUser(PASSWORD);
  secrets = await startSecretsManager({ [SECRET]: JSON.stringify({ username: user, password: PASSWORD }) });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    REDIS_HOST: redis.host,
    REDIS_PORT: String(redis.port),
    REDIS_TLS: 'disable',
    REDIS_SECRET: SECRET,
    REDIS_SECRET_MAX_AGE_SECONDS: '0',
    REDIS_KEY_PREFIX: `${redis.prefix}handler:`,
    REDIS_TIMEOUT_MS: '2000',
  });
  delete process.env['CIRCLE_IDEMPOTENCY_TABLE'];
  configureSecrets({});
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await connector?.runtime
    .client()
    .then((client) => client.close())
    .catch(() => undefined);
  await secrets?.close();
  await redis?.close();
});

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describeKeyValueConformance('RedisKeyValueStore on the machine Redis', async () => {
  const store = RedisKeyValueStore.create(options({ keyPrefix: `${redis.prefix}conformance:` }));
  return { store, close: () => store.close() };
});

describe('Connector: redis', () => {
  describe('Operations', () => {
    it('writes, reads, lists and deletes through HTTP as an ACL user, on one reused connection', async () => {
      // Act
      const put = await call('put-value', { key: 'orders/1', value: { total: 12.5 }, ttlSeconds: 60 });
      const got = await call('get-value', { key: 'orders/1' });
      const listed = await call('list-keys', { prefix: 'orders/' });
      const counted = await call('increment-value', { key: 'orders/count', by: 3 });
      const deleted = await call('delete-value', { key: 'orders/1' });
      const missing = await call('get-value', { key: 'orders/1' });

      // Assess
      expect(put.statusCode).toBe(200);
      expect(parsed(got)).toMatchObject({
        key: 'orders/1',
        value: { total: 12.5 },
        version: parsed(put)['version'],
      });
      expect(parsed(listed)['keys']).toEqual(['orders/1']);
      expect(parsed(counted)).toMatchObject({ key: 'orders/count', value: 3 });
      expect(parsed(deleted)).toEqual({ key: 'orders/1', deleted: true });
      expect(missing.statusCode).toBe(404);
      expect(await redis.connectionsOf(user)).toBe(1);
    });

    it('refuses an increment past ±(2^53 - 1) with a 409 instead of answering a rounded count', async () => {
      // Prepare: 2^53 - 2, then one step to the largest safe integer.
      await call('put-value', { key: 'big/count', value: 9_007_199_254_740_990 });
      const last = await call('increment-value', { key: 'big/count', by: 1 });

      // Act: Redis would store 2^53 + 1 exactly, which a JSON number rounds to 2^53.
      const beyond = await call('increment-value', { key: 'big/count', by: 2 });
      const below = await call('increment-value', { key: 'big/low', by: -9_007_199_254_740_991 });
      const under = await call('increment-value', { key: 'big/low', by: -1 });
      const after = await call('get-value', { key: 'big/count' });

      // Assess
      expect(parsed(last)).toMatchObject({ value: 9_007_199_254_740_991 });
      expect(beyond.statusCode).toBe(409);
      expect(beyond.body).toContain('9007199254740991');
      expect(parsed(below)).toMatchObject({ value: -9_007_199_254_740_991 });
      expect(under.statusCode).toBe(409);
      expect(parsed(after)).toMatchObject({ value: 9_007_199_254_740_991, version: parsed(last)['version'] });
    });

    it('answers a counter already past 2^53 (counted by an earlier version or HINCRBY) as its exact text', async () => {
      // Prepare: what 1.0.2 left behind after answering its 500.
      await redis.admin.sendCommand([
        'HSET',
        `${redis.prefix}handler:big/old`,
        'v',
        '9007199254740993',
        'ver',
        'a',
      ]);

      // Act
      const got = await call('get-value', { key: 'big/old' });
      const counted = await call('increment-value', { key: 'big/old', by: -1 });

      // Assess
      expect(parsed(got)).toMatchObject({ value: '9007199254740993', version: 'a' });
      expect(counted.statusCode).toBe(409);
    });

    it('pages list-keys without repeating or losing a key, and binds a cursor to its prefix', async () => {
      // Prepare
      const prefix = `page-${Date.now()}/`;
      const written = Array.from({ length: 7 }, (_, i) => `${prefix}${i}`);
      for (const key of written) await call('put-value', { key, value: 1 });

      // Act
      const pages: string[][] = [];
      let cursor: unknown;
      let first: unknown;
      do {
        const page = parsed(await call('list-keys', { prefix, limit: 2, ...(cursor ? { cursor } : {}) }));
        pages.push(page['keys'] as string[]);
        cursor = page['cursor'];
        first ??= cursor;
      } while (cursor !== undefined && pages.length < 20);
      const foreign = await call('list-keys', { prefix: 'orders/', limit: 2, cursor: first });

      // Assess
      expect(pages.flat().sort()).toEqual([...written].sort());
      expect(pages.every((page) => page.length <= 2)).toBe(true);
      expect(foreign.statusCode).toBe(400);
    });

    it('stores every key under the stage prefix', async () => {
      // Act
      await call('put-value', { key: 'prefixed', value: 'x' });

      // Assess
      const stored = await redis.admin.sendCommand(['HGET', `${redis.prefix}handler:prefixed`, 'v']);
      expect(stored).toBe('"x"');
      expect(await redis.admin.sendCommand(['EXISTS', 'prefixed'])).toBe(0);
    });

    it('answers 409 for a failed condition and 400 naming an unknown field', async () => {
      // Prepare
      await call('put-value', { key: 'taken', value: 1 });

      // Act
      const conflict = await call('put-value', { key: 'taken', value: 2, onlyIfAbsent: true });
      const unknown = await call('get-value', { key: 'a', kee: 'b' });

      // Assess
      expect(conflict.statusCode).toBe(409);
      expect(parsed(conflict)['detail']).toBe('The key already holds a value (onlyIfAbsent)');
      expect(unknown.statusCode).toBe(400);
      expect(parsed(unknown)['errors']).toEqual([{ pointer: '/kee', message: 'unknown field' }]);
    });

    it('answers 409 for a key holding another type and 502 for a hash it did not write', async () => {
      // Prepare
      await redis.admin.sendCommand(['SET', `${redis.prefix}handler:plain-string`, 'x']);
      await redis.admin.sendCommand(['HSET', `${redis.prefix}handler:not-json`, 'v', '{oops', 'ver', 'a']);

      // Act
      const wrongType = await call('get-value', { key: 'plain-string' });
      const notJson = await call('get-value', { key: 'not-json' });

      // Assess
      expect(wrongType.statusCode).toBe(409);
      expect(parsed(wrongType)['detail']).toContain('(WRONGTYPE)');
      expect(notJson.statusCode).toBe(502);
    });
  });

  describe('Auth and connection', () => {
    it("refuses a key outside the ACL user's pattern with 403 (NOPERM)", async () => {
      // Prepare
      const outside = RedisKeyValueStore.create({
        ...options({ keyPrefix: 'circle-elsewhere:' }),
        secretName: SECRET,
      });

      // Act
      const error = await outside.getValue({ key: 'x' }).catch((failure: unknown) => failure);
      await outside.close();

      // Assess
      expect(error).toBeInstanceOf(ForbiddenError);
      expect((error as Error).message).toContain('(NOPERM)');
    });

    it('replays a read on a new connection after the server dropped it', async () => {
      // Prepare
      await call('put-value', { key: 'kept', value: 'v' });
      await redis.admin.sendCommand(['CLIENT', 'KILL', 'USER', user]);
      await new Promise((resolve) => setTimeout(resolve, 50));

      // Act
      const response = await call('get-value', { key: 'kept' });

      // Assess
      expect(parsed(response)).toMatchObject({ value: 'v' });
    });

    it('reads the secret again when the password rotated, and never shows it', async () => {
      // Prepare
      await call('put-value', { key: 'before', value: 'v' });
      await redis.admin.sendCommand(['ACL', 'SETUSER', user, 'resetpass', `>${ROTATED}`]);
      await secrets.set(SECRET, JSON.stringify({ username: user, password: ROTATED }));
      await redis.admin.sendCommand(['CLIENT', 'KILL', 'USER', user]);

      // Act
      const response = await call('get-value', { key: 'before' });
      const health = (await connector.handler(
        httpEvent({ method: 'GET', path: '/redis/health' }),
        lambdaContext(),
      )) as HttpResult;

      // Assess
      expect(response.statusCode).toBe(200);
      expect(health.statusCode).toBe(200);
      expect(logs.text()).not.toContain(ROTATED);
      expect(logs.text()).not.toContain(PASSWORD);
    });

    it('answers 401 when the server refuses the password even after a fresh read', async () => {
      // Prepare
      const wrong = 'test/redis/wrong';
      await secrets.set(wrong, JSON.stringify({ username: user, password: 'not-the-password-5d1e' }));
      const store = RedisKeyValueStore.create({ ...options(), secretName: wrong });

      // Act
      const error = await store.ping().catch((failure: unknown) => failure);

      // Assess
      expect(error).toMatchObject({ name: 'AuthError' });
      expect(JSON.stringify(error)).not.toContain('not-the-password-5d1e');
      expect((error as Error).message).not.toContain('not-the-password-5d1e');
    });

    it('answers 503 when nothing listens', async () => {
      // Prepare
      const store = RedisKeyValueStore.create(options({ port: 1, connectTimeoutMs: 500 }));

      // Act
      const failure = store.ping();

      // Assess
      await expect(failure).rejects.toMatchObject({ name: 'UnavailableError', code: 'provider_unavailable' });
    });
  });

  describe('Concurrent invocations of one warm handler (Lambda Managed Instances) and a dropped connection', () => {
    /**
     * A TCP proxy to Redis that holds the server's answers while `hold` is on, as a slow network or a busy
     * server would, and lets them through (in order) on `release`; `cut` destroys its connections.
     */
    async function holdingProxy(): Promise<{
      port: number;
      hold(): void;
      release(): void;
      held(): number;
      close(): Promise<void>;
    }> {
      const sockets = new Set<Socket>();
      let holding = false;
      const queue: { inbound: Socket; chunk: Buffer }[] = [];
      const server = createServer((inbound) => {
        const outbound = connect({ host: redis.host, port: redis.port });
        for (const socket of [inbound, outbound]) {
          sockets.add(socket);
          socket.on('error', () => undefined);
          socket.on('close', () => {
            sockets.delete(socket);
            inbound.destroy();
            outbound.destroy();
          });
        }
        inbound.pipe(outbound);
        outbound.on('data', (chunk: Buffer) => {
          if (holding) queue.push({ inbound, chunk });
          else inbound.write(chunk);
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return {
        port: (server.address() as AddressInfo).port,
        hold: () => {
          holding = true;
        },
        release: () => {
          holding = false;
          for (const { inbound, chunk } of queue.splice(0)) inbound.write(chunk);
        },
        held: () => queue.length,
        close: async () => {
          for (const socket of sockets) socket.destroy();
          await new Promise<void>((resolve) => server.close(() => resolve()));
        },
      };
    }

    it('gives each of interleaved invocations its own answer: counters, versions and values', async () => {
      // Prepare
      const keys = Array.from({ length: 8 }, (_, index) => `lmi/${index}`);
      // Act
      const written = await Promise.all(
        keys.map((key, index) => call('put-value', { key, value: { owner: index } })),
      );
      const mixed = await Promise.all(
        keys.flatMap((key, index) => [
          call('get-value', { key }),
          call('increment-value', { key: `${key}/count`, by: index + 1 }),
        ]),
      );
      // Assess
      keys.forEach((key, index) => {
        const got = parsed(mixed[2 * index] as HttpResult);
        const counted = parsed(mixed[2 * index + 1] as HttpResult);
        expect(got).toMatchObject({
          key,
          value: { owner: index },
          version: parsed(written[index] as HttpResult)['version'],
        });
        expect(counted).toMatchObject({ key: `${key}/count`, value: index + 1 });
      });
      expect(new Set(written.map((response) => parsed(response)['version'])).size).toBe(keys.length);
      expect(await redis.connectionsOf(user)).toBe(1);
    });

    it('never hands the late answer of a timed-out command to the next invocation', async () => {
      // Prepare
      const proxy = await holdingProxy();
      const store = RedisKeyValueStore.create({
        ...options({ port: proxy.port, timeoutMs: 300 }),
        secretName: SECRET,
      });
      await store.putValue({ key: 'late/a', value: 'value-of-a' });
      await store.putValue({ key: 'late/b', value: 'value-of-b' });
      // Act: A's answer is held past A's timeout; B asks while it is still held, then both come through.
      proxy.hold();
      const first = await store.getValue({ key: 'late/a' }).catch((error: unknown) => error);
      const second = store.getValue({ key: 'late/b' });
      await vi.waitFor(() => expect(proxy.held()).toBeGreaterThan(0));
      proxy.release();
      const answer = await second.catch((error: unknown) => error);
      // Assess
      expect(first).toMatchObject({ name: 'TimeoutError' });
      expect(answer).toMatchObject({ key: 'late/b', value: 'value-of-b' });
      await store.close();
      await proxy.close();
    });

    it('answers a write the dropped connection took a retryable 503 naming it, and writes on a new connection next', async () => {
      // Prepare
      await call('put-value', { key: 'dropped/before', value: 1 });
      const id = String(await redis.admin.sendCommand(['CLIENT', 'LIST']))
        .split('\n')
        .filter((line) => line.includes(` user=${user} `))
        .map((line) => /^id=(\d+) /.exec(line)?.[1])
        .find((found) => found !== undefined);
      await redis.admin.sendCommand(['CLIENT', 'KILL', 'ID', String(id)]);
      // Act: a write sent before the client saw the close is not replayed (it may have run): a retryable
      // 503 naming the broken connection; the write after it opens a new connection.
      const first = await call('put-value', { key: 'dropped/after', value: 2 });
      const written = await call('put-value', { key: 'dropped/after', value: 3 });
      const read = await call('get-value', { key: 'dropped/after' });
      // Assess
      expect([200, 503]).toContain(first.statusCode);
      if (first.statusCode === 503) expect(first.body).toContain('the connection broke');
      expect(written.statusCode).toBe(200);
      expect(parsed(read)).toMatchObject({ value: 3, version: parsed(written)['version'] });
      expect(await redis.connectionsOf(user)).toBe(1);
    });
  });

  describe('Triggers', () => {
    it('runs a queued request and reports no failed record', async () => {
      // Act
      const event = sqsEvent([{ body: { operation: 'put-value', input: { key: 'queued', value: 'q' } } }]);
      const result = await connector.handler(event, lambdaContext());

      // Assess
      expect(result).toEqual({ batchItemFailures: [] });
      expect(await redis.admin.sendCommand(['HGET', `${redis.prefix}handler:queued`, 'v'])).toBe('"q"');
    });

    it('runs a Step Functions task envelope', async () => {
      // Act
      const output = await connector.handler(
        { operation: 'increment-value', input: { key: 'task-counter', by: 2 } },
        lambdaContext(),
      );

      // Assess
      expect(output).toMatchObject({ key: 'task-counter', value: 2 });
    });
  });

  describe('Function: toRedisError', () => {
    it('maps reply codes, timeouts and unknown failures, naming no value', async () => {
      // Prepare
      const { ErrorReply, SocketClosedUnexpectedlyError, TimeoutError } = await import('@redis/client');

      // Act
      const rows = [
        toRedisError(new ErrorReply('LOADING Redis is loading the dataset in memory'), 'get'),
        toRedisError(new ErrorReply('MOVED 3999 127.0.0.1:6381'), 'get'),
        toRedisError(new ErrorReply('ERR increment or decrement would overflow'), 'increment'),
        toRedisError(new ErrorReply('SOMETHING new'), 'get'),
        toRedisError(new TimeoutError(), 'get'),
        toRedisError(Object.assign(new Error('x'), { code: 'ENOTFOUND' }), 'get'),
        toRedisError(Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' }), 'get'),
        toRedisError(new Error('strange'), 'get'),
        toRedisError(new ErrorReply('ERR value is not an integer or out of range'), 'increment'),
        toRedisError(new ErrorReply('unexpected lower-case reply'), 'get'),
        toRedisError(new SocketClosedUnexpectedlyError(), 'get'),
      ];

      // Assess
      expect(rows.map((error) => error.name)).toEqual([
        'UnavailableError',
        'ConfigurationError',
        'ConflictError',
        'UnexpectedResponseError',
        'TimeoutError',
        'UnavailableError',
        'ConfigurationError',
        'UnexpectedResponseError',
        'ConflictError',
        'UnexpectedResponseError',
        'UnavailableError',
      ]);
      expect(rows.slice(-3).map((error) => error.details?.['code'])).toEqual([
        'NOTINTEGER',
        'unknown',
        'connection_lost',
      ]);
    });

    it('maps a temporary DNS failure and an unreachable or down network to a retryable UnavailableError', () => {
      // Prepare
      const failures = [
        ['EAI_AGAIN', 'getaddrinfo EAI_AGAIN redis.internal'],
        ['ENETUNREACH', 'connect ENETUNREACH 10.0.0.7:6379'],
        ['ENETDOWN', 'connect ENETDOWN 10.0.0.7:6379'],
      ];

      // Act
      const rows = failures.map(([code, message]) =>
        toRedisError(Object.assign(new Error(message), { code }), 'get'),
      );

      // Assess
      for (const [index, error] of rows.entries()) {
        const code = failures[index]?.[0];
        expect(error).toMatchObject({ name: 'UnavailableError', status: 503, retryable: true });
        expect(error.details).toEqual({ provider: 'Redis', operation: 'get', code });
        expect(error.message).toContain(`(${code})`);
        expect(error.message).not.toContain('redis.internal');
      }
    });

    it.each([
      [
        'MISCONF',
        "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled",
      ],
      ['NOREPLICAS', 'NOREPLICAS Not enough good replicas to write.'],
      ['BUSY', 'BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.'],
      ['TRYAGAIN', 'TRYAGAIN Multiple keys request during rehashing of slot'],
      ['CLUSTERDOWN', 'CLUSTERDOWN The cluster is down'],
    ])('maps %s (writes stopped for now) to a retryable UnavailableError', async (code, message) => {
      // Prepare
      const { ErrorReply } = await import('@redis/client');

      // Act
      const error = toRedisError(new ErrorReply(message), 'put');

      // Assess
      expect(error).toMatchObject({ name: 'UnavailableError', status: 503, retryable: true });
      expect(error.details).toEqual({ provider: 'Redis', operation: 'put', code });
    });

    it('maps a server at its maximum number of clients to a retryable UnavailableError', async () => {
      // Prepare
      const { ErrorReply } = await import('@redis/client');

      // Act
      const error = toRedisError(new ErrorReply('ERR max number of clients reached'), 'put');

      // Assess
      expect(error).toMatchObject({ name: 'UnavailableError', status: 503, retryable: true });
      expect(error.details).toEqual({ provider: 'Redis', operation: 'put', code: 'MAXCLIENTS' });
      expect(error.message).toContain('maximum number of clients');
    });
  });

  describe('Function: isConnectionLost', () => {
    it('counts the core broker network codes and ENETDOWN as a lost connection, so a read is replayed', () => {
      // Act
      const lost = ['EAI_AGAIN', 'ENETUNREACH', 'ENETDOWN', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET'].map(
        (code) => isConnectionLost(Object.assign(new Error('x'), { code })),
      );

      // Assess
      expect(lost).toEqual([true, true, true, true, true, true]);
      expect(isConnectionLost(Object.assign(new Error('x'), { code: 'EACCES' }))).toBe(false);
    });
  });
});
