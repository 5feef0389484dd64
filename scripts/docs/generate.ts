/**
 * Every generated docs file, in memory: `npm run docs` writes them, the docs test compares them with what
 * is committed. Same connectors in, same bytes out: connectors sorted by name, operations in declared
 * order, component maps sorted, JSON laid out by Biome so the repository's formatter agrees with it.
 */
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type ConnectorEntry, loadCatalog } from './catalog.ts';
import { catalogMarkdown, configurationTable, operationsTable, replaceSection } from './markdown.ts';
import { connectorDocument, wholeApiDocument } from './openapi.ts';
import { loadThreatModel, threatModelMarkdown } from './threat-model.ts';

/** One generated file: its repository-relative path and its full content. */
export interface GeneratedFile {
  readonly path: string;
  readonly content: string;
}

/** Lays JSON out the way `biome format` does, so `biome check` stays clean on generated files. */
function formatJson(root: string, path: string, value: unknown): string {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  const biome = spawnSync(
    join(root, 'node_modules', '.bin', 'biome'),
    ['format', `--stdin-file-path=${path}`],
    {
      cwd: root,
      input: text,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  if (biome.status !== 0)
    throw new Error(`biome format ${path} failed: ${biome.stderr || biome.error?.message}`);
  return biome.stdout;
}

/** The version of the whole HTTP API: the repository's own. */
export async function apiVersion(root: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version?: string };
  return manifest.version ?? '0.0.0';
}

/**
 * Every generated file for these connectors: each README with its tables regenerated, the catalog, one
 * OpenAPI document per connector and the whole API's.
 *
 * @example
 * ```ts
 * for (const file of await generatedFiles(root)) await writeFile(join(root, file.path), file.content);
 * ```
 */
export async function generatedFiles(
  root: string,
  connectors?: readonly ConnectorEntry[],
): Promise<GeneratedFile[]> {
  const catalog = connectors ?? (await loadCatalog(root));
  const files: GeneratedFile[] = [];
  for (const connector of catalog) {
    const path = `${connector.folder}/README.md`;
    let readme = await readFile(join(root, path), 'utf8');
    readme = replaceSection(readme, 'operations', operationsTable(connector), path);
    readme = replaceSection(readme, 'configuration', configurationTable(connector), path);
    const threats = await loadThreatModel(root, connector.folder);
    if (threats !== undefined)
      readme = replaceSection(readme, 'threat-model', threatModelMarkdown(threats), path);
    files.push({ path, content: readme });
  }
  files.push({ path: 'docs/connectors.md', content: catalogMarkdown(catalog) });
  for (const connector of catalog) {
    const path = `docs/openapi/${connector.name}.json`;
    files.push({ path, content: formatJson(root, path, connectorDocument(connector)) });
  }
  const whole = wholeApiDocument(catalog, await apiVersion(root));
  files.push({ path: 'docs/openapi.json', content: formatJson(root, 'docs/openapi.json', whole) });
  return files;
}
