/**
 * JWT authorizers on the local gateway, end to end: a service whose stage configures an HTTP API JWT
 * authorizer the way serverless.yml does (`httpApiAuthorizers` and `httpAuthorizer` params, the issuer a
 * param of its own), resolved by the real Serverless CLI with `--param="jwtIssuerUrl=..."` pointing at the
 * local OIDC issuer sandbox, modelled and served by the local HTTP API. Tokens come from the issuer's token
 * endpoint or are signed with its keys (or another key, for the forged one).
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildModel, type LocalModel } from '../../scripts/local/config/model.ts';
import { resolveServerlessConfig } from '../../scripts/local/config/serverless.ts';
import { LOCAL_AUTHORIZER } from '../../scripts/local/gateway/event.ts';
import { type HttpApi, startHttpApi } from '../../scripts/local/gateway/http-api.ts';
import { createStackLog } from '../../scripts/local/log.ts';
import {
  OIDC_DEFAULT_AUDIENCE,
  OIDC_SANDBOX_CLIENT,
  type OidcFake,
  startOidcFake,
} from '../../scripts/local/sandboxes/oidc.ts';

const REPO_ROOT = join(import.meta.dirname, '..', '..');
const API_KEY = 'jwt-test-local-key';

/** The service: the same shape as serverless.yml's params and provider.httpApi.authorizers. */
const SERVICE = `service: jwt-local
frameworkVersion: ">=3"
params:
  default:
    httpAuthorizer:
      type: aws_iam
    httpApiAuthorizers: {}
  dev:
    jwtIssuerUrl: https://cognito-idp.us-east-1.amazonaws.com/us-east-1_EXAMPLE
    httpAuthorizer:
      name: jwt
      scopes: [issues:read, issues:write]
    httpApiAuthorizers:
      jwt:
        identitySource: $request.header.Authorization
        issuerUrl: \${param:jwtIssuerUrl}
        audience:
          - ${OIDC_DEFAULT_AUDIENCE}
provider:
  name: aws
  runtime: nodejs24.x
  stage: \${opt:stage, 'dev'}
  httpApi:
    payload: "2.0"
    authorizers: \${param:httpApiAuthorizers}
functions:
  echo:
    handler: index.handler
    events:
      - httpApi:
          method: GET
          path: /echo/claims
          authorizer: '\${param:httpAuthorizer}'
      - httpApi:
          method: GET
          path: /echo/admin
          authorizer:
            name: jwt
            scopes: [admin]
      - httpApi:
          method: GET
          path: /echo/any
          authorizer:
            name: jwt
      - httpApi:
          method: GET
          path: /echo/iam
          authorizer:
            type: aws_iam
`;

let root: string;
let issuer: OidcFake;
let model: LocalModel;
let api: HttpApi;
const invocations: unknown[] = [];

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Headers;
}

async function call(path: string, authorization?: string): Promise<Answer> {
  const response = await fetch(`${api.url}${path}`, {
    headers: authorization === undefined ? {} : { authorization },
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    headers: response.headers,
  };
}

/** An access token from the issuer's token endpoint (client credentials), as a client gets one. */
async function issuedToken(form: Record<string, string> = {}): Promise<string> {
  const response = await fetch(`${issuer.url}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${OIDC_SANDBOX_CLIENT.clientId}:${OIDC_SANDBOX_CLIENT.clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...form }).toString(),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

const now = () => Math.floor(Date.now() / 1000);

/** Claims the authorizer accepts; each test spoils one. */
const claims = (overrides: Record<string, unknown> = {}) => ({
  iss: issuer.url,
  sub: 'user-jenny',
  aud: OIDC_DEFAULT_AUDIENCE,
  iat: now() - 5,
  nbf: now() - 5,
  exp: now() + 300,
  scope: 'issues:read',
  ...overrides,
});

/** The event the function got, from its echo. */
const eventOf = (answer: Answer) =>
  answer.body as {
    requestContext: { authorizer?: { jwt?: { claims: Record<string, string>; scopes: string[] | null } } };
  };

beforeAll(async () => {
  issuer = await startOidcFake();
  root = await mkdtemp(join(tmpdir(), 'circle-jwt-authorizer-'));
  await writeFile(join(root, 'serverless.yml'), SERVICE);
  await symlink(join(REPO_ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
  await mkdir(join(root, 'state'));
  const { config } = await resolveServerlessConfig({
    root,
    cacheDir: join(root, 'state'),
    awsEndpoint: 'http://127.0.0.1:9',
    params: [`jwtIssuerUrl=${issuer.url}`],
  });
  model = buildModel(config, { awsUrl: 'http://127.0.0.1:9' });
  api = await startHttpApi({
    port: 0,
    apiKey: API_KEY,
    invoke: async (_key, event) => {
      invocations.push(event);
      return { requestId: 'r', durationMs: 1, logTail: '', payload: JSON.stringify(event) };
    },
    timeoutMsOf: () => 5_000,
    health: () => ({ status: 'ok' }),
    log: createStackLog({ pretty: false, write: () => undefined }),
  });
  api.setRoutes(model.functions.flatMap((fn) => fn.routes));
}, 120_000);

afterAll(async () => {
  await api?.close();
  await issuer?.close();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe('Local gateway: JWT authorizers from serverless.yml', () => {
  it('models the stage authorizer with the issuer given by --param, and the route scopes', () => {
    // Assess
    const routes = model.functions.flatMap((fn) => fn.routes);
    const claimsRoute = routes.find((route) => route.path === '/echo/claims');
    expect(claimsRoute?.jwt).toEqual({
      authorizer: {
        name: 'jwt',
        identitySource: ['$request.header.Authorization'],
        issuerUrl: issuer.url,
        audience: [OIDC_DEFAULT_AUDIENCE],
      },
      scopes: ['issues:read', 'issues:write'],
    });
    expect(routes.find((route) => route.path === '/echo/iam')).toMatchObject({ authorized: true });
    expect(routes.find((route) => route.path === '/echo/iam')?.jwt).toBeUndefined();
    expect(model.warnings).toEqual([]);
  });

  it('accepts a token from the local issuer and puts its claims, as strings, in the event', async () => {
    // Prepare
    const token = await issuedToken({ scope: 'issues:read profile' });

    // Act
    const answer = await call('/echo/claims', `Bearer ${token}`);

    // Assess
    expect(answer.status).toBe(200);
    const jwt = eventOf(answer).requestContext.authorizer?.jwt;
    expect(jwt?.claims).toMatchObject({
      iss: issuer.url,
      sub: OIDC_SANDBOX_CLIENT.clientId,
      aud: OIDC_DEFAULT_AUDIENCE,
      client_id: OIDC_SANDBOX_CLIENT.clientId,
      scope: 'issues:read profile',
    });
    expect(jwt?.claims['exp']).toMatch(/^\d{10}$/);
    expect(jwt?.scopes).toEqual(['issues:read', 'profile']);
  });

  it('passes scopes null on a route that asks for none, the scope claim still among the claims', async () => {
    // Prepare
    const token = issuer.state.sign(claims({ scope: 'profile', groups: ['ops', 'admins'], admin: true }));

    // Act
    const answer = await call('/echo/any', `Bearer ${token}`);

    // Assess
    expect(answer.status).toBe(200);
    const jwt = eventOf(answer).requestContext.authorizer?.jwt;
    expect(jwt?.scopes).toBeNull();
    expect(jwt?.claims).toMatchObject({ scope: 'profile', groups: '[ops admins]', admin: 'true' });
  });

  it('takes the token without the Bearer prefix, an EC-signed one, and client_id when there is no aud', async () => {
    // Prepare
    const plain = await issuedToken();
    const ec = issuer.state.sign(claims(), { alg: 'ES256' });
    const clientOnly = issuer.state.sign(claims({ aud: undefined, client_id: OIDC_DEFAULT_AUDIENCE }));

    // Act
    const answers = await Promise.all([
      call('/echo/claims', plain),
      call('/echo/claims', `Bearer ${ec}`),
      call('/echo/claims', `Bearer ${clientOnly}`),
    ]);

    // Assess
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200]);
    expect(eventOf(answers[2] as Answer).requestContext.authorizer?.jwt?.claims['client_id']).toBe(
      OIDC_DEFAULT_AUDIENCE,
    );
  });

  it('answers 401 Unauthorized to a forged, expired, not-yet-valid, wrong-audience, wrong-issuer or missing token', async () => {
    // Prepare: the forged token names the issuer's real key id but is signed by another key.
    const kid = issuer.state.keys.find((key) => key.alg === 'RS256')?.kid as string;
    const { privateKey } = await generateKeyPair('RS256');
    const forged = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT', kid })
      .sign(privateKey);
    const before = invocations.length;
    const tokens = {
      forged,
      expired: issuer.state.sign(claims({ iat: now() - 600, nbf: now() - 600, exp: now() - 60 })),
      notYetValid: issuer.state.sign(claims({ nbf: now() + 600 })),
      issuedInTheFuture: issuer.state.sign(claims({ iat: now() + 600 })),
      wrongAudience: await issuedToken({ audience: 'someone-else' }),
      wrongIssuer: issuer.state.sign(claims({ iss: 'https://issuer.example' })),
      garbage: 'not-a-jwt',
    };

    // Act
    const answers = await Promise.all(
      Object.values(tokens).map((token) => call('/echo/claims', `Bearer ${token}`)),
    );
    const missing = await call('/echo/claims');

    // Assess
    for (const answer of [...answers, missing]) {
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({ message: 'Unauthorized' });
      expect(answer.headers.get('www-authenticate')).toMatch(/^Bearer .*error="invalid_token"/);
    }
    const descriptions = answers.map((answer) => answer.headers.get('www-authenticate'));
    expect(descriptions[0]).toContain('signature is invalid');
    expect(descriptions[1]).toContain('expired');
    expect(descriptions[4]).toContain('valid audience');
    expect(descriptions[5]).toContain('valid issuer');
    expect(missing.headers.get('www-authenticate')).toContain('missing');
    // Refused before the function runs.
    expect(invocations.length).toBe(before);
  });

  it('answers 403 Forbidden when the token has none of the route scopes', async () => {
    // Prepare
    const readOnly = await issuedToken({ scope: 'issues:read' });
    const admin = await issuedToken({ scope: 'admin' });
    const scp = issuer.state.sign(claims({ scope: undefined, scp: ['admin'] }));

    // Act
    const refused = await call('/echo/admin', `Bearer ${readOnly}`);
    const allowed = await call('/echo/admin', `Bearer ${admin}`);
    const allowedByScp = await call('/echo/admin', `Bearer ${scp}`);

    // Assess
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ message: 'Forbidden' });
    expect(refused.headers.get('www-authenticate')).toContain('error="insufficient_scope"');
    expect(allowed.status).toBe(200);
    expect(allowedByScp.status).toBe(200);
  });

  it('keeps the local API key for routes with an IAM authorizer', async () => {
    // Act
    const without = await call('/echo/iam');
    const token = await call('/echo/iam', `Bearer ${await issuedToken()}`);
    const withKey = await call('/echo/iam', `Bearer ${API_KEY}`);

    // Assess
    expect(without.status).toBe(401);
    expect(without.body['code']).toBe('unauthorized');
    expect(token.status).toBe(401);
    expect(withKey.status).toBe(200);
    expect(eventOf(withKey).requestContext.authorizer).toEqual(LOCAL_AUTHORIZER);
  });
});

describe('Function: buildModel (httpApi authorizers)', () => {
  it('leaves Lambda authorizers and unknown names to the local API key, and skips an incomplete JWT authorizer', () => {
    // Prepare
    const config = {
      service: 'svc',
      provider: {
        httpApi: {
          authorizers: {
            custom: { type: 'request', functionName: 'auth' },
            broken: { identitySource: '$request.header.Authorization', audience: ['x'] },
          },
        },
      },
      functions: {
        fn: {
          handler: 'index.handler',
          events: [
            { httpApi: { method: 'GET', path: '/a', authorizer: { name: 'custom' } } },
            { httpApi: { method: 'GET', path: '/b', authorizer: { name: 'broken' } } },
            { httpApi: { method: 'GET', path: '/c' } },
          ],
        },
      },
    };

    // Act
    const built = buildModel(config, { awsUrl: 'http://127.0.0.1:9' });

    // Assess
    const routes = built.functions[0]?.routes ?? [];
    expect(routes.map((route) => [route.path, route.authorized, route.jwt])).toEqual([
      ['/a', true, undefined],
      ['/b', true, undefined],
      ['/c', false, undefined],
    ]);
    expect(built.warnings).toEqual([
      'httpApi authorizer broken: a JWT authorizer needs issuerUrl and audience; skipped',
      'fn: authorizer custom is no JWT authorizer the local gateway checks (a Lambda authorizer is not run locally); the local API key stands in for it',
      'fn: authorizer broken is no JWT authorizer the local gateway checks (a Lambda authorizer is not run locally); the local API key stands in for it',
    ]);
  });
});
