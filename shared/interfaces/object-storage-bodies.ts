/**
 * What every object store connector does the same way around its provider's calls: the default media
 * type of a put, reading a body up to `maxBytes` without downloading the rest, answering it as text or
 * base64, entity tags without quotes, and outputs without undefined fields. One copy, so the stores
 * answer alike.
 */
import { addAbortSignal, type Readable } from 'node:stream';
import { ValidationError } from '@circle-core/core';
import type { BodyEncoding } from '../models/object-storage.ts';

const TEXT_TYPE =
  /^(?:text\/|application\/(?:json|xml|javascript|ecmascript|x-ndjson|ndjson|yaml|x-yaml|csv|sql|graphql|x-www-form-urlencoded)\b|[^;]*\+(?:json|xml|yaml)\b)/i;

/**
 * The media type a put stores when the caller gives none.
 *
 * @example
 * ```ts
 * defaultContentType('utf8'); // 'text/plain; charset=utf-8'
 * ```
 */
export function defaultContentType(encoding: BodyEncoding): string {
  return encoding === 'utf8' ? 'text/plain; charset=utf-8' : 'application/octet-stream';
}

/**
 * Reads a body stream up to `maxBytes`; undefined when the object is larger (announced by `size` or
 * found while reading), and the stream is destroyed so the rest is never downloaded.
 *
 * @example
 * ```ts
 * const bytes = await readUpTo(response.Body, response.ContentLength ?? 0, 1_048_576, abortSignal);
 * ```
 */
export async function readUpTo(
  body: NodeJS.ReadableStream | undefined,
  size: number,
  maxBytes: number,
  abortSignal: AbortSignal,
): Promise<Buffer | undefined> {
  if (body === undefined) return Buffer.alloc(0);
  const stream = body as Readable;
  if (size > maxBytes) {
    stream.destroy();
    return undefined;
  }
  addAbortSignal(abortSignal, stream);
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > maxBytes) {
      stream.destroy();
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}

/**
 * A body as the interface answers it: text media types as text unless the caller asked otherwise or the
 * bytes are not UTF-8 (then base64, or a ValidationError when the caller asked for utf8).
 *
 * @example
 * ```ts
 * encodeBody(Buffer.from('hi'), 'text/plain', undefined, 'a.txt'); // { body: 'hi', encoding: 'utf8' }
 * ```
 */
export function encodeBody(
  bytes: Buffer,
  contentType: string | undefined,
  requested: BodyEncoding | undefined,
  key: string,
): { body: string; encoding: BodyEncoding } {
  const encoding =
    requested ?? (contentType !== undefined && TEXT_TYPE.test(contentType) ? 'utf8' : 'base64');
  if (encoding === 'base64') return { body: bytes.toString('base64'), encoding };
  try {
    return { body: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding };
  } catch {
    if (requested === undefined) return { body: bytes.toString('base64'), encoding: 'base64' };
    throw new ValidationError(`Object "${key}" is not valid UTF-8; request encoding "base64"`, [
      { pointer: '/encoding', message: 'the object is not valid UTF-8' },
    ]);
  }
}

/**
 * An entity tag without its quotes (`"abc"` -> `abc`).
 *
 * @example
 * ```ts
 * unquote('"0x8D"'); // '0x8D'
 * ```
 */
export function unquote(etag: string | undefined): string | undefined {
  return etag?.replaceAll('"', '');
}

type Compact<T> = { [K in keyof T as undefined extends T[K] ? never : K]: T[K] } & {
  [K in keyof T as undefined extends T[K] ? K : never]?: Exclude<T[K], undefined>;
};

/**
 * Drops undefined fields, so an output carries only what the store reported (exactOptionalPropertyTypes).
 *
 * @example
 * ```ts
 * compact({ key: 'a', etag: undefined }); // { key: 'a' }
 * ```
 */
export function compact<T extends Record<string, unknown>>(value: T): Compact<T> {
  return Object.fromEntries(Object.entries(value).filter((entry) => entry[1] !== undefined)) as Compact<T>;
}
