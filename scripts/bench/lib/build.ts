/**
 * Builds what the benchmark runs, the way production builds it: the core layer with `bundleLayer`, the
 * core variants with `bundleFunction` (core, zod and the SDK external, resolved at run time through a
 * `node_modules` folder beside them, as Lambda resolves the layer), the raw and stock variants with the
 * same esbuild settings but nothing external except the SDK (what a user without the layer ships), and
 * the harness scripts the child processes run.
 */
import { mkdir, readdir, readFile, rm, stat, symlink } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { bundleFunction, bundleLayer, REQUIRE_BANNER } from '../../lib/bundle.ts';
import type { FunctionSource } from '../../lib/functions.ts';
import { writeZip } from '../../lib/zip.ts';

/** Every handler bundle the benchmark measures. */
export const VARIANT_BUNDLES = [
  'raw-http',
  'raw-sqs',
  'raw-secret',
  'stock-http',
  'stock-http-no-tracer',
  'stock-sqs',
  'stock-sqs-no-tracer',
  'stock-secret',
  'core',
  'core-secret',
] as const;
export type VariantBundle = (typeof VARIANT_BUNDLES)[number];

/** The scripts the child processes run (compiled to `.mjs`, so no child pays for TypeScript loading). */
export const HARNESSES = ['warm', 'cold', 'floor', 'secrets', 'connections', 'components'] as const;
export type Harness = (typeof HARNESSES)[number];

/** Where a layer and the bundles that resolve it live. */
export interface CoreBuild {
  /** `<dir>/layer`: the layer root (`nodejs/node_modules/...`). */
  readonly layerDir: string;
  /** The core variants' entry files. */
  readonly core: string;
  readonly coreSecret: string;
  /** Sizes of the layer's parts, in bytes. */
  /**
   * JavaScript bytes: the core (every file); its two entries, of which a function loads one (`base.js`, 0 in
   * a layer from before it); zod's index.js (what a cold start loads); zod's json-schema.js (on first use).
   */
  readonly sizes: {
    readonly coreJs: number;
    readonly coreIndexJs: number;
    readonly coreBaseJs: number;
    readonly zodJs: number;
    readonly zodJsonSchemaJs: number;
    readonly layerZip: number;
  };
  /** Packages and built-ins the core's entry imports statically, i.e. loads at cold start. */
  readonly staticImports: readonly string[];
  /** The locales the layer's zod ships (`Object.keys(z.locales)`). */
  readonly zodLocales: readonly string[];
}

export interface BenchBuild {
  readonly outDir: string;
  /** The entry file (`index.mjs`) of every variant. */
  readonly bundles: Readonly<Record<VariantBundle, string>>;
  readonly harness: Readonly<Record<Harness, string>>;
  readonly layer: CoreBuild;
  /** A second core built from another checkout (`--compare-core`), to measure a fix side by side. */
  readonly alternative?: CoreBuild;
  /** JavaScript and zip bytes of every variant bundle. */
  readonly sizes: Readonly<Record<VariantBundle, { readonly jsBytes: number; readonly zipBytes: number }>>;
}

const VARIANTS_DIR = join(import.meta.dirname, '..', 'variants');
const HARNESS_DIR = join(import.meta.dirname, '..', 'harness');

/** A function folder as `bundleFunction` expects it; the benchmark's connectors have no function.yml. */
function benchFunction(name: string, dir: string): FunctionSource {
  return {
    name,
    category: 'bench',
    provider: name,
    dir,
    entry: join(dir, 'index.ts'),
    definitionFile: join(dir, 'function.yml'),
    definition: {},
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

async function jsBytes(dir: string): Promise<number> {
  let total = 0;
  for (const file of await filesUnder(dir)) {
    if (/\.[cm]?js$/.test(file)) total += (await stat(file)).size;
  }
  return total;
}

/** Zips a folder as the deploy does (source maps included) and returns the zip's size. */
async function zipBytes(dir: string, zipFile: string): Promise<number> {
  const files = await filesUnder(dir);
  await writeZip(
    zipFile,
    files.map((file) => ({ path: relative(dir, file).split(sep).join('/'), file })),
  );
  return (await stat(zipFile)).size;
}

/** Bare specifiers of an ESM file's static imports (relative chunks left out). */
function staticImports(source: string): string[] {
  const found = new Set<string>();
  for (const match of source.matchAll(/\bimport\s*(?:[\w*{}\s,$]+?\s*from\s*)?["']([^"'.][^"']*)["']/g)) {
    if (match[1] !== undefined) found.add(match[1]);
  }
  return [...found].sort();
}

/**
 * Builds a layer from `root` (a checkout holding `layers/core`) into `<dir>/layer`, links it as
 * `<dir>/node_modules`, and bundles the two core variants into `<dir>/functions` against it.
 */
async function buildCore(root: string, sourceRoot: string, dir: string): Promise<CoreBuild> {
  await mkdir(dir, { recursive: true });
  const layerDir = await bundleLayer(sourceRoot, dir);
  const modules = join(dir, 'node_modules');
  await mkdir(modules, { recursive: true });
  const layerModules = join(layerDir, 'nodejs', 'node_modules');
  await symlink(join(layerModules, '@circle-core'), join(modules, '@circle-core'), 'dir');
  await symlink(join(layerModules, 'zod'), join(modules, 'zod'), 'dir');
  // The runtime's SDK, as Lambda provides it to functions and layers (the repository's copy).
  await symlink(join(root, 'node_modules', '@aws-sdk'), join(modules, '@aws-sdk'), 'dir');
  const [core, coreSecret] = await Promise.all([
    bundleFunction(benchFunction('core', join(VARIANTS_DIR, 'core')), root, dir, 'handler', sourceRoot),
    bundleFunction(
      benchFunction('core-secret', join(VARIANTS_DIR, 'core-secret')),
      root,
      dir,
      'handler',
      sourceRoot,
    ),
  ]);
  const coreDir = join(layerModules, '@circle-core', 'core');
  const [coreJs, coreIndexJs, coreBaseJs, zodAllJs, zodJs, layerZip] = await Promise.all([
    jsBytes(coreDir),
    stat(join(coreDir, 'index.js')).then((file) => file.size),
    stat(join(coreDir, 'base.js')).then(
      (file) => file.size,
      () => 0,
    ),
    jsBytes(join(layerModules, 'zod')),
    stat(join(layerModules, 'zod', 'index.js')).then((file) => file.size),
    zipBytes(layerDir, join(dir, 'layer.zip')),
  ]);
  const entry = await readFile(join(layerModules, '@circle-core', 'core', 'index.js'), 'utf8');
  const zod = (await import(pathToFileURL(join(layerModules, 'zod', 'index.js')).href)) as {
    locales?: Record<string, unknown>;
  };
  return {
    layerDir,
    core,
    coreSecret,
    sizes: { coreJs, coreIndexJs, coreBaseJs, zodJs, zodJsonSchemaJs: zodAllJs - zodJs, layerZip },
    staticImports: staticImports(entry),
    zodLocales: Object.keys(zod.locales ?? {}),
  };
}

/** A raw or stock variant: the production esbuild settings, with only the SDK left to the runtime. */
async function bundleStandalone(root: string, source: string, outfile: string): Promise<void> {
  await build({
    absWorkingDir: root,
    entryPoints: [source],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    minify: true,
    mainFields: ['module', 'main'],
    banner: { js: REQUIRE_BANNER },
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'warning',
    external: ['@aws-sdk/*'],
    // The Powertools logger and tracer are installed as the core workspace's dependencies only.
    nodePaths: [join(root, 'layers', 'core', 'node_modules')],
  });
}

/** Harnesses that must load nothing the floor does not: no `require` banner (it imports node:module). */
const BARE_HARNESSES: ReadonlySet<Harness> = new Set(['cold', 'floor']);

/** A harness script: plain ESM, the core and zod resolved at run time like the variants do. */
async function bundleHarness(root: string, name: Harness, outfile: string): Promise<void> {
  await build({
    absWorkingDir: root,
    entryPoints: [join(HARNESS_DIR, `${name}.ts`)],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'node',
    target: 'node24',
    ...(BARE_HARNESSES.has(name) ? {} : { banner: { js: REQUIRE_BANNER } }),
    logLevel: 'warning',
    external: ['@circle-core/core', 'zod', '@aws-sdk/*'],
    nodePaths: [join(root, 'layers', 'core', 'node_modules')],
  });
}

/**
 * Builds every bundle into `outDir` (emptied first). `compareCoreRoot`, a checkout with a modified
 * `layers/core`, adds a second layer and core variants under `<outDir>/alternative`.
 *
 * @example
 * ```ts
 * const built = await buildBench('/repo', '/repo/bench/out');
 * await import(built.bundles['raw-http']);
 * ```
 */
export async function buildBench(
  root: string,
  outDir: string,
  compareCoreRoot?: string,
): Promise<BenchBuild> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const layer = await buildCore(root, root, outDir);
  const alternative =
    compareCoreRoot === undefined
      ? undefined
      : await buildCore(root, compareCoreRoot, join(outDir, 'alternative'));
  const standalone = VARIANT_BUNDLES.filter((name) => name !== 'core' && name !== 'core-secret');
  const bundles = { core: layer.core, 'core-secret': layer.coreSecret } as Record<VariantBundle, string>;
  await Promise.all(
    standalone.map(async (name) => {
      const extension = name.startsWith('stock-') ? 'js' : 'ts';
      const outfile = join(outDir, 'functions', name, 'index.mjs');
      await bundleStandalone(root, join(VARIANTS_DIR, `${name}.${extension}`), outfile);
      bundles[name] = outfile;
    }),
  );
  const harness = {} as Record<Harness, string>;
  await Promise.all(
    HARNESSES.map(async (name) => {
      const outfile = join(outDir, 'harness', `${name}.mjs`);
      await bundleHarness(root, name, outfile);
      harness[name] = outfile;
    }),
  );
  const sizes = {} as Record<VariantBundle, { jsBytes: number; zipBytes: number }>;
  for (const name of VARIANT_BUNDLES) {
    const dir = dirname(bundles[name]);
    sizes[name] = { jsBytes: await jsBytes(dir), zipBytes: await zipBytes(dir, `${dir}.zip`) };
  }
  const result: BenchBuild = { outDir, bundles, harness, layer, sizes };
  return alternative === undefined ? result : { ...result, alternative };
}
