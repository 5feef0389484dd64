/**
 * The Amazon SQS connector's own models, beside the message-publisher interface's (publish, batch,
 * receive, acknowledge, release come from `shared/models/message-publisher.ts`): changing the visibility of
 * received messages and reading the queue's attributes. Inputs refuse unknown fields.
 */
import * as z from 'zod';
import { SettleFields } from '#shared/models/message-publisher.ts';

/** SQS's longest visibility timeout: 12 hours. */
export const MAX_VISIBILITY_TIMEOUT_SECONDS = 43_200;

export const ChangeVisibilityInput = SettleFields.extend({
  visibilityTimeoutSeconds: z
    .number()
    .int()
    .min(0)
    .max(MAX_VISIBILITY_TIMEOUT_SECONDS)
    .describe(
      'Seconds from now until the messages can be received again (0: at once; at most 43200, counted from their first receive)',
    ),
}).describe('Received messages whose visibility timeout to change');
export type ChangeVisibilityInput = z.input<typeof ChangeVisibilityInput>;

export const QueueAttributesInput = z
  .strictObject({
    source: z
      .string()
      .min(1)
      .max(1024)
      .optional()
      .describe(
        "The queue (its name or URL), when not the configured one; only the connector's queue is allowed",
      ),
  })
  .describe('Which queue to describe');
export type QueueAttributesInput = z.input<typeof QueueAttributesInput>;

export const QueueAttributesOutput = z.object({
  queueUrl: z.string().describe('The queue URL'),
  queueArn: z.string().describe('The queue ARN'),
  fifo: z.boolean().describe('Whether it is a FIFO queue (ordering and deduplication)'),
  contentBasedDeduplication: z
    .boolean()
    .describe('FIFO: a body hash stands in for a missing deduplicationId'),
  approximateMessages: z.number().int().min(0).describe('Messages ready to be received (approximate)'),
  approximateInFlight: z
    .number()
    .int()
    .min(0)
    .describe('Messages received and not yet deleted (approximate)'),
  approximateDelayed: z
    .number()
    .int()
    .min(0)
    .describe('Messages not yet visible because of a delay (approximate)'),
  visibilityTimeoutSeconds: z.number().int().min(0).describe('How long a received message stays hidden'),
  retentionSeconds: z.number().int().min(0).describe('How long SQS keeps a message that is never deleted'),
  maximumMessageBytes: z.number().int().min(0).describe('The largest message the queue accepts'),
  deadLetterTargetArn: z.string().optional().describe('Where messages go after maxReceiveCount receives'),
  maxReceiveCount: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('Receives before a message moves to the dead-letter queue'),
});
export type QueueAttributesOutput = z.output<typeof QueueAttributesOutput>;
