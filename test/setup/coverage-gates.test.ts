/**
 * The coverage gates line: every gate of the config judged as Vitest judges it, globs over their files.
 */
import { describe, expect, it } from 'vitest';
import { gatesLine, gateVerdicts } from './coverage-gates.ts';

type Counts = Record<'lines' | 'branches', { total: number; covered: number }>;

/** An istanbul-like summary: counts per metric, `pct` rounded to two decimals, `merge` adding counts. */
function summary(counts: Counts) {
  const view: Record<string, unknown> & { merge: (other: typeof view) => typeof view } = {
    merge(other) {
      for (const metric of ['lines', 'branches'] as const) {
        const mine = counts[metric];
        const theirs = (other as unknown as { counts: Counts }).counts[metric];
        mine.total += theirs.total;
        mine.covered += theirs.covered;
      }
      return view;
    },
  };
  Object.defineProperty(view, 'counts', { value: counts });
  for (const metric of ['lines', 'branches'] as const) {
    Object.defineProperty(view, metric, {
      enumerable: true,
      get: () => ({ pct: Math.floor((counts[metric].covered / counts[metric].total) * 10_000) / 100 }),
    });
  }
  return view;
}

const FILES: Record<string, Counts> = {
  '/repo/layers/core/src/a.ts': { lines: { total: 100, covered: 96 }, branches: { total: 10, covered: 9 } },
  '/repo/layers/core/src/b/c.ts': {
    lines: { total: 100, covered: 92 },
    branches: { total: 10, covered: 10 },
  },
  '/repo/functions/s3/client.ts': {
    lines: { total: 200, covered: 150 },
    branches: { total: 20, covered: 18 },
  },
};

const map = {
  files: () => Object.keys(FILES),
  fileCoverageFor: (file: string) => ({
    toSummary: () => summary(structuredClone(FILES[file] as Counts)),
  }),
  getCoverageSummary: () => {
    const [first, ...rest] = Object.values(FILES).map((counts) => summary(structuredClone(counts)));
    for (const other of rest) first?.merge(other);
    return first as ReturnType<typeof summary>;
  },
};

describe('Function: gateVerdicts', () => {
  it('judges the global gates over every file and a glob over the files it matches', () => {
    // Act
    const verdicts = gateVerdicts(
      map,
      { lines: 85, branches: 91, 'layers/core/src/**/*.ts': { lines: 95, branches: 91 } },
      '/repo',
    );

    // Assess
    expect(verdicts).toEqual([
      { scope: 'all files', metric: 'lines', pct: 84.5, threshold: 85 },
      { scope: 'all files', metric: 'branches', pct: 92.5, threshold: 91 },
      { scope: 'layers/core/src/**/*.ts', metric: 'lines', pct: 94, threshold: 95 },
      { scope: 'layers/core/src/**/*.ts', metric: 'branches', pct: 95, threshold: 91 },
    ]);
  });
});

describe('Function: gatesLine', () => {
  it('says all passed, or how many failed, naming each gate with its figure', () => {
    // Act
    const passed = gatesLine([{ scope: 'all files', metric: 'lines', pct: 91.234, threshold: 85 }]);
    const failed = gatesLine([
      { scope: 'all files', metric: 'lines', pct: 84.5, threshold: 85 },
      { scope: 'layers/core/src/**/*.ts', metric: 'branches', pct: 95, threshold: 91 },
    ]);

    // Assess
    expect(passed).toBe('Coverage gates: all passed: lines 91.23% >= 85% (all files) passed');
    expect(failed).toBe(
      'Coverage gates: 1 of 2 FAILED: lines 84.50% < 85% (all files) FAILED; branches 95.00% >= 91% (layers/core/src/**/*.ts) passed',
    );
  });
});
