/**
 * The GitLab connector against the GitLab contract fake (`scripts/local/sandboxes/gitlab.ts`), the local
 * stack's Secrets Manager and dynalite (the delivery ledger): each operation on each trigger, offset and
 * keyset pagination, OAuth 2.0 with a rotating refresh token, X-Gitlab-Token webhooks, and the failure
 * paths every connector must survive.
 */
import { randomUUID } from 'node:crypto';
import { configureSecrets, resetCircuitBreakers } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  GITLAB_SANDBOX_TOKEN,
  type GitlabFakeState,
  startGitlabFake,
} from '../../../scripts/local/sandboxes/gitlab.ts';
import { type FakeServer, json } from '../../../scripts/local/sandboxes/kit/index.ts';
import { createTable, type DynalitePeer, startDynalite } from '../../../test/peers/dynalite.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';
import { inspectGitlabResponse } from './client.ts';
import { gitlabEventName } from './webhook.ts';

const TOKEN_SECRET = `test/gitlab/token-${randomUUID().slice(0, 8)}`;
const WEBHOOK_SECRET = `test/gitlab/webhook-${randomUUID().slice(0, 8)}`;
const WEBHOOK_TOKEN = 'gitlab-unit-webhook-token';
const ROTATED = 'glpat-rotated-token';
const STATE_TABLE = `gitlab-state-${randomUUID().slice(0, 8)}`;
const P = 'ops/platform';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let fake: FakeServer<GitlabFakeState>;
let secrets: SecretsManagerPeer;
let dynamo: DynalitePeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown, key = randomUUID()): Promise<HttpResult> {
  const event = httpEvent({ path: `/gitlab/${operation}`, body, headers: { 'idempotency-key': key } });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);
const platform = () => fake.state.projects.find((p) => p.path === P);

beforeAll(async () => {
  [fake, secrets, dynamo] = await Promise.all([
    startGitlabFake(),
    startSecretsManager({ [TOKEN_SECRET]: GITLAB_SANDBOX_TOKEN, [WEBHOOK_SECRET]: WEBHOOK_TOKEN }),
    startDynalite(),
  ]);
  await createTable(dynamo.endpoint, STATE_TABLE);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    GITLAB_API_URL: `${fake.url}/api/v4`,
    GITLAB_TOKEN_SECRET: TOKEN_SECRET,
    GITLAB_WEBHOOK_SECRET_SECRET: WEBHOOK_SECRET,
    GITLAB_STATE_TABLE: STATE_TABLE,
    GITLAB_TIMEOUT_MS: '1000',
    GITLAB_MAX_RETRY_AFTER_MS: '5000',
  });
  configureSecrets({});
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await Promise.all([fake.close(), secrets.close(), dynamo.close()]);
});

beforeEach(async () => {
  fake.reset();
  await secrets.set(TOKEN_SECRET, GITLAB_SANDBOX_TOKEN);
  configureSecrets({});
  resetCircuitBreakers();
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describe('Connector: gitlab', () => {
  describe('Operation: create-issue', () => {
    it('creates an issue with labels, an assignee by username and a type, sending PRIVATE-TOKEN', async () => {
      // Act
      const response = await call('create-issue', {
        project: P,
        title: 'Disk full on db-2',
        description: 'Alert fired at 03:00',
        labels: ['incident', 'db'],
        assignee: 'alice',
        issueType: 'incident',
      });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(parsed(response)).toMatchObject({
        key: '4',
        project: P,
        state: 'open',
        status: 'open',
        labels: ['incident', 'db'],
        assignee: 'alice',
        issueType: 'incident',
        url: `${fake.url}/${P}/-/issues/4`,
      });
      const [sent] = fake.logFor('create-issue');
      expect(sent?.path).toBe('/api/v4/projects/ops%2Fplatform/issues');
      expect(sent?.body).toMatchObject({ labels: 'incident,db', assignee_ids: [2], issue_type: 'incident' });
      expect(sent?.token).toBe(GITLAB_SANDBOX_TOKEN);
    });

    it('answers 404 naming an unknown project, and 400 for an unknown assignee before creating', async () => {
      const missing = await call('create-issue', { project: 'ops/nope', title: 'x' });
      const nobody = await call('create-issue', { project: P, title: 'x', assignee: 'mallory' });
      expect(missing.statusCode).toBe(404);
      expect(parsed(missing)['detail']).toContain('GitLab project ops/nope');
      expect(nobody.statusCode).toBe(400);
      expect(parsed(nobody)['errors']).toEqual([{ pointer: '/assignee', message: 'unknown username' }]);
      expect(fake.logFor('create-issue')).toHaveLength(1);
    });

    it("answers 400 with GitLab's words for a refused parameter, and refuses unknown fields itself", async () => {
      const badType = await call('create-issue', { project: P, title: 'x', issueType: 'Bug' });
      const unknown = await call('create-issue', { project: P, title: 'x', severity: 1 });
      expect(badType.statusCode).toBe(400);
      expect(parsed(badType)['detail']).toContain('issue_type does not have a valid value');
      expect(unknown.statusCode).toBe(400);
      expect(parsed(unknown)['errors']).toEqual([{ pointer: '/severity', message: 'unknown field' }]);
      expect(fake.logFor('create-issue')).toHaveLength(1);
    });
  });

  describe('Operation: get-issue, update-issue, comment-on-issue, transition-issue', () => {
    it('reads a seeded issue, unassigns and retitles it, comments, closes and reopens it', async () => {
      // Act
      const read = await call('get-issue', { project: P, key: '2' });
      const updated = await call('update-issue', {
        project: P,
        key: '2',
        title: 'Disk full',
        assignee: null,
      });
      const comment = await call('comment-on-issue', { project: P, key: '2', body: 'Cleaned /var' });
      const closed = await call('transition-issue', { project: P, key: '2', state: 'closed' });
      const again = await call('transition-issue', { project: P, key: '2', state: 'closed' });
      const reopened = await call('transition-issue', { project: P, key: '2', state: 'open' });

      // Assess
      expect(parsed(read)).toMatchObject({
        key: '2',
        labels: ['incident'],
        description: 'Alert fired at 03:00',
      });
      expect(parsed(updated)).toMatchObject({ title: 'Disk full', assignee: null });
      expect(fake.logFor('update-issue')[0]?.body).toEqual({ title: 'Disk full', assignee_ids: [] });
      expect(parsed(comment)).toMatchObject({ key: '2', body: 'Cleaned /var', author: 'sandbox-bot' });
      expect([closed, again, reopened].map((r) => parsed(r)['state'])).toEqual(['closed', 'closed', 'open']);
      expect(fake.logFor('update-issue').map((entry) => entry.body)).toEqual([
        { title: 'Disk full', assignee_ids: [] },
        { state_event: 'close' },
        { state_event: 'reopen' },
      ]);
    });

    it('answers 404 for a missing issue, 501 for a named status, 400 for a blank note', async () => {
      const missing = await call('get-issue', { project: P, key: '999' });
      const status = await call('transition-issue', { project: P, key: '2', status: 'In Progress' });
      const blank = await call('comment-on-issue', { project: P, key: '2', body: ' ' });
      expect(missing.statusCode).toBe(404);
      expect(parsed(missing)['detail']).toContain('GitLab issue ops/platform#999');
      expect(status.statusCode).toBe(501);
      expect(blank.statusCode).toBe(400);
    });
  });

  describe('Operation: search-issues (offset pagination)', () => {
    it('pages with page/per_page, the next page read from X-Next-Page, newest first', async () => {
      // Act
      const first = await call('search-issues', { project: P, limit: 2 });
      const second = await call('search-issues', {
        project: P,
        limit: 2,
        cursor: parsed(first)['nextCursor'],
      });

      // Assess
      const keys = (response: HttpResult) =>
        (parsed(response)['issues'] as { key: string }[]).map((i) => i.key);
      expect(keys(first)).toEqual(['3', '2']);
      expect(keys(second)).toEqual(['1']);
      expect(parsed(second)['nextCursor']).toBeUndefined();
      expect(fake.logFor('list-issues').map((entry) => entry.query)).toEqual([
        { state: 'all', order_by: 'created_at', sort: 'desc', per_page: '2' },
        { state: 'all', order_by: 'created_at', sort: 'desc', per_page: '2', page: '2' },
      ]);
    });

    it('filters on state, labels and words; refuses a native query (501) and a forged cursor (400)', async () => {
      const found = await call('search-issues', {
        project: P,
        state: 'open',
        labels: ['incident'],
        text: 'disk',
      });
      const query = await call('search-issues', { project: P, query: 'label = x' });
      const forged = await call('search-issues', { project: P, cursor: 'not-a-cursor' });
      expect((parsed(found)['issues'] as { key: string }[]).map((i) => i.key)).toEqual(['2']);
      expect(query.statusCode).toBe(501);
      expect(forged.statusCode).toBe(400);
    });

    it('waits as Retry-After says on a 429, and retries a 5xx, then answers', async () => {
      // Prepare
      fake.inject({ kind: 'throttled', retryAfterSeconds: 0 }, { route: 'list-issues' });
      fake.inject({ kind: 'server-error', status: 502 }, { route: 'list-issues' });

      // Act
      const response = await call('search-issues', { project: P });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(fake.logFor('list-issues').map((entry) => entry.status)).toEqual([429, 502, 200]);
    });

    it('answers 429 with the wait when Retry-After exceeds what it may wait', async () => {
      fake.inject({ kind: 'throttled', retryAfterSeconds: 120 }, { route: 'list-issues' });
      const response = await call('search-issues', { project: P });
      expect(response.statusCode).toBe(429);
      expect(response.headers['retry-after']).toBe('120');
    });

    it('reads an exhausted RateLimit-Remaining with RateLimit-Reset as the wait', async () => {
      const reset = String(Math.floor(Date.now() / 1000) + 600);
      fake.inject(
        {
          kind: 'answer',
          answer: {
            status: 429,
            body: 'Retry later\n',
            headers: { 'ratelimit-remaining': '0', 'ratelimit-reset': reset },
          },
        },
        { route: 'list-issues' },
      );
      const response = await call('search-issues', { project: P });
      expect(response.statusCode).toBe(429);
      expect(Number(response.headers['retry-after'])).toBeGreaterThan(500);
    });

    it('answers 502 for a malformed, wrong-shaped or oversized answer, and 504 when GitLab hangs', async () => {
      fake.inject({ kind: 'malformed' }, { route: 'list-issues', times: Number.POSITIVE_INFINITY });
      const malformed = await call('search-issues', { project: P });
      fake.clearFaults();
      fake.inject({ kind: 'wrong-shape', json: { iid: 'nope' } }, { route: 'get-issue' });
      const wrongShape = await call('get-issue', { project: P, key: '1' });
      fake.inject({ kind: 'hang' }, { route: 'get-issue', times: Number.POSITIVE_INFINITY });
      const hung = await call('get-issue', { project: P, key: '1' });
      fake.clearFaults();
      fake.inject({ kind: 'oversized', bytes: 12 * 1024 * 1024 }, { route: 'get-issue' });
      const oversized = await call('get-issue', { project: P, key: '1' });

      expect(malformed.statusCode).toBe(502);
      expect(wrongShape.statusCode).toBe(502);
      expect(hung.statusCode).toBe(504);
      expect(oversized.statusCode).toBe(502);
    });
  });

  describe('Operation: list-merge-requests, get-merge-request, create-merge-request', () => {
    it('opens a merge request, lists and reads it', async () => {
      // Act
      const created = await call('create-merge-request', {
        project: P,
        sourceBranch: 'feature/runbook',
        targetBranch: 'main',
        title: 'Runbook',
        removeSourceBranch: true,
      });
      const listed = await call('list-merge-requests', { project: P, limit: 1 });
      const next = await call('list-merge-requests', {
        project: P,
        limit: 1,
        cursor: parsed(listed)['nextCursor'],
      });
      const read = await call('get-merge-request', { project: P, iid: 1 });

      // Assess
      expect(parsed(created)).toMatchObject({
        iid: 2,
        state: 'opened',
        sourceBranch: 'feature/runbook',
        author: 'sandbox-bot',
      });
      expect((parsed(listed)['mergeRequests'] as { iid: number }[]).map((m) => m.iid)).toEqual([2]);
      expect((parsed(next)['mergeRequests'] as { iid: number }[]).map((m) => m.iid)).toEqual([1]);
      expect(parsed(read)).toMatchObject({ iid: 1, title: 'Add alert rules', targetBranch: 'main' });
    });

    it('answers 409 for an open merge request from the same branch or an unknown branch, 400 for same source and target', async () => {
      const base = { project: P, targetBranch: 'main', title: 'x' };
      const twice = await call('create-merge-request', { ...base, sourceBranch: 'feature/alerts' });
      const unknown = await call('create-merge-request', { ...base, sourceBranch: 'feature/none' });
      const same = await call('create-merge-request', { ...base, sourceBranch: 'main' });
      const missing = await call('get-merge-request', { project: P, iid: 99 });
      expect(twice.statusCode).toBe(409);
      expect(parsed(twice)['detail']).toContain('Another open merge request already exists');
      expect(unknown.statusCode).toBe(409);
      expect(same.statusCode).toBe(400);
      expect(missing.statusCode).toBe(404);
    });
  });

  describe('Operation: trigger-pipeline, get-pipeline', () => {
    it('triggers a pipeline with variables and follows its status to finished', async () => {
      // Act
      const triggered = await call('trigger-pipeline', {
        project: P,
        ref: 'main',
        variables: { DEPLOY_ENV: 'staging' },
      });
      const id = parsed(triggered)['id'];
      const statuses: unknown[] = [];
      for (let i = 0; i < 4; i += 1) {
        const read = parsed(await call('get-pipeline', { project: P, pipelineId: id }));
        statuses.push([read['status'], read['finished']]);
      }

      // Assess
      expect(parsed(triggered)).toMatchObject({
        ref: 'main',
        status: 'created',
        finished: false,
        source: 'api',
      });
      expect(fake.logFor('create-pipeline')[0]?.body).toEqual({
        ref: 'main',
        variables: [{ key: 'DEPLOY_ENV', value: 'staging', variable_type: 'env_var' }],
      });
      expect(statuses).toEqual([
        ['created', false],
        ['pending', false],
        ['running', false],
        ['success', true],
      ]);
    });

    it('answers 400 naming base for an unknown ref, and 404 for an unknown pipeline', async () => {
      const ref = await call('trigger-pipeline', { project: P, ref: 'nope' });
      const missing = await call('get-pipeline', { project: P, pipelineId: 424242 });
      expect(ref.statusCode).toBe(400);
      expect(parsed(ref)['detail']).toContain('Reference not found');
      expect(missing.statusCode).toBe(404);
    });
  });

  describe('Operation: get-file, put-file, list-files', () => {
    it('reads a file at the default branch, creates one, then updates it guarded by lastCommitId', async () => {
      // Act
      const read = await call('get-file', { project: P, path: 'docs/runbook.md' });
      const created = await call('put-file', {
        project: P,
        path: 'docs/new.md',
        branch: 'main',
        content: '# New\n',
        commitMessage: 'Add new',
      });
      const current = parsed(await call('get-file', { project: P, path: 'docs/new.md', ref: 'main' }));
      const updated = await call('put-file', {
        project: P,
        path: 'docs/new.md',
        branch: 'main',
        content: '# Newer\n',
        commitMessage: 'Edit new',
        lastCommitId: current['lastCommitId'],
      });
      const stale = await call('put-file', {
        project: P,
        path: 'docs/new.md',
        branch: 'main',
        content: '# Lost\n',
        commitMessage: 'Edit again',
        lastCommitId: current['lastCommitId'],
      });
      const overwritten = await call('put-file', {
        project: P,
        path: 'README.md',
        branch: 'main',
        content: Buffer.from([0, 1, 2]).toString('base64'),
        encoding: 'base64',
        commitMessage: 'Binary',
      });
      const binary = await call('get-file', { project: P, path: 'README.md', ref: 'main' });

      // Assess
      expect(parsed(read)).toMatchObject({ path: 'docs/runbook.md', ref: 'main', encoding: 'utf-8' });
      expect(parsed(read)['content']).toContain('Page the on-call');
      expect(fake.logFor('get-file')[0]?.path).toBe(
        '/api/v4/projects/ops%2Fplatform/repository/files/docs%2Frunbook.md',
      );
      expect(parsed(created)).toEqual({ path: 'docs/new.md', branch: 'main', created: true });
      expect(current['content']).toBe('# New\n');
      expect(parsed(updated)).toEqual({ path: 'docs/new.md', branch: 'main', created: false });
      expect(stale.statusCode).toBe(409);
      expect(parsed(overwritten)).toMatchObject({ created: false });
      expect(parsed(binary)).toMatchObject({ encoding: 'base64', content: 'AAEC' });
    });

    it('ignores leading and trailing slashes in repository paths, as every repository path does', async () => {
      const file = await call('get-file', { project: P, path: '/docs/runbook.md', ref: 'main' });
      const listed = await call('list-files', { project: P, path: '/docs/' });
      expect(parsed(file)).toMatchObject({ path: 'docs/runbook.md' });
      expect(fake.logFor('list-tree')[0]?.query['path']).toBe('docs');
      expect((parsed(listed)['entries'] as unknown[]).length).toBe(2);
    });

    it('answers 404 for a missing file, ref or file to update, and 400 for a path that climbs', async () => {
      const file = await call('get-file', { project: P, path: 'nope.md', ref: 'main' });
      const ref = await call('get-file', { project: P, path: 'README.md', ref: 'nope' });
      const update = await call('put-file', {
        project: P,
        path: 'nope.md',
        branch: 'main',
        content: 'x',
        commitMessage: 'x',
        lastCommitId: 'abcdef1',
      });
      const climbing = await call('get-file', { project: P, path: '../secrets' });
      expect([file, ref, update, climbing].map((r) => r.statusCode)).toEqual([404, 404, 404, 400]);
    });

    it('lists a directory page by page with keyset pagination (Link header, page_token)', async () => {
      // Act
      const pages: string[][] = [];
      let cursor: unknown;
      do {
        const response = await call('list-files', {
          project: P,
          recursive: true,
          limit: 2,
          ...(cursor ? { cursor } : {}),
        });
        pages.push((parsed(response)['entries'] as { path: string }[]).map((e) => e.path));
        cursor = parsed(response)['nextCursor'];
      } while (cursor !== undefined && pages.length < 10);
      const docs = await call('list-files', { project: P, path: 'docs' });
      const forged = await call('list-files', {
        project: P,
        cursor: Buffer.from('{"page_token":"a b"}').toString('base64url'),
      });

      // Assess
      expect(pages).toEqual([
        ['README.md', 'ci'],
        ['ci/deploy.yml', 'docs'],
        ['docs/oncall.md', 'docs/runbook.md'],
      ]);
      expect(fake.logFor('list-tree')[1]?.query).toMatchObject({ pagination: 'keyset', per_page: '2' });
      expect(fake.logFor('list-tree')[1]?.query['page_token']).toMatch(/^[A-Za-z0-9+/=]+$/);
      expect((parsed(docs)['entries'] as { name: string; type: string }[]).map((e) => e.name)).toEqual([
        'oncall.md',
        'runbook.md',
      ]);
      expect(forged.statusCode).toBe(400);
    });
  });

  describe('Answers of other GitLab versions, and the optional inputs', () => {
    const answer = (value: unknown) => ({ kind: 'answer' as const, answer: json(200, value) });
    const minimal = { id: 77, created_at: '2026-01-02T03:04:05Z', web_url: `${P}/x` };

    it('reads answers without issue_type, author, pipeline iid, source or updated_at as null', async () => {
      // Prepare: what an older or self-managed GitLab answers (fields it did not have yet, a deleted author)
      fake.inject(
        answer({ ...minimal, iid: 5, title: 'Old', state: 'opened', updated_at: '2026-01-02T03:04:05Z' }),
        { route: 'get-issue' },
      );
      fake.inject(
        answer({
          ...minimal,
          iid: 3,
          title: 'MR',
          state: 'merged',
          source_branch: 'a',
          target_branch: 'main',
          updated_at: '2026-01-02T03:04:05Z',
        }),
        { route: 'get-merge-request' },
      );
      fake.inject(answer({ ...minimal, ref: 'main', sha: 'abc', status: 'running' }), {
        route: 'get-pipeline',
      });
      fake.inject(answer({ id: 8, body: 'Looking', created_at: minimal.created_at }), {
        route: 'create-note',
      });

      // Act
      const issue = parsed(await call('get-issue', { project: P, key: '5' }));
      const mergeRequest = parsed(await call('get-merge-request', { project: P, iid: 3 }));
      const pipeline = parsed(await call('get-pipeline', { project: P, pipelineId: 77 }));
      const note = parsed(await call('comment-on-issue', { project: P, key: '5', body: 'Looking' }));

      // Assess
      expect(issue).toMatchObject({
        key: '5',
        issueType: null,
        assignee: null,
        labels: [],
        description: null,
      });
      expect(mergeRequest).toMatchObject({ iid: 3, author: null, description: null });
      expect(pipeline).toMatchObject({ id: 77, iid: null, source: null, updatedAt: null, finished: false });
      expect(note).toMatchObject({ id: '8', author: null });
    });

    it('assigns by username on update, and sends a merge request description', async () => {
      // Act
      const updated = await call('update-issue', { project: P, key: '1', assignee: 'alice' });
      const created = await call('create-merge-request', {
        project: P,
        sourceBranch: 'feature/runbook',
        targetBranch: 'main',
        title: 'Runbook',
        description: 'Adds the on-call runbook',
      });

      // Assess
      expect(parsed(updated)).toMatchObject({ key: '1', assignee: 'alice' });
      expect(fake.logFor('update-issue').at(-1)?.body).toMatchObject({ assignee_ids: [2] });
      expect(parsed(created)).toMatchObject({ description: 'Adds the on-call runbook' });
    });

    it('lists the files of another ref', async () => {
      const response = await call('list-files', { project: P, ref: 'feature/alerts' });
      expect(fake.logFor('list-tree').at(-1)?.query).toMatchObject({ ref: 'feature/alerts' });
      expect((parsed(response)['entries'] as { path: string }[]).map((e) => e.path)).toContain('alerts.yml');
    });

    it('answers 404 for put-file into a missing project, without trying an update', async () => {
      const response = await call('put-file', {
        project: 'ops/nope',
        path: 'x.md',
        branch: 'main',
        content: 'x',
        commitMessage: 'Add x',
      });
      expect(response.statusCode).toBe(404);
      expect(fake.logFor('write-file').map((entry) => entry.method)).toEqual(['POST']);
    });

    it('answers 400 naming /content for base64 content that is not standard padded base64, before any call', async () => {
      // Act
      const responses = await Promise.all(
        ['!!notbase64', 'AAE', 'AA-_', 'AAEC\n', 'AA=C'].map((content) =>
          call('put-file', {
            project: P,
            path: 'x.bin',
            branch: 'main',
            content,
            encoding: 'base64',
            commitMessage: 'x',
          }),
        ),
      );
      const text = await call('put-file', {
        project: P,
        path: 'notes.md',
        branch: 'main',
        content: '!!notbase64',
        commitMessage: 'Text may be anything',
      });

      // Assess
      for (const response of responses) {
        expect(response.statusCode).toBe(400);
        expect(parsed(response)['errors']).toEqual([
          { pointer: '/content', message: 'expected standard padded base64' },
        ]);
      }
      expect(parsed(text)).toEqual({ path: 'notes.md', branch: 'main', created: true });
      expect(fake.logFor('write-file').map((entry) => entry.body)).toEqual([
        expect.objectContaining({ content: '!!notbase64', encoding: 'text' }),
      ]);
    });

    it("writes back a file read with get-file, passing the read answer's own encoding (utf-8 and base64)", async () => {
      // Prepare
      const text = parsed(await call('get-file', { project: P, path: 'docs/runbook.md', ref: 'main' }));
      const binaryWrite = await call('put-file', {
        project: P,
        path: 'bin/blob.bin',
        branch: 'main',
        content: Buffer.from([0, 1, 2]).toString('base64'),
        encoding: 'base64',
        commitMessage: 'Binary',
      });
      const binary = parsed(await call('get-file', { project: P, path: 'bin/blob.bin', ref: 'main' }));

      // Act
      const textBack = await call('put-file', {
        project: P,
        path: 'docs/runbook.md',
        branch: 'main',
        content: `${String(text['content'])}More.\n`,
        encoding: text['encoding'],
        commitMessage: 'Round trip text',
        lastCommitId: text['lastCommitId'],
      });
      const binaryBack = await call('put-file', {
        project: P,
        path: 'bin/blob.bin',
        branch: 'main',
        content: binary['content'],
        encoding: binary['encoding'],
        commitMessage: 'Round trip binary',
        lastCommitId: binary['lastCommitId'],
      });
      const reread = parsed(await call('get-file', { project: P, path: 'docs/runbook.md', ref: 'main' }));

      // Assess
      expect(parsed(binaryWrite)).toMatchObject({ created: true });
      expect([text['encoding'], binary['encoding']]).toEqual(['utf-8', 'base64']);
      expect(textBack.statusCode).toBe(200);
      expect(parsed(textBack)).toEqual({ path: 'docs/runbook.md', branch: 'main', created: false });
      expect(parsed(binaryBack)).toEqual({ path: 'bin/blob.bin', branch: 'main', created: false });
      expect(reread).toMatchObject({ encoding: 'utf-8', content: `${String(text['content'])}More.\n` });
      expect(
        fake.logFor('write-file').map((entry) => (entry.body as Record<string, unknown>)['encoding']),
      ).toEqual(['base64', 'text', 'base64']);
    });
  });

  describe('Credentials', () => {
    it('reads the secret again after a 401 (rotation) and succeeds with the new token', async () => {
      // Prepare
      await connector.run('get-issue', { project: P, key: '1' });
      fake.state.tokens.clear();
      fake.state.tokens.add(ROTATED);
      await secrets.set(TOKEN_SECRET, ROTATED);

      // Act
      const response = await call('get-issue', { project: P, key: '1' });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(fake.logFor('get-issue').map((entry) => entry.status)).toEqual([200, 401, 200]);
    });

    it('answers 401 when the token stays refused, 403 when it may not act, and never shows the token', async () => {
      fake.state.tokens.clear();
      const refused = await call('get-issue', { project: P, key: '1' });
      fake.state.tokens.add(GITLAB_SANDBOX_TOKEN);
      fake.inject({ kind: 'forbidden' }, { route: 'create-issue', times: 2 });
      const forbidden = await call('create-issue', { project: P, title: 'x' });
      expect(refused.statusCode).toBe(401);
      expect(forbidden.statusCode).toBe(403);
      expect(`${refused.body}${forbidden.body}${logs.text()}`).not.toContain(GITLAB_SANDBOX_TOKEN);
    });
  });

  describe('Triggers', () => {
    it('runs a queued request and a Step Functions task, and answers health', async () => {
      // Act
      const queued = await connector.handler(
        sqsEvent([{ body: { operation: 'comment-on-issue', input: { project: P, key: '1', body: 'q' } } }]),
        lambdaContext(),
      );
      const task = await connector.handler(
        { trigger: 'task', operation: 'get-issue', input: { project: P, key: '1' } },
        lambdaContext(),
      );
      const health = await connector.handler(
        httpEvent({ method: 'GET', path: '/gitlab/health' }),
        lambdaContext(),
      );

      // Assess
      expect(queued).toEqual({ batchItemFailures: [] });
      expect(platform()?.issues.find((issue) => issue.iid === 1)?.notes).toHaveLength(1);
      expect(task).toMatchObject({ key: '1', state: 'closed' });
      expect((health as HttpResult).statusCode).toBe(200);
      expect(fake.logFor('current-user')).toHaveLength(1);
    });
  });

  describe('Route: POST /gitlab/webhook', () => {
    const deliver = async (body: string, headers: Record<string, string>) =>
      (await connector.handler(
        httpEvent({ path: '/gitlab/webhook', body, headers, authorizer: 'none' }),
        lambdaContext(),
      )) as HttpResult;
    const payload = JSON.stringify({
      object_kind: 'issue',
      project: { path_with_namespace: P },
      object_attributes: { iid: 9, action: 'open' },
    });

    it('accepts a delivery with the right token once, and answers a retry (same Idempotency-Key) as a duplicate', async () => {
      // Prepare
      const id = randomUUID();
      const headers = {
        'x-gitlab-token': WEBHOOK_TOKEN,
        'x-gitlab-event': 'Issue Hook',
        'idempotency-key': id,
        'x-gitlab-event-uuid': randomUUID(),
      };

      // Act
      const first = await deliver(payload, headers);
      const again = await deliver(payload, { ...headers, 'x-gitlab-event-uuid': randomUUID() });
      const byUuid = await deliver(payload, { 'x-gitlab-token': WEBHOOK_TOKEN, 'x-gitlab-event-uuid': id });

      // Assess
      expect(first.statusCode).toBe(202);
      expect(parsed(first)).toMatchObject({ accepted: true, event: 'issue-opened', deliveryId: id });
      expect(again.statusCode).toBe(200);
      expect(parsed(again)).toEqual({ duplicate: true, deliveryId: id });
      expect(byUuid.statusCode).toBe(200);
    });

    it('answers 401 without the token or with another, never echoing it; 400 without a delivery id or kind', async () => {
      const id = { 'idempotency-key': randomUUID() };
      const missing = await deliver(payload, id);
      const wrong = await deliver(payload, { ...id, 'x-gitlab-token': 'guess' });
      const prefix = await deliver(payload, { ...id, 'x-gitlab-token': WEBHOOK_TOKEN.slice(0, -1) });
      const noId = await deliver(payload, { 'x-gitlab-token': WEBHOOK_TOKEN });
      const noKind = await deliver('{"project":{}}', { ...id, 'x-gitlab-token': WEBHOOK_TOKEN });
      expect([missing, wrong, prefix].map((r) => r.statusCode)).toEqual([401, 401, 401]);
      expect([noId, noKind].map((r) => r.statusCode)).toEqual([400, 400]);
      expect(`${wrong.body}${logs.text()}`).not.toContain(WEBHOOK_TOKEN);
    });

    it('names the project alone as the source of an event without an iid (a push)', async () => {
      const push = JSON.stringify({ object_kind: 'push', project: { path_with_namespace: P } });
      const response = await deliver(push, {
        'x-gitlab-token': WEBHOOK_TOKEN,
        'idempotency-key': randomUUID(),
      });
      expect(parsed(response)).toMatchObject({ accepted: true, event: 'push' });
      expect(
        logs
          .records()
          .filter((record) => record['source'] !== undefined)
          .map((r) => r['source']),
      ).toEqual([P]);
    });

    it('fails closed (500) when the webhook secret is empty', async () => {
      await secrets.set(WEBHOOK_SECRET, ' ');
      configureSecrets({});
      const response = await deliver(payload, { 'x-gitlab-token': '', 'idempotency-key': randomUUID() });
      expect(response.statusCode).toBe(500);
      await secrets.set(WEBHOOK_SECRET, WEBHOOK_TOKEN);
    });
  });
});

describe('Function: gitlabEventName', () => {
  it('names events by kind and past-tense action', () => {
    expect(gitlabEventName({ object_kind: 'merge_request', object_attributes: { action: 'merge' } })).toBe(
      'merge-request-merged',
    );
    expect(gitlabEventName({ object_kind: 'pipeline', object_attributes: { status: 'success' } })).toBe(
      'pipeline',
    );
    expect(gitlabEventName({ object_kind: 'note', object_attributes: { action: 'create' } })).toBe(
      'note-create',
    );
    expect(gitlabEventName({ object_kind: 'Bad Kind' })).toBeUndefined();
    expect(gitlabEventName(null)).toBeUndefined();
    expect(gitlabEventName({ object_kind: 'note', object_attributes: 'create' })).toBe('note');
  });
});

describe('Function: inspectGitlabResponse', () => {
  const response = (status: number, body: unknown) => ({ status, body, headers: {}, url: 'http://x/y' });
  it("maps GitLab's bodies: fields, lists and the files API's messages", () => {
    expect(inspectGitlabResponse(response(400, { message: { title: ["can't be blank"] } }))).toMatchObject({
      name: 'ValidationError',
      issues: [{ pointer: '/title', message: "can't be blank" }],
    });
    expect(inspectGitlabResponse(response(422, { message: ['same branch'] }))?.name).toBe('ValidationError');
    expect(inspectGitlabResponse(response(400, { message: ['x'] }))?.name).toBe('ValidationError');
    expect(
      inspectGitlabResponse(response(400, { message: 'A file with this name already exists' }))?.name,
    ).toBe('ConflictError');
    expect(inspectGitlabResponse(response(400, { message: 'plain' }))).toBeUndefined();
    expect(inspectGitlabResponse(response(409, { message: 'plain' }))).toBeUndefined();
    expect(inspectGitlabResponse(response(400, null))).toBeUndefined();
    expect(inspectGitlabResponse(response(404, { message: '404 Not Found' }))).toBeUndefined();
    expect(inspectGitlabResponse(response(400, { message: {} }))?.message).toBe('GitLab refused the request');
    expect(inspectGitlabResponse(response(400, { message: { title: 'is too long' } }))).toMatchObject({
      issues: [{ pointer: '/title', message: 'is too long' }],
    });
  });
});
