/**
 * Lockfile policy: every package comes from https://registry.npmjs.org over https with a sha512 integrity
 * hash. `lockfile-lint` checks the `resolved` URLs (host, scheme, name) and the hash type; it passes an
 * entry without a hash or without a URL, so this module also requires the hash of every installed entry,
 * and requires the project `.npmrc` to pin the registry: npm leaves `resolved` out of registry entries when
 * `omit-lockfile-registry-resolved` is set (it is on the machines this repository is built on), and such an
 * entry is fetched from whatever registry npm is configured with. A workspace's entry must record the version
 * its own package.json declares: a stale one means the lockfile was not regenerated after a release.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './exec.ts';

/** The one registry packages may come from. */
export const REGISTRY = 'https://registry.npmjs.org/';

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  inBundle?: boolean;
}

/** Findings of `lockfile-lint --format plain`: one per `detected ...` paragraph, on one line. */
function lintFindings(output: string): string[] {
  return output
    .split(/\n(?=detected )/)
    .map((block) => block.trim())
    .filter((block) => block.startsWith('detected '))
    .map((block) =>
      block
        .split('\n')
        .filter((line) => line.trim() !== '' && !line.startsWith('Error:'))
        .map((line) => line.trim())
        .join('; ')
        // lockfile-lint keys entries `name@version-<sha1 of the entry>`: the name and version are enough.
        .replace(/(@\d[^\s;]*?)-[0-9a-f]{40}\b/, '$1'),
    );
}

/** Workspaces (entries outside node_modules, the root aside) whose recorded version is not their package.json's. */
async function staleWorkspaces(project: string, packages: Record<string, LockEntry>): Promise<string[]> {
  const findings: string[] = [];
  for (const [path, entry] of Object.entries(packages)) {
    if (path === '' || path.includes('node_modules/')) continue;
    const manifest = await readFile(join(project, path, 'package.json'), 'utf8').catch(() => undefined);
    if (manifest === undefined) continue; // npm ci names a missing workspace itself
    const declared = (JSON.parse(manifest) as { version?: string }).version;
    if (declared !== entry.version) {
      findings.push(
        `${path}: package-lock.json records version ${entry.version}, its package.json ${declared} (npm install --package-lock-only)`,
      );
    }
  }
  return findings;
}

/** Lines of `.npmrc` that set a registry, with the value. */
function registrySettings(npmrc: string): { key: string; value: string }[] {
  return npmrc
    .split('\n')
    .map((line) => /^\s*((?:@[^:\s]+:)?registry)\s*=\s*(\S+)\s*$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ key: match[1] as string, value: match[2] as string }));
}

/**
 * Checks `<project>/package-lock.json` and `<project>/.npmrc` with lockfile-lint from `toolsRoot` (the
 * repository, whose `node_modules` holds it). Each finding names the package or the setting.
 *
 * @example
 * ```ts
 * const { entries, findings } = await lockfileFindings(process.cwd(), process.cwd());
 * ```
 */
export async function lockfileFindings(
  project: string,
  toolsRoot: string,
): Promise<{ entries: number; findings: string[] }> {
  const file = join(project, 'package-lock.json');
  const lock = JSON.parse(await readFile(file, 'utf8')) as {
    lockfileVersion?: number;
    packages?: Record<string, LockEntry>;
  };
  const findings: string[] = [];
  if ((lock.lockfileVersion ?? 1) < 2 || lock.packages === undefined) {
    findings.push(
      `package-lock.json has lockfileVersion ${lock.lockfileVersion}: npm 7+ (version 2 or 3) is required`,
    );
  }
  const lint = await runCommand(
    process.execPath,
    [
      join(toolsRoot, 'node_modules', 'lockfile-lint', 'bin', 'lockfile-lint.js'),
      ...['--path', file, '--type', 'npm', '--allowed-hosts', 'npm', '--empty-hostname', 'false'],
      ...['--validate-https', '--validate-integrity', '--validate-package-names', '--format', 'plain'],
    ],
    { cwd: project },
  );
  if (lint.status !== 0) {
    const found = lintFindings(`${lint.stdout}\n${lint.stderr}`);
    findings.push(
      ...(found.length > 0 ? found : [`lockfile-lint failed: ${lint.stderr.trim().slice(0, 500)}`]),
    );
  }
  const installed = Object.entries(lock.packages ?? {}).filter(
    ([path, entry]) => path.includes('node_modules/') && entry.link !== true && entry.inBundle !== true,
  );
  for (const [path, entry] of installed) {
    if (entry.integrity === undefined) findings.push(`${path}@${entry.version}: no integrity hash`);
  }
  findings.push(...(await staleWorkspaces(project, lock.packages ?? {})));
  const npmrc = await readFile(join(project, '.npmrc'), 'utf8').catch(() => '');
  const settings = registrySettings(npmrc);
  if (
    !settings.some((setting) => setting.key === 'registry' && setting.value.replace(/\/?$/, '/') === REGISTRY)
  ) {
    findings.push(`.npmrc does not pin registry=${REGISTRY} (entries without a resolved URL come from it)`);
  }
  for (const setting of settings.filter((candidate) => candidate.value.replace(/\/?$/, '/') !== REGISTRY)) {
    findings.push(`.npmrc sets ${setting.key}=${setting.value}: only ${REGISTRY} is allowed`);
  }
  return { entries: installed.length, findings };
}
