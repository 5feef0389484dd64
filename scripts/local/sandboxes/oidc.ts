/**
 * A local OpenID Connect issuer, on the contract-fake kit: what the OIDC connector's tests run against and
 * the local stack's OIDC sandbox (`npx node scripts/local/sandboxes/oidc.ts [port]`). It follows OpenID
 * Connect Discovery 1.0, RFC 7517 (JWK sets), RFC 6749 (the client credentials grant), RFC 7662 (token
 * introspection) and OIDC Core's userinfo endpoint, with real signatures so a verifier's checks are real.
 *
 * What it speaks (the issuer is the fake's base URL):
 * - `GET /.well-known/openid-configuration`: `issuer`, `jwks_uri`, `token_endpoint`,
 *   `introspection_endpoint`, `userinfo_endpoint`, supported algorithms and auth methods;
 * - `GET /jwks`: the current public keys (RS256 and ES256, each with a `kid`); {@link OidcFake.rotate}
 *   replaces them as an issuer's key rotation does;
 * - `POST /oauth/token` (form): `grant_type=client_credentials` with `client_secret_basic` or
 *   `client_secret_post`, optional `audience` and `scope`; answers a signed JWT access token, or RFC 6749
 *   errors `{ error, error_description }` (400 `unsupported_grant_type`, 401 `invalid_client`);
 * - `POST /oauth/introspect` (form, client auth as above): `{ active, scope, client_id, sub, exp, iat,
 *   iss, aud, token_type }` for a token it issued and that is live, else `{ active: false }`;
 * - `GET /userinfo` with `Authorization: Bearer <access token>`: the subject's claims, 401 with a
 *   `WWW-Authenticate: Bearer error="invalid_token"` header otherwise; with
 *   {@link OidcFakeState.userinfoSigning} set (a client registered with `userinfo_signed_response_alg`),
 *   the claims as a JWT signed by the issuer's key, `Content-Type: application/jwt`, with `iss` and `aud`
 *   (the token's `client_id`, else the sandbox client) as members (OIDC Core 5.3.2).
 *
 * Seed: the client {@link OIDC_SANDBOX_CLIENT}; the user `user-jenny` (Jenny Rosen); access tokens live an
 * hour, for the audience `circle-core-api` unless asked.
 *
 * @example
 * ```ts
 * const issuer = await startOidcFake();
 * const token = issuer.state.sign({ sub: 'user-jenny', aud: 'circle-core-api' });
 * ```
 */
import { createPrivateKey, generateKeyPairSync, type KeyObject, randomUUID, sign } from 'node:crypto';
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

/** The sandbox client, stored as the connector's client secret: a sandbox credential, not a secret. */
export const OIDC_SANDBOX_CLIENT = {
  clientId: 'circle-core-sandbox',
  clientSecret: 'oidc-sandbox-client-secret',
};
/** What the local stack stores under the connector's client secret name. */
export const OIDC_SANDBOX_TOKEN = JSON.stringify(OIDC_SANDBOX_CLIENT);
export const OIDC_DEFAULT_AUDIENCE = 'circle-core-api';

type Algorithm = 'RS256' | 'ES256';

interface SigningKey {
  kid: string;
  alg: Algorithm;
  privateKey: KeyObject;
  jwk: Record<string, unknown>;
}

export interface OidcFakeState {
  /**
   * The issuer identifier: the fake's base URL, set once it listens; a test may add a trailing "/" (as
   * Auth0's identifiers have), which discovery and issued tokens then carry exactly.
   */
  issuer: string;
  keys: SigningKey[];
  clients: Map<string, string>;
  users: Map<string, Record<string, unknown>>;
  /**
   * When set, userinfo answers a JWT signed with this algorithm's key (`application/jwt`), as for a client
   * registered with `userinfo_signed_response_alg`; undefined answers plain JSON.
   */
  userinfoSigning: Algorithm | undefined;
  /** Issued access tokens (by jti) that are live; revoking one makes introspection answer inactive. */
  live: Set<string>;
  /** Signs a JWT with the current key of `alg` (default RS256); claims are taken as given. */
  sign(
    this: OidcFakeState,
    claims: Record<string, unknown>,
    options?: { alg?: Algorithm; kid?: string },
  ): string;
}

const b64url = (data: Buffer | string) => Buffer.from(data).toString('base64url');

function newKey(alg: Algorithm): SigningKey {
  const kid = `${alg.toLowerCase()}-${randomUUID().slice(0, 8)}`;
  const { privateKey, publicKey } =
    alg === 'RS256'
      ? generateKeyPairSync('rsa', { modulusLength: 2048 })
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid, alg, use: 'sig' };
  return { kid, alg, privateKey: createPrivateKey(privateKey.export({ format: 'pem', type: 'pkcs8' })), jwk };
}

function signJwt(key: SigningKey, claims: Record<string, unknown>, kid = key.kid): string {
  const header = b64url(JSON.stringify({ alg: key.alg, typ: 'JWT', kid }));
  const payload = b64url(JSON.stringify(claims));
  const input = `${header}.${payload}`;
  const signature =
    key.alg === 'RS256'
      ? sign('sha256', Buffer.from(input), key.privateKey)
      : sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${b64url(signature)}`;
}

/** The claims of a token this issuer signed, or undefined (no signature check: the fake trusts its own). */
function claimsOf(token: string): Record<string, unknown> | undefined {
  const payload = token.split('.')[1];
  if (payload === undefined) return undefined;
  try {
    return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** RFC 6749 section 5.2 error bodies. */
function oauthError(status: number, error: string, description: string): Answer {
  return json(status, { error, error_description: description });
}

export const oidcErrors: ErrorDialect = (kind, { status }) => {
  if (kind === 'unauthorized') return oauthError(401, 'invalid_client', 'client authentication failed');
  if (kind === 'forbidden') return oauthError(403, 'access_denied', 'access denied');
  if (kind === 'throttled') return oauthError(status, 'slow_down', 'too many requests');
  if (kind === 'server-error') return oauthError(status, 'server_error', `the issuer failed (${status})`);
  return oauthError(status, kind === 'not-found' ? 'not_found' : 'invalid_request', kind);
};

type Form = Record<string, unknown>;

/** The client a token or introspection request authenticates as (basic or post), or a 401. */
function client(state: OidcFakeState, headers: Record<string, string>, form: Form): string {
  let id: string | undefined;
  let secret: string | undefined;
  const basic = /^Basic (.+)$/i.exec(headers['authorization'] ?? '')?.[1];
  if (basic !== undefined) {
    const [rawId = '', rawSecret = ''] = Buffer.from(basic, 'base64').toString('utf8').split(':');
    id = decodeURIComponent(rawId);
    secret = decodeURIComponent(rawSecret);
  } else if (typeof form['client_id'] === 'string') {
    id = form['client_id'];
    secret = typeof form['client_secret'] === 'string' ? form['client_secret'] : undefined;
  }
  if (id === undefined || state.clients.get(id) !== secret) {
    refuse(oauthError(401, 'invalid_client', 'client authentication failed'));
  }
  return id as string;
}

function seed(): OidcFakeState {
  const state: OidcFakeState = {
    issuer: '',
    keys: [newKey('RS256'), newKey('ES256')],
    clients: new Map([[OIDC_SANDBOX_CLIENT.clientId, OIDC_SANDBOX_CLIENT.clientSecret]]),
    users: new Map([
      [
        'user-jenny',
        { sub: 'user-jenny', name: 'Jenny Rosen', email: 'jenny@example.com', email_verified: true },
      ],
    ]),
    userinfoSigning: undefined,
    live: new Set(),
    // `this`, not the seed's object: a reset copies the fresh state into the live one.
    sign(this: OidcFakeState, claims, options = {}) {
      const key = this.keys.find((candidate) => candidate.alg === (options.alg ?? 'RS256'));
      if (key === undefined) throw new Error(`no ${options.alg} key`);
      return signJwt(key, claims, options.kid);
    },
  };
  return state;
}

/** A fake with its issuer URL known and a key rotation. */
export interface OidcFake extends FakeServer<OidcFakeState> {
  /** Replaces every signing key (new kids): tokens signed before no longer verify once caches refresh. */
  rotate(): void;
}

/**
 * The fake's definition, for `startFake` or a sandbox.
 *
 * @example
 * ```ts
 * const fake = await startFake(oidcFake());
 * ```
 */
export function oidcFake(): FakeDefinition<OidcFakeState> {
  return {
    name: 'OIDC issuer',
    seed,
    errors: oidcErrors,
    secretFields: ['client_secret', 'token', 'access_token'],
    routes: [
      {
        name: 'discovery',
        method: 'GET',
        path: '/.well-known/openid-configuration',
        auth: false,
        handle: ({ state }) => {
          // An issuer identifier may end in "/" (Auth0's do); its endpoints are below it either way.
          const base = state.issuer.replace(/\/+$/, '');
          return json(200, {
            issuer: state.issuer,
            jwks_uri: `${base}/jwks`,
            token_endpoint: `${base}/oauth/token`,
            introspection_endpoint: `${base}/oauth/introspect`,
            userinfo_endpoint: `${base}/userinfo`,
            response_types_supported: ['code', 'token'],
            subject_types_supported: ['public'],
            id_token_signing_alg_values_supported: ['RS256', 'ES256'],
            userinfo_signing_alg_values_supported: ['RS256', 'ES256'],
            grant_types_supported: ['client_credentials'],
            token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
            introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
          });
        },
      },
      {
        name: 'jwks',
        method: 'GET',
        path: '/jwks',
        auth: false,
        handle: ({ state }) => ({
          status: 200,
          json: { keys: state.keys.map((key) => key.jwk) },
          headers: { 'cache-control': 'public, max-age=300' },
        }),
      },
      {
        name: 'token',
        method: 'POST',
        path: '/oauth/token',
        auth: false,
        handle: ({ request, state }) => {
          const form = (request.body ?? {}) as Form;
          const clientId = client(state, request.headers, form);
          if (form['grant_type'] !== 'client_credentials') {
            refuse(oauthError(400, 'unsupported_grant_type', 'only client_credentials is supported'));
          }
          const now = Math.floor(Date.now() / 1000);
          const jti = randomUUID();
          const claims = {
            iss: state.issuer,
            sub: clientId,
            aud: typeof form['audience'] === 'string' ? form['audience'] : OIDC_DEFAULT_AUDIENCE,
            iat: now,
            nbf: now,
            exp: now + 3600,
            jti,
            scope: typeof form['scope'] === 'string' ? form['scope'] : 'issues:read',
            client_id: clientId,
          };
          state.live.add(jti);
          return json(200, {
            access_token: state.sign(claims),
            token_type: 'Bearer',
            expires_in: 3600,
            scope: claims.scope,
          });
        },
      },
      {
        name: 'introspect',
        method: 'POST',
        path: '/oauth/introspect',
        auth: false,
        handle: ({ request, state }) => {
          const form = (request.body ?? {}) as Form;
          client(state, request.headers, form);
          if (typeof form['token'] !== 'string')
            refuse(oauthError(400, 'invalid_request', 'token is required'));
          const claims = claimsOf(form['token']);
          const live =
            claims !== undefined &&
            claims['iss'] === state.issuer &&
            state.live.has(String(claims['jti'])) &&
            Number(claims['exp']) > Date.now() / 1000;
          if (!live) return json(200, { active: false });
          const { iss, sub, aud, exp, iat, scope, client_id } = claims;
          return json(200, { active: true, token_type: 'Bearer', iss, sub, aud, exp, iat, scope, client_id });
        },
      },
      {
        name: 'userinfo',
        method: 'GET',
        path: '/userinfo',
        auth: false,
        handle: ({ request, state }) => {
          const token = /^Bearer (.+)$/i.exec(request.headers['authorization'] ?? '')?.[1];
          const claims = token === undefined ? undefined : claimsOf(token);
          const user = claims === undefined ? undefined : state.users.get(String(claims['sub']));
          const live = claims !== undefined && Number(claims['exp']) > Date.now() / 1000;
          if (user === undefined || !live) {
            return {
              status: 401,
              headers: { 'www-authenticate': 'Bearer error="invalid_token"' },
              json: { error: 'invalid_token', error_description: 'the access token is not valid' },
            };
          }
          if (state.userinfoSigning === undefined) return json(200, user);
          const client = typeof claims['client_id'] === 'string' ? claims['client_id'] : undefined;
          const signed = state.sign(
            { ...user, iss: state.issuer, aud: client ?? OIDC_SANDBOX_CLIENT.clientId },
            { alg: state.userinfoSigning },
          );
          return { status: 200, body: signed, contentType: 'application/jwt' };
        },
      },
    ],
  };
}

/**
 * Starts the issuer on 127.0.0.1 (an ephemeral port unless told).
 *
 * @example
 * ```ts
 * const issuer = await startOidcFake();
 * ```
 */
export async function startOidcFake(options?: StartOptions): Promise<OidcFake> {
  const fake = await startFake(oidcFake(), options);
  fake.state.issuer = fake.url;
  const reset = fake.reset.bind(fake);
  return Object.assign(fake, {
    reset() {
      reset();
      fake.state.issuer = fake.url;
    },
    rotate() {
      fake.state.keys.splice(0, fake.state.keys.length, newKey('RS256'), newKey('ES256'));
    },
  });
}

// As a sandbox: `npx node scripts/local/sandboxes/oidc.ts [port]` serves the issuer until stopped.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const fake = await startOidcFake({ port: Number(process.argv[2] ?? 0) });
  console.log(`OIDC issuer sandbox: OIDC_API_URL=${fake.url} (client ${OIDC_SANDBOX_CLIENT.clientId})`);
}
