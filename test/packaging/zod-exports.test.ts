/**
 * The layer's zod ships only the exports the repository's code uses (scripts/lib/zod-exports.ts), with JSON
 * Schema conversion in a second file: the use collector reads what it should, a function using another
 * export fails its build naming the file and the export, the built layer's zod exports every name the code
 * uses, and its `zod/json-schema` file converts a schema that works inside the main file's `z.object`.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFunction, bundleLayer } from '../../scripts/lib/bundle.ts';
import type { FunctionSource } from '../../scripts/lib/functions.ts';
import {
  layerZodExports,
  ZOD_JSON_SCHEMA_EXPORTS,
  ZOD_USE_ROOTS,
  zodUseOf,
  zodValueExports,
} from '../../scripts/lib/zod-exports.ts';

const root = resolve(import.meta.dirname, '../..');
let scratch: string;
let layerModules: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'circle-core-zod-exports-'));
  const layerDir = await bundleLayer(root, join(scratch, 'out'));
  layerModules = join(layerDir, 'nodejs', 'node_modules');
  // The layer where a function resolves it at run time: node_modules beside the importing file.
  await symlink(layerModules, join(scratch, 'node_modules'), 'dir');
}, 120_000);

afterAll(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

/** A fixture function folder under the scratch folder (outside the folders the layer's zod serves). */
async function fixtureFunction(name: string, source: string): Promise<FunctionSource> {
  const dir = join(scratch, 'fixtures', name);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'index.ts'), source);
  return {
    name,
    category: 'test',
    provider: name,
    dir,
    entry: join(dir, 'index.ts'),
    definitionFile: join(dir, 'function.yml'),
    definition: {},
  };
}

describe('Function: zodUseOf', () => {
  it('counts values used through the namespace, named imports and sub-namespaces, not types', () => {
    // Prepare
    const source = [
      "import * as z from 'zod';",
      "import { literal, type ZodType } from 'zod';",
      "import type { infer as Infer } from 'zod';",
      'export const At = z.object({ at: z.iso.datetime(), n: z.coerce.number(), k: literal("a") });',
      'export type At = z.output<typeof At>;',
      'const loose = (s: z.ZodType): ZodType => s as Parameters<typeof z.fromJSONSchema>[0];',
      'const pick = { z: 1 }.z;',
    ].join('\n');
    // Act
    const use = zodUseOf(source, 'a.ts');
    // Assess
    expect([...use.names].sort()).toEqual(['coerce', 'iso', 'literal', 'object']);
    expect(use.whole).toBeUndefined();
  });

  it('follows `import { z }`, ignores `import type * as z`, and flags what needs all of zod', () => {
    // Act
    const aliased = zodUseOf("import { z as zz } from 'zod';\nzz.tuple([]);\n", 'a.ts');
    const typeOnly = zodUseOf("import type * as z from 'zod';\nexport type T = z.ZodType;\n", 'b.ts');
    const byDefault = zodUseOf("import z from 'zod';\nz.string();\n", 'c.ts');
    const passed = zodUseOf("import * as z from 'zod';\nregister(z);\n", 'd.ts');
    const starred = zodUseOf("export * from 'zod';\n", 'e.ts');
    // Assess
    expect([...aliased.names]).toEqual(['tuple']);
    expect(typeOnly).toEqual({ names: new Set(), whole: undefined });
    expect(byDefault.whole).toMatch(/default import/);
    expect(passed.whole).toMatch(/namespace "z" other than as z\.<name>/);
    expect(starred.whole).toMatch(/re-exports all of zod/);
  });
});

describe('Function: layerZodExports', () => {
  it('lists real zod value exports the code uses, JSON Schema conversion apart, and no namespace nor default', async () => {
    // Act
    const exported = await layerZodExports(root);
    const real = await zodValueExports(root);
    // Assess
    expect(exported.main).toEqual(expect.arrayContaining(['object', 'string', 'iso', 'coerce']));
    expect(exported.main.every((name) => real.has(name))).toBe(true);
    expect(exported.main).not.toEqual(expect.arrayContaining(['z']));
    expect(exported.main).not.toContain('default');
    expect(exported.main).not.toContain('fromJSONSchema');
    expect(exported.main).not.toContain('core');
    expect(exported.jsonSchema).toEqual([...ZOD_JSON_SCHEMA_EXPORTS]);
    expect(exported.main.length).toBeLessThan(real.size / 4);
  });
});

describe('Function: bundleFunction (zod exports)', () => {
  it('fails a function that uses a zod export the layer lacks, naming the file and the export', async () => {
    // Prepare
    const fn = await fixtureFunction(
      'uses-tuple',
      [
        "import * as z from 'zod';",
        'const Pair = z.tuple([z.string(), z.number()]);',
        'export const connector = { prepare: async () => {}, handler: async (event: unknown) => Pair.parse(event) };',
        '',
      ].join('\n'),
    );
    const exported = await layerZodExports(root);
    // Act
    const building = bundleFunction(fn, root, join(scratch, 'build'));
    // Assess
    expect(exported.main).not.toContain('tuple');
    await expect(building).rejects.toThrow(`uses-tuple: uses zod exports the layer's zod does not ship`);
    await expect(building).rejects.toThrow(`${relative(root, fn.entry)} uses z.tuple`);
  });

  it("fails a function that calls zod's JSON Schema conversion directly instead of through the core", async () => {
    // Prepare
    const fn = await fixtureFunction(
      'converts-directly',
      [
        "import * as z from 'zod';",
        'export const connector = { prepare: async () => {}, handler: async (event: unknown) => z.fromJSONSchema({ type: "string" }).parse(event) };',
        '',
      ].join('\n'),
    );
    // Act
    const building = bundleFunction(fn, root, join(scratch, 'build'));
    // Assess
    await expect(building).rejects.toThrow(/uses z\.fromJSONSchema/);
  });

  it('builds a function using only what the layer ships', async () => {
    // Prepare
    const fn = await fixtureFunction(
      'uses-object',
      [
        "import * as z from 'zod';",
        'const Item = z.object({ id: z.string() });',
        'export const connector = { prepare: async () => {}, handler: async (event: unknown) => Item.parse(event) };',
        '',
      ].join('\n'),
    );
    // Act
    const file = await bundleFunction(fn, root, join(scratch, 'build'));
    // Assess
    expect(file).toMatch(/uses-object[\\/]index\.mjs$/);
  });
});

/** Every real zod export the repository's non-test sources use, the core's converter module left out. */
async function namesUsedBySources(): Promise<Set<string>> {
  const real = await zodValueExports(root);
  const used = new Set<string>();
  for (const folder of ZOD_USE_ROOTS) {
    const entries = await readdir(join(root, folder), { recursive: true, withFileTypes: true });
    const files = entries
      .filter((entry) => entry.isFile() && /\.ts$/.test(entry.name) && !/\.test\.ts$/.test(entry.name))
      .filter((entry) => entry.name !== 'json-schema-zod.ts' && !entry.parentPath.includes('node_modules'))
      .map((entry) => join(entry.parentPath, entry.name));
    for (const file of files) {
      for (const name of zodUseOf(await readFile(file, 'utf8'), file).names)
        if (real.has(name)) used.add(name);
    }
  }
  return used;
}

describe('Layer: zod', () => {
  it('exports exactly the names the code uses, every one a function source uses among them', async () => {
    // Prepare
    const dir = join(layerModules, 'zod');
    const exported = await layerZodExports(root);
    const used = await namesUsedBySources();
    // Act
    const zod = (await import(pathToFileURL(join(dir, 'index.js')).href)) as Record<string, unknown>;
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    // Assess
    expect(Object.keys(zod).sort()).toEqual([...exported.main].sort());
    expect([...used].filter((name) => !(name in zod))).toEqual([]);
    expect(zod['default']).toBeUndefined();
    expect((await readdir(dir)).sort()).toEqual(['index.js', 'json-schema.js', 'package.json']);
    // main alone, no exports map (scripts/lib/bundle.ts, writeManifest): zod/json-schema.js is a plain file.
    expect(manifest).toMatchObject({ name: 'zod', type: 'module', main: './index.js' });
    expect(manifest).not.toHaveProperty('exports');
  });

  it("converts JSON Schema in zod/json-schema, and its schemas work inside the main file's z.object", async () => {
    // Prepare
    const dir = join(layerModules, 'zod');
    const z = (await import(pathToFileURL(join(dir, 'index.js')).href)) as typeof import('zod');
    const { fromJSONSchema } = (await import(
      pathToFileURL(join(dir, 'json-schema.js')).href
    )) as typeof import('zod');
    // Act
    const label = fromJSONSchema({ type: 'string', enum: ['bug', 'feature'] });
    const issue = z.object({ label, count: z.number() });
    const good = issue.safeParse({ label: 'bug', count: 1 });
    const bad = issue.safeParse({ label: 'nope', count: 1 });
    // Assess
    expect(good).toEqual({ success: true, data: { label: 'bug', count: 1 } });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues.map((problem) => problem.path)).toEqual([['label']]);
    expect(bad.error?.issues[0]?.message).toMatch(/^Invalid option/);
  });

  it("loads the converter through the core's schemaFromJsonSchema from the built layer", async () => {
    // Prepare
    const probe = join(scratch, 'probe.mjs');
    await writeFile(
      probe,
      [
        "import * as z from 'zod';",
        "import { schemaFromJsonSchema } from '@circle-core/core';",
        "const schema = await schemaFromJsonSchema({ type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] });",
        'export const results = [z.object({ item: schema }).safeParse({ item: { id: 1 } }).success, schema.safeParse({}).success];',
        '',
      ].join('\n'),
    );
    // Act
    const { results } = (await import(pathToFileURL(probe).href)) as { results: boolean[] };
    // Assess
    expect(results).toEqual([true, false]);
  });
});
