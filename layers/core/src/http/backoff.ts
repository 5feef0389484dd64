/**
 * How long to wait before the next attempt: exponential backoff with full jitter, and the provider's own
 * answer when it gives one (`Retry-After`, or the rate-limit headers a provider declares).
 */

/**
 * A provider's rate-limit headers, declared as data (see `defineRestProvider`): the core knows no
 * provider's names. Without a declaration only `Retry-After` is read.
 */
export interface RateLimitHeaders {
  /** The header that says how long to wait, delta-seconds or an HTTP-date; default `retry-after`. */
  retryAfter?: string;
  /** The header counting the requests left in the window, e.g. `x-ratelimit-remaining`. */
  remaining?: string;
  /** The header saying when the window resets, read when `remaining` is `0`, e.g. `x-ratelimit-reset`. */
  reset?: string;
  /** How `reset` is written; default `epoch-seconds`. */
  resetFormat?: 'epoch-seconds' | 'epoch-ms' | 'delta-seconds' | 'http-date';
  /**
   * Statuses besides 429 that mean "throttled" when the answer announces a wait or no requests remain
   * (GitHub answers 403 for its rate limits); otherwise they keep their usual meaning.
   */
  throttleStatuses?: readonly number[];
}

/** Bounds of the backoff curve. */
export interface BackoffOptions {
  /** The cap of the first retry's delay, in ms. */
  baseDelayMs: number;
  /** No delay exceeds this, in ms. */
  maxDelayMs: number;
}

/**
 * The delay before retry number `attempt` (1 = the first retry): a uniform random value in
 * `[0, min(maxDelayMs, baseDelayMs * 2^(attempt-1)))`. Full jitter spreads the retries of many callers
 * hit by the same outage, where "equal" jitter would have them come back in waves.
 *
 * @example
 * ```ts
 * const delay = backoffDelayMs(2, { baseDelayMs: 100, maxDelayMs: 5_000 }); // somewhere in [0, 200)
 * const top = backoffDelayMs(2, { baseDelayMs: 100, maxDelayMs: 5_000 }, () => 0.999); // ~200
 * ```
 */
export function backoffDelayMs(
  attempt: number,
  options: BackoffOptions,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, attempt - 1);
  const cap = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** exponent);
  return Math.floor(random() * Math.max(0, cap));
}

const DELTA_SECONDS = /^\d+(?:\.\d+)?$/;

/**
 * Parses a `Retry-After` value, delta-seconds (`120`) or an HTTP-date (`Wed, 21 Oct 2015 07:28:00 GMT`),
 * into milliseconds from `now`. A date in the past gives 0; anything unreadable gives `undefined`.
 *
 * @example
 * ```ts
 * parseRetryAfter('3'); // 3000
 * parseRetryAfter(new Date(Date.now() + 5_000).toUTCString()); // about 5000
 * ```
 */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (trimmed === '') return undefined;
  if (DELTA_SECONDS.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
  // Every HTTP-date form names a day and a month; bare numbers ("-5") must not pass as years.
  const at = /[a-z]{3}/i.test(trimmed) ? Date.parse(trimmed) : Number.NaN;
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/** When the window resets, in ms from `now`, read in the declared format. */
function resetWaitMs(value: string | undefined, format: RateLimitHeaders['resetFormat'], now: number) {
  if (value === undefined) return undefined;
  if (format === 'http-date') return parseRetryAfter(value, now);
  const number = Number(value.trim());
  if (value.trim() === '' || !Number.isFinite(number) || number < 0) return undefined;
  if (format === 'delta-seconds') return Math.ceil(number * 1000);
  if (number === 0) return undefined;
  const at = format === 'epoch-ms' ? number : number * 1000;
  return Math.max(0, Math.ceil(at - now));
}

/**
 * Whether an answer says no requests remain in the window, by the declared `remaining` header.
 *
 * @example
 * ```ts
 * exhausted({ 'x-ratelimit-remaining': '0' }, { remaining: 'x-ratelimit-remaining' }); // true
 * ```
 */
export function exhausted(headers: Record<string, string>, limits: RateLimitHeaders): boolean {
  return limits.remaining !== undefined && headers[limits.remaining]?.trim() === '0';
}

/**
 * The wait a throttled response asks for, in ms: the `Retry-After` header when present, else, when the
 * declared `remaining` header is `0`, the time until the declared `reset`. `undefined` when neither says.
 *
 * @example
 * ```ts
 * const github = { remaining: 'x-ratelimit-remaining', reset: 'x-ratelimit-reset', resetFormat: 'epoch-seconds' } as const;
 * rateLimitWaitMs({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Date.now() / 1000 + 60) }, github); // ~60000
 * rateLimitWaitMs({ 'retry-after': '3' }); // 3000
 * ```
 */
export function rateLimitWaitMs(
  headers: Record<string, string>,
  limits: RateLimitHeaders = {},
  now: number = Date.now(),
): number | undefined {
  const retryAfter = parseRetryAfter(headers[limits.retryAfter ?? 'retry-after'], now);
  if (retryAfter !== undefined) return retryAfter;
  if (!exhausted(headers, limits) || limits.reset === undefined) return undefined;
  return resetWaitMs(headers[limits.reset], limits.resetFormat ?? 'epoch-seconds', now);
}
