/**
 * End to end on the local stack: the three workflows of shared/workflows run as deployed (serverless.yml
 * resolved by the stack, every Lambda task on the real connector build) against the real peers: PostgreSQL,
 * s3rver, and the Slack and GitHub contract fakes. issue-triage is started by the GitHub connector from a
 * webhook signed here; nightly-export and broadcast run through `npm run workflow`.
 */
import { randomUUID } from 'node:crypto';
import { GetExecutionHistoryCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDefinition } from '../../shared/workflows/catalog.ts';
import {
  executionArn,
  finished,
  fireSchedule,
  issuesPayload,
  linesWithCorrelation,
  readObject,
  runWorkflow,
  sendWebhook,
  startWorkflowWorld,
  stateMachineArn,
  type WorkflowWorld,
} from './harness.ts';

let world: WorkflowWorld;

beforeAll(async () => {
  world = await startWorkflowWorld();
}, 90_000);

afterAll(async () => {
  await world?.close();
});

interface IssueRow {
  repository: string;
  number: number;
  title: string;
  html_url: string;
  last_delivery_id: string;
  correlation_id: string;
  archive_key: string;
}

/** Creates github_issues (when missing) with the statements the workflows themselves run. */
async function ensureIssuesTable(): Promise<void> {
  const definition = await loadDefinition('nightly-export');
  const ensure = definition.States['EnsureTable']?.Parameters?.['Payload'] as {
    input: { statements: { sql: string }[] };
  };
  for (const { sql } of ensure.input.statements) await world.db.query(sql);
}

async function issueRow(repository: string, number: number): Promise<IssueRow | undefined> {
  await ensureIssuesTable();
  const { rows } = await world.db.query<IssueRow>(
    'select * from github_issues where repository = $1 and number = $2',
    [repository, number],
  );
  return rows[0];
}

/** Inserts issues rows the way issue-triage writes them, creating the table with the workflows' own DDL. */
async function seedIssues(
  repository: string,
  numbers: number[],
  title: (n: number) => string,
): Promise<void> {
  await ensureIssuesTable();
  for (const number of numbers) {
    await world.db.query(
      "insert into github_issues (repository, number, id, title, state, html_url, author, opened_at, updated_at, last_delivery_id, correlation_id, archive_key) values ($1, $2, $3, $4, 'open', $5, 'ada', now(), now(), 'seed', 'seed', 'seed') on conflict do nothing",
      [
        repository,
        number,
        10_000 + number,
        title(number),
        `https://github.com/${repository}/issues/${number}`,
      ],
    );
  }
}

/** The size in bytes of every state input and output in an execution's history, with the state name. */
async function statePayloads(arn: string): Promise<{ state: string; bytes: number }[]> {
  const sizes: { state: string; bytes: number }[] = [];
  let nextToken: string | undefined;
  do {
    const page = await world.sfn.send(
      new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 1000, nextToken }),
    );
    for (const event of page.events ?? []) {
      const details = event.stateEnteredEventDetails ?? event.stateExitedEventDetails;
      const data = event.stateEnteredEventDetails?.input ?? event.stateExitedEventDetails?.output;
      if (details?.name !== undefined && data !== undefined)
        sizes.push({ state: details.name, bytes: Buffer.byteLength(data) });
    }
    nextToken = page.nextToken;
  } while (nextToken !== undefined);
  return sizes;
}

function postsTo(channel: string, containing: string): number {
  return world.slack.messages.filter((m) => m.channel === channel && (m.text ?? '').includes(containing))
    .length;
}

describe('Workflow: issue-triage', () => {
  it('archives, upserts and announces an issue opened on GitHub, with the webhook correlation id on every step', async () => {
    // Prepare
    const correlationId = `triage-${randomUUID()}`;
    const payload = issuesPayload({
      action: 'opened',
      repository: 'octo/hello',
      number: 7,
      title: 'Crash <on> start',
    });

    // Act
    const { status, deliveryId } = await sendWebhook(world, 'issues', payload, correlationId);
    const execution = await finished(world, executionArn('issue-triage', `github-${deliveryId}`));

    // Assess
    expect(status).toBe(202);
    expect(execution.status).toBe('SUCCEEDED');
    const row = await issueRow('octo/hello', 7);
    expect(row).toMatchObject({
      title: 'Crash <on> start',
      html_url: 'https://github.com/octo/hello/issues/7',
      last_delivery_id: deliveryId,
      correlation_id: correlationId,
      archive_key: `github/events/issues/${deliveryId}.json`,
    });
    const archived = JSON.parse((await readObject(world, `github/events/issues/${deliveryId}.json`)) ?? '{}');
    expect(archived).toMatchObject({ deliveryId, correlationId, event: 'issues', action: 'opened', payload });
    const message = world.slack.messages.find(
      (m) => m.channel === 'C0GENERAL' && (m.text ?? '').includes('https://github.com/octo/hello/issues/7'),
    );
    expect(message?.text).toContain('octo/hello#7: Crash <on> start');
    expect(JSON.stringify(message?.blocks)).toContain('"url":"https://github.com/octo/hello/issues/7"');
    const lines = linesWithCorrelation(world, correlationId);
    for (const fn of ['github', 's3', 'postgres', 'slack']) expect(lines).toContain(`${fn}:invocation`);
  });

  it('ignores an issues event that is not an opening, without touching any provider', async () => {
    // Prepare
    const correlationId = `ignored-${randomUUID()}`;
    const payload = issuesPayload({
      action: 'labeled',
      repository: 'octo/hello',
      number: 8,
      title: 'Labelled',
    });

    // Act
    const { status, deliveryId } = await sendWebhook(world, 'issues', payload, correlationId);
    const execution = await finished(world, executionArn('issue-triage', `github-${deliveryId}`));

    // Assess
    expect(status).toBe(202);
    expect(execution.status).toBe('SUCCEEDED');
    expect(await issueRow('octo/hello', 8)).toBeUndefined();
    expect(await readObject(world, `github/events/issues/${deliveryId}.json`)).toBeUndefined();
    expect([...linesWithCorrelation(world, correlationId)]).toEqual(['github:invocation']);
  });

  it('records, notifies and fails with the original error name when Slack refuses the post', async () => {
    // Prepare
    const correlationId = `failing-${randomUUID()}`;
    const payload = issuesPayload({
      action: 'opened',
      repository: 'octo/hello',
      number: 9,
      title: 'Slack is down',
    });
    const postsBefore = world.slack.requestsFor('chat.postMessage').length;
    world.slack.failNext('chat.postMessage', { error: 'channel_not_found' });

    // Act
    const { status, deliveryId } = await sendWebhook(world, 'issues', payload, correlationId);
    const execution = await finished(world, executionArn('issue-triage', `github-${deliveryId}`));

    // Assess
    expect(status).toBe(202);
    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('NotFoundError');
    // The steps before the failing one did their work; the failing post was not retried (NotFoundError is
    // not retryable): one refused post, then the alert.
    expect((await issueRow('octo/hello', 9))?.last_delivery_id).toBe(deliveryId);
    expect(world.slack.requestsFor('chat.postMessage').length - postsBefore).toBe(2);
    const record = JSON.parse(
      (await readObject(world, `failures/issue-triage/github-${deliveryId}.json`)) ?? '{}',
    );
    expect(record).toMatchObject({ workflow: 'issue-triage', correlationId, error: 'NotFoundError' });
    expect(record.execution).toBe(executionArn('issue-triage', `github-${deliveryId}`));
    expect(
      postsTo('C0ALERTS', `issue-triage failed with NotFoundError (execution github-${deliveryId}`),
    ).toBe(1);
  });
  it('archives an opened event it cannot read, then fails it as a ValidationError down the failure path', async () => {
    // Prepare
    const correlationId = `invalid-${randomUUID()}`;
    const payload = issuesPayload({
      action: 'opened',
      repository: 'octo/hello',
      number: 10,
      title: 'No author',
    });
    delete (payload['issue'] as Record<string, unknown>)['user'];

    // Act
    const { deliveryId } = await sendWebhook(world, 'issues', payload, correlationId);
    const execution = await finished(world, executionArn('issue-triage', `github-${deliveryId}`));

    // Assess
    expect(execution).toMatchObject({ status: 'FAILED', error: 'ValidationError' });
    expect(execution.cause).toContain('user.login');
    expect(await readObject(world, `github/events/issues/${deliveryId}.json`)).toContain('No author');
    expect(await readObject(world, `failures/issue-triage/github-${deliveryId}.json`)).toContain(
      correlationId,
    );
    expect(await issueRow('octo/hello', 10)).toBeUndefined();
  });
});

describe('Workflow: nightly-export', () => {
  it('pages github_issues into NDJSON parts, links a manifest and posts the row count (npm run workflow)', async () => {
    // Prepare
    await seedIssues('acme/api', [1, 2, 3], (number) => `Seeded "issue" ${number}`);
    const { rows: table } = await world.db.query<{ repository: string; number: number }>(
      'select repository, number from github_issues order by repository, number',
    );
    const correlationId = `export-${randomUUID()}`;

    // Act
    const result = await runWorkflow(world, 'nightly-export', {
      pageRows: 2,
      channel: '#random',
      correlationId,
    });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const expectedParts = Math.ceil(table.length / 2);
    expect(result.output).toMatchObject({ table: 'github_issues', rows: table.length, parts: expectedParts });
    const summary = world.slack.messages.find(
      (m) => m.channel === 'C0RANDOM' && (m.text ?? '').includes('Nightly export'),
    );
    expect(summary?.text).toContain(`${table.length} rows as NDJSON in ${expectedParts} part(s)`);
    const link = /(http\S+)$/.exec(summary?.text ?? '')?.[1] ?? '';
    const manifest = (await (await fetch(link)).json()) as {
      rows: number;
      parts: { key: string; url: string }[];
    };
    expect(manifest.rows).toBe(table.length);
    expect(manifest.parts).toHaveLength(expectedParts);
    const exported: { repository: string; number: number }[] = [];
    for (const part of manifest.parts) {
      const text = await (await fetch(part.url)).text();
      for (const line of text.split('\n').filter((l) => l !== '')) exported.push(JSON.parse(line));
    }
    expect(exported.map(({ repository, number }) => ({ repository, number }))).toEqual(table);
    expect(exported.find((row) => row.number === 2 && row.repository === 'acme/api')).toMatchObject({
      title: 'Seeded "issue" 2',
    });
    expect(linesWithCorrelation(world, correlationId)).toEqual(
      new Set(['postgres:invocation', 's3:invocation', 'slack:invocation']),
    );
  });

  it('runs from its schedule (npm run schedule -- nightly-export), correlated by the execution name', async () => {
    // Prepare
    await seedIssues('acme/cron', [1], () => 'Scheduled');
    const { rows } = await world.db.query<{ total: number }>(
      'select count(*)::integer as total from github_issues',
    );

    // Act
    const arn = await fireSchedule(world, 'nightly-export');
    const execution = await finished(world, arn);

    // Assess
    const name = arn.split(':').pop() ?? '';
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.input ?? '{}')).toEqual({ trigger: 'schedule' });
    const output = JSON.parse(execution.output ?? '{}') as { rows: number; slack: { ts: string } };
    expect(output).toMatchObject({
      correlationId: name,
      rows: rows[0]?.total,
      slack: { channel: 'C0GENERAL' },
    });
    expect(world.slack.message('C0GENERAL', output.slack.ts)?.text).toContain(
      `Nightly export of github_issues: ${rows[0]?.total} rows`,
    );
    expect(linesWithCorrelation(world, name)).toContain('slack:invocation');
  });

  it('never carries more than one page of rows between states (claim check), however large the table', async () => {
    // Prepare: about 120 KiB of rows, exported in pages of at most 8 KiB of JSON-escaped NDJSON.
    const numbers = Array.from({ length: 120 }, (_, index) => index + 1);
    await seedIssues('acme/big', numbers, (number) => `${'x'.repeat(1_000)} ${number}`);
    const { rows } = await world.db.query<{ total: number; bytes: number }>(
      'select count(*)::integer as total, sum(octet_length(row_to_json(t)::text))::integer as bytes from github_issues t',
    );
    const total = rows[0]?.total ?? 0;
    const tableBytes = rows[0]?.bytes ?? 0;
    const pageBytes = 8_192;

    // Act
    const result = await runWorkflow(world, 'nightly-export', { pageBytes, channel: '#random' });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const output = result.output as { rows: number; parts: number };
    expect(output.rows).toBe(total);
    expect(output.parts).toBeGreaterThanOrEqual(15);
    const payloads = await statePayloads(executionArn('nightly-export', result.executionName ?? ''));
    const paging = payloads.filter(({ state }) =>
      ['ReadPage', 'HasRows', 'WritePart', 'CountPart'].includes(state),
    );
    // At most one page travels at a time; after the loop only keys, counts and one link per part.
    expect(Math.max(...paging.map(({ bytes }) => bytes))).toBeGreaterThan(pageBytes / 2);
    expect(Math.max(...paging.map(({ bytes }) => bytes))).toBeLessThanOrEqual(pageBytes + 1_024);
    expect(Math.max(...payloads.map(({ bytes }) => bytes))).toBeLessThan(pageBytes + 1_024 * output.parts);
    expect(Math.max(...payloads.map(({ bytes }) => bytes))).toBeLessThan(tableBytes / 4);
  });

  it('takes the Catch path when the Slack summary fails: record, alert, FAILED with the error name', async () => {
    // Prepare
    world.slack.failNext('chat.postMessage', { error: 'channel_not_found' });

    // Act
    const result = await runWorkflow(world, 'nightly-export', { channel: '#nowhere' });

    // Assess
    expect(result.code).toBe(1);
    expect(result.status).toBe('FAILED');
    expect(result.stderr).toContain('error: NotFoundError');
    const name = result.executionName ?? '';
    const record = JSON.parse((await readObject(world, `failures/nightly-export/${name}.json`)) ?? '{}');
    expect(record).toMatchObject({ workflow: 'nightly-export', correlationId: name, error: 'NotFoundError' });
    expect(postsTo('C0ALERTS', `nightly-export failed with NotFoundError (execution ${name}`)).toBe(1);
  });
});

describe('Workflow: broadcast', () => {
  it('delivers to the channels that take the post and reports the ones that fail (npm run workflow)', async () => {
    // Prepare
    const text = `Maintenance at 18:00 UTC (${randomUUID()})`;
    const channels = ['#general', 'C0RANDOM', '#old-archive', 'C0OUTSIDE', '#no-such-channel'];
    const correlationId = `broadcast-${randomUUID()}`;

    // Act
    const result = await runWorkflow(world, 'broadcast', { channels, text, correlationId });

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toMatchObject({
      correlationId,
      delivered: ['#general', 'C0RANDOM'],
      deliveredCount: 2,
      failedCount: 3,
      failed: [
        { channel: '#old-archive', delivered: false, error: 'ConflictError' },
        { channel: 'C0OUTSIDE', delivered: false, error: 'ForbiddenError' },
        { channel: '#no-such-channel', delivered: false, error: 'NotFoundError' },
      ],
    });
    expect(postsTo('C0GENERAL', text) + postsTo('C0RANDOM', text)).toBe(2);
    expect(linesWithCorrelation(world, correlationId)).toEqual(new Set(['slack:invocation']));
  });

  it('fails with the first channel error when no channel takes the post', async () => {
    // Act
    const result = await runWorkflow(world, 'broadcast', {
      channels: ['C0OUTSIDE'],
      text: 'nobody hears this',
    });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.stderr).toContain('error: ForbiddenError');
  });
  it('reports every channel delivered when all take the post (StartExecution over the AWS endpoint)', async () => {
    // Prepare
    const text = `All hands (${randomUUID()})`;
    const input = JSON.stringify({ channels: ['#general', 'C0ALERTS'], text });

    // Act
    const { executionArn: arn } = await world.sfn.send(
      new StartExecutionCommand({ stateMachineArn: stateMachineArn('broadcast'), input }),
    );
    const execution = await finished(world, arn ?? '');

    // Assess
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output ?? '{}')).toMatchObject({
      delivered: ['#general', 'C0ALERTS'],
      failed: [],
      deliveredCount: 2,
      failedCount: 0,
    });
    expect(postsTo('C0GENERAL', text) + postsTo('C0ALERTS', text)).toBe(2);
  });

  it('refuses a request without text as a ValidationError, before posting anywhere', async () => {
    // Prepare
    const postsBefore = world.slack.requestsFor('chat.postMessage').length;

    // Act
    const { executionArn: arn } = await world.sfn.send(
      new StartExecutionCommand({
        stateMachineArn: stateMachineArn('broadcast'),
        input: '{"channels":["#general"]}',
      }),
    );
    const execution = await finished(world, arn ?? '');

    // Assess
    expect(execution).toMatchObject({ status: 'FAILED', error: 'ValidationError' });
    expect(world.slack.requestsFor('chat.postMessage').length).toBe(postsBefore);
  });
});
