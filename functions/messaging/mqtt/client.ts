/**
 * The MQTT connector's calls, as a {@link MessagePublisher}: publishes at QoS 0, 1 or 2 (answered once
 * the broker acknowledged them, PUBACK or PUBCOMP), retained or not, with MQTT 5 user properties as
 * attributes; a bounded subscribe-and-collect; clearing a retained message. MQTT keeps no messages for a
 * reader, so the interface's pull is not offered (501). Each call is one unit of work on the reused
 * connection, its failure mapped once (`errors.ts`).
 */
import {
  type BrokerTlsMode,
  callBudget,
  defineSecret,
  parseInput,
  remainingTimeMs,
  ValidationError,
  withDeadline,
} from '@circle-core/core';
import type { IClientPublishOptions, MqttClient } from 'mqtt';
import {
  batchOutput,
  checkBatch,
  checkMessage,
  checkReceive,
  entryFailure,
  type MessagePublisher,
  type MessagePublisherCapability,
  type MessagePublisherLimits,
} from '#shared/interfaces/message-publisher.ts';
import type {
  PublishBatchOutput,
  PublishMessage,
  PublishOutput,
  ReceiveInput,
  ReceiveOutput,
  SettleInput,
  SettleOutput,
} from '#shared/models/message-publisher.ts';
import { MqttConnection, whenClosed } from './connection.ts';
import { toMqttError } from './errors.ts';
import {
  ClearRetainedInput,
  type CollectedMessage,
  CollectMessagesInput,
  type CollectMessagesOutput,
  type MqttMessageOptions,
  MqttPublishBatchInput,
  MqttPublishInput,
  wildcardsInPlace,
} from './models.ts';

export interface MqttClientOptions {
  host: string;
  port: number;
  tls: BrokerTlsMode;
  /** 5: user properties carry attributes; 4: MQTT 3.1.1, no attributes. */
  protocolVersion: 4 | 5;
  /** Name or ARN of the secret (or `{}`). */
  secretName: string;
  secretMaxAgeSeconds: number;
  /** Topic of a publish without a destination. */
  topic: string;
  /** QoS of a publish that names none. */
  qos: 0 | 1 | 2;
  clientIdPrefix: string;
  connectTimeoutMs: number;
  /** One call's own bound; the invocation's time left may cut it shorter. */
  timeoutMs: number;
  /** Milliseconds left in the invocation (tests inject a clock). */
  remainingTimeMs?: () => number;
}

/** MQTT brokers take up to 256 MiB; the connector keeps to what a Lambda answer can carry. */
export const LIMITS: MessagePublisherLimits = {
  maxBatchEntries: 100,
  maxMessageBytes: 1_048_576,
  maxBatchBytes: 5_242_880,
  maxReceive: 0,
};

const NAME = 'MQTT';

/** What a message with MQTT's own fields looks like to the client. */
type MqttMessage = PublishMessage & MqttMessageOptions;

/**
 * What an MQTT UTF-8 string cannot carry (MQTT 5.0 section 1.5.4): the control characters U+0000-U+001F
 * and U+007F-U+009F, unpaired surrogates (not UTF-8 at all) and the Unicode non-characters. The broker
 * may close the connection on them, and Mosquitto does, without an acknowledgement.
 */
const NOT_MQTT_UTF8 = /[\p{Cc}\p{Cs}\p{Noncharacter_Code_Point}]/u;

/**
 * Refuses, before anything is sent, the attributes an MQTT 5 user property cannot carry ({@link
 * NOT_MQTT_UTF8}): sent, Mosquitto drops the connection and the publish is never acknowledged. Other
 * queues take line breaks in an attribute, so the shared schema does not refuse them.
 */
function checkUserProperties(message: PublishMessage, pointer = ''): void {
  for (const [name, value] of Object.entries(message.attributes ?? {})) {
    if (NOT_MQTT_UTF8.test(name) || NOT_MQTT_UTF8.test(value)) {
      const field = `${pointer}/attributes/${name}`;
      const problem =
        'expected no control character (such as a line break), unpaired surrogate or non-character: an MQTT 5 user property cannot carry one';
      throw new ValidationError(`Invalid input: ${field}: ${problem}`, [
        { pointer: field, message: problem },
      ]);
    }
  }
}

/** An MQTT UTF-8 string (a topic name or filter) holds at most 65 535 bytes (MQTT 5.0 1.5.4, 3.1.1 1.5.3). */
const MAX_TOPIC_BYTES = 65_535;

/**
 * A topic to publish to, or with `kind: 'filter'` a topic filter to subscribe to (MQTT 5.0 4.7): nothing an
 * MQTT string cannot carry ({@link NOT_MQTT_UTF8}, NUL included), at most 65 535 bytes, not empty; a topic
 * no wildcards, a filter `+` only as a whole level and `#` only as the whole last level. Sent, a control
 * character or non-character makes Mosquitto drop the connection, and an unpaired surrogate would be sent
 * as U+FFFD, another filter.
 */
function checkTopic(topic: string, pointer: string, kind: 'topic' | 'filter' = 'topic'): string {
  const bytes = Buffer.byteLength(topic);
  if (bytes > MAX_TOPIC_BYTES) {
    const what = kind === 'filter' ? 'topic filter' : 'topic';
    throw new ValidationError(`Name an MQTT ${what} of at most ${MAX_TOPIC_BYTES} bytes`, [
      { pointer, message: `expected a ${what} of at most ${MAX_TOPIC_BYTES} bytes of UTF-8, got ${bytes}` },
    ]);
  }
  const wildcards = kind === 'filter' ? !wildcardsInPlace(topic) : /[+#]/.test(topic);
  if (topic === '' || wildcards || NOT_MQTT_UTF8.test(topic)) {
    const [title, message] =
      kind === 'filter'
        ? [
            'Name an MQTT topic filter with + and # as whole levels (# the last) and no control characters',
            'expected a topic filter of at most 65535 bytes with + only as a whole level, # only as the whole last level, and no control characters, unpaired surrogates or non-characters',
          ]
        : [
            'Name an MQTT topic without wildcards (+, #) or control characters (or set MQTT_TOPIC)',
            'expected a topic without +, #, control characters, unpaired surrogates or non-characters',
          ];
    throw new ValidationError(title, [{ pointer, message }]);
  }
  return topic;
}

/**
 * @example
 * ```ts
 * const mqtt = MqttPublisher.create({ host: '127.0.0.1', port: 1883, tls: 'disable', protocolVersion: 5,
 *   secretName: 'circle-core/dev/mqtt/credentials', secretMaxAgeSeconds: 300, topic: 'circle/events', qos: 1,
 *   clientIdPrefix: 'circle-core', connectTimeoutMs: 5_000, timeoutMs: 5_000 });
 * await mqtt.publish({ destination: 'sensors/7/temperature', body: '21.5', retain: true });
 * ```
 */
export class MqttPublisher implements MessagePublisher {
  readonly capabilities: ReadonlySet<MessagePublisherCapability>;
  readonly limits = LIMITS;
  readonly #connection: MqttConnection;
  readonly #options: MqttClientOptions;

  constructor(connection: MqttConnection, options: MqttClientOptions) {
    this.#connection = connection;
    this.#options = options;
    this.capabilities = new Set<MessagePublisherCapability>(
      options.protocolVersion === 5 ? ['attributes'] : [],
    );
  }

  /** Builds the client; nothing connects until the first call. */
  static create(options: MqttClientOptions): MqttPublisher {
    const credentials = defineSecret(options.secretName, { maxAgeSeconds: options.secretMaxAgeSeconds });
    const connection = new MqttConnection({
      host: options.host,
      port: options.port,
      tls: options.tls,
      protocolVersion: options.protocolVersion,
      clientIdPrefix: options.clientIdPrefix,
      credentials,
      connectTimeoutMs: options.connectTimeoutMs,
      ...(options.remainingTimeMs === undefined ? {} : { remainingTimeMs: options.remainingTimeMs }),
    });
    return new MqttPublisher(connection, options);
  }

  /** Publishes one message and resolves once the broker acknowledged it (at QoS 0: once it was sent). */
  async publish(raw: MqttPublishInput): Promise<PublishOutput> {
    const { destination, ...message } = parseInput(MqttPublishInput, raw);
    checkMessage(this, message, NAME);
    checkUserProperties(message);
    const topic = checkTopic(destination ?? this.#options.topic, '/destination');
    const [outcome] = await this.#publishAll(topic, [message]);
    if (outcome !== undefined && !outcome.ok) throw toMqttError(outcome.cause, 'publish');
    return {};
  }

  /** Publishes the entries in order on the one connection; a result per entry. */
  async publishBatch(raw: MqttPublishBatchInput): Promise<PublishBatchOutput> {
    const input = parseInput(MqttPublishBatchInput, raw);
    checkBatch(this, input.entries, NAME);
    input.entries.forEach((entry, index) => {
      checkUserProperties(entry, `/entries/${index}`);
    });
    const topic = checkTopic(input.destination ?? this.#options.topic, '/destination');
    const outcomes = await this.#publishAll(topic, input.entries);
    return batchOutput(
      outcomes.map((outcome, index) =>
        outcome.ok
          ? { index, ok: true as const }
          : { index, ok: false as const, error: entryFailure(toMqttError(outcome.cause, 'publish')) },
      ),
    );
  }

  /** MQTT keeps no messages for a reader: use collect-messages (a bounded subscription) instead. */
  async receive(raw?: ReceiveInput): Promise<ReceiveOutput> {
    checkReceive(this, raw?.maxMessages, NAME);
    return { messages: [] };
  }

  /** Not offered: MQTT has no pull to settle. */
  async acknowledge(_raw: SettleInput): Promise<SettleOutput> {
    checkReceive(this, undefined, NAME);
    return { results: [] };
  }

  /** Not offered: MQTT has no pull to settle. */
  async release(_raw: SettleInput): Promise<SettleOutput> {
    checkReceive(this, undefined, NAME);
    return { results: [] };
  }

  /**
   * Subscribes to a topic filter, collects what arrives (retained messages first) until `maxMessages`
   * came or the wait and the time left ran out, and unsubscribes.
   */
  async collect(raw: CollectMessagesInput): Promise<CollectMessagesOutput> {
    const input = parseInput(CollectMessagesInput, raw);
    checkTopic(input.topicFilter, '/topicFilter', 'filter');
    const budget = callBudget(
      input.waitTimeMs + this.#options.timeoutMs,
      `${NAME} collect`,
      this.#remaining(),
    );
    // One end for the wait, so that a collect started over on a new connection ends when the first would.
    const waitEnds = Date.now() + Math.min(input.waitTimeMs, budget);
    return this.#run(
      'collect',
      'read',
      async (client) => {
        const messages: CollectedMessage[] = [];
        let done = (): void => undefined;
        const full = new Promise<void>((resolve) => {
          done = resolve;
        });
        const onMessage = (
          topic: string,
          payload: Buffer,
          packet: {
            retain?: boolean;
            qos?: number;
            properties?: { userProperties?: Record<string, string | string[]> };
          },
        ): void => {
          if (messages.length >= input.maxMessages) return;
          const attributes: Record<string, string> = {};
          for (const [name, value] of Object.entries(packet.properties?.userProperties ?? {})) {
            attributes[name] = Array.isArray(value) ? value.join(',') : value;
          }
          messages.push({
            topic,
            body: payload.toString('utf8'),
            retained: packet.retain === true,
            qos: packet.qos ?? 0,
            attributes,
          });
          if (messages.length >= input.maxMessages) done();
        };
        client.on('message', onMessage);
        // A connection that breaks under the wait ends it at once: the read starts over on a new one.
        const lost = whenClosed(client);
        try {
          const granted = await withDeadline(
            Promise.race([client.subscribeAsync(input.topicFilter, { qos: input.qos }), lost.closed]),
            budget,
            `${NAME} subscribe`,
            () => client.end(true),
          );
          if (granted.some((grant) => grant.qos === 128)) {
            throw Object.assign(new Error('subscription refused'), { code: 135 });
          }
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            full,
            lost.closed,
            new Promise<void>((resolve) => {
              timer = setTimeout(resolve, Math.max(0, waitEnds - Date.now()));
            }),
          ]);
          clearTimeout(timer);
        } finally {
          lost.stop();
          client.off('message', onMessage);
        }
        // The connection is this collect's own and is closed next: nothing to unsubscribe.
        return { messages };
      },
      'alone',
    );
  }

  /** Removes the retained message of a topic (an empty retained publish, as MQTT defines it). */
  async clearRetained(raw: ClearRetainedInput): Promise<{ topic: string; cleared: true }> {
    const input = parseInput(ClearRetainedInput, raw);
    const topic = checkTopic(input.topic, '/topic');
    await this.#run('clear-retained', 'write', async (client) => {
      const lost = whenClosed(client);
      try {
        await withDeadline(
          Promise.race([client.publishAsync(topic, '', { qos: 1, retain: true }), lost.closed]),
          this.#budget('clear-retained'),
          `${NAME} PUBACK`,
          () => this.#connection.discard(client),
        );
      } finally {
        lost.stop();
      }
    });
    return { topic, cleared: true };
  }

  /** Opens the connection if needed, for `health`. */
  async ping(): Promise<void> {
    await this.#run('ping', 'read', async (client) => {
      if (!client.connected) throw Object.assign(new Error('Connection closed'), { code: 'ECONNRESET' });
    });
  }

  /** Opens the connection during init, so the first call finds it ready. */
  async warmUp(): Promise<void> {
    await this.ping().catch(() => undefined);
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  #remaining(): number {
    return (this.#options.remainingTimeMs ?? remainingTimeMs)();
  }

  #budget(what: string): number {
    return callBudget(this.#options.timeoutMs, `${NAME} ${what}`, this.#remaining());
  }

  /** Publishes in order; every acknowledgement is awaited within one budget. Never replayed. */
  #publishAll(
    topic: string,
    messages: readonly MqttMessage[],
  ): Promise<({ ok: true } | { ok: false; cause: unknown })[]> {
    return this.#run('publish', 'write', async (client) => {
      const timeoutMs = this.#budget('publish');
      const sends = messages.map(async (message) => {
        const options: IClientPublishOptions = {
          qos: message.qos ?? this.#options.qos,
          retain: message.retain ?? false,
          ...(message.attributes === undefined || this.#options.protocolVersion !== 5
            ? {}
            : { properties: { userProperties: message.attributes } }),
        };
        try {
          await client.publishAsync(topic, message.body, options);
          return { ok: true as const };
        } catch (cause) {
          return { ok: false as const, cause };
        }
      });
      const lost = whenClosed(client);
      try {
        return await withDeadline(
          Promise.race([Promise.all(sends), lost.closed]),
          timeoutMs,
          `${NAME} acknowledgements`,
          () =>
            // A late PUBACK must not be read as the answer to the next publish.
            this.#connection.discard(client),
        );
      } finally {
        lost.stop();
      }
    });
  }

  /** Runs `work` on the shared connection, or with `'alone'` on one of its own (`MqttConnection.alone`). */
  async #run<T>(
    operation: string,
    replay: 'read' | 'write',
    work: (client: MqttClient) => Promise<T>,
    connection: 'shared' | 'alone' = 'shared',
  ): Promise<T> {
    try {
      return await (connection === 'alone'
        ? this.#connection.alone(work, replay)
        : this.#connection.use(work, replay));
    } catch (error) {
      throw toMqttError(error, operation);
    }
  }
}
