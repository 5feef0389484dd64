/**
 * The README's curl examples, run in order against the machine's Redis (under a prefix of this run): each
 * request body written out in full goes to the connector over HTTP, and the answer under it (`# {...}`)
 * must be what the connector answers, but for what differs per run: a version (the README's is any
 * 16-character token, `...` any token) and an expiry time (any ISO 8601 time). Keys said to come "in no
 * particular order" are compared as a set; an answer the README shortens (`...`) is not compared. A README
 * example that drifts from what the connector returns fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { httpEvent, lambdaContext } from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type RedisPeer, startRedisPeer } from '../../../test/peers/redis.ts';

interface Step {
  operation: string;
  body: unknown;
  /** The README's answer, when it shows one in full. */
  shown: Record<string, unknown> | undefined;
  unordered: boolean;
}

/** The curl commands of the README's shell blocks whose body is written out, with the answer under each. */
function steps(): Step[] {
  const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
  const found: Step[] = [];
  for (const [, block] of readme.matchAll(/```bash\n([\s\S]*?)```/g)) {
    const lines = (block ?? '').replace(/\\\n\s*/g, ' ').split('\n');
    lines.forEach((line, index) => {
      const call = line.match(/^curl .*\/redis\/([a-z-]+) .*-d '([^']*)'$/);
      if (call === null) return;
      const answer = lines[index + 1]?.match(/^# (\{.*\})(\s+\(in no particular order\))?$/);
      let shown: Record<string, unknown> | undefined;
      try {
        shown = answer?.[1] === undefined ? undefined : JSON.parse(answer[1]);
      } catch {
        shown = undefined; // shortened with `...`
      }
      found.push({
        operation: call[1] ?? '',
        body: JSON.parse(call[2] ?? ''),
        shown,
        unordered: !!answer?.[2],
      });
    });
  }
  return found;
}

/** The README's answer with what differs per run as matchers. */
function expected(shown: Record<string, unknown>, unordered: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = { ...shown };
  if (typeof shown['version'] === 'string') {
    out['version'] = shown['version'] === '...' ? expect.any(String) : expect.stringMatching(/^[\w-]{16}$/);
  }
  if (typeof shown['expiresAt'] === 'string') {
    out['expiresAt'] = expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  }
  if (unordered && Array.isArray(shown['keys'])) out['keys'] = expect.arrayContaining(shown['keys']);
  return out;
}

let redis: RedisPeer;
let handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

beforeAll(async () => {
  redis = await startRedisPeer();
  vi.stubEnv('REDIS_HOST', redis.host);
  vi.stubEnv('REDIS_PORT', String(redis.port));
  vi.stubEnv('REDIS_TLS', 'disable');
  vi.stubEnv('REDIS_KEY_PREFIX', `${redis.prefix}readme:`);
  vi.stubEnv('CIRCLE_IDEMPOTENCY_TABLE', '');
  ({ handler } = await import('./index.ts'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await redis?.close();
});

describe('README examples', () => {
  it('answer as the README shows, run in its order', async () => {
    // Arrange
    const examples = steps();
    expect(examples.filter((step) => step.shown !== undefined).length).toBeGreaterThanOrEqual(5);

    for (const [index, { operation, body, shown, unordered }] of examples.entries()) {
      // Act
      const response = (await handler(
        httpEvent({ path: `/redis/${operation}`, body, headers: { 'idempotency-key': `readme-${index}` } }),
        lambdaContext(),
      )) as { statusCode: number; body: string };
      const answer = JSON.parse(response.body) as Record<string, unknown>;

      // Assert
      expect({ operation, status: response.statusCode }).toEqual({ operation, status: 200 });
      if (shown !== undefined) {
        expect({ operation, answer }).toEqual({ operation, answer: expected(shown, unordered) });
        if (unordered) expect((answer['keys'] as unknown[]).length).toBe((shown['keys'] as unknown[]).length);
      }
    }
  });
});
