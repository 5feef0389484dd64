import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSecurity } from './support.ts';

const INTEGRITY = `sha512-${Buffer.alloc(64, 7).toString('base64')}`;
const PIN = 'registry=https://registry.npmjs.org/\n';

/** A lockfile (version 3) with these installed entries besides the root and a workspace link. */
function lockfile(entries: Record<string, Record<string, unknown>>): string {
  return JSON.stringify({
    name: 'fixture-app',
    version: '1.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'fixture-app', version: '1.0.0', workspaces: ['lib'] },
      lib: { name: '@fixture/lib', version: '1.0.0' },
      'node_modules/@fixture/lib': { resolved: 'lib', link: true },
      ...entries,
    },
  });
}

let scratch: string;

/** A project with the lockfile, `.npmrc` and, when given, the workspace `lib` at that version. */
async function project(name: string, lock: string, npmrc: string, libVersion?: string): Promise<string> {
  const dir = join(scratch, name);
  await mkdir(join(dir, 'lib'), { recursive: true });
  await writeFile(join(dir, 'package-lock.json'), lock);
  await writeFile(join(dir, '.npmrc'), npmrc);
  if (libVersion !== undefined) {
    await writeFile(
      join(dir, 'lib', 'package.json'),
      JSON.stringify({ name: '@fixture/lib', version: libVersion }),
    );
  }
  return dir;
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'circle-lockfile-'));
});

afterAll(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

describe('Security check: lockfile', () => {
  it('passes registry entries with integrity, with or without their resolved URL, when .npmrc pins the registry', async () => {
    // Prepare
    const dir = await project(
      'clean',
      lockfile({
        'node_modules/pg': {
          version: '8.23.1',
          resolved: 'https://registry.npmjs.org/pg/-/pg-8.23.1.tgz',
          integrity: INTEGRITY,
        },
        // npm leaves `resolved` out when omit-lockfile-registry-resolved is set: the pinned registry serves it.
        'node_modules/zod': { version: '4.6.7', integrity: INTEGRITY },
        'node_modules/bundler/node_modules/inside': { version: '1.0.0', inBundle: true },
      }),
      `legacy-peer-deps=true\n${PIN}`,
      '1.0.0',
    );
    // Act
    const { status, output } = await runSecurity('lockfile', dir);
    // Assess
    expect(output).toContain('PASS  lockfile  2 packages from https://registry.npmjs.org/ over https');
    expect(status).toBe(0);
  });

  it('fails the build on an entry from another registry, over http, with a weak or no hash, or an unpinned registry', async () => {
    // Prepare
    const dir = await project(
      'planted',
      lockfile({
        'node_modules/evil': {
          version: '1.0.0',
          resolved: 'https://registry.evil.example/evil/-/evil-1.0.0.tgz',
          integrity: INTEGRITY,
        },
        'node_modules/plain': {
          version: '1.0.0',
          resolved: 'http://registry.npmjs.org/plain/-/plain-1.0.0.tgz',
          integrity: INTEGRITY,
        },
        'node_modules/weak': {
          version: '1.0.0',
          resolved: 'https://registry.npmjs.org/weak/-/weak-1.0.0.tgz',
          integrity: 'sha1-AAAAAAAAAAAAAAAAAAAAAAAAAAA=',
        },
        'node_modules/unhashed': { version: '2.0.0' },
      }),
      '@corp:registry=https://npm.corp.example/\n',
    );
    // Act
    const { status, output } = await runSecurity('lockfile', dir);
    // Assess
    expect(status).toBe(1);
    expect(output).toContain('FAIL  lockfile  6 findings in package-lock.json and .npmrc');
    expect(output).toMatch(
      /- detected invalid host\(s\) for package: evil@1\.0\.0.*actual: registry\.evil\.example/,
    );
    expect(output).toMatch(/- detected invalid protocol for package: plain@1\.0\.0.*actual: http:/);
    expect(output).toMatch(
      /- detected invalid integrity hash type for package: weak@1\.0\.0; expected: sha512; actual: sha1-A+=$/m,
    );
    expect(output).toContain('- node_modules/unhashed@2.0.0: no integrity hash');
    expect(output).toContain(
      '- .npmrc does not pin registry=https://registry.npmjs.org/ (entries without a resolved URL come from it)',
    );
    expect(output).toContain(
      '- .npmrc sets @corp:registry=https://npm.corp.example/: only https://registry.npmjs.org/',
    );
  });

  it('fails the build when a workspace is released but the lockfile still records its old version', async () => {
    // Prepare
    const dir = await project('stale', lockfile({}), PIN, '1.1.0');
    // Act
    const { status, output } = await runSecurity('lockfile', dir);
    // Assess
    expect(status).toBe(1);
    expect(output).toContain(
      '- lib: package-lock.json records version 1.0.0, its package.json 1.1.0 (npm install --package-lock-only)',
    );
  });
});
