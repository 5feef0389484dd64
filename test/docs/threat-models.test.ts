/**
 * Every connector declares its threat model as data (`threat-model.ts`, shared/models/threat-model.ts):
 * what it reaches, what it stores, and each STRIDE category answered by a control or explained as not
 * applicable; its README carries the generated section (the generated-docs test keeps it current).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { markers } from '../../scripts/docs/markdown.ts';
import { loadThreatModel, threatModelMarkdown } from '../../scripts/docs/threat-model.ts';
import { discoverFunctions } from '../../scripts/lib/functions.ts';
import { STRIDE, ThreatModel } from '../../shared/models/threat-model.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const functions = await discoverFunctions(ROOT);
const folderOf = (entry: string) => entry.slice(ROOT.length + 1).replace(/\/index\.ts$/, '');

describe('Threat models', () => {
  it('exist for at least the reference connectors', () => {
    // Assess
    expect(functions.map((fn) => fn.name)).toEqual(
      expect.arrayContaining(['s3', 'postgres', 'mysql', 'slack', 'github']),
    );
  });

  it.each(functions.map((fn) => [fn.name, folderOf(fn.entry)]))(
    '%s declares one covering every STRIDE category, rendered into its README',
    async (_name, folder) => {
      // Act
      const model = await loadThreatModel(ROOT, folder);
      const readme = await readFile(join(ROOT, folder, 'README.md'), 'utf8');

      // Assess
      expect(
        model,
        `${folder}/threat-model.ts is missing: declare it (shared/models/threat-model.ts)`,
      ).toBeDefined();
      expect(Object.keys(model?.threats ?? {})).toEqual([...STRIDE]);
      const { start, end } = markers('threat-model');
      expect(readme).toContain(`## Threat model`);
      expect(readme).toContain(`${start}\n${threatModelMarkdown(model as ThreatModel)}\n${end}`);
    },
  );
});

describe('Function: threatModelMarkdown', () => {
  it('lists what it reaches and stores, then one row per threat, and says why a category has none', () => {
    // Prepare
    const threat = { threat: 'A forged request arrives', control: 'A signature checked in constant time' };
    const model = ThreatModel.parse({
      reaches: ['The provider API over HTTPS'],
      stores: ['Nothing at rest at all'],
      threats: {
        spoofing: [threat, { ...threat, threat: 'A stolen token is used' }],
        tampering: [threat],
        repudiation: { notApplicable: 'It makes no change anywhere' },
        'information-disclosure': [threat],
        'denial-of-service': [threat],
        'elevation-of-privilege': [threat],
      },
    });

    // Act
    const markdown = threatModelMarkdown(model);

    // Assess
    expect(markdown.split('\n').slice(0, 4)).toEqual([
      '- **What it can reach:**',
      '  - The provider API over HTTPS',
      '- **What it stores:**',
      '  - Nothing at rest at all',
    ]);
    expect(markdown).toMatch(/\| Spoofing +\| A forged request arrives +\| A signature/);
    expect(markdown).toMatch(/\| Spoofing +\| A stolen token is used +\|/);
    expect(markdown).toMatch(/\| Repudiation +\| \(none\) It makes no change anywhere +\| +\|/);
    expect(
      markdown.split('\n').filter((line) => line.startsWith('| ') && !line.startsWith('| STRIDE')),
    ).toHaveLength(8);
  });

  it('refuses a model that skips a category or leaves a control empty, naming where', () => {
    // Act
    const result = ThreatModel.safeParse({
      reaches: ['The provider API over HTTPS'],
      stores: ['Nothing at rest at all'],
      threats: { spoofing: [{ threat: 'A forged request arrives', control: '' }] },
    });

    // Assess
    expect(result.success).toBe(false);
    const paths = result.error?.issues.map((issue) => issue.path.join('.'));
    expect(paths).toEqual(expect.arrayContaining(['threats.spoofing.0.control', 'threats.tampering']));
  });
});
