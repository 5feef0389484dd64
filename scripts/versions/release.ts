/**
 * `npm run schemas:release [-- --connector <name>] [--amend]`: records each connector's contract at its
 * current version in `functions/<category>/<name>/schema/<version>.json`, the snapshot `test/versions`
 * compares the code with. It refuses a version that is too small a step for the changes since the last
 * release (a breaking change needs a major version), an operation removed before its deprecation ran out,
 * and a version without a CHANGELOG section. A version already released is frozen: `--amend` rewrites it,
 * for a version that has not shipped yet.
 */
import { relative, resolve } from 'node:path';
import { isDeepStrictEqual, parseArgs } from 'node:util';
import { loadConnectors, readChangelog, readSnapshots, writeSnapshot } from './contracts.ts';
import { changelogVersions, releaseProblems } from './policy.ts';

const root = resolve(import.meta.dirname, '..', '..');
const { values } = parseArgs({
  options: {
    connector: { type: 'string', multiple: true, short: 'c' },
    amend: { type: 'boolean', default: false },
  },
  strict: true,
});

const connectors = (await loadConnectors(root)).filter(
  (connector) => values.connector === undefined || values.connector.includes(connector.name),
);
const unknown = (values.connector ?? []).filter((name) => !connectors.some((c) => c.name === name));
if (unknown.length > 0) {
  console.error(`No connector named ${unknown.join(', ')}`);
  process.exitCode = 1;
}

for (const { name, dir, current } of connectors) {
  const label = `${name} ${current.version}`;
  const history = await readSnapshots(dir, name);
  const released = history.find((contract) => contract.version === current.version);
  if (released !== undefined && isDeepStrictEqual(released, current)) {
    console.log(`${label}: released, schema unchanged`);
    continue;
  }
  if (released !== undefined && !values.amend) {
    console.error(
      `${label}: this version is released with another contract. Bump the version in index.ts (and the ` +
        'CHANGELOG), or pass --amend if it has not shipped yet.',
    );
    process.exitCode = 1;
    continue;
  }
  const before = history.filter((contract) => contract.version !== current.version);
  const problems = releaseProblems(before, current);
  const changelog = await readChangelog(dir);
  if (changelog === undefined || !changelogVersions(changelog).includes(current.version)) {
    problems.push(`its CHANGELOG.md has no "## ${current.version}" section`);
  }
  if (problems.length > 0) {
    console.error(`${label}: not released\n${problems.map((problem) => `  ${problem}`).join('\n')}`);
    process.exitCode = 1;
    continue;
  }
  const file = await writeSnapshot(root, dir, current);
  console.log(`${label}: wrote ${relative(root, file)}${released === undefined ? '' : ' (amended)'}`);
}
