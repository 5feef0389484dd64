/**
 * The NATS JetStream connector's own models, beside the message-publisher interface's (shared/models):
 * declaring a durable pull consumer and inspecting a stream. Every field described, inputs refusing
 * unknown fields.
 */
import * as z from 'zod';

/** A JetStream stream or consumer name: letters, digits, - and _ (no dots, spaces or wildcards). */
const JetStreamName = (what: string) =>
  z
    .string()
    .min(1)
    .max(255)
    .regex(/^[A-Za-z0-9_-]+$/, 'expected letters, digits, - and _ only')
    .describe(what);

export const DeclareConsumerInput = z.strictObject({
  stream: JetStreamName('The stream; default NATS_STREAM').optional(),
  consumer: JetStreamName('Durable name of the pull consumer'),
  filterSubject: z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^\s]+$/, 'expected no spaces')
    .optional()
    .describe('Only messages of this subject (wildcards * and > allowed)'),
  ackWaitMs: z
    .number()
    .int()
    .min(1_000)
    .max(43_200_000)
    .default(30_000)
    .describe('How long a received message stays held before JetStream delivers it again'),
  maxDeliver: z
    .number()
    .int()
    .min(1)
    .max(1_000)
    .optional()
    .describe('Deliveries of one message at most; then JetStream stops delivering it'),
  deliverPolicy: z
    .enum(['all', 'new', 'last'])
    .default('all')
    .describe('Where a new consumer starts: every message kept, only new ones, or the last one'),
});
export type DeclareConsumerInput = z.input<typeof DeclareConsumerInput>;

export const ConsumerInfo = z.object({
  stream: z.string().describe('The stream'),
  consumer: z.string().describe('The durable consumer name'),
  pending: z.number().int().min(0).describe('Messages not yet delivered to this consumer'),
  ackPending: z.number().int().min(0).describe('Messages delivered and not yet acknowledged'),
  redelivered: z.number().int().min(0).describe('Messages delivered more than once and not yet acknowledged'),
});
export type ConsumerInfo = z.output<typeof ConsumerInfo>;

export const InspectStreamInput = z.strictObject({
  stream: JetStreamName('The stream; default NATS_STREAM').optional(),
});
export type InspectStreamInput = z.input<typeof InspectStreamInput>;

export const StreamInfo = z.object({
  stream: z.string().describe('The stream'),
  subjects: z.array(z.string()).describe('Subjects the stream stores'),
  messages: z.number().int().min(0).describe('Messages stored'),
  bytes: z.number().int().min(0).describe('Bytes stored'),
  firstSequence: z.number().int().min(0).describe('Sequence of the oldest message kept'),
  lastSequence: z.number().int().min(0).describe('Sequence of the newest message'),
  consumers: z.number().int().min(0).describe('Consumers of the stream'),
  duplicateWindowMs: z
    .number()
    .int()
    .min(0)
    .describe('How long a Nats-Msg-Id is remembered for deduplication'),
});
export type StreamInfo = z.output<typeof StreamInfo>;
