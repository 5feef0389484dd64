/**
 * AWS IoT Core as a {@link MessagePublisher}: `publish` through the data plane's Publish (QoS 1, the
 * attributes as MQTT 5 user properties), a batch as one Publish per entry (the data plane has no batch
 * call) with a result per entry, no pull (AWS IoT pushes to subscribers, so receive, acknowledge and
 * release answer NotSupportedError). The shared interface for library use and its conformance suite; the
 * connector's own `publish-message` adds QoS, retain and the other MQTT 5 properties.
 */
import { ForbiddenError, parseInput } from '@circle-core/core';
import { refuseCapability } from '#shared/interfaces/capabilities.ts';
import {
  batchOutput,
  checkBatch,
  checkMessage,
  entryFailure,
  type MessagePublisher,
  type MessagePublisherCapability,
  type MessagePublisherLimits,
} from '#shared/interfaces/message-publisher.ts';
import {
  PublishBatchInput,
  type PublishBatchOutput,
  type PublishEntryResult,
  PublishInput,
  type PublishMessage,
  type PublishOutput,
  type ReceiveInput,
  type ReceiveOutput,
  type SettleInput,
  type SettleOutput,
} from '#shared/models/message-publisher.ts';
import { checkTopic, type IotCoreClient } from './client.ts';

const NAME = 'AWS IoT Core';
/** AWS IoT's 128 KB message limit; a "batch" is at most 10 Publish calls in a row. */
export const IOT_LIMITS: MessagePublisherLimits = {
  maxBatchEntries: 10,
  maxMessageBytes: 131_072,
  maxBatchBytes: 1_310_720,
  maxReceive: 0,
};

/**
 * Publishes to the topics under one prefix (default `devices/`, what the role allows).
 *
 * @example
 * ```ts
 * const publisher = new IotTopicPublisher(await IotCoreClient.create(options), { topic: 'devices/sensor-42/commands' });
 * await publisher.publish({ body: '{"command":"reboot"}', attributes: { origin: 'ops' } });
 * ```
 */
export class IotTopicPublisher implements MessagePublisher {
  readonly capabilities: ReadonlySet<MessagePublisherCapability> = new Set(['attributes']);
  readonly limits = IOT_LIMITS;
  readonly #client: IotCoreClient;
  readonly #topic: string;
  readonly #prefix: string;

  constructor(client: IotCoreClient, options: { topic: string; prefix?: string }) {
    this.#client = client;
    this.#topic = options.topic;
    this.#prefix = options.prefix ?? 'devices/';
  }

  /** Publishes one message with QoS 1: it resolves once AWS IoT accepted it. */
  async publish(raw: PublishInput): Promise<PublishOutput> {
    const { destination, ...message } = parseInput(PublishInput, raw);
    checkMessage(this, message, NAME);
    await this.#send(this.#destination(destination), message);
    return {};
  }

  /** One Publish per entry, in order; an entry AWS IoT refuses fails alone. */
  async publishBatch(raw: PublishBatchInput): Promise<PublishBatchOutput> {
    const input = parseInput(PublishBatchInput, raw);
    checkBatch(this, input.entries, NAME);
    const topic = this.#destination(input.destination);
    const results: PublishEntryResult[] = [];
    for (const [index, entry] of input.entries.entries()) {
      try {
        await this.#send(topic, entry);
        results.push({ index, ok: true });
      } catch (error) {
        results.push({ index, ok: false, error: entryFailure(error) });
      }
    }
    return batchOutput(results);
  }

  /** AWS IoT keeps nothing for a reader: NotSupportedError (501). */
  async receive(_raw: ReceiveInput = {}): Promise<ReceiveOutput> {
    return refuseCapability(this, 'pull', NAME);
  }

  /** AWS IoT keeps nothing for a reader: NotSupportedError (501). */
  async acknowledge(_raw: SettleInput): Promise<SettleOutput> {
    return refuseCapability(this, 'pull', NAME);
  }

  /** AWS IoT keeps nothing for a reader: NotSupportedError (501). */
  async release(_raw: SettleInput): Promise<SettleOutput> {
    return refuseCapability(this, 'pull', NAME);
  }

  #destination(requested: string | undefined): string {
    const topic = requested ?? this.#topic;
    if (!topic.startsWith(this.#prefix)) {
      throw new ForbiddenError(`Topic "${topic}" is outside ${this.#prefix} (what the role may publish to)`);
    }
    return checkTopic(topic, '/destination');
  }

  async #send(topic: string, message: PublishMessage): Promise<void> {
    await this.#client.publish({
      topic,
      payload: message.body,
      qos: 1,
      retain: false,
      ...(message.attributes === undefined ? {} : { userProperties: message.attributes }),
    });
  }
}
