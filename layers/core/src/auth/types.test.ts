import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../errors.ts';
import { configureSecrets, defineSecret } from '../secrets.ts';
import { describeSource, readCredential, refreshCredential } from './types.ts';

const client = new SecretsManagerClient({ region: 'us-east-1' });
const sm = mockClient(client);

beforeEach(() => {
  sm.reset();
  configureSecrets({ client });
});

describe('Function: readCredential', () => {
  it('returns a literal without its surrounding whitespace', async () => {
    // Act
    const value = await readCredential('  key-1\n', 'the API key');

    // Assess
    expect(value).toBe('key-1');
  });

  it("reads a secret's current text", async () => {
    // Prepare
    sm.on(GetSecretValueCommand, { SecretId: 'app/key' }).resolves({ SecretString: 'from-secret\n' });

    // Act
    const value = await readCredential(defineSecret('app/key'), 'the API key');

    // Assess
    expect(value).toBe('from-secret');
  });

  it('throws a ConfigurationError naming the secret when it is blank', async () => {
    // Prepare
    sm.on(GetSecretValueCommand, { SecretId: 'app/blank' }).resolves({ SecretString: ' \n' });

    // Act & Assess
    await expect(readCredential(defineSecret('app/blank'), 'the token')).rejects.toThrow(
      new ConfigurationError('the token is empty (secret app/blank)'),
    );
  });

  it('throws a ConfigurationError without the value when it contains control characters', async () => {
    // Act
    const error = await readCredential('abc\r\nx-injected: 1', 'the API key').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect((error as Error).message).toBe('the API key contains control characters (a literal value)');
  });
});

describe('Function: refreshCredential', () => {
  it('fetches a secret again and reports that a retry is worthwhile', async () => {
    // Prepare
    sm.on(GetSecretValueCommand).resolves({ SecretString: 'v' });
    const secret = defineSecret('app/rotate');
    await secret.text();

    // Act
    const retry = await refreshCredential(secret);

    // Assess
    expect(retry).toBe(true);
    expect(sm.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });

  it('reports that a retry would not help for a literal', async () => {
    // Act & Assess
    expect(await refreshCredential('literal')).toBe(false);
  });
});

describe('Function: describeSource', () => {
  it('names a secret by its name and a literal without its value', () => {
    // Act & Assess
    expect(describeSource(defineSecret('app/x'))).toBe('secret app/x');
    expect(describeSource('hunter2')).toBe('a literal value');
  });
});
