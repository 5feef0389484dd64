/**
 * Warm cost: imports one variant and warms it up, then runs slices of timed invocations on request, so
 * the parent can interleave the variants slice by slice (a burst of load from other work on the machine
 * then hits every variant alike). Every invocation is timed on its own; the event is parsed afresh and
 * the context built before the clock starts, and the event loop turns after each invocation, as the runtime
 * does between invocations. Standard output is /dev/null at the OS level, so log lines are really written.
 */
import { lambdaContext, loadHandler, readTask, reply, setTraceHeader, succeeded } from './lambda.ts';
import type { WarmCommand, WarmReady, WarmSlice, WarmTask } from './protocol.ts';

const task = readTask<WarmTask>();
const handler = await loadHandler(task.bundle);

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let invocation = 0;
const run = async (count: number, samples: Float64Array | undefined): Promise<number> => {
  let failures = 0;
  for (let i = 0; i < count; i += 1) {
    const event: unknown = JSON.parse(task.event);
    const context = lambdaContext(task.functionName, invocation);
    setTraceHeader(invocation, task.traced);
    invocation += 1;
    const started = process.hrtime.bigint();
    const response = await handler(event, context);
    const elapsed = process.hrtime.bigint() - started;
    if (samples !== undefined) samples[i] = Number(elapsed);
    if (!succeeded(task.kind, response)) failures += 1;
    // The runtime does I/O between invocations, so the event loop turns: pending sends (X-Ray segments)
    // go out there instead of piling up behind a loop of resolved promises.
    await nextTurn();
  }
  return failures;
};

const warmupFailures = await run(task.warmup, undefined);
const send = (message: WarmReady | WarmSlice): void => {
  process.send?.(message);
};
send({ ready: true, failures: warmupFailures });
process.on('message', (command: WarmCommand) => {
  if (command.invocations === 0) {
    reply({ done: true });
    return;
  }
  const samples = new Float64Array(command.invocations);
  const started = performance.now();
  void run(command.invocations, samples).then((failures) =>
    send({ samples, failures, loopMs: performance.now() - started }),
  );
});
