/**
 * The contract fake of HashiCorp Vault's HTTP API (developer.hashicorp.com/vault/api-docs), on the
 * contract-fake kit: what the core's Vault secrets backend is tested against (no Vault binary ships in the
 * npm or Debian registries), and the local stack's Vault sandbox
 * (`npx node scripts/local/sandboxes/vault.ts [port]`).
 *
 * What it speaks, under `/v1`:
 * - `POST /auth/approle/login` `{ role_id, secret_id }` and `POST /auth/aws/login` (the IAM method:
 *   `role`, `iam_http_request_method`, `iam_request_url`, `iam_request_body`, `iam_request_headers`, each
 *   base64; the fake checks the request is a SigV4-signed `sts:GetCallerIdentity` for a known access key and,
 *   when a server id is set, that `X-Vault-AWS-IAM-Server-ID` is among the signed headers; real Vault
 *   forwards it to STS); both answer `{ auth: { client_token, accessor, policies, lease_duration, renewable } }`;
 * - `POST /auth/token/renew-self` (`X-Vault-Token`): a new lease up to the token's max TTL;
 * - `GET /<mount>/data/<path>[?version=N]` (KV v2): `{ data: { data, metadata: { version, created_time,
 *   deletion_time, destroyed } }, lease_duration: 0 }`, 404 `{ errors: [] }` for a missing path or a
 *   deleted version; `POST /<mount>/data/<path>` `{ data }` writes a new version;
 * - errors as `{ errors: [...] }`: 400 on a bad login, 403 `permission denied` for a missing, expired or
 *   revoked token or a path outside the token's policy, 429 with `Retry-After` (rate-limit quotas), 503
 *   `Vault is sealed`, and 412 `required index state not present` from a Vault Enterprise performance
 *   standby that has not yet replicated what the request needs (a token issued a moment before), which
 *   the client is to retry (developer.hashicorp.com/vault/docs/enterprise/consistency);
 * - as an HA standby node without request forwarding ({@link VaultFakeState.standby}): every request
 *   answered `307 Temporary Redirect` with `Location` the active node's `api_addr` plus the request's path
 *   and query (developer.hashicorp.com/vault/docs/concepts/ha, "Client redirection").
 *
 * Seed: the KV mount `secret` with `circle-core/dev/demo/api-key` (`value`), the AppRole
 * {@link VAULT_SANDBOX_ROLE_ID}/{@link VAULT_SANDBOX_SECRET_ID}, the aws role `circle-core` for any access
 * key in `awsKeys` (default `test`), tokens living {@link VAULT_TOKEN_TTL_SECONDS} s, renewable up to
 * {@link VAULT_TOKEN_MAX_TTL_SECONDS} s.
 *
 * @example
 * ```ts
 * const vault = await startVaultFake();
 * vault.state.kv.set('secret/app/token', [{ data: { value: 'xyz' }, deleted: false }]);
 * ```
 */
import { randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import {
  type Answer,
  type ErrorDialect,
  type FakeDefinition,
  type FakeServer,
  json,
  refuse,
  type StartOptions,
  startFake,
} from './kit/index.ts';

/** A sandbox AppRole, not a secret: the local stack stores the secret id as the function's secret. */
export const VAULT_SANDBOX_ROLE_ID = 'circle-core-sandbox-role';
export const VAULT_SANDBOX_SECRET_ID = 'circle-core-sandbox-secret-id';
export const VAULT_TOKEN_TTL_SECONDS = 3600;
export const VAULT_TOKEN_MAX_TTL_SECONDS = 4 * 3600;

/** One version of a KV v2 secret. */
export interface KvVersion {
  data: Record<string, unknown>;
  deleted: boolean;
  createdAt?: string;
  /** A lease on the read (a KV v1 `ttl` or a dynamic engine's credentials); KV v2 answers 0. */
  leaseSeconds?: number;
}

interface Token {
  expiresAt: number;
  maxExpiresAt: number;
  renewable: boolean;
  /** KV paths (`secret/app/*` or exact) the token may read. */
  paths: string[];
  by: 'approle' | 'aws';
}

export interface VaultFakeState {
  /** `<mount>/<path>` -> versions, oldest first (version n is index n - 1). */
  kv: Map<string, KvVersion[]>;
  tokens: Map<string, Token>;
  approle: { roleId: string; secretId: string; paths: string[] };
  /** aws role name -> the access keys whose signed requests it accepts, and its paths. */
  awsRoles: Map<string, { keys: string[]; paths: string[] }>;
  /** When set, aws logins must sign `X-Vault-AWS-IAM-Server-ID` with this value. */
  iamServerId: string | undefined;
  sealed: boolean;
  /**
   * When set, this node is an HA standby that does not forward requests: it redirects each one (307) to
   * this active node address (its `api_addr`, e.g. `https://vault-2.internal:8200`).
   */
  standby: string | undefined;
  /**
   * Requests carrying a token that a performance standby answers 412 before it has caught up
   * (decremented by each); 0 = every node is current.
   */
  behind: number;
  /** Lease (s) of new tokens and their max TTL; tests shorten them. */
  ttlSeconds: number;
  maxTtlSeconds: number;
  logins: { method: string; at: number }[];
  /** The non-secret parts of each aws login's signature (its headers are a replayable credential). */
  awsSignatures: { accessKey: string; region: string; signedHeaders: string[] }[];
  renewals: number;
  now: () => number;
}

/** Vault's error body. */
function failure(status: number, ...errors: string[]): Answer {
  return json(status, { errors });
}

export const vaultErrors: ErrorDialect = (kind, { status }) => {
  if (kind === 'unauthorized' || kind === 'forbidden') return failure(403, 'permission denied');
  if (kind === 'not-found') return failure(404);
  if (kind === 'throttled') return failure(status, 'request path "secret/data": rate limit quota exceeded');
  return failure(status, kind === 'server-error' && status === 503 ? 'Vault is sealed' : 'internal error');
};

function issue(
  state: VaultFakeState,
  by: Token['by'],
  paths: string[],
  onLogin?: (method: string) => void,
): Answer {
  const now = state.now();
  const token = `hvs.${randomUUID().replaceAll('-', '')}`;
  state.tokens.set(token, {
    expiresAt: now + state.ttlSeconds * 1000,
    maxExpiresAt: now + state.maxTtlSeconds * 1000,
    renewable: true,
    paths,
    by,
  });
  state.logins.push({ method: by, at: now });
  onLogin?.(by);
  return json(200, {
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: 0,
    data: null,
    auth: {
      client_token: token,
      accessor: randomUUID(),
      policies: ['default', 'circle-core'],
      token_policies: ['default', 'circle-core'],
      metadata: { role_name: by === 'approle' ? 'circle-core' : 'circle-core' },
      lease_duration: state.ttlSeconds,
      renewable: true,
      entity_id: randomUUID(),
      token_type: 'service',
      orphan: true,
    },
  });
}

/** The live token of a request, or a 403 as Vault answers for a missing, unknown or expired one. */
function tokenOf(state: VaultFakeState, header: string | undefined): Token & { id: string } {
  const token = header === undefined ? undefined : state.tokens.get(header);
  if (token === undefined || token.expiresAt <= state.now()) refuse(failure(403, 'permission denied'));
  return { ...token, id: header as string };
}

const decode = (value: unknown): string =>
  typeof value === 'string' ? Buffer.from(value, 'base64').toString('utf8') : '';

/** Checks an aws IAM login as far as a fake can without STS: the signed GetCallerIdentity and its key. */
function awsLogin(
  body: Record<string, unknown>,
  state: VaultFakeState,
  onLogin?: (method: string) => void,
): Answer {
  const role = state.awsRoles.get(String(body['role'] ?? ''));
  if (role === undefined) refuse(failure(400, `entry for role ${String(body['role'] ?? '')} not found`));
  if (body['iam_http_request_method'] !== 'POST') refuse(failure(400, 'invalid iam_http_request_method'));
  const url = decode(body['iam_request_url']);
  if (!/^https:\/\/sts(\.[a-z0-9-]+)?\.amazonaws\.com\/$/.test(url))
    refuse(failure(400, 'invalid iam_request_url'));
  const params = new URLSearchParams(decode(body['iam_request_body']));
  if (params.get('Action') !== 'GetCallerIdentity') refuse(failure(400, 'invalid iam_request_body'));
  let headers: Record<string, string | string[]>;
  try {
    headers = JSON.parse(decode(body['iam_request_headers'])) as Record<string, string | string[]>;
  } catch {
    refuse(failure(400, 'error parsing iam_request_headers'));
  }
  const header = (name: string) => {
    const found = Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
    return Array.isArray(found) ? found[0] : found;
  };
  const authorization =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/\d{8}\/([a-z0-9-]+)\/sts\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=[0-9a-f]{64}$/.exec(
      header('authorization') ?? '',
    );
  if (authorization === null || header('x-amz-date') === undefined) {
    refuse(failure(400, 'error making upstream request: signature missing'));
  }
  const [, key = '', region = '', signed = ''] = authorization;
  state.awsSignatures.push({ accessKey: key, region, signedHeaders: signed.split(';') });
  if (state.iamServerId !== undefined) {
    if (
      header('x-vault-aws-iam-server-id') !== state.iamServerId ||
      !signed.split(';').includes('x-vault-aws-iam-server-id')
    ) {
      refuse(failure(400, 'expected X-Vault-AWS-IAM-Server-ID header value to be signed and match'));
    }
  }
  if (!role.keys.includes(key)) {
    refuse(
      failure(400, 'error making upstream request: received error code 403 from STS: InvalidClientTokenId'),
    );
  }
  return issue(state, 'aws', role.paths, onLogin);
}

function allowed(token: Token, path: string): boolean {
  return token.paths.some((pattern) =>
    pattern.endsWith('*') ? path.startsWith(pattern.slice(0, -1)) : path === pattern,
  );
}

function readKv(
  state: VaultFakeState,
  mount: string,
  path: string,
  query: Record<string, string>,
  token: Token,
): Answer {
  const full = `${mount}/${path}`;
  if (!allowed(token, full)) refuse(failure(403, '1 error occurred:\n\t* permission denied\n\n'));
  const versions = state.kv.get(full);
  const asked =
    query['version'] === undefined || query['version'] === '0' ? versions?.length : Number(query['version']);
  const entry = asked === undefined ? undefined : versions?.[asked - 1];
  if (versions === undefined || asked === undefined || entry === undefined) return failure(404);
  const metadata = {
    created_time: entry.createdAt ?? '2026-12-01T00:00:00.000000Z',
    custom_metadata: null,
    deletion_time: entry.deleted ? '2026-12-02T00:00:00.000000Z' : '',
    destroyed: false,
    version: asked,
  };
  // A deleted version answers 404 with its metadata, as KV v2 does.
  if (entry.deleted) return json(404, { request_id: randomUUID(), data: { data: null, metadata } });
  return json(200, {
    request_id: randomUUID(),
    lease_id: '',
    renewable: false,
    lease_duration: entry.leaseSeconds ?? 0,
    data: { data: entry.data, metadata },
    wrap_info: null,
    warnings: null,
    auth: null,
  });
}

function seed(): VaultFakeState {
  return {
    kv: new Map([
      [
        'secret/circle-core/dev/demo/api-key',
        [{ data: { value: 'demo-api-key-from-vault' }, deleted: false }],
      ],
    ]),
    tokens: new Map(),
    approle: { roleId: VAULT_SANDBOX_ROLE_ID, secretId: VAULT_SANDBOX_SECRET_ID, paths: ['secret/*'] },
    awsRoles: new Map([['circle-core', { keys: ['test'], paths: ['secret/*'] }]]),
    iamServerId: undefined,
    sealed: false,
    standby: undefined,
    behind: 0,
    ttlSeconds: VAULT_TOKEN_TTL_SECONDS,
    maxTtlSeconds: VAULT_TOKEN_MAX_TTL_SECONDS,
    logins: [],
    awsSignatures: [],
    renewals: 0,
    now: Date.now,
  };
}

type Body = Record<string, unknown>;

export interface VaultFakeOptions {
  /**
   * Values for paths the KV engine does not hold (the local stack: its secret store, so a value set with
   * `npm run secrets` is read through Vault too); called with the path under the mount.
   */
  backing?: (path: string) => Promise<string | undefined>;
  /** Told of each KV read and login (the local stack's log line); never given a value or a token. */
  onAccess?: (what: { kind: 'read' | 'login'; path?: string; method?: string; status: number }) => void;
}

/**
 * The fake's definition, for `startFake` or a sandbox.
 *
 * @example
 * ```ts
 * const fake = await startFake(vaultFake());
 * ```
 */
export function vaultFake(options: VaultFakeOptions = {}): FakeDefinition<VaultFakeState> {
  const login = (method: string) => options.onAccess?.({ kind: 'login', method, status: 200 });
  return {
    name: 'Vault',
    seed,
    errors: vaultErrors,
    token: (request) => request.headers['x-vault-token'],
    // Tokens are checked by each route: Vault answers 403, never 401.
    before: ({ request, state }) => {
      if (state.sealed) return failure(503, 'Vault is sealed');
      if (state.standby !== undefined) {
        const query = new URLSearchParams(request.query).toString();
        const location = `${state.standby.replace(/\/+$/, '')}${request.path}${query === '' ? '' : `?${query}`}`;
        return { status: 307, headers: { location } };
      }
      if (state.behind > 0 && request.headers['x-vault-token'] !== undefined) {
        state.behind -= 1;
        return failure(412, 'required index state not present');
      }
      return undefined;
    },
    secretHeaders: ['x-vault-token'],
    secretFields: ['secret_id', 'client_token', 'iam_request_headers'],
    routes: [
      {
        name: 'approle-login',
        method: 'POST',
        path: '/v1/auth/approle/login',
        auth: false,
        handle: ({ request, state }) => {
          const body = (request.body ?? {}) as Body;
          if (body['role_id'] !== state.approle.roleId || body['secret_id'] !== state.approle.secretId) {
            refuse(failure(400, 'invalid role or secret ID'));
          }
          return issue(state, 'approle', state.approle.paths, login);
        },
      },
      {
        name: 'aws-login',
        method: 'POST',
        path: '/v1/auth/aws/login',
        auth: false,
        handle: ({ request, state }) => awsLogin((request.body ?? {}) as Body, state, login),
      },
      {
        name: 'renew-self',
        method: 'POST',
        path: '/v1/auth/token/renew-self',
        auth: false,
        handle: ({ request, state }) => {
          const token = tokenOf(state, request.token);
          if (!token.renewable) refuse(failure(400, 'lease is not renewable'));
          const now = state.now();
          const expiresAt = Math.min(now + state.ttlSeconds * 1000, token.maxExpiresAt);
          state.tokens.set(token.id, { ...token, expiresAt });
          state.renewals += 1;
          return json(200, {
            auth: {
              client_token: token.id,
              policies: ['default', 'circle-core'],
              lease_duration: Math.max(0, Math.floor((expiresAt - now) / 1000)),
              renewable: expiresAt < token.maxExpiresAt,
            },
          });
        },
      },
      {
        name: 'revoke-self',
        method: 'POST',
        path: '/v1/auth/token/revoke-self',
        auth: false,
        handle: ({ request, state }) => {
          tokenOf(state, request.token);
          state.tokens.delete(request.token ?? '');
          return { status: 204 };
        },
      },
      {
        name: 'kv-read',
        method: 'GET',
        path: '/v1/:mount/data/*path',
        auth: false,
        handle: async ({ request, params, state }) => {
          const mount = params['mount'] ?? '';
          const path = params['path'] ?? '';
          const full = `${mount}/${path}`;
          const token = tokenOf(state, request.token);
          // A backed value is read afresh each time, so a rotation in the store shows at the next read.
          const backed =
            !state.kv.has(full) && options.backing !== undefined ? await options.backing(path) : undefined;
          if (backed !== undefined) state.kv.set(full, [{ data: { value: backed }, deleted: false }]);
          try {
            const answer = readKv(state, mount, path, request.query, token);
            options.onAccess?.({ kind: 'read', path: full, status: answer.status });
            return answer;
          } finally {
            if (backed !== undefined) state.kv.delete(full);
          }
        },
      },
      {
        name: 'kv-write',
        method: ['POST', 'PUT'],
        path: '/v1/:mount/data/*path',
        auth: false,
        handle: ({ request, params, state }) => {
          const token = tokenOf(state, request.token);
          const full = `${params['mount']}/${params['path']}`;
          if (!allowed(token, full)) refuse(failure(403, 'permission denied'));
          const data = ((request.body ?? {}) as Body)['data'];
          if (typeof data !== 'object' || data === null) refuse(failure(400, 'no data provided'));
          const versions = state.kv.get(full) ?? [];
          versions.push({
            data: data as Record<string, unknown>,
            deleted: false,
            createdAt: new Date().toISOString(),
          });
          state.kv.set(full, versions);
          return json(200, { data: { version: versions.length, created_time: new Date().toISOString() } });
        },
      },
    ],
  };
}

/**
 * Starts the fake on 127.0.0.1 (an ephemeral port unless told).
 *
 * @example
 * ```ts
 * const vault = await startVaultFake();
 * ```
 */
export function startVaultFake(
  options: StartOptions & VaultFakeOptions = {},
): Promise<FakeServer<VaultFakeState>> {
  const { backing, onAccess, ...start } = options;
  return startFake(
    vaultFake({
      ...(backing === undefined ? {} : { backing }),
      ...(onAccess === undefined ? {} : { onAccess }),
    }),
    start,
  );
}

// As a sandbox: `npx node scripts/local/sandboxes/vault.ts [port]` serves the fake until stopped.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const fake = await startVaultFake({ port: Number(process.argv[2] ?? 0) });
  console.log(`Vault sandbox: VAULT_ADDR=${fake.url} (AppRole ${VAULT_SANDBOX_ROLE_ID})`);
}
