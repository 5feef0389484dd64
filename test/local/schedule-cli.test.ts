/**
 * `npm run schedule` against a running stack: a fake one (its `stack.json` names this test's live pid)
 * serving the stack's real control routes over a real Scheduler, so no functions start.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStackLog } from '../../scripts/local/log.ts';
import { Scheduler } from '../../scripts/local/schedules/scheduler.ts';
import { controlRoutes } from '../../scripts/local/stack-report.ts';
import { REPO_ROOT } from './stack-process.ts';

let server: Server;
let dir: string;

beforeAll(async () => {
  const scheduler = new Scheduler(
    [
      {
        kind: 'function',
        target: 'github',
        name: 'github-nightly',
        expression: 'rate(1 day)',
        enabled: true,
      },
      { kind: 'function', target: 'nats', name: 'nats-ping', expression: 'rate(1 hour)', enabled: true },
    ],
    {
      invoke: async (rule) =>
        rule.target === 'nats'
          ? {
              requestId: 'r',
              durationMs: 1,
              logTail: '',
              error: {
                errorType: 'UnavailableError',
                errorMessage: 'NATS server at nats://127.0.0.1:4222 did not answer',
                trace: [
                  'UnavailableError: NATS server did not answer',
                  '    at connect (/var/task/index.mjs:1:2)',
                ],
              },
            }
          : { requestId: 'r', durationMs: 1, logTail: '', payload: '{"ok":true}' },
      region: 'us-east-1',
      accountId: '000000000000',
      log: createStackLog({ pretty: false, write: () => undefined }),
    },
  );
  const health = () => ({
    status: 'ok',
    functions: ['github', 'nats', 's3'].map((key) => ({ function: key, name: `circle-core-dev-${key}` })),
    stateMachines: [{ name: 'order-fulfilment' }],
  });
  const routes = controlRoutes({ health, scheduler });
  server = createServer((req, res) => {
    void routes(req, res).then((served) => {
      if (!served) res.writeHead(404).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const awsUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(join(tmpdir(), 'circle-schedule-cli-'));
  await writeFile(
    join(dir, 'stack.json'),
    JSON.stringify({ pid: process.pid, status: 'ready', apiUrl: awsUrl, awsUrl }),
  );
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

function schedule(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [join(REPO_ROOT, 'scripts', 'local', 'schedule.ts'), ...args],
      { cwd: REPO_ROOT, env: { ...process.env, CIRCLE_LOCAL_DIR: dir }, timeout: 30_000 },
      (_error, stdout, stderr) =>
        resolve({ code: child.exitCode, stdout: String(stdout), stderr: String(stderr) }),
    );
  });
}

describe('npm run schedule', () => {
  it('says how many schedules a target has when --index is out of range', async () => {
    // Act
    const answer = await schedule('github', '--index', '5');

    // Assess
    expect(answer.code).toBe(1);
    expect(answer.stderr.trim()).toBe('github has 1 schedule(s); --index 5 is out of range (0..0)');
  });

  it('prints a failed invocation as its error type and message on one line, the trace only with --verbose', async () => {
    // Act
    const plain = await schedule('nats');
    const verbose = await schedule('nats', '--verbose');

    // Assess
    expect(plain.code).toBe(1);
    expect(plain.stderr.trim()).toBe(
      'nats-ping: failed: UnavailableError: NATS server at nats://127.0.0.1:4222 did not answer',
    );
    expect(verbose.stderr).toContain('at connect (/var/task/index.mjs:1:2)');
  });

  it('answers an unknown name with the functions and state machines the stack runs', async () => {
    // Act
    const answer = await schedule('githb');

    // Assess
    expect(answer.code).toBe(1);
    expect(answer.stderr.trim()).toBe(
      'no function or state machine githb in the running stack; known: github, nats, s3; state machines: order-fulfilment',
    );
  });

  it('still says a known function without schedule events has none', async () => {
    // Act
    const answer = await schedule('s3');

    // Assess
    expect(answer.code).toBe(1);
    expect(answer.stderr.trim()).toBe(
      's3 has no schedule event in serverless.yml (give a function or state machine)',
    );
  });

  it('refuses an extra argument with the usage, firing nothing', async () => {
    // Act
    const answer = await schedule('github', 'extra');

    // Assess
    expect(answer.code).toBe(1);
    expect(answer.stderr).toContain("unexpected argument 'extra'");
    expect(answer.stderr).toContain('usage: npm run schedule -- <function | state machine>');
    expect(answer.stdout).toBe('');
  });

  it('still fires a valid index', async () => {
    // Act
    const answer = await schedule('github', '--index', '0');

    // Assess
    expect(answer.code).toBe(0);
    expect(answer.stdout).toContain('github-nightly: ok');
  });
});
