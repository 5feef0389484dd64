/**
 * OAuth 2.0 refresh-token grant (RFC 6749 §6) on the core's token cache, for providers whose access
 * tokens come from a user's consent (Salesforce, HubSpot, Google, Xero, ...). A provider that rotates
 * refresh tokens answers a new one with every access token; it is written back to the secret at once
 * (Secrets Manager `PutSecretValue` through the AWS kit), so the next container starts from it.
 */
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod';
import { awsCall } from '../aws/call.ts';
import { createAwsClient } from '../aws/client.ts';
import type { TokenShare } from '../coordination/tokens.ts';
import { AuthError } from '../errors.ts';
import type { Secret } from '../secrets.ts';
import { type CachedTokenAuth, cachedTokenAuth, type IssuedToken } from './cached-token.ts';
import {
  clientBasic,
  issuedFrom,
  nodePost,
  parseTokenUrl,
  postTokenForm,
  type TokenAnswer,
  type TokenPost,
} from './oauth2-client-credentials.ts';

/** The JSON shape of a refresh-token secret; other fields in it are kept when it is written back. */
// Built on first parse (z.lazy): a function that never reads this secret skips building it at cold start.
export const RefreshTokenCredentials = z.lazy(() =>
  z.looseObject({
    clientId: z.string().min(1).describe('The OAuth client id'),
    clientSecret: z.string().min(1).optional().describe('The OAuth client secret (none for a public client)'),
    refreshToken: z
      .string()
      .min(1)
      .describe('The current refresh token; replaced when the provider rotates it'),
  }),
);
export type RefreshTokenCredentials = z.output<typeof RefreshTokenCredentials>;

/** Writes a secret's new value. */
export type SecretWriter = (name: string, value: string) => Promise<void>;

export interface OAuth2RefreshTokenOptions {
  tokenUrl: string;
  /** The secret holding {@link RefreshTokenCredentials} as JSON; rotated refresh tokens are written back. */
  credentials: Secret;
  scope?: string;
  /** Renew a cached access token when fewer than this many ms remain. Default 60 000. */
  refreshAheadMs?: number;
  /** HTTP Basic (default, when there is a client secret) or the client id (and secret) in the form body. */
  clientAuthentication?: 'basic' | 'body';
  /** Upper bound of one token request, further capped by the time left. Default 10 000. */
  timeoutMs?: number;
  /** Replaces the built-in `node:http(s)` transport. */
  post?: TokenPost;
  /** Replaces the write-back (default: Secrets Manager `PutSecretValue` through {@link awsCall}). */
  store?: SecretWriter;
  /**
   * Shares the access token with the connector's other containers: one grant per expiry across all of
   * them, so a rotating refresh token is spent and written back once (see {@link cachedTokenAuth}).
   */
  share?: TokenShare;
}

let secretsClient: Promise<SecretsManagerClient> | undefined;

/**
 * The default write-back: `PutSecretValue` (a new version, AWSCURRENT) within the time left, failures
 * mapped by the AWS kit. The SDK client is loaded on first use.
 *
 * @example
 * ```ts
 * await putSecretValue('app/oauth', JSON.stringify(credentials));
 * ```
 */
export async function putSecretValue(name: string, value: string): Promise<void> {
  const sdk = await import('@aws-sdk/client-secrets-manager');
  secretsClient ??= createAwsClient(sdk.SecretsManagerClient, 'core');
  const client = await secretsClient;
  await awsCall(
    { service: 'Secrets Manager', action: 'PutSecretValue', resource: `secret ${name}` },
    (abortSignal) =>
      client.send(new sdk.PutSecretValueCommand({ SecretId: name, SecretString: value }), { abortSignal }),
  );
}

/**
 * OAuth 2.0 refresh-token grant: exchanges the stored refresh token for a bearer access token, cached and
 * renewed like every core token ({@link cachedTokenAuth}). A rotated refresh token is kept in memory and
 * written back to the secret before the access token is used; a failed write fails the call (a token the
 * store does not hold would be lost with the container). An `invalid_grant` answer re-reads the secret
 * once: another container may have rotated the token first. After a provider 401/403, `refresh()` drops
 * the access token and re-reads the secret.
 *
 * @example
 * ```ts
 * const auth = oauth2RefreshToken({
 *   tokenUrl: 'https://login.salesforce.com/services/oauth2/token',
 *   credentials: defineSecret(config.SALESFORCE_OAUTH_SECRET),
 * });
 * ```
 */
export function oauth2RefreshToken(options: OAuth2RefreshTokenOptions): CachedTokenAuth {
  const url = parseTokenUrl(options.tokenUrl, 'oauth2RefreshToken');
  const { credentials: secret, scope, refreshAheadMs = 60_000, clientAuthentication = 'basic' } = options;
  const { timeoutMs = 10_000, post = nodePost, store = putSecretValue } = options;
  // The newest credentials this container knows: ahead of the secret's cache after a rotation.
  let latest: RefreshTokenCredentials | undefined;
  // Set while `latest` is not in the store yet: it is then the only copy of a valid refresh token.
  let unsaved = false;

  function grant(creds: RefreshTokenCredentials): Promise<TokenAnswer> {
    const form = new URLSearchParams({ grant_type: 'refresh_token', refresh_token: creds.refreshToken });
    if (scope !== undefined) form.set('scope', scope);
    const headers: Record<string, string> = {};
    const { clientId, clientSecret } = creds;
    if (clientAuthentication === 'basic' && clientSecret !== undefined) {
      headers['authorization'] = clientBasic({ clientId, clientSecret });
    } else {
      form.set('client_id', clientId);
      if (clientSecret !== undefined) form.set('client_secret', clientSecret);
    }
    const redact = [creds.refreshToken, clientSecret ?? ''];
    return postTokenForm({ url, form, headers, timeoutMs, post, redact });
  }

  async function exchange(): Promise<IssuedToken> {
    if (options.share !== undefined && !unsaved) {
      // Shared: the last rotation may have been another container's, so its refresh token is the one to spend.
      latest = undefined;
      await secret.refresh();
    }
    let creds = latest ?? (await secret.json(RefreshTokenCredentials));
    let answer: TokenAnswer;
    try {
      answer = await grant(creds);
    } catch (error) {
      if (!(error instanceof AuthError) || error.details?.['oauthError'] !== 'invalid_grant') throw error;
      await secret.refresh();
      const stored = await secret.json(RefreshTokenCredentials);
      if (stored.refreshToken === creds.refreshToken) throw error;
      creds = stored;
      latest = undefined;
      unsaved = false;
      answer = await grant(creds);
    }
    if (answer.refresh_token !== undefined && answer.refresh_token !== creds.refreshToken) {
      latest = { ...creds, refreshToken: answer.refresh_token };
      unsaved = true;
      await store(secret.name, JSON.stringify(latest));
      unsaved = false;
    }
    return issuedFrom(answer);
  }

  return cachedTokenAuth({
    exchange,
    refreshAheadMs,
    ...(options.share === undefined ? {} : { share: options.share }),
    onRefresh: async () => {
      if (!unsaved) latest = undefined;
      await secret.refresh();
    },
  });
}
