/**
 * What the parts of an invocation cost, each timed alone in one warm process with the same clock as the
 * warm benchmark: the pieces the core and the stock stack are made of (a Powertools log line, an EMF
 * metrics line, middy, zod, AsyncLocalStorage, safe JSON parsing, Powertools batch processing, ...).
 */
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import {
  createLogger,
  loadTracer,
  parseEnvelope,
  parseInput,
  parseJson,
  recordOperation,
  withInvocation,
} from '@circle-core/core';
import middy from '@middy/core';
import type { SQSEvent } from 'aws-lambda';
import { CreateItemInput, CreateItemOutput, createItem, OPERATION, SAMPLE_INPUT } from '../variants/operation.ts';
import { lambdaContext, readTask, reply } from './lambda.ts';
import type { ComponentCost, ComponentsResult, ComponentsTask } from './protocol.ts';

const task = readTask<ComponentsTask>();
// The stock stack imports the X-Ray SDK even with tracing off; its async hooks then tax every promise.
if (task.loadXray) await import('aws-xray-sdk-core');

type Probe = () => unknown;

/** Times `probe` `iterations` times after a warm-up; awaits it only when it returns a promise. */
async function time(name: string, detail: string, probe: Probe): Promise<ComponentCost> {
  const samples = new Float64Array(task.iterations);
  for (let i = 0; i < task.warmup + task.iterations; i += 1) {
    const started = process.hrtime.bigint();
    const result = probe();
    if (result instanceof Promise) await result;
    const elapsed = process.hrtime.bigint() - started;
    if (i >= task.warmup) samples[i - task.warmup] = Number(elapsed);
  }
  samples.sort();
  const at = (q: number): number => (samples[Math.min(samples.length - 1, Math.ceil(q * samples.length) - 1)] ?? 0) / 1000;
  return { name, detail, p50Us: at(0.5), p99Us: at(0.99) };
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

const probes: [string, string, Probe][] = [
  ['clock + await', 'an empty async function, timed like a handler (the harness floor)', noop],
  ['Powertools log line', 'the core logger: logger.info with the invocation attributes', () => logger.info('invocation', line)],
  ['logger.addContext', 'the core middy before-hook: Lambda context into the logger', () => logger.addContext(context)],
  [
    'EMF metrics line',
    'recordOperation: one dimension, three metrics, publishStoredMetrics',
    () => recordOperation({ connector: 'bench', operation: OPERATION, durationMs: 0.5, failed: false }),
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
    'parseEnvelope of one SQS record body (a zod object with a regex)',
    () => parseEnvelope({ operation: OPERATION, input }),
  ],
  ['JSON.parse body', 'JSON.parse of the HTTP body', () => JSON.parse(task.body)],
  ['parseJson body', 'the core: secure-json-parse with prototype checks', () => parseJson(task.body, 'body')],
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
      for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === 'idempotency-key') return value;
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
    () => processPartialResponse(sqsEvent, noop, new BatchProcessor(EventType.SQS), { throwOnFullBatchFailure: false }),
  ],
  [
    'Powertools batch, reused (10 records)',
    'processPartialResponse with one module-level BatchProcessor (as the stock variant does)',
    () => processPartialResponse(sqsEvent, noop, sharedProcessor, { throwOnFullBatchFailure: false }),
  ],
];

const components: ComponentCost[] = [];
for (const [name, detail, probe] of probes) components.push(await time(name, detail, probe));
const result: ComponentsResult = { components };
reply(result);
