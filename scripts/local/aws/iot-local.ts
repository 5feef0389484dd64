/**
 * AWS IoT Core under `npm start`: the data plane (`iot-data.ts`) on the AWS endpoint, seeded, publishing to
 * the machine's Mosquitto (127.0.0.1:1883, MQTT 5) or, when it does not answer and an IoT function is
 * selected, to an embedded aedes broker (MQTT 3.1.1); and the selected functions' IoT rules
 * (`AWS::IoT::TopicRule` in their function.yml) emulated for their simplest and commonest shape:
 * `SELECT *[, topic() AS a][, timestamp() AS b] FROM '<filter>'` with SQS actions, each message on the
 * broker that matches the filter sent to the local queue the action names. Any other rule is left out
 * with a warning naming it.
 */
import { readFile } from 'node:fs/promises';
import mqtt, { type MqttClient } from 'mqtt';
import { parse } from 'yaml';
import { discoverFunctions } from '../../lib/functions.ts';
import type { LocalModel } from '../config/model.ts';
import { REPO_ROOT } from '../paths.ts';
import type { QueueEngine } from '../queues/queue-engine.ts';
import type { ConnectorReach } from '../stack-report.ts';
import { type EmbeddedMqtt, startEmbeddedMqtt } from '../stores/aedes.ts';
import { answers } from '../stores/brokers.ts';
import { IotDataPlane, type IotDataService, iotDataService, mqttBroker } from './iot-data.ts';

/** One rule the stack runs: the topic filter, the extra fields its SELECT adds, the queues it sends to. */
export interface TopicRuleSpec {
  logicalId: string;
  filter: string;
  /** `topic()` and `timestamp()` aliases. */
  topicAs?: string | undefined;
  timestampAs?: string | undefined;
  /** Logical ids of the queues its SQS actions name. */
  queues: string[];
}

const SQL = /^SELECT\s+\*((?:\s*,\s*(?:topic|timestamp)\(\)\s+AS\s+\w+)*)\s+FROM\s+'([^']+)'\s*$/i;

/**
 * The rule a TopicRule resource declares, or why the stack cannot run it.
 *
 * @example
 * ```ts
 * topicRuleOf('Telemetry', { TopicRulePayload: { Sql: "SELECT * FROM 'a/+'", Actions: [{ Sqs: { QueueUrl: { Ref: 'Q' } } }] } });
 * ```
 */
export function topicRuleOf(logicalId: string, properties: unknown): TopicRuleSpec | string {
  const payload = (properties as { TopicRulePayload?: Record<string, unknown> } | undefined)
    ?.TopicRulePayload;
  const sql = typeof payload?.['Sql'] === 'string' ? payload['Sql'] : '';
  const match = SQL.exec(sql);
  if (match === null)
    return `IoT rule ${logicalId}: only SELECT *[, topic() AS x][, timestamp() AS y] FROM '...' runs locally`;
  const rule: TopicRuleSpec = { logicalId, filter: match[2] as string, queues: [] };
  for (const [, fn, alias] of (match[1] ?? '').matchAll(/(topic|timestamp)\(\)\s+AS\s+(\w+)/gi)) {
    if (fn?.toLowerCase() === 'topic') rule.topicAs = alias;
    else rule.timestampAs = alias;
  }
  const actions = Array.isArray(payload?.['Actions'])
    ? (payload['Actions'] as Record<string, unknown>[])
    : [];
  for (const action of actions) {
    const ref = (action['Sqs'] as { QueueUrl?: { Ref?: unknown } } | undefined)?.QueueUrl?.Ref;
    if (typeof ref === 'string') rule.queues.push(ref);
  }
  if (rule.queues.length === 0) return `IoT rule ${logicalId}: only SQS actions run locally`;
  return rule;
}

/**
 * Whether an MQTT topic filter (`+` one level, `#` the rest) matches a topic.
 *
 * @example
 * ```ts
 * topicMatches('devices/+/telemetry', 'devices/sensor-42/telemetry'); // true
 * ```
 */
export function topicMatches(filter: string, topic: string): boolean {
  const wanted = filter.split('/');
  const levels = topic.split('/');
  for (const [index, part] of wanted.entries()) {
    if (part === '#') return true;
    if (index >= levels.length || (part !== '+' && part !== levels[index])) return false;
  }
  return wanted.length === levels.length;
}

/** What a rule sends for one message: the JSON object with the SELECT's extra fields, else the text. */
export function ruleMessage(rule: TopicRuleSpec, topic: string, payload: Buffer, receivedAt: number): string {
  let value: unknown;
  try {
    value = JSON.parse(payload.toString('utf8'));
  } catch {
    return payload.toString('utf8');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return payload.toString('utf8');
  return JSON.stringify({
    ...value,
    ...(rule.topicAs === undefined ? {} : { [rule.topicAs]: topic }),
    ...(rule.timestampAs === undefined ? {} : { [rule.timestampAs]: receivedAt }),
  });
}

/** The IoT rules declared by the selected functions' function.yml. */
async function selectedRules(keys: ReadonlySet<string>, warn: (message: string) => void) {
  const rules: TopicRuleSpec[] = [];
  for (const fn of await discoverFunctions(REPO_ROOT)) {
    if (!keys.has(fn.name)) continue;
    const doc = parse(await readFile(fn.definitionFile, 'utf8')) as { resources?: Record<string, unknown> };
    for (const [logicalId, resource] of Object.entries(doc.resources ?? {})) {
      const { Type, Properties } = resource as { Type?: unknown; Properties?: unknown };
      if (Type !== 'AWS::IoT::TopicRule') continue;
      const rule = topicRuleOf(logicalId, Properties);
      if (typeof rule === 'string') warn(rule);
      else rules.push(rule);
    }
  }
  return rules;
}

/** The stack's IoT Core: the data-plane service, what it reaches, and how to stop it. */
export interface LocalIot {
  service: IotDataService;
  /** The broker's URL and kind, for the banner. */
  broker: string;
  rules: TopicRuleSpec[];
  close(): Promise<void>;
}

/**
 * Starts the data plane and the selected functions' rules.
 *
 * @example
 * ```ts
 * const iot = await startLocalIot({ selected, model, engine, warn: (message) => log.warn(message) });
 * services.iotData = iot.service;
 * ```
 */
export async function startLocalIot(options: {
  selected: readonly { key: string }[];
  model: Pick<LocalModel, 'queues'>;
  engine: Pick<QueueEngine, 'get'>;
  warn: (message: string) => void;
  port?: number;
}): Promise<LocalIot> {
  const port = options.port ?? 1883;
  const keys = new Set(options.selected.map((fn) => fn.key));
  const rules = await selectedRules(keys, options.warn);
  let embedded: EmbeddedMqtt | undefined;
  let url = `mqtt://127.0.0.1:${port}`;
  let version: 4 | 5 = 5;
  if (keys.has('iot-core') && !(await answers(port))) {
    embedded = await startEmbeddedMqtt();
    url = embedded.url;
    version = 4;
  }
  const broker = mqttBroker(url, version);
  let listener: MqttClient | undefined;
  if (rules.length > 0) {
    listener = await mqtt.connectAsync(url, { protocolVersion: version, reconnectPeriod: 1_000 });
    listener.on('message', (topic, payload) => {
      for (const rule of rules.filter((candidate) => topicMatches(candidate.filter, topic))) {
        const body = ruleMessage(rule, topic, payload, Date.now());
        for (const id of rule.queues) {
          const name = options.model.queues.find((queue) => queue.logicalId === id)?.name;
          const queue = name === undefined ? undefined : options.engine.get(name);
          if (queue === undefined) options.warn(`IoT rule ${rule.logicalId}: no local queue ${id}`);
          else queue.send({ body });
        }
      }
    });
    await listener.subscribeAsync(
      rules.map((rule) => rule.filter),
      { qos: 1 },
    );
  }
  return {
    service: iotDataService(new IotDataPlane({ broker, seed: true })),
    broker:
      embedded === undefined
        ? `Mosquitto ${url} (MQTT 5)`
        : `aedes ${url} (MQTT 3.1.1; Mosquitto is not running)`,
    rules,
    close: async () => {
      await listener?.endAsync();
      await broker.close();
      await embedded?.close();
    },
  };
}

/** What the IoT function reaches, for `/health` and the banner. */
export function iotReach(iot: LocalIot, awsUrl: string): ConnectorReach {
  return {
    connector: 'iot-core',
    kind: 'embedded',
    target: `IoT data plane ${awsUrl}, broker ${iot.broker}`,
  };
}
