import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../errors.ts';
import { configureSecrets, defineSecret } from '../secrets.ts';
import { basicAuth } from './basic.ts';

const client = new SecretsManagerClient({ region: 'us-east-1' });
const sm = mockClient(client);

function target() {
  return { url: new URL('https://jira.example.com/rest/api/3/issue'), headers: {} as Record<string, string> };
}

/** RFC 7617 computed independently: base64 of the UTF-8 "user:password". */
function expected(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

beforeEach(() => {
  sm.reset();
  configureSecrets({ client });
});

describe('Function: basicAuth', () => {
  it('throws a ConfigurationError naming the field when literal credentials are invalid', () => {
    // Act & Assess
    expect(() => basicAuth({ credentials: { username: 'a:b', password: 'p' } })).toThrow(
      new ConfigurationError('basicAuth credentials are invalid: username'),
    );
  });
});

describe('Class: BasicAuth', () => {
  describe('Method: apply', () => {
    it('sets the authorization header from literal credentials, UTF-8 encoded', async () => {
      // Prepare
      const auth = basicAuth({ credentials: { username: 'Aladdin', password: 'open sesame ö' } });
      const request = target();

      // Act
      await auth.apply(request);

      // Assess
      expect(request.headers['authorization']).toBe(expected('Aladdin', 'open sesame ö'));
      expect(request.headers['authorization']).toBe('Basic QWxhZGRpbjpvcGVuIHNlc2FtZSDDtg==');
    });

    it('sets the authorization header from a JSON secret', async () => {
      // Prepare
      sm.on(GetSecretValueCommand, { SecretId: 'app/basic' }).resolves({
        SecretString: JSON.stringify({ username: 'svc', password: 'p:w' }),
      });
      const auth = basicAuth({ credentials: defineSecret('app/basic') });
      const request = target();

      // Act
      await auth.apply(request);

      // Assess
      expect(request.headers['authorization']).toBe(expected('svc', 'p:w'));
    });

    it('throws a ConfigurationError naming the secret and the bad field, not the value', async () => {
      // Prepare
      sm.on(GetSecretValueCommand, { SecretId: 'app/basic-bad' }).resolves({
        SecretString: JSON.stringify({ user: 'svc', password: 'Zq9-distinctive' }),
      });
      const auth = basicAuth({ credentials: defineSecret('app/basic-bad') });

      // Act
      const error = await auth.apply(target()).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toBe(
        'secret app/basic-bad has an invalid shape: username (expected string)',
      );
    });

    it('names a username with a colon as invalid', async () => {
      // Prepare
      sm.on(GetSecretValueCommand, { SecretId: 'app/basic-colon' }).resolves({
        SecretString: JSON.stringify({ username: 'a:b', password: 'p' }),
      });

      // Act & Assess
      await expect(
        basicAuth({ credentials: defineSecret('app/basic-colon') }).apply(target()),
      ).rejects.toThrow('secret app/basic-colon has an invalid shape: username (must not contain a colon)');
    });
  });

  describe('Method: refresh', () => {
    it('re-reads the secret so the rotated password is sent, and reports a retry is worthwhile', async () => {
      // Prepare
      sm.on(GetSecretValueCommand)
        .resolvesOnce({ SecretString: JSON.stringify({ username: 'svc', password: 'old' }) })
        .resolves({ SecretString: JSON.stringify({ username: 'svc', password: 'new' }) });
      const auth = basicAuth({ credentials: defineSecret('app/basic-rotating') });
      await auth.apply(target());

      // Act
      const retry = await auth.refresh?.();
      const request = target();
      await auth.apply(request);

      // Assess
      expect(retry).toBe(true);
      expect(request.headers['authorization']).toBe(expected('svc', 'new'));
    });

    it('reports a retry would not help for literal credentials', async () => {
      // Act & Assess
      expect(await basicAuth({ credentials: { username: 'u', password: 'p' } }).refresh?.()).toBe(false);
    });
  });
});
