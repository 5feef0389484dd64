/**
 * Sandboxes by default (issue 12): `npm start` with no secrets and no provider settings serves the Slack
 * and GitHub contract fakes, seeded with the READMEs' data, and points the connectors at them; the README
 * examples are driven against the running stack from outside, as a newcomer runs them.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GITHUB_SANDBOX_TOKEN,
  SLACK_SANDBOX_MESSAGES,
  SLACK_SANDBOX_TOKEN,
} from '../../scripts/local/sandboxes/index.ts';
import { REPO_ROOT, type StackProcess, startStackProcess } from './stack-process.ts';

const run = promisify(execFile);
let stack: StackProcess;

async function post(path: string, input: unknown, idempotencyKey?: string) {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.apiKey}`,
      'content-type': 'application/json',
      ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
    },
    body: JSON.stringify(input),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  for (const name of ['SLACK_API_URL', 'GITHUB_API_URL', 'CIRCLE_LOCAL_REAL']) {
    if (process.env[name] !== undefined) throw new Error(`unset ${name} to run this suite`);
  }
  stack = await startStackProcess();
}, 150_000);

afterAll(async () => {
  if (stack !== undefined) await stack.stop();
});

describe('Local stack: SaaS sandboxes by default', () => {
  it('says per connector what it talks to, and stores the sandbox tokens under the functions’ secret names', async () => {
    // Act
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as {
      connectors: { connector: string; kind: string; target: string }[];
    };
    const secrets = JSON.parse(await readFile(join(stack.localDir, 'secrets.json'), 'utf8')) as {
      secrets: Record<string, { value: string }>;
    };

    // Assess
    const kinds = Object.fromEntries(health.connectors.map((reach) => [reach.connector, reach.kind]));
    expect(kinds).toMatchObject({
      slack: 'sandbox',
      github: 'sandbox',
      s3: 'embedded',
      postgres: 'embedded',
    });
    expect(health.connectors.find((reach) => reach.connector === 'slack')?.target).toMatch(
      /^http:\/\/127\.0\.0\.1:\d+\/api$/,
    );
    expect(secrets.secrets['circle-core/dev/slack/bot-token']?.value).toBe(SLACK_SANDBOX_TOKEN);
    expect(secrets.secrets['circle-core/dev/github/token']?.value).toBe(GITHUB_SANDBOX_TOKEN);
  });

  it('posts to the seeded channel C0123ABCD and to #reports, and the posted message is in the sandbox', async () => {
    // Act
    const posted = await post(
      '/slack/post-message',
      { channel: 'C0123ABCD', text: 'Deploy finished' },
      'sb-1',
    );
    const reports = await post('/slack/post-message', { channel: '#reports', text: 'Export done' }, 'sb-2');
    const updated = await post(
      '/slack/update-message',
      { channel: 'C0123ABCD', ts: posted.body['ts'], text: 'Deploy finished :white_check_mark:' },
      'sb-3',
    );

    // Assess
    expect(posted).toMatchObject({ status: 200, body: { channel: 'C0123ABCD', ts: expect.any(String) } });
    expect(reports.status).toBe(200);
    // The sandbox answers message_not_found (404) for a message it does not hold.
    expect(updated.status).toBe(200);
  });

  it('runs the Slack README examples as written (update-message of a seeded message, list-channels)', async () => {
    // Act
    const updated = await post(
      '/slack/update-message',
      {
        channel: 'C0123ABCD',
        ts: SLACK_SANDBOX_MESSAGES.update,
        text: 'Deploy of api finished :white_check_mark:',
      },
      'sb-4',
    );
    const reply = await post(
      '/slack/post-message',
      { channel: 'C0123ABCD', text: 'Details', threadTs: SLACK_SANDBOX_MESSAGES.parent },
      'sb-5',
    );
    const channels = await post('/slack/list-channels', { limit: 100 });

    // Assess
    expect(updated.status).toBe(200);
    expect(reply.status).toBe(200);
    expect(channels.status).toBe(200);
    const names = (channels.body['channels'] as { name: string }[]).map((channel) => channel.name);
    expect(names).toEqual(expect.arrayContaining(['general', 'reports', 'deploys']));
  });

  it('lists the seeded issues of octo/hello and octo-org/hello-world, and reads a seeded file', async () => {
    // Act
    const hello = await post('/github/list-issues', { owner: 'octo', repo: 'hello' });
    const readme = await post('/github/list-issues', {
      owner: 'octo-org',
      repo: 'hello-world',
      state: 'all',
      labels: ['bug'],
      perPage: 2,
    });
    const file = await post('/github/get-file', {
      owner: 'octo-org',
      repo: 'hello-world',
      path: 'docs/README.md',
      ref: 'main',
    });

    // Assess
    expect(hello.status).toBe(200);
    expect((hello.body['issues'] as { number: number }[]).map((issue) => issue.number).sort()).toEqual([
      6, 7,
    ]);
    expect((readme.body['issues'] as { number: number }[]).map((issue) => issue.number)).toContain(1347);
    expect(file).toMatchObject({ status: 200, body: { encoding: 'utf8', content: '# Hello\n\nHi\n' } });
  });

  it('runs the workflows README example: npm run workflow -- broadcast', async () => {
    // Act
    const { stdout } = await run(
      process.execPath,
      [
        join(REPO_ROOT, 'scripts', 'local', 'workflow.ts'),
        'broadcast',
        '--input',
        '{"channels":["#general"],"text":"hi"}',
      ],
      { cwd: REPO_ROOT, env: stack.env },
    );

    // Assess
    expect(stdout).toContain('broadcast: SUCCEEDED');
    expect(stdout).toContain('"deliveredCount": 1');
  }, 30_000);
});
