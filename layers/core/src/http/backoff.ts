/**
 * How long to wait before the next attempt: exponential backoff with full jitter, and the provider's own
 * answer when it gives one (`Retry-After`, or GitHub's `x-ratelimit-reset`).
 */

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

/**
 * The wait a throttled response asks for, in ms: `Retry-After` when present, else GitHub's pair
 * `x-ratelimit-remaining: 0` + `x-ratelimit-reset: <epoch seconds>`. `undefined` when neither says.
 *
 * @example
 * ```ts
 * rateLimitWaitMs({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Date.now() / 1000 + 60) }); // ~60000
 * ```
 */
export function rateLimitWaitMs(
  headers: Record<string, string>,
  now: number = Date.now(),
): number | undefined {
  const retryAfter = parseRetryAfter(headers['retry-after'], now);
  if (retryAfter !== undefined) return retryAfter;
  if (headers['x-ratelimit-remaining']?.trim() !== '0') return undefined;
  const reset = Number(headers['x-ratelimit-reset']);
  if (!Number.isFinite(reset) || reset <= 0) return undefined;
  return Math.max(0, Math.ceil(reset * 1000 - now));
}
