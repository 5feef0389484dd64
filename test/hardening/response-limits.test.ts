/**
 * Answers too large for their trigger: Lambda refuses a synchronous response over 6 MB, Step Functions a
 * state over 256 KiB. Each connector must answer a 413 problem naming the operation and the limit instead
 * (before this, a 60 MB PostgreSQL result went out with a 200). Queue records carry no answer, so they are
 * not limited. Driven against the real peers: PostgreSQL and s3rver.
 */
import { LAMBDA_RESPONSE_LIMIT_BYTES, STATE_LIMIT_BYTES } from '@circle-core/core';
import { lambdaContext, sqsEvent } from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ConnectorName, type Suite, startSuite } from './support/suite.ts';

let suite: Suite;

/** One operation per connector whose answer size the caller controls, at a given size in bytes. */
const LARGE: { connector: ConnectorName; operation: string; input: (bytes: number) => unknown }[] = [
  {
    connector: 'postgres',
    operation: 'query',
    input: (bytes) => ({ sql: 'select repeat($1, $2::int) as filler', params: ['x', bytes] }),
  },
  {
    connector: 's3',
    operation: 'get-object',
    input: (bytes) => ({ key: `limits/${bytes}.txt` }),
  },
];

beforeAll(async () => {
  suite = await startSuite();
  // Objects for the S3 rows: text bodies of the sizes the tests ask for.
  for (const bytes of [STATE_LIMIT_BYTES + 1, 200_000]) {
    await suite.connectors.s3.handler(
      {
        operation: 'put-object',
        input: { key: `limits/${bytes}.txt`, body: 'y'.repeat(bytes) },
        idempotencyKey: `limits-${bytes}`,
      },
      lambdaContext(),
    );
  }
}, 60_000);

afterAll(async () => {
  await suite?.close();
});

describe('Response limits per trigger', () => {
  it('covers every connector with a size the caller controls', () => {
    expect(LARGE.map((row) => row.connector).sort()).toEqual(['postgres', 's3']);
  });

  it('answers a PostgreSQL result over 6 MB on HTTP with a 413 problem, not a 200', async () => {
    // Act
    const response = await suite.http('postgres', {
      path: '/postgres/query',
      body: LARGE[0]?.input(LAMBDA_RESPONSE_LIMIT_BYTES + 1),
    });
    // Assess
    expect(response.statusCode).toBe(413);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(JSON.parse(response.body)).toMatchObject({
      code: 'payload_too_large',
      detail: expect.stringContaining('limit of a synchronous Lambda response'),
    });
  });

  it.each(LARGE)('fails $connector $operation over 256 KiB as a Step Functions task', async (row) => {
    // Act
    const failure = await suite.connectors[row.connector]
      .handler(
        { trigger: 'task', operation: row.operation, input: row.input(STATE_LIMIT_BYTES + 1) },
        lambdaContext(),
      )
      .then(
        () => undefined,
        (error: unknown) => error as Error,
      );
    // Assess
    expect(failure?.name).toBe('PayloadTooLargeError');
    expect(failure?.message).toContain(`The answer of ${row.operation} is`);
    expect(failure?.message).toContain('limit of a Step Functions state');
  });

  it.each(LARGE)('returns $connector $operation under the limit as a task', async (row) => {
    const output = await suite.connectors[row.connector].handler(
      { trigger: 'task', operation: row.operation, input: row.input(200_000) },
      lambdaContext(),
    );
    expect(JSON.stringify(output).length).toBeGreaterThan(200_000);
  });

  it('returns the same 300 KB answer on a direct invoke (6 MB limit) and on a queue (no answer)', async () => {
    // Prepare
    const input = LARGE[0]?.input(STATE_LIMIT_BYTES + 1);
    // Act
    const direct = await suite.connectors.postgres.handler({ operation: 'query', input }, lambdaContext());
    const queued = (await suite.connectors.postgres.handler(
      sqsEvent([{ body: { operation: 'query', input } }]),
      lambdaContext(),
    )) as { batchItemFailures: unknown[] };
    // Assess
    expect(JSON.stringify(direct).length).toBeGreaterThan(STATE_LIMIT_BYTES);
    expect(queued.batchItemFailures).toEqual([]);
  });
});
