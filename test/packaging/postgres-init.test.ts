/**
 * What the postgres function loads at init (issue 20, cold start): the files its entry imports statically,
 * read back through their source maps. COPY support (pg-copy-streams) is for the transform connector's loads;
 * the postgres function loads it on a first COPY only.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFunction } from '../../scripts/lib/bundle.ts';
import { discoverFunctions } from '../../scripts/lib/functions.ts';

const root = resolve(import.meta.dirname, '../..');
const STATIC_RELATIVE_IMPORT = /(?:^|[;}\s])import\s*(?:[\w$*{},\s]+?from\s*)?"(\.{1,2}\/[^"]+)"/g;

/** The entry and every file it imports statically, transitively. */
async function initGraph(entry: string): Promise<string[]> {
  const seen = new Set<string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const code = await readFile(file, 'utf8');
    for (const match of code.matchAll(STATIC_RELATIVE_IMPORT)) {
      if (match[1] !== undefined) pending.push(join(dirname(file), match[1]));
    }
  }
  return [...seen];
}

async function sourcesOf(file: string): Promise<string[]> {
  const map = JSON.parse(await readFile(`${file}.map`, 'utf8')) as { sources: string[] };
  return map.sources;
}

describe('postgres function bundle', () => {
  let scratch: string;
  let entry: string;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'circle-core-postgres-init-'));
    const fn = (await discoverFunctions(root)).find((candidate) => candidate.name === 'postgres');
    if (fn === undefined) throw new Error('no postgres function');
    entry = await bundleFunction(fn, root, scratch);
  }, 120_000);

  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('loads pg at init but pg-copy-streams only on a first COPY', async () => {
    const init = await initGraph(entry);
    const initSources = (await Promise.all(init.map(sourcesOf))).flat();
    expect(initSources.some((source) => source.includes('node_modules/pg/lib/client.js'))).toBe(true);
    expect(initSources.filter((source) => source.includes('pg-copy-streams'))).toEqual([]);

    const chunks = join(dirname(entry), 'chunks');
    const lazy = (await readdir(chunks))
      .filter((name) => name.endsWith('.mjs'))
      .map((name) => join(chunks, name))
      .filter((file) => !init.includes(file));
    const lazySources = (await Promise.all(lazy.map(sourcesOf))).flat();
    expect(lazySources.some((source) => source.includes('pg-copy-streams/copy-from.js'))).toBe(true);
  });
});
