/**
 * Lays out a function's task root the way Lambda resolves modules: the built bundle, and beside it a
 * `node_modules` holding only the layer's packages (`@circle-core/core`, `zod`) and the runtime's AWS SDK
 * (`@aws-sdk/*`, linked one by one from the repository). The folder lives outside the repository, so a
 * package neither the layer nor the runtime provides fails locally as it would in AWS.
 */
import { access, cp, mkdir, readdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';

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
 * Copies `<buildDir>/functions/<key>/` into `<target>` and links the layer and the runtime SDK beside it.
 * Throws a message naming the missing build when there is none.
 *
 * @example
 * ```ts
 * await prepareTaskRoot({ buildDir: '.build', key: 's3', target: '/tmp/circle-local/s3', repoRoot: '.' });
 * ```
 */
export async function prepareTaskRoot(options: {
  buildDir: string;
  key: string;
  target: string;
  repoRoot: string;
}): Promise<void> {
  const bundle = join(options.buildDir, 'functions', options.key);
  if (!(await exists(join(bundle, 'index.mjs')))) {
    throw new Error(
      `no build for function ${options.key} at ${bundle}: run \`npm run build\` (or start without --no-build)`,
    );
  }
  const layer = join(options.buildDir, 'layer', 'nodejs', 'node_modules');
  if (!(await exists(layer))) {
    throw new Error(`no layer build at ${layer}: run \`npm run build\``);
  }
  await rm(options.target, { recursive: true, force: true });
  await mkdir(options.target, { recursive: true });
  await cp(bundle, options.target, { recursive: true });
  const modules = join(options.target, 'node_modules');
  await mkdir(modules, { recursive: true });
  // Lambda's order: the layer shadows the runtime's SDK, so link the SDK first and let the layer replace.
  const sdk = join(options.repoRoot, 'node_modules', '@aws-sdk');
  if (await exists(sdk)) await linkEntries(sdk, join(modules, '@aws-sdk'));
  await linkEntries(layer, modules);
}
