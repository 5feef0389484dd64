/**
 * Redis for tests: the machine's real server on 127.0.0.1:6379 (`REDIS_TEST_PORT` overrides; `.ci/run`
 * starts it when down), shared by every engineer's test run. Every run works under a random key prefix and
 * with ACL users of random names, and removes both when it ends, so concurrent runs never collide.
 */
import { randomBytes } from 'node:crypto';
import { createClient, type RedisClientType } from '@redis/client';

export interface RedisPeer {
  host: string;
  port: number;
  /** A fresh prefix of this run, e.g. `circle-test:3f9a...:`. */
  prefix: string;
  /** An admin connection (the machine's default user) for arranging and inspecting. */
  admin: RedisClientType;
  /**
   * Creates an ACL user whose rights are limited to the run's prefix and to the commands the connector
   * runs; removed at close.
   */
  addUser(password: string): Promise<string>;
  /** Connections the server holds for an ACL user. */
  connectionsOf(user: string): Promise<number>;
  close(): Promise<void>;
}

/** The commands the connector needs (its scripts' too), and nothing else: what README's "Auth setup" grants. */
export const CONNECTOR_ACL = [
  '+ping',
  '+hello',
  '+auth',
  '+select',
  '+evalsha',
  '+eval',
  '+scan',
  '+hset',
  '+hget',
  '+hmget',
  '+hincrby',
  '+exists',
  '+del',
  '+expireat',
  '+expiretime',
  '+time',
];

/**
 * Connects to the machine's Redis and picks a run prefix.
 *
 * @example
 * ```ts
 * const redis = await startRedisPeer();
 * const store = RedisKeyValueStore.create({ ...options, keyPrefix: redis.prefix });
 * ```
 */
export async function startRedisPeer(): Promise<RedisPeer> {
  const host = '127.0.0.1';
  const port = Number(process.env['REDIS_TEST_PORT'] ?? 6379);
  const admin = createClient({ socket: { host, port, reconnectStrategy: false } }) as RedisClientType;
  admin.on('error', () => undefined);
  await admin.connect();
  const prefix = `circle-test:${randomBytes(6).toString('hex')}:`;
  const users: string[] = [];
  return {
    host,
    port,
    prefix,
    admin,
    addUser: async (password) => {
      const user = `circle-test-${randomBytes(6).toString('hex')}`;
      users.push(user);
      await admin.sendCommand([
        'ACL',
        'SETUSER',
        user,
        'reset',
        'on',
        `>${password}`,
        `~${prefix}*`,
        ...CONNECTOR_ACL,
      ]);
      return user;
    },
    connectionsOf: async (user) => {
      const list = String(await admin.sendCommand(['CLIENT', 'LIST']));
      return list.split('\n').filter((line) => line.includes(` user=${user} `)).length;
    },
    close: async () => {
      for (const user of users) {
        await admin.sendCommand(['ACL', 'DELUSER', user]);
        await admin.sendCommand(['CLIENT', 'KILL', 'USER', user]).catch(() => undefined);
      }
      let cursor = '0';
      do {
        const [next, keys] = (await admin.sendCommand([
          'SCAN',
          cursor,
          'MATCH',
          `${prefix}*`,
          'COUNT',
          '1000',
        ])) as [string, string[]];
        if (keys.length > 0) await admin.sendCommand(['UNLINK', ...keys]);
        cursor = next;
      } while (cursor !== '0');
      admin.destroy();
    },
  };
}
