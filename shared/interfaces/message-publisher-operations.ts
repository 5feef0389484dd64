/**
 * The message-publisher interface's operations, declared once for every messaging connector (SQS, SNS,
 * EventBridge, RabbitMQ, NATS JetStream, MQTT): a connector whose client implements
 * {@link MessagePublisher} gets `publish-message`, `publish-batch`, `receive-messages`,
 * `acknowledge-messages` and `release-messages` with the interface's models, adding only its provider's
 * per-message fields (MQTT's `qos` and `retain`). Without capability `pull` the last three answer 501.
 */
import type { OperationBuilder, Unfinished } from '@circle-core/core';
import * as z from 'zod';
import {
  Destination,
  MAX_RECEIVE,
  type PublishBatchInput,
  PublishBatchOutput,
  type PublishInput,
  PublishMessageFields,
  PublishOutput,
  ReceiveInput,
  ReceiveOutput,
  SettleInput,
  SettleOutput,
} from '../models/message-publisher.ts';
import type { MessagePublisher } from './message-publisher.ts';

/** Provider words in the operations' descriptions. */
export interface MessagingWording {
  /** The provider, e.g. `RabbitMQ`. */
  provider: string;
  /** What a pull reads from, e.g. `queue` or `durable consumer`. */
  source: string;
}

/**
 * The operation table of a messaging connector. `messageFields` adds provider-only fields to every
 * message (one publish and each batch entry); the client receives them beside the interface's own.
 *
 * @example
 * ```ts
 * defineConnector({ ..., operations: (op) => messagePublisherOperations(op, { provider: 'RabbitMQ', source: 'queue' }) });
 * ```
 */
export function messagePublisherOperations<
  Config,
  Client extends MessagePublisher,
  Extra extends z.ZodRawShape = Record<never, never>,
>(op: OperationBuilder<Config, Client>, wording: MessagingWording, messageFields?: Extra) {
  const Message = PublishMessageFields.extend(messageFields ?? ({} as Extra)).describe('One message');
  const PublishMessageInput = Message.extend({ destination: Destination.optional() }).describe(
    'One message to publish',
  );
  const PublishBatchMessagesInput = z
    .strictObject({
      destination: Destination.optional(),
      entries: z
        .array(Message)
        .min(1)
        .max(MAX_RECEIVE)
        .describe(
          `The messages, in order; at most ${wording.provider}'s batch limit, counted before any call`,
        ),
    })
    .describe('Several messages to one destination');
  return {
    'publish-message': op({
      effect: 'write',
      description: `Publishes one message to ${wording.provider} and answers once the provider has it`,
      input: PublishMessageInput,
      output: PublishOutput,
      // The extended schema's output includes every field of the interface's own (zod cannot say so).
      run: (input, { client }) => client.publish(input as unknown as PublishInput),
    }),
    'publish-batch': op({
      effect: 'write',
      description: `Publishes several messages to one ${wording.provider} destination, with a result per entry`,
      input: PublishBatchMessagesInput,
      output: PublishBatchOutput,
      unfinished: refusedEntries,
      run: (input, { client }) => client.publishBatch(input as unknown as PublishBatchInput),
    }),
    'receive-messages': op({
      description: `Takes up to maxMessages from a ${wording.source} within waitTimeMs and the time left; each stays held until acknowledged or released`,
      input: ReceiveInput,
      output: ReceiveOutput,
      run: (input, { client }) => client.receive(input),
    }),
    'acknowledge-messages': op({
      effect: 'write',
      description: `Removes received messages from the ${wording.source} for good, with a result per receipt`,
      input: SettleInput,
      output: SettleOutput,
      run: (input, { client }) => client.acknowledge(input),
    }),
    'release-messages': op({
      effect: 'write',
      description: `Hands received messages back to the ${wording.source} for another delivery, with a result per receipt`,
      input: SettleInput,
      output: SettleOutput,
      run: (input, { client }) => client.release(input),
    }),
  };
}

/**
 * The entries of a batch the provider refused, with why: from a queue, they (and only they) go to the
 * dead-letter queue, since nobody reads a queue record's answer (the core's `unfinished`).
 *
 * @example
 * ```ts
 * refusedEntries({ results: [{ index: 0, ok: true, messageId: 'm1' }, { index: 1, ok: false, error }], succeeded: 1, failed: 1 }, input);
 * // { input: { ...input, entries: [input.entries[1]] }, issues: [{ pointer: '/entries/1', ... }], retryable: false }
 * ```
 */
export function refusedEntries(
  output: PublishBatchOutput,
  input: { entries: readonly unknown[] },
): Unfinished | undefined {
  if (output.failed === 0) return undefined;
  const refused = output.results.filter((result) => !result.ok);
  if (refused.length === 0) return undefined;
  return {
    input: { ...input, entries: refused.map((result) => input.entries[result.index]) },
    issues: refused.map((result) => ({
      pointer: `/entries/${result.index}`,
      message: `${result.error.name}: ${result.error.message}`,
    })),
    retryable: refused.some((result) => result.error.retryable),
  };
}
