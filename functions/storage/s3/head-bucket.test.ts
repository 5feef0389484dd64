import { createHash, createHmac } from 'node:crypto';
import { ForbiddenError, NotFoundError, TimeoutError, UnavailableError } from '@circle-core/core';
import { SignatureV4 } from '@smithy/signature-v4';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { S3ObjectStorage, type S3ObjectStorageOptions } from './client.ts';
import { directHeadBucket, headBucketUrl } from './head-bucket.ts';
import { type FaultServer, startFaultServer } from './testing/fault-server.ts';

/** The SHA-256 the SDK's signer is given (what `@smithy/hash-node` does), so the SDK's signer is the oracle. */
class NodeSha256 {
  readonly #hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: string | Uint8Array) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data: string | Uint8Array): void {
    this.#hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
}

describe('Function: headBucketUrl', () => {
  const env = { AWS_REGION: 'eu-west-1' };

  it('addresses a bucket as the SDK does: virtual-hosted on S3, path style when forced, on any endpoint', () => {
    // Act
    const regional = headBucketUrl('data-1', {}, env);
    const forced = headBucketUrl('data.logs', { forcePathStyle: true }, env);
    const custom = headBucketUrl('data', { endpoint: 'http://127.0.0.1:4568/', forcePathStyle: true }, env);
    const hosted = headBucketUrl('data', { endpoint: 'https://s3.example.test/store' }, env);
    const variable = headBucketUrl(
      'data',
      { forcePathStyle: true },
      { ...env, AWS_ENDPOINT_URL_S3: 'http://h:1' },
    );
    const region = headBucketUrl('data', { region: 'us-west-2' }, env);
    // Assess
    expect(regional?.url.href).toBe('https://data-1.s3.eu-west-1.amazonaws.com/');
    expect(regional?.region).toBe('eu-west-1');
    expect(forced?.url.href).toBe('https://s3.eu-west-1.amazonaws.com/data.logs');
    expect(custom?.url.href).toBe('http://127.0.0.1:4568/data');
    expect(hosted?.url.href).toBe('https://data.s3.example.test/store');
    expect(variable?.url.href).toBe('http://h:1/data');
    expect(region?.url.href).toBe('https://data.s3.us-west-2.amazonaws.com/');
  });

  it('leaves to the SDK what only it addresses: dotted names, S3 Express, FIPS, no region, unknown partitions', () => {
    // Act & Assess
    expect(headBucketUrl('data.logs', {}, env)).toBeUndefined();
    expect(headBucketUrl('fast--usw2-az1--x-s3', { forcePathStyle: true }, env)).toBeUndefined();
    expect(headBucketUrl('data', {}, { ...env, AWS_USE_FIPS_ENDPOINT: 'true' })).toBeUndefined();
    expect(headBucketUrl('data', {}, {})).toBeUndefined();
    expect(headBucketUrl('data', { endpoint: 'http://127.0.0.1:1' }, {})).toBeUndefined();
    expect(headBucketUrl('data', {}, { AWS_REGION: 'eusc-de-east-1' })).toBeUndefined();
  });
});

describe('Function: directHeadBucket', () => {
  it('leaves the credentials to the SDK when none are in the environment or a profile is named', () => {
    // Prepare
    const options = { forcePathStyle: true, timeoutMs: 1000, maxAttempts: 1 };
    const keys = { AWS_REGION: 'eu-west-1', AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 'secret' };
    // Act & Assess
    expect(directHeadBucket('data', options, keys)).toBeTypeOf('function');
    expect(directHeadBucket('data', options, { ...keys, AWS_PROFILE: 'dev' })).toBeUndefined();
    expect(directHeadBucket('data', options, { AWS_REGION: 'eu-west-1' })).toBeUndefined();
  });
});

describe('Method: S3ObjectStorage.checkBucket without the SDK', () => {
  let faults: FaultServer;
  let options: S3ObjectStorageOptions;

  beforeAll(async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'ASIAHEADBUCKET');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'head/bucket+secret');
    vi.stubEnv('AWS_SESSION_TOKEN', 'session-token');
    faults = await startFaultServer();
    options = {
      bucket: 'data',
      endpoint: faults.endpoint,
      forcePathStyle: true,
      region: 'eu-west-1',
      timeoutMs: 400,
      maxAttempts: 3,
    };
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await faults.close();
  });

  it('sends one HEAD /<bucket> signed exactly as the SDK signer signs it for S3', async () => {
    // Prepare
    faults.script({ status: 200 });
    const storage = await S3ObjectStorage.create(options);
    // Act
    await storage.checkBucket();
    // Assess
    expect(faults.requests).toHaveLength(1);
    const [sent] = faults.requests;
    expect(sent?.method).toBe('HEAD');
    expect(sent?.url).toBe('/data');
    // No SDK: its invocation id header is absent.
    expect(sent?.headers['amz-sdk-invocation-id']).toBeUndefined();
    const headers = sent?.headers as Record<string, string>;
    const date = headers['x-amz-date'] ?? '';
    const signingDate = new Date(
      `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 8)}T${date.slice(9, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
    );
    const signedNames = /SignedHeaders=([^,]+)/.exec(headers['authorization'] ?? '')?.[1]?.split(';') ?? [];
    const signer = new SignatureV4({
      credentials: {
        accessKeyId: 'ASIAHEADBUCKET',
        secretAccessKey: 'head/bucket+secret',
        sessionToken: 'session-token',
      },
      region: 'eu-west-1',
      service: 's3',
      sha256: NodeSha256 as unknown as ConstructorParameters<typeof SignatureV4>[0]['sha256'],
      uriEscapePath: false,
      applyChecksum: false,
    });
    const url = new URL(faults.endpoint);
    const signed = await signer.sign(
      {
        method: 'HEAD',
        protocol: url.protocol,
        hostname: url.hostname,
        port: Number(url.port),
        path: '/data',
        query: {},
        headers: Object.fromEntries(signedNames.map((name) => [name, headers[name] ?? ''])),
      },
      { signingDate },
    );
    expect(signedNames).toEqual(
      expect.arrayContaining(['host', 'x-amz-content-sha256', 'x-amz-date', 'x-amz-security-token']),
    );
    expect(headers['authorization']).toBe(signed.headers['authorization']);
  });

  it('retries 503 SlowDown and maps 404 and 403 as the SDK path does', async () => {
    // Prepare
    const storage = await S3ObjectStorage.create({ ...options, timeoutMs: 5000 });
    // Act
    faults.script({ error: 'SlowDown', status: 503 }, { status: 200 });
    const recovered = await storage.checkBucket();
    const retried = faults.requests.length;
    faults.script({ error: 'NoSuchBucket', status: 404 });
    const missing = await storage.checkBucket().catch((error: unknown) => error);
    faults.script({ error: 'AccessDenied', status: 403 });
    const denied = await storage.checkBucket().catch((error: unknown) => error);
    // Assess
    expect(recovered).toBeUndefined();
    expect(retried).toBe(2);
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(denied).toBeInstanceOf(ForbiddenError);
    expect((denied as Error).message).toContain('bucket "data"');
  });

  it('gives up within its budget: TimeoutError when S3 never answers, UnavailableError when it keeps failing', async () => {
    // Prepare
    const storage = await S3ObjectStorage.create(options);
    // Act
    faults.script({ hang: true });
    const started = Date.now();
    const hung = await storage.checkBucket().catch((error: unknown) => error);
    const elapsed = Date.now() - started;
    faults.script({ error: 'InternalError', status: 500 });
    const failing = await storage.checkBucket().catch((error: unknown) => error);
    // Assess
    expect(hung).toBeInstanceOf(TimeoutError);
    expect(elapsed).toBeLessThan(1500);
    expect(failing).toBeInstanceOf(UnavailableError);
  });
});
