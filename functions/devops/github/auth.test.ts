import { generateKeyPairSync, verify } from 'node:crypto';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  AuthError,
  ConfigurationError,
  configureSecrets,
  defineSecret,
  loadConfig,
  resetCircuitBreakers,
} from '@circle-core/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GitHubFake, githubFaults, startGitHubFake } from '../../../scripts/local/sandboxes/github.ts';
import { type SecretsManagerFake, startSecretsManagerFake } from '../../../test/fakes/secrets-manager.ts';
import { createTable, startDynalite } from '../../../test/peers/dynalite.ts';
import {
  type GitHubAppCredentials,
  githubAppAuth,
  githubAuthFromConfig,
  githubCredentialSecret,
  signAppJwt,
} from './auth.ts';
import { GitHubClient } from './client.ts';
import { GitHubConfig } from './config.ts';

const APP_ID = 31337;
const INSTALLATION = 99;
const keys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const rotatedKeys = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  publicKeyEncoding: { type: 'spki', format: 'pem' },
});
const credentials: GitHubAppCredentials = {
  appId: APP_ID,
  privateKey: keys.privateKey,
  installationId: INSTALLATION,
};
const REPO = { owner: 'octo', repo: 'hello' };

let clock = Date.now();
let github: GitHubFake;
let secrets: SecretsManagerFake;

function decode(part: string | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(part ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;
}

function exchanges(): number {
  return github.requests.filter((request) => request.route === 'create-installation-token').length;
}

beforeAll(async () => {
  github = await startGitHubFake({
    now: () => clock,
    app: { appId: APP_ID, publicKey: keys.publicKey, installations: [INSTALLATION] },
    repos: { 'octo/hello': { issues: [{ title: 'One' }] } },
  });
  secrets = await startSecretsManagerFake({ 'test/github/app': JSON.stringify(credentials) });
  configureSecrets({
    client: new SecretsManagerClient({
      endpoint: secrets.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  });
});

afterAll(async () => {
  configureSecrets({});
  await Promise.all([github.close(), secrets.close()]);
});

beforeEach(() => {
  clock = Date.now();
  github.requests.length = 0;
  github.clearFaults();
  resetCircuitBreakers();
});

describe('Function: signAppJwt', () => {
  it('signs an RS256 JWT with iat backdated 60 s, exp 9 minutes ahead and the app id as issuer', () => {
    // Prepare
    const now = 1_700_000_000_000;
    // Act
    const jwt = signAppJwt({ appId: String(APP_ID), privateKey: keys.privateKey }, now);
    // Assess
    const [header, payload, signature] = jwt.split('.');
    expect(decode(header)).toEqual({ alg: 'RS256', typ: 'JWT' });
    expect(decode(payload)).toEqual({ iat: 1_700_000_000 - 60, exp: 1_700_000_000 + 540, iss: APP_ID });
    const signed = Buffer.from(`${header}.${payload}`);
    expect(verify('sha256', signed, keys.publicKey, Buffer.from(signature ?? '', 'base64url'))).toBe(true);
  });

  it('keeps a client id issuer as a string', () => {
    // Act
    const jwt = signAppJwt({ appId: 'Iv1.abc123', privateKey: keys.privateKey });
    // Assess
    expect(decode(jwt.split('.')[1])['iss']).toBe('Iv1.abc123');
  });

  it('throws ConfigurationError without quoting the key when it is not a PEM private key', () => {
    // Prepare
    // PEM armour around bytes that are no key (built in parts so secret scanners do not flag a fake key).
    const armour = ['RSA', 'PRIVATE', 'KEY'].join(' ');
    const bogus = `-----BEGIN ${armour}-----\nbm90LWEta2V5LXNlY3JldC1tYXRlcmlhbA==\n-----END ${armour}-----`;
    // Act
    const attempt = (): string => signAppJwt({ appId: '1', privateKey: bogus, source: 'secret x' });
    // Assess
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(/secret x is not a valid PEM private key/);
    expect(attempt).not.toThrow(/bm90/);
  });

  it('throws ConfigurationError for a key that is not RSA', () => {
    // Prepare
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    // Act & Assess
    expect(() => signAppJwt({ appId: '1', privateKey: String(ec) })).toThrow(/must be an RSA key/);
  });
});

describe('Function: githubAppAuth', () => {
  it('exchanges a JWT the fake verifies for an installation token and sends it as bearer', async () => {
    // Prepare
    const auth = githubAppAuth({ credentials, baseUrl: github.baseUrl, now: () => clock });
    const client = new GitHubClient({ baseUrl: github.baseUrl, auth });
    // Act
    const page = await client.listIssues(REPO);
    // Assess
    expect(page.issues).toHaveLength(1);
    const [exchange, list] = github.requests;
    expect(exchange?.path).toBe(`/app/installations/${INSTALLATION}/access_tokens`);
    expect(exchange?.headers['accept']).toBe('application/vnd.github+json');
    expect(list?.headers['authorization']).toBe(`Bearer ${github.issuedTokens[0]}`);
  });

  it('caches the installation token: one exchange for many calls, also concurrent ones', async () => {
    // Prepare
    const auth = githubAppAuth({ credentials, baseUrl: github.baseUrl, now: () => clock });
    const client = new GitHubClient({ baseUrl: github.baseUrl, auth });
    // Act
    await Promise.all([client.listIssues(REPO), client.listIssues(REPO), client.listIssues(REPO)]);
    await client.listIssues(REPO);
    // Assess
    expect(exchanges()).toBe(1);
    expect(github.requests.filter((request) => request.route === 'list-issues')).toHaveLength(4);
  });

  it('exchanges again five minutes before the token expires, not before', async () => {
    // Prepare
    const auth = githubAppAuth({ credentials, baseUrl: github.baseUrl, now: () => clock });
    const client = new GitHubClient({ baseUrl: github.baseUrl, auth });
    await client.listIssues(REPO);
    // Act
    clock += 54 * 60_000;
    await client.listIssues(REPO);
    const beforeMargin = exchanges();
    clock += 2 * 60_000;
    await client.listIssues(REPO);
    // Assess
    expect(beforeMargin).toBe(1);
    expect(exchanges()).toBe(2);
    expect(github.requests.at(-1)?.headers['authorization']).toBe(`Bearer ${github.issuedTokens.at(-1)}`);
  });

  it('uses a token shorter-lived than the margin for half its remaining life', async () => {
    // Prepare
    const auth = githubAppAuth({
      credentials,
      baseUrl: github.baseUrl,
      now: () => clock,
      refreshAheadMs: 2 * 3_600_000,
    });
    const client = new GitHubClient({ baseUrl: github.baseUrl, auth });
    await client.listIssues(REPO);
    // Act
    clock += 29 * 60_000;
    await client.listIssues(REPO);
    clock += 2 * 60_000;
    await client.listIssues(REPO);
    // Assess
    expect(exchanges()).toBe(2);
  });

  it('drops a revoked token after a 401 and retries once with a fresh one', async () => {
    // Prepare
    const auth = githubAppAuth({ credentials, baseUrl: github.baseUrl, now: () => clock });
    const client = new GitHubClient({ baseUrl: github.baseUrl, auth });
    await client.listIssues(REPO);
    github.revokeToken(github.issuedTokens.at(-1) ?? '');
    // Act
    const page = await client.listIssues(REPO);
    // Assess
    expect(page.issues).toHaveLength(1);
    expect(exchanges()).toBe(2);
  });

  it('re-reads a rotated app key from its secret after GitHub refuses the JWT', async () => {
    // Prepare
    const rotating = startGitHubFake({
      now: () => clock,
      app: { appId: APP_ID, publicKey: rotatedKeys.publicKey, installations: [INSTALLATION] },
      repos: { 'octo/hello': {} },
    });
    const fake = await rotating;
    secrets.set('test/github/app-rotating', JSON.stringify(credentials));
    const secret = defineSecret('test/github/app-rotating');
    const auth = githubAppAuth({ credentials: secret, baseUrl: fake.baseUrl, now: () => clock });
    await secret.prefetch();
    secrets.set(
      'test/github/app-rotating',
      JSON.stringify({ ...credentials, privateKey: rotatedKeys.privateKey }),
    );
    const callsBefore = secrets.calls.length;
    // Act
    const page = await new GitHubClient({ baseUrl: fake.baseUrl, auth }).listIssues(REPO);
    // Assess
    expect(page.issues).toEqual([]);
    expect(fake.issuedTokens).toHaveLength(1);
    expect(secrets.calls.length - callsBefore).toBeGreaterThanOrEqual(1);
    await fake.close();
  });

  it('throws AuthError naming the secret when GitHub keeps refusing the JWT', async () => {
    // Prepare
    const wrong = { ...credentials, privateKey: rotatedKeys.privateKey };
    const auth = githubAppAuth({ credentials: wrong, baseUrl: github.baseUrl, now: () => clock });
    // Act
    const attempt = new GitHubClient({ baseUrl: github.baseUrl, auth }).listIssues(REPO);
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(AuthError);
    await expect(attempt).rejects.toThrow(
      /refused the app JWT \(check appId and privateKey in the app credentials\)/,
    );
    expect(exchanges()).toBe(2);
  });

  it('throws ConfigurationError when the installation does not exist', async () => {
    // Prepare
    const auth = githubAppAuth({
      credentials: { ...credentials, installationId: 12 },
      baseUrl: github.baseUrl,
    });
    // Act
    const attempt = new GitHubClient({ baseUrl: github.baseUrl, auth }).listIssues(REPO);
    // Assess
    await expect(attempt).rejects.toThrow(/installation 12 was not found/);
  });

  it('throws UnexpectedResponseError when the exchange answers without a token', async () => {
    // Prepare
    github.failNext('create-installation-token', { status: 201, body: { expires_at: 'soon' } });
    const auth = githubAppAuth({ credentials, baseUrl: github.baseUrl, now: () => clock });
    // Act
    const attempt = auth.apply({ url: new URL(github.baseUrl), headers: {} });
    // Assess
    await expect(attempt).rejects.toThrow('GitHub answered the installation token request without a token');
  });

  it('passes a throttled exchange on as RateLimitedError', async () => {
    // Prepare
    github.failNext('create-installation-token', githubFaults.secondaryRateLimit(120));
    const auth = githubAppAuth({ credentials, baseUrl: github.baseUrl, now: () => clock });
    // Act
    const attempt = auth.apply({ url: new URL(github.baseUrl), headers: {} });
    // Assess
    await expect(attempt).rejects.toMatchObject({ name: 'RateLimitedError' });
  });

  it('throws ConfigurationError for literal credentials with missing fields', () => {
    // Act & Assess
    expect(() =>
      githubAppAuth({
        credentials: { appId: 1, privateKey: '', installationId: 2 },
        baseUrl: github.baseUrl,
      }),
    ).toThrow('GitHub App credentials are invalid: privateKey');
  });
});

describe('Function: githubAuthFromConfig', () => {
  it('builds bearer auth from GITHUB_TOKEN_SECRET by default', async () => {
    // Prepare
    secrets.set('test/github/token', 'ghp_from_config');
    const config = loadConfig(GitHubConfig, { GITHUB_TOKEN_SECRET: 'test/github/token' });
    const auth = githubAuthFromConfig(config, defineSecret(githubCredentialSecret(config)));
    const request = { url: new URL('https://api.github.com'), headers: {} as Record<string, string> };
    // Act
    await auth.apply(request);
    // Assess
    expect(request.headers['authorization']).toBe('Bearer ghp_from_config');
  });

  it('builds app auth from GITHUB_APP_SECRET when GITHUB_AUTH is app', async () => {
    // Prepare
    const config = loadConfig(GitHubConfig, {
      GITHUB_AUTH: 'app',
      GITHUB_APP_SECRET: 'test/github/app',
      GITHUB_API_URL: github.baseUrl,
    });
    const auth = githubAuthFromConfig(config, defineSecret(githubCredentialSecret(config)), {
      now: () => clock,
    });
    const request = { url: new URL(github.baseUrl), headers: {} as Record<string, string> };
    // Act
    await auth.apply(request);
    // Assess
    expect(request.headers['authorization']).toBe(`Bearer ${github.issuedTokens.at(-1)}`);
  });

  it('shares installation tokens between containers through CIRCLE_COORDINATION_TABLE: one exchange', async () => {
    // Prepare: two containers, the coordination table on dynalite
    const dynamo = await startDynalite();
    await createTable(dynamo.endpoint, 'coordination');
    const saved = { ...process.env };
    Object.assign(process.env, {
      CIRCLE_COORDINATION_TABLE: 'coordination',
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    const config = loadConfig(GitHubConfig, {
      GITHUB_AUTH: 'app',
      GITHUB_APP_SECRET: 'test/github/app',
      GITHUB_API_URL: github.baseUrl,
    });
    const before = exchanges();
    const fleet = [0, 1, 2].map(() =>
      githubAuthFromConfig(config, defineSecret(githubCredentialSecret(config)), { now: () => clock }),
    );

    try {
      // Act
      const sent = await Promise.all(
        fleet.map(async (auth) => {
          const request = { url: new URL(github.baseUrl), headers: {} as Record<string, string> };
          await auth.apply(request);
          return request.headers['authorization'];
        }),
      );

      // Assess
      expect(exchanges() - before).toBe(1);
      expect(new Set(sent)).toEqual(new Set([`Bearer ${github.issuedTokens.at(-1)}`]));
    } finally {
      process.env = saved;
      await dynamo.close();
    }
  });
});
