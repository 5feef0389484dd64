/**
 * The Amazon EventBridge connector's models: the per-event fields EventBridge adds to the
 * message-publisher interface's message (detail type, source, resources), the publish inputs with them,
 * and the bus and rule descriptions. Inputs refuse unknown fields.
 */
import * as z from 'zod';
import { Destination, MAX_RECEIVE, PublishMessageFields } from '#shared/models/message-publisher.ts';

/** What EventBridge takes beside the body (the event's `detail`), on each message. */
export const EventFields = {
  detailType: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .describe(
      'The event\'s detail-type, which rules match on (default EVENTBRIDGE_DETAIL_TYPE), e.g. "order-placed"',
    ),
  source: z
    .string()
    .min(1)
    .max(256)
    .regex(
      // biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
      /^(?!aws\.)[^\u0000-\u001f]+$/,
      'expected no control characters and no "aws." prefix (reserved for AWS)',
    )
    .optional()
    .describe(
      'The event\'s source, which rules match on (default EVENTBRIDGE_SOURCE), e.g. "com.example.shop"',
    ),
  resources: z
    .array(z.string().min(1).max(2048))
    .max(10)
    .optional()
    .describe('ARNs the event is about (its `resources`), at most 10'),
};

export const EventMessage = PublishMessageFields.extend(EventFields).describe('One event');
export type EventMessage = z.input<typeof EventMessage>;

export const PutEventInput = EventMessage.extend({ destination: Destination.optional() }).describe(
  'One event to put on the bus',
);
export type PutEventInput = z.input<typeof PutEventInput>;

export const PutEventsInput = z
  .strictObject({
    destination: Destination.optional(),
    entries: z.array(EventMessage).min(1).max(MAX_RECEIVE).describe('The events, in order; at most 10'),
  })
  .describe('Several events for one bus');
export type PutEventsInput = z.input<typeof PutEventsInput>;

export const DescribeBusInput = z.strictObject({}).describe('No input: the configured bus');

export const DescribeBusOutput = z.object({
  name: z.string().describe('The bus name'),
  arn: z.string().describe('The bus ARN'),
});
export type DescribeBusOutput = z.output<typeof DescribeBusOutput>;

export const DescribeRuleInput = z
  .strictObject({
    name: z
      .string()
      .regex(/^[\w.-]{1,64}$/, 'expected a rule name: 1-64 letters, digits, ., - and _')
      .describe('A rule on the configured bus, e.g. "orders"'),
  })
  .describe('Which rule to describe');
export type DescribeRuleInput = z.input<typeof DescribeRuleInput>;

export const DescribeRuleOutput = z.object({
  name: z.string().describe('The rule name'),
  arn: z.string().describe('The rule ARN'),
  state: z.string().describe('ENABLED or DISABLED'),
  eventPattern: z.string().optional().describe('The event pattern (JSON text), when the rule matches events'),
  scheduleExpression: z.string().optional().describe('The schedule, when the rule runs on one'),
  targets: z
    .array(z.object({ id: z.string().describe('Target id'), arn: z.string().describe('Target ARN') }))
    .describe('Where matching events go'),
});
export type DescribeRuleOutput = z.output<typeof DescribeRuleOutput>;
