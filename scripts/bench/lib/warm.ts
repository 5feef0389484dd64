/**
 * Warm rounds: every variant in its own child process, all of one trigger alive at once and run one slice
 * at a time in an order rotated each round, so a burst of load from other work on the machine hits every
 * variant alike. Ratios are taken within a round and reported as the median over rounds.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { WarmCommand, WarmReady, WarmSlice, WarmTask } from '../harness/protocol.ts';
import { type ChildSession, startChild } from './child.ts';
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
  /** Rounds: each round runs one slice of every variant of a trigger, in a rotated order. */
  readonly rounds: number;
  /** Untimed invocations per child before its first slice, by trigger. */
  readonly warmup: Readonly<Record<'http' | 'sqs', number>>;
  /** Timed invocations per slice, by trigger (an SQS batch costs about ten HTTP requests). */
  readonly slice: Readonly<Record<'http' | 'sqs', number>>;
  readonly environment: (variant: WarmVariant) => Record<string, string>;
  readonly logsDir: string;
  /** Datagrams the X-Ray sink has received so far. */
  readonly segmentsReceived: () => number;
  readonly progress: (message: string) => void;
}

function task(variant: WarmVariant, warmup: number): WarmTask {
  return {
    bundle: variant.bundle,
    event: variant.event,
    kind: variant.trigger,
    functionName: `bench-${variant.id}`,
    traced: variant.traced,
    warmup,
  };
}

function rotate<T>(items: readonly T[], by: number): T[] {
  const shift = by % Math.max(1, items.length);
  return [...items.slice(shift), ...items.slice(0, shift)];
}

const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 10));

/** Starts a warm child and waits until it is loaded and warmed up. */
async function startWarm(
  variant: WarmVariant,
  options: WarmOptions,
  warmup: number,
  stdoutFile?: string,
): Promise<ChildSession> {
  const child = startChild({
    script: options.harness,
    task: task(variant, warmup),
    env: options.environment(variant),
    stderrFile: join(options.logsDir, `${variant.id}${stdoutFile === undefined ? '' : '.lines'}.stderr`),
    ...(stdoutFile === undefined ? {} : { stdoutFile }),
  });
  const ready = await child.receive<WarmReady>();
  if (ready.failures > 0)
    throw new Error(`${variant.id}: ${ready.failures} warm-up invocations did not succeed`);
  return child;
}

async function slice(child: ChildSession, variant: WarmVariant, invocations: number): Promise<WarmSlice> {
  child.send({ invocations } satisfies WarmCommand);
  const result = await child.receive<WarmSlice>();
  if (result.failures > 0) {
    throw new Error(`${variant.id}: ${result.failures} of ${invocations} invocations did not succeed`);
  }
  return result;
}

async function stop(child: ChildSession): Promise<void> {
  child.send({ invocations: 0 } satisfies WarmCommand);
  await child.receive();
  await child.exited();
}

/**
 * Measures the variants of one trigger together: every child is started and warmed up (one at a time),
 * then each round runs one slice per variant in a rotated order, so each round's ratios compare slices
 * taken moments apart.
 */
async function runGroup(
  group: readonly WarmVariant[],
  options: WarmOptions,
  samples: Map<string, Float64Array[]>,
  segments: Map<string, number>,
  rounds: WarmRoundResult[],
): Promise<void> {
  const children = new Map<string, ChildSession>();
  try {
    for (const variant of group) {
      const before = options.segmentsReceived();
      children.set(variant.id, await startWarm(variant, options, options.warmup[variant.trigger]));
      await settle();
      segments.set(variant.id, (segments.get(variant.id) ?? 0) + options.segmentsReceived() - before);
    }
    for (let round = 0; round < options.rounds; round += 1) {
      const order = rotate(group, round);
      const figures: Record<string, WarmFigures> = {};
      for (const variant of order) {
        const child = children.get(variant.id);
        if (child === undefined) continue;
        const invocations = options.slice[variant.trigger];
        const before = options.segmentsReceived();
        const result = await slice(child, variant, invocations);
        await settle();
        segments.set(variant.id, (segments.get(variant.id) ?? 0) + options.segmentsReceived() - before);
        samples.set(variant.id, [...(samples.get(variant.id) ?? []), result.samples]);
        figures[variant.id] = { ...summarize([result.samples]), invocations };
      }
      const existing = rounds[round];
      const merged = { ...existing?.figures, ...figures };
      rounds[round] = {
        round: round + 1,
        order: [...(existing?.order ?? []), ...order.map((v) => v.id)],
        figures: merged,
      };
      options.progress(
        `  ${group[0]?.trigger ?? ''} round ${round + 1}/${options.rounds}: ${order
          .map((v) => `${v.id} ${figures[v.id]?.p50Us.toFixed(1) ?? '?'}`)
          .join(', ')} (p50 µs)`,
      );
    }
  } finally {
    await Promise.allSettled([...children.values()].map((child) => stop(child)));
  }
}

/**
 * Runs the HTTP variants together, then the SQS variants together, `rounds` slices each.
 *
 * @example
 * ```ts
 * const { pooled, rounds } = await runWarmRounds(variants, options);
 * ```
 */
export async function runWarmRounds(
  variants: readonly WarmVariant[],
  options: WarmOptions,
): Promise<WarmOutcome> {
  const samples = new Map<string, Float64Array[]>();
  const segments = new Map<string, number>();
  const rounds: WarmRoundResult[] = [];
  for (const trigger of ['http', 'sqs'] as const) {
    const group = variants.filter((variant) => variant.trigger === trigger);
    if (group.length > 0) await runGroup(group, options, samples, segments, rounds);
  }
  const pooled: Record<string, WarmFigures> = {};
  const segmentsPerInvocation: Record<string, number> = {};
  for (const variant of variants) {
    const summary = summarize(samples.get(variant.id) ?? []);
    pooled[variant.id] = { ...summary, invocations: summary.count };
    const invoked = options.warmup[variant.trigger] + options.rounds * options.slice[variant.trigger];
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
 * const lines = await countLogLines(variants, options, 200); // { 'core-http': { stdout: 2, stderr: 0 }, ... }
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
    const child = await startWarm(variant, options, 0, stdoutFile);
    await slice(child, variant, invocations);
    await stop(child);
    const lines = async (file: string): Promise<number> =>
      (await readFile(file, 'utf8')).split('\n').filter((line) => line.trim() !== '').length;
    counts[variant.id] = {
      stdout: (await lines(stdoutFile)) / invocations,
      stderr: (await lines(stderrFile)) / invocations,
    };
  }
  return counts;
}
