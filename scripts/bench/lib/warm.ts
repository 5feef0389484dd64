/**
 * Warm rounds: every variant in its own child process, one after the other, in an order rotated each
 * round, so a burst of load from other work on the machine hits each variant in turn. Ratios are taken
 * within a round and reported as the median over rounds.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { WarmResult, WarmTask } from '../harness/protocol.ts';
import { runChild } from './child.ts';
import { summarize } from './stats.ts';

/** One thing measured warm: a bundle, the event it gets, and whether tracing is on. */
export interface WarmVariant {
  /** `core-http`, `stock-sqs-traced`, ... */
  readonly id: string;
  readonly family: 'raw' | 'stock' | 'core' | 'core-alt';
  readonly trigger: 'http' | 'sqs';
  readonly traced: boolean;
  readonly bundle: string;
  readonly event: string;
}

export interface WarmFigures {
  readonly p50Us: number;
  readonly p99Us: number;
  readonly meanUs: number;
  readonly invocations: number;
}

export interface WarmRoundResult {
  readonly round: number;
  readonly order: readonly string[];
  readonly figures: Readonly<Record<string, WarmFigures>>;
}

export interface WarmOutcome {
  readonly rounds: readonly WarmRoundResult[];
  /** Over every round's samples together. */
  readonly pooled: Readonly<Record<string, WarmFigures>>;
  /** X-Ray datagrams received per invocation, per variant (tracing on should send at least one). */
  readonly segmentsPerInvocation: Readonly<Record<string, number>>;
}

export interface WarmOptions {
  readonly harness: string;
  readonly rounds: number;
  /** Untimed invocations per child before the timed ones, by trigger. */
  readonly warmup: Readonly<Record<'http' | 'sqs', number>>;
  /** Timed invocations per child, by trigger (an SQS batch costs about ten HTTP requests). */
  readonly invocations: Readonly<Record<'http' | 'sqs', number>>;
  readonly environment: (variant: WarmVariant) => Record<string, string>;
  readonly logsDir: string;
  /** Datagrams the X-Ray sink has received so far. */
  readonly segmentsReceived: () => number;
  readonly progress: (message: string) => void;
}

function task(variant: WarmVariant, warmup: number, invocations: number): WarmTask {
  return {
    bundle: variant.bundle,
    event: variant.event,
    kind: variant.trigger,
    functionName: `bench-${variant.id}`,
    traced: variant.traced,
    warmup,
    invocations,
  };
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % Math.max(1, items.length);
  return [...items.slice(shift), ...items.slice(0, shift)];
}

/**
 * Runs `rounds` rounds over the variants (HTTP ones, then SQS ones, each group rotated per round).
 *
 * @example
 * ```ts
 * const { pooled, rounds } = await runWarmRounds(variants, options);
 * ```
 */
export async function runWarmRounds(variants: readonly WarmVariant[], options: WarmOptions): Promise<WarmOutcome> {
  const samples = new Map<string, Float64Array[]>();
  const segments = new Map<string, number>();
  const rounds: WarmRoundResult[] = [];
  const groups = (['http', 'sqs'] as const).map((trigger) => variants.filter((v) => v.trigger === trigger));
  for (let round = 0; round < options.rounds; round += 1) {
    const order = groups.flatMap((group) => rotate(group, round));
    const figures: Record<string, WarmFigures> = {};
    for (const variant of order) {
      const invocations = options.invocations[variant.trigger];
      const before = options.segmentsReceived();
      const result = await runChild<WarmResult>({
        script: options.harness,
        task: task(variant, options.warmup[variant.trigger], invocations),
        env: options.environment(variant),
        stderrFile: join(options.logsDir, `${variant.id}.stderr`),
      });
      if (result.failures > 0) {
        throw new Error(`${variant.id}: ${result.failures} of ${invocations} invocations did not succeed`);
      }
      // Let the last datagrams of this child arrive before counting.
      await new Promise((resolve) => setTimeout(resolve, 50));
      const sent = options.segmentsReceived() - before;
      segments.set(variant.id, (segments.get(variant.id) ?? 0) + sent);
      samples.set(variant.id, [...(samples.get(variant.id) ?? []), result.samples]);
      const summary = summarize([result.samples]);
      figures[variant.id] = { ...summary, invocations };
      options.progress(
        `  round ${round + 1}/${options.rounds} ${variant.id.padEnd(20)} p50 ${summary.p50Us.toFixed(2).padStart(8)} µs  p99 ${summary.p99Us.toFixed(2).padStart(8)} µs`,
      );
    }
    rounds.push({ round: round + 1, order: order.map((v) => v.id), figures });
  }
  const pooled: Record<string, WarmFigures> = {};
  const segmentsPerInvocation: Record<string, number> = {};
  for (const variant of variants) {
    const parts = samples.get(variant.id) ?? [];
    const summary = summarize(parts);
    pooled[variant.id] = { ...summary, invocations: summary.count };
    const invoked = options.rounds * (options.warmup[variant.trigger] + options.invocations[variant.trigger]);
    segmentsPerInvocation[variant.id] = (segments.get(variant.id) ?? 0) / invoked;
  }
  return { rounds, pooled, segmentsPerInvocation };
}

/**
 * Runs each variant briefly with standard output in a file and counts the lines it wrote per invocation
 * (the raw variants write none, the stock and core variants their log lines, the core its EMF lines).
 *
 * @example
 * ```ts
 * const lines = await countLogLines(variants, options, 200); // { 'core-http': 2, ... }
 * ```
 */
export async function countLogLines(
  variants: readonly WarmVariant[],
  options: WarmOptions,
  invocations: number,
): Promise<Record<string, { stdout: number; stderr: number }>> {
  const counts: Record<string, { stdout: number; stderr: number }> = {};
  for (const variant of variants) {
    const stdoutFile = join(options.logsDir, `${variant.id}.lines.stdout`);
    const stderrFile = join(options.logsDir, `${variant.id}.lines.stderr`);
    await Promise.all([rm(stdoutFile, { force: true }), rm(stderrFile, { force: true })]);
    await runChild<WarmResult>({
      script: options.harness,
      task: task(variant, 0, invocations),
      env: options.environment(variant),
      stdoutFile,
      stderrFile,
    });
    const lines = async (file: string): Promise<number> =>
      (await readFile(file, 'utf8')).split('\n').filter((line) => line.trim() !== '').length;
    counts[variant.id] = {
      stdout: (await lines(stdoutFile)) / invocations,
      stderr: (await lines(stderrFile)) / invocations,
    };
  }
  return counts;
}
