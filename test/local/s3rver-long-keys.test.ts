/**
 * The local S3 store (s3rver, started as `npm start` starts it: `scripts/local/stores/s3rver.ts`, through
 * the tests' S3 peer, without the rest of the stack) with keys whose path segments are longer than a file
 * name may be (255 bytes). S3 takes any key up to 1,024 bytes; s3rver stores each key as files named
 * after it, so such a key dropped the connection or answered 500 ENAMETOOLONG.
 */
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3rverPeer, startS3rver } from '../peers/s3rver.ts';

const BUCKET = 'long-keys';
/** 300 bytes in one segment. */
const LONG_ASCII = 'a'.repeat(300);
/** 100 Japanese characters: 300 bytes of UTF-8 in one segment. */
const LONG_JAPANESE = 'あ'.repeat(100);
/** Each of these fitted before and must stay stored where it was. */
const SHORT_KEYS = ['plain.txt', 'dir/nested.txt', `edge/${'e'.repeat(233)}`];

let peer: S3rverPeer;
let s3: S3Client;

/** The S3 error a call failed with (its name and HTTP status), or undefined when it succeeded. */
async function failure(promise: Promise<unknown>): Promise<{ name: string; status: number } | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (!(error instanceof S3ServiceException)) throw error;
    return { name: error.name, status: error.$metadata.httpStatusCode ?? 0 };
  }
}

async function body(key: string): Promise<string> {
  const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }));
  return (await got.Body?.transformToString()) ?? '';
}

/** Every key and common prefix of a listing, page by page with `maxKeys`. */
async function listAll(
  options: { prefix?: string; delimiter?: string; maxKeys?: number } = {},
): Promise<{ keys: string[]; prefixes: string[]; pages: number }> {
  const keys: string[] = [];
  const prefixes: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: BUCKET,
        Prefix: options.prefix,
        Delimiter: options.delimiter,
        MaxKeys: options.maxKeys,
        ContinuationToken: token,
      }),
    );
    pages += 1;
    keys.push(...(page.Contents ?? []).map((object) => object.Key ?? ''));
    prefixes.push(...(page.CommonPrefixes ?? []).map((prefix) => prefix.Prefix ?? ''));
    token = page.NextContinuationToken;
  } while (token !== undefined && pages < 50);
  return { keys, prefixes, pages };
}

beforeAll(async () => {
  peer = await startS3rver({ buckets: [BUCKET] });
  s3 = new S3Client({
    endpoint: peer.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: peer.credentials,
    maxAttempts: 1,
  });
});

afterAll(async () => {
  s3?.destroy();
  await peer?.close();
});

describe('Local S3 (s3rver): keys with a segment longer than a file name', () => {
  it('keeps keys that fitted before in the files they were stored in', async () => {
    // Act
    for (const key of SHORT_KEYS) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: key }));
    }

    // Assert
    for (const key of SHORT_KEYS) {
      expect((await stat(join(peer.directory, BUCKET, `${key}._S3rver_object`))).isFile()).toBe(true);
      expect(await body(key)).toBe(key);
    }
  });

  it('puts, heads and gets a key whose last segment is 300 bytes', async () => {
    // Arrange
    const key = `files/${LONG_ASCII}`;

    // Act
    await s3.send(
      new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'long', Metadata: { owner: 'me' } }),
    );
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }));

    // Assert
    expect(head.ContentLength).toBe(4);
    expect(head.Metadata).toEqual({ owner: 'me' });
    expect(await body(key)).toBe('long');
  });

  it('stores a 100-character Japanese directory segment and lists the original keys', async () => {
    // Arrange
    const first = `docs/${LONG_JAPANESE}/one.txt`;
    const second = `docs/${LONG_JAPANESE}/${LONG_JAPANESE}`;
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: first, Body: '1' }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: second, Body: '2' }));

    // Act
    const inside = await listAll({ prefix: `docs/${LONG_JAPANESE}/` });
    const grouped = await listAll({ prefix: 'docs/', delimiter: '/' });
    const byPrefixPart = await listAll({ prefix: `docs/${LONG_JAPANESE.slice(0, 90)}` });

    // Assert
    expect(inside.keys).toEqual([first, second]);
    expect(grouped).toMatchObject({ keys: [], prefixes: [`docs/${LONG_JAPANESE}/`] });
    expect(byPrefixPart.keys).toEqual([first, second]);
    expect(await body(second)).toBe('2');
  });

  it('pages through a bucket holding long and short keys in S3 key order', async () => {
    // Act
    const all = await listAll({ maxKeys: 1 });

    // Assert
    const expected = [
      'dir/nested.txt',
      `docs/${LONG_JAPANESE}/${LONG_JAPANESE}`,
      `docs/${LONG_JAPANESE}/one.txt`,
      `edge/${'e'.repeat(233)}`,
      `files/${LONG_ASCII}`,
      'plain.txt',
    ].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    expect(all.keys).toEqual(expected);
    expect(all.pages).toBe(expected.length);
    const top = await listAll({ delimiter: '/' });
    expect(top).toMatchObject({ keys: ['plain.txt'], prefixes: ['dir/', 'docs/', 'edge/', 'files/'] });
  });

  it('refuses a conditional write over an existing long key and allows one on a new long key', async () => {
    // Arrange
    const existing = `files/${LONG_ASCII}`;
    const fresh = `fresh/${LONG_JAPANESE}`;

    // Act
    const refused = await failure(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: existing, Body: 'x', IfNoneMatch: '*' })),
    );
    const created = await failure(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: fresh, Body: 'new', IfNoneMatch: '*' })),
    );
    const wrongEtag = await failure(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: fresh, Body: 'x', IfMatch: '"0123"' })),
    );

    // Assert
    expect(refused).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect(created).toBeUndefined();
    expect(wrongEtag).toEqual({ name: 'PreconditionFailed', status: 412 });
    expect(await body(existing)).toBe('long');
    expect(await body(fresh)).toBe('new');
  });

  it('copies between long keys, with and without replaced metadata', async () => {
    // Arrange
    const source = `files/${LONG_ASCII}`;
    const target = `copies/${LONG_JAPANESE}/${LONG_ASCII}`;
    const replaced = `copies/${LONG_JAPANESE}/replaced-${LONG_ASCII}`;

    // Act
    await s3.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: target,
        CopySource: `${BUCKET}/${encodeURIComponent(source)}`,
      }),
    );
    await s3.send(
      new CopyObjectCommand({
        Bucket: BUCKET,
        Key: replaced,
        CopySource: `${BUCKET}/${encodeURIComponent(target)}`,
        MetadataDirective: 'REPLACE',
        Metadata: { owner: 'you' },
      }),
    );

    // Assert
    expect(await body(target)).toBe('long');
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: target }))).Metadata).toEqual({
      owner: 'me',
    });
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: replaced }))).Metadata).toEqual({
      owner: 'you',
    });
    expect((await listAll({ prefix: 'copies/' })).keys).toEqual([target, replaced]);
  });

  it('completes a multipart upload to a long key', async () => {
    // Arrange
    const key = `parts/${LONG_ASCII}`;
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: key }));
    const part = await s3.send(
      new UploadPartCommand({ Bucket: BUCKET, Key: key, UploadId, PartNumber: 1, Body: 'in parts' }),
    );

    // Act
    await s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: BUCKET,
        Key: key,
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
      }),
    );

    // Assert
    expect(await body(key)).toBe('in parts');
    expect((await listAll({ prefix: 'parts/' })).keys).toEqual([key]);
  });

  it('refuses a key over 1,024 bytes as S3 does, and keeps serving', async () => {
    // Act
    const refused = await failure(
      s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: 'k'.repeat(1100), Body: 'x' })),
    );

    // Assert
    expect(refused).toEqual({ name: 'KeyTooLongError', status: 400 });
    expect(await body('plain.txt')).toBe('plain.txt');
  });

  it('deletes long keys, leaving no files behind', async () => {
    // Arrange
    const { keys } = await listAll();

    // Act
    for (const key of keys) await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: key }));

    // Assert
    expect((await listAll()).keys).toEqual([]);
    expect(
      await failure(s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: `files/${LONG_ASCII}` }))),
    ).toEqual({
      name: 'NotFound',
      status: 404,
    });
    const left = (await readdir(join(peer.directory, BUCKET))).filter((name) => name !== '._S3rver_uploads');
    expect(left).toEqual([]);
  });
});
