/**
 * The function as Lambda runs it: bundled (minified) by the repository's build, imported in a fresh Node
 * process against the sources' layer, and asked for timestamps nested in a list and a struct. Minified,
 * DuckDB's value classes lose their names.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFunction } from '../../../scripts/lib/bundle.ts';
import { discoverFunctions } from '../../../scripts/lib/functions.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../../..');

const PROBE = `
const { handler } = await import(process.argv[2]);
const out = await handler({ operation: 'run-query', trigger: 'task', input: {
  sql: "select {'b': [timestamp '2026-01-02 03:04:05']} as st, [timestamp_ms '2026-01-02 03:04:05.5'] as l",
} }, { getRemainingTimeInMillis: () => 20_000, functionName: 'duckdb', awsRequestId: 'probe' });
process.stdout.write('\\nRESULT ' + JSON.stringify(out.results.rows) + '\\n');
process.exit(0);
`;

describe('Bundle: duckdb as Lambda runs it', () => {
  let work: string;
  let bundle: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'circle-core-duckdb-bundle-'));
    const fn = (await discoverFunctions(root)).find((candidate) => candidate.name === 'duckdb');
    if (fn === undefined) throw new Error('the duckdb function was not discovered');
    bundle = await bundleFunction(fn, root, work);
    await symlink(join(root, 'node_modules'), join(work, 'node_modules'), 'dir');
    await writeFile(join(work, 'probe.mjs'), PROBE);
  }, 60_000);

  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('encodes timestamps nested in lists and structs as ISO 8601, as the sources do', async () => {
    // Act
    const { stdout } = await run(process.execPath, [join(work, 'probe.mjs'), bundle], {
      env: {
        PATH: process.env['PATH'] ?? '',
        DUCKDB_TEMP_DIRECTORY: join(work, 'tmp'),
        POWERTOOLS_LOG_LEVEL: 'ERROR',
      },
      timeout: 30_000,
    });
    const line = stdout.split('\n').find((text) => text.startsWith('RESULT ')) ?? 'RESULT null';
    // Assess
    expect(JSON.parse(line.slice('RESULT '.length))).toEqual([
      [{ b: ['2026-01-02T03:04:05'] }, ['2026-01-02T03:04:05.5']],
    ]);
  });
});
