/**
 * `npm run new:connector -- <category> <provider> --kind rest|aws|connection [--title "Acme Cloud"]`:
 * writes `functions/<category>/<provider>/` from the kind's templates, formats it, adds it to
 * `serverless.yml` (so the build, the package and the local stack see it) and regenerates the docs.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KINDS } from './names.ts';
import { formatFiles, KIND_SUMMARY, ScaffoldError, scaffold } from './scaffold.ts';

const USAGE = `Usage: npm run new:connector -- <category> <provider> --kind ${KINDS.join('|')} [--title "Acme Cloud"]

  <category>   kebab-case folder under functions/ (devops, storage, notifications, ...)
  <provider>   kebab-case provider name: folder, function name, route segment (/acme/...)
  --kind       ${KINDS.map((kind) => `${kind}: ${KIND_SUMMARY[kind]}`).join('\n               ')}
  --title      the provider's name in prose and messages (default from <provider>)`;

const root = resolve(import.meta.dirname, '..', '..');

function fail(message: string): never {
  console.error(`new:connector: ${message}\n\n${USAGE}`);
  process.exit(1);
}

function parse(): { values: { kind?: string; title?: string; help?: boolean }; positionals: string[] } {
  try {
    return parseArgs({
      options: { kind: { type: 'string' }, title: { type: 'string' }, help: { type: 'boolean' } },
      allowPositionals: true,
    });
  } catch (error) {
    return fail((error as Error).message);
  }
}

const parsed = parse();
if (parsed.values.help === true) {
  console.log(USAGE);
  process.exit(0);
}
const [category, provider, ...extra] = parsed.positionals;
if (category === undefined || provider === undefined) fail('expected <category> and <provider>');
if (extra.length > 0) fail(`unexpected arguments: ${extra.join(' ')}`);
if (parsed.values.kind === undefined) fail(`--kind is required: ${KINDS.join(', ')}`);

let result: Awaited<ReturnType<typeof scaffold>>;
try {
  result = await scaffold({ root, category, provider, kind: parsed.values.kind, title: parsed.values.title });
} catch (error) {
  if (error instanceof ScaffoldError) fail(error.message);
  throw error;
}
formatFiles(root, result.files);
const docs = spawnSync(process.execPath, ['scripts/docs/run.ts'], { cwd: root, encoding: 'utf8' });
const folder = `functions/${result.names.category}/${result.names.provider}`;
// Where the repository records released schemas, the new connector's 0.1.0 is recorded too.
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  scripts?: Record<string, string>;
};
const release =
  manifest.scripts?.['schemas:release'] === undefined
    ? undefined
    : spawnSync('npm', ['run', '-s', 'schemas:release', '--', '--connector', result.names.provider], {
        cwd: root,
        encoding: 'utf8',
      });
console.log(`Created the ${result.names.title} connector (${result.kind}):`);
for (const file of result.files) console.log(`  ${file}`);
console.log('  serverless.yml (function, artifact and resources added)');
if (release?.status === 0) console.log(`  ${folder}/schema/ (schemas:release)`);
else if (release !== undefined) {
  console.error(
    `npm run schemas:release failed; fix the cause and run it again:\n${release.stdout}${release.stderr}`,
  );
  process.exitCode = 1;
}
if (docs.status === 0) console.log(`  ${docs.stdout.trim()}`);
else {
  console.error(`npm run docs failed; fix the cause and run it again:\n${docs.stdout}${docs.stderr}`);
  process.exitCode = 1;
}
console.log(`
Next, as the root README's "Add a connector" walks through:
  npx vitest run ${folder}
  npx tsc -p tsconfig.json --noEmit
  npx biome check --error-on-warnings ${folder}
  ${folder}/README.md: "Running it locally", then "Status against done" for what makes it ${result.names.title}'s.`);
