/**
 * The one secrets suite, run against both backends a function can choose (`CIRCLE_SECRETS_BACKEND`):
 * Secrets Manager (the local stack's AWS endpoint, hand-signed reads) and HashiCorp Vault (its contract
 * fake, KV v2 with the aws IAM login). The handles a connector uses do not change; what they promise must
 * hold on either.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import type { FakeServer } from '../../../scripts/local/sandboxes/kit/index.ts';
import { startVaultFake, type VaultFakeState } from '../../../scripts/local/sandboxes/vault.ts';
import { type AwsEndpointPeer, startAwsEndpointPeer } from '../../../test/peers/aws-endpoint.ts';
import { ConfigurationError } from './errors.ts';
import { configureSecrets, defineSecret } from './secrets.ts';

/** What the suite needs of a backend: write a value (a rotation) and count the store's reads of a name. */
interface Backend {
  name: string;
  env: Record<string, string>;
  put(name: string, value: string): Promise<void>;
  reads(name: string): number;
}

let aws: AwsEndpointPeer;
let vault: FakeServer<VaultFakeState>;
const savedEnv = { ...process.env };

beforeAll(async () => {
  [aws, vault] = await Promise.all([startAwsEndpointPeer(), startVaultFake()]);
});

afterAll(async () => {
  process.env = savedEnv;
  configureSecrets({});
  await Promise.all([aws.close(), vault.close()]);
});

const credentials = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-east-1' };

const BACKENDS: (() => Backend)[] = [
  () => ({
    name: 'Secrets Manager',
    env: { ...credentials, AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoint },
    put: (name, value) => aws.setSecret(name, value),
    reads: (name) => aws.secretReads.filter((read) => read === name).length,
  }),
  () => ({
    name: 'Vault',
    env: {
      ...credentials,
      CIRCLE_SECRETS_BACKEND: 'vault',
      VAULT_ADDR: vault.url,
      CIRCLE_VAULT_ROLE: 'circle-core',
    },
    put: async (name, value) => {
      const versions = vault.state.kv.get(`secret/${name}`) ?? [];
      versions.push({ data: { value }, deleted: false });
      vault.state.kv.set(`secret/${name}`, versions);
    },
    reads: (name) => vault.logFor('kv-read').filter((entry) => entry.path.endsWith(`/${name}`)).length,
  }),
];

let run = 0;
const unique = (what: string) => `suite/${what}-${++run}`;

describe.each(BACKENDS.map((make, index) => [index === 0 ? 'Secrets Manager' : 'Vault', make] as const))(
  'Secrets suite on %s',
  (_name, make) => {
    let backend: Backend;

    beforeEach(() => {
      backend = make();
      for (const name of ['CIRCLE_SECRETS_BACKEND', 'VAULT_ADDR', 'CIRCLE_VAULT_ROLE'])
        delete process.env[name];
      Object.assign(process.env, backend.env);
      configureSecrets({ maxAttempts: 1 });
    });

    it('reads a value, one store read for 50 concurrent handles on a cold cache', async () => {
      // Prepare
      const name = unique('token');
      await backend.put(name, 'first-value');
      // Act
      const values = await Promise.all(Array.from({ length: 50 }, () => defineSecret(name).text()));
      // Assess
      expect(new Set(values)).toEqual(new Set(['first-value']));
      expect(backend.reads(name)).toBe(1);
    });

    it('serves the cached value within the max age, and the rotated one after refresh()', async () => {
      // Prepare
      const name = unique('rotating');
      await backend.put(name, 'before-rotation');
      const secret = defineSecret(name, { maxAgeSeconds: 300 });
      await secret.text();
      await backend.put(name, 'after-rotation');
      // Act
      const cached = await secret.text();
      await secret.refresh();
      const refreshed = await secret.text();
      // Assess
      expect([cached, refreshed]).toEqual(['before-rotation', 'after-rotation']);
      expect(backend.reads(name)).toBe(2);
    });

    it('validates JSON, naming the bad fields and never their values', async () => {
      // Prepare
      const name = unique('json');
      await backend.put(name, JSON.stringify({ username: 'svc', password: 42 }));
      const schema = z.object({ username: z.string(), password: z.string() });
      // Act
      const error = await defineSecret(name)
        .json(schema)
        .catch((caught: unknown) => caught);
      // Assess
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toBe(
        `secret ${name} has an invalid shape: password (expected string)`,
      );
    });

    it('answers a missing secret with a ConfigurationError naming it, and reads again on the next use', async () => {
      // Prepare
      const name = unique('missing');
      // Act
      const error = await defineSecret(name)
        .text()
        .catch((caught: unknown) => caught);
      await backend.put(name, 'created-later');
      const later = await defineSecret(name).text();
      // Assess
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toContain(`secret ${name}`);
      expect(later).toBe('created-later');
    });

    it('never puts a value into an error, its cause or its details', async () => {
      // Prepare: a value that fails validation
      const name = unique('leak');
      const value = 'do-not-leak-this-7f3a9c';
      await backend.put(name, value);
      // Act
      const error = await defineSecret(name)
        .json(z.object({ a: z.string() }))
        .catch((caught: unknown) => caught);
      // Assess
      let text = '';
      for (let current: unknown = error; current instanceof Error; current = current.cause) {
        text += `${current.message}${JSON.stringify(current)}${String(current.stack)}`;
      }
      expect(text).toContain(name);
      expect(text).not.toContain(value);
    });
  },
);
