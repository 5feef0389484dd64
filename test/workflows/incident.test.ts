/**
 * The `incident` workflow end to end on the local stack (as `npm start` runs it): an alert paged through
 * the PagerDuty sandbox (Events API v2), a Jira issue opened in the Jira sandbox, the channel told through
 * the Slack contract fake; each effect is read back from its sandbox. A bad input fails with
 * ValidationError before any task.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWorkflow, startWorkflowWorld, type WorkflowWorld } from './harness.ts';

let world: WorkflowWorld;

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

beforeAll(async () => {
  for (const name of ['JIRA_API_URL', 'PAGERDUTY_API_URL', 'PAGERDUTY_EVENTS_API_URL', 'CIRCLE_LOCAL_REAL']) {
    if (process.env[name] !== undefined) throw new Error(`unset ${name} to run this suite`);
  }
  world = await startWorkflowWorld();
}, 240_000);

afterAll(async () => {
  await world?.close();
});

describe('Workflow incident on the local stack', () => {
  it('pages once, opens one Jira issue and posts one Slack message naming both, and outputs the references', async () => {
    // Prepare
    const alertId = `alert-${randomUUID()}`;
    const summary = `Disk full on db-1 (${alertId})`;
    const postsBefore = world.slack.requestsFor('chat.postMessage').length;

    // Act
    const result = await runWorkflow(world, 'incident', {
      alertId,
      summary,
      source: 'db-1',
      severity: 'critical',
      project: 'OPS',
      channel: '#alerts',
      correlationId: `incident-${alertId}`,
    });

    // Assess: the output's three references
    expect(result).toMatchObject({ code: 0, status: 'SUCCEEDED' });
    const output = result.output as {
      pagerduty: { dedupKey: string };
      jira: { key: string; url: string };
      slack: { delivered: boolean; channel: string; ts: string };
    };
    expect(output).toMatchObject({
      correlationId: `incident-${alertId}`,
      alertId,
      pagerduty: { dedupKey: `db-1:${alertId}` },
      jira: { key: expect.stringMatching(/^OPS-\d+$/) },
      slack: { delivered: true },
    });
    // PagerDuty: exactly one open incident under the alert's dedup key.
    const incidents = (await api('/pagerduty/list-incidents', { statuses: ['triggered'], limit: 100 }))[
      'incidents'
    ] as { incidentKey: string | null; title: string }[];
    expect(incidents.filter((incident) => incident.incidentKey === `db-1:${alertId}`)).toEqual([
      expect.objectContaining({ title: summary }),
    ]);
    // Jira: exactly one issue with this summary, the one in the output.
    const found = (await api('/jira/search-issues', { project: 'OPS', labels: ['incident'], limit: 100 }))[
      'issues'
    ] as { key: string; title: string }[];
    expect(found.filter((issue) => issue.title === summary).map((issue) => issue.key)).toEqual([
      output.jira.key,
    ]);
    // Slack: exactly one message, naming the Jira key and the PagerDuty incident.
    const posts = world.slack.requestsFor('chat.postMessage').slice(postsBefore);
    expect(posts).toHaveLength(1);
    const message = world.slack.message(output.slack.channel, output.slack.ts);
    expect(message?.text).toContain(output.jira.key);
    expect(message?.text).toContain(`db-1:${alertId}`);
  }, 120_000);

  it('pages once for a repeated alert: a second execution joins the incident of the same dedup key', async () => {
    // Prepare
    const alertId = `alert-${randomUUID()}`;
    const input = {
      alertId,
      summary: `CPU high on web-1 (${alertId})`,
      source: 'web-1',
      severity: 'error',
      project: 'OPS',
      channel: '#alerts',
    };

    // Act
    const first = await runWorkflow(world, 'incident', input);
    const again = await runWorkflow(world, 'incident', input);

    // Assess: both ran; PagerDuty folded the second trigger into the first incident.
    expect(first).toMatchObject({ code: 0, status: 'SUCCEEDED' });
    expect(again).toMatchObject({ code: 0, status: 'SUCCEEDED' });
    expect(first.executionName).not.toBe(again.executionName);
    const incidents = (await api('/pagerduty/list-incidents', { limit: 100 }))['incidents'] as {
      incidentKey: string | null;
    }[];
    expect(incidents.filter((incident) => incident.incidentKey === `web-1:${alertId}`)).toHaveLength(1);
  }, 120_000);

  it('keeps the incident when Slack refuses the post: succeeds and reports the failure in the output', async () => {
    // Prepare
    const alertId = `alert-${randomUUID()}`;

    // Act
    const result = await runWorkflow(world, 'incident', {
      alertId,
      summary: `Checkout slow (${alertId})`,
      source: 'checkout',
      severity: 'warning',
      project: 'OPS',
      channel: 'C0OUTSIDE',
    });

    // Assess
    expect(result).toMatchObject({ code: 0, status: 'SUCCEEDED' });
    expect(result.output).toMatchObject({
      pagerduty: { dedupKey: `checkout:${alertId}` },
      jira: { key: expect.stringMatching(/^OPS-\d+$/) },
      slack: { delivered: false, error: 'ForbiddenError' },
    });
  }, 120_000);

  it('fails a bad input with ValidationError naming the field, before paging anyone', async () => {
    // Prepare
    const postsBefore = world.slack.requestsFor('chat.postMessage').length;

    // Act
    const result = await runWorkflow(world, 'incident', {
      alertId: 'alert-bad',
      summary: 'Disk full',
      source: 'db-1',
      severity: 'high',
      project: 'OPS',
      channel: '#alerts',
    });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.stderr).toContain('error: ValidationError');
    expect(result.stderr).toContain('cause: input.severity must be one of critical, error, warning or info');
    const incidents = (await api('/pagerduty/list-incidents', { limit: 100 }))['incidents'] as {
      incidentKey: string | null;
    }[];
    expect(incidents.some((incident) => incident.incidentKey === 'db-1:alert-bad')).toBe(false);
    expect(world.slack.requestsFor('chat.postMessage').length).toBe(postsBefore);
  }, 120_000);
});
