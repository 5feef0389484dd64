/** Where the local stack keeps its files: the repository root, the build output and the git-ignored state folder. */
import { isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (two levels above this file). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..');

/**
 * The git-ignored state folder: `CIRCLE_LOCAL_DIR` (absolute, or relative to the current folder) or `.local`
 * at the repository root. Holds the API key, the secret store, s3rver and PGlite data.
 *
 * @example
 * ```ts
 * const secretsFile = join(localDir(), 'secrets.json');
 * ```
 */
export function localDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env['CIRCLE_LOCAL_DIR'];
  if (configured === undefined || configured === '') return join(REPO_ROOT, '.local');
  return isAbsolute(configured) ? configured : resolve(configured);
}

/**
 * The build output the stack runs: `CIRCLE_BUILD_DIR` or `.build` at the repository root.
 *
 * @example
 * ```ts
 * const bundle = join(buildDir(), 'functions', 's3', 'index.mjs');
 * ```
 */
export function buildDir(env: NodeJS.ProcessEnv = process.env): string {
  const configured = env['CIRCLE_BUILD_DIR'];
  if (configured === undefined || configured === '') return join(REPO_ROOT, '.build');
  return isAbsolute(configured) ? configured : resolve(configured);
}

/** The file a running stack writes so the CLI scripts can find it. */
export function stackFile(dir: string = localDir()): string {
  return join(dir, 'stack.json');
}
