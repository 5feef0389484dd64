/**
 * `npm run security [-- --only <check>,...] [--project <dir>]`: the security review the build runs (from
 * `npm test`, so `.ci/run` runs it on a clean clone). Each check prints one line, then its findings; any
 * finding fails the run.
 *
 * - `lockfile`: packages from https://registry.npmjs.org only, over https, with sha512 integrity (lockfile-lint);
 * - `secrets`: secretlint's recommended preset over the working tree;
 * - `history`: the same over every line every commit added;
 * - `licences`: production dependencies on the licence allow-list;
 * - `sbom`: the CycloneDX SBOM of the production tree, written to `<build dir>/sbom.cdx.json`;
 * - `audit`: `npm audit --omit=dev`, failing on high and critical advisories; skipped with a notice when the
 *   audit endpoint does not answer (offline), failed then too when `CIRCLE_AUDIT_REQUIRED=true`.
 *
 * `--project` points the checks at another folder (the tests plant findings in fixtures that way).
 */
import { relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runAudit } from './audit.ts';
import { licenceFindings } from './licences.ts';
import { lockfileFindings } from './lockfile.ts';
import { writeSbom } from './sbom.ts';
import { scanHistory, scanTree } from './secrets.ts';

const CHECKS = ['lockfile', 'secrets', 'history', 'licences', 'sbom', 'audit'] as const;
type Check = (typeof CHECKS)[number];

/** What one check concluded: `findings` fail the run, a `skipped` check does not. */
interface Outcome {
  readonly status: 'pass' | 'fail' | 'skip';
  readonly summary: string;
  readonly findings?: readonly string[];
}

const toolsRoot = resolve(import.meta.dirname, '..', '..');
const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    project: { type: 'string', default: toolsRoot },
  },
  strict: true,
});
const project = resolve(values.project);
const selected = (values.only?.split(',') ?? [...CHECKS]).map((name) => name.trim());
const unknown = selected.filter((name) => !(CHECKS as readonly string[]).includes(name));
if (unknown.length > 0) {
  console.error(`Unknown check ${unknown.join(', ')}; the checks are ${CHECKS.join(', ')}`);
  process.exit(2);
}

const plural = (count: number, noun: string): string => `${count} ${noun}${count === 1 ? '' : 's'}`;
const byFindings = (findings: readonly string[], clean: string, dirty: string): Outcome =>
  findings.length === 0 ? { status: 'pass', summary: clean } : { status: 'fail', summary: dirty, findings };

const run: Record<Check, () => Promise<Outcome>> = {
  lockfile: async () => {
    const { entries, findings } = await lockfileFindings(project, toolsRoot);
    return byFindings(
      findings,
      `${plural(entries, 'package')} from https://registry.npmjs.org/ over https, each with a sha512 hash`,
      `${plural(findings.length, 'finding')} in package-lock.json and .npmrc`,
    );
  },
  secrets: async () => {
    const found = await scanTree(project);
    return byFindings(
      found.map((finding) => `${finding.where}  ${finding.message} (${finding.rule})`),
      'no secret in the working tree',
      `${plural(found.length, 'secret')} in the working tree`,
    );
  },
  history: async () => {
    const found = await scanHistory(project);
    return byFindings(
      found.map((finding) => `${finding.where}  ${finding.message} (${finding.rule})`),
      'no secret in any commit',
      `${plural(found.length, 'secret')} in the history (rotate it; deleting the file does not remove it)`,
    );
  },
  licences: async () => {
    const { checked, findings } = await licenceFindings(project);
    return byFindings(
      findings,
      `${plural(checked, 'production package')}, every licence on the allow-list`,
      `${plural(findings.length, 'production package')} outside the licence allow-list (scripts/security/licences.ts)`,
    );
  },
  sbom: async () => {
    const target = resolve(project, process.env['CIRCLE_BUILD_DIR'] || '.build', 'sbom.cdx.json');
    const { components } = await writeSbom(project, target);
    return {
      status: 'pass',
      summary: `${relative(project, target)}: CycloneDX, ${plural(components, 'component')}`,
    };
  },
  audit: async () => {
    const outcome = await runAudit(project);
    if (outcome.status === 'failed')
      return { status: 'fail', summary: outcome.summary, findings: outcome.findings };
    return { status: outcome.status === 'passed' ? 'pass' : 'skip', summary: outcome.summary };
  },
};

const started = performance.now();
const outcomes = await Promise.all(
  selected.map(async (name) => {
    const begun = performance.now();
    const outcome = await run[name as Check]().catch(
      (error: unknown): Outcome => ({
        status: 'fail',
        summary: `could not run: ${error instanceof Error ? error.message : String(error)}`,
      }),
    );
    return { name, outcome, seconds: (performance.now() - begun) / 1000 };
  }),
);
console.log(`Security review of ${project}`);
for (const { name, outcome, seconds } of outcomes) {
  const mark = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' }[outcome.status];
  console.log(`  ${mark}  ${name.padEnd(8)}  ${outcome.summary} (${seconds.toFixed(1)} s)`);
  for (const finding of outcome.findings ?? []) console.log(`          - ${finding}`);
}
const failed = outcomes.filter(({ outcome }) => outcome.status === 'fail').map(({ name }) => name);
console.log(
  failed.length === 0
    ? `Security review passed in ${((performance.now() - started) / 1000).toFixed(1)} s`
    : `Security review failed: ${failed.join(', ')}`,
);
if (failed.length > 0) process.exitCode = 1;
