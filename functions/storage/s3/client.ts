import { Readable } from 'node:stream';
import type {
  GetObjectCommand,
  GetObjectCommandOutput,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  type AwsClientSettings,
  awsCall,
  awsFailure,
  ForbiddenError,
  parseInput,
  UnexpectedResponseError,
} from '@circle-core/core';
import type { ObjectStorage, ObjectStorageCapability } from '#shared/interfaces/object-storage.ts';
import {
  compact,
  defaultContentType,
  encodeBody,
  readUpTo,
  unquote,
} from '#shared/interfaces/object-storage-bodies.ts';
import {
  CopyObjectInput,
  type CopyObjectOutput,
  DeleteObjectInput,
  type DeleteObjectOutput,
  GetObjectInput,
  type GetObjectOutput,
  type HeadObjectOutput,
  ListObjectsInput,
  type ListObjectsOutput,
  type ObjectInfo,
  ObjectRef,
  PresignUrlInput,
  type PresignUrlOutput,
  type PutObjectOutput,
} from '#shared/models/object-storage.ts';
import { s3Target } from './errors.ts';
import { S3PutObjectInput } from './models.ts';

/** The SDK, loaded on first use: `sdk.ts` and the S3 client are a chunk of their own in the bundle. */
type Sdk = typeof import('./sdk.ts');
let sdkModule: Promise<Sdk> | undefined;
function loadSdk(): Promise<Sdk> {
  sdkModule ??= import('./sdk.ts');
  return sdkModule;
}

/** Library options of {@link S3ObjectStorage}; the connector maps its environment settings onto these. */
export interface S3ObjectStorageOptions {
  /** The bucket used when a call names none. */
  bucket: string;
  /** Other buckets a call may name; `bucket` is always allowed. */
  allowedBuckets?: readonly string[];
  /** An S3-compatible endpoint; unset means the SDK's default (AWS, or `AWS_ENDPOINT_URL_S3`). */
  endpoint?: string;
  forcePathStyle?: boolean;
  /** Unset means the SDK's default chain (`AWS_REGION`). */
  region?: string;
  /** Largest object `getObject` returns inline (default 1 MiB). */
  maxBytes?: number;
  /** Default lifetime of presigned URLs in seconds (default 900). */
  presignExpiresSeconds?: number;
  /** Budget of one call including retries (default 10 s); the invocation's remaining time may cut it. */
  timeoutMs?: number;
  /** Attempts per call (default 3). */
  maxAttempts?: number;
}

/**
 * The SDK clients a storage uses: one for calls, one for presigning (see {@link createS3Client}). Without a
 * presigner the storage builds one on its first presigned URL, so a cold start that presigns nothing (a
 * health check, most reads and writes) neither builds a second client nor loads the presigner's code.
 */
export interface S3Clients {
  s3: S3Client;
  presigner?: S3Client | undefined;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * The AWS kit's client settings for S3: endpoint, path style, attempts and per-attempt socket timeouts.
 * `purpose: 'presign'` turns off the default request checksums, which would otherwise sign the CRC32 of
 * an empty body into presigned PUT URLs and make real S3 reject every upload through them.
 */
function s3Settings(options: S3ObjectStorageOptions, purpose: 'calls' | 'presign'): AwsClientSettings {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    connectionTimeoutMs: Math.min(timeoutMs, 3000),
    requestTimeoutMs: timeoutMs,
    maxAttempts: options.maxAttempts ?? 3,
    endpoint: options.endpoint,
    extra: {
      forcePathStyle: options.forcePathStyle ?? false,
      ...(options.region === undefined ? {} : { region: options.region }),
      ...(purpose === 'presign' ? { requestChecksumCalculation: 'WHEN_REQUIRED' } : {}),
    },
  };
}

/**
 * Builds an untraced S3 client from the options (see {@link S3ObjectStorage.create} for a traced one).
 *
 * @example
 * ```ts
 * const s3 = await createS3Client({ bucket: 'data', endpoint: 'http://127.0.0.1:4568', forcePathStyle: true });
 * ```
 */
export async function createS3Client(
  options: S3ObjectStorageOptions,
  purpose: 'calls' | 'presign' = 'calls',
): Promise<S3Client> {
  return (await loadSdk()).untracedClient(s3Settings(options, purpose));
}

/** The object-storage capabilities S3 offers: declared here once, reported by the connector. */
export const S3_CAPABILITIES: readonly ObjectStorageCapability[] = [
  'presign',
  'copy',
  'metadata',
  'conditional-write',
];

/**
 * Amazon S3 (or any S3-compatible store) as an {@link ObjectStorage}. Every call validates its input,
 * checks the bucket against the allow-list, and runs through the core's AWS kit: a time budget of
 * min(timeout, remaining invocation time - reserve) and every failure mapped with S3's rows.
 *
 * @example
 * ```ts
 * const storage = await S3ObjectStorage.create({ bucket: 'data' });
 * await storage.putObject({ key: 'hello.txt', body: 'hi' });
 * const object = await storage.getObject({ key: 'hello.txt' }); // { tooLarge: false, body: 'hi', ... }
 * ```
 */
export class S3ObjectStorage implements ObjectStorage {
  readonly capabilities: ReadonlySet<ObjectStorageCapability> = new Set(S3_CAPABILITIES);
  readonly #options: S3ObjectStorageOptions;
  /** The calls' client: given, or built on the first call that needs the SDK (traced when `#connector` is set). */
  #s3: Promise<S3Client> | undefined;
  #presigner: S3Client | undefined;
  readonly #connector: string | undefined;
  readonly #bucket: string;
  readonly #allowed: ReadonlySet<string>;
  readonly #maxBytes: number;
  readonly #presignExpires: number;
  readonly #timeoutMs: number;

  /** Without `clients` the storage loads the SDK and builds its clients on first use (untraced). */
  constructor(options: S3ObjectStorageOptions, clients?: S3Clients, connector?: string) {
    this.#options = options;
    this.#s3 = clients === undefined ? undefined : Promise.resolve(clients.s3);
    this.#presigner = clients?.presigner;
    this.#connector = connector;
    this.#bucket = options.bucket;
    this.#allowed = new Set([options.bucket, ...(options.allowedBuckets ?? [])]);
    this.#maxBytes = options.maxBytes ?? 1_048_576;
    this.#presignExpires = options.presignExpiresSeconds ?? 900;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /**
   * Builds a storage whose SDK calls appear as X-Ray subsegments when tracing is on (its client is built
   * on the first call that needs the SDK, not here).
   *
   * @example
   * ```ts
   * const storage = await S3ObjectStorage.create({ bucket: 'data' }, 's3');
   * ```
   */
  static async create(options: S3ObjectStorageOptions, connector = 's3'): Promise<S3ObjectStorage> {
    return new S3ObjectStorage(options, undefined, connector);
  }

  /** The SDK and the calls' client, loaded and built on first use. */
  async #sdk(): Promise<{ sdk: Sdk; s3: S3Client }> {
    const sdk = await loadSdk();
    if (this.#s3 === undefined) {
      const settings = s3Settings(this.#options, 'calls');
      const building =
        this.#connector === undefined
          ? Promise.resolve(sdk.untracedClient(settings))
          : sdk.tracedClient(settings, this.#connector);
      this.#s3 = building;
      // A failed build is not kept: the next call tries again.
      building.catch(() => {
        if (this.#s3 === building) this.#s3 = undefined;
      });
    }
    return { sdk, s3: await this.#s3 };
  }

  /** Stores an object; `onlyIfAbsent` turns an existing key into a ConflictError. */
  async putObject(raw: S3PutObjectInput): Promise<PutObjectOutput> {
    const input = parseInput(S3PutObjectInput, raw);
    const bucket = this.#resolve(input.bucket);
    const { sdk, s3 } = await this.#sdk();
    const body = Buffer.from(input.body, input.encoding === 'base64' ? 'base64' : 'utf8');
    const command = new sdk.PutObjectCommand({
      Bucket: bucket,
      Key: input.key,
      Body: body,
      ContentLength: body.length,
      ContentType: input.contentType ?? defaultContentType(input.encoding),
      Metadata: input.metadata,
      IfNoneMatch: input.onlyIfAbsent ? '*' : undefined,
      StorageClass: input.storageClass,
      CacheControl: input.cacheControl,
    });
    const response = await this.#call('PutObject', { bucket, key: input.key }, (abortSignal) =>
      s3.send(command, { abortSignal }),
    );
    return compact({
      bucket,
      key: input.key,
      size: body.length,
      etag: unquote(response.ETag),
      versionId: response.VersionId,
    });
  }

  /** Reads an object inline, or answers a presigned GET URL when it exceeds `maxBytes`. */
  async getObject(raw: GetObjectInput): Promise<GetObjectOutput> {
    const input = parseInput(GetObjectInput, raw);
    const bucket = this.#resolve(input.bucket);
    const { sdk, s3 } = await this.#sdk();
    const maxBytes = input.maxBytes ?? this.#maxBytes;
    const where = { bucket, key: input.key };
    const { info, bytes } = await this.#call('GetObject', where, async (abortSignal) => {
      const response = await s3.send(new sdk.GetObjectCommand({ Bucket: bucket, Key: input.key }), {
        abortSignal,
      });
      return readBody(response, where, maxBytes, abortSignal);
    });
    if (bytes === undefined) {
      const expiresIn = this.#presignExpires;
      const url = await this.#presign(
        new sdk.GetObjectCommand({ Bucket: bucket, Key: input.key }),
        expiresIn,
        {
          bucket,
          key: input.key,
        },
      );
      return { ...info, tooLarge: true, url, expiresIn };
    }
    const { body, encoding } = encodeBody(bytes, info.contentType, input.encoding, input.key);
    return { ...info, size: info.size || bytes.length, tooLarge: false, body, encoding };
  }

  /** Size, media type, entity tag and metadata of an object. */
  async headObject(raw: ObjectRef): Promise<HeadObjectOutput> {
    const input = parseInput(ObjectRef, raw);
    const bucket = this.#resolve(input.bucket);
    const { sdk, s3 } = await this.#sdk();
    const response = await this.#call('HeadObject', { bucket, key: input.key }, (abortSignal) =>
      s3.send(new sdk.HeadObjectCommand({ Bucket: bucket, Key: input.key }), { abortSignal }),
    );
    return describeObject(bucket, input.key, response);
  }

  /** One page of a listing (ListObjectsV2). */
  async listObjects(raw: ListObjectsInput): Promise<ListObjectsOutput> {
    const input = parseInput(ListObjectsInput, raw);
    const bucket = this.#resolve(input.bucket);
    const { sdk, s3 } = await this.#sdk();
    const response = await this.#call('ListObjectsV2', { bucket }, (abortSignal) =>
      s3.send(
        new sdk.ListObjectsV2Command({
          Bucket: bucket,
          Prefix: input.prefix,
          Delimiter: input.delimiter,
          ContinuationToken: input.continuationToken,
          MaxKeys: input.maxKeys,
          // Names come back URL-encoded, so a key holding a carriage return or another character XML 1.0
          // cannot carry (or normalises) is answered as stored (ListObjectsV2 API reference, EncodingType).
          EncodingType: 'url',
        }),
        { abortSignal },
      ),
    );
    const name = listedName(response.EncodingType);
    const objects = (response.Contents ?? []).map((entry) => {
      if (entry.Key === undefined) {
        throw new UnexpectedResponseError(`S3 listed an object without a key in bucket "${bucket}"`);
      }
      return compact({
        key: name(entry.Key),
        size: entry.Size ?? 0,
        etag: unquote(entry.ETag),
        lastModified: entry.LastModified?.toISOString(),
      });
    });
    const commonPrefixes = (response.CommonPrefixes ?? []).flatMap((entry) =>
      entry.Prefix === undefined ? [] : [name(entry.Prefix)],
    );
    const isTruncated = response.IsTruncated ?? false;
    if (isTruncated && response.NextContinuationToken === undefined) {
      throw new UnexpectedResponseError(`S3 listed a truncated page without a continuation token`);
    }
    return compact({
      bucket,
      objects,
      commonPrefixes,
      isTruncated,
      nextContinuationToken: isTruncated ? response.NextContinuationToken : undefined,
    });
  }

  /** Deletes an object; a missing object counts as deleted. */
  async deleteObject(raw: DeleteObjectInput): Promise<DeleteObjectOutput> {
    const input = parseInput(DeleteObjectInput, raw);
    const bucket = this.#resolve(input.bucket);
    const { sdk, s3 } = await this.#sdk();
    await this.#call('DeleteObject', { bucket, key: input.key }, (abortSignal) =>
      s3.send(new sdk.DeleteObjectCommand({ Bucket: bucket, Key: input.key }), { abortSignal }),
    );
    return { bucket, key: input.key, deleted: true };
  }

  /**
   * Server-side copy. `metadata` and `contentType` each replace the source's when given; what is not given
   * is kept. S3 keeps all or replaces all (MetadataDirective REPLACE replaces the metadata, the media type
   * and Cache-Control, Content-Disposition, Content-Encoding, Content-Language, Expires: AWS S3 API
   * Reference, CopyObject, x-amz-metadata-directive), so a copy replacing either reads the source first
   * (HeadObject) and sends back everything not replaced, pinned to the entity tag it read: a source changed
   * in between fails with 412 (ConflictError) rather than mixing two versions.
   */
  async copyObject(raw: CopyObjectInput): Promise<CopyObjectOutput> {
    const input = parseInput(CopyObjectInput, raw);
    const sourceBucket = this.#resolve(input.sourceBucket);
    const bucket = this.#resolve(input.bucket);
    const { sdk, s3 } = await this.#sdk();
    const replace = input.metadata !== undefined || input.contentType !== undefined;
    // A missing object here is the source: the destination key need not exist.
    const source = { bucket: sourceBucket, key: input.sourceKey };
    const kept = replace
      ? await this.#call('HeadObject', source, (abortSignal) =>
          s3.send(new sdk.HeadObjectCommand({ Bucket: sourceBucket, Key: input.sourceKey }), {
            abortSignal,
          }),
        )
      : undefined;
    // Built inside the call, so an encoding failure is mapped like any other error of the request.
    const response = await this.#call('CopyObject', source, (abortSignal) => {
      const command = new sdk.CopyObjectCommand({
        Bucket: bucket,
        Key: input.key,
        // The source is a URL path: encode each segment but keep the slashes.
        CopySource: `${sourceBucket}/${input.sourceKey.split('/').map(encodeURIComponent).join('/')}`,
        MetadataDirective: replace ? 'REPLACE' : 'COPY',
        Metadata: replace ? (input.metadata ?? kept?.Metadata ?? {}) : undefined,
        ContentType: replace ? (input.contentType ?? kept?.ContentType) : undefined,
        ...(kept === undefined
          ? {}
          : {
              CopySourceIfMatch: kept.ETag,
              CacheControl: kept.CacheControl,
              ContentDisposition: kept.ContentDisposition,
              ContentEncoding: kept.ContentEncoding,
              ContentLanguage: kept.ContentLanguage,
              Expires: kept.Expires,
            }),
      });
      return s3.send(command, { abortSignal });
    });
    return compact({
      bucket,
      key: input.key,
      etag: unquote(response.CopyObjectResult?.ETag),
      lastModified: response.CopyObjectResult?.LastModified?.toISOString(),
    });
  }

  /** A presigned GET or PUT URL; PUT URLs with `contentType` require the uploader to send exactly it. */
  async presignUrl(raw: PresignUrlInput): Promise<PresignUrlOutput> {
    const input = parseInput(PresignUrlInput, raw);
    const bucket = this.#resolve(input.bucket);
    const sdk = await loadSdk();
    const expiresIn = input.expiresIn ?? this.#presignExpires;
    const headers: Record<string, string> = {};
    if (input.contentType !== undefined) headers['content-type'] = input.contentType;
    const command =
      input.method === 'GET'
        ? new sdk.GetObjectCommand({ Bucket: bucket, Key: input.key })
        : new sdk.PutObjectCommand({ Bucket: bucket, Key: input.key, ContentType: input.contentType });
    const url = await this.#presign(command, expiresIn, { bucket, key: input.key }, Object.keys(headers));
    return {
      url,
      method: input.method,
      expiresIn,
      expiresAt: new Date(Date.now() + expiresIn * 1000).toISOString(),
      headers,
    };
  }

  /**
   * Proves credentials and reachability of the default bucket with HeadBucket (needs s3:ListBucket).
   *
   * @example
   * ```ts
   * await storage.checkBucket(); // throws NotFoundError, ForbiddenError, UnavailableError ...
   * ```
   */
  async checkBucket(): Promise<void> {
    const bucket = this.#bucket;
    const { sdk, s3 } = await this.#sdk();
    await this.#call('HeadBucket', { bucket }, (abortSignal) =>
      s3.send(new sdk.HeadBucketCommand({ Bucket: bucket }), { abortSignal }),
    );
  }

  #resolve(requested: string | undefined): string {
    const bucket = requested ?? this.#bucket;
    if (!this.#allowed.has(bucket)) {
      throw new ForbiddenError(`Bucket "${bucket}" is not one of the allowed buckets (S3_ALLOWED_BUCKETS)`);
    }
    return bucket;
  }

  /** Runs one SDK call through the kit: S3's rows, this storage's timeout cut by the time left. */
  #call<T>(
    action: string,
    where: { bucket: string; key?: string },
    run: (abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    return awsCall({ ...s3Target(action, where.bucket, where.key), timeoutMs: this.#timeoutMs }, run);
  }

  async #presign(
    command: GetObjectCommand | PutObjectCommand,
    expiresIn: number,
    target: { bucket: string; key: string },
    signedHeaders: string[] = [],
  ): Promise<string> {
    try {
      const sdk = await loadSdk();
      // Built on the first presigned URL: most containers never presign.
      this.#presigner ??= sdk.untracedClient(s3Settings(this.#options, 'presign'));
      return await sdk.getSignedUrl(this.#presigner, command, {
        expiresIn,
        signableHeaders: new Set(signedHeaders),
      });
    } catch (error) {
      throw awsFailure(s3Target('Presign', target.bucket, target.key), error);
    }
  }
}

/**
 * How to read the names of a listing: URL-decoded when S3 says it encoded them (`EncodingType: url`; S3
 * form-encodes, a space as `+`, a `+` as `%2B`), as they are when it does not (an S3-compatible store that
 * ignores `encoding-type` answers no EncodingType).
 */
function listedName(encoding: string | undefined): (name: string) => string {
  if (encoding !== 'url') return (name) => name;
  return (name) => {
    try {
      return decodeURIComponent(name.replaceAll('+', ' '));
    } catch {
      throw new UnexpectedResponseError(`S3 listed a name that is not valid URL encoding: "${name}"`);
    }
  };
}

type HeadLike = Pick<
  GetObjectCommandOutput,
  'ContentLength' | 'ContentType' | 'ETag' | 'LastModified' | 'VersionId' | 'Metadata'
>;

function describeObject(bucket: string, key: string, response: HeadLike): ObjectInfo {
  return compact({
    bucket,
    key,
    size: response.ContentLength ?? 0,
    contentType: response.ContentType,
    etag: unquote(response.ETag),
    lastModified: response.LastModified?.toISOString(),
    versionId: response.VersionId,
    metadata: response.Metadata ?? {},
  });
}

/**
 * Reads the body up to `maxBytes`; `bytes` is undefined when the object is larger (announced or actual),
 * and the stream is destroyed so the rest is never downloaded.
 */
async function readBody(
  response: GetObjectCommandOutput,
  target: { bucket: string; key: string },
  maxBytes: number,
  abortSignal: AbortSignal,
): Promise<{ info: ObjectInfo; bytes: Buffer | undefined }> {
  const info = describeObject(target.bucket, target.key, response);
  const body = response.Body;
  if (body === undefined) return { info, bytes: Buffer.alloc(0) };
  if (!(body instanceof Readable)) {
    // Only Node streams are expected here; other runtimes hand back web streams or blobs.
    const bytes = Buffer.from(await body.transformToByteArray());
    return { info, bytes: bytes.length > maxBytes ? undefined : bytes };
  }
  return { info, bytes: await readUpTo(body, info.size, maxBytes, abortSignal) };
}
