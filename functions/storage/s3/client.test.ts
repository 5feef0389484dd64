import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { AuthError, ConflictError, ForbiddenError, NotFoundError, ValidationError } from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { describeObjectStorageConformance } from '#shared/interfaces/object-storage.conformance.ts';
import { type S3rverPeer, startS3rver } from '../../../test/peers/s3rver.ts';
import { S3ObjectStorage, type S3ObjectStorageOptions } from './client.ts';

// s3rver accepts any secret for a known access key id; the SDK reads these through its default chain.
vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');

describeObjectStorageConformance('S3ObjectStorage on s3rver', async () => {
  const peer = await startS3rver({ buckets: ['conformance'] });
  const storage = new S3ObjectStorage({
    bucket: 'conformance',
    endpoint: peer.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
  });
  return { storage, disallowedBucket: 'elsewhere', close: peer.close };
});

describe('Class: S3ObjectStorage', () => {
  let peer: S3rverPeer;
  let options: S3ObjectStorageOptions;
  let storage: S3ObjectStorage;

  beforeAll(async () => {
    peer = await startS3rver({ buckets: ['data', 'archive'] });
    options = {
      bucket: 'data',
      allowedBuckets: ['archive', 'ghost'],
      endpoint: peer.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      maxBytes: 16,
    };
    storage = await S3ObjectStorage.create(options);
  });

  afterAll(async () => {
    await peer.close();
  });

  describe('Method: putObject', () => {
    it('defaults the media type by encoding', async () => {
      // Prepare
      await storage.putObject({ key: 'types/text', body: 'hi' });
      await storage.putObject({ key: 'types/binary', body: 'AAE=', encoding: 'base64' });
      // Act
      const text = await storage.headObject({ key: 'types/text' });
      const binary = await storage.headObject({ key: 'types/binary' });
      // Assess
      expect(text.contentType).toBe('text/plain; charset=utf-8');
      expect(binary).toMatchObject({ contentType: 'application/octet-stream', size: 2 });
    });

    it('writes to another allowed bucket when the request names it', async () => {
      // Act
      const put = await storage.putObject({ bucket: 'archive', key: 'old/one.txt', body: '1' });
      // Assess
      expect(put.bucket).toBe('archive');
      const archived = await storage.listObjects({ bucket: 'archive', prefix: 'old/' });
      const main = await storage.listObjects({ prefix: 'old/' });
      expect(archived.objects.map((object) => object.key)).toEqual(['old/one.txt']);
      expect(main.objects).toEqual([]);
    });

    it('throws ForbiddenError for a bucket outside the allow-list without calling S3', async () => {
      // Act
      const failure = storage.putObject({ bucket: 'payroll', key: 'x', body: 'x' });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(ForbiddenError);
      await expect(failure).rejects.toThrow('Bucket "payroll" is not one of the allowed buckets');
    });
  });

  describe('Method: getObject', () => {
    it('returns objects up to maxBytes inline and larger ones as a working presigned URL', async () => {
      // Prepare
      await storage.putObject({ key: 'limit/16', body: 'x'.repeat(16) });
      await storage.putObject({ key: 'limit/17', body: 'y'.repeat(17) });
      // Act
      const fits = await storage.getObject({ key: 'limit/16' });
      const large = await storage.getObject({ key: 'limit/17' });
      // Assess
      expect(fits).toMatchObject({ tooLarge: false, body: 'x'.repeat(16), size: 16 });
      expect(large).toMatchObject({ tooLarge: true, size: 17, expiresIn: 900 });
      if (!large.tooLarge) throw new Error('expected a presigned answer');
      expect(large).not.toHaveProperty('body');
      expect(await (await fetch(large.url)).text()).toBe('y'.repeat(17));
    });

    it('falls back to base64 for a text media type whose bytes are not UTF-8', async () => {
      // Prepare
      await storage.putObject({
        key: 'latin1.txt',
        body: '/w==',
        encoding: 'base64',
        contentType: 'text/plain',
      });
      // Act
      const inferred = await storage.getObject({ key: 'latin1.txt' });
      const forced = storage.getObject({ key: 'latin1.txt', encoding: 'utf8' });

      // Assess
      expect(inferred).toMatchObject({ tooLarge: false, encoding: 'base64', body: '/w==' });
      await expect(forced).rejects.toBeInstanceOf(ValidationError);
    });

    it('throws NotFoundError naming the bucket when an allowed bucket does not exist', async () => {
      // Act
      const failure = storage.getObject({ bucket: 'ghost', key: 'a.txt' });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(NotFoundError);
      await expect(failure).rejects.toThrow('bucket "ghost" was not found');
    });
  });

  describe('Method: copyObject', () => {
    it('replaces media type and metadata when given, across allowed buckets', async () => {
      // Prepare
      await storage.putObject({ key: 'copy/src.txt', body: 'data', metadata: { keep: 'no' } });
      // Act
      await storage.copyObject({
        sourceKey: 'copy/src.txt',
        bucket: 'archive',
        key: 'copy/dst.csv',
        contentType: 'text/csv',
        metadata: { tier: 'cold' },
      });
      const head = await storage.headObject({ bucket: 'archive', key: 'copy/dst.csv' });
      // Assess
      expect(head).toMatchObject({ contentType: 'text/csv', metadata: { tier: 'cold' }, size: 4 });
    });

    it('keeps what it was not asked to replace: metadata with contentType, the media type with metadata', async () => {
      // Prepare
      await storage.putObject({
        key: 'keep/src.txt',
        body: 'data',
        contentType: 'text/plain',
        metadata: { owner: 'finance' },
        cacheControl: 'max-age=60',
      });
      // Act
      await storage.copyObject({ sourceKey: 'keep/src.txt', key: 'keep/dst.csv', contentType: 'text/csv' });
      await storage.copyObject({
        sourceKey: 'keep/src.txt',
        key: 'keep/dst2.txt',
        metadata: { tier: 'cold' },
      });
      const csv = await storage.headObject({ key: 'keep/dst.csv' });
      const tiered = await storage.headObject({ key: 'keep/dst2.txt' });
      // Assess
      expect(csv).toMatchObject({ contentType: 'text/csv', metadata: { owner: 'finance' }, size: 4 });
      expect(tiered).toMatchObject({ contentType: 'text/plain', metadata: { tier: 'cold' }, size: 4 });
    });

    it('keeps the source Cache-Control and Content-* headers when replacing both contentType and metadata', async () => {
      // Prepare: MetadataDirective REPLACE replaces all of them (AWS S3 API Reference, CopyObject,
      // x-amz-metadata-directive), so only a copy that sends them back keeps them.
      const s3 = new S3Client({ endpoint: peer.endpoint, forcePathStyle: true, region: 'us-east-1' });
      await s3.send(
        new PutObjectCommand({
          Bucket: 'data',
          Key: 'both/src.txt',
          Body: 'data',
          ContentType: 'text/plain',
          Metadata: { owner: 'finance' },
          CacheControl: 'max-age=60',
          ContentDisposition: 'attachment; filename="src.txt"',
          ContentLanguage: 'fr',
        }),
      );
      // Act
      await storage.copyObject({
        sourceKey: 'both/src.txt',
        key: 'both/dst.csv',
        contentType: 'text/csv',
        metadata: { tier: 'cold' },
      });
      const head = await s3.send(new HeadObjectCommand({ Bucket: 'data', Key: 'both/dst.csv' }));
      // Assess
      expect(head).toMatchObject({
        ContentType: 'text/csv',
        Metadata: { tier: 'cold' },
        CacheControl: 'max-age=60',
        ContentDisposition: 'attachment; filename="src.txt"',
        ContentLanguage: 'fr',
      });
      s3.destroy();
    });

    it('throws ConflictError when the source changes between its read and a copy replacing both', async () => {
      // Prepare: as below, with contentType and metadata both given (the copy still reads the source).
      await storage.putObject({ key: 'race2/src.txt', body: 'first', cacheControl: 'max-age=60' });
      const s3 = new S3Client({ endpoint: peer.endpoint, forcePathStyle: true, region: 'us-east-1' });
      s3.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'CopyObjectCommand') {
            await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'race2/src.txt', Body: 'second' }));
          }
          return next(args);
        },
        { step: 'initialize', name: 'rewriteSourceFirst' },
      );
      const racing = new S3ObjectStorage(options, { s3 });
      // Act
      const failure = racing.copyObject({
        sourceKey: 'race2/src.txt',
        key: 'race2/dst.csv',
        contentType: 'text/csv',
        metadata: { tier: 'cold' },
      });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(ConflictError);
      await expect(storage.headObject({ key: 'race2/dst.csv' })).rejects.toBeInstanceOf(NotFoundError);
      s3.destroy();
    });

    it('throws ConflictError and copies nothing when the source changes between its read and the copy', async () => {
      // Prepare: the source is rewritten after the copy read it (HeadObject) and before the copy runs, so
      // the copy's x-amz-copy-source-if-match no longer holds (S3: 412 PreconditionFailed).
      await storage.putObject({ key: 'race/src.txt', body: 'first', metadata: { owner: 'finance' } });
      const s3 = new S3Client({ endpoint: peer.endpoint, forcePathStyle: true, region: 'us-east-1' });
      s3.middlewareStack.add(
        (next, context) => async (args) => {
          if (context.commandName === 'CopyObjectCommand') {
            await s3.send(new PutObjectCommand({ Bucket: 'data', Key: 'race/src.txt', Body: 'second' }));
          }
          return next(args);
        },
        { step: 'initialize', name: 'rewriteSourceFirst' },
      );
      const racing = new S3ObjectStorage(options, { s3 });
      // Act
      const failure = racing.copyObject({
        sourceKey: 'race/src.txt',
        key: 'race/dst.csv',
        contentType: 'text/csv',
      });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(ConflictError);
      await expect(failure).rejects.toMatchObject({ details: { awsError: 'PreconditionFailed' } });
      await expect(storage.headObject({ key: 'race/dst.csv' })).rejects.toBeInstanceOf(NotFoundError);
      s3.destroy();
    });

    it('throws NotFoundError naming the destination bucket when only it is missing', async () => {
      // Act
      const failure = storage.copyObject({ sourceKey: 'copy/src.txt', bucket: 'ghost', key: 'x' });
      // Assess
      await expect(failure).rejects.toThrow('bucket "ghost" was not found');
    });

    it('throws ForbiddenError when the destination bucket is not allowed', async () => {
      // Act
      const failure = storage.copyObject({ sourceKey: 'copy/src.txt', bucket: 'payroll', key: 'x' });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(ForbiddenError);
    });
  });

  describe('Method: presignUrl', () => {
    it('signs the content type into PUT URLs and leaves out the empty-body checksum', async () => {
      // Act
      const presigned = await storage.presignUrl({ key: 'up.csv', method: 'PUT', contentType: 'text/csv' });
      const url = new URL(presigned.url);
      // Assess
      expect(presigned.headers).toEqual({ 'content-type': 'text/csv' });
      expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-type;host');
      expect(url.searchParams.get('X-Amz-Expires')).toBe('900');
      // Real S3 rejects uploads whose body does not match a checksum signed into the URL.
      expect(url.searchParams.has('x-amz-checksum-crc32')).toBe(false);
    });

    it('throws ValidationError for a content type on a GET URL', async () => {
      // Act
      const failure = storage.presignUrl({ key: 'a.txt', contentType: 'text/plain' });
      // Assess
      await expect(failure).rejects.toMatchObject({ issues: [{ pointer: '/contentType' }] });
    });
  });

  describe('Method: listObjects', () => {
    it('reaches the store through AWS_ENDPOINT_URL_S3 when no endpoint is configured', async () => {
      // Prepare
      vi.stubEnv('AWS_ENDPOINT_URL_S3', peer.endpoint);
      const { endpoint: _unused, ...withoutEndpoint } = options;
      const fromEnvironment = new S3ObjectStorage(withoutEndpoint);
      await storage.putObject({ key: 'env/one.txt', body: '1' });
      // Act
      const page = await fromEnvironment.listObjects({ prefix: 'env/' });
      vi.stubEnv('AWS_ENDPOINT_URL_S3', undefined);
      // Assess
      expect(page.objects.map((object) => object.key)).toEqual(['env/one.txt']);
    });

    it('lists keys exactly as stored, carriage returns, spaces, plus signs and percent signs included', async () => {
      // Prepare: keys another writer stored (this connector refuses control characters in keys it writes).
      // XML normalises a raw carriage return to a line feed, which is why S3 offers encoding-type=url
      // (ListObjectsV2 API reference, EncodingType): names come back URL-encoded, a space as `+`.
      const keys = ['odd/a b+c%d.txt', 'odd/cr\rx', 'odd/crlf\r\ny', 'odd/sub dir/x', 'odd/é+/y'];
      const s3 = new S3Client({ endpoint: peer.endpoint, forcePathStyle: true, region: 'us-east-1' });
      for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: 'data', Key: key, Body: 'x' }));
      s3.destroy();
      // Act
      const flat = await storage.listObjects({ prefix: 'odd/' });
      const rolled = await storage.listObjects({ prefix: 'odd/', delimiter: '/' });
      // Assess
      expect(flat.objects.map((object) => object.key)).toEqual(keys);
      expect(rolled.objects.map((object) => object.key)).toEqual(keys.slice(0, 3));
      expect(rolled.commonPrefixes).toEqual(['odd/sub dir/', 'odd/é+/']);
    });
  });

  describe('Method: checkBucket', () => {
    it('passes for an existing bucket and throws NotFoundError for a missing one', async () => {
      // Prepare
      const missing = new S3ObjectStorage({ ...options, bucket: 'ghost' });
      // Act
      const existing = await storage.checkBucket();
      const failure = await missing.checkBucket().catch((error: unknown) => error);
      // Assess
      expect(existing).toBeUndefined();
      expect(failure).toBeInstanceOf(NotFoundError);
    });

    it('throws AuthError when S3 does not know the access key', async () => {
      // Prepare
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDUNKNOWN');
      const stranger = new S3ObjectStorage(options);
      // Act
      const failure = await stranger.listObjects({}).catch((error: unknown) => error);
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
      // Assess
      expect(failure).toBeInstanceOf(AuthError);
      expect(failure).toHaveProperty(
        'message',
        'S3 ListObjectsV2 on bucket "data" failed (InvalidAccessKeyId): AWS rejected the credentials',
      );
    });
  });
});
