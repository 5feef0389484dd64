/**
 * The object stores on the running local stack, driven from outside as a newcomer would (issue 13): for
 * each store served by default, a put/get/list round trip over three pages of keys, a conditional write,
 * and a put through the store's SQS queue, on the stack `npm start` serves with no secret set.
 */
import { randomUUID } from 'node:crypto';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StackProcess, startStackProcess } from './stack-process.ts';

/** The stores this suite drives, with their request queues' logical ids. */
const STORES = [
  { connector: 'azure-blob', queue: 'AzureBlobRequestsQueue' },
  { connector: 'gcs', queue: 'GcsRequestsQueue' },
] as const;

let stack: StackProcess;

async function post(path: string, input: unknown, idempotencyKey?: string) {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.apiKey}`,
      'content-type': 'application/json',
      ...(idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey }),
    },
    body: JSON.stringify(input),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  for (const name of ['AZURE_BLOB_ENDPOINT', 'GCS_API_URL', 'GCS_TOKEN_URL', 'CIRCLE_LOCAL_REAL']) {
    if (process.env[name] !== undefined) throw new Error(`unset ${name} to run this suite`);
  }
  stack = await startStackProcess({}, ['--only', STORES.map((store) => store.connector).join(',')]);
}, 180_000);

afterAll(async () => {
  if (stack !== undefined) await stack.stop();
});

describe.each(STORES)('Local stack: $connector by default', ({ connector, queue }) => {
  const base = `stack-${randomUUID()}/`;

  it('says what it talks to and answers health', async () => {
    // Act
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as {
      connectors: { connector: string; kind: string; target: string }[];
    };
    const own = await fetch(`${stack.apiUrl}/${connector}/health`, {
      headers: { authorization: `Bearer ${stack.apiKey}` },
    });
    // Assess
    expect(health.connectors.find((reach) => reach.connector === connector)).toMatchObject({
      kind: 'sandbox',
      // azurite's account path, or the GCS sandbox at the root as GCS's apiEndpoint is.
      target: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+(\/|$)/),
    });
    expect(own.status).toBe(200);
  });

  it('puts seven keys, reads one back and lists them in three pages', async () => {
    // Prepare
    for (let index = 0; index < 7; index += 1) {
      const put = await post(
        `/${connector}/put-object`,
        { key: `${base}page/${index}.txt`, body: `n${index}` },
        `${base}${index}`,
      );
      expect(put.status).toBe(200);
    }
    // Act
    const got = await post(`/${connector}/get-object`, { key: `${base}page/3.txt` });
    const pages: string[][] = [];
    let token: unknown;
    do {
      const page = await post(`/${connector}/list-objects`, {
        prefix: `${base}page/`,
        maxKeys: 3,
        ...(token === undefined ? {} : { continuationToken: token }),
      });
      pages.push((page.body['objects'] as { key: string }[]).map((object) => object.key));
      token = page.body['nextContinuationToken'];
    } while (token !== undefined && pages.length < 5);
    // Assess
    expect(got.body).toMatchObject({ tooLarge: false, body: 'n3' });
    expect(pages.map((page) => page.length)).toEqual([3, 3, 1]);
    expect(pages.flat()).toEqual(Array.from({ length: 7 }, (_, index) => `${base}page/${index}.txt`));
  });

  it('writes onlyIfAbsent once and answers 409 the second time', async () => {
    // Act
    const first = await post(
      `/${connector}/put-object`,
      { key: `${base}once.txt`, body: 'first', onlyIfAbsent: true },
      `${base}once-1`,
    );
    const second = await post(
      `/${connector}/put-object`,
      { key: `${base}once.txt`, body: 'second', onlyIfAbsent: true },
      `${base}once-2`,
    );
    const kept = await post(`/${connector}/get-object`, { key: `${base}once.txt` });
    // Assess
    expect(first.status).toBe(200);
    expect(second).toMatchObject({ status: 409, body: { code: 'conflict' } });
    expect(kept.body).toMatchObject({ body: 'first' });
  });

  it('writes an object sent through its SQS queue', async () => {
    // Prepare
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as {
      queues: { name: string; url: string }[];
    };
    const url = health.queues.find((candidate) => candidate.name.endsWith(`-${queue}`))?.url;
    const sqs = new SQSClient({
      endpoint: stack.awsUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    // Act
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: url,
        MessageBody: JSON.stringify({
          operation: 'put-object',
          input: { key: `${base}queued.txt`, body: 'via sqs' },
        }),
      }),
    );
    // Assess
    await until(
      'the queued put',
      async () => (await post(`/${connector}/head-object`, { key: `${base}queued.txt` })).status === 200,
    );
    await expect(post(`/${connector}/get-object`, { key: `${base}queued.txt` })).resolves.toMatchObject({
      body: { body: 'via sqs' },
    });
    sqs.destroy();
  });
});
