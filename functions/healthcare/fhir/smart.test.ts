/**
 * SMART Backend Services against the FHIR fake's token endpoint, which verifies each client assertion
 * (RS384 or ES384 signature with the registered key, iss = sub, aud, exp, a fresh jti) and grants scopes:
 * the token is fetched once and reused, scopes limit writes, a rotated key is re-read after a 401, and a
 * refused assertion fails without quoting the key.
 */
import { generateKeyPairSync } from 'node:crypto';
import {
  AuthError,
  ConfigurationError,
  configureSecrets,
  defineSecret,
  ForbiddenError,
  resetCircuitBreakers,
} from '@circle-core/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type FhirFakeState, startFhirFake } from '../../../scripts/local/sandboxes/fhir.ts';
import type { FakeServer } from '../../../scripts/local/sandboxes/kit/index.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';
import { fhirAuth } from './auth.ts';
import { FhirApi, fhirApi } from './client.ts';
import { FhirConfig } from './config.ts';

const SECRET = 'test/fhir/smart';
const pem = (key: { export(options: { type: 'pkcs8'; format: 'pem' }): string | Buffer }) =>
  String(key.export({ type: 'pkcs8', format: 'pem' }));
const rsa = () => generateKeyPairSync('rsa', { modulusLength: 2048 });
const RSA = rsa();
const EC = generateKeyPairSync('ec', { namedCurve: 'P-384' });

let fake: FakeServer<FhirFakeState>;
let secrets: SecretsManagerPeer;
const savedEnv = { ...process.env };
const apis: FhirApi[] = [];

function api(settings: Record<string, string> = {}): FhirApi {
  const config = FhirConfig.parse({
    FHIR_API_URL: `${fake.url}/fhir`,
    FHIR_AUTH: 'smart-backend',
    FHIR_TOKEN_URL: `${fake.url}/auth/token`,
    FHIR_SCOPES: 'system/*.read system/*.write',
    FHIR_CREDENTIALS_SECRET: SECRET,
    FHIR_TIMEOUT_MS: '2000',
    ...settings,
  });
  const secret = defineSecret(SECRET);
  const made = new FhirApi(
    fhirApi.clientFromSettings(config, { auth: fhirAuth(config, secret) }),
    config.FHIR_API_URL,
  );
  apis.push(made);
  return made;
}

const storeKey = (clientId: string, privateKey: string, algorithm = 'RS384') =>
  secrets.set(SECRET, JSON.stringify({ clientId, privateKey, keyId: `${clientId}-key`, algorithm }));

beforeAll(async () => {
  fake = await startFhirFake();
  secrets = await startSecretsManager({});
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
});

afterAll(async () => {
  process.env = savedEnv;
  await fake.close();
  await secrets.close();
});

beforeEach(async () => {
  fake.reset();
  fake.state.tokens.clear();
  fake.state.clients.set('backend-rw', { publicKey: RSA.publicKey });
  fake.state.clients.set('backend-ro', { publicKey: EC.publicKey, scope: 'system/*.read' });
  await storeKey('backend-rw', pem(RSA.privateKey));
  configureSecrets({});
  resetCircuitBreakers();
});

afterEach(() => {
  for (const one of apis.splice(0)) one.close();
});

describe('SMART Backend Services', () => {
  it('gets one token with an RS384 assertion and reuses it for reads and writes', async () => {
    // Prepare
    const fhir = api();

    // Act
    const read = await fhir.readResource({ resourceType: 'Patient', id: 'pat-1' });
    const created = await fhir.createResource({
      resource: { resourceType: 'Patient', name: [{ family: 'Backend' }] },
    });

    // Assess
    expect(read.resource['id']).toBe('pat-1');
    expect(created.created).toBe(true);
    const tokens = fake.logFor('token');
    expect(tokens.map((entry) => entry.status)).toEqual([200]);
    expect(tokens[0]?.body).toMatchObject({
      grant_type: 'client_credentials',
      scope: 'system/*.read system/*.write',
    });
    expect(tokens[0]?.body).not.toHaveProperty('client_assertion');
    const used = [...fake.logFor('read'), ...fake.logFor('create')].map((entry) => entry.token);
    expect(used).toEqual([expect.stringMatching(/^fhir-at-/), used[0]]);
  });

  it('signs ES384 for an EC P-384 key; a read-only grant is refused a write with 403', async () => {
    // Prepare
    await storeKey('backend-ro', pem(EC.privateKey), 'ES384');
    const fhir = api({ FHIR_SCOPES: 'system/*.read' });

    // Act
    const read = await fhir.readResource({ resourceType: 'Condition', id: 'cond-1' });
    const write = await fhir
      .createResource({ resource: { resourceType: 'Patient', name: [{ family: 'Nope' }] } })
      .catch((error: unknown) => error);

    // Assess
    expect(read.resource['id']).toBe('cond-1');
    expect(write).toBeInstanceOf(ForbiddenError);
    expect(fake.logFor('create').map((entry) => entry.status)).toEqual([403, 403]);
    expect(fake.logFor('token').map((entry) => entry.status)).toEqual([200, 200]);
  });

  it('after a 401 re-reads a rotated key and signs a new assertion with it', async () => {
    // Prepare
    const fhir = api();
    await fhir.readResource({ resourceType: 'Patient', id: 'pat-1' });
    const rotated = rsa();
    fake.state.clients.set('backend-rw', { publicKey: rotated.publicKey });
    fake.state.issued.clear();
    await storeKey('backend-rw', pem(rotated.privateKey));

    // Act
    const read = await fhir.readResource({ resourceType: 'Patient', id: 'pat-2' });

    // Assess
    expect(read.resource['id']).toBe('pat-2');
    expect(fake.logFor('read').map((entry) => entry.status)).toEqual([200, 401, 200]);
    expect(fake.logFor('token').map((entry) => entry.status)).toEqual([200, 200]);
  });

  it('fails with an AuthError when the assertion does not verify, quoting neither key nor assertion', async () => {
    // Prepare
    const stranger = rsa();
    await storeKey('backend-rw', pem(stranger.privateKey));
    const fhir = api();

    // Act
    const failure = await fhir
      .readResource({ resourceType: 'Patient', id: 'pat-1' })
      .catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(AuthError);
    const text = `${(failure as Error).message} ${JSON.stringify((failure as AuthError).details)}`;
    expect(text).toContain('invalid_client');
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toMatch(/eyJ[\w-]+\.eyJ/);
    expect(fake.logFor('read')).toEqual([]);
  });

  it('fails when asking for scopes the client was not granted, and needs a token URL', async () => {
    // Prepare
    await storeKey('backend-ro', pem(EC.privateKey), 'ES384');
    const fhir = api();

    // Act
    const failure = await fhir
      .readResource({ resourceType: 'Patient', id: 'pat-1' })
      .catch((error: unknown) => error);
    const unset = () => api({ FHIR_TOKEN_URL: '' });

    // Assess
    expect(failure).toBeInstanceOf(AuthError);
    expect((failure as Error).message).toContain('invalid_scope');
    expect(unset).toThrow(ConfigurationError);
  });
});
