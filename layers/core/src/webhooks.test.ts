import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuthError, ConfigurationError } from './errors.ts';
import {
  assertFreshTimestamp,
  hmacSignature,
  verifyAnyHmacSignature,
  verifyHmacSignature,
  verifySharedToken,
  webhookSecrets,
} from './webhooks.ts';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const BODY = '{"action":"opened","issue":{"number":1347}}';

/** Signatures computed straight with node:crypto, not through the helper under test. */
function sign(content: string | Uint8Array, algorithm = 'sha256', encoding: 'hex' | 'base64' = 'hex') {
  return createHmac(algorithm, SECRET).update(content).digest(encoding);
}

function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('Function: hmacSignature', () => {
  it('matches an HMAC computed directly, in hex by default and in base64 on request', () => {
    // Act & Assess
    expect(hmacSignature(SECRET, BODY)).toBe(sign(BODY));
    expect(hmacSignature(SECRET, BODY, { algorithm: 'sha512', encoding: 'base64' })).toBe(
      sign(BODY, 'sha512', 'base64'),
    );
  });

  it('matches the HMAC-SHA256 test vector of RFC 4231 (test case 2)', () => {
    // Act & Assess
    expect(hmacSignature('Jefe', 'what do ya want for nothing?')).toBe(
      '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843',
    );
  });
});

describe('Function: verifyHmacSignature', () => {
  it('accepts a valid GitHub X-Hub-Signature-256', () => {
    // Act & Assess
    expect(() =>
      verifyHmacSignature({
        secret: SECRET,
        signedContent: BODY,
        signature: `sha256=${sign(BODY)}`,
        prefix: 'sha256=',
      }),
    ).not.toThrow();
  });

  it('accepts a valid Slack v0 signature over its base string', () => {
    // Prepare
    const timestamp = '1531420618';
    const base = `v0:${timestamp}:token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J`;

    // Act & Assess
    expect(() =>
      verifyHmacSignature({
        secret: SECRET,
        signedContent: base,
        signature: `v0=${sign(base)}`,
        prefix: 'v0=',
      }),
    ).not.toThrow();
  });

  it('accepts raw bytes, upper-case hex, sha1 and sha512, and base64', () => {
    // Prepare
    const bytes = new Uint8Array([0, 255, 1, 254, 10]);

    // Act & Assess
    expect(() =>
      verifyHmacSignature({ secret: SECRET, signedContent: bytes, signature: sign(bytes) }),
    ).not.toThrow();
    expect(() =>
      verifyHmacSignature({ secret: SECRET, signedContent: BODY, signature: sign(BODY).toUpperCase() }),
    ).not.toThrow();
    expect(() =>
      verifyHmacSignature({
        secret: SECRET,
        signedContent: BODY,
        signature: `sha1=${sign(BODY, 'sha1')}`,
        prefix: 'sha1=',
        algorithm: 'sha1',
      }),
    ).not.toThrow();
    expect(() =>
      verifyHmacSignature({
        secret: SECRET,
        signedContent: BODY,
        signature: sign(BODY, 'sha512'),
        algorithm: 'sha512',
      }),
    ).not.toThrow();
    expect(() =>
      verifyHmacSignature({
        secret: SECRET,
        signedContent: BODY,
        signature: sign(BODY, 'sha256', 'base64'),
        encoding: 'base64',
      }),
    ).not.toThrow();
  });

  it('throws an AuthError when one byte of the body changed', () => {
    // Prepare
    const signature = `sha256=${sign(BODY)}`;
    const tampered = BODY.replace('1347', '1348');

    // Act
    const error = thrown(() =>
      verifyHmacSignature({ secret: SECRET, signedContent: tampered, signature, prefix: 'sha256=' }),
    );

    // Assess
    expect(error).toEqual(new AuthError('Webhook signature does not match'));
    expect(error).toBeInstanceOf(AuthError);
  });

  it('throws an AuthError when the body was signed with another secret', () => {
    // Prepare
    const signature = createHmac('sha256', 'another-secret').update(BODY).digest('hex');

    // Act & Assess
    expect(() => verifyHmacSignature({ secret: SECRET, signedContent: BODY, signature })).toThrow(
      'Webhook signature does not match',
    );
  });

  it('throws an AuthError when the prefix is wrong', () => {
    // Act & Assess
    expect(() =>
      verifyHmacSignature({
        secret: SECRET,
        signedContent: BODY,
        signature: `sha1=${sign(BODY)}`,
        prefix: 'sha256=',
      }),
    ).toThrow(new AuthError('Webhook signature does not match'));
  });

  it('throws an AuthError when a prefix is expected and the signature has none', () => {
    // Act & Assess
    expect(() =>
      verifyHmacSignature({ secret: SECRET, signedContent: BODY, signature: sign(BODY), prefix: 'v0=' }),
    ).toThrow(AuthError);
  });

  it.each([undefined, '', '   '])('throws "Webhook signature is missing" for %o', (signature) => {
    // Act
    const error = thrown(() => verifyHmacSignature({ secret: SECRET, signedContent: BODY, signature }));

    // Assess
    expect(error).toBeInstanceOf(AuthError);
    expect((error as Error).message).toBe('Webhook signature is missing');
  });

  it.each([
    ['shorter', (s: string) => s.slice(0, -2)],
    ['longer', (s: string) => `${s}00`],
    ['empty after the prefix', () => ''],
    // Same number of characters, one more byte: a character-length check alone would let a RangeError through.
    ['as long in characters but not in bytes', (s: string) => `é${s.slice(1)}`],
    ['as long in bytes but not in characters', (s: string) => `éé${s.slice(4)}`],
  ])('throws an AuthError, not a RangeError, for a signature that is %s', (_, change) => {
    // Act
    const error = thrown(() =>
      verifyHmacSignature({
        secret: SECRET,
        signedContent: BODY,
        signature: `sha256=${change(sign(BODY))}`,
        prefix: 'sha256=',
      }),
    );

    // Assess
    expect(error).toBeInstanceOf(AuthError);
    expect((error as Error).message).toBe('Webhook signature does not match');
  });

  it('throws a ConfigurationError when the signing secret is empty', () => {
    // Act & Assess
    expect(() =>
      verifyHmacSignature({
        secret: '',
        signedContent: BODY,
        signature: createHmac('sha256', '').update(BODY).digest('hex'),
      }),
    ).toThrow(ConfigurationError);
  });
});

describe('Function: verifyHmacSignature with several secrets (a rotation)', () => {
  const OTHER = 'the-previous-signing-secret';
  const signedBy = (key: string) => createHmac('sha256', key).update(BODY).digest('base64');

  it('passes a signature made with any of the secrets and refuses one made with none of them', () => {
    const check = (signature: string) =>
      thrown(() =>
        verifyHmacSignature({ secret: [SECRET, OTHER], signedContent: BODY, signature, encoding: 'base64' }),
      );
    expect(check(signedBy(SECRET))).toBeUndefined();
    expect(check(signedBy(OTHER))).toBeUndefined();
    expect(check(signedBy('someone-else'))).toBeInstanceOf(AuthError);
  });

  it('refuses an empty list, or an empty secret in it, as a configuration error', () => {
    const check = (secret: string[]) =>
      thrown(() => verifyHmacSignature({ secret, signedContent: BODY, signature: sign(BODY) }));
    expect(check([])).toBeInstanceOf(ConfigurationError);
    expect(check([SECRET, ''])).toBeInstanceOf(ConfigurationError);
  });
});

describe('Function: webhookSecrets', () => {
  it('reads one secret per line, trimmed, skipping blank lines', () => {
    expect(webhookSecrets(' new-secret \r\n\n old-secret\n')).toEqual(['new-secret', 'old-secret']);
    expect(webhookSecrets('only-one')).toEqual(['only-one']);
    expect(webhookSecrets('  \n ')).toEqual([]);
  });
});

describe('Function: verifySharedToken', () => {
  it('accepts the configured token and refuses another, a prefix of it, or none, without echoing it', () => {
    // Act & Assess
    expect(() => verifySharedToken({ secret: SECRET, token: SECRET })).not.toThrow();
    for (const token of ['wrong-token', SECRET.slice(0, -1), `${SECRET}x`]) {
      const error = thrown(() => verifySharedToken({ secret: SECRET, token }));
      expect(error).toBeInstanceOf(AuthError);
      expect((error as Error).message).toBe('Webhook token does not match');
    }
    expect(thrown(() => verifySharedToken({ secret: SECRET, token: undefined }))).toBeInstanceOf(AuthError);
    expect((thrown(() => verifySharedToken({ secret: SECRET, token: '' })) as Error).message).toBe(
      'Webhook token is missing',
    );
  });

  it('fails closed on an empty configured token', () => {
    // Act & Assess
    expect(thrown(() => verifySharedToken({ secret: '', token: '' }))).toBeInstanceOf(ConfigurationError);
    expect(thrown(() => verifySharedToken({ secret: [], token: SECRET }))).toBeInstanceOf(ConfigurationError);
  });

  it('accepts any of several configured tokens (a rotation) and refuses one that is none of them', () => {
    // Act & Assess
    const tokens = ['the-new-token', SECRET];
    expect(thrown(() => verifySharedToken({ secret: tokens, token: 'the-new-token' }))).toBeUndefined();
    expect(thrown(() => verifySharedToken({ secret: tokens, token: SECRET }))).toBeUndefined();
    expect(thrown(() => verifySharedToken({ secret: tokens, token: 'the-old-old-token' }))).toBeInstanceOf(
      AuthError,
    );
  });
});

describe('Function: assertFreshTimestamp', () => {
  const now = 1_700_000_000_000;
  const nowSeconds = now / 1000;

  it.each([
    ['now', String(nowSeconds)],
    ['a number', nowSeconds - 10],
    ['exactly the tolerance in the past', String(nowSeconds - 300)],
    ['exactly the tolerance in the future', String(nowSeconds + 300)],
  ])('accepts a timestamp that is %s', (_, timestamp) => {
    // Act & Assess
    expect(() => assertFreshTimestamp(timestamp, { now })).not.toThrow();
  });

  it.each([
    [undefined, 'Webhook timestamp is missing'],
    ['', 'Webhook timestamp is missing'],
    ['abc', 'Webhook timestamp is not a number'],
    ['1e9', 'Webhook timestamp is not a number'],
    ['-5', 'Webhook timestamp is not a number'],
    [Number.NaN, 'Webhook timestamp is not a number'],
    [String(nowSeconds - 301), 'Webhook timestamp is too old'],
    [nowSeconds + 301, 'Webhook timestamp is in the future'],
  ])('throws an AuthError for %o', (timestamp, message) => {
    // Act
    const error = thrown(() => assertFreshTimestamp(timestamp, { now }));

    // Assess
    expect(error).toBeInstanceOf(AuthError);
    expect((error as Error).message).toBe(message);
  });

  it('honours a custom tolerance', () => {
    // Act & Assess
    expect(() => assertFreshTimestamp(nowSeconds - 61, { now, toleranceSeconds: 60 })).toThrow('too old');
    expect(() => assertFreshTimestamp(nowSeconds - 60, { now, toleranceSeconds: 60 })).not.toThrow();
  });

  it('compares with the current time by default', () => {
    // Act & Assess
    expect(() => assertFreshTimestamp(Math.floor(Date.now() / 1000))).not.toThrow();
    expect(() => assertFreshTimestamp(Math.floor(Date.now() / 1000) - 3600)).toThrow('too old');
  });
});

describe('Function: verifyAnyHmacSignature', () => {
  it('passes when any of several signatures matches (a secret being rotated), in either hex case', () => {
    // Act & Assess
    const signatures = ['00'.repeat(32), sign(BODY).toUpperCase()];
    expect(() => verifyAnyHmacSignature({ secret: SECRET, signedContent: BODY, signatures })).not.toThrow();
  });

  it('throws an AuthError when none matches or none was sent, and a ConfigurationError for an empty secret', () => {
    // Act
    const none = thrown(() =>
      verifyAnyHmacSignature({ secret: SECRET, signedContent: BODY, signatures: ['abc', sign(`${BODY} `)] }),
    );
    const missing = thrown(() =>
      verifyAnyHmacSignature({ secret: SECRET, signedContent: BODY, signatures: [] }),
    );
    const empty = thrown(() =>
      verifyAnyHmacSignature({ secret: '', signedContent: BODY, signatures: [sign(BODY)] }),
    );

    // Assess
    expect(none).toBeInstanceOf(AuthError);
    expect((none as Error).message).toBe('Webhook signature does not match');
    expect((missing as Error).message).toBe('Webhook signature is missing');
    expect(empty).toBeInstanceOf(ConfigurationError);
  });
});
