/**
 * Every operation of every connector, called on the running local stack (`npm start` as a child process)
 * with an input generated from the stack's own `GET /openapi.json`: each operation's request schema gives
 * the required fields, and each field's example (`examples`, or the `e.g. "..."` its description gives,
 * kept only when the schema accepts it), enum, default or type gives its value. Each answer must be one
 * the document lists for that operation and match the schema listed for it: the output schema for a
 * success, the problem schema (with the same status) for a failure, and never a 5xx (but a 501 refusing a
 * capability the connector documents it lacks). Operations are discovered from the document, so a new
 * connector is covered without touching this file.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type StackProcess, startStackProcess } from './stack-process.ts';

type Json = Record<string, unknown>;
type Schema = Json & { $ref?: string };

/** One operation as the document describes it. */
interface DiscoveredOperation {
  connector: string;
  method: 'get' | 'post';
  path: string;
  /** The request body schema; undefined for GET. */
  input: Schema | undefined;
  /** Documented status -> the schema of its JSON body (`{}` when any JSON is documented). */
  responses: Map<number, { mediaType: string; schema: Schema }>;
  write: boolean;
}

/** What one call answered. */
interface Answer {
  operation: DiscoveredOperation;
  input: unknown;
  status: number;
  mediaType: string;
  body: unknown;
}

/**
 * Connectors the local stack does not serve yet, with why: their answers must still be documented ones
 * matching their schemas, but a 5xx and no success are tolerated until the entry is removed. Remove an
 * entry as soon as `npm start` serves the connector (CONNECTORS.md: a connector is not done before).
 */
const NOT_YET_SERVED_LOCALLY: Readonly<Record<string, string>> = {};

const DOC_ID = 'https://circle-core.local/openapi.json';
const SEED = 20_261_206;

let stack: StackProcess;
let document: Json;
let ajv: Ajv2020;
let operations: DiscoveredOperation[];
const answers: Answer[] = [];

beforeAll(async () => {
  for (const name of ['SLACK_API_URL', 'GITHUB_API_URL', 'CIRCLE_LOCAL_REAL']) {
    if (process.env[name] !== undefined) throw new Error(`unset ${name} to run this suite`);
  }
  stack = await startStackProcess();
  document = (await (await fetch(`${stack.apiUrl}/openapi.json`)).json()) as Json;
  ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
  addFormats.default(ajv);
  ajv.addSchema(document, DOC_ID);
  operations = discover(document);
  for (const operation of operations) answers.push(await call(operation));
}, 600_000);

afterAll(async () => {
  if (stack !== undefined) await stack.stop();
});

/** Every JSON operation of the document (webhook receivers, which take the provider's raw body, aside). */
function discover(doc: Json): DiscoveredOperation[] {
  const found: DiscoveredOperation[] = [];
  for (const [path, item] of Object.entries(doc['paths'] as Record<string, Json>)) {
    for (const method of ['get', 'post'] as const) {
      const op = item[method] as Json | undefined;
      if (op === undefined) continue;
      const content = (op['requestBody'] as { content?: Record<string, { schema: Schema }> } | undefined)
        ?.content;
      const input = content?.['application/json']?.schema;
      if (method === 'post' && input === undefined) continue;
      const responses = new Map<number, { mediaType: string; schema: Schema }>();
      for (const [status, declared] of Object.entries(op['responses'] as Record<string, Schema>)) {
        const response = resolve(declared) as { content?: Record<string, { schema: Schema }> };
        const [mediaType, media] = Object.entries(response.content ?? {})[0] ?? ['', { schema: {} }];
        responses.set(Number(status), { mediaType, schema: media.schema });
      }
      found.push({
        connector: path.split('/')[1] ?? '',
        method,
        path,
        input,
        responses,
        write: op['x-circle-effect'] === 'write',
      });
    }
  }
  return found;
}

/** Follows a local `$ref` (`#/components/...`) to what it names. */
function resolve(schema: Schema): Schema {
  if (schema.$ref === undefined) return schema;
  const target = schema.$ref
    .slice(2)
    .split('/')
    .reduce<unknown>((node, key) => (node as Json)[key], document);
  return resolve(target as Schema);
}

function accepts(schema: Schema, value: unknown): boolean {
  return validator(schema)(value) === true;
}

const validators = new WeakMap<Schema, ValidateFunction>();

/** A validator for a schema of the document, its `$ref`s resolved against the whole document. */
function validator(schema: Schema): ValidateFunction {
  let validate = validators.get(schema);
  if (validate === undefined) {
    const anchored = JSON.stringify(schema).replaceAll('"#/components/', `"${DOC_ID}#/components/`);
    validate = ajv.compile(JSON.parse(anchored) as Schema);
    validators.set(schema, validate);
  }
  return validate;
}

/** The values a description offers as examples: `e.g. "octo-org"`, `e.g. { "source": "billing" }`. */
function describedExamples(description: unknown): unknown[] {
  if (typeof description !== 'string') return [];
  const values: unknown[] = [];
  for (const match of description.matchAll(
    /e\.g\. ("(?:[^"\\]|\\.)*"|\{[^}]*\}|\[[^\]]*\]|-?\d+(?:\.\d+)?)/g,
  )) {
    try {
      values.push(JSON.parse(match[1] ?? ''));
    } catch {
      // Prose, not JSON: not an example this test can use.
    }
  }
  return values;
}

/** A value the schema accepts: its example, enum, default, or the least its type allows. */
function generate(declared: Schema): unknown {
  const schema = resolve(declared);
  const candidates: unknown[] = [
    ...((schema['examples'] as unknown[] | undefined) ?? []),
    ...('example' in schema ? [schema['example']] : []),
    ...describedExamples(schema['description']),
    ...('const' in schema ? [schema['const']] : []),
    ...((schema['enum'] as unknown[] | undefined) ?? []),
    ...('default' in schema ? [schema['default']] : []),
  ];
  for (const candidate of candidates) if (accepts(schema, candidate)) return candidate;
  for (const key of ['anyOf', 'oneOf'] as const) {
    const branches = schema[key] as Schema[] | undefined;
    if (branches !== undefined) return generate(branches[0] as Schema);
  }
  switch (schema['type']) {
    case 'object': {
      const properties = (schema['properties'] as Record<string, Schema> | undefined) ?? {};
      const required = (schema['required'] as string[] | undefined) ?? [];
      return Object.fromEntries(required.map((name) => [name, generate(properties[name] ?? {})]));
    }
    case 'array':
      return Array.from({ length: Number(schema['minItems'] ?? 0) }, () =>
        generate((schema['items'] as Schema | undefined) ?? {}),
      );
    case 'integer':
    case 'number':
      return Math.max(Number(schema['minimum'] ?? 1), Number(schema['exclusiveMinimum'] ?? 0) + 1);
    case 'boolean':
      return false;
    case 'string':
      return generateString(schema);
    default:
      return 'x';
  }
}

function generateString(schema: Schema): string {
  if (schema['format'] === 'email') return 'someone@example.com';
  const minLength = Number(schema['minLength'] ?? 1);
  const pattern = schema['pattern'];
  if (typeof pattern !== 'string') return 'x'.repeat(Math.max(minLength, 1));
  const samples = fc.sample(fc.stringMatching(new RegExp(pattern, 'u')), { seed: SEED, numRuns: 50 });
  return samples.find((sample) => accepts(schema, sample)) ?? samples[0] ?? '';
}

async function call(operation: DiscoveredOperation): Promise<Answer> {
  const input = operation.input === undefined ? undefined : generate(operation.input);
  const response = await fetch(`${stack.apiUrl}${operation.path}`, {
    method: operation.method.toUpperCase(),
    headers: {
      authorization: `Bearer ${stack.apiKey}`,
      'x-correlation-id': `every-operation-${crypto.randomUUID()}`,
      ...(input === undefined ? {} : { 'content-type': 'application/json' }),
      ...(operation.write ? { 'idempotency-key': crypto.randomUUID() } : {}),
    },
    ...(input === undefined ? {} : { body: JSON.stringify(input) }),
    signal: AbortSignal.timeout(60_000),
  });
  const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]?.trim() ?? '';
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Left as text: the media type check below reports it.
  }
  return { operation, input, status: response.status, mediaType, body };
}

/** Each function folder under functions/ (`functions/<category>/<provider>/function.yml`). */
async function functionFolders(): Promise<string[]> {
  const root = join(REPO_ROOT, 'functions');
  const providers: string[] = [];
  for (const category of await readdir(root, { withFileTypes: true })) {
    if (!category.isDirectory()) continue;
    for (const provider of await readdir(join(root, category.name), { withFileTypes: true })) {
      const files = provider.isDirectory() ? await readdir(join(root, category.name, provider.name)) : [];
      if (files.includes('function.yml')) providers.push(provider.name);
    }
  }
  return providers.sort();
}

/** A 501 `not_supported`: the connector documents that it lacks the capability the operation needs. */
const isCapabilityRefusal = (answer: Answer): boolean =>
  answer.status === 501 && (answer.body as Json)['code'] === 'not_supported';

const label = (answer: Answer): string => `${answer.operation.method.toUpperCase()} ${answer.operation.path}`;

describe('Local stack: every operation of every connector, with inputs from GET /openapi.json', () => {
  it('discovers operations for every function in functions/', async () => {
    // Act
    const connectors = new Set(operations.map((operation) => operation.connector));
    const posts = operations.filter((operation) => operation.method === 'post');

    // Assess
    expect(posts.length).toBeGreaterThan(0);
    expect(await functionFolders()).toEqual([...connectors].sort());
    for (const connector of connectors) {
      expect(operations.map((operation) => operation.path)).toContain(`/${connector}/health`);
    }
  });

  it('generates for each operation an input its request schema accepts', () => {
    // Act
    const refused = answers
      .filter((answer) => answer.operation.input !== undefined)
      .filter((answer) => !accepts(answer.operation.input as Schema, answer.input))
      .map((answer) => `${label(answer)} ${JSON.stringify(answer.input)}`);

    // Assess
    expect(answers.length).toBe(operations.length);
    expect(refused).toEqual([]);
  });

  it('answers each call with a status the document lists for it, never a 5xx', () => {
    // Act
    const unlisted = answers
      .filter(
        (answer) =>
          !answer.operation.responses.has(answer.status) ||
          (answer.status >= 500 &&
            !isCapabilityRefusal(answer) &&
            NOT_YET_SERVED_LOCALLY[answer.operation.connector] === undefined),
      )
      .map(
        (answer) =>
          `${label(answer)} answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`,
      );

    // Assess
    expect(unlisted).toEqual([]);
  });

  it('answers each call with a body matching the schema documented for its status', () => {
    // Act
    const mismatched = answers.flatMap((answer) => {
      const documented = answer.operation.responses.get(answer.status);
      if (documented === undefined) return [];
      const validate = validator(documented.schema);
      const problems: string[] = [];
      if (answer.mediaType !== documented.mediaType) {
        problems.push(`media type ${answer.mediaType}, documented ${documented.mediaType}`);
      }
      if (validate(answer.body) !== true) problems.push(ajv.errorsText(validate.errors));
      if (documented.mediaType === 'application/problem+json') {
        if ((answer.body as Json)['status'] !== answer.status) problems.push('problem status differs');
      }
      return problems.map((problem) => `${label(answer)} ${answer.status}: ${problem}`);
    });

    // Assess
    expect(mismatched).toEqual([]);
  });

  it('succeeds on at least one operation besides health for every connector', () => {
    // Act
    const succeeded = new Set(
      answers
        .filter((answer) => !answer.operation.path.endsWith('/health'))
        .filter((answer) => answer.status >= 200 && answer.status < 300)
        .map((answer) => answer.operation.connector),
    );

    // Assess
    const expected = new Set(operations.map((op) => op.connector));
    for (const pending of Object.keys(NOT_YET_SERVED_LOCALLY)) {
      expected.delete(pending);
      succeeded.delete(pending);
    }
    const missing = [...expected].filter((connector) => !succeeded.has(connector));
    const tried = answers.filter((answer) => missing.includes(answer.operation.connector));
    expect(
      missing,
      tried
        .map((answer) => `${label(answer)} ${answer.status} ${JSON.stringify(answer.body).slice(0, 200)}`)
        .join('\n'),
    ).toEqual([]);
  });
});
