/**
 * The scaffolder end to end: `scripts/new-connector/run.ts` writes a connector of each kind into a scratch
 * copy of the repository, and the copy then passes what a new connector must pass on day one: the type
 * check, Biome on the new files, the new connectors' own starter tests, the generated-docs staleness test,
 * the layering test and the versions test (each new connector released at 0.1.0, with its changelog). Bad
 * arguments are refused with a message and leave nothing behind.
 *
 * The copy is HEAD (`git archive`, so other work in progress in this checkout cannot break it), with the
 * scaffolder's own files taken from the working tree on top (a change to a template is tested before it
 * is committed), and `node_modules` linked entry by entry (`@circle-core/core` pointing at the copy's
 * own layer). It runs with `npm test`: about 30 s of CPU (one `tsc`, one Vitest run, three scaffolds),
 * 1.5 minutes of wall time on a loaded two-core machine.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '..', '..');
/** Taken from the working tree on top of HEAD: the scaffolder, its test, and what its templates import. */
const OVERLAY = ['scripts/new-connector', 'test/scaffold', 'test/peers/secrets-manager.ts'];
const MINUTES = 60_000;
const SANDBOXES_FILE = 'scripts/local/sandboxes/index.ts';

interface Case {
  category: string;
  provider: string;
  kind: 'rest' | 'aws' | 'connection';
  /** Passed as `--title`; without it the title comes from the provider name. */
  title?: string;
  /** The title the connector ends up with. */
  shows: string;
}

const CASES: readonly Case[] = [
  { category: 'devops', provider: 'acme-tickets', kind: 'rest', title: 'AcmeTickets', shows: 'AcmeTickets' },
  { category: 'storage', provider: 'acme-store', kind: 'aws', shows: 'Acme Store' },
  { category: 'database', provider: 'acme-db', kind: 'connection', title: 'Acme DB', shows: 'Acme DB' },
];

let copy: string;
const written: string[] = [];

/** An environment for child processes: this repository's Node.js 24 first, no Vitest state. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${join(ROOT, 'node_modules', '.bin')}:${process.env['PATH']}`,
  };
  for (const name of Object.keys(env))
    if (name.startsWith('VITEST') || name === 'NODE_V8_COVERAGE') delete env[name];
  env['NODE_ENV'] = 'test';
  env['NO_COLOR'] = '1';
  delete env['FORCE_COLOR'];
  return env;
}

/** Runs `node <args>` in the copy; resolves with its output and exit code, never rejects on a failure. */
async function node(args: string[], timeout = 5 * MINUTES): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, args, {
      cwd: copy,
      env: childEnv(),
      timeout,
      maxBuffer: 32 * 1024 * 1024,
    });
    return { code: 0, output: `${stdout}${stderr}` };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    return {
      code: typeof failed.code === 'number' ? failed.code : 1,
      output: `${failed.stdout}${failed.stderr}`,
    };
  }
}

const scaffold = (...args: string[]) => node(['scripts/new-connector/run.ts', ...args]);

/** A scratch copy of HEAD with the overlay and linked `node_modules`. */
async function scratchCopy(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'circle-core-scaffold-'));
  await run('sh', ['-c', `git archive --format=tar HEAD | tar -x -C "${dir}"`], { cwd: ROOT });
  for (const path of OVERLAY) {
    await rm(join(dir, path), { recursive: true, force: true });
    await cp(join(ROOT, path), join(dir, path), { recursive: true });
  }
  await mkdir(join(dir, 'node_modules', '@circle-core'), { recursive: true });
  for (const entry of await readdir(join(ROOT, 'node_modules'))) {
    if (entry === '@circle-core' || (entry.startsWith('.') && entry !== '.bin')) continue;
    await symlink(join(ROOT, 'node_modules', entry), join(dir, 'node_modules', entry));
  }
  await symlink(join(dir, 'layers', 'core'), join(dir, 'node_modules', '@circle-core', 'core'));
  // A workspace's own dependencies (versions the root could not hoist).
  await symlink(
    join(ROOT, 'layers', 'core', 'node_modules'),
    join(dir, 'layers', 'core', 'node_modules'),
  ).catch(() => undefined);
  return dir;
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

beforeAll(async () => {
  copy = await scratchCopy();
}, 2 * MINUTES);

afterAll(async () => {
  if (copy !== undefined) await rm(copy, { recursive: true, force: true });
});

describe('Script: new-connector', () => {
  describe('refusals', () => {
    it.each([
      [['devops', 'acme', '--kind', 'graphql'], 'unknown kind "graphql": choose one of rest'],
      [['devops', 'acme'], '--kind is required'],
      [['devops', 'AcmeCloud', '--kind', 'rest'], 'provider "AcmeCloud" must be kebab-case'],
      [['Dev_Ops', 'acme', '--kind', 'rest'], 'category "Dev_Ops" must be kebab-case'],
      [['devops', 'acme--cloud', '--kind', 'rest'], 'must be kebab-case'],
      [['storage', 's3', '--kind', 'aws'], 'functions/storage/s3 already exists'],
      [['files', 's3', '--kind', 'aws'], 'provider "s3" is already functions/storage/s3'],
      [['cloud', 'aws-thing', '--kind', 'aws'], 'AWS_* variables belong to the runtime or the core'],
      [['devops', 'acme', 'extra', '--kind', 'rest'], 'unexpected arguments: extra'],
      [['devops', 'acme', '--kind', 'rest', '--colour', 'red'], "Unknown option '--colour'"],
    ])('refuses %j with a message, writing nothing', async (args, message) => {
      // Prepare
      const serverless = await readFile(join(copy, 'serverless.yml'), 'utf8');

      // Act
      const { code, output } = await scaffold(...args);

      // Assess
      expect(code).toBe(1);
      expect(output).toContain(message);
      expect(output).toContain('Usage: npm run new:connector');
      expect(await readFile(join(copy, 'serverless.yml'), 'utf8')).toBe(serverless);
      expect(await exists(join(copy, 'functions', 'devops', 'acme'))).toBe(false);
    });
  });

  describe.each(CASES)('kind $kind ($category/$provider)', ({ category, provider, kind, title, shows }) => {
    const folder = `functions/${category}/${provider}`;

    // Regenerating the docs of every connector: seconds alone, over a minute on a loaded 2-core machine.
    it('writes the connector, wires serverless.yml and regenerates the docs', {
      timeout: 5 * MINUTES,
    }, async () => {
      // Act
      const { code, output } = await scaffold(
        category,
        provider,
        '--kind',
        kind,
        ...(title ? ['--title', title] : []),
      );

      // Assess
      expect(output).toContain(`Created the ${shows} connector (${kind})`);
      expect(code).toBe(0);
      const entries = await readdir(join(copy, folder), { recursive: true, withFileTypes: true });
      const files = entries
        .filter((entry) => entry.isFile())
        .map((entry) => relative(join(copy, folder), join(entry.parentPath, entry.name)))
        .sort();
      expect(files).toEqual(
        expect.arrayContaining([
          'CHANGELOG.md',
          'README.md',
          'client.ts',
          'config.ts',
          'errors.ts',
          'function.yml',
          'index.test.ts',
          'index.ts',
          'models.ts',
          'schema/0.1.0.json',
        ]),
      );
      written.push(...files.map((file) => `${folder}/${file}`));
      if (kind === 'rest') written.push(`scripts/local/sandboxes/${provider}.ts`, SANDBOXES_FILE);
      if (kind === 'connection') written.push(`test/peers/${provider}.ts`);

      const serverless = await readFile(join(copy, 'serverless.yml'), 'utf8');
      expect(serverless).toContain(`  - \${file(${folder}/function.yml):function}`);
      expect(serverless).toContain(`        artifact: \${self:custom.buildDir}/functions/${provider}.zip`);
      expect(serverless).toContain(`  - Resources: \${file(${folder}/function.yml):resources}`);

      const readme = await readFile(join(copy, folder, 'README.md'), 'utf8');
      expect(readme).toMatch(/<!-- generated:operations -->\n\| operation/);
      expect(readme).toMatch(/<!-- generated:configuration -->\n\| variable/);
      expect(readme).toMatch(/<!-- generated:threat-model -->\n- \*\*What it can reach:\*\*/);
      for (const heading of [
        'Auth setup',
        'Running it locally',
        'Triggers',
        'Failure modes',
        'Threat model',
        'Version',
      ]) {
        expect(readme).toContain(`## ${heading}`);
      }
      // Every kind declares its setup in the kit's one shape: `client` is what the operations call.
      const index = await readFile(join(copy, folder, 'index.ts'), 'utf8');
      expect(index).toMatch(/\n {2}setup: \{\n?\s*(secrets: |client: )/);
      expect(index).not.toMatch(/setup: (async )?\(?config\)? =>/);
      expect(await readFile(join(copy, 'docs', 'connectors.md'), 'utf8')).toContain(`\`${provider}\``);
      expect(await exists(join(copy, 'docs', 'openapi', `${provider}.json`))).toBe(true);
    });

    it.runIf(kind === 'rest')(
      'adds its contract fake to the sandboxes, so npm start serves it with its token stored',
      async () => {
        // Prepare: what the stack does at start-up (planProviders, startSandboxes) for this function's settings.
        const prefix = provider.toUpperCase().replaceAll('-', '_');
        const check = join(copy, `sandbox-check-${provider}.ts`);
        await writeFile(
          check,
          `import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { planProviders, startSandboxes } from './${SANDBOXES_FILE}';
import { SecretStore } from './scripts/local/stores/secret-store.ts';
const declared = parse(readFileSync('${folder}/function.yml', 'utf8')).function['${provider}'].environment;
const environment = Object.fromEntries(
  Object.entries(declared).map(([name, value]) => [name, String(value).replace('\${self:custom.secretPrefix}', 'circle-core/dev')]),
);
const store = new SecretStore(process.argv[2]);
const sandboxes = await startSandboxes(planProviders([{ environment }], {}), store, {});
const url = sandboxes.variables['${prefix}_API_URL'];
const token = (await store.get(environment['${prefix}_TOKEN_SECRET']))?.value;
const answer = await fetch(url + '/items?limit=2', { headers: { authorization: 'Bearer ' + token } });
console.log(JSON.stringify({ url, token, status: answer.status, body: await answer.json(), providers: sandboxes.providers }));
await sandboxes.close();
`,
        );

        // Act
        const { code, output } = await node([check, join(copy, `secrets-${provider}.json`)], MINUTES);
        const table = await readFile(join(copy, SANDBOXES_FILE), 'utf8');

        // Assess
        expect(code, output).toBe(0);
        const served = JSON.parse(output.trim().split('\n').pop() ?? '{}') as {
          url: string;
          token: string;
          status: number;
          body: { items: { name: string }[] };
          providers: { provider: string; mode: string }[];
        };
        expect(served.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
        expect(served.token).toBe(`${provider}-sandbox-token`);
        expect(served.status).toBe(200);
        expect(served.body.items).toHaveLength(2);
        expect(served.providers).toEqual([expect.objectContaining({ provider, mode: 'sandbox' })]);
        expect(table).toContain(`from './${provider}.ts';`);
        expect(table.match(new RegExp(`provider: '${provider}'`, 'g'))).toHaveLength(1);
      },
      2 * MINUTES,
    );

    it('writes no TODO, no leftover token, and IAM without wildcard actions', async () => {
      // Act
      const texts = await Promise.all(
        written.filter((file) => file.includes(provider)).map((file) => readFile(join(copy, file), 'utf8')),
      );
      const definition = parse(await readFile(join(copy, folder, 'function.yml'), 'utf8')) as {
        function: Record<
          string,
          { iamRoleStatements: { Action: string[] }[]; environment: Record<string, unknown> }
        >;
      };
      const fn = definition.function[provider];

      // Assess
      expect(texts.length).toBeGreaterThanOrEqual(9);
      for (const text of texts) {
        expect(text).not.toMatch(/TODO|FIXME|XXX/);
        expect(text).not.toMatch(/__[A-Za-z]+__/);
      }
      expect(fn?.environment['CIRCLE_DEAD_LETTER_QUEUE_URL']).toBeDefined();
      for (const statement of fn?.iamRoleStatements ?? []) {
        for (const action of statement.Action) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
      }
    });
  });

  it(
    'leaves a copy that type checks and passes Biome on every new file',
    async () => {
      // Act
      const tsc = await node(['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit']);
      const biome = await node([
        'node_modules/.bin/biome',
        'check',
        '--error-on-warnings',
        'serverless.yml',
        ...written,
      ]);

      // Assess
      expect(written.length).toBeGreaterThanOrEqual(CASES.length * 9);
      expect(tsc.output).toBe('');
      expect(tsc.code).toBe(0);
      expect(biome.code, biome.output).toBe(0);
    },
    6 * MINUTES,
  );

  it(
    "passes the new connectors' own tests, the docs staleness, layering and versions tests",
    async () => {
      // Act
      const folders = CASES.map(({ category, provider }) => `functions/${category}/${provider}`);
      const vitest = await node([
        'node_modules/vitest/vitest.mjs',
        'run',
        ...folders,
        'test/docs/generated.test.ts',
        'test/packaging/layering.test.ts',
        'test/versions/connectors.test.ts',
      ]);

      // Assess
      expect(vitest.code, vitest.output).toBe(0);
      expect(vitest.output).toMatch(/Test Files {2}6 passed \(6\)/);
    },
    6 * MINUTES,
  );
});
