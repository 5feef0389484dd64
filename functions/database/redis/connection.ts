/**
 * The one Redis connection a container keeps, on the core's connection kit: `ReusedConnection` opens it
 * within the time left, lends it to one unit of work at a time, reopens it when it broke, replays only
 * reads on a new one, and opens once more with fresh credentials after Redis refused them (a rotated ACL
 * password). The driver below is what is Redis's: node-redis opens (TCP or verified TLS, AUTH with the ACL
 * user, SELECT), never reconnects on its own (the kit does), and its errors say which failures are lost
 * connections and which refused credentials.
 */

import {
  BROKER_NETWORK_CODES,
  type ConnectionDriver,
  type Replay,
  ReusedConnection,
  type Secret,
} from '@circle-core/core';
import {
  ClientClosedError,
  ClientOfflineError,
  ConnectionTimeoutError,
  createClient,
  ErrorReply,
  type RedisClientType,
  SocketClosedUnexpectedlyError,
} from '@redis/client';
import * as z from 'zod';

/** The secret's JSON: an ACL user and its password; without `username`, the default user. */
export const RedisCredentials = z.object({
  username: z.string().min(1).optional(),
  password: z.string().min(1),
});

/** A connected node-redis client. */
export type RedisSession = RedisClientType;

export interface RedisConnectionOptions {
  host: string;
  port: number;
  /** TLS with the certificate chain and host name verified (Node's CAs plus NODE_EXTRA_CA_CERTS). */
  tls: boolean;
  database: number;
  /** The secret holding `{ username?, password }`; absent: no AUTH. */
  credentials?: Secret | undefined;
  connectTimeoutMs: number;
  /** Milliseconds left in the invocation; default the current invocation's (tests inject a clock). */
  remainingTimeMs?: () => number;
}

/** The connection cannot be used any more: closed, reset, or never opened. */
export function isConnectionLost(error: unknown): boolean {
  return (
    error instanceof SocketClosedUnexpectedlyError ||
    error instanceof ClientClosedError ||
    error instanceof ClientOfflineError ||
    error instanceof ConnectionTimeoutError ||
    BROKER_NETWORK_CODES.has(String((error as { code?: unknown } | undefined)?.code))
  );
}

/** Redis refused the credentials: a wrong or rotated password, or AUTH required and not sent. */
export function isAuthFailure(error: unknown): boolean {
  return error instanceof ErrorReply && /^(WRONGPASS|NOAUTH)\b/.test(error.message);
}

/**
 * @example
 * ```ts
 * const connection = new RedisConnection({ host: '127.0.0.1', port: 6379, tls: false, database: 0, connectTimeoutMs: 5_000 });
 * const pong = await connection.use((redis) => redis.sendCommand(['PING']), 'read');
 * ```
 */
export class RedisConnection {
  readonly #connection: ReusedConnection<RedisSession>;

  constructor(options: RedisConnectionOptions) {
    const { credentials } = options;
    const driver: ConnectionDriver<RedisSession> = {
      name: 'Redis',
      open: async (timeoutMs) => {
        const auth = credentials === undefined ? undefined : await credentials.json(RedisCredentials);
        const client: RedisSession = createClient({
          socket: {
            host: options.host,
            port: options.port,
            connectTimeout: timeoutMs,
            // The kit reopens a broken connection at the next use; node-redis must not retry on its own.
            reconnectStrategy: false,
            ...(options.tls ? { tls: true, servername: options.host, rejectUnauthorized: true } : {}),
          },
          ...(auth?.username === undefined ? {} : { username: auth.username }),
          ...(auth === undefined ? {} : { password: auth.password }),
          database: options.database,
          // A command on a broken connection fails at once instead of waiting for a reconnect.
          disableOfflineQueue: true,
        }) as RedisSession;
        // An idle connection the server closes emits 'error': without a listener it would crash the process.
        client.on('error', () => this.#connection.markBroken(client));
        client.on('end', () => this.#connection.markBroken(client));
        try {
          await client.connect();
        } catch (error) {
          client.destroy();
          throw error;
        }
        return client;
      },
      close: async (client) => {
        try {
          client.destroy();
        } catch {
          // Already closed.
        }
      },
      isConnectionLost,
      isAuthFailure: (error) => credentials !== undefined && isAuthFailure(error),
      refreshCredentials: async () => {
        await credentials?.refresh();
        return credentials !== undefined;
      },
    };
    this.#connection = new ReusedConnection(driver, {
      connectTimeoutMs: options.connectTimeoutMs,
      ...(options.remainingTimeMs === undefined ? {} : { remainingTimeMs: options.remainingTimeMs }),
    });
  }

  /** Runs `work` on the connection (see `ReusedConnection.use`); errors are node-redis's, unmapped. */
  use<T>(work: (session: RedisSession) => Promise<T>, replay: Replay): Promise<T> {
    return this.#connection.use(work, replay);
  }

  /** Closes the connection; the next use opens a new one. */
  close(): Promise<void> {
    return this.#connection.close();
  }
}
