/**
 * The vector-store conformance suite on PGlite with pgvector, and on the machine's PostgreSQL when its
 * `vector` extension is installed (`pg_available_extensions`); where it is not, the refusal is checked.
 */
import { ValidationError } from '@circle-core/core';
import { afterAll, describe, expect, it } from 'vitest';
import {
  describeVectorStoreConformance,
  type VectorStoreFixture,
} from '#shared/interfaces/vector-store.conformance.ts';
import { urlCredentials } from '#shared/sql/credentials.ts';
import { realPostgresUrl, startPglite, withPostgres } from '../../../test/peers/postgres.ts';
import { PgvectorClient } from './client.ts';
import { PGVECTOR_ENGINE } from './config.ts';
import { tableName, vectorText } from './sql.ts';

const clientFor = (url: string, schema?: string): PgvectorClient =>
  new PgvectorClient({
    credentials: urlCredentials(url, PGVECTOR_ENGINE),
    ssl: 'disable',
    statementTimeoutMs: 15_000,
    connectTimeoutMs: 5_000,
    readOnly: false,
    applicationName: 'pgvector-test',
    ...(schema === undefined ? {} : { schema }),
  });

/** A raw SQL insert, as another tool writing the `jsonb` column would: any JSON per field. */
const writeForeign =
  (url: string): NonNullable<VectorStoreFixture['writeForeign']> =>
  (collection, namespace, records) =>
    withPostgres(url, async (client) => {
      for (const r of records) {
        await client.query(
          `insert into ${tableName('public', collection)} (namespace, id, embedding, metadata) values ($1, $2, $3::vector, $4::jsonb)`,
          [namespace, r.id, vectorText(r.values), JSON.stringify(r.metadata)],
        );
      }
    });

let stop: (() => Promise<void>) | undefined;
afterAll(async () => stop?.());

describeVectorStoreConformance('PgvectorClient on PGlite with pgvector', async () => {
  const pglite = await startPglite({ vector: true });
  stop = pglite.close;
  const store = clientFor(pglite.url);
  return { store, writeForeign: writeForeign(pglite.url), close: () => store.close() };
});

const realUrl = realPostgresUrl();
const realHasVector = await withPostgres(realUrl, (client) =>
  client.query("select 1 from pg_available_extensions where name = 'vector'"),
).then(
  (result) => (result.rowCount ?? 0) > 0,
  () => false,
);

if (realHasVector) {
  describeVectorStoreConformance('PgvectorClient on the machine’s PostgreSQL', async () => {
    const store = clientFor(realUrl);
    return { store, writeForeign: writeForeign(realUrl), close: () => store.close() };
  });
}

describe('PgvectorClient on a PostgreSQL without the vector extension', () => {
  it.runIf(!realHasVector)('refuses create-collection with a 400 naming the extension', async () => {
    // Prepare
    const store = clientFor(realUrl);
    // Act
    const error = await store
      .createCollection({ collection: 'probe', dimension: 3 })
      .catch((e: unknown) => e);
    await store.close();
    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect((error as Error).message).toMatch(/extension "vector" is not available/);
  });
});

describe('PgvectorClient after the server ended its session (warm container)', () => {
  it('answers the next read and the next write on a new connection, neither failing nor hanging', async () => {
    // Prepare: a connection of this client only, found by its application_name.
    const applicationName = `pgvector-drop-${process.pid}-${Date.now()}`;
    const store = new PgvectorClient({
      credentials: urlCredentials(realUrl, PGVECTOR_ENGINE),
      ssl: 'disable',
      statementTimeoutMs: 15_000,
      connectTimeoutMs: 5_000,
      readOnly: false,
      applicationName,
    });
    const terminate = async (): Promise<number> =>
      withPostgres(realUrl, async (admin) => {
        const found = await admin.query(
          'select pg_terminate_backend(pid) as done from pg_stat_activity where application_name = $1',
          [applicationName],
        );
        return found.rowCount ?? 0;
      });
    const missing = { collection: 'lmi-missing' };
    await expect(store.describeCollection(missing)).rejects.toThrow(/was not found/);
    // Act: pg_terminate_backend, as an idle timeout, a failover or a restart ends the session.
    const firstKilled = await terminate();
    const readError = await store.describeCollection(missing).catch((error: unknown) => error);
    const secondKilled = await terminate();
    const write = await store.deleteCollection(missing);
    await store.close();
    // Assess: the same answers as on a live connection.
    expect(firstKilled).toBe(1);
    expect(secondKilled).toBe(1);
    expect((readError as Error).message).toMatch(/Collection "lmi-missing" was not found/);
    expect(write).toEqual({ deleted: false });
  });
});
