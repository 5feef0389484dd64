/**
 * A daily allowance (model tokens, messages sent, dollars) that every container of a function spends from,
 * counted per UTC day in the coordination table: `quota#<connector>#<unit>#<yyyy-mm-dd>`, one atomic `ADD`
 * per call. A call is refused once the day's total has reached the limit; the call that crosses it is let
 * through (its size is known only after it ran), so a day can end at most one call over.
 *
 * Without the table (`CIRCLE_COORDINATION_TABLE` absent, as in library use) each container counts alone, and
 * while the table is unreachable too (with the table's warning): the limit then holds per container.
 */
import { RateLimitedError } from '../errors.ts';
import { type CoordinationTable, CoordinationUnavailable, ttlSeconds } from './table.ts';

const DAY_MS = 86_400_000;

export interface DailyQuotaOptions {
  /** The coordination table, or undefined to count in this container only. */
  table: CoordinationTable | undefined;
  /** The connector, in the key and the messages (`openai`). */
  connector: string;
  /** What is counted, plural (`tokens`). */
  unit: string;
  /** The most that may be spent per UTC day; must be a whole number >= 1. */
  limit: number;
  /** The setting that holds the limit, named in the refusal so an operator knows what to raise. */
  setting: string;
  now?: () => number;
}

/**
 * @example
 * ```ts
 * const quota = new DailyQuota({ table, connector: 'openai', unit: 'tokens', limit: 2_000_000, setting: 'OPENAI_DAILY_TOKEN_BUDGET' });
 * await quota.ensureRoom();            // a RateLimitedError once today's tokens are spent
 * const answer = await model.completeChat(input);
 * await quota.spend(answer.usage.totalTokens);
 * ```
 */
export class DailyQuota {
  readonly #options: DailyQuotaOptions;
  readonly #now: () => number;
  /** This container's own count, per day: the fallback, and what it has spent itself. */
  #day = '';
  #spentHere = 0;

  constructor(options: DailyQuotaOptions) {
    if (!Number.isInteger(options.limit) || options.limit < 1) {
      throw new RangeError(`A daily quota needs a whole limit >= 1, got ${options.limit}`);
    }
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Resolves when today's total is under the limit; otherwise a RateLimitedError until the next UTC day. */
  async ensureRoom(): Promise<void> {
    const now = this.#now();
    const used = await this.#usedToday(now);
    if (used < this.#options.limit) return;
    const { connector, unit, limit, setting } = this.#options;
    const resetsAt = (Math.floor(now / DAY_MS) + 1) * DAY_MS;
    throw new RateLimitedError(
      `The daily ${unit} budget of ${connector} is spent: ${used} of ${limit} used today (UTC, ${setting}); it resets at ${new Date(resetsAt).toISOString()}`,
      { retryAfterMs: resetsAt - now, details: { connector, unit, limit, used } },
    );
  }

  /** Adds what one call spent to today's total. Never fails the call: the work is done and paid for. */
  async spend(amount: number): Promise<void> {
    if (!Number.isFinite(amount) || amount <= 0) return;
    const now = this.#now();
    this.#local(now);
    this.#spentHere += amount;
    const table = this.#options.table;
    if (table === undefined) return;
    try {
      await table.update(this.#pk(now), {
        update: 'ADD #n :amount SET #ttl = :ttl',
        names: { '#n': 'n', '#ttl': 'ttl' },
        values: { ':amount': amount, ':ttl': ttlSeconds(now, 2 * DAY_MS) },
      });
    } catch (error) {
      if (!(error instanceof CoordinationUnavailable)) throw error;
      table.fallingBack(`the daily ${this.#options.unit} budget is counted`, error);
    }
  }

  async #usedToday(now: number): Promise<number> {
    this.#local(now);
    const { table } = this.#options;
    if (table === undefined) return this.#spentHere;
    try {
      const n = (await table.get(this.#pk(now)))?.['n'];
      return Math.max(typeof n === 'number' ? n : 0, this.#spentHere);
    } catch (error) {
      if (!(error instanceof CoordinationUnavailable)) throw error;
      table.fallingBack(`the daily ${this.#options.unit} budget is counted`, error);
      return this.#spentHere;
    }
  }

  /** Starts this container's own count afresh on a new UTC day. */
  #local(now: number): void {
    const day = new Date(now).toISOString().slice(0, 10);
    if (day === this.#day) return;
    this.#day = day;
    this.#spentHere = 0;
  }

  #pk(now: number): string {
    const { connector, unit } = this.#options;
    return `quota#${connector}#${unit}#${new Date(now).toISOString().slice(0, 10)}`;
  }
}
