import { ConfigurationError, loadConfig } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { clientOptions, DynamodbConfig } from './config.ts';

describe('Config: DynamodbConfig', () => {
  it('applies the defaults when only DYNAMODB_TABLE is set', () => {
    // Act
    const options = clientOptions(loadConfig(DynamodbConfig, { DYNAMODB_TABLE: 'kv-table' }));

    // Assess
    expect(options).toEqual({
      table: 'kv-table',
      ttlAttribute: 'expiresAt',
      timeoutMs: 5_000,
      maxAttempts: 3,
    });
  });

  it.each(['pk', 'sk', 'v', 'ver', 'vint'])(
    'refuses %s as DYNAMODB_TTL_ATTRIBUTE: the connector writes that attribute itself',
    (name) => {
      // Act
      const load = () =>
        loadConfig(DynamodbConfig, { DYNAMODB_TABLE: 'kv-table', DYNAMODB_TTL_ATTRIBUTE: name });

      // Assess
      expect(load).toThrow(ConfigurationError);
      expect(load).toThrow(
        /DYNAMODB_TTL_ATTRIBUTE is invalid \(expected a name other than pk, sk, v, ver and vint/,
      );
    },
  );
});
