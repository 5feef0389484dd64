/** Helpers for the security suites: the CLI the build runs, and fixture projects to plant findings in. */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { runCommand } from '../../scripts/security/exec.ts';

export const ROOT = resolve(import.meta.dirname, '../..');

/**
 * `npm run security -- --only <checks> --project <dir>`, as the build runs it, to its end. Asynchronous, so
 * a fake server in the test's own process can answer it.
 */
export async function runSecurity(
  checks: string,
  project: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ status: number; output: string }> {
  const result = await runCommand(
    process.execPath,
    [join(ROOT, 'scripts/security/run.ts'), '--only', checks, '--project', project],
    { cwd: ROOT, env: { ...process.env, ...env } },
  );
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

/** An installed package of a fixture project. */
export interface FixturePackage {
  readonly name: string;
  readonly version?: string;
  readonly license?: unknown;
  readonly dependencies?: Record<string, string>;
}

/**
 * A project with a package.json and an installed `node_modules` (no registry involved): `dependencies` and
 * `devDependencies` name top-level packages, `packages` lists every installed one.
 */
export async function fixtureProject(
  dir: string,
  manifest: {
    workspaces?: string[];
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  },
  packages: readonly FixturePackage[],
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'fixture-app', version: '1.0.0', private: true, ...manifest }, null, 2),
  );
  for (const found of packages) {
    const folder = join(dir, 'node_modules', found.name);
    await mkdir(folder, { recursive: true });
    const { license, dependencies } = found;
    await writeFile(
      join(folder, 'package.json'),
      JSON.stringify({ name: found.name, version: found.version ?? '1.0.0', license, dependencies }),
    );
  }
}
