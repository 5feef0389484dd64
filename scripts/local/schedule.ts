/**
 * `npm run schedule -- <function | state machine> [--index <n>] [--verbose]`: fires its schedule rules now
 * (all, or the n-th), with the event EventBridge would send, on the running stack or on one started for this
 * command. A failure prints its error type and message on one line; `--verbose` adds the whole error (trace).
 * A name the stack does not run is answered with the functions and state machines it runs.
 */
import { parseArgs } from 'node:util';
import {
  fail,
  refuseIgnoredSettings,
  runningStack,
  type StackAddress,
  temporaryStack,
} from './cli/common.ts';
import type { InvokeOutcome } from './functions/function-process.ts';
import { ScheduleIndexError, scheduleIndexMessage } from './schedules/scheduler.ts';

const USAGE = 'usage: npm run schedule -- <function | state machine> [--index <n>] [--verbose]';

/** What `/health` says the stack runs. */
interface Runs {
  functions?: { function: string }[];
  stateMachines?: { name: string }[];
}

/** Throws, with what the stack runs, when `name` is neither one of its functions nor a state machine. */
function requireKnown(name: string, runs: Runs, where: string): void {
  const functions = (runs.functions ?? []).map((candidate) => candidate.function);
  const machines = (runs.stateMachines ?? []).map((candidate) => candidate.name);
  if (functions.includes(name) || machines.includes(name)) return;
  throw new Error(
    `no function or state machine ${name} in ${where}; known: ${functions.join(', ') || '(none)'}` +
      (machines.length === 0 ? '' : `; state machines: ${machines.join(', ')}`),
  );
}

function report(fired: { rule: string; outcome: InvokeOutcome }[], fn: string, verbose = false): void {
  if (fired.length === 0) {
    process.stderr.write(
      `${fn} has no schedule event in serverless.yml (give a function or state machine)\n`,
    );
    process.exitCode = 1;
    return;
  }
  for (const { rule, outcome } of fired) {
    if (outcome.error !== undefined) {
      const { errorType, errorMessage } = outcome.error;
      process.stderr.write(`${rule}: failed: ${errorType}: ${String(errorMessage).split('\n')[0]}\n`);
      if (verbose) process.stderr.write(`${JSON.stringify(outcome.error, null, 2)}\n`);
      process.exitCode = 1;
    } else {
      process.stdout.write(
        `${rule}: ok\n${JSON.stringify(JSON.parse(outcome.payload ?? 'null'), null, 2)}\n`,
      );
    }
  }
}

/** Fires `fn`'s rules on the running stack through its control route. */
async function onRunningStack(
  running: StackAddress,
  fn: string,
  index: number | undefined,
  verbose: boolean,
): Promise<void> {
  refuseIgnoredSettings(running, fn);
  const query = index === undefined ? '' : `?index=${index}`;
  const response = await fetch(`${running.awsUrl}/_local/schedules/${encodeURIComponent(fn)}${query}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
  });
  const body = (await response.json()) as {
    fired?: { rule: string; outcome: InvokeOutcome }[];
    message?: string;
    count?: number;
  };
  if (response.status === 400 && typeof body.count === 'number' && index !== undefined) {
    throw new Error(scheduleIndexMessage(fn, body.count, index, '--index'));
  }
  if (!response.ok) throw new Error(body.message ?? `HTTP ${response.status}`);
  if ((body.fired ?? []).length === 0) {
    const health = await fetch(`${running.awsUrl}/_local/health`);
    requireKnown(fn, (await health.json()) as Runs, 'the running stack');
  }
  report(body.fired ?? [], fn, verbose);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { index: { type: 'string' }, build: { type: 'boolean' }, verbose: { type: 'boolean' } },
  });
  const [fn, extra] = positionals;
  if (fn === undefined) throw new Error(USAGE);
  if (extra !== undefined) throw new Error(`unexpected argument '${extra}'; ${USAGE}`);
  const index = values.index === undefined ? undefined : Number(values.index);
  if (index !== undefined && !(values.index?.trim() !== '' && Number.isInteger(index) && index >= 0)) {
    throw new Error(`--index must be a whole number from 0, got '${values.index}'`);
  }
  const verbose = values.verbose === true;

  const running = await runningStack();
  if (running !== undefined) {
    await onRunningStack(running, fn, index, verbose);
    return;
  }
  const stack = await temporaryStack({ build: values.build === true });
  try {
    const fired = await stack.scheduler.fire(fn, index);
    if (fired.length === 0) requireKnown(fn, stack.health() as Runs, 'the stack');
    report(fired, fn, verbose);
  } catch (error) {
    if (error instanceof ScheduleIndexError) {
      throw new Error(scheduleIndexMessage(fn, error.count, error.index, '--index'));
    }
    throw error;
  } finally {
    await stack.stop();
  }
}

await main().catch(fail);
