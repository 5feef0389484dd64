/**
 * The version policy of a connector, on top of the breaking-change rules in `compat.ts`: a breaking change
 * is a major version, any other contract change at least a minor one; a deprecated operation keeps
 * working for the rest of its major version and through the whole next one (one major version of
 * support), so it can be removed two majors after the one that deprecated it; every released version has
 * a CHANGELOG section. Before 1.0.0 (a scaffolded connector starts at 0.1.0) nothing is promised: a
 * breaking change takes a minor version and operations go without a deprecation period.
 */
import { type ConnectorContract, diffContracts } from './compat.ts';

export type Bump = 'major' | 'minor' | 'patch' | 'none' | 'backwards';

/**
 * `major.minor.patch` as numbers; anything else (pre-releases included) is refused.
 *
 * @example
 * ```ts
 * parseVersion('1.4.0'); // [1, 4, 0]
 * ```
 */
export function parseVersion(version: string): [number, number, number] {
  const match = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/.exec(version);
  if (match === null) throw new Error(`"${version}" is not a version of the form major.minor.patch`);
  return [Number(match[1]), Number(match[2]), Number(match[3])];
}

/**
 * Orders versions for `sort`.
 *
 * @example
 * ```ts
 * ['1.10.0', '1.9.0'].sort(compareVersions); // ['1.9.0', '1.10.0']
 * ```
 */
export function compareVersions(a: string, b: string): number {
  const [left, right] = [parseVersion(a), parseVersion(b)];
  for (let index = 0; index < 3; index += 1) {
    const difference = (left[index] as number) - (right[index] as number);
    if (difference !== 0) return difference;
  }
  return 0;
}

/**
 * The kind of step from one version to the next.
 *
 * @example
 * ```ts
 * bumpOf('1.4.2', '2.0.0'); // 'major'
 * ```
 */
export function bumpOf(from: string, to: string): Bump {
  const [a, b] = [parseVersion(from), parseVersion(to)];
  if (compareVersions(from, to) > 0) return 'backwards';
  if (b[0] > a[0]) return 'major';
  if (b[1] > a[1]) return 'minor';
  return b[2] > a[2] ? 'patch' : 'none';
}

/** The smallest version step the differences between two contracts allow. */
function neededBump(diff: { breaking: string[]; compatible: string[] }): Bump {
  if (diff.breaking.length > 0) return 'major';
  return diff.compatible.length > 0 ? 'minor' : 'none';
}

const RANK: Record<Bump, number> = { backwards: -1, none: 0, patch: 1, minor: 2, major: 3 };

/**
 * Operations removed in `next` before their support ran out: each must have been deprecated in a release
 * of a major version at least two below `next`'s (deprecated in 1.x, still there through 2.x, gone in 3.0.0).
 *
 * @example
 * ```ts
 * removalViolations([v1_3_deprecating_x], v2_0_without_x); // ['x: removed in 2.0.0, ...']
 * ```
 */
export function removalViolations(history: readonly ConnectorContract[], next: ConnectorContract): string[] {
  const last = history.at(-1);
  // No deprecation period before 1.0.0: nothing was promised yet.
  if (last === undefined || parseVersion(last.version)[0] === 0) return [];
  const [nextMajor] = parseVersion(next.version);
  const violations: string[] = [];
  for (const name of Object.keys(last.operations)) {
    if (next.operations[name] !== undefined) continue;
    const deprecatedIn = history
      .filter((release) => release.operations[name]?.deprecated !== undefined)
      .map((release) => parseVersion(release.version)[0]);
    if (deprecatedIn.length === 0) {
      const [lastMajor] = parseVersion(last.version);
      violations.push(
        `${name}: removed in ${next.version} without being deprecated first (mark it deprecated in a ` +
          `${lastMajor}.x release; it can then be removed in ${lastMajor + 2}.0.0)`,
      );
      continue;
    }
    const since = Math.min(...deprecatedIn);
    if (nextMajor < since + 2) {
      violations.push(
        `${name}: removed in ${next.version}, but deprecated in ${since}.x it keeps working through ` +
          `${since + 1}.x (one major version of support); remove it in ${since + 2}.0.0 at the earliest`,
      );
    }
  }
  return violations;
}

/**
 * Why `next` may not follow the releases in `history` (oldest first): a version that does not move
 * forward, a step too small for the differences, an operation removed too early. Empty when it may.
 *
 * @example
 * ```ts
 * releaseProblems([released100], current110); // [] or ['1.1.0 after 1.0.0 is a minor step, ...']
 * ```
 */
export function releaseProblems(history: readonly ConnectorContract[], next: ConnectorContract): string[] {
  const last = history.at(-1);
  if (last === undefined) return [];
  const diff = diffContracts(last, next);
  const bump = bumpOf(last.version, next.version);
  // Before 1.0.0 nothing is promised (semver): a breaking change there takes a minor version.
  const needed =
    neededBump(diff) === 'major' && parseVersion(last.version)[0] === 0 ? 'minor' : neededBump(diff);
  const problems: string[] = [];
  if (bump === 'backwards') problems.push(`${next.version} is lower than the released ${last.version}`);
  else if (RANK[bump] < RANK[needed]) {
    const what = diff.breaking.length > 0 ? 'breaks' : 'changes';
    const changes = diff.breaking.length > 0 ? diff.breaking : diff.compatible;
    problems.push(
      `${next.version} ${what} the contract of ${last.version} but is a ${bump === 'none' ? 'same-version' : bump} ` +
        `step; it needs a ${needed} version:\n${changes.map((change) => `  - ${change}`).join('\n')}`,
    );
  }
  problems.push(...removalViolations(history, next));
  return problems;
}

/**
 * The versions a CHANGELOG has a section for: `## 1.2.0`, `## [1.2.0]`, `## 1.2.0 - 2026-12-06`.
 *
 * @example
 * ```ts
 * changelogVersions('# Changelog\n\n## 1.0.0 - 2026-12-06\n'); // ['1.0.0']
 * ```
 */
export function changelogVersions(text: string): string[] {
  return [...text.matchAll(/^## \[?(\d+\.\d+\.\d+)\]?(?:\s|$)/gm)].map((match) => match[1] as string);
}

/**
 * Everything wrong with a connector's versions: each released step (`schema/<version>.json`, oldest first)
 * and the step from the last release to the code as it is now must follow the policy, the current version
 * must be released (its snapshot written by `npm run schemas:release`), and the CHANGELOG must have a
 * section for every released version.
 *
 * @example
 * ```ts
 * versionProblems(await readSnapshots(dir, 's3'), current, await readChangelog(dir)); // [] when all is well
 * ```
 */
export function versionProblems(
  history: readonly ConnectorContract[],
  current: ConnectorContract,
  changelog: string | undefined,
): string[] {
  const release = `npm run schemas:release -- --connector ${current.connector}`;
  if (history.length === 0)
    return [`no released schema in schema/: write ${current.version}'s with \`${release}\``];
  const problems: string[] = [];
  for (let index = 1; index < history.length; index += 1) {
    const released = history[index] as ConnectorContract;
    problems.push(
      ...releaseProblems(history.slice(0, index), released).map(
        (problem) => `schema/${released.version}.json: ${problem}`,
      ),
    );
  }
  problems.push(...releaseProblems(history, current));
  const last = history.at(-1) as ConnectorContract;
  if (compareVersions(current.version, last.version) > 0) {
    problems.push(
      `${current.version} is not released: write schema/${current.version}.json with \`${release}\``,
    );
  }
  if (changelog === undefined) problems.push('no CHANGELOG.md');
  else {
    const sections = new Set(changelogVersions(changelog));
    for (const version of new Set([...history.map((released) => released.version), current.version])) {
      if (!sections.has(version)) problems.push(`CHANGELOG.md has no "## ${version}" section`);
    }
  }
  return problems;
}
