/**
 * The pgvector connector is not in the shared suite (support/suite.ts): its peer, PGlite with the vector
 * extension, takes about 30 s to start on this machine, too much for every shared hardening file. Here, on
 * that peer behind a password gate with a distinctive password (the Secrets Manager fake holds it), the
 * shared checks it would get there: every operation runs its sample (no 5xx); every operation refuses an
 * unknown field, at the top and nested, with 400 naming its pointer; hostile bodies (not JSON, not an
 * object, prototype keys, identifiers and filter keys that try to leave their place) answer 4xx or keep
 * their place; the peer's faults map to the error taxonomy (refused password 401 unauthorized, server gone
 * 503 provider_unavailable); and with POWERTOOLS_LOG_LEVEL=DEBUG no answer or log line holds the password.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { type CapturedLogs, captureLogs, httpEvent, lambdaContext } from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type SecretsManagerFake, startSecretsManagerFake } from '../fakes/secrets-manager.ts';
import { type PasswordGate, type PgliteServer, startPasswordGate, startPglite } from '../peers/postgres.ts';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

interface Loaded {
  handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
  runtime: { operations: Record<string, unknown>; client(): Promise<{ close(): Promise<void> }> };
}

const SECRET = 'circle-core/pgvector/credentials';
const PASSWORD = `Pgvector-Pass-${randomBytes(12).toString('hex')}`;
const WRONG = `Pgvector-Wrong-${randomBytes(12).toString('hex')}`;

/** A valid input per operation; the collection `docs` (3 dimensions, cosine) is seeded. */
const SAMPLES: Record<string, Record<string, unknown>> = {
  'create-collection': { collection: 'probe', dimension: 3, metric: 'cosine' },
  'describe-collection': { collection: 'docs' },
  'upsert-vectors': {
    collection: 'docs',
    vectors: [{ id: 'probe#1', values: [0, 0, 1], metadata: { source: 'probe' } }],
  },
  'query-vectors': { collection: 'docs', vector: [1, 0, 0], topK: 2, filter: { source: 'handbook' } },
  'fetch-vectors': { collection: 'docs', ids: ['handbook#1', 'gone'] },
  'delete-vectors': { collection: 'docs', ids: ['probe#gone'] },
  'delete-collection': { collection: 'probe-gone' },
};

let pglite: PgliteServer;
let gate: PasswordGate;
let sm: SecretsManagerFake;
let logs: CapturedLogs;
let connector: Loaded;
const answers: string[] = [];
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({
    path: `/pgvector/${operation}`,
    body,
    headers: { 'idempotency-key': randomUUID() },
  });
  const response = (await connector.handler(event, lambdaContext())) as HttpResult;
  answers.push(response.body);
  return response;
}

const json = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

const secretFor = (password: string): string =>
  JSON.stringify({
    username: 'postgres',
    password,
    host: gate.host,
    port: gate.port,
    dbname: 'postgres',
    engine: 'postgres',
  });

beforeAll(async () => {
  pglite = await startPglite({ vector: true });
  gate = await startPasswordGate({ upstream: pglite.url, password: PASSWORD });
  sm = await startSecretsManagerFake({});
  sm.set(SECRET, secretFor(PASSWORD));
  Object.assign(process.env, {
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: sm.endpoint,
    PG_SECRET: SECRET,
    PG_SSL: 'disable',
    PG_STATEMENT_TIMEOUT_MS: '5000',
    PG_CONNECT_TIMEOUT_MS: '2000',
  });
  delete process.env['PG_URL'];
  vi.resetModules();
  connector = (await import('../../functions/ai/pgvector/index.ts')).connector as unknown as Loaded;
  logs = captureLogs();
  const created = await call('create-collection', { collection: 'docs', dimension: 3, metric: 'cosine' });
  const seeded = await call('upsert-vectors', {
    collection: 'docs',
    vectors: [
      { id: 'handbook#1', values: [1, 0, 0], metadata: { source: 'handbook', page: 1 } },
      { id: 'handbook#2', values: [0, 1, 0], metadata: { source: 'handbook', page: 2 } },
    ],
  });
  if (created.statusCode !== 200 || seeded.statusCode !== 200)
    throw new Error(`seeding failed: ${created.body} ${seeded.body}`);
}, 180_000); // PGlite with pgvector starts slowly on a loaded machine

afterAll(async () => {
  logs?.restore();
  await (await connector?.runtime.client().catch(() => undefined))?.close();
  process.env = savedEnv;
  await gate?.close();
  await sm?.close();
  await pglite?.close();
});

describe('pgvector: every operation', () => {
  it('has a sample for each operation (a new operation needs one here)', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(connector.runtime.operations).sort());
  });

  it.each(Object.keys(SAMPLES))('%s runs its sample without a server error', async (operation) => {
    const response = await call(operation, SAMPLES[operation]);
    expect(response.statusCode, response.body).toBeLessThan(500);
    expect([200, 404]).toContain(response.statusCode);
  });
});

describe('pgvector: strict inputs', () => {
  it.each(Object.keys(SAMPLES))('%s refuses an unknown top-level field naming it', async (operation) => {
    const response = await call(operation, { ...SAMPLES[operation], surplus: true });
    expect(response.statusCode, response.body).toBe(400);
    expect(response.body).toContain('surplus');
  });

  it('refuses an unknown field inside a vector', async () => {
    const response = await call('upsert-vectors', {
      collection: 'docs',
      vectors: [{ id: 'probe#2', values: [0, 1, 1], surplus: 1 }],
    });
    expect(response.statusCode, response.body).toBe(400);
    expect(response.body).toContain('/vectors/0');
  });
});

describe('pgvector: hostile bodies', () => {
  it.each([
    ['not JSON', '{"collection": "docs"'],
    ['an array', '[1, 2, 3]'],
    ['a string', '"docs"'],
    ['null', 'null'],
  ])('answers 400 problem+json to a body that is %s', async (_name, raw) => {
    const event = httpEvent({ path: '/pgvector/describe-collection', body: raw });
    const response = (await connector.handler(event, lambdaContext())) as HttpResult;
    expect(response.statusCode, response.body).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(response.body).not.toMatch(/\n\s+at /);
  });

  it.each([
    ['a quote and a statement', 'docs"; drop table docs; --'],
    ['a schema-qualified name', 'pg_catalog.pg_authid'],
    ['an upper-case name', 'Docs'],
    ['a path', '../docs'],
    ['an over-long name', 'a'.repeat(200)],
  ])('refuses a collection name with %s (400 naming /collection)', async (_name, collection) => {
    const response = await call('describe-collection', { collection });
    expect(response.statusCode, response.body).toBe(400);
    expect(response.body).toContain('/collection');
  });

  it('keeps prototype keys as plain data and refuses them where fields are fixed', async () => {
    const body = JSON.parse('{"collection":"docs","__proto__":{"admin":true}}');
    const response = await call('describe-collection', body);
    expect(response.statusCode).toBe(400);
    expect(({} as Record<string, unknown>)['admin']).toBeUndefined();
  });

  it('stores metadata that looks like SQL verbatim and matches it only as a value', async () => {
    const hostile = "x'); drop table docs; --";
    const upserted = await call('upsert-vectors', {
      collection: 'docs',
      vectors: [{ id: "probe#'quote", values: [0, 1, 1], metadata: { source: hostile } }],
    });
    const fetched = await call('fetch-vectors', { collection: 'docs', ids: ["probe#'quote"] });
    const matched = await call('query-vectors', {
      collection: 'docs',
      vector: [0, 1, 1],
      topK: 5,
      filter: { source: hostile },
    });
    const injected = await call('query-vectors', {
      collection: 'docs',
      vector: [1, 0, 0],
      topK: 5,
      filter: { source: "handbook' or '1'='1" },
    });
    expect([upserted.statusCode, fetched.statusCode, matched.statusCode]).toEqual([200, 200, 200]);
    expect(fetched.body).toContain('drop table docs');
    const ids = (body: HttpResult): string[] =>
      ((json(body)['matches'] as { id: string }[] | undefined) ?? []).map((match) => match.id);
    expect(ids(matched)).toEqual(["probe#'quote"]);
    expect(injected.statusCode).toBe(200);
    expect(ids(injected)).toEqual([]);
    expect((await call('describe-collection', { collection: 'docs' })).statusCode).toBe(200);
  });

  it('refuses a filter key that tries to leave its place (400 naming /filter)', async () => {
    const response = await call('query-vectors', {
      collection: 'docs',
      vector: [1, 0, 0],
      topK: 1,
      filter: { "source') or true --": 'x' },
    });
    // Either refused by the filter grammar, or kept as a metadata key no record has.
    if (response.statusCode === 200) expect(json(response)['matches']).toEqual([]);
    else {
      expect(response.statusCode, response.body).toBe(400);
      expect(response.body).toContain('/filter');
    }
  });

  it('refuses a vector of the wrong dimension and non-finite values', async () => {
    const wrong = await call('query-vectors', { collection: 'docs', vector: [1, 0], topK: 1 });
    // JSON.parse reads 1e400 as Infinity: a value no vector may hold.
    const huge = await call('query-vectors', '{"collection":"docs","vector":[1e400,0,0],"topK":1}');
    expect(wrong.statusCode, wrong.body).toBe(400);
    expect(huge.statusCode, huge.body).toBe(400);
  });
});

describe('pgvector: peer faults and secrets', () => {
  it('answers 401 unauthorized when the server refuses the secret’s password, naming no password', async () => {
    sm.set(SECRET, secretFor(WRONG));
    gate.setPassword(`${PASSWORD}-rotated`);
    gate.dropConnections();
    const response = await call('describe-collection', { collection: 'docs' });
    expect(response.statusCode, response.body).toBe(401);
    expect(json(response)).toMatchObject({ code: 'unauthorized' });
    expect(gate.attempts).toContain(WRONG);
    sm.set(SECRET, secretFor(PASSWORD));
    gate.setPassword(PASSWORD);
  });

  it('answers 503 provider_unavailable when the server is gone', async () => {
    gate.dropConnections();
    await gate.close();
    const response = await call('describe-collection', { collection: 'docs' });
    expect(response.statusCode, response.body).toBe(503);
    expect(json(response)).toMatchObject({ code: 'provider_unavailable' });
  });

  it('never writes a password to an answer or a log line (DEBUG)', () => {
    const seen = `${logs.text()}\n${answers.join('\n')}`;
    expect(logs.records().some((record) => record['message'] === 'invocation')).toBe(true);
    expect(seen).not.toContain(PASSWORD);
    expect(seen).not.toContain(WRONG);
  });
});
