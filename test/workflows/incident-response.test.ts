/**
 * The `incident-response` workflow end to end on the local stack (as `npm start` runs it): PagerDuty, Jira,
 * GitLab and Twilio are the stack's sandboxes, Slack and Microsoft Teams contract fakes started here (so
 * Teams can be made to answer 503); every effect is read back and counted through the connectors' own
 * operations or the fakes' logs. A trigger pages, texts the person on call,
 * opens the tracker issue and tells the channel; the same alert redelivered creates, texts and posts
 * nothing again; a resolve closes the loop everywhere; a notifier that fails is reported while the others
 * are done. A bad input fails with ValidationError before any task.
 */
import { randomUUID } from 'node:crypto';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DescribeExecutionCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FakeServer } from '../../scripts/local/sandboxes/kit/index.ts';
import {
  PAGERDUTY_SANDBOX_WEBHOOK_SECRET,
  signPagerDutyWebhook,
} from '../../scripts/local/sandboxes/pagerduty.ts';
import {
  startTeamsFake,
  TEAMS_SANDBOX_SECRET,
  TEAMS_SANDBOX_TEAM,
  TEAMS_SANDBOX_TENANT,
  type TeamsFakeState,
} from '../../scripts/local/sandboxes/teams.ts';
import {
  executionArn,
  finished,
  runWorkflow,
  startWorkflowWorld,
  stateMachineArn,
  type WorkflowWorld,
} from './harness.ts';

const WORKFLOW = 'incident-response';
/** The PagerDuty sandbox's escalation policy: Alice (SMS +15558675310) on call at level 1. */
const POLICY = 'PT20YPA';
const ALICE_SMS = '+15558675310';
const TEAMS_CHANNEL = '19:ops-alerts@thread.tacv2';

let world: WorkflowWorld;
let teams: FakeServer<TeamsFakeState>;

interface Report {
  pagerduty: { status: string; dedupKey?: string; error?: string };
  oncall: { status: string; userId?: string; name?: string };
  sms: { status: string; sid?: string; error?: string };
  tracker: { status: string; tracker?: string; key?: string; url?: string; state?: string; error?: string };
  notifier: { status: string; notifier?: string; channel?: string; ts?: string; error?: string };
}

interface Output {
  correlationId: string;
  action: string;
  alertId: string;
  dedupKey: string;
  label: string;
  phase: string;
  issue: { key: string; url: string };
  report: Report;
}

/** Calls an operation of a connector through the stack's HTTP API, as a user of `npm start` does. */
async function api(path: string, input: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${world.stack.apiUrl}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${world.stack.apiKey}`,
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify(input),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

/** A new alert's input: its own id, so the counts below see only this test's effects. */
function alert(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const alertId = `alert-${randomUUID()}`;
  return {
    action: 'trigger',
    alertId,
    summary: `Disk full on db-1 (${alertId})`,
    source: 'db-1',
    severity: 'critical',
    escalationPolicyId: POLICY,
    notifier: 'slack',
    channel: '#alerts',
    tracker: 'jira',
    project: 'OPS',
    ...overrides,
  };
}

async function run(input: unknown): Promise<Output> {
  const result = await runWorkflow(world, WORKFLOW, input);
  expect(result, result.stderr).toMatchObject({ code: 0, status: 'SUCCEEDED' });
  return result.output as Output;
}

/** PagerDuty's incidents under a dedup key. */
async function incidents(dedupKey: string): Promise<{ id: string; status: string }[]> {
  const page = await api('/pagerduty/list-incidents', { incidentKey: dedupKey, limit: 100 });
  return page['incidents'] as { id: string; status: string }[];
}

/** The tracker's issues (any state) carrying a label. */
async function issues(
  tracker: 'jira' | 'gitlab',
  project: string,
  label: string,
): Promise<{ key: string; state: string; title: string }[]> {
  const page = await api(`/${tracker}/search-issues`, { project, labels: [label], limit: 100 });
  return page['issues'] as { key: string; state: string; title: string }[];
}

/** The SMS Twilio was asked to send to Alice naming a dedup key. */
async function texts(dedupKey: string): Promise<{ sid: string; body: string }[]> {
  const page = await api('/twilio/list-messages', { to: ALICE_SMS, pageSize: 1000 });
  return (page['messages'] as { sid: string; body: string }[]).filter((m) => m.body.includes(dedupKey));
}

/** The Slack messages naming a dedup key. */
function slackPosts(dedupKey: string): string[] {
  return world.slack.messages.map((m) => m.text ?? '').filter((text) => text.includes(dedupKey));
}

beforeAll(async () => {
  for (const name of [
    'JIRA_API_URL',
    'GITLAB_API_URL',
    'PAGERDUTY_API_URL',
    'PAGERDUTY_EVENTS_API_URL',
    'TEAMS_API_URL',
    'TWILIO_API_URL',
    'CIRCLE_LOCAL_REAL',
  ]) {
    if (process.env[name] !== undefined) throw new Error(`unset ${name} to run this suite`);
  }
  teams = await startTeamsFake();
  // The shell points the Teams connector at this fake (as `TEAMS_API_URL=... npm start` would); its app
  // credentials are stored in the stack's Secrets Manager before the first call reads them.
  world = await startWorkflowWorld({
    env: {
      TEAMS_API_URL: `${teams.url}/v1.0`,
      TEAMS_LOGIN_URL: teams.url,
      TEAMS_TENANT_ID: TEAMS_SANDBOX_TENANT,
      TEAMS_TEAM_ID: TEAMS_SANDBOX_TEAM,
    },
  });
  const secrets = new SecretsManagerClient({
    endpoint: world.stack.awsUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await secrets.send(
    new CreateSecretCommand({
      Name: 'circle-core/dev/teams/credentials',
      SecretString: TEAMS_SANDBOX_SECRET,
    }),
  );
  secrets.destroy();
}, 240_000);

afterAll(async () => {
  await world?.close();
  await teams?.close();
});

/** The Teams channel posts (Graph chatMessage) naming a dedup key. */
function teamsPosts(dedupKey: string): number {
  return teams.logFor('post-message').filter((entry) => JSON.stringify(entry.body).includes(dedupKey)).length;
}

describe('Workflow incident-response on the local stack', () => {
  it('trigger, the same alert redelivered, resolve and the resolve redelivered: each effect exactly once (Slack, Jira)', async () => {
    // Prepare
    const input = alert();
    const dedupKey = `db-1:${String(input['alertId'])}`;

    // Act: the alert fires
    const opened = await run(input);

    // Assess: paged, texted, an issue opened, the channel told
    expect(opened).toMatchObject({
      action: 'trigger',
      dedupKey,
      label: expect.stringMatching(/^alert-[0-9a-f]{40}$/),
      phase: 'none',
      report: {
        pagerduty: { status: 'triggered', dedupKey },
        oncall: { status: 'found', userId: 'PXPGF42', name: 'Alice Example' },
        sms: { status: 'sent', sid: expect.stringMatching(/^SM[0-9a-f]{32}$/) },
        tracker: { status: 'created', tracker: 'jira', key: expect.stringMatching(/^OPS-\d+$/) },
        notifier: { status: 'posted', notifier: 'slack' },
      },
    });
    const key = opened.issue.key;
    expect(await incidents(dedupKey)).toEqual([expect.objectContaining({ status: 'triggered' })]);
    expect(await issues('jira', 'OPS', opened.label)).toEqual([
      expect.objectContaining({ key, state: 'open', title: input['summary'] }),
    ]);
    expect(await texts(dedupKey)).toHaveLength(1);
    expect(slackPosts(dedupKey)).toEqual([expect.stringContaining(key)]);
    expect(slackPosts(dedupKey)[0]).toContain('On call: Alice Example');

    // Act: the same alert delivered again (a new execution)
    const again = await run(input);

    // Assess: no second incident, issue, SMS or message; the issue got a comment
    expect(again).toMatchObject({
      phase: 'triggered',
      issue: { key },
      report: {
        pagerduty: { status: 'triggered' },
        oncall: { status: 'skipped' },
        sms: { status: 'skipped' },
        tracker: { status: 'commented', key },
        notifier: { status: 'skipped' },
      },
    });
    expect(await incidents(dedupKey)).toHaveLength(1);
    expect(await issues('jira', 'OPS', opened.label)).toHaveLength(1);
    expect(await texts(dedupKey)).toHaveLength(1);
    expect(slackPosts(dedupKey)).toHaveLength(1);

    // Act: resolved
    const resolved = await run({ ...input, action: 'resolve' });

    // Assess: closed everywhere, the channel told once
    expect(resolved).toMatchObject({
      phase: 'triggered',
      report: {
        pagerduty: { status: 'resolved' },
        sms: { status: 'skipped' },
        tracker: { status: 'closed', key, state: 'closed' },
        notifier: { status: 'posted' },
      },
    });
    expect(await incidents(dedupKey)).toEqual([expect.objectContaining({ status: 'resolved' })]);
    expect(await issues('jira', 'OPS', opened.label)).toEqual([
      expect.objectContaining({ key, state: 'closed' }),
    ]);
    expect(slackPosts(dedupKey)).toHaveLength(2);
    expect(slackPosts(dedupKey)[1]).toMatch(/^Resolved: /);

    // Act: the resolve delivered again
    const resolvedAgain = await run({ ...input, action: 'resolve' });

    // Assess: nothing changes, nothing is posted
    expect(resolvedAgain).toMatchObject({
      phase: 'none',
      report: {
        pagerduty: { status: 'resolved' },
        tracker: { status: 'unchanged' },
        notifier: { status: 'skipped' },
      },
    });
    expect(await incidents(dedupKey)).toHaveLength(1);
    expect(await issues('jira', 'OPS', opened.label)).toHaveLength(1);
    expect(await texts(dedupKey)).toHaveLength(1);
    expect(slackPosts(dedupKey)).toHaveLength(2);
  }, 600_000);

  it('trigger, acknowledge twice and resolve with Teams and GitLab', async () => {
    // Prepare
    const input = alert({
      notifier: 'teams',
      channel: TEAMS_CHANNEL,
      tracker: 'gitlab',
      project: 'ops/platform',
    });
    const dedupKey = `db-1:${String(input['alertId'])}`;

    // Act
    const opened = await run(input);
    const acknowledged = await run({ ...input, action: 'acknowledge' });
    const acknowledgedAgain = await run({ ...input, action: 'acknowledge' });
    const resolved = await run({ ...input, action: 'resolve' });

    // Assess
    expect(opened.report).toMatchObject({
      sms: { status: 'sent' },
      tracker: { status: 'created', tracker: 'gitlab', key: expect.stringMatching(/^\d+$/) },
      notifier: { status: 'posted', notifier: 'teams', channel: expect.stringContaining(TEAMS_CHANNEL) },
    });
    const key = opened.issue.key;
    expect(acknowledged).toMatchObject({
      phase: 'triggered',
      report: {
        pagerduty: { status: 'acknowledged' },
        tracker: { status: 'commented', key },
        notifier: { status: 'posted', notifier: 'teams' },
      },
    });
    expect(acknowledgedAgain).toMatchObject({
      phase: 'acknowledged',
      report: { tracker: { status: 'unchanged' }, notifier: { status: 'skipped' } },
    });
    expect(resolved).toMatchObject({
      phase: 'acknowledged',
      report: {
        pagerduty: { status: 'resolved' },
        tracker: { status: 'closed', key },
        notifier: { status: 'posted' },
      },
    });
    expect(await incidents(dedupKey)).toEqual([expect.objectContaining({ status: 'resolved' })]);
    expect(await issues('gitlab', 'ops/platform', opened.label)).toEqual([
      expect.objectContaining({ key, state: 'closed' }),
    ]);
    expect(await texts(dedupKey)).toHaveLength(1);
    // Opened, acknowledged, resolved: the repeated acknowledge posted nothing.
    expect(teamsPosts(dedupKey)).toBe(3);
  }, 600_000);

  it('reports Teams answering 503 (after the retries) while PagerDuty, Twilio and Jira are done', async () => {
    // Prepare: Teams is down for every post
    const input = alert({ notifier: 'teams', channel: TEAMS_CHANNEL });
    const dedupKey = `db-1:${String(input['alertId'])}`;
    teams.inject({ kind: 'server-error', status: 503 }, { route: 'post-message', times: 1000 });

    // Act
    const output = await run(input).finally(() => teams.clearFaults());

    // Assess: retried, then reported; the rest done once
    expect(output.report).toMatchObject({
      pagerduty: { status: 'triggered' },
      sms: { status: 'sent' },
      tracker: { status: 'created', tracker: 'jira' },
      notifier: { status: 'failed', notifier: 'teams', error: 'UnavailableError' },
    });
    expect(teams.logFor('post-message').length).toBeGreaterThan(1);
    expect(await incidents(dedupKey)).toHaveLength(1);
    expect(await issues('jira', 'OPS', output.label)).toHaveLength(1);
    expect(await texts(dedupKey)).toHaveLength(1);
  }, 600_000);

  it('reports a notifier that fails (an unknown Teams channel) while PagerDuty, Twilio and Jira are done; the alert comes as an EventBridge event', async () => {
    // Prepare
    const input = alert({ notifier: 'teams', channel: '19:nowhere@thread.tacv2' });
    const dedupKey = `db-1:${String(input['alertId'])}`;

    // Act
    const output = await run({
      version: '0',
      id: randomUUID(),
      'detail-type': 'Alert',
      source: 'monitoring',
      account: '000000000000',
      time: new Date().toISOString(),
      region: 'us-east-1',
      resources: [],
      detail: input,
    });

    // Assess
    expect(output.report).toMatchObject({
      pagerduty: { status: 'triggered' },
      sms: { status: 'sent' },
      tracker: { status: 'created', tracker: 'jira' },
      notifier: {
        status: 'failed',
        notifier: 'teams',
        error: 'NotFoundError',
        cause: expect.stringContaining('Channel 19:nowhere@thread.tacv2 was not found'),
      },
    });
    expect(await incidents(dedupKey)).toHaveLength(1);
    expect(await issues('jira', 'OPS', output.label)).toHaveLength(1);
    expect(await texts(dedupKey)).toHaveLength(1);
  }, 600_000);

  it('reports a tracker that fails (a Jira project that does not exist) while the SMS and the Slack message still go out; the alert comes as an SNS notification', async () => {
    // Prepare
    const input = alert({ project: 'NOPE' });
    const dedupKey = `db-1:${String(input['alertId'])}`;

    // Act
    const output = await run({
      Type: 'Notification',
      MessageId: randomUUID(),
      TopicArn: 'arn:aws:sns:us-east-1:000000000000:alerts',
      Message: JSON.stringify(input),
      Timestamp: new Date().toISOString(),
    });

    // Assess
    expect(output).toMatchObject({
      alertId: input['alertId'],
      issue: { key: '(no issue)' },
      report: {
        pagerduty: { status: 'triggered' },
        oncall: { status: 'found' },
        sms: { status: 'sent' },
        tracker: {
          status: 'failed',
          tracker: 'jira',
          error: expect.stringMatching(/Error$/),
          cause: expect.any(String),
        },
        notifier: { status: 'posted', notifier: 'slack' },
      },
    });
    expect(await incidents(dedupKey)).toHaveLength(1);
    expect(await texts(dedupKey)).toHaveLength(1);
    expect(slackPosts(dedupKey)).toEqual([expect.stringContaining('Issue (no issue)')]);
  }, 600_000);

  it('fails a bad input with ValidationError naming the field, before paging anyone', async () => {
    // Prepare
    const input = alert({ notifier: 'email' });
    const dedupKey = `db-1:${String(input['alertId'])}`;

    // Act
    const result = await runWorkflow(world, WORKFLOW, input);

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.stderr).toContain('error: ValidationError');
    expect(result.stderr).toContain('cause: input.notifier must be slack or teams');
    expect(await incidents(dedupKey)).toEqual([]);
  }, 120_000);
});

/** A PagerDuty webhook (v3) about an incident, as PagerDuty sends it. */
function pagerdutyEvent(
  type: 'incident.triggered' | 'incident.acknowledged' | 'incident.resolved' | 'incident.annotated',
  incident: { id: string; incidentKey: string | null; title: string },
  agent: 'user_reference' | 'service_reference',
): Record<string, unknown> {
  return {
    event: {
      id: `01${randomUUID().replaceAll('-', '').toUpperCase().slice(0, 24)}`,
      event_type: type,
      resource_type: 'incident',
      occurred_at: new Date().toISOString(),
      agent: {
        id: agent === 'user_reference' ? 'PXPGF42' : 'PSERVICE1',
        type: agent,
        summary: 'Alice Example',
      },
      client: null,
      data: {
        id: incident.id,
        type: 'incident',
        number: 7,
        status: type === 'incident.triggered' ? 'triggered' : type.slice('incident.'.length),
        incident_key: incident.incidentKey,
        title: incident.title,
        urgency: 'high',
        priority: { id: 'PSO4QBP', type: 'priority_reference', summary: 'P2' },
        service: { id: 'PSERVICE1', type: 'service_reference', summary: 'db' },
        escalation_policy: { id: POLICY, type: 'escalation_policy_reference', summary: 'Ops' },
        assignees: [],
      },
    },
  };
}

/** Sends a webhook to the PagerDuty connector, signed with PagerDuty's scheme (v1= HMAC-SHA256 of the body). */
async function deliverPagerDuty(body: Record<string, unknown>): Promise<{ status: number; body: unknown }> {
  const text = JSON.stringify(body);
  const response = await fetch(`${world.stack.apiUrl}/pagerduty/webhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-pagerduty-signature': signPagerDutyWebhook([PAGERDUTY_SANDBOX_WEBHOOK_SECRET], text),
    },
    body: text,
  });
  return { status: response.status, body: await response.json() };
}

/** Delivers a webhook and answers the output of the execution it started (pagerduty-<event id>). */
async function deliverAndRun(body: Record<string, unknown>): Promise<Record<string, unknown>> {
  const id = String((body['event'] as Record<string, unknown>)['id']);
  const delivered = await deliverPagerDuty(body);
  expect(delivered).toMatchObject({
    status: 202,
    body: { accepted: true, deliveryId: id, sink: expect.stringContaining('step-functions') },
  });
  const done = await finished(world, executionArn(WORKFLOW, `pagerduty-${id}`), 240_000);
  expect(done.status, done.cause).toBe('SUCCEEDED');
  return JSON.parse(done.output ?? '{}') as Record<string, unknown>;
}

/** The incident-response executions whose input mentions `marker`. */
async function executionsMentioning(marker: string): Promise<string[]> {
  const { executions = [] } = await world.sfn.send(
    new ListExecutionsCommand({ stateMachineArn: stateMachineArn(WORKFLOW), maxResults: 1000 }),
  );
  const described = await Promise.all(
    executions.map((execution) =>
      world.sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn })),
    ),
  );
  return described
    .filter((execution) => (execution.input ?? '').includes(marker))
    .map((execution) => execution.executionArn ?? '');
}

describe('Workflow incident-response started by PagerDuty webhooks and EventBridge', () => {
  it('a signed incident.triggered webhook texts, opens the issue and posts once; redelivered, nothing new; a person acknowledges and resolves: each told once', async () => {
    // Prepare: an incident PagerDuty opened from a monitor (its own incident key)
    const incidentKey = `monitor:${randomUUID()}`;
    const incident = { id: 'PWH1ABC', incidentKey, title: `Disk full on db-2 (${incidentKey})` };
    const triggered = pagerdutyEvent('incident.triggered', incident, 'service_reference');

    // Act
    const opened = await deliverAndRun(triggered);

    // Assess: mapped (dedup key = incident_key, severity from priority P2), not paged again, the rest once
    expect(opened).toMatchObject({
      action: 'trigger',
      alertId: incidentKey,
      dedupKey: incidentKey,
      phase: 'none',
      report: {
        pagerduty: {
          status: 'webhook',
          event: 'incident.triggered',
          incidentId: 'PWH1ABC',
          dedupKey: incidentKey,
        },
        oncall: { status: 'found', name: 'Alice Example' },
        sms: { status: 'sent' },
        tracker: { status: 'created', tracker: 'jira', key: expect.stringMatching(/^OPS-\d+$/) },
        notifier: { status: 'posted', notifier: 'slack' },
      },
    });
    const label = String(opened['label']);
    const key = (opened['issue'] as { key: string }).key;
    expect(await incidents(incidentKey)).toEqual([]);
    expect(await issues('jira', 'OPS', label)).toEqual([
      expect.objectContaining({ key, state: 'open', title: incident.title }),
    ]);
    expect(await texts(incidentKey)).toEqual([
      expect.objectContaining({ body: expect.stringContaining('(error)') }),
    ]);
    expect(slackPosts(incidentKey)).toEqual([expect.stringContaining(key)]);

    // Act: PagerDuty redelivers the same webhook
    const redelivered = await deliverPagerDuty(triggered);

    // Assess: a duplicate; no second execution, issue, SMS or post
    expect(redelivered).toMatchObject({ status: 200, body: { duplicate: true } });
    const eventId = String((triggered['event'] as Record<string, unknown>)['id']);
    expect(await executionsMentioning(eventId)).toEqual([executionArn(WORKFLOW, `pagerduty-${eventId}`)]);
    expect(await issues('jira', 'OPS', label)).toHaveLength(1);
    expect(await texts(incidentKey)).toHaveLength(1);
    expect(slackPosts(incidentKey)).toHaveLength(1);

    // Act: a person acknowledges, then resolves, in PagerDuty
    const acknowledged = await deliverAndRun(
      pagerdutyEvent('incident.acknowledged', incident, 'user_reference'),
    );
    const resolved = await deliverAndRun(pagerdutyEvent('incident.resolved', incident, 'user_reference'));
    const annotated = await deliverAndRun(pagerdutyEvent('incident.annotated', incident, 'user_reference'));

    // Assess: commented and told once each, closed on resolve; another event type changes nothing
    expect(acknowledged).toMatchObject({
      phase: 'triggered',
      report: {
        sms: { status: 'skipped' },
        tracker: { status: 'commented', key },
        notifier: { status: 'posted' },
      },
    });
    expect(resolved).toMatchObject({
      phase: 'open',
      report: { tracker: { status: 'closed', key, state: 'closed' }, notifier: { status: 'posted' } },
    });
    expect(annotated).toMatchObject({ ignored: true, event: 'incident.annotated' });
    expect(await issues('jira', 'OPS', label)).toEqual([expect.objectContaining({ key, state: 'closed' })]);
    expect(await texts(incidentKey)).toHaveLength(1);
    expect(slackPosts(incidentKey)).toHaveLength(3);
    expect(slackPosts(incidentKey)[1]).toMatch(/^Acknowledged: /);
    expect(slackPosts(incidentKey)[2]).toMatch(/^Resolved: /);
  }, 900_000);

  it('the webhooks PagerDuty sends about the trigger and acknowledge the workflow made itself change nothing twice', async () => {
    // Prepare: an alert the workflow pages itself (Events API v2), as EventBridge or SNS would bring it
    const input = alert();
    const dedupKey = `db-1:${String(input['alertId'])}`;
    const opened = await run(input);
    const [paged] = await incidents(dedupKey);
    const incident = { id: paged?.id ?? 'P0', incidentKey: dedupKey, title: String(input['summary']) };

    // Act: PagerDuty reports the incident the workflow opened (by its integration, not a person)
    const echoed = await deliverAndRun(pagerdutyEvent('incident.triggered', incident, 'service_reference'));

    // Assess: the open issue of the dedup key says it was handled: nothing texted, commented or posted
    expect(echoed).toMatchObject({ ignored: true, dedupKey, issue: opened.issue.key });
    expect(await issues('jira', 'OPS', opened.label)).toHaveLength(1);
    expect(await texts(dedupKey)).toHaveLength(1);
    expect(slackPosts(dedupKey)).toHaveLength(1);

    // Act: the workflow acknowledges; PagerDuty reports that acknowledge by webhook
    const acknowledged = await run({ ...input, action: 'acknowledge' });
    const echoedAck = await deliverAndRun(
      pagerdutyEvent('incident.acknowledged', incident, 'service_reference'),
    );

    // Assess: told once (by the run that acknowledged), the echo ignored
    expect(acknowledged.report.notifier).toMatchObject({ status: 'posted' });
    expect(echoedAck).toMatchObject({ ignored: true, event: 'incident.acknowledged' });
    expect(slackPosts(dedupKey)).toHaveLength(2);
    expect(await texts(dedupKey)).toHaveLength(1);
    expect(await incidents(dedupKey)).toEqual([expect.objectContaining({ status: 'acknowledged' })]);
  }, 900_000);

  it('an Alert event put on the bus (PutEvents on the local AWS endpoint) starts the workflow through IncidentAlertRule', async () => {
    // Prepare
    const input = alert();
    const dedupKey = `db-1:${String(input['alertId'])}`;
    const events = new EventBridgeClient({
      endpoint: world.stack.awsUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });

    // Act
    const put = await events
      .send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: 'circle-core-dev-events',
              Source: 'circle.alerts',
              DetailType: 'Alert',
              Detail: JSON.stringify(input),
            },
          ],
        }),
      )
      .finally(() => events.destroy());

    // Assess: one execution, the alert paged, texted, tracked and posted
    expect(put.FailedEntryCount).toBe(0);
    const deadline = Date.now() + 60_000;
    let started = await executionsMentioning(String(input['alertId']));
    while (started.length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      started = await executionsMentioning(String(input['alertId']));
    }
    expect(started).toHaveLength(1);
    const done = await finished(world, started[0] ?? '', 240_000);
    expect(done.status, done.cause).toBe('SUCCEEDED');
    expect(JSON.parse(done.output ?? '{}')).toMatchObject({
      dedupKey,
      report: { pagerduty: { status: 'triggered' }, sms: { status: 'sent' }, notifier: { status: 'posted' } },
    });
    expect(await incidents(dedupKey)).toHaveLength(1);
    expect(await texts(dedupKey)).toHaveLength(1);
    expect(slackPosts(dedupKey)).toHaveLength(1);
  }, 600_000);
});
