import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { envBoolean, envInteger, envList, loadConfig } from './config.ts';
import { ConfigurationError } from './errors.ts';

const Schema = z.object({
  APP_BUCKET: z.string().min(1),
  APP_MODE: z.enum(['fast', 'safe']).default('safe'),
  APP_READ_ONLY: envBoolean(false),
  APP_TIMEOUT_MS: envInteger(1000, { min: 10, max: 5000 }),
  APP_REPOS: envList(['a']),
  APP_URL: z.url().optional(),
});

describe('Function: loadConfig', () => {
  it('applies defaults and coerces strings', () => {
    // Act
    const config = loadConfig(Schema, { APP_BUCKET: 'data', APP_READ_ONLY: 'YES', APP_REPOS: 'x, y,,z' });
    // Assess
    expect(config).toEqual({
      APP_BUCKET: 'data',
      APP_MODE: 'safe',
      APP_READ_ONLY: true,
      APP_TIMEOUT_MS: 1000,
      APP_REPOS: ['x', 'y', 'z'],
    });
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig(Schema, { APP_BUCKET: 'b', APP_TIMEOUT_MS: '' }).APP_TIMEOUT_MS).toBe(1000);
  });

  it('names every missing or malformed variable and never echoes values', () => {
    // Act
    const attempt = () =>
      loadConfig(Schema, {
        APP_TIMEOUT_MS: '99999',
        APP_MODE: 'turbo',
        APP_READ_ONLY: 'maybe',
        APP_URL: 's3cr3t-value',
      });
    // Assess
    expect(attempt).toThrow(ConfigurationError);
    try {
      attempt();
    } catch (error) {
      const message = (error as Error).message;
      expect(message).toContain('APP_BUCKET is required');
      expect(message).toContain('APP_TIMEOUT_MS is invalid (expected at most 5000)');
      expect(message).toMatch(/APP_MODE is invalid \(expected one of "fast", "safe"\)/);
      expect(message).toContain('APP_READ_ONLY is invalid');
      expect(message).toContain('APP_URL is invalid');
      expect(message).not.toContain('s3cr3t-value');
      expect(message).not.toContain('turbo');
    }
  });

  it('reads process.env by default', () => {
    process.env['APP_BUCKET'] = 'from-env';
    try {
      expect(loadConfig(z.object({ APP_BUCKET: z.string() })).APP_BUCKET).toBe('from-env');
    } finally {
      delete process.env['APP_BUCKET'];
    }
  });

  it('describes too-small values', () => {
    expect(() => loadConfig(Schema, { APP_BUCKET: 'b', APP_TIMEOUT_MS: '1' })).toThrow(
      /expected at least 10/,
    );
  });
});
