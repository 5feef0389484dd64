/**
 * The embedded S3 store as `npm start` serves it, driven from outside the running stack: through the S3
 * connector on the HTTP API, and with the real S3 client against the AWS endpoint (`AWS_ENDPOINT_URL`).
 * Listings longer than one page and conditional writes are what s3rver got wrong in the stack's process
 * (issue 12): the first answered 500 InternalError, the second overwrote.
 */
import { randomUUID } from 'node:crypto';
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StackProcess, startStackProcess } from './stack-process.ts';

const BUCKET = 'circle-core-dev-000000000000-objects';

let stack: StackProcess;
let s3: S3Client;

async function call(operation: string, input: unknown) {
  const response = await fetch(`${stack.apiUrl}/s3/${operation}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${stack.apiKey}`,
      'content-type': 'application/json',
      // A write needs a key (root README, Idempotency); each call here is a new request.
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify(input),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

/** The S3 error an SDK call failed with (its name and HTTP status), or undefined when it succeeded. */
async function s3Failure(promise: Promise<unknown>): Promise<{ name: string; status: number } | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (!(error instanceof S3ServiceException)) throw error;
    return { name: error.name, status: error.$metadata.httpStatusCode ?? 0 };
  }
}

beforeAll(async () => {
  stack = await startStackProcess({}, ['--only', 's3']);
  s3 = new S3Client({
    endpoint: stack.awsUrl,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  for (const name of ['a', 'b', 'c']) {
    const put = await call('put-object', { key: `pages/${name}.txt`, body: name });
    if (put.status !== 200) throw new Error(`put-object answered ${put.status}`);
  }
}, 150_000);

afterAll(async () => {
  s3?.destroy();
  if (stack !== undefined) await stack.stop();
});

describe('Local stack: S3 listings over several pages', () => {
  it('pages list-objects one key at a time with the continuation token', async () => {
    // Act
    const pages: { status: number; keys: unknown; isTruncated: unknown }[] = [];
    let token: string | undefined;
    do {
      const { status, body } = await call('list-objects', {
        prefix: 'pages/',
        maxKeys: 1,
        ...(token === undefined ? {} : { continuationToken: token }),
      });
      const objects = (body['objects'] as { key: string }[] | undefined) ?? [];
      pages.push({ status, keys: objects.map((object) => object.key), isTruncated: body['isTruncated'] });
      token = body['nextContinuationToken'] as string | undefined;
    } while (token !== undefined && pages.length < 5);

    // Assess
    expect(pages).toEqual([
      { status: 200, keys: ['pages/a.txt'], isTruncated: true },
      { status: 200, keys: ['pages/b.txt'], isTruncated: true },
      { status: 200, keys: ['pages/c.txt'], isTruncated: false },
    ]);
  });

  it('pages ListObjectsV2 for the S3 client on the AWS endpoint', async () => {
    // Act
    const first = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'pages/', MaxKeys: 1 }));
    const second = await s3.send(
      new ListObjectsV2Command({
        Bucket: BUCKET,
        Prefix: 'pages/',
        MaxKeys: 2,
        ContinuationToken: first.NextContinuationToken,
      }),
    );

    // Assess
    expect(first.Contents?.map((object) => object.Key)).toEqual(['pages/a.txt']);
    expect(first.IsTruncated).toBe(true);
    expect(second.Contents?.map((object) => object.Key)).toEqual(['pages/b.txt', 'pages/c.txt']);
    expect(second.IsTruncated).toBe(false);
  });
});

describe('Local stack: S3 conditional writes', () => {
  it('refuses put-object with onlyIfAbsent on an existing key with a 409 and keeps the stored body', async () => {
    // Prepare
    const first = await call('put-object', { key: 'once/a.txt', body: 'first', onlyIfAbsent: true });

    // Act
    const second = await call('put-object', { key: 'once/a.txt', body: 'second', onlyIfAbsent: true });
    const stored = await call('get-object', { key: 'once/a.txt' });

    // Assess
    expect(first.status).toBe(200);
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ code: 'conflict' });
    expect(stored.body['body']).toBe('first');
  });

  it('lets exactly one of three racing If-None-Match writes of one key through', async () => {
    // Act
    const outcomes = await Promise.all(
      ['one', 'two', 'three'].map((body) =>
        s3Failure(
          s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'race.txt', Body: body, IfNoneMatch: '*' })),
        ),
      ),
    );

    // Assess
    expect(outcomes.filter((outcome) => outcome === undefined)).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome !== undefined)).toEqual([
      { name: 'PreconditionFailed', status: 412 },
      { name: 'PreconditionFailed', status: 412 },
    ]);
  });

  it('writes with If-Match only over the ETag it names, and refuses other If-None-Match values with 501', async () => {
    // Prepare
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'match.txt', Body: 'v1' }));

    // Act
    const stale = await s3Failure(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'match.txt', Body: 'v2', IfMatch: '"0000"' })),
    );
    const current = await s3Failure(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'match.txt', Body: 'v3', IfMatch: put.ETag })),
    );
    const missing = await s3Failure(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'absent.txt', Body: 'x', IfMatch: put.ETag })),
    );
    const etagNoneMatch = await s3Failure(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'match.txt', Body: 'v4', IfNoneMatch: put.ETag })),
    );
    const body = await (
      await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: 'match.txt' }))
    ).Body?.transformToString();

    // Assess
    expect(stale).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect(current).toBeUndefined();
    expect(missing).toEqual({ name: 'NoSuchKey', status: 404 });
    expect(etagNoneMatch).toEqual({ name: 'NotImplemented', status: 501 });
    expect(body).toBe('v3');
  });
});
