/**
 * One setup shape for every connector (issue 11): each `functions/<category>/<provider>/index.ts` declares
 * `setup: { secrets?, client, services?, warmUp? }`, so `context.client` is the provider client everywhere.
 * The bare function form (`setup: (config) => ...`) still runs (the benchmark's variants use it); this
 * guard keeps connectors from being written in it.
 */
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The kind of setup a connector's index declares, read from its source text. */
function setupShape(source: string): 'kit' | 'function' | 'none' {
  const match = /\n {2}setup:\s*(\{|async\s*\(|\(|[A-Za-z_$][\w$.]*)/.exec(source);
  if (match === null) return 'none';
  return match[1] === '{' ? 'kit' : 'function';
}

async function connectorIndexes(): Promise<string[]> {
  const found: string[] = [];
  for (const category of await readdir(join(ROOT, 'functions'), { withFileTypes: true })) {
    if (!category.isDirectory()) continue;
    for (const provider of await readdir(join(ROOT, 'functions', category.name), { withFileTypes: true })) {
      const files = provider.isDirectory()
        ? await readdir(join(ROOT, 'functions', category.name, provider.name))
        : [];
      if (files.includes('index.ts')) found.push(`functions/${category.name}/${provider.name}/index.ts`);
    }
  }
  return found.sort();
}

describe('Function: setupShape', () => {
  it('tells the kit shape from the bare function forms', () => {
    // Assess
    expect(setupShape('x\n  setup: { client: ({ config }) => make(config) },')).toBe('kit');
    expect(setupShape('x\n  setup: {\n    secrets: (config) => ({}),')).toBe('kit');
    expect(setupShape('x\n  setup: (config) => make(config),')).toBe('function');
    expect(setupShape('x\n  setup: async (config) => {')).toBe('function');
    expect(setupShape('x\n  setup: createServices,')).toBe('function');
    expect(setupShape('no setup here')).toBe('none');
  });
});

describe('Connectors: one setup shape', () => {
  it('declares every connector’s setup in the kit’s shape', async () => {
    // Prepare
    const indexes = await connectorIndexes();
    // Act
    const shapes = await Promise.all(
      indexes.map(async (path) => [path, setupShape(await readFile(join(ROOT, path), 'utf8'))] as const),
    );
    const offending = shapes.filter(([, shape]) => shape !== 'kit');
    // Assess
    expect(indexes.length).toBeGreaterThanOrEqual(5);
    expect(offending).toEqual([]);
  });
});
