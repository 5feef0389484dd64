/**
 * Native bindings a function ships in its zip. DuckDB (`@duckdb/node-api`) loads its engine from a
 * platform package (`@duckdb/node-bindings-<platform>/duckdb.node` beside `libduckdb.so`), which esbuild
 * cannot inline. The DuckDB function runs on linux-x64 (glibc; `architecture: x86_64` in its function.yml):
 * that package's require stays in the bundle and the package is copied under the function's
 * `node_modules/`, where Node resolves it at run time; every other platform's branch becomes a module that
 * throws, so nothing else is needed. Nothing is downloaded at run time.
 */
import { access, copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Metafile, Plugin } from 'esbuild';

/** The platform package the Lambda build ships: the function's architecture is x86_64. */
export const DUCKDB_LAMBDA_BINDING = '@duckdb/node-bindings-linux-x64';
const FILES = ['package.json', 'duckdb.node', 'libduckdb.so', 'LICENSE'] as const;

/**
 * The esbuild plugin: the linux-x64 binding stays a runtime `require`, other platforms' throw.
 *
 * @example
 * ```ts
 * await build({ ...options, plugins: [duckdbBindings] });
 * ```
 */
export const duckdbBindings: Plugin = {
  name: 'duckdb-bindings',
  setup(build) {
    build.onResolve({ filter: /^@duckdb\/node-bindings-[a-z0-9-]+\/duckdb\.node$/ }, (args) =>
      args.path === `${DUCKDB_LAMBDA_BINDING}/duckdb.node`
        ? { path: args.path, external: true }
        : { path: args.path, namespace: 'duckdb-other-platform' },
    );
    build.onLoad({ filter: /.*/, namespace: 'duckdb-other-platform' }, (args) => ({
      contents: `throw new Error(${JSON.stringify(`${args.path} is not in this build: it ships ${DUCKDB_LAMBDA_BINDING} only`)});\n`,
      loader: 'js',
    }));
  },
};

/**
 * Copies the platform packages a bundle requires at run time into `<dir>/node_modules/`; answers their
 * names. Fails clearly when the package is not installed (a build on another platform: install it with
 * `npm install --no-save --os=linux --cpu=x64 --libc=glibc @duckdb/node-bindings-linux-x64@<version>`).
 *
 * @example
 * ```ts
 * await shipNativeBindings(result.metafile, '/repo', '/repo/.build/functions/duckdb');
 * ```
 */
export async function shipNativeBindings(
  metafile: Metafile | undefined,
  root: string,
  dir: string,
): Promise<string[]> {
  const wanted = `${DUCKDB_LAMBDA_BINDING}/duckdb.node`;
  const used = Object.values(metafile?.outputs ?? {}).some((output) =>
    output.imports.some((imported) => imported.external && imported.path === wanted),
  );
  if (!used) return [];
  const from = join(root, 'node_modules', DUCKDB_LAMBDA_BINDING);
  try {
    await access(join(from, 'duckdb.node'));
  } catch {
    throw new Error(
      `${DUCKDB_LAMBDA_BINDING} is not installed (a build off linux-x64): install it with npm install --no-save ` +
        `--os=linux --cpu=x64 --libc=glibc ${DUCKDB_LAMBDA_BINDING}@<the version @duckdb/node-bindings names>`,
    );
  }
  const to = join(dir, 'node_modules', DUCKDB_LAMBDA_BINDING);
  await mkdir(to, { recursive: true });
  for (const file of FILES) await copyFile(join(from, file), join(to, file));
  return [DUCKDB_LAMBDA_BINDING];
}
