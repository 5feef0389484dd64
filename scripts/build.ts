/**
 * `npm run build [-- --function <name>] [--out-dir <dir>]`: bundles every function and the core layer into
 * zips under `.build/` (or `CIRCLE_BUILD_DIR`, which serverless.yml and the local stack read too) and
 * prints their sizes. `--function` (repeatable) rebuilds only those functions.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildArtifacts, formatSizeTable } from './lib/artifacts.ts';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    function: { type: 'string', multiple: true, short: 'f' },
    'out-dir': { type: 'string', default: process.env['CIRCLE_BUILD_DIR'] || '.build' },
  },
  strict: true,
});

const started = performance.now();
try {
  const { sizes, functions } = await buildArtifacts({
    root,
    outDir: resolve(root, values['out-dir']),
    only: values.function ?? [],
  });
  console.log(formatSizeTable(sizes));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `\nBuilt ${functions.length} function(s)${values.function ? '' : ' and the layer'} in ${seconds} s`,
  );
} catch (error) {
  console.error(`Build failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
