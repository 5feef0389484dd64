import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type CapturedLogs, captureLogs, httpEvent, lambdaContext, sqsEvent } from '../testing/index.ts';
import { defineConnector } from './define.ts';

type Response = { statusCode: number; body: string; headers: Record<string, string> };

/** 2026-12-01T00:00:00Z in seconds: what the `Deprecation` header must carry for `since: '2026-12-01'`. */
const SINCE_EPOCH_SECONDS = 1_796_083_200;

function sunsetConnector(since = '2026-12-01') {
  return defineConnector({
    name: 'sunset',
    version: '1.4.0',
    config: z.object({}),
    setup: () => ({}),
    operations: (op) => ({
      'get-thing': op({
        description: 'The old way to read a thing',
        deprecated: { since, use: 'read-thing' },
        input: z.strictObject({ id: z.string().min(1) }),
        output: z.object({ id: z.string() }),
        run: async ({ id }) => ({ id }),
      }),
      'read-thing': op({
        description: 'Reads a thing',
        input: z.strictObject({ id: z.string().min(1) }),
        output: z.object({ id: z.string() }),
        run: async ({ id }) => ({ id }),
      }),
    }),
  });
}

const warnings = (logs: CapturedLogs): Record<string, unknown>[] =>
  logs.records().filter((record) => String(record['message']).includes('is deprecated'));

describe('Operation field: deprecated', () => {
  let logs: CapturedLogs;
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(() => {
    logs.restore();
  });

  it('puts a Deprecation header (RFC 9745) on every HTTP answer of a deprecated operation, failures included', async () => {
    // Prepare
    const connector = sunsetConnector();
    // Act
    const ok = (await connector.handler(
      httpEvent({ path: '/sunset/get-thing', body: { id: 'a' } }),
      lambdaContext(),
    )) as Response;
    const invalid = (await connector.handler(
      httpEvent({ path: '/sunset/get-thing', body: { id: '' } }),
      lambdaContext(),
    )) as Response;
    const current = (await connector.handler(
      httpEvent({ path: '/sunset/read-thing', body: { id: 'a' } }),
      lambdaContext(),
    )) as Response;
    // Assess
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['deprecation']).toBe(`@${SINCE_EPOCH_SECONDS}`);
    expect(invalid.statusCode).toBe(400);
    expect(invalid.headers['deprecation']).toBe(`@${SINCE_EPOCH_SECONDS}`);
    expect(current.statusCode).toBe(200);
    expect(current.headers).not.toHaveProperty('deprecation');
  });

  it('logs one warning per container naming the operation, its date and its replacement, whatever the trigger', async () => {
    // Prepare
    const connector = sunsetConnector();
    // Act
    await connector.handler(httpEvent({ path: '/sunset/get-thing', body: { id: 'a' } }), lambdaContext());
    await connector.handler(
      sqsEvent([{ body: { operation: 'get-thing', input: { id: 'b' } } }]),
      lambdaContext(),
    );
    await connector.run('get-thing', { id: 'c' });
    await connector.run('read-thing', { id: 'd' });
    // Assess
    expect(warnings(logs)).toHaveLength(1);
    expect(warnings(logs)[0]).toMatchObject({
      level: 'WARN',
      operation: 'get-thing',
      deprecatedSince: '2026-12-01',
      use: 'read-thing',
    });
  });

  it('warns again in a new container (a new runtime), not only once per process', async () => {
    // Act
    await sunsetConnector().run('get-thing', { id: 'a' });
    await sunsetConnector().run('get-thing', { id: 'a' });
    // Assess
    expect(warnings(logs)).toHaveLength(2);
  });

  it('throws at definition when deprecated.since is not an ISO 8601 date', () => {
    // Act & Assess
    expect(() => sunsetConnector('next spring')).toThrow(
      'sunset: operation get-thing has deprecated.since "next spring", not an ISO 8601 date',
    );
  });
});
