/**
 * What the generated docs are made of: every connector's own definition (the `connector` its `index.ts`
 * exports: operations with zod schemas, routes, capabilities, config schema) beside its `function.yml`
 * (triggers, deployed environment). Nothing here is written by hand twice.
 */
import { relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import type * as z from 'zod';
import { discoverFunctions } from '../lib/functions.ts';

/** One operation as the docs show it. */
export interface OperationEntry {
  readonly name: string;
  readonly description: string;
  readonly effect: 'read' | 'write';
  readonly input: z.ZodType;
  readonly output: z.ZodType;
}

/** An extra HTTP route (a webhook receiver). */
export interface RouteEntry {
  readonly method: string;
  readonly path: string;
  /** `signature`: public at the gateway, verified by the connector; `authorizer`: like operations. */
  readonly auth: 'signature' | 'authorizer';
  readonly description: string;
}

/** Everything the docs say about one connector. */
export interface ConnectorEntry {
  readonly name: string;
  readonly category: string;
  readonly version: string;
  /** The function's `description` in function.yml. */
  readonly summary: string;
  /** Repository-relative folder, with `/` separators. */
  readonly folder: string;
  readonly capabilities: readonly string[];
  readonly operations: readonly OperationEntry[];
  readonly routes: readonly RouteEntry[];
  /** The zod schema of the environment settings (keys are variable names). */
  readonly config: z.ZodObject<Record<string, z.ZodType>>;
  /** `environment:` of function.yml, variables unresolved. */
  readonly environment: Readonly<Record<string, unknown>>;
  /** `events:` of function.yml. */
  readonly events: readonly unknown[];
}

/** The shape of `connector` the docs rely on (see `layers/core/src/connector/define.ts`). */
interface LoadedConnector {
  name: string;
  version: string;
  runtime: {
    capabilities: readonly string[];
    configSchema: z.ZodObject<Record<string, z.ZodType>>;
    operations: Record<
      string,
      { description: string; effect?: 'read' | 'write'; input: z.ZodType; output: z.ZodType }
    >;
    routes: { method: string; path: string; auth: 'signature' | 'authorizer'; description: string }[];
  };
}

function isLoadedConnector(value: unknown): value is LoadedConnector {
  const candidate = value as Partial<LoadedConnector> | undefined;
  return (
    typeof candidate?.name === 'string' &&
    typeof candidate.runtime === 'object' &&
    typeof candidate.runtime.operations === 'object' &&
    typeof candidate.runtime.configSchema === 'object'
  );
}

/**
 * Imports a connector's entry with its logger silenced: loading a definition validates the config from
 * this process's environment, and the docs do not need to hear that S3_BUCKET is unset here.
 */
async function importQuietly(entry: string): Promise<unknown> {
  const previous = process.env['POWERTOOLS_LOG_LEVEL'];
  process.env['POWERTOOLS_LOG_LEVEL'] = 'SILENT';
  try {
    const module = (await import(pathToFileURL(entry).href)) as { connector?: unknown };
    return module.connector;
  } finally {
    if (previous === undefined) delete process.env['POWERTOOLS_LOG_LEVEL'];
    else process.env['POWERTOOLS_LOG_LEVEL'] = previous;
  }
}

function asRecord(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

/**
 * Loads every connector under `<root>/functions`, sorted by name, operations in their declared order.
 *
 * @example
 * ```ts
 * const connectors = await loadCatalog(process.cwd());
 * console.log(connectors.map((c) => `${c.name}: ${c.operations.length} operations`));
 * ```
 */
export async function loadCatalog(root: string): Promise<ConnectorEntry[]> {
  const entries: ConnectorEntry[] = [];
  for (const fn of await discoverFunctions(root)) {
    const connector = await importQuietly(fn.entry);
    if (!isLoadedConnector(connector)) {
      throw new Error(`${fn.entry} must export \`connector\` from defineConnector`);
    }
    if (connector.name !== fn.name) {
      throw new Error(
        `${fn.entry}: connector "${connector.name}" must be named like its folder "${fn.name}"`,
      );
    }
    const { runtime } = connector;
    entries.push({
      name: connector.name,
      category: fn.category,
      version: connector.version,
      summary: typeof fn.definition['description'] === 'string' ? fn.definition['description'] : '',
      folder: relative(root, fn.dir).split('\\').join('/'),
      capabilities: [...runtime.capabilities],
      operations: Object.entries(runtime.operations).map(([name, operation]) => ({
        name,
        description: operation.description,
        effect: operation.effect ?? 'read',
        input: operation.input,
        output: operation.output,
      })),
      routes: runtime.routes.map(({ method, path, auth, description }) => ({
        method,
        path,
        auth,
        description,
      })),
      config: runtime.configSchema,
      environment: asRecord(fn.definition['environment']),
      events: Array.isArray(fn.definition['events']) ? fn.definition['events'] : [],
    });
  }
  return entries;
}
