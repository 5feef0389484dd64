/**
 * The object storage conformance suite: behaviour every {@link ObjectStorage} implementation must show,
 * registered as vitest blocks that each implementation runs from its own test file against its peer. A
 * test for an optional ability skips where the ability is not offered, and its NotSupportedError refusal
 * skips where it is: test/conformance runs the suite once against a store without any optional ability.
 */
import { randomUUID } from 'node:crypto';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  NotSupportedError,
  ValidationError,
} from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { skipIfOffered, skipUnlessOffered } from './capability-tests.ts';
import type { ObjectStorage } from './object-storage.ts';

/** What a conformance run needs from the implementation under test. */
export interface ObjectStorageFixture {
  /** The implementation, pointed at an empty or shared bucket (keys are namespaced per run). */
  storage: ObjectStorage;
  /** A bucket name the implementation must refuse with ForbiddenError, when it restricts buckets. */
  disallowedBucket?: string;
  /** Called once after the suite. */
  close?(): Promise<void>;
}

/**
 * Registers the conformance suite. Every key the suite writes lives under a fresh prefix, so it can run
 * against a bucket other suites share.
 *
 * @example
 * ```ts
 * describeObjectStorageConformance('S3ObjectStorage on s3rver', async () => {
 *   const peer = await startS3rver({ buckets: ['data'] });
 *   return { storage: new S3ObjectStorage({ bucket: 'data', endpoint: peer.endpoint }), close: peer.close };
 * });
 * ```
 */
export function describeObjectStorageConformance(
  name: string,
  factory: () => Promise<ObjectStorageFixture>,
): void {
  describe(`Conformance: ObjectStorage (${name})`, () => {
    let fixture: ObjectStorageFixture;
    let storage: ObjectStorage;
    const prefix = `conformance-${randomUUID()}/`;

    beforeAll(async () => {
      fixture = await factory();
      storage = fixture.storage;
    });

    afterAll(async () => {
      await fixture?.close?.();
    });

    it('round-trips text with its media type', async () => {
      // Prepare
      const key = `${prefix}text/hello.txt`;
      const metadata = { source: 'conformance', run_id: '42' };
      // Act
      const put = await storage.putObject({ key, body: 'héllo wörld', contentType: 'text/plain', metadata });
      const got = await storage.getObject({ key });
      // Assess
      expect(put).toMatchObject({ key, size: Buffer.byteLength('héllo wörld') });
      expect(got).toMatchObject({ tooLarge: false, body: 'héllo wörld', encoding: 'utf8', key });
      expect(got.contentType).toMatch(/^text\/plain/);
    });

    it('keeps user metadata with capability "metadata"', async (context) => {
      // Prepare
      skipUnlessOffered(context, storage, 'metadata');
      const key = `${prefix}text/with-metadata.txt`;
      const metadata = { source: 'conformance', run_id: '42' };
      // Act
      await storage.putObject({ key, body: 'x', metadata });
      const got = await storage.getObject({ key });
      const head = await storage.headObject({ key });
      // Assess
      expect(got.metadata).toEqual(metadata);
      expect(head.metadata).toEqual(metadata);
    });

    it('round-trips every byte value through base64', async () => {
      // Prepare
      const key = `${prefix}binary/all-bytes.bin`;
      const bytes = Buffer.from(Array.from({ length: 512 }, (_, index) => index % 256));
      // Act
      await storage.putObject({ key, body: bytes.toString('base64'), encoding: 'base64' });
      const got = await storage.getObject({ key });
      // Assess
      expect(got).toMatchObject({ tooLarge: false, encoding: 'base64', size: 512 });
      expect(got.tooLarge === false && Buffer.from(got.body, 'base64').equals(bytes)).toBe(true);
    });

    it('returns the body in the requested encoding', async () => {
      // Prepare
      const key = `${prefix}text/encoded.json`;
      await storage.putObject({ key, body: '{"a":1}', contentType: 'application/json' });
      // Act
      const got = await storage.getObject({ key, encoding: 'base64' });
      // Assess
      expect(got).toMatchObject({ tooLarge: false, encoding: 'base64', body: 'eyJhIjoxfQ==' });
    });

    it('reports size, media type and entity tag with headObject', async () => {
      // Prepare
      const key = `${prefix}head/report.csv`;
      const put = await storage.putObject({ key, body: 'a,b\n1,2\n', contentType: 'text/csv' });
      // Act
      const head = await storage.headObject({ key });
      // Assess
      expect(head).toMatchObject({ key, size: 8, contentType: 'text/csv' });
      expect(head.etag).toBe(put.etag);
      expect(Number.isNaN(Date.parse(head.lastModified ?? ''))).toBe(false);
    });

    it('throws NotFoundError for a missing object on get and head', async () => {
      // Prepare
      const key = `${prefix}missing.txt`;
      // Act
      const get = await storage.getObject({ key }).catch((error: unknown) => error);
      const head = await storage.headObject({ key }).catch((error: unknown) => error);
      // Assess
      expect(get).toBeInstanceOf(NotFoundError);
      expect(head).toBeInstanceOf(NotFoundError);
    });

    it('lists under a prefix, grouped by a delimiter', async () => {
      // Prepare
      const base = `${prefix}list/`;
      for (const key of ['a.txt', 'b.txt', 'sub/c.txt', 'sub/d.txt', 'other/e.txt']) {
        await storage.putObject({ key: `${base}${key}`, body: key });
      }
      // Act
      const page = await storage.listObjects({ prefix: base, delimiter: '/' });
      // Assess
      expect(page.objects.map((object) => object.key)).toEqual([`${base}a.txt`, `${base}b.txt`]);
      expect(page.commonPrefixes.sort()).toEqual([`${base}other/`, `${base}sub/`]);
      expect(page.isTruncated).toBe(false);
      expect(page.objects[0]?.size).toBe(5);
    });

    it('pages through a listing with continuation tokens, each key once, in order', async () => {
      // Prepare
      const base = `${prefix}paged/`;
      const keys = Array.from({ length: 7 }, (_, index) => `${base}item-${index}`);
      for (const key of keys) await storage.putObject({ key, body: 'x' });
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      // Act
      do {
        const page = await storage.listObjects({
          prefix: base,
          maxKeys: 3,
          ...(token === undefined ? {} : { continuationToken: token }),
        });
        seen.push(...page.objects.map((object) => object.key));
        token = page.nextContinuationToken;
        pages += 1;
        expect(page.objects.length).toBeLessThanOrEqual(3);
      } while (token !== undefined && pages < 10);
      // Assess
      expect(seen).toEqual(keys);
      expect(pages).toBe(3);
    });

    it('deletes an object, and deleting a missing one succeeds', async () => {
      // Prepare
      const key = `${prefix}delete/me.txt`;
      await storage.putObject({ key, body: 'bye' });
      // Act
      const first = await storage.deleteObject({ key });
      const second = await storage.deleteObject({ key });
      // Assess
      expect(first).toMatchObject({ key, deleted: true });
      expect(second).toMatchObject({ key, deleted: true });
      await expect(storage.headObject({ key })).rejects.toBeInstanceOf(NotFoundError);
    });

    it('writes onlyIfAbsent once and answers ConflictError after, with capability "conditional-write"', async (context) => {
      // Prepare
      skipUnlessOffered(context, storage, 'conditional-write');
      const key = `${prefix}conditional/once.txt`;
      // Act
      const first = await storage.putObject({ key, body: 'first', onlyIfAbsent: true });
      const second = await storage
        .putObject({ key, body: 'second', onlyIfAbsent: true })
        .catch((e: unknown) => e);
      const overwrite = await storage.putObject({ key: `${prefix}conditional/free.txt`, body: 'a' });
      const again = await storage.putObject({ key: `${prefix}conditional/free.txt`, body: 'b' });
      // Assess
      expect(first).toMatchObject({ key, size: 5 });
      expect(second).toBeInstanceOf(ConflictError);
      await expect(storage.getObject({ key })).resolves.toMatchObject({ body: 'first' });
      expect(again.etag).not.toBe(overwrite.etag);
    });

    it('lets exactly one of two racing onlyIfAbsent writers win, with capability "conditional-write"', async (context) => {
      // Prepare
      skipUnlessOffered(context, storage, 'conditional-write');
      const key = `${prefix}conditional/race.txt`;
      // Act
      const outcomes = await Promise.allSettled(
        ['left', 'right'].map((body) => storage.putObject({ key, body, onlyIfAbsent: true })),
      );
      // Assess
      const won = outcomes.flatMap((outcome, index) => (outcome.status === 'fulfilled' ? [index] : []));
      const lost = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason] : []));
      expect(won).toHaveLength(1);
      expect(lost[0]).toBeInstanceOf(ConflictError);
      const stored = await storage.getObject({ key });
      expect(stored).toMatchObject({ body: won[0] === 0 ? 'left' : 'right' });
    });

    it('refuses onlyIfAbsent with NotSupportedError without capability "conditional-write"', async (context) => {
      // Prepare
      skipIfOffered(context, storage, 'conditional-write');
      const key = `${prefix}conditional/refused.txt`;
      // Act
      const put = storage.putObject({ key, body: 'x', onlyIfAbsent: true });
      // Assess
      await expect(put).rejects.toBeInstanceOf(NotSupportedError);
      await expect(storage.headObject({ key })).rejects.toBeInstanceOf(NotFoundError);
    });

    it('keeps metadata names lower-case and pages a delimited listing, with capability "metadata"', async (context) => {
      // Prepare
      skipUnlessOffered(context, storage, 'metadata');
      const base = `${prefix}grouped/`;
      for (const key of ['a/1', 'b/1', 'c/1', 'd.txt', 'e.txt']) {
        await storage.putObject({
          key: `${base}${key}`,
          body: 'x',
          metadata: { run_id: 'r1', owner_team: 'data' },
        });
      }
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      // Act
      do {
        const page = await storage.listObjects({
          prefix: base,
          delimiter: '/',
          maxKeys: 2,
          ...(token === undefined ? {} : { continuationToken: token }),
        });
        seen.push(...page.commonPrefixes, ...page.objects.map((object) => object.key));
        token = page.nextContinuationToken;
        pages += 1;
        expect(page.objects.length).toBeLessThanOrEqual(2);
      } while (token !== undefined && pages < 10);
      const head = await storage.headObject({ key: `${base}d.txt` });
      // Assess
      expect(seen.sort()).toEqual(['a/', 'b/', 'c/', 'd.txt', 'e.txt'].map((name) => `${base}${name}`));
      expect(pages).toBeLessThan(10);
      expect(head.metadata).toEqual({ run_id: 'r1', owner_team: 'data' });
    });

    it('replaces media type and metadata on a copy when asked, with capabilities "copy" and "metadata"', async (context) => {
      // Prepare
      skipUnlessOffered(context, storage, 'copy');
      skipUnlessOffered(context, storage, 'metadata');
      const sourceKey = `${prefix}copy/replace-source.json`;
      const key = `${prefix}copy/replaced.csv`;
      await storage.putObject({
        key: sourceKey,
        body: '{}',
        contentType: 'application/json',
        metadata: { a: '1' },
      });
      // Act
      await storage.copyObject({ sourceKey, key, contentType: 'text/csv', metadata: { b: '2' } });
      // Assess
      const copy = await storage.headObject({ key });
      const source = await storage.headObject({ key: sourceKey });
      expect(copy).toMatchObject({ contentType: 'text/csv', metadata: { b: '2' }, size: 2 });
      expect(source).toMatchObject({ contentType: 'application/json', metadata: { a: '1' } });
    });

    it('copies an object server-side with capability "copy"', async (context) => {
      // Prepare
      skipUnlessOffered(context, storage, 'copy');
      const sourceKey = `${prefix}copy/source.txt`;
      const key = `${prefix}copy/target with space.txt`;
      await storage.putObject({ key: sourceKey, body: 'copied' });
      // Act
      const copy = await storage.copyObject({ sourceKey, key });
      // Assess
      expect(copy).toMatchObject({ key });
      await expect(storage.getObject({ key })).resolves.toMatchObject({ tooLarge: false, body: 'copied' });
    });

    it('keeps the source metadata on a copy with capabilities "copy" and "metadata"', async (context) => {
      // Prepare
      skipUnlessOffered(context, storage, 'copy');
      skipUnlessOffered(context, storage, 'metadata');
      const sourceKey = `${prefix}copy/with-metadata.txt`;
      const key = `${prefix}copy/with-metadata copy.txt`;
      await storage.putObject({ key: sourceKey, body: 'copied', metadata: { origin: 'source' } });
      // Act
      await storage.copyObject({ sourceKey, key });
      // Assess
      await expect(storage.getObject({ key })).resolves.toMatchObject({ metadata: { origin: 'source' } });
    });

    it('throws NotFoundError when the copy source is missing', async (context) => {
      // Prepare
      skipUnlessOffered(context, storage, 'copy');
      // Act
      const copy = storage.copyObject({ sourceKey: `${prefix}copy/none.txt`, key: `${prefix}copy/x.txt` });
      // Assess
      await expect(copy).rejects.toBeInstanceOf(NotFoundError);
    });

    it('refuses copyObject with NotSupportedError without capability "copy", writing nothing', async (context) => {
      // Prepare
      skipIfOffered(context, storage, 'copy');
      const sourceKey = `${prefix}copy/source.txt`;
      const key = `${prefix}copy/refused.txt`;
      await storage.putObject({ key: sourceKey, body: 'not copied' });
      // Act
      const copy = storage.copyObject({ sourceKey, key });
      // Assess
      await expect(copy).rejects.toBeInstanceOf(NotSupportedError);
      await expect(storage.headObject({ key })).rejects.toBeInstanceOf(NotFoundError);
    });

    it('answers a presigned URL instead of the body beyond maxBytes, with capability "presign"', async (context) => {
      // Prepare
      skipUnlessOffered(context, storage, 'presign');
      const key = `${prefix}large/blob.txt`;
      const body = 'x'.repeat(2048);
      await storage.putObject({ key, body });
      // Act
      const large = await storage.getObject({ key, maxBytes: 1024 });
      // Assess
      expect(large).toMatchObject({ tooLarge: true, size: 2048, key });
      if (!large.tooLarge) return;
      expect(large.expiresIn).toBeGreaterThan(0);
      const download = await fetch(large.url);
      expect(download.status).toBe(200);
      expect(await download.text()).toBe(body);
    });

    it('refuses an object beyond maxBytes with NotSupportedError without capability "presign"', async (context) => {
      // Prepare
      skipIfOffered(context, storage, 'presign');
      const key = `${prefix}large/blob.txt`;
      await storage.putObject({ key, body: 'x'.repeat(2048) });
      // Act
      const got = storage.getObject({ key, maxBytes: 1024 });
      // Assess
      await expect(got).rejects.toBeInstanceOf(NotSupportedError);
    });

    it('presigns GET and PUT URLs that work without credentials, with capability "presign"', async (context) => {
      // Prepare
      skipUnlessOffered(context, storage, 'presign');
      const key = `${prefix}presigned/upload.txt`;
      // Act
      const put = await storage.presignUrl({ key, method: 'PUT', expiresIn: 60 });
      const upload = await fetch(put.url, { method: 'PUT', body: 'via url', headers: put.headers });
      const get = await storage.presignUrl({ key, method: 'GET', expiresIn: 60 });
      const download = await fetch(get.url);
      // Assess
      // 200 on S3 and GCS, 201 Created on Azure: any success.
      expect(upload.ok).toBe(true);
      expect(await download.text()).toBe('via url');
      expect(get).toMatchObject({ method: 'GET', expiresIn: 60 });
      expect(Date.parse(get.expiresAt) - Date.now()).toBeGreaterThan(50_000);
    });

    it('throws ValidationError for a presign expiry beyond seven days, with capability "presign"', async (context) => {
      // Prepare
      skipUnlessOffered(context, storage, 'presign');
      // Act
      const badExpiry = storage.presignUrl({ key: `${prefix}x`, expiresIn: 604_801 });
      // Assess
      await expect(badExpiry).rejects.toBeInstanceOf(ValidationError);
    });

    it('refuses presignUrl with NotSupportedError without capability "presign"', async (context) => {
      // Prepare
      skipIfOffered(context, storage, 'presign');
      // Act
      const attempt = storage.presignUrl({ key: `${prefix}presigned/upload.txt` });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
    });

    it('throws ValidationError for invalid input before calling the store', async () => {
      // Act
      const emptyKey = await storage.putObject({ key: '', body: 'x' }).catch((error: unknown) => error);
      const badBase64 = await storage
        .putObject({ key: `${prefix}bad.bin`, body: 'not base64!', encoding: 'base64' })
        .catch((error: unknown) => error);
      // Assess
      expect(emptyKey).toBeInstanceOf(ValidationError);
      expect(badBase64).toMatchObject({ issues: [{ pointer: '/body' }] });
      await expect(storage.headObject({ key: `${prefix}bad.bin` })).rejects.toBeInstanceOf(NotFoundError);
    });

    // ---- Key rules (issue 10): keys that climb out of their place, or that no request can carry ----

    /** Keys a store or proxy that normalises paths would resolve elsewhere, or that cannot be encoded. */
    const hostileKeys = [
      `../${prefix}victim/secret.txt`,
      `./../${prefix}victim/secret.txt`,
      `${prefix}climb/../victim/secret.txt`,
      `${prefix}climb/../../x`,
      `${prefix}./victim/secret.txt`,
      `${prefix}climb\\..\\victim\\secret.txt`,
      `${prefix}climb/\uff0e\uff0e/victim/secret.txt`,
      `${prefix}a//b`,
      `/${prefix}victim/secret.txt`,
      `${prefix}a\ud800b`,
      `${prefix}a\u0000b`,
      `${prefix}a\nb`,
    ];

    /** Every key-like field of the interface, each with the pointer its refusal must name. */
    const keyFields = (key: string): [pointer: string, call: () => Promise<unknown>][] => {
      const calls: [pointer: string, call: () => Promise<unknown>][] = [
        ['/key', () => storage.putObject({ key, body: 'x' })],
        ['/key', () => storage.getObject({ key })],
        ['/key', () => storage.headObject({ key })],
        ['/key', () => storage.deleteObject({ key })],
        ['/prefix', () => storage.listObjects({ prefix: key })],
      ];
      if (storage.capabilities.has('copy')) {
        calls.push(['/sourceKey', () => storage.copyObject({ sourceKey: key, key: `${prefix}copy/x.txt` })]);
        calls.push(['/key', () => storage.copyObject({ sourceKey: `${prefix}copy/source.txt`, key })]);
      }
      if (storage.capabilities.has('presign')) {
        calls.push(['/key', () => storage.presignUrl({ key, method: 'PUT' })]);
      }
      return calls;
    };

    it('refuses keys with dot segments, empty segments, control characters or lone surrogates, naming the field', async () => {
      // Act
      const outcomes: { key: string; pointer: string; error: unknown }[] = [];
      for (const key of hostileKeys) {
        for (const [pointer, call] of keyFields(key)) {
          outcomes.push({ key, pointer, error: await call().catch((error: unknown) => error) });
        }
      }
      // Assess
      for (const { key, pointer, error } of outcomes) {
        expect(error, `${JSON.stringify(key)} at ${pointer}`).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).issues.map((issue) => issue.pointer)).toContain(pointer);
      }
    });

    it('counts a key in UTF-8 bytes: refuses 1,200 bytes of 400 Japanese characters naming the field and the limit, keeps one within 1,024', async () => {
      // Prepare: S3 and GCS take 1,024 bytes of UTF-8 (Azure 1,024 characters): "あ" is 3 bytes.
      const over = `${prefix}${'あ'.repeat(Math.ceil((1_025 - Buffer.byteLength(prefix)) / 3))}`;
      // Folders of 80 characters (240 bytes): s3rver stores a key as files, whose names stop at 255 bytes.
      const japanese = 'あ'.repeat(Math.floor((1_024 - Buffer.byteLength(prefix)) / 3) - 4);
      const fits = `${prefix}${japanese.match(/.{1,80}/gu)?.join('/')}`;
      // Act
      const outcomes: { pointer: string; error: unknown }[] = [];
      for (const [pointer, call] of keyFields(over)) {
        outcomes.push({ pointer, error: await call().catch((error: unknown) => error) });
      }
      const stored = await storage.putObject({ key: fits, body: 'fits' });
      const read = await storage.getObject({ key: fits });
      await storage.deleteObject({ key: fits });
      // Assess
      expect(over.length).toBeLessThanOrEqual(1_024);
      expect(Buffer.byteLength(over)).toBeGreaterThan(1_024);
      for (const { pointer, error } of outcomes) {
        expect(error, pointer).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).issues, pointer).toContainEqual({
          pointer,
          message: 'expected at most 1024 bytes of UTF-8',
        });
      }
      expect(Buffer.byteLength(fits)).toBeLessThanOrEqual(1_024);
      expect(stored.key).toBe(fits);
      expect(read).toMatchObject({ key: fits, tooLarge: false, body: 'fits' });
    });

    it('leaves the object a climbing key would reach untouched', async () => {
      // Prepare
      const victim = `${prefix}victim/secret.txt`;
      const climbing = `${prefix}climb/../victim/secret.txt`;
      await storage.putObject({ key: victim, body: 'kept' });
      // Act
      const read = await storage.getObject({ key: climbing }).catch((error: unknown) => error);
      await storage.putObject({ key: climbing, body: 'overwritten' }).catch(() => undefined);
      await storage.deleteObject({ key: climbing }).catch(() => undefined);
      if (storage.capabilities.has('copy')) {
        await storage
          .copyObject({ sourceKey: `${prefix}text/hello.txt`, key: climbing })
          .catch(() => undefined);
      }
      // Assess
      expect(read).toBeInstanceOf(ValidationError);
      await expect(storage.getObject({ key: victim })).resolves.toMatchObject({ body: 'kept' });
    });

    it('keeps legitimate keys: folder markers, dots inside names, Unicode and spaces', async () => {
      // Prepare
      const base = `${prefix}legit/`;
      const names = [
        'folder/',
        'a..b',
        '...',
        '.hidden',
        'résumé.pdf',
        'with space.txt',
        '日本語/データ.csv',
        '😀.txt',
      ];
      // Act
      for (const name of names) await storage.putObject({ key: `${base}${name}`, body: name });
      const bodies = await Promise.all(names.map((name) => storage.getObject({ key: `${base}${name}` })));
      const listed = await storage.listObjects({ prefix: base });
      // Assess
      expect(bodies.map((got) => (got.tooLarge ? undefined : got.body))).toEqual(names);
      expect(listed.objects.map((object) => object.key).sort()).toEqual(
        names.map((name) => `${base}${name}`).sort(),
      );
    });

    // ---- end of key rules ----

    it('refuses a bucket outside the allowed ones with ForbiddenError', async (context) => {
      if (fixture.disallowedBucket === undefined) {
        context.skip();
        return;
      }
      // Act
      const put = await storage
        .putObject({ bucket: fixture.disallowedBucket, key: `${prefix}x`, body: 'x' })
        .catch((error: unknown) => error);
      const list = await storage
        .listObjects({ bucket: fixture.disallowedBucket })
        .catch((error: unknown) => error);
      // Assess
      expect(put).toBeInstanceOf(ForbiddenError);
      expect(list).toBeInstanceOf(ForbiddenError);
    });
  });
}
