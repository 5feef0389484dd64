/**
 * Every connector's contract as the code defines it now, against its released ones
 * (`functions/<category>/<name>/schema/<version>.json`): a breaking change needs a major version, any other
 * change a minor one, a deprecated operation stays for one more major version, every version has a
 * CHANGELOG section. `npm run schemas:release` writes the snapshot of a new version.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConnectorContract, JsonSchema } from '../../scripts/versions/compat.ts';
import {
  type ConnectorVersions,
  loadConnectors,
  readChangelog,
  readSnapshots,
  snapshotFile,
  writeSnapshot,
} from '../../scripts/versions/contracts.ts';
import { versionProblems } from '../../scripts/versions/policy.ts';

const ROOT = resolve(import.meta.dirname, '../..');

let connectors: ConnectorVersions[] = [];
beforeAll(async () => {
  connectors = await loadConnectors(ROOT);
}, 60_000);

describe('Connector versions', () => {
  it('finds the connectors (each with operations) to check', () => {
    // Assess
    expect(connectors.map((connector) => connector.name)).toEqual(
      expect.arrayContaining(['github', 'postgres', 's3', 'slack']),
    );
    for (const { current } of connectors) expect(Object.keys(current.operations).length).toBeGreaterThan(0);
  });

  it('has every connector released at its current version, following the policy, with a changelog', async () => {
    // Act
    const problems: string[] = [];
    for (const { name, dir, folder, current } of connectors) {
      const found = versionProblems(await readSnapshots(dir, name), current, await readChangelog(dir));
      problems.push(...found.map((problem) => `${folder}: ${problem}`));
    }
    // Assess
    expect(problems).toEqual([]);
  });

  it('would fail s3 if it dropped an output field without a major version (the check can fail)', async () => {
    // Prepare: the code as it would be after removing `etag` from put-object's output.
    const s3 = connectors.find((connector) => connector.name === 's3') as ConnectorVersions;
    const history = await readSnapshots(s3.dir, 's3');
    const putObject = s3.current.operations['put-object'];
    const output = putObject?.output as { properties: Record<string, JsonSchema> };
    expect(Object.keys(output.properties)).toContain('etag');
    const { etag: _dropped, ...kept } = output.properties;
    const broken: ConnectorContract = {
      ...s3.current,
      operations: {
        ...s3.current.operations,
        'put-object': {
          ...(putObject as NonNullable<typeof putObject>),
          output: { ...output, properties: kept },
        },
      },
    };
    // Act: against the last release, whatever s3's version is now (1.1.0 added chunk-object).
    const current = s3.current.version;
    const [major0 = 0, minor0 = 0] = current.split('.').map(Number);
    const nextMinor = `${major0}.${minor0 + 1}.0`;
    const nextMajor = `${major0 + 1}.0.0`;
    const released = history.map((contract) => `## ${contract.version}\n`).join('');
    const sameVersion = versionProblems(history, broken, released);
    const minor = versionProblems(history, { ...broken, version: nextMinor }, `${released}## ${nextMinor}\n`);
    const major = versionProblems(history, { ...broken, version: nextMajor }, `${released}## ${nextMajor}\n`);
    // Assess
    const escaped = current.replaceAll('.', '\\.');
    expect(sameVersion[0]).toMatch(
      new RegExp(
        `^${escaped} breaks the contract of ${escaped} .*\\n {2}- put-object output /etag: output field removed$`,
      ),
    );
    expect(minor[0]).toMatch(
      new RegExp(
        `^${nextMinor.replaceAll('.', '\\.')} breaks the contract of ${escaped} but is a minor step; it needs a major version`,
      ),
    );
    expect(major).toEqual([
      `${nextMajor} is not released: write schema/${nextMajor}.json with \`npm run schemas:release -- --connector s3\``,
    ]);
  });
});

describe('Function: writeSnapshot / readSnapshots', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'circle-versions-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('writes schema/<version>.json laid out by Biome and reads snapshots back oldest first', async () => {
    // Prepare
    const dir = join(scratch, 'demo');
    const contract = (version: string): ConnectorContract => ({
      connector: 'demo',
      version,
      operations: { 'get-thing': { effect: 'read', input: { type: 'object' }, output: { type: 'object' } } },
    });
    // Act
    await writeSnapshot(ROOT, dir, contract('1.10.0'));
    await writeSnapshot(ROOT, dir, contract('1.9.0'));
    const history = await readSnapshots(dir, 'demo');
    // Assess
    expect(history.map((released) => released.version)).toEqual(['1.9.0', '1.10.0']);
    expect(await readFile(snapshotFile(dir, '1.9.0'), 'utf8')).toMatch(/^{\n {2}"connector": "demo",\n/);
  });

  it('refuses a snapshot whose file name is not its version', async () => {
    // Prepare
    const dir = join(scratch, 'renamed');
    await mkdir(join(dir, 'schema'), { recursive: true });
    await writeFile(
      join(dir, 'schema', '2.0.0.json'),
      JSON.stringify({ connector: 'renamed', version: '1.0.0' }),
    );
    // Act & Assess
    await expect(readSnapshots(dir, 'renamed')).rejects.toThrow(
      /holds renamed 1\.0\.0, not renamed 2\.0\.0\.json/,
    );
  });
});
