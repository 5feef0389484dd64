import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../errors.ts';
import { configureSecrets, defineSecret } from '../secrets.ts';
import { bearerAuth } from './bearer.ts';

const client = new SecretsManagerClient({ region: 'us-east-1' });
const sm = mockClient(client);

function target() {
  return { url: new URL('https://slack.com/api/chat.postMessage'), headers: {} as Record<string, string> };
}

beforeEach(() => {
  sm.reset();
  configureSecrets({ client });
});

describe('Class: BearerAuth', () => {
  describe('Method: apply', () => {
    it('sets the authorization header from a literal', async () => {
      // Prepare
      const request = target();

      // Act
      await bearerAuth({ token: 'xoxb-1' }).apply(request);

      // Assess
      expect(request.headers).toEqual({ authorization: 'Bearer xoxb-1' });
    });

    it('sets the authorization header from a secret', async () => {
      // Prepare
      sm.on(GetSecretValueCommand, { SecretId: 'app/slack' }).resolves({ SecretString: 'xoxb-secret\n' });
      const request = target();

      // Act
      await bearerAuth({ token: defineSecret('app/slack') }).apply(request);

      // Assess
      expect(request.headers['authorization']).toBe('Bearer xoxb-secret');
    });

    it('asks a function for the current token on every request', async () => {
      // Prepare
      let n = 0;
      const auth = bearerAuth({ token: async () => `t-${++n}` });
      const first = target();
      const second = target();

      // Act
      await auth.apply(first);
      await auth.apply(second);

      // Assess
      expect(first.headers['authorization']).toBe('Bearer t-1');
      expect(second.headers['authorization']).toBe('Bearer t-2');
    });

    it('throws a ConfigurationError when the function returns an empty token', async () => {
      // Act & Assess
      await expect(bearerAuth({ token: async () => '' }).apply(target())).rejects.toThrow(ConfigurationError);
    });
  });

  describe('Method: refresh', () => {
    it('re-reads a secret so the rotated token is sent', async () => {
      // Prepare
      sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'old' }).resolves({ SecretString: 'new' });
      const auth = bearerAuth({ token: defineSecret('app/rotating-token') });
      await auth.apply(target());

      // Act
      const retry = await auth.refresh?.();
      const request = target();
      await auth.apply(request);

      // Assess
      expect(retry).toBe(true);
      expect(request.headers['authorization']).toBe('Bearer new');
    });

    it('reports a retry would not help for a literal or a function', async () => {
      // Act & Assess
      expect(await bearerAuth({ token: 't' }).refresh?.()).toBe(false);
      expect(await bearerAuth({ token: async () => 't' }).refresh?.()).toBe(false);
    });
  });
});
