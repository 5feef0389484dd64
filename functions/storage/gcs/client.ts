/**
 * Google Cloud Storage as an {@link ObjectStorage}: the only file that talks to GCS, through the core's
 * REST kit on the JSON API (`/storage/v1`, uploads on `/upload/storage/v1`), not `@google-cloud/storage`
 * (README: "Why no SDK"). Failures are mapped once by the declaration's error table (`errors.ts`).
 */
import {
  ConflictError,
  defineRestProvider,
  ForbiddenError,
  NotFoundError,
  opaqueToken,
  parseInput,
  type RestClient,
  type Secret,
  UnexpectedResponseError,
} from '@circle-core/core';
import type { ObjectStorage, ObjectStorageCapability } from '#shared/interfaces/object-storage.ts';
import { compact, defaultContentType, encodeBody } from '#shared/interfaces/object-storage-bodies.ts';
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
import { ServiceAccountKey } from './auth.ts';
import { GCS_ERRORS, gcsFailure } from './errors.ts';
import { GcsBucket, GcsObject, GcsObjectPage, GcsPutObjectInput, GcsRewrite } from './models.ts';
import { encodeRfc3986, signV4Url } from './signing.ts';

/** Google Cloud Storage as data; its settings are `GCS_API_URL` (the apiEndpoint override), `GCS_TIMEOUT_MS`, ... */
export const gcsApi = defineRestProvider({
  name: 'Google Cloud Storage',
  settingsPrefix: 'GCS',
  baseUrl: 'https://storage.googleapis.com',
  baseUrlNote:
    'the apiEndpoint override: the JSON API is under /storage/v1, uploads under /upload/storage/v1, signed URLs are path-style',
  // `{ error: { code, message, errors: [{ reason }] } }`: the status says as much as the reason.
  errors: { codeIn: 'status', rows: GCS_ERRORS },
  // The same table, naming the JSON API method (`objects.list`), not the URL's last segment (`o`).
  inspect: gcsFailure,
  pagination: opaqueToken({ field: 'nextPageToken', param: 'pageToken' }),
});

/** Every optional ability of the interface. */
export const GCS_CAPABILITIES: readonly ObjectStorageCapability[] = [
  'presign',
  'copy',
  'metadata',
  'conditional-write',
];

/** Library options of {@link GcsStorage}; the connector maps its settings onto these. */
export interface GcsStorageOptions {
  /** The JSON API client, authenticated with the service account (`serviceAccountAuth`). */
  rest: RestClient;
  /** The service account key file, for V4 signed URLs. */
  credentials: Secret;
  /** The endpoint signed URLs point at: GCS_API_URL, default `https://storage.googleapis.com`. */
  endpoint: string;
  /** The bucket used when a call names none. */
  bucket: string;
  /** Other buckets a call may name; `bucket` is always allowed. */
  allowedBuckets?: readonly string[];
  /** Largest object `getObject` returns inline (default 1 MiB). */
  maxBytes?: number;
  /** Default lifetime of signed URLs in seconds (default 900). */
  presignExpiresSeconds?: number;
  now?: () => number;
}

/** Rewrite calls per copy before giving up (same-location copies finish in one). */
const MAX_REWRITE_CALLS = 20;

const objectPath = (bucket: string, key: string): string =>
  `/storage/v1/b/${encodeRfc3986(bucket)}/o/${encodeRfc3986(key)}`;

/**
 * Google Cloud Storage as an {@link ObjectStorage}. Every call validates its input and checks the bucket
 * against the allow-list; the REST kit retries reads, waits out Retry-After and renews the token after a
 * 401 (re-reading the secret).
 *
 * @example
 * ```ts
 * const rest = gcsApi.client({ auth: serviceAccountAuth(secret) });
 * const storage = new GcsStorage({ rest, credentials: secret, endpoint: 'https://storage.googleapis.com', bucket: 'data' });
 * await storage.putObject({ key: 'hello.txt', body: 'hi', onlyIfAbsent: true });
 * ```
 */
export class GcsStorage implements ObjectStorage {
  readonly capabilities: ReadonlySet<ObjectStorageCapability> = new Set(GCS_CAPABILITIES);
  readonly #options: GcsStorageOptions;
  readonly #rest: RestClient;
  readonly #allowed: ReadonlySet<string>;
  readonly #now: () => number;

  constructor(options: GcsStorageOptions) {
    this.#options = options;
    this.#rest = options.rest;
    this.#allowed = new Set([options.bucket, ...(options.allowedBuckets ?? [])]);
    this.#now = options.now ?? Date.now;
  }

  /** One multipart upload (metadata and media); `onlyIfAbsent` sends `ifGenerationMatch=0`. */
  async putObject(raw: GcsPutObjectInput): Promise<PutObjectOutput> {
    const input = parseInput(GcsPutObjectInput, raw);
    const bucket = this.#resolve(input.bucket);
    const media = Buffer.from(input.body, input.encoding === 'base64' ? 'base64' : 'utf8');
    const contentType = input.contentType ?? defaultContentType(input.encoding);
    const resource = compact({
      name: input.key,
      contentType,
      cacheControl: input.cacheControl,
      metadata: input.metadata,
    });
    const boundary = `circle-${this.#now().toString(36)}-${Math.random().toString(36).slice(2)}`;
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\ncontent-type: application/json; charset=UTF-8\r\n\r\n${JSON.stringify(resource)}\r\n` +
          `--${boundary}\r\ncontent-type: ${contentType}\r\n\r\n`,
      ),
      media,
      Buffer.from(`\r\n--${boundary}--\r\n`),
    ]);
    let stored: GcsObject;
    try {
      stored = await this.#rest.post(`/upload/storage/v1/b/${encodeRfc3986(bucket)}/o`, GcsObject, {
        query: { uploadType: 'multipart', ...(input.onlyIfAbsent ? { ifGenerationMatch: 0 } : {}) },
        headers: { 'content-type': `multipart/related; boundary=${boundary}` },
        body,
        what: 'an upload',
      });
    } catch (error) {
      if (error instanceof ConflictError && input.onlyIfAbsent) {
        throw new ConflictError(`Object "${input.key}" already exists in bucket "${bucket}" (onlyIfAbsent)`, {
          cause: error,
        });
      }
      throw error;
    }
    return compact({
      bucket,
      key: input.key,
      size: stored.size,
      etag: stored.etag,
      versionId: stored.generation,
    });
  }

  /** The object's resource, then its media (`alt=media`, the same generation) or a signed URL. */
  async getObject(raw: GetObjectInput): Promise<GetObjectOutput> {
    const input = parseInput(GetObjectInput, raw);
    const bucket = this.#resolve(input.bucket);
    const stored = await this.#resource(bucket, input.key);
    const info = describe(bucket, stored);
    const maxBytes = input.maxBytes ?? this.#options.maxBytes ?? 1_048_576;
    if (stored.size > maxBytes) {
      const expiresIn = this.#options.presignExpiresSeconds ?? 900;
      const url = await this.#sign('GET', bucket, input.key, expiresIn, undefined);
      return { ...info, tooLarge: true, url, expiresIn };
    }
    const answer = await this.#rest.send('GET', objectPath(bucket, input.key), undefined, {
      query: { alt: 'media', ...(stored.generation === undefined ? {} : { generation: stored.generation }) },
      bytes: true,
      what: 'an object download',
      notFound: `Object "${input.key}" in bucket "${bucket}"`,
    });
    const bytes = Buffer.isBuffer(answer.body) ? answer.body : Buffer.alloc(0);
    const { body, encoding } = encodeBody(bytes, info.contentType, input.encoding, input.key);
    return { ...info, tooLarge: false, body, encoding };
  }

  /** Size, media type, entity tag and metadata (`objects.get`). */
  async headObject(raw: ObjectRef): Promise<HeadObjectOutput> {
    const input = parseInput(ObjectRef, raw);
    const bucket = this.#resolve(input.bucket);
    return describe(bucket, await this.#resource(bucket, input.key));
  }

  /** One page of `objects.list`; `prefixes` and `items` together count toward `maxResults`. */
  async listObjects(raw: ListObjectsInput): Promise<ListObjectsOutput> {
    const input = parseInput(ListObjectsInput, raw);
    const bucket = this.#resolve(input.bucket);
    let prefixes: string[] = [];
    const page = await this.#rest.list(`/storage/v1/b/${encodeRfc3986(bucket)}/o`, GcsObjectPage, {
      query: compact({
        maxResults: input.maxKeys,
        prefix: input.prefix === '' ? undefined : input.prefix,
        delimiter: input.delimiter,
      }),
      cursor: input.continuationToken,
      items: (answer) => {
        prefixes = answer.prefixes ?? [];
        return answer.items ?? [];
      },
      what: 'an object list',
      notFound: `Bucket "${bucket}"`,
    });
    return compact({
      bucket,
      objects: page.items.map((item) =>
        compact({ key: item.name, size: item.size, etag: item.etag, lastModified: item.updated }),
      ),
      commonPrefixes: prefixes,
      isTruncated: page.nextCursor !== undefined,
      nextContinuationToken: page.nextCursor,
    });
  }

  /** `objects.delete`; a missing object counts as deleted. */
  async deleteObject(raw: DeleteObjectInput): Promise<DeleteObjectOutput> {
    const input = parseInput(DeleteObjectInput, raw);
    const bucket = this.#resolve(input.bucket);
    try {
      await this.#rest.send('DELETE', objectPath(bucket, input.key), undefined, { what: 'an object delete' });
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
    }
    return { bucket, key: input.key, deleted: true };
  }

  /**
   * Server-side `objects.rewrite`, called again with its `rewriteToken` until done. GCS copies the source's
   * editable metadata only when the request body is empty; a body is the copy's editable metadata as a
   * whole (objects.rewrite: "If the request body is empty, editable metadata from the source object is
   * applied to the destination object"). So a copy replacing `contentType` or `metadata` reads the source
   * first and sends what it does not replace (with Cache-Control, Content-Disposition, Content-Encoding and
   * Content-Language), pinned to the generation it read (`ifSourceGenerationMatch`): a source changed in
   * between fails with 412 (ConflictError) rather than mixing two versions.
   */
  async copyObject(raw: CopyObjectInput): Promise<CopyObjectOutput> {
    const input = parseInput(CopyObjectInput, raw);
    const sourceBucket = this.#resolve(input.sourceBucket);
    const bucket = this.#resolve(input.bucket);
    const notFound = `Source object "${input.sourceKey}" in bucket "${sourceBucket}"`;
    const source =
      input.contentType === undefined && input.metadata === undefined
        ? undefined
        : await this.#rest.get(objectPath(sourceBucket, input.sourceKey), GcsObject, {
            what: 'an object',
            notFound,
          });
    const override =
      source === undefined
        ? {}
        : compact({
            contentType: input.contentType ?? source.contentType,
            metadata: input.metadata ?? source.metadata,
            cacheControl: source.cacheControl,
            contentDisposition: source.contentDisposition,
            contentEncoding: source.contentEncoding,
            contentLanguage: source.contentLanguage,
          });
    const pinned = source?.generation === undefined ? {} : { ifSourceGenerationMatch: source.generation };
    const path = `${objectPath(sourceBucket, input.sourceKey)}/rewriteTo/b/${encodeRfc3986(bucket)}/o/${encodeRfc3986(input.key)}`;
    let token: string | undefined;
    for (let call = 0; call < MAX_REWRITE_CALLS; call += 1) {
      const answer = await this.#rest
        .post(path, GcsRewrite, {
          json: override,
          query: { ...pinned, ...(token === undefined ? {} : { rewriteToken: token }) },
          what: 'a rewrite',
          notFound,
        })
        .catch((error: unknown) => {
          if (!(error instanceof ConflictError) || source === undefined) throw error;
          throw new ConflictError(`${notFound} changed during the copy; try again`, { cause: error });
        });
      if (answer.done) {
        if (answer.resource === undefined) {
          throw new UnexpectedResponseError('Google Cloud Storage ended a rewrite without the new object');
        }
        return compact({
          bucket,
          key: input.key,
          etag: answer.resource.etag,
          lastModified: answer.resource.updated,
        });
      }
      token = answer.rewriteToken;
      if (token === undefined) {
        throw new UnexpectedResponseError(
          'Google Cloud Storage answered an unfinished rewrite without a token',
        );
      }
    }
    throw new UnexpectedResponseError(
      `Google Cloud Storage did not finish copying "${input.sourceKey}" in ${MAX_REWRITE_CALLS} rewrite calls`,
    );
  }

  /** A V4 signed URL (GOOG4-RSA-SHA256); for PUT, `contentType` is signed in. */
  async presignUrl(raw: PresignUrlInput): Promise<PresignUrlOutput> {
    const input = parseInput(PresignUrlInput, raw);
    const bucket = this.#resolve(input.bucket);
    const expiresIn = input.expiresIn ?? this.#options.presignExpiresSeconds ?? 900;
    const url = await this.#sign(input.method, bucket, input.key, expiresIn, input.contentType);
    return {
      url,
      method: input.method,
      expiresIn,
      expiresAt: new Date(this.#now() + expiresIn * 1000).toISOString(),
      headers: input.contentType === undefined ? {} : { 'content-type': input.contentType },
    };
  }

  /**
   * Proves the credential and the default bucket (`buckets.get`, name only).
   *
   * @example
   * ```ts
   * await storage.checkBucket(); // throws NotFoundError, AuthError, UnavailableError ...
   * ```
   */
  async checkBucket(): Promise<void> {
    const { bucket } = this.#options;
    await this.#rest.get(`/storage/v1/b/${encodeRfc3986(bucket)}`, GcsBucket, {
      query: { fields: 'name' },
      notFound: `Bucket "${bucket}"`,
    });
  }

  #resolve(requested: string | undefined): string {
    const bucket = requested ?? this.#options.bucket;
    if (!this.#allowed.has(bucket)) {
      throw new ForbiddenError(`Bucket "${bucket}" is not one of the allowed buckets (GCS_ALLOWED_BUCKETS)`);
    }
    return bucket;
  }

  #resource(bucket: string, key: string): Promise<GcsObject> {
    return this.#rest.get(objectPath(bucket, key), GcsObject, {
      what: 'an object',
      notFound: `Object "${key}" in bucket "${bucket}"`,
    });
  }

  async #sign(
    method: 'GET' | 'PUT',
    bucket: string,
    key: string,
    expiresIn: number,
    contentType: string | undefined,
  ): Promise<string> {
    const account = await this.#options.credentials.json(ServiceAccountKey);
    return signV4Url({
      method,
      endpoint: this.#options.endpoint,
      bucket,
      key,
      expiresIn,
      contentType,
      clientEmail: account.client_email,
      privateKey: account.private_key,
      now: this.#now(),
    });
  }
}

function describe(bucket: string, stored: GcsObject): ObjectInfo {
  return compact({
    bucket,
    key: stored.name,
    size: stored.size,
    contentType: stored.contentType,
    etag: stored.etag,
    lastModified: stored.updated,
    versionId: stored.generation,
    // GCS keeps a name's case; the interface only writes lower-case names, and answers them lower-case.
    metadata: Object.fromEntries(
      Object.entries(stored.metadata ?? {}).map(([name, value]) => [name.toLowerCase(), value]),
    ),
  });
}
