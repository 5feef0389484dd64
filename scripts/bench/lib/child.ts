/**
 * Starts the benchmark's child processes: a harness script with its task in `BENCH_TASK`, standard output
 * on /dev/null (or a file) at the OS level, standard error in a file, and one answer over IPC or fd 3.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

export interface ChildOptions {
  script: string;
  task: unknown;
  env: Record<string, string>;
  /** Standard error goes here (appended), so warnings and crashes can be read afterwards. */
  stderrFile: string;
  /** Standard output goes here instead of /dev/null (to count log lines). */
  stdoutFile?: string;
  timeoutMs?: number;
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-2000);
  } catch {
    return '';
  }
}

function killAfter(child: ChildProcess, timeoutMs: number, onTimeout: () => void): NodeJS.Timeout {
  return setTimeout(() => {
    child.kill('SIGKILL');
    onTimeout();
  }, timeoutMs);
}

/** A running harness: messages in both directions over IPC. */
export interface ChildSession {
  /** The next message from the child, in order; rejects when the child dies first. */
  receive<T>(): Promise<T>;
  send(message: unknown): void;
  /** Resolves when the child has exited with 0. */
  exited(): Promise<void>;
}

/**
 * Starts a harness with its task; talk to it with `send` and `receive`.
 *
 * @example
 * ```ts
 * const child = startChild({ script, task, env, stderrFile });
 * const ready = await child.receive<WarmReady>();
 * ```
 */
export function startChild(options: ChildOptions): ChildSession {
  const stderr = openSync(options.stderrFile, 'a');
  const stdout = options.stdoutFile === undefined ? 'ignore' : openSync(options.stdoutFile, 'a');
  const child = spawn(process.execPath, [options.script], {
    env: { ...options.env, BENCH_TASK: JSON.stringify(options.task) },
    stdio: ['ignore', stdout, stderr, 'ipc'],
    serialization: 'advanced',
  });
  closeSync(stderr);
  if (typeof stdout === 'number') closeSync(stdout);
  const inbox: unknown[] = [];
  const waiting: { resolve: (message: unknown) => void; reject: (error: Error) => void }[] = [];
  let failure: Error | undefined;
  let timedOut = false;
  const timer = killAfter(child, options.timeoutMs ?? 900_000, () => (timedOut = true));
  const exit = new Promise<void>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        failure = new Error(`${options.script} exited before answering`);
        resolve();
      } else {
        const why = timedOut ? 'timed out' : `exited with ${signal ?? code}`;
        failure = new Error(`${options.script} ${why}; stderr:\n${tail(options.stderrFile)}`);
        reject(failure);
      }
      for (const waiter of waiting.splice(0)) waiter.reject(failure);
    });
  });
  // A failure is reported through `receive`; an unobserved rejection must not crash the parent.
  exit.catch(() => undefined);
  child.on('message', (message) => {
    const waiter = waiting.shift();
    if (waiter === undefined) inbox.push(message);
    else waiter.resolve(message);
  });
  return {
    receive: <T>() =>
      new Promise<T>((resolve, reject) => {
        if (inbox.length > 0) return resolve(inbox.shift() as T);
        if (failure !== undefined) return reject(failure);
        waiting.push({ resolve: (message) => resolve(message as T), reject });
      }),
    send: (message) => {
      child.send(message as Parameters<typeof child.send>[0]);
    },
    exited: () => exit,
  };
}

/**
 * Runs a harness that answers once, and resolves with that answer once the child has exited.
 *
 * @example
 * ```ts
 * const result = await runChild<SecretsResult>({ script, task, env, stderrFile: 'out/logs/secrets.stderr' });
 * ```
 */
export async function runChild<T>(options: ChildOptions): Promise<T> {
  const child = startChild(options);
  const message = await child.receive<T>();
  await child.exited();
  return message;
}

/**
 * Runs a script to completion and times it from spawn to exit, collecting one line it writes on fd 3.
 * The task, when there is one, goes in `BENCH_TASK`.
 *
 * @example
 * ```ts
 * const { wallMs, line } = await timeProcess({ script, task, env, stderrFile });
 * ```
 */
export function timeProcess(
  options: Omit<ChildOptions, 'task'> & { task?: unknown },
): Promise<{ wallMs: number; line: string }> {
  const stderr = openSync(options.stderrFile, 'a');
  const env =
    options.task === undefined ? options.env : { ...options.env, BENCH_TASK: JSON.stringify(options.task) };
  const started = performance.now();
  const child = spawn(process.execPath, [options.script], {
    env,
    stdio: ['ignore', 'ignore', stderr, 'pipe'],
  });
  closeSync(stderr);
  let line = '';
  child.stdio[3]?.on('data', (chunk: Buffer) => (line += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = killAfter(child, options.timeoutMs ?? 60_000, () => undefined);
    let wallMs = Number.NaN;
    child.on('error', reject);
    // The clock stops at exit; the answer is read once fd 3 is drained too ('close').
    child.on('exit', () => {
      wallMs = performance.now() - started;
      clearTimeout(timer);
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve({ wallMs, line: line.trim() });
      else
        reject(
          new Error(`${options.script} exited with ${signal ?? code}; stderr:\n${tail(options.stderrFile)}`),
        );
    });
  });
}
