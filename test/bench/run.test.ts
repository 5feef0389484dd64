import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverFunctions } from '../../scripts/lib/functions.ts';

const root = resolve(import.meta.dirname, '..', '..');
const run = promisify(execFile);

interface Results {
  mode: string;
  budgets: { id: string; description: string; met: boolean }[];
  output_lines_per_invocation: Record<string, { stdout: number; stderr: number }>;
  xray_segments_per_invocation: Record<string, number>;
  warm: Record<string, { invocations: number }>;
  bundle_sizes: { artifact: string; js_bytes: number; zip_bytes: number | null }[];
  cold: { variants: Record<string, { over_floor_ms: number }> };
  functions: Record<
    string,
    { js_bytes: number; zip_bytes: number; init_over_floor_ms: number; health_over_floor_ms: number }
  >;
  [figure: string]: unknown;
}

// One smoke run shared by the assertions: they check what the script produces, never a time. It builds
// every function and starts their peers: about 30 s on an idle machine, 232 s seen under a loaded one with
// 37 functions, so the budget is generous (it grows with every connector).
describe('Script: scripts/bench/run.ts', () => {
  let outDir: string;
  let results: Results;
  let markdown: string;
  let functionNames: string[];

  beforeAll(async () => {
    outDir = await mkdtemp(join(tmpdir(), 'circle-bench-'));
    functionNames = (await discoverFunctions(root)).map((fn) => fn.name);
    await run(process.execPath, ['scripts/bench/run.ts', '--smoke', '--out-dir', outDir], {
      cwd: root,
      timeout: 600_000,
    });
    results = JSON.parse(await readFile(join(outDir, 'results.json'), 'utf8')) as Results;
    markdown = await readFile(join(outDir, 'RESULTS.md'), 'utf8');
  }, 630_000);

  afterAll(async () => {
    await rm(outDir, { recursive: true, force: true });
  });

  describe('Option: --smoke', () => {
    it('writes every named figure as a number', () => {
      // Prepare
      const figures = [
        'warm_p50_ratio_core_vs_raw',
        'warm_p50_ratio_core_vs_stock',
        'warm_p50_ratio_core_vs_stock_no_tracer',
        'warm_p50_ratio_core_vs_raw_sqs',
        'warm_p50_ratio_core_vs_stock_sqs',
        'warm_p50_ratio_core_vs_stock_sqs_no_tracer',
        'warm_p50_ratio_core_vs_stock_traced',
        'cold_over_floor_ratio_core_vs_raw_no_secret',
        'cold_over_floor_ratio_core_vs_raw',
        'secrets_calls_per_1000',
        'connections_per_100_calls',
      ];
      // Act
      const missing = figures.filter(
        (name) => typeof results[name] !== 'number' || Number.isNaN(results[name]),
      );
      // Assess
      expect(results.mode).toBe('smoke');
      expect(missing).toEqual([]);
      expect(Object.keys(results.warm)).toEqual(
        expect.arrayContaining([
          'raw-http',
          'stock-http',
          'stock-http-no-tracer',
          'core-http',
          'core-http-traced',
          'raw-sqs',
          'stock-sqs',
          'stock-sqs-no-tracer',
          'core-sqs',
        ]),
      );
    });

    it('measures publish throughput of every messaging connector beside its raw client, as a ratio', () => {
      // Prepare
      const throughput = results['throughput'] as {
        connector: string;
        messages: number;
        ratio?: number;
        connector_per_second?: number;
        raw_per_second?: number;
        reason?: string;
      }[];
      // Act
      const measured = throughput.filter((row) => row.ratio !== undefined);
      // Assess: all six listed; each measured one has both rates and their ratio; a broker that is down says so.
      expect(throughput.map((row) => row.connector)).toEqual([
        'sqs',
        'sns',
        'eventbridge',
        'rabbitmq',
        'nats',
        'mqtt',
      ]);
      expect(measured.map((row) => row.connector)).toEqual(
        expect.arrayContaining(['sqs', 'sns', 'eventbridge', 'mqtt']),
      );
      for (const row of throughput) {
        expect(row.messages).toBe(1000);
        if (row.ratio === undefined) expect(row.reason, row.connector).toMatch(/does not answer/);
        else {
          expect(row.connector_per_second, row.connector).toBeGreaterThan(0);
          expect(row.raw_per_second, row.connector).toBeGreaterThan(0);
          expect(row.ratio).toBeCloseTo((row.connector_per_second ?? 0) / (row.raw_per_second ?? 1), 1);
        }
      }
      expect(markdown).toContain('## Messaging publish throughput');
    });

    it('measures the transform bulk load beside psql \\copy as a ratio, and the memory of the streaming run', () => {
      // Prepare
      const bulkLoad = results['bulk_load'] as {
        copy: Record<string, number | undefined> & { reason?: string };
        stream: Record<string, number | undefined> & { reason?: string };
      };
      // Act
      const { copy, stream } = bulkLoad;
      // Assess: the smoke sizes; both sides loaded every row (the harness checks the counts) at a rate.
      expect(copy.reason).toBeUndefined();
      expect(copy).toMatchObject({ rows: 20_000, rounds: 1, part_records: 10_000 });
      expect(copy['connector_rows_per_second']).toBeGreaterThan(0);
      expect(copy['psql_rows_per_second']).toBeGreaterThan(0);
      expect(copy['ratio']).toBeCloseTo(
        (copy['connector_rows_per_second'] ?? 0) / (copy['psql_rows_per_second'] ?? 1),
        1,
      );
      expect(stream.reason).toBeUndefined();
      expect(stream['input_mib']).toBe(20);
      expect(stream['rows']).toBeGreaterThan(200_000);
      expect(stream['peak_rss_mib']).toBeGreaterThanOrEqual(stream['baseline_rss_mib'] ?? 0);
      expect(stream['max_rss_mib']).toBeGreaterThanOrEqual(stream['peak_rss_mib'] ?? 0);
      expect(markdown).toContain('## Bulk load: S3 CSV -> PostgreSQL COPY, and streaming memory');
    });

    it('counts one Secrets Manager call per container and one connection for sequential calls', () => {
      // Assess
      expect(results['secrets_calls_per_1000']).toBe(1);
      expect(results['connections_per_100_calls']).toBe(1);
    });

    it('really writes the log lines: none for raw, one for stock, at least one for the core', () => {
      // Act
      const lines = results.output_lines_per_invocation;
      // Assess
      expect(lines['raw-http']?.stdout).toBe(0);
      expect(lines['stock-http']?.stdout).toBe(1);
      expect(lines['core-http']?.stdout).toBeGreaterThanOrEqual(1);
    });

    it('traces the stock variant when tracing is on and not when it is off', () => {
      // Act
      const segments = results.xray_segments_per_invocation;
      // Assess
      expect(segments['stock-http-traced']).toBeGreaterThan(0.5);
      expect(segments['stock-http']).toBe(0);
    });

    it('puts every function of the repository in the size and cold-start tables, with figures', () => {
      // Prepare
      const sizeRows = new Map(results.bundle_sizes.map((row) => [row.artifact, row]));
      // Act
      const listed = Object.keys(results.functions).sort();
      // Assess
      expect(functionNames.length).toBeGreaterThan(0);
      expect(listed).toEqual([...functionNames].sort());
      for (const name of functionNames) {
        const figures = results.functions[name];
        expect(sizeRows.get(`function ${name}`)?.js_bytes).toBeGreaterThan(0);
        expect(figures?.js_bytes).toBeGreaterThan(0);
        expect(figures?.zip_bytes).toBeGreaterThan(0);
        expect(Number.isFinite(figures?.init_over_floor_ms)).toBe(true);
        expect(Number.isFinite(figures?.health_over_floor_ms)).toBe(true);
        expect(Object.keys(results.cold.variants)).toEqual(
          expect.arrayContaining([`function-${name}-init`, `function-${name}-health`]),
        );
        expect(markdown).toMatch(new RegExp(`^\\| ${name} \\| \\d`, 'm'));
      }
    });

    it('renders the budgets and the tables in RESULTS.md', () => {
      // Assess
      expect(markdown).toContain('## Budgets (DESIGN.md)');
      expect(results.budgets.length).toBeGreaterThanOrEqual(6);
      for (const budget of results.budgets) expect(markdown).toContain(budget.description);
      expect(markdown).toContain('## Cold start proxy');
      expect(markdown).toContain('## Functions');
      expect(markdown).toContain('### Where an SQS batch of 10 goes');
    });
  });
});
