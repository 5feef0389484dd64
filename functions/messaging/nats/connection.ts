/**
 * The one NATS connection a container keeps, on the core's connection kit: `ReusedConnection` opens it
 * within the time left, lends it to one unit of work at a time, reopens it when it closed, replays only
 * reads on a new one, and opens once more with fresh credentials after an authorization violation (a
 * rotated secret). The client's own reconnect is off: the kit decides when to open again.
 */
import {
  BrokerSecret,
  type BrokerTlsMode,
  brokerTlsOptions,
  ConfigurationError,
  type ConnectionDriver,
  type Replay,
  ReusedConnection,
  type Secret,
  withDeadline,
} from '@circle-core/core';
import { type ConnectionOptions, connect, credsAuthenticator, type NatsConnection } from 'nats';
import { isAuthFailure, isConnectionLost } from './errors.ts';

export interface NatsConnectionOptions {
  host: string;
  port: number;
  tls: BrokerTlsMode;
  /** The secret holding `{ username, password }`, `{ token }`, `{ creds }` or `{}`. */
  credentials: Secret;
  connectTimeoutMs: number;
  /** Milliseconds left in the invocation; default the current invocation's (tests inject a clock). */
  remainingTimeMs?: () => number;
}

/** How the secret authenticates: exactly one way, or none. */
function authOptions(secret: BrokerSecret): Partial<ConnectionOptions> {
  const ways = [
    secret.username !== undefined || secret.password !== undefined,
    secret.token !== undefined,
    secret.creds !== undefined,
  ];
  if (ways.filter(Boolean).length > 1) {
    throw new ConfigurationError(
      'The secret named by NATS_SECRET holds more than one way to authenticate: keep one of username/password, token and creds',
    );
  }
  if (secret.creds !== undefined)
    return { authenticator: credsAuthenticator(new TextEncoder().encode(secret.creds)) };
  if (secret.token !== undefined) return { token: secret.token };
  if (secret.username !== undefined || secret.password !== undefined) {
    if (secret.username === undefined || secret.password === undefined) {
      throw new ConfigurationError('The secret named by NATS_SECRET needs both "username" and "password"');
    }
    return { user: secret.username, pass: secret.password };
  }
  return {};
}

/**
 * The error of work whose connection closed under it, as a lost connection (code CONNECTION_CLOSED, the
 * client's own error as its cause); any other error unchanged.
 */
export function closedUnder(nc: NatsConnection, error: unknown): unknown {
  if (!nc.isClosed() || isConnectionLost(error)) return error;
  return Object.assign(new Error('The NATS connection closed under the call', { cause: error }), {
    code: 'CONNECTION_CLOSED',
  });
}

/**
 * @example
 * ```ts
 * const connection = new NatsConnection({ host: '127.0.0.1', port: 4222, tls: 'disable', credentials,
 *   connectTimeoutMs: 5_000 });
 * await connection.use((nc) => nc.flush(), 'read');
 * ```
 */
export class NatsConnectionHolder {
  readonly #connection: ReusedConnection<NatsConnection>;

  constructor(options: NatsConnectionOptions) {
    const driver: ConnectionDriver<NatsConnection> = {
      name: 'NATS',
      open: (timeoutMs) => this.#open(options, timeoutMs),
      close: async (nc) => {
        await nc.close().catch(() => undefined);
      },
      isConnectionLost,
      isAuthFailure,
      refreshCredentials: async () => {
        await options.credentials.refresh();
        return true;
      },
    };
    this.#connection = new ReusedConnection(driver, {
      connectTimeoutMs: options.connectTimeoutMs,
      ...(options.remainingTimeMs === undefined ? {} : { remainingTimeMs: options.remainingTimeMs }),
    });
  }

  /**
   * Runs `work` on the connection (see `ReusedConnection.use`); errors are the client's, unmapped, except
   * that a failure of a connection that closed under the work reads as CONNECTION_CLOSED: the client
   * rejects the requests it still waited on with TIMEOUT then, and the kit must see a lost connection to
   * open a new one (and replay a read) rather than keep a closed one.
   */
  use<T>(work: (nc: NatsConnection) => Promise<T>, replay: Replay): Promise<T> {
    return this.#connection.use(async (nc) => {
      try {
        return await work(nc);
      } catch (error) {
        throw closedUnder(nc, error);
      }
    }, replay);
  }

  /** Drops a connection that closed under work done outside `use` (the next use opens a new one). */
  discard(nc: NatsConnection): void {
    this.#connection.discard(nc);
  }

  /** Closes the connection; the next use opens a new one. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  async #open(options: NatsConnectionOptions, timeoutMs: number): Promise<NatsConnection> {
    const secret = await options.credentials.json(BrokerSecret);
    const tls = brokerTlsOptions(options.tls, options.host, secret, 'NATS_SECRET');
    const opening = connect({
      servers: `${options.host}:${options.port}`,
      ...authOptions(secret),
      tls:
        tls === undefined
          ? null
          : { ...(tls.cert === undefined ? {} : { cert: String(tls.cert), key: String(tls.key) }) },
      timeout: timeoutMs,
      reconnect: false,
      maxReconnectAttempts: 0,
      name: 'circle-core',
    });
    const nc = await withDeadline(opening, timeoutMs + 100, 'Connecting to NATS', () => {
      void opening.then((late) => late.close()).catch(() => undefined);
    });
    // The kit opens a new connection at the next use once this one closed (server gone, idle kill).
    void nc.closed().then(() => this.#connection.markBroken(nc));
    return nc;
  }
}
