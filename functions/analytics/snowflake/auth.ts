/**
 * Snowflake key-pair authentication: the user's RSA private key (from Secrets Manager) signs a short-lived
 * RS256 JWT whose issuer names the account, the user and the SHA-256 fingerprint of the public key registered
 * on the user (`ALTER USER ... SET RSA_PUBLIC_KEY`). The JWT is held in the core's token cache, renewed ahead
 * of its expiry and re-signed after the secret is re-read when Snowflake refuses it (key rotation).
 */
import { createHash, createPublicKey } from 'node:crypto';
import {
  type CachedTokenAuth,
  ConfigurationError,
  type CredentialSource,
  cachedTokenAuth,
  describeSource,
  signJwt,
} from '@circle-core/core';

/** Snowflake refuses a JWT that lives longer than an hour; 59 minutes leaves room for clock drift. */
const JWT_LIFETIME_SECONDS = 59 * 60;

export interface KeyPairAuthOptions {
  /** The account identifier: `ORGNAME-ACCOUNTNAME`, or an account locator (`XY12345`, region dropped). */
  account: string;
  /** The Snowflake user the key is registered on. */
  user: string;
  /** The PKCS#8 PEM private key, or the secret holding it. */
  privateKey: CredentialSource;
  /** The clock, epoch ms; tests move it to reach an expiry. */
  now?: () => number;
}

/**
 * The account as the JWT names it: upper-case, without the region or cloud of a locator
 * (`xy12345.us-east-2.aws` -> `XY12345`).
 *
 * @example
 * ```ts
 * jwtAccount('myorg-analytics'); // 'MYORG-ANALYTICS'
 * ```
 */
export function jwtAccount(account: string): string {
  return (account.split('.')[0] ?? account).toUpperCase();
}

/**
 * `SHA256:<base64>` of the public key's DER, as `DESC USER` shows `RSA_PUBLIC_KEY_FP`.
 *
 * @example
 * ```ts
 * publicKeyFingerprint(pem); // 'SHA256:jHx...='
 * ```
 */
export function publicKeyFingerprint(privateKeyPem: string): string {
  const der = createPublicKey(privateKeyPem).export({ type: 'spki', format: 'der' });
  return `SHA256:${createHash('sha256').update(der).digest('base64')}`;
}

/**
 * Signs the JWT Snowflake expects from a key-pair user.
 *
 * @example
 * ```ts
 * const jwt = signKeyPairJwt({ account: 'myorg-analytics', user: 'loader', privateKey: pem });
 * ```
 */
export function signKeyPairJwt(
  options: { account: string; user: string; privateKey: string; source?: string },
  now: number = Date.now(),
): { value: string; expiresAt: number } {
  let fingerprint: string;
  try {
    fingerprint = publicKeyFingerprint(options.privateKey);
  } catch {
    // No cause: the parser's message could quote part of the key.
    throw new ConfigurationError(
      `The Snowflake private key in ${options.source ?? 'the credentials'} is not a valid PEM private key`,
    );
  }
  const qualified = `${jwtAccount(options.account)}.${options.user.toUpperCase()}`;
  const iat = Math.floor(now / 1000);
  const exp = iat + JWT_LIFETIME_SECONDS;
  const value = signJwt({
    algorithm: 'RS256',
    privateKey: options.privateKey,
    claims: { iss: `${qualified}.${fingerprint}`, sub: qualified, iat, exp },
    keyName: 'Snowflake',
    source: options.source ?? 'the credentials',
  });
  return { value, expiresAt: exp * 1000 };
}

/**
 * Key-pair auth on the core's token cache: `Authorization: Bearer <JWT>` (the declaration adds
 * `X-Snowflake-Authorization-Token-Type: KEYPAIR_JWT`), one JWT per 59 minutes renewed five minutes ahead,
 * and after a 401 the secret re-read before one retry.
 *
 * @example
 * ```ts
 * const auth = snowflakeKeyPairAuth({ account: 'myorg-analytics', user: 'LOADER', privateKey: defineSecret('circle-core/snowflake/private-key') });
 * ```
 */
export function snowflakeKeyPairAuth(options: KeyPairAuthOptions): CachedTokenAuth {
  const { privateKey, now = Date.now } = options;
  const source = describeSource(privateKey);
  return cachedTokenAuth({
    exchange: async () => {
      // Not readCredential: a PEM spans lines, which that helper refuses for header values.
      const pem = (typeof privateKey === 'string' ? privateKey : await privateKey.text()).trim();
      return signKeyPairJwt({ account: options.account, user: options.user, privateKey: pem, source }, now());
    },
    refreshAheadMs: 300_000,
    now,
    ...(typeof privateKey === 'string' ? {} : { onRefresh: () => privateKey.refresh() }),
  });
}
