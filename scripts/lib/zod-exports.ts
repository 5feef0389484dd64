/**
 * Which of zod's exports the repository's code uses as values, read from the source with the TypeScript
 * parser: the layer's zod exports only those ({@link layerZodExports}), and a function build that uses
 * another fails ({@link zodExportUses}). Types cost nothing at run time, so `z.ZodType` in an annotation,
 * `typeof z.fromJSONSchema` or `import type * as z` count for nothing; `z.object(...)`, `z.iso.datetime()`
 * (the `iso` namespace) and `import { object } from 'zod'` count.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import ts from 'typescript';

/** The zod value exports one file uses, and whether it uses the whole namespace (`z` passed around). */
export interface ZodUse {
  /** Export names used as values (`object`, `iso`, `fromJSONSchema`). */
  readonly names: ReadonlySet<string>;
  /**
   * Why the file needs every export, or undefined: `import z from 'zod'`, `export * from 'zod'`, a dynamic
   * `import('zod')`, or the namespace used other than as `z.<name>` (`const all = z`, `z[name]`).
   */
  readonly whole: string | undefined;
}

/** Folders whose non-test sources the layer's zod serves: the core, shared code, the functions. */
export const ZOD_USE_ROOTS = ['layers/core/src', 'shared', 'functions'] as const;

/** zod's JSON Schema conversion: in the layer's `zod/json-schema` file, loaded on first use. */
export const ZOD_JSON_SCHEMA_EXPORTS = ['fromJSONSchema', 'toJSONSchema'] as const;

const IMPORTS_ZOD = /['"]zod['"]/;

function isZod(specifier: ts.Expression | undefined): boolean {
  return specifier !== undefined && ts.isStringLiteral(specifier) && specifier.text === 'zod';
}

/** True when `node` is the name a declaration introduces (a parameter `z`, a property `z:`), not a use. */
function isDeclaredName(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (parent === undefined) return false;
  if (ts.isImportSpecifier(parent) || ts.isImportClause(parent) || ts.isNamespaceImport(parent)) return true;
  if (ts.isExportSpecifier(parent)) return true;
  if (ts.isBindingElement(parent)) return parent.name === node || parent.propertyName === node;
  if (ts.isLabeledStatement(parent)) return parent.label === node;
  const named = parent as ts.Node & { name?: ts.Node };
  const declares =
    ts.isPropertyAccessExpression(parent) ||
    ts.isPropertyAssignment(parent) ||
    ts.isMethodDeclaration(parent) ||
    ts.isPropertyDeclaration(parent) ||
    ts.isPropertySignature(parent) ||
    ts.isParameter(parent) ||
    ts.isVariableDeclaration(parent) ||
    ts.isFunctionDeclaration(parent) ||
    ts.isClassDeclaration(parent);
  return declares && named.name === node;
}

/**
 * The zod value exports a TypeScript or JavaScript source uses.
 *
 * @example
 * ```ts
 * zodUseOf("import * as z from 'zod';\nconst A = z.object({ at: z.iso.datetime() });", 'a.ts');
 * // { names: Set { 'object', 'iso' }, whole: undefined }
 * ```
 */
export function zodUseOf(text: string, fileName: string): ZodUse {
  const use: MutableUse = { names: new Set<string>(), namespaces: new Set<string>(), whole: undefined };
  if (!IMPORTS_ZOD.test(text)) return { names: use.names, whole: undefined };
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  for (const statement of source.statements) {
    if (ts.isImportDeclaration(statement) && isZod(statement.moduleSpecifier)) readImport(statement, use);
    if (ts.isExportDeclaration(statement) && isZod(statement.moduleSpecifier)) readReExport(statement, use);
  }
  const visit = (node: ts.Node): void => {
    // Types are erased: nothing under a type node, an interface or a type alias loads anything.
    if (ts.isTypeNode(node) || ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) return;
    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) return;
    if (isDynamicZodLoad(node)) use.whole ??= 'loads zod dynamically';
    if (ts.isIdentifier(node) && use.namespaces.has(node.text) && !isDeclaredName(node))
      readNamespaceUse(node, use);
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { names: use.names, whole: use.whole };
}

interface MutableUse {
  names: Set<string>;
  /** Local names bound to zod's namespace (`z` of `import * as z`). */
  namespaces: Set<string>;
  whole: string | undefined;
}

function readImport(statement: ts.ImportDeclaration, use: MutableUse): void {
  const clause = statement.importClause;
  if (clause === undefined || clause.isTypeOnly) return;
  if (clause.name !== undefined) use.whole ??= `default import "${clause.name.text}"`;
  const bindings = clause.namedBindings;
  if (bindings === undefined) return;
  if (ts.isNamespaceImport(bindings)) {
    use.namespaces.add(bindings.name.text);
    return;
  }
  for (const element of bindings.elements) {
    if (element.isTypeOnly) continue;
    const imported = (element.propertyName ?? element.name).text;
    // `import { z } from 'zod'` is the whole namespace under another name: follow its uses.
    if (imported === 'z') use.namespaces.add(element.name.text);
    else if (imported === 'default') use.whole ??= 'default import';
    else use.names.add(imported);
  }
}

function readReExport(statement: ts.ExportDeclaration, use: MutableUse): void {
  if (statement.isTypeOnly) return;
  const clause = statement.exportClause;
  if (clause === undefined || ts.isNamespaceExport(clause)) {
    use.whole ??= 're-exports all of zod';
    return;
  }
  for (const element of clause.elements) {
    if (element.isTypeOnly) continue;
    const exported = (element.propertyName ?? element.name).text;
    if (exported === 'z' || exported === 'default') use.whole ??= `re-exports "${exported}"`;
    else use.names.add(exported);
  }
}

/** `import('zod')` or `require('zod')`. */
function isDynamicZodLoad(node: ts.Node): boolean {
  return (
    ts.isCallExpression(node) &&
    (node.expression.kind === ts.SyntaxKind.ImportKeyword ||
      (ts.isIdentifier(node.expression) && node.expression.text === 'require')) &&
    isZod(node.arguments[0])
  );
}

/** A value use of a namespace binding: `z.<name>` counts `<name>`, anything else needs all of zod. */
function readNamespaceUse(node: ts.Identifier, use: MutableUse): void {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.expression === node) use.names.add(parent.name.text);
  else if (!(ts.isQualifiedName(parent) || ts.isExpressionWithTypeArguments(parent))) {
    use.whole ??= `uses the namespace "${node.text}" other than as ${node.text}.<name>`;
  }
}

async function sourcesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter(
      (entry) =>
        entry.isFile() &&
        /\.[cm]?ts$/.test(entry.name) &&
        !/\.(test|spec)\.[cm]?ts$/.test(entry.name) &&
        !entry.name.endsWith('.d.ts'),
    )
    .map((entry) => join(entry.parentPath, entry.name))
    .filter((file) => !file.split(sep).includes('node_modules'));
}

/** zod's value export names, as the installed package gives them. */
export async function zodValueExports(root: string): Promise<Set<string>> {
  const url = new URL(`file://${join(root, 'node_modules', 'zod', 'index.js')}`);
  const zod = (await import(url.href)) as Record<string, unknown>;
  return new Set(Object.keys(zod));
}

const cache = new Map<string, Promise<LayerZodExports>>();

/** What the layer's zod exports, computed from the repository at `root`. */
export interface LayerZodExports {
  /** The main file's (`zod`) exports, sorted. */
  readonly main: readonly string[];
  /** The `zod/json-schema` file's exports. */
  readonly jsonSchema: readonly string[];
  /** For each name, the first file (relative to root) that uses it: what the build reports. */
  readonly usedBy: ReadonlyMap<string, string>;
}

/**
 * The zod exports the layer ships: those the core, shared code and the functions use as values
 * ({@link ZOD_USE_ROOTS}, tests left out), intersected with zod's real exports; JSON Schema conversion
 * apart, in `zod/json-schema`. A file that needs the whole namespace fails the build: the layer's zod
 * could not be shaped any more, and all of it costs every cold start (about 5 ms).
 *
 * @example
 * ```ts
 * const { main } = await layerZodExports('/repo'); // ['ZodError', 'array', 'boolean', 'coerce', ...]
 * ```
 */
export function layerZodExports(root: string): Promise<LayerZodExports> {
  let found = cache.get(root);
  if (found === undefined) {
    found = computeLayerZodExports(root);
    cache.set(root, found);
    found.catch(() => cache.delete(root));
  }
  return found;
}

async function computeLayerZodExports(root: string): Promise<LayerZodExports> {
  const real = await zodValueExports(root);
  const usedBy = new Map<string, string>();
  const files = (await Promise.all(ZOD_USE_ROOTS.map((dir) => sourcesUnder(join(root, dir))))).flat().sort();
  for (const file of files) {
    const name = relative(root, file).split(sep).join('/');
    const use = zodUseOf(await readFile(file, 'utf8'), name);
    if (use.whole !== undefined) {
      throw new Error(
        `${name}: ${use.whole}; the layer's zod ships only the exports the code names (scripts/lib/zod-exports.ts): use import * as z from 'zod' and z.<name>`,
      );
    }
    for (const used of use.names) if (real.has(used) && !usedBy.has(used)) usedBy.set(used, name);
  }
  const jsonSchema = new Set<string>(ZOD_JSON_SCHEMA_EXPORTS);
  const main = [...usedBy.keys()].filter((name) => !jsonSchema.has(name)).sort();
  return { main, jsonSchema: [...ZOD_JSON_SCHEMA_EXPORTS], usedBy };
}

/** A zod export a bundled file uses that the layer's zod does not ship. */
export interface MissingZodExport {
  /** The file, relative to the root. */
  readonly file: string;
  /** The export (`tuple`), or what needs all of zod (`default import "z"`). */
  readonly name: string;
}

/**
 * The zod exports the bundled files (`inputs`, relative to root, as in esbuild's metafile) use and the
 * layer's zod lacks: at run time each would be `undefined` (`z.tuple is not a function`).
 *
 * @example
 * ```ts
 * await zodExportUses(Object.keys(result.metafile.inputs), '/repo', layer.main);
 * // [{ file: 'test/fixtures/tuple/index.ts', name: 'tuple' }]
 * ```
 */
export async function zodExportUses(
  inputs: readonly string[],
  root: string,
  shipped: readonly string[],
): Promise<MissingZodExport[]> {
  const available = new Set(shipped);
  const real = await zodValueExports(root);
  const missing: MissingZodExport[] = [];
  for (const input of inputs) {
    if (!/\.[cm]?[jt]s$/.test(input) || input.includes(':')) continue;
    // zod's own files are the layer's; they never reach a function bundle (zod is external).
    if (/(^|\/)node_modules\/zod\//.test(input)) continue;
    const text = await readFile(join(root, input), 'utf8').catch(() => '');
    const use = zodUseOf(text, input);
    if (use.whole !== undefined) missing.push({ file: input, name: use.whole });
    for (const name of [...use.names].sort()) {
      if (real.has(name) && !available.has(name)) missing.push({ file: input, name });
    }
  }
  return missing;
}
