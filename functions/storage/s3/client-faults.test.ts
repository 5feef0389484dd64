import {
  AuthError,
  ConfigurationError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  NotSupportedError,
  RateLimitedError,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
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

    it('retries RequestTimeTooSkewed with the clock S3 reported, as the SDK corrects skew on its own', async () => {
      // Prepare: S3's Date header is 20 minutes ahead of this clock (S3 allows 15).
      const skewed = new S3ObjectStorage(options);
      const serverTime = Date.now() + 20 * 60_000;
      faults.script(
        { error: 'RequestTimeTooSkewed', status: 403, headers: { date: new Date(serverTime).toUTCString() } },
        { status: 200, headers: { etag: '"abc123"' } },
      );
      // Act
      const output = await skewed.putObject({ key: 'a.txt', body: 'hello' });
      // Assess
      expect(output.etag).toBe('abc123');
      expect(faults.requests).toHaveLength(2);
      const signedAt = (request: (typeof faults.requests)[number]): number => {
        const stamp = String(request.headers['x-amz-date']);
        return Date.parse(stamp.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
      };
      const [first, second] = faults.requests as [(typeof faults.requests)[0], (typeof faults.requests)[0]];
      expect(Math.abs(signedAt(second) - serverTime)).toBeLessThan(60_000);
      expect(signedAt(second) - signedAt(first)).toBeGreaterThan(15 * 60_000);
    });

    it("throws a ConfigurationError naming the function's clock, not an access hint, for RequestTimeTooSkewed", async () => {
      // Prepare: the Date header is this clock's, so the SDK has nothing to correct.
      faults.script({ error: 'RequestTimeTooSkewed', status: 403 });
      // Act
      const failure = storage.putObject({ key: 'a.txt', body: 'x' });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(ConfigurationError);
      await expect(failure).rejects.not.toBeInstanceOf(ForbiddenError);
      await expect(failure).rejects.toThrow(
        'S3 PutObject on object "a.txt" in bucket "data" failed (RequestTimeTooSkewed): the function\'s clock differs from S3\'s by more than 15 minutes',
      );
      await expect(failure).rejects.not.toThrow(/bucket policy|IAM/);
      expect(faults.requests).toHaveLength(1);
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

    it('throws a retryable UnavailableError for 409 ConditionalRequestConflict (S3: "retry the upload")', async () => {
      // Prepare: a concurrent conditional write to the key was in flight; nothing was decided for this one
      faults.script({ error: 'ConditionalRequestConflict', status: 409 });
      // Act
      const failure = storage.putObject({ key: 'a.txt', body: 'x', onlyIfAbsent: true });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(UnavailableError);
      await expect(failure).rejects.toMatchObject({
        retryable: true,
        details: { awsError: 'ConditionalRequestConflict', httpStatus: 409, action: 'PutObject' },
      });
      await expect(failure).rejects.toThrow(
        'object "a.txt" in bucket "data" was being written by a concurrent conditional request; try again',
      );
    });

    it('throws a retryable UnavailableError for 409 OperationAborted (S3: "... in progress ... Try again.")', async () => {
      // Prepare: S3's error list: "A conflicting conditional operation is currently in progress against this
      // resource. Try again." Nothing was decided for this request
      faults.script({ error: 'OperationAborted', status: 409 });
      // Act
      const failure = storage.putObject({ key: 'a.txt', body: 'x' });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(UnavailableError);
      await expect(failure).rejects.toMatchObject({
        retryable: true,
        status: 503,
        details: { awsError: 'OperationAborted', httpStatus: 409, action: 'PutObject' },
      });
      await expect(failure).rejects.toThrow(
        'object "a.txt" in bucket "data" had a conflicting operation in progress; try again',
      );
      expect(faults.requests).toHaveLength(1);
    });

    it('throws ConfigurationError naming the Region for a bucket in another Region (301 PermanentRedirect)', async () => {
      // Prepare: S3 answers a request for a bucket of another Region with 301 PermanentRedirect (with a body)
      // or, signed for the wrong Region, 400 AuthorizationHeaderMalformed; HEAD gets a bare 301
      faults.script({ error: 'PermanentRedirect', status: 301 });
      const redirected = storage.putObject({ key: 'a.txt', body: 'x' });
      await expect(redirected).rejects.toBeInstanceOf(ConfigurationError);
      faults.script({ error: 'AuthorizationHeaderMalformed', status: 400 });
      const malformed = storage.putObject({ key: 'a.txt', body: 'x' });
      await expect(malformed).rejects.toBeInstanceOf(ConfigurationError);
      faults.script({ status: 301 });
      const head = storage.headObject({ key: 'a.txt' });
      // Assess
      await expect(head).rejects.toBeInstanceOf(ConfigurationError);
      await expect(redirected).rejects.toThrow("another AWS Region than the function's");
      await expect(redirected).rejects.toMatchObject({ details: { awsError: 'PermanentRedirect' } });
      await expect(malformed).rejects.toThrow("another AWS Region than the function's");
      await expect(head).rejects.toThrow("another AWS Region than the function's");
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

  describe('S3 error codes', () => {
    it('throws ValidationError for 400 InvalidRequest (a copy onto itself changing nothing)', async () => {
      // Prepare
      faults.script({ error: 'InvalidRequest', status: 400 });
      // Act
      const failure = storage.copyObject({ sourceKey: 'a.txt', key: 'a.txt' });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(ValidationError);
      await expect(failure).rejects.toMatchObject({ status: 400, retryable: false });
      expect(faults.requests).toHaveLength(1);
    });

    it.each([
      ['InvalidObjectState', 'get', 'a.txt'],
      ['ObjectNotInActiveTierError', 'copy', 'cold/a.txt'],
    ] as const)('throws ConflictError saying the object is archived for 403 %s', async (code, call, key) => {
      // Prepare
      faults.script({ error: code, status: 403 });
      // Act
      const failure =
        call === 'get' ? storage.getObject({ key }) : storage.copyObject({ sourceKey: key, key: 'b.txt' });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(ConflictError);
      await expect(failure).rejects.toMatchObject({ status: 409, retryable: false });
      await expect(failure).rejects.toThrow(
        `object "${key}" in bucket "data" is archived (Glacier or Deep Archive): restore it first`,
      );
      expect(faults.requests).toHaveLength(1);
    });

    it('throws NotSupportedError without retrying for 501 NotImplemented (a header the store lacks)', async () => {
      // Prepare
      faults.script({ error: 'NotImplemented', status: 501 });
      // Act
      const failure = patientStorage.putObject({ key: 'a.txt', body: 'x', onlyIfAbsent: true });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(NotSupportedError);
      await expect(failure).rejects.toMatchObject({ status: 501, retryable: false });
      expect(faults.requests).toHaveLength(1);
    });
  });

  describe('Method: copyObject', () => {
    it('copies with COPY and no other call when neither contentType nor metadata is given', async () => {
      // Prepare
      faults.script({ status: 200, body: '<CopyObjectResult><ETag>"c1"</ETag></CopyObjectResult>' });
      // Act
      const copy = await storage.copyObject({ sourceKey: 'src.txt', key: 'dst.txt' });
      // Assess
      expect(copy).toMatchObject({ key: 'dst.txt', etag: 'c1' });
      expect(faults.requests).toHaveLength(1);
      expect(faults.requests[0]?.headers['x-amz-metadata-directive']).not.toBe('REPLACE');
    });

    it('reads the source first and sends what was not replaced, pinned to the entity tag it read', async () => {
      // Prepare
      const source = {
        status: 200,
        headers: {
          etag: '"s1"',
          'content-type': 'text/plain',
          'x-amz-meta-owner': 'finance',
          'cache-control': 'max-age=60',
          'content-disposition': 'attachment',
          'content-encoding': 'identity',
          'content-language': 'en',
        },
      };
      const copied = { status: 200, body: '<CopyObjectResult><ETag>"c1"</ETag></CopyObjectResult>' };
      faults.script(source, copied);
      // Act
      await storage.copyObject({
        sourceBucket: 'data',
        sourceKey: 'src.txt',
        key: 'dst.csv',
        contentType: 'text/csv',
      });
      const sent = [...faults.requests];
      faults.script(source, copied);
      await storage.copyObject({ sourceKey: 'src.txt', key: 'dst2.txt', metadata: { tier: 'cold' } });
      const second = [...faults.requests];
      // Assess
      expect(sent.map((request) => request.method)).toEqual(['HEAD', 'PUT']);
      expect(sent[0]?.url.split('?')[0]).toBe('/data/src.txt');
      expect(sent[1]?.headers).toMatchObject({
        'x-amz-metadata-directive': 'REPLACE',
        'x-amz-copy-source-if-match': '"s1"',
        'content-type': 'text/csv',
        'x-amz-meta-owner': 'finance',
        'cache-control': 'max-age=60',
        'content-disposition': 'attachment',
        'content-encoding': 'identity',
        'content-language': 'en',
      });
      expect(second[1]?.headers).toMatchObject({
        'x-amz-metadata-directive': 'REPLACE',
        'content-type': 'text/plain',
        'x-amz-meta-tier': 'cold',
        'cache-control': 'max-age=60',
      });
      expect(second[1]?.headers['x-amz-meta-owner']).toBeUndefined();
    });

    it('throws ConflictError when the source changed between the read and the copy (412)', async () => {
      // Prepare
      faults.script({ status: 200, headers: { etag: '"s1"' } }, { error: 'PreconditionFailed', status: 412 });
      // Act
      const failure = storage.copyObject({ sourceKey: 'src.txt', key: 'dst.txt', metadata: { a: '1' } });
      // Assess
      await expect(failure).rejects.toBeInstanceOf(ConflictError);
      await expect(failure).rejects.toMatchObject({ details: { action: 'CopyObject', httpStatus: 412 } });
      expect(faults.requests.map((request) => request.method)).toEqual(['HEAD', 'PUT']);
      expect(faults.requests[1]?.headers['x-amz-copy-source-if-match']).toBe('"s1"');
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
