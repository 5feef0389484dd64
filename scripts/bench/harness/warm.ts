/**
 * Warm cost: imports one variant, warms it up, then times every invocation on its own. The event is
 * parsed afresh and the context built before the clock starts, as the runtime does between invocations.
 * Standard output is /dev/null at the OS level, so log lines are really written.
 */
import { lambdaContext, loadHandler, readTask, reply, setTraceHeader, succeeded } from './lambda.ts';
import type { WarmResult, WarmTask } from './protocol.ts';

const task = readTask<WarmTask>();
const handler = await loadHandler(task.bundle);

let failures = 0;
const run = async (count: number, samples: Float64Array | undefined): Promise<void> => {
  for (let i = 0; i < count; i += 1) {
    const event: unknown = JSON.parse(task.event);
    const context = lambdaContext(task.functionName, i);
    setTraceHeader(i, task.traced);
    const started = process.hrtime.bigint();
    const response = await handler(event, context);
    const elapsed = process.hrtime.bigint() - started;
    if (samples !== undefined) samples[i] = Number(elapsed);
    if (!succeeded(task.kind, response)) failures += 1;
  }
};

await run(task.warmup, undefined);
failures = 0;
const samples = new Float64Array(task.invocations);
const loopStarted = performance.now();
await run(task.invocations, samples);
const result: WarmResult = { samples, failures, loopMs: performance.now() - loopStarted };
reply(result);
