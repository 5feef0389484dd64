/**
 * The `rag-ingest` and `rag-answer` workflows end to end on the local stack (as `npm start` runs it): two
 * documents put into S3, chunked by the S3 connector's chunk-object, embedded by a model sandbox and upserted
 * into a vector store, each chosen by the input; a second run writes nothing; a question is answered
 * citing the passage it was asked about. Three combinations, so every store and every chat provider runs:
 * OpenAI + pgvector (chat OpenAI), Bedrock + Qdrant (chat Anthropic), OpenAI + Pinecone (chat Bedrock).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finished, startWorkflowWorld, stateMachineArn, type WorkflowWorld } from './harness.ts';

let world: WorkflowWorld;
const run = randomBytes(4).toString('hex');

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
  const body = (await response.json()) as Record<string, unknown>;
  expect(response.status, JSON.stringify(body)).toBe(200);
  return body;
}

/** Starts an execution through Step Functions' API on the stack and waits for its end. */
async function runWorkflow(name: string, input: unknown): Promise<{ status: string; output: unknown }> {
  const { executionArn = '' } = await world.sfn.send(
    new StartExecutionCommand({ stateMachineArn: stateMachineArn(name), input: JSON.stringify(input) }),
  );
  const execution = await finished(world, executionArn, 180_000);
  return {
    status: execution.status ?? '',
    output:
      execution.output === undefined
        ? { error: execution.error, cause: execution.cause }
        : JSON.parse(execution.output),
  };
}

/** A long document (two batch parts of 16 chunks) about gardening, sharing no word with the question. */
const GARDEN = Array.from(
  { length: 60 },
  (_, i) => `Section ${i}. Tomatoes need sun, water and compost; prune side shoots weekly in bed ${i}.`,
)
  .join(' ')
  .repeat(4);
const LIGHTHOUSE =
  'The lighthouse keeper feeds the cat at midnight, then climbs the stairs to trim the lamp.';

interface Batch {
  key: string;
  count: number;
  written: boolean;
}
interface IngestOutput {
  wroteAny: boolean;
  documents: { key: string; version: string; chunkCount: number; batches: Batch[] }[];
}

beforeAll(async () => {
  // PG_URL empty: pgvector runs on the stack's embedded PGlite, which has the vector extension.
  world = await startWorkflowWorld({ env: { PG_URL: '' } });
}, 240_000);

afterAll(async () => {
  await world?.close();
});

describe.each([
  { embeddingProvider: 'openai', vectorStore: 'pgvector', chatProvider: 'openai' },
  { embeddingProvider: 'bedrock', vectorStore: 'qdrant', chatProvider: 'anthropic' },
  { embeddingProvider: 'openai', vectorStore: 'pinecone', chatProvider: 'bedrock' },
])('Workflows rag-ingest and rag-answer: $embeddingProvider + $vectorStore, chat $chatProvider', (choice) => {
  const collection = `rag-${choice.vectorStore}-${run}`;
  const gardenKey = `docs/${run}/${choice.vectorStore}/garden.md`;
  const lighthouseKey = `docs/${run}/${choice.vectorStore}/lighthouse.md`;
  let lighthouseEtag = '';

  it('ingests both documents once, and a second run embeds and writes nothing new', async () => {
    // Prepare
    await api(`/${choice.vectorStore}/create-collection`, { collection, dimension: 256, metric: 'cosine' });
    await api('/s3/put-object', { key: gardenKey, body: GARDEN, contentType: 'text/markdown' });
    const put = await api('/s3/put-object', {
      key: lighthouseKey,
      body: LIGHTHOUSE,
      contentType: 'text/plain',
    });
    lighthouseEtag = String(put['etag']);
    const input = { keys: [gardenKey, lighthouseKey], collection, ...choice, correlationId: `rag-${run}` };

    // Act
    const first = await runWorkflow('rag-ingest', input);
    const stored = await api(`/${choice.vectorStore}/describe-collection`, { collection });
    const again = await runWorkflow('rag-ingest', input);
    const after = await api(`/${choice.vectorStore}/describe-collection`, { collection });

    // Assess: the first run wrote every chunk, in two batch parts for the long document.
    expect(first, JSON.stringify(first)).toMatchObject({ status: 'SUCCEEDED' });
    const ingested = first.output as IngestOutput;
    expect(ingested.wroteAny).toBe(true);
    const [garden, lighthouse] = ingested.documents;
    expect(garden?.batches.length).toBe(2);
    expect(garden?.batches.every((batch) => batch.written)).toBe(true);
    expect(lighthouse).toMatchObject({ key: lighthouseKey, version: lighthouseEtag, chunkCount: 1 });
    expect(stored['vectorCount']).toBe((garden?.chunkCount ?? 0) + 1);
    // The second run found every id stored: no batch embedded or written, the count unchanged.
    expect(again).toMatchObject({ status: 'SUCCEEDED' });
    const repeated = again.output as IngestOutput;
    expect(repeated.wroteAny).toBe(false);
    expect(repeated.documents.flatMap((document) => document.batches).some((batch) => batch.written)).toBe(
      false,
    );
    expect(after['vectorCount']).toBe(stored['vectorCount']);
  }, 240_000);

  it('answers a question citing the passage it asks about, from the retrieved ones only', async () => {
    // Act
    const result = await runWorkflow('rag-answer', {
      question: 'Who feeds the cat at midnight in the lighthouse?',
      collection,
      ...choice,
    });

    // Assess
    expect(result, JSON.stringify(result)).toMatchObject({ status: 'SUCCEEDED' });
    const output = result.output as {
      answer: string;
      sources: string[];
      passages: { id: string; source: string; text: string; score: number }[];
    };
    const cited = `${lighthouseKey}@${lighthouseEtag}#0`;
    expect(output.passages[0]).toMatchObject({ id: cited, source: lighthouseKey, text: LIGHTHOUSE });
    expect(output.passages.length).toBe(4);
    expect(output.sources).toEqual([cited]);
    expect(typeof output.answer).toBe('string');
  }, 120_000);
});
