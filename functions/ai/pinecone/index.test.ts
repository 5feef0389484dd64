/**
 * The Pinecone connector against the Pinecone contract fake (`scripts/local/sandboxes/pinecone.ts`) and a local
 * Secrets Manager: the operations on each trigger, and the failure paths every connector must survive
 * (rotation, refused key, not found, conflict, throttling, 5xx, malformed, hung and oversized answers).
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  PINECONE_SANDBOX_KEY,
  type PineconeFakeState,
  startPineconeFake,
} from '../../../scripts/local/sandboxes/pinecone.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';
import { PineconeStore } from './client.ts';
import { PineconeConfig } from './config.ts';

const KEY_SECRET = 'test/pinecone/api-key';
const ROTATED_KEY = 'pcsk_rotated_key_4f1e';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let fake: FakeServer<PineconeFakeState>;
let secrets: SecretsManagerPeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };
const responses: string[] = [];

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({ path: `/pinecone/${operation}`, body });
  const response = (await connector.handler(event, lambdaContext())) as HttpResult;
  responses.push(response.body);
  return response;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

/**
 * A pass-through in front of the fake that holds one chosen request until the test releases it, so two
 * invocations truly interleave. The fake hands out index hosts from the Host header it sees, which the gate
 * passes on as its own: data-plane calls come through the gate too.
 */
async function startGate(target: string) {
  let held: { match: (path: string) => boolean; arrived: () => void; released: Promise<void> } | undefined;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', async () => {
      const mine = held?.match(req.url ?? '') === true ? held : undefined;
      if (mine !== undefined) {
        held = undefined;
        mine.arrived();
        await mine.released;
      }
      // The caller gave up (or its connection was cut) while held: nothing to pass on.
      if (req.socket.destroyed) return;
      const upstream = request(
        new URL(req.url ?? '/', target),
        { method: req.method, headers: req.headers },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      upstream.on('error', () => res.destroy());
      upstream.end(Buffer.concat(chunks));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    /** Holds the next request whose path `match`es: `arrived` once it is here, `release()` lets it on. */
    hold(match: (path: string) => boolean) {
      let arrived = () => {};
      let release = () => {};
      const here = new Promise<void>((resolve) => {
        arrived = resolve;
      });
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      held = { match, arrived, released };
      return { arrived: here, release };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const DOCS = [
  { id: 'handbook#1', values: [1, 0, 0], metadata: { source: 'handbook.pdf', page: 1 } },
  { id: 'handbook#2', values: [0, 1, 0], metadata: { source: 'handbook.pdf', page: 2 } },
  { id: 'faq#1', values: [0.6, 0.8, 0], metadata: { source: 'faq.md', page: 1 } },
];

beforeAll(async () => {
  fake = await startPineconeFake();
  secrets = await startSecretsManager({ [KEY_SECRET]: PINECONE_SANDBOX_KEY });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    PINECONE_API_URL: fake.url,
    PINECONE_API_KEY_SECRET: KEY_SECRET,
    PINECONE_TIMEOUT_MS: '1000',
    PINECONE_RATE_LIMIT: '0',
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
  await secrets.set(KEY_SECRET, PINECONE_SANDBOX_KEY);
  configureSecrets({});
  resetCircuitBreakers();
  logs = captureLogs();
  await connector.run('create-collection', { collection: 'docs', dimension: 3, metric: 'dot' });
  await connector.run('upsert-vectors', { collection: 'docs', vectors: DOCS });
});

afterEach(() => {
  logs.restore();
});

describe('Connector: pinecone', () => {
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
      expect(fake.state.indexes.get('notes')).toMatchObject({ dimension: 2, metric: 'euclidean' });
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
      const upsert = fake.logFor('upsert')[0];
      expect(upsert?.token).toBe(PINECONE_SANDBOX_KEY);
      expect(upsert?.headers['x-pinecone-api-version']).toBe('2025-04');
      expect(fake.logFor('create-index').at(-1)?.body).toEqual({
        name: 'notes',
        dimension: 2,
        metric: 'euclidean',
        spec: { serverless: { cloud: 'aws', region: 'us-east-1' } },
      });
      expect(fake.state.indexes.get('docs')?.namespaces.get('')?.get('handbook#1')?.metadata).toEqual({
        source: 'handbook.pdf',
        page: 1,
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
      expect(fake.logFor('upsert')).toHaveLength(1);
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
      expect(fake.logFor('upsert')).toHaveLength(2);
      expect(fake.logFor('query')).toHaveLength(0);
    });

    it('maps a 400 of Pinecone itself to a 400 with the row’s meaning', async () => {
      // Prepare: another client changed the collection behind the connector's back.
      fake.inject(
        {
          kind: 'answer',
          answer: {
            status: 400,
            json: {
              code: 3,
              message: 'Vector dimension 3 does not match the dimension of the index 4',
              details: [],
            },
          },
        },
        { route: 'query' },
      );
      // Act
      const response = await call('query-vectors', { collection: 'docs', vector: [1, 0, 0] });
      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['detail']).toContain('Pinecone refused the input');
    });
  });

  describe('Answers out of the ordinary', () => {
    const ok = (json: unknown) => ({ kind: 'answer' as const, answer: { status: 200, json } });

    it('answers 502 for an index model with a metric it does not know or a host that is no host', async () => {
      // Prepare
      const model = { name: 'docs', dimension: 3, status: { ready: true, state: 'Ready' } };
      fake.inject(ok({ ...model, metric: 'hamming', host: 'docs-abc.svc.pinecone.io' }), {
        route: 'describe-index',
      });
      fake.inject(ok({ ...model, metric: 'dotproduct', host: 'user@evil.example?x=1' }), {
        route: 'describe-index',
      });

      // Act
      const metric = await call('describe-collection', { collection: 'docs' });
      const host = await call('describe-collection', { collection: 'docs' });

      // Assess
      expect(metric.statusCode).toBe(502);
      expect(parsed(metric)['detail']).toContain('unknown metric for "docs"');
      expect(host.statusCode).toBe(502);
      expect(parsed(host)['detail']).toContain('invalid host for "docs"');
      expect(fake.logFor('describe-index-stats')).toHaveLength(0);
    });

    it('answers 0 vectors for stats without a total, and [] for a match without values', async () => {
      // Prepare
      fake.inject(ok({ namespaces: {}, dimension: 3, indexFullness: 0 }), { route: 'describe-index-stats' });
      fake.inject(ok({ matches: [{ id: 'faq#1', score: 0.5 }], namespace: '' }), { route: 'query' });

      // Act
      const described = await call('describe-collection', { collection: 'docs' });
      const queried = await call('query-vectors', {
        collection: 'docs',
        vector: [1, 0, 0],
        includeValues: true,
      });

      // Assess
      expect(parsed(described)).toEqual({ collection: 'docs', dimension: 3, metric: 'dot', vectorCount: 0 });
      expect(parsed(queried)).toEqual({ matches: [{ id: 'faq#1', score: 0.5, metadata: {}, values: [] }] });
    });

    it('passes on a refusal other than a conflict on create, and other than not-found on delete', async () => {
      // Prepare: a key that may read but not manage indexes (the kit retries once after a 403).
      const always = { times: Number.POSITIVE_INFINITY };
      fake.inject({ kind: 'forbidden' }, { route: 'create-index', ...always });
      fake.inject({ kind: 'forbidden' }, { route: 'delete-index', ...always });
      const described = fake.logFor('describe-index').length;

      // Act
      const created = await call('create-collection', { collection: 'docs', dimension: 3, metric: 'dot' });
      const deleted = await call('delete-collection', { collection: 'docs' });

      // Assess
      expect(created.statusCode).toBe(403);
      expect(fake.logFor('describe-index')).toHaveLength(described);
      expect(deleted.statusCode).toBe(403);
      expect(fake.state.indexes.has('docs')).toBe(true);
    });
  });

  describe('Index readiness', () => {
    it('answers a retryable 503 while the index is initialising, without calling its host, and works once ready', async () => {
      // Prepare: an index created moments ago: describe_index answers status { ready: false, state: "Initializing" }.
      const fresh = {
        dimension: 3,
        metric: 'dotproduct' as const,
        namespaces: new Map(),
        initializing: true,
      };
      fake.state.indexes.set('fresh', fresh);
      const vectors = [{ id: 'a', values: [1, 0, 0] }];

      // Act
      const early = await Promise.all([
        call('upsert-vectors', { collection: 'fresh', vectors }),
        call('query-vectors', { collection: 'fresh', vector: [1, 0, 0] }),
        call('describe-collection', { collection: 'fresh' }),
      ]);
      const dataCalls = fake.logFor('upsert').length + fake.logFor('query').length;
      fresh.initializing = false;
      const later = await call('upsert-vectors', { collection: 'fresh', vectors });

      // Assess
      for (const response of early) {
        expect(response.statusCode).toBe(503);
        expect(parsed(response)).toMatchObject({ code: 'provider_unavailable' });
        expect(parsed(response)['detail']).toContain('"fresh" is not ready yet (Initializing)');
      }
      expect(dataCalls).toBe(1); // the beforeEach upsert to "docs" only
      expect(later.statusCode).toBe(200);
      expect(fresh.namespaces.get('')?.has('a')).toBe(true);
    });
  });

  describe('Records another tool wrote', () => {
    it('reads records LangChain wrote without a namespace in the default namespace, by their own id', async () => {
      // Prepare: LangChain's PineconeStore upserts `{ id, values, metadata: { ...metadata, text } }` and no
      // `namespace` when none is given: Pinecone's default namespace "".
      const model = (await (
        await fetch(`${fake.url}/indexes/docs`, { headers: { 'Api-Key': PINECONE_SANDBOX_KEY } })
      ).json()) as { host: string };
      const uuid = '3f2c1a8e-5b7d-4c9e-8a1f-0d2e4b6c8a9f';
      const metadata = { text: 'Leave policy', source: 'a.pdf' };
      const written = await fetch(`${new URL(fake.url).protocol}//${model.host}/vectors/upsert`, {
        method: 'POST',
        headers: { 'Api-Key': PINECONE_SANDBOX_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ vectors: [{ id: uuid, values: [0, 0, 1], metadata }] }),
      });

      // Act
      const queried = await call('query-vectors', { collection: 'docs', vector: [0.1, 0.1, 1], topK: 1 });
      const fetched = await call('fetch-vectors', { collection: 'docs', ids: [uuid] });
      const other = await call('fetch-vectors', { collection: 'docs', namespace: 'tenant-a', ids: [uuid] });

      // Assess
      expect(written.status).toBe(200);
      expect(parsed(queried)).toEqual({ matches: [{ id: uuid, score: expect.any(Number), metadata }] });
      expect(parsed(fetched)).toEqual({ vectors: [{ id: uuid, values: [0, 0, 1], metadata }], missing: [] });
      expect(parsed(other)).toEqual({ vectors: [], missing: [uuid] });
    });
  });

  describe('List metadata', () => {
    it('reads a record another tool wrote with a list of strings, filters on it, and writes one', async () => {
      // Prepare: `tags` as LangChain and Pinecone's own clients write it.
      const faq = fake.state.indexes.get('docs')?.namespaces.get('')?.get('faq#1');
      if (faq === undefined) throw new Error('seeded record missing');
      faq.metadata = { source: 'faq.md', page: 1, tags: ['billing', 'refunds'] };

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
      expect(parsed(queried)).toEqual({
        matches: [{ id: 'faq#1', score: expect.any(Number), metadata: faq.metadata }],
      });
      expect(fetched.statusCode).toBe(200);
      expect(parsed(fetched)).toEqual({
        vectors: [{ id: 'faq#1', values: [0.6, 0.8, 0], metadata: faq.metadata }],
        missing: [],
      });
      expect((parsed(filtered)['matches'] as { id: string }[]).map((m) => m.id)).toEqual(['faq#1']);
      expect(written.statusCode).toBe(200);
      expect(fake.state.indexes.get('docs')?.namespaces.get('')?.get('tagged')?.metadata).toEqual({
        tags: ['x', 'y'],
      });
      expect((parsed(excluded)['matches'] as { id: string }[]).map((m) => m.id).sort()).toEqual([
        'handbook#1',
        'handbook#2',
      ]);
    });

    it('has the fake refuse what Pinecone refuses: a list of numbers, a nested object, a null, a mixed list', async () => {
      // Act
      const statuses = await Promise.all(
        [{ tags: [1, 2] }, { nested: { a: 'b' } }, { gone: null }, { mixed: ['a', 1] }].map(
          async (metadata, i) => {
            const response = await fetch(`${fake.url}/data/docs/vectors/upsert`, {
              method: 'POST',
              headers: { 'api-key': PINECONE_SANDBOX_KEY, 'content-type': 'application/json' },
              body: JSON.stringify({
                namespace: '',
                vectors: [{ id: `bad${i}`, values: [1, 0, 0], metadata }],
              }),
            });
            return response.status;
          },
        ),
      );

      // Assess
      expect(statuses).toEqual([400, 400, 400, 400]);
      const stored = [...(fake.state.indexes.get('docs')?.namespaces.get('')?.keys() ?? [])];
      for (const id of ['bad0', 'bad1', 'bad2', 'bad3']) expect(stored).not.toContain(id);
    });

    it('answers 400 naming a list over 64 items or holding a number, and sends nothing', async () => {
      // Act
      const tooMany = await call('upsert-vectors', {
        collection: 'docs',
        vectors: [{ id: 'x', values: [1, 0, 0], metadata: { tags: Array.from({ length: 65 }, String) } }],
      });
      const number = await call('upsert-vectors', {
        collection: 'docs',
        vectors: [{ id: 'x', values: [1, 0, 0], metadata: { tags: ['a', 1] } }],
      });

      // Assess
      for (const response of [tooMany, number]) {
        expect(response.statusCode).toBe(400);
        expect(JSON.stringify(parsed(response))).toContain('/vectors/0/metadata/tags');
      }
      expect(fake.state.indexes.get('docs')?.namespaces.get('')?.has('x')).toBe(false);
    });
  });

  describe('Concurrent invocations (Lambda Managed Instances; library use)', () => {
    // Under LMI one execution environment runs many invocations at once on the one container-wide store
    // (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html).
    it("answers a query in flight while another invocation's describe-collection reads the index again", async () => {
      // Prepare: a store whose calls pass the gate; it has learned the index's host
      const gate = await startGate(fake.url);
      const store = new PineconeStore(
        PineconeConfig.parse({ PINECONE_API_URL: gate.url, PINECONE_TIMEOUT_MS: '5000' }),
        PINECONE_SANDBOX_KEY,
      );
      try {
        await store.fetchVectors({ collection: 'docs', ids: ['faq#1'] });
        const held = gate.hold((path) => path.endsWith('/query'));

        // Act: the query is at Pinecone when describe-collection reads the index model again
        const query = store.queryVectors({ collection: 'docs', vector: [1, 0, 0], topK: 1 });
        await held.arrived;
        const described = await store.describeCollection({ collection: 'docs' });
        held.release();

        // Assess
        expect(described).toMatchObject({ collection: 'docs', dimension: 3, vectorCount: 3 });
        expect((await query).matches.map((match) => match.id)).toEqual(['handbook#1']);
        expect(fake.logFor('query')).toHaveLength(1);
      } finally {
        store.close();
        await gate.close();
      }
    });
  });

  describe('Deletion protection', () => {
    it('answers 409 naming deletion protection when Pinecone refuses the delete with 403 FORBIDDEN', async () => {
      // Prepare: an index with deletion protection on, made outside the connector
      fake.state.indexes.set('kept', {
        dimension: 3,
        metric: 'cosine',
        namespaces: new Map(),
        deletionProtection: true,
      });

      // Act
      const deleted = await call('delete-collection', { collection: 'kept' });

      // Assess: Pinecone's delete_index answers 403 FORBIDDEN "Deletion protection is enabled ..."
      expect(deleted.statusCode).toBe(409);
      expect(parsed(deleted)['detail']).toMatch(/deletion protection/i);
      expect(fake.logFor('delete-index').map((entry) => entry.status)).toEqual([403]);
      expect(fake.state.indexes.has('kept')).toBe(true);
    });
  });

  describe('Provider failures', () => {
    it('waits as Retry-After says and retries a 5xx on reads; an upsert (a POST) is sent once', async () => {
      // Prepare
      fake.inject({ kind: 'throttled', retryAfterSeconds: 0 }, { route: 'describe-index' });
      fake.inject({ kind: 'server-error' }, { route: 'describe-index' });
      fake.inject({ kind: 'server-error', status: 503 }, { route: 'upsert' });
      // Act
      const described = await call('describe-collection', { collection: 'docs' });
      const upserted = await call('upsert-vectors', { collection: 'docs', vectors: [DOCS[0]] });
      // Assess
      expect([described.statusCode, upserted.statusCode]).toEqual([200, 503]);
      expect(
        fake
          .logFor('describe-index')
          .map((entry) => entry.status)
          .slice(-3),
      ).toEqual([429, 500, 200]);
      expect(
        fake
          .logFor('upsert')
          .map((entry) => entry.status)
          .slice(-1),
      ).toEqual([503]);
    });

    it('answers 429 beyond the allowed wait, 503 when Pinecone keeps failing, 502 malformed, 504 hung, 502 oversized', async () => {
      // Act
      fake.inject({ kind: 'throttled', retryAfterSeconds: 120 }, { route: 'describe-index' });
      const throttled = await call('describe-collection', { collection: 'docs' });
      fake.inject(
        { kind: 'server-error', status: 503 },
        { route: 'describe-index', times: Number.POSITIVE_INFINITY },
      );
      const failing = await call('describe-collection', { collection: 'docs' });
      fake.clearFaults();
      resetCircuitBreakers();
      fake.inject({ kind: 'malformed' }, { route: 'describe-index', times: Number.POSITIVE_INFINITY });
      const malformed = await call('describe-collection', { collection: 'docs' });
      fake.clearFaults();
      fake.inject({ kind: 'hang' }, { route: 'describe-index', times: Number.POSITIVE_INFINITY });
      const hung = await call('describe-collection', { collection: 'docs' });
      fake.clearFaults();
      fake.inject({ kind: 'oversized', bytes: 12 * 1024 * 1024 }, { route: 'describe-index' });
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
          .logFor('describe-index')
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
      for (const key of [PINECONE_SANDBOX_KEY, ROTATED_KEY]) expect(seen).not.toContain(key);
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
        httpEvent({ method: 'GET', path: '/pinecone/health' }),
        lambdaContext(),
      );
      // Assess
      expect(output).toMatchObject({ matches: [{ id: 'handbook#2' }] });
      expect(missing).toMatchObject({ name: 'NotFoundError' });
      expect((health as HttpResult).statusCode).toBe(200);
    });
  });
});
