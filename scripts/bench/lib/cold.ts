/**
 * Cold start proxy: a fresh `node` process that imports a variant (init included, secret fetch too),
 * invokes it once and exits, timed from spawn to exit; a bare `node -e 0` is timed in the same rounds and
 * subtracted, so what remains is the variant's own start-up cost.
 */
import { join } from 'node:path';
import type { ColdResult, InvocationTask } from '../harness/protocol.ts';
import { timeProcess } from './child.ts';
import { median } from './stats.ts';

export interface ColdVariant {
  readonly id: string;
  readonly bundle: string;
  readonly event: string;
  readonly trigger: 'http' | 'sqs';
}

export interface ColdFigures {
  /** Median spawn-to-exit time. */
  readonly medianMs: number;
  /** Median over rounds of (this run - the floor run of the same round). */
  readonly overFloorMs: number;
  /** Median time from the child's start to its first answer (its own clock: no spawn, no exit). */
  readonly firstResultMs: number;
  readonly runs: readonly number[];
}

export interface ColdOutcome {
  readonly floor: { readonly medianMs: number; readonly runs: readonly number[] };
  readonly variants: Readonly<Record<string, ColdFigures>>;
}

export interface ColdOptions {
  readonly harness: string;
  readonly runs: number;
  readonly environment: (variant: ColdVariant | undefined) => Record<string, string>;
  readonly logsDir: string;
  readonly progress: (message: string) => void;
}

const FLOOR = 'floor';

/**
 * Runs `runs` rounds; each round times the floor and every variant once, in a rotated order.
 *
 * @example
 * ```ts
 * const { floor, variants } = await runColdRounds(coldVariants, options);
 * ```
 */
export async function runColdRounds(variants: readonly ColdVariant[], options: ColdOptions): Promise<ColdOutcome> {
  const ids = [FLOOR, ...variants.map((variant) => variant.id)];
  const wall = new Map<string, number[]>(ids.map((id) => [id, []]));
  const first = new Map<string, number[]>(ids.map((id) => [id, []]));
  const overFloor = new Map<string, number[]>(ids.map((id) => [id, []]));
  for (let round = 0; round < options.runs; round += 1) {
    const shift = round % ids.length;
    const order = [...ids.slice(shift), ...ids.slice(0, shift)];
    const times = new Map<string, number>();
    for (const id of order) {
      const variant = variants.find((candidate) => candidate.id === id);
      const stderrFile = join(options.logsDir, `cold-${id}.stderr`);
      const env = options.environment(variant);
      if (variant === undefined) {
        times.set(id, (await timeProcess({ env, stderrFile })).wallMs);
        continue;
      }
      const task: InvocationTask = {
        bundle: variant.bundle,
        event: variant.event,
        kind: variant.trigger,
        functionName: `bench-${variant.id}`,
        traced: false,
      };
      const { wallMs, line } = await timeProcess({ script: options.harness, task, env, stderrFile });
      const result = JSON.parse(line) as ColdResult;
      if (!result.ok) throw new Error(`cold ${id}: the first invocation did not succeed`);
      times.set(id, wallMs);
      first.get(id)?.push(result.firstResultMs);
    }
    const floor = times.get(FLOOR) ?? Number.NaN;
    for (const [id, ms] of times) {
      wall.get(id)?.push(ms);
      overFloor.get(id)?.push(ms - floor);
    }
    options.progress(
      `  cold run ${round + 1}/${options.runs}: ${order.map((id) => `${id} ${(times.get(id) ?? 0).toFixed(0)} ms`).join(', ')}`,
    );
  }
  const figures: Record<string, ColdFigures> = {};
  for (const variant of variants) {
    const runs = wall.get(variant.id) ?? [];
    figures[variant.id] = {
      medianMs: median(runs),
      overFloorMs: median(overFloor.get(variant.id) ?? []),
      firstResultMs: median(first.get(variant.id) ?? []),
      runs,
    };
  }
  const floorRuns = wall.get(FLOOR) ?? [];
  return { floor: { medianMs: median(floorRuns), runs: floorRuns }, variants: figures };
}
