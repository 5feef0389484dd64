/**
 * Fires every `schedule` event of serverless.yml at its `rate()`/`cron()` times, with the event EventBridge
 * would send: the rule's constant `input`, or the scheduled event itself (optionally cut by `inputPath`).
 * `fire` runs a function's rules now (`npm run schedule -- <function>`).
 */
import { randomUUID } from 'node:crypto';
import type { ScheduleRule } from '../config/model.ts';
import type { InvokeOutcome } from '../functions/function-process.ts';
import type { StackLog } from '../log.ts';
import { parseSchedule, type Schedule } from './expressions.ts';

const MAX_TIMER_MS = 2_147_483_647;

/**
 * The event a rule sends its target.
 *
 * @example
 * ```ts
 * scheduledEvent(rule, { region: 'us-east-1', accountId: '000000000000' }); // rule.input, or the Scheduled Event
 * ```
 */
export function scheduledEvent(
  rule: ScheduleRule,
  options: { region: string; accountId: string; time?: Date },
): unknown {
  if (rule.input !== undefined) return rule.input;
  const event: Record<string, unknown> = {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: options.accountId,
    time: (options.time ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region: options.region,
    resources: [`arn:aws:events:${options.region}:${options.accountId}:rule/${rule.name}`],
    detail: {},
  };
  if (rule.inputPath === undefined || rule.inputPath === '$') return event;
  let value: unknown = event;
  for (const key of rule.inputPath
    .replace(/^\$\.?/, '')
    .split('.')
    .filter(Boolean)) {
    value = typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value ?? null;
}

/** A rule as `/health` shows it. */
export interface RuleDescription {
  kind: ScheduleRule['kind'];
  target: string;
  rule: string;
  expression: string;
  enabled: boolean;
  next?: string;
  input?: unknown;
  error?: string;
}

interface Armed {
  rule: ScheduleRule;
  schedule: Schedule | undefined;
  next: number | undefined;
  timer: NodeJS.Timeout | undefined;
  error: string | undefined;
}

/** `fire` with an index the target's schedules do not have (the target has at least one). */
export class ScheduleIndexError extends Error {
  readonly target: string;
  readonly count: number;
  readonly index: number;

  constructor(target: string, count: number, index: number, flag = 'index') {
    super(scheduleIndexMessage(target, count, index, flag));
    this.name = 'ScheduleIndexError';
    this.target = target;
    this.count = count;
    this.index = index;
  }
}

/**
 * What to say for an index out of range: how many schedules the target has and the valid range.
 *
 * @example
 * ```ts
 * scheduleIndexMessage('github', 1, 5, '--index'); // "github has 1 schedule(s); --index 5 is out of range (0..0)"
 * ```
 */
export function scheduleIndexMessage(target: string, count: number, index: number, flag = 'index'): string {
  return `${target} has ${count} schedule(s); ${flag} ${index} is out of range (0..${count - 1})`;
}

/** The stack's scheduler. */
export class Scheduler {
  readonly #rules: Armed[];
  readonly #invoke: (rule: ScheduleRule, event: unknown) => Promise<InvokeOutcome>;
  readonly #region: string;
  readonly #accountId: string;
  readonly #log: StackLog;
  #running = false;

  constructor(
    rules: ScheduleRule[],
    options: {
      /** Runs the rule's target: invokes the function or starts the state machine. */
      invoke: (rule: ScheduleRule, event: unknown) => Promise<InvokeOutcome>;
      region: string;
      accountId: string;
      log: StackLog;
    },
  ) {
    this.#invoke = options.invoke;
    this.#region = options.region;
    this.#accountId = options.accountId;
    this.#log = options.log;
    this.#rules = rules.map((rule) => {
      try {
        return {
          rule,
          schedule: parseSchedule(rule.expression),
          next: undefined,
          timer: undefined,
          error: undefined,
        };
      } catch (error) {
        return {
          rule,
          schedule: undefined,
          next: undefined,
          timer: undefined,
          error: (error as Error).message,
        };
      }
    });
    for (const armed of this.#rules) {
      if (armed.error !== undefined)
        this.#log.warn('schedule ignored', { rule: armed.rule.name, error: armed.error });
    }
  }

  /** Arms every enabled rule. */
  start(): void {
    this.#running = true;
    for (const armed of this.#rules) {
      if (armed.rule.enabled && armed.schedule !== undefined) this.#arm(armed, Date.now());
    }
  }

  /** Disarms every rule. */
  stop(): void {
    this.#running = false;
    for (const armed of this.#rules) clearTimeout(armed.timer);
  }

  #arm(armed: Armed, after: number): void {
    if (!this.#running || armed.schedule === undefined) return;
    armed.next = armed.schedule.next(after);
    if (armed.next === undefined) return;
    const due = armed.next;
    armed.timer = setTimeout(
      () => {
        if (Date.now() < due) {
          this.#arm(armed, Date.now() - 1);
          return;
        }
        void this.#run(armed.rule).then(() => undefined);
        this.#arm(armed, due);
      },
      Math.min(Math.max(0, due - Date.now()), MAX_TIMER_MS),
    );
    armed.timer.unref();
  }

  async #run(rule: ScheduleRule): Promise<InvokeOutcome> {
    const outcome = await this.#invoke(
      rule,
      scheduledEvent(rule, { region: this.#region, accountId: this.#accountId }),
    );
    if (outcome.error !== undefined) {
      this.#log.warn('scheduled invocation failed', {
        rule: rule.name,
        target: rule.target,
        errorType: outcome.error.errorType,
      });
    }
    return outcome;
  }

  /**
   * Fires the rules of a function (key) or a state machine (name) now: all of them, or the one at `index`;
   * disabled ones included.
   *
   * @example
   * ```ts
   * const [outcome] = await scheduler.fire('github');
   * ```
   */
  async fire(target: string, index?: number): Promise<{ rule: string; outcome: InvokeOutcome }[]> {
    const rules = this.#rules.filter((armed) => armed.rule.target === target);
    if (
      index !== undefined &&
      rules.length > 0 &&
      !(Number.isInteger(index) && index >= 0 && index < rules.length)
    ) {
      throw new ScheduleIndexError(target, rules.length, index);
    }
    const chosen = index === undefined ? rules : rules.slice(index, index + 1);
    const results: { rule: string; outcome: InvokeOutcome }[] = [];
    for (const armed of chosen) results.push({ rule: armed.rule.name, outcome: await this.#run(armed.rule) });
    return results;
  }

  /** Every rule with its next firing, for `/health` and the start-up table. */
  describe(): RuleDescription[] {
    return this.#rules.map((armed) => {
      const entry: RuleDescription = {
        kind: armed.rule.kind,
        target: armed.rule.target,
        rule: armed.rule.name,
        expression: armed.rule.expression,
        enabled: armed.rule.enabled,
      };
      if (armed.next !== undefined) entry.next = new Date(armed.next).toISOString();
      if (armed.rule.input !== undefined) entry.input = armed.rule.input;
      if (armed.error !== undefined) entry.error = armed.error;
      return entry;
    });
  }
}
