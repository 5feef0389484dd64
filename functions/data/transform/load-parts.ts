/**
 * The part and manifest logic every bulk load shares (load-postgres, load-mysql): an S3 object's records
 * read in order and cut into parts of `partRecords` input records, each mapped like transform-records and
 * handed to the target's {@link PartStore}, which writes the part's rows and claims its name `<loadId>#<n>`
 * in a manifest table in one transaction. A part the table lists is skipped without being evaluated, so a
 * retry or a resumed run loads nothing twice. Under {@link PART_RESERVE_MS} left the run stops between
 * parts and answers `done: false`; once every part is in, a manifest object lists them in S3.
 *
 * A part's write overlaps with reading the next one: at most one write is in flight, and it is awaited
 * before the next part's write starts, before stopping and before answering, so parts are written one
 * after another in order, a part after a failed one is never written, and memory holds two parts.
 */
import { createHash } from 'node:crypto';
import type { ReadItem } from '#shared/data/formats.ts';
import {
  applyChecks,
  applyTransform,
  type RecordOutcome,
  type RecordTransformParts,
  Rejections,
} from '#shared/data/record-transform.ts';
import { headObject, type S3ObjectAddress, S3ObjectWriter } from '#shared/data/s3-objects.ts';
import { type LoadPostgresInput, type LoadPostgresOutput, MAX_LISTED_REJECTIONS } from './models.ts';

/** Time a part needs at least: writing one part and its commit, plus the answer. */
export const PART_RESERVE_MS = 10_000;

/** What a load needs besides its input and its target. */
export interface LoadContext {
  manifestTable: string;
  partRecords: number;
  outputPrefix: string;
  source: S3ObjectAddress;
  /** The object's items, an array at a time (as its reader parsed them). */
  items(address: S3ObjectAddress): AsyncGenerator<ReadItem[]>;
  parts: RecordTransformParts;
  manifestAddress(key: string): S3ObjectAddress;
  /** Milliseconds left in the invocation (the core's `remainingTimeMs`; tests pass their own). */
  timeLeft(): number;
}

/** One part of one load. */
export interface PartName {
  loadId: string;
  part: number;
}

/** A part as the manifest table lists it. */
export interface ListedPart {
  part: number;
  rows: number;
  loadedAt: string;
}

/** The target database's side of a load: its manifest table and its writes. */
export interface PartStore {
  /** The parts of a load the manifest table lists (creating the table on first use). */
  loadedParts(loadId: string): Promise<Set<number>>;
  /**
   * Writes one part's rows and its manifest row in one transaction; undefined when the manifest already
   * lists the part (another run loaded it since this one looked).
   */
  writePart(
    name: PartName,
    rows: readonly unknown[],
    columns: readonly string[],
  ): Promise<number | undefined>;
  /** Every part of a load the manifest table lists, in order. */
  listParts(loadId: string): Promise<ListedPart[]>;
}

/** The input every bulk load takes (load-mysql's has the same shape). */
export type LoadInput = LoadPostgresInput;
/** The answer every bulk load gives. */
export type LoadOutput = LoadPostgresOutput;

/**
 * Runs (or resumes) one load into `store`; see the module comment.
 *
 * @example
 * ```ts
 * const result = await runLoad({ source: { key: 'in/orders.csv' }, table: 'orders' }, context, store);
 * ```
 */
export async function runLoad(input: LoadInput, context: LoadContext, store: PartStore): Promise<LoadOutput> {
  const { etag } = await headObject(context.source);
  const loadId =
    input.loadId ??
    createHash('sha256')
      .update([context.source.bucket, context.source.key, etag ?? '', input.table].join('\n'))
      .digest('hex')
      .slice(0, 32);
  const loaded = await store.loadedParts(loadId);
  const run = new PartRun(store, context, { loadId, loaded, columns: input.columns });
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
  const listed = (await store.listParts(loadId)).map(({ part, rows, loadedAt }) => ({
    name: `${loadId}#${part}`,
    rows,
    loadedAt,
  }));
  const key = `${context.outputPrefix}loads/${loadId}/manifest.json`;
  const writer = new S3ObjectWriter(context.manifestAddress(key), { contentType: 'application/json' });
  await writer.write(
    JSON.stringify({
      loadId,
      source: { bucket: context.source.bucket, key: context.source.key, etag },
      table: input.table,
      parts: listed,
      rows: listed.reduce((sum, part) => sum + part.rows, 0),
    }),
  );
  const written = await writer.finish();
  return { ...result, manifest: { bucket: written.bucket, key: written.key } };
}

/** One call's pass over the records: parts read, transformed and written, or skipped when listed. */
class PartRun {
  readonly rejections = new Rejections(MAX_LISTED_REJECTIONS);
  read = 0;
  rowsLoaded = 0;
  partsLoaded = 0;
  partsSkipped = 0;
  readonly #store: PartStore;
  readonly #context: LoadContext;
  readonly #load: { loadId: string; loaded: Set<number> };
  #columns: readonly string[] | undefined;
  #rows: unknown[] = [];
  #writing: Promise<void> | undefined;
  #current = -1;

  constructor(
    store: PartStore,
    context: LoadContext,
    load: { loadId: string; loaded: Set<number>; columns: readonly string[] | undefined },
  ) {
    this.#store = store;
    this.#context = context;
    this.#load = load;
    this.#columns = load.columns;
  }

  /** Reads every record; answers true when it stopped early for lack of time. */
  async go(partRecords: number): Promise<boolean> {
    try {
      return await this.#go(partRecords);
    } finally {
      // The write in flight ends (committed or rolled back) before the answer, whatever happened.
      await this.#writing?.catch(() => undefined);
    }
  }

  async #go(partRecords: number): Promise<boolean> {
    const { loaded } = this.#load;
    for await (const batch of this.#context.items(this.#context.source)) {
      for (const item of batch) {
        const part = Math.floor(item.index / partRecords);
        if (part !== this.#current && (await this.#enter(part))) return true;
        this.read += 1;
        if (loaded.has(part)) continue;
        const pending = this.#take(item);
        if (pending !== undefined) await pending;
      }
    }
    if (this.#current >= 0) await this.#flush(this.#current);
    await this.#settle();
    return false;
  }

  /** Moves on to `part`, the one before it flushed; true when there is no time left to load it. */
  async #enter(part: number): Promise<boolean> {
    if (this.#current >= 0) await this.#flush(this.#current);
    this.#current = part;
    if (this.#load.loaded.has(part)) {
      this.partsSkipped += 1;
      return false;
    }
    if (this.#context.timeLeft() >= PART_RESERVE_MS) return false;
    await this.#settle();
    return true;
  }

  /** Takes one item's outcome; a promise only when an expression is evaluated. */
  #take(item: ReadItem): Promise<void> | undefined {
    const { parts } = this.#context;
    const timeoutMs = this.#context.timeLeft() - PART_RESERVE_MS;
    if (parts.expression === undefined) {
      this.#keep(applyChecks(parts, item));
      return undefined;
    }
    return applyTransform(parts, item, timeoutMs).then((outcome) => this.#keep(outcome));
  }

  #keep(outcome: RecordOutcome): void {
    if ('rejection' in outcome) {
      this.rejections.add(outcome.rejection);
      return;
    }
    const first = outcome.records[0];
    if (this.#columns === undefined && typeof first === 'object' && first !== null)
      this.#columns = Object.keys(first);
    for (const record of outcome.records) this.#rows.push(record);
  }

  /** Waits for the write in flight; its failure is the load's. */
  async #settle(): Promise<void> {
    const writing = this.#writing;
    this.#writing = undefined;
    await writing;
  }

  /** Starts writing a part once the one before it is written; the next part is read meanwhile. */
  async #flush(part: number): Promise<void> {
    const rows = this.#rows;
    this.#rows = [];
    await this.#settle();
    if (this.#load.loaded.has(part)) return;
    this.#load.loaded.add(part);
    const writing = this.#store
      .writePart({ loadId: this.#load.loadId, part }, rows, this.#columns ?? [])
      .then((written) => {
        if (written === undefined) this.partsSkipped += 1;
        else {
          this.partsLoaded += 1;
          this.rowsLoaded += written;
        }
      });
    // Awaited by the next flush, the stop or the end; marked handled meanwhile.
    writing.catch(() => undefined);
    this.#writing = writing;
  }
}
