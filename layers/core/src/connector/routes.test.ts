import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { remainingTimeMs } from '../context.ts';
import { AuthError, UnavailableError } from '../errors.ts';
import { type CapturedLogs, captureLogs, httpEvent, lambdaContext, sqsEvent } from '../testing/index.ts';
import { defineConnector } from './define.ts';

type Response = { statusCode: number; body: string; headers: Record<string, string> };

let setupCalls = 0;
let failSetup = false;
let healthFails = false;
const seen: unknown[] = [];

function hookConnector() {
  return defineConnector({
    name: 'hook',
    version: '0.1.0',
    config: z.object({}),
    setup: () => {
      setupCalls += 1;
      if (failSetup) throw new UnavailableError('secret store unreachable');
      return { ready: true };
    },
    operations: (op) => ({
      'record-input': op({
        description: 'Records its input and the time left',
        input: z.object({ value: z.string() }),
        output: z.object({ value: z.string(), trigger: z.string(), remaining: z.number() }),
        run: async ({ value }, context) => {
          seen.push({
            value,
            trigger: context.trigger,
            key: context.idempotencyKey,
            id: context.correlationId,
          });
          return { value, trigger: context.trigger, remaining: Math.min(remainingTimeMs(), 1e9) };
        },
      }),
      'bad-output': op({
        description: 'Breaks its own output contract',
        input: z.object({}),
        output: z.object({ count: z.number() }),
        run: async () => ({ count: 'three' }) as unknown as { count: number },
      }),
    }),
    routes: (route) => [
      route({
        method: 'POST',
        path: '/hook/webhook',
        auth: 'signature',
        description: 'Receives signed deliveries',
        handle: async (request) => {
          if (request.headers['x-signature'] !== 'good')
            throw new AuthError('Webhook signature does not match');
          return {
            status: 202,
            body: {
              bytes: request.rawBody.length,
              q: request.query['a'] ?? null,
              query: request.query,
              rawQuery: request.rawQuery ?? null,
            },
          };
        },
      }),
      route({
        method: 'GET',
        path: '/hook/ping',
        auth: 'authorizer',
        description: 'Plain text ping',
        handle: async () => ({ status: 200, body: 'pong' }),
      }),
    ],
    healthCheck: async () => {
      if (healthFails) throw new UnavailableError('provider answered 503');
    },
  });
}

describe('Function: defineConnector (routes, triggers, lifecycle)', () => {
  let logs: CapturedLogs;
  beforeEach(() => {
    setupCalls = 0;
    failSetup = false;
    healthFails = false;
    seen.length = 0;
    logs = captureLogs();
  });
  afterEach(() => {
    vi.restoreAllMocks();
    logs.restore();
    delete process.env['CIRCLE_QUEUE_BINDINGS'];
  });

  it('serves a signature route without an authorizer, over the raw (base64) body', async () => {
    // Prepare
    const connector = hookConnector();
    const event = httpEvent({
      path: '/hook/webhook',
      body: 'raw-bytes',
      base64: true,
      authorizer: 'none',
      headers: { 'x-signature': 'good', 'content-type': 'text/plain' },
      query: { a: '1' },
    });
    // Act
    const response = (await connector.handler(event, lambdaContext())) as Response;
    // Assess
    expect(response.statusCode).toBe(202);
    expect(JSON.parse(response.body)).toEqual({ bytes: 9, q: '1', query: { a: '1' }, rawQuery: 'a=1' });
  });

  it('hands a route the query string exactly as received (rawQueryString): encoding, empty values, order, repeats', async () => {
    // Prepare: API Gateway's payload 2.0 keeps the raw query, and decodes and comma-joins queryStringParameters
    const connector = hookConnector();
    const event = httpEvent({
      path: '/hook/webhook',
      body: 'x',
      authorizer: 'none',
      headers: { 'x-signature': 'good', 'content-type': 'text/plain' },
    });
    event.rawQueryString = 'b=x%20y+z&empty=&a=2&a=1&%C3%A9=%2F';
    event.queryStringParameters = { b: 'x y z', empty: '', a: '2,1', é: '/' };

    // Act
    const response = (await connector.handler(event, lambdaContext())) as Response;
    const none = (await connector.handler(
      httpEvent({ path: '/hook/webhook', body: 'x', authorizer: 'none', headers: { 'x-signature': 'good' } }),
      lambdaContext(),
    )) as Response;

    // Assess
    expect(JSON.parse(response.body)).toMatchObject({
      rawQuery: 'b=x%20y+z&empty=&a=2&a=1&%C3%A9=%2F',
      query: { b: 'x y z', a: '2,1', é: '/' },
    });
    expect(JSON.parse(none.body)).toMatchObject({ rawQuery: '', query: {} });
  });

  it('answers a bad signature with 401 problem+json', async () => {
    const connector = hookConnector();
    const response = (await connector.handler(
      httpEvent({ path: '/hook/webhook', body: 'x', authorizer: 'none', headers: { 'x-signature': 'bad' } }),
      lambdaContext(),
    )) as Response;
    expect(response.statusCode).toBe(401);
    expect(response.headers['content-type']).toBe('application/problem+json');
  });

  it('requires the authorizer on authorizer routes and sends text bodies as text', async () => {
    const connector = hookConnector();
    const open = (await connector.handler(
      httpEvent({ method: 'GET', path: '/hook/ping', authorizer: 'none' }),
      lambdaContext(),
    )) as Response;
    const authorized = (await connector.handler(
      httpEvent({ method: 'GET', path: '/hook/ping/', authorizer: 'jwt' }),
      lambdaContext(),
    )) as Response;
    expect(open.statusCode).toBe(401);
    expect(authorized.statusCode).toBe(200);
    expect(authorized.body).toBe('pong');
    expect(authorized.headers['content-type']).toMatch(/^text\/plain/);
  });

  it('answers 404 for unknown paths and methods', async () => {
    const connector = hookConnector();
    const unknown = (await connector.handler(
      httpEvent({ path: '/other/thing', body: {} }),
      lambdaContext(),
    )) as Response;
    const wrongMethod = (await connector.handler(
      httpEvent({ method: 'DELETE', path: '/hook/record-input' }),
      lambdaContext(),
    )) as Response;
    const unknownOperation = (await connector.handler(
      httpEvent({ path: '/hook/nothing', body: {} }),
      lambdaContext(),
    )) as Response;
    expect([unknown.statusCode, wrongMethod.statusCode, unknownOperation.statusCode]).toEqual([
      404, 404, 404,
    ]);
    expect(JSON.parse(unknownOperation.body).detail).toContain('record-input');
  });

  it('passes the Idempotency-Key header and the Lambda deadline to the operation', async () => {
    // A frozen clock: the operation must see exactly the 2000 ms the Lambda context reports.
    vi.spyOn(Date, 'now').mockReturnValue(Date.now());
    const connector = hookConnector();
    const response = (await connector.handler(
      httpEvent({ path: '/hook/record-input', body: { value: 'v' }, headers: { 'idempotency-key': 'k-1' } }),
      lambdaContext({ remainingMs: 2000 }),
    )) as Response;
    const body = JSON.parse(response.body);
    expect(body.trigger).toBe('http');
    expect(body.remaining).toBe(2000);
    expect(seen[0]).toMatchObject({ key: 'k-1' });
  });

  it("passes a library caller's correlation id and idempotency key to the operation", async () => {
    const connector = hookConnector();
    await connector.run(
      'record-input',
      { value: 'lib' },
      { correlationId: 'lib-corr', idempotencyKey: 'lib-key' },
    );
    expect(seen[0]).toMatchObject({ trigger: 'direct', id: 'lib-corr', key: 'lib-key' });
  });

  it('treats an output that breaks the schema as an internal error', async () => {
    const connector = hookConnector();
    const response = (await connector.handler(
      httpEvent({ path: '/hook/bad-output', body: {} }),
      lambdaContext(),
    )) as Response;
    expect(response.statusCode).toBe(500);
    const line = logs.records().find((record) => record['message'] === 'invocation');
    expect(line?.['error']).toContain('does not match its schema');
  });

  it('runs schedule inputs with the schedule trigger and a given correlation id', async () => {
    const connector = hookConnector();
    const output = await connector.handler(
      { operation: 'record-input', input: { value: 's' }, trigger: 'schedule', correlationId: 'wf-7' },
      lambdaContext(),
    );
    expect(output).toMatchObject({ value: 's', trigger: 'schedule' });
    expect(seen[0]).toMatchObject({ id: 'wf-7' });
  });

  it('reads bare inputs from a queue bound to one operation', async () => {
    process.env['CIRCLE_QUEUE_BINDINGS'] = 'hook-inputs=record-input, other=x';
    const connector = hookConnector();
    const response = await connector.handler(
      sqsEvent([{ messageId: 'm-1', body: { value: 'bare' }, correlationId: 'c-9' }], {
        queue: 'hook-inputs',
      }),
      lambdaContext(),
    );
    expect(response).toEqual({ batchItemFailures: [] });
    expect(seen[0]).toMatchObject({ value: 'bare', trigger: 'sqs', key: 'm-1', id: 'c-9' });
  });

  it('retries a failed setup on the next invocation and builds the client once after that', async () => {
    const connector = hookConnector();
    failSetup = true;
    await connector.prepare();
    await expect(connector.run('record-input', { value: 'a' })).rejects.toThrow('secret store unreachable');
    failSetup = false;
    await connector.run('record-input', { value: 'b' });
    await connector.run('record-input', { value: 'c' });
    expect(setupCalls).toBe(3);
  });

  it('answers 503 with the failing check when the provider is unhealthy', async () => {
    const connector = hookConnector();
    healthFails = true;
    const response = (await connector.handler(
      httpEvent({ method: 'GET', path: '/hook/health' }),
      lambdaContext(),
    )) as Response;
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body).checks).toContainEqual({
      name: 'provider',
      ok: false,
      detail: 'provider answered 503',
    });
  });

  it('reports a failing setup in health', async () => {
    const connector = hookConnector();
    failSetup = true;
    const report = await connector.run('health', {});
    expect(report).toMatchObject({
      status: 'failing',
      checks: [
        { name: 'config', ok: true },
        { name: 'setup', ok: false },
      ],
    });
  });

  it('hides unexposed task failures behind a stable name', async () => {
    const connector = hookConnector();
    await expect(
      connector.handler({ operation: 'bad-output', input: {} }, lambdaContext()),
    ).rejects.toMatchObject({
      name: 'ConnectorError',
      message: 'Internal error',
    });
  });
});
