/**
 * What the parts of an invocation cost, each timed alone in one warm process with the same clock as the
 * warm benchmark: the pieces the core and the stock stack are made of (a Powertools log line, an EMF
 * metrics line, middy, zod, AsyncLocalStorage, safe JSON parsing, Powertools batch processing, ...).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import {
  createLogger,
  InvocationLog,
  loadTracer,
  OperationMetrics,
  parseEnvelope,
  parseInput,
  parseJson,
  withInvocation,
} from '@circle-core/core';
import middy from '@middy/core';

const metrics = new OperationMetrics();

import type { SQSEvent } from 'aws-lambda';
import {
  CreateItemInput,
  CreateItemOutput,
  createItem,
  OPERATION,
  SAMPLE_INPUT,
} from '../variants/operation.ts';
import { lambdaContext, readTask, reply, setTraceHeader } from './lambda.ts';
import type { ComponentCost, ComponentsResult, ComponentsTask } from './protocol.ts';

const task = readTask<ComponentsTask>();
// The stock stack imports the X-Ray SDK even with tracing off; its async hooks then tax every promise.
if (task.loadXray) await import('aws-xray-sdk-core');

type Probe = () => unknown;

/** Every invocation on Lambda runs with a trace header; the Powertools logger parses it for each line. */
setTraceHeader(0, false);

const ROUNDS = 5;

/** Times one slice of `count` calls; awaits the probe only when it returns a promise. */
async function timeSlice(probe: Probe, count: number): Promise<Float64Array> {
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i += 1) {
    const started = process.hrtime.bigint();
    const result = probe();
    if (result instanceof Promise) await result;
    samples[i] = Number(process.hrtime.bigint() - started);
  }
  return samples.sort();
}

const at = (sorted: Float64Array, q: number): number =>
  (sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? 0) / 1000;

/**
 * Warms every probe up, then times them round-robin in slices, so a burst of load from other work hits
 * them alike; p50 is the median of the slices' p50s, p99 the median of their p99s.
 */
async function timeAll(probes: readonly [string, string, Probe][]): Promise<ComponentCost[]> {
  for (const [, , probe] of probes) await timeSlice(probe, task.warmup);
  const p50s = probes.map((): number[] => []);
  const p99s = probes.map((): number[] => []);
  const slice = Math.ceil(task.iterations / ROUNDS);
  for (let round = 0; round < ROUNDS; round += 1) {
    for (const [index, [, , probe]] of probes.entries()) {
      const sorted = await timeSlice(probe, slice);
      p50s[index]?.push(at(sorted, 0.5));
      p99s[index]?.push(at(sorted, 0.99));
    }
  }
  const median = (values: number[] | undefined): number => {
    const sorted = [...(values ?? [])].sort((a, b) => a - b);
    return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
  };
  return probes.map(([name, detail], index) => ({
    name,
    detail,
    p50Us: median(p50s[index]),
    p99Us: median(p99s[index]),
  }));
}

const logger = createLogger('bench', '1.0.0');
const context = lambdaContext('bench-components', 0);
logger.addContext(context);
const line = {
  trigger: 'http',
  correlationId: context.awsRequestId,
  operation: OPERATION,
  status: 200,
  durationMs: 0.123,
};
const input = { ...SAMPLE_INPUT, tags: [...SAMPLE_INPUT.tags] };
const output = createItem(CreateItemInput.parse(input));
const middyHandler = middy()
  .use({ before: () => undefined })
  .handler(async () => ({ statusCode: 200 }));
const sqsEvent = JSON.parse(task.sqsEvent) as SQSEvent;
const headers = task.headers;
const noop = async (): Promise<undefined> => undefined;
const sharedProcessor = new BatchProcessor(EventType.SQS);
const recordBody = sqsEvent.Records[0]?.body ?? '{}';
const invocationLog = new InvocationLog(logger, 'bench', '1.0.0');
const batchMetrics = new OperationMetrics();
/** What the core records for a batch of ten: one sample per record, drained into one EMF document. */
const recordBatchMetrics = (): Record<string, unknown>[] => {
  for (let i = 0; i < 10; i += 1) {
    batchMetrics.record({ connector: 'bench', operation: OPERATION, durationMs: 0.05, failed: false });
  }
  return batchMetrics.drain();
};
const batchDocuments = recordBatchMetrics();
const batchLine = {
  trigger: 'sqs',
  correlationId: context.awsRequestId,
  records: 10,
  failed: 0,
  durationMs: 0.5,
};

const probes: [string, string, Probe][] = [
  ['clock + await', 'an empty async function, timed like a handler (the harness floor)', noop],
  [
    'Powertools log line',
    'the core logger: logger.info with the invocation attributes',
    () => logger.info('invocation', line),
  ],
  [
    'logger.addContext',
    'the core middy before-hook: Lambda context into the logger',
    () => logger.addContext(context),
  ],
  [
    'EMF metrics line',
    'OperationMetrics: one sample recorded and published (one dimension, three metrics)',
    () => {
      metrics.record({ connector: 'bench', operation: OPERATION, durationMs: 0.5, failed: false });
      metrics.publish();
    },
  ],
  [
    'hand-written JSON line',
    'process.stdout.write(JSON.stringify(...)) with a timestamp',
    () =>
      process.stdout.write(
        `${JSON.stringify({ level: 'INFO', message: 'invocation', timestamp: new Date().toISOString(), ...line })}\n`,
      ),
  ],
  ['middy', 'middy with one before-middleware around an empty handler', () => middyHandler({}, context)],
  ['zod input parse', 'CreateItemInput.safeParse of the body', () => CreateItemInput.safeParse(input)],
  ['zod output parse', 'CreateItemOutput.safeParse of the answer', () => CreateItemOutput.safeParse(output)],
  ['parseInput', 'the core wrapper around the input parse', () => parseInput(CreateItemInput, input)],
  [
    'envelope parse',
    'parseEnvelope of one SQS record body (checked by hand; zod only names what is wrong)',
    () => parseEnvelope({ operation: OPERATION, input }),
  ],
  ['JSON.parse body', 'JSON.parse of the HTTP body', () => JSON.parse(task.body)],
  [
    'parseJson body',
    'the core: JSON.parse, secure-json-parse only for a text that could spell __proto__ or constructor',
    () => parseJson(task.body, 'body'),
  ],
  [
    'JSON.parse record body',
    'JSON.parse of one SQS record body ({ operation, input }), as the stock record handler does',
    () => JSON.parse(recordBody),
  ],
  [
    'parseJson record body',
    'the core: parseJson of one SQS record body (the same checks)',
    () => parseJson(recordBody, 'message body'),
  ],
  [
    'invocation log line',
    "the core's one line per invocation (InvocationLog.write, hand-serialised) with a batch's EMF document",
    () => invocationLog.write('INFO', context, batchLine, batchDocuments),
  ],
  [
    'EMF metrics, batch of 10',
    'OperationMetrics: ten samples recorded and drained into one EMF document (not written)',
    recordBatchMetrics,
  ],
  [
    'AsyncLocalStorage',
    'withInvocation around an async function',
    () => withInvocation({ deadline: Date.now() + 1000, correlationId: 'c' }, noop),
  ],
  ['await loadTracer', 'loading the tracer with tracing off (a resolved promise)', () => loadTracer('bench')],
  [
    'process.env read',
    "process.env['CIRCLE_MAX_BODY_BYTES'] (unset), read on every request",
    () => process.env['CIRCLE_MAX_BODY_BYTES'],
  ],
  [
    'header scan',
    'a case-insensitive lookup of an absent header over the event headers',
    () => {
      for (const [key, value] of Object.entries(headers))
        if (key.toLowerCase() === 'idempotency-key') return value;
      return undefined;
    },
  ],
  [
    'Buffer round trip',
    'Buffer.from(body) then toString, as the core reads a body',
    () => Buffer.from(task.body, 'utf8').toString('utf8'),
  ],
  [
    'Powertools batch (10 records)',
    'processPartialResponse with a new BatchProcessor per batch (as the core does) and a no-op record handler',
    () =>
      processPartialResponse(sqsEvent, noop, new BatchProcessor(EventType.SQS), {
        throwOnFullBatchFailure: false,
      }),
  ],
  [
    'Powertools batch, reused (10 records)',
    'processPartialResponse with one module-level BatchProcessor (as the stock variant does)',
    () => processPartialResponse(sqsEvent, noop, sharedProcessor, { throwOnFullBatchFailure: false }),
  ],
];

const result: ComponentsResult = { components: await timeAll(probes) };
reply(result);
