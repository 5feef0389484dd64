/**
 * End to end: the local stack started as `npm start` starts it (ephemeral ports, temporary state), driven
 * only from outside: HTTP requests, the real AWS SDK clients against AWS_ENDPOINT_URL, and the CLI scripts.
 * The S3 connector runs on s3rver and the PostgreSQL connector on PGlite.
 */
import { execFile } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InvokeCommand, LambdaClient, ResourceNotFoundException } from '@aws-sdk/client-lambda';
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  ResourceNotFoundException as SecretNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  ListStateMachinesCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ListQueuesCommand,
  PurgeQueueCommand,
  QueueDoesNotExist,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GITHUB_SANDBOX_WEBHOOK_SECRET } from '../../scripts/local/sandboxes/index.ts';
import { REPO_ROOT, type StackProcess, startStackProcess } from './stack-process.ts';

const run = promisify(execFile);
const REGION = 'us-east-1';

let stack: StackProcess;
let sqs: SQSClient;
let secrets: SecretsManagerClient;
let sfn: SFNClient;
let lambda: LambdaClient;
let s3: S3Client;
const saved: Record<string, string | undefined> = {};

async function http(method: string, path: string, body?: unknown, key: string | null = stack.apiKey) {
  // Writes need an idempotency key (root README, Idempotency); reads ignore it.
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'idempotency-key': randomUUID(),
  };
  if (key !== null) headers['authorization'] = `Bearer ${key}`;
  const init: RequestInit = { method, headers };
  if (body !== undefined) init.body = JSON.stringify(body);
  const response = await fetch(`${stack.apiUrl}${path}`, init);
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text === '' ? undefined : (JSON.parse(text) as Record<string, unknown>),
  };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

async function cli(
  script: string,
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(REPO_ROOT, 'scripts', 'local', script), ...args],
      {
        cwd: REPO_ROOT,
        env: stack.env,
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

beforeAll(async () => {
  // A one-second visibility timeout and no batching window make five receives take about five seconds.
  stack = await startStackProcess({
    CIRCLE_LOCAL_VISIBILITY_TIMEOUT: '1',
    CIRCLE_LOCAL_BATCHING_WINDOW: '0',
  });
  // The SDK clients find the stack the way a user's would: through the environment.
  for (const name of ['AWS_ENDPOINT_URL', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']) {
    saved[name] = process.env[name];
  }
  process.env['AWS_ENDPOINT_URL'] = stack.awsUrl;
  process.env['AWS_ACCESS_KEY_ID'] = 'test';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'test';
  process.env['AWS_REGION'] = REGION;
  sqs = new SQSClient({});
  secrets = new SecretsManagerClient({});
  sfn = new SFNClient({});
  lambda = new LambdaClient({});
  s3 = new S3Client({ forcePathStyle: true });
}, 90_000);

afterAll(async () => {
  for (const client of [sqs, secrets, sfn, lambda, s3]) client?.destroy();
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  if (stack !== undefined) await stack.stop().catch(() => undefined);
});

describe('Local stack: HTTP API', () => {
  it('lists every function, route, queue and store on GET /health', async () => {
    // Act
    const { status, body } = await http('GET', '/health', undefined, null);

    // Assess
    expect(status).toBe(200);
    const health = body as {
      functions: { function: string; state: string }[];
      routes: { method: string; path: string; auth: string }[];
      queues: { name: string; maxReceiveCount?: number }[];
      stores: Record<string, string>;
    };
    expect(health.functions.map((fn) => fn.function)).toEqual(expect.arrayContaining(['s3', 'postgres']));
    expect(health.functions.find((fn) => fn.function === 's3')?.state).toBe('ready');
    expect(health.routes).toContainEqual({
      function: 's3',
      method: 'POST',
      path: '/s3/{operation}',
      auth: 'local API key',
    });
    expect(
      health.queues.find((queue) => queue.name === 'circle-core-dev-S3RequestsQueue')?.maxReceiveCount,
    ).toBe(5);
    expect(health.stores['s3']).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(health.stores['postgres']).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres$/);
  });

  it('refuses an operation route without the API key with a 401 problem and does not run the function', async () => {
    // Act
    const missing = await http('POST', '/s3/put-object', { key: 'e2e/denied.txt', body: 'no' }, null);
    const wrong = await http('POST', '/s3/put-object', { key: 'e2e/denied.txt', body: 'no' }, 'not-the-key');
    const listed = await http('POST', '/s3/list-objects', { prefix: 'e2e/denied' });

    // Assess
    for (const answer of [missing, wrong]) {
      expect(answer.status).toBe(401);
      expect(answer.headers.get('content-type')).toBe('application/problem+json');
      expect(answer.body).toMatchObject({ status: 401, title: 'Unauthorized' });
    }
    expect(listed.status).toBe(200);
    expect(listed.body?.['objects']).toEqual([]);
  });

  it('serves an operation with the key, and the object is in s3rver for the real S3 client', async () => {
    // Act
    const put = await http('POST', '/s3/put-object', { key: 'e2e/hello.txt', body: 'hello local' });
    const got = await http('POST', '/s3/get-object', { key: 'e2e/hello.txt' });
    const object = await s3.send(
      new GetObjectCommand({ Bucket: String(put.body?.['bucket']), Key: 'e2e/hello.txt' }),
    );

    // Assess
    expect(put.status).toBe(200);
    expect(got.body).toMatchObject({ key: 'e2e/hello.txt', body: 'hello local' });
    expect(await object.Body?.transformToString()).toBe('hello local');
  });

  it('keeps webhook routes open: the connector, not the gateway, answers', async () => {
    // Prepare: no API key; the connector checks GitHub's signature with its webhook secret instead (the one
    // the stack stores for its GitHub sandbox).
    const secret = GITHUB_SANDBOX_WEBHOOK_SECRET;
    const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    const deliver = (signature: string | undefined) =>
      fetch(`${stack.apiUrl}/github/webhook`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-github-event': 'ping',
          'x-github-delivery': 'e2e-delivery-1',
          ...(signature === undefined ? {} : { 'x-hub-signature-256': signature }),
        },
        body,
      });

    // Act
    const unsigned = await deliver(undefined);
    const signed = await deliver(`sha256=${createHmac('sha256', secret).update(body).digest('hex')}`);

    // Assess: the gateway's refusal would be a bare 401 with WWW-Authenticate; these are the connector's.
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers.get('www-authenticate')).toBeNull();
    expect(unsigned.headers.get('content-type')).toBe('application/problem+json');
    expect(await unsigned.json()).toMatchObject({
      code: 'unauthorized',
      detail: 'Webhook signature is missing',
    });
    expect(signed.status).toBe(200);
    expect(signed.headers.get('x-correlation-id')).not.toBeNull();
    expect(await signed.json()).toEqual({ pong: true, deliveryId: 'e2e-delivery-1' });
  });

  it('answers a 404 problem for a path no route serves', async () => {
    // Prepare
    const health = await http('GET', '/health', undefined, null);
    const routes = health.body?.['routes'] as { path: string }[];
    const providers = [...new Set(routes.map((route) => route.path.split('/')[1]))].sort();

    // Act
    const answer = await http('GET', '/nowhere');

    // Assess
    expect(answer.status).toBe(404);
    expect(answer.headers.get('content-type')).toBe('application/problem+json');
    expect(answer.body).toMatchObject({
      type: 'https://circle-core.dev/problems/not-found',
      title: 'Not Found',
      status: 404,
      detail:
        'No route serves /nowhere: no function has routes under /nowhere. ' +
        `Known: ${providers.map((name) => `/${name}`).join(', ')} (GET /health lists every route).`,
      knownProviders: providers,
    });
  });

  it('answers a 405 problem with Allow for a method no route of the path takes', async () => {
    // Act
    const answer = await http('GET', '/s3/put-object');
    const webhook = await http('DELETE', '/github/webhook', undefined, null);

    // Assess
    expect(answer.status).toBe(405);
    expect(answer.headers.get('allow')).toBe('POST');
    expect(answer.headers.get('content-type')).toBe('application/problem+json');
    expect(answer.body).toMatchObject({
      title: 'Method Not Allowed',
      status: 405,
      code: 'method_not_allowed',
    });
    expect(webhook.status).toBe(405);
    expect(webhook.headers.get('allow')).toBe('POST');
  });
});

describe('Local stack: Secrets Manager', () => {
  it('creates, reads, updates, describes, lists and deletes a secret', async () => {
    // Prepare
    const name = 'circle-core/dev/e2e/token';

    // Act
    const created = await secrets.send(new CreateSecretCommand({ Name: name, SecretString: 'v1' }));
    const first = await secrets.send(new GetSecretValueCommand({ SecretId: name }));
    await secrets.send(new PutSecretValueCommand({ SecretId: created.ARN, SecretString: 'v2' }));
    const second = await secrets.send(new GetSecretValueCommand({ SecretId: name }));
    const described = await secrets.send(new DescribeSecretCommand({ SecretId: name }));
    const listed = await secrets.send(new ListSecretsCommand({}));
    await secrets.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
    const gone = secrets.send(new GetSecretValueCommand({ SecretId: name }));

    // Assess
    expect(first.SecretString).toBe('v1');
    expect(second.SecretString).toBe('v2');
    expect(second.VersionId).not.toBe(first.VersionId);
    expect(described.Name).toBe(name);
    expect(listed.SecretList?.map((secret) => secret.Name)).toContain(name);
    await expect(gone).rejects.toBeInstanceOf(SecretNotFoundException);
  });

  it('serves a secret set with `npm run secrets` while the stack runs, and lists names only', async () => {
    // Act
    const set = await cli('secrets.ts', ['set', 'circle-core/dev/e2e/cli', 's3cr3t-value']);
    const value = await secrets.send(new GetSecretValueCommand({ SecretId: 'circle-core/dev/e2e/cli' }));
    const list = await cli('secrets.ts', ['list']);

    // Assess
    expect(set.code).toBe(0);
    expect(set.stdout).not.toContain('s3cr3t-value');
    expect(value.SecretString).toBe('s3cr3t-value');
    expect(list.stdout).toContain('circle-core/dev/e2e/cli');
    expect(list.stdout).not.toContain('s3cr3t-value');
  });
});

describe('Local stack: SQS API', () => {
  it('sends, receives, changes visibility, deletes and purges on a standard queue', async () => {
    // Prepare
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({ QueueName: 'e2e-plain', Attributes: { VisibilityTimeout: '30' } }),
    );
    const url = String(QueueUrl);

    // Act
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: 'one',
        MessageAttributes: { correlationId: { DataType: 'String', StringValue: 'c-1' } },
      }),
    );
    const batch = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: url,
        Entries: [
          { Id: 'a', MessageBody: 'two' },
          { Id: 'b', MessageBody: 'three' },
        ],
      }),
    );
    const counted = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['ApproximateNumberOfMessages'] }),
    );
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    const messages = received.Messages ?? [];
    const one = messages.find((message) => message.Body === 'one');
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: url,
        ReceiptHandle: one?.ReceiptHandle,
        VisibilityTimeout: 0,
      }),
    );
    const again = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }),
    );
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: again.Messages?.[0]?.ReceiptHandle }),
    );
    const deleted = await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: url,
        Entries: messages
          .filter((message) => message !== one)
          .map((message, index) => ({ Id: `d${index}`, ReceiptHandle: message.ReceiptHandle })),
      }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'purged' }));
    await sqs.send(new PurgeQueueCommand({ QueueUrl: url }));
    const after = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
    const listed = await sqs.send(new ListQueuesCommand({ QueueNamePrefix: 'e2e-' }));
    const looked = await sqs.send(new GetQueueUrlCommand({ QueueName: 'e2e-plain' }));

    // Assess
    expect(batch.Successful).toHaveLength(2);
    expect(counted.Attributes?.['ApproximateNumberOfMessages']).toBe('3');
    expect(messages.map((message) => message.Body).sort()).toEqual(['one', 'three', 'two']);
    expect(one?.MessageAttributes?.['correlationId']?.StringValue).toBe('c-1');
    expect(one?.Attributes?.['ApproximateReceiveCount']).toBe('1');
    expect(again.Messages?.[0]?.Body).toBe('one');
    expect(again.Messages?.[0]?.Attributes?.['ApproximateReceiveCount']).toBe('2');
    expect(deleted.Successful).toHaveLength(2);
    expect(after.Attributes).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
      VisibilityTimeout: '30',
    });
    expect(listed.QueueUrls).toContain(url);
    expect(looked.QueueUrl).toBe(url);
  });

  it('keeps FIFO order within a message group and deduplicates', async () => {
    // Prepare
    const { QueueUrl } = await sqs.send(
      new CreateQueueCommand({
        QueueName: 'e2e-order.fifo',
        Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true' },
      }),
    );
    const url = String(QueueUrl);
    const first = await sqs.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: 'g1-a', MessageGroupId: 'g1' }),
    );
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'g1-b', MessageGroupId: 'g1' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'g2-a', MessageGroupId: 'g2' }));
    const duplicate = await sqs.send(
      new SendMessageCommand({ QueueUrl: url, MessageBody: 'g1-a', MessageGroupId: 'g1' }),
    );

    // Act
    const head = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 1 }));
    const others = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    await sqs.send(
      new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: head.Messages?.[0]?.ReceiptHandle }),
    );
    const next = await sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));

    // Assess
    expect(duplicate.MessageId).toBe(first.MessageId);
    expect(head.Messages?.map((message) => message.Body)).toEqual(['g1-a']);
    expect(others.Messages?.map((message) => message.Body)).toEqual(['g2-a']);
    expect(next.Messages?.map((message) => message.Body)).toEqual(['g1-b']);
  });

  it('long-polls until a message arrives', async () => {
    // Prepare
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'e2e-poll' }));
    setTimeout(() => void sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'late' })), 300);

    // Act
    const started = Date.now();
    const received = await sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));

    // Assess
    expect(received.Messages?.[0]?.Body).toBe('late');
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it('answers QueueDoesNotExist for an unknown queue', async () => {
    // Act
    const lookup = sqs.send(new GetQueueUrlCommand({ QueueName: 'e2e-missing' }));

    // Assess
    await expect(lookup).rejects.toBeInstanceOf(QueueDoesNotExist);
  });
});

describe('Local stack: SQS event source mapping', () => {
  it('processes a batch once and moves its poison message to the DLQ at once, with its error', async () => {
    // Prepare
    await http('POST', '/postgres/query', { sql: 'CREATE TABLE e2e_items (id text NOT NULL)' });
    const source = String(
      (await sqs.send(new GetQueueUrlCommand({ QueueName: 'circle-core-dev-PostgresRequestsQueue' })))
        .QueueUrl,
    );
    const dlq = String(
      (
        await sqs.send(
          new GetQueueUrlCommand({ QueueName: 'circle-core-dev-PostgresRequestsDeadLetterQueue' }),
        )
      ).QueueUrl,
    );
    const insert = (id: string) =>
      JSON.stringify({
        operation: 'query',
        input: { sql: 'INSERT INTO e2e_items (id) VALUES ($1)', params: [id] },
      });
    const poisonBody = JSON.stringify({
      operation: 'query',
      input: { sql: 'INSERT INTO e2e_no_such_table (id) VALUES (1)' },
    });

    // Act
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: source,
        Entries: [
          { Id: 'a', MessageBody: insert('a') },
          { Id: 'poison', MessageBody: poisonBody },
          { Id: 'b', MessageBody: insert('b') },
          { Id: 'c', MessageBody: insert('c') },
        ],
      }),
    );
    const poisonId = sent.Successful?.find((entry) => entry.Id === 'poison')?.MessageId;
    await until('the poison message in the DLQ', async () => {
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      return Attributes?.['ApproximateNumberOfMessages'] === '1' ? true : undefined;
    });
    const parked = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
    );
    const rows = await http('POST', '/postgres/query', {
      sql: 'SELECT id, count(*)::int AS n FROM e2e_items GROUP BY id ORDER BY id',
    });
    const sourceLeft = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: source, AttributeNames: ['All'] }),
    );
    const poisonAttempts = stack.lines.filter(
      (line) => line['messageId'] === poisonId && /Record failed|Poison record/.test(String(line['message'])),
    );

    // Assess
    // The connector moved it (a new message in the DLQ): the body unchanged, the reason as attributes.
    expect(parked.Messages).toHaveLength(1);
    expect(parked.Messages?.[0]?.Body).toBe(poisonBody);
    expect(parked.Messages?.[0]?.MessageAttributes).toMatchObject({
      errorName: { DataType: 'String', StringValue: 'NotFoundError' },
      errorCode: { DataType: 'String', StringValue: 'not_found' },
      connectorVersion: { DataType: 'String' },
    });
    expect(rows.body?.['rows']).toEqual([
      { id: 'a', n: 1 },
      { id: 'b', n: 1 },
      { id: 'c', n: 1 },
    ]);
    // One invocation, not maxReceiveCount (five) of them.
    expect(poisonAttempts.map((line) => [line['message'], line['receiveCount']])).toEqual([
      ['Poison record moved to the dead-letter queue', '1'],
    ]);
    expect(sourceLeft.Attributes).toMatchObject({
      ApproximateNumberOfMessages: '0',
      ApproximateNumberOfMessagesNotVisible: '0',
    });
  }, 40_000);
});

describe('Local stack: Lambda Invoke', () => {
  it('invokes a function by ARN and returns its result', async () => {
    // Act
    const answer = await lambda.send(
      new InvokeCommand({
        FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:circle-core-dev-s3',
        Payload: JSON.stringify({ operation: 'head-object', input: { key: 'e2e/hello.txt' } }),
        LogType: 'Tail',
      }),
    );

    // Assess
    expect(answer.StatusCode).toBe(200);
    expect(answer.FunctionError).toBeUndefined();
    expect(JSON.parse(Buffer.from(answer.Payload ?? []).toString('utf8'))).toMatchObject({
      key: 'e2e/hello.txt',
      size: 11,
    });
    expect(Buffer.from(String(answer.LogResult), 'base64').toString('utf8')).toContain('invocation');
  });

  it('reports a handler failure as an Unhandled function error with the core error name', async () => {
    // Act
    const answer = await lambda.send(
      new InvokeCommand({
        FunctionName: 'circle-core-dev-s3',
        Payload: JSON.stringify({ operation: 'no-such-operation' }),
      }),
    );

    // Assess
    expect(answer.FunctionError).toBe('Unhandled');
    expect(JSON.parse(Buffer.from(answer.Payload ?? []).toString('utf8'))).toMatchObject({
      errorType: 'NotFoundError',
    });
  });

  it('answers ResourceNotFoundException for an unknown function', async () => {
    // Act
    const answer = lambda.send(new InvokeCommand({ FunctionName: 'circle-core-dev-nothing', Payload: '{}' }));

    // Assess
    await expect(answer).rejects.toBeInstanceOf(ResourceNotFoundException);
  });
});

describe('Local stack: Step Functions', () => {
  const s3Arn = 'arn:aws:lambda:us-east-1:000000000000:function:circle-core-dev-s3';
  const definition = {
    StartAt: 'Put',
    States: {
      Put: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: {
          FunctionName: s3Arn,
          Payload: {
            operation: 'put-object',
            input: { 'key.$': '$.key', 'body.$': '$.body' },
            'idempotencyKey.$': "States.Format('{}:Put', $$.Execution.Id)",
            trigger: 'task',
          },
        },
        ResultSelector: { 'etag.$': '$.Payload.etag' },
        ResultPath: '$.put',
        Next: 'Get',
      },
      Get: {
        Type: 'Task',
        Resource: s3Arn,
        Parameters: { operation: 'get-object', input: { 'key.$': '$.key' }, trigger: 'task' },
        ResultSelector: { 'body.$': '$.body' },
        ResultPath: '$.got',
        Next: 'Missing',
      },
      Missing: {
        Type: 'Task',
        Resource: s3Arn,
        Parameters: { operation: 'get-object', input: { key: 'e2e/not-there.txt' }, trigger: 'task' },
        Catch: [{ ErrorEquals: ['NotFoundError'], ResultPath: '$.missing', Next: 'Done' }],
        Next: 'Done',
      },
      Done: { Type: 'Succeed' },
    },
  };

  async function finished(executionArn: string): Promise<DescribeExecutionCommandOutput> {
    return until('the execution to finish', async () => {
      const described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
      return described.status === 'RUNNING' ? undefined : described;
    });
  }

  it('runs a state machine whose Lambda tasks are the local functions, and records its history', async () => {
    // Prepare
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: 'e2e-copy',
        definition: JSON.stringify(definition),
        roleArn: 'arn:aws:iam::000000000000:role/e2e',
      }),
    );

    // Act
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({
        stateMachineArn,
        input: JSON.stringify({ key: 'e2e/flow.txt', body: 'from a workflow' }),
      }),
    );
    const described = await finished(String(executionArn));
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    const listed = await sfn.send(new ListExecutionsCommand({ stateMachineArn }));
    const machines = await sfn.send(new ListStateMachinesCommand({}));

    // Assess
    expect(described.status).toBe('SUCCEEDED');
    const output = JSON.parse(String(described.output)) as Record<string, Record<string, unknown>>;
    expect(output['got']).toEqual({ body: 'from a workflow' });
    expect(output['put']?.['etag']).toEqual(expect.any(String));
    expect(output['missing']?.['Error']).toBe('NotFoundError');
    const types = history.events?.map((event) => event.type) ?? [];
    expect(types[0]).toBe('ExecutionStarted');
    expect(types).toContain('TaskStateEntered');
    expect(types).toContain('TaskFailed');
    expect(types.at(-1)).toBe('ExecutionSucceeded');
    expect(listed.executions?.map((execution) => execution.executionArn)).toContain(executionArn);
    expect(machines.stateMachines?.map((machine) => machine.name)).toContain('e2e-copy');
  });

  it('fails an execution with the error name of the failing task', async () => {
    // Prepare
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name: 'e2e-fail',
        definition: JSON.stringify({
          StartAt: 'Missing',
          States: { Missing: { ...definition.States.Missing, Catch: undefined, End: true, Next: undefined } },
        }),
        roleArn: 'arn:aws:iam::000000000000:role/e2e',
      }),
    );

    // Act
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn, input: '{}' }));
    const described = await finished(String(executionArn));

    // Assess
    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('NotFoundError');
  });

  it('runs a state machine with `npm run workflow` and prints its status and output', async () => {
    // Act
    const result = await cli('workflow.ts', [
      'e2e-copy',
      '--input',
      JSON.stringify({ key: 'e2e/cli.txt', body: 'via cli' }),
    ]);

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('e2e-copy: SUCCEEDED');
    expect(result.stdout).toContain('via cli');
  });

  it('refuses an --input that is neither JSON nor a file, naming both, with no stack trace', async () => {
    // Act
    const result = await cli('workflow.ts', ['e2e-copy', '--input', 'not json']);

    // Assess
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(
      /^--input: not JSON \(Unexpected token .*\) and no file named 'not json'\n$/,
    );
    expect(result.stderr).not.toContain('ENOENT');
    expect(result.stdout).toBe('');
  });

  it('refuses an --input file that holds invalid JSON, naming the file, with no stack trace', async () => {
    // Prepare
    const folder = await mkdtemp(join(tmpdir(), 'circle-workflow-input-'));
    const file = join(folder, 'input.json');
    await writeFile(file, '{"key": "e2e/cli.txt",');

    try {
      // Act
      const result = await cli('workflow.ts', ['e2e-copy', '--input', file]);

      // Assess
      expect(result.code).not.toBe(0);
      expect(result.stderr).toMatch(new RegExp(`^--input: file '${file}' is not valid JSON \\(.+\\)\\n$`));
      expect(result.stdout).toBe('');
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});

describe('Local stack: CLI', () => {
  it('invokes a function once with a task event built around an input', async () => {
    // Act
    const result = await cli('invoke.ts', [
      's3',
      '--task',
      '--operation',
      'head-object',
      '--input',
      '{"key":"e2e/hello.txt"}',
    ]);

    // Assess
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ key: 'e2e/hello.txt', size: 11 });
  });

  it('invokes a function with an HTTP API event and returns the gateway response shape', async () => {
    // Act
    const result = await cli('invoke.ts', [
      's3',
      '--http',
      '--operation',
      'head-object',
      '--input',
      '{"key":"e2e/hello.txt"}',
    ]);

    // Assess
    expect(result.code).toBe(0);
    const response = JSON.parse(result.stdout) as { statusCode: number; body: string };
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ size: 11 });
  });

  it('invokes a function with an SQS event, prints its batch response and says the record was dead-lettered', async () => {
    // Act
    const result = await cli('invoke.ts', [
      's3',
      '--sqs',
      '--operation',
      'head-object',
      '--input',
      '{"key":"e2e/nothing.txt"}',
    ]);

    const dlq = String(
      (await sqs.send(new GetQueueUrlCommand({ QueueName: 'circle-core-dev-S3RequestsDeadLetterQueue' })))
        .QueueUrl,
    );
    const parked = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
    );

    // Assess: the missing object can never be read, so the record went to the DLQ with its reason, and
    // invoke says so and exits 1.
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toEqual({ batchItemFailures: [] });
    expect(result.stderr).toContain(
      'failed and was moved to the dead-letter queue circle-core-dev-S3RequestsDeadLetterQueue: NotFoundError',
    );
    expect(parked.Messages?.map((message) => message.MessageAttributes?.['errorName']?.StringValue)).toEqual([
      'NotFoundError',
    ]);
  });

  it('reports that a function without schedule events has none to fire', async () => {
    // Act
    const result = await cli('schedule.ts', ['s3']);

    // Assess
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('s3 has no schedule event');
  });
});

describe('Local stack: shutdown', () => {
  it('stops cleanly on SIGINT and removes its advertisement', async () => {
    // Act
    const { code, leftStackFile } = await stack.stop();

    // Assess
    expect(code).toBe(0);
    expect(leftStackFile).toBe(false);
  });
});
