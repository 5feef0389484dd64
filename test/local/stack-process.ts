/**
 * Starts the local stack (`scripts/local/start.ts`) as its own process, the way `npm start` does, with
 * ephemeral ports and a temporary state folder and build output, and reads its JSON log lines.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');

/** A running stack process. */
export interface StackProcess {
  apiUrl: string;
  awsUrl: string;
  apiKey: string;
  localDir: string;
  /** Every JSON line the stack and its functions wrote, parsed. */
  lines: Record<string, unknown>[];
  /** The environment to run a CLI script against this stack. */
  env: NodeJS.ProcessEnv;
  /** Sends SIGINT; resolves with the exit code and whether `stack.json` was left behind. */
  stop(): Promise<{ code: number | null; leftStackFile: boolean }>;
}

/**
 * Starts the stack and waits for its `ready` line; `args` go to `npm start` (e.g. `--no-build`).
 *
 * @example
 * ```ts
 * const stack = await startStackProcess({ CIRCLE_LOCAL_VISIBILITY_TIMEOUT: '1' });
 * afterAll(() => stack.stop());
 * ```
 */
export async function startStackProcess(
  extraEnv: Record<string, string> = {},
  args: string[] = [],
): Promise<StackProcess> {
  const localDir = await mkdtemp(join(tmpdir(), 'circle-local-test-'));
  const apiKey = `test-key-${Date.now()}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    AWS_PORT: '0',
    CIRCLE_LOCAL_DIR: localDir,
    CIRCLE_BUILD_DIR: join(localDir, 'build'),
    CIRCLE_LOCAL_API_KEY: apiKey,
    CIRCLE_LOCAL_PG: 'memory',
    CIRCLE_LOG_FORMAT: 'json',
    ...extraEnv,
  };
  const child: ChildProcess = spawn(
    process.execPath,
    [join(REPO_ROOT, 'scripts', 'local', 'start.ts'), ...args],
    {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: Record<string, unknown>[] = [];
  const stderr: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolveExit) => child.on('exit', (code) => resolveExit(code)));
  const ready = new Promise<{ apiUrl: string; awsUrl: string }>((resolveReady, reject) => {
    const timer = setTimeout(
      // It builds every function first: minutes on a loaded two-core machine.
      () => reject(new Error(`stack not ready in 240 s:\n${stderr.join('').slice(-3000)}`)),
      240_000,
    );
    createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      lines.push(parsed);
      if (parsed['message'] === 'ready' && parsed['source'] === 'local-stack') {
        clearTimeout(timer);
        resolveReady({ apiUrl: String(parsed['apiUrl']), awsUrl: String(parsed['awsUrl']) });
      }
      if (parsed['message'] === 'the local stack did not start') {
        clearTimeout(timer);
        reject(new Error(`stack failed: ${String(parsed['error'])}`));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`stack exited (${code}) before ready:\n${stderr.join('').slice(-3000)}`));
    });
  });
  const { apiUrl, awsUrl } = await ready;
  return {
    apiUrl,
    awsUrl,
    apiKey,
    localDir,
    lines,
    env: { ...env, AWS_ENDPOINT_URL: awsUrl },
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGINT');
      const code = await exited;
      const leftStackFile = existsSync(join(localDir, 'stack.json'));
      await rm(localDir, { recursive: true, force: true });
      return { code, leftStackFile };
    },
  };
}

/**
 * Calls a connector operation on a running stack's HTTP API as a user of `npm start` does: the stack's
 * API key, a JSON body and a fresh idempotency key (writes need one). Answers the status and parsed body.
 *
 * @example
 * ```ts
 * const { status, body } = await postOperation(stack, '/sns/publish-message', { body: 'hi' });
 * ```
 */
export async function postOperation(
  stack: Pick<StackProcess, 'apiUrl' | 'apiKey'>,
  path: string,
  input: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.apiKey}`,
      'content-type': 'application/json',
      'idempotency-key': crypto.randomUUID(),
    },
    body: JSON.stringify(input),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}
