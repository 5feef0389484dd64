/**
 * PostgreSQL peers for tests: the machine's real server, and PGlite (embedded PostgreSQL in WebAssembly)
 * served over the PostgreSQL wire protocol, so the same `pg` client code talks to both.
 */
import { randomBytes } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';

/** A running PGlite socket server. */
export interface PgliteServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  close(): Promise<void>;
}

/**
 * The real PostgreSQL server of this machine (trust auth on 127.0.0.1, database `test`).
 * `CIRCLE_TEST_PG_URL` overrides it, e.g. where the superuser is `root`.
 *
 * @example
 * ```ts
 * const client = new pg.Client(realPostgresUrl());
 * ```
 */
export function realPostgresUrl(): string {
  return process.env['CIRCLE_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
}

/**
 * Starts PGlite in memory behind `@electric-sql/pglite-socket` on 127.0.0.1 and an ephemeral port. PGlite
 * runs queries one at a time in this process, so a long statement (`pg_sleep`) blocks the test's event
 * loop; keep timeout tests on the real server.
 *
 * @example
 * ```ts
 * const pglite = await startPglite();
 * const client = new pg.Client(pglite.url);
 * afterAll(() => pglite.close());
 * ```
 */
export async function startPglite(): Promise<PgliteServer> {
  const db = await PGlite.create();
  // Several connections: a client reconnecting after a drop must not be refused while the old one closes.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
  await server.start();
  const address = server.getServerConn();
  return {
    url: `postgres://postgres@${address}/postgres`,
    close: async () => {
      await server.stop();
      await db.close();
    },
  };
}

/**
 * A name no other test file uses (`prefix_` + 12 hex characters), for a schema or a table, so suites
 * running in parallel never collide.
 *
 * @example
 * ```ts
 * const schema = uniqueName('pg_conformance'); // pg_conformance_3f9a1c0b2e4d
 * ```
 */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/**
 * Runs `work` with a short-lived admin connection to `url` (to create or drop a schema, or terminate a
 * backend), closing it afterwards.
 *
 * @example
 * ```ts
 * await withPostgres(realPostgresUrl(), (client) => client.query(`create schema ${schema}`));
 * ```
 */
export async function withPostgres<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
