/**
 * The local S3 store (s3rver, started as `npm start` starts it: `scripts/local/stores/s3rver.ts`, through
 * the tests' S3 peer) lists and refuses keys as S3 does:
 *
 * - S3's user guide (Listing object keys programmatically): "List results are always returned in UTF-8
 *   binary order", so `b-c` (0x2D) comes before `b/` (0x2F) and U+E000 before U+1F600 (whose UTF-16
 *   surrogates would sort first).
 * - ListObjectsV2 (API reference, Delimiter): "Each rolled-up result counts as only one return against the
 *   MaxKeys value", and a continuation token resumes after the last key or common prefix returned.
 * - Object keys (user guide, Naming objects): "The name for a key is a sequence of Unicode characters whose
 *   UTF-8 encoding is at most 1,024 bytes long"; S3 answers 400 KeyTooLongError to a longer one.
 */
import {
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3rverPeer, startS3rver } from '../peers/s3rver.ts';

const ORDER = 'listing-order';
const LIMITS = 'key-limits';
/** Keys whose S3 order differs from a file system walk, from JavaScript's string order, or both. */
const KEYS = ['b/', 'b/x', 'b-c', 'b.d', 'a', 'c/1', 'c/2', 'c0', 'd\u{e000}', 'd\u{1f600}', 'é', 'z'];
const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

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

/** Every page of a listing: each page's keys and common prefixes, in the order S3 answered them. */
async function pages(
  options: { prefix?: string; delimiter?: string; maxKeys?: number } = {},
): Promise<{ keys: string[]; prefixes: string[]; count: number }[]> {
  const answered: { keys: string[]; prefixes: string[]; count: number }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({
        Bucket: ORDER,
        Prefix: options.prefix,
        Delimiter: options.delimiter,
        MaxKeys: options.maxKeys,
        ContinuationToken: token,
      }),
    );
    answered.push({
      keys: (page.Contents ?? []).map((object) => object.Key ?? ''),
      prefixes: (page.CommonPrefixes ?? []).map((prefix) => prefix.Prefix ?? ''),
      count: page.KeyCount ?? -1,
    });
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined && answered.length < 50);
  return answered;
}

beforeAll(async () => {
  peer = await startS3rver({ buckets: [ORDER, LIMITS] });
  s3 = new S3Client({
    endpoint: peer.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: peer.credentials,
    maxAttempts: 1,
  });
  for (const key of KEYS) await s3.send(new PutObjectCommand({ Bucket: ORDER, Key: key, Body: key }));
});

afterAll(async () => {
  s3?.destroy();
  await peer?.close();
});

describe('Local S3 (s3rver): listings in S3 order', () => {
  it('lists every key in UTF-8 binary order, one page or many', async () => {
    // Arrange
    const expected = [...KEYS].sort(byBytes);

    // Act
    const whole = await pages();
    const paged = await pages({ maxKeys: 2 });

    // Assert
    expect(expected.indexOf('b-c')).toBeLessThan(expected.indexOf('b/'));
    expect(whole.flatMap((page) => page.keys)).toEqual(expected);
    expect(paged.flatMap((page) => page.keys)).toEqual(expected);
    expect(paged.every((page) => page.keys.length <= 2)).toBe(true);
  });

  it('rolls keys up under a delimiter in S3 order, each common prefix counting against MaxKeys', async () => {
    // Arrange: keys and common prefixes interleave as their text sorts.
    const entries = ['a', 'b-c', 'b.d', 'b/', 'c/', 'c0', 'd\u{e000}', 'd\u{1f600}', 'z', 'é'];

    // Act
    const whole = await pages({ delimiter: '/' });
    const paged = await pages({ delimiter: '/', maxKeys: 1 });
    const under = await pages({ prefix: 'b', delimiter: '/', maxKeys: 2 });

    // Assert
    expect(whole).toHaveLength(1);
    expect(whole[0]?.prefixes).toEqual(['b/', 'c/']);
    expect(whole[0]?.keys).toEqual(entries.filter((entry) => !entry.endsWith('/')));
    expect(paged.map((page) => [...page.keys, ...page.prefixes])).toEqual(entries.map((entry) => [entry]));
    expect(paged.every((page) => page.count === 1)).toBe(true);
    expect(under.map((page) => [...page.keys, ...page.prefixes])).toEqual([['b-c', 'b.d'], ['b/']]);
  });

  it('resumes after a common prefix without repeating it or its keys', async () => {
    // Act: the first page ends on the common prefix b/ (a, b-c, b.d, b/).
    const [first, ...rest] = await pages({ delimiter: '/', maxKeys: 4 });

    // Assert
    expect(first).toEqual({ keys: ['a', 'b-c', 'b.d'], prefixes: ['b/'], count: 4 });
    const later = rest.flatMap((page) => [...page.keys, ...page.prefixes].sort(byBytes));
    expect(later).toEqual(['c/', 'c0', 'd\u{e000}', 'd\u{1f600}', 'z', 'é']);
  });
});

describe('Local S3 (s3rver): key length', () => {
  it('refuses every key over 1,024 bytes of UTF-8 with KeyTooLongError, whose segments fit or not', async () => {
    // Arrange: 1,025 bytes in short segments (each fits a file name), and exactly 1,024.
    const segments = `${'s'.repeat(99)}/`.repeat(10);
    const over = `${segments}${'t'.repeat(25)}`;
    const atLimit = `${segments}${'é'.repeat(12)}`;
    expect(Buffer.byteLength(over)).toBe(1025);
    expect(Buffer.byteLength(atLimit)).toBe(1024);

    // Act
    const refused = await failure(s3.send(new PutObjectCommand({ Bucket: LIMITS, Key: over, Body: 'x' })));
    const read = await failure(s3.send(new GetObjectCommand({ Bucket: LIMITS, Key: over })));
    await s3.send(new PutObjectCommand({ Bucket: LIMITS, Key: atLimit, Body: 'fits' }));
    const kept = await s3.send(new GetObjectCommand({ Bucket: LIMITS, Key: atLimit }));

    // Assert
    expect(refused).toEqual({ name: 'KeyTooLongError', status: 400 });
    expect(read).toEqual({ name: 'KeyTooLongError', status: 400 });
    expect(await kept.Body?.transformToString()).toBe('fits');
  });
});
