/**
 * The Jira, PagerDuty and GitLab connectors on the running local stack (`npm start -- --only
 * jira,pagerduty,gitlab`), against their sandboxes: the README examples as a newcomer runs them, and signed
 * webhooks computed with each provider's published scheme (valid, tampered, stale, replayed; GitLab's
 * secret token: right, wrong, missing, replayed), sent from outside like the provider does.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GITLAB_SANDBOX_WEBHOOK_SECRET } from '../../scripts/local/sandboxes/gitlab.ts';
import { JIRA_SANDBOX_WEBHOOK_SECRET } from '../../scripts/local/sandboxes/jira.ts';
import { PAGERDUTY_SANDBOX_WEBHOOK_SECRET } from '../../scripts/local/sandboxes/pagerduty.ts';
import { type StackProcess, startStackProcess } from './stack-process.ts';

let stack: StackProcess;

async function post(path: string, input: unknown) {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.apiKey}`,
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify(input),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function webhook(path: string, body: string, headers: Record<string, string>) {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  for (const name of ['JIRA_API_URL', 'PAGERDUTY_API_URL', 'GITLAB_API_URL', 'CIRCLE_LOCAL_REAL']) {
    if (process.env[name] !== undefined) throw new Error(`unset ${name} to run this suite`);
  }
  stack = await startStackProcess({}, ['--only', 'jira,pagerduty,gitlab']);
}, 240_000);

afterAll(async () => {
  if (stack !== undefined) await stack.stop();
});

describe('Local stack: Jira sandbox', () => {
  it('says Jira talks to its sandbox', async () => {
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as {
      connectors: { connector: string; kind: string }[];
    };
    expect(health.connectors.find((reach) => reach.connector === 'jira')?.kind).toBe('sandbox');
  });

  it('runs the README examples as written', async () => {
    // Act
    const created = await post('/jira/create-issue', {
      project: 'OPS',
      title: 'Disk full on db-1',
      description: 'Alert fired at 03:00\n\nSee the runbook',
      labels: ['incident'],
      issueType: 'Bug',
    });
    const read = await post('/jira/get-issue', { project: 'OPS', key: 'OPS-2' });
    const updated = await post('/jira/update-issue', {
      project: 'OPS',
      key: 'OPS-2',
      assignee: '5b10a2844c20165700ede21g',
      labels: ['incident', 'db'],
    });
    const comment = await post('/jira/comment-on-issue', {
      project: 'OPS',
      key: 'OPS-2',
      body: 'Cleaned /var/log',
    });
    const moved = await post('/jira/transition-issue', {
      project: 'OPS',
      key: 'OPS-3',
      status: 'In Progress',
    });
    const closed = await post('/jira/transition-issue', { project: 'OPS', key: 'OPS-3', state: 'closed' });
    const open = await post('/jira/search-issues', {
      project: 'OPS',
      state: 'open',
      labels: ['incident'],
      limit: 10,
    });
    const jql = await post('/jira/search-issues', {
      project: 'OPS',
      query: 'assignee = "5b10a2844c20165700ede21g" AND statusCategory != Done',
    });

    // Assess
    expect(created).toMatchObject({ status: 200, body: { project: 'OPS', issueType: 'Bug', state: 'open' } });
    expect(read).toMatchObject({ status: 200, body: { key: 'OPS-2', status: 'In Progress' } });
    expect(updated.body).toMatchObject({ labels: ['incident', 'db'], assignee: '5b10a2844c20165700ede21g' });
    expect(comment).toMatchObject({ status: 200, body: { body: 'Cleaned /var/log' } });
    expect(moved.body).toMatchObject({ status: 'In Progress' });
    expect(closed.body).toMatchObject({ state: 'closed', status: 'Done' });
    const keys = (page: { body: Record<string, unknown> }) =>
      (page.body['issues'] as { key: string }[]).map((issue) => issue.key);
    expect(keys(open)).toEqual(expect.arrayContaining([created.body['key'], 'OPS-2']));
    expect(keys(jql)).toEqual(['OPS-2']);
  });

  it('accepts a signed webhook once, and refuses tampered, stale and unsigned ones', async () => {
    // Prepare
    const body = JSON.stringify({
      timestamp: Date.now(),
      webhookEvent: 'jira:issue_created',
      issue: { key: 'OPS-9' },
    });
    const sign = (text: string) =>
      `sha256=${createHmac('sha256', JIRA_SANDBOX_WEBHOOK_SECRET).update(text).digest('hex')}`;
    const id = randomUUID();
    const headers = { 'x-hub-signature': sign(body), 'x-atlassian-webhook-identifier': id };
    const stale = JSON.stringify({ timestamp: Date.now() - 7_200_000, webhookEvent: 'jira:issue_updated' });

    // Act
    const accepted = await webhook('/jira/webhook', body, headers);
    const replayed = await webhook('/jira/webhook', body, headers);
    const tampered = await webhook('/jira/webhook', body.replace('OPS-9', 'OPS-1'), headers);
    const old = await webhook('/jira/webhook', stale, { ...headers, 'x-hub-signature': sign(stale) });
    const unsigned = await webhook('/jira/webhook', body, { 'x-atlassian-webhook-identifier': randomUUID() });

    // Assess
    expect(accepted).toMatchObject({
      status: 202,
      body: { accepted: true, event: 'issue-created', deliveryId: id },
    });
    expect(replayed).toMatchObject({ status: 200, body: { duplicate: true } });
    expect([tampered.status, old.status, unsigned.status]).toEqual([401, 401, 401]);
  });
});

describe('Local stack: PagerDuty sandbox', () => {
  it('says PagerDuty talks to its sandbox', async () => {
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as {
      connectors: { connector: string; kind: string }[];
    };
    expect(health.connectors.find((reach) => reach.connector === 'pagerduty')?.kind).toBe('sandbox');
  });

  it('runs the README examples as written: an alert opens an incident, on-call lookup, then the loop closes', async () => {
    // Act
    const triggered = await post('/pagerduty/trigger-alert', {
      summary: 'Disk full on db-1',
      source: 'db-1',
      severity: 'critical',
      dedupKey: 'disk-db-1',
      customDetails: { used: '97%' },
    });
    const open = await post('/pagerduty/list-incidents', {
      statuses: ['triggered', 'acknowledged'],
      limit: 10,
    });
    const oncalls = await post('/pagerduty/list-oncalls', { escalationPolicyIds: ['PT20YPA'] });
    const methods = await post('/pagerduty/list-contact-methods', { userId: 'PXPGF42' });
    const keyed = await post('/pagerduty/list-incidents', { incidentKey: 'disk-db-1' });
    const acknowledged = await post('/pagerduty/acknowledge-alert', { dedupKey: 'disk-db-1' });
    const resolved = await post('/pagerduty/resolve-alert', { dedupKey: 'disk-db-1' });
    const created = await post('/pagerduty/create-incident', {
      title: 'Checkout is down',
      serviceId: 'PWIXJZS',
      urgency: 'high',
      incidentKey: 'checkout-down',
    });
    const read = await post('/pagerduty/get-incident', { incidentId: 'PT4KHLK' });
    const ack = await post('/pagerduty/acknowledge-incident', { incidentId: 'PT4KHLK' });
    const done = await post('/pagerduty/resolve-incident', { incidentId: 'PT4KHLK' });

    // Assess
    expect(triggered).toMatchObject({ status: 200, body: { dedupKey: 'disk-db-1', status: 'success' } });
    const titles = (open.body['incidents'] as { title: string; incidentKey: string | null }[]).map(
      (i) => i.title,
    );
    expect(titles).toContain('Disk full on db-1');
    expect(oncalls.body['oncalls']).toEqual([
      expect.objectContaining({ userId: 'PXPGF42', userEmail: 'alice@example.com', escalationLevel: 1 }),
      expect.objectContaining({ userId: 'PAM4FGS', escalationLevel: 2 }),
    ]);
    expect(methods.body['smsNumber']).toBe('+15558675310');
    expect(keyed.body['incidents']).toEqual([expect.objectContaining({ incidentKey: 'disk-db-1' })]);
    expect([acknowledged.status, resolved.status]).toEqual([200, 200]);
    expect(created).toMatchObject({ status: 200, body: { title: 'Checkout is down', status: 'triggered' } });
    expect(read.body).toMatchObject({ id: 'PT4KHLK', number: 1 });
    expect(ack.body['status']).toBe('acknowledged');
    expect(done.body['status']).toBe('resolved');
  });

  it('accepts a webhook signed among several signatures once, and refuses tampered, stale and unsigned ones', async () => {
    // Prepare
    const event = (id: string, occurredAt: string) =>
      JSON.stringify({
        event: {
          id,
          event_type: 'incident.acknowledged',
          resource_type: 'incident',
          occurred_at: occurredAt,
          data: { id: 'PT4KHLK' },
        },
      });
    const sign = (text: string) =>
      `v1=${createHmac('sha256', 'rotated-out').update(text).digest('hex')},v1=${createHmac('sha256', PAGERDUTY_SANDBOX_WEBHOOK_SECRET).update(text).digest('hex')}`;
    const id = `01${randomUUID().replaceAll('-', '').slice(0, 16).toUpperCase()}`;
    const body = event(id, new Date().toISOString());
    const stale = event(`${id}S`, new Date(Date.now() - 7_200_000).toISOString());

    // Act
    const accepted = await webhook('/pagerduty/webhook', body, { 'x-pagerduty-signature': sign(body) });
    const replayed = await webhook('/pagerduty/webhook', body, { 'x-pagerduty-signature': sign(body) });
    const tampered = await webhook('/pagerduty/webhook', body.replace('PT4KHLK', 'PQ1LXJ3'), {
      'x-pagerduty-signature': sign(body),
    });
    const old = await webhook('/pagerduty/webhook', stale, { 'x-pagerduty-signature': sign(stale) });
    const unsigned = await webhook('/pagerduty/webhook', body, {});

    // Assess
    expect(accepted).toMatchObject({
      status: 202,
      body: { accepted: true, event: 'incident-acknowledged', deliveryId: id },
    });
    expect(replayed).toMatchObject({ status: 200, body: { duplicate: true } });
    expect([tampered.status, old.status, unsigned.status]).toEqual([401, 401, 401]);
  });
});

describe('Local stack: GitLab sandbox', () => {
  const P = 'ops/platform';

  it('says GitLab talks to its sandbox', async () => {
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as {
      connectors: { connector: string; kind: string }[];
    };
    expect(health.connectors.find((reach) => reach.connector === 'gitlab')?.kind).toBe('sandbox');
  });

  it('runs the README examples as written', async () => {
    // Act
    const created = await post('/gitlab/create-issue', {
      project: P,
      title: 'Disk full on db-1',
      description: 'Alert fired at 03:00',
      labels: ['incident'],
      assignee: 'alice',
      issueType: 'incident',
    });
    const read = await post('/gitlab/get-issue', { project: P, key: '2' });
    const comment = await post('/gitlab/comment-on-issue', {
      project: P,
      key: '2',
      body: 'Cleaned /var/log',
    });
    const closed = await post('/gitlab/transition-issue', { project: P, key: '3', state: 'closed' });
    const found = await post('/gitlab/search-issues', { project: P, state: 'open', labels: ['incident'] });
    const mergeRequest = await post('/gitlab/create-merge-request', {
      project: P,
      sourceBranch: 'feature/runbook',
      targetBranch: 'main',
      title: 'Runbook',
    });
    const pipeline = await post('/gitlab/trigger-pipeline', {
      project: P,
      ref: 'main',
      variables: { DEPLOY_ENV: 'staging' },
    });
    const file = await post('/gitlab/get-file', { project: P, path: 'docs/runbook.md' });
    const listed = await post('/gitlab/list-files', { project: P, recursive: true, limit: 2 });

    // Assess
    expect(created).toMatchObject({ status: 200, body: { assignee: 'alice', issueType: 'incident' } });
    expect(read.body).toMatchObject({ key: '2', labels: ['incident'] });
    expect(comment.body).toMatchObject({ key: '2', author: 'sandbox-bot' });
    expect(closed.body['state']).toBe('closed');
    expect((found.body['issues'] as { key: string }[]).map((issue) => issue.key)).toContain('2');
    expect(mergeRequest).toMatchObject({ status: 200, body: { iid: 2, state: 'opened' } });
    expect(pipeline).toMatchObject({ status: 200, body: { ref: 'main', finished: false } });
    expect(file.body).toMatchObject({ encoding: 'utf-8', ref: 'main' });
    expect(listed.body['nextCursor']).toEqual(expect.any(String));
  });

  it('accepts a webhook with the secret token once, and refuses a wrong or missing token', async () => {
    // Prepare
    const body = JSON.stringify({
      object_kind: 'issue',
      project: { path_with_namespace: P },
      object_attributes: { iid: 2, action: 'open' },
    });
    const id = randomUUID();
    const headers = {
      'x-gitlab-event': 'Issue Hook',
      'idempotency-key': id,
      'x-gitlab-event-uuid': randomUUID(),
    };

    // Act
    const accepted = await webhook('/gitlab/webhook', body, {
      ...headers,
      'x-gitlab-token': GITLAB_SANDBOX_WEBHOOK_SECRET,
    });
    const replayed = await webhook('/gitlab/webhook', body, {
      ...headers,
      'x-gitlab-token': GITLAB_SANDBOX_WEBHOOK_SECRET,
    });
    const wrong = await webhook('/gitlab/webhook', body, { ...headers, 'x-gitlab-token': 'guess' });
    const missing = await webhook('/gitlab/webhook', body, headers);

    // Assess
    expect(accepted).toMatchObject({
      status: 202,
      body: { accepted: true, event: 'issue-opened', deliveryId: id },
    });
    expect(replayed).toMatchObject({ status: 200, body: { duplicate: true } });
    expect([wrong.status, missing.status]).toEqual([401, 401]);
  });
});
