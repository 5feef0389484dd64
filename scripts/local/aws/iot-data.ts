/**
 * The AWS IoT Core data plane on the stack's AWS endpoint (requests signed for `iotdata`): the REST API as
 * the AWS IoT data plane API reference describes it (`POST /topics/{topic}`, `GET|POST|DELETE
 * /things/{thingName}/shadow[?name=]`, `GET /api/things/shadow/ListNamedShadowsForThing/{thingName}`),
 * with shadows kept as the device shadow service keeps them (versions that only grow, desired/reported/
 * delta, per-key metadata timestamps, `409 Version conflict` on a stale `version`, 8 KB documents) and
 * every publish, and the shadow service's own `$aws/things/...` messages, sent to a real MQTT broker.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import mqtt, { type IClientPublishOptions, type MqttClient } from 'mqtt';
import { AwsError, type RestService, serveRestJson } from './protocol.ts';

/** The data plane's routes (Publish reads MQTT 5 properties from the request's headers). */
export type IotDataService = RestService;

/** Where published messages go: a real broker (Mosquitto, aedes) in the stack and in tests. */
export interface IotBroker {
  publish(topic: string, payload: Buffer, options: IClientPublishOptions): Promise<void>;
}

type Json = Record<string, unknown>;
/** One shadow as the service keeps it. */
interface Shadow {
  desired?: Json | undefined;
  reported?: Json | undefined;
  metadata: { desired?: Json | undefined; reported?: Json | undefined };
  version: number;
  deleted: boolean;
}

/** The device shadow service's document limit (the data plane's default quota). */
export const SHADOW_MAX_BYTES = 8 * 1024;
/** The message broker's payload limit (128 KB): a larger Publish is refused with 413. */
export const MESSAGE_MAX_BYTES = 128 * 1024;
/** The broker's quota of forward slashes in a topic (Basic Ingest's `$aws/rules/<rule>/` not counted). */
const MAX_TOPIC_SLASHES = 7;
const BASIC_INGEST = /^\$aws\/rules\/[^/]+\//;
/** U+0000 and the other control characters MQTT refuses in a topic name. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/** How deep desired and reported may nest. */
const MAX_DEPTH = 6;
const THING = /^[a-zA-Z0-9:_-]{1,128}$/;
/** The API reference's shadowName pattern: `$` too, for reserved names such as `$package`. */
const SHADOW = /^[$a-zA-Z0-9:_-]{1,64}$/;

const invalid = (message: string) => new AwsError('InvalidRequestException', message);
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const now = () => Math.floor(Date.now() / 1000);

function depth(value: unknown): number {
  if (!isObject(value)) return 0;
  return 1 + Math.max(0, ...Object.values(value).map(depth));
}

/** Merges `patch` into `base` as an update does: null removes a key, objects merge, the rest replaces. */
function merge(base: Json | undefined, patch: Json): Json | undefined {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (isObject(value) && isObject(out[key])) out[key] = merge(out[key] as Json, value) ?? {};
    else out[key] = value;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

/** Per-key `{ timestamp }` for what an update set, shaped like the update. */
function stamp(patch: Json, timestamp: number): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) continue;
    out[key] = isObject(value) ? stamp(value, timestamp) : { timestamp };
  }
  return out;
}

/** Metadata merged as the update merges state: a key set is stamped, a key deleted with null loses its metadata. */
function mergeStamps(base: Json | undefined, patch: Json, timestamp: number): Json | undefined {
  const out: Json = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else if (isObject(value)) {
      const inner = mergeStamps(isObject(out[key]) ? out[key] : undefined, value, timestamp);
      if (inner === undefined) delete out[key];
      else out[key] = inner;
    } else out[key] = { timestamp };
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function mergeMetadata(base: Json | undefined, state: Json | undefined, patch: Json, timestamp: number) {
  return state === undefined ? undefined : mergeStamps(base, patch, timestamp);
}

/** The keys of desired whose value reported does not match (recursively), as the service computes it. */
function delta(desired: Json | undefined, reported: Json | undefined): Json | undefined {
  if (desired === undefined) return undefined;
  const out: Json = {};
  for (const [key, value] of Object.entries(desired)) {
    const other = reported?.[key];
    if (isObject(value) && isObject(other)) {
      const inner = delta(value, other);
      if (inner !== undefined) out[key] = inner;
    } else if (JSON.stringify(value) !== JSON.stringify(other)) out[key] = value;
  }
  return Object.keys(out).length === 0 ? undefined : out;
}

function pick(source: Json | undefined, keys: Json | undefined): Json | undefined {
  if (source === undefined || keys === undefined) return undefined;
  return Object.fromEntries(Object.keys(keys).map((key) => [key, source[key]]));
}

function defined(entries: Json): Json {
  return Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined));
}

/** An update's body as the service checks it: 8 KB, JSON, a `state` of desired/reported objects. */
function parseUpdate(body: Buffer): Json {
  if (body.length > SHADOW_MAX_BYTES) {
    throw new AwsError(
      'RequestEntityTooLargeException',
      `The payload exceeds the maximum size allowed (${SHADOW_MAX_BYTES} bytes)`,
      { status: 413 },
    );
  }
  let request: unknown;
  try {
    request = JSON.parse(body.toString('utf8'));
  } catch {
    throw invalid('Payload contains invalid json');
  }
  if (!isObject(request) || !isObject(request['state'])) throw invalid('Missing required node: state');
  const state = request['state'];
  for (const part of ['desired', 'reported'] as const) {
    const value = state[part];
    if (value !== undefined && value !== null && !isObject(value))
      throw invalid(`State node must be an object`);
    if (depth(value) > MAX_DEPTH) throw invalid('JSON contains too many levels of nesting; maximum is 6');
  }
  return request;
}

/** The MQTT 5 properties a Publish carries in its query and headers. */
function mqttProperties(
  query: URLSearchParams,
  headers: Headers,
): NonNullable<IClientPublishOptions['properties']> {
  const properties: NonNullable<IClientPublishOptions['properties']> = {};
  const user = headers.get('x-amz-mqtt5-user-properties');
  if (user !== null) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.from(user, 'base64').toString('utf8'));
    } catch {
      throw invalid('x-amz-mqtt5-user-properties must be a base64-encoded JSON array');
    }
    if (!Array.isArray(parsed)) throw invalid('x-amz-mqtt5-user-properties must be a JSON array');
    const props: Record<string, string[]> = {};
    for (const entry of parsed) {
      for (const [name, value] of Object.entries(isObject(entry) ? entry : {})) {
        props[name] = [...(props[name] ?? []), String(value)];
      }
    }
    properties.userProperties = props;
  }
  const format = headers.get('x-amz-mqtt5-payload-format-indicator');
  if (format === 'UTF8_DATA') properties.payloadFormatIndicator = true;
  const contentType = query.get('contentType');
  if (contentType !== null) properties.contentType = contentType;
  const responseTopic = query.get('responseTopic');
  if (responseTopic !== null) properties.responseTopic = responseTopic;
  const expiry = query.get('messageExpiry');
  if (expiry !== null) properties.messageExpiryInterval = Number(expiry);
  return properties;
}

/**
 * The data plane of one local account: shadows in memory, publishes to `broker`.
 *
 * @example
 * ```ts
 * const plane = new IotDataPlane({ broker: mqttBroker('mqtt://127.0.0.1:1883') });
 * services.iotData = iotDataService(plane);
 * ```
 */
export class IotDataPlane {
  readonly #shadows = new Map<string, Shadow>();
  /** The nextTokens this plane issued: opaque, each bound to its thing and where its page starts. */
  readonly #tokens = new Map<string, { thing: string; start: number }>();
  readonly #broker: IotBroker;

  constructor(options: { broker: IotBroker; seed?: boolean }) {
    this.#broker = options.broker;
    if (options.seed === true) this.seed();
  }

  /** The documented examples' data: thing `sensor-42` with a classic shadow and a named `config` one. */
  seed(): void {
    const timestamp = now();
    this.#write('sensor-42', undefined, {
      desired: { temperature: 21, mode: 'eco' },
      reported: { temperature: 19, mode: 'eco', firmware: '1.4.2' },
      timestamp,
    });
    this.#write('sensor-42', 'config', { desired: { interval: 60 }, reported: { interval: 60 }, timestamp });
  }

  #write(
    thing: string,
    name: string | undefined,
    state: { desired: Json; reported: Json; timestamp: number },
  ) {
    this.#shadows.set(this.#key(thing, name), {
      desired: state.desired,
      reported: state.reported,
      metadata: {
        desired: stamp(state.desired, state.timestamp),
        reported: stamp(state.reported, state.timestamp),
      },
      version: 1,
      deleted: false,
    });
  }

  #key(thing: string, name: string | undefined): string {
    return `${thing}\u0000${name ?? ''}`;
  }

  #topic(thing: string, name: string | undefined, suffix: string): string {
    return name === undefined
      ? `$aws/things/${thing}/shadow/${suffix}`
      : `$aws/things/${thing}/shadow/name/${name}/${suffix}`;
  }

  #live(thing: string, name: string | undefined): Shadow {
    const shadow = this.#shadows.get(this.#key(thing, name));
    if (shadow === undefined || shadow.deleted) {
      throw new AwsError('ResourceNotFoundException', `No shadow exists with name: '${name ?? thing}'`, {
        status: 404,
      });
    }
    return shadow;
  }

  /** GetThingShadow: state with delta, metadata, version, timestamp. */
  get(thing: string, name: string | undefined): Json {
    const shadow = this.#live(thing, name);
    return defined({
      state: defined({
        desired: shadow.desired,
        reported: shadow.reported,
        delta: delta(shadow.desired, shadow.reported),
      }),
      metadata: defined({ desired: shadow.metadata.desired, reported: shadow.metadata.reported }),
      version: shadow.version,
      timestamp: now(),
    });
  }

  /** UpdateThingShadow: checks the version, merges, answers the accepted document and publishes. */
  async update(thing: string, name: string | undefined, body: Buffer): Promise<Json> {
    const request = parseUpdate(body);
    const state = request['state'] as Json;
    const key = this.#key(thing, name);
    const existing = this.#shadows.get(key);
    const live = existing !== undefined && !existing.deleted ? existing : undefined;
    const expected = request['version'];
    if (expected !== undefined) {
      if (typeof expected !== 'number' || !Number.isInteger(expected)) throw invalid('Invalid version');
      if (live === undefined || expected !== live.version) {
        throw new AwsError('ConflictException', 'Version conflict', { status: 409 });
      }
    }
    const timestamp = now();
    const previous = live === undefined ? undefined : structuredClone(live);
    const shadow: Shadow = {
      desired: live?.desired,
      reported: live?.reported,
      metadata: { ...live?.metadata },
      version: (existing?.version ?? 0) + 1,
      deleted: false,
    };
    const accepted: Json = {};
    const metadata: Json = {};
    for (const part of ['desired', 'reported'] as const) {
      const patch = state[part];
      if (patch === undefined) continue;
      if (!isObject(patch)) {
        shadow[part] = undefined;
        shadow.metadata[part] = undefined;
        accepted[part] = null;
        continue;
      }
      shadow[part] = merge(shadow[part], patch);
      shadow.metadata[part] = mergeMetadata(shadow.metadata[part], shadow[part], patch, timestamp);
      accepted[part] = patch;
      metadata[part] = stamp(patch, timestamp);
    }
    this.#shadows.set(key, shadow);
    const clientToken = typeof request['clientToken'] === 'string' ? request['clientToken'] : undefined;
    const answer = defined({ state: accepted, metadata, version: shadow.version, timestamp, clientToken });
    const document = (value: Shadow) =>
      defined({
        state: defined({ desired: value.desired, reported: value.reported }),
        metadata: defined({ desired: value.metadata.desired, reported: value.metadata.reported }),
        version: value.version,
      });
    await this.#send(this.#topic(thing, name, 'update/accepted'), answer);
    await this.#send(
      this.#topic(thing, name, 'update/documents'),
      defined({
        previous: previous === undefined ? null : document(previous),
        current: document(shadow),
        timestamp,
        clientToken,
      }),
    );
    const changed = delta(shadow.desired, shadow.reported);
    // The service sends a delta when an update touches desired and desired still differs from reported.
    if (changed !== undefined && state['desired'] !== undefined && state['desired'] !== null) {
      await this.#send(
        this.#topic(thing, name, 'update/delta'),
        defined({
          version: shadow.version,
          timestamp,
          state: changed,
          metadata: pick(shadow.metadata.desired, changed),
          clientToken,
        }),
      );
    }
    return answer;
  }

  /** DeleteThingShadow: the version goes on counting from where it was when the shadow comes back. */
  async delete(thing: string, name: string | undefined): Promise<Json> {
    const shadow = this.#live(thing, name);
    shadow.deleted = true;
    shadow.desired = undefined;
    shadow.reported = undefined;
    shadow.metadata = {};
    const answer = { version: shadow.version, timestamp: now() };
    await this.#send(this.#topic(thing, name, 'delete/accepted'), answer);
    return answer;
  }

  /**
   * ListNamedShadowsForThing: names in order, `pageSize` at a time, an opaque token for the rest; a token
   * this plane did not issue, or issued for another thing, is refused (InvalidRequestException, 400).
   */
  listNamed(thing: string, pageSize: number, nextToken: string | undefined): Json {
    const names = [...this.#shadows.entries()]
      .filter(([key, shadow]) => key.startsWith(`${thing}\u0000`) && !shadow.deleted)
      .map(([key]) => key.slice(thing.length + 1))
      .filter((name) => name !== '')
      .sort();
    const issued = nextToken === undefined ? undefined : this.#tokens.get(nextToken);
    if (nextToken !== undefined && issued?.thing !== thing) throw invalid('Invalid nextToken');
    const start = issued?.start ?? 0;
    const results = names.slice(start, start + pageSize);
    let next: string | undefined;
    if (start + pageSize < names.length) {
      next = randomBytes(24).toString('base64url');
      this.#tokens.set(next, { thing, start: start + pageSize });
      // The oldest go first once there are many: a long-lived stack does not grow without bound.
      if (this.#tokens.size > 10_000) this.#tokens.delete(this.#tokens.keys().next().value as string);
    }
    return defined({ results, nextToken: next, timestamp: now() });
  }

  /** Publish: the message to the broker with its QoS, retain flag and MQTT 5 properties. */
  async publish(topic: string, query: URLSearchParams, headers: Headers, body: Buffer): Promise<Json> {
    if (topic === '' || /[+#]/.test(topic) || Buffer.byteLength(topic) > 256 || CONTROL.test(topic)) {
      throw invalid('Invalid topic: 1-256 bytes, no wildcards, no control characters');
    }
    if (topic.replace(BASIC_INGEST, '').split('/').length - 1 > MAX_TOPIC_SLASHES) {
      throw invalid(`Invalid topic: at most ${MAX_TOPIC_SLASHES} forward slashes`);
    }
    if (body.length > MESSAGE_MAX_BYTES) {
      throw new AwsError(
        'RequestEntityTooLargeException',
        `The payload exceeds the maximum size allowed (${MESSAGE_MAX_BYTES} bytes)`,
        { status: 413 },
      );
    }
    const qos = Number(query.get('qos') ?? '0');
    if (qos !== 0 && qos !== 1) throw invalid('qos must be 0 or 1');
    const properties = mqttProperties(query, headers);
    await this.#broker.publish(topic, body, {
      qos,
      retain: query.get('retain') === 'true',
      ...(Object.keys(properties).length === 0 ? {} : { properties }),
    });
    return {};
  }

  async #send(topic: string, message: Json): Promise<void> {
    await this.#broker.publish(topic, Buffer.from(JSON.stringify(message)), { qos: 1 });
  }
}

function names(thingRaw: string, name: string | null): { thing: string; shadow: string | undefined } {
  const thing = decodeURIComponent(thingRaw);
  if (!THING.test(thing)) throw invalid('Invalid thing name');
  if (name !== null && !SHADOW.test(name)) throw invalid('Invalid shadow name');
  return { thing, shadow: name ?? undefined };
}

function shadowRoute(
  plane: IotDataPlane,
  method: string,
  thing: string,
  shadow: string | undefined,
  body: Buffer,
) {
  if (method === 'GET') return plane.get(thing, shadow);
  if (method === 'POST') return plane.update(thing, shadow, body);
  if (method === 'DELETE') return plane.delete(thing, shadow);
  throw new AwsError('MethodNotAllowedException', `${method} is not allowed here`, { status: 405 });
}

/**
 * The data-plane routes the local stack serves; `headers` come from the request.
 *
 * @example
 * ```ts
 * services.iotData = iotDataService(new IotDataPlane({ broker, seed: true }));
 * ```
 */
export function iotDataService(plane: IotDataPlane): IotDataService {
  return async ({ method, path, query, body, headers }) => {
    const topic = /^\/topics\/(.+)$/.exec(path)?.[1];
    if (topic !== undefined && method === 'POST') {
      return { status: 200, body: await plane.publish(decodeURIComponent(topic), query, headers, body) };
    }
    const shadowPath = /^\/things\/([^/]+)\/shadow$/.exec(path)?.[1];
    if (shadowPath !== undefined) {
      const { thing, shadow } = names(shadowPath, query.get('name'));
      return { status: 200, body: await shadowRoute(plane, method, thing, shadow, body) };
    }
    const listed = /^\/api\/things\/shadow\/ListNamedShadowsForThing\/([^/]+)$/.exec(path)?.[1];
    if (listed !== undefined && method === 'GET') {
      const { thing } = names(listed, null);
      const pageSize = Number(query.get('pageSize') ?? '25');
      if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 100)
        throw invalid('pageSize must be 1-100');
      return { status: 200, body: plane.listNamed(thing, pageSize, query.get('nextToken') ?? undefined) };
    }
    throw new AwsError(
      'UnknownOperationException',
      `IoT data plane ${method} ${path} is not served locally`,
      {
        status: 404,
      },
    );
  };
}

/**
 * A broker connection opened on first use (and again after a failure), for the stack's data plane.
 *
 * @example
 * ```ts
 * const broker = mqttBroker('mqtt://127.0.0.1:1883', 5);
 * await broker.publish('devices/a/telemetry', Buffer.from('{}'), { qos: 1 });
 * await broker.close();
 * ```
 */
export function mqttBroker(url: string, protocolVersion: 4 | 5 = 5): IotBroker & { close(): Promise<void> } {
  let client: Promise<MqttClient> | undefined;
  const open = (): Promise<MqttClient> => {
    client ??= mqtt
      .connectAsync(url, { protocolVersion, reconnectPeriod: 0, connectTimeout: 3_000 })
      .catch((error: unknown) => {
        client = undefined;
        throw error;
      });
    return client;
  };
  return {
    async publish(topic, payload, options) {
      let connection: MqttClient;
      try {
        connection = await open();
        if (!connection.connected) {
          client = undefined;
          connection = await open();
        }
      } catch {
        throw new AwsError('ServiceUnavailableException', 'The local MQTT broker is not reachable', {
          status: 503,
        });
      }
      const { properties, ...rest } = options;
      await connection.publishAsync(topic, payload, protocolVersion === 5 ? options : rest);
    },
    async close() {
      const opened = client;
      client = undefined;
      if (opened !== undefined) await (await opened.catch(() => undefined))?.endAsync();
    },
  };
}

/**
 * Answers one signed `iotdata` request on the AWS endpoint: the restJson frame of `protocol.ts`, with the
 * data plane's error body (`{ code, message }`).
 *
 * @example
 * ```ts
 * if (signedService(req) === 'iotdata') await serveIotData(req, res, services.iotData, body);
 * ```
 */
export function serveIotData(
  req: IncomingMessage,
  res: ServerResponse,
  service: IotDataService,
  body: Buffer,
): Promise<void> {
  return serveRestJson(req, res, service, body, (error) => ({ code: error.status, message: error.message }));
}
