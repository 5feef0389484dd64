/**
 * The RabbitMQ connector's own models, beside the message-publisher interface's (shared/models): declaring
 * a queue with its bindings and arguments, and inspecting one. Every field described, inputs refusing
 * unknown fields.
 */
import * as z from 'zod';

/** AMQP 0-9-1 short strings (queue and exchange names, routing keys) hold at most 255 bytes of UTF-8. */
export const AMQP_SHORT_STRING_BYTES = 255;

const fitsShortString = (name: string): boolean => Buffer.byteLength(name) <= AMQP_SHORT_STRING_BYTES;
const SHORT_STRING_MESSAGE = `expected at most ${AMQP_SHORT_STRING_BYTES} bytes of UTF-8 (AMQP short string)`;

/** A queue, exchange or routing key: RabbitMQ's short strings (at most 255 bytes), no control characters. */
const AmqpName = (what: string) =>
  z
    .string()
    .min(1)
    .max(AMQP_SHORT_STRING_BYTES)
    // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
    .regex(/^[^\u0000-\u001f\u007f]+$/, 'expected no control characters')
    .refine(fitsShortString, SHORT_STRING_MESSAGE)
    .describe(what);

export const QueueName = AmqpName('Queue name; names starting with amq. are reserved by RabbitMQ').refine(
  (name) => !name.startsWith('amq.'),
  'names starting with "amq." are reserved by RabbitMQ',
);

export const DeclareQueueInput = z.strictObject({
  queue: QueueName,
  type: z
    .enum(['classic', 'quorum'])
    .default('quorum')
    .describe(
      "Queue type: quorum (replicated, counts deliveries; RabbitMQ's advice for durable work queues) or classic",
    ),
  durable: z.boolean().default(true).describe('Survives a broker restart (quorum queues always are)'),
  messageTtlMs: z
    .number()
    .int()
    .min(0)
    .max(2_147_483_647)
    .optional()
    .describe('Messages older than this are dropped or dead-lettered (x-message-ttl)'),
  maxLength: z
    .number()
    .int()
    .min(1)
    .max(2_147_483_647)
    .optional()
    .describe('Most messages the queue holds (x-max-length); see overflow for what happens beyond'),
  overflow: z
    .enum(['drop-head', 'reject-publish'])
    .optional()
    .describe('Beyond maxLength: drop the oldest, or refuse new publishes (a nack, reported per entry)'),
  deadLetterExchange: AmqpName(
    'Exchange that receives rejected, expired or dropped messages (x-dead-letter-exchange)',
  ).optional(),
  bindings: z
    .array(
      z.strictObject({
        exchange: AmqpName('An existing exchange, e.g. amq.topic or one created by the platform team'),
        routingKey: z
          .string()
          .max(AMQP_SHORT_STRING_BYTES)
          .refine(fitsShortString, SHORT_STRING_MESSAGE)
          .describe('Binding key (topic exchanges: words with * and #), at most 255 bytes of UTF-8'),
      }),
    )
    .max(20)
    .default([])
    .describe('Exchanges and keys the queue is bound to (the default exchange routes by queue name anyway)'),
});
export type DeclareQueueInput = z.input<typeof DeclareQueueInput>;

export const QueueInfo = z.object({
  queue: z.string().describe('The queue name'),
  messageCount: z
    .number()
    .int()
    .min(0)
    .describe('Messages ready for delivery (not those held unacknowledged)'),
  consumerCount: z.number().int().min(0).describe('Consumers subscribed to the queue'),
});
export type QueueInfo = z.output<typeof QueueInfo>;

export const InspectQueueInput = z.strictObject({ queue: QueueName });
export type InspectQueueInput = z.input<typeof InspectQueueInput>;
