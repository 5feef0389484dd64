import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { githubFaults } from '../../../scripts/local/sandboxes/github.ts';
import { type GitHubTestStack, startGitHubTestStack } from '../../../test/stacks/github.ts';
import type { connector as GitHubConnector } from './index.ts';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const REPO = { owner: 'octo', repo: 'hello' };
let stack: GitHubTestStack;
let connector: typeof GitHubConnector;
let logs: CapturedLogs;

async function http(path: string, body?: unknown, headers: Record<string, string> = {}): Promise<HttpResult> {
  const event = httpEvent({ method: body === undefined ? 'GET' : 'POST', path, body, headers });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

function task(operation: string, input: unknown): Promise<unknown> {
  return connector.handler({ operation, input, trigger: 'task' }, lambdaContext());
}

beforeAll(async () => {
  stack = await startGitHubTestStack({ auth: 'token', sinks: ['sqs'], env: { GITHUB_MAX_ATTEMPTS: '2' } });
  stack.github.addRepo('octo/hello', {
    files: { 'README.md': '# Hello\n', 'src/index.ts': 'export {};\n' },
    issues: [{ title: 'Seeded', labels: ['bug'] }],
  });
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  await stack.close();
});

beforeEach(() => {
  logs = captureLogs();
  stack.github.requests.length = 0;
});

afterEach(() => {
  logs.restore();
  stack.github.clearFaults();
});

describe('Trigger: HTTP', () => {
  it('serves create-issue and does not pass an Idempotency-Key on to GitHub', async () => {
    // Act
    const response = await http(
      '/github/create-issue',
      { ...REPO, title: 'From HTTP', labels: ['ops'] },
      {
        'idempotency-key': 'key-1',
      },
    );
    // Assess
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ title: 'From HTTP', labels: ['ops'], state: 'open' });
    expect(stack.github.requests[0]?.headers['idempotency-key']).toBeUndefined();
  });

  it('serves comment-on-issue, list-issues and get-file', async () => {
    // Act
    const comment = await http('/github/comment-on-issue', { ...REPO, issueNumber: 1, body: 'Hi' });
    const list = await http('/github/list-issues', { ...REPO, labels: ['bug'] });
    const file = await http('/github/get-file', { ...REPO, path: 'README.md' });
    // Assess
    expect(comment.statusCode).toBe(200);
    expect(JSON.parse(comment.body)).toMatchObject({ issueNumber: 1, body: 'Hi' });
    expect(JSON.parse(list.body).issues.map((issue: { title: string }) => issue.title)).toEqual(['Seeded']);
    expect(JSON.parse(file.body)).toMatchObject({
      path: 'README.md',
      encoding: 'utf8',
      content: '# Hello\n',
    });
  });

  it('serves add-labels: the names are added once, a repeat changes nothing, an unknown issue is a 404', async () => {
    // Prepare
    const created = await http('/github/create-issue', { ...REPO, title: 'To label', labels: ['ops'] });
    const { number } = JSON.parse(created.body) as { number: number };
    const input = { ...REPO, issueNumber: number, labels: ['bug', 'ops', 'bug'] };

    // Act
    const first = await http('/github/add-labels', input, { 'idempotency-key': 'labels-1' });
    const again = await task('add-labels', input);
    const missing = await http('/github/add-labels', { ...input, issueNumber: 9999 });
    const empty = await http('/github/add-labels', { ...input, labels: [] });

    // Assess
    expect(first.statusCode).toBe(200);
    expect(JSON.parse(first.body)).toEqual({ issueNumber: number, labels: ['ops', 'bug'] });
    expect(again).toEqual({ issueNumber: number, labels: ['ops', 'bug'] });
    const sent = stack.github.requests.filter((request) => request.route === 'add-labels');
    expect(sent.map((request) => request.path)).toEqual([
      `/repos/octo/hello/issues/${number}/labels`,
      `/repos/octo/hello/issues/${number}/labels`,
      '/repos/octo/hello/issues/9999/labels',
    ]);
    expect(sent[0]?.body).toEqual({ labels: ['bug', 'ops', 'bug'] });
    expect(missing.statusCode).toBe(404);
    expect(empty.statusCode).toBe(400);
    expect(JSON.parse(empty.body).errors).toEqual([{ pointer: '/labels', message: expect.any(String) }]);
    expect(stack.github.issues('octo/hello').find((issue) => issue.number === number)?.labels).toEqual([
      'ops',
      'bug',
    ]);
  });

  it('answers problem+json 404 for a missing file and 400 for invalid input', async () => {
    // Act
    const missing = await http('/github/get-file', { ...REPO, path: 'nope.md' });
    const invalid = await http('/github/create-issue', { ...REPO, title: '' });
    // Assess
    expect(missing.statusCode).toBe(404);
    expect(missing.headers['content-type']).toBe('application/problem+json');
    expect(invalid.statusCode).toBe(400);
    expect(JSON.parse(invalid.body).errors).toEqual([{ pointer: '/title', message: expect.any(String) }]);
  });

  it('answers 429 with Retry-After: 120 when GitHub asks for two minutes', async () => {
    // Prepare
    stack.github.failNext('list-issues', githubFaults.secondaryRateLimit(120));
    // Act
    const response = await http('/github/list-issues', REPO);
    // Assess
    expect(response.statusCode).toBe(429);
    expect(response.headers['retry-after']).toBe('120');
    expect(JSON.parse(response.body)).toMatchObject({ code: 'rate_limited', retryAfterMs: 120_000 });
  });

  it('serves health from GET /rate_limit, and reports failing when GitHub refuses the token', async () => {
    // Act
    const healthy = await http('/github/health');
    stack.github.failNext('rate-limit', { ...githubFaults.badCredentials(), times: 2 });
    const failing = await http('/github/health');
    // Assess
    expect(healthy.statusCode).toBe(200);
    expect(JSON.parse(healthy.body)).toMatchObject({
      connector: 'github',
      status: 'ok',
      checks: [
        { name: 'config', ok: true },
        { name: 'setup', ok: true },
        { name: 'provider', ok: true },
      ],
    });
    expect(failing.statusCode).toBe(503);
    expect(JSON.parse(failing.body).checks.at(-1)).toMatchObject({ name: 'provider', ok: false });
  });

  it('serves sync-issues over HTTP too', async () => {
    // Act
    const response = await http('/github/sync-issues', REPO);
    // Assess
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ repository: 'octo/hello', sink: 'sqs' });
  });
});

describe('Trigger: SQS', () => {
  it('runs every record and reports only the failed one', async () => {
    // Prepare
    const event = sqsEvent([
      { messageId: 'create', body: { operation: 'create-issue', input: { ...REPO, title: 'From SQS' } } },
      {
        messageId: 'comment',
        body: { operation: 'comment-on-issue', input: { ...REPO, issueNumber: 1, body: 'q' } },
      },
      { messageId: 'list', body: { operation: 'list-issues', input: REPO } },
      { messageId: 'file', body: { operation: 'get-file', input: { ...REPO, path: 'src/index.ts' } } },
      { messageId: 'missing', body: { operation: 'get-file', input: { ...REPO, path: 'gone.ts' } } },
    ]);
    // Act
    const response = (await connector.handler(event, lambdaContext())) as {
      batchItemFailures: Array<{ itemIdentifier: string }>;
    };
    // Assess
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'missing' }]);
    expect(stack.github.issues('octo/hello').some((issue) => issue.title === 'From SQS')).toBe(true);
  });
});

describe('Trigger: Step Functions task', () => {
  it('returns each operation output', async () => {
    // Act
    const issue = (await task('create-issue', { ...REPO, title: 'From a task' })) as { number: number };
    const comment = await task('comment-on-issue', { ...REPO, issueNumber: issue.number, body: 'x' });
    const page = await task('list-issues', { ...REPO, state: 'all', perPage: 1 });
    const file = await task('get-file', { ...REPO, path: 'README.md' });
    // Assess
    expect(comment).toMatchObject({ issueNumber: issue.number });
    expect(page).toMatchObject({ nextPage: 2, nextCursor: expect.any(String) });
    expect(file).toMatchObject({ content: '# Hello\n' });
  });

  it('throws stable error names: NotFoundError, UnavailableError after retries, TimeoutError, UnexpectedResponseError', async () => {
    // Prepare
    stack.github.failNext('list-issues', { ...githubFaults.serverError(500), times: 2 });
    // Act & Assess
    await expect(task('get-file', { ...REPO, path: 'nope' })).rejects.toMatchObject({
      name: 'NotFoundError',
    });
    await expect(task('list-issues', REPO)).rejects.toMatchObject({ name: 'UnavailableError' });
    stack.github.failNext('get-content', githubFaults.malformedJson());
    await expect(task('get-file', { ...REPO, path: 'README.md' })).rejects.toMatchObject({
      name: 'UnexpectedResponseError',
    });
    stack.github.failNext('list-issues', { ...githubFaults.slow(2_000), times: 2 });
    const slow = connector.handler(
      { operation: 'list-issues', input: REPO, trigger: 'task' },
      lambdaContext({ remainingMs: 700 }),
    );
    await expect(slow).rejects.toMatchObject({ name: 'TimeoutError' });
  });

  it('throws AuthError when GitHub keeps refusing the token after one refresh', async () => {
    // Prepare
    stack.github.failNext('list-issues', { ...githubFaults.badCredentials(), times: 2 });
    // Act
    const attempt = task('list-issues', REPO);
    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'AuthError' });
    expect(stack.github.requests).toHaveLength(2);
  });
});

describe('Logs', () => {
  it('never contain the token, an Authorization header or the webhook secret', async () => {
    // Prepare
    stack.github.failNext('list-issues', { ...githubFaults.badCredentials(), times: 2 });
    // Act
    const outcomes = [
      await http('/github/list-issues', REPO),
      await http('/github/create-issue', { ...REPO, title: 'Logged?' }),
      await task('get-file', { ...REPO, path: 'nope' }).catch((error: unknown) => error),
    ];
    logs.restore();
    // Assess
    const everything = [
      logs.text(),
      ...outcomes.map((outcome) => JSON.stringify(outcome)),
      String(outcomes[2]),
    ].join('\n');
    expect(everything).not.toContain(stack.token);
    expect(everything).not.toContain(stack.webhookSecret);
    expect(everything.toLowerCase()).not.toContain('bearer ');
    expect(logs.records().filter((record) => record['message'] === 'invocation')).toHaveLength(3);
  });
});
