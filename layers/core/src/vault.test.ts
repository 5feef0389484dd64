/**
 * The Vault backend against its contract fake: the two logins (aws IAM with a signed GetCallerIdentity,
 * AppRole with its secret id from Secrets Manager), the token's renewal and re-login, refusals named
 * without values, KV v2 versions, leases, and Vault's throttling and sealed answers.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type FakeServer, json } from '../../../scripts/local/sandboxes/kit/index.ts';
import {
  startVaultFake,
  VAULT_SANDBOX_ROLE_ID,
  VAULT_SANDBOX_SECRET_ID,
  type VaultFakeState,
} from '../../../scripts/local/sandboxes/vault.ts';
import { type AwsEndpointPeer, startAwsEndpointPeer } from '../../../test/peers/aws-endpoint.ts';
import { ConfigurationError, RateLimitedError, UnavailableError, UnexpectedResponseError } from './errors.ts';
import { configureSecrets, defineSecret } from './secrets.ts';
import { secretsBackend, vaultReader, vaultSettings } from './vault.ts';

let vault: FakeServer<VaultFakeState>;
let aws: AwsEndpointPeer;
const savedEnv = { ...process.env };
const SECRET_ID_NAME = 'circle-core/test/vault/secret-id';

beforeAll(async () => {
  [vault, aws] = await Promise.all([
    startVaultFake(),
    startAwsEndpointPeer({ secrets: { [SECRET_ID_NAME]: VAULT_SANDBOX_SECRET_ID } }),
  ]);
});

afterAll(async () => {
  process.env = savedEnv;
  configureSecrets({});
  await Promise.all([vault.close(), aws.close()]);
});

const BASE = {
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  AWS_REGION: 'eu-west-1',
  AWS_ENDPOINT_URL_SECRETS_MANAGER: '',
  CIRCLE_SECRETS_BACKEND: 'vault',
};

function useEnv(extra: Record<string, string>): void {
  for (const name of Object.keys(process.env)) {
    if (name.startsWith('CIRCLE_VAULT_') || name === 'VAULT_ADDR') delete process.env[name];
  }
  Object.assign(
    process.env,
    BASE,
    { AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoint, VAULT_ADDR: vault.url },
    extra,
  );
  configureSecrets({ maxAttempts: 2 });
}

function put(path: string, data: Record<string, unknown>, options: { leaseSeconds?: number } = {}): void {
  const versions = vault.state.kv.get(`secret/${path}`) ?? [];
  versions.push({ data, deleted: false, ...options });
  vault.state.kv.set(`secret/${path}`, versions);
}

beforeEach(() => {
  vault.reset();
  useEnv({ CIRCLE_VAULT_ROLE: 'circle-core' });
});

describe('Vault: logins', () => {
  it('logs in with a signed sts:GetCallerIdentity (aws), signing the server id header when bound', async () => {
    // Prepare
    vault.state.iamServerId = 'vault.example.com';
    useEnv({ CIRCLE_VAULT_ROLE: 'circle-core', CIRCLE_VAULT_IAM_SERVER_ID: 'vault.example.com' });
    put('app/token', { value: 'from-vault' });
    // Act
    const value = await defineSecret('app/token').text();
    // Assess
    expect(value).toBe('from-vault');
    const login = vault.logFor('aws-login')[0]?.body as Record<string, string>;
    expect(vault.state.awsSignatures).toEqual([
      {
        accessKey: 'test',
        region: 'us-east-1',
        signedHeaders: ['content-type', 'host', 'x-amz-date', 'x-vault-aws-iam-server-id'],
      },
    ]);
    expect(Buffer.from(login['iam_request_body'] ?? '', 'base64').toString()).toBe(
      'Action=GetCallerIdentity&Version=2011-06-15',
    );
    // The signed headers are a credential (replayable for minutes): the log never keeps them.
    expect(login['iam_request_headers']).toBeUndefined();
  });

  it('names the refusal when the server id is not signed, or the role does not know the key', async () => {
    // Prepare
    vault.state.iamServerId = 'vault.example.com';
    put('app/token', { value: 'from-vault' });
    // Act
    const unsigned = await defineSecret('app/token')
      .text()
      .catch((error: unknown) => error);
    vault.state.iamServerId = undefined;
    vault.state.awsRoles.set('circle-core', { keys: ['someone-else'], paths: ['secret/*'] });
    configureSecrets({ maxAttempts: 1 });
    const unknownKey = await defineSecret('app/token')
      .text()
      .catch((error: unknown) => error);
    // Assess
    expect(unsigned).toBeInstanceOf(ConfigurationError);
    expect((unsigned as Error).message).toBe(
      'Vault refused the aws login at auth/aws: expected X-Vault-AWS-IAM-Server-ID header value to be signed and match',
    );
    expect((unknownKey as Error).message).toContain('InvalidClientTokenId');
  });

  it('logs in with AppRole, its secret id read from Secrets Manager, and never shows it', async () => {
    // Prepare
    useEnv({
      CIRCLE_VAULT_AUTH: 'approle',
      CIRCLE_VAULT_APPROLE_ROLE_ID: VAULT_SANDBOX_ROLE_ID,
      CIRCLE_VAULT_APPROLE_SECRET_ID_SECRET: SECRET_ID_NAME,
    });
    put('app/token', { value: 'via-approle' });
    // Act
    const value = await defineSecret('app/token').text();
    await aws.setSecret(SECRET_ID_NAME, 'a-wrong-secret-id');
    configureSecrets({ maxAttempts: 1 });
    const refused = await defineSecret('app/token')
      .text()
      .catch((error: unknown) => error);
    // Assess
    expect(value).toBe('via-approle');
    expect(vault.state.logins.map((login) => login.method)).toEqual(['approle']);
    expect((refused as Error).message).toBe(
      'Vault refused the approle login at auth/approle: invalid role or secret ID',
    );
    expect(JSON.stringify(vault.log)).not.toContain(VAULT_SANDBOX_SECRET_ID);
    await aws.setSecret(SECRET_ID_NAME, VAULT_SANDBOX_SECRET_ID);
  });

  it('logs in once for many concurrent first reads of different secrets', async () => {
    // Prepare
    for (let i = 0; i < 20; i += 1) put(`many/s${i}`, { value: `v${i}` });
    // Act
    const values = await Promise.all(Array.from({ length: 20 }, (_, i) => defineSecret(`many/s${i}`).text()));
    // Assess
    expect(values).toEqual(Array.from({ length: 20 }, (_, i) => `v${i}`));
    expect(vault.logFor('aws-login')).toHaveLength(1);
  });
});

describe('Vault: the token', () => {
  it('renews ahead of expiry while renewable, and logs in again near its max TTL', async () => {
    // Prepare: tokens of 10 min, at most 30 min; a clock both sides share
    let now = Date.parse('2026-12-06T10:00:00Z');
    vault.state.now = () => now;
    vault.state.ttlSeconds = 600;
    vault.state.maxTtlSeconds = 1800;
    put('clock/a', { value: 'a' });
    const reader = vaultReader(vaultSettings(), { now: () => now });
    // Act + Assess: first read logs in
    await reader.read('clock/a');
    expect([vault.state.logins.length, vault.state.renewals]).toEqual([1, 0]);
    // 9.5 min later (within a minute of expiry): renewed, same token
    now += 570_000;
    await reader.read('clock/a');
    expect([vault.state.logins.length, vault.state.renewals]).toEqual([1, 1]);
    // Renewed again until the max TTL leaves less than two minutes: then a fresh login
    now += 570_000;
    await reader.read('clock/a');
    now += 570_000;
    await reader.read('clock/a');
    expect(vault.state.logins.length).toBe(2);
    reader.close();
  });

  it('logs in afresh once when Vault refuses a revoked token, then reads', async () => {
    // Prepare
    put('app/revoked', { value: 'still-readable' });
    await defineSecret('app/revoked').text();
    vault.state.tokens.clear();
    // Act
    await defineSecret('app/revoked').refresh();
    // Assess
    expect(await defineSecret('app/revoked').text()).toBe('still-readable');
    expect(vault.logFor('aws-login')).toHaveLength(2);
  });

  it("names the policy when a path is outside the role's, after exactly one fresh login", async () => {
    // Prepare
    vault.state.awsRoles.set('circle-core', { keys: ['test'], paths: ['secret/app/*'] });
    put('other/token', { value: 'not-for-you' });
    // Act
    const error = await defineSecret('other/token')
      .text()
      .catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toMatch(
      /^Vault denied reading secret other\/token: .*permission denied.* \(the role's policy needs read on secret\/data\/other\/token\)$/s,
    );
    expect(vault.logFor('aws-login')).toHaveLength(2);
    expect((error as Error).message).not.toContain('not-for-you');
  });
});

describe('Vault: values', () => {
  it('reads a version, and names a deleted one as not found', async () => {
    // Prepare
    put('app/versioned', { value: 'one' });
    put('app/versioned', { value: 'two' });
    const [first] = vault.state.kv.get('secret/app/versioned') ?? [];
    if (first !== undefined) first.deleted = true;
    // Act
    const latest = await defineSecret('app/versioned').text();
    const second = await defineSecret('app/versioned?version=2').text();
    const deleted = await defineSecret('app/versioned?version=1')
      .text()
      .catch((error: unknown) => error);
    // Assess
    expect([latest, second]).toEqual(['two', 'two']);
    expect(vault.logFor('kv-read').at(-1)?.query).toEqual({ version: '1' });
    expect((deleted as Error).message).toBe(
      'secret app/versioned?version=1 was not found in Vault at secret/data (or that version was deleted)',
    );
  });

  it('reads several keys as one JSON object for json(schema)', async () => {
    // Prepare
    put('db/credentials', { username: 'svc', password: 'pw-123' });
    // Act
    const credentials = await defineSecret('db/credentials').json(
      z.object({ username: z.string(), password: z.string() }),
    );
    // Assess
    expect(credentials).toEqual({ username: 'svc', password: 'pw-123' });
  });

  it('serves a leased value no longer than its lease, whatever the max age', async () => {
    // Prepare: a lease of 1 s against a max age of 300 s
    put('leased/creds', { value: 'short-lived' }, { leaseSeconds: 1 });
    const secret = defineSecret('leased/creds', { maxAgeSeconds: 300 });
    await secret.text();
    await secret.text();
    // Act
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await secret.text();
    // Assess
    expect(vault.logFor('kv-read')).toHaveLength(2);
  });

  it('refuses a path that is not one (empty segments, ..)', async () => {
    const error = await defineSecret('app//../x')
      .text()
      .catch((caught: unknown) => caught);
    expect((error as Error).message).toBe('secret app//../x is not a Vault path (segments separated by /)');
    expect(vault.logFor('kv-read')).toHaveLength(0);
  });
});

describe('Vault: failures', () => {
  it('retries a sealed Vault, then answers 503 unavailable', async () => {
    // Prepare
    put('app/token', { value: 'x' });
    vault.state.sealed = true;
    // Act
    const error = await defineSecret('app/token')
      .text()
      .catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toContain('Vault is sealed');
    expect(vault.log).toHaveLength(2);
  });

  it('retries a 412 from a performance standby not yet caught up (Vault Enterprise), then reads', async () => {
    // Prepare: the next two requests carrying a token land on a standby without the token's index yet
    put('app/token', { value: 'from-vault' });
    vault.state.behind = 2;
    const vaultOf = vaultReader(vaultSettings());
    // Act
    const read = await vaultOf.read('app/token');
    // Assess
    expect(read.value).toBe('from-vault');
    expect(vault.logFor('kv-read').map((entry) => entry.status)).toEqual([412, 412, 200]);
    vaultOf.close();
  });

  it('answers 503 unavailable, not a refusal, when the standby stays behind', async () => {
    // Prepare
    put('app/token', { value: 'x' });
    vault.state.behind = 10;
    // Act
    const error = await defineSecret('app/token')
      .text()
      .catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(UnavailableError);
    expect((error as Error).message).toContain('required index state not present');
  });

  it('names the active node, not following it, when a standby without request forwarding redirects (307)', async () => {
    // Prepare: a token is held, then VAULT_ADDR's node turns standby (no request forwarding)
    put('app/token', { value: 'v1' });
    put('app/token', { value: 'v2' });
    const vaultOf = vaultReader(vaultSettings(), { maxAttempts: 1 });
    await vaultOf.read('app/token');
    const token = vault.logFor('kv-read')[0]?.token ?? '';
    vault.state.standby = 'https://vault-active.internal:8200';
    const fresh = vaultReader(vaultSettings(), { maxAttempts: 1 });
    // Act: a read with the held token, and a login of a new container
    const read = await vaultOf.read('app/token?version=1').catch((caught: unknown) => caught);
    const login = await fresh.read('app/token').catch((caught: unknown) => caught);
    // Assess
    const expected =
      'Vault redirected to vault-active.internal:8200 (HTTP 307), which this client does not follow: the token ' +
      'would go to another host. Set VAULT_ADDR to the active node, or enable request forwarding on the cluster';
    for (const error of [read, login]) {
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toBe(expected);
      expect(
        JSON.stringify({ ...(error as ConfigurationError).details, message: String(error) }),
      ).not.toMatch(new RegExp(`${token}|version=|/v1/|https://vault-active`));
    }
    expect(vault.log.map((entry) => entry.status).slice(-2)).toEqual([307, 307]);
    vaultOf.close();
    fresh.close();
  });

  it('answers a rate-limit quota as RateLimitedError with its wait', async () => {
    // Prepare
    put('app/token', { value: 'x' });
    vault.inject({ kind: 'throttled', retryAfterSeconds: 120 }, { route: 'kv-read', times: 2 });
    // Act
    const error = await defineSecret('app/token')
      .text()
      .catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterMs).toBe(120_000);
  });

  it('names every missing or invalid setting', () => {
    expect(() => secretsBackend({ CIRCLE_SECRETS_BACKEND: 'valt' })).toThrow(
      'CIRCLE_SECRETS_BACKEND must be secrets-manager or vault, got "valt"',
    );
    expect(() => vaultSettings({})).toThrow('VAULT_ADDR must be the URL of the Vault server');
    expect(() => vaultSettings({ VAULT_ADDR: 'https://v:8200' })).toThrow(
      'Vault aws login needs CIRCLE_VAULT_ROLE',
    );
    expect(() => vaultSettings({ VAULT_ADDR: 'https://v:8200', CIRCLE_VAULT_AUTH: 'approle' })).toThrow(
      'Vault approle login needs CIRCLE_VAULT_APPROLE_ROLE_ID and CIRCLE_VAULT_APPROLE_SECRET_ID_SECRET',
    );
    expect(() => vaultSettings({ VAULT_ADDR: 'https://v:8200', CIRCLE_VAULT_AUTH: 'ldap' })).toThrow(
      'CIRCLE_VAULT_AUTH must be aws or approle, got "ldap"',
    );
  });
});

describe('Vault: odd answers and settings', () => {
  /** A reader of its own (no shared secret cache), three attempts per call. */
  const reader = (options: Parameters<typeof vaultReader>[1] = {}) => vaultReader(vaultSettings(), options);

  it('serves Secrets Manager when CIRCLE_SECRETS_BACKEND is unset or blank', () => {
    expect(secretsBackend({})).toBe('secrets-manager');
    expect(secretsBackend({ CIRCLE_SECRETS_BACKEND: '  ' })).toBe('secrets-manager');
  });

  it('sends VAULT_NAMESPACE as X-Vault-Namespace on the login and the read', async () => {
    // Prepare
    useEnv({ CIRCLE_VAULT_ROLE: 'circle-core', VAULT_NAMESPACE: 'team-a' });
    put('app/ns', { value: 'x' });
    const vaultOf = reader();
    // Act
    await vaultOf.read('app/ns');
    // Assess
    expect(vault.log.map((entry) => entry.headers['x-vault-namespace'])).toEqual(['team-a', 'team-a']);
    vaultOf.close();
  });

  it('names the missing role credentials of an aws login before calling Vault', async () => {
    // Prepare
    delete process.env['AWS_ACCESS_KEY_ID'];
    delete process.env['AWS_SECRET_ACCESS_KEY'];
    const vaultOf = reader();
    // Act
    const error = await vaultOf.read('app/x').catch((caught: unknown) => caught);
    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toBe(
      'Vault aws login needs the function role credentials in the environment',
    );
    expect(vault.log).toHaveLength(0);
    vaultOf.close();
  });

  it('refuses an AppRole login when the reader was given no way to read the secret id', async () => {
    useEnv({
      CIRCLE_VAULT_AUTH: 'approle',
      CIRCLE_VAULT_APPROLE_ROLE_ID: VAULT_SANDBOX_ROLE_ID,
      CIRCLE_VAULT_APPROLE_SECRET_ID_SECRET: SECRET_ID_NAME,
    });
    const vaultOf = reader();
    await expect(vaultOf.read('app/x')).rejects.toThrow(
      'Vault approle login has no way to read its secret id',
    );
    vaultOf.close();
  });

  it('answers an unexpected response for a login without a client token, and a KV answer without data', async () => {
    // Prepare
    vault.inject({ kind: 'answer', answer: json(200, { auth: null }) }, { route: 'aws-login' });
    vault.inject({ kind: 'answer', answer: json(200, { data: { metadata: {} } }) }, { route: 'kv-read' });
    const vaultOf = reader();
    // Act
    const login = await vaultOf.read('app/x').catch((caught: unknown) => caught);
    const kv = await vaultOf.read('app/x').catch((caught: unknown) => caught);
    // Assess
    expect(login).toBeInstanceOf(UnexpectedResponseError);
    expect((login as Error).message).toBe('Vault answered the aws login without a client token and lease');
    expect(kv).toBeInstanceOf(UnexpectedResponseError);
    expect((kv as Error).message).toBe('Vault answered secret app/x without a KV v2 data object');
    vaultOf.close();
  });

  it("names Vault's own words for another refusal (400), and a 429 without Retry-After has no wait", async () => {
    // Prepare
    vault.inject(
      { kind: 'answer', answer: json(400, { errors: ['invalid path for a versioned K/V secrets engine'] }) },
      {
        route: 'kv-read',
      },
    );
    vault.inject(
      { kind: 'answer', answer: json(429, { errors: ['rate limit quota exceeded'] }) },
      {
        route: 'kv-read',
        times: 3,
      },
    );
    const vaultOf = reader();
    // Act
    const refused = await vaultOf.read('app/x').catch((caught: unknown) => caught);
    const throttled = await vaultOf.read('app/x').catch((caught: unknown) => caught);
    // Assess
    expect(refused).toBeInstanceOf(ConfigurationError);
    expect((refused as Error).message).toBe(
      'Vault refused reading secret app/x: invalid path for a versioned K/V secrets engine',
    );
    expect(throttled).toBeInstanceOf(RateLimitedError);
    expect((throttled as RateLimitedError).retryAfterMs).toBeUndefined();
    vaultOf.close();
  });

  it('logs in again when Vault refuses a renewal, and fails when renewing keeps failing', async () => {
    // Prepare: tokens of 10 min; reads 9.5 min apart ask for a renewal
    let now = Date.parse('2026-12-06T10:00:00Z');
    vault.state.now = () => now;
    vault.state.ttlSeconds = 600;
    put('clock/b', { value: 'b' });
    const vaultOf = reader({ now: () => now });
    await vaultOf.read('clock/b');
    // Act
    now += 570_000;
    vault.inject({ kind: 'forbidden' }, { route: 'renew-self' });
    const refusedRenewal = await vaultOf.read('clock/b');
    now += 570_000;
    vault.inject({ kind: 'server-error', status: 500 }, { route: 'renew-self', times: 3 });
    const failedRenewal = await vaultOf.read('clock/b').catch((caught: unknown) => caught);
    // Assess
    expect(refusedRenewal.value).toBe('b');
    expect(vault.state.logins).toHaveLength(2);
    expect(failedRenewal).toBeInstanceOf(UnavailableError);
    expect(vault.state.logins).toHaveLength(2);
    vaultOf.close();
  });
});
