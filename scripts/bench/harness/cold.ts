/**
 * Cold start: import the bundle (its init runs, secret fetch included), invoke it once unless the task is
 * init only, report on fd 3 and exit. The parent times the whole process, from spawn to exit, and
 * subtracts the floor (floor.ts). Nothing here loads what the floor does not: no `node:crypto` (a fixed
 * request id), no `node:url` (the parent passes the bundle's URL), only `node:fs` through
 * `process.getBuiltinModule`, exactly as the floor reports.
 */
import type { ColdResult, ColdTask } from './protocol.ts';

const text = process.env['BENCH_TASK'];
if (text === undefined) throw new Error('BENCH_TASK is not set: run this through scripts/bench/run.ts');
const task = JSON.parse(text) as ColdTask;
const module = (await import(task.bundleUrl)) as { handler?: unknown };
if (typeof module.handler !== 'function') throw new Error(`${task.bundleUrl} exports no handler`);
const handler = module.handler as (event: unknown, context: unknown) => Promise<unknown>;

let ok = true;
if (task.event !== undefined) {
  const deadline = Date.now() + 30_000;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: task.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${task.functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: '8f0e5b1c-3d2a-4c6b-9e7f-0a1b2c3d4e5f',
    logGroupName: `/aws/lambda/${task.functionName}`,
    logStreamName: '2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  const response = (await handler(JSON.parse(task.event), context)) as {
    statusCode?: unknown;
    batchItemFailures?: unknown[];
  };
  ok =
    task.kind === 'http'
      ? response?.statusCode === 200
      : Array.isArray(response?.batchItemFailures) && response.batchItemFailures.length === 0;
  // The parent shows stderr when a run fails: say what came back.
  if (!ok) process.stderr.write(`unexpected answer: ${JSON.stringify(response).slice(0, 2000)}\n`);
}
const firstResultMs = performance.now();
const cpu = process.cpuUsage();
const result: ColdResult = { ok, firstResultMs, cpuMs: (cpu.user + cpu.system) / 1000 };
process.getBuiltinModule('node:fs').writeSync(3, `${JSON.stringify(result)}\n`);
process.exit(0);
