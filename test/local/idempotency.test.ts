/**
 * Exactly-once effects on the local stack, as `npm start` runs it with idempotency on (the stack creates
 * the table from serverless.yml, every writing function gets CIRCLE_IDEMPOTENCY_TABLE): a repeated HTTP
 * call with the same Idempotency-Key, an SQS message delivered again while its first run still goes on
 * (the visibility timeout is shorter than the write), and a Step Functions task retried after its first
 * attempt timed out. Each time the provider-side effects are counted: messages the Slack fake received,
 * rows in PostgreSQL. Each count is also shown to be able to grow (a new key posts again; without a store
 * the redelivery and the retry would each insert twice: the invocations are counted too).
 */
import { randomUUID } from 'node:crypto';
import {
  CreateStateMachineCommand,
  GetExecutionHistoryCommand,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, startWorkflowWorld, type WorkflowWorld } from '../workflows/harness.ts';

/** A write that takes longer than the stack's 1 s visibility timeout and the retried task's 1 s timeout. */
const SLOW_WRITE_SECONDS = 2.5;
const TABLE = 'idempotency_effects';

let world: WorkflowWorld;
let sqs: SQSClient;

async function post(path: string, body: unknown, key?: string): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${world.stack.apiKey}`,
    'content-type': 'application/json',
  };
  if (key !== undefined) headers['idempotency-key'] = key;
  const response = await fetch(`${world.stack.apiUrl}${path}`, {
    method: 'POST',
    headers,
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

/** `execute` statements that insert one row tagged `tag`, then hold the transaction open for a while. */
function slowInsert(tag: string): { statements: { sql: string; params?: unknown[] }[] } {
  return {
    statements: [
      { sql: `insert into ${TABLE} (tag) values ($1)`, params: [tag] },
      { sql: `select pg_sleep(${SLOW_WRITE_SECONDS})` },
    ],
  };
}

async function rows(tag: string): Promise<number> {
  const { rows: found } = await world.db.query<{ n: number }>(
    `select count(*)::integer as n from ${TABLE} where tag = $1`,
    [tag],
  );
  return found[0]?.n ?? 0;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

interface QueueReport {
  name: string;
  url: string;
  visibilityTimeoutSeconds: number;
  visible: number;
  inFlight: number;
  mappings: { function: string; received: number; deleted: number }[];
}

async function postgresQueue(): Promise<QueueReport> {
  const health = (await (await fetch(`${world.stack.apiUrl}/health`)).json()) as { queues: QueueReport[] };
  const queue = health.queues.find((candidate) => candidate.name.endsWith('-PostgresRequestsQueue'));
  if (queue === undefined) throw new Error('the stack has no PostgresRequestsQueue');
  return queue;
}

beforeAll(async () => {
  world = await startWorkflowWorld({
    env: { CIRCLE_LOCAL_VISIBILITY_TIMEOUT: '1', CIRCLE_LOCAL_BATCHING_WINDOW: '0' },
  });
  sqs = new SQSClient({
    endpoint: world.stack.awsUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await world.db.query(`create table if not exists ${TABLE} (id serial primary key, tag text not null)`);
}, 120_000);

afterAll(async () => {
  sqs?.destroy();
  await world?.close();
});

describe('Local stack: idempotency on by default', () => {
  it('refuses a write without a key (400 naming the header), as a deployed stage does', async () => {
    // Act
    const refused = await post('/slack/post-message', { channel: 'C0GENERAL', text: 'no key' });

    // Assess
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('Idempotency-Key');
    expect(world.slack.requestsFor('chat.postMessage')).toHaveLength(0);
  });

  it('posts once for a repeated HTTP call with the same Idempotency-Key, and again for a new key', async () => {
    // Prepare
    const key = `http-${randomUUID()}`;
    const message = { channel: 'C0GENERAL', text: `once ${key}` };
    const posted = () =>
      world.slack.requestsFor('chat.postMessage').filter((r) => r.args['text'] === message.text);

    // Act
    const first = await post('/slack/post-message', message, key);
    const repeat = await post('/slack/post-message', message, key);
    const afterRepeat = posted().length;
    const otherInput = await post('/slack/post-message', { ...message, text: 'other text' }, key);
    const fresh = await post('/slack/post-message', message, `${key}-2`);

    // Assess
    expect(first.status).toBe(200);
    expect(repeat).toEqual(first);
    expect(afterRepeat).toBe(1);
    expect(otherInput.status).toBe(409);
    expect(fresh.status).toBe(200);
    expect(posted()).toHaveLength(2);
  });

  it('inserts once for an SQS message delivered again while its first run is still writing', async () => {
    // Prepare
    const tag = `sqs-${randomUUID()}`;
    const queue = await postgresQueue();
    const receivedBefore = queue.mappings[0]?.received ?? 0;
    const deletedBefore = queue.mappings[0]?.deleted ?? 0;

    // Act: no idempotencyKey in the envelope, so the message id is the key.
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queue.url,
        MessageBody: JSON.stringify({ operation: 'execute', input: slowInsert(tag) }),
      }),
    );
    await until('the message is deleted from the queue', async () => {
      const now = await postgresQueue();
      return now.visible === 0 && now.inFlight === 0 && (now.mappings[0]?.deleted ?? 0) > deletedBefore;
    });
    // Any delivery still running when the message went away finishes its write within this.
    await new Promise((resolve) => setTimeout(resolve, (SLOW_WRITE_SECONDS + 1) * 1000));
    const after = await postgresQueue();

    // Assess: delivered at least twice (hidden for 1 s, the write takes 2.5 s), written once.
    expect(queue.visibilityTimeoutSeconds).toBe(1);
    expect((after.mappings[0]?.received ?? 0) - receivedBefore).toBeGreaterThanOrEqual(2);
    expect(await rows(tag)).toBe(1);
  });

  it('inserts once for a Step Functions task retried after its first attempt timed out', async () => {
    // Prepare: the key as every shipped workflow derives it (lint.ts: the execution and the state).
    const tag = `task-${randomUUID()}`;
    const { stateMachineArn } = await world.sfn.send(
      new CreateStateMachineCommand({
        name: `idempotency-${randomUUID().slice(0, 8)}`,
        roleArn: 'arn:aws:iam::000000000000:role/local',
        definition: JSON.stringify({
          StartAt: 'Insert',
          States: {
            Insert: {
              Type: 'Task',
              Resource: 'arn:aws:states:::lambda:invoke',
              Parameters: {
                FunctionName: 'circle-core-dev-postgres',
                Payload: {
                  operation: 'execute',
                  trigger: 'task',
                  'correlationId.$': '$$.Execution.Name',
                  'idempotencyKey.$': "States.Format('{}:Insert', $$.Execution.Id)",
                  input: slowInsert(tag),
                },
              },
              TimeoutSeconds: 1,
              // ConflictError: the first attempt is still running (IdempotencyInProgressError).
              Retry: [
                {
                  ErrorEquals: ['States.Timeout', 'ConflictError'],
                  IntervalSeconds: 1,
                  MaxAttempts: 8,
                  BackoffRate: 1,
                },
              ],
              End: true,
            },
          },
        }),
      }),
    );

    // Act
    const { executionArn } = await world.sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: '{}' }),
    );
    const done = await finished(world, executionArn ?? '', 30_000);
    const { events = [] } = await world.sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000 }),
    );

    const failures = events
      .filter((event) => event.type === 'TaskFailed')
      .map((event) => event.taskFailedEventDetails?.error);

    // Assess: the first attempt timed out while writing, a later one succeeded; the row was written once.
    expect(done.status).toBe('SUCCEEDED');
    expect(failures[0]).toBe('States.Timeout');
    expect(await rows(tag)).toBe(1);
  });
});
