import { envInteger, envList } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { OidcConfig } from '../../functions/security/oidc/config.ts';
import type { ConnectorEntry } from '../../scripts/docs/catalog.ts';
import { configurationTable } from '../../scripts/docs/markdown.ts';

/** A connector entry with only what the configuration table reads. */
function entry(config: ConnectorEntry['config'], environment: Record<string, unknown> = {}): ConnectorEntry {
  return {
    name: 'example',
    category: 'test',
    version: '0.0.0',
    summary: '',
    folder: 'functions/test/example',
    capabilities: [],
    operations: [],
    routes: [],
    config,
    environment,
    events: [],
  };
}

/** The cells of one setting's row: variable, default, accepts, function.yml sets, meaning. */
function row(markdown: string, variable: string): string[] {
  const line = markdown.split('\n').find((text) => text.startsWith(`| \`${variable}\``));
  expect(line, variable).toBeDefined();
  return (line ?? '')
    .split(/(?<!\\)\|/)
    .slice(1, -1)
    .map((cell) => cell.trim());
}

describe('Function: configurationTable', () => {
  it("shows a list setting's default as it is written in the environment, and what the list accepts", () => {
    // Act
    const markdown = configurationTable(entry(OidcConfig, { OIDC_ALGORITHMS: 'RS256,ES256' }));

    // Assess: the default the code applies when OIDC_ALGORITHMS is unset (RS256, ES256)
    const [, defaultCell, accepts] = row(markdown, 'OIDC_ALGORITHMS');
    expect(defaultCell).toBe('`RS256,ES256`');
    expect(accepts).toBe('comma-separated list, at least one item');
    const [, audienceDefault, audienceAccepts] = row(markdown, 'OIDC_AUDIENCE');
    expect(audienceDefault).toBe('`""`');
    expect(audienceAccepts).toBe('comma-separated list');
  });

  it('shows an empty default as "" and a setting without one as (none) or (required)', () => {
    // Prepare
    const config = z.object({
      APP_TOPIC: z.string().default(''),
      APP_BUCKETS: envList([]).pipe(z.array(z.string().min(3))),
      APP_NAME: z.string().optional(),
      APP_URL: z.url(),
      APP_TIMEOUT_MS: envInteger(1000, { min: 1, max: 5000 }),
    });

    // Act
    const markdown = configurationTable(entry(config));

    // Assess
    expect(row(markdown, 'APP_TOPIC')[1]).toBe('`""`');
    expect(row(markdown, 'APP_BUCKETS').slice(1, 3)).toEqual(['`""`', 'comma-separated list']);
    expect(row(markdown, 'APP_NAME')[1]).toBe('(none)');
    expect(row(markdown, 'APP_URL')[1]).toBe('(required)');
    expect(row(markdown, 'APP_TIMEOUT_MS')[1]).toBe('`1000`');
  });
});
