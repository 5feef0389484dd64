/**
 * EventBridge over AWS JSON 1.1 (`x-amz-target: AWSEvents.<Operation>`): event buses, rules with event
 * patterns, targets (SQS queues, Lambda functions, Step Functions state machines, SNS topics) with
 * `Input`, `InputPath` and `InputTransformer`, PutEvents with per-entry failures and the 1 MiB entry
 * limit, and TestEventPattern. Matching rules deliver at once. Reference: the Amazon EventBridge API
 * Reference, "Amazon EventBridge events" (the event's shape) and "Calculating PutEvents event entry size".
 */
import { randomUUID } from 'node:crypto';
import { EVENTBRIDGE_REQUEST_LIMIT_BYTES } from '../../../layers/core/src/aws/limits.ts';
import type { QueueEngine } from '../queues/queue-engine.ts';
import { matchesPattern, PatternError, parsePattern } from './event-pattern.ts';
import { AwsError, type JsonRequest, type JsonService } from './protocol.ts';

/** The largest PutEvents request (and so entry), by EventBridge's own size calculation: 1 MiB since January 2026. */
export const MAX_ENTRY_BYTES = EVENTBRIDGE_REQUEST_LIMIT_BYTES;
const MAX_ENTRIES = 10;

/** A rule's target. */
export interface RuleTarget {
  Id: string;
  Arn: string;
  Input?: string;
  InputPath?: string;
  InputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
  SqsParameters?: { MessageGroupId?: string };
}

/** A rule on a bus. */
export interface Rule {
  name: string;
  arn: string;
  bus: string;
  pattern: Record<string, unknown> | undefined;
  patternText: string | undefined;
  scheduleExpression: string | undefined;
  state: 'ENABLED' | 'DISABLED';
  description: string | undefined;
  targets: RuleTarget[];
}

/** Where targets are delivered. */
export interface EventTargets {
  queues: QueueEngine;
  invoke?: ((functionArn: string, payload: unknown) => Promise<unknown>) | undefined;
  startExecution?: ((stateMachineArn: string, input: string) => unknown) | undefined;
  publish?: ((topicArn: string, message: string) => unknown) | undefined;
  onDeliveryFailure?: ((rule: Rule, target: RuleTarget, reason: string) => void) | undefined;
}

/** One event as rules see it. */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
}

const eventsError = (type: string, message: string): AwsError => new AwsError(type, message);

/**
 * EventBridge's size of a PutEvents entry: 14 bytes for a Time, the UTF-8 bytes of Source, DetailType,
 * Detail and each resource.
 *
 * @example
 * ```ts
 * entrySize({ Source: 'app', DetailType: 'x', Detail: '{}' }); // 6
 * ```
 */
export function entrySize(entry: Record<string, unknown>): number {
  let size = entry['Time'] === undefined ? 0 : 14;
  for (const field of ['Source', 'DetailType', 'Detail']) {
    if (typeof entry[field] === 'string') size += Buffer.byteLength(entry[field]);
  }
  if (Array.isArray(entry['Resources'])) {
    for (const resource of entry['Resources']) {
      if (typeof resource === 'string') size += Buffer.byteLength(resource);
    }
  }
  return size;
}

/** A JSONPath of the simple kind EventBridge takes (`$.detail.items[0].id`), or undefined when absent. */
function readPath(event: unknown, path: string): unknown {
  if (path === '$') return event;
  if (!path.startsWith('$.')) return undefined;
  let current: unknown = event;
  for (const part of path.slice(2).split('.')) {
    const match = /^([^[\]]+)((?:\[\d+\])*)$/.exec(part);
    if (match === null) return undefined;
    current = (current as Record<string, unknown> | undefined)?.[match[1] ?? ''];
    for (const index of (match[2] ?? '').matchAll(/\[(\d+)\]/g)) {
      current = Array.isArray(current) ? current[Number(index[1])] : undefined;
    }
    if (current === undefined) return undefined;
  }
  return current;
}

/**
 * An input transformer's output: each `<name>` of the template replaced by its path's value (a string
 * inside quotes as its text, anything else as JSON), plus the predefined `<aws.events.*>` names.
 *
 * @example
 * ```ts
 * transformInput(event, rule, { InputPathsMap: { who: '$.detail.user' }, InputTemplate: '{"user": <who>}' });
 * ```
 */
export function transformInput(
  event: BusEvent,
  rule: Rule,
  transformer: NonNullable<RuleTarget['InputTransformer']>,
): string {
  const values: Record<string, unknown> = {
    'aws.events.rule-arn': rule.arn,
    'aws.events.rule-name': rule.name,
    'aws.events.event.ingestion-time': event.time,
    'aws.events.event': event,
    'aws.events.event.json': event,
  };
  for (const [name, path] of Object.entries(transformer.InputPathsMap ?? {})) {
    values[name] = readPath(event, path);
  }
  return transformer.InputTemplate.replace(/("?)<([A-Za-z0-9_.-]+)>("?)/g, (whole, open, name, close) => {
    if (!Object.hasOwn(values, name)) return whole;
    const value = values[name];
    if (open === '"' && close === '"') {
      return typeof value === 'string'
        ? JSON.stringify(value)
        : JSON.stringify(JSON.stringify(value ?? null));
    }
    const text =
      typeof value === 'string' ? JSON.stringify(value).slice(1, -1) : JSON.stringify(value ?? null);
    return `${open}${text}${close}`;
  });
}

/** The input a target receives for an event. */
function targetInput(event: BusEvent, rule: Rule, target: RuleTarget): string {
  if (target.Input !== undefined) return target.Input;
  if (target.InputPath !== undefined) return JSON.stringify(readPath(event, target.InputPath) ?? null);
  if (target.InputTransformer !== undefined) return transformInput(event, rule, target.InputTransformer);
  return JSON.stringify(event);
}

/** Event buses, their rules and targets. */
export class EventBuses {
  readonly #buses = new Map<string, { name: string; arn: string; rules: Map<string, Rule> }>();
  readonly #region: string;
  readonly #accountId: string;
  readonly #targets: EventTargets;

  constructor(options: { region: string; accountId: string; targets: EventTargets }) {
    this.#region = options.region;
    this.#accountId = options.accountId;
    this.#targets = options.targets;
    this.createBus('default');
  }

  busArn(name: string): string {
    return `arn:aws:events:${this.#region}:${this.#accountId}:event-bus/${name}`;
  }

  /**
   * Creates a bus.
   *
   * @example
   * ```ts
   * buses.createBus('orders');
   * ```
   */
  createBus(name: string): string {
    if (!/^[\w.\-/]{1,256}$/.test(name)) {
      throw eventsError('ValidationException', `Event bus name ${name} is not valid`);
    }
    if (this.#buses.has(name)) {
      throw eventsError('ResourceAlreadyExistsException', `Event bus ${name} already exists.`);
    }
    const arn = this.busArn(name);
    this.#buses.set(name, { name, arn, rules: new Map() });
    return arn;
  }

  /** A bus by name or ARN (default `default`), or ResourceNotFoundException. */
  bus(nameOrArn: unknown) {
    const text = typeof nameOrArn === 'string' && nameOrArn !== '' ? nameOrArn : 'default';
    const name = text.startsWith('arn:') ? text.slice(text.indexOf('event-bus/') + 10) : text;
    const bus = this.#buses.get(name);
    if (bus === undefined)
      throw eventsError('ResourceNotFoundException', `Event bus ${name} does not exist.`);
    return bus;
  }

  buses() {
    return [...this.#buses.values()];
  }

  deleteBus(name: string): void {
    if (name === 'default') throw eventsError('ValidationException', 'Cannot delete event bus default.');
    this.#buses.delete(name);
  }

  /**
   * Creates or updates a rule.
   *
   * @example
   * ```ts
   * buses.putRule({ Name: 'big-orders', EventBusName: 'orders', EventPattern: '{"detail":{"total":[{"numeric":[">",100]}]}}' });
   * ```
   */
  putRule(body: Record<string, unknown>): Rule {
    const name = body['Name'];
    if (typeof name !== 'string' || !/^[\w.-]{1,64}$/.test(name)) {
      throw eventsError('ValidationException', 'Rule name must be 1-64 of letters, digits, . - _');
    }
    const bus = this.bus(body['EventBusName']);
    const patternText = typeof body['EventPattern'] === 'string' ? body['EventPattern'] : undefined;
    const schedule = typeof body['ScheduleExpression'] === 'string' ? body['ScheduleExpression'] : undefined;
    if (patternText === undefined && schedule === undefined) {
      throw eventsError(
        'ValidationException',
        'Parameter(s) EventPattern or ScheduleExpression must be specified.',
      );
    }
    let pattern: Record<string, unknown> | undefined;
    if (patternText !== undefined) {
      try {
        pattern = parsePattern(patternText);
      } catch (error) {
        if (!(error instanceof PatternError)) throw error;
        throw eventsError(
          'InvalidEventPatternException',
          `Event pattern is not valid. Reason: ${error.message}`,
        );
      }
    }
    const existing = bus.rules.get(name);
    const suffix = bus.name === 'default' ? name : `${bus.name}/${name}`;
    const rule: Rule = {
      name,
      arn: `arn:aws:events:${this.#region}:${this.#accountId}:rule/${suffix}`,
      bus: bus.name,
      pattern,
      patternText,
      scheduleExpression: schedule,
      state: body['State'] === 'DISABLED' ? 'DISABLED' : 'ENABLED',
      description: typeof body['Description'] === 'string' ? body['Description'] : undefined,
      targets: existing?.targets ?? [],
    };
    bus.rules.set(name, rule);
    return rule;
  }

  rule(name: unknown, busName: unknown): Rule {
    const bus = this.bus(busName);
    const rule = typeof name === 'string' ? bus.rules.get(name) : undefined;
    if (rule === undefined) {
      throw eventsError(
        'ResourceNotFoundException',
        `Rule ${String(name)} does not exist on EventBus ${bus.name}.`,
      );
    }
    return rule;
  }

  deleteRule(name: unknown, busName: unknown): void {
    const rule = this.rule(name, busName);
    if (rule.targets.length > 0) {
      throw eventsError('ValidationException', "Rule can't be deleted since it has targets.");
    }
    this.bus(busName).rules.delete(rule.name);
  }

  /** Adds or replaces targets by id; a target whose ARN the stack cannot deliver to fails alone. */
  putTargets(name: unknown, busName: unknown, targets: unknown) {
    const rule = this.rule(name, busName);
    const list = Array.isArray(targets) ? (targets as RuleTarget[]) : [];
    if (list.length === 0 || list.length > 5) {
      throw eventsError('ValidationException', 'Targets must hold between 1 and 5 targets.');
    }
    const failed: Record<string, string>[] = [];
    for (const target of list) {
      const service = typeof target.Arn === 'string' ? target.Arn.split(':')[2] : undefined;
      if (typeof target.Id !== 'string' || target.Id === '') {
        failed.push({ TargetId: '', ErrorCode: 'ValidationException', ErrorMessage: 'Id is required' });
      } else if (service === undefined || !['sqs', 'lambda', 'states', 'sns'].includes(service)) {
        failed.push({
          TargetId: target.Id,
          ErrorCode: 'ValidationException',
          ErrorMessage: `The local stack delivers to SQS, Lambda, Step Functions and SNS targets, not ${String(target.Arn)}`,
        });
      } else {
        rule.targets = [...rule.targets.filter((existing) => existing.Id !== target.Id), target];
      }
    }
    return { FailedEntryCount: failed.length, FailedEntries: failed };
  }

  removeTargets(name: unknown, busName: unknown, ids: unknown) {
    const rule = this.rule(name, busName);
    const remove = new Set(Array.isArray(ids) ? ids : []);
    rule.targets = rule.targets.filter((target) => !remove.has(target.Id));
    return { FailedEntryCount: 0, FailedEntries: [] };
  }

  /**
   * Puts events: each entry checked alone (a failed one does not stop the rest), each accepted one matched
   * against its bus's enabled rules and delivered to their targets.
   *
   * @example
   * ```ts
   * buses.putEvents([{ Source: 'app', DetailType: 'order-placed', Detail: '{"total":5}' }]);
   * ```
   */
  putEvents(entries: unknown) {
    const list = Array.isArray(entries) ? (entries as Record<string, unknown>[]) : [];
    if (list.length === 0 || list.length > MAX_ENTRIES) {
      throw eventsError(
        'ValidationException',
        `1 validation error detected: Value at 'entries' failed to satisfy constraint: Member must have length between 1 and ${MAX_ENTRIES}`,
      );
    }
    const total = list.reduce((sum, entry) => sum + entrySize(entry), 0);
    if (total > MAX_ENTRY_BYTES) {
      throw eventsError('ValidationException', 'Total size of the entries in the request is over the limit.');
    }
    const results = list.map((entry) => {
      try {
        return { EventId: this.#accept(entry) };
      } catch (error) {
        if (!(error instanceof AwsError)) throw error;
        return { ErrorCode: error.type, ErrorMessage: error.message };
      }
    });
    return { FailedEntryCount: results.filter((result) => 'ErrorCode' in result).length, Entries: results };
  }

  #accept(entry: Record<string, unknown>): string {
    for (const field of ['Source', 'DetailType', 'Detail']) {
      if (typeof entry[field] !== 'string' || entry[field] === '') {
        throw eventsError(
          'InvalidArgument',
          `Parameter ${field} is not valid. Reason: ${field} is a required argument.`,
        );
      }
    }
    let detail: unknown;
    try {
      detail = JSON.parse(entry['Detail'] as string);
    } catch {
      throw eventsError('MalformedDetail', 'Detail is malformed.');
    }
    if (typeof detail !== 'object' || detail === null || Array.isArray(detail)) {
      throw eventsError('MalformedDetail', 'Detail is malformed.');
    }
    const bus = this.bus(entry['EventBusName']);
    const time = typeof entry['Time'] === 'number' ? new Date(entry['Time'] * 1000) : new Date();
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry['DetailType'] as string,
      source: entry['Source'] as string,
      account: this.#accountId,
      time: time.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.#region,
      resources: Array.isArray(entry['Resources']) ? (entry['Resources'] as string[]) : [],
      detail,
    };
    for (const rule of bus.rules.values()) {
      if (rule.state !== 'ENABLED' || rule.pattern === undefined) continue;
      if (!matchesPattern(rule.pattern, event)) continue;
      for (const target of rule.targets) this.#deliver(event, rule, target);
    }
    return event.id;
  }

  #deliver(event: BusEvent, rule: Rule, target: RuleTarget): void {
    const fail = (reason: string): void => {
      this.#targets.onDeliveryFailure?.(rule, target, reason);
    };
    try {
      const input = targetInput(event, rule, target);
      const problem = this.#send(target, input, event, rule);
      if (problem instanceof Promise) problem.catch((error: unknown) => fail((error as Error).message));
      else if (problem !== undefined) fail(problem);
    } catch (error) {
      fail((error as Error).message);
    }
  }

  /** Hands the input to the target's service: undefined when done, a reason when it could not be. */
  #send(
    target: RuleTarget,
    input: string,
    event: BusEvent,
    rule: Rule,
  ): string | Promise<unknown> | undefined {
    const service = target.Arn.split(':')[2];
    const targets = this.#targets;
    if (service === 'sqs') {
      const queue = targets.queues.byArn(target.Arn);
      if (queue === undefined) return 'the queue does not exist';
      const groupId = target.SqsParameters?.MessageGroupId ?? rule.name;
      queue.send({ body: input, ...(queue.fifo ? { groupId, deduplicationId: event.id } : {}) });
      return undefined;
    }
    if (service === 'lambda') {
      return targets.invoke === undefined
        ? 'no functions run here'
        : targets.invoke(target.Arn, JSON.parse(input));
    }
    if (service === 'states') {
      if (targets.startExecution === undefined) return 'no state machines run here';
      targets.startExecution(target.Arn, input);
      return undefined;
    }
    if (targets.publish === undefined) return 'no topics here';
    targets.publish(target.Arn, input);
    return undefined;
  }
}

function ruleJson(rule: Rule): Record<string, unknown> {
  const answer: Record<string, unknown> = {
    Name: rule.name,
    Arn: rule.arn,
    EventBusName: rule.bus,
    State: rule.state,
  };
  if (rule.patternText !== undefined) answer['EventPattern'] = rule.patternText;
  if (rule.scheduleExpression !== undefined) answer['ScheduleExpression'] = rule.scheduleExpression;
  if (rule.description !== undefined) answer['Description'] = rule.description;
  return answer;
}

/**
 * The EventBridge operations over `buses`.
 *
 * @example
 * ```ts
 * const events = eventBridgeService(buses);
 * await events({ operation: 'PutEvents', body: { Entries: [...] } });
 * ```
 */
export function eventBridgeService(buses: EventBuses): JsonService {
  const operations: Record<string, (body: Record<string, unknown>) => unknown> = {
    CreateEventBus: (body) => ({ EventBusArn: buses.createBus(String(body['Name'] ?? '')) }),
    DescribeEventBus: (body) => {
      const bus = buses.bus(body['Name']);
      return { Name: bus.name, Arn: bus.arn };
    },
    ListEventBuses: (body) => {
      const prefix = typeof body['NamePrefix'] === 'string' ? body['NamePrefix'] : '';
      return {
        EventBuses: buses
          .buses()
          .filter((bus) => bus.name.startsWith(prefix))
          .map((bus) => ({ Name: bus.name, Arn: bus.arn })),
      };
    },
    DeleteEventBus: (body) => {
      buses.deleteBus(String(body['Name'] ?? ''));
      return {};
    },
    PutRule: (body) => ({ RuleArn: buses.putRule(body).arn }),
    DescribeRule: (body) => ruleJson(buses.rule(body['Name'], body['EventBusName'])),
    ListRules: (body) => {
      const prefix = typeof body['NamePrefix'] === 'string' ? body['NamePrefix'] : '';
      const rules = [...buses.bus(body['EventBusName']).rules.values()];
      return { Rules: rules.filter((rule) => rule.name.startsWith(prefix)).map(ruleJson) };
    },
    DeleteRule: (body) => {
      buses.deleteRule(body['Name'], body['EventBusName']);
      return {};
    },
    EnableRule: (body) => {
      buses.rule(body['Name'], body['EventBusName']).state = 'ENABLED';
      return {};
    },
    DisableRule: (body) => {
      buses.rule(body['Name'], body['EventBusName']).state = 'DISABLED';
      return {};
    },
    PutTargets: (body) => buses.putTargets(body['Rule'], body['EventBusName'], body['Targets']),
    RemoveTargets: (body) => buses.removeTargets(body['Rule'], body['EventBusName'], body['Ids']),
    ListTargetsByRule: (body) => ({ Targets: buses.rule(body['Rule'], body['EventBusName']).targets }),
    PutEvents: (body) => buses.putEvents(body['Entries']),
    TestEventPattern: (body) => {
      let pattern: Record<string, unknown>;
      try {
        pattern = parsePattern(body['EventPattern']);
      } catch (error) {
        if (!(error instanceof PatternError)) throw error;
        throw eventsError(
          'InvalidEventPatternException',
          `Event pattern is not valid. Reason: ${error.message}`,
        );
      }
      let event: unknown;
      try {
        event = JSON.parse(String(body['Event'] ?? ''));
      } catch {
        throw eventsError('InvalidEventPatternException', 'Event is not valid JSON.');
      }
      return { Result: matchesPattern(pattern, event) };
    },
  };
  return async ({ operation, body }: JsonRequest) => {
    const handler = Object.hasOwn(operations, operation) ? operations[operation] : undefined;
    if (handler === undefined) {
      throw eventsError(
        'UnknownOperationException',
        `AWSEvents.${operation} is not served by the local stack`,
      );
    }
    return handler(body);
  };
}
