/**
 * The NATS JetStream connector's own models, beside the message-publisher interface's (shared/models):
 * declaring a durable pull consumer and inspecting a stream. Every field described, inputs refusing
 * unknown fields.
 */
import * as z from 'zod';

/**
 * Why a NATS subject breaks the server's rules, or undefined when it keeps them: tokens separated by `.`,
 * none of them empty (`a..b`, `.a` and `a.` match no subscription, so JetStream would answer "no stream"),
 * no whitespace or control characters; `*` (a whole token) and `>` (the whole last token) only in a filter.
 *
 * @example
 * ```ts
 * subjectProblem('orders..new', 'subject'); // 'expected no empty token ...'
 * subjectProblem('orders.*', 'filter'); // undefined
 * ```
 */
export function subjectProblem(subject: string, kind: 'subject' | 'filter'): string | undefined {
  if (/[\s\p{Cc}]/u.test(subject)) return 'expected no spaces or control characters in a NATS subject';
  const tokens = subject.split('.');
  if (tokens.some((token) => token === '')) {
    return 'expected tokens separated by single dots: no empty token (no leading, trailing or double dot)';
  }
  if (kind === 'subject') {
    return /[*>]/.test(subject) ? 'expected a subject without the wildcards * and >' : undefined;
  }
  const misplaced = tokens.some(
    (token, index) =>
      (token.includes('*') && token !== '*') ||
      (token.includes('>') && (token !== '>' || index !== tokens.length - 1)),
  );
  return misplaced ? 'expected * only as a whole token and > only as the whole last token' : undefined;
}

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
    .superRefine((filter, context) => {
      const problem = subjectProblem(filter, 'filter');
      if (problem !== undefined) context.addIssue({ code: 'custom', message: problem });
    })
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

export const ForwardMessagesInput = z.strictObject({
  source: JetStreamName('The durable consumer to forward from; default NATS_CONSUMER').optional(),
  maxMessages: z
    .number()
    .int()
    .min(1)
    .max(10_000)
    .default(500)
    .describe('Messages one run forwards at most (pulled 100 at a time); the time left may stop it sooner'),
  waitTimeMs: z
    .number()
    .int()
    .min(0)
    .max(20_000)
    .default(1_000)
    .describe('How long one pull waits for messages when the consumer has none; an empty pull ends the run'),
});
export type ForwardMessagesInput = z.input<typeof ForwardMessagesInput>;
export type ForwardMessagesRequest = z.output<typeof ForwardMessagesInput>;

export const ForwardMessagesOutput = z.object({
  stream: z.string().describe('The stream'),
  consumer: z.string().describe('The durable consumer; its acknowledgements are the checkpoint'),
  pulled: z.number().int().min(0).describe('Messages pulled in this run'),
  handedOn: z.number().int().min(0).describe('Messages handed on as events, then acknowledged'),
  duplicates: z
    .number()
    .int()
    .min(0)
    .describe('Redeliveries of messages handed on before (not handed on again, acknowledged)'),
  released: z
    .number()
    .int()
    .min(0)
    .describe('Messages released unacknowledged because handing on failed; delivered again next run'),
  unsettled: z
    .number()
    .int()
    .min(0)
    .describe('Acknowledgements JetStream did not confirm; those messages come back after the ack wait'),
  sink: z.string().describe('Where events went: sqs, step-functions, fan-out or log'),
  stoppedBy: z
    .enum(['drained', 'max-messages', 'time', 'hand-on-failed'])
    .describe('Why the run ended: the consumer had nothing more, the cap, the time left, or a failing sink'),
});
export type ForwardMessagesOutput = z.output<typeof ForwardMessagesOutput>;
