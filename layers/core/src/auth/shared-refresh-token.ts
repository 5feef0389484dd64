/**
 * OAuth 2.0 refresh-token auth for providers that rotate the refresh token on every grant (Atlassian,
 * GitLab): with `CIRCLE_COORDINATION_TABLE` set, every container of the connector shares one access token
 * and so makes one grant per expiry between them; a container that granted on its own would spend a
 * refresh token another had already rotated away.
 */
import { coordinationFromEnv } from '../coordination/table.ts';
import { SharedTokenCache } from '../coordination/tokens.ts';
import type { CachedTokenAuth } from './cached-token.ts';
import { type OAuth2RefreshTokenOptions, oauth2RefreshToken } from './oauth2-refresh-token.ts';

/**
 * {@link oauth2RefreshToken}, its access token shared by the connector's containers (keyed by the
 * credentials secret's name) when the coordination table is configured; alone otherwise.
 *
 * @example
 * ```ts
 * const auth = sharedRefreshTokenAuth('gitlab', { tokenUrl, credentials: secrets.token, clientAuthentication: 'body' });
 * ```
 */
export function sharedRefreshTokenAuth(
  connector: string,
  options: Omit<OAuth2RefreshTokenOptions, 'share'>,
  env: Record<string, string | undefined> = process.env,
): CachedTokenAuth {
  const table = coordinationFromEnv(connector, undefined, env);
  const key = `oauth:${options.credentials.name}`;
  return oauth2RefreshToken(
    table === undefined ? options : { ...options, share: new SharedTokenCache({ table, key }) },
  );
}
