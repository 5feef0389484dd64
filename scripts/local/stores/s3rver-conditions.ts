/**
 * Conditional writes for s3rver, which ignores `If-None-Match` and `If-Match` on writes (it reads them on
 * GET only) and so overwrites where S3 refuses. S3 honours both on PutObject, CopyObject and
 * CompleteMultipartUpload: `If-None-Match: *` fails with 412 PreconditionFailed when the key exists (any
 * other value is 501 NotImplemented), `If-Match: <etag>` fails with 412 when the object's ETag differs and
 * 404 NoSuchKey when there is none. Without this, a connector's `onlyIfAbsent` would pass its tests on AWS
 * and silently overwrite on the laptop; the connector must not branch on "local", so the store has to behave.
 *
 * CopyObject gets two more of S3's rules s3rver lacks: `x-amz-copy-source-if-match` and
 * `x-amz-copy-source-if-none-match` on the source's ETag (412 PreconditionFailed when they do not hold,
 * so a copy pinned to the source it read cannot copy a newer one), and an `x-amz-copy-source` that is
 * URL-encoded as a whole (botocore's CopyObject model: "The value must be URL-encoded"): s3rver decodes it
 * with `decodeURI`, which leaves `%2B`, `%3A`, `%3F`, `%26`, ... encoded, so a key with `+`, `:`, `?` or
 * `&` was a 404 NoSuchKey where S3 copies it.
 *
 * The check and the write run under one lock per key (every write to the key, conditional or not), so two
 * conditional writes racing for one key cannot both pass, as in S3. It wraps s3rver's own controller
 * functions: its router calls them through the module's exports, after routing, authentication and
 * virtual-host resolution, and its error type renders S3's XML error body with the right status.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** The part of a Koa context the wrapped controllers use. */
interface S3rverContext {
  headers: Record<string, string | string[] | undefined>;
  params: { bucket: string; key: string };
  store: {
    existsObject(bucket: string, key: string): Promise<boolean>;
    getMetadata(bucket: string, key: string): Promise<{ etag?: string }>;
  };
}
type Controller = (ctx: S3rverContext) => Promise<void>;
type S3ErrorClass = new (code: string, message: string, detail?: Record<string, string>) => Error;

const locks = new Map<string, Promise<void>>();

/** Runs `work` after every earlier write to `key` has finished. */
async function exclusive(key: string, work: () => Promise<void>): Promise<void> {
  const previous = locks.get(key) ?? Promise.resolve();
  const current = previous.then(work);
  const settled = current.catch(() => undefined);
  locks.set(key, settled);
  try {
    await current;
  } finally {
    if (locks.get(key) === settled) locks.delete(key);
  }
}

function header(ctx: S3rverContext, name: string): string | undefined {
  const value = ctx.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

const unquote = (etag: string): string => etag.trim().replace(/^W\//, '').replace(/^"|"$/g, '');

/** Throws S3's error when the request's preconditions do not hold for the object now stored. */
async function checkPreconditions(ctx: S3rverContext, S3Error: S3ErrorClass): Promise<void> {
  const { bucket, key } = ctx.params;
  const noneMatch = header(ctx, 'if-none-match');
  const match = header(ctx, 'if-match');
  if (noneMatch !== undefined) {
    if (noneMatch.trim() !== '*') {
      throw new S3Error(
        'NotImplemented',
        'A header you provided implies functionality that is not implemented',
        {
          Header: 'If-None-Match',
        },
      );
    }
    if (await ctx.store.existsObject(bucket, key)) {
      throw new S3Error(
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        {
          Condition: 'If-None-Match',
        },
      );
    }
  }
  if (match !== undefined) {
    if (!(await ctx.store.existsObject(bucket, key))) {
      throw new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key });
    }
    const { etag } = await ctx.store.getMetadata(bucket, key);
    const wanted = match.split(',').map(unquote);
    if (!wanted.includes('*') && !wanted.includes(unquote(etag ?? ''))) {
      throw new S3Error(
        'PreconditionFailed',
        'At least one of the pre-conditions you specified did not hold',
        {
          Condition: 'If-Match',
        },
      );
    }
  }
}

/** The bucket and key of an `x-amz-copy-source`, fully URL-decoded (a `?versionId=` suffix dropped). */
function copySource(ctx: S3rverContext): { bucket: string; key: string; raw: string } | undefined {
  const raw = header(ctx, 'x-amz-copy-source');
  if (raw === undefined) return undefined;
  const path = raw.split('?')[0] ?? '';
  let decoded: string;
  try {
    decoded = decodeURIComponent(path.startsWith('/') ? path.slice(1) : path);
  } catch {
    return undefined;
  }
  const slash = decoded.indexOf('/');
  return slash === -1 ? undefined : { bucket: decoded.slice(0, slash), key: decoded.slice(slash + 1), raw };
}

/** Throws S3's 412 when the copy's `x-amz-copy-source-if-(none-)match` do not hold for the source now. */
async function checkCopySource(
  ctx: S3rverContext,
  source: { bucket: string; key: string },
  S3Error: S3ErrorClass,
): Promise<void> {
  const match = header(ctx, 'x-amz-copy-source-if-match');
  const noneMatch = header(ctx, 'x-amz-copy-source-if-none-match');
  if (match === undefined && noneMatch === undefined) return;
  // A missing source is s3rver's own NoSuchKey, raised by the copy itself.
  if (!(await ctx.store.existsObject(source.bucket, source.key))) return;
  const etag = unquote((await ctx.store.getMetadata(source.bucket, source.key)).etag ?? '');
  const failed = (condition: string): Error =>
    new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', {
      Condition: condition,
    });
  if (match !== undefined) {
    const wanted = match.split(',').map(unquote);
    if (!wanted.includes('*') && !wanted.includes(etag)) throw failed('x-amz-copy-source-If-Match');
  }
  if (noneMatch !== undefined) {
    const refused = noneMatch.split(',').map(unquote);
    if (refused.includes('*') || refused.includes(etag)) throw failed('x-amz-copy-source-If-None-Match');
  }
}

/**
 * Makes s3rver's PutObject, CopyObject and CompleteMultipartUpload honour `If-None-Match` and `If-Match`,
 * and its CopyObject the copy-source conditions and a fully URL-encoded copy source. Call it once
 * in the process that runs s3rver, before it serves.
 *
 * @example
 * ```ts
 * honourConditionalWrites();
 * const server = new S3rver(options);
 * ```
 */
export function honourConditionalWrites(): void {
  const controllers = require('s3rver/lib/controllers/object') as Record<string, Controller>;
  const S3Error = require('s3rver/lib/models/error') as S3ErrorClass;
  for (const name of ['putObject', 'completeMultipartUpload', 'putObjectCopy']) {
    const original = controllers[name];
    if (original === undefined)
      throw new Error(`s3rver has no ${name} controller: conditional writes not wired`);
    controllers[name] = (ctx) =>
      exclusive(`${ctx.params.bucket}/${ctx.params.key}`, async () => {
        await checkPreconditions(ctx, S3Error);
        const source = name === 'putObjectCopy' ? copySource(ctx) : undefined;
        if (source !== undefined) {
          await checkCopySource(ctx, source, S3Error);
          // s3rver reads the header with decodeURI: hand it the decoded key in a form decodeURI gives back.
          ctx.headers['x-amz-copy-source'] =
            `${encodeURI(`${source.bucket}/${source.key}`)}${source.raw.includes('?') ? source.raw.slice(source.raw.indexOf('?')) : ''}`;
        }
        await original(ctx);
      });
  }
}
