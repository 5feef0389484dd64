/**
 * `npm run package [-- --stage dev] [--region us-east-1] [--skip-build] [--build-dir .build]
 * [--package-dir .serverless]`: builds the artifacts, then runs `serverless package` offline (a local
 * stand-in answers the CloudFormation and STS calls osls makes) and leaves the root template in
 * `.serverless/cloudformation-template-update-stack.json`, beside one nested stack's template per connector
 * category (`cloudformation-template-<category>-nested-stack.json`). The build folder defaults to `CIRCLE_BUILD_DIR`
 * or `.build`, as for `npm run build`.
 *
 * The template is for review and tests: `${aws:accountId}` resolves to the stand-in's 123456789012 there.
 * Deploy with `npx serverless deploy --stage <stage>` and real credentials, which resolves it again.
 */
import { join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildArtifacts, formatSizeTable } from './lib/artifacts.ts';
import { packageService } from './lib/serverless.ts';
import { mergeStage, readPackagedStage } from './lib/stacks.ts';
import { writeSbom } from './security/sbom.ts';

const root = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: {
    stage: { type: 'string', default: 'dev', short: 's' },
    region: { type: 'string', default: 'us-east-1', short: 'r' },
    'skip-build': { type: 'boolean', default: false },
    'build-dir': { type: 'string', default: process.env['CIRCLE_BUILD_DIR'] || '.build' },
    'package-dir': { type: 'string', default: '.serverless' },
  },
  strict: true,
});

const buildDir = resolve(root, values['build-dir']);
const packageDir = resolve(root, values['package-dir']);
try {
  if (!values['skip-build']) {
    const { sizes } = await buildArtifacts({ root, outDir: buildDir });
    const sbom = await writeSbom(root, join(buildDir, 'sbom.cdx.json'));
    console.log(
      `${formatSizeTable(sizes)}\nSBOM: ${relative(root, sbom.file)} (${sbom.components} components)\n`,
    );
  }
  const { templateFile, awsCalls } = await packageService({
    root,
    stage: values.stage,
    region: values.region,
    buildDir,
    packageDir,
    echo: true,
  });
  const stage = await readPackagedStage(packageDir);
  const counts = new Map<string, number>();
  for (const { Type } of Object.values(mergeStage(stage).Resources))
    counts.set(Type, (counts.get(Type) ?? 0) + 1);
  const calls = awsCalls.map((call) => `${call.service}:${call.action}`);
  console.log(`\nOffline AWS stand-in answered: ${calls.length > 0 ? calls.join(', ') : 'no calls'}`);
  console.log(
    `Template: ${relative(root, templateFile)} (${Object.keys(stage.root.Resources).length} resources)`,
  );
  for (const [category, template] of Object.entries(stage.nested)) {
    console.log(`  nested stack ${category}: ${Object.keys(template.Resources).length} resources`);
  }
  console.log('The stage holds:');
  for (const [type, count] of [...counts].sort()) console.log(`  ${String(count).padStart(3)}  ${type}`);
} catch (error) {
  console.error(`Package failed: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
}
