import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { licenceAllowed, licenceFindings, productionPackages } from '../../scripts/security/licences.ts';
import { fixtureProject, runSecurity } from './support.ts';

let scratch: string;
let planted: string;
let clean: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'circle-licences-'));
  planted = join(scratch, 'planted');
  clean = join(scratch, 'clean');
  await fixtureProject(
    planted,
    {
      workspaces: ['packages/*'],
      dependencies: {
        'mit-ok': '1.0.0',
        'gpl-thing': '1.0.0',
        'dual-ok': '1.0.0',
        'both-bad': '1.0.0',
        silent: '1.0.0',
        own: '1.0.0',
        'gpl-linked': 'file:vendor/gpl-linked',
      },
      devDependencies: { 'dev-gpl': '1.0.0' },
    },
    [
      { name: 'mit-ok', license: 'MIT', dependencies: { 'agpl-nested': '2.0.0' } },
      { name: 'agpl-nested', version: '2.0.0', license: 'AGPL-3.0-only' },
      { name: 'gpl-thing', license: 'GPL-3.0-only' },
      { name: 'dual-ok', license: '(MIT OR GPL-3.0-only)' },
      { name: 'both-bad', license: 'MIT AND GPL-3.0-only' },
      { name: 'silent' },
      // A dev dependency ships in no bundle: its licence is not this check's business.
      { name: 'dev-gpl', license: 'GPL-3.0-only' },
    ],
  );
  // Our own workspace (no licence: private code) and a file: dependency from elsewhere, both linked.
  for (const [folder, manifest] of [
    ['packages/own', { name: 'own', version: '1.0.0', private: true }],
    ['vendor/gpl-linked', { name: 'gpl-linked', version: '0.1.0', license: 'GPL-2.0-only' }],
  ] as const) {
    await mkdir(join(planted, folder), { recursive: true });
    await writeFile(join(planted, folder, 'package.json'), JSON.stringify(manifest));
    await symlink(join('..', folder), join(planted, 'node_modules', manifest.name), 'dir');
  }
  await fixtureProject(
    clean,
    {
      dependencies: { 'mit-ok': '1.0.0', '@scope/legacy': '1.0.0' },
      devDependencies: { 'dev-gpl': '1.0.0' },
    },
    [
      { name: 'mit-ok', license: 'MIT' },
      { name: '@scope/legacy', license: { type: 'BSD-3-Clause' } },
      { name: 'dev-gpl', license: 'GPL-3.0-only' },
    ],
  );
}, 30_000);

afterAll(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

describe('Security check: licences', () => {
  it('fails the build naming each production package outside the allow-list, nested ones too', async () => {
    // Act
    const { status, output } = await runSecurity('licences', planted);
    // Assess
    expect(status).toBe(1);
    expect(output).toContain('FAIL  licences  5 production packages outside the licence allow-list');
    expect(output).toContain('- agpl-nested@2.0.0: AGPL-3.0-only (node_modules/agpl-nested)');
    expect(output).toContain('- both-bad@1.0.0: MIT AND GPL-3.0-only (node_modules/both-bad)');
    expect(output).toContain('- gpl-linked@0.1.0: GPL-2.0-only (node_modules/gpl-linked)');
    expect(output).toContain('- gpl-thing@1.0.0: GPL-3.0-only (node_modules/gpl-thing)');
    expect(output).toContain('- silent@1.0.0: no licence declared (node_modules/silent)');
    expect(output).not.toMatch(/dev-gpl|mit-ok|dual-ok|own@/);
  });

  it('passes a tree of allowed licences, reading the legacy { type } form, ignoring dev dependencies', async () => {
    // Act
    const { status, output } = await runSecurity('licences', clean);
    const packages = await productionPackages(clean);
    // Assess
    expect(output).toContain('PASS  licences  2 production packages, every licence on the allow-list');
    expect(status).toBe(0);
    expect(
      packages
        .filter((found) => !found.local)
        .map((found) => found.name)
        .sort(),
    ).toEqual(['@scope/legacy', 'mit-ok']);
    await expect(licenceFindings(clean)).resolves.toEqual({ checked: 2, findings: [] });
  });
});

describe('Function: licenceAllowed', () => {
  it.each([
    ['MIT', true],
    ['Apache-2.0', true],
    ['(MIT OR GPL-3.0-only)', true],
    ['(GPL-3.0-only OR (ISC AND BSD-2-Clause))', true],
    ['Apache-2.0 WITH LLVM-exception', true],
    ['MIT AND GPL-3.0-only', false],
    ['GPL-2.0+', false],
    ['SEE LICENSE IN LICENSE.md', false],
    ['UNLICENSED', false],
    ['(MIT', false],
    ['', false],
  ])('judges %j as %s', (expression, allowed) => {
    // Act & Assess
    expect(licenceAllowed(expression)).toBe(allowed);
  });
});
