/**
 * Load and loss on the local stack (`npm start`, started as its own process by test/local/stack-process.ts),
 * driven from outside only: 1 000 SQS messages to the PostgreSQL connector (PGlite) with 2% that always
 * fail end with processed + dead-lettered = 1 000, each poison message moved to the DLQ by the connector at
 * its first receive and every other message written exactly once; then 2 000 HTTP requests at
 * concurrency 50 all succeed, and p50/p99 are printed for the README. Every operation route of every
 * function refuses a missing or wrong local API key at the gateway, and the function is never invoked.
 *
 * Part of the long run (CIRCLE_LONG=1, `npm run test:long`): the stack builds every function first.
 */
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { captureLogs } from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StackProcess, startStackProcess } from '../local/stack-process.ts';

const LONG = process.env['CIRCLE_LONG'] === '1';
const MESSAGES = 1_000;
const POISON_EVERY = 50;
const REQUESTS = 2_000;
const CONCURRENCY = 50;

let stack: StackProcess;
let sqs: SQSClient;

async function http(path: string, body: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

async function queueUrl(name: string): Promise<string> {
  return String((await sqs.send(new GetQueueUrlCommand({ QueueName: name }))).QueueUrl);
}

async function depth(url: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(Attributes?.['ApproximateNumberOfMessages'] ?? 0),
    inFlight: Number(Attributes?.['ApproximateNumberOfMessagesNotVisible'] ?? 0),
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

describe.runIf(LONG)('Local stack: loss and load', () => {
  beforeAll(async () => {
    stack = await startStackProcess({
      CIRCLE_LOCAL_VISIBILITY_TIMEOUT: '1',
      CIRCLE_LOCAL_BATCHING_WINDOW: '0',
    });
    sqs = new SQSClient({
      endpoint: stack.awsUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
  }, 120_000);

  afterAll(async () => {
    sqs?.destroy();
    if (stack !== undefined) await stack.stop().catch(() => undefined);
  });

  const isPoison = (index: number): boolean => index % POISON_EVERY === POISON_EVERY - 1;

  /** Sends the 1 000 messages in batches of 10; returns the message ids of the poison ones. */
  /** Message `index`: an insert, or for poison an insert into a table that does not exist. */
  function bodyOf(index: number): string {
    const input = isPoison(index)
      ? { sql: 'INSERT INTO hardening_no_such_table (id) VALUES ($1)', params: [String(index)] }
      : { sql: 'INSERT INTO hardening_load (id) VALUES ($1)', params: [`m-${index}`] };
    return JSON.stringify({ operation: 'query', input });
  }

  async function sendAll(source: string): Promise<Set<string>> {
    const poisonIds = new Set<string>();
    for (let start = 0; start < MESSAGES; start += 10) {
      const entries = Array.from({ length: 10 }, (_, offset) => {
        const index = start + offset;
        return { Id: `e${index}`, MessageBody: bodyOf(index) };
      });
      const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl: source, Entries: entries }));
      expect(sent.Failed ?? []).toEqual([]);
      for (const entry of sent.Successful ?? []) {
        if (isPoison(Number(entry.Id?.slice(1)))) poisonIds.add(String(entry.MessageId));
      }
    }
    return poisonIds;
  }

  /** Receives up to `count` messages from the DLQ, hiding them so none is read twice. */
  async function drain(dlq: string, count: number): Promise<Message[]> {
    const parked: Message[] = [];
    while (parked.length < count) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, VisibilityTimeout: 300 }),
      );
      if (Messages.length === 0) break;
      parked.push(...Messages);
    }
    return parked;
  }

  /** The receive count logged for every failed delivery of each poison message, in order. */
  function receivesOf(poisonIds: Set<string>): Map<string, string[]> {
    const receives = new Map<string, string[]>();
    for (const line of stack.lines) {
      const id = String(line['messageId'] ?? '');
      if (!poisonIds.has(id) || !/Record failed|Poison record/.test(String(line['message']))) continue;
      receives.set(id, [...(receives.get(id) ?? []), String(line['receiveCount'])]);
    }
    return receives;
  }

  it('processes 1 000 messages with 2% poison: processed + dead-lettered = 1 000, poison moved at its first receive', async () => {
    // Prepare
    const created = await http('/postgres/query', {
      sql: 'CREATE TABLE hardening_load (id text PRIMARY KEY)',
    });
    expect(created.status).toBe(200);
    const source = await queueUrl('circle-core-dev-PostgresRequestsQueue');
    const dlq = await queueUrl('circle-core-dev-PostgresRequestsDeadLetterQueue');
    // Act
    const poisonIds = await sendAll(source);
    await until(
      'the source queue to drain and the poison to reach the DLQ',
      async () => {
        const [left, parked] = await Promise.all([depth(source), depth(dlq)]);
        return left.visible + left.inFlight === 0 && parked.visible === poisonIds.size ? true : undefined;
      },
      240_000,
    );
    const parked = await drain(dlq, poisonIds.size);
    const rows = await http('/postgres/query', {
      sql: 'SELECT count(*)::int AS n, count(DISTINCT id)::int AS distinct_ids FROM hardening_load',
    });
    const receives = receivesOf(poisonIds);
    // Assess
    const [counts] = rows.body['rows'] as { n: number; distinct_ids: number }[];
    expect(poisonIds.size).toBe(MESSAGES / POISON_EVERY);
    // The connector moves a poison record to the DLQ itself (a new message, the same body), at once.
    const poisonBodies = Array.from({ length: MESSAGES }, (_, index) => index)
      .filter(isPoison)
      .map(bodyOf);
    expect(new Set(parked.map((message) => message.Body))).toEqual(new Set(poisonBodies));
    expect(counts).toEqual({ n: MESSAGES - poisonIds.size, distinct_ids: MESSAGES - poisonIds.size });
    expect((counts?.n ?? 0) + parked.length).toBe(MESSAGES);
    for (const id of poisonIds) expect(receives.get(id), id).toEqual(['1']);
  }, 300_000);

  /** `/<function>/<operation>` (and health) of every function the stack runs. */
  async function operationRoutes(): Promise<string[]> {
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as {
      functions: { function: string }[];
    };
    const modules: Record<string, string> = {
      s3: '../../functions/storage/s3/index.ts',
      postgres: '../../functions/database/postgres/index.ts',
      slack: '../../functions/notifications/slack/index.ts',
      github: '../../functions/devops/github/index.ts',
    };
    const logs = captureLogs();
    const routes: string[] = [];
    try {
      for (const { function: name } of health.functions) {
        const path = modules[name];
        if (path === undefined) continue;
        const { connector } = (await import(path)) as { connector: { runtime: { operations: object } } };
        routes.push(
          ...[...Object.keys(connector.runtime.operations), 'health'].map((op) => `/${name}/${op}`),
        );
      }
    } finally {
      logs.restore();
    }
    return routes;
  }

  async function send(
    route: string,
    correlationId: string,
    authorization: string | undefined,
  ): Promise<Response> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'x-correlation-id': correlationId,
    };
    if (authorization !== undefined) headers['authorization'] = authorization;
    const init: RequestInit = route.endsWith('/health')
      ? { headers }
      : { method: 'POST', headers, body: '{}' };
    return fetch(`${stack.apiUrl}${route}`, init);
  }

  it('refuses every operation route without the right API key, and never invokes the function', async () => {
    // Prepare
    const routes = await operationRoutes();
    const credentials: (string | undefined)[] = [
      undefined,
      'Bearer not-the-key',
      `Bearer ${stack.apiKey}x`,
      `Basic ${Buffer.from(`user:${stack.apiKey}`).toString('base64')}`,
      stack.apiKey,
      'Bearer',
    ];
    // Act
    const answers: { route: string; status: number; type: string | null; correlationId: string }[] = [];
    for (const route of routes) {
      for (const authorization of credentials) {
        const correlationId = `denied-${answers.length}`;
        const response = await send(route, correlationId, authorization);
        answers.push({
          route,
          status: response.status,
          type: response.headers.get('content-type'),
          correlationId,
        });
      }
    }
    // The control: with the key, the same kind of request does reach the function and shows in its log.
    await send('/s3/health', 'allowed-control', `Bearer ${stack.apiKey}`);
    await until(
      'the control request in the log',
      async () =>
        stack.lines.some((line) => line['correlationId'] === 'allowed-control') ? true : undefined,
      10_000,
    );
    // Assess
    expect(routes.length).toBeGreaterThanOrEqual(25);
    for (const answer of answers) {
      expect(answer.status, answer.route).toBe(401);
      expect(answer.type, answer.route).toBe('application/problem+json');
    }
    const denied = new Set(answers.map((answer) => answer.correlationId));
    expect(stack.lines.filter((line) => denied.has(String(line['correlationId'])))).toEqual([]);
  }, 120_000);

  it('serves 2 000 requests at concurrency 50 with none lost or failed, and reports p50/p99', async () => {
    // Prepare
    const latencies: number[] = [];
    const failures: string[] = [];
    let next = 0;
    const worker = async (): Promise<void> => {
      for (let index = next++; index < REQUESTS; index = next++) {
        const started = performance.now();
        try {
          const response = await http('/postgres/query', { sql: 'SELECT $1::int AS n', params: [index] });
          const rows = response.body['rows'] as { n: number }[] | undefined;
          if (response.status !== 200 || rows?.[0]?.n !== index)
            failures.push(`${index}: ${response.status}`);
        } catch (error) {
          failures.push(`${index}: ${String(error)}`);
        }
        latencies.push(performance.now() - started);
      }
    };
    // Act
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const elapsedMs = performance.now() - started;
    // Assess
    const sorted = [...latencies].sort((a, b) => a - b);
    const p50 = percentile(sorted, 50);
    const p99 = percentile(sorted, 99);
    console.log(
      `local stack load: ${REQUESTS} requests at concurrency ${CONCURRENCY} to POST /postgres/query in ${Math.round(elapsedMs)} ms ` +
        `(${Math.round((REQUESTS / elapsedMs) * 1000)} req/s), p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, failed ${failures.length}`,
    );
    expect(failures).toEqual([]);
    expect(latencies).toHaveLength(REQUESTS);
  }, 300_000);
});
