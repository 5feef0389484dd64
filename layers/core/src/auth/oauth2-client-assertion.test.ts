import { generateKeyPairSync, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AuthError } from '../errors.ts';
import { JWT_CLIENT_ASSERTION_TYPE, oauth2ClientAssertion } from './oauth2-client-assertion.ts';
import type { TokenRequest, TokenResponse } from './oauth2-client-credentials.ts';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
const NOW = Date.UTC(2026, 0, 1);
const TOKEN_URL = 'https://ehr.example.com/oauth/token';

const decode = (part: string | undefined): Record<string, unknown> =>
  JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8'));

/** A token endpoint that records each form and answers `answers` in turn (the last one repeats). */
function endpoint(...answers: TokenResponse[]) {
  const forms: URLSearchParams[] = [];
  const post = async (request: TokenRequest): Promise<TokenResponse> => {
    forms.push(new URLSearchParams(request.body));
    return answers[Math.min(forms.length, answers.length) - 1] as TokenResponse;
  };
  return { forms, post };
}

const TOKEN = {
  status: 200,
  headers: {},
  body: '{"access_token":"at-1","expires_in":300,"token_type":"bearer"}',
};

describe('Function: oauth2ClientAssertion', () => {
  it('posts client_credentials with an RS384 assertion (iss = sub = client id, aud, jti, 5 min) and sends the token', async () => {
    // Prepare
    const token = endpoint(TOKEN);
    const auth = oauth2ClientAssertion({
      tokenUrl: TOKEN_URL,
      scope: 'system/*.read',
      key: async () => ({ clientId: 'client-1', privateKey: PEM, keyId: 'kid-1' }),
      post: token.post,
      now: () => NOW,
    });
    const request = {
      url: new URL('https://ehr.example.com/fhir/Patient'),
      headers: {} as Record<string, string>,
    };

    // Act
    await auth.apply(request);
    await auth.apply(request);

    // Assess
    expect(request.headers['authorization']).toBe('Bearer at-1');
    expect(token.forms).toHaveLength(1);
    const form = token.forms[0];
    expect(form?.get('grant_type')).toBe('client_credentials');
    expect(form?.get('scope')).toBe('system/*.read');
    expect(form?.get('client_assertion_type')).toBe(JWT_CLIENT_ASSERTION_TYPE);
    const [header, claims, signature] = (form?.get('client_assertion') ?? '').split('.');
    expect(decode(header)).toEqual({ alg: 'RS384', typ: 'JWT', kid: 'kid-1' });
    const seconds = NOW / 1000;
    expect(decode(claims)).toEqual({
      iss: 'client-1',
      sub: 'client-1',
      aud: TOKEN_URL,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      iat: seconds,
      exp: seconds + 300,
    });
    const signed = Buffer.from(`${header}.${claims}`);
    expect(verify('sha384', signed, publicKey, Buffer.from(signature ?? '', 'base64url'))).toBe(true);
  });

  it('signs a new assertion (new jti) after a refusal, re-reading the key', async () => {
    // Prepare
    const token = endpoint(TOKEN);
    let reads = 0;
    const auth = oauth2ClientAssertion({
      tokenUrl: TOKEN_URL,
      key: async () => {
        reads += 1;
        return { clientId: 'client-1', privateKey: PEM };
      },
      onRefresh: async () => undefined,
      post: token.post,
    });
    const request = { url: new URL('https://ehr.example.com/fhir'), headers: {} as Record<string, string> };

    // Act
    await auth.apply(request);
    const retry = await auth.refresh();
    await auth.apply(request);

    // Assess
    expect(retry).toBe(true);
    expect(reads).toBe(2);
    const jtis = token.forms.map((form) => decode(form.get('client_assertion')?.split('.')[1])['jti']);
    expect(new Set(jtis).size).toBe(2);
    expect(token.forms[0]?.has('scope')).toBe(false);
  });

  it('maps a refused assertion to an AuthError that never quotes it', async () => {
    // Prepare
    const token = endpoint({
      status: 400,
      headers: {},
      body: '{"error":"invalid_client","error_description":"assertion signature invalid"}',
    });
    const auth = oauth2ClientAssertion({
      tokenUrl: TOKEN_URL,
      key: async () => ({ clientId: 'client-1', privateKey: PEM }),
      post: token.post,
    });

    // Act
    const failure = await auth
      .apply({ url: new URL('https://ehr.example.com/fhir'), headers: {} })
      .catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(AuthError);
    expect((failure as Error).message).toContain('invalid_client');
    expect((failure as Error).message).not.toContain(token.forms[0]?.get('client_assertion') ?? 'none');
  });
});
