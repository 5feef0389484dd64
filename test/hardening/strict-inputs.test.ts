/**
 * Every operation input of every connector refuses unknown fields, at every object level: a misspelled
 * `contentype` must answer 400 naming `/contentype`, not 200 with the field silently dropped. The
 * operations come from the loaded connectors, not from a list, so a later connector or operation is checked
 * as soon as it joins the suite. Two checks per operation:
 * - static: the input's JSON Schema (`z.toJSONSchema`, input side) has `additionalProperties: false` on
 *   every object node with named properties. Records (`z.record`, maps whose keys are data, such as S3
 *   metadata or an inserted row) are not such nodes. The only open objects allowed are listed in
 *   PASS_THROUGH with the reason, and each entry must still exist;
 * - over HTTP: the operation's valid sample input, with an unknown field added to each object of it that the
 *   schema declares, answers a 400 problem whose `errors` name that field's pointer.
 * Output schemas and provider answers stay open on purpose: providers add fields.
 */
import { type CapturedLogs, captureLogs } from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { parseInput } from '../../layers/core/src/connector/runtime.ts';
import { assertClientProblem } from './support/hostile.ts';
import { CONNECTOR_NAMES, type ConnectorName, type Suite, startSuite } from './support/suite.ts';

/** An unknown field no schema will ever declare. */
const UNKNOWN = 'zzUnknownField';

/**
 * Open objects allowed in an input, by `<connector> <operation> <JSON Schema pointer>`: each is content a
 * provider validates with its own grammar, which a strict copy here would freeze.
 */
const PASS_THROUGH: Record<string, string> = {
  'slack post-message /properties/blocks/items': 'Block Kit JSON: Slack validates blocks (invalid_blocks)',
  'slack update-message /properties/blocks/items': 'Block Kit JSON: Slack validates blocks (invalid_blocks)',
};

type JsonSchema = Record<string, unknown>;

interface CheckedOperation {
  connector: ConnectorName;
  operation: string;
  schema: z.ZodType;
  json: JsonSchema;
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function escapePointer(segment: string | number): string {
  return String(segment).replaceAll('~', '~0').replaceAll('/', '~1');
}

/** The JSON Schema of an operation's input as a caller writes it (defaults optional). */
function inputJsonSchema(schema: z.ZodType): JsonSchema {
  return z.toJSONSchema(schema, { io: 'input' }) as JsonSchema;
}

/**
 * Pointers (into the JSON Schema) of every object node with named properties that does not refuse
 * other keys. Walks every subschema keyword, `$defs` included, so recursive and shared parts count too.
 */
function openObjects(node: unknown, at = ''): string[] {
  if (Array.isArray(node)) return node.flatMap((item, index) => openObjects(item, `${at}/${index}`));
  if (!isSchema(node)) return [];
  const here = isSchema(node['properties']) && node['additionalProperties'] !== false ? [at] : [];
  const below = Object.entries(node).flatMap(([keyword, value]) => {
    if (keyword === 'properties' || keyword === '$defs' || keyword === 'patternProperties') {
      return isSchema(value)
        ? Object.entries(value).flatMap(([name, sub]) =>
            openObjects(sub, `${at}/${keyword}/${escapePointer(name)}`),
          )
        : [];
    }
    return isSchema(value) || Array.isArray(value) ? openObjects(value, `${at}/${keyword}`) : [];
  });
  return [...here, ...below];
}

function resolve(root: JsonSchema, node: JsonSchema): JsonSchema {
  const ref = node['$ref'];
  if (typeof ref !== 'string' || !ref.startsWith('#/$defs/')) return node;
  const target = (root['$defs'] as Record<string, unknown> | undefined)?.[ref.slice('#/$defs/'.length)];
  return isSchema(target) ? resolve(root, target) : node;
}

/**
 * Paths (in the value) of every object of `value` that the schema declares with named properties: where an
 * unknown field must be refused. Records are skipped: a new key there is data, not a misspelling.
 */
function declaredObjectPaths(root: JsonSchema, node: JsonSchema, value: unknown): (string | number)[][] {
  const schema = resolve(root, node);
  const options = [...((schema['anyOf'] as unknown[]) ?? []), ...((schema['allOf'] as unknown[]) ?? [])];
  if (options.length > 0) {
    return options.filter(isSchema).flatMap((option) => declaredObjectPaths(root, option, value));
  }
  if (Array.isArray(value) && isSchema(schema['items'])) {
    const items = schema['items'];
    return value.flatMap((item, index) =>
      declaredObjectPaths(root, items, item).map((path) => [index, ...path]),
    );
  }
  const properties = schema['properties'];
  if (!isSchema(properties) || !isSchema(value) || Array.isArray(value)) return [];
  return [
    [],
    ...Object.entries(value).flatMap(([name, field]) => {
      const sub = properties[name];
      return isSchema(sub) ? declaredObjectPaths(root, sub, field).map((path) => [name, ...path]) : [];
    }),
  ];
}

/** `value` with `UNKNOWN: true` added to the object at `path`. */
function withUnknownAt(value: unknown, path: readonly (string | number)[]): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return { ...(value as Record<string, unknown>), [UNKNOWN]: true };
  if (Array.isArray(value))
    return value.map((item, index) => (index === head ? withUnknownAt(item, rest) : item));
  const record = value as Record<string, unknown>;
  return { ...record, [head]: withUnknownAt(record[head], rest) };
}

let suite: Suite;
let operations: CheckedOperation[];
let logs: CapturedLogs;

beforeAll(async () => {
  suite = await startSuite();
  operations = CONNECTOR_NAMES.flatMap((connector) =>
    Object.entries(suite.connectors[connector].runtime.operations).map(([operation, definition]) => {
      const schema = (definition as { input: z.ZodType }).input;
      return { connector, operation, schema, json: inputJsonSchema(schema) };
    }),
  );
}, 60_000);

afterAll(async () => {
  await suite?.close();
});

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describe('Strict inputs: every operation of every connector refuses unknown fields', () => {
  it('checks the operations of every connector, put-object, post-message and MySQL insert-rows among them', () => {
    // Assess
    expect(operations.length).toBeGreaterThan(0);
    expect(new Set(operations.map((checked) => checked.connector))).toEqual(new Set(CONNECTOR_NAMES));
    expect(operations.map((checked) => `${checked.connector} ${checked.operation}`)).toEqual(
      expect.arrayContaining([
        's3 put-object',
        'postgres execute',
        'mysql insert-rows',
        'slack post-message',
        'github sync-issues',
      ]),
    );
  });

  it('finds an open object where there is one, and none in a strict schema (the check can fail)', () => {
    // Prepare
    const loose = z.object({ a: z.object({ b: z.string() }), c: z.array(z.looseObject({ d: z.number() })) });
    const strict = z.strictObject({
      a: z.strictObject({ b: z.string() }),
      metadata: z.record(z.string(), z.string()),
      row: z.json(),
    });
    // Act & Assess
    expect(openObjects(inputJsonSchema(loose)).sort()).toEqual(['', '/properties/a', '/properties/c/items']);
    expect(openObjects(inputJsonSchema(strict))).toEqual([]);
  });

  it('has additionalProperties: false on every object node of every input schema, but the pass-through ones', () => {
    // Act
    const open = operations.flatMap(({ connector, operation, json }) =>
      openObjects(json).map((pointer) => `${connector} ${operation} ${pointer || '/'}`),
    );
    // Assess
    expect(open.filter((where) => !(where in PASS_THROUGH))).toEqual([]);
    // Every allowed exception still exists: a stale entry would let a new open object hide behind it.
    expect(open.sort()).toEqual(Object.keys(PASS_THROUGH).sort());
  });

  it("answers put-object with the issue's misspelled contentype with 400 naming /contentype", async () => {
    // Act
    const response = await suite.http('s3', {
      path: '/s3/put-object',
      body: { key: 'probe/typo.txt', body: 'hi', contentype: 'text/csv' },
      authorizer: 'iam',
    });
    // Assess
    assertClientProblem(response, 'put-object contentype', 400);
    expect(JSON.parse(response.body).errors).toEqual([{ pointer: '/contentype', message: 'unknown field' }]);
  });

  it('has a valid sample input for every operation', () => {
    for (const { connector, operation, schema } of operations) {
      const sample = suite.samples[connector][operation];
      expect(sample, `${connector} ${operation}`).toBeDefined();
      expect(() => parseInput(schema, sample), `${connector} ${operation}`).not.toThrow();
    }
  });

  it('answers 400 naming the unknown field, at every declared object level of the sample, over HTTP', async () => {
    // Prepare
    const probes = operations.flatMap(({ connector, operation, json }) =>
      declaredObjectPaths(json, json, suite.samples[connector][operation]).map((path) => ({
        connector,
        operation,
        path,
        pointer: [...path, UNKNOWN].map((segment) => `/${escapePointer(segment)}`).join(''),
      })),
    );
    // Every operation at its root, and a nested level (PostgreSQL's statements) too.
    expect(probes.filter((probe) => probe.path.length === 0)).toHaveLength(operations.length);
    expect(probes.map((probe) => `${probe.connector} ${probe.operation} ${probe.pointer}`)).toContain(
      `postgres execute /statements/0/${UNKNOWN}`,
    );
    // Act
    const answers = await Promise.all(
      probes.map(async (probe) => ({
        probe,
        response: await suite.http(probe.connector, {
          path: `/${probe.connector}/${probe.operation}`,
          body: withUnknownAt(suite.samples[probe.connector][probe.operation], probe.path),
          authorizer: 'iam',
        }),
      })),
    );
    // Assess
    for (const { probe, response } of answers) {
      const where = `${probe.connector} ${probe.operation} ${probe.pointer}`;
      assertClientProblem(response, where, 400);
      expect(JSON.parse(response.body).errors, where).toEqual([
        { pointer: probe.pointer, message: 'unknown field' },
      ]);
    }
  });
});
