/**
 * Azure Blob Storage as an {@link ObjectStorage}: the only file that talks to Azure, through the official
 * SDK (`@azure/storage-blob`: Shared Key signing, SAS generation, the Blob REST API). A "bucket" of the
 * interface is a container.
 */
import {
  AnonymousCredential,
  BlobSASPermissions,
  BlobServiceClient,
  type BlockBlobClient,
  type ContainerClient,
  SASProtocol,
  type StoragePipelineOptions,
  StorageSharedKeyCredential,
} from '@azure/storage-blob';
import {
  AuthError,
  ForbiddenError,
  NotSupportedError,
  parseInput,
  type Secret,
  UnexpectedResponseError,
  ValidationError,
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
import { type AzureCredential, parseCredential } from './auth.ts';
import { type AzureCallTarget, azureCall } from './errors.ts';
import { AzurePutObjectInput, azureBlobNameProblem, azureContainerProblem } from './models.ts';

/** Where the credential comes from: a Secrets Manager secret (refreshed after a refusal), or a fixed one. */
export type AzureCredentialSource = { secret: Secret } | { credential: AzureCredential };

/** Library options of {@link AzureBlobStorage}; the connector maps its environment settings onto these. */
export interface AzureBlobStorageOptions {
  /** The container used when a call names none. */
  container: string;
  /** Other containers a call may name; `container` is always allowed. */
  allowedContainers?: readonly string[];
  credentials: AzureCredentialSource;
  /** Overrides the credential's blob endpoint (azurite: `http://127.0.0.1:10000/devstoreaccount1`). */
  endpoint?: string;
  /** Largest blob `getObject` returns inline (default 1 MiB). */
  maxBytes?: number;
  /** Default lifetime of SAS URLs in seconds (default 900). */
  presignExpiresSeconds?: number;
  /** Budget of one call including retries (default 10 s); the invocation's remaining time may cut it. */
  timeoutMs?: number;
  /** Attempts per call (default 3). */
  maxAttempts?: number;
}

/** Everything but presigned URLs works with a SAS credential; SAS URLs need the account key. */
export const AZURE_BLOB_CAPABILITIES: readonly ObjectStorageCapability[] = [
  'presign',
  'copy',
  'metadata',
  'conditional-write',
];

const DEFAULT_TIMEOUT_MS = 10_000;

interface Session {
  credential: AzureCredential;
  service: BlobServiceClient;
}

/**
 * Azure Blob Storage as an {@link ObjectStorage}. Every call validates its input, checks the container
 * against the allow-list, runs within the time budget, and maps failures with Azure's rows (`errors.ts`);
 * after an authentication refusal the secret is fetched again and the call retried once (key rotation).
 *
 * @example
 * ```ts
 * const storage = new AzureBlobStorage({ container: 'data', credentials: { secret: defineSecret('prod/azure') } });
 * await storage.putObject({ key: 'hello.txt', body: 'hi' });
 * ```
 */
export class AzureBlobStorage implements ObjectStorage {
  readonly capabilities: ReadonlySet<ObjectStorageCapability> = new Set(AZURE_BLOB_CAPABILITIES);
  readonly #options: AzureBlobStorageOptions;
  readonly #allowed: ReadonlySet<string>;
  readonly #maxBytes: number;
  readonly #presignExpires: number;
  readonly #timeoutMs: number;
  #session: Promise<Session> | undefined;

  constructor(options: AzureBlobStorageOptions) {
    this.#options = options;
    this.#allowed = new Set([options.container, ...(options.allowedContainers ?? [])]);
    this.#maxBytes = options.maxBytes ?? 1_048_576;
    this.#presignExpires = options.presignExpiresSeconds ?? 900;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** Reads the secret and builds the SDK client now (during init), so the first call does not wait. */
  async warmUp(): Promise<void> {
    await this.#connect();
  }

  /** Stores a blob (a block blob in one Put Blob); `onlyIfAbsent` sends `If-None-Match: *`. */
  async putObject(raw: AzurePutObjectInput): Promise<PutObjectOutput> {
    const input = parseInput(AzurePutObjectInput, raw);
    checkBlobNames([input.key, '/key']);
    const container = this.#resolve(input.bucket, '/bucket');
    const body = Buffer.from(input.body, input.encoding === 'base64' ? 'base64' : 'utf8');
    const contentType = input.contentType ?? defaultContentType(input.encoding);
    const response = await this.#call(
      { action: 'PutBlob', container, key: input.key },
      (session, abortSignal) =>
        blob(session, container, input.key).upload(body, body.length, {
          abortSignal,
          blobHTTPHeaders: {
            blobContentType: contentType,
            ...(input.cacheControl === undefined ? {} : { blobCacheControl: input.cacheControl }),
          },
          ...(input.metadata === undefined ? {} : { metadata: input.metadata }),
          ...(input.accessTier === undefined ? {} : { tier: input.accessTier }),
          ...(input.onlyIfAbsent ? { conditions: { ifNoneMatch: '*' } } : {}),
        }),
    );
    return compact({
      bucket: container,
      key: input.key,
      size: body.length,
      etag: unquote(response.etag),
      versionId: response.versionId,
    });
  }

  /** Reads a blob inline, or answers a SAS URL when it exceeds `maxBytes`. */
  async getObject(raw: GetObjectInput): Promise<GetObjectOutput> {
    const input = parseInput(GetObjectInput, raw);
    checkBlobNames([input.key, '/key']);
    const container = this.#resolve(input.bucket, '/bucket');
    const maxBytes = input.maxBytes ?? this.#maxBytes;
    const { info, bytes } = await this.#call(
      { action: 'GetBlob', container, key: input.key },
      async (session, abortSignal) => {
        const response = await blob(session, container, input.key).download(0, undefined, { abortSignal });
        const info = describeBlob(container, input.key, response);
        return { info, bytes: await readUpTo(response.readableStreamBody, info.size, maxBytes, abortSignal) };
      },
    );
    if (bytes === undefined) {
      const expiresIn = this.#presignExpires;
      const url = await this.#sasUrl(container, input.key, 'GET', expiresIn);
      return { ...info, tooLarge: true, url, expiresIn };
    }
    const { body, encoding } = encodeBody(bytes, info.contentType, input.encoding, input.key);
    return { ...info, size: info.size || bytes.length, tooLarge: false, body, encoding };
  }

  /** Size, media type, entity tag and metadata of a blob (Get Blob Properties). */
  async headObject(raw: ObjectRef): Promise<HeadObjectOutput> {
    const input = parseInput(ObjectRef, raw);
    checkBlobNames([input.key, '/key']);
    const container = this.#resolve(input.bucket, '/bucket');
    const response = await this.#call(
      { action: 'GetBlobProperties', container, key: input.key },
      (session, abortSignal) => blob(session, container, input.key).getProperties({ abortSignal }),
    );
    return describeBlob(container, input.key, response);
  }

  /** One page of List Blobs: flat, or by hierarchy when a delimiter is given. */
  async listObjects(raw: ListObjectsInput): Promise<ListObjectsOutput> {
    const input = parseInput(ListObjectsInput, raw);
    const container = this.#resolve(input.bucket, '/bucket');
    const prefix = input.prefix === undefined || input.prefix === '' ? undefined : input.prefix;
    const settings = {
      maxPageSize: input.maxKeys,
      ...(input.continuationToken === undefined ? {} : { continuationToken: input.continuationToken }),
    };
    const page = await this.#call({ action: 'ListBlobs', container }, async (session, abortSignal) => {
      const client = session.service.getContainerClient(container);
      const options = { abortSignal, ...(prefix === undefined ? {} : { prefix }) };
      const pages =
        input.delimiter === undefined
          ? client.listBlobsFlat(options).byPage(settings)
          : client.listBlobsByHierarchy(input.delimiter, options).byPage(settings);
      const first = await pages.next();
      if (first.done === true) throw new UnexpectedResponseError('Azure answered List Blobs without a page');
      return first.value;
    });
    const segment = page.segment as {
      blobItems?: {
        name?: string;
        properties: { contentLength?: number; etag?: string; lastModified?: Date };
      }[];
      blobPrefixes?: { name?: string }[];
    };
    const objects = (segment.blobItems ?? []).map((item) => {
      if (item.name === undefined)
        throw new UnexpectedResponseError(`Azure listed a blob without a name in "${container}"`);
      return compact({
        key: item.name,
        size: item.properties.contentLength ?? 0,
        etag: unquote(item.properties.etag),
        lastModified: item.properties.lastModified?.toISOString(),
      });
    });
    const commonPrefixes = (segment.blobPrefixes ?? []).flatMap((entry) =>
      entry.name === undefined ? [] : [entry.name],
    );
    const next = page.continuationToken === '' ? undefined : page.continuationToken;
    return compact({
      bucket: container,
      objects,
      commonPrefixes,
      isTruncated: next !== undefined,
      nextContinuationToken: next,
    });
  }

  /** Deletes a blob and its snapshots; a missing blob counts as deleted. */
  async deleteObject(raw: DeleteObjectInput): Promise<DeleteObjectOutput> {
    const input = parseInput(DeleteObjectInput, raw);
    checkBlobNames([input.key, '/key']);
    const container = this.#resolve(input.bucket, '/bucket');
    await this.#call({ action: 'DeleteBlob', container, key: input.key }, (session, abortSignal) =>
      blob(session, container, input.key).deleteIfExists({ abortSignal, deleteSnapshots: 'include' }),
    );
    return { bucket: container, key: input.key, deleted: true };
  }

  /**
   * Server-side Copy Blob, waited for within the budget (same-account copies finish at once). `metadata`
   * replaces the source's in the copy request (an empty one takes Set Blob Metadata: Copy Blob keeps the
   * source's when sent none); `contentType` takes Set Blob Properties, sent the copy's other headers so
   * they are kept.
   */
  async copyObject(raw: CopyObjectInput): Promise<CopyObjectOutput> {
    const input = parseInput(CopyObjectInput, raw);
    checkBlobNames([input.sourceKey, '/sourceKey'], [input.key, '/key']);
    const sourceContainer = this.#resolve(input.sourceBucket, '/sourceBucket');
    const container = this.#resolve(input.bucket, '/bucket');
    const replace = input.metadata !== undefined || input.contentType !== undefined;
    // A missing blob here is the source: the destination need not exist.
    const target: AzureCallTarget = { action: 'CopyBlob', container: sourceContainer, key: input.sourceKey };
    const copied = await this.#call(target, async (session, abortSignal) => {
      const source = blob(session, sourceContainer, input.sourceKey);
      const poller = await blob(session, container, input.key).beginCopyFromURL(source.url, {
        abortSignal,
        ...(replace ? { metadata: input.metadata ?? {} } : {}),
      });
      return poller.pollUntilDone();
    });
    if (copied.copyStatus !== undefined && copied.copyStatus !== 'success') {
      throw new UnexpectedResponseError(
        `Azure ended the copy to "${input.key}" with status ${copied.copyStatus}`,
      );
    }
    let etag = copied.etag;
    let lastModified = copied.lastModified;
    if (input.metadata !== undefined && Object.keys(input.metadata).length === 0) {
      // Copy Blob without x-ms-meta-* keeps the source's metadata; Set Blob Metadata without any removes it.
      const cleared = await this.#call(
        { action: 'SetBlobMetadata', container, key: input.key },
        (session, abortSignal) => blob(session, container, input.key).setMetadata({}, { abortSignal }),
      );
      etag = cleared.etag;
      lastModified = cleared.lastModified;
    }
    if (input.contentType !== undefined) {
      const contentType = input.contentType;
      const set = await this.#call(
        { action: 'SetBlobProperties', container, key: input.key },
        async (session, abortSignal) => {
          // Set Blob Properties clears every x-ms-blob-content-* / cache-control header it is not sent:
          // send the copy's own with the new media type.
          const target = blob(session, container, input.key);
          const held = await target.getProperties({ abortSignal });
          return target.setHTTPHeaders(
            compact({
              blobContentType: contentType,
              blobCacheControl: held.cacheControl,
              blobContentEncoding: held.contentEncoding,
              blobContentLanguage: held.contentLanguage,
              blobContentDisposition: held.contentDisposition,
              blobContentMD5: held.contentMD5,
            }),
            { abortSignal },
          );
        },
      );
      etag = set.etag;
      lastModified = set.lastModified;
    }
    return compact({
      bucket: container,
      key: input.key,
      etag: unquote(etag),
      lastModified: lastModified?.toISOString(),
    });
  }

  /** A SAS URL for GET (read) or PUT (create + write), signed with the account key. */
  async presignUrl(raw: PresignUrlInput): Promise<PresignUrlOutput> {
    const input = parseInput(PresignUrlInput, raw);
    checkBlobNames([input.key, '/key']);
    const container = this.#resolve(input.bucket, '/bucket');
    const expiresIn = input.expiresIn ?? this.#presignExpires;
    const url = await this.#sasUrl(container, input.key, input.method, expiresIn);
    // Put Blob needs the blob type; the media type is the uploader's to send (a SAS cannot require it).
    const headers: Record<string, string> = input.method === 'PUT' ? { 'x-ms-blob-type': 'BlockBlob' } : {};
    if (input.contentType !== undefined) headers['content-type'] = input.contentType;
    return {
      url,
      method: input.method,
      expiresIn,
      expiresAt: new Date(Date.now() + expiresIn * 1000).toISOString(),
      headers,
    };
  }

  /**
   * Proves the credential and the default container (Get Container Properties).
   *
   * @example
   * ```ts
   * await storage.checkContainer(); // throws NotFoundError, AuthError, UnavailableError ...
   * ```
   */
  async checkContainer(): Promise<void> {
    const container = this.#options.container;
    await this.#call({ action: 'GetContainerProperties', container }, (session, abortSignal) =>
      session.service.getContainerClient(container).getProperties({ abortSignal }),
    );
  }

  /** The container a call names (or the configured one), refused when Azure would refuse its name or it is not allowed. */
  #resolve(requested: string | undefined, pointer: string): string {
    const container = requested ?? this.#options.container;
    const problem = requested === undefined ? undefined : azureContainerProblem(requested);
    if (problem !== undefined) {
      throw new ValidationError(`Invalid input: ${pointer}: ${problem}`, [{ pointer, message: problem }]);
    }
    if (!this.#allowed.has(container)) {
      throw new ForbiddenError(
        `Container "${container}" is not one of the allowed containers (AZURE_BLOB_ALLOWED_CONTAINERS)`,
      );
    }
    return container;
  }

  #connect(refresh = false): Promise<Session> {
    if (this.#session !== undefined && !refresh) return this.#session;
    const source = this.#options.credentials;
    const session = (async (): Promise<Session> => {
      if ('credential' in source) return openSession(source.credential, this.#options, this.#timeoutMs);
      if (refresh) await source.secret.refresh();
      const credential = parseCredential(
        await source.secret.text(),
        source.secret.name,
        this.#options.endpoint,
      );
      return openSession(credential, this.#options, this.#timeoutMs);
    })();
    // A failed connect is not kept: the next call tries again.
    session.catch(() => {
      if (this.#session === session) this.#session = undefined;
    });
    this.#session = session;
    return session;
  }

  /** One call within the budget; after an authentication refusal, the secret again and one retry. */
  async #call<T>(
    target: AzureCallTarget,
    run: (session: Session, abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const session = await this.#connect();
    try {
      return await azureCall(target, this.#timeoutMs, (abortSignal) => run(session, abortSignal));
    } catch (error) {
      if (
        !(error instanceof AuthError) ||
        error instanceof ForbiddenError ||
        !('secret' in this.#options.credentials)
      ) {
        throw error;
      }
      const fresh = await this.#connect(true);
      return azureCall(target, this.#timeoutMs, (abortSignal) => run(fresh, abortSignal));
    }
  }

  async #sasUrl(container: string, key: string, method: 'GET' | 'PUT', expiresIn: number): Promise<string> {
    const session = await this.#connect();
    if (session.credential.kind !== 'shared-key') {
      throw new NotSupportedError(
        'Azure Blob Storage with a SAS credential does not support the "presign" capability: a SAS URL is signed with the account key',
      );
    }
    return blob(session, container, key).generateSasUrl({
      permissions: BlobSASPermissions.parse(method === 'GET' ? 'r' : 'cw'),
      expiresOn: new Date(Date.now() + expiresIn * 1000),
      protocol: session.credential.endpoint.startsWith('https:')
        ? SASProtocol.Https
        : SASProtocol.HttpsAndHttp,
    });
  }
}

function openSession(
  credential: AzureCredential,
  options: AzureBlobStorageOptions,
  timeoutMs: number,
): Session {
  const pipeline: StoragePipelineOptions = {
    retryOptions: {
      maxTries: options.maxAttempts ?? 3,
      tryTimeoutInMs: timeoutMs,
      retryDelayInMs: 200,
      maxRetryDelayInMs: 2000,
    },
    keepAliveOptions: { enable: true },
  };
  const service =
    credential.kind === 'shared-key'
      ? new BlobServiceClient(
          credential.endpoint,
          new StorageSharedKeyCredential(credential.accountName, credential.accountKey),
          pipeline,
        )
      : new BlobServiceClient(
          `${credential.endpoint}?${credential.sasToken}`,
          new AnonymousCredential(),
          pipeline,
        );
  return { credential, service };
}

/** Refuses, before any call, the keys Azure would refuse as blob names (ValidationError naming each field). */
function checkBlobNames(...keys: [key: string, pointer: string][]): void {
  const issues = keys.flatMap(([key, pointer]) => {
    const message = azureBlobNameProblem(key);
    return message === undefined ? [] : [{ pointer, message }];
  });
  if (issues.length > 0) {
    const detail = issues.map((issue) => `${issue.pointer}: ${issue.message}`).join('; ');
    throw new ValidationError(`Invalid input: ${detail}`, issues);
  }
}

function blob(session: Session, container: string, key: string): BlockBlobClient {
  return containerOf(session, container).getBlockBlobClient(key);
}

function containerOf(session: Session, container: string): ContainerClient {
  return session.service.getContainerClient(container);
}

interface PropertiesLike {
  contentLength?: number;
  contentType?: string;
  etag?: string;
  lastModified?: Date;
  versionId?: string;
  metadata?: Record<string, string>;
}

function describeBlob(container: string, key: string, response: PropertiesLike): ObjectInfo {
  return compact({
    bucket: container,
    key,
    size: response.contentLength ?? 0,
    contentType: response.contentType,
    etag: unquote(response.etag),
    lastModified: response.lastModified?.toISOString(),
    versionId: response.versionId,
    metadata: lowerCaseNames(response.metadata ?? {}),
  });
}

/** Azure keeps a metadata name's case as written; the interface answers names lower-case on every store. */
function lowerCaseNames(metadata: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(metadata).map(([name, value]) => [name.toLowerCase(), value]));
}
