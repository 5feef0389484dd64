/**
 * AWS IoT Core's data plane through the core's AWS kit: one SDK client from `createAwsClient` (SigV4 for
 * `iotdata`, the account's endpoint, bounded timeouts and attempts, tracing when on), every call through
 * `awsCall` (the invocation's time left as an abort signal, failures mapped once with the rows in
 * `errors.ts`). The only file that talks to AWS IoT.
 */
import {
  DeleteThingShadowCommand,
  GetThingShadowCommand,
  IoTDataPlaneClient,
  ListNamedShadowsForThingCommand,
  PublishCommand,
  UpdateThingShadowCommand,
} from '@aws-sdk/client-iot-data-plane';
import {
  awsCall,
  ConflictError,
  createAwsClient,
  type FieldIssue,
  NotFoundError,
  PayloadTooLargeError,
  parseJson,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import { iotCoreTarget, shadowLabel } from './errors.ts';
import {
  type DeleteShadowOutput,
  type ListNamedShadowsInput,
  type ListNamedShadowsOutput,
  MAX_TOPIC_BYTES,
  type PublishMessageInput,
  type PublishMessageOutput,
  type ShadowDocument,
  type ShadowInput,
  type UpdateShadowInput,
} from './models.ts';

/** What the client needs from the settings. */
export interface IotCoreOptions {
  /** The account's data endpoint; undefined leaves it to the SDK's endpoint variables. */
  endpoint: string | undefined;
  /** One call's budget including the SDK's retries; the invocation's time left may cut it shorter. */
  timeoutMs: number;
  maxAttempts: number;
}

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** A shadow answer's JSON, or a 502 naming what was wrong with it. */
function document(payload: Uint8Array | undefined, what: string): Json {
  let parsed: unknown;
  try {
    parsed = parseJson(new TextDecoder().decode(payload ?? new Uint8Array()), what);
  } catch (error) {
    throw new UnexpectedResponseError(`AWS IoT answered ${what} that is not JSON`, { cause: error });
  }
  if (!isObject(parsed) || typeof parsed['version'] !== 'number') {
    throw new UnexpectedResponseError(`AWS IoT answered ${what} without a version`);
  }
  return parsed;
}

/** The AWS error name a mapped failure carries in its details. */
function awsErrorOf(error: unknown): unknown {
  return error instanceof ValidationError ? error.details?.['awsError'] : undefined;
}

function named(shadowName: string | undefined): { shadowName?: string } {
  return shadowName === undefined ? {} : { shadowName };
}

function shadowOutput(input: ShadowInput, answer: Json): ShadowDocument {
  const state = isObject(answer['state']) ? answer['state'] : {};
  const section = (name: string) => (isObject(state[name]) ? { [name]: state[name] as Json } : {});
  return {
    thingName: input.thingName,
    ...named(input.shadowName),
    state: { ...section('desired'), ...section('reported'), ...section('delta') },
    metadata: isObject(answer['metadata']) ? answer['metadata'] : {},
    version: answer['version'] as number,
    timestamp: typeof answer['timestamp'] === 'number' ? answer['timestamp'] : Math.floor(Date.now() / 1000),
    ...(typeof answer['clientToken'] === 'string' ? { clientToken: answer['clientToken'] } : {}),
  };
}

/** AWS IoT's message size quota: a payload over it is refused with 413. */
export const MAX_MESSAGE_BYTES = 131_072;
/** AWS IoT's quota of forward slashes in a topic to publish to. */
const MAX_TOPIC_SLASHES = 7;
/** Basic Ingest's prefix, which AWS IoT does not count towards the slashes. */
const BASIC_INGEST = /^\$aws\/rules\/[^/]+\//;
/** U+0000 (MQTT forbids it in every string) and the other C0/C1 control characters (MQTT says not to send them). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A JSON pointer segment (RFC 6901): `~` and `/` escaped. */
const segment = (name: string) => name.replaceAll('~', '~0').replaceAll('/', '~1');

function controlIssue(pointer: string, value: string, what: string): FieldIssue[] {
  if (!value.isWellFormed()) {
    return [{ pointer, message: `${what} has a lone surrogate, which is not UTF-8 (MQTT strings are)` }];
  }
  return CONTROL.test(value)
    ? [
        {
          pointer,
          message: `${what} has a control character (U+0000-U+001F, U+007F-U+009F), which MQTT refuses`,
        },
      ]
    : [];
}

/**
 * What AWS IoT refuses in a topic: control characters and lone surrogates, more than 256 bytes of UTF-8
 * (the schema's `Topic` counts them too, but the message-publisher path names its topic `destination`),
 * and, in a topic published to (`slashes`), more than 7 forward slashes.
 */
function topicIssues(pointer: string, topic: string, slashesCounted = pointer === '/topic'): FieldIssue[] {
  const issues = controlIssue(pointer, topic, 'a topic');
  const bytes = Buffer.byteLength(topic);
  if (bytes > MAX_TOPIC_BYTES) {
    issues.push({
      pointer,
      message: `a topic is at most ${MAX_TOPIC_BYTES} bytes of UTF-8 (AWS IoT quota), this one is ${bytes}`,
    });
  }
  const slashes = topic.replace(BASIC_INGEST, '').split('/').length - 1;
  if (slashesCounted && slashes > MAX_TOPIC_SLASHES) {
    issues.push({
      pointer,
      message: `a topic has at most ${MAX_TOPIC_SLASHES} forward slashes (AWS IoT quota), this one has ${slashes}`,
    });
  }
  return issues;
}

/**
 * Refuses, before any call, a topic to publish to that AWS IoT would refuse (see {@link topicIssues}),
 * naming `pointer`: the message-publisher path's `/destination`, which its shared schema counts in
 * characters (up to 1024).
 */
export function checkTopic(topic: string, pointer: string): string {
  const issues = topicIssues(pointer, topic, true);
  if (issues.length > 0) {
    throw new ValidationError(`Invalid input: ${issues.map((issue) => issue.message).join('; ')}`, issues);
  }
  return topic;
}

/**
 * What AWS IoT or MQTT would refuse in a publish, checked before any call: control characters in the
 * topic, the response topic, the user properties and the content type (the schemas leave them open), more
 * than 7 slashes in the topic (400 naming each field), then a payload over 128 KB (413).
 */
function checkPublish(input: PublishMessageInput, payloadBytes: number): void {
  const issues = [
    ...topicIssues('/topic', input.topic),
    ...(input.responseTopic === undefined ? [] : topicIssues('/responseTopic', input.responseTopic)),
    ...Object.entries(input.userProperties ?? {}).flatMap(([name, value]) => [
      ...controlIssue(`/userProperties/${segment(name)}`, name, 'a user property name'),
      ...controlIssue(`/userProperties/${segment(name)}`, value, 'a user property value'),
    ]),
    ...(input.contentType === undefined
      ? []
      : controlIssue('/contentType', input.contentType, 'a content type')),
  ];
  if (issues.length > 0) {
    const listed = issues.map((issue) => `${issue.pointer}: ${issue.message}`).join('; ');
    throw new ValidationError(`Invalid input: ${listed}`, issues);
  }
  if (payloadBytes > MAX_MESSAGE_BYTES) throw tooLarge(payloadBytes);
}

function tooLarge(bytes: number | undefined, cause?: unknown): PayloadTooLargeError {
  const size = bytes === undefined ? 'is larger than AWS IoT takes' : `is ${bytes} bytes`;
  return new PayloadTooLargeError(MAX_MESSAGE_BYTES, {
    message: `The message at /payload ${size}; AWS IoT takes at most ${MAX_MESSAGE_BYTES} bytes (128 KB)`,
    details: { pointer: '/payload' },
    ...(cause === undefined ? {} : { cause }),
  });
}

/** MQTT 5 user properties as the data plane takes them: a JSON array of one-key objects. */
function userProperties(properties: Record<string, string> | undefined): string | undefined {
  if (properties === undefined || Object.keys(properties).length === 0) return undefined;
  return JSON.stringify(Object.entries(properties).map(([name, value]) => ({ [name]: value })));
}

/**
 * The data plane of one account. The SDK client is a parameter, so a test can hand in one that fails on
 * purpose.
 *
 * @example
 * ```ts
 * const iot = await IotCoreClient.create({ endpoint: undefined, timeoutMs: 5_000, maxAttempts: 3 });
 * await iot.updateShadow({ thingName: 'sensor-42', state: { desired: { temperature: 22 } }, version: 3 });
 * ```
 */
export class IotCoreClient {
  readonly #sdk: IoTDataPlaneClient;
  readonly #options: IotCoreOptions;

  constructor(sdk: IoTDataPlaneClient, options: IotCoreOptions) {
    this.#sdk = sdk;
    this.#options = options;
  }

  /** Builds the SDK client the kit's way (traced when tracing is on). */
  static async create(options: IotCoreOptions): Promise<IotCoreClient> {
    const sdk = await createAwsClient(IoTDataPlaneClient, 'iot-core', {
      connectionTimeoutMs: Math.min(options.timeoutMs, 3_000),
      requestTimeoutMs: options.timeoutMs,
      maxAttempts: options.maxAttempts,
      endpoint: options.endpoint,
    });
    return new IotCoreClient(sdk, options);
  }

  /** Publishes one message; text goes as is, anything else as JSON. */
  async publish(input: PublishMessageInput): Promise<PublishMessageOutput> {
    const text = typeof input.payload === 'string';
    const body = typeof input.payload === 'string' ? input.payload : JSON.stringify(input.payload);
    const payload = new TextEncoder().encode(body);
    checkPublish(input, payload.byteLength);
    const command = new PublishCommand({
      topic: input.topic,
      qos: input.qos,
      retain: input.retain,
      payload,
      userProperties: userProperties(input.userProperties),
      payloadFormatIndicator: 'UTF8_DATA',
      contentType: input.contentType ?? (text ? undefined : 'application/json'),
      responseTopic: input.responseTopic,
      messageExpiry: input.messageExpirySeconds,
    });
    try {
      await this.#call('Publish', `topic "${input.topic}"`, { topic: input.topic }, (abortSignal) =>
        this.#sdk.send(command, { abortSignal }),
      );
    } catch (error) {
      // AWS IoT's own 413 answers as the check above does.
      if (awsErrorOf(error) === 'RequestEntityTooLargeException') throw tooLarge(undefined, error);
      throw error;
    }
    return { topic: input.topic, qos: input.qos, retain: input.retain, bytes: payload.byteLength };
  }

  /** Reads a shadow: desired, reported, delta, metadata and version. */
  async getShadow(input: ShadowInput): Promise<ShadowDocument> {
    const command = new GetThingShadowCommand(input);
    const out = await this.#shadowCall('GetThingShadow', input, (abortSignal) =>
      this.#sdk.send(command, { abortSignal }),
    );
    return shadowOutput(input, document(out.payload, 'a shadow'));
  }

  /**
   * Updates a shadow. With `version`, a shadow that moved on refuses it (409): the ConflictError names the
   * current version when a read right after can tell it.
   */
  async updateShadow(input: UpdateShadowInput): Promise<ShadowDocument> {
    const { thingName, shadowName, ...request } = input;
    const payload = new TextEncoder().encode(JSON.stringify(request));
    const command = new UpdateThingShadowCommand({ thingName, ...named(shadowName), payload });
    try {
      const out = await this.#shadowCall('UpdateThingShadow', input, (abortSignal) =>
        this.#sdk.send(command, { abortSignal }),
      );
      return shadowOutput(input, document(out.payload, 'an accepted update'));
    } catch (error) {
      if (!(error instanceof ConflictError) || input.version === undefined) throw error;
      throw await this.#conflict(input, input.version, error);
    }
  }

  /** Deletes a shadow; its version is kept, so a shadow created again goes on counting from it. */
  async deleteShadow(input: ShadowInput): Promise<DeleteShadowOutput> {
    const command = new DeleteThingShadowCommand(input);
    const out = await this.#shadowCall('DeleteThingShadow', input, (abortSignal) =>
      this.#sdk.send(command, { abortSignal }),
    );
    const answer = document(out.payload, 'a deleted shadow');
    return {
      thingName: input.thingName,
      ...named(input.shadowName),
      deleted: true,
      version: answer['version'] as number,
      timestamp:
        typeof answer['timestamp'] === 'number' ? answer['timestamp'] : Math.floor(Date.now() / 1000),
    };
  }

  /** One page of a thing's named shadows. */
  async listNamedShadows(input: ListNamedShadowsInput): Promise<ListNamedShadowsOutput> {
    const command = new ListNamedShadowsForThingCommand(input);
    const out = await this.#call(
      'ListNamedShadowsForThing',
      `thing "${input.thingName}"`,
      { thingName: input.thingName },
      (abortSignal) => this.#sdk.send(command, { abortSignal }),
    ).catch((error: unknown) => {
      // With a token given, AWS IoT's 400 refuses the token: one it did not issue, or issued for another thing.
      if (input.nextToken === undefined || awsErrorOf(error) !== 'InvalidRequestException') throw error;
      const message = `not a token AWS IoT issued for thing "${input.thingName}": pass the nextToken of its previous page, or none to start over`;
      throw new ValidationError(
        `Invalid input: /nextToken: ${message}`,
        [{ pointer: '/nextToken', message }],
        { cause: error, details: { ...(error as ValidationError).details, pointer: '/nextToken' } },
      );
    });
    return {
      thingName: input.thingName,
      shadowNames: out.results ?? [],
      ...(out.nextToken === undefined || out.nextToken === '' ? {} : { nextToken: out.nextToken }),
    };
  }

  /**
   * Proves the endpoint, the credentials and the role for `health`: a shadow read answered 200 or 404 (the
   * probe thing need not exist) came through signed and allowed.
   */
  async ping(): Promise<void> {
    try {
      await this.getShadow({ thingName: 'circle-core-health' });
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
  }

  async #conflict(input: UpdateShadowInput, given: number, error: ConflictError): Promise<ConflictError> {
    const label = shadowLabel(input.thingName, input.shadowName);
    const current = await this.getShadow({ thingName: input.thingName, ...named(input.shadowName) }).then(
      (shadow) => shadow.version,
      () => undefined,
    );
    const now = current === undefined ? 'a newer version' : `version ${current}`;
    return new ConflictError(`${label} is at ${now}, not ${given}: read it again and retry`, {
      cause: error,
      details: {
        ...error.details,
        givenVersion: given,
        ...(current === undefined ? {} : { currentVersion: current }),
      },
    });
  }

  #shadowCall<T>(
    action: string,
    input: ShadowInput,
    send: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const details = { thingName: input.thingName, ...named(input.shadowName) };
    return this.#call(action, shadowLabel(input.thingName, input.shadowName), details, send);
  }

  #call<T>(
    action: string,
    resource: string,
    details: Record<string, unknown>,
    send: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    return awsCall({ ...iotCoreTarget(action, resource, details), timeoutMs: this.#options.timeoutMs }, send);
  }
}
