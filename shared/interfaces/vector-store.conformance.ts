/**
 * The vector-store conformance suite: behaviour every {@link VectorStore} implementation must show,
 * registered as vitest blocks that each implementation runs from its own test file against its peer
 * (PGlite with pgvector, the Qdrant and Pinecone contract fakes). Scores are checked against values
 * computed here, so a store that ranks or scores wrongly fails. Where the peer keeps any JSON as metadata
 * (a Qdrant payload, a `jsonb` column), the fixture writes records as another tool would and the suite
 * checks that reads return them as stored and that writes still refuse them.
 */
import { randomBytes } from 'node:crypto';
import { ConflictError, NotFoundError, ValidationError } from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VectorFilter } from '../models/vector-store.ts';
import { skipUnlessOffered } from './capability-tests.ts';
import type { VectorStore } from './vector-store.ts';

/** A record as another tool may have written it: metadata fields holding any JSON value. */
export interface ForeignRecord {
  id: string;
  values: number[];
  metadata: Record<string, unknown>;
}

/** What a conformance run needs from the implementation under test. */
export interface VectorStoreFixture {
  /** The implementation; the suite creates and drops its own collections (named `conf-<random>-...`). */
  store: VectorStore;
  /**
   * Writes records straight into the peer, bypassing the store, as another tool (LangChain, the store's own
   * clients) would: where the peer keeps any JSON (a Qdrant payload, a `jsonb` column). A store whose peer
   * refuses such metadata (Pinecone) leaves it out and the suite skips the checks of reading it.
   */
  writeForeign?(collection: string, namespace: string, records: ForeignRecord[]): Promise<void>;
  /** Called once after the suite. */
  close?(): Promise<void>;
}

const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

const dot = (a: number[], b: number[]): number => a.reduce((sum, x, i) => sum + x * (b[i] ?? 0), 0);
const norm = (a: number[]): number => Math.sqrt(dot(a, a));
const SCORES = {
  cosine: (a: number[], b: number[]) => dot(a, b) / (norm(a) * norm(b)),
  dot,
  euclidean: (a: number[], b: number[]) =>
    Math.sqrt(a.reduce((sum, x, i) => sum + (x - (b[i] ?? 0)) ** 2, 0)),
};

/** Six records in four dimensions whose order differs by metric. */
const RECORDS = [
  { id: 'a', values: [1, 0, 0, 0], metadata: { genre: 'drama', year: 2019, lang: 'en', free: true } },
  { id: 'b', values: [0.9, 0.1, 0, 0], metadata: { genre: 'drama', year: 2021, lang: 'fr', free: false } },
  { id: 'c', values: [3, 3, 0, 0], metadata: { genre: 'comedy', year: 2023, lang: 'en' } },
  { id: 'd', values: [0, 1, 0, 0], metadata: { genre: 'comedy', year: 2020, lang: 'de', free: true } },
  { id: 'e', values: [0, 0, 1, 0.5], metadata: { genre: 'news', year: 2024 } },
  { id: 'f', values: [-1, 0, 0, 0] },
];
const QUERY = [0.8, 0.3, 0.1, 0];

/** In a cosine collection a store may give vectors back scaled to unit length (Qdrant normalises on write). */
const direction = (v: number[]): ReturnType<typeof expect.closeTo>[] => {
  const length = norm(v);
  return v.map((x) => expect.closeTo(x / length, 5));
};
const unit = (v: number[] | undefined): number[] => (v === undefined ? [] : v.map((x) => x / norm(v)));

const expectedOrder = (metric: keyof typeof SCORES, ids = RECORDS.map((r) => r.id)): string[] =>
  RECORDS.filter((r) => ids.includes(r.id))
    .map((r) => ({ id: r.id, score: SCORES[metric](QUERY, r.values) }))
    .sort((x, y) => (metric === 'euclidean' ? x.score - y.score : y.score - x.score))
    .map((r) => r.id);

/**
 * Registers the conformance suite.
 *
 * @example
 * ```ts
 * describeVectorStoreConformance('PgvectorClient on PGlite', async () => {
 *   const store = new PgvectorClient(options);
 *   return { store, close: () => store.close() };
 * });
 * ```
 */
export function describeVectorStoreConformance(
  name: string,
  factory: () => Promise<VectorStoreFixture>,
): void {
  describe(`Conformance: VectorStore (${name})`, () => {
    let fixture: VectorStoreFixture;
    let store: VectorStore;
    const run = randomBytes(4).toString('hex');
    const cosine = `conf-${run}-cos`;
    const created: string[] = [cosine];

    const ids = async (filter: VectorFilter, namespace = ''): Promise<string[]> => {
      const { matches } = await store.queryVectors({
        collection: cosine,
        namespace,
        vector: QUERY,
        topK: 10,
        filter,
      });
      return matches.map((match) => match.id).sort();
    };

    beforeAll(async () => {
      fixture = await factory();
      store = fixture.store;
      await store.createCollection({ collection: cosine, dimension: 4, metric: 'cosine' });
      await store.upsertVectors({ collection: cosine, vectors: RECORDS });
    }, 180_000); // an embedded peer (PGlite with pgvector) starts slowly on a loaded machine

    afterAll(async () => {
      for (const collection of created) await store?.deleteCollection({ collection }).catch(() => undefined);
      await fixture?.close?.();
    });

    it('describes a collection with its dimension, metric and count', async () => {
      // Act
      const described = await store.describeCollection({ collection: cosine });
      // Assess
      expect(described).toEqual({
        collection: cosine,
        dimension: 4,
        metric: 'cosine',
        vectorCount: RECORDS.length,
      });
    });

    it('answers created: false for the same collection again, and ConflictError for another dimension', async () => {
      // Act
      const again = await store.createCollection({ collection: cosine, dimension: 4, metric: 'cosine' });
      const other = await failure(
        store.createCollection({ collection: cosine, dimension: 8, metric: 'cosine' }),
      );
      // Assess
      expect(again).toMatchObject({ created: false, dimension: 4, metric: 'cosine' });
      expect(other).toBeInstanceOf(ConflictError);
    });

    it('throws NotFoundError for a missing collection on describe, upsert and query', async () => {
      // Prepare
      const collection = `conf-${run}-missing`;
      // Act
      const errors = await Promise.all([
        failure(store.describeCollection({ collection })),
        failure(store.upsertVectors({ collection, vectors: [{ id: 'x', values: [1, 0, 0, 0] }] })),
        failure(store.queryVectors({ collection, vector: QUERY })),
      ]);
      // Assess
      for (const error of errors) expect(error).toBeInstanceOf(NotFoundError);
    });

    for (const metric of ['cosine', 'dot', 'euclidean'] as const) {
      it(`ranks and scores by ${metric}`, async () => {
        // Prepare
        const collection = metric === 'cosine' ? cosine : `conf-${run}-${metric}`;
        if (metric !== 'cosine') {
          created.push(collection);
          const out = await store.createCollection({ collection, dimension: 4, metric });
          expect(out).toEqual({ collection, dimension: 4, metric, vectorCount: 0, created: true });
          await store.upsertVectors({ collection, vectors: RECORDS });
        }
        // Act
        const { matches } = await store.queryVectors({ collection, vector: QUERY, topK: 4 });
        // Assess
        expect(matches.map((match) => match.id)).toEqual(expectedOrder(metric).slice(0, 4));
        for (const match of matches) {
          const record = RECORDS.find((r) => r.id === match.id);
          expect(match.score).toBeCloseTo(SCORES[metric](QUERY, record?.values ?? []), 4);
          expect(match.metadata).toEqual(record?.metadata ?? {});
          expect(match.values).toBeUndefined();
        }
      });
    }

    it('returns the vectors on request and fetches by id, listing missing ids', async () => {
      // Act
      const { matches } = await store.queryVectors({
        collection: cosine,
        vector: QUERY,
        topK: 1,
        includeValues: true,
      });
      const fetched = await store.fetchVectors({ collection: cosine, ids: ['c', 'nope', 'a'] });
      // Assess
      expect(unit(matches[0]?.values)).toEqual(direction([0.9, 0.1, 0, 0]));
      expect(fetched.vectors.map((v) => v.id)).toEqual(['c', 'a']);
      expect(fetched.vectors[0]).toMatchObject({ id: 'c', metadata: RECORDS[2]?.metadata });
      expect(unit(fetched.vectors[0]?.values)).toEqual(direction([3, 3, 0, 0]));
      expect(fetched.missing).toEqual(['nope']);
    });

    it('filters by equality, booleans, $ne and $nin (which match records without the field)', async () => {
      // Act & Assess
      expect(await ids({ genre: 'drama' })).toEqual(['a', 'b']);
      expect(await ids({ genre: { $eq: 'comedy' }, lang: 'en' })).toEqual(['c']);
      expect(await ids({ free: true })).toEqual(['a', 'd']);
      expect(await ids({ year: 2020 })).toEqual(['d']);
      expect(await ids({ genre: { $ne: 'drama' } })).toEqual(['c', 'd', 'e', 'f']);
      expect(await ids({ lang: { $nin: ['en', 'fr'] } })).toEqual(['d', 'e', 'f']);
    });

    it('filters by $in, ranges, $and and $or', async () => {
      // Act & Assess
      expect(await ids({ lang: { $in: ['fr', 'de'] } })).toEqual(['b', 'd']);
      expect(await ids({ year: { $gte: 2020, $lt: 2024 } })).toEqual(['b', 'c', 'd']);
      expect(await ids({ year: { $gt: 2023 } })).toEqual(['e']);
      expect(await ids({ year: { $lte: 2019 } })).toEqual(['a']);
      expect(await ids({ $or: [{ genre: 'news' }, { lang: 'fr' }] })).toEqual(['b', 'e']);
      expect(
        await ids({ $and: [{ genre: 'comedy' }, { $or: [{ year: { $lt: 2021 } }, { lang: 'fr' }] }] }),
      ).toEqual(['d']);
      expect(await ids({ genre: 'nothing-like-this' })).toEqual([]);
    });

    describe('list-of-strings metadata (Pinecone semantics: a condition on a list holds for any element)', () => {
      const namespace = 'lists';
      const LISTED = [
        { id: 'la', values: [1, 0, 0, 0], metadata: { tags: ['a', 'b'], n: 1 } },
        { id: 'lb', values: [0, 1, 0, 0], metadata: { tags: ['b', 'c'], n: 2 } },
        { id: 'lc', values: [0, 0, 1, 0], metadata: { tags: [] as string[], n: 3 } },
        { id: 'ld', values: [0, 0, 0, 1], metadata: { tags: 'a', n: 4 } },
        { id: 'le', values: [1, 1, 0, 0], metadata: { n: 5 } },
      ];
      const listed = (filter: VectorFilter): Promise<string[]> => ids(filter, namespace);

      beforeAll(async () => {
        await store.upsertVectors({ collection: cosine, namespace, vectors: LISTED });
      });

      it('writes lists and reads them back through query and fetch', async () => {
        // Act
        const { matches } = await store.queryVectors({
          collection: cosine,
          namespace,
          vector: QUERY,
          topK: 10,
        });
        const fetched = await store.fetchVectors({ collection: cosine, namespace, ids: ['la', 'lc', 'ld'] });
        // Assess
        expect(Object.fromEntries(matches.map((m) => [m.id, m.metadata]))).toEqual(
          Object.fromEntries(LISTED.map((r) => [r.id, r.metadata])),
        );
        expect(fetched.vectors.map((v) => [v.id, v.metadata])).toEqual([
          ['la', { tags: ['a', 'b'], n: 1 }],
          ['lc', { tags: [], n: 3 }],
          ['ld', { tags: 'a', n: 4 }],
        ]);
      });

      it('matches a list by $eq and $in when it holds the value (or any of them)', async () => {
        // Act & Assess
        expect(await listed({ tags: 'a' })).toEqual(['la', 'ld']);
        expect(await listed({ tags: { $eq: 'b' } })).toEqual(['la', 'lb']);
        expect(await listed({ tags: { $in: ['c', 'zz'] } })).toEqual(['lb']);
        expect(await listed({ tags: { $in: ['a', 'c'] } })).toEqual(['la', 'lb', 'ld']);
        expect(await listed({ tags: 'zz' })).toEqual([]);
        expect(await listed({ tags: { $in: [1, 2] } })).toEqual([]);
        expect(await listed({ $and: [{ tags: 'b' }, { n: { $gte: 2 } }] })).toEqual(['lb']);
      });

      it('matches a list by $ne and $nin only when it holds none of the values', async () => {
        // Act & Assess
        expect(await listed({ tags: { $ne: 'a' } })).toEqual(['lb', 'lc', 'le']);
        expect(await listed({ tags: { $nin: ['a', 'c'] } })).toEqual(['lc', 'le']);
        expect(await listed({ tags: { $nin: ['zz'] } })).toEqual(['la', 'lb', 'lc', 'ld', 'le']);
        expect(await listed({ $or: [{ tags: { $ne: 'b' } }, { n: 1 }] })).toEqual(['la', 'lc', 'ld', 'le']);
      });

      it('never matches a list with a range', async () => {
        // Act & Assess
        expect(await listed({ tags: { $gte: 0 } })).toEqual([]);
        expect(await listed({ tags: { $lt: 1e9 } })).toEqual([]);
      });

      it('refuses a list over the bounds, or holding anything but text, with ValidationError', async () => {
        // Act
        const errors = await Promise.all(
          [Array.from({ length: 65 }, (_, i) => `t${i}`), ['x'.repeat(4_097)], ['a', 1], [['a']], [null]].map(
            (tags) =>
              failure(
                store.upsertVectors({
                  collection: cosine,
                  namespace: 'lists-refused',
                  vectors: [{ id: 'x', values: [1, 0, 0, 0], metadata: { tags } as never }],
                }),
              ),
          ),
        );
        const filter = await failure(
          store.queryVectors({ collection: cosine, vector: QUERY, filter: { tags: ['a'] } as never }),
        );
        // Assess
        for (const error of [...errors, filter]) expect(error).toBeInstanceOf(ValidationError);
        const left = await store.fetchVectors({ collection: cosine, namespace: 'lists-refused', ids: ['x'] });
        expect(left.missing).toEqual(['x']);
      });
    });

    describe('metadata another tool wrote (any JSON value per field: nested objects, null, lists of anything)', () => {
      const namespace = 'foreign';
      const FOREIGN: ForeignRecord[] = [
        // LangChain's Qdrant integration: `metadata` holds the document's metadata, `loc` nested.
        { id: 'fa', values: [1, 0, 0, 0], metadata: { source: 'a.pdf', loc: { lines: { from: 1, to: 9 } } } },
        {
          id: 'fb',
          values: [0, 1, 0, 0],
          metadata: { source: 'b.pdf', page: null, nums: [1, 2, 3], mixed: ['a', 1, true, null, { x: 1 }] },
        },
        { id: 'fc', values: [0, 0, 1, 0], metadata: { source: 'a.pdf', page: 3 } },
      ];
      const foreign = (filter: VectorFilter): Promise<string[]> => ids(filter, namespace);

      beforeAll(async () => {
        await fixture.writeForeign?.(cosine, namespace, FOREIGN);
      });

      it('reads them back as the store holds them, through query and fetch', async (context) => {
        // Prepare
        if (fixture.writeForeign === undefined) context.skip();
        // Act
        const { matches } = await store.queryVectors({
          collection: cosine,
          namespace,
          vector: QUERY,
          topK: 10,
        });
        const fetched = await store.fetchVectors({ collection: cosine, namespace, ids: ['fb', 'fa'] });
        // Assess
        expect(Object.fromEntries(matches.map((m) => [m.id, m.metadata]))).toEqual(
          Object.fromEntries(FOREIGN.map((r) => [r.id, r.metadata])),
        );
        expect(fetched.vectors.map((v) => [v.id, v.metadata])).toEqual([
          ['fb', FOREIGN[1]?.metadata],
          ['fa', FOREIGN[0]?.metadata],
        ]);
      });

      it('filters on a flat field while other fields of the same records are nested, null or mixed lists', async (context) => {
        // Prepare
        if (fixture.writeForeign === undefined) context.skip();
        // Act & Assess
        expect(await foreign({ source: 'a.pdf' })).toEqual(['fa', 'fc']);
        expect(await foreign({ source: { $in: ['b.pdf', 'zz'] } })).toEqual(['fb']);
        expect(await foreign({ page: { $gte: 1 } })).toEqual(['fc']);
        expect(await foreign({ page: { $ne: 3 } })).toEqual(['fa', 'fb']);
        expect(await foreign({ source: { $nin: ['a.pdf'] } })).toEqual(['fb']);
        expect(await foreign({ loc: 'a.pdf' })).toEqual([]);
        expect(await foreign({ loc: { $gt: 0 } })).toEqual([]);
      });

      it('still refuses to write such metadata, with ValidationError naming the field', async () => {
        // Act
        const errors = await Promise.all(
          [{ loc: { lines: { from: 1 } } }, { page: null }, { nums: [1, 2, 3] }, { mixed: ['a', 1] }].map(
            (metadata) =>
              failure(
                store.upsertVectors({
                  collection: cosine,
                  namespace: 'foreign-refused',
                  vectors: [{ id: 'x', values: [1, 0, 0, 0], metadata: metadata as never }],
                }),
              ),
          ),
        );
        // Assess
        for (const [i, error] of errors.entries()) {
          expect(error).toBeInstanceOf(ValidationError);
          const field = ['loc', 'page', 'nums', 'mixed'][i];
          expect((error as ValidationError).issues.map((issue) => issue.pointer).join(' ')).toContain(
            `/vectors/0/metadata/${field}`,
          );
        }
        const left = await store.fetchVectors({
          collection: cosine,
          namespace: 'foreign-refused',
          ids: ['x'],
        });
        expect(left.missing).toEqual(['x']);
      });
    });

    it('keeps the top k of the filtered records, closest first', async () => {
      // Act
      const { matches } = await store.queryVectors({
        collection: cosine,
        vector: QUERY,
        topK: 2,
        filter: { genre: { $in: ['comedy', 'news'] } },
      });
      // Assess
      expect(matches.map((m) => m.id)).toEqual(expectedOrder('cosine', ['c', 'd', 'e']).slice(0, 2));
    });

    it('replaces a record with the same id, values and metadata', async () => {
      // Prepare
      const namespace = 'replace';
      await store.upsertVectors({
        collection: cosine,
        namespace,
        vectors: [{ id: 'r', values: [1, 1, 1, 1], metadata: { v: 1 } }],
      });
      // Act
      await store.upsertVectors({
        collection: cosine,
        namespace,
        vectors: [{ id: 'r', values: [0, 0, 0, 2] }],
      });
      const fetched = await store.fetchVectors({ collection: cosine, namespace, ids: ['r'] });
      // Assess
      expect(fetched.vectors).toEqual([{ id: 'r', values: expect.any(Array), metadata: {} }]);
      expect(unit(fetched.vectors[0]?.values)).toEqual(direction([0, 0, 0, 2]));
    });

    it('keeps namespaces apart for query, fetch and delete', async () => {
      // Prepare
      await store.upsertVectors({
        collection: cosine,
        namespace: 'tenant-1',
        vectors: [{ id: 'a', values: [0, 0, 0, 1], metadata: { genre: 'drama' } }],
      });
      // Act
      const inTenant = await ids({ genre: 'drama' }, 'tenant-1');
      const fetchedDefault = await store.fetchVectors({ collection: cosine, ids: ['a'] });
      await store.deleteVectors({ collection: cosine, namespace: 'tenant-1', ids: ['a'] });
      // Assess
      expect(inTenant).toEqual(['a']);
      expect(unit(fetchedDefault.vectors[0]?.values)).toEqual(direction([1, 0, 0, 0]));
      expect(await ids({ genre: 'drama' })).toEqual(['a', 'b']);
      expect(await ids({ genre: 'drama' }, 'tenant-1')).toEqual([]);
    });

    it('deletes by id and by filter within one namespace', async () => {
      // Prepare
      const namespace = 'deletes';
      await store.upsertVectors({ collection: cosine, namespace, vectors: RECORDS });
      // Act
      const byId = await store.deleteVectors({ collection: cosine, namespace, ids: ['a', 'b', 'zz'] });
      const byFilter = await store.deleteVectors({
        collection: cosine,
        namespace,
        filter: { genre: 'comedy' },
      });
      const left = await ids({ year: { $gt: 0 } }, namespace);
      const untouched = await ids({ genre: 'comedy' });
      // Assess
      expect(left).toEqual(['e']);
      expect(untouched).toEqual(['c', 'd']);
      for (const out of [byId, byFilter])
        expect(out.deleted === null || typeof out.deleted === 'number').toBe(true);
    });

    it('counts deleted records where it can', async (context) => {
      // Prepare
      skipUnlessOffered(context, store, 'exact-delete-count');
      const namespace = 'counted';
      await store.upsertVectors({ collection: cosine, namespace, vectors: RECORDS });
      // Act
      const byId = await store.deleteVectors({ collection: cosine, namespace, ids: ['a', 'zz'] });
      const byFilter = await store.deleteVectors({
        collection: cosine,
        namespace,
        filter: { genre: 'comedy' },
      });
      // Assess
      expect([byId.deleted, byFilter.deleted]).toEqual([1, 2]);
    });

    it('writes a batch of 100 records in one call', async () => {
      // Prepare
      const namespace = 'batch';
      const vectors = Array.from({ length: 100 }, (_, i) => ({
        id: `n${i}`,
        values: [Math.cos(i), Math.sin(i), i / 100, 1],
        metadata: { i },
      }));
      // Act
      const out = await store.upsertVectors({ collection: cosine, namespace, vectors });
      const found = await store.queryVectors({
        collection: cosine,
        namespace,
        vector: [1, 0, 0, 1],
        topK: 100,
      });
      // Assess
      expect(out).toEqual({ upserted: 100 });
      expect(found.matches).toHaveLength(100);
    });

    it('refuses a vector of the wrong dimension with ValidationError, writing nothing', async () => {
      // Prepare
      const namespace = 'wrong-dimension';
      // Act
      const upsert = await failure(
        store.upsertVectors({
          collection: cosine,
          namespace,
          vectors: [
            { id: 'ok', values: [1, 0, 0, 0] },
            { id: 'bad', values: [1, 0, 0] },
          ],
        }),
      );
      const query = await failure(store.queryVectors({ collection: cosine, vector: [1, 0] }));
      // Assess
      expect(upsert).toBeInstanceOf(ValidationError);
      expect(query).toBeInstanceOf(ValidationError);
      expect((await store.fetchVectors({ collection: cosine, namespace, ids: ['ok'] })).missing).toEqual([
        'ok',
      ]);
    });

    it('refuses bad input with ValidationError before calling the store', async () => {
      // Act
      const errors = await Promise.all([
        failure(store.createCollection({ collection: 'Bad Name', dimension: 4 })),
        failure(store.createCollection({ collection: 'bad"; drop table x; --', dimension: 4 })),
        failure(
          store.queryVectors({
            collection: cosine,
            vector: QUERY,
            filter: { genre: { $regex: 'x' } } as never,
          }),
        ),
        failure(store.queryVectors({ collection: cosine, vector: QUERY, filter: { 'a.b': 1 } })),
        failure(store.deleteVectors({ collection: cosine })),
        failure(
          store.upsertVectors({ collection: cosine, vectors: [{ id: 'x', values: [Number.NaN, 0, 0, 0] }] }),
        ),
        failure(store.queryVectors({ collection: cosine, vector: [0, 0, 0, 0] })),
      ]);
      // Assess
      for (const error of errors) expect(error).toBeInstanceOf(ValidationError);
    });

    it('drops a collection; dropping a missing one answers deleted: false', async () => {
      // Prepare
      const collection = `conf-${run}-drop`;
      await store.createCollection({ collection, dimension: 2, metric: 'dot' });
      // Act
      const first = await store.deleteCollection({ collection });
      const second = await store.deleteCollection({ collection });
      // Assess
      expect([first.deleted, second.deleted]).toEqual([true, false]);
      expect(await failure(store.describeCollection({ collection }))).toBeInstanceOf(NotFoundError);
    });
  });
}
