/**
 * The Qdrant connector against the Qdrant contract fake (`scripts/local/sandboxes/qdrant.ts`) and a local
 * Secrets Manager: the operations on each trigger, and the failure paths every connector must survive
 * (rotation, refused key, not found, conflict, throttling, 5xx, malformed, hung and oversized answers).
 */
import { configureSecrets, resetCircuitBreakers } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { FakeServer } from '../../../scripts/local/sandboxes/kit/index.ts';
import {
  QDRANT_SANDBOX_KEY,
  type QdrantFakeState,
  startQdrantFake,
} from '../../../scripts/local/sandboxes/qdrant.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';
import { pointId } from './client.ts';

const KEY_SECRET = 'test/qdrant/api-key';
const ROTATED_KEY = 'qdrant-rotated-key-4f1e';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let fake: FakeServer<QdrantFakeState>;
let secrets: SecretsManagerPeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };
const responses: string[] = [];

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({ path: `/qdrant/${operation}`, body });
  const response = (await connector.handler(event, lambdaContext())) as HttpResult;
  responses.push(response.body);
  return response;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

const DOCS = [
  { id: 'handbook#1', values: [1, 0, 0], metadata: { source: 'handbook.pdf', page: 1 } },
  { id: 'handbook#2', values: [0, 1, 0], metadata: { source: 'handbook.pdf', page: 2 } },
  { id: 'faq#1', values: [0.6, 0.8, 0], metadata: { source: 'faq.md', page: 1 } },
];

beforeAll(async () => {
  fake = await startQdrantFake();
  secrets = await startSecretsManager({ [KEY_SECRET]: QDRANT_SANDBOX_KEY });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    QDRANT_API_URL: fake.url,
    QDRANT_API_KEY_SECRET: KEY_SECRET,
    QDRANT_TIMEOUT_MS: '1000',
    QDRANT_RATE_LIMIT: '0',
  });
  configureSecrets({});
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await fake.close();
  await secrets.close();
});

beforeEach(async () => {
  fake.reset();
  await secrets.set(KEY_SECRET, QDRANT_SANDBOX_KEY);
  configureSecrets({});
  resetCircuitBreakers();
  logs = captureLogs();
  await connector.run('create-collection', { collection: 'docs', dimension: 3, metric: 'dot' });
  await connector.run('upsert-vectors', { collection: 'docs', vectors: DOCS });
});

afterEach(() => {
  logs.restore();
});

describe('Connector: qdrant', () => {
  describe('Operations over HTTP', () => {
    it('creates, upserts, queries with a filter, fetches, deletes and describes, with the api-key header', async () => {
      // Act
      const created = await call('create-collection', {
        collection: 'notes',
        dimension: 2,
        metric: 'euclidean',
      });
      const queried = await call('query-vectors', {
        collection: 'docs',
        vector: [1, 0.6, 0],
        topK: 2,
        filter: { page: { $lte: 1 } },
        includeValues: true,
      });
      const fetched = await call('fetch-vectors', { collection: 'docs', ids: ['faq#1', 'gone'] });
      const deleted = await call('delete-vectors', { collection: 'docs', filter: { source: 'faq.md' } });
      const described = await call('describe-collection', { collection: 'docs' });
      // Assess
      expect(parsed(created)).toEqual({
        collection: 'notes',
        dimension: 2,
        metric: 'euclidean',
        vectorCount: 0,
        created: true,
      });
      expect(fake.state.collections.get('notes')).toMatchObject({ size: 2, distance: 'Euclid' });
      expect(parsed(queried)).toEqual({
        matches: [
          {
            id: 'faq#1',
            score: expect.closeTo(1.08, 5),
            metadata: { source: 'faq.md', page: 1 },
            values: [0.6, 0.8, 0],
          },
          {
            id: 'handbook#1',
            score: expect.closeTo(1, 5),
            metadata: { source: 'handbook.pdf', page: 1 },
            values: [1, 0, 0],
          },
        ],
      });
      expect(parsed(fetched)).toEqual({
        vectors: [{ id: 'faq#1', values: [0.6, 0.8, 0], metadata: { source: 'faq.md', page: 1 } }],
        missing: ['gone'],
      });
      expect(parsed(deleted)).toEqual({ deleted: null });
      expect(parsed(described)).toEqual({ collection: 'docs', dimension: 3, metric: 'dot', vectorCount: 2 });
      const upsert = fake.logFor('upsert-points')[0];
      expect(upsert?.query).toEqual({ wait: 'true' });
      expect(upsert?.token).toBe(QDRANT_SANDBOX_KEY);
      expect(
        fake.state.collections.get('docs')?.points.get(pointId('', 'handbook#1').replaceAll('-', ''))
          ?.payload,
      ).toEqual({
        namespace: '',
        id: 'handbook#1',
        metadata: { source: 'handbook.pdf', page: 1 },
      });
    });

    it('answers 404 for a missing collection, 409 for another dimension, 400 for a wrong-size vector or an unknown field', async () => {
      // Act
      const missing = await call('query-vectors', { collection: 'nowhere', vector: [1, 0, 0] });
      const conflict = await call('create-collection', { collection: 'docs', dimension: 4, metric: 'dot' });
      const dimension = await call('upsert-vectors', {
        collection: 'docs',
        vectors: [{ id: 'x', values: [1, 0] }],
      });
      const unknown = await call('query-vectors', { collection: 'docs', vector: [1, 0, 0], top_k: 3 });
      // Assess
      expect([missing, conflict, dimension, unknown].map((r) => r.statusCode)).toEqual([404, 409, 400, 400]);
      expect(parsed(conflict)['detail']).toMatch(/exists with dimension 3 and metric dot/);
      expect(parsed(dimension)['errors']).toEqual([
        { pointer: '/vectors/0/values', message: 'expected 3 numbers' },
      ]);
      expect(parsed(unknown)['errors']).toEqual([{ pointer: '/top_k', message: 'unknown field' }]);
      expect(fake.logFor('upsert-points')).toHaveLength(1);
    });

    it('answers 400 naming each number beyond float32 range in an upsert or a query, and sends neither', async () => {
      // Act
      const upsert = await call('upsert-vectors', {
        collection: 'docs',
        vectors: [{ id: 'huge', values: [1e308, 1e308, 1] }],
      });
      const query = await call('query-vectors', { collection: 'docs', vector: [0, -3.5e38, 1] });
      const largest = await call('upsert-vectors', {
        collection: 'docs',
        vectors: [{ id: 'largest', values: [3.4028234663852886e38, 0, -3.4028234663852886e38] }],
      });
      // Assess
      const message = 'expected a number within float32 range (magnitude at most 3.4028234663852886e+38)';
      expect(upsert.statusCode).toBe(400);
      expect(parsed(upsert)['errors']).toEqual([
        { pointer: '/vectors/0/values/0', message },
        { pointer: '/vectors/0/values/1', message },
      ]);
      expect(query.statusCode).toBe(400);
      expect(parsed(query)['errors']).toEqual([{ pointer: '/vector/1', message }]);
      expect(largest.statusCode).toBe(200);
      expect(fake.logFor('upsert-points')).toHaveLength(2);
      expect(fake.logFor('query-points')).toHaveLength(0);
      expect(fake.logFor('search-points')).toHaveLength(0);
    });

    it('maps a 400 of Qdrant itself to a 400 with the row’s meaning', async () => {
      // Prepare: another client changed the collection behind the connector's back.
      fake.inject(
        {
          kind: 'answer',
          answer: {
            status: 400,
            json: { status: { error: 'Wrong input: Vector dimension error' }, time: 0 },
          },
        },
        { route: 'query-points' },
      );
      // Act
      const response = await call('query-vectors', { collection: 'docs', vector: [1, 0, 0] });
      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['detail']).toContain('Qdrant refused the input');
    });
  });

  describe('Answers of other clients', () => {
    const ok = (result: unknown) => ({
      kind: 'answer' as const,
      answer: { status: 200, json: { result, status: 'ok', time: 0 } },
    });

    it('answers 409 for a collection of named vectors or of Manhattan distance, and 0 vectors for no count', async () => {
      // Prepare
      const collection = (vectors: unknown, count: number | null) =>
        ok({ status: 'green', points_count: count, config: { params: { vectors } } });
      fake.inject(collection({ text: { size: 3, distance: 'Cosine' } }, 1), { route: 'get-collection' });
      fake.inject(collection({ size: 3, distance: 'Manhattan' }, 1), { route: 'get-collection' });
      fake.inject(collection({ size: 3, distance: 'Dot' }, null), { route: 'get-collection' });

      // Act
      const named = await call('describe-collection', { collection: 'docs' });
      const manhattan = await call('describe-collection', { collection: 'docs' });
      const uncounted = await call('describe-collection', { collection: 'docs' });

      // Assess
      expect(named.statusCode).toBe(409);
      expect(parsed(named)['detail']).toContain('named vectors or a metric the interface lacks');
      expect(manhattan.statusCode).toBe(409);
      expect(parsed(uncounted)).toEqual({ collection: 'docs', dimension: 3, metric: 'dot', vectorCount: 0 });
    });

    it('answers points written without this connector’s payload by their Qdrant id, with empty metadata and values, and ignores another namespace’s point', async () => {
      // Prepare
      fake.inject(ok({ points: [{ id: 7 }] }), { route: 'query-points' });
      const foreign = {
        id: pointId('', 'other'),
        payload: { namespace: 'tenant-b', id: 'other' },
        vector: [1],
      };
      fake.inject(
        ok([{ id: pointId('', 'faq#1'), payload: { namespace: '', id: 'faq#1' }, vector: null }, foreign]),
        { route: 'retrieve-points' },
      );

      // Act
      const queried = await call('query-vectors', {
        collection: 'docs',
        vector: [1, 0, 0],
        includeValues: true,
      });
      const fetched = await call('fetch-vectors', { collection: 'docs', ids: ['faq#1', 'other'] });

      // Assess
      expect(parsed(queried)).toEqual({ matches: [{ id: '7', score: 0, metadata: {}, values: [] }] });
      expect(parsed(fetched)).toEqual({
        vectors: [{ id: 'faq#1', values: [], metadata: {} }],
        missing: ['other'],
      });
    });

    it('passes on a refusal of create-collection other than a conflict, without describing the collection', async () => {
      // Prepare: a read-only key (the kit reads the secret again and retries once after a 403).
      fake.inject({ kind: 'forbidden' }, { route: 'create-collection', times: Number.POSITIVE_INFINITY });
      const described = fake.logFor('get-collection').length;

      // Act
      const response = await call('create-collection', { collection: 'docs', dimension: 3, metric: 'dot' });

      // Assess
      expect(response.statusCode).toBe(403);
      expect(fake.logFor('get-collection')).toHaveLength(described);
    });
  });

  describe('List metadata', () => {
    it('reads a point another tool wrote with a list of strings, filters on it, and writes one', async () => {
      // Prepare: `tags` as an array payload, as LangChain and Qdrant's own clients write it.
      const key = pointId('', 'faq#1').replaceAll('-', '');
      const faq = fake.state.collections.get('docs')?.points.get(key);
      if (faq === undefined) throw new Error('seeded point missing');
      const metadata = { source: 'faq.md', page: 1, tags: ['billing', 'refunds'] };
      faq.payload = { ...faq.payload, metadata };

      // Act
      const queried = await call('query-vectors', { collection: 'docs', vector: [1, 0.6, 0], topK: 1 });
      const fetched = await call('fetch-vectors', { collection: 'docs', ids: ['faq#1'] });
      const filtered = await call('query-vectors', {
        collection: 'docs',
        vector: [1, 0.6, 0],
        filter: { tags: { $in: ['refunds', 'x'] } },
      });
      const written = await call('upsert-vectors', {
        collection: 'docs',
        vectors: [{ id: 'tagged', values: [0, 0, 1], metadata: { tags: ['x', 'y'] } }],
      });
      const excluded = await call('query-vectors', {
        collection: 'docs',
        vector: [1, 0.6, 0],
        filter: { tags: { $nin: ['refunds', 'y'] } },
      });

      // Assess
      expect(queried.statusCode).toBe(200);
      expect(parsed(queried)).toEqual({ matches: [{ id: 'faq#1', score: expect.any(Number), metadata }] });
      expect(fetched.statusCode).toBe(200);
      expect(parsed(fetched)).toEqual({
        vectors: [{ id: 'faq#1', values: [0.6, 0.8, 0], metadata }],
        missing: [],
      });
      expect((parsed(filtered)['matches'] as { id: string }[]).map((m) => m.id)).toEqual(['faq#1']);
      expect(written.statusCode).toBe(200);
      expect(
        fake.state.collections.get('docs')?.points.get(pointId('', 'tagged').replaceAll('-', ''))?.payload,
      ).toEqual({ namespace: '', id: 'tagged', metadata: { tags: ['x', 'y'] } });
      expect((parsed(excluded)['matches'] as { id: string }[]).map((m) => m.id).sort()).toEqual([
        'handbook#1',
        'handbook#2',
      ]);
    });
  });

  describe('Metadata another tool wrote', () => {
    const LANGCHAIN = { source: 'a.pdf', loc: { lines: { from: 1, to: 9 } } };
    const ODD = { source: 'b.pdf', page: null, nums: [1, 2, 3], mixed: ['a', 1, true, null, { x: 1 }] };
    const put = (body: unknown) =>
      fetch(`${fake.url}/collections/docs/points?wait=true`, {
        method: 'PUT',
        headers: { 'api-key': QDRANT_SANDBOX_KEY, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });

    it('reads nested objects, nulls and lists of numbers or of anything as stored, and filters on a flat field beside them', async () => {
      // Prepare: a raw upsert, as LangChain's Qdrant integration writes (`page_content` beside `metadata`).
      const written = await put({
        points: [
          {
            id: pointId('', 'lc#1'),
            vector: [0, 0, 1],
            payload: { namespace: '', id: 'lc#1', page_content: 'Leave policy', metadata: LANGCHAIN },
          },
          {
            id: pointId('', 'odd#1'),
            vector: [0, 0.1, 0.9],
            payload: { namespace: '', id: 'odd#1', metadata: ODD },
          },
        ],
      });

      // Act
      const queried = await call('query-vectors', { collection: 'docs', vector: [0, 0, 1], topK: 2 });
      const fetched = await call('fetch-vectors', { collection: 'docs', ids: ['odd#1', 'lc#1'] });
      const bySource = await call('query-vectors', {
        collection: 'docs',
        vector: [0, 0, 1],
        filter: { source: { $in: ['a.pdf', 'faq.md'] } },
      });
      const byPage = await call('query-vectors', {
        collection: 'docs',
        vector: [0, 0, 1],
        filter: { page: { $gte: 2 } },
      });

      // Assess
      expect(written.status).toBe(200);
      expect(queried.statusCode).toBe(200);
      expect(parsed(queried)).toEqual({
        matches: [
          { id: 'lc#1', score: expect.any(Number), metadata: LANGCHAIN },
          { id: 'odd#1', score: expect.any(Number), metadata: ODD },
        ],
      });
      expect(fetched.statusCode).toBe(200);
      expect(parsed(fetched)).toEqual({
        vectors: [
          { id: 'odd#1', values: [0, 0.1, 0.9], metadata: ODD },
          { id: 'lc#1', values: [0, 0, 1], metadata: LANGCHAIN },
        ],
        missing: [],
      });
      expect(bySource.statusCode).toBe(200);
      expect((parsed(bySource)['matches'] as { id: string }[]).map((m) => m.id).sort()).toEqual([
        'faq#1',
        'lc#1',
      ]);
      expect((parsed(byPage)['matches'] as { id: string }[]).map((m) => m.id)).toEqual(['handbook#2']);
    });

    it('reads points LangChain wrote (no namespace or id in the payload) in the default namespace only, by their point id', async () => {
      // Prepare: LangChain's QdrantVectorStore layout: a UUID point id, payload `{ page_content, metadata }`.
      const uuid = '3f2c1a8e-5b7d-4c9e-8a1f-0d2e4b6c8a9f';
      await put({
        points: [
          { id: uuid, vector: [0, 0, 1], payload: { page_content: 'Leave policy', metadata: LANGCHAIN } },
          {
            id: 7,
            vector: [0, 0.1, 0.9],
            payload: { page_content: 'Holidays', metadata: { source: 'h.md' } },
          },
        ],
      });
      await call('upsert-vectors', {
        collection: 'docs',
        namespace: 'tenant-a',
        vectors: [{ id: 't#1', values: [0, 0, 1] }],
      });

      // Act
      const queried = await call('query-vectors', { collection: 'docs', vector: [0.1, 0.1, 1], topK: 3 });
      const filtered = await call('query-vectors', {
        collection: 'docs',
        vector: [0, 0, 1],
        filter: { source: 'a.pdf' },
      });
      const fetched = await call('fetch-vectors', { collection: 'docs', ids: [uuid, '7', 'faq#1', 'nope'] });
      const otherQuery = await call('query-vectors', {
        collection: 'docs',
        namespace: 'tenant-a',
        vector: [0, 0, 1],
        topK: 10,
      });
      const otherFetch = await call('fetch-vectors', {
        collection: 'docs',
        namespace: 'tenant-a',
        ids: [uuid, '7'],
      });
      const deleted = await call('delete-vectors', { collection: 'docs', ids: [uuid] });

      // Assess
      expect(queried.statusCode).toBe(200);
      expect((parsed(queried)['matches'] as { id: string }[]).map((m) => m.id)).toEqual([uuid, '7', 'faq#1']);
      expect(parsed(queried)['matches']).toContainEqual({
        id: uuid,
        score: expect.any(Number),
        metadata: LANGCHAIN,
      });
      expect((parsed(filtered)['matches'] as { id: string }[]).map((m) => m.id)).toEqual([uuid]);
      expect(fetched.statusCode).toBe(200);
      expect(parsed(fetched)).toEqual({
        vectors: [
          { id: uuid, values: [0, 0, 1], metadata: LANGCHAIN },
          { id: '7', values: [0, 0.1, 0.9], metadata: { source: 'h.md' } },
          { id: 'faq#1', values: [0.6, 0.8, 0], metadata: { source: 'faq.md', page: 1 } },
        ],
        missing: ['nope'],
      });
      expect((parsed(otherQuery)['matches'] as { id: string }[]).map((m) => m.id)).toEqual(['t#1']);
      expect(parsed(otherFetch)).toEqual({ vectors: [], missing: [uuid, '7'] });
      // Writes are unchanged: a delete reaches only records this connector wrote.
      expect(deleted.statusCode).toBe(200);
      expect(fake.state.collections.get('docs')?.points.size).toBe(6);
    });

    it('reads a point whose metadata is null as {}', async () => {
      // Prepare
      await put({
        points: [
          {
            id: pointId('', 'bare'),
            vector: [0, 0, 1],
            payload: { namespace: '', id: 'bare', metadata: null },
          },
        ],
      });

      // Act
      const fetched = await call('fetch-vectors', { collection: 'docs', ids: ['bare'] });

      // Assess
      expect(fetched.statusCode).toBe(200);
      expect(parsed(fetched)).toEqual({
        vectors: [{ id: 'bare', values: [0, 0, 1], metadata: {} }],
        missing: [],
      });
    });

    it('still refuses to write nested, null or number-list metadata, with a 400 naming the field', async () => {
      // Act
      const responses = await Promise.all(
        [{ loc: { lines: { from: 1 } } }, { page: null }, { nums: [1, 2] }].map((metadata) =>
          call('upsert-vectors', { collection: 'docs', vectors: [{ id: 'x', values: [1, 0, 0], metadata }] }),
        ),
      );

      // Assess
      for (const [i, response] of responses.entries()) {
        expect(response.statusCode).toBe(400);
        expect(JSON.stringify(parsed(response))).toContain(
          `/vectors/0/metadata/${['loc', 'page', 'nums'][i]}`,
        );
      }
      expect(fake.state.collections.get('docs')?.points.has(pointId('', 'x').replaceAll('-', ''))).toBe(
        false,
      );
    });

    it('has the fake take any JSON object as a payload, as Qdrant does, and refuse a payload that is no object', async () => {
      // Act
      const statuses = await Promise.all(
        [['a'], 'text', 3].map(async (payload, i) => {
          const response = await put({ points: [{ id: 900 + i, vector: [1, 0, 0], payload }] });
          return response.status;
        }),
      );
      const empty = await put({ points: [{ id: 903, vector: [1, 0, 0], payload: null }] });

      // Assess
      expect(statuses).toEqual([400, 400, 400]);
      expect(fake.state.collections.get('docs')?.points.has('900')).toBe(false);
      expect(empty.status).toBe(200);
      expect(fake.state.collections.get('docs')?.points.get('903')?.payload).toEqual({});
    });
  });

  describe('Provider failures', () => {
    it('waits as Retry-After says and retries a 5xx on reads and upserts, then answers', async () => {
      // Prepare
      fake.inject({ kind: 'throttled', retryAfterSeconds: 0 }, { route: 'get-collection' });
      fake.inject({ kind: 'server-error' }, { route: 'upsert-points' });
      // Act
      const described = await call('describe-collection', { collection: 'docs' });
      const upserted = await call('upsert-vectors', { collection: 'docs', vectors: [DOCS[0]] });
      // Assess
      expect([described.statusCode, upserted.statusCode]).toEqual([200, 200]);
      expect(
        fake
          .logFor('upsert-points')
          .slice(-2)
          .map((entry) => entry.status),
      ).toEqual([500, 200]);
    });

    it('answers 429 beyond the allowed wait, 503 when Qdrant keeps failing, 502 malformed, 504 hung, 502 oversized', async () => {
      // Act
      fake.inject({ kind: 'throttled', retryAfterSeconds: 120 }, { route: 'get-collection' });
      const throttled = await call('describe-collection', { collection: 'docs' });
      fake.inject(
        { kind: 'server-error', status: 503 },
        { route: 'get-collection', times: Number.POSITIVE_INFINITY },
      );
      const failing = await call('describe-collection', { collection: 'docs' });
      fake.clearFaults();
      resetCircuitBreakers();
      fake.inject({ kind: 'malformed' }, { route: 'get-collection', times: Number.POSITIVE_INFINITY });
      const malformed = await call('describe-collection', { collection: 'docs' });
      fake.clearFaults();
      fake.inject({ kind: 'hang' }, { route: 'get-collection', times: Number.POSITIVE_INFINITY });
      const hung = await call('describe-collection', { collection: 'docs' });
      fake.clearFaults();
      fake.inject({ kind: 'oversized', bytes: 12 * 1024 * 1024 }, { route: 'get-collection' });
      const oversized = await call('describe-collection', { collection: 'docs' });
      // Assess
      expect([throttled, failing, malformed, hung, oversized].map((r) => r.statusCode)).toEqual([
        429, 503, 502, 504, 502,
      ]);
      expect(parsed(failing)['code']).toBe('provider_unavailable');
    });
  });

  describe('Credentials', () => {
    it('reads the secret again after a 401 (rotation) and succeeds with the new key', async () => {
      // Prepare
      fake.state.keys.clear();
      fake.state.keys.add(ROTATED_KEY);
      await secrets.set(KEY_SECRET, ROTATED_KEY);
      // Act
      const response = await call('describe-collection', { collection: 'docs' });
      // Assess
      expect(response.statusCode).toBe(200);
      expect(
        fake
          .logFor('get-collection')
          .map((entry) => entry.status)
          .slice(-2),
      ).toEqual([401, 200]);
    });

    it('answers 401 when the key stays refused, and never shows a key in answers, logs or the fake’s log', async () => {
      // Prepare
      fake.state.keys.clear();
      // Act
      const response = await call('describe-collection', { collection: 'docs' });
      // Assess
      expect(response.statusCode).toBe(401);
      expect(parsed(response)['detail']).toContain('the API key is missing, wrong or revoked');
      const seen = `${responses.join('\n')}${logs.text()}${JSON.stringify(fake.log.map((entry) => entry.headers))}`;
      for (const key of [QDRANT_SANDBOX_KEY, ROTATED_KEY]) expect(seen).not.toContain(key);
    });
  });

  describe('Triggers', () => {
    it('runs queued requests and reports only the failed record', async () => {
      // Act
      const event = sqsEvent([
        {
          messageId: 'ok',
          body: {
            operation: 'upsert-vectors',
            input: { collection: 'docs', namespace: 'q', vectors: [DOCS[1]] },
          },
        },
        {
          messageId: 'missing',
          body: { operation: 'describe-collection', input: { collection: 'nowhere' } },
        },
      ]);
      const result = await connector.handler(event, lambdaContext());
      // Assess
      expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: 'missing' }] });
      await expect(
        connector.run('fetch-vectors', { collection: 'docs', namespace: 'q', ids: ['handbook#2'] }),
      ).resolves.toMatchObject({
        missing: [],
      });
    });

    it('runs a Step Functions task envelope, fails with stable names, and answers health', async () => {
      // Act
      const output = await connector.handler(
        {
          trigger: 'task',
          operation: 'query-vectors',
          input: { collection: 'docs', vector: [0, 1, 0], topK: 1 },
        },
        lambdaContext(),
      );
      const missing = await connector
        .handler(
          { trigger: 'task', operation: 'describe-collection', input: { collection: 'nowhere' } },
          lambdaContext(),
        )
        .catch((error: unknown) => error);
      const health = await connector.handler(
        httpEvent({ method: 'GET', path: '/qdrant/health' }),
        lambdaContext(),
      );
      // Assess
      expect(output).toMatchObject({ matches: [{ id: 'handbook#2' }] });
      expect(missing).toMatchObject({ name: 'NotFoundError' });
      expect((health as HttpResult).statusCode).toBe(200);
    });
  });
});
