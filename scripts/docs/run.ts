/**
 * `npm run docs`: regenerates each connector README's operations and configuration tables,
 * `docs/connectors.md`, `docs/openapi/<name>.json` and `docs/openapi.json` from the connector definitions,
 * and prints which files changed. `--check` writes nothing and fails when a file is stale.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { generatedFiles } from './generate.ts';

const root = resolve(import.meta.dirname, '..', '..');
const check = process.argv.includes('--check');

async function current(path: string): Promise<string | undefined> {
  try {
    return await readFile(join(root, path), 'utf8');
  } catch {
    return undefined;
  }
}

const files = await generatedFiles(root);
const stale: string[] = [];
for (const file of files) {
  if ((await current(file.path)) === file.content) continue;
  stale.push(file.path);
  if (check) continue;
  await mkdir(dirname(join(root, file.path)), { recursive: true });
  await writeFile(join(root, file.path), file.content);
}

if (check && stale.length > 0) {
  console.error(`Stale generated docs (run npm run docs): ${stale.join(', ')}`);
  process.exitCode = 1;
} else {
  const verb = check ? 'up to date' : stale.length === 0 ? 'unchanged' : `${stale.length} written`;
  console.log(
    `docs: ${files.length} files, ${verb}${stale.length > 0 && !check ? `: ${stale.join(', ')}` : ''}`,
  );
}
