/**
 * How the connector authenticates to GitHub: a token from a secret (bearer), or a GitHub App, whose
 * private key signs a short-lived RS256 JWT that is exchanged for an installation token.
 */
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import {
  AuthError,
  bearerAuth,
  ConfigurationError,
  defineSecret,
  HttpClient,
  NotFoundError,
  type RequestAuth,
  type Secret,
  UnexpectedResponseError,
} from '@circle-core/core';
import * as z from 'zod';
import type { GitHubConfig } from './config.ts';

/** Headers GitHub asks every REST client to send. */
export const GITHUB_HEADERS = {
  accept: 'application/vnd.github+json',
  'x-github-api-version': '2022-11-28',
} as const;

/** GitHub's rate-limit headers; its rate limits answer 403 as well as 429. */
export const GITHUB_RATE_LIMIT = {
  remaining: 'x-ratelimit-remaining',
  reset: 'x-ratelimit-reset',
  resetFormat: 'epoch-seconds',
  throttleStatuses: [403],
} as const;

const Identifier = z
  .union([z.number().int().positive(), z.string().regex(/^[\w.-]{1,64}$/)])
  .transform((value) => String(value));

/** The JSON shape of the `GITHUB_APP_SECRET` secret. */
export const GitHubAppCredentials = z.object({
  appId: Identifier.describe('The GitHub App id (or its client id), the JWT issuer'),
  privateKey: z.string().min(1).describe('The app private key, PEM (PKCS#1 or PKCS#8) as GitHub issues it'),
  installationId: Identifier.describe('The installation of the app on the org or user account'),
});
export type GitHubAppCredentials = z.input<typeof GitHubAppCredentials>;

/** GitHub rejects app JWTs that live longer than ten minutes; nine leaves room for clock drift. */
const JWT_LIFETIME_SECONDS = 9 * 60;
/** Backdated against clocks that run behind GitHub's, as GitHub's docs recommend. */
const JWT_BACKDATE_SECONDS = 60;

const keyCache = new Map<string, KeyObject>();

function privateKeyFrom(pem: string, source: string): KeyObject {
  let key = keyCache.get(pem);
  if (key === undefined) {
    try {
      key = createPrivateKey(pem);
    } catch {
      // No cause: the parser's message could quote part of the key.
      throw new ConfigurationError(`The GitHub App private key in ${source} is not a valid PEM private key`);
    }
    if (key.asymmetricKeyType !== 'rsa') {
      throw new ConfigurationError(`The GitHub App private key in ${source} must be an RSA key`);
    }
    keyCache.clear();
    keyCache.set(pem, key);
  }
  return key;
}

/**
 * Signs the app JWT GitHub expects: RS256, `iat` backdated 60 s, `exp` nine minutes ahead, `iss` the app id.
 *
 * @example
 * ```ts
 * const jwt = signAppJwt({ appId: '12345', privateKey: pem }); // 'eyJhbGciOiJSUzI1NiIs...'
 * ```
 */
export function signAppJwt(
  options: { appId: string; privateKey: string; source?: string },
  now: number = Date.now(),
): string {
  const seconds = Math.floor(now / 1000);
  // A numeric app id goes out as a number, a client id (`Iv1.abc`) as a string: GitHub accepts both.
  const iss = /^\d+$/.test(options.appId) ? Number(options.appId) : options.appId;
  const header = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(
    JSON.stringify({ iat: seconds - JWT_BACKDATE_SECONDS, exp: seconds + JWT_LIFETIME_SECONDS, iss }),
  ).toString('base64url');
  const key = privateKeyFrom(options.privateKey, options.source ?? 'the app credentials');
  const signature = sign('sha256', Buffer.from(`${header}.${payload}`), key).toString('base64url');
  return `${header}.${payload}.${signature}`;
}

const InstallationToken = z.object({
  token: z.string().min(1),
  expires_at: z.iso.datetime({ offset: true }),
});

export interface GitHubAppAuthOptions {
  /** A secret holding {@link GitHubAppCredentials} as JSON, or the credentials themselves. */
  credentials: Secret | GitHubAppCredentials;
  /** GitHub's API base URL (the token exchange goes there). */
  baseUrl: string;
  /** Renew an installation token this long before it expires; default five minutes. */
  refreshAheadMs?: number;
  /** Per attempt of the exchange; default 10 000. */
  timeoutMs?: number;
  /** The clock; tests move it to reach a token's expiry. */
  now?: () => number;
  /** The client that performs the exchange; default one without auth on `baseUrl`. */
  http?: HttpClient;
}

interface CachedToken {
  value: string;
  refreshAt: number;
}

/**
 * GitHub App authentication as a core {@link RequestAuth}: signs an app JWT, exchanges it for an
 * installation token (`POST /app/installations/{id}/access_tokens`), caches that token until five
 * minutes before `expires_at` with one exchange in flight at a time, and sends it as a bearer token.
 * After a GitHub 401, `refresh()` drops the token and re-reads the secret (the key may have rotated), so
 * the core HTTP client's one retry runs with a fresh installation token.
 *
 * @example
 * ```ts
 * const auth = githubAppAuth({ credentials: defineSecret('circle-core/github/app'), baseUrl: 'https://api.github.com' });
 * const client = new HttpClient({ provider: 'GitHub', baseUrl: 'https://api.github.com', auth });
 * ```
 */
export function githubAppAuth(options: GitHubAppAuthOptions): RequestAuth {
  const { credentials, baseUrl, refreshAheadMs = 300_000, timeoutMs = 10_000, now = Date.now } = options;
  const source = 'text' in credentials ? `secret ${credentials.name}` : 'the app credentials';
  const literal = 'text' in credentials ? undefined : parseLiteral(credentials);
  const http =
    options.http ??
    new HttpClient({
      provider: 'GitHub',
      baseUrl,
      headers: { ...GITHUB_HEADERS },
      rateLimit: GITHUB_RATE_LIMIT,
      timeoutMs,
      maxAttempts: 2,
    });
  let cached: CachedToken | undefined;
  let inFlight: Promise<CachedToken> | undefined;
  // Bumped by refresh(): an exchange started before it must not repopulate the cache with a stale token.
  let generation = 0;

  async function exchange(): Promise<CachedToken> {
    const app = literal ?? (await (credentials as Secret).json(GitHubAppCredentials));
    const jwt = signAppJwt({ appId: app.appId, privateKey: app.privateKey, source }, now());
    let body: unknown;
    try {
      ({ body } = await http.request({
        method: 'POST',
        path: `/app/installations/${encodeURIComponent(app.installationId)}/access_tokens`,
        headers: { authorization: `Bearer ${jwt}` },
      }));
    } catch (error) {
      if (error instanceof AuthError && error.status === 401) {
        throw new AuthError(`GitHub refused the app JWT (check appId and privateKey in ${source})`, {
          cause: error,
          details: { status: 401, provider: 'GitHub' },
        });
      }
      if (error instanceof NotFoundError) {
        throw new ConfigurationError(
          `GitHub App installation ${app.installationId} was not found (check installationId in ${source})`,
          { cause: error },
        );
      }
      throw error;
    }
    const parsed = InstallationToken.safeParse(body);
    if (!parsed.success) {
      throw new UnexpectedResponseError('GitHub answered the installation token request without a token');
    }
    const expiresAt = Date.parse(parsed.data.expires_at);
    const at = now();
    // A token that lives less than the refresh margin is still used, for half of its remaining life.
    const refreshAt =
      expiresAt - refreshAheadMs > at ? expiresAt - refreshAheadMs : at + (expiresAt - at) / 2;
    return { value: parsed.data.token, refreshAt };
  }

  function startExchange(): Promise<CachedToken> {
    const started = generation;
    const pending: Promise<CachedToken> = exchange()
      .then((fresh) => {
        if (started === generation) cached = fresh;
        return fresh;
      })
      .finally(() => {
        if (inFlight === pending) inFlight = undefined;
      });
    return pending;
  }

  async function token(): Promise<string> {
    if (cached !== undefined && now() < cached.refreshAt) return cached.value;
    inFlight ??= startExchange();
    return (await inFlight).value;
  }

  return {
    async apply(request) {
      request.headers['authorization'] = `Bearer ${await token()}`;
    },
    async refresh() {
      cached = undefined;
      inFlight = undefined;
      generation += 1;
      if ('text' in credentials) await credentials.refresh();
      // Even with literal credentials a new installation token may succeed where a revoked one failed.
      return true;
    },
  };
}

function parseLiteral(credentials: GitHubAppCredentials): z.output<typeof GitHubAppCredentials> {
  const result = GitHubAppCredentials.safeParse(credentials);
  if (!result.success) {
    const fields = result.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new ConfigurationError(`GitHub App credentials are invalid: ${fields}`);
  }
  return result.data;
}

/** The auth the connector uses, and the secret reads worth doing during init. */
export interface GitHubAuthSetup {
  auth: RequestAuth;
  /** Secrets to fetch during init (never rejects). */
  prefetch(): Promise<void>;
}

/**
 * Builds the configured auth: `GITHUB_AUTH=token` reads `GITHUB_TOKEN_SECRET`, `app` reads
 * `GITHUB_APP_SECRET` and exchanges installation tokens.
 *
 * @example
 * ```ts
 * const { auth, prefetch } = githubAuthFromConfig(config);
 * await prefetch();
 * ```
 */
export function githubAuthFromConfig(
  config: GitHubConfig,
  options: { now?: () => number; http?: HttpClient } = {},
): GitHubAuthSetup {
  const maxAgeSeconds = config.GITHUB_SECRET_MAX_AGE_SECONDS;
  if (config.GITHUB_AUTH === 'app') {
    const secret = defineSecret(config.GITHUB_APP_SECRET, { maxAgeSeconds });
    const appOptions: GitHubAppAuthOptions = {
      credentials: secret,
      baseUrl: config.GITHUB_API_URL,
      timeoutMs: config.GITHUB_TIMEOUT_MS,
    };
    if (options.now !== undefined) appOptions.now = options.now;
    if (options.http !== undefined) appOptions.http = options.http;
    return { auth: githubAppAuth(appOptions), prefetch: () => secret.prefetch() };
  }
  const secret = defineSecret(config.GITHUB_TOKEN_SECRET, { maxAgeSeconds });
  return { auth: bearerAuth({ token: secret }), prefetch: () => secret.prefetch() };
}
