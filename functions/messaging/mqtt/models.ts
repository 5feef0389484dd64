/**
 * The MQTT connector's own models, beside the message-publisher interface's (shared/models): the
 * per-message QoS and retain flag, and a bounded subscribe-and-collect. Every field described, inputs
 * refusing unknown fields.
 */
import * as z from 'zod';
import { Destination, MAX_RECEIVE, PublishMessageFields } from '#shared/models/message-publisher.ts';

/** QoS and retain: MQTT's per-message fields, added to every publish and batch entry. */
export const MqttMessageFields = {
  qos: z
    .union([z.literal(0), z.literal(1), z.literal(2)])
    .optional()
    .describe('0 at most once, 1 at least once (PUBACK), 2 exactly once (PUBCOMP); default MQTT_QOS'),
  retain: z
    .boolean()
    .optional()
    .describe("The broker keeps the message as the topic's last value and hands it to every new subscriber"),
};

export interface MqttMessageOptions {
  qos?: 0 | 1 | 2 | undefined;
  retain?: boolean | undefined;
}

/** MQTT 5.0 4.7's wildcard rules for a topic filter: `+` only a whole level, `#` only the whole last level. */
export function wildcardsInPlace(filter: string): boolean {
  return filter.split('/').every((level, index, levels) => {
    if (level.includes('#')) return level === '#' && index === levels.length - 1;
    return !level.includes('+') || level === '+';
  });
}

/**
 * A topic filter: `+` one whole level, `#` the last level only. The client also applies the character and
 * byte-length rules of a topic name to it (`checkTopic`), before anything is sent.
 */
export const TopicFilter = z
  .string()
  .min(1)
  .max(65_535)
  .refine((filter) => !filter.includes('\u0000'), 'expected no NUL character')
  .refine(wildcardsInPlace, 'expected + as a whole level and # only as the last level')
  .describe('Topic filter to subscribe to, e.g. sensors/+/temperature or sensors/#');

export const CollectMessagesInput = z.strictObject({
  topicFilter: TopicFilter,
  maxMessages: z.number().int().min(1).max(100).default(10).describe('Most messages to collect'),
  waitTimeMs: z
    .number()
    .int()
    .min(0)
    .max(20_000)
    .default(1_000)
    .describe("How long to listen; also bounded by the invocation's time left"),
  qos: z
    .union([z.literal(0), z.literal(1), z.literal(2)])
    .default(1)
    .describe('QoS of the subscription'),
});
export type CollectMessagesInput = z.input<typeof CollectMessagesInput>;

export const CollectedMessage = z.object({
  topic: z.string().describe('The topic it was published to'),
  body: z.string().describe('Payload as UTF-8 text'),
  retained: z.boolean().describe('True for a retained message handed over at subscribe time'),
  qos: z.number().int().min(0).max(2).describe('QoS it was delivered with'),
  attributes: z.record(z.string(), z.string()).describe('MQTT 5 user properties'),
});
export type CollectedMessage = z.output<typeof CollectedMessage>;

export const CollectMessagesOutput = z.object({
  messages: z
    .array(CollectedMessage)
    .describe('What arrived within the wait, in arrival order; may be empty'),
});
export type CollectMessagesOutput = z.output<typeof CollectMessagesOutput>;

export const ClearRetainedInput = z.strictObject({
  topic: z.string().min(1).max(65_535).describe('The topic whose retained message to remove (no wildcards)'),
});
export type ClearRetainedInput = z.input<typeof ClearRetainedInput>;

export const ClearRetainedOutput = z.object({
  topic: z.string().describe('The topic'),
  cleared: z.literal(true).describe('Always true: a failure answers an error instead'),
});

/** One publish with MQTT's fields, as the client validates it (the operation table builds the same). */
export const MqttPublishInput = PublishMessageFields.extend(MqttMessageFields).extend({
  destination: Destination.optional(),
});
export type MqttPublishInput = z.input<typeof MqttPublishInput>;

/** A batch with MQTT's fields on each entry. */
export const MqttPublishBatchInput = z.strictObject({
  destination: Destination.optional(),
  entries: z.array(PublishMessageFields.extend(MqttMessageFields)).min(1).max(MAX_RECEIVE),
});
export type MqttPublishBatchInput = z.input<typeof MqttPublishBatchInput>;
