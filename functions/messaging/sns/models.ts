/**
 * The Amazon SNS connector's own models, beside the message-publisher interface's (publish and batch come
 * from `shared/models/message-publisher.ts`): the topic's subscriptions and attributes. Inputs refuse
 * unknown fields.
 */
import * as z from 'zod';

export const ListSubscriptionsInput = z
  .strictObject({
    nextToken: z
      .string()
      .min(1)
      .max(4096)
      .optional()
      .describe('The cursor a previous page answered, to read the next page (100 per page)'),
  })
  .describe("One page of the topic's subscriptions");
export type ListSubscriptionsInput = z.input<typeof ListSubscriptionsInput>;

export const Subscription = z.object({
  subscriptionArn: z
    .string()
    .describe('The subscription ARN (`PendingConfirmation` until an endpoint confirms)'),
  protocol: z.string().describe('sqs, lambda, https, email, firehose, ...'),
  endpoint: z.string().describe('Where it delivers: a queue or function ARN, a URL, an address'),
  owner: z.string().describe('The AWS account that owns the subscription'),
});

export const ListSubscriptionsOutput = z.object({
  topicArn: z.string().describe('The topic'),
  subscriptions: z.array(Subscription).describe('This page of subscriptions'),
  nextToken: z
    .string()
    .optional()
    .describe('Pass it back as nextToken for the next page; absent on the last'),
});
export type ListSubscriptionsOutput = z.output<typeof ListSubscriptionsOutput>;

export const TopicAttributesInput = z.strictObject({}).describe('No input: the configured topic');
export type TopicAttributesInput = z.input<typeof TopicAttributesInput>;

export const TopicAttributesOutput = z.object({
  topicArn: z.string().describe('The topic ARN'),
  fifo: z.boolean().describe('Whether it is a FIFO topic (ordering and deduplication)'),
  contentBasedDeduplication: z
    .boolean()
    .describe('FIFO: a body hash stands in for a missing deduplicationId'),
  subscriptionsConfirmed: z.number().int().min(0).describe('Confirmed subscriptions'),
  subscriptionsPending: z.number().int().min(0).describe('Subscriptions waiting for confirmation'),
  displayName: z.string().optional().describe('The display name (SMS and email senders)'),
  kmsMasterKeyId: z.string().optional().describe('The KMS key encrypting the topic at rest, when it has one'),
});
export type TopicAttributesOutput = z.output<typeof TopicAttributesOutput>;
