/**
 * Amazon EventBridge as a {@link MessagePublisher}, through the core's AWS kit: one SDK client from
 * `createAwsClient`, every call through `awsCall` (the invocation's time left as an abort signal, failures
 * mapped once with the rows in `errors.ts`), the interface's shared checks and EventBridge's own entry size
 * before any call. A message's body is the event's `detail` (a JSON object); EventBridge routes it by rules
 * to their targets, so there is no pull, no attribute, no ordering and no deduplication. The only file that
 * talks to EventBridge.
 */
import {
  DescribeEventBusCommand,
  DescribeRuleCommand,
  EventBridgeClient,
  ListTargetsByRuleCommand,
  PutEventsCommand,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import {
  type AwsCallTarget,
  awsCall,
  awsEntryFailure,
  type ConnectorError,
  createAwsClient,
  EVENTBRIDGE_ENTRY_LIMIT_BYTES,
  EVENTBRIDGE_REQUEST_LIMIT_BYTES,
  ForbiddenError,
  PayloadTooLargeError,
  parseInput,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import { refuseCapability } from '#shared/interfaces/capabilities.ts';
import {
  batchOutput,
  checkBatch,
  checkMessage,
  entryFailure,
  type MessagePublisher,
  type MessagePublisherCapability,
  type MessagePublisherLimits,
} from '#shared/interfaces/message-publisher.ts';
import type {
  PublishBatchOutput,
  PublishEntryResult,
  PublishOutput,
  ReceiveInput,
  ReceiveOutput,
  SettleInput,
  SettleOutput,
} from '#shared/models/message-publisher.ts';
import { eventBridgeTarget, RULE_ERRORS } from './errors.ts';
import {
  DescribeBusInput,
  type DescribeBusOutput,
  DescribeRuleInput,
  type DescribeRuleOutput,
  type EventMessage,
  PutEventInput,
  PutEventsInput,
} from './models.ts';

const NAME = 'Amazon EventBridge';
/** EventBridge's own limits: 10 entries per PutEvents, 1 MiB per entry and per request (since January 2026); no pull. */
export const EVENTBRIDGE_LIMITS: MessagePublisherLimits = {
  maxBatchEntries: 10,
  maxMessageBytes: EVENTBRIDGE_ENTRY_LIMIT_BYTES,
  maxBatchBytes: EVENTBRIDGE_REQUEST_LIMIT_BYTES,
  maxReceive: 0,
};

/** What the client needs from the settings. */
export interface EventBridgeOptions {
  /** The bus, by name or ARN. */
  bus: string;
  source: string;
  detailType: string;
  /** One call's budget including the SDK's retries; the invocation's time left may cut it shorter. */
  timeoutMs: number;
  maxAttempts: number;
}

/**
 * The size of an entry as EventBridge counts it ("Calculating PutEvents event entry size"): the UTF-8
 * bytes of Source, DetailType, Detail and each resource (14 more for a Time, which the connector never
 * sends: EventBridge stamps the event).
 *
 * @example
 * ```ts
 * entrySize({ Source: 'shop', DetailType: 'order-placed', Detail: '{}' }); // 18
 * ```
 */
export function entrySize(entry: PutEventsRequestEntry): number {
  let size = entry.Time === undefined ? 0 : 14;
  for (const text of [entry.Source, entry.DetailType, entry.Detail, ...(entry.Resources ?? [])]) {
    if (text !== undefined) size += Buffer.byteLength(text);
  }
  return size;
}

/** Entry failures that are EventBridge's own trouble, not the sender's. */
const SERVICE_FAULTS = new Set(['InternalFailure', 'InternalException', 'ThrottlingException']);

/**
 * EventBridge's refusal of one event, mapped by the shared AWS rows; `MalformedDetail` (the detail is not a
 * JSON object) names the message's `body`, which is the detail, at `pointer`.
 */
function entryRefusal(
  bus: string,
  code: string | undefined,
  senderFault: boolean,
  pointer: string,
): ConnectorError {
  const mapped = awsEntryFailure(eventBridgeTarget('PutEvents', bus), code, senderFault);
  if (code !== 'MalformedDetail' || !(mapped instanceof ValidationError)) return mapped;
  const message = 'expected a JSON object: EventBridge refused the detail as malformed (MalformedDetail)';
  const options = mapped.details === undefined ? {} : { details: mapped.details };
  return new ValidationError(`Invalid input: ${pointer}: ${message}`, [{ pointer, message }], options);
}

/**
 * One event bus as a message publisher: each message becomes one event whose `detail` is its body.
 *
 * @example
 * ```ts
 * const bus = await EventBridgePublisher.create({ bus: 'orders', source: 'shop', detailType: 'message', timeoutMs: 5_000, maxAttempts: 3 });
 * await bus.publish({ body: '{"order":"o-1"}', detailType: 'order-placed' });
 * ```
 */
export class EventBridgePublisher implements MessagePublisher {
  readonly capabilities: ReadonlySet<MessagePublisherCapability> = new Set();
  readonly limits = EVENTBRIDGE_LIMITS;
  readonly #sdk: EventBridgeClient;
  readonly #options: EventBridgeOptions;
  readonly #busName: string;

  constructor(sdk: EventBridgeClient, options: EventBridgeOptions) {
    this.#sdk = sdk;
    this.#options = options;
    this.#busName = options.bus.startsWith('arn:')
      ? options.bus.slice(options.bus.indexOf('event-bus/') + 'event-bus/'.length)
      : options.bus;
  }

  /** Builds the SDK client the kit's way (traced when tracing is on). */
  static async create(options: EventBridgeOptions): Promise<EventBridgePublisher> {
    const sdk = await createAwsClient(EventBridgeClient, 'eventbridge', {
      connectionTimeoutMs: Math.min(options.timeoutMs, 3_000),
      requestTimeoutMs: options.timeoutMs,
      maxAttempts: options.maxAttempts,
    });
    return new EventBridgePublisher(sdk, options);
  }

  /** Puts one event; a refusal of it is thrown, mapped like any failure. */
  async publish(raw: PutEventInput): Promise<PublishOutput> {
    const { destination, ...message } = parseInput(PutEventInput, raw);
    const bus = this.#bus(destination);
    const entry = this.#entry(bus, message, '');
    const out = await this.#put(bus, [entry]);
    const [result] = out;
    if (result === undefined || !result.ok) {
      throw result?.ok === false
        ? entryRefusal(this.#busName, result.code, result.senderFault, '/body')
        : new UnexpectedResponseError('EventBridge answered no result for the event');
    }
    return { messageId: result.eventId };
  }

  /** Puts up to 10 events in one PutEvents; an entry EventBridge refuses fails alone. */
  async publishBatch(raw: PutEventsInput): Promise<PublishBatchOutput> {
    const input = parseInput(PutEventsInput, raw);
    const bus = this.#bus(input.destination);
    checkBatch(this, input.entries, NAME);
    const entries = input.entries.map((message, index) => this.#entry(bus, message, `/entries/${index}`));
    const total = entries.reduce((sum, entry) => sum + entrySize(entry), 0);
    if (total > EVENTBRIDGE_LIMITS.maxBatchBytes) {
      throw new PayloadTooLargeError(EVENTBRIDGE_LIMITS.maxBatchBytes, {
        message: `The events are ${total} bytes as EventBridge counts them (source, detail type, detail, resources); one PutEvents takes at most ${EVENTBRIDGE_LIMITS.maxBatchBytes}`,
      });
    }
    const results: PublishEntryResult[] = (await this.#put(bus, entries)).map((result, index) =>
      result.ok
        ? { index, ok: true, messageId: result.eventId }
        : {
            index,
            ok: false,
            error: entryFailure(
              entryRefusal(this.#busName, result.code, result.senderFault, `/entries/${index}/body`),
            ),
          },
    );
    return batchOutput(results);
  }

  /** EventBridge keeps nothing for a reader: NotSupportedError (501). */
  async receive(_raw: ReceiveInput = {}): Promise<ReceiveOutput> {
    return refuseCapability(this, 'pull', NAME);
  }

  /** EventBridge keeps nothing for a reader: NotSupportedError (501). */
  async acknowledge(_raw: SettleInput): Promise<SettleOutput> {
    return refuseCapability(this, 'pull', NAME);
  }

  /** EventBridge keeps nothing for a reader: NotSupportedError (501). */
  async release(_raw: SettleInput): Promise<SettleOutput> {
    return refuseCapability(this, 'pull', NAME);
  }

  /** The bus's name and ARN (proves it exists and the role may see it). */
  async describeBus(raw: unknown = {}): Promise<DescribeBusOutput> {
    parseInput(DescribeBusInput, raw);
    const out = await this.#call('DescribeEventBus', (abortSignal) =>
      this.#sdk.send(new DescribeEventBusCommand({ Name: this.#options.bus }), { abortSignal }),
    );
    if (out.Name === undefined || out.Arn === undefined) {
      throw new UnexpectedResponseError('EventBridge described the bus without a name or ARN');
    }
    return { name: out.Name, arn: out.Arn };
  }

  /** A rule of the bus: its pattern or schedule, its state and its targets. */
  async describeRule(raw: DescribeRuleInput): Promise<DescribeRuleOutput> {
    const input = parseInput(DescribeRuleInput, raw);
    const bus = this.#options.bus;
    // Here ResourceNotFoundException names the rule (or its bus): a 404 about the caller's input.
    const ofRule = { resource: `rule "${input.name}" on event bus "${this.#busName}"`, table: RULE_ERRORS };
    const [rule, targets] = await Promise.all([
      this.#call(
        'DescribeRule',
        (abortSignal) =>
          this.#sdk.send(new DescribeRuleCommand({ Name: input.name, EventBusName: bus }), { abortSignal }),
        ofRule,
      ),
      this.#call(
        'ListTargetsByRule',
        (abortSignal) =>
          this.#sdk.send(new ListTargetsByRuleCommand({ Rule: input.name, EventBusName: bus }), {
            abortSignal,
          }),
        ofRule,
      ),
    ]);
    return {
      name: rule.Name ?? input.name,
      arn: rule.Arn ?? '',
      state: rule.State ?? 'ENABLED',
      ...(rule.EventPattern === undefined ? {} : { eventPattern: rule.EventPattern }),
      ...(rule.ScheduleExpression === undefined ? {} : { scheduleExpression: rule.ScheduleExpression }),
      targets: (targets.Targets ?? []).map((target) => ({ id: target.Id ?? '', arn: target.Arn ?? '' })),
    };
  }

  /** Proves the credentials, the endpoint and the bus for `health` (DescribeEventBus). */
  async ping(): Promise<void> {
    await this.describeBus({});
  }

  /** The event of one message, checked against the interface and EventBridge's entry size. */
  #entry(bus: string, message: EventMessage, pointer: string): PutEventsRequestEntry {
    const { detailType, source, resources, ...common } = message;
    checkMessage(this, common, NAME, pointer);
    const entry: PutEventsRequestEntry = {
      EventBusName: bus,
      Source: source ?? this.#options.source,
      DetailType: detailType ?? this.#options.detailType,
      Detail: common.body,
      ...(resources === undefined ? {} : { Resources: resources }),
    };
    const size = entrySize(entry);
    if (size > EVENTBRIDGE_LIMITS.maxMessageBytes) {
      throw new PayloadTooLargeError(EVENTBRIDGE_LIMITS.maxMessageBytes, {
        message: `The event${pointer === '' ? '' : ` at ${pointer}`} is ${size} bytes as EventBridge counts them (source, detail type, detail, resources); it takes at most ${EVENTBRIDGE_LIMITS.maxMessageBytes}`,
      });
    }
    return entry;
  }

  async #put(
    _bus: string,
    entries: PutEventsRequestEntry[],
  ): Promise<
    Array<{ ok: true; eventId: string } | { ok: false; code: string | undefined; senderFault: boolean }>
  > {
    const out = await this.#call('PutEvents', (abortSignal) =>
      this.#sdk.send(new PutEventsCommand({ Entries: entries }), { abortSignal }),
    );
    const answered = out.Entries ?? [];
    if (answered.length !== entries.length) {
      throw new UnexpectedResponseError(
        `EventBridge answered ${answered.length} results for ${entries.length} events`,
      );
    }
    return answered.map((result) =>
      result.EventId !== undefined && result.ErrorCode === undefined
        ? { ok: true, eventId: result.EventId }
        : {
            ok: false,
            code: result.ErrorCode,
            senderFault: !SERVICE_FAULTS.has(result.ErrorCode ?? ''),
          },
    );
  }

  /** The configured bus, named by its name or ARN; any other is refused (the role names it alone). */
  #bus(requested: string | undefined): string {
    const bus = this.#options.bus;
    if (requested === undefined || requested === bus || requested === this.#busName) return bus;
    throw new ForbiddenError(`Event bus "${requested}" is not this connector's bus (EVENTBRIDGE_BUS_NAME)`);
  }

  #call<T>(
    action: string,
    send: (abortSignal: AbortSignal) => Promise<T>,
    override: Partial<AwsCallTarget> = {},
  ): Promise<T> {
    const target = { ...eventBridgeTarget(action, this.#busName), ...override };
    return awsCall({ ...target, timeoutMs: this.#options.timeoutMs }, send);
  }
}
