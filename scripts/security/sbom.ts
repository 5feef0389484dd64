/**
 * The software bill of materials of what ships: CycloneDX JSON from npm's own `npm sbom`, narrowed to the
 * production tree. `npm sbom --omit dev` cannot be trusted for that: it drops every package a dev
 * dependency also reaches (npm 11.19 left out `@aws-sdk/client-s3`, `zod` and `pg-types`), so the whole
 * tree is asked for and cut down to what `npm ls --omit=dev --all` lists, and the result is checked to hold
 * every production package.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runCommand } from './exec.ts';
import { productionPackages } from './licences.ts';

/** The parts of a CycloneDX document this module touches. */
interface CycloneDx {
  bomFormat: string;
  specVersion: string;
  metadata: { component?: { name?: string; 'bom-ref'?: string } };
  components: { 'bom-ref': string; name: string; version: string }[];
  dependencies?: { ref: string; dependsOn?: string[] }[];
}

/**
 * The CycloneDX document of the production tree installed under `root`.
 *
 * @example
 * ```ts
 * const bom = await productionSbom(process.cwd()); // { bomFormat: 'CycloneDX', components: [...] }
 * ```
 */
export async function productionSbom(root: string): Promise<CycloneDx> {
  const npm = await runCommand('npm', ['sbom', '--sbom-format', 'cyclonedx', '--sbom-type', 'application'], {
    cwd: root,
  });
  if (npm.status !== 0)
    throw new Error(`npm sbom failed: ${(npm.stderr || npm.stdout).trim().slice(0, 2000)}`);
  const bom = JSON.parse(npm.stdout) as CycloneDx;
  const packages = await productionPackages(root);
  const shipped = new Set(packages.map((found) => `${found.name}@${found.version}`));
  const rootRef = bom.metadata.component?.['bom-ref'];
  bom.components = bom.components.filter((component) => shipped.has(component['bom-ref']));
  const kept = new Set([...bom.components.map((component) => component['bom-ref']), rootRef]);
  bom.dependencies = (bom.dependencies ?? [])
    .filter((dependency) => kept.has(dependency.ref))
    .map((dependency) => ({
      ...dependency,
      dependsOn: (dependency.dependsOn ?? []).filter((ref) => kept.has(ref)),
    }));
  // npm names the root after its folder; the package's own name is what a reader looks for.
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { name?: string };
  if (bom.metadata.component !== undefined && manifest.name !== undefined) {
    bom.metadata.component.name = manifest.name;
  }
  const missing = [...shipped].filter((ref) => ref !== rootRef && !kept.has(ref));
  if (missing.length > 0) throw new Error(`the SBOM misses production packages: ${missing.join(', ')}`);
  return bom;
}

/**
 * Writes the production SBOM to `file` (the build writes `.build/sbom.cdx.json`).
 *
 * @example
 * ```ts
 * const { components } = await writeSbom(root, join(root, '.build', 'sbom.cdx.json'));
 * ```
 */
export async function writeSbom(root: string, file: string): Promise<{ file: string; components: number }> {
  const bom = await productionSbom(root);
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(bom, null, 2)}\n`);
  return { file, components: bom.components.length };
}
