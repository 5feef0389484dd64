/**
 * How the MCP server reaches the HTTP API: the local stack with its bearer API key, or a deployed stage
 * whose operation routes take IAM (AWS Signature Version 4 for `execute-api`), or a JWT stage's bearer token.
 */
import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import { SignatureV4 } from '@smithy/signature-v4';

/** One request to the HTTP API. */
export interface ApiRequest {
  method: 'GET' | 'POST';
  /** `/s3/put-object` */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The answer: status, media type and the body (parsed when it is JSON). */
export interface ApiAnswer {
  status: number;
  contentType: string;
  body: unknown;
}

export type ApiCall = (request: ApiRequest) => Promise<ApiAnswer>;

/** What a request looks like when it is authorised: the final URL, headers and body bytes. */
export interface OutgoingRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body: string | undefined;
}

/** Adds the credentials a request needs; answers the headers to send. */
export type RequestAuth = (request: OutgoingRequest) => Promise<Record<string, string>>;

/** API Gateway's integration timeout, plus a little for the network. */
const TIMEOUT_MS = 31_000;

/**
 * `Authorization: Bearer <token>`: the local stack's API key, or a JWT stage's token.
 *
 * @example
 * ```ts
 * const auth = bearerAuth(() => readFile('.local/api-key', 'utf8'));
 * ```
 */
export function bearerAuth(token: string | (() => Promise<string>)): RequestAuth {
  return async (request) => ({
    ...request.headers,
    authorization: `Bearer ${(typeof token === 'string' ? token : await token()).trim()}`,
  });
}

type Sha256Constructor = NonNullable<ConstructorParameters<typeof SignatureV4>[0]['sha256']>;
type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/** SHA-256 and HMAC-SHA-256 from `node:crypto`, in the shape the Smithy signer asks for. */
class NodeSha256 {
  readonly #secret: SourceData | undefined;
  #hash: Hash | Hmac;

  constructor(secret?: SourceData) {
    this.#secret = secret;
    this.#hash = this.#fresh();
  }

  update(data: Uint8Array): void {
    this.#hash.update(data);
  }

  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }

  reset(): void {
    this.#hash = this.#fresh();
  }

  #fresh(): Hash | Hmac {
    return this.#secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(this.#secret));
  }
}

/** Credentials as the AWS SDK's providers answer them. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/**
 * AWS Signature Version 4 for API Gateway (`execute-api`), with the SDK's default credential chain unless
 * credentials are given: what a deployed stage's IAM authorizer checks. The caller needs
 * `execute-api:Invoke` on the route.
 *
 * @example
 * ```ts
 * const auth = sigV4Auth({ region: 'eu-west-1' }); // environment, profile, SSO or instance role
 * ```
 */
export function sigV4Auth(options: {
  region: string;
  credentials?: AwsCredentials | (() => Promise<AwsCredentials>);
}): RequestAuth {
  const signer = new SignatureV4({
    service: 'execute-api',
    region: options.region,
    credentials: options.credentials ?? defaultProvider(),
    sha256: NodeSha256 as unknown as Sha256Constructor,
  });
  return async ({ method, url, headers, body }) => {
    const signed = await signer.sign({
      method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port === '' ? {} : { port: Number(url.port) }),
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers: { ...headers, host: url.host },
      body,
    });
    // fetch derives Host from the URL (the same value that was signed) and refuses to be told it.
    const { host: _host, ...rest } = signed.headers;
    return rest;
  };
}

/**
 * A function that sends one request to the HTTP API at `baseUrl` (a path prefix is kept) with `auth`.
 *
 * @example
 * ```ts
 * const call = createApiCall('http://127.0.0.1:3000', bearerAuth(key));
 * const answer = await call({ method: 'POST', path: '/s3/list-objects', body: {} });
 * ```
 */
export function createApiCall(baseUrl: string, auth: RequestAuth): ApiCall {
  const base = baseUrl.replace(/\/+$/, '');
  return async (request) => {
    const url = new URL(`${base}${request.path}`);
    const body = request.method === 'POST' ? JSON.stringify(request.body ?? {}) : undefined;
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(url, {
      method: request.method,
      headers: await auth({ method: request.method, url, headers, body }),
      ...(body === undefined ? {} : { body }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const contentType = response.headers.get('content-type') ?? '';
    const text = await response.text();
    let parsed: unknown = text;
    if (/\bjson\b/i.test(contentType) && text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: response.status, contentType, body: parsed };
  };
}

/** Where the tools send their requests, and how they authenticate. */
export interface ApiTarget {
  baseUrl: string;
  auth: RequestAuth;
  /** One line for the server's instructions and the start-up message. */
  description: string;
}

function isLoopback(url: URL): boolean {
  return /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i.test(url.hostname) || url.hostname.endsWith('.localhost');
}

/** The local stack's API key: CIRCLE_LOCAL_API_KEY, else `<CIRCLE_LOCAL_DIR or .local>/api-key`. */
function localApiKey(root: string, env: NodeJS.ProcessEnv): () => Promise<string> {
  return async () => {
    const configured = env['CIRCLE_LOCAL_API_KEY']?.trim();
    if (configured) return configured;
    const dir = env['CIRCLE_LOCAL_DIR'] || join(root, '.local');
    const file = join(isAbsolute(dir) ? dir : resolve(dir), 'api-key');
    try {
      return (await readFile(file, 'utf8')).trim();
    } catch {
      throw new Error(
        `No local API key in ${file}: start the local stack (npm start) or set CIRCLE_LOCAL_API_KEY`,
      );
    }
  };
}

/** The region of `https://<id>.execute-api.<region>.amazonaws.com`, else AWS_REGION. */
function regionOf(url: URL, env: NodeJS.ProcessEnv): string {
  const fromHost = /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com(\.cn)?$/.exec(url.hostname)?.[1];
  const region = fromHost ?? env['AWS_REGION'] ?? env['AWS_DEFAULT_REGION'];
  if (region === undefined || region === '') {
    throw new Error(`Cannot tell the region of ${url.host}: set AWS_REGION to sign requests for it`);
  }
  return region;
}

/**
 * Reads the target from the environment: no `CIRCLE_API_URL` means the local stack on
 * `http://127.0.0.1:${PORT:-3000}` with its API key; a loopback URL uses the local key too; any other URL
 * is a deployed stage, signed with SigV4 (`CIRCLE_API_AUTH=sigv4`, the default there), or sent with
 * `CIRCLE_API_TOKEN` as a bearer token (`CIRCLE_API_AUTH=bearer`, JWT stages), or with nothing
 * (`CIRCLE_API_AUTH=none`).
 *
 * @example
 * ```ts
 * const target = targetFromEnvironment(process.env, repoRoot);
 * ```
 */
export function targetFromEnvironment(env: NodeJS.ProcessEnv, root: string): ApiTarget {
  const configured = env['CIRCLE_API_URL']?.trim();
  const baseUrl = configured || `http://127.0.0.1:${env['PORT'] || '3000'}`;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new Error(
      `CIRCLE_API_URL is not a URL (expected e.g. https://abc123.execute-api.eu-west-1.amazonaws.com)`,
    );
  }
  const mode = env['CIRCLE_API_AUTH']?.trim() || (isLoopback(url) ? 'local' : 'sigv4');
  switch (mode) {
    case 'local':
      return { baseUrl, auth: bearerAuth(localApiKey(root, env)), description: `${baseUrl} (local API key)` };
    case 'sigv4': {
      const region = regionOf(url, env);
      return { baseUrl, auth: sigV4Auth({ region }), description: `${baseUrl} (SigV4, ${region})` };
    }
    case 'bearer': {
      const token = env['CIRCLE_API_TOKEN']?.trim();
      if (!token) throw new Error('CIRCLE_API_AUTH=bearer needs CIRCLE_API_TOKEN');
      return { baseUrl, auth: bearerAuth(token), description: `${baseUrl} (bearer token)` };
    }
    case 'none':
      return { baseUrl, auth: async ({ headers }) => headers, description: `${baseUrl} (no credentials)` };
    default:
      throw new Error(`CIRCLE_API_AUTH must be local, sigv4, bearer or none (got ${mode.slice(0, 20)})`);
  }
}
