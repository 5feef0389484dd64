/**
 * OAuth 2.0 JWT bearer grant (RFC 7523 section 2.1): a signed JWT assertion exchanged for an access token
 * at a token endpoint. Google service accounts use it (`urn:ietf:params:oauth:grant-type:jwt-bearer` with
 * an RS256 assertion whose `aud` is the key file's `token_uri`), as do Salesforce and Box key-pair apps.
 */
import type { TokenShare } from '../coordination/tokens.ts';
import { type CachedTokenAuth, cachedTokenAuth } from './cached-token.ts';
import type { JwtAlgorithm } from './jwt.ts';
import { signJwt } from './jwt.ts';
import {
  issuedFrom,
  nodePost,
  parseTokenUrl,
  postTokenForm,
  type TokenPost,
} from './oauth2-client-credentials.ts';

/** The grant type of RFC 7523. */
export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** What one assertion is made of: read fresh for every exchange (the key may have rotated). */
export interface JwtBearerKey {
  /** The token endpoint; also the assertion's `aud` unless `audience` says otherwise. */
  tokenUrl: string;
  /** PEM private key. */
  privateKey: string;
  /** The `iss` claim: the service account's e-mail, the app's client id. */
  issuer: string;
  /** The `scope` claim (space-separated), when the provider wants scopes in the assertion. */
  scope?: string | undefined;
  /** The `sub` claim: the user to act as (domain-wide delegation), when any. */
  subject?: string | undefined;
  /** The `aud` claim; default `tokenUrl`. */
  audience?: string | undefined;
  /** Sent as the JWT header's `kid` (Google: the key file's `private_key_id`). */
  keyId?: string | undefined;
  /** Where the key came from, for messages (`secret prod/gcs`), never the key. */
  source?: string | undefined;
}

export interface OAuth2JwtBearerOptions {
  /** Reads the key (from a secret) for each exchange. */
  key: () => Promise<JwtBearerKey>;
  /** Called after the provider refused the token, before the next exchange: re-read the secret. */
  onRefresh?: () => Promise<void>;
  /** Default RS256. */
  algorithm?: JwtAlgorithm;
  /** The assertion's life in seconds; default 3600 (Google's maximum). */
  lifetimeSeconds?: number;
  /** Per exchange, ms; default 10 000, capped by the time left. */
  timeoutMs?: number;
  /** Renew the access token this long before it expires; default 300 000. */
  refreshAheadMs?: number;
  /** The transport (tests); default one `node:http(s)` POST. */
  post?: TokenPost;
  now?: () => number;
  share?: TokenShare;
}

/**
 * Access tokens from signed JWT assertions, cached until `refreshAheadMs` before they expire
 * ({@link cachedTokenAuth}); after a provider 401/403, `refresh()` drops the token and runs `onRefresh`.
 *
 * @example
 * ```ts
 * const auth = oauth2JwtBearer({
 *   key: async () => {
 *     const file = await secret.json(ServiceAccountKey);
 *     return { tokenUrl: file.token_uri, privateKey: file.private_key, issuer: file.client_email, scope };
 *   },
 *   onRefresh: () => secret.refresh(),
 * });
 * ```
 */
export function oauth2JwtBearer(options: OAuth2JwtBearerOptions): CachedTokenAuth {
  const {
    algorithm = 'RS256',
    lifetimeSeconds = 3600,
    timeoutMs = 10_000,
    refreshAheadMs = 300_000,
    post = nodePost,
    now = Date.now,
  } = options;

  async function exchange() {
    const key = await options.key();
    const url = parseTokenUrl(key.tokenUrl, 'oauth2JwtBearer');
    const seconds = Math.floor(now() / 1000);
    const claims: Record<string, unknown> = {
      iss: key.issuer,
      aud: key.audience ?? key.tokenUrl,
      iat: seconds,
      exp: seconds + lifetimeSeconds,
    };
    if (key.scope !== undefined) claims['scope'] = key.scope;
    if (key.subject !== undefined) claims['sub'] = key.subject;
    const assertion = signJwt({
      algorithm,
      privateKey: key.privateKey,
      claims,
      ...(key.keyId === undefined ? {} : { header: { kid: key.keyId } }),
      keyName: 'JWT bearer',
      ...(key.source === undefined ? {} : { source: key.source }),
    });
    const form = new URLSearchParams({ grant_type: JWT_BEARER_GRANT, assertion });
    const answer = await postTokenForm({ url, form, headers: {}, timeoutMs, post, redact: [assertion] });
    return issuedFrom(answer);
  }

  return cachedTokenAuth({
    exchange,
    refreshAheadMs,
    now,
    ...(options.onRefresh === undefined ? {} : { onRefresh: options.onRefresh }),
    ...(options.share === undefined ? {} : { share: options.share }),
  });
}
