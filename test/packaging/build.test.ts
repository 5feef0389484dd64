/**
 * Runs `scripts/build.ts` once into a scratch folder and checks the artifacts the way Lambda will use them:
 * each function zip has index.mjs at its root (chunks it loads on first use under chunks/), imports the core
 * and zod from the layer and bundles the AWS SDK clients it uses (no SDK import is left to the runtime); the
 * layer zip has the core and zod under nodejs/node_modules and no SDK (the core's lazy SDK imports resolve
 * from the runtime); and a built function, imported in a fresh Node process with the layer where the runtime
 * puts it (/opt/nodejs/node_modules, mimicked by a node_modules link beside the bundle) and the SDK where the
 * runtime provides it, answers a health request.
 */
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployableNames, discoverFunctions, type FunctionSource } from '../../scripts/lib/functions.ts';
import { listZip } from '../../scripts/lib/zip.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
/** The connectors of this phase: one that lost its folder or its function.yml fails every check below. */
const EXPECTED = ['github', 'mysql', 'postgres', 's3', 'slack'];
const discovered = await discoverFunctions(root);
const names = [...new Set([...EXPECTED, ...discovered.map((fn) => fn.name)])].sort();
const find = (name: string): FunctionSource | undefined => discovered.find((fn) => fn.name === name);

/** Whether a function's own sources import an AWS SDK package as a value (not only types). */
function usesAwsSdk(fn: FunctionSource | undefined): boolean {
  if (fn === undefined) return false;
  return readdirSync(fn.dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.ts$/.test(entry.name) && !/\.test\.ts$/.test(entry.name))
    .some((entry) =>
      /^import\s+(?!type\b)[^;]*from\s+'@aws-sdk\/|import\('@aws-sdk\//m.test(
        readFileSync(join(entry.parentPath, entry.name), 'utf8'),
      ),
    );
}

/**
 * Which entry of the core a connector loads (layers/core/src/base.ts; `coreEntryFor` decides from its
 * imports): those without an HTTP provider get base.js, those using the REST, auth, event-receiving,
 * or coordination kits the whole core. Pinned for a few on each side; every function loads
 * exactly one of the two.
 */
const BASE_ENTRY = new Set(['mysql', 'postgres', 'redis', 's3', 'sqs']);
const WHOLE_CORE = new Set(['bedrock', 'github', 'nats', 'slack', 'stripe']);

/** Strings only the core contains: finding one in a function bundle means the core was inlined. */
const CORE_MARKER = 'circle-core.dev/problems';
/** Strings every bundled AWS SDK v3 client carries (smithy middleware, user agent). */
// The SDK's user agent; not `amz-sdk-invocation-id`, which the core's own signed secrets request sends too.
const SDK_MARKERS = ['aws-sdk-js'];
/** Only the X-Ray SDK (behind the tracer) carries this: it must stay out of the core's entry chunk. */
const TRACER_MARKER = 'AWS_XRAY_CONTEXT_MISSING';

let out: string;
let report: string;

beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'circle-core-build-'));
  const { stdout } = await run(process.execPath, ['scripts/build.ts', '--out-dir', out], { cwd: root });
  report = stdout;
  // The Lambda runtime's resolution path: the SDK beside the runtime, the layer at /opt/nodejs/node_modules.
  await mkdir(join(out, 'node_modules'));
  await symlink(join(root, 'node_modules', '@aws-sdk'), join(out, 'node_modules', '@aws-sdk'), 'dir');
  const layerModules = join(out, 'layer', 'nodejs', 'node_modules');
  // Every Lambda the build zips: the connectors and their streaming functions (`openai-stream`).
  for (const name of deployableNames(discovered)) {
    const own = join(out, 'functions', name, 'node_modules');
    // A function shipping a native engine (DuckDB) has node_modules of its own: the layer's packages go beside.
    const shipped = await readdir(own).catch(() => undefined);
    if (shipped === undefined) await symlink(layerModules, own, 'dir');
    else
      for (const entry of await readdir(layerModules))
        await symlink(join(layerModules, entry), join(own, entry), 'dir');
  }
  // The whole build (every function, the streaming ones, the layer), given the time template.test.ts and
  // operations.test.ts give theirs: this file took 175-222 s on two cores shared with other builds.
}, 300_000);

afterAll(async () => {
  if (out !== undefined) await rm(out, { recursive: true, force: true });
});

describe('Script: build', () => {
  it('prints one size row per built function and for the layer', () => {
    // Assess
    for (const fn of discovered) expect(report).toMatch(new RegExp(`^function ${fn.name}\\s+\\d`, 'm'));
    expect(report).toMatch(/^layer\s+\d+\.\d\s+\d+\.\d\s+\d+\.\d$/m);
    expect(report).toMatch(/^\s+@circle-core\/core\s+\d/m);
  });

  describe.each(names)('Function: %s', (name) => {
    const fn = find(name);

    it('is discovered: its folder has a function.yml and an index.ts', () => {
      // Assess
      expect(fn, `${name} was not discovered`).toBeDefined();
    });

    it('has a zip with index.mjs at the root, its chunks under chunks/, and a source map beside each', async () => {
      // Act
      const paths = (await listZip(join(out, 'functions', `${name}.zip`))).map((file) => file.path).sort();
      const code = paths.filter((path) => path.endsWith('.mjs'));
      // Assess
      expect(paths).toEqual(expect.arrayContaining(['index.mjs', 'index.mjs.map']));
      expect(
        code.filter((path) => path !== 'index.mjs').every((path) => /^chunks\/[\w-]+\.mjs$/.test(path)),
      ).toBe(true);
      expect(paths.filter((path) => path.endsWith('.map'))).toEqual(code.map((path) => `${path}.map`).sort());
    });

    it('imports the core and zod from the layer and bundles the AWS SDK clients it uses', async () => {
      // Prepare
      const dir = join(out, 'functions', name);
      const files = (await listZip(join(out, 'functions', `${name}.zip`)))
        .map((file) => file.path)
        .filter((path) => path.endsWith('.mjs'));
      // Act
      const code = await Promise.all(files.map((path) => readFile(join(dir, path), 'utf8')));
      const entry = await readFile(join(dir, 'index.mjs'), 'utf8');
      const all = code.join('\n');
      const coreEntries = new Set([...all.matchAll(/from\s*"(@circle-core\/core[^"]*)"/g)].map((m) => m[1]));
      // Assess
      // One entry of the core, never both: each is a whole copy of its state (invocation scope, secret cache).
      expect(coreEntries.size).toBe(1);
      if (BASE_ENTRY.has(name)) expect([...coreEntries]).toEqual(['@circle-core/core/base.js']);
      if (WHOLE_CORE.has(name)) expect([...coreEntries]).toEqual(['@circle-core/core']);
      expect(entry).toContain('createRequire');
      expect(entry).toMatch(/sourceMappingURL=index\.mjs\.map\s*$/);
      expect(all).not.toContain(CORE_MARKER);
      // No SDK import is left to the runtime: what the function uses is inlined.
      expect(all).not.toMatch(/(?:from|import\()\s*"@aws-sdk\//);
      if (usesAwsSdk(find(name))) for (const marker of SDK_MARKERS) expect(all).toContain(marker);
    });

    it('stays under 300 KiB of JavaScript, or its README says why under a heading on its size', async () => {
      // Prepare
      const dir = join(out, 'functions', name);
      const files = (await listZip(join(out, 'functions', `${name}.zip`))).filter((file) =>
        file.path.endsWith('.mjs'),
      );
      // Act
      const bytes = (await Promise.all(files.map((file) => readFile(join(dir, file.path))))).reduce(
        (sum, content) => sum + content.length,
        0,
      );
      const readme = await readFile(join(fn?.dir ?? '', 'README.md'), 'utf8').catch(() => '');
      // Assess
      // The reason goes under a heading about size ("Size and cold start").
      if (bytes > 300 * 1024) {
        expect(readme, `${name}: ${bytes} bytes and no README section on its size`).toMatch(
          /^#{2,} [^\n]*\bsize\b/im,
        );
      }
    });

    it('answers a health request when loaded with the layer on the resolution path', async () => {
      // Prepare
      const closedPort = await unusedPort();
      const env = {
        ...functionEnvironment(fn?.definition ?? {}),
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        // Nothing listens there: AWS calls fail at once instead of leaving the machine.
        AWS_ENDPOINT_URL: `http://127.0.0.1:${closedPort}`,
        AWS_EC2_METADATA_DISABLED: 'true',
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_TRACE_ENABLED: 'false',
      };
      // Act
      const health = await invokeHealth(join(out, 'functions', name, 'index.mjs'), env);
      // Assess
      expect(health).toMatchObject({ connector: name, version: expect.any(String) });
      const config = health.checks.find((check) => check.name === 'config');
      expect(config, JSON.stringify(health.checks)).toEqual({ name: 'config', ok: true });
    });
  });

  const streaming = discovered.flatMap((fn) => (fn.stream === undefined ? [] : [[fn.name, fn.stream.name]]));

  describe.each(streaming)('Streaming function of %s: %s', (connector, name) => {
    it('has its own zip whose index.mjs exports streamHandler, answering through awslambda.streamifyResponse', async () => {
      // Prepare
      const paths = (await listZip(join(out, 'functions', `${name}.zip`))).map((file) => file.path);
      const env = {
        ...functionEnvironment(find(connector)?.stream?.definition ?? {}),
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_ENDPOINT_URL: `http://127.0.0.1:${await unusedPort()}`,
        AWS_EC2_METADATA_DISABLED: 'true',
        POWERTOOLS_TRACE_ENABLED: 'false',
      };
      // Act
      const answer = await invokeStream(join(out, 'functions', name, 'index.mjs'), env);
      // Assess
      expect(paths).toEqual(expect.arrayContaining(['index.mjs', 'index.mjs.map']));
      expect(report).toMatch(new RegExp(`^function ${name}\\s+\\d`, 'm'));
      // An empty conversation is refused before any frame: the prelude's status, then the problem.
      expect(answer.head).toMatchObject({
        statusCode: 400,
        headers: { 'content-type': 'application/problem+json' },
      });
      expect(JSON.parse(answer.body)).toMatchObject({ status: 400 });
    });
  });

  describe('Layer', () => {
    it('zips the core and zod under nodejs/node_modules and no AWS SDK', async () => {
      // Act
      const paths = (await listZip(join(out, 'layer.zip'))).map((file) => file.path);
      // Assess
      expect(paths).toEqual(
        expect.arrayContaining([
          'nodejs/node_modules/@circle-core/core/package.json',
          'nodejs/node_modules/@circle-core/core/index.js',
          'nodejs/node_modules/zod/package.json',
          'nodejs/node_modules/zod/index.js',
        ]),
      );
      expect(paths.every((path) => path.startsWith('nodejs/node_modules/'))).toBe(true);
      expect(paths.filter((path) => path.includes('@aws-sdk'))).toEqual([]);
      const layerCode = await Promise.all(
        paths
          .filter((path) => path.endsWith('.js'))
          .map((path) => readFile(join(out, 'layer', path), 'utf8')),
      );
      for (const code of layerCode) for (const marker of SDK_MARKERS) expect(code).not.toContain(marker);
    });

    it('publishes the core as an ESM package whose entry holds the core', async () => {
      // Act
      const dir = join(out, 'layer', 'nodejs', 'node_modules', '@circle-core', 'core');
      const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Record<
        string,
        unknown
      >;
      const entry = await readFile(join(dir, 'index.js'), 'utf8');
      // Code the entry shares with a chunk it loads lazily (esbuild's helpers) is split into chunks the entry
      // imports statically: those load with it, so the core is the entry and them.
      const chunks = [...entry.matchAll(/\bimport\s*[\w*{}\s,$]*from\s*"(\.\/chunks\/[^"]+)"/g)].map(
        (match) => match[1] ?? '',
      );
      const loaded = await Promise.all(chunks.map((chunk) => readFile(join(dir, chunk), 'utf8')));
      // Assess
      expect(manifest).toMatchObject({
        name: '@circle-core/core',
        type: 'module',
        main: './index.js',
      });
      // No exports map: Node would compile its invalid-segment regular expression on every cold start.
      expect(manifest).not.toHaveProperty('exports');
      expect([entry, ...loaded].join('\n')).toContain(CORE_MARKER);
      expect(entry).toMatch(/from\s*"zod"/);
    });

    it('ships a base entry: the core without the HTTP-provider kits, a third smaller', async () => {
      // Prepare
      const dir = join(out, 'layer', 'nodejs', 'node_modules', '@circle-core', 'core');
      const paths = (await listZip(join(out, 'layer.zip'))).map((file) => file.path);
      // Act
      const whole = (await import(pathToFileURL(join(dir, 'index.js')).href)) as Record<string, unknown>;
      const base = (await import(pathToFileURL(join(dir, 'base.js')).href)) as Record<string, unknown>;
      const wholeBytes = (await readFile(join(dir, 'index.js'))).length;
      const baseBytes = (await readFile(join(dir, 'base.js'))).length;
      // Assess
      expect(paths).toEqual(
        expect.arrayContaining([
          'nodejs/node_modules/@circle-core/core/base.js',
          'nodejs/node_modules/@circle-core/core/base.js.map',
        ]),
      );
      for (const name of ['defineConnector', 'defineSecret', 'createAwsClient', 'ReusedConnection'])
        expect(typeof base[name], name).toBe('function');
      for (const name of ['defineRestProvider', 'oauth2ClientCredentials', 'verifyHmacSignature'])
        expect(base[name], name).toBeUndefined();
      // Everything base.js exports is the whole core's too, under the same name.
      expect(Object.keys(whole)).toEqual(expect.arrayContaining(Object.keys(base)));
      expect(baseBytes).toBeLessThan(wholeBytes * 0.75);
    });

    it('keeps the X-Ray tracer in a chunk the entry only imports dynamically', async () => {
      // Prepare
      const dir = join(out, 'layer', 'nodejs', 'node_modules', '@circle-core', 'core');
      const chunks = (await readdir(join(dir, 'chunks'))).filter((file) => file.endsWith('.js'));
      // Act
      const entry = await readFile(join(dir, 'index.js'), 'utf8');
      const withTracer = [];
      for (const chunk of chunks) {
        if ((await readFile(join(dir, 'chunks', chunk), 'utf8')).includes(TRACER_MARKER))
          withTracer.push(chunk);
      }
      // Assess
      expect(entry).not.toContain(TRACER_MARKER);
      expect(withTracer).toHaveLength(1);
      expect(entry).toContain(`import("./chunks/${withTracer[0]}")`);
    });

    it('bundles zod as ESM exporting only what the code uses, JSON Schema conversion in zod/json-schema', async () => {
      // Prepare
      const dir = join(out, 'layer', 'nodejs', 'node_modules', 'zod');
      // Act
      const zod = (await import(pathToFileURL(join(dir, 'index.js')).href)) as Record<string, unknown>;
      const jsonSchema = (await import(pathToFileURL(join(dir, 'json-schema.js')).href)) as Record<
        string,
        unknown
      >;
      // Assess
      expect((await readdir(dir)).sort()).toEqual(['index.js', 'json-schema.js', 'package.json']);
      expect(typeof zod['object']).toBe('function');
      expect(zod['z']).toBeUndefined();
      expect(zod['default']).toBeUndefined();
      expect(zod['fromJSONSchema']).toBeUndefined();
      expect(typeof jsonSchema['fromJSONSchema']).toBe('function');
    });

    it("leaves zod's ahead-of-time compiler out; parsing is unchanged", async () => {
      // Prepare
      const file = join(out, 'layer', 'nodejs', 'node_modules', 'zod', 'index.js');
      const z = (await import(pathToFileURL(file).href)) as typeof import('zod');
      const schema = z.object({ name: z.string().min(1) });
      // Assess
      expect(z.compile).toBeUndefined();
      expect(schema.safeParse({ name: 'x' }).success).toBe(true);
      expect(schema.safeParse({ name: '' }).success).toBe(false);
      expect(await readFile(file, 'utf8')).not.toContain('does not support async refinements');
    });
  });
});

interface HealthReport {
  connector: string;
  version: string;
  checks: { name: string; ok: boolean; detail?: string }[];
}

const CHILD = `
const started = Date.now();
const mod = await import(process.argv[2]);
const context = {
  awsRequestId: 'build-test', functionName: 'circle-core-test', functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:circle-core-test',
  memoryLimitInMB: '512', logGroupName: '/aws/lambda/circle-core-test', logStreamName: 'test',
  callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => 5000,
  done() {}, fail() {}, succeed() {},
};
const result = await mod.handler({ operation: 'health' }, context);
process.stdout.write('\\nRESULT ' + JSON.stringify(result) + '\\n');
process.exit(0);
`;

/** A stand-in for the Lambda runtime's `awslambda` (as the local stack's): the prelude, 8 NULs, the body. */
const STREAM_CHILD = `
import { Writable } from 'node:stream';
const chunks = [];
globalThis.awslambda = {
  streamifyResponse: (handler) => handler,
  HttpResponseStream: {
    from(stream, metadata) { stream.write(JSON.stringify(metadata)); stream.write(Buffer.alloc(8)); return stream; },
  },
};
const mod = await import(process.argv[2]);
const out = new Writable({ write(chunk, _e, callback) { chunks.push(Buffer.from(chunk)); callback(); } });
const context = {
  awsRequestId: 'build-test', functionName: 'circle-core-test-stream', getRemainingTimeInMillis: () => 5000,
};
const event = {
  version: '2.0', rawPath: '/chat-stream', headers: { 'content-type': 'application/json' },
  requestContext: { http: { method: 'POST' } }, body: JSON.stringify({ messages: [] }), isBase64Encoded: false,
};
await mod.streamHandler(event, out, context);
process.stdout.write('\\nRESULT ' + Buffer.concat(chunks).toString('base64') + '\\n');
process.exit(0);
`;

/** Imports a streaming bundle in a fresh Node process and sends it a request: the prelude and the body. */
async function invokeStream(
  bundle: string,
  env: Record<string, string>,
): Promise<{ head: Record<string, unknown>; body: string }> {
  const script = join(out, 'invoke-stream.mjs');
  await writeFile(script, STREAM_CHILD);
  const { stdout } = await run(process.execPath, [script, pathToFileURL(bundle).href], {
    cwd: out,
    env,
    timeout: 30_000,
  });
  const line = stdout.split('\n').find((text) => text.startsWith('RESULT '));
  if (line === undefined) throw new Error(`No stream result; output:\n${stdout}`);
  const bytes = Buffer.from(line.slice('RESULT '.length), 'base64');
  const end = bytes.indexOf(Buffer.alloc(8));
  return {
    head: JSON.parse(bytes.subarray(0, end).toString('utf8')) as Record<string, unknown>,
    body: bytes.subarray(end + 8).toString('utf8'),
  };
}

/** Imports the bundle in a fresh Node process (as the runtime would) and invokes a health request. */
async function invokeHealth(bundle: string, env: Record<string, string>): Promise<HealthReport> {
  const script = join(out, 'invoke-health.mjs');
  await writeFile(script, CHILD);
  const { stdout } = await run(process.execPath, [script, pathToFileURL(bundle).href], {
    cwd: out,
    env,
    timeout: 30_000,
  });
  const line = stdout.split('\n').find((text) => text.startsWith('RESULT '));
  if (line === undefined) throw new Error(`No health result; output:\n${stdout}`);
  return JSON.parse(line.slice('RESULT '.length)) as HealthReport;
}

async function unusedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise<void>((done) => server.close(() => done()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** Values serverless.yml gives the variables function.yml files use; others fall back to their default. */
const VARIABLES: Record<string, string> = {
  'self:custom.secretPrefix': 'circle-core/test',
  'self:custom.s3Bucket': 'circle-core-test-objects',
  'self:service': 'circle-core',
  'sls:stage': 'test',
  'aws:region': 'us-east-1',
  'aws:accountId': '123456789012',
};

function resolveVariables(text: string): string {
  let previous: string;
  let current = text;
  do {
    // Innermost first: a fallback may itself hold variables.
    previous = current;
    current = previous.replace(/\$\{([^{}]+)\}/g, (_match, expression: string) => {
      // `${a, b, 'literal'}`: the first source serverless.yml sets, else the first quoted literal.
      for (const part of expression.split(',').map((item) => item.trim())) {
        const resolved = VARIABLES[part];
        if (resolved !== undefined) return resolved;
        if (/^(['"]).*\1$/.test(part)) return part.slice(1, -1);
      }
      return 'test';
    });
  } while (current !== previous);
  return current;
}

/** What `Ref` answers for a resource, by its kind (named by the logical id's suffix in every function.yml). */
function refValue(id: string): string {
  if (id.endsWith('Topic')) return `arn:aws:sns:us-east-1:123456789012:${id}`;
  if (id.endsWith('Table') || id.endsWith('Bus')) return `circle-core-test-${id}`;
  return `https://sqs.us-east-1.amazonaws.com/123456789012/${id}`;
}

/** A function.yml `environment:` as the deployed function sees it (intrinsics become queue URL/ARN shapes). */
function functionEnvironment(definition: Readonly<Record<string, unknown>>): Record<string, string> {
  const environment = (definition['environment'] ?? {}) as Record<string, unknown>;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(environment)) {
    if (typeof value === 'string') env[key] = resolveVariables(value);
    else if (typeof value === 'number' || typeof value === 'boolean') env[key] = String(value);
    else if (value !== null && typeof value === 'object' && 'Ref' in value) {
      env[key] = refValue(String(value.Ref));
    } else if (value !== null && typeof value === 'object' && 'Fn::GetAtt' in value) {
      const [resource] = value['Fn::GetAtt'] as unknown[];
      env[key] = `arn:aws:sqs:us-east-1:123456789012:${String(resource)}`;
    }
  }
  return env;
}
