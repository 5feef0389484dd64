import * as fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { backoffDelayMs, parseRetryAfter, rateLimitWaitMs } from './backoff.ts';

const curve = { baseDelayMs: 100, maxDelayMs: 5_000 };
/** The property's seed, printed before it runs; CIRCLE_FUZZ_SEED=<seed> replays it. */
const SEED = Number(process.env['CIRCLE_FUZZ_SEED'] ?? Date.now() % 2_147_483_647);

describe('Function: backoffDelayMs', () => {
  it('returns 0 when the random draw is 0', () => {
    // Act
    const delay = backoffDelayMs(3, curve, () => 0);

    // Assess
    expect(delay).toBe(0);
  });

  it('doubles the cap with each attempt', () => {
    // Prepare
    const top = () => 0.999_999;

    // Act
    const caps = [1, 2, 3, 4].map((attempt) => backoffDelayMs(attempt, curve, top));

    // Assess
    expect(caps).toEqual([99, 199, 399, 799]);
  });

  it('never exceeds maxDelayMs however many attempts were made', () => {
    // Act
    const delay = backoffDelayMs(40, curve, () => 0.999_999);

    // Assess
    expect(delay).toBe(4_999);
  });

  it('treats attempt 0 like the first retry', () => {
    // Act
    const delay = backoffDelayMs(0, curve, () => 0.5);

    // Assess
    expect(delay).toBe(50);
  });

  it('stays within [0, min(maxDelayMs, baseDelayMs * 2^(attempt-1))) for any draw', () => {
    // Assess
    console.log(`backoffDelayMs property: seed ${SEED} (replay with CIRCLE_FUZZ_SEED=${SEED})`);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 60_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseDelayMs, maxDelayMs, draw) => {
          const delay = backoffDelayMs(attempt, { baseDelayMs, maxDelayMs }, () => draw);
          const cap = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1));
          return delay >= 0 && (cap === 0 ? delay === 0 : delay < cap);
        },
      ),
      { seed: SEED },
    );
  });
});

describe('Function: parseRetryAfter', () => {
  const now = Date.parse('2025-01-01T00:00:00Z');

  it('reads delta-seconds', () => {
    // Act & Assess
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1_500);
  });

  it('reads an HTTP-date relative to now', () => {
    // Act
    const wait = parseRetryAfter('Wed, 01 Jan 2025 00:00:07 GMT', now);

    // Assess
    expect(wait).toBe(7_000);
  });

  it('returns 0 for an HTTP-date in the past', () => {
    // Act
    const wait = parseRetryAfter('Tue, 31 Dec 2024 23:59:00 GMT', now);

    // Assess
    expect(wait).toBe(0);
  });

  it('returns undefined for a missing, empty or unreadable value', () => {
    // Act & Assess
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('-5', now)).toBeUndefined();
  });
});

describe('Function: rateLimitWaitMs', () => {
  const now = 1_700_000_000_000;
  /** Rate-limit headers as a provider declares them (GitHub's names and epoch-seconds reset). */
  const declared = {
    remaining: 'x-ratelimit-remaining',
    reset: 'x-ratelimit-reset',
    resetFormat: 'epoch-seconds',
  } as const;

  it('prefers Retry-After over the reset header', () => {
    // Act
    const wait = rateLimitWaitMs(
      { 'retry-after': '2', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 60) },
      declared,
      now,
    );

    // Assess
    expect(wait).toBe(2_000);
  });

  it('computes the wait from the declared reset header when no requests remain', () => {
    // Act
    const wait = rateLimitWaitMs(
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 60) },
      declared,
      now,
    );

    // Assess
    expect(wait).toBe(60_000);
  });

  it('reads no provider header it was not told about: only Retry-After by default', () => {
    // Act
    const undeclared = rateLimitWaitMs(
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 60) },
      {},
      now,
    );
    const retryAfter = rateLimitWaitMs({ 'retry-after': '3' }, undefined, now);

    // Assess
    expect(undeclared).toBeUndefined();
    expect(retryAfter).toBe(3_000);
  });

  it.each([
    ['epoch-ms', String(now + 5_000), 5_000],
    ['delta-seconds', '7', 7_000],
    ['http-date', new Date(now + 9_000).toUTCString(), 9_000],
  ] as const)('reads a %s reset', (resetFormat, reset, expected) => {
    // Act
    const wait = rateLimitWaitMs(
      { 'ratelimit-remaining': '0', 'ratelimit-reset': reset },
      { remaining: 'ratelimit-remaining', reset: 'ratelimit-reset', resetFormat },
      now,
    );

    // Assess
    expect(wait).toBe(expected);
  });

  it('reads a declared wait header instead of Retry-After', () => {
    // Act
    const wait = rateLimitWaitMs(
      { 'x-retry-in': '4', 'retry-after': '99' },
      { retryAfter: 'x-retry-in' },
      now,
    );

    // Assess
    expect(wait).toBe(4_000);
  });

  it('returns 0 when the reset time has passed', () => {
    // Act
    const wait = rateLimitWaitMs(
      { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 - 5) },
      declared,
      now,
    );

    // Assess
    expect(wait).toBe(0);
  });

  it('returns undefined while requests remain or when the reset is unreadable', () => {
    // Act & Assess
    expect(
      rateLimitWaitMs({ 'x-ratelimit-remaining': '10', 'x-ratelimit-reset': '1700000060' }, declared, now),
    ).toBeUndefined();
    expect(
      rateLimitWaitMs({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': 'later' }, declared, now),
    ).toBeUndefined();
    expect(
      rateLimitWaitMs({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '0' }, declared, now),
    ).toBeUndefined();
    expect(
      rateLimitWaitMs({ 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': ' ' }, declared, now),
    ).toBeUndefined();
    expect(rateLimitWaitMs({ 'x-ratelimit-remaining': '0' }, declared, now)).toBeUndefined();
    expect(
      rateLimitWaitMs({ 'x-ratelimit-remaining': '0' }, { remaining: 'x-ratelimit-remaining' }, now),
    ).toBeUndefined();
    expect(rateLimitWaitMs({}, declared, now)).toBeUndefined();
  });
});
