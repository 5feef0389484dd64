import {
  AuthError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
  withInvocation,
} from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { S3ObjectStorage, type S3ObjectStorageOptions } from './client.ts';
import { type FaultServer, startFaultServer } from './testing/fault-server.ts';

describe('Class: S3ObjectStorage (provider faults)', () => {
  let faults: FaultServer;
  let options: S3ObjectStorageOptions;
  let storage: S3ObjectStorage;
  /** Throttling backoff starts at 500 ms in the SDK, beyond the 400 ms budget of `storage`. */
  let patientStorage: S3ObjectStorage;

  beforeAll(async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDFAULTS');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'fault-secret-value');
    faults = await startFaultServer();
    options = {
      bucket: 'data',
      endpoint: faults.endpoint,
      forcePathStyle: true,
      region: 'us-east-1',
      timeoutMs: 400,
      maxAttempts: 3,
    };
    storage = new S3ObjectStorage(options);
    patientStorage = new S3ObjectStorage({ ...options, timeoutMs: 5000 });
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await faults.close();
  });

  describe('Method: putObject', () => {
    it('succeeds after the SDK retries 503 SlowDown', async () => {
      // Prepare
      faults.script(
        { error: 'SlowDown', status: 503 },
        { error: 'SlowDown', status: 503 },
        { status: 200, headers: { etag: '"abc123"' } },
      );
      // Act
      const output = await patientStorage.putObject({ key: 'a.txt', body: 'hello' });
      // Assess
      expect(output).toEqual({ bucket: 'data', key: 'a.txt', size: 5, etag: 'abc123' });
      expect(faults.requests).toHaveLength(3);
      expect(faults.requests.every((request) => request.method === 'PUT')).toBe(true);
    });

    it('throws RateLimitedError when S3 keeps answering SlowDown', async () => {
      // Prepare
      faults.script({ error: 'SlowDown', status: 503 });
      // Act
      const failure = patientStorage.putObject({ key: 'a.txt', body: 'hello' });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(RateLimitedError);
      await expect(failure).rejects.toMatchObject({
        retryable: true,
        details: { awsError: 'SlowDown', httpStatus: 503, action: 'PutObject' },
      });
      expect(faults.requests).toHaveLength(3);
    });

    it('throws ForbiddenError without retrying when S3 answers 403 AccessDenied', async () => {
      // Prepare
      faults.script({ error: 'AccessDenied', status: 403 });
      // Act
      const failure = storage.putObject({ key: 'secret/a.txt', body: 'x' });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(ForbiddenError);
      await expect(failure).rejects.toThrow(
        'S3 PutObject on object "secret/a.txt" in bucket "data" failed (AccessDenied)',
      );
      expect(faults.requests).toHaveLength(1);
    });

    it('throws AuthError when S3 does not know the access key', async () => {
      // Prepare
      faults.script({ error: 'InvalidAccessKeyId', status: 403 });
      // Act
      const failure = storage.putObject({ key: 'a.txt', body: 'x' });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(AuthError);
      await expect(failure).rejects.not.toBeInstanceOf(ForbiddenError);
    });

    it('throws ConflictError when onlyIfAbsent meets an existing object (412 PreconditionFailed)', async () => {
      // Prepare
      faults.script({ error: 'PreconditionFailed', status: 412 });
      // Act
      const failure = storage.putObject({ key: 'a.txt', body: 'x', onlyIfAbsent: true });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(ConflictError);
      expect(faults.requests[0]?.headers['if-none-match']).toBe('*');
    });

    it('sends the S3 storage class and Cache-Control', async () => {
      // Prepare
      faults.script({ status: 200 });
      // Act
      await storage.putObject({
        key: 'a.txt',
        body: 'x',
        storageClass: 'STANDARD_IA',
        cacheControl: 'max-age=60',
      });
      // Assess
      expect(faults.requests[0]?.headers).toMatchObject({
        'x-amz-storage-class': 'STANDARD_IA',
        'cache-control': 'max-age=60',
      });
    });

    it('succeeds after a 500 InternalError and gives up with UnavailableError when it persists', async () => {
      // Prepare
      faults.script({ error: 'InternalError', status: 500 }, { status: 200, headers: { etag: '"e"' } });
      // Act
      const recovered = await storage.putObject({ key: 'a.txt', body: 'x' });
      faults.script({ error: 'InternalError', status: 500 });
      const failure = storage.putObject({ key: 'a.txt', body: 'x' });
      // Assess
      expect(recovered.etag).toBe('e');
      await expect(failure).rejects.toBeInstanceOf(UnavailableError);
      await expect(failure).rejects.toMatchObject({ details: { httpStatus: 500 } });
    });
  });

  describe('Method: getObject', () => {
    it('throws TimeoutError when S3 never answers', async () => {
      // Prepare
      faults.script({ hang: true });
      const started = Date.now();
      // Act
      const failure = storage.getObject({ key: 'slow.bin' });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(TimeoutError);
      await expect(failure).rejects.toThrow('S3 GetObject timed out after 400 ms');
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it('cuts the budget to the invocation time left minus a reserve', async () => {
      // Prepare: a frozen clock, so the time left is exactly 500 ms when the budget is set.
      const patient = new S3ObjectStorage({ ...options, timeoutMs: 60_000 });
      faults.script({ hang: true });
      const now = Date.now();
      const clock = vi.spyOn(Date, 'now').mockReturnValue(now);
      // Act
      const failure = withInvocation({ deadline: now + 500, correlationId: 'c-1' }, () =>
        patient.getObject({ key: 'slow.bin' }),
      );
      // Assess: 500 ms left minus the 200 ms reserve.
      try {
        await expect(failure).rejects.toBeInstanceOf(TimeoutError);
        await expect(failure).rejects.toThrow('S3 GetObject timed out after 300 ms');
      } finally {
        clock.mockRestore();
      }
    });

    it('throws TimeoutError without calling S3 when the invocation has no time left', async () => {
      // Prepare
      faults.script({ status: 200 });
      // Act
      const failure = withInvocation({ deadline: Date.now() + 150, correlationId: 'c-2' }, () =>
        storage.getObject({ key: 'a.txt' }),
      );
      // Assess
      await expect(failure).rejects.toThrow(
        'S3 GetObject was not attempted: the invocation has no time left for it',
      );
      expect(faults.requests).toHaveLength(0);
    });

    it('reads a body without a Content-Length, and presigns once it exceeds maxBytes', async () => {
      // Prepare
      const small = new S3ObjectStorage({ ...options, maxBytes: 10 });
      const headers = { 'content-type': 'text/plain' };
      faults.script({ status: 200, chunked: true, body: 'short', headers });
      const fits = await small.getObject({ key: 'stream.txt' });
      faults.script({ status: 200, chunked: true, body: 'much longer than ten', headers });
      // Act
      const large = await small.getObject({ key: 'stream.txt' });
      // Assess
      expect(fits).toMatchObject({ tooLarge: false, body: 'short', size: 5 });
      expect(large).toMatchObject({ tooLarge: true, expiresIn: 900 });
    });

    it('throws NotFoundError naming the bucket for NoSuchBucket', async () => {
      // Prepare
      faults.script({ error: 'NoSuchBucket', status: 404 });
      // Act
      const failure = storage.getObject({ key: 'a.txt' });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(NotFoundError);
      await expect(failure).rejects.toThrow('bucket "data" was not found');
    });
  });

  describe('Method: listObjects', () => {
    it('throws UnexpectedResponseError for malformed XML in a 200', async () => {
      // Prepare
      faults.script({ status: 200, body: '<ListBucketResult><Contents><Key>a</Key' });
      // Act
      const failure = storage.listObjects({});
      // Assess
      await expect(failure).rejects.toBeInstanceOf(UnexpectedResponseError);
      await expect(failure).rejects.toMatchObject({ details: { action: 'ListObjectsV2', httpStatus: 200 } });
    });

    it('throws UnavailableError when nothing listens on the endpoint', async () => {
      // Prepare
      const closed = await startFaultServer();
      const endpoint = closed.endpoint;
      await closed.close();
      const unreachable = new S3ObjectStorage({ ...options, endpoint, maxAttempts: 1 });
      // Act
      const failure = unreachable.listObjects({});
      // Assess
      await expect(failure).rejects.toBeInstanceOf(UnavailableError);
      await expect(failure).rejects.toThrow(/^S3 ListObjectsV2 on bucket "data" failed \(ECONNREFUSED\)$/);
    });
  });

  describe('Method: checkBucket', () => {
    it('sends HeadBucket through the SDK, retries 503 SlowDown and maps 404 and 403', async () => {
      // Act
      faults.script({ error: 'SlowDown', status: 503 }, { status: 200 });
      const recovered = await patientStorage.checkBucket();
      const sent = [...faults.requests];
      faults.script({ error: 'NoSuchBucket', status: 404 });
      const missing = await storage.checkBucket().catch((error: unknown) => error);
      faults.script({ error: 'AccessDenied', status: 403 });
      const denied = await storage.checkBucket().catch((error: unknown) => error);
      // Assess
      expect(recovered).toBeUndefined();
      expect(sent).toHaveLength(2);
      expect(
        sent.every(
          (request) =>
            request.method === 'HEAD' && request.url?.split('?')[0]?.replace(/\/$/, '') === '/data',
        ),
      ).toBe(true);
      // The SDK's request: its invocation id header is present.
      expect(sent[0]?.headers['amz-sdk-invocation-id']).toBeDefined();
      expect(missing).toBeInstanceOf(NotFoundError);
      expect(denied).toBeInstanceOf(ForbiddenError);
      expect((denied as Error).message).toContain('bucket "data"');
    });

    it('gives up within its budget: TimeoutError when S3 never answers, UnavailableError when it keeps failing', async () => {
      // Act
      faults.script({ hang: true });
      const started = Date.now();
      const hung = await storage.checkBucket().catch((error: unknown) => error);
      const elapsed = Date.now() - started;
      faults.script({ error: 'InternalError', status: 500 });
      const failing = await storage.checkBucket().catch((error: unknown) => error);
      // Assess
      expect(hung).toBeInstanceOf(TimeoutError);
      expect(elapsed).toBeLessThan(3000);
      expect(failing).toBeInstanceOf(UnavailableError);
    });
  });
});
