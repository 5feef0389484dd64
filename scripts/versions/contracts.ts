/**
 * Connectors' contracts on disk and in code: the contract a connector's definition has now (each
 * operation's effect, deprecation and input/output JSON Schema, descriptions stripped) and the released ones
 * in `functions/<category>/<name>/schema/<version>.json`, which `npm run schemas:release` writes.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as z from 'zod';
import { discoverFunctions } from '../lib/functions.ts';
import {
  type ConnectorContract,
  type JsonSchema,
  type OperationContract,
  stripAnnotations,
} from './compat.ts';
import { compareVersions, parseVersion } from './policy.ts';

/** The shape of `connector` this module reads (see `layers/core/src/connector/define.ts`). */
interface DefinedConnector {
  name: string;
  version: string;
  runtime: {
    operations: Record<
      string,
      {
        effect?: 'read' | 'write';
        deprecated?: { since: string; use?: string };
        input: z.ZodType;
        output: z.ZodType;
      }
    >;
  };
}

/** A connector found in the repository, with its folder and its contract as the code defines it now. */
export interface ConnectorVersions {
  readonly name: string;
  /** Absolute folder, `functions/<category>/<name>`. */
  readonly dir: string;
  /** Repository-relative folder with `/` separators, for messages. */
  readonly folder: string;
  readonly current: ConnectorContract;
}

/**
 * An operation's schema as a snapshot keeps it: JSON Schema 2020-12 from zod, the side asked for, without
 * annotations.
 */
function snapshotSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'throw' });
  return stripAnnotations(json) as JsonSchema;
}

/**
 * The contract a defined connector offers now.
 *
 * @example
 * ```ts
 * const contract = contractOf(connector); // { connector: 's3', version: '1.0.0', operations: { ... } }
 * ```
 */
export function contractOf(connector: DefinedConnector): ConnectorContract {
  const operations: Record<string, OperationContract> = {};
  for (const [name, operation] of Object.entries(connector.runtime.operations)) {
    operations[name] = {
      effect: operation.effect ?? 'read',
      ...(operation.deprecated === undefined ? {} : { deprecated: { ...operation.deprecated } }),
      input: snapshotSchema(operation.input, 'input'),
      output: snapshotSchema(operation.output, 'output'),
    };
  }
  return { connector: connector.name, version: connector.version, operations };
}

/** Imports a connector with its logger silenced: loading it validates config this process does not have. */
async function importQuietly(entry: string): Promise<unknown> {
  const previous = process.env['POWERTOOLS_LOG_LEVEL'];
  process.env['POWERTOOLS_LOG_LEVEL'] = 'SILENT';
  try {
    return ((await import(pathToFileURL(entry).href)) as { connector?: unknown }).connector;
  } finally {
    if (previous === undefined) delete process.env['POWERTOOLS_LOG_LEVEL'];
    else process.env['POWERTOOLS_LOG_LEVEL'] = previous;
  }
}

/**
 * Every connector under `<root>/functions` with its current contract, sorted by name.
 *
 * @example
 * ```ts
 * for (const { name, current } of await loadConnectors(process.cwd())) console.log(name, current.version);
 * ```
 */
export async function loadConnectors(root: string): Promise<ConnectorVersions[]> {
  const found: ConnectorVersions[] = [];
  for (const fn of await discoverFunctions(root)) {
    const connector = (await importQuietly(fn.entry)) as DefinedConnector | undefined;
    if (typeof connector?.runtime?.operations !== 'object') {
      throw new Error(`${fn.entry} must export \`connector\` from defineConnector`);
    }
    parseVersion(connector.version);
    found.push({
      name: fn.name,
      dir: fn.dir,
      folder: relative(root, fn.dir).split('\\').join('/'),
      current: contractOf(connector),
    });
  }
  return found.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Where the released contract of `version` lives. */
export function snapshotFile(dir: string, version: string): string {
  return join(dir, 'schema', `${version}.json`);
}

/**
 * The released contracts in `<dir>/schema`, oldest first; a file whose name is not its version, or that
 * names another connector, is an error.
 *
 * @example
 * ```ts
 * const history = await readSnapshots('/repo/functions/storage/s3', 's3');
 * ```
 */
export async function readSnapshots(dir: string, connector: string): Promise<ConnectorContract[]> {
  let names: string[];
  try {
    names = await readdir(join(dir, 'schema'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const history: ConnectorContract[] = [];
  for (const name of names.filter((file) => file.endsWith('.json'))) {
    const file = join(dir, 'schema', name);
    const contract = JSON.parse(await readFile(file, 'utf8')) as ConnectorContract;
    if (`${contract.version}.json` !== name || contract.connector !== connector) {
      throw new Error(`${file} holds ${contract.connector} ${contract.version}, not ${connector} ${name}`);
    }
    history.push(contract);
  }
  return history.sort((a, b) => compareVersions(a.version, b.version));
}

/**
 * Writes a released contract, laid out the way `biome format` does so the repository's lint stays clean.
 *
 * @example
 * ```ts
 * await writeSnapshot(root, '/repo/functions/storage/s3', contract); // functions/storage/s3/schema/1.0.0.json
 * ```
 */
export async function writeSnapshot(root: string, dir: string, contract: ConnectorContract): Promise<string> {
  const file = snapshotFile(dir, contract.version);
  const biome = spawnSync(
    join(root, 'node_modules', '.bin', 'biome'),
    ['format', `--stdin-file-path=${relative(root, file)}`],
    {
      cwd: root,
      input: `${JSON.stringify(contract, null, 2)}\n`,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (biome.status !== 0)
    throw new Error(`biome format ${file} failed: ${biome.stderr || biome.error?.message}`);
  await mkdir(join(dir, 'schema'), { recursive: true });
  await writeFile(file, biome.stdout);
  return file;
}

/** The connector's CHANGELOG.md, `undefined` when it has none. */
export async function readChangelog(dir: string): Promise<string | undefined> {
  try {
    return await readFile(join(dir, 'CHANGELOG.md'), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
