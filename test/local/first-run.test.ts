/**
 * What a newcomer met on a first run of `npm start` (issue 12), each driven against the running stack from
 * outside: readiness on `GET /health`, unknown provider and function names answered with the known ones,
 * shell settings that `npm run invoke` cannot pass to a running function refused with a message, and a
 * secret changed with `npm run secrets` used by the very next call.
 */
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GitHubFake, startGitHubFake } from '../../scripts/local/sandboxes/github.ts';
import { REPO_ROOT, type StackProcess, startStackProcess } from './stack-process.ts';

const run = promisify(execFile);

let stack: StackProcess;
let github: GitHubFake;
/** Every answer `GET /health` gave while the stack started, in order. */
const startAnswers: { status: number; body: Record<string, unknown>; retryAfter: string | null }[] = [];

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** Polls `GET /health` until it answers 200, recording every answer. */
async function watchHealth(url: string, stop: AbortSignal): Promise<void> {
  while (!stop.aborted) {
    try {
      const response = await fetch(url);
      const body = (await response.json()) as Record<string, unknown>;
      startAnswers.push({ status: response.status, body, retryAfter: response.headers.get('retry-after') });
      if (response.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function cli(script: string, args: string[], env: NodeJS.ProcessEnv = stack.env) {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(REPO_ROOT, 'scripts', 'local', script), ...args],
      {
        cwd: REPO_ROOT,
        env,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

async function post(path: string, input: unknown) {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(input),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  github = await startGitHubFake({
    tokens: ['first-token', 'second-token'],
    repos: { 'octo/hello': { issues: [{ title: 'Hello' }] } },
  });
  const port = await freePort();
  const stop = new AbortController();
  const watching = watchHealth(`http://127.0.0.1:${port}/health`, stop.signal);
  try {
    stack = await startStackProcess({ PORT: String(port), GITHUB_API_URL: github.baseUrl });
    await watching;
  } finally {
    stop.abort();
  }
}, 150_000);

afterAll(async () => {
  if (stack !== undefined) await stack.stop();
  await github?.close();
});

describe('Local stack: readiness', () => {
  it('answers GET /health with 503 and Retry-After while starting, then 200 with the report', () => {
    // Assess
    const first200 = startAnswers.findIndex((answer) => answer.status === 200);
    const starting = startAnswers.slice(0, first200);
    expect(starting.length).toBeGreaterThan(0);
    expect(starting.every((answer) => answer.status === 503 && answer.retryAfter === '1')).toBe(true);
    expect(starting.every((answer) => answer.body['status'] === 'starting')).toBe(true);
    expect(startAnswers[first200]?.body).toMatchObject({ status: 'ok', functions: expect.any(Array) });
  });
});

describe('Local stack: queue settings', () => {
  it("keeps serverless.yml's visibility timeout and receive count without CIRCLE_LOCAL_FAST_POISON", async () => {
    // Act
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as {
      queues: { name: string; visibilityTimeoutSeconds: number; maxReceiveCount?: number }[];
    };

    // Assess
    expect(
      health.queues.find((queue) => queue.name === 'circle-core-dev-PostgresRequestsQueue'),
    ).toMatchObject({
      visibilityTimeoutSeconds: 180,
      maxReceiveCount: 5,
    });
  });
});

describe('Local stack: unknown names', () => {
  it('answers a path under no provider with a 404 naming the providers that have routes', async () => {
    // Prepare
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as { routes: { path: string }[] };
    const providers = [...new Set(health.routes.map((route) => route.path.split('/')[1]))].sort();

    // Act
    const unknown = await post('/s4/put-object', {});
    const known = await fetch(`${stack.apiUrl}/s3/put-object/extra`, { method: 'POST' });
    const knownBody = (await known.json()) as Record<string, unknown>;

    // Assess
    expect(providers).toEqual(expect.arrayContaining(['github', 'postgres', 's3', 'slack']));
    expect(unknown.status).toBe(404);
    expect(unknown.body['knownProviders']).toEqual(providers);
    expect(unknown.body['detail']).toContain(`Known: ${providers.map((name) => `/${name}`).join(', ')} (`);
    expect(known.status).toBe(404);
    expect(knownBody['knownProviders']).toBeUndefined();
  });

  it('answers `npm run invoke` of an unknown function with the functions the stack runs', async () => {
    // Act
    const { code, stderr } = await cli('invoke.ts', ['s4', '--operation', 'list-objects']);

    // Assess
    expect(code).toBe(1);
    expect(stderr).toContain('no function s4 in the running stack; it runs: ');
    for (const name of ['s3', 'postgres', 'slack', 'github']) expect(stderr).toContain(name);
  });
});

describe('Local stack: settings given to `npm run invoke`', () => {
  it('refuses a PG_URL the running function does not have, naming it, and runs without it', async () => {
    // Prepare
    const args = ['postgres', '--operation', 'query', '--input', '{"sql":"select 1 as one"}'];

    // Act
    const refused = await cli('invoke.ts', args, {
      ...stack.env,
      PG_URL: 'postgres://nobody@127.0.0.1:9/none',
    });
    const served = await cli('invoke.ts', args);

    // Assess
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('PG_URL is set in this shell, but the running stack');
    expect(refused.stderr).toContain('PG_URL=... npm start');
    expect(served.code).toBe(0);
    expect(JSON.parse(served.stdout)).toMatchObject({ rows: [{ one: 1 }] });
  });
});

describe('Local stack: secrets', () => {
  it('uses a secret changed with `npm run secrets` on the very next call', async () => {
    // Prepare
    const name = 'circle-core/dev/github/token';
    const authorizations = () => github.requests.map((request) => request.headers['authorization'] ?? '');
    await cli('secrets.ts', ['set', name, 'first-token']);
    const before = await post('/github/list-issues', { owner: 'octo', repo: 'hello' });
    const seenBefore = authorizations().at(-1);

    // Act
    const changed = await cli('secrets.ts', ['set', name, 'second-token']);
    const after = await post('/github/list-issues', { owner: 'octo', repo: 'hello' });

    // Assess
    expect(before.status).toBe(200);
    expect(seenBefore).toContain('first-token');
    expect(changed.code).toBe(0);
    expect(after.status).toBe(200);
    expect(authorizations().at(-1)).toContain('second-token');
  });
});
