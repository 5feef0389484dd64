import { ConfigurationError, loadConfig } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { PostgresConfig } from './config.ts';

describe('Function: loadConfig(PostgresConfig)', () => {
  it('applies the defaults: TLS verify-full, 15 s statement timeout, read-write', () => {
    // Act
    const config = loadConfig(PostgresConfig, { PG_SECRET: 'circle-core/postgres/credentials' });
    // Assess
    expect(config).toMatchObject({
      PG_SSL: 'verify-full',
      PG_STATEMENT_TIMEOUT_MS: 15_000,
      PG_CONNECT_TIMEOUT_MS: 5_000,
      PG_READ_ONLY: false,
      PG_MAX_ROWS: 10_000,
      PG_SECRET_MAX_AGE_SECONDS: 300,
    });
  });

  it('throws ConfigurationError naming PG_SECRET when no credentials are configured', () => {
    // Assess
    expect(() => loadConfig(PostgresConfig, {})).toThrow(ConfigurationError);
    expect(() => loadConfig(PostgresConfig, {})).toThrow(/PG_SECRET .*set PG_SECRET/);
  });

  it('throws ConfigurationError when both a secret and a URL are set, without echoing the URL', () => {
    // Prepare
    const env = { PG_SECRET: 's', PG_URL: 'postgres://u:hunter2@h/db' };
    // Assess
    expect(() => loadConfig(PostgresConfig, env)).toThrow(/not both/);
    expect(() => loadConfig(PostgresConfig, env)).not.toThrow(/hunter2/);
  });

  it('refuses TLS without verification and out-of-range timeouts', () => {
    // Assess
    expect(() => loadConfig(PostgresConfig, { PG_SECRET: 's', PG_SSL: 'require' })).toThrow(
      /PG_SSL is invalid/,
    );
    expect(() => loadConfig(PostgresConfig, { PG_SECRET: 's', PG_STATEMENT_TIMEOUT_MS: '10' })).toThrow(
      /PG_STATEMENT_TIMEOUT_MS/,
    );
  });
});
