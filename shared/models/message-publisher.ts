/**
 * The zod models of the message-publisher interface (SQS, SNS, EventBridge, RabbitMQ, NATS JetStream,
 * MQTT): a message with attributes, an ordering key and a deduplication id; one publish, a batch with a
 * result per entry; a bounded pull and the settling (acknowledge or release) of what it received. Provider
 * connectors reuse these in their operation schemas and extend them with provider-only fields (MQTT's
 * `retain`, EventBridge's `detailType`).
 * Input objects are strict (`z.strictObject`, kept by `.extend()`): a misspelled or unknown field is refused
 * with a 400 naming it instead of being dropped; `test/hardening/strict-inputs.test.ts` checks every input.
 */
import * as z from 'zod';

/**
 * The largest body any of the six providers takes in one message that also fits a Step Functions state or
 * a synchronous Lambda answer: 1 MiB. Each implementation declares its own, smaller or equal, limit.
 */
export const MAX_BODY_CHARS = 1_048_576;
/** SQS and SNS carry at most 10 message attributes; the interface keeps every provider to that. */
export const MAX_ATTRIBUTES = 10;
/** The largest pull any provider serves in one call (NATS and RabbitMQ could go further; SQS stops at 10). */
export const MAX_RECEIVE = 100;
/** The longest a pull waits for messages (SQS long polling stops at 20 s). */
export const MAX_WAIT_MS = 20_000;

/**
 * Attribute names every provider carries unchanged: SQS/SNS forbid the `AWS.` and `Amazon.` prefixes and
 * `..`, NATS reserves `Nats-` headers, AMQP and HTTP-style headers need token characters.
 */
const ATTRIBUTE_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const RESERVED_PREFIX = /^(aws\.|amazon\.|nats-)/i;

/** Why an attribute name cannot travel unchanged through every provider, or undefined when it can. */
function attributeNameProblem(name: string): string | undefined {
  if (!ATTRIBUTE_NAME.test(name)) {
    return 'expected an attribute name of 1-128 letters, digits, _, . or -, not starting with . or -';
  }
  if (RESERVED_PREFIX.test(name)) return 'the attribute name prefixes AWS., Amazon. and Nats- are reserved';
  if (name.includes('..')) return 'expected no ".." in an attribute name';
  return undefined;
}

/** Message attributes (SQS/SNS message attributes, AMQP headers, NATS headers, MQTT 5 user properties). */
export const MessageAttributes = z
  .record(
    z.string().describe('Attribute (header) name: letters, digits, _, . and -, case kept as written'),
    z.string().min(1).max(1024).describe('Attribute value (text; SQS and SNS refuse an empty one)'),
  )
  .superRefine((attributes, context) => {
    const names = Object.keys(attributes);
    if (names.length > MAX_ATTRIBUTES) {
      context.addIssue({ code: 'custom', message: `expected at most ${MAX_ATTRIBUTES} attributes` });
    }
    for (const name of names) {
      const problem = attributeNameProblem(name);
      if (problem !== undefined) context.addIssue({ code: 'custom', path: [name], message: problem });
    }
  })
  .describe(
    `Message attributes or headers (capability "attributes"), at most ${MAX_ATTRIBUTES}; names of letters, digits, _, . and - (AWS., Amazon. and Nats- reserved), case kept; a subscriber's filter policy or routing can read them`,
  );
export type MessageAttributes = z.output<typeof MessageAttributes>;

/** Where a message goes, below the connector's configured target. */
export const Destination = z
  .string()
  .min(1)
  .max(1024)
  // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
  .regex(/^[^\u0000-\u001f\u007f]+$/, 'expected no control characters')
  .describe(
    'Where the message goes, when not the configured default: the SQS queue, the SNS topic, the EventBridge bus, the RabbitMQ routing key, the NATS subject or the MQTT topic',
  );

/** One message to publish. */
export const PublishMessageFields = z.strictObject({
  body: z
    .string()
    .min(1)
    .max(MAX_BODY_CHARS)
    .describe(
      'Message body as text (JSON is the common case; EventBridge requires a JSON object). The size limit is the provider’s (the connector’s limits)',
    ),
  attributes: MessageAttributes.optional(),
  orderingKey: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .describe(
      'Messages with the same key are delivered in publish order (capability "ordering": SQS/SNS FIFO MessageGroupId)',
    ),
  deduplicationId: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .describe(
      'A second message with the same id within the provider’s window is dropped (capability "deduplication": SQS/SNS FIFO MessageDeduplicationId, NATS Nats-Msg-Id)',
    ),
});
export const PublishMessage = PublishMessageFields.describe('One message');
export type PublishMessage = z.input<typeof PublishMessage>;

/** Input of `publish`. */
export const PublishInput = PublishMessageFields.extend({ destination: Destination.optional() }).describe(
  'One message to publish',
);
export type PublishInput = z.input<typeof PublishInput>;

/** What the provider said about one published message. */
export const PublishOutput = z.object({
  messageId: z
    .string()
    .optional()
    .describe('The provider’s id of the message, or the one the connector sent with it (AMQP message-id)'),
  sequence: z
    .string()
    .optional()
    .describe('The position the provider gave it (SQS FIFO SequenceNumber, the JetStream stream sequence)'),
  duplicate: z
    .boolean()
    .optional()
    .describe('True when the provider recognised a repeated deduplicationId and stored nothing new'),
});
export type PublishOutput = z.output<typeof PublishOutput>;

/** Input of `publishBatch`: entries of one destination, within the provider's limits. */
export const PublishBatchFields = z.strictObject({
  destination: Destination.optional(),
  entries: z
    .array(PublishMessage)
    .min(1)
    .max(MAX_RECEIVE)
    .describe(
      'The messages, in order; at most the provider’s batch limit (SQS, SNS and EventBridge: 10), counted before any call',
    ),
});
export const PublishBatchInput = PublishBatchFields.describe('Several messages to one destination');
export type PublishBatchInput = z.input<typeof PublishBatchInput>;

/** Why one entry of a batch (or one settle) failed: the core error it maps to. */
export const EntryFailure = z.object({
  name: z.string().describe('The error class, e.g. RateLimitedError, ValidationError, NotFoundError'),
  code: z.string().describe('The stable machine code, e.g. rate_limited, validation_error'),
  message: z.string().describe('What went wrong, safe to show (no body, no secret)'),
  retryable: z.boolean().describe('Whether sending this entry again later may succeed'),
});
export type EntryFailure = z.output<typeof EntryFailure>;

/** The result of one entry, at its index in the input. */
export const PublishEntryResult = z.union([
  PublishOutput.extend({
    index: z.number().int().min(0).describe('Position of the entry in the input'),
    ok: z.literal(true).describe('The provider accepted the entry'),
  }),
  z.object({
    index: z.number().int().min(0).describe('Position of the entry in the input'),
    ok: z.literal(false).describe('The provider refused the entry; the others are unaffected'),
    error: EntryFailure,
  }),
]);
export type PublishEntryResult = z.output<typeof PublishEntryResult>;

export const PublishBatchOutput = z.object({
  results: z.array(PublishEntryResult).describe('One result per entry, in input order'),
  succeeded: z.number().int().min(0).describe('Entries the provider accepted'),
  failed: z.number().int().min(0).describe('Entries the provider refused; send only these again'),
});
export type PublishBatchOutput = z.output<typeof PublishBatchOutput>;

/** Input of `receive` (capability "pull"). */
export const ReceiveFields = z.strictObject({
  source: Destination.optional().describe(
    'Where to pull from, when not the configured default: the SQS queue, the RabbitMQ queue, the JetStream durable consumer',
  ),
  maxMessages: z
    .number()
    .int()
    .min(1)
    .max(MAX_RECEIVE)
    .default(10)
    .describe('Most messages to take (at most the provider’s limit)'),
  waitTimeMs: z
    .number()
    .int()
    .min(0)
    .max(MAX_WAIT_MS)
    .default(1_000)
    .describe(
      'How long to wait for messages when fewer than maxMessages are there; also bounded by the invocation’s time left',
    ),
});
export const ReceiveInput = ReceiveFields.describe('A bounded pull: up to maxMessages within waitTimeMs');
export type ReceiveInput = z.input<typeof ReceiveInput>;

/** A message taken by a pull, held for this receiver until it is acknowledged or released. */
export const ReceivedMessage = z.object({
  receipt: z
    .string()
    .min(1)
    .describe(
      'Opaque handle to acknowledge or release this delivery; it expires (SQS visibility timeout, JetStream ack wait, or the end of the RabbitMQ channel that took it)',
    ),
  messageId: z.string().optional().describe('The provider’s id of the message, when it has one'),
  body: z.string().describe('Message body as text'),
  attributes: z.record(z.string(), z.string()).describe('Attributes or headers the publisher set'),
  orderingKey: z.string().optional().describe('The ordering key (group) it was published with'),
  deduplicationId: z.string().optional().describe('The deduplication id it was published with'),
  redelivered: z
    .boolean()
    .describe('True when this message was delivered before and not acknowledged (released or expired)'),
  deliveryCount: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('How many times it was delivered, this one included, when the provider counts'),
});
export type ReceivedMessage = z.output<typeof ReceivedMessage>;

export const ReceiveOutput = z.object({
  messages: z.array(ReceivedMessage).describe('What arrived within the wait, oldest first; may be empty'),
});
export type ReceiveOutput = z.output<typeof ReceiveOutput>;

/** Input of `acknowledge` and `release` (capability "pull"). */
export const SettleFields = z.strictObject({
  source: Destination.optional().describe('The source the messages were received from, when not the default'),
  receipts: z
    .array(z.string().min(1).max(8192))
    .min(1)
    .max(MAX_RECEIVE)
    .describe('Receipts of messages this connector received'),
});
export const SettleInput = SettleFields.describe('Deliveries to settle');
export type SettleInput = z.input<typeof SettleInput>;

export const SettleResult = z.union([
  z.object({
    receipt: z.string().describe('The receipt as given'),
    ok: z.literal(true).describe('Settled'),
  }),
  z.object({
    receipt: z.string().describe('The receipt as given'),
    ok: z
      .literal(false)
      .describe('Not settled: unknown or expired receipt (the message is, or will be, delivered again)'),
    error: EntryFailure,
  }),
]);
export type SettleResult = z.output<typeof SettleResult>;

export const SettleOutput = z.object({
  results: z.array(SettleResult).describe('One result per receipt, in input order'),
});
export type SettleOutput = z.output<typeof SettleOutput>;
