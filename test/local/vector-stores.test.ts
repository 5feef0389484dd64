/**
 * End to end: the vector-store connectors on the local stack as `npm start` serves them with no setup,
 * pgvector on the stack's embedded PGlite (which loads the `vector` extension), Qdrant and Pinecone on their sandboxes,
 * driven from outside over HTTP (the local API key) and SQS (the real SDK client against the AWS endpoint).
 * The same calls and the same answers on both: the interface is what a workflow programs against.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { GetQueueUrlCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StackProcess, startStackProcess } from './stack-process.ts';

let stack: StackProcess;
let sqs: SQSClient;
const run = randomBytes(4).toString('hex');

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
  stack = await startStackProcess({}, ['--only', 'pgvector,qdrant,pinecone']);
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
  ['pgvector', 'Pgvector'],
  ['qdrant', 'Qdrant'],
  ['pinecone', 'Pinecone'],
])('Local stack: vector store on %s', (provider, logical) => {
  const collection = `e2e-${run}`;

  it('answers health, creates a collection, upserts, queries with a filter and deletes over HTTP', async () => {
    // Act
    const health = await http(`/${provider}/health`);
    const created = await http(`/${provider}/create-collection`, {
      collection,
      dimension: 3,
      metric: 'cosine',
    });
    const upserted = await http(`/${provider}/upsert-vectors`, {
      collection,
      vectors: [
        { id: 'handbook#1', values: [1, 0, 0], metadata: { source: 'handbook.pdf', page: 1 } },
        { id: 'handbook#2', values: [0, 1, 0], metadata: { source: 'handbook.pdf', page: 2 } },
        { id: 'faq#1', values: [0.9, 0.1, 0], metadata: { source: 'faq.md', page: 1 } },
      ],
    });
    const queried = await http(`/${provider}/query-vectors`, {
      collection,
      vector: [1, 0.05, 0],
      topK: 2,
      filter: { source: 'handbook.pdf' },
    });
    const deleted = await http(`/${provider}/delete-vectors`, { collection, ids: ['handbook#2'] });
    const described = await http(`/${provider}/describe-collection`, { collection });

    // Assess
    expect(health.status).toBe(200);
    expect(created.body).toMatchObject({ created: true, dimension: 3, metric: 'cosine' });
    expect(upserted.body).toEqual({ upserted: 3 });
    expect((queried.body['matches'] as { id: string }[]).map((match) => match.id)).toEqual([
      'handbook#1',
      'handbook#2',
    ]);
    expect(deleted.status).toBe(200);
    expect(described.body).toMatchObject({ collection, vectorCount: 2 });
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
        MessageBody: JSON.stringify({
          operation: 'upsert-vectors',
          input: { collection, namespace: 'queued', vectors: [{ id: 'q', values: [0, 0, 1] }] },
        }),
      }),
    );

    // Assess
    const fetched = await until('the queued vector', async () => {
      const answer = await http(`/${provider}/fetch-vectors`, {
        collection,
        namespace: 'queued',
        ids: ['q'],
      });
      return (answer.body['vectors'] as unknown[] | undefined)?.length === 1 ? answer.body : undefined;
    });
    expect(fetched).toMatchObject({ vectors: [{ id: 'q', metadata: {} }], missing: [] });
  });
});
