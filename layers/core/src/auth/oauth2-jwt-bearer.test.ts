import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuthError } from '../errors.ts';
import type { TokenRequest, TokenResponse } from './oauth2-client-credentials.ts';
import { JWT_BEARER_GRANT, oauth2JwtBearer } from './oauth2-jwt-bearer.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const NOW = Date.UTC(2026, 0, 1);

const decode = (part: string | undefined): Record<string, unknown> =>
  JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));

/** A token endpoint that records each form and answers `answer`. */
function endpoint(answer: TokenResponse): {
  post: (request: TokenRequest) => Promise<TokenResponse>;
  forms: URLSearchParams[];
} {
  const forms: URLSearchParams[] = [];
  return {
    forms,
    post: async (request) => {
      forms.push(new URLSearchParams(request.body));
      return answer;
    },
  };
}

const KEY = {
  tokenUrl: 'https://oauth2.example.com/token',
  privateKey: PEM,
  issuer: 'svc@project.iam.gserviceaccount.com',
  scope: 'https://www.googleapis.com/auth/devstorage.read_write',
  keyId: 'key-1',
};

describe('Function: oauth2JwtBearer', () => {
  it('posts an RS256 assertion with iss, aud, scope and a one-hour life, and sends the token it gets', async () => {
    // Prepare
    const token = endpoint({
      status: 200,
      headers: {},
      body: '{"access_token":"at-1","expires_in":3599,"token_type":"Bearer"}',
    });
    const auth = oauth2JwtBearer({ key: async () => KEY, post: token.post, now: () => NOW });
    const request = { url: new URL('https://storage.example.com/o'), headers: {} as Record<string, string> };
    // Act
    await auth.apply(request);
    await auth.apply(request);
    // Assess
    expect(request.headers['authorization']).toBe('Bearer at-1');
    expect(token.forms).toHaveLength(1);
    const form = token.forms[0];
    expect(form?.get('grant_type')).toBe(JWT_BEARER_GRANT);
    const [header, claims, signature] = (form?.get('assertion') ?? '').split('.');
    expect(decode(header)).toEqual({ alg: 'RS256', typ: 'JWT', kid: 'key-1' });
    expect(decode(claims)).toEqual({
      iss: KEY.issuer,
      aud: KEY.tokenUrl,
      scope: KEY.scope,
      iat: NOW / 1000,
      exp: NOW / 1000 + 3600,
    });
    const signed = verify(
      'sha256',
      Buffer.from(`${header}.${claims}`),
      publicKey,
      Buffer.from(signature ?? '', 'base64url'),
    );
    expect(signed).toBe(true);
  });

  it('maps a refused assertion to AuthError without quoting it, and re-reads the key on refresh', async () => {
    // Prepare
    const token = endpoint({
      status: 400,
      headers: {},
      body: '{"error":"invalid_grant","error_description":"Invalid JWT Signature."}',
    });
    let refreshed = 0;
    const auth = oauth2JwtBearer({
      key: async () => ({ ...KEY, audience: 'https://oauth2.googleapis.com/token' }),
      post: token.post,
      onRefresh: async () => {
        refreshed += 1;
      },
    });
    // Act
    const error = await auth.token().catch((e: unknown) => e);
    const retry = await auth.refresh();
    // Assess
    expect(error).toBeInstanceOf(AuthError);
    expect((error as Error).message).toContain('invalid_grant');
    expect((error as Error).message).not.toContain(token.forms[0]?.get('assertion') ?? 'none');
    expect(decode(token.forms[0]?.get('assertion')?.split('.')[1])['aud']).toBe(
      'https://oauth2.googleapis.com/token',
    );
    expect(retry).toBe(true);
    expect(refreshed).toBe(1);
  });
});
