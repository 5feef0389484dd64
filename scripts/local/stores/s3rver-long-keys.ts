/**
 * Keys whose path segments are longer than a file name may be, for s3rver. S3 takes any key up to 1,024
 * bytes of UTF-8; s3rver's file store keeps each key as files named after it (`a/b` is `a/b._S3rver_object`,
 * `a/b._S3rver_object.md5` and `a/b._S3rver_metadata.json` under the bucket's directory), and a file name
 * is at most 255 bytes. A key with a 300-byte segment (or 100 Japanese characters, 300 bytes) crashed the
 * s3rver process on the write stream's ENAMETOOLONG: the client saw the connection drop, then every later
 * request refused.
 *
 * Here a segment that does not fit is stored under `._S3rver_long_<sha256 of the segment>` (78 bytes), and
 * the key's real name goes to an index file in the bucket (`<bucket>/._S3rver_long_keys/<sha256 of the
 * stored key>`), which listings read back. A key every segment of which fits is stored exactly where
 * s3rver stored it before. Every bucket is listed here: every key read, sorted in S3's order (UTF-8
 * bytes), then paged as S3 pages (`s3rver-listing.ts`). A key over S3's 1,024 bytes is refused with S3's
 * KeyTooLongError (400), whether its segments fit a file name or not.
 *
 * It wraps the methods of s3rver's `FilesystemStore` class (the store every request goes through), so call
 * it in the s3rver process before the server is created.
 */
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import { mkdir, readFile, rm, rmdir, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { byBytes, type LastEntry, type ListOptions, listPage } from './s3rver-listing.ts';

const require = createRequire(import.meta.url);

/** A file name's limit in bytes (ext4, APFS, NTFS: 255). */
const NAME_MAX = 255;
/** What s3rver appends to a key's last segment, with its longest resource (`metadata.json`). */
const LONGEST_SUFFIX = Buffer.byteLength('._S3rver_metadata.json');
const LONG_PREFIX = '._S3rver_long_';
const LONG_SEGMENT = /^\._S3rver_long_[0-9a-f]{64}$/;
/** The index of long keys, in the bucket's directory. */
const INDEX = '._S3rver_long_keys';
const OBJECT_SUFFIX = '._S3rver_object';
/** S3's limit on a key, in bytes of UTF-8. */
const KEY_MAX = 1024;

interface S3ObjectLike {
  bucket: string;
  key: string;
}
type S3ErrorClass = new (code: string, message: string, detail?: Record<string, string>) => Error;
type S3ObjectClass = new (bucket: string, key: string, content: unknown, metadata: unknown) => S3ObjectLike;

interface ListResult {
  objects: S3ObjectLike[];
  commonPrefixes: string[];
  isTruncated: boolean;
  last?: LastEntry | undefined;
}

interface FilesystemStore {
  rootDirectory: string;
  getBucketPath(bucket: string): string;
  getResourcePath(bucket: string, key: string | undefined, resource: string): string;
  getMetadata(bucket: string, key: string): Promise<Record<string, unknown>>;
  listObjects(bucket: string, options: ListOptions): Promise<ListResult>;
  putObject(object: S3ObjectLike): Promise<unknown>;
  copyObject(
    srcBucket: string,
    srcKey: string,
    destBucket: string,
    destKey: string,
    replacementMetadata?: unknown,
  ): Promise<unknown>;
  deleteObject(bucket: string, key: string): Promise<void>;
}
interface FilesystemStoreClass {
  prototype: FilesystemStore;
  decodeKeyPath(keyPath: string): string;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The key as stored on disk: each segment that would not fit as a file name replaced by its hash. */
export function storedKey(key: string): string {
  const segments = key.split('/');
  let changed = false;
  const stored = segments.map((segment, index) => {
    const limit = index === segments.length - 1 ? NAME_MAX - LONGEST_SUFFIX : NAME_MAX;
    if (Buffer.byteLength(segment, 'utf8') <= limit) return segment;
    changed = true;
    return `${LONG_PREFIX}${sha256(segment)}`;
  });
  return changed ? stored.join('/') : key;
}

function* walk(directory: string): Generator<string> {
  // s3rver's own walk, unpruned.
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = `${directory}/${entry.name}`;
    if (entry.isDirectory()) yield* walk(path);
    else yield path;
  }
}

/**
 * Makes s3rver's file store take keys with segments longer than a file name. Call it once in the process
 * that runs s3rver, before the server is created.
 *
 * @example
 * ```ts
 * storeLongKeys();
 * const server = new S3rver(options);
 * ```
 */
export function storeLongKeys(): void {
  const Store = require('s3rver/lib/stores/filesystem') as FilesystemStoreClass;
  const S3Object = require('s3rver/lib/models/object') as S3ObjectClass;
  const S3Error = require('s3rver/lib/models/error') as S3ErrorClass;
  const proto = Store.prototype;
  const original = {
    getResourcePath: proto.getResourcePath,
    putObject: proto.putObject,
    copyObject: proto.copyObject,
    deleteObject: proto.deleteObject,
  };

  const indexDirectory = (store: FilesystemStore, bucket: string): string =>
    join(store.getBucketPath(bucket), INDEX);
  const indexFile = (store: FilesystemStore, bucket: string, stored: string): string =>
    join(indexDirectory(store, bucket), sha256(stored));

  async function remember(store: FilesystemStore, bucket: string, key: string): Promise<void> {
    const stored = storedKey(key);
    if (stored === key) return;
    await mkdir(indexDirectory(store, bucket), { recursive: true });
    await writeFile(indexFile(store, bucket, stored), key);
  }

  async function forget(store: FilesystemStore, bucket: string, stored: string): Promise<void> {
    await rm(indexFile(store, bucket, stored), { force: true });
    await rmdir(indexDirectory(store, bucket)).catch(() => undefined); // only once empty
  }

  proto.getResourcePath = function getResourcePath(bucket, key, resource) {
    if (key === undefined) return original.getResourcePath.call(this, bucket, key, resource);
    const size = Buffer.byteLength(key, 'utf8');
    // S3 refuses a key over 1,024 bytes (every object request reaches the store through here).
    if (size > KEY_MAX) {
      throw new S3Error('KeyTooLongError', 'Your key is too long', {
        Size: String(size),
        MaxSizeAllowed: String(KEY_MAX),
      });
    }
    return original.getResourcePath.call(this, bucket, storedKey(key), resource);
  };

  proto.putObject = async function putObject(object) {
    const result = await original.putObject.call(this, object);
    await remember(this, object.bucket, object.key);
    return result;
  };

  proto.copyObject = async function copyObject(srcBucket, srcKey, destBucket, destKey, replacementMetadata) {
    const result = await original.copyObject.call(
      this,
      srcBucket,
      srcKey,
      destBucket,
      destKey,
      replacementMetadata,
    );
    await remember(this, destBucket, destKey);
    return result;
  };

  proto.deleteObject = async function deleteObject(bucket, key) {
    const stored = storedKey(key);
    if (stored === key) return original.deleteObject.call(this, bucket, key);
    // s3rver removes the key's empty directories by the key's own segments: give it the stored ones.
    await original.deleteObject.call(this, bucket, stored);
    await forget(this, bucket, stored);
  };

  /** Every key in the bucket (long ones read back from the index), in S3's order. */
  async function allKeys(store: FilesystemStore, bucket: string): Promise<string[]> {
    const bucketPath = store.getBucketPath(bucket).split('\\').join('/');
    const all: string[] = [];
    for (const path of walk(bucketPath)) {
      if (!path.endsWith(OBJECT_SUFFIX)) continue;
      const stored = Store.decodeKeyPath(path.slice(bucketPath.length + 1, -OBJECT_SUFFIX.length));
      if (!stored.split('/').some((segment) => LONG_SEGMENT.test(segment))) {
        // A key over 1,024 bytes stored before S3's limit was kept here: S3 could never hold it.
        if (Buffer.byteLength(stored, 'utf8') <= KEY_MAX) all.push(stored);
        continue;
      }
      const key = await readFile(indexFile(store, bucket, stored), 'utf8').catch(() => undefined);
      if (key !== undefined) all.push(key);
    }
    return all.sort(byBytes);
  }

  proto.listObjects = async function listObjects(bucket, options) {
    const { keys, commonPrefixes, isTruncated, last } = listPage(await allKeys(this, bucket), options);
    const objects: S3ObjectLike[] = [];
    for (const key of keys) {
      const metadata = await this.getMetadata(bucket, key).catch((error: NodeJS.ErrnoException) => {
        if (error.code === 'ENOENT') return undefined;
        throw error;
      });
      if (metadata !== undefined) objects.push(new S3Object(bucket, key, null, metadata));
    }
    return { objects, commonPrefixes, isTruncated, last };
  };
}
