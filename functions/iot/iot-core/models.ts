/**
 * The AWS IoT Core connector's models: each operation's input and output, every field described, inputs
 * refusing unknown fields. Names and limits are the AWS IoT data plane API reference's: thing names
 * `[a-zA-Z0-9:_-]{1,128}`, shadow names `[$a-zA-Z0-9:_-]{1,64}`, topics of 1-256 bytes without wildcards.
 */
import * as z from 'zod';

export const ThingName = z
  .string()
  .regex(/^[a-zA-Z0-9:_-]{1,128}$/, 'expected a thing name: 1-128 of a-z A-Z 0-9 : _ -')
  .describe('The thing whose shadow this is, e.g. "sensor-42"');

/**
 * The API reference's shadowName: 1-64 of `[$a-zA-Z0-9:_-]` (`$` for reserved names such as `$package`).
 * Checked as a refinement, so the published schema drops its pattern instead of changing it.
 */
const SHADOW_NAME = /^[$a-zA-Z0-9:_-]{1,64}$/;

const ShadowName = z
  .string()
  .refine((name) => SHADOW_NAME.test(name), 'expected a shadow name: 1-64 of $ a-z A-Z 0-9 : _ -')
  .describe(
    'A named shadow, e.g. "config" or the reserved "$package"; without it the thing\'s classic (unnamed) shadow',
  );

/** AWS IoT's topic quota: at most 256 bytes of UTF-8. */
export const MAX_TOPIC_BYTES = 256;

const Topic = z
  .string()
  .min(1)
  .refine(
    (topic) => Buffer.byteLength(topic) <= MAX_TOPIC_BYTES,
    `a topic is at most ${MAX_TOPIC_BYTES} bytes of UTF-8`,
  )
  .refine((topic) => !/[+#]/.test(topic), 'a topic to publish to has no wildcards (+ or #)')
  .describe('The MQTT topic, e.g. "devices/sensor-42/commands"');

const JsonObject = z.record(z.string(), z.unknown());
/** A state section: keys to set, `null` values delete keys; `null` as a whole clears the section. */
const StateSection = JsonObject.nullable();

export const PublishMessageInput = z.strictObject({
  topic: Topic,
  payload: z
    .union([z.string(), JsonObject, z.array(z.unknown())])
    .describe('Text is sent as is (UTF-8); an object or array is sent as JSON, e.g. {"command":"reboot"}'),
  qos: z
    .union([z.literal(0), z.literal(1)])
    .default(0)
    .describe('MQTT quality of service: 0 at most once (default), 1 at least once (AWS IoT has no QoS 2)'),
  retain: z
    .boolean()
    .default(false)
    .describe("Keep it as the topic's retained message, delivered to later subscribers"),
  userProperties: z
    .record(z.string().min(1), z.string())
    .optional()
    .describe('MQTT 5 user properties (name -> value) delivered with the message'),
  contentType: z.string().min(1).max(256).optional().describe('MQTT 5 content type, e.g. "application/json"'),
  responseTopic: Topic.optional().describe('MQTT 5 response topic for request/response'),
  messageExpirySeconds: z
    .number()
    .int()
    .min(1)
    .max(604_800)
    .optional()
    .describe('MQTT 5 message expiry in seconds (AWS IoT keeps at most 7 days)'),
});
export type PublishMessageInput = z.output<typeof PublishMessageInput>;

export const PublishMessageOutput = z.object({
  topic: z.string().describe('The topic it was published to'),
  qos: z.number().int().describe('The QoS it was published with'),
  retain: z.boolean().describe('Whether it was published as retained'),
  bytes: z.number().int().describe('Size of the payload sent, in bytes'),
});
export type PublishMessageOutput = z.output<typeof PublishMessageOutput>;

export const ShadowInput = z.strictObject({
  thingName: ThingName,
  shadowName: ShadowName.optional(),
});
export type ShadowInput = z.output<typeof ShadowInput>;

const ShadowState = z.object({
  desired: JsonObject.optional().describe('What the application wants the device to be'),
  reported: JsonObject.optional().describe('What the device last said it is'),
  delta: JsonObject.optional().describe('Desired keys the device has not reported yet (reads only)'),
});

export const ShadowDocument = z.object({
  thingName: ThingName,
  shadowName: z.string().optional().describe('The named shadow, absent for the classic shadow'),
  state: ShadowState.describe('desired, reported and delta sections'),
  metadata: JsonObject.describe('Per-key { timestamp } (epoch seconds) of the last update of each key'),
  version: z
    .number()
    .int()
    .describe("The shadow's version: the next update may name it to be refused if stale"),
  timestamp: z.number().int().describe('When AWS IoT answered (epoch seconds)'),
  clientToken: z.string().optional().describe('The clientToken the update carried'),
});
export type ShadowDocument = z.output<typeof ShadowDocument>;

export const UpdateShadowInput = z.strictObject({
  thingName: ThingName,
  shadowName: ShadowName.optional(),
  state: z
    .strictObject({
      desired: StateSection.optional().describe('Keys to set in desired; a null value deletes that key'),
      reported: StateSection.optional().describe('Keys to set in reported; a null value deletes that key'),
    })
    .refine((state) => state.desired !== undefined || state.reported !== undefined, 'desired or reported')
    .describe('What to change, e.g. {"desired":{"temperature":22}}'),
  version: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('The version read last: a newer shadow refuses the update with 409 (optimistic locking)'),
  clientToken: z.string().min(1).max(64).optional().describe('Echoed back on the shadow topics'),
});
export type UpdateShadowInput = z.output<typeof UpdateShadowInput>;

export const DeleteShadowOutput = z.object({
  thingName: ThingName,
  shadowName: z.string().optional().describe('The named shadow, absent for the classic shadow'),
  deleted: z.literal(true).describe('Always true: a missing shadow is a 404'),
  version: z.number().int().describe('The version it had; a shadow created again goes on from it'),
  timestamp: z.number().int().describe('When AWS IoT answered (epoch seconds)'),
});
export type DeleteShadowOutput = z.output<typeof DeleteShadowOutput>;

export const ListNamedShadowsInput = z.strictObject({
  thingName: ThingName,
  pageSize: z.number().int().min(1).max(100).optional().describe('Names per page, 1-100'),
  nextToken: z.string().min(1).optional().describe('The cursor of the previous page'),
});
export type ListNamedShadowsInput = z.output<typeof ListNamedShadowsInput>;

export const ListNamedShadowsOutput = z.object({
  thingName: ThingName,
  shadowNames: z.array(z.string()).describe('The named shadows of the thing on this page'),
  nextToken: z.string().optional().describe('Pass it back for the next page; absent on the last'),
});
export type ListNamedShadowsOutput = z.output<typeof ListNamedShadowsOutput>;
