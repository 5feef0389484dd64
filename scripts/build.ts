/**
 * `npm run build [-- --function <name>] [--out-dir <dir>]`: bundles every function and the core layer into
 * zips under `.build/` (or `CIRCLE_BUILD_DIR`, which serverless.yml and the local stack read too), prints
 * their sizes and writes the CycloneDX SBOM of the production dependencies beside them (`sbom.cdx.json`).
 * `--function` (repeatable) rebuilds only those functions.
 */
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildArtifacts, formatSizeTable } from './lib/artifacts.ts';
import { writeSbom } from './security/sbom.ts';

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
  const outDir = resolve(root, values['out-dir']);
  const { sizes, functions } = await buildArtifacts({
    root,
    outDir,
    only: values.function ?? [],
  });
  console.log(formatSizeTable(sizes));
  // What the artifacts are made of, beside them: the production tree as CycloneDX.
  const sbom = await writeSbom(root, join(outDir, 'sbom.cdx.json'));
  console.log(`\nSBOM: ${relative(root, sbom.file)} (CycloneDX, ${sbom.components} components)`);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(
    `\nBuilt ${functions.length} function(s)${values.function ? '' : ' and the layer'} in ${seconds} s`,
  );
} catch (error) {
  console.error(`Build failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
