/**
 * How the CLI finds the `npm start` stack (`.local/stack.json`): a live advertised stack that answers its
 * health check slowly is waited for, one that does not answer is a clear one-line error, and no temporary
 * stack ever opens a state folder a live stack advertises (they would fight over PGlite and LevelDB).
 * No real stack runs here: a fake `stack.json` names this test's own (live) pid.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runningStack } from '../../scripts/local/cli/common.ts';
import { createStackLog } from '../../scripts/local/log.ts';
import { startStack } from '../../scripts/local/stack.ts';
import { REPO_ROOT } from './stack-process.ts';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A health endpoint that answers after `delayMs`, or never (the connection stays open). */
async function healthServer(delayMs: number | 'never'): Promise<string> {
  const server: Server = createServer((_request, response) => {
    if (delayMs === 'never') return;
    setTimeout(() => response.end('{"status":"ok"}'), delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** A state folder whose stack.json advertises a live process (this test's) on `awsUrl`. */
async function advertisedDir(awsUrl: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'circle-running-stack-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    join(dir, 'stack.json'),
    JSON.stringify({ pid: process.pid, status: 'ready', apiUrl: awsUrl, awsUrl }),
  );
  return dir;
}

describe('runningStack with a live advertised pid', () => {
  it('waits for a health check slower than 2 s instead of reporting no stack', async () => {
    const awsUrl = await healthServer(3000);
    const dir = await advertisedDir(awsUrl);
    const running = await runningStack(dir);
    expect(running?.awsUrl).toBe(awsUrl);
    expect(running?.pid).toBe(process.pid);
  });

  it('fails with a one-line message naming the pid and URL when the stack never answers', async () => {
    const awsUrl = await healthServer('never');
    const dir = await advertisedDir(awsUrl);
    await expect(runningStack(dir, { healthWaitMs: 3000 })).rejects.toThrow(
      `the stack at pid ${process.pid} (npm start) does not answer on ${awsUrl}/_local/health`,
    );
  });

  it('answers undefined when no stack.json names a live process', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'circle-running-stack-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    expect(await runningStack(dir)).toBeUndefined();
  });

  it('npm run workflow prints the one-line message and starts no temporary stack', async () => {
    const awsUrl = await healthServer('never');
    const dir = await advertisedDir(awsUrl);
    const result = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [join(REPO_ROOT, 'scripts', 'local', 'workflow.ts'), 'issue-label', '--input', '{}'],
        { cwd: REPO_ROOT, env: { ...process.env, CIRCLE_LOCAL_DIR: dir }, timeout: 40_000 },
        (_error, _stdout, stderr) => resolve({ code: child.exitCode, stderr: String(stderr) }),
      );
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `the stack at pid ${process.pid} (npm start) does not answer on ${awsUrl}`,
    );
    expect(result.stderr).not.toContain('No running stack');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  }, 45_000);
});

describe('a temporary stack', () => {
  it('refuses a state folder another live stack advertises', async () => {
    const dir = await advertisedDir('http://127.0.0.1:9');
    await expect(
      startStack({
        apiPort: 0,
        awsPort: 0,
        build: false,
        localDir: dir,
        buildDir: join(dir, 'build'),
        log: createStackLog({ write: () => undefined }),
        postgres: 'memory',
        only: ['no-such-function'],
      }),
    ).rejects.toThrow(`a local stack already runs with ${dir} (pid ${process.pid})`);
  }, 60_000);
});
