/**
 * Dead letters you can act on, on the running stack (issue 12): with `CIRCLE_LOCAL_FAST_POISON=1` a
 * message its function keeps failing reaches the dead-letter queue within a minute: on its last receive
 * (the shortened maxReceiveCount, which the stack gives the functions as CIRCLE_MAX_RECEIVE_COUNT) the
 * connector moves it there with its reason. `npm run redrive` moves it back with StartMessageMoveTask,
 * where it now succeeds. Driven from
 * outside with the real SQS client against the AWS endpoint and the CLI as a user runs it.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type StackProcess, startStackProcess } from './stack-process.ts';

const run = promisify(execFile);
const SOURCE = 'circle-core-dev-PostgresRequestsQueue';
const DLQ = 'circle-core-dev-PostgresRequestsDeadLetterQueue';

let stack: StackProcess;
let sqs: SQSClient;

async function query(sql: string, params: unknown[] = []) {
  const response = await fetch(`${stack.apiUrl}/postgres/query`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.apiKey}`, 'content-type': 'application/json' },
    body: JSON.stringify({ sql, params }),
  });
  const body = (await response.json()) as { rows?: Record<string, unknown>[] };
  if (response.status !== 200) throw new Error(`query answered ${response.status}: ${JSON.stringify(body)}`);
  return body.rows ?? [];
}

async function depth(queueUrl: string): Promise<{ visible: number; inFlight: number }> {
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(Attributes?.ApproximateNumberOfMessages),
    inFlight: Number(Attributes?.ApproximateNumberOfMessagesNotVisible),
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** Runs `npm run redrive` against the stack (or the given environment); never rejects. */
async function redrive(
  ...args: (string | { env: NodeJS.ProcessEnv })[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const last = args.at(-1);
  const env = typeof last === 'object' ? last.env : stack.env;
  const argv = args.filter((arg): arg is string => typeof arg === 'string');
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(REPO_ROOT, 'scripts', 'redrive.ts'), ...argv],
      {
        cwd: REPO_ROOT,
        env,
        timeout: 60_000,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

beforeAll(async () => {
  stack = await startStackProcess({ CIRCLE_LOCAL_FAST_POISON: '1' }, ['--only', 'postgres']);
  sqs = new SQSClient({
    endpoint: stack.awsUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  // A call that fails with a retryable error (40001, serialization failure) until the gate opens: the
  // connector reports it as a batch item failure, so SQS redelivers it, and on its last receive parks it.
  await query('CREATE TABLE redrive_gate (open boolean NOT NULL)');
  await query('INSERT INTO redrive_gate VALUES (false)');
  await query('CREATE TABLE redrive_done (id text NOT NULL)');
  await query(`CREATE FUNCTION redrive_try(id text) RETURNS void LANGUAGE plpgsql AS $$
    BEGIN
      IF NOT (SELECT open FROM redrive_gate) THEN
        RAISE EXCEPTION 'the gate is closed' USING ERRCODE = '40001';
      END IF;
      INSERT INTO redrive_done VALUES (id);
    END $$`);
}, 150_000);

afterAll(async () => {
  sqs?.destroy();
  if (stack !== undefined) await stack.stop();
});

describe('Local stack: dead letters', () => {
  it('shortens the visibility timeout to the function timeout and the receive count under CIRCLE_LOCAL_FAST_POISON', async () => {
    // Act
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as {
      queues: { name: string; visibilityTimeoutSeconds: number; maxReceiveCount?: number }[];
    };

    // Assess
    // The postgres function's timeout (28 s): AWS's minimum, so no batch reappears while it still runs.
    expect(health.queues.find((queue) => queue.name === SOURCE)).toMatchObject({
      visibilityTimeoutSeconds: 28,
      maxReceiveCount: 2,
    });
    expect(health.queues.find((queue) => queue.name === DLQ)).toMatchObject({ visibilityTimeoutSeconds: 2 });
  });

  it('processes a message that runs longer than 2 s once, without redelivery or dead letter', async () => {
    // Prepare
    await query('CREATE TABLE slow_done (id text NOT NULL)');
    await query(`CREATE FUNCTION slow_once(id text) RETURNS void LANGUAGE plpgsql AS $$
      DECLARE started timestamptz := clock_timestamp();
      BEGIN
        INSERT INTO slow_done VALUES (id);
        WHILE clock_timestamp() < started + interval '3500 milliseconds' LOOP END LOOP;
      END $$`);
    const source = String((await sqs.send(new GetQueueUrlCommand({ QueueName: SOURCE }))).QueueUrl);
    const dlq = String((await sqs.send(new GetQueueUrlCommand({ QueueName: DLQ }))).QueueUrl);
    const body = JSON.stringify({
      operation: 'query',
      input: { sql: 'SELECT slow_once($1)', params: ['s1'] },
    });

    // Act
    await sqs.send(new SendMessageCommand({ QueueUrl: source, MessageBody: body }));
    await until(
      'the slow message processed',
      async () => ((await query('SELECT id FROM slow_done')).length > 0 ? true : undefined),
      20_000,
    );
    await until(
      'the source queue empty',
      async () => {
        const now = await depth(source);
        return now.visible === 0 && now.inFlight === 0 ? true : undefined;
      },
      20_000,
    );
    // Long enough for a 2 s visibility to have redelivered it twice.
    await new Promise((resolve) => setTimeout(resolve, 5000));
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as {
      queues: { name: string; mappings: { received: number; deleted: number }[] }[];
    };

    // Assess
    expect(await query('SELECT id FROM slow_done')).toEqual([{ id: 's1' }]);
    expect(await depth(dlq)).toEqual({ visible: 0, inFlight: 0 });
    expect(health.queues.find((queue) => queue.name === SOURCE)?.mappings[0]).toMatchObject({
      received: 1,
      deleted: 1,
    });
  }, 60_000);

  it('parks a failing message in the DLQ after two receives, and npm run redrive moves it back', async () => {
    // Prepare
    const source = String((await sqs.send(new GetQueueUrlCommand({ QueueName: SOURCE }))).QueueUrl);
    const dlq = String((await sqs.send(new GetQueueUrlCommand({ QueueName: DLQ }))).QueueUrl);
    const body = JSON.stringify({
      operation: 'query',
      input: { sql: 'SELECT redrive_try($1)', params: ['m1'] },
    });
    const sentAt = Date.now();
    await sqs.send(new SendMessageCommand({ QueueUrl: source, MessageBody: body }));

    // Act
    const parkedAfterMs = await until(
      'the message in the DLQ',
      async () => ((await depth(dlq)).visible === 1 ? Date.now() - sentAt : undefined),
      80_000,
    );
    // A look at the parked message, leaving it visible: it carries why it failed.
    const { Messages: parked } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, MessageAttributeNames: ['All'], VisibilityTimeout: 0 }),
    );
    await query('UPDATE redrive_gate SET open = true');
    const redrive = await run(
      process.execPath,
      [join(REPO_ROOT, 'scripts', 'redrive.ts'), 'PostgresRequestsQueue'],
      {
        cwd: REPO_ROOT,
        env: stack.env,
      },
    );
    const done = await until(
      'the redriven message processed',
      async () => {
        const rows = await query('SELECT id FROM redrive_done');
        return rows.length > 0 ? rows : undefined;
      },
      20_000,
    );
    const { Results } = await sqs.send(
      new ListMessageMoveTasksCommand({
        SourceArn: `arn:aws:sqs:us-east-1:000000000000:${DLQ}`,
        MaxResults: 10,
      }),
    );

    // Assess
    // Two receives one function timeout (28 s) apart, then the move: about a minute instead of the 15
    // minutes of the deployed settings.
    expect(parkedAfterMs).toBeLessThan(75_000);
    expect(parked?.[0]?.MessageAttributes?.['errorName']?.StringValue).toEqual(
      expect.stringMatching(/Error$/),
    );
    expect(parked?.[0]?.MessageAttributes?.['errorMessage']?.StringValue).toBeTruthy();
    expect(redrive.stderr).toContain('redriving in the local stack');
    expect(redrive.stdout).toContain(`COMPLETED: moved 1 of 1 message(s) from ${DLQ} to ${SOURCE}`);
    expect(done).toEqual([{ id: 'm1' }]);
    expect(await depth(dlq)).toEqual({ visible: 0, inFlight: 0 });
    expect(Results).toEqual([
      expect.objectContaining({
        Status: 'COMPLETED',
        SourceArn: `arn:aws:sqs:us-east-1:000000000000:${DLQ}`,
        DestinationArn: `arn:aws:sqs:us-east-1:000000000000:${SOURCE}`,
        ApproximateNumberOfMessagesMoved: 1,
        ApproximateNumberOfMessagesToMove: 1,
      }),
    ]);
  }, 150_000);

  it('lists only the matching queues when a name matches several', async () => {
    // Act
    const answer = await run(process.execPath, [join(REPO_ROOT, 'scripts', 'redrive.ts'), 'stripe'], {
      cwd: REPO_ROOT,
      env: stack.env,
    }).catch((error: { code?: number; stderr?: string }) => ({
      code: error.code,
      stderr: error.stderr ?? '',
    }));

    // Assess
    expect(answer).toMatchObject({ code: 1 });
    expect(answer.stderr).toContain(
      'stripe names several queues with a dead-letter queue: StripeEventsQueue, StripeRequestsQueue; give one of them',
    );
    expect(answer.stderr).not.toContain('PostgresRequestsQueue');
  });

  it('finds the queue of a function whose key has a hyphen (azure-blob)', async () => {
    // Act
    const answer = await redrive('azure-blob');

    // Assess
    expect(answer.stderr).not.toContain('no queue');
    expect(answer.code).toBe(0);
    expect(answer.stdout).toContain(
      'COMPLETED: moved 0 of 0 message(s) from circle-core-dev-AzureBlobRequestsDeadLetterQueue to circle-core-dev-AzureBlobRequestsQueue',
    );
  });

  it('answers a hyphenated function key with several queues (iot-core) with the matching ones', async () => {
    // Act
    const answer = await redrive('iot-core');

    // Assess
    expect(answer.code).toBe(1);
    expect(answer.stderr).toMatch(
      /iot-core names several queues with a dead-letter queue: (IotCore\w+Queue, )+IotCore\w+Queue; give one of them/,
    );
    expect(answer.stderr).not.toContain('PostgresRequestsQueue');
  });

  it('gives the local endpoint in the command that follows a --no-wait move on the local stack', async () => {
    // Act
    const answer = await redrive('S3RequestsQueue', '--no-wait');

    // Assess
    expect(answer.code).toBe(0);
    expect(answer.stdout).toContain(
      'follow it with: aws sqs list-message-move-tasks --source-arn arn:aws:sqs:us-east-1:000000000000:circle-core-dev-S3RequestsDeadLetterQueue' +
        ` --endpoint-url ${stack.awsUrl}`,
    );
  });

  it('says to pass --region or set AWS_REGION when --aws finds no region', async () => {
    // Prepare: no region anywhere the SDK looks (environment, profile, config file).
    const env: NodeJS.ProcessEnv = {
      ...stack.env,
      AWS_CONFIG_FILE: join(stack.localDir, 'no-aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: join(stack.localDir, 'no-aws-credentials'),
    };
    for (const name of ['AWS_REGION', 'AWS_DEFAULT_REGION', 'AWS_PROFILE', 'AWS_ENDPOINT_URL'])
      delete env[name];

    // Act
    const answer = await redrive('S3RequestsQueue', '--aws', { env });

    // Assess
    expect(answer.code).toBe(1);
    expect(answer.stderr).toContain('pass --region <region> or set AWS_REGION');
  });

  it('answers a queue it cannot find with the queues that have a dead-letter queue', async () => {
    // Act
    const answer = await run(process.execPath, [join(REPO_ROOT, 'scripts', 'redrive.ts'), 'NoSuchQueue'], {
      cwd: REPO_ROOT,
      env: stack.env,
    }).catch((error: { code?: number; stderr?: string }) => ({
      code: error.code,
      stderr: error.stderr ?? '',
    }));

    // Assess
    expect(answer).toMatchObject({ code: 1 });
    expect(answer.stderr).toContain(
      'no queue NoSuchQueue under circle-core-dev-*; queues with a dead-letter queue: ',
    );
    expect(answer.stderr).toContain('PostgresRequestsQueue');
  });
});
