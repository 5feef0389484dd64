/**
 * Bulk load: records of an S3 object (NDJSON, CSV, Parquet; read in ranges) mapped like transform-records,
 * then copied into a PostgreSQL table with `COPY ... FROM STDIN` (pg-copy-streams), one part of
 * `partRecords` input records per transaction. Each part is named `<loadId>#<n>` in a manifest table, in
 * the same transaction as its rows, so a part is loaded exactly once however often the load is run: a
 * retry or a resumed run skips the parts the table already lists. When the invocation's time runs low the
 * call stops between parts and answers `done: false`; calling again with the same `loadId` resumes. Once
 * every part is in, a manifest object (every part and its rows) is written to S3.
 */
import { createHash } from 'node:crypto';
import { ConfigurationError } from '@circle-core/core';
import { stringify as stringifyCsv } from 'csv-stringify/sync';
import type { ReadItem } from '#shared/data/formats.ts';
import { applyTransform, type RecordTransformParts, Rejections } from '#shared/data/record-transform.ts';
import {
  headObject,
  type S3ObjectAddress,
  S3ObjectWriter,
  type WrittenObject,
} from '#shared/data/s3-objects.ts';
import type { PostgresConnection, Session } from '#shared/sql/postgres-connection.ts';
import { type LoadPostgresInput, type LoadPostgresOutput, MAX_LISTED_REJECTIONS } from './models.ts';

/** Time a part needs at least: one COPY of a part and its commit, plus the answer. */
const PART_RESERVE_MS = 10_000;

/** What a load needs besides its input. */
export interface LoadContext {
  connection: PostgresConnection | undefined;
  manifestTable: string;
  partRecords: number;
  outputPrefix: string;
  source: S3ObjectAddress;
  items(address: S3ObjectAddress): AsyncGenerator<ReadItem>;
  parts: RecordTransformParts;
  manifestAddress(key: string): S3ObjectAddress;
  /** Milliseconds left in the invocation (the core's `remainingTimeMs`; tests pass their own). */
  timeLeft(): number;
}

const quoteIdent = (name: string): string => `"${name.replaceAll('"', '""')}"`;
const quoteTable = (name: string): string => name.split('.').map(quoteIdent).join('.');

const tablesReady = new Set<string>();

async function ensureManifestTable(session: Session, table: string): Promise<void> {
  if (tablesReady.has(table)) return;
  await session.run(
    `create table if not exists ${quoteTable(table)} (load_id text not null, part integer not null, rows integer not null, loaded_at timestamptz not null default now(), primary key (load_id, part))`,
  );
  tablesReady.add(table);
}

/** A row as CSV cells: strings always quoted (so '' stays an empty string), null and absent as NULL. */
function csvRows(rows: readonly unknown[], columns: readonly string[]): string {
  const cells = rows.map((row) =>
    columns.map((column) => {
      const value = (row as Record<string, unknown>)[column];
      if (value === undefined || value === null) return null;
      if (typeof value === 'object') return JSON.stringify(value);
      if (typeof value === 'boolean') return value ? 'true' : 'false';
      return value;
    }),
  );
  return stringifyCsv(cells, { quoted_string: true });
}

/** Where one part goes. */
interface PartTarget {
  manifest: string;
  table: string;
  loadId: string;
  part: number;
}

/**
 * Copies one part in one transaction with its manifest row; undefined when the manifest already lists it
 * (another run loaded it since this one looked).
 */
async function copyPart(
  connection: PostgresConnection,
  target: PartTarget,
  rows: readonly unknown[],
  names: readonly string[],
): Promise<number | undefined> {
  const { manifest, loadId, part } = target;
  return connection.use(async (session) => {
    await session.run('begin');
    const claimed = await session.run(
      `insert into ${manifest} (load_id, part, rows) values ($1, $2, 0) on conflict do nothing returning part`,
      [loadId, part],
    );
    if (claimed.rowCount === 0) {
      await session.run('rollback');
      return undefined;
    }
    const count =
      rows.length === 0 || names.length === 0
        ? 0
        : await session.copyFrom(
            `copy ${quoteTable(target.table)} (${names.map(quoteIdent).join(', ')}) from stdin with (format csv)`,
            [csvRows(rows, names)],
          );
    await session.run(`update ${manifest} set rows = $3 where load_id = $1 and part = $2`, [
      loadId,
      part,
      count,
    ]);
    await session.run('commit');
    return count;
  }, 'write');
}

/** Writes the manifest object of a finished load: every part with its name, rows and time. */
async function writeManifest(
  connection: PostgresConnection,
  context: LoadContext,
  load: { manifest: string; table: string; loadId: string; etag: string | undefined },
): Promise<WrittenObject> {
  const { loadId } = load;
  const parts = await connection.use(
    (session) =>
      session.run(`select part, rows, loaded_at from ${load.manifest} where load_id = $1 order by part`, [
        loadId,
      ]),
    'read',
  );
  const listed = parts.rows.map((row) => {
    const { part, rows, loaded_at } = row as { part: number; rows: number; loaded_at: unknown };
    return { name: `${loadId}#${part}`, rows: Number(rows), loadedAt: String(loaded_at) };
  });
  const key = `${context.outputPrefix}loads/${loadId}/manifest.json`;
  const writer = new S3ObjectWriter(context.manifestAddress(key), { contentType: 'application/json' });
  await writer.write(
    JSON.stringify({
      loadId,
      source: { bucket: context.source.bucket, key: context.source.key, etag: load.etag },
      table: load.table,
      parts: listed,
      rows: listed.reduce((sum, part) => sum + part.rows, 0),
    }),
  );
  return writer.finish();
}

/**
 * Runs (or resumes) one load; see the module comment.
 *
 * @example
 * ```ts
 * const result = await loadPostgres({ source: { key: 'in/orders.csv' }, table: 'orders' }, context);
 * ```
 */
export async function loadPostgres(
  input: LoadPostgresInput,
  context: LoadContext,
): Promise<LoadPostgresOutput> {
  const connection = context.connection;
  if (connection === undefined) {
    throw new ConfigurationError('No PostgreSQL database is configured: set PG_SECRET (or PG_URL locally)');
  }
  const { etag } = await headObject(context.source);
  const loadId =
    input.loadId ??
    createHash('sha256')
      .update([context.source.bucket, context.source.key, etag ?? '', input.table].join('\n'))
      .digest('hex')
      .slice(0, 32);
  const manifest = quoteTable(context.manifestTable);
  const loaded = await connection.use(async (session) => {
    await ensureManifestTable(session, context.manifestTable);
    const result = await session.run(`select part from ${manifest} where load_id = $1`, [loadId]);
    return new Set(result.rows.map((row) => Number((row as { part: number }).part)));
  }, 'read');
  const run = new PartRun(connection, context, {
    manifest,
    table: input.table,
    loadId,
    loaded,
    columns: input.columns,
  });
  const stopped = await run.go(input.partRecords ?? context.partRecords);
  const result = {
    loadId,
    done: !stopped,
    partsLoaded: run.partsLoaded,
    partsSkipped: run.partsSkipped,
    rowsLoaded: run.rowsLoaded,
    read: run.read,
    rejectedCount: run.rejections.count,
    rejected: run.rejections.listed,
  };
  if (stopped) return result;
  const written = await writeManifest(connection, context, { manifest, table: input.table, loadId, etag });
  return { ...result, manifest: { bucket: written.bucket, key: written.key } };
}

/** One call's pass over the records: parts read, transformed and copied, or skipped when listed. */
class PartRun {
  readonly rejections = new Rejections(MAX_LISTED_REJECTIONS);
  read = 0;
  rowsLoaded = 0;
  partsLoaded = 0;
  partsSkipped = 0;
  readonly #connection: PostgresConnection;
  readonly #context: LoadContext;
  readonly #load: { manifest: string; table: string; loadId: string; loaded: Set<number> };
  #columns: readonly string[] | undefined;
  #rows: unknown[] = [];

  constructor(
    connection: PostgresConnection,
    context: LoadContext,
    load: {
      manifest: string;
      table: string;
      loadId: string;
      loaded: Set<number>;
      columns: readonly string[] | undefined;
    },
  ) {
    this.#connection = connection;
    this.#context = context;
    this.#load = load;
    this.#columns = load.columns;
  }

  /** Reads every record; answers true when it stopped early for lack of time. */
  async go(partRecords: number): Promise<boolean> {
    const { loaded } = this.#load;
    let current = -1;
    for await (const item of this.#context.items(this.#context.source)) {
      const part = Math.floor(item.index / partRecords);
      if (part !== current) {
        if (current >= 0) await this.#flush(current);
        current = part;
        if (loaded.has(part)) this.partsSkipped += 1;
        else if (this.#context.timeLeft() < PART_RESERVE_MS) return true;
      }
      this.read += 1;
      if (!loaded.has(part)) await this.#take(item);
    }
    if (current >= 0) await this.#flush(current);
    return false;
  }

  async #take(item: ReadItem): Promise<void> {
    const outcome = await applyTransform(
      this.#context.parts,
      item,
      this.#context.timeLeft() - PART_RESERVE_MS,
    );
    if ('rejection' in outcome) {
      this.rejections.add(outcome.rejection);
      return;
    }
    const first = outcome.records[0];
    if (this.#columns === undefined && typeof first === 'object' && first !== null)
      this.#columns = Object.keys(first);
    this.#rows.push(...outcome.records);
  }

  async #flush(part: number): Promise<void> {
    const rows = this.#rows;
    this.#rows = [];
    if (this.#load.loaded.has(part)) return;
    const copied = await copyPart(this.#connection, { ...this.#load, part }, rows, this.#columns ?? []);
    if (copied === undefined) this.partsSkipped += 1;
    else {
      this.partsLoaded += 1;
      this.rowsLoaded += copied;
    }
    this.#load.loaded.add(part);
  }
}
