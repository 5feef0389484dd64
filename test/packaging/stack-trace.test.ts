/**
 * A production stack trace (no --enable-source-maps) names positions in the minified bundle; the build's
 * source maps turn them back into TypeScript files, lines and names (scripts/lib/stack-trace.ts).
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapStackTrace } from '../../scripts/lib/stack-trace.ts';

const run = promisify(execFile);

const SOURCE = [
  'export function parseOrder(text: string): number {',
  '  const order = JSON.parse(text) as { quantity?: number };',
  "  if (order.quantity === undefined) throw new Error('no quantity');",
  '  return order.quantity;',
  '}',
  '',
  'export function handler(text: string): number {',
  '  return parseOrder(text) * 2;',
  '}',
  '',
].join('\n');

let scratch: string;
let trace: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'circle-stack-trace-'));
  await mkdir(join(scratch, 'src'));
  await writeFile(join(scratch, 'src', 'order.ts'), SOURCE);
  const bundle = join(scratch, 'build', 'functions', 'orders', 'index.mjs');
  // The production settings of scripts/lib/bundle.ts: minified ESM, a linked map without sources.
  await build({
    entryPoints: [join(scratch, 'src', 'order.ts')],
    outfile: bundle,
    bundle: true,
    format: 'esm',
    platform: 'node',
    minify: true,
    sourcemap: 'linked',
    sourcesContent: false,
    logLevel: 'silent',
  });
  const script = `import { handler } from ${JSON.stringify(pathToFileURL(bundle).href)};
try { handler('{}'); } catch (error) { process.stdout.write(error.stack); }`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
    env: { PATH: process.env['PATH'] ?? '', NODE_OPTIONS: '' },
  });
  // What CloudWatch shows: the bundle at the task root.
  trace = stdout.replaceAll(pathToFileURL(bundle).href, 'file:///var/task/index.mjs');
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('Function: mapStackTrace', () => {
  it('maps bundle positions to the TypeScript line that threw and its caller', async () => {
    // Prepare
    const maps = { buildDir: join(scratch, 'build'), functionName: 'orders', root: scratch };
    // Act
    const mapped = await mapStackTrace(trace, maps);
    // Assess
    expect(trace).toContain('/var/task/index.mjs:1:');
    expect(mapped).toContain('Error: no quantity');
    expect(mapped).toMatch(/src\/order\.ts:3:\d+/);
    expect(mapped).toMatch(/src\/order\.ts:8:\d+/);
    expect(mapped).not.toContain('/var/task/index.mjs');
  });

  it('leaves frames of another function untouched and says which map is missing', async () => {
    // Prepare
    const maps = { buildDir: join(scratch, 'build'), functionName: 'absent', root: scratch };
    // Act
    const mapped = await mapStackTrace(trace, maps);
    // Assess
    expect(mapped).toContain('/var/task/index.mjs:1:');
    expect(mapped).toContain('[no map at build/functions/absent/index.mjs.map]');
  });
});
