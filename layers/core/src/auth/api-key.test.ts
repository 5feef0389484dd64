import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError } from '../errors.ts';
import { configureSecrets, defineSecret } from '../secrets.ts';
import { apiKeyAuth } from './api-key.ts';

const client = new SecretsManagerClient({ region: 'us-east-1' });
const sm = mockClient(client);

function target(url = 'https://api.example.com/v1/items?page=2') {
  return { url: new URL(url), headers: {} as Record<string, string> };
}

beforeEach(() => {
  sm.reset();
  configureSecrets({ client });
});

describe('Function: apiKeyAuth', () => {
  it('throws a ConfigurationError when neither header nor query is given', () => {
    // Act & Assess
    expect(() => apiKeyAuth({ key: 'k' })).toThrow(
      new ConfigurationError('apiKeyAuth needs exactly one of header or query'),
    );
  });

  it('throws a ConfigurationError when both header and query are given', () => {
    // Act & Assess
    expect(() => apiKeyAuth({ key: 'k', header: 'x-api-key', query: 'api_key' })).toThrow(ConfigurationError);
  });

  it('throws a ConfigurationError when the header name is not a token', () => {
    // Act & Assess
    expect(() => apiKeyAuth({ key: 'k', header: 'x api key' })).toThrow(/not a valid header name/);
  });

  it('throws a ConfigurationError when the query parameter name is empty', () => {
    // Act & Assess
    expect(() => apiKeyAuth({ key: 'k', query: '' })).toThrow(/query parameter name is empty/);
  });
});

describe('Class: ApiKeyAuth', () => {
  describe('Method: apply', () => {
    it('sets the key with its prefix in the header, lower-cased', async () => {
      // Prepare
      const auth = apiKeyAuth({ key: 'k-123', header: 'X-Api-Key', prefix: 'Token ' });
      const request = target();

      // Act
      await auth.apply(request);

      // Assess
      expect(request.headers).toEqual({ 'x-api-key': 'Token k-123' });
      expect(request.url.search).toBe('?page=2');
    });

    it('sets the key as a query parameter, keeping the others and encoding it', async () => {
      // Prepare
      const auth = apiKeyAuth({ key: 'a&b=c', query: 'api_key' });
      const request = target();

      // Act
      await auth.apply(request);

      // Assess
      expect(request.url.searchParams.get('api_key')).toBe('a&b=c');
      expect(request.url.searchParams.get('page')).toBe('2');
      expect(request.headers).toEqual({});
    });

    it('reads the key from a secret', async () => {
      // Prepare
      sm.on(GetSecretValueCommand, { SecretId: 'app/api-key' }).resolves({ SecretString: 'from-secret' });
      const auth = apiKeyAuth({ key: defineSecret('app/api-key'), header: 'x-api-key' });
      const request = target();

      // Act
      await auth.apply(request);

      // Assess
      expect(request.headers['x-api-key']).toBe('from-secret');
    });
  });

  describe('Method: refresh', () => {
    it('re-reads a secret key and reports a retry is worthwhile, so the rotated key is sent', async () => {
      // Prepare
      sm.on(GetSecretValueCommand).resolvesOnce({ SecretString: 'old' }).resolves({ SecretString: 'new' });
      const auth = apiKeyAuth({ key: defineSecret('app/rotating'), header: 'x-api-key' });
      await auth.apply(target());

      // Act
      const retry = await auth.refresh?.();
      const request = target();
      await auth.apply(request);

      // Assess
      expect(retry).toBe(true);
      expect(request.headers['x-api-key']).toBe('new');
    });

    it('reports a retry would not help for a literal key', async () => {
      // Act & Assess
      expect(await apiKeyAuth({ key: 'k', query: 'key' }).refresh?.()).toBe(false);
    });
  });
});
