/**
 * Lambda Managed Instances (LMI) runs many invocations of one function at once in one Node.js worker
 * thread: they share the handler and every module-level value ("Node.js runtime for Lambda Managed
 * Instances", https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html).
 * These tests run two or more invocations through `connector.handler` with Promise.all, held at gates the
 * test opens, so their awaits really interleave, and check that every answer, invocation line and EMF
 * document belongs to its own invocation.
 */
import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type CapturedLogs, captureLogs, httpEvent, lambdaContext, sqsEvent } from '../testing/index.ts';
import { defineConnector } from './define.ts';

/** A promise the test settles, and a way to know that something is waiting on it. */
interface Gate {
  promise: Promise<void>;
  open(): void;
  reached: Promise<void>;
  arrive(): void;
}

function gate(): Gate {
  let open = (): void => undefined;
  let arrive = (): void => undefined;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  const reached = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  return { promise, open, reached, arrive };
}

function gatedConnector(gates: Map<string, Gate>) {
  return defineConnector({
    name: 'gated',
    version: '1.0.0',
    config: z.object({}),
    setup: () => ({}),
    operations: (op) => ({
      echo: op({
        description: 'Echoes the text once its gate (if any) opens',
        input: z.object({ text: z.string() }),
        output: z.object({ text: z.string() }),
        measures: () => ({ units: 1 }),
        run: async ({ text }, { logger, correlationId }) => {
          const held = gates.get(text);
          if (held !== undefined) {
            held.arrive();
            await held.promise;
          }
          logger.warn('echoing', { text, seenCorrelationId: correlationId });
          return { text };
        },
      }),
    }),
  });
}

type Line = Record<string, unknown>;

function invocationLines(logs: CapturedLogs): Line[] {
  return logs.records().filter((record) => record['message'] === 'invocation');
}

function lineOf(logs: CapturedLogs, requestId: string): Line {
  const found = invocationLines(logs).filter((line) => line['function_request_id'] === requestId);
  expect(found).toHaveLength(1);
  return found[0] as Line;
}

describe('Concurrent invocations in one worker thread (Lambda Managed Instances)', () => {
  let logs: CapturedLogs;
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(() => {
    logs.restore();
  });

  it("keeps each invocation's metrics on its own line when another invocation ends in between", async () => {
    // Prepare: an SQS batch whose first record is done at once and whose second waits at a gate; an HTTP
    // invocation starts and ends while the batch is still running.
    const gates = new Map([['held', gate()]]);
    const connector = gatedConnector(gates);
    const batchContext = lambdaContext();
    const httpContext = lambdaContext();
    const batch = connector.handler(
      sqsEvent([
        { body: { operation: 'echo', input: { text: 'quick' } } },
        { body: { operation: 'echo', input: { text: 'held' } } },
      ]),
      batchContext,
    );
    await gates.get('held')?.reached;
    // Act
    const http = await connector.handler(
      httpEvent({ path: '/gated/echo', body: { text: 'alone' } }),
      httpContext,
    );
    gates.get('held')?.open();
    const answer = await batch;
    // Assess: the HTTP line counts one operation, the batch's line its two; no stray EMF document.
    expect((http as { statusCode: number }).statusCode).toBe(200);
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(lineOf(logs, httpContext.awsRequestId)).toMatchObject({
      trigger: 'http',
      operation: 'echo',
      invocations: 1,
      units: 1,
    });
    expect(lineOf(logs, batchContext.awsRequestId)).toMatchObject({
      trigger: 'sqs',
      records: 2,
      invocations: 2,
      units: 2,
    });
    const emf = logs.records().filter((record) => record['_aws'] !== undefined);
    expect(emf).toHaveLength(2);
  });

  it('keeps metrics apart for many interleaved HTTP and Step Functions invocations', async () => {
    // Prepare: every invocation waits at its own gate; the gates open in reverse order.
    const names = Array.from({ length: 8 }, (_, i) => `t${i}`);
    const gates = new Map(names.map((name) => [name, gate()]));
    const connector = gatedConnector(gates);
    const contexts = names.map(() => lambdaContext());
    const pending = names.map((name, i) =>
      i % 2 === 0
        ? connector.handler(httpEvent({ path: '/gated/echo', body: { text: name } }), contexts[i] as never)
        : connector.handler(
            { trigger: 'task', operation: 'echo', input: { text: name }, correlationId: `corr-${name}` },
            contexts[i] as never,
          ),
    );
    await Promise.all(names.map((name) => gates.get(name)?.reached));
    // Act
    for (const name of [...names].reverse()) gates.get(name)?.open();
    const answers = await Promise.all(pending);
    // Assess
    names.forEach((name, i) => {
      const answer = answers[i] as { body?: string; text?: string };
      expect(i % 2 === 0 ? JSON.parse(answer.body as string) : answer).toEqual({ text: name });
      const line = lineOf(logs, (contexts[i] as { awsRequestId: string }).awsRequestId);
      expect(line).toMatchObject({ operation: 'echo', invocations: 1, units: 1 });
      if (i % 2 === 1) expect(line['correlationId']).toBe(`corr-${name}`);
    });
    expect(logs.records().filter((record) => record['_aws'] !== undefined)).toHaveLength(names.length);
  });

  it('marks the invocation that started first as the cold start, not the one that ended first', async () => {
    // Prepare: the first invocation of a fresh connector waits; the second one ends before it.
    const gates = new Map([['first', gate()]]);
    const connector = gatedConnector(gates);
    const firstContext = lambdaContext();
    const secondContext = lambdaContext();
    const first = connector.handler({ operation: 'echo', input: { text: 'first' } }, firstContext);
    await gates.get('first')?.reached;
    // Act
    await connector.handler({ operation: 'echo', input: { text: 'second' } }, secondContext);
    gates.get('first')?.open();
    await first;
    // Assess
    expect(lineOf(logs, firstContext.awsRequestId)['cold_start']).toBe(true);
    expect(lineOf(logs, secondContext.awsRequestId)['cold_start']).toBe(false);
  });
});

/**
 * How the Lambda runtime runs concurrent invocations on Lambda Managed Instances: it sets
 * `AWS_LAMBDA_MAX_CONCURRENCY` and runs each invocation inside its per-invocation store
 * (`@aws/lambda-invoke-store`, https://github.com/awslabs/aws-lambda-invoke-store), which holds the request
 * id and the X-Ray trace header; Powertools' logger keeps each invocation's Lambda context there.
 */
describe('Concurrent invocations under the Lambda runtime’s per-invocation store', () => {
  let logs: CapturedLogs;
  const lambda = globalThis as { awslambda?: Record<string, unknown> };
  let saved: Record<string, unknown> | undefined;
  beforeEach(() => {
    logs = captureLogs();
    saved = lambda.awslambda;
    process.env['AWS_LAMBDA_MAX_CONCURRENCY'] = '8';
    // A trace header of the process, as a runtime serving one invocation at a time would leave it.
    process.env['_X_AMZN_TRACE_ID'] = 'Root=1-00000000-stale00000000000000000000;Sampled=1';
  });
  afterEach(() => {
    logs.restore();
    delete process.env['AWS_LAMBDA_MAX_CONCURRENCY'];
    delete process.env['_X_AMZN_TRACE_ID'];
    if (saved === undefined) delete lambda.awslambda;
    else lambda.awslambda = saved;
  });

  it('writes every line with its own request id and trace id', async () => {
    // Prepare
    const { InvokeStore, InvokeStoreBase } = await import('@aws/lambda-invoke-store');
    const store = await InvokeStore.getInstanceAsync(true);
    lambda.awslambda = { ...lambda.awslambda, InvokeStore: store };
    const names = ['a', 'b', 'c', 'd'];
    const gates = new Map(names.map((name) => [name, gate()]));
    const connector = gatedConnector(gates);
    const contexts = names.map(() => lambdaContext());
    const roots = names.map((_, i) => `1-6750a0b${i}-${String(i).repeat(24)}`);
    const invoke = (i: number, event: unknown) =>
      store.run(
        {
          [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: contexts[i]?.awsRequestId,
          [InvokeStoreBase.PROTECTED_KEYS.X_RAY_TRACE_ID]:
            `Root=${roots[i]};Parent=557abcec3ee5a047;Sampled=1`,
        },
        () => connector.handler(event, contexts[i] as never),
      );
    const pending = names.map((name, i) =>
      i === 2
        ? invoke(
            i,
            sqsEvent([{ body: { operation: 'echo', input: { text: name } }, correlationId: `c-${name}` }]),
          )
        : invoke(
            i,
            httpEvent({
              path: '/gated/echo',
              body: { text: name },
              headers: { 'x-correlation-id': `c-${name}` },
            }),
          ),
    );
    await Promise.all(names.map((name) => gates.get(name)?.reached));
    // Act: the last started ends first.
    for (const name of [...names].reverse()) gates.get(name)?.open();
    await Promise.all(pending);
    // Assess: the connector's own line and the invocation line of each belong to it.
    names.forEach((name, i) => {
      const requestId = contexts[i]?.awsRequestId;
      const own = logs.records().filter((record) => record['function_request_id'] === requestId);
      const echoed = own.find((record) => record['message'] === 'echoing');
      expect(echoed).toMatchObject({ text: name, seenCorrelationId: `c-${name}`, xray_trace_id: roots[i] });
      expect(lineOf(logs, requestId as string)).toMatchObject({ xray_trace_id: roots[i], invocations: 1 });
    });
  });

  it('writes the lines of init and of a connection event after an invocation, outside any invocation', async () => {
    // Prepare: the runtime's store holds no context at init, nor in a callback of a connection opened there
    // (Powertools' logger asks it for one and threw "No context available").
    const { InvokeStore, InvokeStoreBase } = await import('@aws/lambda-invoke-store');
    const store = await InvokeStore.getInstanceAsync(true);
    lambda.awslambda = { ...lambda.awslambda, InvokeStore: store };
    const connection = new EventEmitter();
    // Act: init (the logger is built; a write operation without an idempotency table warns).
    const connector = defineConnector({
      name: 'lmi-init',
      version: '1.0.0',
      config: z.object({}),
      setup: () => connection,
      operations: (op) => ({
        send: op({
          description: 'Sends the text and watches the connection it used',
          effect: 'write',
          input: z.object({ text: z.string() }),
          output: z.object({ text: z.string() }),
          run: async ({ text }, { client, logger }) => {
            if (client.listenerCount('error') === 0) {
              client.on('error', (error: Error) =>
                logger.warn('Connection failed', { error: error.message }),
              );
            }
            return { text };
          },
        }),
      }),
    });
    await connector.prepare();
    const context = lambdaContext();
    const answer = await store.run(
      { [InvokeStoreBase.PROTECTED_KEYS.REQUEST_ID]: context.awsRequestId },
      () => connector.handler(httpEvent({ path: '/lmi-init/send', body: { text: 'hi' } }), context as never),
    );
    // Act: the connection fails once the invocation is over, outside any invocation's context.
    expect(() => connection.emit('error', new Error('socket hang up'))).not.toThrow();
    // Assess
    expect(answer).toMatchObject({ statusCode: 200 });
    const warning = logs.records().find((record) => String(record['message']).startsWith('Write operations'));
    expect(warning).toMatchObject({ level: 'WARN', service: 'lmi-init', connectorVersion: '1.0.0' });
    expect(warning).not.toHaveProperty('function_request_id');
    const failed = logs.records().find((record) => record['message'] === 'Connection failed');
    expect(failed).toMatchObject({ level: 'WARN', error: 'socket hang up', connectorVersion: '1.0.0' });
    expect(failed).not.toHaveProperty('function_request_id');
    expect(lineOf(logs, context.awsRequestId)).toMatchObject({ status: 200 });
  });
});
