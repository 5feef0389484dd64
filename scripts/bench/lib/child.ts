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

/**
 * Runs a harness and resolves with its one IPC message.
 *
 * @example
 * ```ts
 * const result = await runChild<WarmResult>({ script, task, env, stderrFile: 'out/logs/core.stderr' });
 * ```
 */
export function runChild<T>(options: ChildOptions): Promise<T> {
  const stderr = openSync(options.stderrFile, 'a');
  const stdout = options.stdoutFile === undefined ? 'ignore' : openSync(options.stdoutFile, 'a');
  const child = spawn(process.execPath, [options.script], {
    env: { ...options.env, BENCH_TASK: JSON.stringify(options.task) },
    stdio: ['ignore', stdout, stderr, 'ipc'],
    serialization: 'advanced',
  });
  closeSync(stderr);
  if (typeof stdout === 'number') closeSync(stdout);
  return new Promise<T>((resolve, reject) => {
    let message: T | undefined;
    let timedOut = false;
    const timer = killAfter(child, options.timeoutMs ?? 600_000, () => (timedOut = true));
    child.on('message', (received) => (message = received as T));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (message !== undefined && code === 0) return resolve(message);
      const why = timedOut ? 'timed out' : `exited with ${signal ?? code}`;
      reject(new Error(`${options.script} ${why}; stderr:\n${tail(options.stderrFile)}`));
    });
  });
}

/**
 * Runs a process to completion and times it from spawn to exit, collecting one line it writes on fd 3.
 * With no script, runs the floor: `node -e 0`.
 *
 * @example
 * ```ts
 * const { wallMs, line } = await timeProcess({ script, task, env, stderrFile });
 * ```
 */
export function timeProcess(
  options: Omit<ChildOptions, 'script' | 'task'> & { script?: string; task?: unknown },
): Promise<{ wallMs: number; line: string }> {
  const stderr = openSync(options.stderrFile, 'a');
  const args = options.script === undefined ? ['-e', '0'] : [options.script];
  const env =
    options.task === undefined ? options.env : { ...options.env, BENCH_TASK: JSON.stringify(options.task) };
  const started = performance.now();
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'ignore', stderr, 'pipe'] });
  closeSync(stderr);
  let line = '';
  child.stdio[3]?.on('data', (chunk: Buffer) => (line += chunk.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = killAfter(child, options.timeoutMs ?? 60_000, () => undefined);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const wallMs = performance.now() - started;
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`${args.join(' ')} exited with ${signal ?? code}; stderr:\n${tail(options.stderrFile)}`));
        return;
      }
      // fd 3 may still hold the last bytes when 'exit' fires.
      if (line.includes('\n') || options.script === undefined) resolve({ wallMs, line: line.trim() });
      else child.stdio[3]?.once('end', () => resolve({ wallMs, line: line.trim() }));
    });
  });
}
