/**
 * The local stack's AWS IoT Core rules (`scripts/local/aws/iot-local.ts`): the iot-core function's
 * `AWS::IoT::TopicRule` read from its function.yml, and a message a real MQTT client publishes on
 * `devices/<thing>/telemetry` (the machine's Mosquitto, else an embedded aedes) sent to the rule's queue
 * with the SELECT's topic() and timestamp() fields.
 */
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type LocalIot,
  ruleMessage,
  startLocalIot,
  topicMatches,
  topicRuleOf,
} from '../../scripts/local/aws/iot-local.ts';
import type { SendInput } from '../../scripts/local/queues/queue-engine.ts';

const sent: { queue: string; input: SendInput }[] = [];
let iot: LocalIot;
const warnings: string[] = [];

beforeAll(async () => {
  const engine = {
    get: (name: string) => ({ send: (input: SendInput) => sent.push({ queue: name, input }) }),
  } as never;
  iot = await startLocalIot({
    selected: [{ key: 'iot-core' }],
    model: { queues: [{ logicalId: 'IotCoreTelemetryQueue', name: 'local-telemetry', attributes: {} }] },
    engine,
    warn: (message) => warnings.push(message),
  });
}, 60_000);

afterAll(async () => {
  await iot?.close();
});

describe('Local stack: AWS IoT rules', () => {
  it("runs the iot-core function's telemetry rule: a device message lands in the queue with topic and receivedAt", async () => {
    // Prepare
    const url = /(mqtt:\/\/[^ ]+)/.exec(iot.broker)?.[1] as string;
    const device = await mqtt.connectAsync(url, {
      protocolVersion: iot.broker.startsWith('aedes') ? 4 : 5,
      reconnectPeriod: 0,
    });
    const thing = `sensor-${Math.random().toString(36).slice(2, 8)}`;
    // Act
    await device.publishAsync(`devices/${thing}/telemetry`, JSON.stringify({ temperature: 19.5 }), {
      qos: 1,
    });
    await device.publishAsync(`devices/${thing}/status`, JSON.stringify({ online: true }), { qos: 1 });
    let mine: typeof sent = [];
    for (let round = 0; round < 200 && mine.length === 0; round += 1) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      mine = sent.filter((entry) => entry.input.body.includes(thing));
    }
    await device.endAsync();
    // Assess
    expect(iot.rules.map((rule) => rule.logicalId)).toContain('IotCoreTelemetryRule');
    expect(warnings).toEqual([]);
    expect(mine).toHaveLength(1);
    expect(mine[0]?.queue).toBe('local-telemetry');
    expect(JSON.parse(mine[0]?.input.body ?? '{}')).toEqual({
      temperature: 19.5,
      topic: `devices/${thing}/telemetry`,
      receivedAt: expect.any(Number),
    });
  });

  it('reads only the SQL shape it can run, and matches MQTT filters', () => {
    // Act
    const where = topicRuleOf('R', {
      TopicRulePayload: { Sql: "SELECT * FROM 'a/+' WHERE temperature > 30", Actions: [] },
    });
    const lambda = topicRuleOf('R', {
      TopicRulePayload: { Sql: "SELECT * FROM 'a/+'", Actions: [{ Lambda: { FunctionArn: 'x' } }] },
    });
    const rule = topicRuleOf('R', {
      TopicRulePayload: { Sql: "SELECT * FROM 'a/#'", Actions: [{ Sqs: { QueueUrl: { Ref: 'Q' } } }] },
    });
    // Assess
    expect(where).toContain('only SELECT *');
    expect(lambda).toContain('only SQS actions');
    expect(rule).toEqual({ logicalId: 'R', filter: 'a/#', queues: ['Q'] });
    expect(topicMatches('devices/+/telemetry', 'devices/a/telemetry')).toBe(true);
    expect(topicMatches('devices/+/telemetry', 'devices/a/b/telemetry')).toBe(false);
    expect(topicMatches('devices/#', 'devices/a/b')).toBe(true);
    expect(topicMatches('devices/+', 'devices')).toBe(false);
    expect(ruleMessage(rule as never, 'a/b', Buffer.from('not json'), 1)).toBe('not json');
  });
});
