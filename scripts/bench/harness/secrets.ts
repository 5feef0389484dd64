/**
 * Secrets Manager calls: imports the core variant that reads a secret on every invocation (its init
 * prefetches it) and invokes it a fixed number of times, or for a while with pauses (max-age check).
 * The parent counts the GetSecretValue calls its fake endpoint received.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { lambdaContext, loadHandler, readTask, reply, setTraceHeader, succeeded } from './lambda.ts';
import type { SecretsResult, SecretsTask } from './protocol.ts';

const task = readTask<SecretsTask>();
const handler = await loadHandler(task.bundle);
const started = performance.now();
let invocations = 0;
let failures = 0;
const more = (): boolean =>
  task.durationMs === undefined
    ? invocations < task.invocations
    : performance.now() - started < task.durationMs;
while (more()) {
  setTraceHeader(invocations, task.traced);
  const response = await handler(JSON.parse(task.event), lambdaContext(task.functionName, invocations));
  if (!succeeded(task.kind, response)) failures += 1;
  invocations += 1;
  if (task.pauseMs !== undefined) await sleep(task.pauseMs);
}
const result: SecretsResult = { invocations, failures, elapsedMs: performance.now() - started };
reply(result);
