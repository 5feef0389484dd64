/**
 * The generated docs: committed files equal what `npm run docs` would write now, every OpenAPI document
 * passes an independent validator, and the documents hold every operation of every connector.
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { toProblem } from '@circle-core/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type ConnectorEntry, loadCatalog } from '../../scripts/docs/catalog.ts';
import { type GeneratedFile, generatedFiles } from '../../scripts/docs/generate.ts';
import { replaceSection } from '../../scripts/docs/markdown.ts';
import { operationId } from '../../scripts/docs/openapi.ts';
import { ProblemSchema, TAXONOMY } from '../../scripts/docs/problems.ts';
import { discoverFunctions } from '../../scripts/lib/functions.ts';
import { openApiProblems } from './openapi-validator.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');

type Json = Record<string, unknown>;

let connectors: ConnectorEntry[];
let files: GeneratedFile[];

async function committed(path: string): Promise<string | undefined> {
  try {
    return await readFile(join(ROOT, path), 'utf8');
  } catch {
    return undefined;
  }
}

async function committedJson(path: string): Promise<Json> {
  return JSON.parse((await committed(path)) ?? 'null') as Json;
}

/** The value at a path of keys, undefined where the path does not exist. */
function pick(value: unknown, ...path: string[]): unknown {
  return path.reduce<unknown>(
    (node, key) => (typeof node === 'object' && node !== null ? (node as Json)[key] : undefined),
    value,
  );
}

/** Follows a local `$ref` (`#/components/schemas/X`) inside a document. */
function resolveRef(document: Json, ref: unknown): unknown {
  return typeof ref === 'string' ? pick(document, ...ref.replace(/^#\//, '').split('/')) : undefined;
}

/** `GET /<name>/health` and the connector's own routes; signature routes are public at the gateway. */
function expectHealthAndRoutes(document: Json, connector: ConnectorEntry): void {
  expect(pick(document, 'paths', `/${connector.name}/health`, 'get')).toBeDefined();
  for (const route of connector.routes) {
    const item = pick(document, 'paths', route.path, route.method.toLowerCase());
    expect(item, `${route.method} ${route.path}`).toBeDefined();
    if (route.auth === 'signature') expect(pick(item, 'security')).toEqual([]);
  }
}

/** One operation in a document: its id, input and output schemas, problems and effect. */
function expectOperation(
  document: Json,
  connector: ConnectorEntry,
  operation: ConnectorEntry['operations'][number],
) {
  const post = pick(document, 'paths', `/${connector.name}/${operation.name}`, 'post');
  expect(pick(post, 'operationId')).toBe(operationId(connector.name, operation.name));
  const input = pick(post, 'requestBody', 'content', 'application/json', 'schema', '$ref');
  const output = pick(post, 'responses', '200', 'content', 'application/json', 'schema', '$ref');
  expect(pick(resolveRef(document, input), 'type')).toBe('object');
  expect(resolveRef(document, output)).toBeDefined();
  expect(pick(post, 'responses', '400', '$ref')).toBe('#/components/responses/Problem400');
  expect(pick(post, 'x-circle-effect')).toBe(operation.effect);
}

// Loads every connector's modules and generates all docs: seconds alone, over the 30 s hook default on a
// machine the whole suite loads (seen failing there), so the heavy steps get minutes.
beforeAll(async () => {
  connectors = await loadCatalog(ROOT);
  files = await generatedFiles(ROOT, connectors);
}, 180_000);

describe('Generated docs', () => {
  describe('Files', () => {
    it('loads every function folder as a connector with operations', async () => {
      // Prepare
      const folders = await discoverFunctions(ROOT);

      // Assess
      expect(connectors.map((connector) => connector.name)).toEqual(folders.map((fn) => fn.name));
      expect(connectors.length).toBeGreaterThan(0);
      for (const connector of connectors) expect(connector.operations.length).toBeGreaterThan(0);
    });

    it('are committed as npm run docs writes them', async () => {
      // Act
      const stale: string[] = [];
      for (const file of files) {
        if ((await committed(file.path)) !== file.content) stale.push(file.path);
      }

      // Assess
      expect(stale, `generated docs are stale: run npm run docs (${stale.join(', ')})`).toEqual([]);
      expect(files.map((file) => file.path)).toEqual(
        expect.arrayContaining(['docs/connectors.md', 'docs/openapi.json']),
      );
    });

    it('come out the same twice (deterministic)', async () => {
      // Act
      const again = await generatedFiles(ROOT, connectors);

      // Assess
      expect(again).toEqual(files);
    }, 120_000);

    it('refuse a README without its markers, naming the file', () => {
      // Act + Assess
      expect(() => replaceSection('# x\n', 'operations', 'table', 'functions/x/y/README.md')).toThrow(
        /functions\/x\/y\/README\.md needs exactly one "<!-- generated:operations -->"/,
      );
    });

    it('put the operations and configuration tables between the markers of every README', async () => {
      for (const connector of connectors) {
        // Prepare
        const readme = (await committed(`${connector.folder}/README.md`)) ?? '';

        // Assess
        for (const operation of connector.operations) {
          expect(readme).toMatch(
            new RegExp(`generated:operations -->[^]*\\| \`${operation.name}\` [^]*/generated:operations`),
          );
        }
        for (const setting of Object.keys(connector.config.shape)) {
          expect(readme).toMatch(
            new RegExp(`generated:configuration -->[^]*\\| \`${setting}\` [^]*/generated:configuration`),
          );
        }
      }
    });

    it('list every connector, operation, route and capability in docs/connectors.md', async () => {
      // Prepare
      const catalog = (await committed('docs/connectors.md')) ?? '';

      // Assess
      for (const connector of connectors) {
        expect(catalog).toContain(`## ${connector.name}\n`);
        for (const operation of connector.operations) expect(catalog).toContain(`| \`${operation.name}\``);
        for (const route of connector.routes) expect(catalog).toContain(`\`${route.method} ${route.path}\``);
        for (const capability of connector.capabilities) expect(catalog).toContain(`\`${capability}\``);
      }
    });
  });

  describe('OpenAPI documents', () => {
    const documents = (): string[] => [
      'docs/openapi.json',
      ...connectors.map((connector) => `docs/openapi/${connector.name}.json`),
    ];

    it('pass @readme/openapi-parser as OpenAPI 3.1', async () => {
      for (const path of documents()) {
        // Act
        const document = await committedJson(path);

        // Assess
        expect(document['openapi'], path).toBe('3.1.0');
        expect(await openApiProblems(document), path).toEqual([]);
      }
    }, 120_000);

    it('are checked by a validator that does fail: a dangling reference is refused', async () => {
      // Prepare
      const document = await committedJson('docs/openapi/s3.json');
      delete (pick(document, 'components', 'schemas') as Json)['S3PutObjectInput'];

      // Act
      const problems = await openApiProblems(document);

      // Assess
      expect(problems.join('\n')).toMatch(/S3PutObjectInput/);
    });

    it('hold every operation of every connector with its input, output and problem answers', async () => {
      const whole = await committedJson('docs/openapi.json');
      for (const connector of connectors) {
        const own = await committedJson(`docs/openapi/${connector.name}.json`);
        for (const document of [whole, own]) {
          for (const operation of connector.operations) expectOperation(document, connector, operation);
          expectHealthAndRoutes(document, connector);
        }
        expect(Object.keys(own['paths'] as Json)).toHaveLength(
          connector.operations.length + 1 + connector.routes.length,
        );
      }
    });

    it('describe every top-level field from the schemas .describe()', async () => {
      // Prepare
      const schemas = pick(await committedJson('docs/openapi.json'), 'components', 'schemas') as Json;

      // Act
      const undescribed = Object.entries(schemas).flatMap(([name, schema]) =>
        Object.entries((pick(schema, 'properties') ?? {}) as Json)
          .filter(([, property]) => typeof pick(property, 'description') !== 'string')
          .map(([field]) => `${name}.${field}`),
      );

      // Assess
      expect(undescribed).toEqual([]);
      expect(pick(schemas, 'S3PutObjectInput', 'properties', 'key', 'description')).toMatch(/Object key/);
    });

    it('answer the statuses of the error taxonomy as RFC 9457 problems', async () => {
      // Prepare
      const document = await committedJson('docs/openapi.json');
      const responses = pick(document, 'components', 'responses') as Json;

      // Assess
      expect(Object.keys(responses).map((name) => Number(name.replace('Problem', '')))).toEqual([
        400, 401, 403, 404, 409, 413, 415, 429, 500, 501, 502, 503, 504,
      ]);
      for (const response of Object.values(responses)) {
        expect(Object.keys(pick(response, 'content') as Json)).toEqual(['application/problem+json']);
      }
      expect(pick(responses, 'Problem429', 'headers', 'Retry-After')).toBeDefined();
      // The documented problem shape is the one the core answers.
      for (const error of TAXONOMY) expect(ProblemSchema.safeParse(toProblem(error)).success).toBe(true);
    });

    it('declare SigV4 for deployed stages and the bearer API key locally', async () => {
      // Prepare
      const document = await committedJson('docs/openapi.json');

      // Assess
      expect(document['security']).toEqual([{ awsSigV4: [] }, { localApiKey: [] }]);
      const schemes = pick(document, 'components', 'securitySchemes');
      expect(pick(schemes, 'localApiKey')).toMatchObject({ type: 'http', scheme: 'bearer' });
      expect(pick(schemes, 'awsSigV4', 'x-amazon-apigateway-authtype')).toBe('awsSigv4');
    });
  });
});
