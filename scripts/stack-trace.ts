/**
 * `npm run stack-trace -- --function <name> [--build-dir .build] [file]`: maps a stack trace copied from a
 * deployed function's logs (production runs without --enable-source-maps) back to the TypeScript sources,
 * using the source maps of the build that was deployed. Reads the trace from `file`, or from standard input.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { mapStackTrace } from './lib/stack-trace.ts';

const root = resolve(import.meta.dirname, '..');
const { values, positionals } = parseArgs({
  options: {
    function: { type: 'string', short: 'f' },
    'build-dir': { type: 'string', default: process.env['CIRCLE_BUILD_DIR'] || '.build' },
  },
  allowPositionals: true,
  strict: true,
});

async function readInput(file: string | undefined): Promise<string> {
  if (file !== undefined) return readFile(file, 'utf8');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

if (values.function === undefined) {
  console.error('Usage: npm run stack-trace -- --function <name> [--build-dir .build] [trace-file]');
  process.exitCode = 2;
} else {
  const trace = await readInput(positionals[0]);
  const buildDir = resolve(root, values['build-dir']);
  process.stdout.write(`${await mapStackTrace(trace, { buildDir, functionName: values.function, root })}\n`);
}
