/**
 * OAuth 2.0 client credentials with a signed JWT as the client's authentication (RFC 7523 section 2.2,
 * OpenID Connect's `private_key_jwt`): no shared secret travels, the token endpoint checks the assertion
 * against the client's registered public key. SMART Backend Services (FHIR) requires it with RS384 or
 * ES384; Okta, Auth0 and Entra ID accept it too.
 */
import { randomUUID } from 'node:crypto';
import type { TokenShare } from '../coordination/tokens.ts';
import { type CachedTokenAuth, cachedTokenAuth } from './cached-token.ts';
import { type JwtAlgorithm, signJwt } from './jwt.ts';
import {
  issuedFrom,
  nodePost,
  parseTokenUrl,
  postTokenForm,
  type TokenPost,
} from './oauth2-client-credentials.ts';

/** The `client_assertion_type` of RFC 7523 section 2.2. */
export const JWT_CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** What one assertion is made of: read fresh for every exchange (the key may have rotated). */
export interface ClientAssertionKey {
  /** The registered client id: the assertion's `iss` and `sub`. */
  clientId: string;
  /** PEM private key matching `algorithm`. */
  privateKey: string;
  /** The JWT header's `kid`: which registered public key verifies it. */
  keyId?: string | undefined;
  /** Default RS384. */
  algorithm?: JwtAlgorithm | undefined;
  /** Where the key came from, for messages (`secret prod/fhir`), never the key. */
  source?: string | undefined;
}

export interface OAuth2ClientAssertionOptions {
  /** The token endpoint; also the assertion's `aud`. */
  tokenUrl: string;
  /** Reads the client id and key (from a secret) for each exchange. */
  key: () => Promise<ClientAssertionKey>;
  /** Called after the provider refused the token, before the next exchange: re-read the secret. */
  onRefresh?: () => Promise<void>;
  /** Space-separated scopes (`system/*.read`). */
  scope?: string | undefined;
  /** The assertion's life in seconds; default 300 (SMART's maximum). */
  lifetimeSeconds?: number;
  /** Per exchange, ms; default 10 000, capped by the time left. */
  timeoutMs?: number;
  /** Renew the access token this long before it expires; default 60 000. */
  refreshAheadMs?: number;
  /** The transport (tests); default one `node:http(s)` POST. */
  post?: TokenPost;
  now?: () => number;
  share?: TokenShare;
}

/**
 * Access tokens from the client credentials grant authenticated by a signed assertion (`iss` = `sub` =
 * client id, `aud` = token URL, a fresh `jti`, `exp` at most five minutes on), cached until
 * `refreshAheadMs` before they expire ({@link cachedTokenAuth}); after a provider 401/403, `refresh()`
 * drops the token and runs `onRefresh`.
 *
 * @example
 * ```ts
 * const auth = oauth2ClientAssertion({
 *   tokenUrl: 'https://ehr.example.com/oauth/token',
 *   scope: 'system/*.read',
 *   key: async () => ({ ...(await secret.json(SmartKey)), source: `secret ${secret.name}` }),
 *   onRefresh: () => secret.refresh(),
 * });
 * ```
 */
export function oauth2ClientAssertion(options: OAuth2ClientAssertionOptions): CachedTokenAuth {
  const url = parseTokenUrl(options.tokenUrl, 'oauth2ClientAssertion');
  const { lifetimeSeconds = 300, timeoutMs = 10_000, refreshAheadMs = 60_000 } = options;
  const { post = nodePost, now = Date.now, scope } = options;

  async function exchange() {
    const key = await options.key();
    const seconds = Math.floor(now() / 1000);
    const assertion = signJwt({
      algorithm: key.algorithm ?? 'RS384',
      privateKey: key.privateKey,
      claims: {
        iss: key.clientId,
        sub: key.clientId,
        aud: url.href,
        jti: randomUUID(),
        iat: seconds,
        exp: seconds + lifetimeSeconds,
      },
      ...(key.keyId === undefined ? {} : { header: { kid: key.keyId } }),
      keyName: 'client assertion',
      ...(key.source === undefined ? {} : { source: key.source }),
    });
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_assertion_type: JWT_CLIENT_ASSERTION_TYPE,
      client_assertion: assertion,
    });
    if (scope !== undefined) form.set('scope', scope);
    return issuedFrom(await postTokenForm({ url, form, headers: {}, timeoutMs, post, redact: [assertion] }));
  }

  return cachedTokenAuth({
    exchange,
    refreshAheadMs,
    now,
    ...(options.onRefresh === undefined ? {} : { onRefresh: options.onRefresh }),
    ...(options.share === undefined ? {} : { share: options.share }),
  });
}
