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

describe('Function: envList', () => {
  const Lists = z.object({
    APP_ALGORITHMS: envList(['RS256', 'ES256'], { nonEmpty: true }),
    APP_EXTRA_BUCKETS: envList([]),
  });

  it('applies its default, and a set value replaces it', () => {
    // Act
    const unset = loadConfig(Lists, {});
    const set = loadConfig(Lists, { APP_ALGORITHMS: ' PS256 ,, EdDSA', APP_EXTRA_BUCKETS: 'b1' });

    // Assess
    expect(unset).toEqual({ APP_ALGORITHMS: ['RS256', 'ES256'], APP_EXTRA_BUCKETS: [] });
    expect(set).toEqual({ APP_ALGORITHMS: ['PS256', 'EdDSA'], APP_EXTRA_BUCKETS: ['b1'] });
  });

  it('shows its default in the JSON Schema of what may be set, the way it is written in the environment', () => {
    // Act
    const schema = z.toJSONSchema(Lists, { io: 'input', target: 'draft-2020-12' }) as {
      properties: Record<string, Record<string, unknown>>;
      required?: string[];
    };

    // Assess: the docs' configuration tables read their "default" column from here
    expect(schema.properties['APP_ALGORITHMS']).toMatchObject({ type: 'string', default: 'RS256,ES256' });
    expect(schema.properties['APP_EXTRA_BUCKETS']).toMatchObject({ type: 'string', default: '' });
    expect(schema.properties['APP_ALGORITHMS']?.['list']).toEqual({ nonEmpty: true });
    expect(schema.properties['APP_EXTRA_BUCKETS']?.['list']).toEqual({ nonEmpty: false });
    expect(schema.required ?? []).toEqual([]);
  });

  it('refuses a list that must not be empty when it is only commas or spaces, naming the variable', () => {
    for (const value of [',', ' , ,', '   ']) {
      // Act
      const attempt = () => loadConfig(Lists, { APP_ALGORITHMS: value, APP_EXTRA_BUCKETS: ' , ' });

      // Assess: a list that may be empty still is
      expect(attempt, JSON.stringify(value)).toThrow(ConfigurationError);
      expect(attempt, JSON.stringify(value)).toThrow(
        'Invalid configuration: APP_ALGORITHMS is invalid (expected at least one item, comma-separated)',
      );
    }
    expect(loadConfig(Lists, { APP_EXTRA_BUCKETS: ' , ' }).APP_EXTRA_BUCKETS).toEqual([]);
  });
});
