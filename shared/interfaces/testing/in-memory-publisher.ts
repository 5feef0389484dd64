/**
 * A message publisher held in memory, offering every capability: the reference the conformance suite is
 * proven against (test/conformance), so a failure there points at a connector, not at the suite. It keeps
 * one queue per destination, delivers in publish order, drops a repeated deduplication id, and holds a
 * received message until it is acknowledged or released, like a broker queue with manual acks.
 */
import { randomUUID } from 'node:crypto';
import { ForbiddenError, parseInput, ValidationError } from '@circle-core/core';
import {
  PublishBatchInput,
  PublishInput,
  type PublishMessage,
  type PublishOutput,
  type ReceivedMessage,
  ReceiveInput,
  SettleInput,
  type SettleOutput,
} from '../../models/message-publisher.ts';
import {
  batchOutput,
  checkBatch,
  checkMessage,
  checkReceive,
  type MessagePublisher,
  type MessagePublisherCapability,
  type MessagePublisherLimits,
  publishEach,
} from '../message-publisher.ts';

const NAME = 'the in-memory publisher';

interface Stored {
  message: PublishMessage;
  messageId: string;
  deliveries: number;
}

/**
 * Builds an in-memory publisher over the given destinations (the first is the default).
 *
 * @example
 * ```ts
 * const publisher = inMemoryPublisher(['orders']);
 * await publisher.publish({ body: '{}' });
 * ```
 */
export function inMemoryPublisher(
  destinations: readonly [string, ...string[]],
  limits: MessagePublisherLimits = {
    maxBatchEntries: 10,
    maxMessageBytes: 262_144,
    maxBatchBytes: 262_144,
    maxReceive: 10,
  },
): MessagePublisher {
  const queues = new Map(destinations.map((name) => [name, [] as Stored[]]));
  const held = new Map<string, { queue: string; stored: Stored }>();
  const seenIds = new Set<string>();
  let sequence = 0;
  const queueOf = (name: string | undefined): Stored[] => {
    const queue = queues.get(name ?? destinations[0]);
    if (queue === undefined)
      throw new ForbiddenError(`The destination ${name} is not one of the allowed ones`);
    return queue;
  };
  const store = (destination: string | undefined, message: PublishMessage): PublishOutput => {
    const queue = queueOf(destination);
    const key = `${destination}\u0000${message.deduplicationId}`;
    if (message.deduplicationId !== undefined && seenIds.has(key)) return { duplicate: true };
    if (message.deduplicationId !== undefined) seenIds.add(key);
    sequence += 1;
    const messageId = randomUUID();
    queue.push({ message, messageId, deliveries: 0 });
    return { messageId, sequence: String(sequence), duplicate: false };
  };
  const settle = (raw: unknown, requeue: boolean): SettleOutput => {
    const input = parseInput(SettleInput, raw);
    return {
      results: input.receipts.map((receipt) => {
        const entry = held.get(receipt);
        if (entry === undefined) {
          return {
            receipt,
            ok: false as const,
            error: { name: 'NotFoundError', code: 'not_found', message: 'Unknown receipt', retryable: false },
          };
        }
        held.delete(receipt);
        if (requeue) queueOf(entry.queue).unshift(entry.stored);
        return { receipt, ok: true as const };
      }),
    };
  };
  const publisher: MessagePublisher = {
    capabilities: new Set<MessagePublisherCapability>(['attributes', 'ordering', 'deduplication', 'pull']),
    limits,
    publish: async (raw) => {
      const input = parseInput(PublishInput, raw);
      const { destination, ...message } = input;
      checkMessage(publisher, message, NAME);
      return store(destination, message);
    },
    publishBatch: async (raw) => {
      const input = parseInput(PublishBatchInput, raw);
      checkBatch(publisher, input.entries, NAME);
      queueOf(input.destination);
      const out = await publishEach(
        input.entries,
        async (entry) => store(input.destination, entry),
        (error) => error instanceof ValidationError,
      );
      return batchOutput(out.results);
    },
    receive: async (raw) => {
      const input = parseInput(ReceiveInput, raw ?? {});
      checkReceive(publisher, input.maxMessages, NAME);
      const name = input.source ?? destinations[0];
      const queue = queueOf(name);
      const taken = queue.splice(0, input.maxMessages);
      return {
        messages: taken.map((stored): ReceivedMessage => {
          stored.deliveries += 1;
          const receipt = randomUUID();
          held.set(receipt, { queue: name, stored });
          const { body, attributes, orderingKey, deduplicationId } = stored.message;
          return {
            receipt,
            messageId: stored.messageId,
            body,
            attributes: attributes ?? {},
            ...(orderingKey === undefined ? {} : { orderingKey }),
            ...(deduplicationId === undefined ? {} : { deduplicationId }),
            redelivered: stored.deliveries > 1,
            deliveryCount: stored.deliveries,
          };
        }),
      };
    },
    acknowledge: async (raw) => {
      checkReceive(publisher, undefined, NAME);
      return settle(raw, false);
    },
    release: async (raw) => {
      checkReceive(publisher, undefined, NAME);
      return settle(raw, true);
    },
  };
  return publisher;
}
