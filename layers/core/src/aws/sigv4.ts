/**
 * AWS Signature Version 4 for the few requests the core signs by hand (Secrets Manager's GetSecretValue at
 * cold start): the canonical request, the string to sign and the derived key, as AWS documents them.
 * Credentials come from the environment, which is where Lambda puts the function role's session; anything
 * else (profiles, SSO, container credentials) is the AWS SDK's default chain.
 */
import { createHash, createHmac } from 'node:crypto';

/** The credentials a request is signed with. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string | undefined;
}

/**
 * The credentials in `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN` (Lambda sets all
 * three for the function's role), or `undefined` when either key is missing.
 *
 * @example
 * ```ts
 * const credentials = environmentCredentials(); // undefined on a laptop with only a profile
 * ```
 */
export function environmentCredentials(env: NodeJS.ProcessEnv = process.env): AwsCredentials | undefined {
  const accessKeyId = env['AWS_ACCESS_KEY_ID'];
  const secretAccessKey = env['AWS_SECRET_ACCESS_KEY'];
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = env['AWS_SESSION_TOKEN'] || undefined;
  return { accessKeyId, secretAccessKey, sessionToken };
}

/** A request to sign: its headers receive `x-amz-date`, `x-amz-security-token` and `authorization`. */
export interface SignableRequest {
  readonly method: string;
  readonly url: URL;
  /** Lower-case names. `host` is added from the URL when absent. */
  readonly headers: Record<string, string>;
  /** Hex SHA-256 of the body (see {@link sha256Hex}). */
  readonly payloadHash: string;
  /** Lower-case names of other headers to sign (Vault's `x-vault-aws-iam-server-id`). */
  readonly alsoSign?: readonly string[] | undefined;
}

export interface SigningScope {
  readonly credentials: AwsCredentials;
  readonly region: string;
  /** The signing name: `secretsmanager`, `sqs`, ... */
  readonly service: string;
  /** The signing time; default now. */
  readonly now?: Date | undefined;
}

/**
 * Hex SHA-256 of a body, as the canonical request and `x-amz-content-sha256` carry it.
 *
 * @example
 * ```ts
 * sha256Hex(''); // 'e3b0c442...b855'
 * ```
 */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** RFC 3986 encoding, as SigV4 wants it: everything but unreserved characters, `%XX` upper case. */
function encodeRfc3986(text: string): string {
  return encodeURIComponent(text).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Every service but S3 encodes each path segment twice: the URL's path is encoded once already. */
function canonicalPath(url: URL): string {
  return url.pathname
    .split('/')
    .map((segment) => encodeRfc3986(segment))
    .join('/');
}

function canonicalQuery(url: URL): string {
  const pairs = [...url.searchParams].map(([name, value]) => [encodeRfc3986(name), encodeRfc3986(value)]);
  pairs.sort(([a = '', x = ''], [b = '', y = '']) => (a < b ? -1 : a > b ? 1 : x < y ? -1 : x > y ? 1 : 0));
  return pairs.map(([name, value]) => `${name}=${value}`).join('&');
}

/** Signed: `host`, `content-type`, every `x-amz-*` header and those asked for; the rest may change in transit. */
function signedHeaderNames(headers: Record<string, string>, alsoSign: readonly string[] = []): string[] {
  return Object.keys(headers)
    .filter(
      (name) =>
        name === 'host' || name === 'content-type' || name.startsWith('x-amz-') || alsoSign.includes(name),
    )
    .sort();
}

/** `YYYYMMDDTHHMMSSZ`. */
function amzDate(now: Date): string {
  return now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d{3}/, '');
}

/** The derived key changes once a day per region and service: computed once per container and day. */
const signingKeys = new Map<string, Buffer>();

function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  const cacheKey = `${date}/${region}/${service}/${secretAccessKey}`;
  let key = signingKeys.get(cacheKey);
  if (key === undefined) {
    const dateKey = createHmac('sha256', `AWS4${secretAccessKey}`).update(date).digest();
    const regionKey = createHmac('sha256', dateKey).update(region).digest();
    const serviceKey = createHmac('sha256', regionKey).update(service).digest();
    key = createHmac('sha256', serviceKey).update('aws4_request').digest();
    // A rotated key or a new day replaces the old entry rather than growing the map.
    signingKeys.clear();
    signingKeys.set(cacheKey, key);
  }
  return key;
}

/**
 * Signs `request` in place with SigV4: sets `host` (from the URL when absent), `x-amz-date`,
 * `x-amz-security-token` (with a session token) and `authorization`.
 *
 * @example
 * ```ts
 * const body = JSON.stringify({ SecretId: 'app/token' });
 * const headers = { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'secretsmanager.GetSecretValue' };
 * signV4({ method: 'POST', url, headers, payloadHash: sha256Hex(body) }, { credentials, region: 'eu-west-1', service: 'secretsmanager' });
 * ```
 */
export function signV4(request: SignableRequest, scope: SigningScope): void {
  const { headers, url } = request;
  const { credentials, region, service } = scope;
  const timestamp = amzDate(scope.now ?? new Date());
  const date = timestamp.slice(0, 8);
  headers['host'] ??= url.host;
  headers['x-amz-date'] = timestamp;
  if (credentials.sessionToken !== undefined) headers['x-amz-security-token'] = credentials.sessionToken;
  else delete headers['x-amz-security-token'];
  const names = signedHeaderNames(headers, request.alsoSign);
  const signedHeaders = names.join(';');
  const canonicalHeaders = names
    .map((name) => `${name}:${String(headers[name]).trim().replace(/\s+/g, ' ')}\n`)
    .join('');
  const canonicalRequest = [
    request.method.toUpperCase(),
    canonicalPath(url),
    canonicalQuery(url),
    canonicalHeaders,
    signedHeaders,
    request.payloadHash,
  ].join('\n');
  const credentialScope = `${date}/${region}/${service}/aws4_request`;
  const stringToSign = ['AWS4-HMAC-SHA256', timestamp, credentialScope, sha256Hex(canonicalRequest)].join(
    '\n',
  );
  const signature = createHmac('sha256', signingKey(credentials.secretAccessKey, date, region, service))
    .update(stringToSign)
    .digest('hex');
  headers['authorization'] =
    `AWS4-HMAC-SHA256 Credential=${credentials.accessKeyId}/${credentialScope}, ` +
    `SignedHeaders=${signedHeaders}, Signature=${signature}`;
}
