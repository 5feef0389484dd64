/**
 * The esbuild settings for Lambda artifacts: one ESM bundle per function (the core and zod left to the
 * layer; the AWS SDK clients the function uses bundled in, tree-shaken and minified) and the layer (the core
 * with its lazily loaded chunks, whole and without the HTTP-provider kits, and one shared zod; no AWS SDK:
 * its lazy SDK imports resolve from the Lambda runtime's copy).
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { isBuiltin } from 'node:module';
import { dirname, join } from 'node:path';
import { type BuildOptions, build, type Metafile, type Plugin } from 'esbuild';
import type { FunctionSource } from './functions.ts';
import { duckdbBindings, shipNativeBindings } from './native-bindings.ts';
import { trimMysql2 } from './trim-mysql2.ts';
import { trimRedis } from './trim-redis.ts';
import { layerZodExports, zodExportUses } from './zod-exports.ts';

/**
 * ESM output has no `require`; bundled CommonJS packages (pg, secure-json-parse) call it for Node built-ins.
 * The import is aliased so it cannot collide with a name in the bundle (the banner is not parsed by esbuild).
 */
export const REQUIRE_BANNER =
  "import { createRequire as __circleCoreCreateRequire } from 'node:module'; " +
  'const require = __circleCoreCreateRequire(import.meta.url);';

/**
 * What a function bundle may leave external: the layer provides the core and zod. The AWS SDK clients a
 * function uses are bundled (AWS's guidance for v3 cold starts: one tree-shaken file instead of hundreds of
 * runtime files), so the function no longer depends on the runtime's SDK version.
 */
export const FUNCTION_EXTERNALS = ['@circle-core/core', 'zod'] as const;

/**
 * The layer's second entry (`layers/core/src/base.ts`): the core without the kits only HTTP-API providers
 * and event receivers use. A function whose core imports are all there loads it instead of the whole core
 * ({@link coreEntryFor}).
 */
export const CORE_BASE_ENTRY = '@circle-core/core/base.js';

/**
 * The layer's zod's second file: JSON Schema conversion, loaded on first use ({@link zodJsonSchemaImport}).
 * Named with its extension: the layer's packages have no `exports` map ({@link writeManifest}).
 */
export const ZOD_JSON_SCHEMA = 'zod/json-schema.js';

/**
 * What the core bundle may leave external: zod is its sibling in the layer; the SDK clients the core loads
 * lazily (Secrets Manager, the events ledger and sinks, idempotency) come from the Lambda runtime, since a
 * copy under /opt/nodejs/node_modules would shadow the runtime's SDK for every function.
 */
export const CORE_EXTERNALS = ['@aws-sdk/*', 'zod', ZOD_JSON_SCHEMA] as const;

const COMMON: BuildOptions = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node24',
  minify: true,
  // Prefer packages' ESM builds: they tree-shake, and their imports stay ESM.
  mainFields: ['module', 'main'],
  metafile: true,
  logLevel: 'warning',
  banner: { js: REQUIRE_BANNER },
};

/**
 * The generated entry bundled for each function: it prefetches during init (top-level await) so the first
 * request finds secrets fetched and clients built. Resolved from the function's folder.
 *
 * @example
 * ```ts
 * await build({ stdin: { contents: functionEntrySource(), resolveDir: fn.dir, loader: 'ts' }, bundle: true });
 * ```
 */
export function functionEntrySource(kind: 'handler' | 'stream' = 'handler'): string {
  if (kind === 'stream') {
    // The streaming function (`index.streamHandler`): the connector's streamOperations behind the core's
    // streamingHandler, which wraps them with the runtime's awslambda.streamifyResponse.
    return [
      "import { streamingHandler } from '@circle-core/core';",
      "import { connector, streamOperations } from './index.ts';",
      'await connector.prepare();',
      'export const streamHandler = streamingHandler(connector.name, streamOperations, undefined, {',
      '  version: connector.version,',
      '});',
      '',
    ].join('\n');
  }
  return [
    "import { connector } from './index.ts';",
    'await connector.prepare();',
    'export const handler = connector.handler;',
    '',
  ].join('\n');
}

/**
 * zod's `locales` namespace (`z.locales`, `z.core.locales`) re-exports every language's error messages:
 * about 260 KB of the layer's 450 KB of zod, compiled at every cold start. The layer keeps English only:
 * `z.locales.en` stays (zod sets it as the default on its own), the other languages are not shipped, so
 * `z.config(z.locales.fr())` fails (`z.locales.fr` is undefined) instead of loading 60 languages nobody uses.
 */
export const zodEnglishOnly: Plugin = {
  name: 'zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => {
      if (!/[\\/]zod[\\/]v4[\\/](classic|core|mini)[\\/]/.test(args.importer)) return undefined;
      return { path: join(dirname(args.importer), '..', 'locales', 'en.js'), namespace: 'zod-locales' };
    });
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path)};\n`,
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

/**
 * zod's ahead-of-time compiler (`z.compile`, `z.withParser`, 29 KB of zod 4.6's 197 KB once minified) is only
 * re-exported by zod's index: no schema uses it unless a caller compiles one. The layer ships a stand-in with
 * the same exports, whose functions throw naming what is missing, so every cold start stops compiling and
 * evaluating it (about 13% of loading zod, measured side by side in bench/RESULTS.md). A function that calls
 * `z.compile` fails its build instead ({@link zodCompileUses}).
 */
export const zodWithoutCompile: Plugin = {
  name: 'zod-without-compile',
  setup(build) {
    build.onResolve({ filter: /^\.\/compile\.js$/ }, (args) => {
      if (!/[\\/]zod[\\/]v4[\\/]core[\\/]/.test(args.importer)) return undefined;
      return { path: 'zod-compile', namespace: 'zod-without-compile' };
    });
    build.onLoad({ filter: /.*/, namespace: 'zod-without-compile' }, () => ({
      contents: [
        'export const INVALID = Symbol.for("zod.compile.invalid");',
        'const missing = (name) => () => {',
        '  throw new Error("z." + name + " is not in the Circle Core layer\'s zod (scripts/lib/bundle.ts, zodWithoutCompile)");',
        '};',
        'export class ZodCompileAsyncError extends Error {}',
        'export class ZodCompileUnsupportedError extends Error {}',
        'export const compile = missing("compile");',
        'export const withParser = missing("withParser");',
        'export const compileFn = missing("compileFn");',
        '',
      ].join('\n'),
      loader: 'js',
    }));
  },
};

/**
 * The core's one import of zod's JSON Schema conversion (`layers/core/src/json-schema-zod.ts`, which the
 * core's `schemaFromJsonSchema` imports on first use) reads the layer's `zod/json-schema.js` file instead of
 * `zod`: the main file leaves the converter out ({@link bundleLayer}), so only the functions that convert
 * a schema compile it. From source (tests, scripts) the same module reads zod itself.
 */
export const zodJsonSchemaImport: Plugin = {
  name: 'zod-json-schema-import',
  setup(build) {
    build.onResolve({ filter: /^zod$/ }, (args) => {
      if (!/[\\/]layers[\\/]core[\\/]src[\\/]json-schema-zod\.ts$/.test(args.importer)) return undefined;
      return { path: ZOD_JSON_SCHEMA, external: true };
    });
  },
};

/**
 * The zod exports a bundle's own files (`inputs` of its metafile) use that the layer's zod lacks, as one
 * line each (`functions/x/y.ts uses z.tuple`), or nothing. The layer ships only what the repository's code
 * names ({@link layerZodExports}); any other export would be `undefined` at run time.
 */
async function missingZodExports(metafile: Metafile | undefined, root: string): Promise<string[]> {
  const { main } = await layerZodExports(root);
  const inputs = Object.keys(metafile?.inputs ?? {}).filter(
    (input) => !/(^|\/)layers\/core\/src\/json-schema-zod\.ts$/.test(input),
  );
  const missing = await zodExportUses(inputs, root, main);
  return missing.map(({ file, name }) =>
    /^[\w$]+$/.test(name) ? `${file} uses z.${name}` : `${file}: ${name}`,
  );
}

/** A use of zod's compiler in source code: `z.compile(`, `z.withParser(` or an import of `zod/compile`. */
const ZOD_COMPILE_USE = /\bz\.(compile|withParser)\b|['"]zod\/compile['"]/;

/**
 * The function's own source files (outside node_modules) that use zod's compiler, which the layer's zod
 * leaves out ({@link zodWithoutCompile}).
 *
 * @example
 * ```ts
 * await zodCompileUses(result.metafile, '/repo'); // ['functions/x/y/schemas.ts'] if it calls z.compile
 * ```
 */
export async function zodCompileUses(metafile: Metafile | undefined, root: string): Promise<string[]> {
  const found: string[] = [];
  for (const input of Object.keys(metafile?.inputs ?? {})) {
    if (input.includes('node_modules/') || !/\.[cm]?[jt]s$/.test(input)) continue;
    const text = await readFile(join(root, input), 'utf8').catch(() => '');
    if (ZOD_COMPILE_USE.test(text)) found.push(input);
  }
  return found;
}

/**
 * Built-ins the layer loads on first call instead of at init. An ESM `import { createHmac } from
 * 'node:crypto'` loads and materialises the whole module when the importing file loads: about 3 to 6 ms of
 * every cold start for `node:crypto` (the core's webhooks, JWT signing, event ids, and the Powertools
 * logger's debug sampling), although a health call or a plain operation never calls it. `node:net` (the
 * SSRF guard's and the broker TLS options' `isIP`) loads `node:stream` and its dependencies with it: about
 * 8 ms of a cold start that checks no address. `node:timers/promises` (the HTTP client's and coordination's
 * `sleep`, used only between retries): about 1.1 million instructions of every cold start.
 */
export const LAZY_BUILTINS = [
  'node:crypto',
  'node:dns/promises',
  'node:net',
  'node:timers/promises',
] as const;

/**
 * Rewrites static imports of `ids` (with or without the `node:` prefix) to wrappers that load the built-in
 * with `process.getBuiltinModule` on their first call. Only lower-case function exports are wrapped: a
 * class (`KeyObject`, `Hash`) or a value would change meaning behind a wrapper, so importing one fails the
 * build ("No matching export") instead of misbehaving. `require()` and dynamic `import()` are left alone.
 *
 * @example
 * ```ts
 * await build({ ...options, plugins: [lazyBuiltins(LAZY_BUILTINS)] });
 * ```
 */
export function lazyBuiltins(ids: readonly string[]): Plugin {
  const byName = new Map<string, string>();
  for (const id of ids) {
    byName.set(id, id);
    byName.set(id.replace(/^node:/, ''), id);
  }
  const escaped = [...byName.keys()].map((name) => name.replace(/[/.]/g, '\\$&'));
  return {
    name: 'lazy-builtins',
    setup(build) {
      build.onResolve({ filter: new RegExp(`^(${escaped.join('|')})$`) }, (args) => {
        const id = byName.get(args.path);
        if (args.kind !== 'import-statement' || id === undefined) return undefined;
        // One wrapper module per importing file: a module shared by the entry and a lazy chunk would be a
        // chunk of its own that the entry loads at init (a module file costs more than the few wrappers).
        return { path: `${id}?from=${args.importer}`, namespace: 'lazy-builtin' };
      });
      build.onLoad({ filter: /.*/, namespace: 'lazy-builtin' }, (args) => {
        const id = args.path.slice(0, args.path.indexOf('?from='));
        const module = process.getBuiltinModule(id) as Record<string, unknown>;
        // Descriptors, not values: reading a lazy getter (crypto.webcrypto) would load more than it says.
        const functions = Object.keys(module).filter(
          (name) =>
            /^[a-z]/.test(name) && typeof Object.getOwnPropertyDescriptor(module, name)?.value === 'function',
        );
        const lines = [
          `const __circleLoad = () => process.getBuiltinModule(${JSON.stringify(id)});`,
          ...functions.map(
            (name) => `export function ${name}(...args) { return __circleLoad().${name}(...args); }`,
          ),
        ];
        return { contents: `${lines.join('\n')}\n`, loader: 'js' };
      });
    },
  };
}

/**
 * Serves every other statically imported built-in as a view of its CommonJS exports
 * (`process.getBuiltinModule`) instead of its ESM namespace. Building the namespace reads every export,
 * lazy ones included: `node:http`'s load undici (and its WebSocket and fetch classes), about 15 ms of cold
 * start on this machine for a bundled AWS SDK client, which imports `http`, `https` and `http2` from its ESM
 * build (the same packages unbundled load their CommonJS build, which `require`s them). The view exports
 * the module itself as the default and every property by name, each read only if something imports it (a
 * pure call esbuild drops when unused), so a lazy export is loaded only by the code that names it. A
 * dynamic `import()` of a built-in gets the same view without the lazy exports (the SDK loads `node:http`
 * that way for plain-HTTP endpoints).
 *
 * @example
 * ```ts
 * await build({ ...options, plugins: [lazyBuiltins(LAZY_BUILTINS), builtinsWithoutNamespace] });
 * ```
 */
export const builtinsWithoutNamespace: Plugin = {
  name: 'builtins-without-namespace',
  setup(build) {
    build.onResolve({ filter: /^(node:)?[a-z][\w/]*$/ }, (args) => {
      const dynamic = args.kind === 'dynamic-import';
      if ((args.kind !== 'import-statement' && !dynamic) || !isBuiltin(args.path)) return undefined;
      const id = args.path.startsWith('node:') ? args.path : `node:${args.path}`;
      return { path: id, namespace: dynamic ? 'builtin-view-dynamic' : 'builtin-view' };
    });
    const load = (args: { path: string; namespace: string }) => {
      const module = process.getBuiltinModule(args.path) as Record<string, unknown>;
      // An `import()` keeps every export of what it loads: its view leaves the lazy (getter) ones out, or
      // reading them would load what they guard (the SDK's `await import('node:http')` would load undici).
      const plainOnly = args.namespace === 'builtin-view-dynamic';
      const names = Object.keys(module).filter(
        (name) =>
          /^[A-Za-z_$][\w$]*$/.test(name) &&
          name !== 'default' &&
          !name.startsWith('__circle') &&
          (!plainOnly || 'value' in (Object.getOwnPropertyDescriptor(module, name) ?? {})),
      );
      // A pure call per export, so esbuild drops the ones nothing imports (a bare `m.x` it would keep, and a
      // kept getter would load what it guards).
      const lines = [
        `const __circleModule = process.getBuiltinModule(${JSON.stringify(args.path)});`,
        'const __circleRead = (name) => __circleModule[name];',
        'export default __circleModule;',
        ...names.map(
          (name) => `export const ${name} = /* @__PURE__ */ __circleRead(${JSON.stringify(name)});`,
        ),
      ];
      return { contents: `${lines.join('\n')}\n`, loader: 'js' as const };
    };
    build.onLoad({ filter: /.*/, namespace: 'builtin-view' }, load);
    build.onLoad({ filter: /.*/, namespace: 'builtin-view-dynamic' }, load);
  },
};

/** The generated entry's name: resolved by {@link lambdaEntry}, never on disk. */
const LAMBDA_ENTRY = 'circle-core:lambda-entry';

/** Serves {@link functionEntrySource} as the entry point, resolved from the function's folder. */
function lambdaEntry(resolveDir: string, kind: 'handler' | 'stream'): Plugin {
  return {
    name: 'lambda-entry',
    setup(build) {
      build.onResolve({ filter: /^circle-core:lambda-entry$/ }, () => ({
        path: 'lambda-entry.ts',
        namespace: 'lambda-entry',
      }));
      build.onLoad({ filter: /.*/, namespace: 'lambda-entry' }, () => ({
        contents: functionEntrySource(kind),
        resolveDir,
        loader: 'ts',
      }));
    },
  };
}

function matchesExternal(path: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) =>
    pattern.endsWith('/*') ? path.startsWith(pattern.slice(0, -1)) : path === pattern,
  );
}

/**
 * Every import a bundle leaves to runtime resolution that neither Node nor the allowed list provides
 * (`zod/v4`, `@circle-core/core/testing`, ...): those would fail at cold start. A `require()` esbuild could
 * not resolve is tolerated only outside the allowed packages: it sits in a try/catch as an optional
 * dependency (pg's `pg-native`), or esbuild would have failed the build.
 *
 * @example
 * ```ts
 * unresolvableImports(result.metafile, ['zod']); // ['zod/v4'] when some module imports 'zod/v4'
 * ```
 */
export function unresolvableImports(metafile: Metafile | undefined, allowed: readonly string[]): string[] {
  if (metafile === undefined) throw new Error('esbuild returned no metafile (metafile: true is required)');
  const packages = allowed.map((pattern) => (pattern.endsWith('/*') ? pattern.slice(0, -1) : `${pattern}/`));
  const bad = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      if (!imported.external || imported.path.startsWith('.')) continue;
      if (isBuiltin(imported.path) || matchesExternal(imported.path, allowed)) continue;
      const subpathOfAllowed = packages.some((prefix) => imported.path.startsWith(prefix));
      if (imported.kind === 'require-call' && !subpathOfAllowed) continue;
      bad.add(imported.path);
    }
  }
  return [...bad].sort();
}

/** Source files that must never be inlined into a function: the layer provides them. */
function inlinedLayerSources(metafile: Metafile | undefined): string[] {
  return Object.keys(metafile?.inputs ?? {}).filter((input) =>
    /(^|\/)(layers\/core\/src|node_modules\/zod)\//.test(input),
  );
}

/**
 * Which layer entry a function imports the core from: {@link CORE_BASE_ENTRY} when every core export it uses
 * is in `layers/core/src/base.ts`, `@circle-core/core` otherwise. esbuild answers: the function's own code
 * (with `shared/`) is bundled against base.ts in memory, packages external, and an import base.ts lacks
 * fails that build ("No matching export"). A checkout without base.ts (an older layer, compared by the
 * benchmark) has only the whole core.
 *
 * @example
 * ```ts
 * await coreEntryFor(postgres, '/repo'); // '@circle-core/core/base.js'
 * await coreEntryFor(slack, '/repo'); // '@circle-core/core' (REST provider, webhooks)
 * ```
 */
export async function coreEntryFor(
  fn: FunctionSource,
  coreRoot: string,
  kind: 'handler' | 'stream' = 'handler',
): Promise<string> {
  const base = join(coreRoot, 'layers', 'core', 'src', 'base.ts');
  if (!existsSync(base)) return '@circle-core/core';
  const againstBase: Plugin = {
    name: 'core-against-base',
    setup(build) {
      build.onResolve({ filter: /^@circle-core\/core$/ }, () => ({ path: base }));
      // Packages stay out; relative and `#` (the repository's imports map: shared/) imports are followed.
      build.onResolve({ filter: /^[^./#]/ }, (args) => ({ path: args.path, external: true }));
    },
  };
  try {
    await build({
      ...COMMON,
      minify: false,
      metafile: false,
      write: false,
      logLevel: 'silent',
      entryPoints: [LAMBDA_ENTRY],
      outdir: 'unused',
      plugins: [lambdaEntry(fn.dir, kind), againstBase],
    });
    return CORE_BASE_ENTRY;
  } catch (error) {
    const errors = (error as { errors?: { text: string }[] }).errors ?? [];
    if (errors.length > 0 && errors.every((entry) => entry.text.startsWith('No matching export'))) {
      return '@circle-core/core';
    }
    throw error;
  }
}

/**
 * Bundles one function into `<outDir>/functions/<name>/index.mjs` (+ `index.mjs.map`, and `chunks/` for
 * what it loads on first use), failing when the bundle would need something the layer does not provide,
 * or inlines what it does (the core, zod). The AWS SDK clients the function imports are bundled in.
 * `kind: 'stream'` bundles the connector's streaming function instead (`<name>-stream/index.mjs`
 * exporting `streamHandler`).
 *
 * @example
 * ```ts
 * const file = await bundleFunction(s3, '/repo', '/repo/.build');
 * ```
 */
export async function bundleFunction(
  fn: FunctionSource,
  root: string,
  outDir: string,
  kind: 'handler' | 'stream' = 'handler',
  /** The checkout whose layer the function will run on (the benchmark compares another core); default `root`. */
  coreRoot: string = root,
): Promise<string> {
  const name = kind === 'stream' ? (fn.stream?.name ?? `${fn.name}-stream`) : fn.name;
  const dir = join(outDir, 'functions', name);
  const coreEntry = await coreEntryFor(fn, coreRoot, kind);
  const coreImport: Plugin = {
    name: 'core-entry',
    setup(build) {
      build.onResolve({ filter: /^@circle-core\/core$/ }, () => ({ path: coreEntry, external: true }));
    },
  };
  const result = await build({
    ...COMMON,
    absWorkingDir: root,
    entryPoints: { index: LAMBDA_ENTRY },
    outdir: dir,
    // What the function imports dynamically (the SDK's credential providers other than the environment's,
    // a client used by one operation only) goes in chunks loaded on first use, not at init.
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    // Stack traces map back to TypeScript: at run time on dev stages (--enable-source-maps), afterwards with
    // `npm run stack-trace` elsewhere. Names and lines are enough: no sources in the map.
    sourcemap: 'linked',
    sourcesContent: false,
    external: [...FUNCTION_EXTERNALS],
    plugins: [
      lambdaEntry(fn.dir, kind),
      coreImport,
      trimMysql2,
      trimRedis,
      duckdbBindings,
      builtinsWithoutNamespace,
    ],
  });
  const compiling = await zodCompileUses(result.metafile, root);
  if (compiling.length > 0) {
    throw new Error(
      `${fn.name}: uses z.compile, which the layer's zod does not ship (zodWithoutCompile): ${compiling.join(', ')}`,
    );
  }
  const lacking = await missingZodExports(result.metafile, root);
  if (lacking.length > 0) {
    throw new Error(
      `${name}: uses zod exports the layer's zod does not ship (only those layers/core/src, shared/ and functions/ use; JSON Schema conversion through the core's schemaFromJsonSchema): ${lacking.join('; ')}`,
    );
  }
  const missing = unresolvableImports(result.metafile, [...FUNCTION_EXTERNALS, CORE_BASE_ENTRY]);
  if (missing.length > 0) {
    throw new Error(`${name}: imports not available on Lambda (not in the layer): ${missing.join(', ')}`);
  }
  const inlined = inlinedLayerSources(result.metafile);
  if (inlined.length > 0) {
    throw new Error(
      `${name}: bundles code the layer provides (import it as a package instead): ${inlined.slice(0, 5).join(', ')}`,
    );
  }
  // A native engine esbuild cannot inline (DuckDB's) goes beside the bundle, for its platform only.
  await shipNativeBindings(result.metafile, root, dir);
  return join(dir, 'index.mjs');
}

/**
 * Builds the layer tree under `<outDir>/layer/nodejs/node_modules/`: `@circle-core/core` (entry plus
 * split chunks, so the tracer loads only when tracing is on) and `zod` (ESM, so functions and the core
 * share a single instance; English messages only, see {@link zodEnglishOnly}). The layer's zod exports only
 * what the repository's code uses ({@link layerZodExports}): `index.js` without JSON Schema conversion,
 * `json-schema.js` (`zod/json-schema.js`) with it, loaded on first use. Returns the
 * layer's root folder (`<outDir>/layer`).
 *
 * @example
 * ```ts
 * const layerDir = await bundleLayer('/repo', '/repo/.build'); // zip its contents as layer.zip
 * ```
 */
export async function bundleLayer(root: string, outDir: string): Promise<string> {
  const layerDir = join(outDir, 'layer');
  const modules = join(layerDir, 'nodejs', 'node_modules');
  const coreDir = join(modules, '@circle-core', 'core');
  const zodDir = join(modules, 'zod');
  const exported = await layerZodExports(root);
  const coreEntry = (name: 'index' | 'base') =>
    build({
      ...COMMON,
      absWorkingDir: root,
      entryPoints: { [name]: join(root, 'layers', 'core', 'src', `${name}.ts`) },
      outdir: coreDir,
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      sourcemap: 'linked',
      sourcesContent: false,
      external: [...CORE_EXTERNALS],
      plugins: [zodJsonSchemaImport, lazyBuiltins(LAZY_BUILTINS), builtinsWithoutNamespace],
    });
  const [core, zod, zodJsonSchema] = await Promise.all([
    coreEntry('index'),
    // The exports the code uses; no default export nor `z`: either would keep all of zod.
    build({
      ...COMMON,
      absWorkingDir: root,
      stdin: { contents: zodEntry(exported.main), resolveDir: root, sourcefile: 'zod-entry.js' },
      outfile: join(zodDir, 'index.js'),
      plugins: [zodEnglishOnly, zodWithoutCompile],
    }),
    // JSON Schema conversion on its own, with the zod it builds schemas from. Not a chunk shared with
    // index.js: esbuild splits code by file, and zod's classes share files with the converter's schemas
    // (ZodTuple beside ZodObject), so a shared chunk would hold nearly all of it and index.js would load
    // the lot. Two copies of zod's classes work as one: zod keeps its registry and config on globalThis
    // and answers `instanceof` by trait, so a schema from here nests in index.js's z.object.
    build({
      ...COMMON,
      absWorkingDir: root,
      stdin: { contents: zodEntry(exported.jsonSchema), resolveDir: root, sourcefile: 'zod-json-schema.js' },
      outfile: join(zodDir, 'json-schema.js'),
      plugins: [zodEnglishOnly, zodWithoutCompile],
    }),
  ]);
  // The base entry (layers/core/src/base.ts) on its own, after the full one: a whole copy of the core, so a
  // function loads one or the other. Lazy chunks both builds make are the same file (named by content).
  // A checkout from before base.ts (the benchmark builds older cores to compare) has the whole core only.
  const coreBase = existsSync(join(root, 'layers', 'core', 'src', 'base.ts'))
    ? await coreEntry('base')
    : undefined;
  const coreLacking = await missingZodExports(core.metafile, root);
  if (coreLacking.length > 0) {
    throw new Error(
      `layer @circle-core/core: uses zod exports the layer's zod lacks: ${coreLacking.join('; ')}`,
    );
  }
  for (const [name, result, allowed] of [
    ['@circle-core/core', core, CORE_EXTERNALS],
    ...(coreBase === undefined ? [] : [[CORE_BASE_ENTRY, coreBase, CORE_EXTERNALS] as const]),
    ['zod', zod, []],
    ['zod/json-schema', zodJsonSchema, []],
  ] as const) {
    const missing = unresolvableImports(result.metafile, allowed);
    if (missing.length > 0)
      throw new Error(`layer ${name}: imports not available on Lambda: ${missing.join(', ')}`);
  }
  const coreManifest = JSON.parse(await readFile(join(root, 'layers', 'core', 'package.json'), 'utf8')) as {
    version: string;
  };
  const zodManifest = JSON.parse(
    await readFile(join(root, 'node_modules', 'zod', 'package.json'), 'utf8'),
  ) as {
    version: string;
  };
  await Promise.all([
    writeManifest(coreDir, '@circle-core/core', coreManifest.version),
    writeManifest(zodDir, 'zod', zodManifest.version),
  ]);
  await bundlePowertoolsLogger(root, modules);
  return layerDir;
}

/** A layer zod file's entry: `export { <names> } from 'zod'`. */
function zodEntry(names: readonly string[]): string {
  return `export { ${names.join(', ')} } from 'zod';\n`;
}

/**
 * A layer package's `package.json`: name, version, module type and `main`, and no `exports` map. Node
 * checks each target of an `exports` map against a large case-insensitive regular expression (the resolver's
 * invalid-segment check), which it compiles on the first package it resolves that way: about 5 million
 * instructions of every cold start, since each function imports `@circle-core/core` and `zod` at init. With
 * `main` alone Node resolves the package as it always has, and a subpath (`zod/json-schema.js`) as a file.
 */
async function writeManifest(
  dir: string,
  name: string,
  version: string,
  type: 'module' | 'commonjs' = 'module',
): Promise<void> {
  const manifest = { name, version, type, main: './index.js' };
  await writeFile(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
}

/**
 * Powertools' logger as a CommonJS package of its own in the layer (`@aws-lambda-powertools/logger`, one
 * file), beside the core instead of inside its bundle: the core `require`s it on a logger's first real use
 * (layers/core/src/observability.ts), so a cold start that writes no line but the invocation line does not
 * compile it (about 1.7 ms of CPU). CommonJS so that `require` loads it synchronously wherever it runs.
 */
async function bundlePowertoolsLogger(root: string, modules: string): Promise<void> {
  const packageDir = join(root, 'layers', 'core', 'node_modules', '@aws-lambda-powertools', 'logger');
  const dir = join(modules, '@aws-lambda-powertools', 'logger');
  const result = await build({
    bundle: true,
    format: 'cjs',
    platform: 'node',
    target: 'node24',
    minify: true,
    mainFields: ['module', 'main'],
    metafile: true,
    logLevel: 'warning',
    absWorkingDir: root,
    stdin: {
      contents: "export * from '@aws-lambda-powertools/logger';\n",
      resolveDir: join(root, 'layers', 'core'),
      sourcefile: 'powertools-logger.js',
    },
    outfile: join(dir, 'index.js'),
  });
  const missing = unresolvableImports(result.metafile, []);
  if (missing.length > 0)
    throw new Error(
      `layer @aws-lambda-powertools/logger: imports not available on Lambda: ${missing.join(', ')}`,
    );
  const { name, version } = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
  };
  await writeManifest(dir, name, version, 'commonjs');
}
