/**
 * The pgvector connector on PGlite with its `vector` extension, behind a password gate (so secret
 * rotation is real) and the Secrets Manager fake: every operation on each trigger, the failure paths
 * (missing collection, conflict, wrong dimension, lost connection, rotation, refused password, read-only),
 * identifiers and values that try to escape their place, and the secret marker test.
 */
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type SecretsManagerFake, startSecretsManagerFake } from '../../../test/fakes/secrets-manager.ts';
import {
  type PasswordGate,
  type PgliteServer,
  startPasswordGate,
  startPglite,
  withPostgres,
} from '../../../test/peers/postgres.ts';

type Connector = typeof import('./index.ts')['connector'];
interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const SECRET = 'circle-core/pgvector/credentials';
const PASSWORDS = [
  'first-Vec7or-pa55-1a2b',
  'rotated-Vec7or-pa55-3c4d',
  'third-Vec7or-pa55-5e6f',
  'wrong-Vec7or-0000',
];
const [FIRST, ROTATED, THIRD, WRONG] = PASSWORDS as [string, string, string, string];
const ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  PG_SECRET: SECRET,
  PG_SSL: 'disable',
  PG_STATEMENT_TIMEOUT_MS: '5000',
};

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('Function: handler', () => {
  const responses: string[] = [];
  let logs: CapturedLogs;
  let sm: SecretsManagerFake;
  let pglite: PgliteServer;
  let gate: PasswordGate;
  let connector: Connector;

  const secretFor = (password: string): string =>
    JSON.stringify({
      username: 'postgres',
      password,
      host: gate.host,
      port: gate.port,
      dbname: 'postgres',
      engine: 'postgres',
    });

  const http = async (operation: string, body: unknown): Promise<HttpResult> => {
    const event = httpEvent({ path: `/pgvector/${operation}`, body });
    const response = (await connector.handler(event, lambdaContext())) as HttpResult;
    responses.push(response.body);
    return response;
  };
  const json = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

  beforeAll(async () => {
    logs = captureLogs();
    pglite = await startPglite({ vector: true });
    gate = await startPasswordGate({ upstream: pglite.url, password: FIRST });
    sm = await startSecretsManagerFake({});
    sm.set(SECRET, secretFor(FIRST));
    Object.assign(process.env, ENV, { AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint });
    vi.resetModules();
    ({ connector } = await import('./index.ts'));
    await connector.prepare();
  }, 180_000); // PGlite with pgvector starts slowly on a loaded machine

  afterAll(async () => {
    logs.restore();
    await (await connector?.runtime.client())?.close();
    for (const key of [...Object.keys(ENV), 'AWS_ENDPOINT_URL_SECRETS_MANAGER', 'PG_URL', 'PG_READ_ONLY'])
      delete process.env[key];
    await gate?.close();
    await sm?.close();
    await pglite?.close();
  });

  describe('HTTP trigger', () => {
    it('serves every operation as POST /pgvector/<operation> with JSON in and out', async () => {
      // Act
      const created = await http('create-collection', {
        collection: 'docs-v1',
        dimension: 3,
        metric: 'cosine',
      });
      const upserted = await http('upsert-vectors', {
        collection: 'docs-v1',
        vectors: [
          { id: 'handbook#1', values: [1, 0, 0], metadata: { source: 'handbook.pdf', page: 1 } },
          { id: 'handbook#2', values: [0, 1, 0], metadata: { source: 'handbook.pdf', page: 2 } },
          { id: 'faq#1', values: [0.7, 0.7, 0], metadata: { source: 'faq.md', page: 1 } },
        ],
      });
      const queried = await http('query-vectors', {
        collection: 'docs-v1',
        vector: [1, 0.1, 0],
        topK: 2,
        filter: { source: 'handbook.pdf' },
      });
      const fetched = await http('fetch-vectors', { collection: 'docs-v1', ids: ['faq#1', 'gone'] });
      const deleted = await http('delete-vectors', { collection: 'docs-v1', filter: { page: { $gte: 2 } } });
      const described = await http('describe-collection', { collection: 'docs-v1' });
      // Assess
      expect(json(created)).toEqual({
        collection: 'docs-v1',
        dimension: 3,
        metric: 'cosine',
        vectorCount: 0,
        created: true,
      });
      expect(json(upserted)).toEqual({ upserted: 3 });
      expect(json(queried)).toEqual({
        matches: [
          {
            id: 'handbook#1',
            score: expect.closeTo(1 / Math.sqrt(1.01), 5),
            metadata: { source: 'handbook.pdf', page: 1 },
          },
          {
            id: 'handbook#2',
            score: expect.closeTo(0.1 / Math.sqrt(1.01), 5),
            metadata: { source: 'handbook.pdf', page: 2 },
          },
        ],
      });
      expect(json(fetched)).toEqual({
        vectors: [{ id: 'faq#1', values: [0.7, 0.7, 0], metadata: { source: 'faq.md', page: 1 } }],
        missing: ['gone'],
      });
      expect(json(deleted)).toEqual({ deleted: 1 });
      expect(json(described)).toEqual({
        collection: 'docs-v1',
        dimension: 3,
        metric: 'cosine',
        vectorCount: 2,
      });
    });

    it('answers problem+json: 404 missing collection, 409 other dimension, 400 wrong dimension, bad filter, unknown field', async () => {
      // Act
      const missing = await http('query-vectors', { collection: 'nowhere', vector: [1, 0, 0] });
      const conflict = await http('create-collection', { collection: 'docs-v1', dimension: 4 });
      const dimension = await http('upsert-vectors', {
        collection: 'docs-v1',
        vectors: [
          { id: 'x', values: [1, 2, 3] },
          { id: 'y', values: [1, 2] },
        ],
      });
      const filter = await http('query-vectors', {
        collection: 'docs-v1',
        vector: [1, 0, 0],
        filter: { page: { $gt: 'one' } },
      });
      const unknown = await http('describe-collection', { collection: 'docs-v1', colection: 'x' });
      // Assess
      expect([missing, conflict, dimension, filter, unknown].map((r) => r.statusCode)).toEqual([
        404, 409, 400, 400, 400,
      ]);
      expect(missing.headers['content-type']).toBe('application/problem+json');
      expect(json(missing)['detail']).toMatch(/Collection "nowhere" was not found/);
      expect(json(conflict)['detail']).toMatch(/exists with dimension 3 and metric cosine/);
      expect(json(dimension)['errors']).toEqual([
        { pointer: '/vectors/1/values', message: 'expected 3 numbers' },
      ]);
      expect(json(filter)['errors']).toEqual([expect.objectContaining({ pointer: '/filter/page' })]);
      expect(json(unknown)['errors']).toEqual([{ pointer: '/colection', message: 'unknown field' }]);
    });

    it('answers 400 naming the number for a vector number beyond float32 range, in upsert and query', async () => {
      // Act
      const upsert = await http('upsert-vectors', {
        collection: 'docs-v1',
        vectors: [
          { id: 'x', values: [1, 0, 0] },
          { id: 'y', values: [1, 1e39, 0] },
        ],
      });
      const query = await http('query-vectors', { collection: 'docs-v1', vector: [0, 0, -3.5e38] });
      // Assess
      expect([upsert, query].map((r) => r.statusCode)).toEqual([400, 400]);
      expect(json(upsert)['errors']).toEqual([
        { pointer: '/vectors/1/values/1', message: expect.stringContaining('float32 range') },
      ]);
      expect(json(query)['errors']).toEqual([
        { pointer: '/vector/2', message: expect.stringContaining('float32 range') },
      ]);
    });

    it('answers 400, never 500, for a vector zero in float32 or too long for a finite score, in upsert and query', async () => {
      // Prepare
      const created = await Promise.all(
        (['cosine', 'euclidean'] as const).map((metric) =>
          http('create-collection', { collection: `scores-${metric}`, dimension: 3, metric }),
        ),
      );
      const stored = await Promise.all(
        ['cosine', 'euclidean'].map((metric) =>
          http('upsert-vectors', {
            collection: `scores-${metric}`,
            vectors: [
              { id: 'a', values: [1, 0, 0] },
              { id: 'b', values: [0, 1, 0] },
            ],
          }),
        ),
      );

      // Act
      const overflowQuery = await http('query-vectors', {
        collection: 'scores-cosine',
        vector: [3.4e38, 3.4e38, 1],
      });
      const overflowEuclidean = await http('query-vectors', {
        collection: 'scores-euclidean',
        vector: [3.4e38, 3.4e38, 1],
      });
      const tinyQuery = await http('query-vectors', {
        collection: 'scores-cosine',
        vector: [1e-46, 1e-46, 1e-46],
      });
      const underflowQuery = await http('query-vectors', {
        collection: 'scores-cosine',
        vector: [1e-30, 0, 0],
      });
      const upsert = await http('upsert-vectors', {
        collection: 'scores-cosine',
        vectors: [
          { id: 'c', values: [0, 0, 1] },
          { id: 'tiny', values: [1e-46, 0, 0] },
        ],
      });
      const longUpsert = await http('upsert-vectors', {
        collection: 'scores-euclidean',
        vectors: [{ id: 'long', values: [3e18, 3e18, 3e18] }],
      });
      const fine = await http('query-vectors', { collection: 'scores-euclidean', vector: [1e-30, 0, 0] });

      // Assess
      expect([...created, ...stored].map((r) => r.statusCode)).toEqual([200, 200, 200, 200]);
      expect(
        [overflowQuery, overflowEuclidean, tinyQuery, underflowQuery, upsert, longUpsert].map(
          (r) => r.statusCode,
        ),
      ).toEqual([400, 400, 400, 400, 400, 400]);
      for (const response of [overflowQuery, overflowEuclidean]) {
        expect(json(response)['errors']).toEqual([
          { pointer: '/vector', message: expect.stringContaining('too long') },
        ]);
      }
      for (const response of [tinyQuery, underflowQuery]) {
        expect(json(response)['errors']).toEqual([
          { pointer: '/vector', message: expect.stringContaining('length 0') },
        ]);
      }
      expect(json(upsert)['errors']).toEqual([
        { pointer: '/vectors/1/values', message: expect.stringContaining('length 0') },
      ]);
      expect(json(longUpsert)['errors']).toEqual([
        { pointer: '/vectors/0/values', message: expect.stringContaining('too long') },
      ]);
      expect(fine.statusCode).toBe(200);
    });

    it('leaves out a stored vector whose score is not a number (written before these checks), never answering 500', async () => {
      // Prepare
      await http('create-collection', { collection: 'scores-legacy', dimension: 3, metric: 'cosine' });
      await http('upsert-vectors', {
        collection: 'scores-legacy',
        vectors: [{ id: 'a', values: [1, 0, 0] }],
      });
      await withPostgres(pglite.url, (admin) =>
        admin.query(
          `insert into "scores-legacy" (namespace, id, embedding, metadata) values ('', 'zero', '[0,0,0]', '{}')`,
        ),
      );

      // Act
      const queried = await http('query-vectors', {
        collection: 'scores-legacy',
        vector: [1, 0, 0],
        topK: 5,
      });

      // Assess
      expect(queried.statusCode).toBe(200);
      expect(json(queried)['matches']).toEqual([{ id: 'a', score: 1, metadata: {} }]);
    });

    it('reads metadata another tool wrote (nested objects, null, lists of numbers or of anything) as stored, and filters on a flat field beside it', async () => {
      // Prepare: raw inserts into the jsonb column, as another writer of the table would.
      const langchain = { source: 'a.pdf', loc: { lines: { from: 1, to: 9 } } };
      const odd = { source: 'b.pdf', page: null, nums: [1, 2, 3], mixed: ['a', 1, true, null, { x: 1 }] };
      await http('create-collection', { collection: 'foreign', dimension: 3, metric: 'dot' });
      await http('upsert-vectors', {
        collection: 'foreign',
        vectors: [{ id: 'own', values: [0, 1, 0], metadata: { source: 'a.pdf', page: 2 } }],
      });
      await withPostgres(pglite.url, (admin) =>
        admin.query(
          `insert into "foreign" (namespace, id, embedding, metadata) values ('', 'lc', '[1,0,0]', $1::jsonb), ('', 'odd', '[0.9,0,0]', $2::jsonb), ('', 'bare', '[0,0,1]', 'null'::jsonb)`,
          [JSON.stringify(langchain), JSON.stringify(odd)],
        ),
      );

      // Act
      const queried = await http('query-vectors', { collection: 'foreign', vector: [1, 0, 0], topK: 2 });
      const fetched = await http('fetch-vectors', { collection: 'foreign', ids: ['odd', 'bare', 'lc'] });
      const bySource = await http('query-vectors', {
        collection: 'foreign',
        vector: [1, 0, 0],
        filter: { source: 'a.pdf' },
      });
      const byPage = await http('query-vectors', {
        collection: 'foreign',
        vector: [1, 0, 0],
        filter: { $or: [{ page: { $gte: 1 } }, { mixed: 'a' }] },
      });
      const refused = await http('upsert-vectors', {
        collection: 'foreign',
        vectors: [{ id: 'x', values: [1, 0, 0], metadata: { loc: { lines: { from: 1 } } } }],
      });

      // Assess
      expect(queried.statusCode).toBe(200);
      expect(json(queried)['matches']).toEqual([
        { id: 'lc', score: 1, metadata: langchain },
        { id: 'odd', score: expect.closeTo(0.9, 5), metadata: odd },
      ]);
      expect(fetched.statusCode).toBe(200);
      expect(json(fetched)).toEqual({
        vectors: [
          { id: 'odd', values: [0.9, 0, 0], metadata: odd },
          { id: 'bare', values: [0, 0, 1], metadata: {} },
          { id: 'lc', values: [1, 0, 0], metadata: langchain },
        ],
        missing: [],
      });
      expect(bySource.statusCode).toBe(200);
      expect((json(bySource)['matches'] as { id: string }[]).map((m) => m.id)).toEqual(['lc', 'own']);
      expect((json(byPage)['matches'] as { id: string }[]).map((m) => m.id)).toEqual(['odd', 'own']);
      expect(refused.statusCode).toBe(400);
      expect(JSON.stringify(json(refused))).toContain('/vectors/0/metadata/loc');
    });

    it('serves GET /pgvector/health with the provider check', async () => {
      // Act
      const event = httpEvent({ method: 'GET', path: '/pgvector/health' });
      const response = (await connector.handler(event, lambdaContext())) as HttpResult;
      // Assess
      expect(response.statusCode).toBe(200);
      expect(json(response)).toMatchObject({
        connector: 'pgvector',
        status: 'ok',
        capabilities: ['exact-delete-count'],
      });
    });
  });

  describe('SQS trigger', () => {
    it('runs each record and reports only the failed one', async () => {
      // Prepare
      const event = sqsEvent([
        {
          messageId: 'good-upsert',
          body: {
            operation: 'upsert-vectors',
            input: { collection: 'docs-v1', namespace: 'queue', vectors: [{ id: 'q', values: [0, 0, 1] }] },
          },
        },
        {
          messageId: 'missing',
          body: {
            operation: 'upsert-vectors',
            input: { collection: 'nowhere', vectors: [{ id: 'q', values: [1] }] },
          },
        },
      ]);
      // Act
      const response = await connector.handler(event, lambdaContext());
      // Assess
      expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'missing' }] });
      await expect(
        connector.run('fetch-vectors', { collection: 'docs-v1', namespace: 'queue', ids: ['q'] }),
      ).resolves.toEqual({
        vectors: [{ id: 'q', values: [0, 0, 1], metadata: {} }],
        missing: [],
      });
    });
  });

  describe('Step Functions task', () => {
    it('returns the output and fails with stable error names', async () => {
      // Act
      const output = await connector.handler(
        {
          operation: 'query-vectors',
          input: { collection: 'docs-v1', namespace: 'queue', vector: [0, 0, 1], topK: 1 },
          trigger: 'task',
        },
        lambdaContext(),
      );
      const missing = connector.handler(
        { operation: 'describe-collection', input: { collection: 'nowhere' }, trigger: 'task' },
        lambdaContext(),
      );
      // Assess
      expect(output).toEqual({ matches: [{ id: 'q', score: expect.closeTo(1, 5), metadata: {} }] });
      await expect(missing).rejects.toMatchObject({ name: 'NotFoundError' });
    });
  });

  describe('Identifiers and values', () => {
    it('keeps hostile metadata values and ids as data, and refuses hostile names before any statement', async () => {
      // Prepare
      const hostile = `x'); drop table "docs-v1"; --`;
      const attemptsBefore = gate.attempts.length;
      // Act
      const upserted = await http('upsert-vectors', {
        collection: 'docs-v1',
        namespace: 'hostile',
        vectors: [{ id: hostile, values: [1, 1, 1], metadata: { note: hostile } }],
      });
      const found = await http('query-vectors', {
        collection: 'docs-v1',
        namespace: 'hostile',
        vector: [1, 1, 1],
        filter: { note: hostile },
      });
      const badName = await http('create-collection', {
        collection: 'docs"; drop table x; --',
        dimension: 3,
      });
      const badField = await http('query-vectors', {
        collection: 'docs-v1',
        vector: [1, 1, 1],
        filter: { "note' or 1=1 --": 'x' },
      });
      // Assess
      expect(upserted.statusCode).toBe(200);
      expect(json(found)).toMatchObject({ matches: [{ id: hostile, metadata: { note: hostile } }] });
      expect([badName.statusCode, badField.statusCode]).toEqual([400, 400]);
      expect(json(badName)['errors']).toEqual([expect.objectContaining({ pointer: '/collection' })]);
      expect(gate.attempts.length).toBe(attemptsBefore);
    });

    it('refuses to drop or write to a table it did not make', async () => {
      // Prepare
      await withPostgres(pglite.url, (admin) =>
        admin.query('create table if not exists "not-vectors" (id int)'),
      );
      // Act
      const dropped = await http('delete-collection', { collection: 'not-vectors' });
      const described = await http('describe-collection', { collection: 'not-vectors' });
      const still = await withPostgres(pglite.url, (admin) =>
        admin.query(`select to_regclass('"not-vectors"') as t`),
      );
      // Assess
      expect([dropped.statusCode, described.statusCode]).toEqual([409, 409]);
      expect(json(dropped)['detail']).toMatch(/is not a vector collection/);
      expect(still.rows[0]?.t).not.toBeNull();
    });
  });

  describe('Connection', () => {
    it('opens a new connection after the server dropped the old one', async () => {
      // Prepare
      gate.dropConnections();
      await pause(50);
      // Act
      const response = await http('describe-collection', { collection: 'docs-v1' });
      // Assess
      expect(response.statusCode).toBe(200);
    });
  });

  describe('Secret rotation', () => {
    it('fetches the secret again once when the server refuses the cached password, then succeeds', async () => {
      // Prepare
      const callsBefore = sm.calls.length;
      sm.set(SECRET, secretFor(ROTATED));
      gate.setPassword(ROTATED);
      gate.dropConnections();
      await pause(50);
      // Act
      const response = await http('describe-collection', { collection: 'docs-v1' });
      // Assess
      expect(response.statusCode).toBe(200);
      expect(sm.calls.length - callsBefore).toBe(1);
      expect(gate.attempts.slice(-2)).toEqual([FIRST, ROTATED]);
    });

    it('answers 401 when the fetched secret is refused too', async () => {
      // Prepare
      sm.set(SECRET, secretFor(WRONG));
      gate.setPassword(THIRD);
      gate.dropConnections();
      await pause(50);
      // Act
      const response = await http('describe-collection', { collection: 'docs-v1' });
      // Assess
      expect(response.statusCode).toBe(401);
      expect(json(response)).toMatchObject({ code: 'unauthorized' });
      expect(gate.attempts.slice(-2)).toEqual([ROTATED, WRONG]);
    });

    it('never writes a password to the logs or a response', () => {
      // Assess
      const seen = `${logs.text()}\n${responses.join('\n')}`;
      expect(logs.records().some((record) => record['message'] === 'invocation')).toBe(true);
      for (const password of PASSWORDS) expect(seen).not.toContain(password);
    });
  });

  describe('Configuration', () => {
    it('connects with PG_URL, and refuses writes with 403 in read-only mode', async () => {
      // Prepare
      delete process.env['PG_SECRET'];
      process.env['PG_URL'] = pglite.url;
      process.env['PG_READ_ONLY'] = 'true';
      vi.resetModules();
      const { connector: local } = await import('./index.ts');
      // Act
      const read = await local.run('describe-collection', { collection: 'docs-v1' });
      const write = local.run('delete-vectors', { collection: 'docs-v1', ids: ['faq#1'] });
      // Assess
      expect(read).toMatchObject({ dimension: 3, metric: 'cosine' });
      await expect(write).rejects.toMatchObject({ name: 'ForbiddenError' });
      await expect(write).rejects.toThrow(/PG_READ_ONLY=true/);
      await (await local.runtime.client()).close();
      delete process.env['PG_URL'];
      delete process.env['PG_READ_ONLY'];
      process.env['PG_SECRET'] = SECRET;
    });

    it('fails with a configuration error naming PG_SECRET when no credentials are set', async () => {
      // Prepare
      delete process.env['PG_SECRET'];
      vi.resetModules();
      const { connector: unconfigured } = await import('./index.ts');
      // Act
      const attempt = unconfigured.run('describe-collection', { collection: 'docs-v1' });
      // Assess
      await expect(attempt).rejects.toMatchObject({ name: 'ConfigurationError' });
      await expect(attempt).rejects.toThrow(/PG_SECRET/);
      process.env['PG_SECRET'] = SECRET;
    });
  });
});
