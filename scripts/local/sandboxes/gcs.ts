/**
 * The contract fake of Google Cloud Storage, on the contract-fake kit: what the GCS connector's tests run
 * against, and what the local stack serves as its sandbox (`npx node scripts/local/sandboxes/gcs.ts [port]`).
 * It follows Google's published references: the JSON API (`storage/v1`), its upload endpoint, OAuth2's JWT
 * bearer grant for service accounts, and V4 signed URLs on the XML API's path-style URLs.
 *
 * What it speaks:
 * - `POST /token` (`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion=<JWT>`): the RS256
 *   assertion is verified with the public key of its `iss` (a registered service account), `aud` must be
 *   this endpoint or Google's, `exp - iat` at most an hour, a storage scope; answers
 *   `{ access_token, expires_in, token_type: 'Bearer' }`, else 400 `{ error: 'invalid_grant', error_description }`;
 * - every JSON API call needs `Authorization: Bearer <access token>` issued here (a token whose account
 *   was removed, a rotated key, is 401 `authError`);
 * - `GET /storage/v1/b/:bucket`, `GET /storage/v1/b/:bucket/o` (`prefix`, `delimiter`, `maxResults` 1-1000
 *   counting objects and prefixes, `pageToken`/`nextPageToken`), `GET .../o/:object` (`alt=media` for the
 *   bytes, `generation`), `DELETE .../o/:object` (204), `POST .../o/:object/rewriteTo/b/:b/o/:o` (an empty
 *   body copies the source's `contentType`/`cacheControl`/`metadata`, any other body is them as a whole;
 *   `ifSourceGenerationMatch`; `rewriteToken` while `done` is false) and `copyTo`;
 * - `POST /upload/storage/v1/b/:bucket/o?uploadType=media&name=` or `uploadType=multipart`
 *   (`multipart/related`: the resource JSON, then the media); `ifGenerationMatch` (`0`: only if absent)
 *   fails with 412 `conditionNotMet`;
 * - errors as `{ "error": { "code", "message", "errors": [{ "domain": "global", "reason", "message" }] } }`;
 * - V4 signed URLs: `GET`/`PUT /:bucket/:object?X-Goog-Algorithm=GOOG4-RSA-SHA256&...`, the canonical
 *   request rebuilt from the request received and the signature checked with the account's public key;
 *   XML errors (`SignatureDoesNotMatch` 403, `ExpiredToken` 400, `NoSuchKey` 404).
 *
 * Seed: the sandbox service account ({@link sandboxServiceAccount}); buckets `circle-core-sandbox` and
 * the ones passed in, each holding `hello.txt` and `reports/2024/06/summary.csv`.
 *
 * @example
 * ```ts
 * const fake = await startGcsFake({ buckets: ['data'] });
 * process.env['GCS_API_URL'] = fake.url;
 * fake.inject({ kind: 'throttled', retryAfterSeconds: 1 }, { route: 'get-object' });
 * ```
 */
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
  verify,
} from 'node:crypto';
import { resolve } from 'node:path';
import {
  type Answer,
  type ErrorDialect,
  type ErrorKind,
  type FakeDefinition,
  type FakeRequest,
  type FakeServer,
  json,
  refuse,
  type StartOptions,
  startFake,
} from './kit/index.ts';

/** The sandbox bucket every fake holds. */
export const GCS_SANDBOX_BUCKET = 'circle-core-sandbox';
/** Google's token endpoint: a key file's usual `token_uri`, accepted as the assertion's audience. */
const GOOGLE_TOKEN_URL = 'https://oauth2.googleapis.com/token';
const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const STORAGE_SCOPES = [
  'https://www.googleapis.com/auth/devstorage.read_write',
  'https://www.googleapis.com/auth/devstorage.full_control',
  'https://www.googleapis.com/auth/cloud-platform',
];

export interface GcsFakeObject {
  name: string;
  bytes: Buffer;
  contentType: string;
  metadata: Record<string, string> | undefined;
  cacheControl: string | undefined;
  generation: number;
  updated: string;
}

export interface GcsFakeState {
  /** Bucket -> object name -> object. */
  buckets: Map<string, Map<string, GcsFakeObject>>;
  /** Service account e-mail -> its public key (removing one revokes its key and tokens). */
  accounts: Map<string, KeyObject>;
  /** Access token -> the account it was issued to and when it expires (epoch ms). */
  tokens: Map<string, { email: string; expiresAt: number }>;
  /** The last generation given out. */
  generation: number;
  /** Calls a rewrite takes before `done` (1: at once); tests raise it to exercise `rewriteToken`. */
  rewriteCalls: number;
}

/** A service account key file and its e-mail. */
export interface FakeServiceAccount {
  email: string;
  /** The key file as Google issues it (JSON), `token_uri` as given. */
  keyFile: string;
  publicKey: KeyObject;
}

/**
 * A fresh service account key (RSA 2048) whose key file names `tokenUri`.
 *
 * @example
 * ```ts
 * const account = newServiceAccount('ci@project.iam.gserviceaccount.com', `${fake.url}/token`);
 * fake.state.accounts.set(account.email, account.publicKey);
 * ```
 */
export function newServiceAccount(email: string, tokenUri = GOOGLE_TOKEN_URL): FakeServiceAccount {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyFile = JSON.stringify({
    type: 'service_account',
    project_id: 'circle-core-sandbox',
    private_key_id: randomUUID().replaceAll('-', ''),
    private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }),
    client_email: email,
    client_id: '100000000000000000001',
    token_uri: tokenUri,
  });
  return { email, keyFile, publicKey };
}

let sandbox: FakeServiceAccount | undefined;

/** The sandbox's service account, made once per process: not a secret, it opens only this fake. */
export function sandboxServiceAccount(): FakeServiceAccount {
  sandbox ??= newServiceAccount('sandbox@circle-core-sandbox.iam.gserviceaccount.com');
  return sandbox;
}

/**
 * Lets a key file (as the local stack found it stored) into the fake: its public key is derived from
 * the private key it holds. Anything else is ignored.
 */
export function acceptKeyFile(state: GcsFakeState, keyFile: string): void {
  try {
    const parsed = JSON.parse(keyFile) as { client_email?: unknown; private_key?: unknown };
    if (typeof parsed.client_email === 'string' && typeof parsed.private_key === 'string') {
      state.accounts.set(parsed.client_email, createPublicKey(parsed.private_key));
    }
  } catch {
    // Not a key file: nothing to accept.
  }
}

const REASONS: Readonly<Record<ErrorKind, [reason: string, message: string]>> = {
  unauthorized: ['authError', 'Invalid Credentials'],
  forbidden: ['forbidden', 'The caller does not have storage.objects permission.'],
  'not-found': ['notFound', 'Not Found'],
  conflict: ['conflict', 'The object is being changed by another request.'],
  throttled: ['rateLimitExceeded', 'The project exceeded the rate limit for Cloud Storage.'],
  'server-error': ['backendError', 'Backend Error'],
};

/** The JSON API's error body. */
function failure(status: number, reason: string, message: string): Answer {
  return json(status, { error: { code: status, message, errors: [{ domain: 'global', reason, message }] } });
}

/** Google Cloud Storage's error bodies. */
export const gcsErrors: ErrorDialect = (kind, { status }) => {
  const [reason, message] = REASONS[kind];
  const answer = failure(status, reason, message);
  return kind === 'unauthorized'
    ? { ...answer, headers: { 'www-authenticate': 'Bearer realm="https://accounts.google.com/"' } }
    : answer;
};

const xmlError = (status: number, code: string, message: string): Answer => ({
  status,
  body: `<?xml version='1.0' encoding='UTF-8'?><Error><Code>${code}</Code><Message>${message}</Message></Error>`,
  contentType: 'application/xml; charset=UTF-8',
});

const seedObject = (name: string, text: string, contentType: string, generation: number): GcsFakeObject => ({
  name,
  bytes: Buffer.from(text),
  contentType,
  metadata: { source: 'sandbox' },
  cacheControl: undefined,
  generation,
  updated: '2024-06-01T00:00:00.000Z',
});

function seedBucket(): Map<string, GcsFakeObject> {
  return new Map([
    ['hello.txt', seedObject('hello.txt', 'Hello from the Google Cloud Storage sandbox\n', 'text/plain', 1)],
    [
      'reports/2024/06/summary.csv',
      seedObject('reports/2024/06/summary.csv', 'region,total\neu,42\nus,17\n', 'text/csv', 2),
    ],
  ]);
}

/** The object resource (`storage#object`) as the JSON API answers it. */
function resourceOf(bucket: string, object: GcsFakeObject, url: string): Record<string, unknown> {
  const id = `${bucket}/${object.name}/${object.generation}`;
  const encoded = encodeURIComponent(object.name);
  return {
    kind: 'storage#object',
    id,
    selfLink: `${url}/storage/v1/b/${bucket}/o/${encoded}`,
    mediaLink: `${url}/download/storage/v1/b/${bucket}/o/${encoded}?generation=${object.generation}&alt=media`,
    name: object.name,
    bucket,
    generation: String(object.generation),
    metageneration: '1',
    contentType: object.contentType,
    storageClass: 'STANDARD',
    size: String(object.bytes.length),
    md5Hash: createHash('md5').update(object.bytes).digest('base64'),
    etag: Buffer.from(`gen-${object.generation}`).toString('base64'),
    timeCreated: object.updated,
    updated: object.updated,
    ...(object.cacheControl === undefined ? {} : { cacheControl: object.cacheControl }),
    ...(object.metadata === undefined ? {} : { metadata: object.metadata }),
  };
}

function bucketOf(state: GcsFakeState, name: string): Map<string, GcsFakeObject> {
  return state.buckets.get(name) ?? refuse(failure(404, 'notFound', 'The specified bucket does not exist.'));
}

function objectOf(state: GcsFakeState, bucket: string, name: string): GcsFakeObject {
  return (
    bucketOf(state, bucket).get(name) ?? refuse(failure(404, 'notFound', `No such object: ${bucket}/${name}`))
  );
}

/** `ifGenerationMatch`: `0` only when absent, else the live generation. */
function checkPreconditions(request: FakeRequest, existing: GcsFakeObject | undefined): void {
  const wanted = request.query['ifGenerationMatch'];
  if (wanted === undefined) return;
  if (!/^\d+$/.test(wanted))
    refuse(failure(400, 'invalid', `Invalid value for ifGenerationMatch: ${wanted}`));
  const live = existing?.generation ?? 0;
  if (Number(wanted) !== live) {
    refuse(failure(412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.'));
  }
}

const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Parts of a `multipart/related` body: each part's headers and bytes. */
function multipartParts(
  bytes: Buffer,
  boundary: string,
): { headers: Record<string, string>; body: Buffer }[] {
  const marker = Buffer.from(`--${boundary}`);
  const parts: { headers: Record<string, string>; body: Buffer }[] = [];
  let at = bytes.indexOf(marker);
  while (at !== -1) {
    const start = at + marker.length;
    if (bytes.subarray(start, start + 2).toString() === '--') break;
    const next = bytes.indexOf(marker, start);
    if (next === -1) break;
    const part = bytes.subarray(start + 2, next - 2); // after CRLF, before CRLF
    const split = part.indexOf('\r\n\r\n');
    if (split === -1) break;
    const headers: Record<string, string> = {};
    for (const line of part.subarray(0, split).toString('utf8').split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    parts.push({ headers, body: part.subarray(split + 4) });
    at = next;
  }
  return parts;
}

interface Upload {
  name: unknown;
  contentType: string;
  metadata: unknown;
  cacheControl: unknown;
  bytes: Buffer;
}

function uploadOf(request: FakeRequest): Upload {
  const type = request.query['uploadType'];
  if (type === 'media') {
    return {
      name: request.query['name'],
      contentType: request.headers['content-type'] ?? 'application/octet-stream',
      metadata: undefined,
      cacheControl: undefined,
      bytes: request.bytes,
    };
  }
  if (type !== 'multipart') {
    refuse(failure(400, 'invalid', 'uploadType must be media, multipart or resumable (not offered here)'));
  }
  const boundary = /boundary="?([^";]+)"?/i.exec(request.headers['content-type'] ?? '')?.[1];
  const parts = boundary === undefined ? [] : multipartParts(request.bytes, boundary);
  const [meta, media] = parts;
  if (meta === undefined || media === undefined) {
    refuse(failure(400, 'invalid', 'Invalid multipart request: expected metadata and media parts'));
  }
  let resource: Record<string, unknown>;
  try {
    resource = JSON.parse(meta.body.toString('utf8')) as Record<string, unknown>;
  } catch {
    refuse(failure(400, 'parseError', 'Parse Error'));
  }
  return {
    name: resource['name'] ?? request.query['name'],
    contentType:
      (typeof resource['contentType'] === 'string' ? resource['contentType'] : undefined) ??
      media.headers['content-type'] ??
      'application/octet-stream',
    metadata: resource['metadata'],
    cacheControl: resource['cacheControl'],
    bytes: media.body,
  };
}

function stringRecord(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) refuse(failure(400, 'invalid', 'Invalid metadata'));
  return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

/** The name a page token says the last page ended at; a token not of ours is 400 invalid. */
function pageMarker(token: string | undefined): string | undefined {
  if (token === undefined) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { after?: unknown };
    if (typeof parsed.after === 'string') return parsed.after;
  } catch {
    // Refused below.
  }
  return refuse(failure(400, 'invalid', 'Invalid page token'));
}

/** One listing page: objects and prefixes in byte order, counted together against `maxResults`. */
function listPage(state: GcsFakeState, bucket: string, request: FakeRequest): Record<string, unknown> {
  const objects = bucketOf(state, bucket);
  const prefix = request.query['prefix'] ?? '';
  const delimiter = request.query['delimiter'];
  const maxResults = Number(request.query['maxResults'] ?? 1000);
  if (!Number.isInteger(maxResults) || maxResults < 1) {
    refuse(failure(400, 'invalid', `Invalid value for maxResults: ${request.query['maxResults']}`));
  }
  const after = pageMarker(request.query['pageToken']);
  const entries = new Map<string, 'object' | 'prefix'>();
  for (const name of [...objects.keys()].sort(byteOrder)) {
    if (!name.startsWith(prefix)) continue;
    const cut = delimiter === undefined ? -1 : name.indexOf(delimiter, prefix.length);
    if (delimiter !== undefined && cut !== -1) entries.set(name.slice(0, cut + delimiter.length), 'prefix');
    else entries.set(name, 'object');
  }
  const ordered = [...entries].filter(([key]) => after === undefined || byteOrder(key, after) > 0);
  const page = ordered.slice(0, maxResults);
  const last = page.at(-1)?.[0];
  const items = page.flatMap(([key, kind]) => {
    const object = objects.get(key);
    return kind === 'object' && object !== undefined ? [resourceOf(bucket, object, '')] : [];
  });
  const prefixes = page.flatMap(([key, kind]) => (kind === 'prefix' ? [key] : []));
  return {
    kind: 'storage#objects',
    ...(items.length > 0 ? { items } : {}),
    ...(prefixes.length > 0 ? { prefixes } : {}),
    ...(ordered.length > maxResults && last !== undefined
      ? { nextPageToken: Buffer.from(JSON.stringify({ after: last })).toString('base64url') }
      : {}),
  };
}

/**
 * The destination of a copy or rewrite. objects.rewrite and objects.copy (JSON API reference): "If the
 * request body is empty, editable metadata from the source object is applied to the destination object";
 * a body with any field is the destination's editable metadata as a whole (what it leaves out is unset, and
 * the media type defaults as on an upload).
 */
function copied(
  state: GcsFakeState,
  request: FakeRequest,
  source: GcsFakeObject,
  name: string,
): GcsFakeObject {
  const body = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<
    string,
    unknown
  >;
  const replaced = Object.keys(body).length > 0;
  state.generation += 1;
  return {
    name,
    bytes: Buffer.from(source.bytes),
    contentType: !replaced
      ? source.contentType
      : typeof body['contentType'] === 'string'
        ? body['contentType']
        : 'application/octet-stream',
    metadata: replaced ? stringRecord(body['metadata']) : source.metadata,
    cacheControl: !replaced
      ? source.cacheControl
      : typeof body['cacheControl'] === 'string'
        ? body['cacheControl']
        : undefined,
    generation: state.generation,
    updated: new Date().toISOString(),
  };
}

/** `ifSourceGenerationMatch` of a copy or rewrite: 412 unless the source is at that generation. */
function checkSourcePrecondition(request: FakeRequest, source: GcsFakeObject): void {
  const wanted = request.query['ifSourceGenerationMatch'];
  if (wanted === undefined) return;
  if (!/^\d+$/.test(wanted)) {
    refuse(failure(400, 'invalid', `Invalid value for ifSourceGenerationMatch: ${wanted}`));
  }
  if (Number(wanted) !== source.generation) {
    refuse(failure(412, 'conditionNotMet', 'At least one of the pre-conditions you specified did not hold.'));
  }
}

const RFC3986 = (value: string): string =>
  encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

/** Checks a V4 signed URL request (GOOG4-RSA-SHA256) against the account's public key. */
function checkSignedUrl(request: FakeRequest, state: GcsFakeState): void {
  const query = request.query;
  if (query['X-Goog-Algorithm'] !== 'GOOG4-RSA-SHA256' || query['X-Goog-Signature'] === undefined) {
    refuse(xmlError(400, 'AuthenticationRequired', 'Authentication required: expected a V4 signed URL'));
  }
  const credential = /^([^/]+)\/(\d{8})\/auto\/storage\/goog4_request$/.exec(
    query['X-Goog-Credential'] ?? '',
  );
  const date = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(query['X-Goog-Date'] ?? '');
  const expires = Number(query['X-Goog-Expires']);
  const signedHeaders = (query['X-Goog-SignedHeaders'] ?? '').split(';');
  if (credential === null || date === null || !Number.isInteger(expires) || !signedHeaders.includes('host')) {
    refuse(xmlError(400, 'AuthorizationQueryParametersError', 'Malformed V4 signed URL parameters'));
  }
  if (expires < 1 || expires > 604_800) {
    refuse(xmlError(400, 'AuthorizationQueryParametersError', 'X-Goog-Expires must be 1-604800'));
  }
  const [, year, month, day, hour, minute, second] = date.map(Number);
  const signedAt = Date.UTC(year ?? 0, (month ?? 1) - 1, day ?? 0, hour ?? 0, minute ?? 0, second ?? 0);
  if (Date.now() > signedAt + expires * 1000)
    refuse(xmlError(400, 'ExpiredToken', 'The provided token has expired.'));
  const [, email = '', day8 = ''] = credential;
  const publicKey = state.accounts.get(email);
  if (publicKey === undefined) refuse(xmlError(403, 'AccessDenied', 'Unknown service account'));
  const pairs = (request.search ?? '')
    .replace(/^\?/, '')
    .split('&')
    .filter((pair) => pair !== '' && !pair.startsWith('X-Goog-Signature='))
    .map((pair) => {
      const [name = '', value = ''] = pair.split('=');
      return `${RFC3986(decodeURIComponent(name))}=${RFC3986(decodeURIComponent(value.replaceAll('+', ' ')))}`;
    })
    .sort();
  const headerLines = signedHeaders
    .map((name) => `${name}:${(request.headers[name] ?? '').trim()}\n`)
    .join('');
  const canonical = [
    request.method,
    request.path,
    pairs.join('&'),
    headerLines,
    signedHeaders.join(';'),
    'UNSIGNED-PAYLOAD',
  ].join('\n');
  const scope = `${day8}/auto/storage/goog4_request`;
  const toSign = [
    'GOOG4-RSA-SHA256',
    query['X-Goog-Date'],
    scope,
    createHash('sha256').update(canonical).digest('hex'),
  ].join('\n');
  const signature = Buffer.from(query['X-Goog-Signature'] ?? '', 'hex');
  if (!verify('sha256', Buffer.from(toSign), publicKey, signature)) {
    refuse(
      xmlError(
        403,
        'SignatureDoesNotMatch',
        'The request signature we calculated does not match the signature you provided.',
      ),
    );
  }
}

function base64UrlJson(part: string | undefined): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const grantError = (description: string): Answer =>
  json(400, { error: 'invalid_grant', error_description: description });

/** The JWT bearer grant: verify the assertion, issue an access token. */
function issueToken(request: FakeRequest, state: GcsFakeState, url: string): Answer {
  const form = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<
    string,
    string
  >;
  if (form['grant_type'] !== JWT_BEARER_GRANT) {
    return json(400, { error: 'unsupported_grant_type', error_description: 'Invalid grant_type' });
  }
  const [header, payload, signature] = (form['assertion'] ?? '').split('.');
  const head = base64UrlJson(header);
  const claims = base64UrlJson(payload);
  if (head === undefined || claims === undefined || signature === undefined || head['alg'] !== 'RS256') {
    return grantError('Invalid JWT: malformed assertion');
  }
  const publicKey = typeof claims['iss'] === 'string' ? state.accounts.get(claims['iss']) : undefined;
  if (publicKey === undefined) return grantError('Invalid JWT Signature.');
  const signed = verify(
    'sha256',
    Buffer.from(`${header}.${payload}`),
    publicKey,
    Buffer.from(signature, 'base64url'),
  );
  if (!signed) return grantError('Invalid JWT Signature.');
  if (claims['aud'] !== `${url}/token` && claims['aud'] !== GOOGLE_TOKEN_URL) {
    return grantError('Invalid JWT: Failed audience check.');
  }
  const now = Math.floor(Date.now() / 1000);
  const iat = Number(claims['iat']);
  const exp = Number(claims['exp']);
  if (!(exp > now) || !(iat <= now + 60) || exp - iat > 3600) {
    return grantError(
      'Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.',
    );
  }
  const scopes = String(claims['scope'] ?? '').split(' ');
  if (!scopes.some((scope) => STORAGE_SCOPES.includes(scope))) {
    return json(400, { error: 'invalid_scope', error_description: 'No storage scope in the assertion' });
  }
  const token = `ya29.fake-${randomUUID()}`;
  state.tokens.set(token, { email: claims['iss'] as string, expiresAt: Date.now() + 3_599_000 });
  return json(200, { access_token: token, expires_in: 3599, token_type: 'Bearer' });
}

/**
 * The fake's definition, for `startFake` or a sandbox.
 *
 * @example
 * ```ts
 * const fake = await startFake(gcsFake(['data']));
 * ```
 */
export function gcsFake(buckets: readonly string[] = []): FakeDefinition<GcsFakeState> {
  return {
    name: 'Google Cloud Storage',
    seed: () => {
      const account = sandboxServiceAccount();
      return {
        buckets: new Map([GCS_SANDBOX_BUCKET, ...buckets].map((name) => [name, seedBucket()])),
        accounts: new Map([[account.email, account.publicKey]]),
        tokens: new Map(),
        generation: 100,
        rewriteCalls: 1,
      };
    },
    errors: gcsErrors,
    // The signed assertion is a credential for its life: the log keeps the grant type only.
    secretFields: ['assertion'],
    authorize: ({ request, state }) => {
      const issued = state.tokens.get(request.token ?? '');
      const live = issued !== undefined && issued.expiresAt > Date.now() && state.accounts.has(issued.email);
      return live ? undefined : 'unauthorized';
    },
    routes: [
      {
        name: 'token',
        method: 'POST',
        path: '/token',
        auth: false,
        handle: ({ request, state, url }) => issueToken(request, state, url),
      },
      {
        name: 'get-bucket',
        method: 'GET',
        path: '/storage/v1/b/:bucket',
        handle: ({ params, state }) => {
          bucketOf(state, params['bucket'] ?? '');
          return json(200, { kind: 'storage#bucket', name: params['bucket'] });
        },
      },
      {
        name: 'list-objects',
        method: 'GET',
        path: '/storage/v1/b/:bucket/o',
        handle: ({ params, request, state }) => json(200, listPage(state, params['bucket'] ?? '', request)),
      },
      {
        name: 'get-object',
        method: 'GET',
        path: '/storage/v1/b/:bucket/o/:object',
        handle: ({ params, request, state, url }) => {
          const bucket = params['bucket'] ?? '';
          const object = objectOf(state, bucket, params['object'] ?? '');
          const generation = request.query['generation'];
          if (generation !== undefined && generation !== String(object.generation)) {
            refuse(failure(404, 'notFound', `No such object: ${bucket}/${object.name}#${generation}`));
          }
          if (request.query['alt'] === 'media') {
            return {
              status: 200,
              body: object.bytes,
              contentType: object.contentType,
              headers: { 'x-goog-generation': String(object.generation) },
            };
          }
          return json(200, resourceOf(bucket, object, url));
        },
      },
      {
        name: 'delete-object',
        method: 'DELETE',
        path: '/storage/v1/b/:bucket/o/:object',
        handle: ({ params, state }) => {
          const bucket = params['bucket'] ?? '';
          objectOf(state, bucket, params['object'] ?? '');
          bucketOf(state, bucket).delete(params['object'] ?? '');
          return { status: 204 };
        },
      },
      {
        name: 'rewrite-object',
        method: 'POST',
        path: '/storage/v1/b/:bucket/o/:object/rewriteTo/b/:destinationBucket/o/:destinationObject',
        handle: ({ params, request, state, url }) => {
          const source = objectOf(state, params['bucket'] ?? '', params['object'] ?? '');
          const target = bucketOf(state, params['destinationBucket'] ?? '');
          const name = params['destinationObject'] ?? '';
          checkPreconditions(request, target.get(name));
          checkSourcePrecondition(request, source);
          const step = Number(request.query['rewriteToken']?.replace(/^step-/, '') ?? 0) + 1;
          const size = String(source.bytes.length);
          if (step < state.rewriteCalls) {
            return json(200, {
              kind: 'storage#rewriteResponse',
              totalBytesRewritten: '0',
              objectSize: size,
              done: false,
              rewriteToken: `step-${step}`,
            });
          }
          const copy = copied(state, request, source, name);
          target.set(name, copy);
          return json(200, {
            kind: 'storage#rewriteResponse',
            totalBytesRewritten: size,
            objectSize: size,
            done: true,
            resource: resourceOf(params['destinationBucket'] ?? '', copy, url),
          });
        },
      },
      {
        name: 'copy-object',
        method: 'POST',
        path: '/storage/v1/b/:bucket/o/:object/copyTo/b/:destinationBucket/o/:destinationObject',
        handle: ({ params, request, state, url }) => {
          const source = objectOf(state, params['bucket'] ?? '', params['object'] ?? '');
          const target = bucketOf(state, params['destinationBucket'] ?? '');
          const name = params['destinationObject'] ?? '';
          checkPreconditions(request, target.get(name));
          checkSourcePrecondition(request, source);
          const copy = copied(state, request, source, name);
          target.set(name, copy);
          return json(200, resourceOf(params['destinationBucket'] ?? '', copy, url));
        },
      },
      {
        name: 'insert-object',
        method: 'POST',
        path: '/upload/storage/v1/b/:bucket/o',
        handle: ({ params, request, state, url }) => {
          const bucket = params['bucket'] ?? '';
          const objects = bucketOf(state, bucket);
          const upload = uploadOf(request);
          if (typeof upload.name !== 'string' || upload.name === '') {
            refuse(failure(400, 'required', 'Required: object name'));
          }
          checkPreconditions(request, objects.get(upload.name));
          state.generation += 1;
          const object: GcsFakeObject = {
            name: upload.name,
            bytes: Buffer.from(upload.bytes),
            contentType: upload.contentType,
            metadata: stringRecord(upload.metadata),
            cacheControl: typeof upload.cacheControl === 'string' ? upload.cacheControl : undefined,
            generation: state.generation,
            updated: new Date().toISOString(),
          };
          objects.set(object.name, object);
          return json(200, resourceOf(bucket, object, url));
        },
      },
      {
        name: 'signed-get',
        method: 'GET',
        path: '/:bucket/*object',
        auth: false,
        handle: ({ params, request, state }) => {
          checkSignedUrl(request, state);
          const object = state.buckets.get(params['bucket'] ?? '')?.get(params['object'] ?? '');
          if (object === undefined) return xmlError(404, 'NoSuchKey', 'The specified key does not exist.');
          return { status: 200, body: object.bytes, contentType: object.contentType };
        },
      },
      {
        name: 'signed-put',
        method: 'PUT',
        path: '/:bucket/*object',
        auth: false,
        handle: ({ params, request, state }) => {
          checkSignedUrl(request, state);
          const objects = state.buckets.get(params['bucket'] ?? '');
          if (objects === undefined)
            return xmlError(404, 'NoSuchBucket', 'The specified bucket does not exist.');
          state.generation += 1;
          const name = params['object'] ?? '';
          objects.set(name, {
            name,
            bytes: Buffer.from(request.bytes),
            contentType: request.headers['content-type'] ?? 'application/octet-stream',
            metadata: undefined,
            cacheControl: undefined,
            generation: state.generation,
            updated: new Date().toISOString(),
          });
          return {
            status: 200,
            headers: { etag: `"${state.generation}"`, 'x-goog-generation': String(state.generation) },
          };
        },
      },
    ],
  };
}

export interface GcsFakeOptions extends StartOptions {
  /** Buckets besides {@link GCS_SANDBOX_BUCKET}, each seeded like it. */
  buckets?: readonly string[];
}

/**
 * Starts the fake on 127.0.0.1 (an ephemeral port unless told).
 *
 * @example
 * ```ts
 * const fake = await startGcsFake({ buckets: ['data'] });
 * ```
 */
export function startGcsFake(options: GcsFakeOptions = {}): Promise<FakeServer<GcsFakeState>> {
  const { buckets, ...start } = options;
  return startFake(gcsFake(buckets), start);
}

// As a sandbox: `npx node scripts/local/sandboxes/gcs.ts [port]` serves the fake until stopped.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const fake = await startGcsFake({ port: Number(process.argv[2] ?? 0) });
  console.log(`Google Cloud Storage sandbox: GCS_API_URL=${fake.url} GCS_TOKEN_URL=${fake.url}/token`);
  console.log(sandboxServiceAccount().keyFile);
}
