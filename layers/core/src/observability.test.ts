import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import * as fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createLogger,
  InvocationLog,
  isoTimestamp,
  loadTracer,
  OperationMetrics,
  traceAwsClient,
  traced,
  tracingEnabled,
} from './observability.ts';
import { captureLogs, lambdaContext } from './testing/index.ts';

/** Powertools' logger class as the core loads it (`require`, outside the bundle), so the same class. */
const { Logger } = createRequire(import.meta.url)('@aws-lambda-powertools/logger') as {
  Logger: typeof PowertoolsLogger;
};

describe('Module: observability', () => {
  afterEach(() => {
    delete process.env['POWERTOOLS_TRACE_ENABLED'];
    delete process.env['AWS_LAMBDA_INITIALIZATION_TYPE'];
  });

  it('publishes one EMF line per operation with count, errors and every latency', () => {
    // Prepare
    const metrics = new OperationMetrics();
    metrics.record({ connector: 'obs-test', operation: 'put-object', durationMs: 12.5, failed: true });
    metrics.record({ connector: 'obs-test', operation: 'put-object', durationMs: 3, failed: false });
    metrics.record({ connector: 'obs-test', operation: 'get-object', durationMs: 1, failed: false });
    const logs = captureLogs();
    // Act
    metrics.publish();
    metrics.publish();
    logs.restore();
    // Assess
    const emf = logs.records().filter((record) => record['_aws'] !== undefined);
    expect(emf).toHaveLength(2);
    expect(emf.find((line) => line['operation'] === 'put-object')).toMatchObject({
      service: 'obs-test',
      invocations: 2,
      errors: 1,
      latency: [12.5, 3],
    });
    expect(emf.find((line) => line['operation'] === 'get-object')).toMatchObject({
      invocations: 1,
      errors: 0,
      latency: 1,
    });
  });

  it("adds an operation's measures as metrics of their own, summed over the batch, never over the core's", () => {
    // Prepare
    const metrics = new OperationMetrics();
    const chat = { connector: 'obs-test', operation: 'complete-chat', durationMs: 5, failed: false };
    metrics.record({ ...chat, measures: { inputTokens: 12, estimatedCostUsd: 0.1 } });
    metrics.record({ ...chat, measures: { inputTokens: 30, estimatedCostUsd: 0.2, invocations: 99 } });
    metrics.record({ ...chat, failed: true });
    metrics.record({ connector: 'obs-test', operation: 'ping', durationMs: 1, failed: false });
    // Act
    const documents = metrics.drain();
    // Assess
    const chatLine = documents.find((line) => line['operation'] === 'complete-chat');
    expect(chatLine).toMatchObject({ invocations: 3, errors: 1, inputTokens: 42, estimatedCostUsd: 0.3 });
    type Directive = { CloudWatchMetrics: { Metrics: { Name: string }[] }[] };
    const names = (line: Record<string, unknown> | undefined) =>
      ((line?.['_aws'] as Directive | undefined)?.CloudWatchMetrics[0]?.Metrics ?? []).map(
        (metric) => metric.Name,
      );
    expect(names(chatLine)).toEqual(['invocations', 'errors', 'latency', 'inputTokens', 'estimatedCostUsd']);
    // An operation without measures keeps the plain directive.
    expect(names(documents.find((line) => line['operation'] === 'ping'))).toEqual([
      'invocations',
      'errors',
      'latency',
    ]);
  });

  it('writes the invocation line in the Powertools shape, cold start once, with the X-Ray root id', () => {
    // Prepare
    process.env['_X_AMZN_TRACE_ID'] =
      'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    const log = new InvocationLog(createLogger('obs-test', '1.0.0'), 'obs-test', '1.0.0');
    const context = { functionName: 'fn', awsRequestId: 'req-1' };
    const logs = captureLogs();
    // Act
    log.write('INFO', context, { operation: 'put-object', status: 200 }, []);
    log.write('WARN', context, { operation: 'put-object', status: 500 }, []);
    logs.restore();
    delete process.env['_X_AMZN_TRACE_ID'];
    // Assess
    const [first, second] = logs.records();
    expect(first).toMatchObject({
      level: 'INFO',
      message: 'invocation',
      service: 'obs-test',
      connectorVersion: '1.0.0',
      cold_start: true,
      function_name: 'fn',
      function_request_id: 'req-1',
      xray_trace_id: '1-5759e988-bd862e3fe1be46a994272793',
      operation: 'put-object',
    });
    expect(typeof first?.['timestamp']).toBe('string');
    expect(second).toMatchObject({ level: 'WARN', cold_start: false, status: 500 });
  });

  it('writes structured lines with the connector version', () => {
    const logs = captureLogs();
    createLogger('obs-test', '9.9.9').info('hello', { a: 1 });
    logs.restore();
    expect(logs.records()[0]).toMatchObject({
      message: 'hello',
      service: 'obs-test',
      connectorVersion: '9.9.9',
      a: 1,
    });
  });

  it('builds the Powertools logger only on its first real use, with the context and level it was given', () => {
    // Prepare: the level is read when the logger is created, as an eagerly built one read it.
    const built = vi.spyOn(Logger.prototype as unknown as { setOptions: () => unknown }, 'setOptions');
    process.env['POWERTOOLS_LOG_LEVEL'] = 'WARN';
    const logger = createLogger('obs-lazy', '2.0.0');
    delete process.env['POWERTOOLS_LOG_LEVEL'];
    // Powertools says cold_start true only in an on-demand sandbox.
    process.env['AWS_LAMBDA_INITIALIZATION_TYPE'] = 'on-demand';
    const context = { ...lambdaContext(), functionName: 'fn-lazy', awsRequestId: 'req-lazy' };
    // Act: what every invocation does (the invocation line reads the level; the middleware adds the context).
    const level = new InvocationLog(logger, 'obs-lazy', '2.0.0') && logger.getLevelName();
    logger.addContext(context);
    const before = built.mock.calls.length;
    const logs = captureLogs();
    logger.info('dropped by the level');
    logger.warn('kept', { a: 1 });
    logs.restore();
    const after = built.mock.calls.length;
    built.mockRestore();
    // Assess
    expect(level).toBe('WARN');
    expect([before, after]).toEqual([0, 1]);
    expect(logger).toBeInstanceOf(Logger);
    expect(logs.records()).toEqual([
      expect.objectContaining({
        level: 'WARN',
        message: 'kept',
        service: 'obs-lazy',
        connectorVersion: '2.0.0',
        cold_start: true,
        function_name: 'fn-lazy',
        function_request_id: 'req-lazy',
        a: 1,
      }),
    ]);
    expect(logger.getLevelName()).toBe('WARN');
  });

  it('says cold_start false on a first line written after several invocations', () => {
    process.env['AWS_LAMBDA_INITIALIZATION_TYPE'] = 'on-demand';
    const logger = createLogger('obs-lazy', '2.0.0');
    logger.addContext({ ...lambdaContext(), awsRequestId: 'req-1' });
    logger.addContext({ ...lambdaContext(), awsRequestId: 'req-2' });
    logger.addContext({ ...lambdaContext(), awsRequestId: 'req-3' });
    const logs = captureLogs();
    logger.appendKeys({ tenant: 't-1' });
    logger.info('late');
    logs.restore();
    expect(logs.records()).toEqual([
      expect.objectContaining({
        message: 'late',
        cold_start: false,
        function_request_id: 'req-3',
        tenant: 't-1',
      }),
    ]);
  });

  it("takes the level as Powertools does: Lambda's log level first, then POWERTOOLS_LOG_LEVEL, then LOG_LEVEL", () => {
    const levelWith = (env: Record<string, string>): string => {
      const names = ['AWS_LAMBDA_LOG_LEVEL', 'POWERTOOLS_LOG_LEVEL', 'LOG_LEVEL'];
      for (const name of names) delete process.env[name];
      Object.assign(process.env, env);
      try {
        const lazy = createLogger('obs-level', '1.0.0').getLevelName();
        const eager = new Logger({ serviceName: 'obs-level' }).getLevelName();
        expect(lazy).toBe(eager);
        return lazy;
      } finally {
        for (const name of names) delete process.env[name];
      }
    };
    expect(levelWith({})).toBe('INFO');
    expect(levelWith({ LOG_LEVEL: 'DEBUG' })).toBe('DEBUG');
    expect(levelWith({ POWERTOOLS_LOG_LEVEL: ' ERROR ', LOG_LEVEL: 'DEBUG' })).toBe('ERROR');
    expect(levelWith({ POWERTOOLS_LOG_LEVEL: 'debug' })).toBe('INFO');
    expect(levelWith({ POWERTOOLS_LOG_LEVEL: 'bogus', LOG_LEVEL: 'WARN' })).toBe('INFO');
    expect(levelWith({ AWS_LAMBDA_LOG_LEVEL: 'WARN', POWERTOOLS_LOG_LEVEL: 'DEBUG' })).toBe('WARN');
    expect(levelWith({ AWS_LAMBDA_LOG_LEVEL: 'FATAL' })).toBe('CRITICAL');
    expect(levelWith({ AWS_LAMBDA_LOG_LEVEL: 'nonsense', LOG_LEVEL: 'ERROR' })).toBe('ERROR');
  });

  it.each([
    ['debug sampling is configured (the level is drawn then)', 'POWERTOOLS_LOGGER_SAMPLE_RATE', '0'],
    [
      'invocations run concurrently (Powertools keeps their contexts apart)',
      'AWS_LAMBDA_MAX_CONCURRENCY',
      '4',
    ],
  ])('builds the logger at once when %s', (_why, name, value) => {
    const built = vi.spyOn(Logger.prototype as unknown as { setOptions: () => unknown }, 'setOptions');
    process.env[name] = value;
    // Lambda's per-invocation store, which Powertools asks for with concurrent invocations.
    const values = new Map<unknown, unknown>();
    const lambda = globalThis as { awslambda?: unknown };
    lambda.awslambda = {
      InvokeStore: { get: (key: unknown) => values.get(key), set: values.set.bind(values) },
    };
    let calls = 0;
    try {
      createLogger('obs-eager', '1.0.0');
      calls = built.mock.calls.length;
    } finally {
      delete process.env[name];
      delete lambda.awslambda;
      built.mockRestore();
    }
    expect(calls).toBe(1);
  });

  it('does not load the tracer when tracing is off', async () => {
    expect(tracingEnabled()).toBe(false);
    await expect(loadTracer('obs-test')).resolves.toBeUndefined();
    const client = { send: () => 1 };
    await expect(traceAwsClient(client, 'obs-test')).resolves.toBe(client);
  });

  it('runs traced work plainly without a tracer', async () => {
    const annotations: string[] = [];
    const result = await traced(undefined, 'obs-test', async (annotate) => {
      annotate('operation', 'x');
      return 42;
    });
    expect(result).toBe(42);
    expect(annotations).toEqual([]);
  });

  it('annotates a subsegment of its own, closes it and restores the parent', async () => {
    // Prepare: the tracer only traces inside Lambda, which it recognises by AWS_EXECUTION_ENV.
    process.env['POWERTOOLS_TRACE_ENABLED'] = 'true';
    process.env['AWS_EXECUTION_ENV'] = 'AWS_Lambda_nodejs24.x';
    const tracer = await loadTracer('obs-test');
    delete process.env['AWS_EXECUTION_ENV'];
    if (tracer === undefined) throw new Error('tracer expected');
    const xray = await import('aws-xray-sdk-core');
    // In Lambda the SDK's continuation-local namespace is entered by the runtime hook; here by hand.
    await xray.getNamespace().runPromise(async () => {
      const parent = new xray.Segment('lambda-facade');
      tracer.setSegment(parent);
      // Act
      const failure = traced(tracer, 'obs-test', async (annotate) => {
        annotate('operation', 'put-object');
        throw new Error('boom');
      });
      // Assess
      await expect(failure).rejects.toThrow('boom');
      const sub = parent.subsegments?.[0] as unknown as {
        name: string;
        annotations: Record<string, unknown>;
        end_time?: number;
      };
      expect(sub.name).toBe('## obs-test');
      expect(sub.annotations['operation']).toBe('put-object');
      expect(sub.end_time).toBeGreaterThan(0);
      expect(tracer.getSegment()).toBe(parent);
    });
  });

  it('loads the tracer when tracing is on', async () => {
    process.env['POWERTOOLS_TRACE_ENABLED'] = 'true';
    expect(tracingEnabled()).toBe(true);
    const tracer = await loadTracer('obs-test');
    expect(tracer).toBeDefined();
    expect(typeof tracer?.putAnnotation).toBe('function');
  });
});

describe('Function: isoTimestamp', () => {
  it('formats any instant exactly as Date#toISOString, across and within seconds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -62_198_755_200_000, max: 253_402_300_799_999 }),
        fc.integer({ min: 0, max: 2_500 }),
        (start, later) => {
          expect(isoTimestamp(start)).toBe(new Date(start).toISOString());
          expect(isoTimestamp(start + later)).toBe(new Date(start + later).toISOString());
        },
      ),
      { numRuns: 5_000 },
    );
    for (const instant of [
      0,
      999,
      1000,
      -1,
      -1001,
      8.64e15,
      -8.64e15,
      Date.UTC(2026, 11, 31, 23, 59, 59, 999),
    ]) {
      expect(isoTimestamp(instant)).toBe(new Date(instant).toISOString());
    }
  });
});

describe('Class: InvocationLog (line shape)', () => {
  /** The line as the core wrote it before: one object merged with Object.assign, `_aws` last. */
  const merged = (
    header: Record<string, unknown>,
    fields: Record<string, unknown>,
    first: Record<string, unknown> | undefined,
  ): Record<string, unknown> => {
    const line = Object.assign({ ...header }, fields, first);
    const aws = line['_aws'];
    delete line['_aws'];
    return JSON.parse(JSON.stringify(aws === undefined ? line : Object.assign(line, { _aws: aws })));
  };
  const key = fc.constantFrom(
    'operation',
    'status',
    'durationMs',
    'errorCode',
    'error',
    'service',
    'level',
    'function_name',
    'xray_trace_id',
    'cold_start',
  );
  const value = fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(undefined), fc.constant(null));

  it('writes the same keys, values and order as merging the fields over the header', () => {
    fc.assert(
      fc.property(
        fc.dictionary(key, value),
        fc.option(fc.dictionary(key, value), { nil: undefined }),
        fc.boolean(),
        fc.option(fc.string(), { nil: undefined }),
        (fields, document, withMetrics, trace) => {
          if (trace === undefined) delete process.env['_X_AMZN_TRACE_ID'];
          else process.env['_X_AMZN_TRACE_ID'] = `Root=${trace.replaceAll(';', '')};Parent=1;Sampled=0`;
          const metrics = new OperationMetrics();
          if (withMetrics)
            metrics.record({ connector: 'svc', operation: 'op', durationMs: 1.5, failed: false });
          const drained = metrics.drain();
          const first = document === undefined ? drained[0] : { ...document, ...drained[0] };
          const log = new InvocationLog(createLogger('svc', '2.0.0'), 'svc', '2.0.0');
          const logs = captureLogs();
          log.write('INFO', { functionName: 'fn"x', awsRequestId: 'req-\n1' }, fields, first ? [first] : []);
          logs.restore();
          delete process.env['_X_AMZN_TRACE_ID'];
          const written = logs.records()[0] as Record<string, unknown>;
          const cleaned = trace?.replaceAll(';', '');
          const root = cleaned === undefined || cleaned === '' ? undefined : cleaned;
          const header: Record<string, unknown> = {
            level: 'INFO',
            message: 'invocation',
            timestamp: written['timestamp'],
            service: 'svc',
            connectorVersion: '2.0.0',
            cold_start: true,
            function_name: 'fn"x',
            function_request_id: 'req-\n1',
            ...(root === undefined ? {} : { xray_trace_id: root }),
          };
          const expected = merged(header, fields, first);
          expect(written).toEqual(expected);
          expect(Object.keys(written)).toEqual(Object.keys(expected));
        },
      ),
      { numRuns: 1_000 },
    );
  });
});

describe('Function: the core lines on file descriptor 1', () => {
  const observability = new URL('./observability.ts', import.meta.url).href;
  /** Runs `body` in a fresh node with `log`, an InvocationLog, and `line(n, size)`, one invocation line. */
  const child = (body: string, holdMs = 0): Promise<{ out: string; err: string }> => {
    const script = `
      import { InvocationLog } from ${JSON.stringify(observability)};
      const log = new InvocationLog({ getLevelName: () => 'INFO' }, 'probe', '1.0.0');
      const context = { functionName: 'probe', awsRequestId: 'r-1' };
      const line = (n, size = 0) => log.write('INFO', context, { n, pad: 'x'.repeat(size) }, []);
      ${body}`;
    const proc = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Not reading for a while fills the pipe, so the child's writes meet a full one.
    if (holdMs > 0) proc.stdout.pause();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    proc.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    proc.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    if (holdMs > 0) setTimeout(() => proc.stdout.resume(), holdMs);
    return new Promise((resolve, reject) => {
      proc.on('error', reject);
      proc.on('close', (code) => {
        const result = { out: Buffer.concat(out).toString('utf8'), err: Buffer.concat(err).toString('utf8') };
        if (code === 0) resolve(result);
        else reject(new Error(`child exited with ${code}: ${result.err}`));
      });
    });
  };

  it('writes the invocation line without opening process.stdout (no built-in module loaded)', async () => {
    // Act: opening process.stdout on a pipe would load net, its stream modules and more.
    const { out, err } = await child(`
      const before = new Set(process.moduleLoadList);
      line(1);
      const loaded = process.moduleLoadList.filter((name) => !before.has(name));
      process.stderr.write(JSON.stringify(loaded));`);
    // Assess
    expect(JSON.parse(out)).toMatchObject({ message: 'invocation', service: 'probe', n: 1 });
    expect(JSON.parse(err)).toEqual([]);
  });

  it('sends the lines of every copy of the core through process.stdout once asked (tests that reset modules)', async () => {
    // Act: two copies of the module (two URLs); the switch thrown in one, a line written by the other.
    const { out } = await child(`
      const { writeSync } = await import('node:fs');
      const other = await import(${JSON.stringify(`${observability}?copy`)});
      const { linesThroughStdoutStream } = await import(${JSON.stringify(observability)});
      linesThroughStdoutStream();
      const seen = [];
      process.stdout.write = (text) => seen.push(String(text)) > 0;
      new other.InvocationLog({ getLevelName: () => 'INFO' }, 'copy', '1.0.0').write('INFO', context, {}, []);
      writeSync(1, JSON.stringify(seen));`);
    // Assess: the replaced write received it (nothing went past it to the descriptor).
    const seen = JSON.parse(out) as string[];
    expect(seen).toHaveLength(1);
    expect(JSON.parse(seen[0] as string)).toMatchObject({ message: 'invocation', service: 'copy' });
  });

  it('loses no line and keeps their order when the pipe is full (EAGAIN hands them to process.stdout)', async () => {
    // Act: process.stdout opened first makes the pipe non-blocking; 600 KB meet it full.
    const { out } = await child(
      `process.stdout.write('opened\\n');
       for (let n = 1; n <= 300; n += 1) line(n, 2000);`,
      300,
    );
    // Assess
    const lines = out.split('\n').filter((text) => text.length > 0);
    expect(lines[0]).toBe('opened');
    const numbers = lines.slice(1).map((text) => (JSON.parse(text) as { n: number }).n);
    expect(numbers).toEqual(Array.from({ length: 300 }, (_, i) => i + 1));
  });
});
