/**
 * The layer ships Powertools' logger as a CommonJS package of its own beside the core, outside the core's
 * bundle: the core's files hold none of it (a cold start that writes no log line does not compile it), and
 * the core's `createLogger` finds it there with `require` on its first line. A connector's first invocation
 * from the layer loads neither that logger nor Node's perf_hooks nor timers/promises.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogs } from '../../layers/core/src/testing/logs.ts';
import { bundleLayer } from '../../scripts/lib/bundle.ts';

const root = resolve(import.meta.dirname, '../..');
/** A message only Powertools' Logger carries: finding it in a file means the logger is in it. */
const LOGGER_MARKER = 'Both persistentLogAttributes and persistentKeys options were provided';
let scratch: string;
let layerModules: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'circle-core-layer-logger-'));
  const layerDir = await bundleLayer(root, join(scratch, 'out'));
  layerModules = join(layerDir, 'nodejs', 'node_modules');
}, 120_000);

afterAll(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

/** Every .js file under a folder. */
async function jsFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.js'))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe('Layer: Powertools logger', () => {
  it('ships the logger as one CommonJS file beside the core, and none of it in the core', async () => {
    // Prepare
    const dir = join(layerModules, '@aws-lambda-powertools', 'logger');
    // Act
    const manifest = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as Record<string, unknown>;
    const core = await jsFiles(join(layerModules, '@circle-core', 'core'));
    const withLogger = [];
    for (const file of core)
      if ((await readFile(file, 'utf8')).includes(LOGGER_MARKER)) withLogger.push(file);
    // Assess
    expect((await readdir(dir)).sort()).toEqual(['index.js', 'package.json']);
    expect(manifest).toMatchObject({
      name: '@aws-lambda-powertools/logger',
      type: 'commonjs',
      main: './index.js',
    });
    expect(manifest).not.toHaveProperty('exports');
    expect(await readFile(join(dir, 'index.js'), 'utf8')).toContain(LOGGER_MARKER);
    expect(core.length).toBeGreaterThan(0);
    expect(withLogger).toEqual([]);
  });

  it("writes a logger's lines from the layer's core, the logger loaded from beside it", async () => {
    // Prepare
    const entry = join(layerModules, '@circle-core', 'core', 'index.js');
    const core = (await import(pathToFileURL(entry).href)) as {
      createLogger: (
        connector: string,
        version?: string,
      ) => {
        info: (message: string, extra?: Record<string, unknown>) => void;
        getLevelName: () => string;
      };
    };
    const logger = core.createLogger('layer-logger', '3.1.0');
    // Act
    const logs = captureLogs();
    logger.info('from the layer', { answer: 42 });
    logs.restore();
    // Assess
    expect(logger.getLevelName()).toBe('INFO');
    expect(logs.records()).toEqual([
      expect.objectContaining({
        level: 'INFO',
        message: 'from the layer',
        service: 'layer-logger',
        connectorVersion: '3.1.0',
        answer: 42,
      }),
    ]);
  });

  it("loads neither the logger nor perf_hooks nor timers/promises in a connector's first invocation", async () => {
    // Prepare: a fresh process running the layer's core and zod, as a function does.
    const url = (path: string) => JSON.stringify(pathToFileURL(path).href);
    const events = join(root, 'layers', 'core', 'src', 'testing', 'events.ts');
    const script = [
      "import { createRequire } from 'node:module';",
      `const { defineConnector } = await import(${url(join(layerModules, '@circle-core', 'core', 'index.js'))});`,
      `const z = await import(${url(join(layerModules, 'zod', 'index.js'))});`,
      `const { httpEvent, lambdaContext } = await import(${url(events)});`,
      'const connector = defineConnector({',
      "  name: 'first', version: '1.0.0', config: z.object({}), setup: () => ({}),",
      '  operations: (op) => ({',
      "    echo: op({ description: 'Echoes', input: z.object({ a: z.number() }), output: z.object({ a: z.number() }), run: async (input) => input }),",
      '  }),',
      '});',
      "const event = httpEvent({ method: 'POST', path: '/first/echo', body: { a: 1 } });",
      'const answer = await connector.handler(event, lambdaContext());',
      "const logger = Object.keys(createRequire(import.meta.url).cache).some((file) => file.includes('aws-lambda-powertools'));",
      "const loaded = (name) => process.moduleLoadList.includes('NativeModule ' + name);",
      "const perfHooks = loaded('perf_hooks');",
      "const timersPromises = loaded('timers/promises');",
      "process.stderr.write(JSON.stringify({ status: answer.statusCode, logger, perfHooks, timersPromises }) + '\\n');",
    ].join('\n');
    // Act: the invocation line goes to stdout, the findings to stderr.
    const { stderr, stdout } = await promisify(execFile)(process.execPath, [
      '--input-type=module',
      '-e',
      script,
    ]);
    // Assess
    expect(JSON.parse(stderr.trim().split('\n').at(-1) ?? '')).toEqual({
      status: 200,
      logger: false,
      perfHooks: false,
      timersPromises: false,
    });
    expect(JSON.parse(stdout.trim().split('\n').at(-1) ?? '')).toMatchObject({
      message: 'invocation',
      status: 200,
    });
  });
});
