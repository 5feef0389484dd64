/**
 * The Shopify client's own mechanisms on their own: the cost bucket as last seen (refill, waits within the
 * time left, refusal without a call) and the mapping of GraphQL `errors` and `userErrors`.
 */
import {
  RateLimitedError,
  UnexpectedResponseError,
  ValidationError,
  withInvocation,
} from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { CostBucket, graphqlFailure, userErrorsFailure } from './client.ts';

const cost = (requested: number, available: number, restoreRate = 100) => ({
  requestedQueryCost: requested,
  actualQueryCost: requested,
  throttleStatus: { maximumAvailable: 2000, currentlyAvailable: available, restoreRate },
});

describe('Class: CostBucket', () => {
  it('knows nothing before the first answer, then refills at restoreRate up to the maximum', () => {
    // Prepare
    let now = 1_000;
    const bucket = new CostBucket(() => now);

    // Act & Assess
    expect(bucket.available()).toBeUndefined();
    expect(bucket.waitMs('q')).toBe(0);
    bucket.record('q', cost(50, 10));
    expect(bucket.waitMs('q')).toBe(400);
    now += 200;
    expect(bucket.available()).toBe(30);
    expect(bucket.waitMs('q')).toBe(200);
    now += 60_000;
    expect(bucket.available()).toBe(2000);
    expect(bucket.waitMs('q')).toBe(0);
    expect(bucket.waitMs('another document')).toBe(0);
  });

  it('refuses with the wait, without waiting, when the invocation has no time for it', async () => {
    // Prepare
    const bucket = new CostBucket(() => 0);
    bucket.record('q', cost(500, 0, 1));
    const scope = { deadline: Date.now() + 5_000, correlationId: 'c-1' };

    // Act
    const started = Date.now();
    const refused = await withInvocation(scope, () => bucket.waitFor('q')).catch((error: unknown) => error);

    // Assess
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(refused).toBeInstanceOf(RateLimitedError);
    expect((refused as RateLimitedError).retryAfterMs).toBe(500_000);
  });

  it('waits a short refill and then lets the document through', async () => {
    // Prepare
    const bucket = new CostBucket();
    bucket.record('q', cost(12, 10, 1000));

    // Act
    const started = Date.now();
    await bucket.waitFor('q');

    // Assess
    expect(Date.now() - started).toBeGreaterThanOrEqual(1);
  });
});

describe('Function: graphqlFailure', () => {
  const answer = (body: unknown, status = 200) => ({
    status,
    headers: {},
    body,
    url: 'https://x/graphql.json',
  });

  it('lets an answer without errors, and a non-200, through to the status table', () => {
    expect(graphqlFailure(answer({ data: {} }))).toBeUndefined();
    expect(graphqlFailure(answer({ errors: [] }))).toBeUndefined();
    expect(graphqlFailure(answer({ errors: 'Not Found' }, 404))).toBeUndefined();
  });

  it('maps THROTTLED to a RateLimitedError with the wait its cost needs, and without a cost to none', () => {
    // Act
    const timed = graphqlFailure(
      answer({
        errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED' } }],
        extensions: { cost: cost(110, 10) },
      }),
    );
    const untimed = graphqlFailure(answer({ errors: [{ extensions: { code: 'THROTTLED' } }] }));

    // Assess
    expect(timed).toBeInstanceOf(RateLimitedError);
    expect((timed as RateLimitedError).retryAfterMs).toBe(1_000);
    expect((untimed as RateLimitedError).retryAfterMs).toBeUndefined();
  });

  it('maps an unknown code to an unexpected answer, without echoing the message', () => {
    // Act
    const failure = graphqlFailure(
      answer({
        errors: [
          {
            message: 'secret-looking value 123',
            path: ['product', 0],
            extensions: { code: 'undefinedField' },
          },
        ],
      }),
    );
    const odd = graphqlFailure(answer({ errors: [{ message: 'x', extensions: { code: 'not a code!' } }] }));

    // Assess
    expect(failure).toBeInstanceOf(UnexpectedResponseError);
    expect(failure?.message).toContain('undefinedField at product.0');
    expect(failure?.message).not.toContain('secret-looking');
    expect(odd?.message).toContain('unrecognised_error');
  });
});

describe('Function: userErrorsFailure', () => {
  it('points every field, and picks a conflict or not-found code over validation', () => {
    // Act
    const invalid = userErrorsFailure(
      [
        { field: ['input', 'changes', '0', 'delta'], message: 'too low', code: 'INVALID_QUANTITY_TOO_LOW' },
        { field: null, message: 'also wrong' },
      ],
      (field) => `/${field.slice(1).join('/')}`,
    );
    const conflict = userErrorsFailure(
      [{ field: ['query'], message: 'busy', code: 'OPERATION_IN_PROGRESS' }],
      () => '/query',
    );
    const missing = userErrorsFailure(
      [{ field: ['id'], message: 'gone', code: 'NOT_FOUND' }],
      () => '/orderId',
    );

    // Assess
    expect(invalid).toBeInstanceOf(ValidationError);
    expect((invalid as ValidationError).issues).toEqual([
      { pointer: '/changes/0/delta', message: 'too low' },
      { pointer: '', message: 'also wrong' },
    ]);
    expect(conflict.status).toBe(409);
    expect(missing.status).toBe(404);
  });
});
