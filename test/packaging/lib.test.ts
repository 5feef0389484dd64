import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metafile } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatSizeTable } from '../../scripts/lib/artifacts.ts';
import { OFFLINE_ACCOUNT_ID, startAwsStandIn } from '../../scripts/lib/aws-stand-in.ts';
import {
  CORE_BASE_ENTRY,
  coreEntryFor,
  unresolvableImports,
  zodCompileUses,
} from '../../scripts/lib/bundle.ts';
import { deployableNames, discoverFunctions, type FunctionSource } from '../../scripts/lib/functions.ts';
import { offlineEnvironment } from '../../scripts/lib/serverless.ts';
import { listZip, writeZip } from '../../scripts/lib/zip.ts';

let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'circle-core-packaging-lib-'));
});
afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

async function functionFolder(root: string, path: string, yml: string | undefined): Promise<void> {
  const dir = join(root, 'functions', path);
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, 'index.ts'), 'export const handler = () => 1;\n');
  if (yml !== undefined) await writeFile(join(dir, 'function.yml'), yml);
}

function functionYml(name: string, handler = 'index.handler'): string {
  return `function:\n  ${name}:\n    handler: ${handler}\n    events:\n      - sqs: { arn: { Fn::GetAtt: [Q, Arn] } }\n`;
}

describe('Function: discoverFunctions', () => {
  it('lists complete function folders by name and skips folders without a function.yml', async () => {
    // Prepare
    const root = join(scratch, 'discover-ok');
    await functionFolder(root, 'storage/s3', functionYml('s3'));
    await functionFolder(root, 'devops/github', functionYml('github'));
    await functionFolder(root, 'messaging/sqs', undefined);
    // Act
    const functions = await discoverFunctions(root);
    // Assess
    expect(functions.map((fn) => [fn.name, fn.category])).toEqual([
      ['github', 'devops'],
      ['s3', 'storage'],
    ]);
    expect(functions[1]?.entry).toBe(join(root, 'functions', 'storage', 's3', 'index.ts'));
    expect(functions[1]?.definition['handler']).toBe('index.handler');
  });

  it('returns no functions when the functions folder does not exist', async () => {
    // Act
    const functions = await discoverFunctions(join(scratch, 'nothing-here'));
    // Assess
    expect(functions).toEqual([]);
  });

  it('throws naming the file when the function key differs from the folder name', async () => {
    // Prepare
    const root = join(scratch, 'discover-key');
    await functionFolder(root, 'storage/s3', functionYml('objects'));
    // Act
    const discovering = discoverFunctions(root);
    // Assess
    await expect(discovering).rejects.toThrow(/function key "objects" must equal its folder name "s3"/);
  });

  it('throws when the handler is not the built entry index.handler', async () => {
    // Prepare
    const root = join(scratch, 'discover-handler');
    await functionFolder(root, 'storage/s3', functionYml('s3', 'src/main.handler'));
    // Act
    const discovering = discoverFunctions(root);
    // Assess
    await expect(discovering).rejects.toThrow(/must be "index.handler"/);
  });

  it("reads a connector's streaming function (<name>-stream) and lists it among the deployables", async () => {
    // Prepare
    const root = join(scratch, 'discover-stream');
    const stream =
      '  openai-stream:\n    handler: index.streamHandler\n    url: { authorizer: aws_iam, invokeMode: RESPONSE_STREAM }\n';
    await functionFolder(root, 'ai/openai', `${functionYml('openai')}${stream}`);
    await functionFolder(root, 'storage/s3', functionYml('s3'));
    // Act
    const functions = await discoverFunctions(root);
    // Assess
    expect(functions.map((fn) => fn.name)).toEqual(['openai', 's3']);
    expect(functions[0]?.stream?.name).toBe('openai-stream');
    expect(functions[0]?.stream?.definition['handler']).toBe('index.streamHandler');
    expect(deployableNames(functions)).toEqual(['openai', 'openai-stream', 's3']);
  });

  it.each([
    [
      'another name',
      '  chat:\n    handler: index.streamHandler\n',
      /must be the streaming one, "openai-stream"/,
    ],
    [
      'another handler',
      '  openai-stream:\n    handler: index.handler\n    url: { authorizer: aws_iam, invokeMode: RESPONSE_STREAM }\n',
      /must be "index.streamHandler"/,
    ],
    [
      'a buffered or open URL',
      '  openai-stream:\n    handler: index.streamHandler\n    url: { invokeMode: RESPONSE_STREAM }\n',
      /must be \{ authorizer: aws_iam, invokeMode: RESPONSE_STREAM \}/,
    ],
    [
      'events',
      '  openai-stream:\n    handler: index.streamHandler\n    url: { authorizer: aws_iam, invokeMode: RESPONSE_STREAM }\n    events: []\n',
      /takes no events/,
    ],
  ])('refuses a second function with %s, naming the file', async (_case, second, message) => {
    // Prepare
    const root = join(scratch, `discover-stream-bad-${String(_case).replaceAll(' ', '-')}`);
    await functionFolder(root, 'ai/openai', `${functionYml('openai')}${second}`);
    // Act
    const discovering = discoverFunctions(root);
    // Assess
    await expect(discovering).rejects.toThrow(message);
    await expect(discovering).rejects.toThrow(/function\.yml/);
  });

  it('throws when function.yml has no function mapping', async () => {
    // Prepare
    const root = join(scratch, 'discover-shape');
    await functionFolder(root, 'storage/s3', 'resources: {}\n');
    // Act
    const discovering = discoverFunctions(root);
    // Assess
    await expect(discovering).rejects.toThrow(/expected a "function:" mapping/);
  });
});

describe('Function: writeZip', () => {
  it('writes the same bytes for the same inputs, entries in path order', async () => {
    // Prepare
    const a = join(scratch, 'a.txt');
    const b = join(scratch, 'b.txt');
    await writeFile(a, 'alpha');
    await writeFile(b, 'bravo bravo');
    const entries = [
      { path: 'z/b.txt', file: b },
      { path: 'a.txt', file: a },
    ];
    // Act
    await writeZip(join(scratch, 'one.zip'), entries);
    await writeZip(join(scratch, 'two.zip'), [...entries].reverse());
    // Assess
    const [one, two] = await Promise.all([
      readFile(join(scratch, 'one.zip')),
      readFile(join(scratch, 'two.zip')),
    ]);
    expect(one.equals(two)).toBe(true);
    expect(await listZip(join(scratch, 'one.zip'))).toEqual([
      { path: 'a.txt', size: 5 },
      { path: 'z/b.txt', size: 11 },
    ]);
  });
});

describe('Function: coreEntryFor', () => {
  const repository = join(import.meta.dirname, '..', '..');
  /** A connector folder whose index.ts is `source`, as discoverFunctions would describe it. */
  async function connector(name: string, source: string): Promise<FunctionSource> {
    const dir = join(scratch, 'core-entry', name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'index.ts'), source);
    return { name, dir, entry: join(dir, 'index.ts') } as FunctionSource;
  }

  it('answers base.js when every core import is in base.ts, the whole core otherwise', async () => {
    // Prepare
    const database = await connector(
      'db',
      "import { defineConnector, ReusedConnection } from '@circle-core/core';\nexport const connector = defineConnector({} as never);\nexport const pool = ReusedConnection;\n",
    );
    const rest = await connector(
      'rest',
      "import { defineConnector, defineRestProvider } from '@circle-core/core';\nimport type { Secret } from '@circle-core/core';\nexport const connector = defineConnector({} as never);\nexport const provider = defineRestProvider;\nexport type S = Secret;\n",
    );
    // Act
    const [forDatabase, forRest] = await Promise.all([
      coreEntryFor(database, repository),
      coreEntryFor(rest, repository),
    ]);
    // Assess
    expect(forDatabase).toBe(CORE_BASE_ENTRY);
    expect(forRest).toBe('@circle-core/core');
  });

  it('answers the whole core for a checkout without base.ts, and fails on any other build error', async () => {
    // Prepare
    const database = await connector(
      'db-old',
      "import { defineConnector } from '@circle-core/core';\nexport const connector = defineConnector({} as never);\n",
    );
    const broken = await connector(
      'broken',
      "import { defineConnector } from '@circle-core/core';\nexport const = ;\n",
    );
    // Act
    const forOldCheckout = await coreEntryFor(database, join(scratch, 'core-entry'));
    // Assess
    expect(forOldCheckout).toBe('@circle-core/core');
    await expect(coreEntryFor(broken, repository)).rejects.toThrow(/Expected identifier/);
  });
});

describe('Function: unresolvableImports', () => {
  const metafile = (imports: Metafile['outputs'][string]['imports']): Metafile => ({
    inputs: {},
    outputs: { 'index.mjs': { bytes: 1, inputs: {}, imports, exports: [], entryPoint: 'x' } },
  });

  it('reports subpaths of allowed packages and unknown static imports, not built-ins or optional requires', () => {
    // Prepare
    const meta = metafile([
      { path: 'zod', kind: 'import-statement', external: true },
      { path: 'zod/v4', kind: 'import-statement', external: true },
      { path: '@aws-sdk/client-s3', kind: 'import-statement', external: true },
      { path: 'node:crypto', kind: 'import-statement', external: true },
      { path: 'fs', kind: 'require-call', external: true },
      { path: 'pg-native', kind: 'require-call', external: true },
      { path: 'left-pad', kind: 'dynamic-import', external: true },
      { path: '@circle-core/core/testing', kind: 'require-call', external: true },
    ]);
    // Act
    const bad = unresolvableImports(meta, ['zod', '@aws-sdk/*', '@circle-core/core']);
    // Assess
    expect(bad).toEqual(['@circle-core/core/testing', 'left-pad', 'zod/v4']);
  });
});

describe('Function: zodCompileUses', () => {
  it("names the function's own sources that call z.compile or z.withParser, not node_modules", async () => {
    // Prepare
    await mkdir(join(scratch, 'compile', 'node_modules', 'zod'), { recursive: true });
    await writeFile(join(scratch, 'compile', 'a.ts'), 'export const fast = z.compile(Item);\n');
    await writeFile(join(scratch, 'compile', 'b.ts'), "import * as z from 'zod';\nz.object({});\n");
    await writeFile(join(scratch, 'compile', 'c.ts'), 'const p = z.withParser(Item, parse);\n');
    await writeFile(join(scratch, 'compile', 'node_modules', 'zod', 'index.js'), 'z.compile(x);\n');
    const input = { bytes: 1, imports: [] };
    const metafile = {
      inputs: {
        'compile/a.ts': input,
        'compile/b.ts': input,
        'compile/c.ts': input,
        'compile/node_modules/zod/index.js': input,
      },
      outputs: {},
    } as unknown as Metafile;
    // Act
    const found = await zodCompileUses(metafile, scratch);
    // Assess
    expect(found).toEqual(['compile/a.ts', 'compile/c.ts']);
  });
});

describe('Function: formatSizeTable', () => {
  it('aligns KiB columns and leaves the zip cell empty for rows without a zip', () => {
    // Act
    const table = formatSizeTable([
      { artifact: 'function s3', jsBytes: 10_240, mapBytes: 2048, zip: { file: 's3.zip', bytes: 4096 } },
      { artifact: '  zod', jsBytes: 512, mapBytes: 0 },
    ]);
    // Assess
    expect(table.split('\n')).toEqual([
      'artifact     js KiB  map KiB  zip KiB',
      'function s3    10.0      2.0      4.0',
      '  zod           0.5      0.0',
    ]);
  });
});

describe('Function: offlineEnvironment', () => {
  it('drops the caller AWS settings and points every AWS endpoint at the stand-in', () => {
    // Act
    const env = offlineEnvironment(
      {
        PATH: '/bin',
        AWS_PROFILE: 'prod-admin',
        AWS_SESSION_TOKEN: 'token',
        AWS_ENDPOINT_URL_S3: 'http://x',
      },
      'http://127.0.0.1:1234',
      'eu-west-1',
    );
    // Assess
    expect(env['PATH']).toBe('/bin');
    expect(env['AWS_PROFILE']).toBeUndefined();
    expect(env['AWS_SESSION_TOKEN']).toBeUndefined();
    expect(env['AWS_ENDPOINT_URL_S3']).toBeUndefined();
    expect(env).toMatchObject({
      AWS_REGION: 'eu-west-1',
      AWS_ENDPOINT_URL: 'http://127.0.0.1:1234',
      AWS_ENDPOINT_URL_CLOUDFORMATION: 'http://127.0.0.1:1234',
      AWS_ENDPOINT_URL_STS: 'http://127.0.0.1:1234',
      CI: 'true',
    });
  });
});

describe('Function: startAwsStandIn', () => {
  const signed = (service: string): Record<string, string> => ({
    authorization: `AWS4-HMAC-SHA256 Credential=offline/20260101/us-east-1/${service}/aws4_request, Signature=x`,
    'content-type': 'application/x-www-form-urlencoded',
  });

  it('answers GetCallerIdentity with the offline account and DescribeStacks with "does not exist"', async () => {
    // Prepare
    const aws = await startAwsStandIn();
    try {
      // Act
      const identity = await fetch(aws.endpoint, {
        method: 'POST',
        headers: signed('sts'),
        body: 'Action=GetCallerIdentity&Version=2011-06-15',
      });
      const stacks = await fetch(aws.endpoint, {
        method: 'POST',
        headers: signed('cloudformation'),
        body: 'Action=DescribeStacks&Version=2010-05-15&StackName=circle-core-dev',
      });
      // Assess
      expect(identity.status).toBe(200);
      expect(await identity.text()).toContain(`<Account>${OFFLINE_ACCOUNT_ID}</Account>`);
      expect(stacks.status).toBe(400);
      const body = await stacks.text();
      expect(body).toContain('<Code>ValidationError</Code>');
      expect(body).toContain('Stack with id circle-core-dev does not exist');
      expect(aws.calls).toEqual([
        { service: 'sts', action: 'GetCallerIdentity' },
        { service: 'cloudformation', action: 'DescribeStacks' },
      ]);
    } finally {
      await aws.close();
    }
  });

  it('refuses calls it does not know, in the JSON protocol too, naming the call', async () => {
    // Prepare
    const aws = await startAwsStandIn();
    try {
      // Act
      const response = await fetch(aws.endpoint, {
        method: 'POST',
        headers: {
          ...signed('s3'),
          'x-amz-target': 'S3.ListBuckets',
          'content-type': 'application/x-amz-json-1.0',
        },
        body: '{}',
      });
      // Assess
      expect(response.status).toBe(400);
      expect(response.headers.get('x-amzn-query-error')).toBe('InvalidAction;Sender');
      expect(await response.json()).toEqual({
        __type: 'InvalidAction',
        message: 'The offline AWS stand-in does not implement s3:ListBuckets',
      });
    } finally {
      await aws.close();
    }
  });
});
