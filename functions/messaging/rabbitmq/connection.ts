/**
 * The one RabbitMQ connection a container keeps, on the core's connection kit: `ReusedConnection` opens
 * it within the time left, lends it to one unit of work at a time, reopens it when it broke, replays only
 * reads on a new one, and opens once more with fresh credentials after the server refused them (a rotated
 * secret). What is RabbitMQ's: one connection with one confirm channel, the messages the server returned
 * as unroutable, and the deliveries this channel holds until they are acknowledged or released.
 */
import { randomBytes } from 'node:crypto';
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
import amqp, { type ChannelModel, type ConfirmChannel } from 'amqplib';
import { isAuthFailure, isConnectionLost } from './errors.ts';

/** One open connection and its confirm channel. */
export interface Live {
  readonly connection: ChannelModel;
  readonly channel: ConfirmChannel;
  /** Names this channel in receipts: a receipt of another channel has expired. */
  readonly id: string;
  /** Delivery tags this channel received and has not settled. */
  readonly held: Set<number>;
  /** Message ids the server returned as unroutable (mandatory publishes), until their confirm is read. */
  readonly returned: Set<string>;
  /** Why the server closed the channel, when it did. */
  closedBy?: Error;
}

export interface RabbitmqConnectionOptions {
  host: string;
  port: number;
  tls: BrokerTlsMode;
  vhost: string;
  /** The secret holding `{ username, password, vhost? }`. */
  credentials: Secret;
  connectTimeoutMs: number;
  /** Milliseconds left in the invocation; default the current invocation's (tests inject a clock). */
  remainingTimeMs?: () => number;
}

/** Heartbeats let the server drop the connection of a frozen container, handing its deliveries back. */
const HEARTBEAT_SECONDS = 30;

/**
 * @example
 * ```ts
 * const connection = new RabbitmqConnection({ host: '127.0.0.1', port: 5672, tls: 'disable', vhost: '/',
 *   credentials, connectTimeoutMs: 5_000 });
 * await connection.use((live) => live.channel.checkQueue('orders'), 'read');
 * ```
 */
export class RabbitmqConnection {
  readonly #connection: ReusedConnection<Live>;

  constructor(options: RabbitmqConnectionOptions) {
    const driver: ConnectionDriver<Live> = {
      name: 'RabbitMQ',
      open: (timeoutMs) => this.#open(options, timeoutMs),
      close: async (live) => {
        await live.connection.close().catch(() => undefined);
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
   * Runs `work` on the connection (see `ReusedConnection.use`); errors are the driver's, unmapped. A
   * channel the server closed under the work (a missing queue or exchange) fails the work with the
   * server's reason, and the next use opens a new connection.
   */
  async use<T>(work: (live: Live) => Promise<T>, replay: Replay): Promise<T> {
    return this.#connection.use(async (live) => {
      try {
        const result = await work(live);
        if (live.closedBy !== undefined) throw live.closedBy;
        return result;
      } catch (error) {
        throw live.closedBy ?? error;
      }
    }, replay);
  }

  /** Drops a connection that must not be used again (an answer it owes came too late). */
  discard(live: Live): void {
    this.#connection.discard(live);
  }

  /** Closes the connection; the next use opens a new one. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  async #open(options: RabbitmqConnectionOptions, timeoutMs: number): Promise<Live> {
    const secret = await options.credentials.json(BrokerSecret);
    if (secret.username === undefined || secret.password === undefined) {
      throw new ConfigurationError('The secret named by RABBITMQ_SECRET needs "username" and "password"');
    }
    const tls = brokerTlsOptions(options.tls, options.host, secret, 'RABBITMQ_SECRET');
    const opening = amqp.connect(
      {
        protocol: tls === undefined ? 'amqp' : 'amqps',
        hostname: options.host,
        port: options.port,
        username: secret.username,
        password: secret.password,
        vhost: secret.vhost ?? options.vhost,
        heartbeat: HEARTBEAT_SECONDS,
      },
      { ...tls, timeout: timeoutMs },
    );
    const connection = await withDeadline(opening, timeoutMs, 'Connecting to RabbitMQ', () => {
      void opening.then((late) => late.close()).catch(() => undefined);
    });
    try {
      const channel = await withDeadline(
        connection.createConfirmChannel(),
        timeoutMs,
        'Opening a RabbitMQ channel',
      );
      const live: Live = {
        connection,
        channel,
        id: randomBytes(6).toString('hex'),
        held: new Set(),
        returned: new Set(),
      };
      // Without listeners an error the server sends while idle would crash the process.
      connection.on('error', () => this.#connection.markBroken(live));
      connection.on('close', () => this.#connection.markBroken(live));
      channel.on('error', (error: Error) => {
        live.closedBy = error;
      });
      channel.on('close', () => {
        this.#connection.markBroken(live);
        live.held.clear();
      });
      // Only this connector publishes on this channel, always with a message id.
      channel.on('return', (message) => live.returned.add(message.properties.messageId));
      return live;
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }
}
