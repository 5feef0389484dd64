/**
 * The repository's functions in the benchmark: every function `scripts/lib/functions.ts` discovers from
 * `functions/<category>/<provider>/function.yml`, built like production (`buildArtifacts`), laid out the
 * way Lambda resolves modules (the local stack's task root: the bundle, and beside it the layer and the
 * runtime's AWS SDK), with the environment its function.yml declares plus the settings of its local peer,
 * and the `GET /<name>/health` event its health route receives.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { httpEvent } from '../../../layers/core/src/testing/events.ts';
import { type ArtifactSize, buildArtifacts } from '../../lib/artifacts.ts';
import type { FunctionSource } from '../../lib/functions.ts';
import { prepareRuntime, prepareTaskRoot } from '../../local/functions/task-root.ts';
import { productionNodeOptions } from './env.ts';
import { GATEWAY_HEADERS } from './events.ts';
import { type FunctionPeer, type SecretStore, startCoordinationPeer, startPeers } from './peers.ts';

/** One repository function, ready for cold starts. */
export interface BenchFunction {
  readonly name: string;
  /** Its folder (`functions/<category>/<provider>`), where its README is. */
  readonly dir: string;
  /** `<task root>/index.mjs`. */
  readonly bundle: string;
  /** Its function.yml environment (literal values) and its peer's settings. */
  readonly env: Readonly<Record<string, string>>;
  /** `GET /<name>/health` through the HTTP API, as JSON text. */
  readonly healthEvent: string;
  /** Its README has a section on its size (a heading with "size"): the reason a bundle may pass 300 KiB. */
  readonly sizeExplained: boolean;
}

/** A heading about size in a connector's README ("## Size and cold start"). */
export const SIZE_HEADING = /^#{2,} [^\n]*\bsize\b/im;

export interface PreparedFunctions {
  readonly functions: readonly BenchFunction[];
  /** Every artifact of the production build (functions and layer). */
  readonly sizes: readonly ArtifactSize[];
  close(): Promise<void>;
}

/**
 * Variables the benchmark cannot honour outside Lambda: `NODE_EXTRA_CA_CERTS` names the runtime's RDS CA
 * bundle (`/var/runtime/ca-cert.pem`), which does not exist here (Node would warn on every start).
 */
const SKIPPED_VARIABLES = new Set(['NODE_EXTRA_CA_CERTS']);

/**
 * The literal settings of a function.yml, and table names (a table's `Ref`); other values with `${...}`
 * variables or CloudFormation functions are deploy-time facts: the function's peer supplies what the
 * benchmark needs.
 */
function literalEnvironment(fn: FunctionSource): Record<string, string> {
  const declared = fn.definition['environment'];
  const env: Record<string, string> = {};
  if (typeof declared !== 'object' || declared === null) return env;
  for (const [name, value] of Object.entries(declared)) {
    if (SKIPPED_VARIABLES.has(name)) continue;
    if (typeof value === 'string' && !value.includes('${')) env[name] = value;
    else if (typeof value === 'number' || typeof value === 'boolean') env[name] = String(value);
    // A table's `Ref` is its name: settings such as CIRCLE_IDEMPOTENCY_TABLE stay on, as deployed.
    else if (name.endsWith('_TABLE') && typeof value === 'object' && value !== null && 'Ref' in value) {
      env[name] = String((value as { Ref: unknown }).Ref);
    }
  }
  return env;
}

function healthEvent(name: string): string {
  const { 'content-length': _length, ...headers } = GATEWAY_HEADERS;
  return JSON.stringify(httpEvent({ method: 'GET', path: `/${name}/health`, headers }));
}

/**
 * Builds every function and the layer into `<work>/build`, lays out a task root per function under
 * `<work>/lambda`, and starts each function's peer.
 *
 * @example
 * ```ts
 * const prepared = await prepareFunctions('/repo', '/repo/bench/out', secretsFake);
 * try { ... } finally { await prepared.close(); }
 * ```
 */
export async function prepareFunctions(
  root: string,
  work: string,
  secrets: SecretStore,
): Promise<PreparedFunctions> {
  const buildDir = join(work, 'build');
  const { functions, sizes } = await buildArtifacts({ root, outDir: buildDir });
  const lambdaRoot = join(work, 'lambda');
  const modules = await prepareRuntime({ buildDir, root: lambdaRoot, repoRoot: root });
  const peers: Map<string, FunctionPeer> = await startPeers(functions, secrets);
  const coordinationTables = [
    ...new Set(functions.map((fn) => literalEnvironment(fn)['CIRCLE_COORDINATION_TABLE']).filter((t) => t)),
  ] as string[];
  const coordination =
    coordinationTables.length === 0
      ? undefined
      : await startCoordinationPeer(coordinationTables).catch(async (error: unknown) => {
          await Promise.allSettled([...peers.values()].map((peer) => peer.close()));
          throw error;
        });
  const prepared: BenchFunction[] = [];
  // One entry per connector. A connector's streaming function (`openai-stream`, fn.stream) is left out on
  // purpose: it is the same connector's code and init behind another entry, it has no health request to
  // time (its function URL serves `chat-stream` only), and its bundle size is in the build's size table.
  for (const fn of functions) {
    const taskRoot = join(lambdaRoot, 'task', fn.name);
    await prepareTaskRoot({ buildDir, key: fn.name, target: taskRoot, modules });
    prepared.push({
      name: fn.name,
      dir: fn.dir,
      bundle: join(taskRoot, 'index.mjs'),
      // Any AWS call not pointed at a peer fails fast on a closed port instead of reaching AWS; the
      // coordination table, where function.yml sets one, is a real one (its rate budget's UpdateItem).
      env: {
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
        ...literalEnvironment(fn),
        ...(literalEnvironment(fn)['CIRCLE_COORDINATION_TABLE'] === undefined ? {} : coordination?.env),
        ...peers.get(fn.name)?.env,
      },
      healthEvent: healthEvent(fn.name),
      sizeExplained: SIZE_HEADING.test(await readFile(join(fn.dir, 'README.md'), 'utf8').catch(() => '')),
    });
  }
  return {
    functions: prepared,
    sizes,
    close: async () => {
      await Promise.allSettled(
        [...peers.values(), ...(coordination ? [coordination] : [])].map((peer) => peer.close()),
      );
    },
  };
}

/** A function as another checkout builds it, to measure a change side by side (`--baseline`). */
export interface BaselineFunction {
  readonly name: string;
  readonly bundle: string;
  /** The baseline's production NODE_OPTIONS (its serverless.yml), since it ran with them. */
  readonly nodeOptions: string;
}

/**
 * Builds the functions of `checkout` (another copy of the repository, e.g. `git worktree` of an older
 * commit) with that checkout's own build scripts into `<work>/baseline`, and lays them out like the current
 * ones. Only functions the current build also has are kept: they reuse its environment and peers.
 *
 * @example
 * ```ts
 * const baseline = await prepareBaselineFunctions('/tmp/main-before', '/repo', '/repo/bench/out', prepared);
 * ```
 */
export async function prepareBaselineFunctions(
  checkout: string,
  root: string,
  work: string,
  current: PreparedFunctions,
): Promise<BaselineFunction[]> {
  const buildDir = join(work, 'baseline', 'build');
  const artifacts = (await import(pathToFileURL(join(checkout, 'scripts', 'lib', 'artifacts.ts')).href)) as {
    buildArtifacts: typeof buildArtifacts;
  };
  const { functions } = await artifacts.buildArtifacts({ root: checkout, outDir: buildDir });
  const lambdaRoot = join(work, 'baseline', 'lambda');
  const modules = await prepareRuntime({ buildDir, root: lambdaRoot, repoRoot: root });
  const nodeOptions = productionNodeOptions(checkout);
  const baseline: BaselineFunction[] = [];
  for (const fn of functions) {
    if (!current.functions.some((candidate) => candidate.name === fn.name)) continue;
    const taskRoot = join(lambdaRoot, 'task', fn.name);
    await prepareTaskRoot({ buildDir, key: fn.name, target: taskRoot, modules });
    baseline.push({ name: fn.name, bundle: join(taskRoot, 'index.mjs'), nodeOptions });
  }
  return baseline;
}
