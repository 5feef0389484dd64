/**
 * A Vitest reporter that ends a coverage run with one line saying whether each coverage gate of
 * `vitest.config.ts` passed: the global thresholds over every covered file and each glob's over its
 * files, computed as Vitest's own check computes them (istanbul summaries, `pct` against the threshold).
 * Vitest prints only the gates that fail, in the middle of its output; this says it at the end, both ways.
 */
import { matchesGlob, relative } from 'node:path';
import type { Reporter, Vitest } from 'vitest/node';

const METRICS = ['lines', 'branches', 'functions', 'statements'] as const;
type Metric = (typeof METRICS)[number];
type Thresholds = Partial<Record<Metric, number>>;

interface Summary {
  merge(other: Summary): Summary;
  [metric: string]: unknown;
}
interface CoverageMap {
  files(): string[];
  fileCoverageFor(file: string): { toSummary(): Summary };
  getCoverageSummary(): Summary;
}

/** One gate's outcome, e.g. `lines 91.2% >= 85%`. */
interface Verdict {
  scope: string;
  metric: Metric;
  pct: number;
  threshold: number;
}

function pctOf(summary: Summary, metric: Metric): number {
  return (summary[metric] as { pct: number }).pct;
}

function pick(entry: Record<string, unknown>): Thresholds {
  const thresholds: Thresholds = {};
  for (const metric of METRICS) if (typeof entry[metric] === 'number') thresholds[metric] = entry[metric];
  return thresholds;
}

/**
 * The verdicts of every gate for a coverage map: the global thresholds over all files, each glob's over
 * the files it matches (relative to `root`).
 *
 * @example
 * ```ts
 * gateVerdicts(map, { lines: 85, 'layers/core/src/**\/*.ts': { lines: 95 } }, root);
 * ```
 */
export function gateVerdicts(map: CoverageMap, thresholds: Record<string, unknown>, root: string): Verdict[] {
  const verdicts: Verdict[] = [];
  const add = (scope: string, summary: Summary, wanted: Thresholds): void => {
    for (const metric of METRICS) {
      const threshold = wanted[metric];
      if (threshold !== undefined) verdicts.push({ scope, metric, pct: pctOf(summary, metric), threshold });
    }
  };
  add('all files', map.getCoverageSummary(), pick(thresholds));
  for (const [glob, entry] of Object.entries(thresholds)) {
    if (typeof entry !== 'object' || entry === null) continue;
    const files = map.files().filter((file) => matchesGlob(relative(root, file), glob));
    const [first, ...rest] = files;
    if (first === undefined) continue;
    const summary = map.fileCoverageFor(first).toSummary();
    for (const file of rest) summary.merge(map.fileCoverageFor(file).toSummary());
    add(glob, summary, pick(entry as Record<string, unknown>));
  }
  return verdicts;
}

/**
 * The closing line: `Coverage gates: all passed: lines 91.2% >= 85% (all files), ...` or which failed.
 *
 * @example
 * ```ts
 * gatesLine([{ scope: 'all files', metric: 'lines', pct: 91.2, threshold: 85 }]);
 * ```
 */
export function gatesLine(verdicts: Verdict[]): string {
  const failed = verdicts.filter((verdict) => verdict.pct < verdict.threshold);
  const parts = verdicts.map(
    (verdict) =>
      `${verdict.metric} ${verdict.pct.toFixed(2)}% ${verdict.pct < verdict.threshold ? '<' : '>='} ${verdict.threshold}% (${verdict.scope}) ${verdict.pct < verdict.threshold ? 'FAILED' : 'passed'}`,
  );
  const head = failed.length === 0 ? 'all passed' : `${failed.length} of ${verdicts.length} FAILED`;
  return `Coverage gates: ${head}: ${parts.join('; ')}`;
}

/**
 * Prints {@link gatesLine} last, when the run reported coverage: Vitest reports it (the table, then its
 * threshold errors) after `onTestRunEnd`, and then calls `onFinishedReportCoverage` on every reporter that
 * has it (the hook its HTML and UI reporters use). When a test failed it reports no coverage and checks
 * no gate; the line then says so, at the end of the run.
 */
export default class CoverageGatesReporter implements Reporter {
  #vitest: Vitest | undefined;
  #line: string | undefined;

  onInit(vitest: Vitest): void {
    this.#vitest = vitest;
  }

  onCoverage(coverage: unknown): void {
    const config = this.#vitest?.config;
    const thresholds = (config?.coverage as { thresholds?: Record<string, unknown> } | undefined)?.thresholds;
    if (config === undefined || thresholds === undefined) return;
    const verdicts = gateVerdicts(coverage as CoverageMap, thresholds, config.root);
    if (verdicts.length > 0) this.#line = gatesLine(verdicts);
  }

  onTestRunEnd(_modules: unknown, _errors: unknown, reason: string): void {
    const coverage = this.#vitest?.config.coverage as
      | { enabled?: boolean; reportOnFailure?: boolean }
      | undefined;
    if (reason === 'passed' || coverage?.enabled !== true || coverage.reportOnFailure === true) return;
    process.stdout.write(
      `\nCoverage gates: not checked: the run ${reason} (Vitest checks coverage only when every test passes)\n`,
    );
  }

  onFinishedReportCoverage(): void {
    if (this.#line !== undefined) process.stdout.write(`\n${this.#line}\n`);
    this.#line = undefined;
  }
}
