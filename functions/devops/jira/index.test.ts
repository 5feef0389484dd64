/**
 * The Jira connector against the Jira contract fake (`scripts/local/sandboxes/jira.ts`), the local stack's
 * Secrets Manager and dynalite (the delivery ledger): each operation on each trigger, OAuth 2.0 (3LO) with a
 * rotating refresh token, signed webhooks, and the failure paths every connector must survive.
 */
import { createHmac, randomUUID } from 'node:crypto';
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
  JIRA_SANDBOX_ACCOUNT,
  JIRA_SANDBOX_SECRET,
  type JiraFakeState,
  signJiraWebhook,
  startJiraFake,
} from '../../../scripts/local/sandboxes/jira.ts';
import { type FakeServer, json } from '../../../scripts/local/sandboxes/kit/index.ts';
import { createTable, type DynalitePeer, startDynalite } from '../../../test/peers/dynalite.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';
import { fromAdf, toAdf } from './adf.ts';
import { searchJql } from './client.ts';

const CREDENTIALS_SECRET = `test/jira/credentials-${randomUUID().slice(0, 8)}`;
const WEBHOOK_SECRET = `test/jira/webhook-${randomUUID().slice(0, 8)}`;
const WEBHOOK_KEY = 'jira-unit-webhook-key';
const ROTATED = JSON.stringify({ username: 'sandbox@example.com', password: 'jira-rotated-token' });
const STATE_TABLE = `jira-state-${randomUUID().slice(0, 8)}`;

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let fake: FakeServer<JiraFakeState>;
let secrets: SecretsManagerPeer;
let dynamo: DynalitePeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown, key = randomUUID()): Promise<HttpResult> {
  const event = httpEvent({ path: `/jira/${operation}`, body, headers: { 'idempotency-key': key } });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

beforeAll(async () => {
  [fake, secrets, dynamo] = await Promise.all([
    startJiraFake(),
    startSecretsManager({ [CREDENTIALS_SECRET]: JIRA_SANDBOX_SECRET, [WEBHOOK_SECRET]: WEBHOOK_KEY }),
    startDynalite(),
  ]);
  await createTable(dynamo.endpoint, STATE_TABLE);
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    JIRA_API_URL: fake.url,
    JIRA_CREDENTIALS_SECRET: CREDENTIALS_SECRET,
    JIRA_WEBHOOK_SECRET_SECRET: WEBHOOK_SECRET,
    JIRA_STATE_TABLE: STATE_TABLE,
    JIRA_TIMEOUT_MS: '1000',
    JIRA_MAX_RETRY_AFTER_MS: '5000',
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
  await secrets.set(CREDENTIALS_SECRET, JIRA_SANDBOX_SECRET);
  configureSecrets({});
  resetCircuitBreakers();
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describe('Connector: jira', () => {
  describe('Operation: create-issue', () => {
    it('sends the description as Atlassian Document Format and answers the issue', async () => {
      // Act
      const response = await call('create-issue', {
        project: 'OPS',
        title: 'Disk full on db-1',
        description: 'Alert fired\nat 03:00\n\nSee the runbook',
        labels: ['incident'],
        assignee: JIRA_SANDBOX_ACCOUNT,
        issueType: 'Bug',
      });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(parsed(response)).toMatchObject({
        key: 'OPS-4',
        project: 'OPS',
        state: 'open',
        status: 'To Do',
        labels: ['incident'],
        assignee: JIRA_SANDBOX_ACCOUNT,
        issueType: 'Bug',
        description: 'Alert fired\nat 03:00\n\nSee the runbook',
        url: `${fake.url}/browse/OPS-4`,
      });
      const sent = fake.logFor('create-issue')[0]?.body as { fields: { description: unknown } };
      expect(sent.fields.description).toEqual(toAdf('Alert fired\nat 03:00\n\nSee the runbook'));
    });

    it('answers 404 for an unknown project (Jira says so as a 400 on the project field)', async () => {
      const response = await call('create-issue', { project: 'NOPE', title: 'x' });
      expect(response.statusCode).toBe(404);
      expect(fake.logFor('create-issue').map((entry) => entry.status)).toEqual([400]);
    });

    it('answers 400 naming the field Jira refused', async () => {
      const response = await call('create-issue', { project: 'OPS', title: 'x', issueType: 'Epicish' });
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['detail']).toContain('issuetype');
    });

    it('refuses an unknown field with a 400 naming it, before calling Jira', async () => {
      const response = await call('create-issue', { project: 'OPS', title: 'x', severity: 1 });
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['errors']).toEqual([{ pointer: '/severity', message: 'unknown field' }]);
      expect(fake.log).toEqual([]);
    });
  });

  describe('Operation: get-issue, update-issue, comment-on-issue', () => {
    it('reads a seeded issue, updates it and comments on it', async () => {
      // Act
      const read = await call('get-issue', { project: 'OPS', key: 'OPS-2' });
      const updated = await call('update-issue', {
        project: 'OPS',
        key: 'OPS-2',
        title: 'Disk full on db-1',
        assignee: null,
      });
      const comment = await call('comment-on-issue', { project: 'OPS', key: 'OPS-2', body: 'Cleaned /var' });

      // Assess
      expect(parsed(read)).toMatchObject({
        key: 'OPS-2',
        status: 'In Progress',
        description: '90% used on /var',
      });
      expect(parsed(updated)).toMatchObject({ title: 'Disk full on db-1', assignee: null });
      expect(parsed(comment)).toMatchObject({
        key: 'OPS-2',
        body: 'Cleaned /var',
        author: JIRA_SANDBOX_ACCOUNT,
      });
    });

    it('assigns by accountId, and reads an issue without a type and a comment without author or body', async () => {
      // Prepare: Jira leaves out issuetype when the caller may not see it, and the author of an anonymised user
      const answer = (value: unknown, route: string) =>
        fake.inject({ kind: 'answer', answer: json(200, value) }, { route });
      const at = '2026-01-02T03:04:05.000+0000';

      // Act
      const assigned = await call('update-issue', {
        project: 'OPS',
        key: 'OPS-2',
        assignee: JIRA_SANDBOX_ACCOUNT,
      });
      answer(
        {
          id: '10002',
          key: 'OPS-2',
          fields: {
            summary: 'x',
            status: { name: 'To Do', statusCategory: { key: 'new' } },
            project: { key: 'OPS' },
            created: at,
            updated: at,
          },
        },
        'get-issue',
      );
      const untyped = await call('get-issue', { project: 'OPS', key: 'OPS-2' });
      answer({ id: '9', created: at }, 'add-comment');
      const anonymous = await call('comment-on-issue', { project: 'OPS', key: 'OPS-2', body: 'x' });

      // Assess
      expect(parsed(assigned)).toMatchObject({ assignee: JIRA_SANDBOX_ACCOUNT });
      expect(fake.logFor('edit-issue').at(-1)?.body).toMatchObject({
        fields: { assignee: { accountId: JIRA_SANDBOX_ACCOUNT } },
      });
      expect(parsed(untyped)).toMatchObject({ key: 'OPS-2', issueType: null, assignee: null, labels: [] });
      expect(parsed(anonymous)).toMatchObject({ id: '9', body: '', author: null });
    });

    it('answers dates as RFC 3339 in UTC, which Jira writes with a +hhmm offset', async () => {
      // Prepare: Jira Cloud's own format, in a site whose time zone is not UTC
      const answer = (value: unknown, route: string) =>
        fake.inject({ kind: 'answer', answer: json(200, value) }, { route });
      answer(
        {
          id: '10002',
          key: 'OPS-2',
          fields: {
            summary: 'x',
            status: { name: 'To Do', statusCategory: { key: 'new' } },
            project: { key: 'OPS' },
            created: '2026-01-02T03:04:05.000+0100',
            updated: '2026-01-02T03:04:05.123-0530',
          },
        },
        'get-issue',
      );
      answer({ id: '9', created: '2026-01-02T03:04:05.000+0000' }, 'add-comment');

      // Act
      const issue = await call('get-issue', { project: 'OPS', key: 'OPS-2' });
      const comment = await call('comment-on-issue', { project: 'OPS', key: 'OPS-2', body: 'x' });

      // Assess: what Step Functions' timestamp comparisons and strict RFC 3339 parsers take
      expect(parsed(issue)).toMatchObject({
        createdAt: '2026-01-02T02:04:05.000Z',
        updatedAt: '2026-01-02T08:34:05.123Z',
      });
      expect(parsed(comment)).toMatchObject({ createdAt: '2026-01-02T03:04:05.000Z' });
    });

    it('answers 404 naming the issue that does not exist, or belongs to another project', async () => {
      const missing = await call('get-issue', { project: 'OPS', key: 'OPS-999' });
      const elsewhere = await call('get-issue', { project: 'WEB', key: 'OPS-1' });
      expect(missing.statusCode).toBe(404);
      expect(parsed(missing)['detail']).toContain('Jira issue OPS-999 was not found');
      expect(elsewhere.statusCode).toBe(404);
    });
  });

  describe('Operation: transition-issue', () => {
    it('closes through the transition into the done category, and moves to a named status', async () => {
      // Act
      const closed = await call('transition-issue', { project: 'OPS', key: 'OPS-3', state: 'closed' });
      const moved = await call('transition-issue', { project: 'OPS', key: 'OPS-3', status: 'In Progress' });

      // Assess
      expect(parsed(closed)).toMatchObject({ state: 'closed', status: 'Done' });
      expect(parsed(moved)).toMatchObject({ state: 'open', status: 'In Progress' });
      expect(fake.logFor('do-transition').map((entry) => entry.body)).toEqual([
        { transition: { id: '31' } },
        { transition: { id: '21' } },
      ]);
    });

    it('reopens into progress when the workflow has no way back to a new status, and answers 409 when none closes', async () => {
      // Prepare: custom workflows, as Jira answers them for the issue
      const inProgress = {
        id: '21',
        name: 'In Progress',
        to: { name: 'In Progress', statusCategory: { key: 'indeterminate' } },
      };
      await call('transition-issue', { project: 'OPS', key: 'OPS-3', state: 'closed' });
      fake.inject(
        { kind: 'answer', answer: json(200, { transitions: [inProgress] }) },
        { route: 'get-transitions' },
      );
      fake.inject({ kind: 'answer', answer: json(200, { transitions: [] }) }, { route: 'get-transitions' });

      // Act
      const reopened = await call('transition-issue', { project: 'OPS', key: 'OPS-3', state: 'open' });
      const stuck = await call('transition-issue', { project: 'OPS', key: 'OPS-3', state: 'closed' });

      // Assess
      expect(parsed(reopened)).toMatchObject({ state: 'open', status: 'In Progress' });
      expect(fake.logFor('do-transition').at(-1)?.body).toEqual({ transition: { id: '21' } });
      expect(stuck.statusCode).toBe(409);
      expect(parsed(stuck)['detail']).toContain('no transition from In Progress to closed');
    });

    it('answers 409 when no transition leads to the status', async () => {
      const response = await call('transition-issue', { project: 'OPS', key: 'OPS-3', status: 'Blocked' });
      expect(response.statusCode).toBe(409);
      expect(parsed(response)['detail']).toContain('no transition from To Do to Blocked');
    });
  });

  describe('Operation: search-issues', () => {
    it('pages with nextPageToken through /rest/api/3/search/jql', async () => {
      // Act
      const first = await call('search-issues', { project: 'OPS', limit: 2 });
      const second = await call('search-issues', {
        project: 'OPS',
        limit: 2,
        cursor: parsed(first)['nextCursor'],
      });

      // Assess
      const keys = (response: HttpResult) =>
        (parsed(response)['issues'] as { key: string }[]).map((issue) => issue.key);
      expect(keys(first)).toEqual(['OPS-3', 'OPS-2']);
      expect(keys(second)).toEqual(['OPS-1']);
      expect(parsed(second)['nextCursor']).toBeUndefined();
      expect(fake.logFor('search-issues')[1]?.query['nextPageToken']).toBe(parsed(first)['nextCursor']);
    });

    it('ANDs filters and JQL into one query, quoting values', async () => {
      // Act
      const response = await call('search-issues', {
        project: 'OPS',
        state: 'open',
        labels: ['incident'],
        query: 'assignee = "5b10a2844c20165700ede21g"',
      });

      // Assess
      expect((parsed(response)['issues'] as { key: string }[]).map((issue) => issue.key)).toEqual(['OPS-2']);
      expect(searchJql({ project: 'OPS', state: 'closed', text: 'say "hi"', limit: 1 })).toBe(
        'project = "OPS" AND statusCategory = Done AND text ~ "say \\"hi\\"" ORDER BY created DESC',
      );
    });

    it('finds labels and text with quotes, backslashes and non-ASCII: each a JQL string literal, escaped once', async () => {
      // Prepare
      const labels = ['ünï"q\\x', 'c++', '日本語', "it's"];
      const title = 'Grüße "quoted" C:\\temp\\new (1) OR project = WEB';
      await call('create-issue', { project: 'OPS', title, labels });
      // Act
      const response = await call('search-issues', {
        project: 'OPS',
        labels,
        text: '"quoted" C:\\temp\\new (1) OR project',
      });
      // Assess
      expect(response.statusCode).toBe(200);
      expect(parsed(response)['issues'] as { title: string; labels: string[] }[]).toEqual([
        expect.objectContaining({ title, labels }),
      ]);
      expect(fake.logFor('search-issues')[0]?.query['jql']).toBe(
        'project = "OPS" AND labels = "ünï\\"q\\\\x" AND labels = "c++" AND labels = "日本語" AND ' +
          `labels = "it's" AND text ~ "\\"quoted\\" C:\\\\temp\\\\new (1) OR project" ORDER BY created DESC`,
      );
    });

    it('writes a tab, a line break and other control characters in text as JQL escapes (\\t, \\n, \\uXXXX)', async () => {
      // Prepare
      await call('create-issue', {
        project: 'OPS',
        title: 'Controls',
        description: 'Tab\there, bell\u0007 rung',
      });
      // Act
      const response = await call('search-issues', { project: 'OPS', text: 'Tab\there, bell\u0007' });
      // Assess
      expect(response.statusCode).toBe(200);
      expect((parsed(response)['issues'] as { title: string }[]).map((issue) => issue.title)).toEqual([
        'Controls',
      ]);
      expect(fake.logFor('search-issues')[0]?.query['jql']).toContain('text ~ "Tab\\there, bell\\u0007"');
      expect(searchJql({ project: 'OPS', state: 'all', text: 'a\r\nb\u007f\ufffe', limit: 1 })).toContain(
        'text ~ "a\\r\\nb\\u007f\\ufffe"',
      );
    });

    it('answers 400 naming /query for JQL that leaves its parentheses or orders, sending nothing', async () => {
      // Act
      const escaping = await call('search-issues', {
        project: 'OPS',
        query: 'statusCategory = Done) OR (project = WEB',
      });
      const unclosed = await call('search-issues', { project: 'OPS', query: '(statusCategory = Done' });
      const ordered = await call('search-issues', { project: 'OPS', query: 'labels = x order by key' });
      const quoted = await call('search-issues', {
        project: 'OPS',
        query: 'summary ~ "disk) OR (full" OR summary ~ "order by"',
      });

      // Assess
      for (const response of [escaping, unclosed, ordered]) {
        expect(response.statusCode).toBe(400);
        expect((parsed(response)['errors'] as { pointer: string }[]).map((issue) => issue.pointer)).toEqual([
          '/query',
        ]);
      }
      expect(quoted.statusCode).toBe(200);
      expect(fake.logFor('search-issues')).toHaveLength(1);
    });

    it('drops an issue of another project should Jira answer one', async () => {
      // Prepare
      const issue = (key: string, project: string) => ({
        id: key.replace(/\D/g, ''),
        key,
        fields: {
          summary: 'x',
          description: null,
          status: { name: 'To Do', statusCategory: { key: 'new' } },
          labels: [],
          assignee: null,
          issuetype: { name: 'Task' },
          project: { key: project },
          created: '2026-01-01T00:00:00.000+0000',
          updated: '2026-01-01T00:00:00.000+0000',
        },
      });
      fake.inject(
        {
          kind: 'answer',
          answer: {
            status: 200,
            json: { issues: [issue('WEB-9', 'WEB'), issue('OPS-1', 'OPS')], isLast: true },
          },
        },
        { route: 'search-issues' },
      );

      // Act
      const response = await call('search-issues', { project: 'OPS' });

      // Assess
      expect((parsed(response)['issues'] as { key: string }[]).map((i) => i.key)).toEqual(['OPS-1']);
    });

    it('answers 400 for JQL Jira cannot read', async () => {
      const response = await call('search-issues', { project: 'OPS', query: 'nosuchfield = 1' });
      expect(response.statusCode).toBe(400);
    });

    it('waits as Retry-After says on a 429, and retries a 5xx, then answers', async () => {
      // Prepare
      fake.inject({ kind: 'throttled', retryAfterSeconds: 0 }, { route: 'search-issues' });
      fake.inject({ kind: 'server-error', status: 502 }, { route: 'search-issues' });

      // Act
      const response = await call('search-issues', { project: 'OPS' });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(fake.logFor('search-issues').map((entry) => entry.status)).toEqual([429, 502, 200]);
    });

    it('answers 429 with the wait when Retry-After exceeds what it may wait', async () => {
      fake.inject({ kind: 'throttled', retryAfterSeconds: 120 }, { route: 'search-issues' });
      const response = await call('search-issues', { project: 'OPS' });
      expect(response.statusCode).toBe(429);
      expect(response.headers['retry-after']).toBe('120');
    });

    it('answers 429 with the wait X-RateLimit-Reset names (ISO 8601, to the minute) when Retry-After is absent', async () => {
      // Prepare: Jira's reference gives X-RateLimit-Reset as yyyy-MM-ddTHH:mmZ, not an HTTP date
      const reset = `${new Date(Date.now() + 3 * 60_000).toISOString().slice(0, 16)}Z`;
      fake.inject(
        {
          kind: 'answer',
          answer: json(
            429,
            { errorMessages: ['Rate limit exceeded.'], errors: {} },
            { 'x-ratelimit-reset': reset, 'ratelimit-reason': 'jira-burst-based' },
          ),
        },
        { route: 'search-issues' },
      );

      // Act
      const response = await call('search-issues', { project: 'OPS' });

      // Assess
      expect(response.statusCode).toBe(429);
      const wait = Number(response.headers['retry-after']);
      expect(wait).toBeGreaterThan(120);
      expect(wait).toBeLessThanOrEqual(180);
    });

    it('sends X-RateLimit-Reset as ISO 8601 with a throttled answer, as Jira does', async () => {
      fake.inject({ kind: 'throttled', retryAfterSeconds: 120 }, { route: 'myself' });
      const answer = await fetch(`${fake.url}/rest/api/3/myself`);
      expect(answer.status).toBe(429);
      expect(answer.headers.get('retry-after')).toBe('120');
      expect(answer.headers.get('x-ratelimit-reset')).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}Z$/);
    });

    it('answers 502 for a malformed or oversized answer, and 504 when Jira hangs', async () => {
      fake.inject({ kind: 'malformed' }, { route: 'search-issues', times: Number.POSITIVE_INFINITY });
      const malformed = await call('search-issues', { project: 'OPS' });
      fake.clearFaults();
      fake.inject({ kind: 'wrong-shape', json: { issues: 'nope' } }, { route: 'get-issue' });
      const wrongShape = await call('get-issue', { project: 'OPS', key: 'OPS-1' });
      fake.inject({ kind: 'hang' }, { route: 'get-issue', times: Number.POSITIVE_INFINITY });
      const hung = await call('get-issue', { project: 'OPS', key: 'OPS-1' });
      fake.clearFaults();
      fake.inject({ kind: 'oversized', bytes: 12 * 1024 * 1024 }, { route: 'get-issue' });
      const oversized = await call('get-issue', { project: 'OPS', key: 'OPS-1' });

      expect(malformed.statusCode).toBe(502);
      expect(oversized.statusCode).toBe(502);
      expect(wrongShape.statusCode).toBe(502);
      expect(hung.statusCode).toBe(504);
    });
  });

  describe('Credentials', () => {
    it('reads the secret again after a 401 (rotation) and succeeds with the new API token', async () => {
      // Prepare
      await connector.run('get-issue', { project: 'OPS', key: 'OPS-1' });
      fake.state.tokens.clear();
      fake.state.tokens.add('sandbox@example.com:jira-rotated-token');
      await secrets.set(CREDENTIALS_SECRET, ROTATED);

      // Act
      const response = await call('get-issue', { project: 'OPS', key: 'OPS-1' });

      // Assess
      expect(response.statusCode).toBe(200);
      expect(fake.logFor('get-issue').map((entry) => entry.status)).toEqual([200, 401, 200]);
    });

    it('answers 401 when the credentials stay refused, and never shows them', async () => {
      fake.state.tokens.clear();
      const response = await call('get-issue', { project: 'OPS', key: 'OPS-1' });
      expect(response.statusCode).toBe(401);
      expect(`${response.body}${logs.text()}`).not.toContain('jira-sandbox-token');
    });
  });

  describe('Triggers', () => {
    it('runs a queued request and a Step Functions task, and answers health', async () => {
      // Act
      const queued = await connector.handler(
        sqsEvent([
          { body: { operation: 'comment-on-issue', input: { project: 'OPS', key: 'OPS-1', body: 'q' } } },
        ]),
        lambdaContext(),
      );
      const task = await connector.handler(
        { trigger: 'task', operation: 'get-issue', input: { project: 'OPS', key: 'OPS-1' } },
        lambdaContext(),
      );
      const health = await connector.handler(
        httpEvent({ method: 'GET', path: '/jira/health' }),
        lambdaContext(),
      );

      // Assess
      expect(queued).toEqual({ batchItemFailures: [] });
      expect(fake.state.issues.find((issue) => issue.key === 'OPS-1')?.comments).toHaveLength(1);
      expect(task).toMatchObject({ key: 'OPS-1', state: 'closed' });
      expect((health as HttpResult).statusCode).toBe(200);
    });
  });

  describe('Route: POST /jira/webhook', () => {
    const deliver = async (body: string, headers: Record<string, string>) =>
      (await connector.handler(
        httpEvent({ path: '/jira/webhook', body, headers, authorizer: 'none' }),
        lambdaContext(),
      )) as HttpResult;
    const payload = (timestamp = Date.now()) =>
      JSON.stringify({ timestamp, webhookEvent: 'jira:issue_created', issue: { key: 'OPS-9' } });

    it('accepts a signed delivery once, and answers a redelivery as a duplicate', async () => {
      // Prepare
      const body = payload();
      const id = randomUUID();
      const headers = {
        'x-hub-signature': signJiraWebhook(WEBHOOK_KEY, body),
        'x-atlassian-webhook-identifier': id,
      };

      // Act
      const first = await deliver(body, headers);
      const again = await deliver(body, headers);

      // Assess
      expect(first.statusCode).toBe(202);
      expect(parsed(first)).toMatchObject({ accepted: true, event: 'issue-created', deliveryId: id });
      expect(again.statusCode).toBe(200);
      expect(parsed(again)).toEqual({ duplicate: true, deliveryId: id });
    });

    it('answers 401 for a tampered, unsigned, wrongly keyed or stale delivery', async () => {
      const body = payload();
      const id = { 'x-atlassian-webhook-identifier': randomUUID() };
      const tampered = await deliver(body.replace('OPS-9', 'OPS-8'), {
        ...id,
        'x-hub-signature': signJiraWebhook(WEBHOOK_KEY, body),
      });
      const unsigned = await deliver(body, id);
      const wrongKey = await deliver(body, {
        ...id,
        'x-hub-signature': `sha256=${createHmac('sha256', 'other').update(body).digest('hex')}`,
      });
      const old = payload(Date.now() - 2 * 3600_000);
      const stale = await deliver(old, { ...id, 'x-hub-signature': signJiraWebhook(WEBHOOK_KEY, old) });

      expect([tampered, unsigned, wrongKey, stale].map((r) => r.statusCode)).toEqual([401, 401, 401, 401]);
      expect(logs.text()).not.toContain(WEBHOOK_KEY);
    });

    it('answers 400 for a signed delivery without webhookEvent, and accepts one about no issue', async () => {
      // Prepare
      const bare = JSON.stringify({ timestamp: Date.now() });
      const project = JSON.stringify({
        timestamp: Date.now(),
        webhookEvent: 'project_created',
        project: { key: 'NEW' },
      });
      const headers = (body: string) => ({
        'x-hub-signature': signJiraWebhook(WEBHOOK_KEY, body),
        'x-atlassian-webhook-identifier': randomUUID(),
      });

      // Act
      const missing = await deliver(bare, headers(bare));
      const accepted = await deliver(project, headers(project));

      // Assess
      expect(missing.statusCode).toBe(400);
      expect(parsed(missing)['detail']).toContain('no webhookEvent');
      expect(accepted.statusCode).toBe(202);
      expect(logs.records().filter((record) => record['source'] !== undefined)).toEqual([]);
    });

    it('answers 400 for a signed delivery without its identifier', async () => {
      const body = payload();
      const response = await deliver(body, { 'x-hub-signature': signJiraWebhook(WEBHOOK_KEY, body) });
      expect(response.statusCode).toBe(400);
    });
  });
});

describe('Module: adf', () => {
  it('reads rich content as paragraphs of text, and empty documents as null', () => {
    const rich = {
      type: 'doc',
      content: [
        { type: 'heading', content: [{ type: 'text', text: 'Title' }] },
        {
          type: 'bulletList',
          content: [
            { type: 'listItem', content: [{ type: 'paragraph', content: [{ type: 'text', text: 'one' }] }] },
          ],
        },
        {
          type: 'paragraph',
          content: [
            { type: 'mention', text: '@ops' },
            { type: 'text', text: ' look' },
          ],
        },
      ],
    };
    expect(fromAdf(rich)).toBe('Title\n\none\n\n@ops look');
    expect(fromAdf({ type: 'doc', content: [] })).toBeNull();
    expect(
      fromAdf({
        type: 'doc',
        content: [{ type: 'paragraph', content: [{ type: 'text' }, { type: 'emoji' }] }],
      }),
    ).toBeNull();
    expect(fromAdf({ type: 'text', text: 'bare' })).toBe('bare');
    expect(fromAdf({ type: 'doc', content: [{ type: 'rule' }, { type: 'text' }] })).toBeNull();
    expect(toAdf('a\r\n\nb\n\nc\n\n\n')).toEqual({
      type: 'doc',
      version: 1,
      content: ['a', 'b', 'c'].map((text) => ({ type: 'paragraph', content: [{ type: 'text', text }] })),
    });
    expect(fromAdf(null)).toBeNull();
  });
});
