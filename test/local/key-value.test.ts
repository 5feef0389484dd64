/**
 * End to end: the key-value connectors on the local stack as `npm start` serves them with no setup, Redis
 * on the machine's server and DynamoDB on the embedded dynalite with the table from function.yml, driven
 * from outside over HTTP (the local API key) and SQS (the real SDK client against the AWS endpoint). Keys
 * are random per run: concurrent runs share the machine's Redis.
 */
import { randomUUID } from 'node:crypto';
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StackProcess, startStackProcess } from './stack-process.ts';

let stack: StackProcess;
let sqs: SQSClient;
const run = randomUUID();

async function http(
  path: string,
  body?: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      authorization: `Bearer ${stack.apiKey}`,
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  stack = await startStackProcess({}, ['--only', 'redis,dynamodb']);
  sqs = new SQSClient({
    endpoint: stack.awsUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
}, 300_000);

afterAll(async () => {
  sqs?.destroy();
  await stack?.stop();
});

describe.each([
  ['redis', 'Redis'],
  ['dynamodb', 'Dynamodb'],
])('Local stack: key-value on %s', (provider, logical) => {
  const key = (name: string): string => `e2e-${run}/${name}`;

  it('answers health, writes conditionally, reads, lists and counts over HTTP', async () => {
    // Act
    const health = await http(`/${provider}/health`);
    const put = await http(`/${provider}/put-value`, { key: key('a'), value: { n: 1 }, onlyIfAbsent: true });
    const again = await http(`/${provider}/put-value`, {
      key: key('a'),
      value: { n: 2 },
      onlyIfAbsent: true,
    });
    const cas = await http(`/${provider}/put-value`, {
      key: key('a'),
      value: { n: 3 },
      ifVersion: put.body['version'],
    });
    const got = await http(`/${provider}/get-value`, { key: key('a') });
    const counted = await http(`/${provider}/increment-value`, { key: key('count'), by: 5 });
    const listed = await http(`/${provider}/list-keys`, { prefix: `e2e-${run}/` });

    // Assess
    expect(health.status).toBe(200);
    expect(put.status).toBe(200);
    expect(again.status).toBe(409);
    expect(cas.status).toBe(200);
    expect(got.body).toMatchObject({ value: { n: 3 }, version: cas.body['version'] });
    expect(counted.body).toMatchObject({ value: 5 });
    expect((listed.body['keys'] as string[]).sort()).toEqual([key('a'), key('count')]);
  });

  it('runs a request from its SQS queue', async () => {
    // Prepare
    const { QueueUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: `circle-core-dev-${logical}RequestsQueue` }),
    );

    // Act
    await sqs.send(
      new SendMessageCommand({
        QueueUrl,
        MessageBody: JSON.stringify({ operation: 'put-value', input: { key: key('queued'), value: 'q' } }),
      }),
    );

    // Assess
    const got = await until('the queued value', async () => {
      const answer = await http(`/${provider}/get-value`, { key: key('queued') });
      return answer.status === 200 ? answer.body : undefined;
    });
    expect(got).toMatchObject({ key: key('queued'), value: 'q' });
  });
});
