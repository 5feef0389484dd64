import { ConfigurationError, loadConfig } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import type { EngineFacts } from './credentials.ts';
import { credentialsFromSettings, refineCredentialChoice, sqlSettings } from './settings.ts';

const ACME = {
  name: 'AcmeSQL',
  prefix: 'ACME',
  schemes: ['acme', 'acmesql'],
  engine: /acme/,
  defaultPort: 7000,
  defaultUser: 'admin',
  defaultDatabase: 'main',
} as const satisfies EngineFacts;

const AcmeConfig = z
  .object(sqlSettings(ACME, { statementTimeout: 'Server-side timeout' }))
  .superRefine(refineCredentialChoice('ACME'));

describe('Function: sqlSettings', () => {
  it("names every setting after the engine's prefix, with the shared defaults", () => {
    // Act
    const config = loadConfig(AcmeConfig, { ACME_URL: 'acmesql://u@h/db' });
    // Assess
    expect(config).toEqual({
      ACME_URL: 'acmesql://u@h/db',
      ACME_SSL: 'verify-full',
      ACME_STATEMENT_TIMEOUT_MS: 15_000,
      ACME_CONNECT_TIMEOUT_MS: 5_000,
      ACME_READ_ONLY: false,
      ACME_MAX_ROWS: 10_000,
      ACME_SECRET_MAX_AGE_SECONDS: 300,
    });
    expect(AcmeConfig.shape.ACME_STATEMENT_TIMEOUT_MS.description).toBe('Server-side timeout');
  });

  it('refuses a URL of another scheme, naming the setting', () => {
    // Assess
    expect(() => loadConfig(AcmeConfig, { ACME_URL: 'postgres://u@h/db' })).toThrow(/ACME_URL is invalid/);
    expect(() => loadConfig(AcmeConfig, { ACME_URL: 'acmesql://u@h/db' })).not.toThrow();
  });
});

describe('Function: refineCredentialChoice', () => {
  it('asks for one of the secret and the URL, and refuses both without echoing the URL', () => {
    // Assess
    expect(() => loadConfig(AcmeConfig, {})).toThrow(/set ACME_SECRET .* or ACME_URL/);
    const both = { ACME_SECRET: 's', ACME_URL: 'acme://u:hunter2@h/db' };
    expect(() => loadConfig(AcmeConfig, both)).toThrow(ConfigurationError);
    expect(() => loadConfig(AcmeConfig, both)).toThrow(/not both/);
    expect(() => loadConfig(AcmeConfig, both)).not.toThrow(/hunter2/);
  });
});

describe('Function: credentialsFromSettings', () => {
  it('reads the URL with the overrides the settings give, and the secret when one is named', async () => {
    // Prepare
    const fromUrl = loadConfig(AcmeConfig, {
      ACME_URL: 'acme://u@h/db',
      ACME_PORT: '7100',
      ACME_DATABASE: 'other',
    });
    const fromSecret = loadConfig(AcmeConfig, { ACME_SECRET: 'circle-core/acme/credentials' });
    // Act
    const url = credentialsFromSettings(fromUrl, ACME);
    const secret = credentialsFromSettings(fromSecret, ACME);
    // Assess
    await expect(url.endpoint()).resolves.toEqual({
      host: 'h',
      port: 7100,
      user: 'u',
      password: '',
      database: 'other',
    });
    expect([url.rotatable, secret.rotatable]).toEqual([false, true]);
  });
});
