/**
 * The import rules between the repository's layers, checked on resolved paths (not on the specifier text,
 * whose meaning depends on how deep the importing file sits):
 * - `connector-to-connector`: a file under `functions/<category>/<provider>/` imports nothing from another
 *   connector's folder; what two connectors share belongs in the core or `shared/`.
 * - `test-import`: only test code imports from the root `test/` (files under `test/` and `*.test.ts` files);
 *   anything else would ship, or run in the local stack, with test fakes inside.
 * - `relative-shared`: a connector reaches `shared/` through the package's subpath import (`#shared/...`,
 *   `imports` in the root package.json), never `../../../shared/...`.
 * Imports are read with the TypeScript scanner (static, type-only, re-exports, literal dynamic imports),
 * so comments and strings that look like imports do not count.
 */
import type { Dirent } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import ts from 'typescript';

export type LayeringRule = 'connector-to-connector' | 'test-import' | 'relative-shared';

/** One source file, by its repository-relative POSIX path. */
export interface SourceFile {
  path: string;
  text: string;
}

/** One import that breaks a rule. */
export interface LayeringViolation {
  rule: LayeringRule;
  /** The importing file, repository-relative. */
  file: string;
  /** The specifier as written. */
  specifier: string;
  /** What it resolves to, repository-relative. */
  target: string;
  message: string;
}

/** The root package.json's `imports` map: `#shared/*` -> `./shared/*`. */
export type SubpathImports = Record<string, string>;

/** The folders scanned; everything else (node_modules, build output, coverage) is not source. */
export const SOURCE_ROOTS = ['functions', 'layers', 'shared', 'scripts', 'test', 'bench'] as const;

const SOURCE_EXTENSION = /\.(?:[cm]?ts|tsx)$/;
const SKIPPED_FOLDERS = new Set(['node_modules', 'coverage', 'out']);

/** `functions/<category>/<provider>` when `path` lies in a connector's folder. */
export function connectorOf(path: string): string | undefined {
  return /^functions\/([^/]+)\/([^/]+)\//.exec(path)?.slice(1, 3).join('/');
}

/** Test code may import test helpers: files under `test/` and `*.test.ts` files anywhere. */
export function isTestCode(path: string): boolean {
  return path.startsWith('test/') || /\.test\.[cm]?tsx?$/.test(path);
}

/** Every module specifier `text` imports or re-exports. */
export function importSpecifiers(text: string): string[] {
  return ts.preProcessFile(text, true, true).importedFiles.map((file) => file.fileName);
}

/**
 * The repository-relative path a specifier names, or `undefined` for a package (`zod`, `node:fs`,
 * `@circle-core/core`): relative specifiers against the importing file, `#...` through the imports map.
 */
export function resolveSpecifier(
  from: string,
  specifier: string,
  imports: SubpathImports,
): string | undefined {
  if (specifier.startsWith('./') || specifier.startsWith('../')) {
    return posix.normalize(posix.join(posix.dirname(from), specifier));
  }
  if (!specifier.startsWith('#')) return undefined;
  for (const [pattern, target] of Object.entries(imports)) {
    const star = pattern.indexOf('*');
    if (star === -1 ? specifier !== pattern : !specifier.startsWith(pattern.slice(0, star))) continue;
    const resolved = star === -1 ? target : target.replace('*', specifier.slice(star));
    return posix.normalize(resolved);
  }
  return undefined;
}

/**
 * Checks every import of `files` against the layering rules.
 *
 * @example
 * ```ts
 * checkLayering([{ path: 'functions/storage/s3/x.ts', text: "import '../../../shared/a.ts';" }], imports);
 * // [{ rule: 'relative-shared', ... }]
 * ```
 */
export function checkLayering(files: readonly SourceFile[], imports: SubpathImports): LayeringViolation[] {
  return files.flatMap((file) =>
    importSpecifiers(file.text).flatMap((specifier): LayeringViolation[] => {
      const target = resolveSpecifier(file.path, specifier, imports);
      if (target === undefined) return [];
      const found = { file: file.path, specifier, target };
      const from = connectorOf(file.path);
      const to = connectorOf(`${target}/`);
      const violations: LayeringViolation[] = [];
      if (from !== undefined && to !== undefined && from !== to) {
        violations.push({
          ...found,
          rule: 'connector-to-connector',
          message: `${from} imports from ${to}: connectors never import each other; move what both need to the core or shared/`,
        });
      }
      if ((target === 'test' || target.startsWith('test/')) && !isTestCode(file.path)) {
        violations.push({
          ...found,
          rule: 'test-import',
          message: 'only tests (files under test/ and *.test.ts) import from test/',
        });
      }
      if (from !== undefined && target.startsWith('shared/') && !specifier.startsWith('#')) {
        violations.push({
          ...found,
          rule: 'relative-shared',
          message: `reach shared/ through the subpath import: '#${target}'`,
        });
      }
      return violations;
    }),
  );
}

async function sourcesUnder(root: string, folder: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(join(root, folder), { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const nested = await Promise.all(
    entries.map(async (entry): Promise<string[]> => {
      const path = posix.join(folder, entry.name);
      if (entry.isDirectory()) {
        return entry.name.startsWith('.') || SKIPPED_FOLDERS.has(entry.name) ? [] : sourcesUnder(root, path);
      }
      return entry.isFile() && SOURCE_EXTENSION.test(entry.name) ? [path] : [];
    }),
  );
  return nested.flat();
}

/** Every TypeScript source file of the repository at `root`, with its text, in path order. */
export async function readSources(root: string): Promise<SourceFile[]> {
  const paths = (await Promise.all(SOURCE_ROOTS.map((folder) => sourcesUnder(root, folder)))).flat().sort();
  return Promise.all(paths.map(async (path) => ({ path, text: await readFile(join(root, path), 'utf8') })));
}

/** The `imports` map of the root package.json. */
export async function readSubpathImports(root: string): Promise<SubpathImports> {
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
    imports?: SubpathImports;
  };
  return manifest.imports ?? {};
}
