/**
 * `node scripts/bench/instructions.ts [--variant core]... [--function postgres]... [--init] [--runs 3]
 * [--out-dir <dir>] [--callgrind-dir <dir>] [--compile-cache]`: counts the machine instructions of one cold
 * start per variant or repository function (the cold harness in a fresh process, production NODE_OPTIONS; a
 * function answers its health route against its local peer, as in the bench's function table) under
 * valgrind's callgrind, beside the ESM floor, and prints each count over the floor and its ratio to the raw
 * handler's. Wall and CPU time move with other load on a shared machine; this count moves far less, so it
 * confirms a cold-start change that interleaved timing rounds can only suggest. node runs with
 * `--random-seed=1` alone: it fixes V8's hash seed (drawn at random otherwise, and finding it costs a random
 * 4 to 15 million instructions) and `Math.random`, and unlike `--hash-seed` or `--single-threaded` it leaves
 * V8's flag hash alone, so node keeps using the code cache its built-in modules ship with (with those flags
 * it compiled each built-in from source, about eight times the instructions Lambda's node spends). V8's
 * background threads still move a count by a few tenths of a percent, up to 1.6% on a busy day: each figure
 * is the median of `--runs` processes (their spread printed).
 * Builds the benchmark's bundles into `<out-dir>` first (default `bench/out/instructions`), and the
 * repository's functions with their peers when `--function` names any. `--callgrind-dir` keeps each row's
 * callgrind file (`<dir>/<row>.out`, the last run's) for `callgrind_annotate`. `--compile-cache` gives each
 * row its own `NODE_COMPILE_CACHE` under `<out-dir>/compile-cache`, written by one uncounted process first:
 * what a compile cache made by this very node binary would save (README: why the build ships none). Needs
 * `valgrind`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { startSecretsManagerFake } from '../../test/fakes/secrets-manager.ts';
import type { ColdTask } from './harness/protocol.ts';
import { buildBench, VARIANT_BUNDLES, type VariantBundle } from './lib/build.ts';
import { lambdaEnvironment } from './lib/env.ts';
import { httpEventText } from './lib/events.ts';
import { type BenchFunction, prepareFunctions } from './lib/functions.ts';
import { BENCH_SECRET } from './lib/probes.ts';

const root = resolve(import.meta.dirname, '..', '..');
const { values } = parseArgs({
  options: {
    variant: { type: 'string', multiple: true },
    function: { type: 'string', multiple: true },
    'callgrind-dir': { type: 'string' },
    'compile-cache': { type: 'boolean', default: false },
    init: { type: 'boolean', default: false },
    runs: { type: 'string', default: '3' },
    'out-dir': { type: 'string', default: 'bench/out/instructions' },
  },
  strict: true,
});
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1 || runs > 15)
  throw new Error(`--runs ${values.runs}: an integer 1..15`);
const wanted = (values.variant ?? ['raw-http', 'core']) as VariantBundle[];
for (const name of wanted) {
  if (!VARIANT_BUNDLES.includes(name))
    throw new Error(`unknown variant ${name}: ${VARIANT_BUNDLES.join(', ')}`);
}
const variants: VariantBundle[] = wanted.includes('raw-http') ? wanted : ['raw-http', ...wanted];
const outDir = resolve(root, values['out-dir']);
await mkdir(outDir, { recursive: true });
const built = await buildBench(root, outDir);
const event = values.init ? undefined : httpEventText();

/** What one counted process runs: a variant's bundle or a repository function, with its event. */
interface Target {
  /** Its row in the output, and the name of its callgrind file under `--callgrind-dir`. */
  readonly name: string;
  readonly bundle: string;
  readonly event: string | undefined;
  readonly env: Readonly<Record<string, string>>;
}

// Variants that read a secret read the bench's from this fake, as in `npm run bench`; the functions' peers
// keep theirs here too.
const secrets = await startSecretsManagerFake({ [BENCH_SECRET]: 'bench-api-token-value' });
const callgrindDir = values['callgrind-dir'] === undefined ? undefined : resolve(values['callgrind-dir']);
if (callgrindDir !== undefined) await mkdir(callgrindDir, { recursive: true });

/**
 * Instructions of one fresh process running `script` (the floor when `target` is undefined). Asynchronous:
 * the Secrets Manager fake and the functions' peers answer from this process while the child runs. `fill`
 * runs it without valgrind and counts nothing (it writes the compile cache).
 */
async function countOnce(script: string, target?: Target, fill = false): Promise<number> {
  const env: Record<string, string> = {
    ...lambdaEnvironment({
      functionName: 'bench-instructions',
      tracing: false,
      xrayDaemon: '127.0.0.1:2000',
      secretsEndpoint: secrets.endpoint,
      extra: { BENCH_SECRET_NAME: BENCH_SECRET },
    }),
    ...target?.env,
  };
  const row = (target?.name ?? 'floor').replace(' ', '-');
  if (values['compile-cache']) env['NODE_COMPILE_CACHE'] = join(outDir, 'compile-cache', row);
  if (target !== undefined) {
    const task: ColdTask = {
      bundleUrl: pathToFileURL(target.bundle).href,
      kind: 'http',
      functionName: 'bench-instructions',
      ...(target.event === undefined ? {} : { event: target.event }),
    };
    env['BENCH_TASK'] = JSON.stringify(task);
  }
  const outFile = callgrindDir === undefined ? '/dev/null' : join(callgrindDir, `${row}.out`);
  const stderrFile = join(outDir, 'instructions.stderr');
  const stderr = openSync(stderrFile, 'w');
  const node = [process.execPath, '--random-seed=1', script];
  const child = fill
    ? spawn(node[0] as string, node.slice(1), { env, stdio: ['ignore', 'ignore', stderr, 'pipe'] })
    : spawn('valgrind', ['--tool=callgrind', `--callgrind-out-file=${outFile}`, ...node], {
        env,
        stdio: ['ignore', 'ignore', stderr, 'pipe'],
      });
  const [status] = (await once(child, 'exit')) as [number | null];
  closeSync(stderr);
  const log = readFileSync(stderrFile, 'utf8');
  const collected = fill ? '0' : /Collected : (\d+)/.exec(log)?.[1];
  if (status !== 0 || collected === undefined) {
    throw new Error(`${target?.name ?? 'floor'}: exit ${status} (valgrind installed?)\n${log.slice(-1500)}`);
  }
  return Number(collected);
}

/** The median of `runs` counts, and how far apart they were (max - min, as a share of the median). */
async function count(script: string, target?: Target): Promise<{ median: number; spread: number }> {
  // With --compile-cache, one process outside valgrind first writes the cache the counted ones read.
  if (values['compile-cache']) await countOnce(script, target, true);
  const counts: number[] = [];
  for (let run = 0; run < runs; run += 1) counts.push(await countOnce(script, target));
  counts.sort((a, b) => a - b);
  const median = counts[Math.floor(counts.length / 2)] as number;
  return { median, spread: ((counts.at(-1) as number) - (counts[0] as number)) / median };
}

const floorCount = await count(built.harness.floor);
const floor = floorCount.median;
const spreads = new Map<string, number>([['floor', floorCount.spread]]);
const over = new Map<string, number>();
for (const name of variants) {
  const counted = await count(built.harness.cold, { name, bundle: built.bundles[name], event, env: {} });
  over.set(name, counted.median - floor);
  spreads.set(name, counted.spread);
}
if (values.function !== undefined && values.function.length > 0) {
  const prepared = await prepareFunctions(root, outDir, secrets);
  try {
    for (const name of values.function) {
      const fn: BenchFunction | undefined = prepared.functions.find((candidate) => candidate.name === name);
      if (fn === undefined) {
        throw new Error(`unknown function ${name}: ${prepared.functions.map((f) => f.name).join(', ')}`);
      }
      const counted = await count(built.harness.cold, {
        name: `function ${name}`,
        bundle: fn.bundle,
        event: values.init ? undefined : fn.healthEvent,
        env: fn.env,
      });
      over.set(`function ${name}`, counted.median - floor);
      spreads.set(`function ${name}`, counted.spread);
    }
  } finally {
    await prepared.close();
  }
}
await secrets.close();
const spread = (name: string): string => `(spread ${((spreads.get(name) ?? 0) * 100).toFixed(1)}%)`;
const raw = over.get('raw-http') ?? Number.NaN;
const millions = (value: number): string => (value / 1e6).toFixed(1).padStart(8);
console.log(
  `cold start ${values.init ? '(init only)' : '(init + one HTTP call)'}, instructions, median of ${runs} processes`,
);
console.log(`${'floor'.padEnd(22)}${millions(floor)} M ${spread('floor')}`);
for (const [name, value] of over) {
  console.log(
    `${name.padEnd(22)}${millions(value)} M over the floor, ${(value / raw).toFixed(2)} x raw ${spread(name)}`,
  );
}
