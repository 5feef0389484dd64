/**
 * Cold start: import the variant (its init runs, secret fetch included), invoke it once, report on fd 3
 * and exit. The parent times the whole process, from spawn to exit.
 */
import { writeSync } from 'node:fs';
import { lambdaContext, loadHandler, readTask, setTraceHeader, succeeded } from './lambda.ts';
import type { ColdResult, InvocationTask } from './protocol.ts';

const task = readTask<InvocationTask>();
const handler = await loadHandler(task.bundle);
setTraceHeader(0, task.traced);
const response = await handler(JSON.parse(task.event), lambdaContext(task.functionName, 0));
const firstResultMs = performance.now();
const cpu = process.cpuUsage();
const result: ColdResult = {
  ok: succeeded(task.kind, response),
  firstResultMs,
  cpuMs: (cpu.user + cpu.system) / 1000,
};
writeSync(3, `${JSON.stringify(result)}\n`);
process.exit(0);
