/**
 * A store that runs in a Node.js process of its own (azurite; s3rver has its own copy of this for its
 * OpenSSL flag): started with its settings as JSON in argv[2], it prints `{"port": n}` once it listens
 * and stops when its stdin closes, so a store never outlives the stack or the test that started it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const START_TIMEOUT_MS = 30_000;

/** A running child store. */
export interface ChildStore {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Stops the process. Safe to call twice. */
  close(): Promise<void>;
}

function readPort(name: string, child: ChildProcess, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const fail = (reason: string): void => {
      lines.close();
      reject(new Error(`${name} did not start: ${reason}\n${stderr()}`.trim()));
    };
    const timer = setTimeout(() => fail(`no answer within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(`exited with code ${String(code)}`);
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      fail(error.message);
    });
    lines.once('line', (line) => {
      clearTimeout(timer);
      lines.close();
      child.removeAllListeners('exit');
      resolve((JSON.parse(line) as { port: number }).port);
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin?.end();
  });
}

/**
 * Starts `entry` (a TypeScript file run by the same Node.js) with `settings`, and resolves once it listens.
 *
 * @example
 * ```ts
 * const store = await startChildStore('azurite', entry, { accounts, containers });
 * await store.close();
 * ```
 */
export async function startChildStore(
  name: string,
  entry: string,
  settings: unknown,
  nodeFlags: readonly string[] = [],
): Promise<ChildStore> {
  const child = spawn(process.execPath, [...nodeFlags, entry, JSON.stringify(settings)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // Only what it needs: a store must not see the caller's credentials or endpoints.
    env: { PATH: process.env['PATH'] ?? '' },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  let port: number;
  try {
    port = await readPort(name, child, () => stderr);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      closing ??= stop(child);
      return closing;
    },
  };
}
