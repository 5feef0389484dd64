import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { productionPackages } from '../../scripts/security/licences.ts';
import { ROOT, runSecurity } from './support.ts';

interface Bom {
  bomFormat: string;
  specVersion: string;
  metadata: { component: { name: string; 'bom-ref': string } };
  components: { 'bom-ref': string; name: string; licenses?: unknown[]; hashes?: unknown[] }[];
  dependencies: { ref: string; dependsOn: string[] }[];
}

let scratch: string;
let bom: Bom;
let output: string;
let status: number;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'circle-sbom-'));
  ({ status, output } = await runSecurity('sbom', ROOT, { CIRCLE_BUILD_DIR: scratch }));
  bom = JSON.parse(await readFile(join(scratch, 'sbom.cdx.json'), 'utf8')) as Bom;
}, 120_000);

afterAll(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

describe('Security check: sbom', () => {
  it('writes a CycloneDX document into the build folder and says so', () => {
    // Assess
    expect(status).toBe(0);
    expect(output).toMatch(/PASS {2}sbom {6}.*sbom\.cdx\.json: CycloneDX, \d+ components/);
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(Number(bom.specVersion)).toBeGreaterThanOrEqual(1.5);
    expect(bom.metadata.component.name).toBe('circle-core');
  });

  it('lists exactly the production tree, including the packages dev dependencies share (npm sbom --omit dev drops them)', async () => {
    // Prepare
    const shipped = (await productionPackages(ROOT)).map((found) => `${found.name}@${found.version}`);
    const refs = bom.components.map((component) => component['bom-ref']);
    // Assess
    expect(refs.sort()).toEqual(shipped.filter((ref) => ref !== bom.metadata.component['bom-ref']).sort());
    const names = bom.components.map((component) => component.name);
    expect(names).toEqual(expect.arrayContaining(['@aws-sdk/client-s3', 'zod', 'pg', 'pg-types']));
    expect(names).not.toContain('vitest');
    expect(names).not.toContain('secretlint');
  });

  it('gives every dependency its licence and hash, and keeps the graph inside the document', () => {
    // Prepare
    const dependencies = bom.components.filter(
      (component) => !component['bom-ref'].startsWith('@circle-core/'),
    );
    const known = new Set([bom.metadata.component['bom-ref'], ...bom.components.map((c) => c['bom-ref'])]);
    // Assess
    for (const component of dependencies) {
      expect(component.licenses?.length, component.name).toBeGreaterThan(0);
      expect(component.hashes?.length, component.name).toBeGreaterThan(0);
    }
    expect(bom.dependencies.length).toBeGreaterThan(0);
    for (const { ref, dependsOn } of bom.dependencies) {
      expect(known.has(ref), ref).toBe(true);
      for (const target of dependsOn) expect(known.has(target), `${ref} -> ${target}`).toBe(true);
    }
  });
});
