/**
 * The OIDC connector against the local OIDC issuer (`scripts/local/sandboxes/oidc.ts`: discovery, JWKS,
 * client credentials, introspection, userinfo, real RS256/ES256 signatures) and the local stack's Secrets
 * Manager: every check of a token, key rotation, each operation on each trigger, and the failure paths.
 */
import { createHmac, generateKeyPairSync, type KeyObject, sign } from 'node:crypto';
import { configureSecrets, defineSecret, resetCircuitBreakers } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { json } from '../../../scripts/local/sandboxes/kit/index.ts';
import {
  OIDC_SANDBOX_CLIENT,
  OIDC_SANDBOX_TOKEN,
  type OidcFake,
  startOidcFake,
} from '../../../scripts/local/sandboxes/oidc.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';
import { JWKS_REFETCH_COOLDOWN_MS, OidcIssuer, oidcApi } from './client.ts';

const CLIENT_SECRET = `test/oidc/client-${Math.random().toString(36).slice(2)}`;

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let issuer: OidcFake;
let secrets: SecretsManagerPeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({ path: `/oidc/${operation}`, body });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);
const now = () => Math.floor(Date.now() / 1000);

/** A token as the issuer mints it, with `claims` over the defaults. */
function mint(claims: Record<string, unknown> = {}, options: { alg?: 'RS256' | 'ES256'; kid?: string } = {}) {
  return issuer.state.sign(
    {
      iss: issuer.url,
      sub: 'user-jenny',
      aud: 'circle-core-api',
      iat: now(),
      exp: now() + 600,
      scope: 'issues:read',
      ...claims,
    },
    options,
  );
}

/** An access token from the issuer's own token endpoint (client credentials). */
async function issuedToken(): Promise<string> {
  const response = await fetch(`${issuer.url}/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${OIDC_SANDBOX_CLIENT.clientId}:${OIDC_SANDBOX_CLIENT.clientSecret}`).toString('base64')}`,
    },
    body: 'grant_type=client_credentials&scope=issues%3Aread%20issues%3Awrite',
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

beforeAll(async () => {
  issuer = await startOidcFake();
  secrets = await startSecretsManager({ [CLIENT_SECRET]: OIDC_SANDBOX_TOKEN });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    OIDC_API_URL: issuer.url,
    OIDC_AUDIENCE: 'circle-core-api',
    OIDC_CLIENT_SECRET: CLIENT_SECRET,
    OIDC_TIMEOUT_MS: '1000',
  });
  configureSecrets({});
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await issuer.close();
  await secrets.close();
});

beforeEach(async () => {
  issuer.clearFaults();
  await secrets.set(CLIENT_SECRET, OIDC_SANDBOX_TOKEN);
  configureSecrets({});
  resetCircuitBreakers();
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

async function verify(token: string, requiredScopes?: string[]) {
  const response = await call('verify-token', {
    token,
    ...(requiredScopes === undefined ? {} : { requiredScopes }),
  });
  expect(response.statusCode).toBe(200);
  return parsed(response);
}

describe('Connector: oidc', () => {
  describe('Operation: verify-token', () => {
    it('accepts a token from the issuer, with subject, audience, scopes and the key that signed it', async () => {
      // Act
      const answer = await verify(await issuedToken(), ['issues:read']);

      // Assess
      expect(answer).toMatchObject({
        valid: true,
        subject: OIDC_SANDBOX_CLIENT.clientId,
        issuer: issuer.url,
        audience: ['circle-core-api'],
        scopes: ['issues:read', 'issues:write'],
        keyId: issuer.state.keys[0]?.kid,
      });
      expect((answer['claims'] as Record<string, unknown>)['client_id']).toBe(OIDC_SANDBOX_CLIENT.clientId);
    });

    it('accepts ES256 too, and refuses what OIDC_ALGORITHMS does not pin (none, HS256 with the public key)', async () => {
      // Prepare: alg none, and the classic confusion: HS256 keyed with the RSA public key's text
      const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const claims = { iss: issuer.url, sub: 'x', aud: 'circle-core-api', exp: now() + 600 };
      const none = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.`;
      const input = `${b64({ alg: 'HS256', kid: issuer.state.keys[0]?.kid })}.${b64(claims)}`;
      const hmac = createHmac('sha256', JSON.stringify(issuer.state.keys[0]?.jwk))
        .update(input)
        .digest('base64url');

      // Act
      const es = await verify(mint({}, { alg: 'ES256' }));
      const answers = [await verify(none), await verify(`${input}.${hmac}`)];

      // Assess
      expect(es['valid']).toBe(true);
      for (const answer of answers)
        expect(answer).toMatchObject({ valid: false, reason: 'algorithm-not-allowed' });
    });

    it('names each failed check: expired, not yet valid, issuer, audience, signature, claim, scope, shape', async () => {
      // Prepare
      const good = mint();
      const [header, payload, signature] = good.split('.');
      const tampered = `${header}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload ?? '', 'base64url').toString()), sub: 'admin' })).toString('base64url')}.${signature}`;
      const cases: [string, string, string[]?][] = [
        [mint({ exp: now() - 120 }), 'expired'],
        [mint({ nbf: now() + 600 }), 'not-yet-valid'],
        [mint({ iss: 'https://evil.example' }), 'wrong-issuer'],
        [mint({ aud: 'someone-else' }), 'wrong-audience'],
        [tampered, 'bad-signature'],
        [mint({ exp: undefined }), 'missing-claim'],
        [mint(), 'missing-scope', ['issues:admin']],
        ['not.a.jwt', 'malformed'],
      ];

      // Act + Assess
      for (const [token, reason, scopes] of cases) {
        const answer = await verify(token, scopes);
        expect({ reason: answer['reason'], valid: answer['valid'] }).toEqual({ reason, valid: false });
        expect(String(answer['detail'])).not.toContain(token);
      }
    });

    it('accepts several audiences whatever azp says, as Auth0 access tokens carry them (OIDC Core 3.1.3.7, errata 2)', async () => {
      // Prepare: Auth0 adds its /userinfo audience and sets azp to the application, not the API
      const auth0 = mint({ aud: ['circle-core-api', `${issuer.url}/userinfo`], azp: 'spa-client-id' });
      const noAzp = mint({ aud: ['circle-core-api', 'another-api'] });
      const foreign = mint({ aud: ['another-api', 'third-api'], azp: 'circle-core-api' });

      // Act
      const answers = [await verify(auth0), await verify(noAzp), await verify(foreign)];

      // Assess: aud decides (one of OIDC_AUDIENCE); azp is neither required nor compared
      expect(answers.map((answer) => answer['valid'] === true || answer['reason'])).toEqual([
        true,
        true,
        'wrong-audience',
      ]);
      expect(answers[0]?.['audience']).toEqual(['circle-core-api', `${issuer.url}/userinfo`]);
    });

    it('tolerates OIDC_CLOCK_SKEW_SECONDS (60) of clock difference on exp and nbf', async () => {
      const answers = [await verify(mint({ exp: now() - 30 })), await verify(mint({ nbf: now() + 30 }))];
      expect(answers.map((answer) => answer['valid'])).toEqual([true, true]);
    });

    it('answers unknown-key for a forged kid, fetching the keys again at most once per cooldown', async () => {
      // Prepare: the keys are cached by the earlier calls
      await verify(mint());
      const fetches = issuer.logFor('jwks').length;

      // Act
      const answers = await Promise.all(
        Array.from({ length: 20 }, (_, i) => verify(mint({}, { kid: `forged-${i}` }))),
      );

      // Assess
      expect(new Set(answers.map((answer) => answer['reason']))).toEqual(new Set(['unknown-key']));
      expect(issuer.logFor('jwks').length - fetches).toBeLessThanOrEqual(1);
    });

    it('refuses an unknown field and an oversized token with a 400, before any check', async () => {
      const extra = await call('verify-token', { token: mint(), audience: 'x' });
      const huge = await call('verify-token', { token: 'a'.repeat(20_000) });
      expect([extra.statusCode, huge.statusCode]).toEqual([400, 400]);
      expect(JSON.stringify(parsed(extra))).toContain('/audience');
    });
  });

  describe('Concurrent invocations (Lambda Managed Instances; library use, on a clock)', () => {
    // Under LMI one execution environment runs many invocations at once on the one container-wide issuer
    // client (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html);
    // the client is driven directly here so the clock can pass the unknown-key cooldown.
    let clock = Date.now();
    let lib: OidcIssuer;
    beforeEach(async () => {
      clock = Date.now();
      lib = new OidcIssuer(
        oidcApi.client({ baseUrl: issuer.url }),
        {
          issuer: issuer.url,
          audiences: [],
          algorithms: ['RS256'],
          clockSkewSeconds: 60,
          jwksMaxAgeMs: 600_000,
        },
        defineSecret(CLIENT_SECRET),
        () => clock,
      );
      // The keys are cached, then the cooldown passes: an unknown kid now fetches them again.
      expect((await lib.verify({ token: mint() })).valid).toBe(true);
      clock += JWKS_REFETCH_COOLDOWN_MS;
    });
    afterEach(() => lib.close());

    it("verifies a token of a cached key while another invocation's key refresh fails", async () => {
      // Prepare: the keys endpoint fails from now on; the second verification starts the moment the
      // first one's refresh (for a kid the issuer never published) reaches the issuer.
      let second: Promise<Awaited<ReturnType<OidcIssuer['verify']>>> | undefined;
      const known = mint({ sub: 'second' });
      issuer.inject(
        { kind: 'malformed' },
        {
          route: 'jwks',
          times: Number.POSITIVE_INFINITY,
          when: () => {
            second ??= lib.verify({ token: known });
            return true;
          },
        },
      );

      // Act
      const [first] = await Promise.allSettled([
        lib.verify({ token: mint({ sub: 'first' }, { kid: 'not-yet-published' }) }),
      ]);
      const other = await second;

      // Assess
      expect(first).toMatchObject({ status: 'rejected', reason: { status: 502 } });
      expect(other).toMatchObject({ valid: true, subject: 'second' });
    });

    it('shares one key fetch between invocations that both meet a rotated-in key', async () => {
      // Prepare
      const saved = [...issuer.state.keys];
      issuer.rotate();
      const fetches = issuer.logFor('jwks').length;

      try {
        // Act
        const answers = await Promise.all(['one', 'two'].map((sub) => lib.verify({ token: mint({ sub }) })));

        // Assess
        expect(answers).toMatchObject([
          { valid: true, subject: 'one' },
          { valid: true, subject: 'two' },
        ]);
        expect(issuer.logFor('jwks').length - fetches).toBe(1);
      } finally {
        issuer.state.keys.splice(0, issuer.state.keys.length, ...saved);
      }
    });
  });

  describe('Key rotation (library use, on a clock)', () => {
    it('picks up a rotated key after the cooldown, and old tokens stop verifying', async () => {
      // Prepare
      let clock = Date.now();
      const lib = new OidcIssuer(
        oidcApi.client({ baseUrl: issuer.url }),
        {
          issuer: issuer.url,
          audiences: [],
          algorithms: ['RS256'],
          clockSkewSeconds: 60,
          jwksMaxAgeMs: 600_000,
        },
        defineSecret(CLIENT_SECRET),
        () => clock,
      );
      const before = mint();
      expect((await lib.verify({ token: before })).valid).toBe(true);
      const saved = [...issuer.state.keys];
      issuer.rotate();
      const after = mint();

      // Act
      const early = await lib.verify({ token: after });
      clock += JWKS_REFETCH_COOLDOWN_MS;
      const late = await lib.verify({ token: after });
      const old = await lib.verify({ token: before });

      // Assess
      expect(early.reason).toBe('unknown-key');
      expect(late).toMatchObject({ valid: true, keyId: issuer.state.keys[0]?.kid });
      expect(old.reason).toBe('unknown-key');
      lib.close();
      issuer.state.keys.splice(0, issuer.state.keys.length, ...saved);
    });

    it('refuses a discovery document that names another issuer', async () => {
      const other = issuer.url.replace('127.0.0.1', 'localhost');
      const lib = new OidcIssuer(
        oidcApi.client({ baseUrl: other }),
        { issuer: other, audiences: [], algorithms: ['RS256'], clockSkewSeconds: 60, jwksMaxAgeMs: 600_000 },
        defineSecret(CLIENT_SECRET),
      );
      await expect(lib.describe()).rejects.toThrow(
        `The discovery document names issuer ${issuer.url}, not OIDC_API_URL ${other}`,
      );
      lib.close();
    });
  });

  describe('What the issuer publishes and answers, as each may differ (library use)', () => {
    /** A fresh issuer (no cached discovery or keys), as a new container has. */
    const fresh = (overrides: Partial<ConstructorParameters<typeof OidcIssuer>[1]> = {}) =>
      new OidcIssuer(
        oidcApi.client({ baseUrl: issuer.url }),
        {
          issuer: issuer.url,
          audiences: [],
          algorithms: ['RS256'],
          clockSkewSeconds: 60,
          jwksMaxAgeMs: 600_000,
          ...overrides,
        },
        defineSecret(CLIENT_SECRET),
      );
    /** The sandbox's discovery document with `changes` over it (undefined drops a field). */
    const discovery = (changes: Record<string, unknown>) => ({
      kind: 'answer' as const,
      answer: json(200, {
        issuer: issuer.url,
        jwks_uri: `${issuer.url}/jwks`,
        introspection_endpoint: `${issuer.url}/oauth/introspect`,
        userinfo_endpoint: `${issuer.url}/userinfo`,
        ...changes,
      }),
    });
    let lib: OidcIssuer;
    afterEach(() => lib.close());

    it('reads scopes from an scp array (non-strings dropped), none when neither claim is there', async () => {
      lib = fresh();
      const scp = await lib.verify({ token: mint({ scope: undefined, scp: ['issues:read', 7] }) });
      const none = await lib.verify({ token: mint({ scope: undefined }), requiredScopes: ['issues:read'] });
      expect(scp).toMatchObject({ valid: true, scopes: ['issues:read'] });
      expect(none).toMatchObject({ valid: false, reason: 'missing-scope', scopes: [] });
    });

    it('reads scopes from an scp string, space-separated, as Microsoft Entra ID issues it', async () => {
      lib = fresh();
      const answer = await lib.verify({
        token: mint({ scope: undefined, scp: 'issues:read issues:write' }),
        requiredScopes: ['issues:write'],
      });
      expect(answer).toMatchObject({ valid: true, scopes: ['issues:read', 'issues:write'] });
    });

    it('checks iss against the issuer exactly as discovery names it, trailing slash included (Auth0)', async () => {
      // Prepare: an issuer identifier ending in "/", configured with or without it
      issuer.state.issuer = `${issuer.url}/`;
      try {
        const withSlash = fresh({ issuer: `${issuer.url}/` });
        const withoutSlash = fresh();
        lib = withSlash;
        // Act
        const exact = await withSlash.verify({ token: mint({ iss: `${issuer.url}/` }) });
        const configuredBare = await withoutSlash.verify({ token: mint({ iss: `${issuer.url}/` }) });
        const trimmed = await withSlash.verify({ token: mint({ iss: issuer.url }) });
        withoutSlash.close();
        // Assess: iss is compared as a string (OIDC Core 3.1.3.7), so only the exact identifier holds
        expect(exact).toMatchObject({ valid: true, issuer: `${issuer.url}/` });
        expect(configuredBare).toMatchObject({ valid: true, issuer: `${issuer.url}/` });
        expect(trimmed).toMatchObject({ valid: false, reason: 'wrong-issuer' });
      } finally {
        issuer.state.issuer = issuer.url;
      }
    });

    it('describes a token without sub or aud (no audience pinned) and one signed without a kid', async () => {
      // Prepare: a header with no kid, signed by the issuer's RS256 key (the only RS256 key published)
      const key = issuer.state.keys.find((candidate) => candidate.alg === 'RS256');
      const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const input = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iss: issuer.url, exp: now() + 600 })}`;
      const signature = sign('sha256', Buffer.from(input), key?.privateKey ?? '').toString('base64url');
      lib = fresh();

      // Act
      const answer = await lib.verify({ token: `${input}.${signature}` });

      // Assess: only what the token says
      expect(answer).toEqual({
        valid: true,
        issuer: issuer.url,
        expiresAt: expect.any(String),
        scopes: [],
        claims: { iss: issuer.url, exp: expect.any(Number) },
      });
    });

    it('verifies a token without a kid against each key that fits while two RS256 keys are published', async () => {
      // Prepare: a rotation window (the issuer's RS256 key and a second one), and a key it never published
      const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const pair = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
      const current = issuer.state.keys.find((candidate) => candidate.alg === 'RS256');
      const next = pair();
      const unpublished = pair();
      const jwk = {
        ...next.publicKey.export({ format: 'jwk' }),
        kid: 'rs256-next',
        alg: 'RS256',
        use: 'sig',
      };
      const saved = [...issuer.state.keys];
      issuer.state.keys.push({ kid: 'rs256-next', alg: 'RS256', privateKey: next.privateKey, jwk });
      const signed = (key: KeyObject | undefined, claims: Record<string, unknown>) => {
        const input = `${b64({ alg: 'RS256', typ: 'JWT' })}.${b64({ iss: issuer.url, ...claims })}`;
        return `${input}.${sign('sha256', Buffer.from(input), key ?? '').toString('base64url')}`;
      };
      lib = fresh();

      try {
        // Act
        const byCurrent = await lib.verify({ token: signed(current?.privateKey, { exp: now() + 600 }) });
        const byNext = await lib.verify({ token: signed(next.privateKey, { exp: now() + 600, sub: 'ada' }) });
        const expired = await lib.verify({ token: signed(next.privateKey, { exp: now() - 600 }) });
        const forged = await lib.verify({ token: signed(unpublished.privateKey, { exp: now() + 600 }) });

        // Assess: jose alone throws ERR_JWKS_MULTIPLE_MATCHING_KEYS here (a 500 before 0.1.1)
        expect(byCurrent).toMatchObject({ valid: true, issuer: issuer.url });
        expect(byNext).toMatchObject({ valid: true, subject: 'ada' });
        expect(expired).toMatchObject({ valid: false, reason: 'expired' });
        expect(forged).toMatchObject({ valid: false, reason: 'bad-signature' });
      } finally {
        issuer.state.keys.splice(0, issuer.state.keys.length, ...saved);
      }
    });

    it('calls a claim of the wrong type malformed (exp not a number)', async () => {
      lib = fresh();
      const answer = await lib.verify({ token: mint({ exp: 'tomorrow' }) });
      expect(answer).toMatchObject({ valid: false, reason: 'malformed' });
    });

    it('answers 501 for introspection and userinfo when discovery publishes neither endpoint', async () => {
      issuer.inject(discovery({ introspection_endpoint: undefined, userinfo_endpoint: undefined }), {
        route: 'discovery',
      });
      lib = fresh();
      await expect(lib.introspect({ token: 'x' })).rejects.toMatchObject({
        name: 'NotSupportedError',
        message: expect.stringContaining('no introspection_endpoint'),
      });
      await expect(lib.userinfo(mint())).rejects.toMatchObject({
        name: 'NotSupportedError',
        message: 'The issuer publishes no userinfo_endpoint',
      });
      expect((await lib.describe()).introspection).toBe(false);
    });

    it('answers active with only what a minimal introspection answer holds', async () => {
      issuer.inject({ kind: 'answer', answer: json(200, { active: true }) }, { route: 'introspect' });
      lib = fresh();
      expect(await lib.introspect({ token: 'x' })).toEqual({ active: true });
    });

    it('answers 502 for an introspection or userinfo answer of the wrong shape, without a second secret read', async () => {
      const before = issuer.logFor('introspect').length;
      issuer.inject({ kind: 'wrong-shape', json: { active: 'yes' } }, { route: 'introspect' });
      issuer.inject({ kind: 'wrong-shape', json: { name: 'no subject' } }, { route: 'userinfo' });
      lib = fresh();
      await expect(lib.introspect({ token: 'x' })).rejects.toMatchObject({
        status: 502,
        message: 'The issuer answered an introspection answer in an unexpected shape',
      });
      await expect(lib.userinfo(mint())).rejects.toMatchObject({
        status: 502,
        message: 'The issuer answered a userinfo answer in an unexpected shape',
      });
      expect(issuer.logFor('introspect').length - before).toBe(1);
    });

    it('lists keys without kid, alg or use as published', async () => {
      const [rsa] = issuer.state.keys;
      const { kid: _kid, alg: _alg, use: _use, ...bare } = rsa?.jwk ?? {};
      issuer.inject({ kind: 'answer', answer: json(200, { keys: [bare] }) }, { route: 'jwks' });
      lib = fresh();
      expect((await lib.describe()).keys).toEqual([{ kty: 'RSA' }]);
    });

    it('refuses endpoints that are not URLs, plain http on another host, and internal addresses', async () => {
      const cases: [Record<string, unknown>, string][] = [
        [{ jwks_uri: 'not a url' }, 'The issuer published an endpoint that is not a URL for a JWK set'],
        [
          { jwks_uri: 'http://keys.example.com/jwks' },
          'The issuer published a non-https endpoint on another host for a JWK set',
        ],
        [{ jwks_uri: 'https://169.254.169.254/jwks' }, 'private or reserved address'],
      ];
      for (const [changes, message] of cases) {
        issuer.inject(discovery(changes), { route: 'discovery' });
        lib = fresh();
        await expect(lib.describe()).rejects.toThrow(message);
        lib.close();
      }
      lib = fresh();
    });

    it('shares one key fetch between concurrent misses, and does not keep a failed one', async () => {
      // Prepare: keys never fresh, so each verification needs a fetch; the first fetch answers garbage
      lib = fresh({ jwksMaxAgeMs: 0 });
      issuer.inject({ kind: 'malformed' }, { route: 'jwks' });
      const fetches = issuer.logFor('jwks').length;

      // Act
      const [first, second] = await Promise.allSettled([
        lib.verify({ token: mint() }),
        lib.verify({ token: mint() }),
      ]);
      const after = await lib.verify({ token: mint() });

      // Assess
      expect(first).toMatchObject({ status: 'rejected', reason: { status: 502 } });
      expect(second).toMatchObject({ status: 'rejected', reason: { status: 502 } });
      expect(after.valid).toBe(true);
      expect(issuer.logFor('jwks').length - fetches).toBe(2);
    });
  });

  describe('Operation: introspect-token', () => {
    it('answers active with scopes and subject for a live token, inactive for another', async () => {
      // Act
      const live = parsed(await call('introspect-token', { token: await issuedToken() }));
      const foreign = parsed(
        await call('introspect-token', { token: mint(), tokenTypeHint: 'access_token' }),
      );

      // Assess
      expect(live).toMatchObject({
        active: true,
        clientId: OIDC_SANDBOX_CLIENT.clientId,
        scopes: ['issues:read', 'issues:write'],
      });
      expect(foreign).toEqual({ active: false });
      expect(issuer.logFor('introspect').at(-1)?.body).toEqual({ token_type_hint: 'access_token' });
    });

    it('reads the client secret again after a 401 (rotation), and answers 401 when it stays refused', async () => {
      // Prepare: the cached secret is stale, the store has the right one
      await call('introspect-token', { token: 'warm-up' });
      issuer.state.clients.set(OIDC_SANDBOX_CLIENT.clientId, 'rotated-secret');
      await secrets.set(
        CLIENT_SECRET,
        JSON.stringify({ ...OIDC_SANDBOX_CLIENT, clientSecret: 'rotated-secret' }),
      );

      // Act
      const rotated = await call('introspect-token', { token: 'x' });
      issuer.state.clients.set(OIDC_SANDBOX_CLIENT.clientId, 'revoked');
      const refused = await call('introspect-token', { token: 'x' });
      issuer.state.clients.set(OIDC_SANDBOX_CLIENT.clientId, OIDC_SANDBOX_CLIENT.clientSecret);

      // Assess
      expect(rotated.statusCode).toBe(200);
      expect(refused.statusCode).toBe(401);
      expect(parsed(refused)['detail']).toContain('OIDC_CLIENT_SECRET');
      expect(JSON.stringify(logs.records()) + refused.body).not.toContain('rotated-secret');
    });

    it('waits as Retry-After says after a 429, retries a 5xx, then answers', async () => {
      const before = issuer.logFor('introspect').length;
      issuer.inject({ kind: 'throttled', retryAfterSeconds: 1 }, { route: 'introspect' });
      issuer.inject({ kind: 'server-error', status: 502 }, { route: 'introspect' });
      const response = await call('introspect-token', { token: 'x' });
      expect(response.statusCode).toBe(200);
      expect(issuer.logFor('introspect').length - before).toBe(3);
    });
  });

  describe('Operation: get-userinfo', () => {
    it("reads the user's claims, and answers 400 for an access token the issuer refuses", async () => {
      const ok = parsed(await call('get-userinfo', { accessToken: mint() }));
      const refused = await call('get-userinfo', { accessToken: mint({ exp: now() - 10 }) });
      expect(ok).toMatchObject({ subject: 'user-jenny', claims: { name: 'Jenny Rosen' } });
      expect(refused.statusCode).toBe(400);
    });

    it('verifies a signed userinfo answer (application/jwt) with the issuer keys and answers its claims', async () => {
      // Prepare: the client is registered for signed userinfo (userinfo_signed_response_alg RS256)
      issuer.state.userinfoSigning = 'RS256';
      try {
        // Act
        const response = await call('get-userinfo', { accessToken: mint() });

        // Assess: OIDC Core 5.3.2, a JWT signed by the issuer with iss and aud as members
        expect(response.statusCode).toBe(200);
        expect(parsed(response)).toMatchObject({
          subject: 'user-jenny',
          claims: { name: 'Jenny Rosen', iss: issuer.url, aud: OIDC_SANDBOX_CLIENT.clientId },
        });
        expect(issuer.logFor('userinfo').at(-1)?.status).toBe(200);
      } finally {
        issuer.state.userinfoSigning = undefined;
      }
    });

    it('answers 502 naming why for a signed userinfo answer that fails verification', async () => {
      // Prepare: answers as a hostile or misconfigured issuer could sign them
      const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const rsa = issuer.state.keys.find((key) => key.alg === 'RS256');
      const signed = (claims: Record<string, unknown>, key: KeyObject | undefined = rsa?.privateKey) => {
        const input = `${b64({ alg: 'RS256', kid: rsa?.kid })}.${b64(claims)}`;
        return `${input}.${sign('sha256', Buffer.from(input), key ?? '').toString('base64url')}`;
      };
      const user = { sub: 'user-jenny', name: 'Jenny Rosen' };
      const own = { ...user, iss: issuer.url, aud: OIDC_SANDBOX_CLIENT.clientId };
      const cases: [string, string][] = [
        [signed(own, stranger), 'bad-signature'],
        [signed({ ...own, iss: 'https://evil.example' }), 'wrong-issuer'],
        [signed({ ...own, aud: ['another-client'] }), 'wrong-audience'],
        [`${b64({ alg: 'none' })}.${b64(own)}.`, 'algorithm-not-allowed'],
        ['not-a-jwt', 'malformed'],
      ];

      // Act + Assess
      for (const [body, reason] of cases) {
        issuer.inject(
          { kind: 'answer', answer: { status: 200, body, contentType: 'application/jwt' } },
          { route: 'userinfo' },
        );
        const response = await call('get-userinfo', { accessToken: mint() });
        expect({ status: response.statusCode, detail: parsed(response)['detail'] }).toEqual({
          status: 502,
          detail: expect.stringContaining(
            `The issuer's signed userinfo answer failed verification (${reason})`,
          ),
        });
        expect(response.body).not.toContain(body.split('.')[2] || body);
      }
      // iss and aud are checked when present (5.3.2): a signed answer without them is used
      issuer.inject(
        { kind: 'answer', answer: { status: 200, body: signed(user), contentType: 'application/jwt' } },
        { route: 'userinfo' },
      );
      expect(parsed(await call('get-userinfo', { accessToken: mint() }))).toEqual({
        subject: 'user-jenny',
        claims: user,
      });
    });

    it.each([
      ['a line break', 'abc\r\nx-injected: 1'],
      ['a letter beyond Latin-1', 'tok\u20acen'],
    ])(
      'answers 400 for an access token with %s, naming the header and not the token',
      async (_what, accessToken) => {
        // Act
        const response = await call('get-userinfo', { accessToken });

        // Assess
        expect(response.statusCode).toBe(400);
        expect(parsed(response)).toMatchObject({
          code: 'validation_error',
          detail: expect.stringContaining('authorization header has a character HTTP cannot carry'),
        });
        expect(response.body).not.toContain('abc');
        expect(logs.text()).not.toContain('x-injected');
      },
    );
  });

  describe('Operation: describe-issuer, health and the keys endpoint failing', () => {
    it('lists the published key ids without key material', async () => {
      const answer = parsed(await call('describe-issuer', {}));
      expect(answer).toMatchObject({ issuer: issuer.url, introspection: true, userinfo: true });
      expect((answer['keys'] as { kid: string; kty: string }[]).map((key) => [key.kid, key.kty])).toEqual(
        issuer.state.keys.map((key) => [key.kid, key.jwk['kty']]),
      );
      expect(JSON.stringify(answer)).not.toMatch(/"(n|d|x|y)":/);
    });

    it('retries a failing keys endpoint, and answers 502 for a malformed one', async () => {
      // Prepare: a rotation empties nothing, but forces the next fetch past the cooldown via a fresh container
      const lib = (clock: () => number) =>
        new OidcIssuer(
          oidcApi.client({ baseUrl: issuer.url }),
          { issuer: issuer.url, audiences: [], algorithms: ['RS256'], clockSkewSeconds: 60, jwksMaxAgeMs: 0 },
          defineSecret(CLIENT_SECRET),
          clock,
        );
      issuer.inject({ kind: 'server-error', status: 503 }, { route: 'jwks' });
      const retried = lib(Date.now);
      expect((await retried.verify({ token: mint() })).valid).toBe(true);
      issuer.inject({ kind: 'malformed' }, { route: 'jwks' });
      const broken = lib(Date.now);
      await expect(broken.verify({ token: mint() })).rejects.toMatchObject({ status: 502 });
      retried.close();
      broken.close();
    });

    it('answers health by reading discovery and keys', async () => {
      const health = await connector.handler(
        httpEvent({ method: 'GET', path: '/oidc/health' }),
        lambdaContext(),
      );
      expect((health as HttpResult).statusCode).toBe(200);
    });
  });

  describe('Triggers', () => {
    it('runs a queued verification and a Step Functions task', async () => {
      const token = mint();
      const queued = await connector.handler(
        sqsEvent([{ body: { operation: 'verify-token', input: { token } } }]),
        lambdaContext(),
      );
      const task = await connector.handler(
        { trigger: 'task', operation: 'verify-token', input: { token: mint({ aud: 'x' }) } },
        lambdaContext(),
      );
      expect(queued).toEqual({ batchItemFailures: [] });
      expect(task).toMatchObject({ valid: false, reason: 'wrong-audience' });
    });

    it('never writes a token or the client secret to a log line', async () => {
      const token = mint();
      await call('verify-token', { token });
      await call('introspect-token', { token });
      const text = JSON.stringify(logs.records());
      expect(text).not.toContain(token.split('.')[2]);
      expect(text).not.toContain(OIDC_SANDBOX_CLIENT.clientSecret);
    });
  });
});
