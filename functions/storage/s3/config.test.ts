import { ConfigurationError, loadConfig } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { clientOptions, S3Config } from './config.ts';

describe('Function: clientOptions', () => {
  it('applies the defaults when only S3_BUCKET is set', () => {
    // Act
    const options = clientOptions(loadConfig(S3Config, { S3_BUCKET: 'data' }));
    // Assess
    expect(options).toEqual({
      bucket: 'data',
      allowedBuckets: [],
      forcePathStyle: false,
      maxBytes: 1_048_576,
      presignExpiresSeconds: 900,
      timeoutMs: 10_000,
      maxAttempts: 3,
    });
  });

  it('reads the endpoint, path style and allowed buckets', () => {
    // Act
    const options = clientOptions(
      loadConfig(S3Config, {
        S3_BUCKET: 'data',
        S3_ALLOWED_BUCKETS: 'archive, exports',
        S3_ENDPOINT: 'http://127.0.0.1:4568',
        S3_FORCE_PATH_STYLE: 'true',
      }),
    );
    // Assess
    expect(options).toMatchObject({
      allowedBuckets: ['archive', 'exports'],
      endpoint: 'http://127.0.0.1:4568',
      forcePathStyle: true,
    });
  });
});

describe('Function: loadConfig (S3Config)', () => {
  it('throws ConfigurationError naming each bad variable', () => {
    // Act
    const load = () =>
      loadConfig(S3Config, {
        S3_ALLOWED_BUCKETS: 'ok-bucket,Not_A_Bucket',
        S3_ENDPOINT: 'ftp://example.test',
        S3_GET_MAX_BYTES: '5000000',
      });
    // Assess
    expect(load).toThrow(ConfigurationError);
    expect(load).toThrow(/S3_BUCKET is required/);
    expect(load).toThrow(/S3_ALLOWED_BUCKETS is invalid/);
    expect(load).toThrow(/S3_ENDPOINT is invalid/);
    expect(load).toThrow(/S3_GET_MAX_BYTES is invalid \(expected at most 4194304\)/);
  });
});
