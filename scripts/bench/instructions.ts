/**
 * `node scripts/bench/instructions.ts [--variant core]... [--init] [--runs 3] [--out-dir <dir>]`: counts the
 * machine instructions of one cold start per variant (the cold harness in a fresh process, production
 * NODE_OPTIONS) under valgrind's callgrind, beside the ESM floor, and prints each variant's count over the
 * floor and its ratio to the raw handler's. Wall and CPU time move with other load on a shared machine;
 * this count moves far less, so it confirms a cold-start change that interleaved timing rounds can only
 * suggest. node runs with `--random-seed=1` alone: it fixes V8's hash seed (drawn at random otherwise, and
 * finding it costs a random 4 to 15 million instructions) and `Math.random`, and unlike `--hash-seed` or
 * `--single-threaded` it leaves V8's flag hash alone, so node keeps using the code cache its built-in modules
 * ship with (with those flags it compiled each built-in from source, about eight times the instructions
 * Lambda's node spends). V8's background threads still move a count by a few tenths of a percent: each
 * figure is the median of `--runs` processes (their spread printed).
 * Builds the benchmark's bundles into `<out-dir>` first (default `bench/out/instructions`). Needs `valgrind`.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { ColdTask } from './harness/protocol.ts';
import { buildBench, VARIANT_BUNDLES, type VariantBundle } from './lib/build.ts';
import { lambdaEnvironment } from './lib/env.ts';
import { httpEventText } from './lib/events.ts';

const root = resolve(import.meta.dirname, '..', '..');
const { values } = parseArgs({
  options: {
    variant: { type: 'string', multiple: true },
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
const built = await buildBench(root, outDir);
const event = values.init ? undefined : httpEventText();

/** Instructions of one fresh process running `script` (the floor when `bundle` is undefined). */
function countOnce(script: string, bundle?: string): number {
  const env: Record<string, string> = lambdaEnvironment({
    functionName: 'bench-instructions',
    tracing: false,
    xrayDaemon: '127.0.0.1:2000',
    // Nothing listens there: a variant that reads a secret fails instead of timing a network wait.
    secretsEndpoint: 'http://127.0.0.1:9',
  });
  if (bundle !== undefined) {
    const task: ColdTask = {
      bundleUrl: pathToFileURL(bundle).href,
      kind: 'http',
      functionName: 'bench-instructions',
      ...(event === undefined ? {} : { event }),
    };
    env['BENCH_TASK'] = JSON.stringify(task);
  }
  const stderrFile = join(outDir, 'instructions.stderr');
  const stderr = openSync(stderrFile, 'w');
  const run = spawnSync(
    'valgrind',
    ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--random-seed=1', script],
    { env, stdio: ['ignore', 'ignore', stderr, 'pipe'] },
  );
  closeSync(stderr);
  const log = readFileSync(stderrFile, 'utf8');
  const collected = /Collected : (\d+)/.exec(log)?.[1];
  if (run.status !== 0 || collected === undefined) {
    throw new Error(`${bundle ?? 'floor'}: exit ${run.status} (valgrind installed?)\n${log.slice(-1500)}`);
  }
  return Number(collected);
}

/** The median of `runs` counts, and how far apart they were (max - min, as a share of the median). */
function count(script: string, bundle?: string): { median: number; spread: number } {
  const counts = Array.from({ length: runs }, () => countOnce(script, bundle)).sort((a, b) => a - b);
  const median = counts[Math.floor(counts.length / 2)] as number;
  return { median, spread: ((counts.at(-1) as number) - (counts[0] as number)) / median };
}

const floorCount = count(built.harness.floor);
const floor = floorCount.median;
const spreads = new Map<string, number>([['floor', floorCount.spread]]);
const over = new Map<string, number>();
for (const name of variants) {
  const counted = count(built.harness.cold, built.bundles[name]);
  over.set(name, counted.median - floor);
  spreads.set(name, counted.spread);
}
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
