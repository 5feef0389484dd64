/**
 * Listings for s3rver in S3's order. S3's user guide (Listing object keys programmatically): "List results
 * are always returned in UTF-8 binary order"; its ListObjectsV2 reference (Delimiter): "Each rolled-up
 * result counts as only one return against the MaxKeys value", and a continuation token resumes after the
 * last key or common prefix answered. s3rver walked its directories in file system order (`b/` before
 * `b-c`, though `-` is 0x2D and `/` 0x2F), compared keys as UTF-16 (U+1F600 before U+E000), did not count
 * common prefixes against MaxKeys, and built the next token from the last key only: a page ending on a
 * common prefix answered 500, or the next page repeated the prefix.
 *
 * Here every listing reads the bucket's keys (`s3rver-long-keys.ts` gives the store its `listObjects`),
 * sorts them by their UTF-8 bytes and walks keys and common prefixes as one sequence. ListObjects (V1 and
 * V2) is answered by {@link listInS3Order}, which wraps s3rver's controller export (its router calls it
 * through the module's exports after authentication), with tokens of its own: the bucket, the last entry
 * and whether it was a common prefix. With `encoding-type=url` the names in the answer are URL-encoded as
 * S3 encodes them ({@link urlEncodeName}) and the answer says `<EncodingType>url</EncodingType>`.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** S3's order of keys: their UTF-8 bytes. */
export const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** What a listing asks of the store (s3rver's options, and `skipUnder`). */
export interface ListOptions {
  delimiter?: string | undefined;
  startAfter?: string | undefined;
  prefix?: string | undefined;
  maxKeys?: number | undefined;
  /** A common prefix already answered: none of its keys are listed again. */
  skipUnder?: string | undefined;
}

/** The last entry of a page: a key, or a common prefix (`rolledUp`). */
export interface LastEntry {
  entry: string;
  rolledUp: boolean;
}

/** One page: its keys and common prefixes (together at most `maxKeys`), and where the next one starts. */
export interface Page {
  keys: string[];
  commonPrefixes: string[];
  isTruncated: boolean;
  last?: LastEntry | undefined;
}

/** Whether a key is under the prefix, after the start, and not under a common prefix already answered. */
function inListing(key: string, prefix: string, options: ListOptions): boolean {
  if (!key.startsWith(prefix)) return false;
  if (options.startAfter !== undefined && byBytes(key, options.startAfter) <= 0) return false;
  return options.skipUnder === undefined || !key.startsWith(options.skipUnder);
}

/**
 * One page of a listing from every key of the bucket, sorted with {@link byBytes}: keys after
 * `startAfter` under `prefix`, those holding `delimiter` after the prefix rolled up into one common prefix
 * each (the keys of one common prefix are adjacent in this order), keys and common prefixes counting
 * alike against `maxKeys`.
 *
 * @example
 * ```ts
 * listPage(['a', 'b/1', 'b/2', 'c'], { delimiter: '/', maxKeys: 2 }); // keys ['a'], commonPrefixes ['b/'], truncated
 * ```
 */
export function listPage(sorted: readonly string[], options: ListOptions): Page {
  const prefix = options.prefix ?? '';
  const delimiter = options.delimiter ?? '';
  const maxKeys = options.maxKeys ?? Number.POSITIVE_INFINITY;
  const page: Page = { keys: [], commonPrefixes: [], isTruncated: false };
  for (const key of sorted) {
    if (!inListing(key, prefix, options)) continue;
    const at = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
    const entry = at === -1 ? key : key.slice(0, at + delimiter.length);
    if (at !== -1 && page.last?.rolledUp === true && page.last.entry === entry) continue;
    if (page.keys.length + page.commonPrefixes.length >= maxKeys) {
      page.isTruncated = true;
      return page;
    }
    (at === -1 ? page.keys : page.commonPrefixes).push(entry);
    page.last = { entry, rolledUp: at !== -1 };
  }
  return page;
}

/** The part of a Koa context the listing uses. */
interface ListContext {
  query: Record<string, string | undefined>;
  params: { bucket: string };
  body: unknown;
  store: {
    listObjects(
      bucket: string,
      options: ListOptions,
    ): Promise<{
      objects: StoredObject[];
      commonPrefixes: string[];
      isTruncated: boolean;
      last?: LastEntry | undefined;
    }>;
  };
}
interface StoredObject {
  key: string;
  size: number;
  lastModifiedDate: Date;
  metadata: Record<string, string>;
}
type S3ErrorClass = new (code: string, message: string, detail?: Record<string, string>) => Error;

/** S3 answers at most 1,000 keys a page, whatever `max-keys` asks. */
const PAGE_MAX = 1000;

/** A continuation token: opaque to the client, as S3's are. */
function writeToken(bucket: string, last: LastEntry): string {
  return Buffer.from(JSON.stringify({ b: bucket, a: last.entry, r: last.rolledUp })).toString('base64');
}

function readToken(token: string, bucket: string): LastEntry | undefined {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as Record<string, unknown>;
    if (parsed['b'] !== bucket || typeof parsed['a'] !== 'string' || typeof parsed['r'] !== 'boolean') {
      return undefined;
    }
    return { entry: parsed['a'], rolledUp: parsed['r'] };
  } catch {
    return undefined;
  }
}

type InvalidArgument = (argument: string, message: string, value?: string) => Error;

/** `max-keys` as s3rver checks it, capped at S3's 1,000. */
function maxKeysOf(asked: string | undefined, invalid: InvalidArgument): number {
  if (asked === undefined || asked === '') return PAGE_MAX;
  if (!/^-?\d+$/.test(asked)) {
    throw invalid('max-keys', 'Provided max-keys not an integer or within integer range', asked);
  }
  const number = Number(asked);
  if (number < 0 || number > 2_147_483_647) {
    throw invalid('maxKeys', 'Argument maxKeys must be an integer between 0 and 2147483647', asked);
  }
  return Math.min(PAGE_MAX, number);
}

/** Where a listing starts: V2's continuation token or start-after, V1's marker. */
interface Start {
  token: string | undefined;
  startAfter: string | undefined;
  skipUnder: string | undefined;
}

function startOfV2(ctx: ListContext, invalid: InvalidArgument): Start {
  const { query } = ctx;
  if ('marker' in query) throw invalid('marker', 'Marker unsupported with REST.GET.BUCKET in list-type=2');
  const token = query['continuation-token'] || undefined;
  if (token === undefined) {
    return { token, startAfter: query['start-after'] || undefined, skipUnder: undefined };
  }
  const resume = readToken(token, ctx.params.bucket);
  if (resume === undefined)
    throw invalid('continuation-token', 'The continuation token provided is incorrect');
  return { token, startAfter: resume.entry, skipUnder: resume.rolledUp ? resume.entry : undefined };
}

function startOfV1(query: ListContext['query'], invalid: InvalidArgument): Start {
  if ('continuation-token' in query) {
    throw invalid(
      'continuation-token',
      'continuation-token only supported in REST.GET.BUCKET with list-type=2',
    );
  }
  if ('start-after' in query) {
    throw invalid('start-after', 'startAfter only supported in REST.GET.BUCKET with list-type=2');
  }
  const marker = query['marker'] || undefined;
  const prefix = query['prefix'] ?? '';
  const delimiter = query['delimiter'] || undefined;
  // A V1 NextMarker that is a common prefix (the delimiter's first occurrence after the prefix ends it):
  // its keys were answered as that prefix.
  const rest = marker?.startsWith(prefix) === true ? marker.slice(prefix.length) : undefined;
  const rolledUp =
    delimiter !== undefined &&
    rest !== undefined &&
    rest.indexOf(delimiter) === rest.length - delimiter.length;
  return { token: undefined, startAfter: marker, skipUnder: rolledUp ? marker : undefined };
}

/**
 * A name as S3 answers it under `encoding-type=url`. ListObjectsV2 (API reference, EncodingType): "Encoding
 * type used by Amazon S3 to encode the object key names in the XML response"; with it S3 encodes Delimiter,
 * Prefix, Key and StartAfter (and, in V1, Marker and NextMarker; CommonPrefixes/Prefix too). Measured
 * against S3 (and what botocore's `unquote_plus` decoding assumes): form encoding, a space as `+`, a `+` as
 * `%2B`, UTF-8 bytes as `%XX`, and `/` left as it is.
 */
export const urlEncodeName = (name: string): string =>
  encodeURIComponent(name).replaceAll('%2F', '/').replaceAll('%20', '+');

/** `encoding-type`: absent, or `url` (the only value S3 takes; anything else is 400 InvalidArgument). */
function encodingOf(query: ListContext['query'], invalid: InvalidArgument): 'url' | undefined {
  const asked = query['encoding-type'];
  if (asked === undefined) return undefined;
  if (asked !== 'url') throw invalid('encoding-type', 'Invalid Encoding Method specified in Request', asked);
  return 'url';
}

/** The ListBucketResult s3rver renders as XML, in the shape of its own answer. */
function answerOf(
  ctx: ListContext,
  start: Start,
  listed: Awaited<ReturnType<ListContext['store']['listObjects']>>,
  owner: { id: string; displayName: string },
): unknown {
  const { query } = ctx;
  const bucket = ctx.params.bucket;
  const v2 = query['list-type'] === '2';
  const prefix = query['prefix'] || undefined;
  const delimiter = query['delimiter'] || undefined;
  const next = listed.isTruncated ? listed.last : undefined;
  const fetchOwner = !v2 || query['fetch-owner'] === 'true';
  const encoded = query['encoding-type'] === 'url';
  // The continuation tokens are opaque and never encoded; names are, when the request asked.
  const named = <T extends string | undefined>(name: T): T =>
    (encoded && name !== undefined ? urlEncodeName(name) : name) as T;
  const page = v2
    ? {
        StartAfter: named(start.token === undefined ? start.startAfter : undefined),
        ContinuationToken: start.token,
        NextContinuationToken: next === undefined ? undefined : writeToken(bucket, next),
        KeyCount: listed.objects.length + listed.commonPrefixes.length,
      }
    : {
        Marker: named(start.startAfter ?? ''),
        NextMarker: named(delimiter === undefined ? undefined : next?.entry),
      };
  return {
    ListBucketResult: {
      '@': { xmlns: 'http://doc.s3.amazonaws.com/2006-03-01/' },
      Name: bucket,
      Prefix: named(prefix ?? ''),
      ...page,
      MaxKeys: query['max-keys'] || PAGE_MAX,
      Delimiter: named(delimiter),
      EncodingType: encoded ? 'url' : undefined,
      IsTruncated: listed.isTruncated,
      Contents: listed.objects.map((object) => ({
        Key: named(object.key),
        LastModified: object.lastModifiedDate.toISOString(),
        ETag: object.metadata['etag'],
        Size: object.size,
        Owner: fetchOwner ? { ID: owner.id, DisplayName: owner.displayName } : undefined,
        StorageClass: 'STANDARD',
      })),
      CommonPrefixes: listed.commonPrefixes.map((common) => ({ Prefix: named(common) })),
    },
  };
}

/**
 * Answers ListObjects and ListObjectsV2 in S3's order. Call it once in the process that runs s3rver,
 * before the server is created.
 *
 * @example
 * ```ts
 * listInS3Order();
 * const server = new S3rver(options);
 * ```
 */
export function listInS3Order(): void {
  const controllers = require('s3rver/lib/controllers/bucket') as {
    getBucket: (ctx: ListContext) => Promise<void>;
  };
  const S3Error = require('s3rver/lib/models/error') as S3ErrorClass;
  const { DUMMY_ACCOUNT: owner } = require('s3rver/lib/models/account') as {
    DUMMY_ACCOUNT: { id: string; displayName: string };
  };
  const invalid: InvalidArgument = (argument, message, value) =>
    new S3Error('InvalidArgument', message, {
      ArgumentName: argument,
      ...(value === undefined ? {} : { ArgumentValue: value }),
    });

  controllers.getBucket = async function getBucket(ctx) {
    const { query } = ctx;
    const maxKeys = maxKeysOf(query['max-keys'], invalid);
    encodingOf(query, invalid);
    const start = query['list-type'] === '2' ? startOfV2(ctx, invalid) : startOfV1(query, invalid);
    const listed =
      maxKeys === 0
        ? { objects: [], commonPrefixes: [], isTruncated: false }
        : await ctx.store.listObjects(ctx.params.bucket, {
            prefix: query['prefix'] || undefined,
            delimiter: query['delimiter'] || undefined,
            startAfter: start.startAfter,
            skipUnder: start.skipUnder,
            maxKeys,
          });
    ctx.body = answerOf(ctx, start, listed, owner);
  };
}
