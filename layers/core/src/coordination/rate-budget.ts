/**
 * A provider's rate limit as one budget that every container draws from, in the coordination table, and a
 * `Retry-After` seen by one container pausing them all. The HTTP client takes one unit before each attempt
 * ({@link RateBudget}).
 *
 * The budget is counted in short fixed windows (a tenth of the provider's period, or one call each when the
 * limit is under ten), whose shares add up to the limit over a period: taking a unit is one atomic
 * conditional `ADD` on the current window's item, so fifty containers never retry each other's writes. Any
 * sliding period then holds at most `limit` plus one window's share: declare a limit about 10% under the
 * provider's.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ANSWER_RESERVE_MS } from '../budget.ts';
import { remainingTimeMs } from '../context.ts';
import { RateLimitedError } from '../errors.ts';
import { type CoordinationTable, CoordinationUnavailable, ttlSeconds } from './table.ts';

/** What the HTTP client asks of a rate budget. */
export interface RateBudget {
  /** Waits for one unit of the budget; a RateLimitedError (with `retryAfterMs`) when none fits the time left. */
  take(): Promise<void>;
  /** The provider asked every caller to wait until `untilMs` (epoch ms). */
  pause(untilMs: number): Promise<void>;
}

/** A provider's limit: `limit` calls per `perMs`. */
export interface RateLimitDeclaration {
  limit: number;
  perMs: number;
}

export interface SharedRateBudgetOptions extends RateLimitDeclaration {
  table: CoordinationTable;
  /** The provider, in messages. */
  provider: string;
  /** How often a container re-reads the shared pause; default 250 ms. */
  pauseCheckMs?: number;
  now?: () => number;
}

/**
 * A {@link RateBudget} in the coordination table: window items `rate#<connector>#<window>` counted with
 * conditional `ADD`s, and one pause item `rate#<connector>#pause`. When the table cannot be reached the
 * budget lets calls through (the provider's own limit and `Retry-After` still apply), with a warning.
 *
 * @example
 * ```ts
 * const budget = new SharedRateBudget({ table, provider: 'Slack', limit: 45, perMs: 60_000 });
 * const slack = new HttpClient({ provider: 'Slack', baseUrl, auth, budget });
 * ```
 */
export class SharedRateBudget implements RateBudget {
  readonly #table: CoordinationTable;
  readonly #provider: string;
  readonly #windowMs: number;
  readonly #slices: number;
  readonly #limit: number;
  readonly #pauseCheckMs: number;
  readonly #now: () => number;
  #pausedUntil = 0;
  #pauseReadAt = Number.NEGATIVE_INFINITY;

  constructor(options: SharedRateBudgetOptions) {
    const { limit, perMs } = options;
    if (!Number.isInteger(limit) || limit < 1 || !Number.isFinite(perMs) || perMs <= 0) {
      throw new RangeError(
        `A rate limit needs a whole limit >= 1 and a period > 0, got ${limit} per ${perMs} ms`,
      );
    }
    this.#slices = Math.min(10, limit);
    this.#limit = limit;
    this.#table = options.table;
    this.#provider = options.provider;
    this.#windowMs = perMs / this.#slices;
    this.#pauseCheckMs = options.pauseCheckMs ?? 250;
    this.#now = options.now ?? Date.now;
  }

  async take(): Promise<void> {
    for (;;) {
      try {
        await this.#waitForPause();
        const now = this.#now();
        const window = Math.floor(now / this.#windowMs);
        if (await this.#count(window, now)) return;
        await this.#wait((window + 1) * this.#windowMs - now + Math.random() * 5);
      } catch (error) {
        if (!(error instanceof CoordinationUnavailable)) throw error;
        this.#table.fallingBack(`${this.#provider} calls are sent`, error);
        return;
      }
    }
  }

  async pause(untilMs: number): Promise<void> {
    this.#pausedUntil = Math.max(this.#pausedUntil, untilMs);
    const now = this.#now();
    try {
      await this.#table.update(this.#pausePk(), {
        update: 'SET #until = :until, #ttl = :ttl',
        condition: 'attribute_not_exists(#until) OR #until < :until',
        names: { '#until': 'until', '#ttl': 'ttl' },
        values: { ':until': untilMs, ':ttl': ttlSeconds(Math.max(now, untilMs), 3_600_000) },
      });
    } catch (error) {
      if (!(error instanceof CoordinationUnavailable)) throw error;
      this.#table.fallingBack(`a ${this.#provider} Retry-After is kept`, error);
    }
  }

  /** One more call in `window`, unless the window's share is spent. */
  #count(window: number, now: number): Promise<boolean> {
    return this.#table.update(`rate#${this.#table.connector}#${window}`, {
      update: 'ADD #n :one SET #ttl = :ttl',
      condition: 'attribute_not_exists(#n) OR #n < :limit',
      names: { '#n': 'n', '#ttl': 'ttl' },
      values: {
        ':one': 1,
        ':limit': this.#share(window),
        ':ttl': ttlSeconds(now, this.#windowMs + 3_600_000),
      },
    });
  }

  /** A window's share of the limit: the shares of any `slices` consecutive windows add up to `limit`. */
  #share(window: number): number {
    const slice = window % this.#slices;
    const upTo = (n: number) => Math.floor((n * this.#limit) / this.#slices);
    return upTo(slice + 1) - upTo(slice);
  }

  /** Waits out a pause this container saw, or (read at most every `pauseCheckMs`) another container set. */
  async #waitForPause(): Promise<void> {
    let now = this.#now();
    if (now - this.#pauseReadAt >= this.#pauseCheckMs) {
      this.#pauseReadAt = now;
      const item = await this.#table.get(this.#pausePk());
      const until = item?.['until'];
      if (typeof until === 'number') this.#pausedUntil = Math.max(this.#pausedUntil, until);
    }
    now = this.#now();
    if (this.#pausedUntil > now) await this.#wait(this.#pausedUntil - now);
  }

  /** Sleeps `ms`, or fails at once when the invocation would not have time left after it. */
  async #wait(ms: number): Promise<void> {
    if (ms > remainingTimeMs() - ANSWER_RESERVE_MS) {
      throw new RateLimitedError(
        `The ${this.#provider} rate budget shared by every container has no room within the time left`,
        { retryAfterMs: Math.ceil(ms), details: { provider: this.#provider } },
      );
    }
    await sleep(ms);
  }

  #pausePk(): string {
    return `rate#${this.#table.connector}#pause`;
  }
}
