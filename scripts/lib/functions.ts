/**
 * Finds the deployable functions: every `functions/<category>/<provider>/` folder with an `index.ts` and a
 * `function.yml`. The build, the packaging and their tests all start from this one list.
 */
import { access, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';

/** One function folder, as the build and serverless.yml see it. */
export interface FunctionSource {
  /** The key under `function:` in function.yml; equals the provider folder name. */
  readonly name: string;
  readonly category: string;
  readonly provider: string;
  /** Absolute folder path. */
  readonly dir: string;
  /** Absolute path of `index.ts`, which exports `connector` and `handler`. */
  readonly entry: string;
  /** Absolute path of `function.yml`. */
  readonly definitionFile: string;
  /** The function's serverless definition (`function.<name>`), variables unresolved. */
  readonly definition: Readonly<Record<string, unknown>>;
}

/** The handler every function.yml must name: the build writes `index.mjs` exporting `handler`. */
export const FUNCTION_HANDLER = 'index.handler';

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

async function subdirectories(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const found: string[] = [];
  for (const name of names.filter((entry) => !entry.startsWith('.')).sort()) {
    // stat, not the dirent: a linked folder counts like a real one.
    if ((await stat(join(dir, name))).isDirectory()) found.push(name);
  }
  return found;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads a function.yml and returns its single function definition, checking what the build relies on:
 * one key under `function:` equal to the provider folder name (artifacts are named after it) and
 * `handler: index.handler`.
 *
 * @example
 * ```ts
 * const { name, definition } = await readFunctionDefinition('/repo/functions/storage/s3/function.yml', 's3');
 * ```
 */
export async function readFunctionDefinition(
  file: string,
  provider: string,
): Promise<{ name: string; definition: Record<string, unknown> }> {
  // CloudFormation short tags (!GetAtt) are not resolved here; only keys and plain values are read.
  const document: unknown = parse(await readFile(file, 'utf8'), { logLevel: 'silent' });
  const functions = isRecord(document) ? document['function'] : undefined;
  if (!isRecord(functions)) throw new Error(`${file}: expected a "function:" mapping`);
  const names = Object.keys(functions);
  const [name] = names;
  if (names.length !== 1 || name === undefined) {
    throw new Error(`${file}: "function:" must hold exactly one function, found ${names.length}`);
  }
  if (name !== provider) {
    throw new Error(`${file}: the function key "${name}" must equal its folder name "${provider}"`);
  }
  const definition = functions[name];
  if (!isRecord(definition)) throw new Error(`${file}: "function.${name}" must be a mapping`);
  if (definition['handler'] !== FUNCTION_HANDLER) {
    throw new Error(`${file}: "function.${name}.handler" must be "${FUNCTION_HANDLER}" (the built entry)`);
  }
  return { name, definition };
}

/**
 * Lists every function folder under `<root>/functions`, sorted by name. Folders still missing their
 * `index.ts` or `function.yml` (work in progress) are skipped; a malformed function.yml throws.
 *
 * @example
 * ```ts
 * const functions = await discoverFunctions(process.cwd());
 * console.log(functions.map((fn) => fn.name)); // ['github', 'postgres', 's3', 'slack']
 * ```
 */
export async function discoverFunctions(root: string): Promise<FunctionSource[]> {
  const base = join(root, 'functions');
  const found: FunctionSource[] = [];
  for (const category of await subdirectories(base)) {
    for (const provider of await subdirectories(join(base, category))) {
      const dir = join(base, category, provider);
      const entry = join(dir, 'index.ts');
      const definitionFile = join(dir, 'function.yml');
      if (!(await exists(entry)) || !(await exists(definitionFile))) continue;
      const { name, definition } = await readFunctionDefinition(definitionFile, provider);
      found.push({ name, category, provider, dir, entry, definitionFile, definition });
    }
  }
  const seen = new Set<string>();
  for (const fn of found) {
    if (seen.has(fn.name))
      throw new Error(`Two function folders are named "${fn.name}": names must be unique`);
    seen.add(fn.name);
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}
