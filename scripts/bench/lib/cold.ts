/**
 * Cold start proxy: a fresh `node` process that imports a variant (init included, secret fetch too),
 * invokes it once (or not, for init alone) and exits, timed from spawn to exit; an ESM floor script that
 * loads nothing is timed in the same rounds and subtracted, so what remains is the variant's own start-up
 * cost. Each process also reports the CPU time it used, a second figure that other load on the machine
 * disturbs much less than wall time.
 */
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { ColdResult, ColdTask } from '../harness/protocol.ts';
import { timeProcess } from './child.ts';
import { median } from './stats.ts';

export interface ColdVariant {
  readonly id: string;
  readonly bundle: string;
  /** The event of the one invocation; absent to measure init alone. */
  readonly event?: string;
  readonly trigger: 'http' | 'sqs';
  /**
   * Runs only in every `every`-th round (0, every, 2 * every, ...), default every round: the repository's
   * functions (two variants each) take fewer runs than the core variants so a full run stays in budget.
   */
  readonly every?: number;
}

export interface ColdFigures {
  /** Median spawn-to-exit time. */
  readonly medianMs: number;
  /** Median over rounds of (this run - the floor run of the same round). */
  readonly overFloorMs: number;
  /** Median time from the child's start to its first answer (its own clock: no spawn, no exit). */
  readonly firstResultMs: number;
  /** Median CPU time to the first answer minus the floor's (same round): less sensitive to other load. */
  readonly cpuOverFloorMs: number;
  readonly runs: readonly number[];
}

export interface ColdOutcome {
  readonly floor: { readonly medianMs: number; readonly cpuMs: number; readonly runs: readonly number[] };
  readonly variants: Readonly<Record<string, ColdFigures>>;
}

export interface ColdOptions {
  readonly harness: string;
  /** The floor script (harness/floor.ts). */
  readonly floor: string;
  readonly runs: number;
  readonly environment: (variant: ColdVariant | undefined) => Record<string, string>;
  readonly logsDir: string;
  readonly progress: (message: string) => void;
}

const FLOOR = 'floor';

interface ColdRun {
  wallMs: number;
  cpuMs: number;
  firstResultMs?: number;
}

/** One fresh process: the floor when `variant` is undefined. */
async function runOnce(variant: ColdVariant | undefined, options: ColdOptions): Promise<ColdRun> {
  const stderrFile = join(options.logsDir, `cold-${variant?.id ?? FLOOR}.stderr`);
  const env = options.environment(variant);
  if (variant === undefined) {
    const floor = await timeProcess({ script: options.floor, env, stderrFile });
    return { wallMs: floor.wallMs, cpuMs: (JSON.parse(floor.line) as { cpuMs: number }).cpuMs };
  }
  const task: ColdTask = {
    bundleUrl: pathToFileURL(variant.bundle).href,
    kind: variant.trigger,
    functionName: `bench-${variant.id}`,
    ...(variant.event === undefined ? {} : { event: variant.event }),
  };
  const { wallMs, line } = await timeProcess({ script: options.harness, task, env, stderrFile });
  const result = JSON.parse(line) as ColdResult;
  if (!result.ok) {
    throw new Error(`cold ${variant.id}: the first invocation did not succeed (see ${stderrFile})`);
  }
  return { wallMs, cpuMs: result.cpuMs, firstResultMs: result.firstResultMs };
}

/** Appends to the list kept under `key`. */
function push(map: Map<string, number[]>, key: string, value: number): void {
  const list = map.get(key) ?? [];
  list.push(value);
  map.set(key, list);
}

/**
 * Runs `runs` rounds; each round times the floor and every variant once, in a rotated order.
 *
 * @example
 * ```ts
 * const { floor, variants } = await runColdRounds(coldVariants, options);
 * ```
 */
export async function runColdRounds(
  variants: readonly ColdVariant[],
  options: ColdOptions,
): Promise<ColdOutcome> {
  const ids = [FLOOR, ...variants.map((variant) => variant.id)];
  const wall = new Map<string, number[]>();
  const overFloor = new Map<string, number[]>();
  const cpu = new Map<string, number[]>();
  const cpuOverFloor = new Map<string, number[]>();
  const first = new Map<string, number[]>();
  for (let round = 0; round < options.runs; round += 1) {
    const present = ids.filter((id) => {
      const every = variants.find((candidate) => candidate.id === id)?.every ?? 1;
      return round % every === 0;
    });
    const shift = round % present.length;
    const order = [...present.slice(shift), ...present.slice(0, shift)];
    const runs = new Map<string, ColdRun>();
    for (const id of order) {
      runs.set(
        id,
        await runOnce(
          variants.find((candidate) => candidate.id === id),
          options,
        ),
      );
    }
    const floor = runs.get(FLOOR) ?? { wallMs: Number.NaN, cpuMs: Number.NaN };
    for (const [id, run] of runs) {
      push(wall, id, run.wallMs);
      push(overFloor, id, run.wallMs - floor.wallMs);
      push(cpu, id, run.cpuMs);
      push(cpuOverFloor, id, run.cpuMs - floor.cpuMs);
      if (run.firstResultMs !== undefined) push(first, id, run.firstResultMs);
    }
    options.progress(
      `  cold run ${round + 1}/${options.runs}: ${order.map((id) => `${id} ${(runs.get(id)?.wallMs ?? 0).toFixed(0)} ms`).join(', ')}`,
    );
  }
  const figures: Record<string, ColdFigures> = {};
  for (const variant of variants) {
    const runs = wall.get(variant.id) ?? [];
    figures[variant.id] = {
      medianMs: median(runs),
      overFloorMs: median(overFloor.get(variant.id) ?? []),
      firstResultMs: median(first.get(variant.id) ?? []),
      cpuOverFloorMs: median(cpuOverFloor.get(variant.id) ?? []),
      runs,
    };
  }
  const floorRuns = wall.get(FLOOR) ?? [];
  return {
    floor: { medianMs: median(floorRuns), cpuMs: median(cpu.get(FLOOR) ?? []), runs: floorRuns },
    variants: figures,
  };
}
