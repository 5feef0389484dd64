/**
 * Objects of any size in S3 read and written in constant memory: reads are ranged GETs of `rangeBytes`
 * each (every one its own call within the invocation's time left, so a slow 1 GB read is never one call
 * that a timeout cuts), writes buffer `partBytes` and send each as one part of a multipart upload (one
 * PutObject when the whole object fits in one part). Every call goes through the core's `awsCall` with the
 * caller's S3 error rows.
 */
import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import {
  type AwsCallTarget,
  type AwsErrorTable,
  awsCall,
  ForbiddenError,
  PayloadTooLargeError,
  UnexpectedResponseError,
} from '@circle-core/core';

/**
 * What S3's errors mean for objects read and written by the data helpers
 * (https://docs.aws.amazon.com/AmazonS3/latest/API/ErrorResponses.html); throttling, timeouts, 5xx and
 * credentials are the core's shared rows.
 */
export const S3_OBJECT_ERRORS: AwsErrorTable = {
  NoSuchBucket: { kind: 'not-found', says: 'is in a bucket that does not exist' },
  NoSuchKey: { kind: 'not-found', says: 'does not exist' },
  // HeadObject's 404 has no body, so no code: the object or its bucket is missing.
  NotFound: { kind: 'not-found', says: 'does not exist' },
  NoSuchUpload: 'conflict',
  PreconditionFailed: 'conflict',
  InvalidRange: 'validation',
  EntityTooLarge: 'validation',
  EntityTooSmall: 'validation',
  InvalidPart: 'conflict',
  KeyTooLongError: 'validation',
  InvalidArgument: 'validation',
  AccessDenied: { kind: 'forbidden', hint: 'check the bucket policy and the IAM role' },
  '403': { kind: 'forbidden', hint: 'check the bucket policy and the IAM role' },
};

/**
 * The call target of one action on an object: S3's rows, and the object named in every message.
 *
 * @example
 * ```ts
 * const address = { s3, bucket, key, timeoutMs, target: (action) => s3ObjectTarget(action, bucket, key) };
 * ```
 */
export function s3ObjectTarget(action: string, bucket: string, key?: string): AwsCallTarget {
  return {
    service: 'S3',
    action,
    table: S3_OBJECT_ERRORS,
    resource: key === undefined ? `bucket "${bucket}"` : `object "${key}" in bucket "${bucket}"`,
    callerInput: true,
    details: { bucket },
  };
}

/**
 * The bucket a request names (or, named none, the first allowed), refused with a 403 unless `setting`
 * (the environment variable listing the allowed buckets) names it: checked before any call to S3.
 *
 * @example
 * ```ts
 * const bucket = allowedBucket(ref.bucket, options.buckets, 'SES_ATTACHMENT_BUCKETS', { pointer: '/source' });
 * ```
 */
export function allowedBucket(
  requested: string | undefined,
  allowed: readonly string[],
  setting: string,
  details?: Record<string, unknown>,
): string {
  const bucket = requested ?? allowed[0];
  if (bucket === undefined) {
    throw new ForbiddenError(`S3 objects are off: ${setting} is empty`, details && { details });
  }
  if (!allowed.includes(bucket)) {
    throw new ForbiddenError(`Bucket "${bucket}" is not one of ${setting}`, details && { details });
  }
  return bucket;
}

/** Where one object is, and how calls on it are named and mapped. */
export interface S3ObjectAddress {
  s3: S3Client;
  bucket: string;
  key: string;
  /** The call target for an action on this object (S3's error rows, the resource for messages). */
  target(action: string): AwsCallTarget;
  /** One call's budget; the invocation's time left may cut it shorter. */
  timeoutMs: number;
}

/** Default size of one ranged read. */
export const DEFAULT_RANGE_BYTES = 8 * 1024 * 1024;
/** Default size of one uploaded part (S3's minimum for all parts but the last is 5 MiB). */
export const DEFAULT_PART_BYTES = 8 * 1024 * 1024;

/** Bytes the reads sharing it may take in all (one message's attachments, say); beyond, a 413. */
export interface ReadBudget {
  used: number;
  readonly maxBytes: number;
}

function spend(budget: ReadBudget | undefined, bytes: number): void {
  if (budget === undefined) return;
  if (budget.used + bytes > budget.maxBytes) throw new PayloadTooLargeError(budget.maxBytes);
  budget.used += bytes;
}

async function readAll(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  const chunks: Buffer[] = [];
  for await (const chunk of body as Readable) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

/**
 * The size and entity tag of an object.
 *
 * @example
 * ```ts
 * const { size } = await headObject(address);
 * ```
 */
export async function headObject(
  address: S3ObjectAddress,
): Promise<{ size: number; etag: string | undefined; contentType: string | undefined }> {
  const response = await awsCall(
    { ...address.target('HeadObject'), timeoutMs: address.timeoutMs },
    (abortSignal) =>
      address.s3.send(new HeadObjectCommand({ Bucket: address.bucket, Key: address.key }), { abortSignal }),
  );
  return { size: response.ContentLength ?? 0, etag: response.ETag, contentType: response.ContentType };
}

/**
 * Bytes `start` to `end` (exclusive) of an object, in one ranged GET.
 *
 * @example
 * ```ts
 * const footer = await readRange(address, size - 8, size);
 * ```
 */
export async function readRange(address: S3ObjectAddress, start: number, end: number): Promise<Buffer> {
  if (end <= start) return Buffer.alloc(0);
  return awsCall({ ...address.target('GetObject'), timeoutMs: address.timeoutMs }, async (abortSignal) => {
    const response = await address.s3.send(
      new GetObjectCommand({ Bucket: address.bucket, Key: address.key, Range: `bytes=${start}-${end - 1}` }),
      { abortSignal },
    );
    const bytes = await readAll(response.Body);
    if (bytes.length !== end - start) {
      throw new UnexpectedResponseError(
        `S3 answered ${bytes.length} bytes for a range of ${end - start} of object "${address.key}"`,
      );
    }
    return bytes;
  });
}

/** How an object is read: from where, in ranges of what size, counted against which budget. */
export interface ReadOptions {
  start?: number;
  rangeBytes?: number;
  /** Refused with a 413 before the first range when the object would not fit what is left of it. */
  budget?: ReadBudget;
  /** Read the next range while the caller takes the one before (two ranges in memory at most). */
  prefetch?: boolean;
}

/**
 * The object's bytes from `start`, range by range: at most one range in memory at a time (two with
 * `prefetch`).
 *
 * @example
 * ```ts
 * for await (const chunk of readObject(address)) hash.update(chunk);
 * ```
 */
export async function* readObject(
  address: S3ObjectAddress,
  options: ReadOptions = {},
): AsyncGenerator<Buffer> {
  const { size } = await headObject(address);
  yield* readRanges(address, size, options);
}

/**
 * A whole (small) object in memory with its content type: an attachment, a document, a source.
 *
 * @example
 * ```ts
 * const { bytes, contentType } = await readObjectBytes(address, { budget: { used: 0, maxBytes: 10_485_760 } });
 * ```
 */
export async function readObjectBytes(
  address: S3ObjectAddress,
  options: ReadOptions = {},
): Promise<{ bytes: Buffer; contentType: string | undefined }> {
  const { size, contentType } = await headObject(address);
  const chunks: Buffer[] = [];
  for await (const chunk of readRanges(address, size, options)) chunks.push(chunk);
  return { bytes: Buffer.concat(chunks), contentType };
}

async function* readRanges(
  address: S3ObjectAddress,
  size: number,
  options: ReadOptions,
): AsyncGenerator<Buffer> {
  const start = options.start ?? 0;
  const budget = options.budget;
  if (budget !== undefined && budget.used + Math.max(0, size - start) > budget.maxBytes) {
    throw new PayloadTooLargeError(budget.maxBytes);
  }
  const rangeBytes = options.rangeBytes ?? DEFAULT_RANGE_BYTES;
  const read = (offset: number): Promise<Buffer> => {
    const reading = readRange(address, offset, Math.min(size, offset + rangeBytes));
    // Awaited below when its turn comes; marked handled meanwhile (the caller may stop before it).
    reading.catch(() => undefined);
    return reading;
  };
  const prefetch = options.prefetch === true;
  let next = prefetch && start < size ? read(start) : undefined;
  for (let offset = start; offset < size; offset += rangeBytes) {
    const bytes = await (next ?? read(offset));
    next = prefetch && offset + rangeBytes < size ? read(offset + rangeBytes) : undefined;
    spend(budget, bytes.length);
    yield bytes;
  }
}

/** What a finished write reports. */
export interface WrittenObject {
  bucket: string;
  key: string;
  size: number;
  etag: string | undefined;
  parts: number;
}

/**
 * Writes one object from chunks in constant memory. `write` resolves once the chunk is buffered or its
 * part is uploaded (so awaiting it is back-pressure); `finish` completes the upload; `abort` drops it.
 *
 * @example
 * ```ts
 * const writer = new S3ObjectWriter(address, { contentType: 'application/x-ndjson' });
 * await writer.write(Buffer.from('{"id":1}\n'));
 * const written = await writer.finish();
 * ```
 */
export class S3ObjectWriter {
  readonly #address: S3ObjectAddress;
  readonly #partBytes: number;
  readonly #contentType: string;
  #buffered: Buffer[] = [];
  #bufferedBytes = 0;
  #size = 0;
  #uploadId: string | undefined;
  #parts: { ETag: string; PartNumber: number }[] = [];

  constructor(address: S3ObjectAddress, options: { contentType: string; partBytes?: number }) {
    this.#address = address;
    this.#contentType = options.contentType;
    this.#partBytes = Math.max(5 * 1024 * 1024, options.partBytes ?? DEFAULT_PART_BYTES);
  }

  /** Bytes written so far. */
  get size(): number {
    return this.#size;
  }

  async write(chunk: Buffer | string): Promise<void> {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.#buffered.push(bytes);
    this.#bufferedBytes += bytes.length;
    this.#size += bytes.length;
    if (this.#bufferedBytes >= this.#partBytes) await this.#uploadPart();
  }

  async finish(): Promise<WrittenObject> {
    const { bucket, key } = this.#address;
    if (this.#uploadId === undefined) {
      const body = Buffer.concat(this.#buffered);
      this.#buffered = [];
      const response = await this.#call('PutObject', (abortSignal) =>
        this.#address.s3.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: body,
            ContentLength: body.length,
            ContentType: this.#contentType,
          }),
          { abortSignal },
        ),
      );
      return { bucket, key, size: body.length, etag: unquote(response.ETag), parts: 1 };
    }
    if (this.#bufferedBytes > 0) await this.#uploadPart();
    const uploadId = this.#uploadId;
    const response = await this.#call('CompleteMultipartUpload', (abortSignal) =>
      this.#address.s3.send(
        new CompleteMultipartUploadCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          MultipartUpload: { Parts: this.#parts },
        }),
        { abortSignal },
      ),
    );
    return { bucket, key, size: this.#size, etag: unquote(response.ETag), parts: this.#parts.length };
  }

  /** Drops a multipart upload in progress (best effort: a lifecycle rule cleans up what this misses). */
  async abort(): Promise<void> {
    this.#buffered = [];
    const uploadId = this.#uploadId;
    if (uploadId === undefined) return;
    this.#uploadId = undefined;
    await this.#call('AbortMultipartUpload', (abortSignal) =>
      this.#address.s3.send(
        new AbortMultipartUploadCommand({
          Bucket: this.#address.bucket,
          Key: this.#address.key,
          UploadId: uploadId,
        }),
        { abortSignal },
      ),
    ).catch(() => undefined);
  }

  async #uploadPart(): Promise<void> {
    const { bucket, key } = this.#address;
    if (this.#uploadId === undefined) {
      const created = await this.#call('CreateMultipartUpload', (abortSignal) =>
        this.#address.s3.send(
          new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: this.#contentType }),
          { abortSignal },
        ),
      );
      if (created.UploadId === undefined) {
        throw new UnexpectedResponseError(`S3 started a multipart upload of "${key}" without an upload id`);
      }
      this.#uploadId = created.UploadId;
    }
    const body = Buffer.concat(this.#buffered);
    this.#buffered = [];
    this.#bufferedBytes = 0;
    const partNumber = this.#parts.length + 1;
    const uploadId = this.#uploadId;
    const response = await this.#call('UploadPart', (abortSignal) =>
      this.#address.s3.send(
        new UploadPartCommand({
          Bucket: bucket,
          Key: key,
          UploadId: uploadId,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
        }),
        { abortSignal },
      ),
    );
    if (response.ETag === undefined) {
      throw new UnexpectedResponseError(`S3 accepted part ${partNumber} of "${key}" without an ETag`);
    }
    this.#parts.push({ ETag: response.ETag, PartNumber: partNumber });
  }

  #call<T>(action: string, send: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    return awsCall({ ...this.#address.target(action), timeoutMs: this.#address.timeoutMs }, send);
  }
}

function unquote(etag: string | undefined): string | undefined {
  return etag?.replace(/^"(.*)"$/, '$1');
}
