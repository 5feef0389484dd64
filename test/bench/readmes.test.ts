import { describe, expect, it } from 'vitest';
import { benchBlock, withBenchBlock } from '../../scripts/bench/lib/readmes.ts';
import type { BenchResults } from '../../scripts/bench/lib/results.ts';

const results = {
  date: '2026-12-06T20:00:00.000Z',
  cold: { runs: 25, function_runs: 9, variants: { 'raw-http': { cpu_over_floor_ms: 20.3 } } },
  functions: {
    s3: {
      js_bytes: 483_533,
      init_js_bytes: 353_382,
      zip_bytes: 368_332,
      cpu_init_over_floor_ms: 128.8,
      cpu_health_over_floor_ms: 163.2,
      init_vs_raw_cpu: 6.33,
      health_vs_raw_cpu: 8.03,
    },
  },
} as unknown as BenchResults;

describe('Module: scripts/bench/lib/readmes.ts', () => {
  describe('Function: benchBlock', () => {
    it("states the function's sizes, CPU times and ratios to raw, and how many runs", () => {
      // Act
      const block = benchBlock(results, 's3', '../../../bench/RESULTS.md');
      // Assess
      expect(block).toContain('median of 9 cold starts');
      expect(block).toContain("raw handler's 20.3 ms");
      const row = block.split('\n').at(-1) ?? '';
      expect(row.split('|').map((cell) => cell.trim())).toEqual([
        '',
        '472.2',
        '345.1',
        '359.7',
        '128.8',
        '163.2',
        '6.33',
        '8.03',
        '',
      ]);
      expect(block).toContain('[bench/RESULTS.md](../../../bench/RESULTS.md#functions)');
    });

    it('counts every round for the functions issue 20 sets budgets for, every few for the others', () => {
      // Arrange
      const run = {
        ...results,
        cold: { ...results.cold, budget_function_runs: 25 },
        functions: { ...results.functions, jira: results.functions['s3'] },
      } as unknown as BenchResults;
      // Act
      const budget = benchBlock(run, 's3', '../../../bench/RESULTS.md');
      const other = benchBlock(run, 'jira', '../../../bench/RESULTS.md');
      // Assess
      expect(budget).toContain('median of 25 cold starts');
      expect(other).toContain('median of 9 cold starts');
    });

    it('lays its table out with aligned columns, as Biome formats Markdown (the README stays lint-clean)', () => {
      // Act
      const lines = benchBlock(results, 's3', '../../../bench/RESULTS.md').split('\n').slice(-3);
      // Assess: every line of the table is as long as the header, and the rule has as many dashes as each header cell
      expect(new Set(lines.map((line) => line.length)).size).toBe(1);
      expect(lines[1]).toBe(
        '| ------ | ------------------ | ------- | ------- | ---------------- | ---------- | ------------------- |',
      );
    });

    it('says so when the run did not measure the function', () => {
      expect(benchBlock(results, 'nowhere', 'x')).toMatch(
        /^Not measured by the last full run \(2026-12-06\)/,
      );
    });
  });

  describe('Function: withBenchBlock', () => {
    it('replaces what stands between the markers, leaving the rest alone', () => {
      // Prepare
      const text = '# S3\n\nbefore\n<!-- generated:bench -->\nold\n<!-- /generated:bench -->\nafter\n';
      // Act
      const next = withBenchBlock(text, 'new');
      // Assess
      expect(next).toBe('# S3\n\nbefore\n<!-- generated:bench -->\nnew\n<!-- /generated:bench -->\nafter\n');
      expect(withBenchBlock(next, 'new')).toBe(next);
    });

    it('appends the block to a section on cold start, before the next section', () => {
      // Prepare
      const text = '# S3\n\n## Size and cold start\n\nWhy.\n\n## Version and changelog\n\nx\n';
      // Act
      const next = withBenchBlock(text, 'figures');
      // Assess
      expect(next).toBe(
        '# S3\n\n## Size and cold start\n\nWhy.\n\n<!-- generated:bench -->\nfigures\n<!-- /generated:bench -->\n\n## Version and changelog\n\nx\n',
      );
    });

    it('adds a "Cold start" section (no "size" in its heading) before "Version and changelog"', () => {
      // Act
      const next = withBenchBlock('# X\n\nabout\n\n## Version and changelog\n', 'figures');
      // Assess
      expect(next).toBe(
        '# X\n\nabout\n\n## Cold start\n\n<!-- generated:bench -->\nfigures\n<!-- /generated:bench -->\n\n## Version and changelog\n',
      );
      expect(next).not.toMatch(/^#{2,} [^\n]*\bsize\b/im);
    });
  });
});
