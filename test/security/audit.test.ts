import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interpretAudit, runAudit } from '../../scripts/security/audit.ts';
import { runSecurity } from './support.ts';

/** What the fake registry's bulk advisory endpoint answers: a status and advisories by package. */
let answer: { status: number; advisories: Record<string, unknown[]> } = { status: 200, advisories: {} };
/** Package names the bulk requests asked about. */
const asked: string[][] = [];

let advisoryId = 0;
/** A new id each time: npm caches what it works out per advisory id. */
const advisory = (severity: string) => ({
  id: ++advisoryId,
  url: 'https://advisories.example.test/1',
  title: `Planted ${severity} advisory`,
  severity,
  vulnerable_versions: '<1.3.0',
  cwe: [],
  cvss: { score: 9.8, vectorString: null },
});

let server: Server;
let registry: string;
let closedPort: string;
let scratch: string;
let project: string;
let previousCache: string | undefined;
let previousRetries: string | undefined;

beforeAll(async () => {
  // npm's audit: a bulk advisory POST (gzipped), then the packument of each flagged package to work out fixes.
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      response.setHeader('content-type', 'application/json');
      if (request.url?.startsWith('/-/npm/v1/security/advisories/bulk')) {
        const raw = Buffer.concat(chunks);
        const body = request.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
        asked.push(Object.keys(JSON.parse(body.toString('utf8')) as object));
        response.statusCode = answer.status;
        response.end(answer.status === 200 ? JSON.stringify(answer.advisories) : '');
      } else if (request.url === '/left-pad') {
        const version = (v: string) => ({
          name: 'left-pad',
          version: v,
          dist: { tarball: `${registry}left-pad-${v}.tgz` },
        });
        response.end(
          JSON.stringify({
            name: 'left-pad',
            'dist-tags': { latest: '1.3.0' },
            versions: { '1.0.0': version('1.0.0'), '1.3.0': version('1.3.0') },
          }),
        );
      } else {
        response.statusCode = 404;
        response.end('{}');
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  registry = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  const spare = createServer();
  await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
  closedPort = `http://127.0.0.1:${(spare.address() as AddressInfo).port}/`;
  await new Promise((resolve) => spare.close(resolve));

  scratch = await mkdtemp(join(tmpdir(), 'circle-audit-'));
  // npm keeps advisories and packuments in its cache: these fakes go to one of their own.
  previousCache = process.env['npm_config_cache'];
  process.env['npm_config_cache'] = join(scratch, 'npm-cache');
  previousRetries = process.env['npm_config_fetch_retries'];
  // An unreachable registry is the point of two tests: no retries with back-off.
  process.env['npm_config_fetch_retries'] = '0';
  project = join(scratch, 'app');
  await mkdir(project, { recursive: true });
  await writeFile(
    join(project, 'package.json'),
    JSON.stringify({
      name: 'fixture-app',
      version: '1.0.0',
      dependencies: { 'left-pad': '1.0.0' },
      devDependencies: { 'dev-only': '1.0.0' },
    }),
  );
  await writeFile(
    join(project, 'package-lock.json'),
    JSON.stringify({
      name: 'fixture-app',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: {
        '': {
          name: 'fixture-app',
          version: '1.0.0',
          dependencies: { 'left-pad': '1.0.0' },
          devDependencies: { 'dev-only': '1.0.0' },
        },
        'node_modules/left-pad': { version: '1.0.0' },
        'node_modules/dev-only': { version: '1.0.0', dev: true },
      },
    }),
  );
});

afterAll(async () => {
  for (const [name, value] of [
    ['npm_config_cache', previousCache],
    ['npm_config_fetch_retries', previousRetries],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await new Promise((resolve) => server?.close(resolve));
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

describe('Security check: audit', () => {
  it('fails the build on a critical advisory for a production dependency, asking only about production ones', async () => {
    // Prepare
    answer = { status: 200, advisories: { 'left-pad': [advisory('critical')] } };
    asked.length = 0;
    // Act: the registry comes from the environment, as a CI machine's npm config would set it.
    const { status, output } = await runSecurity('audit', project, { npm_config_registry: registry });
    // Assess
    expect(status).toBe(1);
    expect(output).toContain('FAIL  audit     1 critical');
    expect(output).toContain(
      '- left-pad (critical, 1.0.0): Planted critical advisory https://advisories.example.test/1',
    );
    expect(asked).toEqual([['left-pad']]);
  });

  it('passes when the advisories found are below high', async () => {
    // Prepare
    answer = { status: 200, advisories: { 'left-pad': [advisory('moderate')] } };
    // Act
    const outcome = await runAudit(project, { registry });
    // Assess
    expect(outcome).toEqual({ status: 'passed', summary: '1 moderate' });
  });

  it('skips with a notice when the audit endpoint refuses the request or cannot be reached', async () => {
    // Prepare
    answer = { status: 405, advisories: {} };
    // Act
    const refused = await runAudit(project, { registry, required: false });
    const unreachable = await runAudit(project, { registry: closedPort, required: false });
    const cli = await runSecurity('audit', project, {
      npm_config_registry: closedPort,
      CIRCLE_AUDIT_REQUIRED: '',
    });
    // Assess
    expect(refused).toMatchObject({
      status: 'skipped',
      summary: expect.stringMatching(/did not answer \(405 /),
    });
    expect(unreachable).toMatchObject({
      status: 'skipped',
      summary: expect.stringMatching(/did not answer \(request to .* failed, reason: connect ECONNREFUSED/),
    });
    expect(cli.status).toBe(0);
    expect(cli.output).toMatch(/SKIP {2}audit {5}the audit endpoint did not answer/);
  });

  it('fails an unreachable audit when CIRCLE_AUDIT_REQUIRED=true', async () => {
    // Act
    const { status, output } = await runSecurity('audit', project, {
      npm_config_registry: closedPort,
      CIRCLE_AUDIT_REQUIRED: 'true',
    });
    // Assess
    expect(status).toBe(1);
    expect(output).toMatch(
      /FAIL {2}audit {5}the audit endpoint did not answer .*; CIRCLE_AUDIT_REQUIRED=true/,
    );
  });
});

describe('Function: interpretAudit', () => {
  it('fails on what npm audit fails for other reasons, such as a missing lockfile', async () => {
    // Act
    const outcome = interpretAudit(
      JSON.stringify({ error: { code: 'ENOLOCK', summary: 'This command requires an existing lockfile.' } }),
    );
    // Assess
    expect(outcome).toEqual({
      status: 'failed',
      summary: 'npm audit failed: This command requires an existing lockfile.',
      findings: [],
    });
  });
});
