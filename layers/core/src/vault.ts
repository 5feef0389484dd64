/**
 * HashiCorp Vault as the secrets backend, instead of Secrets Manager, chosen per function by
 * `CIRCLE_SECRETS_BACKEND=vault`. Secret handles (`defineSecret`) do not change: a secret's name is its path
 * in a KV v2 engine (`circle-core/dev/slack/bot-token` reads `GET /v1/<mount>/data/circle-core/dev/slack/bot-token`),
 * `name?version=3` reads version 3. A secret written with one key `value` reads as that text; with other
 * keys, as their JSON object (which `secret.json(schema)` validates).
 *
 * The function logs in with the AWS IAM method (a signed `sts:GetCallerIdentity` request, no stored
 * credential: the Lambda role is the identity) or AppRole (role id in config, secret id in one Secrets
 * Manager secret). The Vault token is kept in the core's token cache: one login or renewal at a time,
 * renewed (`renew-self`) ahead of expiry while renewable and far from its max TTL, a fresh login
 * otherwise, and one fresh login after Vault refused it. A read that carries a lease caps how long the
 * container serves its value.
 */
import { randomUUID } from 'node:crypto';
import { cachedTokenAuth } from './auth/cached-token.ts';
import { environmentCredentials, sha256Hex, signV4 } from './aws/sigv4.ts';
import {
  ConfigurationError,
  type ConnectorError,
  RateLimitedError,
  UnavailableError,
  UnexpectedResponseError,
} from './errors.ts';
import { HttpClient } from './http/client.ts';
import type { HttpResponse } from './http/types.ts';

/** One read: the value, and the lease Vault gave it (seconds; 0 = none). */
export interface VaultRead {
  value: string;
  leaseSeconds: number;
}

/** Reads secrets from Vault. */
export interface VaultReader {
  read(name: string): Promise<VaultRead>;
  close(): void;
}

/** The backend settings, from the environment. */
export interface VaultSettings {
  /** `VAULT_ADDR`, e.g. `https://vault.internal:8200`. */
  address: string;
  /** `VAULT_NAMESPACE` (Vault Enterprise / HCP), sent as `X-Vault-Namespace`. */
  namespace: string | undefined;
  /** `CIRCLE_VAULT_KV_MOUNT`, default `secret`. */
  kvMount: string;
  /** `CIRCLE_VAULT_AUTH`: `aws` (default) or `approle`. */
  auth: 'aws' | 'approle';
  /** `CIRCLE_VAULT_AUTH_MOUNT`, default the method's name. */
  authMount: string;
  /** `CIRCLE_VAULT_ROLE`: the Vault role to log in as (aws). */
  role: string | undefined;
  /** `CIRCLE_VAULT_IAM_SERVER_ID`: the `X-Vault-AWS-IAM-Server-ID` value the aws method is bound to. */
  iamServerId: string | undefined;
  /** `CIRCLE_VAULT_APPROLE_ROLE_ID` (approle). */
  roleId: string | undefined;
  /** `CIRCLE_VAULT_APPROLE_SECRET_ID_SECRET`: the Secrets Manager secret holding the AppRole secret id. */
  secretIdSecret: string | undefined;
}

/** Which backend serves secrets: `CIRCLE_SECRETS_BACKEND`, `secrets-manager` (default) or `vault`. */
export function secretsBackend(env: NodeJS.ProcessEnv = process.env): 'secrets-manager' | 'vault' {
  const value = env['CIRCLE_SECRETS_BACKEND']?.trim() || 'secrets-manager';
  if (value === 'secrets-manager' || value === 'vault') return value;
  throw new ConfigurationError(
    `CIRCLE_SECRETS_BACKEND must be secrets-manager or vault, got "${value.slice(0, 40)}"`,
  );
}

/**
 * The Vault settings from the environment; a missing or invalid one is a ConfigurationError naming it.
 *
 * @example
 * ```ts
 * vaultSettings({ VAULT_ADDR: 'https://vault:8200', CIRCLE_VAULT_ROLE: 'slack' }).auth; // 'aws'
 * ```
 */
export function vaultSettings(env: NodeJS.ProcessEnv = process.env): VaultSettings {
  const read = (name: string) => env[name]?.trim() || undefined;
  const address = read('VAULT_ADDR');
  if (address === undefined || !/^https?:\/\/[^/]/.test(address)) {
    throw new ConfigurationError('VAULT_ADDR must be the URL of the Vault server (https://host:8200)');
  }
  const auth = read('CIRCLE_VAULT_AUTH') ?? 'aws';
  if (auth !== 'aws' && auth !== 'approle') {
    throw new ConfigurationError(`CIRCLE_VAULT_AUTH must be aws or approle, got "${auth.slice(0, 40)}"`);
  }
  const settings: VaultSettings = {
    address: address.replace(/\/+$/, ''),
    namespace: read('VAULT_NAMESPACE'),
    kvMount: read('CIRCLE_VAULT_KV_MOUNT') ?? 'secret',
    auth,
    authMount: read('CIRCLE_VAULT_AUTH_MOUNT') ?? auth,
    role: read('CIRCLE_VAULT_ROLE'),
    iamServerId: read('CIRCLE_VAULT_IAM_SERVER_ID'),
    roleId: read('CIRCLE_VAULT_APPROLE_ROLE_ID'),
    secretIdSecret: read('CIRCLE_VAULT_APPROLE_SECRET_ID_SECRET'),
  };
  const needed =
    auth === 'aws'
      ? [['CIRCLE_VAULT_ROLE', settings.role] as const]
      : [
          ['CIRCLE_VAULT_APPROLE_ROLE_ID', settings.roleId] as const,
          ['CIRCLE_VAULT_APPROLE_SECRET_ID_SECRET', settings.secretIdSecret] as const,
        ];
  const missing = needed.filter(([, value]) => value === undefined).map(([name]) => name);
  if (missing.length > 0) {
    throw new ConfigurationError(`Vault ${auth} login needs ${missing.join(' and ')}`);
  }
  return settings;
}

/** Vault's error body: `{ "errors": ["permission denied"] }`. */
function vaultErrors(response: HttpResponse): string {
  const errors = (response.body as { errors?: unknown } | undefined)?.errors;
  const texts = Array.isArray(errors) ? errors.filter((e): e is string => typeof e === 'string') : [];
  // Vault's messages name paths and policies, never values; still bounded.
  return texts.length === 0 ? `HTTP ${response.status}` : texts.join('; ').slice(0, 300);
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A 4xx other than 412 and 429 from Vault: not retried; the caller says what it means for what it asked. */
class VaultRefusal extends ConfigurationError {
  /** Vault's HTTP status (the error's own `status` is the one a caller would be answered). */
  readonly vaultStatus: number;
  readonly reason: string;

  constructor(status: number, reason: string) {
    super(`Vault refused the request (HTTP ${status}): ${reason}`, {
      details: { provider: 'Vault', httpStatus: status },
    });
    this.vaultStatus = status;
    this.reason = reason;
  }
}

/**
 * A redirect, as an HA standby without request forwarding answers every request (307 to the active node's
 * `api_addr`: developer.hashicorp.com/vault/docs/concepts/ha, "Client redirection"). Not followed: the
 * Vault token and login would go to a host VAULT_ADDR does not name. Only the host is named, never the
 * URL (its path names the secret, its query the version) nor a header.
 */
function redirection(response: HttpResponse, address: string): ConfigurationError {
  let host = 'an unusable address';
  try {
    host = new URL(response.headers['location'] ?? '', address).host.slice(0, 255) || host;
  } catch {
    // an unparsable Location: named as such
  }
  return new ConfigurationError(
    `Vault redirected to ${host} (HTTP ${response.status}), which this client does not follow: the token ` +
      'would go to another host. Set VAULT_ADDR to the active node, or enable request forwarding on the cluster',
    { details: { provider: 'Vault', httpStatus: response.status } },
  );
}

/** Every failure answer mapped here: throttling and server errors retried by the client, the rest refusals. */
function inspect(response: HttpResponse, address: string): ConnectorError | undefined {
  if (REDIRECTS.has(response.status)) return redirection(response, address);
  if (response.status < 400) return undefined;
  const reason = vaultErrors(response);
  if (response.status === 429) {
    const seconds = Number(response.headers['retry-after']);
    return new RateLimitedError(`Vault is rate limiting: ${reason}`, {
      ...(Number.isFinite(seconds) && seconds >= 0 ? { retryAfterMs: seconds * 1000 } : {}),
      details: { provider: 'Vault' },
    });
  }
  // 412 is Vault Enterprise's "required index state not present": a performance standby has not yet
  // replicated what the request needs (often the token just issued); Vault says to retry it
  // (developer.hashicorp.com/vault/api-docs#http-status-codes, .../vault/docs/enterprise/consistency).
  if (response.status >= 500 || response.status === 412) {
    // 503 is also a sealed or standby Vault: worth another attempt on the same address.
    return new UnavailableError(`Vault answered ${response.status}: ${reason}`, {
      details: { provider: 'Vault', httpStatus: response.status },
    });
  }
  return new VaultRefusal(response.status, reason);
}

/** A login or renewal answer's `auth` block. */
function authBlock(
  response: HttpResponse,
  what: string,
): { token: string; leaseSeconds: number; renewable: boolean } {
  const auth = (response.body as { auth?: Record<string, unknown> } | undefined)?.auth;
  const token = auth?.['client_token'];
  const lease = auth?.['lease_duration'];
  if (typeof token !== 'string' || token === '' || typeof lease !== 'number') {
    throw new UnexpectedResponseError(`Vault answered ${what} without a client token and lease`, {
      details: { provider: 'Vault', httpStatus: response.status },
    });
  }
  return { token, leaseSeconds: lease, renewable: auth?.['renewable'] === true };
}

/** The signed `sts:GetCallerIdentity` request the aws method verifies, as its login body wants it. */
function iamLoginBody(settings: VaultSettings, env: NodeJS.ProcessEnv): Record<string, string> {
  const credentials = environmentCredentials(env);
  if (credentials === undefined) {
    throw new ConfigurationError('Vault aws login needs the function role credentials in the environment');
  }
  const url = new URL('https://sts.amazonaws.com/');
  const body = 'Action=GetCallerIdentity&Version=2011-06-15';
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
  };
  if (settings.iamServerId !== undefined) headers['x-vault-aws-iam-server-id'] = settings.iamServerId;
  signV4(
    { method: 'POST', url, headers, payloadHash: sha256Hex(body), alsoSign: ['x-vault-aws-iam-server-id'] },
    // The global STS endpoint signs in us-east-1, whatever the function's region.
    { credentials, region: 'us-east-1', service: 'sts' },
  );
  const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
  return {
    role: settings.role ?? '',
    iam_http_request_method: 'POST',
    iam_request_url: b64(url.toString()),
    iam_request_body: b64(body),
    iam_request_headers: b64(JSON.stringify(headers)),
  };
}

export interface VaultReaderOptions {
  /** Reads the AppRole secret id (from Secrets Manager); the core passes its own reader. */
  readSecretId?: (name: string) => Promise<string>;
  /** Per attempt; default 5000 ms, capped by the invocation's remaining time. */
  timeoutMs?: number;
  maxAttempts?: number;
  now?: () => number;
}

/**
 * A Vault reader for `settings`.
 *
 * @example
 * ```ts
 * const vault = vaultReader(vaultSettings(), { readSecretId: (name) => defineSecret(name).text() });
 * const { value } = await vault.read('circle-core/dev/slack/bot-token');
 * ```
 */
export function vaultReader(
  settings: VaultSettings,
  options: VaultReaderOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): VaultReader {
  const now = options.now ?? Date.now;
  const client = new HttpClient({
    provider: 'Vault',
    baseUrl: settings.address,
    timeoutMs: options.timeoutMs ?? 5_000,
    maxAttempts: options.maxAttempts ?? 3,
    headers: {
      'x-vault-request': 'true',
      ...(settings.namespace === undefined ? {} : { 'x-vault-namespace': settings.namespace }),
    },
    inspect: (response) => inspect(response, settings.address),
  });
  /** The token this container holds, for renewal. */
  let held: { token: string; renewable: boolean; expiresAt: number } | undefined;
  const refreshAheadMs = 60_000;

  async function post(path: string, json: unknown, headers: Record<string, string> = {}) {
    // Logins and renewals are safe to repeat: each attempt carries the same key.
    return client.request({ method: 'POST', path, json, headers, idempotencyKey: randomUUID() });
  }

  async function login(): Promise<{ token: string; leaseSeconds: number; renewable: boolean }> {
    const method = settings.auth;
    let body: Record<string, string>;
    if (method === 'aws') body = iamLoginBody(settings, env);
    else {
      const secretIdName = settings.secretIdSecret ?? '';
      if (options.readSecretId === undefined) {
        throw new ConfigurationError('Vault approle login has no way to read its secret id');
      }
      body = { role_id: settings.roleId ?? '', secret_id: (await options.readSecretId(secretIdName)).trim() };
    }
    try {
      return authBlock(await post(`/v1/auth/${settings.authMount}/login`, body), `the ${method} login`);
    } catch (error) {
      if (!(error instanceof VaultRefusal)) throw error;
      throw new ConfigurationError(
        `Vault refused the ${method} login at auth/${settings.authMount}: ${error.reason}`,
        { details: { provider: 'Vault', httpStatus: error.vaultStatus } },
      );
    }
  }

  /** Renews the held token; undefined when it cannot be (not renewable, expired, refused, near max TTL). */
  async function renew(): Promise<{ token: string; leaseSeconds: number; renewable: boolean } | undefined> {
    if (held === undefined || !held.renewable || now() >= held.expiresAt - 1_000) return undefined;
    let renewed: { token: string; leaseSeconds: number; renewable: boolean };
    try {
      const response = await post('/v1/auth/token/renew-self', {}, { 'x-vault-token': held.token });
      renewed = authBlock(response, 'renew-self');
    } catch (error) {
      if (error instanceof VaultRefusal) return undefined;
      throw error;
    }
    // Near its max TTL a renewal grants little: log in again rather than renew ever more often.
    return renewed.leaseSeconds * 1000 < 2 * refreshAheadMs ? undefined : renewed;
  }

  const tokens = cachedTokenAuth({
    refreshAheadMs,
    exchange: async () => {
      const issued = (await renew()) ?? (await login());
      const expiresAt = now() + issued.leaseSeconds * 1000;
      held = { token: issued.token, renewable: issued.renewable, expiresAt };
      return { value: issued.token, expiresAt };
    },
    // Vault refused the token (revoked, expired early): the next exchange logs in afresh.
    onRefresh: async () => {
      held = undefined;
    },
    now,
  });

  async function get(name: string): Promise<HttpResponse> {
    const [path = '', query = ''] = name.split('?', 2);
    const version = new URLSearchParams(query).get('version');
    if (path === '' || path.split('/').some((segment) => segment === '' || segment === '..')) {
      throw new ConfigurationError(`secret ${name} is not a Vault path (segments separated by /)`);
    }
    const encoded = path.split('/').map(encodeURIComponent).join('/');
    return client.request({
      method: 'GET',
      path: `/v1/${settings.kvMount}/data/${encoded}`,
      ...(version === null ? {} : { query: { version } }),
      headers: { 'x-vault-token': await tokens.token() },
    });
  }

  return {
    async read(name) {
      try {
        let response: HttpResponse;
        try {
          response = await get(name);
        } catch (error) {
          if (!(error instanceof VaultRefusal) || error.vaultStatus !== 403) throw error;
          // Possibly a revoked token rather than a policy: one fresh login, then the answer stands.
          await tokens.refresh();
          response = await get(name);
        }
        return kvValue(name, response);
      } catch (error) {
        if (!(error instanceof VaultRefusal)) throw error;
        throw refusalOf(name, settings.kvMount, error);
      }
    },
    close: () => client.close(),
  };
}

/** What a refused read means, naming the secret (never a value). */
function refusalOf(name: string, mount: string, refusal: VaultRefusal): ConfigurationError {
  const details = { secret: name, provider: 'Vault', httpStatus: refusal.vaultStatus };
  if (refusal.vaultStatus === 404) {
    return new ConfigurationError(
      `secret ${name} was not found in Vault at ${mount}/data (or that version was deleted)`,
      { details },
    );
  }
  if (refusal.vaultStatus === 403) {
    return new ConfigurationError(
      `Vault denied reading secret ${name}: ${refusal.reason} (the role's policy needs read on ${mount}/data/${name.split('?')[0]})`,
      { details },
    );
  }
  return new ConfigurationError(`Vault refused reading secret ${name}: ${refusal.reason}`, { details });
}

/** The text of a KV v2 answer: `data.data.value` when that is its one key, else `data.data` as JSON. */
function kvValue(name: string, response: HttpResponse): VaultRead {
  const body = response.body as { data?: { data?: unknown }; lease_duration?: unknown } | undefined;
  const data = body?.data?.data;
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new UnexpectedResponseError(`Vault answered secret ${name} without a KV v2 data object`, {
      details: { secret: name, provider: 'Vault' },
    });
  }
  const keys = Object.keys(data);
  const single = (data as Record<string, unknown>)['value'];
  const value = keys.length === 1 && typeof single === 'string' ? single : JSON.stringify(data);
  const lease = body?.lease_duration;
  return { value, leaseSeconds: typeof lease === 'number' && lease > 0 ? lease : 0 };
}
