/**
 * The one RabbitMQ connection a container keeps, on the core's connection kit: `ReusedConnection` opens
 * it within the time left, lends it to one unit of work at a time, reopens it when it broke, replays only
 * reads on a new one, and opens once more with fresh credentials after the server refused them (a rotated
 * secret). What is RabbitMQ's: one connection with two channels. The holding channel only takes
 * (basic.get) and settles (ack, nack) deliveries, and holds them until then; everything that names a
 * queue or exchange the server may refuse (publish, declare, bind, the passive checks) runs on the
 * confirm channel, which the server may close (a channel exception such as 404 or 406) without touching
 * the held deliveries, and which the next use opens again.
 */
import { randomBytes } from 'node:crypto';
import {
  BrokerSecret,
  type BrokerTlsMode,
  brokerTlsOptions,
  ConfigurationError,
  type ConnectionDriver,
  callBudget,
  type Replay,
  ReusedConnection,
  remainingTimeMs,
  type Secret,
  withDeadline,
} from '@circle-core/core';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { isAuthFailure, isConnectionLost } from './errors.ts';

/** One open connection and its two channels. */
export interface Live {
  readonly connection: ChannelModel;
  /**
   * The confirm channel of publishes, declares, binds and passive checks: the server closes it when one
   * of them names something missing or refused, and the next use opens a new one on this connection.
   */
  channel: ConfirmChannel;
  /** The channel of basic.get, ack and nack only, so that no refusal closes it under held deliveries. */
  readonly holding: Channel;
  /** Names the holding channel in receipts: a receipt of another channel has expired. */
  readonly id: string;
  /** Delivery tags the holding channel received and has not settled. */
  readonly held: Set<number>;
  /** Message ids the server returned as unroutable (mandatory publishes), until their confirm is read. */
  readonly returned: Set<string>;
  /** Why the server closed `channel`, when it did (cleared when the next use opens a new one). */
  closedBy?: Error;
  /** `channel` closed: the next use opens a new one. */
  channelClosed?: boolean;
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
  readonly #options: RabbitmqConnectionOptions;

  constructor(options: RabbitmqConnectionOptions) {
    this.#options = options;
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
   * confirm channel the server closed under the work (a missing queue or exchange) fails the work with
   * the server's reason, and the next use opens a new channel on the same connection: the holding
   * channel and its deliveries stay.
   */
  async use<T>(work: (live: Live) => Promise<T>, replay: Replay): Promise<T> {
    return this.#connection.use(async (live) => {
      if (live.channelClosed === true) await this.#reopen(live);
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

  /** A new confirm channel in place of the one the server closed. */
  async #reopen(live: Live): Promise<void> {
    const remaining = (this.#options.remainingTimeMs ?? remainingTimeMs)();
    const timeoutMs = callBudget(this.#options.connectTimeoutMs, 'Opening a RabbitMQ channel', remaining);
    const opening = live.connection.createConfirmChannel();
    const channel = await withDeadline(opening, timeoutMs, 'Opening a RabbitMQ channel', () => {
      void opening.then((late) => late.close()).catch(() => undefined);
    });
    live.channel = channel;
    delete live.closedBy;
    live.channelClosed = false;
    live.returned.clear();
    this.#listen(live, channel);
  }

  /** The confirm channel's events, while it is the live one. */
  #listen(live: Live, channel: ConfirmChannel): void {
    // Without listeners an error the server sends would crash the process.
    channel.on('error', (error: Error) => {
      if (live.channel === channel) live.closedBy = error;
    });
    channel.on('close', () => {
      if (live.channel === channel) live.channelClosed = true;
    });
    // Only this connector publishes on this channel, always with a message id.
    channel.on('return', (message) => live.returned.add(message.properties.messageId));
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
      const [channel, holding] = await withDeadline(
        Promise.all([connection.createConfirmChannel(), connection.createChannel()]),
        timeoutMs,
        'Opening the RabbitMQ channels',
      );
      const live: Live = {
        connection,
        channel,
        holding,
        id: randomBytes(6).toString('hex'),
        held: new Set(),
        returned: new Set(),
      };
      // Without listeners an error the server sends while idle would crash the process.
      connection.on('error', () => this.#connection.markBroken(live));
      connection.on('close', () => this.#connection.markBroken(live));
      this.#listen(live, channel);
      // The holding channel closed: the server handed its deliveries back, so its receipts expired. The
      // next use opens a new connection (with a new receipt id); the error itself reaches the work.
      holding.on('error', () => undefined);
      holding.on('close', () => {
        this.#connection.markBroken(live);
        live.held.clear();
      });
      return live;
    } catch (error) {
      await connection.close().catch(() => undefined);
      throw error;
    }
  }
}
