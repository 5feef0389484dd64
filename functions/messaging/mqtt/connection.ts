/**
 * The one MQTT connection a container keeps, on the core's connection kit: `ReusedConnection` opens it
 * within the time left, lends it to one unit of work at a time, reopens it when it closed, and connects
 * once more with fresh credentials after the broker refused them (a rotated secret). The client's own
 * reconnect is off; the session is clean, so a broken connection leaves nothing behind.
 */
import { randomBytes } from 'node:crypto';
import {
  BrokerSecret,
  type BrokerTlsMode,
  brokerTlsOptions,
  type ConnectionDriver,
  type Replay,
  ReusedConnection,
  type Secret,
  withDeadline,
} from '@circle-core/core';
import mqtt, { type MqttClient } from 'mqtt';
import { isAuthFailure, isConnectionLost } from './errors.ts';

export interface MqttConnectionOptions {
  host: string;
  port: number;
  tls: BrokerTlsMode;
  protocolVersion: 4 | 5;
  clientIdPrefix: string;
  /** The secret holding `{ username, password }`, a client certificate, or `{}`. */
  credentials: Secret;
  connectTimeoutMs: number;
  /** Milliseconds left in the invocation; default the current invocation's (tests inject a clock). */
  remainingTimeMs?: () => number;
}

/**
 * @example
 * ```ts
 * const connection = new MqttConnection({ host: '127.0.0.1', port: 1883, tls: 'disable', protocolVersion: 5,
 *   clientIdPrefix: 'circle-core', credentials, connectTimeoutMs: 5_000 });
 * await connection.use((client) => client.publishAsync('a/b', 'hi', { qos: 1 }), 'write');
 * ```
 */
export class MqttConnection {
  readonly #options: MqttConnectionOptions;
  readonly #connection: ReusedConnection<MqttClient>;

  constructor(options: MqttConnectionOptions) {
    this.#options = options;
    this.#connection = this.#reused();
  }

  /** Runs `work` on the connection (see `ReusedConnection.use`); errors are the client's, unmapped. */
  use<T>(work: (client: MqttClient) => Promise<T>, replay: Replay): Promise<T> {
    return this.#connection.use(work, replay);
  }

  /**
   * Runs `work` on a connection of its own, opened for it and closed after (a replayed read opens one
   * more): for a subscription that waits. On the shared connection it would hold up every other
   * invocation in flight for its whole wait (Lambda Managed Instances run many at once in one process,
   * https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html), and two
   * subscriptions to one filter on one connection are one subscription: the first to unsubscribe would
   * end the other's, and each would see the messages of the other's filter.
   */
  async alone<T>(work: (client: MqttClient) => Promise<T>, replay: Replay): Promise<T> {
    const own = this.#reused();
    try {
      return await own.use(work, replay);
    } finally {
      await own.close();
    }
  }

  /** Drops a connection that must not be used again (an acknowledgement it owes came too late). */
  discard(client: MqttClient): void {
    this.#connection.discard(client);
  }

  /** Closes the connection; the next use opens a new one. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  #reused(): ReusedConnection<MqttClient> {
    const options = this.#options;
    const driver: ConnectionDriver<MqttClient> = {
      name: 'MQTT',
      open: (timeoutMs) => this.#open(options, timeoutMs, (client) => reused.markBroken(client)),
      close: async (client) => {
        await client.endAsync(true).catch(() => undefined);
      },
      isConnectionLost,
      isAuthFailure,
      refreshCredentials: async () => {
        await options.credentials.refresh();
        return true;
      },
    };
    const reused = new ReusedConnection(driver, {
      connectTimeoutMs: options.connectTimeoutMs,
      ...(options.remainingTimeMs === undefined ? {} : { remainingTimeMs: options.remainingTimeMs }),
    });
    return reused;
  }

  async #open(
    options: MqttConnectionOptions,
    timeoutMs: number,
    markBroken: (client: MqttClient) => void,
  ): Promise<MqttClient> {
    const secret = await options.credentials.json(BrokerSecret);
    const tls = brokerTlsOptions(options.tls, options.host, secret, 'MQTT_SECRET');
    const opening = mqtt.connectAsync({
      host: options.host,
      port: options.port,
      protocol: tls === undefined ? 'mqtt' : 'mqtts',
      protocolVersion: options.protocolVersion,
      clientId: `${options.clientIdPrefix}-${randomBytes(6).toString('hex')}`,
      clean: true,
      reconnectPeriod: 0,
      connectTimeout: timeoutMs,
      ...(secret.username === undefined ? {} : { username: secret.username }),
      ...(secret.password === undefined ? {} : { password: secret.password }),
      ...(tls === undefined
        ? {}
        : {
            rejectUnauthorized: true,
            ...(tls.servername === undefined ? {} : { servername: tls.servername }),
            ...(tls.cert === undefined ? {} : { cert: tls.cert as string, key: tls.key as string }),
          }),
    });
    const client = await withDeadline(opening, timeoutMs + 100, 'Connecting to MQTT', () => {
      void opening.then((late) => late.endAsync(true)).catch(() => undefined);
    });
    // Without listeners an error the broker sends while idle would crash the process.
    client.on('error', () => markBroken(client));
    client.on('close', () => markBroken(client));
    return client;
  }
}

/**
 * Rejects with a lost connection once `client` closes (at once when it is closed already): the client
 * keeps a publish or subscribe it sent on a connection that broke for a reconnect that never comes
 * (reconnect is off), so without this the call would wait out its whole timeout. `stop` removes the
 * listener.
 */
export function whenClosed(client: MqttClient): { closed: Promise<never>; stop(): void } {
  let stop = (): void => undefined;
  const closed = new Promise<never>((_, reject) => {
    // The message reads as a lost connection (errors.ts: isConnectionLost), without a socket code it never had.
    const onClose = (): void => reject(new Error('Connection closed before the broker answered'));
    if (!client.connected) {
      onClose();
      return;
    }
    client.once('close', onClose);
    stop = () => client.off('close', onClose);
  });
  closed.catch(() => undefined);
  return { closed, stop: () => stop() };
}
