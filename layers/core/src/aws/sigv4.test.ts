import { createHash, createHmac } from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';
import { describe, expect, it } from 'vitest';
import {
  type AwsCredentials,
  environmentCredentials,
  type SignableRequest,
  sha256Hex,
  signV4,
} from './sigv4.ts';

/** The SHA-256 the SDK's signer is given (what `@smithy/hash-node` does), so it serves as the oracle. */
class NodeSha256 {
  readonly #hash: ReturnType<typeof createHash> | ReturnType<typeof createHmac>;
  constructor(secret?: string | Uint8Array) {
    this.#hash = secret === undefined ? createHash('sha256') : createHmac('sha256', secret);
  }
  update(data: string | Uint8Array): void {
    this.#hash.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
}

const NOW = new Date('2026-12-06T07:30:05.123Z');

/** The SDK's signature for the same request, headers and time. */
async function sdkAuthorization(
  request: SignableRequest & { body: string },
  credentials: AwsCredentials,
  region: string,
  service: string,
): Promise<string> {
  const signer = new SignatureV4({
    credentials: { ...credentials, sessionToken: credentials.sessionToken ?? '' },
    region,
    service,
    sha256: NodeSha256 as unknown as ConstructorParameters<typeof SignatureV4>[0]['sha256'],
    applyChecksum: false,
  });
  const query: Record<string, string[]> = {};
  for (const [name, value] of request.url.searchParams) query[name] = [...(query[name] ?? []), value];
  const signed = await signer.sign(
    {
      method: request.method,
      protocol: request.url.protocol,
      hostname: request.url.hostname,
      ...(request.url.port === '' ? {} : { port: Number(request.url.port) }),
      path: request.url.pathname,
      query,
      headers: { ...request.headers, host: request.url.host },
      body: request.body,
    },
    { signingDate: NOW },
  );
  return String(signed.headers['authorization']);
}

describe('Function: signV4', () => {
  it('signs a Secrets Manager call exactly as the AWS SDK signer does, session token included', async () => {
    // Prepare
    const credentials = {
      accessKeyId: 'ASIAEXAMPLEKEY',
      secretAccessKey: 'example/secret+key',
      sessionToken: 'tok',
    };
    const body = JSON.stringify({ SecretId: 'prod/app token' });
    const request = {
      method: 'POST',
      url: new URL('https://secretsmanager.eu-west-1.amazonaws.com/'),
      headers: {
        'content-type': 'application/x-amz-json-1.1',
        'x-amz-target': 'secretsmanager.GetSecretValue',
      } as Record<string, string>,
      payloadHash: sha256Hex(body),
      body,
    };
    const expected = await sdkAuthorization(
      { ...request, headers: { ...request.headers, 'x-amz-security-token': 'tok' } },
      credentials,
      'eu-west-1',
      'secretsmanager',
    );

    // Act
    signV4(request, { credentials, region: 'eu-west-1', service: 'secretsmanager', now: NOW });

    // Assess
    expect(request.headers['authorization']).toBe(expected);
    expect(request.headers['x-amz-date']).toBe('20261206T073005Z');
    expect(request.headers['x-amz-security-token']).toBe('tok');
    expect(request.headers['host']).toBe('secretsmanager.eu-west-1.amazonaws.com');
  });

  it('matches the SDK signer for a path, a sorted query, a port and no session token', async () => {
    // Prepare
    const credentials = {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
    };
    const request = {
      method: 'get',
      url: new URL('http://127.0.0.1:4566/a%20b/c?b=2&a=z%2Fy&a=1&sp=x%20y*'),
      headers: { 'x-amz-meta-note': '  two   spaces  ', 'x-amz-security-token': 'stale' } as Record<
        string,
        string
      >,
      payloadHash: sha256Hex(''),
      body: '',
    };
    const { 'x-amz-security-token': _stale, ...sdkHeaders } = request.headers;
    const expected = await sdkAuthorization(
      { ...request, method: 'GET', headers: sdkHeaders },
      credentials,
      'us-east-1',
      'sqs',
    );

    // Act
    signV4(request, { credentials, region: 'us-east-1', service: 'sqs', now: NOW });

    // Assess
    expect(request.headers['authorization']).toBe(expected);
    expect(request.headers['host']).toBe('127.0.0.1:4566');
    expect(request.headers).not.toHaveProperty('x-amz-security-token');
  });

  it('leaves headers that may change in transit unsigned', () => {
    // Prepare
    const request = {
      method: 'POST',
      url: new URL('https://secretsmanager.us-east-1.amazonaws.com/'),
      headers: {
        'user-agent': 'x',
        'x-correlation-id': 'c',
        'content-type': 'application/x-amz-json-1.1',
      } as Record<string, string>,
      payloadHash: sha256Hex('{}'),
    };

    // Act
    signV4(request, {
      credentials: { accessKeyId: 'A', secretAccessKey: 'S' },
      region: 'us-east-1',
      service: 's',
    });

    // Assess
    expect(request.headers['authorization']).toContain('SignedHeaders=content-type;host;x-amz-date,');
  });

  it('derives a new key when the day changes', () => {
    // Prepare
    const scope = {
      credentials: { accessKeyId: 'A', secretAccessKey: 'S' },
      region: 'us-east-1',
      service: 's',
    };
    const sign = (now: Date) => {
      const headers: Record<string, string> = {};
      signV4(
        { method: 'GET', url: new URL('https://h/'), headers, payloadHash: sha256Hex('') },
        { ...scope, now },
      );
      return headers['authorization'];
    };

    // Act
    const first = sign(new Date('2026-12-06T23:59:59Z'));
    const next = sign(new Date('2026-12-07T00:00:00Z'));
    const again = sign(new Date('2026-12-06T23:59:59Z'));

    // Assess
    expect(next).toContain('/20261207/us-east-1/s/aws4_request');
    expect(next).not.toBe(first);
    expect(again).toBe(first);
  });
});

describe('Function: environmentCredentials', () => {
  it('reads the keys and the session token Lambda sets', () => {
    expect(
      environmentCredentials({ AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'S', AWS_SESSION_TOKEN: 'T' }),
    ).toEqual({ accessKeyId: 'A', secretAccessKey: 'S', sessionToken: 'T' });
  });

  it('has no session token when none is set', () => {
    expect(environmentCredentials({ AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'S' })?.sessionToken).toBe(
      undefined,
    );
  });

  it.each([
    { AWS_ACCESS_KEY_ID: 'A' },
    { AWS_SECRET_ACCESS_KEY: 'S' },
    { AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: 'S' },
  ])('is undefined without both keys (%o)', (env) => {
    expect(environmentCredentials(env)).toBeUndefined();
  });
});
