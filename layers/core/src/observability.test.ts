import { afterEach, describe, expect, it } from 'vitest';
import {
  createLogger,
  loadTracer,
  recordOperation,
  traceAwsClient,
  tracingEnabled,
} from './observability.ts';
import { captureLogs } from './testing/index.ts';

describe('Module: observability', () => {
  afterEach(() => {
    delete process.env['POWERTOOLS_TRACE_ENABLED'];
  });

  it('records count, errors and latency per operation as one EMF line', () => {
    // Prepare
    const logs = captureLogs();
    // Act
    recordOperation({ connector: 'obs-test', operation: 'put-object', durationMs: 12.5, failed: true });
    logs.restore();
    // Assess
    const emf = logs.records().find((record) => record['_aws'] !== undefined);
    expect(emf).toMatchObject({
      operation: 'put-object',
      service: 'obs-test',
      invocations: 1,
      errors: 1,
      latency: 12.5,
    });
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

  it('does not load the tracer when tracing is off', async () => {
    expect(tracingEnabled()).toBe(false);
    await expect(loadTracer('obs-test')).resolves.toBeUndefined();
    const client = { send: () => 1 };
    await expect(traceAwsClient(client, 'obs-test')).resolves.toBe(client);
  });

  it('loads the tracer when tracing is on', async () => {
    process.env['POWERTOOLS_TRACE_ENABLED'] = 'true';
    expect(tracingEnabled()).toBe(true);
    const tracer = await loadTracer('obs-test');
    expect(tracer).toBeDefined();
    expect(typeof tracer?.putAnnotation).toBe('function');
  });
});
