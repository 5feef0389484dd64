import { describe, expect, it } from 'vitest';
import { clientOptions, RedisConfig } from './config.ts';

describe('Config: RedisConfig', () => {
  it('verifies TLS by default and maps the settings to the store options', () => {
    // Act
    const config = RedisConfig.parse({ REDIS_HOST: 'cache.internal', REDIS_SECRET: 'app/redis' });

    // Assess
    expect(clientOptions(config)).toEqual({
      host: 'cache.internal',
      port: 6379,
      tls: true,
      secretName: 'app/redis',
      database: 0,
      keyPrefix: 'circle-core:',
      secretMaxAgeSeconds: 300,
      connectTimeoutMs: 5_000,
      timeoutMs: 5_000,
    });
  });

  it('refuses plain TCP to any host but loopback, naming REDIS_TLS', () => {
    // Act
    const remote = RedisConfig.safeParse({ REDIS_HOST: 'cache.internal', REDIS_TLS: 'disable' });
    const local = RedisConfig.safeParse({ REDIS_HOST: '127.0.0.1', REDIS_TLS: 'disable' });

    // Assess
    expect(remote.success).toBe(false);
    expect(remote.error?.issues[0]?.path).toEqual(['REDIS_TLS']);
    expect(local.success).toBe(true);
    expect(local.data && clientOptions(local.data).secretName).toBeUndefined();
  });
});
