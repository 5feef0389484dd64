/**
 * GcsStorage as a library against the GCS contract fake: the object storage conformance suite, then what
 * is GCS's own (multipart uploads, `ifGenerationMatch=0`, rewrite tokens, V4 signed URLs, the JWT bearer
 * grant from the key file's `token_uri`, the bucket allow-list).
 */
import { randomUUID } from 'node:crypto';
import { ConflictError, ForbiddenError, NotFoundError, ValidationError } from '@circle-core/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeObjectStorageConformance } from '#shared/interfaces/object-storage.conformance.ts';
import { type GcsFakeState, newServiceAccount, startGcsFake } from '../../../scripts/local/sandboxes/gcs.ts';
import { type FakeServer, json } from '../../../scripts/local/sandboxes/kit/index.ts';
import { serviceAccountAuth } from './auth.ts';
import { GcsStorage, gcsApi } from './client.ts';
import { GcsRewrite } from './models.ts';
import { type MemorySecret, memorySecret } from './testing/memory-secret.ts';

/** A storage on `fake` with a service account of its own, whose key file points at the fake's token endpoint. */
function storageOn(
  fake: FakeServer<GcsFakeState>,
  bucket: string,
  extra: { allowedBuckets?: string[]; maxBytes?: number } = {},
): { storage: GcsStorage; secret: MemorySecret } {
  const account = newServiceAccount(
    `test-${randomUUID().slice(0, 8)}@circle.iam.gserviceaccount.com`,
    `${fake.url}/token`,
  );
  fake.state.accounts.set(account.email, account.publicKey);
  const secret = memorySecret('test/gcs/service-account', account.keyFile);
  const rest = gcsApi.client({ baseUrl: fake.url, auth: serviceAccountAuth(secret), coordination: false });
  return {
    storage: new GcsStorage({ rest, credentials: secret, endpoint: fake.url, bucket, ...extra }),
    secret,
  };
}

describeObjectStorageConformance('GcsStorage on the GCS contract fake', async () => {
  const fake = await startGcsFake({ buckets: ['conformance'] });
  return {
    storage: storageOn(fake, 'conformance').storage,
    disallowedBucket: 'elsewhere',
    close: fake.close,
  };
});

describe('Class: GcsStorage', () => {
  let fake: FakeServer<GcsFakeState>;
  let storage: GcsStorage;
  let secret: MemorySecret;

  beforeAll(async () => {
    fake = await startGcsFake({ buckets: ['data', 'archive'] });
  });

  beforeEach(() => {
    fake.reset();
    ({ storage, secret } = storageOn(fake, 'data', { allowedBuckets: ['archive', 'ghost'], maxBytes: 16 }));
  });

  afterAll(async () => {
    await fake?.close();
  });

  describe('Method: putObject', () => {
    it('sends one multipart upload with the resource and the media, ifGenerationMatch=0 when only if absent', async () => {
      // Act
      const put = await storage.putObject({
        key: 'a/b c.bin',
        body: 'AAEC/w==',
        encoding: 'base64',
        metadata: { team: 'data' },
        cacheControl: 'max-age=60',
        onlyIfAbsent: true,
      });
      // Assess
      const [upload] = fake.logFor('insert-object');
      expect(upload?.query).toMatchObject({ uploadType: 'multipart', ifGenerationMatch: '0' });
      expect(upload?.headers['content-type']).toMatch(/^multipart\/related; boundary=/);
      const stored = fake.state.buckets.get('data')?.get('a/b c.bin');
      expect(stored?.bytes.equals(Buffer.from([0, 1, 2, 255]))).toBe(true);
      expect(stored).toMatchObject({
        contentType: 'application/octet-stream',
        metadata: { team: 'data' },
        cacheControl: 'max-age=60',
      });
      expect(put).toMatchObject({
        bucket: 'data',
        key: 'a/b c.bin',
        size: 4,
        versionId: String(stored?.generation),
      });
    });

    it('answers ConflictError naming the key when the object exists (412 conditionNotMet)', async () => {
      // Act
      const error = await storage
        .putObject({ key: 'hello.txt', body: 'again', onlyIfAbsent: true })
        .catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(ConflictError);
      expect((error as Error).message).toContain('"hello.txt" already exists in bucket "data"');
      expect(fake.logFor('insert-object').map((entry) => entry.status)).toEqual([412]);
    });
  });

  describe('Method: getObject', () => {
    it('downloads the generation it described, and answers a signed URL beyond maxBytes', async () => {
      // Act
      const small = await storage.getObject({ key: 'hello.txt', maxBytes: 1024 });
      const large = await storage.getObject({ key: 'reports/2024/06/summary.csv' });
      // Assess
      expect(small).toMatchObject({ tooLarge: false, body: 'Hello from the Google Cloud Storage sandbox\n' });
      expect(fake.logFor('get-object').map((entry) => entry.query)).toEqual([
        {},
        { alt: 'media', generation: '1' },
        {},
      ]);
      expect(large.tooLarge).toBe(true);
      if (!large.tooLarge) return;
      expect(new URL(large.url).searchParams.get('X-Goog-Algorithm')).toBe('GOOG4-RSA-SHA256');
      await expect((await fetch(large.url)).text()).resolves.toBe('region,total\neu,42\nus,17\n');
    });

    it('throws NotFoundError naming the object and bucket', async () => {
      // Act
      const error = await storage.getObject({ key: 'none.txt' }).catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as Error).message).toContain('Object "none.txt" in bucket "data"');
    });
  });

  describe('Method: copyObject', () => {
    it('calls rewrite again with its rewriteToken until done, across buckets', async () => {
      // Prepare
      fake.state.rewriteCalls = 3;
      // Act
      const copy = await storage.copyObject({
        sourceKey: 'hello.txt',
        bucket: 'archive',
        key: 'kept/hello.txt',
      });
      // Assess
      expect(fake.logFor('rewrite-object').map((entry) => entry.query['rewriteToken'])).toEqual([
        undefined,
        'step-1',
        'step-2',
      ]);
      expect(copy).toMatchObject({ bucket: 'archive', key: 'kept/hello.txt' });
      expect(fake.state.buckets.get('archive')?.get('kept/hello.txt')?.metadata).toEqual({
        source: 'sandbox',
      });
    });
  });

  describe('Method: copyObject with part of the metadata', () => {
    // objects.rewrite (JSON API reference): "If the request body is empty, editable metadata from the source
    // object is applied to the destination object"; a body with any field is the copy's editable metadata
    // as a whole. A copy that replaces only the media type or only the metadata keeps the rest.
    beforeEach(async () => {
      await storage.putObject({
        key: 'partial/source.csv',
        body: 'a,b',
        contentType: 'text/csv',
        cacheControl: 'max-age=60',
        metadata: { owner: 'billing' },
      });
    });

    it('keeps the media type and Cache-Control when only the metadata is replaced', async () => {
      // Act
      await storage.copyObject({
        sourceKey: 'partial/source.csv',
        key: 'partial/meta.csv',
        metadata: { b: '2' },
      });
      // Assess
      const copy = fake.state.buckets.get('data')?.get('partial/meta.csv');
      expect(copy).toMatchObject({
        contentType: 'text/csv',
        cacheControl: 'max-age=60',
        metadata: { b: '2' },
      });
    });

    it('keeps the metadata and Cache-Control when only the media type is replaced', async () => {
      // Act
      await storage.copyObject({
        sourceKey: 'partial/source.csv',
        key: 'partial/type.txt',
        contentType: 'text/plain',
      });
      // Assess
      const copy = fake.state.buckets.get('data')?.get('partial/type.txt');
      expect(copy).toMatchObject({
        contentType: 'text/plain',
        cacheControl: 'max-age=60',
        metadata: { owner: 'billing' },
      });
    });

    it('pins the rewrite to the source generation it read (a changed source is 412, see the fake test below)', async () => {
      // Act
      await storage.copyObject({
        sourceKey: 'partial/source.csv',
        key: 'partial/pinned.csv',
        metadata: { b: '2' },
      });
      await storage.copyObject({ sourceKey: 'partial/source.csv', key: 'partial/whole.csv' });
      // Assess
      const [partial, whole] = fake.logFor('rewrite-object');
      const generation = fake.state.buckets.get('data')?.get('partial/source.csv')?.generation;
      expect(partial?.query['ifSourceGenerationMatch']).toBe(String(generation));
      // A copy that replaces nothing sends an empty body (GCS copies the source's metadata), unpinned.
      expect(whole?.query['ifSourceGenerationMatch']).toBeUndefined();
      expect(whole?.body).toEqual({});
    });

    it('throws ConflictError naming the source when GCS answers 412 to the pinned rewrite', async () => {
      // Prepare: what GCS answers when ifSourceGenerationMatch no longer holds.
      fake.inject(
        {
          kind: 'answer',
          answer: json(412, {
            error: {
              code: 412,
              message: 'At least one of the pre-conditions you specified did not hold.',
              errors: [{ domain: 'global', reason: 'conditionNotMet', message: 'pre-conditions' }],
            },
          }),
        },
        { route: 'rewrite-object' },
      );
      // Act
      const failure = storage.copyObject({
        sourceKey: 'partial/source.csv',
        key: 'partial/raced.csv',
        metadata: {},
      });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(ConflictError);
      await expect(failure).rejects.toThrow(
        'Source object "partial/source.csv" in bucket "data" changed during the copy',
      );
    });
  });

  describe('GCS contract fake: objects.rewrite', () => {
    it('applies a non-empty request body as the whole of the editable metadata, an empty one copies the source', async () => {
      // Prepare
      await storage.putObject({
        key: 'fake/source.csv',
        body: 'a,b',
        contentType: 'text/csv',
        cacheControl: 'max-age=60',
        metadata: { owner: 'billing' },
      });
      const rest = gcsApi.client({
        baseUrl: fake.url,
        auth: serviceAccountAuth(secret),
        coordination: false,
      });
      const path = (to: string) => `/storage/v1/b/data/o/fake%2Fsource.csv/rewriteTo/b/data/o/${to}`;
      // Act
      await rest.post(path('fake%2Fpartial.csv'), GcsRewrite, { json: { metadata: { b: '2' } } });
      await rest.post(path('fake%2Fwhole.csv'), GcsRewrite, { json: {} });
      const stale = await rest
        .post(path('fake%2Fstale.csv'), GcsRewrite, { json: {}, query: { ifSourceGenerationMatch: 1 } })
        .catch((error: unknown) => error);
      // Assess
      const bucket = fake.state.buckets.get('data');
      expect(bucket?.get('fake/partial.csv')).toMatchObject({
        contentType: 'application/octet-stream',
        cacheControl: undefined,
        metadata: { b: '2' },
      });
      expect(bucket?.get('fake/whole.csv')).toMatchObject({
        contentType: 'text/csv',
        cacheControl: 'max-age=60',
        metadata: { owner: 'billing' },
      });
      expect(stale).toBeInstanceOf(ConflictError);
      expect(bucket?.has('fake/stale.csv')).toBe(false);
    });
  });

  describe('Method: presignUrl', () => {
    it('signs the content type into a PUT URL: another type is refused by the store', async () => {
      // Act
      const put = await storage.presignUrl({
        key: 'up/load.csv',
        method: 'PUT',
        contentType: 'text/csv',
        expiresIn: 60,
      });
      const wrong = await fetch(put.url, {
        method: 'PUT',
        body: 'x',
        headers: { 'content-type': 'text/plain' },
      });
      const right = await fetch(put.url, { method: 'PUT', body: 'a,b', headers: put.headers });
      // Assess
      expect(put.headers).toEqual({ 'content-type': 'text/csv' });
      expect(new URL(put.url).searchParams.get('X-Goog-SignedHeaders')).toBe('content-type;host');
      expect(wrong.status).toBe(403);
      expect(await wrong.text()).toContain('SignatureDoesNotMatch');
      expect(right.status).toBe(200);
      expect(fake.state.buckets.get('data')?.get('up/load.csv')?.contentType).toBe('text/csv');
    });

    it('makes URLs that fail once tampered with or once the key is unknown', async () => {
      // Prepare
      const get = await storage.presignUrl({ key: 'hello.txt', expiresIn: 60 });
      const tampered = get.url.replace('hello.txt', 'other.txt');
      // Act
      const forged = await fetch(tampered);
      fake.state.accounts.clear();
      const revoked = await fetch(get.url);
      // Assess
      expect(forged.status).toBe(403);
      expect(revoked.status).toBe(403);
    });

    it('refuses contentType on a GET URL, naming the field', async () => {
      // Act
      const error = await storage
        .presignUrl({ key: 'hello.txt', method: 'GET', contentType: 'text/plain' })
        .catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues[0]?.pointer).toBe('/contentType');
    });
  });

  describe('Auth: service account', () => {
    it("exchanges one JWT at the key file's token_uri for every call of the token's life", async () => {
      // Act
      await storage.headObject({ key: 'hello.txt' });
      await storage.listObjects({ prefix: 'reports/' });
      // Assess
      expect(fake.logFor('token')).toHaveLength(1);
      expect(fake.logFor('token')[0]?.body).toMatchObject({
        grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer',
      });
      expect(fake.logFor('token')[0]?.body).not.toHaveProperty('assertion');
    });

    it('re-reads the secret after a 401 and continues with the rotated key', async () => {
      // Prepare
      await storage.headObject({ key: 'hello.txt' });
      const rotated = newServiceAccount('rotated@circle.iam.gserviceaccount.com', `${fake.url}/token`);
      fake.state.accounts.clear();
      fake.state.accounts.set(rotated.email, rotated.publicKey);
      secret.set(rotated.keyFile);
      // Act
      const head = await storage.headObject({ key: 'hello.txt' });
      // Assess
      expect(head.key).toBe('hello.txt');
      expect(secret.refreshes).toBe(1);
      expect(fake.logFor('get-object').map((entry) => entry.status)).toEqual([200, 401, 200]);
    });
  });

  describe('Buckets', () => {
    it('refuses a bucket outside the allow-list before any request, and maps a missing one to NotFoundError', async () => {
      // Act
      const outside = await storage
        .headObject({ bucket: 'secret-bucket', key: 'x' })
        .catch((e: unknown) => e);
      const ghost = await storage.listObjects({ bucket: 'ghost' }).catch((e: unknown) => e);
      // Assess
      expect(outside).toBeInstanceOf(ForbiddenError);
      expect(ghost).toBeInstanceOf(NotFoundError);
      expect((ghost as Error).message).toContain('Bucket "ghost"');
      await expect(storage.checkBucket()).resolves.toBeUndefined();
    });
  });
});
