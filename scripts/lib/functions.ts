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
  /**
   * The connector's streaming function, when function.yml declares one (`<name>-stream`): the same
   * connector's `streamOperations` behind the core's `streamingHandler`, served by a function URL with
   * response streaming. A second artifact (`<name>-stream.zip`), the same connector otherwise.
   */
  readonly stream?: StreamFunction;
}

/** A connector's second, streaming function (see {@link FunctionSource.stream}). */
export interface StreamFunction {
  /** `<connector>-stream`: the key under `function:` and the artifact's name. */
  readonly name: string;
  /** Its serverless definition, variables unresolved. */
  readonly definition: Readonly<Record<string, unknown>>;
}

/** The handler every function.yml must name: the build writes `index.mjs` exporting `handler`. */
export const FUNCTION_HANDLER = 'index.handler';

/**
 * The handler of a connector's streaming function: the build writes its `index.mjs` exporting
 * `streamHandler` (the connector's `streamOperations` behind the core's `streamingHandler`).
 */
export const STREAM_HANDLER = 'index.streamHandler';

/** The suffix of a streaming function's key: `openai-stream` beside `openai`. */
export const STREAM_SUFFIX = '-stream';

/**
 * Every deployable Lambda function of the discovered folders: each connector's function and, beside it,
 * its streaming function when it has one. What the build zips and the template must hold.
 *
 * @example
 * ```ts
 * deployableNames(await discoverFunctions(root)); // [..., 'openai', 'openai-stream', ...]
 * ```
 */
export function deployableNames(functions: readonly FunctionSource[]): string[] {
  return functions.flatMap((fn) => (fn.stream === undefined ? [fn.name] : [fn.name, fn.stream.name]));
}

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

/** A streaming function's definition must say how it is reached: an IAM-authorized streaming function URL. */
function checkStreamDefinition(file: string, name: string, definition: Record<string, unknown>): void {
  if (definition['handler'] !== STREAM_HANDLER) {
    throw new Error(`${file}: "function.${name}.handler" must be "${STREAM_HANDLER}" (the built entry)`);
  }
  const url = definition['url'];
  if (!isRecord(url) || url['invokeMode'] !== 'RESPONSE_STREAM' || url['authorizer'] !== 'aws_iam') {
    throw new Error(
      `${file}: "function.${name}.url" must be { authorizer: aws_iam, invokeMode: RESPONSE_STREAM } (a streaming function URL)`,
    );
  }
  if (definition['events'] !== undefined) {
    throw new Error(`${file}: "function.${name}" takes no events: its function URL is its only trigger`);
  }
}

/**
 * Reads a function.yml and returns its function definition, checking what the build relies on: a first
 * key under `function:` equal to the provider folder name (artifacts are named after it) with
 * `handler: index.handler`, and at most one more, `<provider>-stream`, the streaming function
 * (`handler: index.streamHandler`, `url: { authorizer: aws_iam, invokeMode: RESPONSE_STREAM }`, no events).
 *
 * @example
 * ```ts
 * const { name, definition } = await readFunctionDefinition('/repo/functions/storage/s3/function.yml', 's3');
 * ```
 */
export async function readFunctionDefinition(
  file: string,
  provider: string,
): Promise<{ name: string; definition: Record<string, unknown>; stream?: StreamFunction }> {
  // CloudFormation short tags (!GetAtt) are not resolved here; only keys and plain values are read.
  const document: unknown = parse(await readFile(file, 'utf8'), { logLevel: 'silent' });
  const functions = isRecord(document) ? document['function'] : undefined;
  if (!isRecord(functions)) throw new Error(`${file}: expected a "function:" mapping`);
  const names = Object.keys(functions);
  const [name, second] = names;
  const streamName = `${provider}${STREAM_SUFFIX}`;
  if (names.length === 0 || names.length > 2 || name === undefined) {
    throw new Error(
      `${file}: "function:" must hold one function (and at most its streaming one, ${streamName}), found ${names.length}`,
    );
  }
  if (second !== undefined && second !== streamName) {
    throw new Error(`${file}: a second function must be the streaming one, "${streamName}", not "${second}"`);
  }
  if (name !== provider) {
    throw new Error(`${file}: the function key "${name}" must equal its folder name "${provider}"`);
  }
  const definition = functions[name];
  if (!isRecord(definition)) throw new Error(`${file}: "function.${name}" must be a mapping`);
  if (definition['handler'] !== FUNCTION_HANDLER) {
    throw new Error(`${file}: "function.${name}.handler" must be "${FUNCTION_HANDLER}" (the built entry)`);
  }
  if (second === undefined) return { name, definition };
  const streamDefinition = functions[second];
  if (!isRecord(streamDefinition)) throw new Error(`${file}: "function.${second}" must be a mapping`);
  checkStreamDefinition(file, second, streamDefinition);
  return { name, definition, stream: { name: second, definition: streamDefinition } };
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
      const { name, definition, stream } = await readFunctionDefinition(definitionFile, provider);
      found.push({
        name,
        category,
        provider,
        dir,
        entry,
        definitionFile,
        definition,
        ...(stream === undefined ? {} : { stream }),
      });
    }
  }
  const seen = new Set<string>();
  for (const name of deployableNames(found)) {
    if (seen.has(name)) throw new Error(`Two functions are named "${name}": names must be unique`);
    seen.add(name);
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}
