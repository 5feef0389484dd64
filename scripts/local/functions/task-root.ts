/**
 * Lays out a function's task root the way Lambda resolves modules: the built bundle, and beside it a
 * `node_modules` holding only the layer's packages (`@circle-core/core`, `zod`) and the runtime's AWS SDK
 * (`@aws-sdk/*`, linked one by one from the repository). Everything lives outside the repository, so a
 * package neither the layer nor the runtime provides fails locally as it would in AWS.
 */
import {
  access,
  cp,
  lstat,
  mkdir,
  readdir,
  readFile,
  rm,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Links every package of one folder (`node_modules` or a scope in it) into `target`. */
async function linkEntries(source: string, target: string): Promise<void> {
  // Never write through a link: a scope folder that is a symlink (into the repository) is replaced, not entered.
  if ((await lstat(target).catch(() => undefined))?.isSymbolicLink()) await unlink(target);
  await mkdir(target, { recursive: true });
  for (const entry of await readdir(source, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    if (entry.name.startsWith('@')) {
      await linkEntries(join(source, entry.name), join(target, entry.name));
      continue;
    }
    await rm(join(target, entry.name), { recursive: true, force: true });
    await symlink(join(source, entry.name), join(target, entry.name), 'dir');
  }
}

/**
 * Copies a folder and points the source maps in the copy back at the original sources, so stack traces
 * name the TypeScript files of the repository.
 */
async function copyWithSourceMaps(source: string, target: string): Promise<void> {
  await cp(source, target, { recursive: true, force: true });
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.name.endsWith('.map')) {
        const map = JSON.parse(await readFile(path, 'utf8')) as { sourceRoot?: string };
        if (map.sourceRoot === undefined || map.sourceRoot === '') {
          const original = join(source, relative(target, dirname(path)));
          map.sourceRoot = `${pathToFileURL(original).href}/`;
          await writeFile(path, JSON.stringify(map));
        }
      }
    }
  };
  await walk(target);
}

/**
 * Lays out what Lambda provides beside a function, once per stack: `<root>/opt/nodejs/node_modules` with a
 * copy of the layer's packages (a copy, so their own imports resolve from here and not from the build
 * folder) and the runtime's AWS SDK linked in beside them. Returns that `node_modules` folder.
 *
 * @example
 * ```ts
 * const modules = await prepareRuntime({ buildDir: '.build', root: '/tmp/circle-local', repoRoot: '.' });
 * ```
 */
export async function prepareRuntime(options: {
  buildDir: string;
  root: string;
  repoRoot: string;
}): Promise<string> {
  const layer = join(options.buildDir, 'layer', 'nodejs', 'node_modules');
  if (!(await exists(layer))) {
    throw new Error(`no layer build at ${layer}: run \`npm run build\` (or start without --no-build)`);
  }
  const modules = join(options.root, 'opt', 'nodejs', 'node_modules');
  await rm(modules, { recursive: true, force: true });
  await mkdir(modules, { recursive: true });
  // Lambda's order: the layer shadows the runtime's SDK, so link the SDK first and let the layer replace.
  const sdk = join(options.repoRoot, 'node_modules', '@aws-sdk');
  if (await exists(sdk)) await linkEntries(sdk, join(modules, '@aws-sdk'));
  for (const entry of await readdir(layer, { withFileTypes: true })) {
    if (entry.name.startsWith('.')) continue;
    await copyWithSourceMaps(join(layer, entry.name), join(modules, entry.name));
  }
  return modules;
}

/**
 * Copies `<buildDir>/functions/<key>/` into `<target>` (the task root) with a `node_modules` beside it
 * pointing at the runtime folder from {@link prepareRuntime}. Throws naming the missing build.
 *
 * @example
 * ```ts
 * await prepareTaskRoot({ buildDir: '.build', key: 's3', target: '/tmp/circle-local/s3', modules });
 * ```
 */
export async function prepareTaskRoot(options: {
  buildDir: string;
  key: string;
  target: string;
  modules: string;
}): Promise<void> {
  const bundle = join(options.buildDir, 'functions', options.key);
  if (!(await exists(join(bundle, 'index.mjs')))) {
    throw new Error(
      `no build for function ${options.key} at ${bundle}: run \`npm run build\` (or start without --no-build)`,
    );
  }
  await rm(options.target, { recursive: true, force: true });
  await mkdir(options.target, { recursive: true });
  await copyWithSourceMaps(bundle, options.target);
  // A function shipping a native engine (DuckDB) has node_modules of its own: the runtime's packages join it.
  const own = join(options.target, 'node_modules');
  if (await exists(own)) await linkEntries(options.modules, own);
  else await symlink(options.modules, own, 'dir');
}
