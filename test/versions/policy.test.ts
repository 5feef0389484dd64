import { describe, expect, it } from 'vitest';
import type { ConnectorContract, OperationContract } from '../../scripts/versions/compat.ts';
import {
  bumpOf,
  changelogVersions,
  compareVersions,
  parseVersion,
  releaseProblems,
  removalViolations,
  versionProblems,
} from '../../scripts/versions/policy.ts';

const strict = (properties: Record<string, unknown>, required: string[] = Object.keys(properties)) => ({
  type: 'object',
  properties,
  required,
  additionalProperties: false,
});
const getThing: OperationContract = {
  effect: 'read',
  input: strict({ id: { type: 'string' } }),
  output: strict({ id: { type: 'string' } }),
};
const deprecated: OperationContract = { ...getThing, deprecated: { since: '2026-12-01', use: 'read-thing' } };
const release = (version: string, operations: Record<string, OperationContract>): ConnectorContract => ({
  connector: 'demo',
  version,
  operations,
});
const CHANGELOG = '# Changelog\n\n## 1.1.0 - 2026-12-06\n\nAdded.\n\n## [1.0.0] - 2026-11-01\n\nFirst.\n';

describe('Function: parseVersion / compareVersions / bumpOf', () => {
  it('reads major.minor.patch and refuses anything else', () => {
    // Act & Assess
    expect(parseVersion('1.10.2')).toEqual([1, 10, 2]);
    expect(() => parseVersion('1.0')).toThrow('"1.0" is not a version of the form major.minor.patch');
    expect(() => parseVersion('2.0.0-beta.1')).toThrow('not a version');
    expect(['1.10.0', '1.9.0', '0.9.9'].sort(compareVersions)).toEqual(['0.9.9', '1.9.0', '1.10.0']);
  });

  it('names the step between two versions', () => {
    // Act & Assess
    expect(bumpOf('1.4.2', '2.0.0')).toBe('major');
    expect(bumpOf('1.4.2', '1.5.0')).toBe('minor');
    expect(bumpOf('1.4.2', '1.4.3')).toBe('patch');
    expect(bumpOf('1.4.2', '1.4.2')).toBe('none');
    expect(bumpOf('1.4.2', '1.3.9')).toBe('backwards');
  });
});

describe('Function: releaseProblems', () => {
  const v100 = release('1.0.0', { 'get-thing': getThing });
  const withoutId = { ...getThing, output: strict({}) };

  it('refuses a breaking change without a major version, listing what breaks', () => {
    // Act
    const problems = releaseProblems([v100], release('1.1.0', { 'get-thing': withoutId }));
    // Assess
    expect(problems).toEqual([
      '1.1.0 breaks the contract of 1.0.0 but is a minor step; it needs a major version:\n' +
        '  - get-thing output /id: output field removed',
    ]);
  });

  it('accepts the same breaking change as a major version', () => {
    // Act & Assess
    expect(releaseProblems([v100], release('2.0.0', { 'get-thing': withoutId }))).toEqual([]);
  });

  it('asks for a minor version for a compatible change, and for nothing when the contract is the same', () => {
    // Prepare
    const added = { 'get-thing': getThing, 'read-thing': getThing };
    // Act & Assess
    expect(releaseProblems([v100], release('1.0.1', added))).toEqual([
      '1.0.1 changes the contract of 1.0.0 but is a patch step; it needs a minor version:\n' +
        '  - read-thing: operation added',
    ]);
    expect(releaseProblems([v100], release('1.0.0', added))[0]).toMatch(
      /^1\.0\.0 changes .* same-version step/,
    );
    expect(releaseProblems([v100], release('1.1.0', added))).toEqual([]);
    expect(releaseProblems([v100], release('1.0.0', { 'get-thing': getThing }))).toEqual([]);
    expect(releaseProblems([v100], release('1.0.1', { 'get-thing': getThing }))).toEqual([]);
  });

  it('asks only for a minor version for a breaking change before 1.0.0, and no deprecation period', () => {
    // Prepare
    const v010 = release('0.1.0', { 'get-thing': getThing, 'old-thing': getThing });
    const next = (version: string) => release(version, { 'get-thing': withoutId });
    // Act & Assess
    expect(releaseProblems([v010], next('0.1.1'))[0]).toMatch(
      /^0\.1\.1 breaks .* patch step; it needs a minor version/,
    );
    expect(releaseProblems([v010], next('0.2.0'))).toEqual([]);
    expect(releaseProblems([v010], next('1.0.0'))).toEqual([]);
  });

  it('refuses a version lower than the last release', () => {
    // Act & Assess
    expect(releaseProblems([v100], release('0.9.0', { 'get-thing': getThing }))).toEqual([
      '0.9.0 is lower than the released 1.0.0',
    ]);
  });
});

describe('Function: removalViolations (one major version of support)', () => {
  const v100 = release('1.0.0', { 'get-thing': getThing, 'read-thing': getThing });
  const v130 = release('1.3.0', { 'get-thing': deprecated, 'read-thing': getThing });
  const v200 = release('2.0.0', { 'get-thing': deprecated, 'read-thing': getThing });

  it('refuses removing an operation that was never deprecated, even in a major version', () => {
    // Act & Assess
    expect(removalViolations([v100], release('2.0.0', { 'read-thing': getThing }))).toEqual([
      'get-thing: removed in 2.0.0 without being deprecated first (mark it deprecated in a 1.x release; ' +
        'it can then be removed in 3.0.0)',
    ]);
  });

  it('refuses removing an operation deprecated in 1.x before 3.0.0', () => {
    // Act & Assess
    expect(removalViolations([v100, v130], release('2.0.0', { 'read-thing': getThing }))).toEqual([
      'get-thing: removed in 2.0.0, but deprecated in 1.x it keeps working through 2.x (one major version ' +
        'of support); remove it in 3.0.0 at the earliest',
    ]);
  });

  it('allows the removal two majors after the deprecation', () => {
    // Act & Assess
    expect(removalViolations([v100, v130, v200], release('3.0.0', { 'read-thing': getThing }))).toEqual([]);
    expect(releaseProblems([v100, v130, v200], release('3.0.0', { 'read-thing': getThing }))).toEqual([]);
  });
});

describe('Function: versionProblems', () => {
  const v100 = release('1.0.0', { 'get-thing': getThing });
  const v110 = release('1.1.0', { 'get-thing': getThing, 'read-thing': getThing });

  it('finds nothing when the code is the last release and the changelog has every version', () => {
    // Act & Assess
    expect(versionProblems([v100, v110], v110, CHANGELOG)).toEqual([]);
  });

  it('asks for a first snapshot when there is none', () => {
    // Act & Assess
    expect(versionProblems([], v100, CHANGELOG)).toEqual([
      "no released schema in schema/: write 1.0.0's with `npm run schemas:release -- --connector demo`",
    ]);
  });

  it('asks for the snapshot of a bumped version and its changelog section', () => {
    // Act
    const problems = versionProblems([v100, v110], release('1.2.0', v110.operations), CHANGELOG);
    // Assess
    expect(problems).toEqual([
      '1.2.0 is not released: write schema/1.2.0.json with `npm run schemas:release -- --connector demo`',
      'CHANGELOG.md has no "## 1.2.0" section',
    ]);
  });

  it('checks every released step, not only the last one', () => {
    // Prepare: 1.1.0 was released dropping an output field.
    const broken = release('1.1.0', { 'get-thing': { ...getThing, output: strict({}) } });
    // Act
    const problems = versionProblems([v100, broken], broken, CHANGELOG);
    // Assess
    expect(problems).toEqual([
      'schema/1.1.0.json: 1.1.0 breaks the contract of 1.0.0 but is a minor step; it needs a major version:\n' +
        '  - get-thing output /id: output field removed',
    ]);
  });

  it('reports a change since the release without a version bump, and a missing changelog', () => {
    // Act & Assess
    expect(versionProblems([v100], release('1.0.0', v110.operations), undefined)).toEqual([
      '1.0.0 changes the contract of 1.0.0 but is a same-version step; it needs a minor version:\n' +
        '  - read-thing: operation added',
      'no CHANGELOG.md',
    ]);
  });
});

describe('Function: changelogVersions', () => {
  it('reads level-2 headings with or without brackets and a date', () => {
    // Act & Assess
    expect(changelogVersions(CHANGELOG)).toEqual(['1.1.0', '1.0.0']);
    expect(changelogVersions('### 1.0.0\n## Unreleased\n')).toEqual([]);
  });
});
