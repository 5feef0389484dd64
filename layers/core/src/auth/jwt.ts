/**
 * Signing JSON Web Tokens (RFC 7519) for app and key-pair auth: RS256 (GitHub Apps, Google service
 * accounts, Salesforce, Snowflake key-pair), ES256 (Apple, App Store Connect), and RS384 / ES384 (SMART
 * Backend Services client assertions, FHIR). The private key is parsed once per value and checked against
 * the algorithm; no error ever quotes it.
 */
import { createPrivateKey, type KeyObject, sign } from 'node:crypto';
import { ConfigurationError } from '../errors.ts';

export type JwtAlgorithm = 'RS256' | 'ES256' | 'RS384' | 'ES384';

export interface SignJwtOptions {
  algorithm: JwtAlgorithm;
  /** The private key, PEM (PKCS#1, PKCS#8 or SEC1) or a KeyObject. */
  privateKey: string | KeyObject;
  /** The claims; `iat`, `exp`, `iss`, ... as the receiver expects them. */
  claims: Record<string, unknown>;
  /** Extra header fields, e.g. `{ kid: 'key-1' }`; `alg` and `typ` are set here. */
  header?: Record<string, string>;
  /** Whose key it is, for messages: `GitHub App` gives "The GitHub App private key in ...". */
  keyName?: string;
  /** Where the key came from, for messages: `secret app/key` (never the key). */
  source?: string;
}

/** The key type and digest each algorithm needs. */
const KEY_TYPES: Record<JwtAlgorithm, { type: string; curve?: string; words: string; hash: string }> = {
  RS256: { type: 'rsa', words: 'an RSA key', hash: 'sha256' },
  ES256: { type: 'ec', curve: 'prime256v1', words: 'an EC P-256 key', hash: 'sha256' },
  RS384: { type: 'rsa', words: 'an RSA key', hash: 'sha384' },
  ES384: { type: 'ec', curve: 'secp384r1', words: 'an EC P-384 key', hash: 'sha384' },
};

/** The last key parsed, by its PEM: one key per auth is the rule, and parsing costs milliseconds. */
const parsed = new Map<string, KeyObject>();

function keyFrom(options: SignJwtOptions): KeyObject {
  const { privateKey, algorithm } = options;
  const where = `The ${options.keyName ?? 'JWT signing'} private key in ${options.source ?? 'the credentials'}`;
  let key = typeof privateKey === 'string' ? parsed.get(privateKey) : privateKey;
  if (key === undefined) {
    try {
      key = createPrivateKey(privateKey as string);
    } catch {
      // No cause: the parser's message could quote part of the key.
      throw new ConfigurationError(`${where} is not a valid PEM private key`);
    }
    parsed.clear();
    parsed.set(privateKey as string, key);
  }
  const expected = KEY_TYPES[algorithm];
  const curve = key.asymmetricKeyDetails?.namedCurve;
  if (key.asymmetricKeyType !== expected.type || (expected.curve !== undefined && curve !== expected.curve)) {
    throw new ConfigurationError(`${where} must be ${expected.words} for ${algorithm}`);
  }
  return key;
}

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/**
 * A compact JWS: `base64url(header).base64url(claims).base64url(signature)`. ES256/ES384 signatures are
 * the raw `r || s` pair JOSE requires, not DER.
 *
 * @example
 * ```ts
 * const seconds = Math.floor(Date.now() / 1000);
 * const jwt = signJwt({ algorithm: 'RS256', privateKey: pem, claims: { iss: 123, iat: seconds - 60, exp: seconds + 540 } });
 * ```
 */
export function signJwt(options: SignJwtOptions): string {
  const key = keyFrom(options);
  const { alg: _ignored, ...extra } = options.header ?? {};
  const header = encode({ alg: options.algorithm, typ: 'JWT', ...extra });
  const signingInput = `${header}.${encode(options.claims)}`;
  const { hash, type } = KEY_TYPES[options.algorithm];
  const signature =
    type === 'rsa'
      ? sign(hash, Buffer.from(signingInput), key)
      : sign(hash, Buffer.from(signingInput), { key, dsaEncoding: 'ieee-p1363' });
  return `${signingInput}.${signature.toString('base64url')}`;
}
