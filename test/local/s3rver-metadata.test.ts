/**
 * The local S3 store (s3rver, started as `npm start` starts it: `scripts/local/stores/s3rver.ts`, through
 * the tests' S3 peer) limits user-defined metadata and URL-encodes listings as S3 does:
 *
 * - AWS S3 User Guide, "Working with object metadata": "the user-defined metadata is limited to 2 KB in
 *   size. The size of user-defined metadata is measured by taking the sum of the number of bytes in the
 *   UTF-8 encoding of each key and value"; S3 answers 400 MetadataTooLarge (PutObject, CopyObject with
 *   REPLACE, CreateMultipartUpload).
 * - ListObjectsV2 (API reference, EncodingType): with `encoding-type=url` S3 URL-encodes Delimiter, Prefix,
 *   Key, StartAfter (and CommonPrefixes/Prefix) and says `<EncodingType>url</EncodingType>`; a space is
 *   `+`, a `+` is `%2B`, `/` stays.
 */
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  type EncodingType,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3rverPeer, startS3rver } from '../peers/s3rver.ts';

const META = 'metadata-limit';
const NAMES = 'encoded-names';
const KEYS = ['a b.txt', 'a+b.txt', '100%.csv', '한글/x.txt', 'run books/x.txt'];

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

/** A header value whose bytes on the wire are `text`'s UTF-8 (Node sends header strings as latin1). */
const utf8Header = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

const put = (key: string, metadata: Record<string, string>): Promise<unknown> =>
  s3.send(new PutObjectCommand({ Bucket: META, Key: key, Body: 'x', Metadata: metadata }));

beforeAll(async () => {
  peer = await startS3rver({ buckets: [META, NAMES] });
  s3 = new S3Client({
    endpoint: peer.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: peer.credentials,
    maxAttempts: 1,
  });
  for (const key of KEYS) await s3.send(new PutObjectCommand({ Bucket: NAMES, Key: key, Body: key }));
});

afterAll(async () => {
  s3?.destroy();
  await peer?.close();
});

describe('Local S3 (s3rver): user-defined metadata limit', () => {
  it('stores 2,048 bytes of keys and values and refuses 2,049 with MetadataTooLarge', async () => {
    // Arrange: keys count without x-amz-meta-; 5 + 2,043 + 3 + ... bytes across two entries.
    const fits = { owner: 'o'.repeat(1000), tier: 't'.repeat(1039) }; // 5 + 1000 + 4 + 1039 = 2048
    const over = { owner: 'o'.repeat(1000), tier: 't'.repeat(1040) }; // 2049

    // Act
    const stored = await failure(put('meta/fits', fits));
    const refused = await failure(put('meta/over', over));

    // Assert
    expect(stored).toBeUndefined();
    expect(refused).toEqual({ name: 'MetadataTooLarge', status: 400 });
    expect(await failure(s3.send(new HeadObjectCommand({ Bucket: META, Key: 'meta/over' })))).toEqual({
      name: 'NotFound',
      status: 404,
    });
  });

  it('counts the UTF-8 bytes of a value, not its characters', async () => {
    // Arrange: 1 + 1,024 characters, 1 + 2,048 bytes.
    const metadata = { k: utf8Header('é'.repeat(1024)) };

    // Act
    const refused = await failure(put('meta/utf8', metadata));

    // Assert
    expect(refused).toEqual({ name: 'MetadataTooLarge', status: 400 });
  });

  it('refuses a copy replacing the metadata with too much, and copies a full source as it is', async () => {
    // Arrange
    await put('meta/source', { owner: 'o'.repeat(2043) });

    // Act
    const replaced = await failure(
      s3.send(
        new CopyObjectCommand({
          Bucket: META,
          Key: 'meta/replaced',
          CopySource: `${META}/meta/source`,
          MetadataDirective: 'REPLACE',
          Metadata: { owner: 'o'.repeat(2044) },
        }),
      ),
    );
    const copied = await failure(
      s3.send(new CopyObjectCommand({ Bucket: META, Key: 'meta/copied', CopySource: `${META}/meta/source` })),
    );

    // Assert
    expect(replaced).toEqual({ name: 'MetadataTooLarge', status: 400 });
    expect(copied).toBeUndefined();
  });

  it('refuses a multipart upload started with too much metadata', async () => {
    // Act
    const refused = await failure(
      s3.send(
        new CreateMultipartUploadCommand({
          Bucket: META,
          Key: 'meta/parts',
          Metadata: { k: 'v'.repeat(2048) },
        }),
      ),
    );

    // Assert
    expect(refused).toEqual({ name: 'MetadataTooLarge', status: 400 });
  });
});

describe('Local S3 (s3rver): ListObjectsV2 with encoding-type=url', () => {
  it('URL-encodes keys and common prefixes as S3 does and says so', async () => {
    // Act
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: NAMES, Delimiter: '/', EncodingType: 'url' }),
    );

    // Assert
    expect(page.EncodingType).toBe('url');
    expect(page.Delimiter).toBe('/');
    expect((page.Contents ?? []).map((object) => object.Key)).toEqual(['100%25.csv', 'a+b.txt', 'a%2Bb.txt']);
    expect((page.CommonPrefixes ?? []).map((common) => common.Prefix)).toEqual([
      'run+books/',
      '%ED%95%9C%EA%B8%80/',
    ]);
  });

  it('URL-encodes the prefix and start-after it echoes', async () => {
    // Act
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: NAMES, Prefix: 'a', StartAfter: 'a b.txt', EncodingType: 'url' }),
    );

    // Assert
    expect(page).toMatchObject({ EncodingType: 'url', Prefix: 'a', StartAfter: 'a+b.txt' });
    expect((page.Contents ?? []).map((object) => object.Key)).toEqual(['a%2Bb.txt']);
  });

  it('answers names as they are without encoding-type', async () => {
    // Act
    const page = await s3.send(new ListObjectsV2Command({ Bucket: NAMES, Prefix: 'a' }));

    // Assert
    expect(page.EncodingType).toBeUndefined();
    expect((page.Contents ?? []).map((object) => object.Key)).toEqual(['a b.txt', 'a+b.txt']);
  });

  it('refuses an encoding-type other than url with InvalidArgument', async () => {
    // Act
    const refused = await failure(
      s3.send(new ListObjectsV2Command({ Bucket: NAMES, EncodingType: 'base64' as EncodingType })),
    );

    // Assert
    expect(refused).toEqual({ name: 'InvalidArgument', status: 400 });
  });
});
