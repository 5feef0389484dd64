/**
 * How the connector authenticates to GitHub: a token from a secret (bearer, as `githubApi` declares), or a
 * GitHub App, whose private key signs a short-lived RS256 JWT that is exchanged for an installation token
 * held in the core's token cache.
 */
import {
  AuthError,
  type CachedTokenAuth,
  ConfigurationError,
  cachedTokenAuth,
  coordinationFromEnv,
  type HttpClient,
  type IssuedToken,
  NotFoundError,
  type RequestAuth,
  type Secret,
  SharedTokenCache,
  signJwt,
  type TokenShare,
  UnexpectedResponseError,
} from '@circle-core/core';
import * as z from 'zod';
import { githubApi } from './client.ts';
import type { GitHubConfig } from './config.ts';

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
  return signJwt({
    algorithm: 'RS256',
    privateKey: options.privateKey,
    claims: { iat: seconds - JWT_BACKDATE_SECONDS, exp: seconds + JWT_LIFETIME_SECONDS, iss },
    keyName: 'GitHub App',
    source: options.source ?? 'the app credentials',
  });
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
  /** Shares installation tokens with the other containers (the coordination table): one exchange per expiry. */
  share?: TokenShare;
}

/**
 * GitHub App authentication on the core's token cache: signs an app JWT, exchanges it for an installation
 * token (`POST /app/installations/{id}/access_tokens`), caches that token until five minutes before
 * `expires_at` with one exchange in flight at a time, and sends it as a bearer token. After a GitHub 401,
 * `refresh()` drops the token and re-reads the secret (the key may have rotated), so the core HTTP client's
 * one retry runs with a fresh installation token.
 *
 * @example
 * ```ts
 * const auth = githubAppAuth({ credentials: defineSecret('circle-core/github/app'), baseUrl: 'https://api.github.com' });
 * const github = new GitHubClient({ auth });
 * ```
 */
export function githubAppAuth(options: GitHubAppAuthOptions): CachedTokenAuth {
  const { credentials, baseUrl, refreshAheadMs = 300_000, timeoutMs = 10_000, now = Date.now } = options;
  const secret = 'text' in credentials ? credentials : undefined;
  const source = secret === undefined ? 'the app credentials' : `secret ${secret.name}`;
  const literal = secret === undefined ? parseLiteral(credentials as GitHubAppCredentials) : undefined;
  const rest =
    options.http === undefined
      ? // Token exchanges are not API calls of the installation: they draw from no shared budget.
        githubApi.client({ baseUrl, timeoutMs, maxAttempts: 2, coordination: false })
      : githubApi.client({ http: options.http });

  async function exchange(): Promise<IssuedToken> {
    const app = literal ?? (await (secret as Secret).json(GitHubAppCredentials));
    const jwt = signAppJwt({ appId: app.appId, privateKey: app.privateKey, source }, now());
    const path = `/app/installations/${encodeURIComponent(app.installationId)}/access_tokens`;
    let body: unknown;
    try {
      ({ body } = await rest.send('POST', path, undefined, { headers: { authorization: `Bearer ${jwt}` } }));
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
    return { value: parsed.data.token, expiresAt: Date.parse(parsed.data.expires_at) };
  }

  return cachedTokenAuth({
    exchange,
    refreshAheadMs,
    now,
    ...(options.share === undefined ? {} : { share: options.share }),
    ...(secret === undefined ? {} : { onRefresh: () => secret.refresh() }),
  });
}

function parseLiteral(credentials: GitHubAppCredentials): z.output<typeof GitHubAppCredentials> {
  const result = GitHubAppCredentials.safeParse(credentials);
  if (!result.success) {
    const fields = result.error.issues.map((issue) => issue.path.join('.') || '(root)').join(', ');
    throw new ConfigurationError(`GitHub App credentials are invalid: ${fields}`);
  }
  return result.data;
}

/**
 * The secret `GITHUB_AUTH` names: `token` reads `GITHUB_TOKEN_SECRET`, `app` reads `GITHUB_APP_SECRET`.
 *
 * @example
 * ```ts
 * const name = githubCredentialSecret(loadConfig(GitHubConfig)); // 'circle-core/github/token'
 * ```
 */
export function githubCredentialSecret(config: GitHubConfig): string {
  return config.GITHUB_AUTH === 'app' ? config.GITHUB_APP_SECRET : config.GITHUB_TOKEN_SECRET;
}

/**
 * Builds the configured auth over the secret {@link githubCredentialSecret} names: a token as a bearer,
 * app credentials exchanged for installation tokens.
 *
 * @example
 * ```ts
 * const auth = githubAuthFromConfig(config, defineSecret(githubCredentialSecret(config)));
 * ```
 */
export function githubAuthFromConfig(
  config: GitHubConfig,
  credential: Secret,
  options: { now?: () => number; http?: HttpClient } = {},
): RequestAuth {
  if (config.GITHUB_AUTH !== 'app') return githubApi.auth(credential);
  const table = coordinationFromEnv('github');
  return githubAppAuth({
    credentials: credential,
    baseUrl: config.GITHUB_API_URL,
    timeoutMs: config.GITHUB_TIMEOUT_MS,
    ...(table === undefined ? {} : { share: new SharedTokenCache({ table, key: `app:${credential.name}` }) }),
    ...options,
  });
}
