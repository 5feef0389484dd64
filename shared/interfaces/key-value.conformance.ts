/**
 * The key-value conformance suite: behaviour every {@link KeyValueStore} implementation must show,
 * registered as vitest blocks that each implementation runs from its own test file against its peer (the
 * real Redis, dynalite). A test for an optional ability skips where it is not offered, and its
 * NotSupportedError refusal skips where it is: test/conformance runs the suite once against a store
 * without any optional ability.
 */
import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError, NotSupportedError, ValidationError } from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_BATCH_GET, MAX_BATCH_PUT, MAX_VALUE_BYTES } from '../models/key-value.ts';
import { skipIfOffered, skipUnlessOffered } from './capability-tests.ts';
import type { KeyValueStore } from './key-value.ts';

/** What a conformance run needs from the implementation under test. */
export interface KeyValueFixture {
  /** The implementation, pointed at a store other runs may share (keys are namespaced per run). */
  store: KeyValueStore;
  /** Called once after the suite. */
  close?(): Promise<void>;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const failure = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => undefined,
    (error: unknown) => error,
  );

/**
 * Registers the conformance suite. Every key the suite writes lives under a fresh prefix, so it can run
 * against a database or table other suites share.
 *
 * @example
 * ```ts
 * describeKeyValueConformance('RedisKeyValueStore on :6379', async () => {
 *   const store = RedisKeyValueStore.create(options);
 *   return { store, close: () => store.close() };
 * });
 * ```
 */
export function describeKeyValueConformance(name: string, factory: () => Promise<KeyValueFixture>): void {
  describe(`Conformance: KeyValueStore (${name})`, () => {
    let fixture: KeyValueFixture;
    let store: KeyValueStore;
    const prefix = `conformance-${randomUUID()}/`;

    beforeAll(async () => {
      fixture = await factory();
      store = fixture.store;
    });

    afterAll(async () => {
      await fixture?.close?.();
    });

    it('round-trips every kind of JSON value with a version', async () => {
      // Prepare
      const values = {
        text: 'héllo wörld 😀',
        empty: '',
        integer: 42,
        negative: -7.25,
        yes: true,
        nothing: null,
        list: [1, 'two', [3], { four: 4 }],
        object: { etag: '9b2cf535', copies: { azure: 'a1', gcs: null }, tags: [] },
      };
      // Act
      const puts = await Promise.all(
        Object.entries(values).map(([name, value]) =>
          store.putValue({ key: `${prefix}json/${name}`, value }),
        ),
      );
      const gets = await Promise.all(
        Object.keys(values).map((name) => store.getValue({ key: `${prefix}json/${name}` })),
      );
      // Assess
      expect(gets.map((got) => got.value)).toEqual(Object.values(values));
      expect(gets.map((got) => got.version)).toEqual(puts.map((put) => put.version));
      expect(gets[0]).toEqual({ key: `${prefix}json/text`, value: values.text, version: puts[0]?.version });
    });

    it('keeps Unicode, spaces and glob characters in keys apart', async () => {
      // Prepare
      const keys = ['日本語/データ', 'with space', 'a*b', 'a?b', 'a[b]c', 'a\\b', 'a%b_'].map(
        (key) => `${prefix}keys/${key}`,
      );
      // Act
      for (const key of keys) await store.putValue({ key, value: key });
      const gets = await Promise.all(keys.map((key) => store.getValue({ key })));
      // Assess
      expect(gets.map((got) => got.value)).toEqual(keys);
    });

    it('throws NotFoundError for a missing key', async () => {
      // Act
      const error = await failure(store.getValue({ key: `${prefix}missing` }));
      // Assess
      expect(error).toBeInstanceOf(NotFoundError);
    });

    it('replaces a value and gives it a new version', async () => {
      // Prepare
      const key = `${prefix}replace`;
      const first = await store.putValue({ key, value: 'one' });
      // Act
      const second = await store.putValue({ key, value: 'two' });
      // Assess
      expect(second.version).not.toBe(first.version);
      await expect(store.getValue({ key })).resolves.toMatchObject({ value: 'two', version: second.version });
    });

    it('deletes a value, and deleting a missing one answers deleted: false', async () => {
      // Prepare
      const key = `${prefix}delete`;
      await store.putValue({ key, value: 'bye' });
      // Act
      const first = await store.deleteValue({ key });
      const second = await store.deleteValue({ key });
      // Assess
      expect(first).toEqual({ key, deleted: true });
      expect(second).toEqual({ key, deleted: false });
      expect(await failure(store.getValue({ key }))).toBeInstanceOf(NotFoundError);
    });

    it('writes only if absent with capability "conditional-writes", leaving the value alone otherwise', async (context) => {
      // Prepare
      skipUnlessOffered(context, store, 'conditional-writes');
      const key = `${prefix}absent`;
      // Act
      const created = await store.putValue({ key, value: 'first', onlyIfAbsent: true });
      const refused = await failure(store.putValue({ key, value: 'second', onlyIfAbsent: true }));
      // Assess
      expect(created.version).toEqual(expect.any(String));
      expect(refused).toBeInstanceOf(ConflictError);
      await expect(store.getValue({ key })).resolves.toMatchObject({
        value: 'first',
        version: created.version,
      });
    });

    it('compares and sets by version with capability "conditional-writes"', async (context) => {
      // Prepare
      skipUnlessOffered(context, store, 'conditional-writes');
      const key = `${prefix}cas`;
      const first = await store.putValue({ key, value: { n: 1 } });
      // Act
      const second = await store.putValue({ key, value: { n: 2 }, ifVersion: first.version });
      const stale = await failure(store.putValue({ key, value: { n: 3 }, ifVersion: first.version }));
      const onMissing = await failure(
        store.putValue({ key: `${prefix}cas-missing`, value: 1, ifVersion: first.version }),
      );
      // Assess
      expect(stale).toBeInstanceOf(ConflictError);
      expect(onMissing).toBeInstanceOf(ConflictError);
      await expect(store.getValue({ key })).resolves.toMatchObject({
        value: { n: 2 },
        version: second.version,
      });
      expect(await failure(store.getValue({ key: `${prefix}cas-missing` }))).toBeInstanceOf(NotFoundError);
    });

    it('lets exactly one of many racing compare-and-sets win with capability "conditional-writes"', async (context) => {
      // Prepare
      skipUnlessOffered(context, store, 'conditional-writes');
      const key = `${prefix}race`;
      const { version } = await store.putValue({ key, value: 0 });
      // Act
      const outcomes = await Promise.allSettled(
        Array.from({ length: 8 }, (_, index) =>
          store.putValue({ key, value: index + 1, ifVersion: version }),
        ),
      );
      // Assess
      const won = outcomes.filter((outcome) => outcome.status === 'fulfilled');
      const lost = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
      expect(won).toHaveLength(1);
      expect(lost.every((reason) => reason instanceof ConflictError)).toBe(true);
    });

    it('deletes only the expected version with capability "conditional-writes"', async (context) => {
      // Prepare
      skipUnlessOffered(context, store, 'conditional-writes');
      const key = `${prefix}delete-cas`;
      const first = await store.putValue({ key, value: 'a' });
      const second = await store.putValue({ key, value: 'b' });
      // Act
      const stale = await failure(store.deleteValue({ key, ifVersion: first.version }));
      const current = await store.deleteValue({ key, ifVersion: second.version });
      // Assess
      expect(stale).toBeInstanceOf(ConflictError);
      expect(current).toEqual({ key, deleted: true });
    });

    it('refuses conditions with NotSupportedError without capability "conditional-writes", writing nothing', async (context) => {
      // Prepare
      skipIfOffered(context, store, 'conditional-writes');
      const key = `${prefix}no-conditions`;
      // Act
      const absent = await failure(store.putValue({ key, value: 1, onlyIfAbsent: true }));
      const versioned = await failure(store.deleteValue({ key, ifVersion: 'v1' }));
      // Assess
      expect(absent).toBeInstanceOf(NotSupportedError);
      expect(versioned).toBeInstanceOf(NotSupportedError);
      expect(await failure(store.getValue({ key }))).toBeInstanceOf(NotFoundError);
    });

    it('expires a value after its time to live with capability "ttl"', async (context) => {
      // Prepare
      skipUnlessOffered(context, store, 'ttl');
      const key = `${prefix}ttl/short`;
      const kept = `${prefix}ttl/kept`;
      const before = Date.now();
      const put = await store.putValue({ key, value: 'soon gone', ttlSeconds: 1 });
      await store.putValue({ key: kept, value: 'stays', ttlSeconds: 1 });
      await store.putValue({ key: kept, value: 'stays' });
      // Act
      const fresh = await store.getValue({ key });
      await sleep(2_100);
      const expired = await failure(store.getValue({ key }));
      const batch = await store.getValues({ keys: [key, kept] });
      const recreated = await store
        .putValue({ key, value: 'again', onlyIfAbsent: true })
        .catch((error: unknown) => (error instanceof NotSupportedError ? undefined : Promise.reject(error)));
      // Assess
      const expiresAt = Date.parse(put.expiresAt ?? '');
      expect(expiresAt).toBeGreaterThan(before - 1_000);
      expect(expiresAt).toBeLessThan(before + 60_000);
      expect(fresh.expiresAt).toBe(put.expiresAt);
      expect(expired).toBeInstanceOf(NotFoundError);
      expect(batch.missing).toEqual([key]);
      expect(batch.items.map((item) => [item.key, item.expiresAt])).toEqual([[kept, undefined]]);
      if (recreated !== undefined) expect(recreated.expiresAt).toBeUndefined();
    });

    it('refuses a time to live with NotSupportedError without capability "ttl"', async (context) => {
      // Prepare
      skipIfOffered(context, store, 'ttl');
      // Act
      const error = await failure(store.putValue({ key: `${prefix}ttl/refused`, value: 1, ttlSeconds: 60 }));
      // Assess
      expect(error).toBeInstanceOf(NotSupportedError);
    });

    it('reads many values at once, in the order asked, listing the missing keys', async () => {
      // Prepare
      const keys = Array.from({ length: 5 }, (_, index) => `${prefix}batch-get/${index}`);
      for (const key of keys.slice(0, 3)) await store.putValue({ key, value: { key } });
      const asked = [keys[4], keys[2], keys[0], keys[3], keys[1]] as string[];
      // Act
      const got = await store.getValues({ keys: asked });
      // Assess
      expect(got.items.map((item) => item.key)).toEqual([keys[2], keys[0], keys[1]]);
      expect(got.items.map((item) => item.value)).toEqual([
        { key: keys[2] },
        { key: keys[0] },
        { key: keys[1] },
      ]);
      expect(got.missing).toEqual([keys[4], keys[3]]);
    });

    it(`reads ${MAX_BATCH_GET} values in one batch`, async () => {
      // Prepare
      const keys = Array.from({ length: MAX_BATCH_GET }, (_, index) => `${prefix}batch-full/${index}`);
      for (let start = 0; start < keys.length; start += MAX_BATCH_PUT) {
        await store.putValues({
          items: keys.slice(start, start + MAX_BATCH_PUT).map((key) => ({ key, value: 'x'.repeat(2_000) })),
        });
      }
      // Act
      const got = await store.getValues({ keys });
      // Assess
      expect(got.items).toHaveLength(MAX_BATCH_GET);
      expect(got.missing).toEqual([]);
    });

    it('writes many values at once, each with a new version and its own time to live', async () => {
      // Prepare
      const keys = Array.from({ length: 4 }, (_, index) => `${prefix}batch-put/${index}`);
      const old = await store.putValue({ key: keys[0] as string, value: 'old' });
      const ttl = store.capabilities.has('ttl') ? { ttlSeconds: 3_600 } : {};
      // Act
      const put = await store.putValues({
        items: keys.map((key, index) => ({ key, value: index, ...(index === 1 ? ttl : {}) })),
      });
      const got = await store.getValues({ keys });
      // Assess
      expect(put.items.map((item) => item.key)).toEqual(keys);
      expect(put.items[0]?.version).not.toBe(old.version);
      expect(got.items.map((item) => [item.key, item.value, item.version])).toEqual(
        put.items.map((item, index) => [item.key, index, item.version]),
      );
      expect(got.items[1]?.expiresAt === undefined).toBe(!store.capabilities.has('ttl'));
      expect(got.items[0]?.expiresAt).toBeUndefined();
    });

    it('refuses batches beyond the limits, and duplicate keys, with ValidationError', async () => {
      // Act
      const tooMany = await failure(
        store.getValues({
          keys: Array.from({ length: MAX_BATCH_GET + 1 }, (_, index) => `${prefix}${index}`),
        }),
      );
      const tooManyPuts = await failure(
        store.putValues({
          items: Array.from({ length: MAX_BATCH_PUT + 1 }, (_, index) => ({
            key: `${prefix}${index}`,
            value: 1,
          })),
        }),
      );
      const duplicates = await failure(store.getValues({ keys: [`${prefix}a`, `${prefix}a`] }));
      // Assess
      expect(tooMany).toBeInstanceOf(ValidationError);
      expect(tooManyPuts).toBeInstanceOf(ValidationError);
      expect(duplicates).toBeInstanceOf(ValidationError);
    });

    it('pages through the keys under a prefix with a cursor, each key at least once', async (context) => {
      // Prepare
      skipUnlessOffered(context, store, 'prefix-list');
      const base = `${prefix}list/`;
      const keys = Array.from({ length: 23 }, (_, index) => `${base}item-${String(index).padStart(2, '0')}`);
      await store.putValues({ items: keys.slice(0, MAX_BATCH_PUT).map((key) => ({ key, value: 1 })) });
      await store.putValue({ key: `${prefix}listed-not/x`, value: 1 });
      await store.putValue({ key: `${prefix}lis`, value: 1 });
      const seen = new Set<string>();
      let cursor: string | undefined;
      let pages = 0;
      // Act
      do {
        const page = await store.listKeys({
          prefix: base,
          limit: 5,
          ...(cursor === undefined ? {} : { cursor }),
        });
        expect(page.keys.length).toBeLessThanOrEqual(5);
        for (const key of page.keys) seen.add(key);
        cursor = page.cursor;
        pages += 1;
      } while (cursor !== undefined && pages < 100);
      // Assess
      expect([...seen].sort()).toEqual(keys);
      expect(pages).toBeGreaterThanOrEqual(5);
      expect(cursor).toBeUndefined();
    });

    it('matches a prefix literally, glob and pattern characters included', async (context) => {
      // Prepare
      skipUnlessOffered(context, store, 'prefix-list');
      const base = `${prefix}glob/`;
      for (const key of ['a*', 'a*b', 'ab', 'a?', 'a[x]', 'ax', 'a%', 'a_']) {
        await store.putValue({ key: `${base}${key}`, value: key });
      }
      // Act
      const listed = async (start: string): Promise<string[]> => {
        const keys: string[] = [];
        let cursor: string | undefined;
        do {
          const page = await store.listKeys({
            prefix: `${base}${start}`,
            ...(cursor === undefined ? {} : { cursor }),
          });
          keys.push(...page.keys);
          cursor = page.cursor;
        } while (cursor !== undefined);
        return [...new Set(keys)].map((key) => key.slice(base.length)).sort();
      };
      // Assess
      expect(await listed('a*')).toEqual(['a*', 'a*b']);
      expect(await listed('a?')).toEqual(['a?']);
      expect(await listed('a[')).toEqual(['a[x]']);
      expect(await listed('a%')).toEqual(['a%']);
      expect(await listed('a_')).toEqual(['a_']);
    });

    it('refuses a cursor it did not issue with ValidationError', async (context) => {
      // Prepare
      skipUnlessOffered(context, store, 'prefix-list');
      // Act
      const error = await failure(store.listKeys({ prefix, cursor: 'not-a-cursor' }));
      // Assess
      expect(error).toBeInstanceOf(ValidationError);
    });

    it('refuses listKeys with NotSupportedError without capability "prefix-list"', async (context) => {
      // Prepare
      skipIfOffered(context, store, 'prefix-list');
      // Act
      const error = await failure(store.listKeys({ prefix }));
      // Assess
      expect(error).toBeInstanceOf(NotSupportedError);
    });

    it('counts from zero and adds atomically with capability "increment", losing no update', async (context) => {
      // Prepare
      skipUnlessOffered(context, store, 'increment');
      const key = `${prefix}counter`;
      // Act
      const first = await store.incrementValue({ key });
      await Promise.all(Array.from({ length: 20 }, () => store.incrementValue({ key, by: 2 })));
      const last = await store.incrementValue({ key, by: -5 });
      const got = await store.getValue({ key });
      // Assess
      expect(first.value).toBe(1);
      expect(last.value).toBe(36);
      expect(got).toMatchObject({ value: 36, version: last.version });
    });

    it('increments an integer written by put, and refuses a value that is not an integer', async (context) => {
      // Prepare
      skipUnlessOffered(context, store, 'increment');
      await store.putValue({ key: `${prefix}counter-put`, value: 10 });
      await store.putValue({ key: `${prefix}counter-text`, value: 'ten' });
      // Act
      const added = await store.incrementValue({ key: `${prefix}counter-put`, by: 5 });
      const refused = await failure(store.incrementValue({ key: `${prefix}counter-text` }));
      // Assess
      expect(added.value).toBe(15);
      expect(refused).toBeInstanceOf(ConflictError);
      await expect(store.getValue({ key: `${prefix}counter-text` })).resolves.toMatchObject({ value: 'ten' });
    });

    it('gives a counter it creates the time to live asked for, with capabilities "increment" and "ttl"', async (context) => {
      // Prepare
      skipUnlessOffered(context, store, 'increment');
      skipUnlessOffered(context, store, 'ttl');
      const key = `${prefix}counter-ttl`;
      // Act
      await store.incrementValue({ key, ttlSeconds: 600 });
      const created = await store.getValue({ key });
      await store.incrementValue({ key, ttlSeconds: 5 });
      const kept = await store.getValue({ key });
      // Assess
      expect(Date.parse(created.expiresAt ?? '') - Date.now()).toBeGreaterThan(500_000);
      expect(kept).toMatchObject({ value: 2, expiresAt: created.expiresAt });
    });

    it('refuses incrementValue with NotSupportedError without capability "increment"', async (context) => {
      // Prepare
      skipIfOffered(context, store, 'increment');
      // Act
      const error = await failure(store.incrementValue({ key: `${prefix}counter-refused` }));
      // Assess
      expect(error).toBeInstanceOf(NotSupportedError);
    });

    it('throws ValidationError naming the field for invalid input, before calling the store', async () => {
      // Act
      const outcomes = await Promise.all([
        failure(store.putValue({ key: '', value: 1 })),
        failure(store.putValue({ key: `${prefix}a\u0000b`, value: 1 })),
        failure(store.putValue({ key: `${prefix}big`, value: 'x'.repeat(MAX_VALUE_BYTES + 1) })),
        failure(store.putValue({ key: `${prefix}both`, value: 1, onlyIfAbsent: true, ifVersion: '1' })),
        failure(store.getValue({ key: `${prefix}x`, unknown: true } as never)),
        failure(store.putValue({ key: `${prefix}ttl0`, value: 1, ttlSeconds: 0 })),
      ]);
      // Assess
      const pointers = outcomes.map((error) => {
        expect(error).toBeInstanceOf(ValidationError);
        return (error as ValidationError).issues.map((issue) => issue.pointer);
      });
      expect(pointers).toEqual([
        ['/key'],
        ['/key'],
        ['/value'],
        ['/ifVersion'],
        ['/unknown'],
        ['/ttlSeconds'],
      ]);
      expect(await failure(store.getValue({ key: `${prefix}big` }))).toBeInstanceOf(NotFoundError);
    });
  });
}
