import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../errors.ts';
import { signJwt } from './jwt.ts';

const rsa = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const ec = generateKeyPairSync('ec', {
  namedCurve: 'P-256',
  privateKeyEncoding: { type: 'sec1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});

function parts(jwt: string): { header: unknown; claims: unknown; signed: Buffer; signature: Buffer } {
  const [header = '', claims = '', signature = ''] = jwt.split('.');
  const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as unknown;
  return {
    header: decode(header),
    claims: decode(claims),
    signed: Buffer.from(`${header}.${claims}`),
    signature: Buffer.from(signature, 'base64url'),
  };
}

describe('Function: signJwt', () => {
  it('signs RS256 with the header, claims and a signature the public key verifies', () => {
    // Act
    const jwt = signJwt({
      algorithm: 'RS256',
      privateKey: rsa.privateKey,
      claims: { iss: 42, iat: 1_700_000_000, exp: 1_700_000_540 },
      header: { kid: 'key-1' },
    });

    // Assess
    const { header, claims, signed, signature } = parts(jwt);
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'key-1' });
    expect(claims).toEqual({ iss: 42, iat: 1_700_000_000, exp: 1_700_000_540 });
    expect(verify('sha256', signed, rsa.publicKey, signature)).toBe(true);
  });

  it('signs ES256 as JOSE wants it: a 64-byte r||s signature, not DER', () => {
    // Act
    const jwt = signJwt({ algorithm: 'ES256', privateKey: ec.privateKey, claims: { sub: 'svc' } });

    // Assess
    const { header, signed, signature } = parts(jwt);
    expect(header).toEqual({ alg: 'ES256', typ: 'JWT' });
    expect(signature).toHaveLength(64);
    const key = { key: createPublicKey(ec.publicKey), dsaEncoding: 'ieee-p1363' as const };
    expect(verify('sha256', signed, key, signature)).toBe(true);
  });

  it('signs RS384 and ES384 (SMART Backend Services) with SHA-384, ES384 as a 96-byte r||s pair', () => {
    // Prepare
    const p384 = generateKeyPairSync('ec', {
      namedCurve: 'P-384',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });

    // Act
    const rs = parts(signJwt({ algorithm: 'RS384', privateKey: rsa.privateKey, claims: { iss: 'c' } }));
    const es = parts(signJwt({ algorithm: 'ES384', privateKey: p384.privateKey, claims: { iss: 'c' } }));

    // Assess
    expect(rs.header).toEqual({ alg: 'RS384', typ: 'JWT' });
    expect(verify('sha384', rs.signed, rsa.publicKey, rs.signature)).toBe(true);
    expect(verify('sha256', rs.signed, rsa.publicKey, rs.signature)).toBe(false);
    expect(es.header).toEqual({ alg: 'ES384', typ: 'JWT' });
    expect(es.signature).toHaveLength(96);
    const publicKey = { key: p384.publicKey, dsaEncoding: 'ieee-p1363' as const };
    expect(verify('sha384', es.signed, publicKey, es.signature)).toBe(true);
  });

  it('refuses a P-256 key for ES384', () => {
    // Act
    const act = () => signJwt({ algorithm: 'ES384', privateKey: ec.privateKey, claims: {} });

    // Assess
    expect(act).toThrow(
      new ConfigurationError(
        'The JWT signing private key in the credentials must be an EC P-384 key for ES384',
      ),
    );
  });

  it('keeps alg the one it signs with, whatever the extra header says', () => {
    // Act
    const jwt = signJwt({
      algorithm: 'RS256',
      privateKey: rsa.privateKey,
      claims: {},
      header: { alg: 'none' },
    });

    // Assess
    expect(parts(jwt).header).toEqual({ alg: 'RS256', typ: 'JWT' });
  });

  it.each([
    ['an EC key for RS256', 'RS256', ec.privateKey, /must be an RSA key for RS256/],
    ['an RSA key for ES256', 'ES256', rsa.privateKey, /must be an EC P-256 key for ES256/],
    [
      'a P-384 key for ES256',
      'ES256',
      generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey,
      /must be an EC P-256 key/,
    ],
  ] as const)('throws a ConfigurationError for %s', (_title, algorithm, privateKey, message) => {
    // Act
    const attempt = () => signJwt({ algorithm, privateKey, claims: {}, keyName: 'Acme', source: 'secret k' });

    // Assess
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(/^The Acme private key in secret k/);
  });

  it('throws a ConfigurationError for a value that is no key, without quoting it', () => {
    // Prepare
    const bogus = 'not-a-key-c2VjcmV0LW1hdGVyaWFs';

    // Act
    const attempt = () => signJwt({ algorithm: 'RS256', privateKey: bogus, claims: {} });

    // Assess
    expect(attempt).toThrow('The JWT signing private key in the credentials is not a valid PEM private key');
    expect(attempt).not.toThrow(/c2VjcmV0/);
  });
});
