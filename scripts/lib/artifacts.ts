/**
 * Builds the deployable artifacts: `<outDir>/functions/<name>.zip` per function (index.mjs at the root)
 * and `<outDir>/layer.zip` (the `nodejs/node_modules` tree of the core layer), and reports their sizes.
 */
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { bundleFunction, bundleLayer } from './bundle.ts';
import { discoverFunctions, type FunctionSource } from './functions.ts';
import { writeZip, type ZipEntry } from './zip.ts';

export interface BuildArtifactsOptions {
  /** Repository root (holds `functions/` and `layers/core/`). */
  readonly root: string;
  /** Where artifacts go; serverless.yml reads them from `CIRCLE_BUILD_DIR`, default `<root>/.build`. */
  readonly outDir: string;
  /**
   * Build only these functions (and not the layer); all functions and the layer when absent or empty. A
   * connector's streaming function (`openai-stream`) is built with its connector (`openai`).
   */
  readonly only?: readonly string[];
}

/** One row of the size report. */
export interface ArtifactSize {
  readonly artifact: string;
  /** JavaScript bytes (bundles and chunks). */
  readonly jsBytes: number;
  /** Source map bytes. */
  readonly mapBytes: number;
  /** The zip, when this row is a deployable artifact. */
  readonly zip?: { readonly file: string; readonly bytes: number };
  /** For a function: the JavaScript its entry loads at init (index.mjs and the chunks it imports statically). */
  readonly initJsBytes?: number;
}

export interface BuildArtifactsResult {
  readonly functions: readonly FunctionSource[];
  readonly sizes: readonly ArtifactSize[];
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

async function measure(artifact: string, dir: string, zipFile?: string): Promise<ArtifactSize> {
  let jsBytes = 0;
  let mapBytes = 0;
  for (const file of await filesUnder(dir)) {
    const { size } = await stat(file);
    if (file.endsWith('.map')) mapBytes += size;
    else if (/\.[cm]?js$/.test(file)) jsBytes += size;
  }
  if (zipFile === undefined) return { artifact, jsBytes, mapBytes };
  return { artifact, jsBytes, mapBytes, zip: { file: zipFile, bytes: (await stat(zipFile)).size } };
}

/** `import ... from "./chunks/x.mjs"` and `import "./chunks/x.mjs"` in esbuild's output; not `import(...)`. */
const STATIC_RELATIVE_IMPORT = /(?:^|[;}\s])import\s*(?:[\w$*{},\s]+?from\s*)?"(\.{1,2}\/[^"]+)"/g;

/**
 * Bytes of `entry` and of every file it imports statically, transitively: what loads at init. Chunks
 * imported only with `import()` load on first use and are not counted.
 *
 * @example
 * ```ts
 * await initBytes('.build/functions/s3/index.mjs'); // 150000
 * ```
 */
export async function initBytes(entry: string): Promise<number> {
  const seen = new Set<string>();
  const pending = [entry];
  let total = 0;
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const code = await readFile(file, 'utf8');
    total += Buffer.byteLength(code);
    for (const match of code.matchAll(STATIC_RELATIVE_IMPORT)) {
      if (match[1] !== undefined) pending.push(join(dirname(file), match[1]));
    }
  }
  return total;
}

async function zipFolder(dir: string, zipFile: string): Promise<void> {
  const entries: ZipEntry[] = (await filesUnder(dir)).map((file) => ({
    path: relative(dir, file).split(sep).join('/'),
    file,
  }));
  await writeZip(zipFile, entries);
}

async function buildFunction(
  fn: FunctionSource,
  root: string,
  outDir: string,
  kind: 'handler' | 'stream' = 'handler',
): Promise<ArtifactSize> {
  const name = kind === 'stream' ? (fn.stream?.name ?? `${fn.name}-stream`) : fn.name;
  const dir = join(outDir, 'functions', name);
  const zipFile = join(outDir, 'functions', `${name}.zip`);
  await Promise.all([rm(dir, { recursive: true, force: true }), rm(zipFile, { force: true })]);
  await bundleFunction(fn, root, outDir, kind);
  // The maps go in the zip: dev stages (--enable-source-maps) read them beside the code at run time, and
  // `npm run stack-trace` reads the same files for a production trace.
  await zipFolder(dir, zipFile);
  const size = await measure(`function ${name}`, dir, zipFile);
  return { ...size, initJsBytes: await initBytes(join(dir, 'index.mjs')) };
}

/** A connector's artifacts: its function and, when it has one, its streaming function. */
async function buildConnector(fn: FunctionSource, root: string, outDir: string): Promise<ArtifactSize[]> {
  const main = buildFunction(fn, root, outDir);
  if (fn.stream === undefined) return [await main];
  return Promise.all([main, buildFunction(fn, root, outDir, 'stream')]);
}

async function buildLayer(root: string, outDir: string): Promise<ArtifactSize[]> {
  const zipFile = join(outDir, 'layer.zip');
  await Promise.all([
    rm(join(outDir, 'layer'), { recursive: true, force: true }),
    rm(zipFile, { force: true }),
  ]);
  const layerDir = await bundleLayer(root, outDir);
  await zipFolder(layerDir, zipFile);
  const modules = join(layerDir, 'nodejs', 'node_modules');
  return [
    await measure('layer', layerDir, zipFile),
    await measure('  @circle-core/core', join(modules, '@circle-core', 'core')),
    await measure('  zod', join(modules, 'zod')),
  ];
}

/**
 * Discovers the functions and builds their zips and the layer zip, in parallel (esbuild spreads the work
 * over the cores itself). A full build first empties `<outDir>/functions`, so no stale function survives.
 *
 * @example
 * ```ts
 * const { sizes } = await buildArtifacts({ root: process.cwd(), outDir: '.build', only: ['s3'] });
 * console.log(formatSizeTable(sizes));
 * ```
 */
export async function buildArtifacts(options: BuildArtifactsOptions): Promise<BuildArtifactsResult> {
  const { root, outDir } = options;
  const only = options.only ?? [];
  const all = await discoverFunctions(root);
  const unknown = only.filter((name) => !all.some((fn) => fn.name === name));
  if (unknown.length > 0) {
    throw new Error(`Unknown function ${unknown.join(', ')}; known: ${all.map((fn) => fn.name).join(', ')}`);
  }
  const selected = only.length === 0 ? all : all.filter((fn) => only.includes(fn.name));
  // Only what the build owns is removed, never outDir itself (it may be any folder the caller named).
  if (only.length === 0) await rm(join(outDir, 'functions'), { recursive: true, force: true });
  await mkdir(join(outDir, 'functions'), { recursive: true });
  const [functionSizes, layerSizes] = await Promise.all([
    Promise.all(selected.map((fn) => buildConnector(fn, root, outDir))).then((sizes) => sizes.flat()),
    only.length === 0 ? buildLayer(root, outDir) : Promise.resolve([]),
  ]);
  return { functions: selected, sizes: [...functionSizes, ...layerSizes] };
}

function kib(bytes: number): string {
  return (bytes / 1024).toFixed(1);
}

/**
 * Renders the size report: one row per artifact with its JavaScript, source map and zip sizes in KiB.
 *
 * @example
 * ```ts
 * formatSizeTable([{ artifact: 'function s3', jsBytes: 10240, mapBytes: 2048, zip: { file: 's3.zip', bytes: 4096 } }]);
 * // artifact      js KiB  map KiB  zip KiB
 * // function s3     10.0      2.0      4.0
 * ```
 */
export function formatSizeTable(sizes: readonly ArtifactSize[]): string {
  const header = ['artifact', 'js KiB', 'map KiB', 'zip KiB'];
  const rows = sizes.map((size) => [
    size.artifact,
    kib(size.jsBytes),
    kib(size.mapBytes),
    size.zip === undefined ? '' : kib(size.zip.bytes),
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]?.length ?? 0)),
  );
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) =>
        column === 0 ? cell.padEnd(widths[0] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
