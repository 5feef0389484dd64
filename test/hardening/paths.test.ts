/**
 * Path-segment and Unicode edge cases for every key or path input of every connector. The fields come
 * from data, not from a list: each connector's operation input schemas are walked for the fields built
 * with `safePath` (`shared/models/paths.ts`, which marks them), so a later connector's key or path fields
 * are covered as soon as it joins the suite. For each field found:
 * - values that climb out of their place on a store or proxy that normalises paths (`..`, `.`, `//`,
 *   `\`, fullwidth dots), or that no request can carry (lone surrogates, control characters), are refused
 *   over HTTP with a 400 problem naming the field;
 * - ordinary names (dots inside names, Unicode, spaces, folder markers) pass validation and never 5xx;
 * - a property: whatever the schema accepts stays the same under path normalisation (NFKC, `\` as `/`).
 *
 * Runs: CIRCLE_FUZZ_RUNS per field for the property (default 1 000; 10 000 with CIRCLE_LONG=1).
 */
import { posix } from 'node:path';
import { type CapturedLogs, captureLogs } from '@circle-core/core/testing';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { type PathKind, pathKindOf } from '../../shared/models/paths.ts';
import { assertClientProblem, assertNoInternals } from './support/hostile.ts';
import {
  CONNECTOR_NAMES,
  type ConnectorName,
  type HttpResult,
  type Suite,
  startSuite,
} from './support/suite.ts';

const RUNS = Number(process.env['CIRCLE_FUZZ_RUNS'] ?? (process.env['CIRCLE_LONG'] === '1' ? 10_000 : 1_000));

/** One key or path field of one operation's input. */
interface PathField {
  connector: ConnectorName;
  operation: string;
  /** Property names (and 0 for an array element) from the input's root to the field. */
  path: (string | number)[];
  /** RFC 6901 pointer, as a ValidationError names the field. */
  pointer: string;
  kind: PathKind;
  /** The marked schema itself, without the wrappers around it. */
  schema: z.ZodType;
}

/** Refused in every kind of path field. */
const HOSTILE: Record<string, string> = {
  'a parent segment': '../other-bucket/x',
  'a dot then a parent segment': './../x',
  'parent segments after a name': 'a/../../x',
  'only a parent segment': '..',
  'only a dot': '.',
  'a trailing parent segment': 'a/..',
  'a trailing dot segment': 'a/.',
  'a dot segment': 'a/./b',
  'a parent segment after a leading slash': '/../x',
  'a backslash parent segment': '..\\x',
  'backslash parent segments after a name': 'a\\..\\..\\x',
  'fullwidth dots (NFKC "..")': '\uff0e\uff0e/x',
  'a two-dot leader (NFKC "..")': '\u2025/x',
  'a small full stop (NFKC ".")': 'a/\ufe52/b',
  'an empty segment': 'a//b',
  'fullwidth slashes (NFKC "//")': 'a\uff0f\uff0fb',
  'a leading backslash': '\\x',
  'a lone high surrogate': 'a\ud800b',
  'a lone low surrogate': '\udfff',
  'a trailing high surrogate': 'a\ud800',
  'a NUL': '\u0000',
  'an escape character': 'a\u001bb',
  'a carriage return': 'a\rb',
  'a C1 control (NEL)': 'a\u0085b',
};

/** Accepted in every kind of path field. */
const ORDINARY: readonly string[] = [
  'a/b/c.txt',
  'folder/',
  'a..b',
  '...',
  '.../x',
  '.hidden/x',
  'résumé.pdf',
  'with space.txt',
  '日本語/データ.csv',
  '😀.png',
  'e\u0301/combining.txt',
  'percent%2e%2e/x.txt',
  'back\\slash.txt',
];

let suite: Suite;
let fields: PathField[];
let logs: CapturedLogs;

type FoundField = Omit<PathField, 'connector' | 'operation' | 'pointer'>;

/**
 * Every field marked by `safePath` under `schema`, through objects, wrappers, arrays, unions and lazy
 * schemas (each lazy schema once: `z.json()` refers to itself).
 */
function findPathFields(
  schema: z.ZodType,
  path: (string | number)[] = [],
  seen: Set<z.ZodType> = new Set(),
): FoundField[] {
  const kind = pathKindOf(schema);
  if (kind !== undefined) return [{ path, kind, schema }];
  const inner = (next: z.ZodType, at = path): FoundField[] => findPathFields(next, at, seen);
  if (schema instanceof z.ZodObject) {
    return Object.entries(schema.shape as Record<string, z.ZodType>).flatMap(([name, field]) =>
      inner(field, [...path, name]),
    );
  }
  if (
    schema instanceof z.ZodOptional ||
    schema instanceof z.ZodNullable ||
    schema instanceof z.ZodDefault ||
    schema instanceof z.ZodPrefault ||
    schema instanceof z.ZodReadonly ||
    schema instanceof z.ZodNonOptional ||
    schema instanceof z.ZodCatch
  ) {
    return inner(schema.def.innerType as z.ZodType);
  }
  if (schema instanceof z.ZodPipe) return inner(schema.in as z.ZodType);
  if (schema instanceof z.ZodArray) return inner(schema.element as z.ZodType, [...path, 0]);
  if (schema instanceof z.ZodUnion) return (schema.options as z.ZodType[]).flatMap((option) => inner(option));
  if (schema instanceof z.ZodIntersection) {
    return [...inner(schema.def.left as z.ZodType), ...inner(schema.def.right as z.ZodType)];
  }
  if (schema instanceof z.ZodLazy && !seen.has(schema)) {
    seen.add(schema);
    return inner(schema.unwrap() as z.ZodType);
  }
  return [];
}

function toPointer(path: readonly (string | number)[]): string {
  return path.map((part) => `/${String(part).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

/** The operation's sample input with the field at `path` set to `value` (arrays get one element). */
function withValue(sample: unknown, path: readonly (string | number)[], value: string): unknown {
  const [head, ...rest] = path;
  if (head === undefined) return value;
  if (typeof head === 'number') {
    const items = Array.isArray(sample) ? [...sample] : [];
    items[head] = withValue(items[head], rest, value);
    return items;
  }
  const record = typeof sample === 'object' && sample !== null ? (sample as Record<string, unknown>) : {};
  return { ...record, [head]: withValue(record[head], rest, value) };
}

function inputFor(field: PathField, value: string): unknown {
  const sample = suite.samples[field.connector][field.operation];
  if (sample === undefined) throw new Error(`No sample input for ${field.connector} ${field.operation}`);
  return withValue(sample, field.path, value);
}

function operationInput(connector: ConnectorName, operation: string): z.ZodType {
  return (suite.connectors[connector].runtime.operations[operation] as { input: z.ZodType }).input;
}

/** Posts `value` in every field found; the list is never empty, so no check here passes vacuously. */
/**
 * Posts `value` into every path field: one connector's fields in turn, the connectors at once. A
 * connector's operations on one key at the same moment (S3's put, copy and delete of `.../x`) race inside
 * s3rver, whose file store then answers InternalError (a 503 here) where S3 itself would not.
 */
async function postEverywhere(value: string): Promise<{ field: PathField; response: HttpResult }[]> {
  expect(fields.length).toBeGreaterThan(0);
  const byConnector = Map.groupBy(fields, (field) => field.connector);
  const answers = await Promise.all(
    [...byConnector.values()].map(async (own) => {
      const results: { field: PathField; response: HttpResult }[] = [];
      for (const field of own) results.push({ field, response: await post(field, value) });
      return results;
    }),
  );
  return answers.flat();
}

async function post(field: PathField, value: string): Promise<HttpResult> {
  return suite.http(field.connector, {
    path: `/${field.connector}/${field.operation}`,
    body: inputFor(field, value),
    authorizer: 'iam',
  });
}

const describeField = (field: PathField): string => `${field.connector} ${field.operation} ${field.pointer}`;

beforeAll(async () => {
  suite = await startSuite();
  fields = CONNECTOR_NAMES.flatMap((connector) =>
    Object.keys(suite.connectors[connector].runtime.operations).flatMap((operation) =>
      findPathFields(operationInput(connector, operation)).map((found) => ({
        ...found,
        connector,
        operation,
        pointer: toPointer(found.path),
      })),
    ),
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

describe('Path inputs: every key or path field of every connector', () => {
  it("finds the fields from the schemas, S3's keys and prefix and GitHub's file path among them", () => {
    // Assess
    expect(fields.length).toBeGreaterThan(0);
    expect(fields.map(describeField)).toEqual(
      expect.arrayContaining([
        's3 put-object /key',
        's3 get-object /key',
        's3 head-object /key',
        's3 delete-object /key',
        's3 copy-object /sourceKey',
        's3 copy-object /key',
        's3 presign-url /key',
        's3 list-objects /prefix',
        'github get-file /path',
      ]),
    );
    for (const field of fields) {
      expect(suite.samples[field.connector][field.operation], describeField(field)).toBeDefined();
    }
  });

  it.each(Object.entries(HOSTILE))('refuses %s with a 400 naming the field', async (_, value) => {
    // Act
    const answers = await postEverywhere(value);
    // Assess
    for (const { field, response } of answers) {
      const where = `${describeField(field)} = ${JSON.stringify(value)}`;
      assertClientProblem(response, where, 400);
      const problem = JSON.parse(response.body) as { errors?: { pointer: string }[] };
      expect(
        problem.errors?.map((issue) => issue.pointer),
        where,
      ).toContain(field.pointer);
    }
  });

  it('refuses a leading slash in object keys and prefixes, and ignores it in repository paths', async () => {
    // Act
    const answers = await postEverywhere('/x/y.txt');
    // Assess
    for (const { field, response } of answers) {
      const where = describeField(field);
      if (field.kind === 'repository-path') {
        expect(response.statusCode, where).not.toBe(400);
        expect(response.statusCode, where).toBeLessThan(500);
      } else {
        assertClientProblem(response, where, 400);
        expect(JSON.parse(response.body).errors, where).toEqual([
          { pointer: field.pointer, message: 'expected no leading "/"' },
        ]);
      }
    }
  });

  it.each(ORDINARY)('accepts %j: it passes validation and no peer answers 5xx', async (value) => {
    // Act
    const answers = await postEverywhere(value);
    // Assess
    for (const { field, response } of answers) {
      const where = `${describeField(field)} = ${JSON.stringify(value)}: ${response.body.slice(0, 200)}`;
      expect(
        operationInput(field.connector, field.operation).safeParse(inputFor(field, value)).success,
        where,
      ).toBe(true);
      expect(response.statusCode, where).not.toBe(400);
      expect(response.statusCode, where).toBeLessThan(500);
      assertNoInternals(response, where);
    }
  });

  it('accepts only values that path normalisation leaves unchanged', () => {
    // Prepare
    const piece = fc.constantFrom(
      'a',
      'é',
      ' ',
      '.',
      '..',
      '/',
      '\\',
      '\uff0e',
      '\u2025',
      '\ufe52',
      '\uff0f',
      '\uff3c',
      '%2e',
      '\u0301',
      '😀',
      '\ud800',
      '\udc00',
      '\u0000',
      '\n',
    );
    const value = fc.array(piece, { maxLength: 10 }).map((pieces) => pieces.join(''));
    let accepted = 0;
    let refused = 0;
    // Act & Assess
    expect(fields.length).toBeGreaterThan(0);
    for (const field of fields) {
      fc.assert(
        fc.property(value, (candidate) => {
          if (!field.schema.safeParse(candidate).success) {
            refused += 1;
            return;
          }
          accepted += 1;
          const relative = field.kind === 'repository-path' ? candidate.replace(/^\/+/, '') : candidate;
          const folded = relative.normalize('NFKC').replaceAll('\\', '/');
          expect(candidate.isWellFormed()).toBe(true);
          expect(candidate).not.toMatch(/\p{Cc}/u);
          expect(posix.normalize(`/root/${folded}`)).toBe(`/root/${folded}`);
        }),
        { numRuns: RUNS },
      );
    }
    // The property saw both sides, so it could have failed.
    expect(accepted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });
});
