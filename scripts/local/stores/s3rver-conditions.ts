/**
 * Conditional writes for s3rver, which ignores `If-None-Match` and `If-Match` on writes (it reads them on
 * GET only) and so overwrites where S3 refuses. S3 honours both on PutObject and CompleteMultipartUpload:
 * `If-None-Match: *` fails with 412 PreconditionFailed when the key exists (any other value is 501
 * NotImplemented), `If-Match: <etag>` fails with 412 when the object's ETag differs and 404 NoSuchKey when
 * there is none. Without this, a connector's `onlyIfAbsent` would pass its tests on AWS and silently
 * overwrite on the laptop; the connector must not branch on "local", so the store has to behave.
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

/**
 * Makes s3rver's PutObject and CompleteMultipartUpload honour `If-None-Match` and `If-Match`. Call it once
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
  for (const name of ['putObject', 'completeMultipartUpload']) {
    const original = controllers[name];
    if (original === undefined)
      throw new Error(`s3rver has no ${name} controller: conditional writes not wired`);
    controllers[name] = (ctx) =>
      exclusive(`${ctx.params.bucket}/${ctx.params.key}`, async () => {
        await checkPreconditions(ctx, S3Error);
        await original(ctx);
      });
  }
}
