/**
 * The console's handler in this process, on real local engines (queues, scheduler, Step Functions) with no
 * functions: what its pages say for a schedule index out of range, and that a status message (flash) comes
 * only from the console's own redirects, never as free text from the URL.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createConsole } from '../../scripts/local/console/server.ts';
import { createStackLog } from '../../scripts/local/log.ts';
import { MessageMoveTasks } from '../../scripts/local/queues/message-move.ts';
import { QueueEngine } from '../../scripts/local/queues/queue-engine.ts';
import { Scheduler } from '../../scripts/local/schedules/scheduler.ts';
import { StepFunctionsEngine } from '../../scripts/local/workflows/step-functions.ts';

const log = createStackLog({ pretty: false, write: () => undefined });
const API_KEY = 'console-pages-key';

let server: Server;
let base: string;
let cookie: string;
let csrf: string;

beforeAll(async () => {
  const queues = new QueueEngine({
    region: 'us-east-1',
    accountId: '000000000000',
    baseUrl: 'http://127.0.0.1:1',
  });
  const dlq = queues.create('jobs-dlq');
  queues.create('jobs', {
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 2 }),
  });
  const scheduler = new Scheduler(
    [
      {
        kind: 'function',
        target: 'github',
        name: 'github-nightly',
        expression: 'rate(1 day)',
        enabled: true,
      },
    ],
    {
      invoke: async () => ({ requestId: 'r', durationMs: 1, logTail: '', payload: '{"ok":true}' }),
      region: 'us-east-1',
      accountId: '000000000000',
      log,
    },
  );
  const handler = createConsole({
    apiUrl: 'http://127.0.0.1:1',
    apiKey: API_KEY,
    health: () => ({
      queues: queues.list().map((queue) => ({ name: queue.name, ...queue.counts(), mappings: [] })),
    }),
    openApi: () => ({}),
    processes: [],
    queues,
    moves: new MessageMoveTasks(queues),
    scheduler,
    workflows: new StepFunctionsEngine({
      region: 'us-east-1',
      accountId: '000000000000',
      invoke: async () => undefined,
      log,
    }),
    log,
  });
  server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const signIn = await fetch(`${base}/_console/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ apiKey: API_KEY }),
    redirect: 'manual',
  });
  cookie = String(signIn.headers.get('set-cookie')).split(';')[0] ?? '';
  const page = await (await fetch(`${base}/_console/schedules`, { headers: { cookie } })).text();
  csrf = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
});

afterAll(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

async function post(path: string, fields: Record<string, string>): Promise<Response> {
  return fetch(`${base}${path}`, {
    method: 'POST',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, ...fields }),
    redirect: 'manual',
  });
}

describe('Console: Run now with a schedule index out of range', () => {
  it('says how many schedules the target has instead of "Ran"', async () => {
    // Act
    const response = await post('/_console/schedules/run', { target: 'github', index: '7' });
    const body = await response.text();

    // Assess
    expect(response.status).toBe(400);
    expect(body).toContain('github has 1 schedule(s); index 7 is out of range (0..0)');
    expect(body).not.toContain('Ran github');
    expect(body).not.toContain('No schedule targets');
  });

  it('still runs the schedule at a valid index', async () => {
    // Act
    const response = await post('/_console/schedules/run', { target: 'github', index: '0' });
    const body = await response.text();

    // Assess
    expect(response.status).toBe(200);
    expect(body).toContain('Ran github');
    expect(body).toContain('github-nightly');
  });
});

describe('Console: flash messages', () => {
  it('shows no text a URL chose', async () => {
    // Act
    const body = await (
      await fetch(
        `${base}/_console/queues?flash=${encodeURIComponent('Your session expired, call 555-0100')}`,
        {
          headers: { cookie },
        },
      )
    ).text();

    // Assess
    expect(body).not.toContain('555-0100');
    expect(body).not.toContain('data-test="flash"');
  });

  it("shows the message of the console's own redirect after a redrive", async () => {
    // Act
    const redirected = await post('/_console/queues/redrive', { queue: 'jobs-dlq' });
    const location = String(redirected.headers.get('location'));
    const body = await (await fetch(`${base}${location}`, { headers: { cookie } })).text();
    const elsewhere = await (
      await fetch(`${base}${location}`, { headers: { cookie: 'circle_console=someone-else' } })
    ).text();

    // Assess
    expect(redirected.status).toBe(303);
    expect(location).not.toContain('jobs-dlq');
    expect(body).toMatch(/data-test="flash">[^<]*jobs-dlq/);
    expect(elsewhere).not.toContain('data-test="flash"');
  });
});
