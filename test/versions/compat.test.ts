import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import {
  type ConnectorContract,
  diffContracts,
  type Io,
  type JsonSchema,
  schemaBreaks,
  stripAnnotations,
} from '../../scripts/versions/compat.ts';

/** A zod schema as the snapshots hold it. */
const json = (schema: z.ZodType, io: Io): JsonSchema =>
  stripAnnotations(z.toJSONSchema(schema, { target: 'draft-2020-12', io })) as JsonSchema;

/** The breaks between two zod versions of one side, as `path: message` lines. */
function breaks(before: z.ZodType, after: z.ZodType, io: Io): string[] {
  return schemaBreaks(json(before, io), json(after, io), io).map(
    (found) => `${found.path}: ${found.message}`,
  );
}

describe('Function: schemaBreaks', () => {
  describe('input (new must accept all the old accepted)', () => {
    const base = z.strictObject({ key: z.string().min(1).max(1024), size: z.number().int().optional() });

    it('finds nothing in an identical schema, a new optional field, a looser bound or a new description', () => {
      // Act & Assess
      expect(breaks(base, base, 'input')).toEqual([]);
      expect(breaks(base, base.extend({ tag: z.string().optional() }), 'input')).toEqual([]);
      expect(breaks(base, base.extend({ key: z.string().min(1).max(2048) }), 'input')).toEqual([]);
      expect(
        breaks(base, base.extend({ key: z.string().min(1).max(1024).describe('Object key') }), 'input'),
      ).toEqual([]);
    });

    it('refuses a new required field, an optional field made required and a removed field', () => {
      // Act & Assess
      expect(breaks(base, base.extend({ bucket: z.string() }), 'input')).toEqual([
        '/bucket: new required input field',
      ]);
      expect(breaks(base, base.extend({ size: z.number().int() }), 'input')).toEqual([
        '/size: input field is now required',
      ]);
      expect(breaks(base, base.omit({ size: true }), 'input')).toEqual([
        '/size: input field removed (callers that send it are refused)',
      ]);
    });

    it('refuses a narrowed type: a tighter bound, a type or enum value taken away, a new pattern or format', () => {
      // Act & Assess
      expect(breaks(base, base.extend({ key: z.string().min(1).max(512) }), 'input')).toEqual([
        '/key: maxLength tightened from 1024 to 512',
      ]);
      expect(breaks(z.object({ n: z.number() }), z.object({ n: z.number().int() }), 'input')).toEqual([
        '/n: no longer accepts number',
      ]);
      expect(
        breaks(z.object({ n: z.number().min(0) }), z.object({ n: z.number().positive() }), 'input'),
      ).toEqual(['/n: minimum tightened from 0 to exclusive 0']);
      expect(
        breaks(z.object({ mode: z.enum(['get', 'put']) }), z.object({ mode: z.enum(['get']) }), 'input'),
      ).toEqual(['/mode: no longer accepts ["put"]']);
      expect(breaks(z.object({ v: z.string().nullable() }), z.object({ v: z.string() }), 'input')).toEqual([
        '/v: no longer accepts null',
      ]);
      expect(breaks(z.object({ at: z.string() }), z.object({ at: z.iso.datetime() }), 'input')).toEqual([
        expect.stringMatching(/^\/at: pattern added: "\^/),
        '/at: format added: "date-time"',
      ]);
    });

    it('refuses unknown fields being refused where a loose object took them', () => {
      // Act & Assess
      expect(breaks(z.looseObject({ a: z.string() }), z.strictObject({ a: z.string() }), 'input')).toEqual([
        ': now refuses fields it does not know',
      ]);
    });

    it('accepts a widened type: a new enum value, number for integer, nullable', () => {
      // Act & Assess
      expect(breaks(z.object({ m: z.enum(['a']) }), z.object({ m: z.enum(['a', 'b']) }), 'input')).toEqual(
        [],
      );
      expect(breaks(z.object({ n: z.number().int() }), z.object({ n: z.number() }), 'input')).toEqual([]);
      expect(breaks(z.object({ v: z.string() }), z.object({ v: z.string().nullable() }), 'input')).toEqual(
        [],
      );
    });

    it('reads inside arrays, records and unions, pointing at the place', () => {
      // Act & Assess
      expect(
        breaks(
          z.object({ rows: z.array(z.string()) }),
          z.object({ rows: z.array(z.string().max(5)) }),
          'input',
        ),
      ).toEqual(['/rows/[]: maxLength tightened from none to 5']);
      expect(
        breaks(
          z.object({ meta: z.record(z.string(), z.string()) }),
          z.object({ meta: z.record(z.string(), z.string().min(2)) }),
          'input',
        ),
      ).toEqual(['/meta/*: minLength tightened from none to 2']);
      expect(
        breaks(
          z.object({ body: z.union([z.string(), z.object({ base64: z.string() })]) }),
          z.object({ body: z.union([z.string(), z.object({ base64: z.string(), type: z.string() })]) }),
          'input',
        ),
      ).toEqual(['/body/type: new required input field']);
    });

    it('compares recursive schemas without looping', () => {
      // Prepare
      const Value: z.ZodType = z.lazy(() => z.union([z.string(), z.array(Value)]));
      const Narrower: z.ZodType = z.lazy(() => z.union([z.string().max(3), z.array(Narrower)]));
      // Act & Assess
      expect(breaks(z.object({ v: Value }), z.object({ v: Value }), 'input')).toEqual([]);
      expect(breaks(z.object({ v: Value }), z.object({ v: Narrower }), 'input')).toContain(
        '/v: maxLength tightened from none to 3',
      );
    });
  });

  describe('output (new must produce only what the old could)', () => {
    const base = z.object({ key: z.string(), etag: z.string().optional(), size: z.number().int().min(0) });

    it('allows a new field, a field that is now always there and a tighter type', () => {
      // Act & Assess
      expect(breaks(base, base.extend({ versionId: z.string().optional() }), 'output')).toEqual([]);
      expect(breaks(base, base.extend({ etag: z.string() }), 'output')).toEqual([]);
      expect(breaks(base, base.extend({ size: z.number().int().min(1) }), 'output')).toEqual([]);
    });

    it('refuses a removed field, a field that may now be missing, and a widened type', () => {
      // Act & Assess
      expect(breaks(base, base.omit({ etag: true }), 'output')).toEqual(['/etag: output field removed']);
      expect(breaks(base, base.extend({ key: z.string().optional() }), 'output')).toEqual([
        '/key: output field may now be missing',
      ]);
      expect(breaks(base, base.extend({ key: z.string().nullable() }), 'output')).toEqual([
        '/key: may now be null',
      ]);
      expect(breaks(base, base.extend({ size: z.number().int() }), 'output')).toEqual([
        '/size: minimum loosened from 0 to -9007199254740991',
      ]);
      expect(
        breaks(z.object({ s: z.enum(['ok']) }), z.object({ s: z.enum(['ok', 'partial']) }), 'output'),
      ).toEqual(['/s: may now be ["partial"]']);
      expect(breaks(z.object({ at: z.iso.datetime() }), z.object({ at: z.string() }), 'output')).toEqual([
        expect.stringMatching(/^\/at: pattern dropped: was "\^/),
        '/at: format dropped: was "date-time"',
      ]);
    });
  });

  it('counts a change to a constraint it has no rule for as breaking', () => {
    // Act & Assess
    expect(
      schemaBreaks({ type: 'number', multipleOf: 2 }, { type: 'number', multipleOf: 4 }, 'input').map(
        (found) => found.message,
      ),
    ).toEqual(['multipleOf changed (no compatibility rule for it, so counted as breaking)']);
  });
});

describe('Function: stripAnnotations', () => {
  it('drops descriptions and titles but keeps a property named description', () => {
    // Act
    const stripped = stripAnnotations({
      type: 'object',
      description: 'An issue',
      properties: { description: { type: 'string', description: 'Its text', title: 'T' } },
    });
    // Assess
    expect(stripped).toEqual({ type: 'object', properties: { description: { type: 'string' } } });
  });
});

describe('Function: diffContracts', () => {
  const operation = (input: z.ZodType, output: z.ZodType, effect: 'read' | 'write' = 'read') => ({
    effect,
    input: json(input, 'input'),
    output: json(output, 'output'),
  });
  const contract = (version: string, operations: ConnectorContract['operations']): ConnectorContract => ({
    connector: 'demo',
    version,
    operations,
  });
  const get = operation(z.strictObject({ id: z.string() }), z.object({ id: z.string() }));

  it('names a removed operation and a read that became a write as breaking, per operation', () => {
    // Act
    const diff = diffContracts(
      contract('1.0.0', { 'get-thing': get, 'put-thing': get }),
      contract('1.1.0', { 'put-thing': { ...get, effect: 'write' } }),
    );
    // Assess
    expect(diff.breaking).toEqual([
      'get-thing: operation removed',
      'put-thing: became a write (callers now need an idempotency key where the table is set)',
    ]);
  });

  it('lists additions, deprecations and compatible schema changes as compatible', () => {
    // Act
    const diff = diffContracts(
      contract('1.0.0', { 'get-thing': get }),
      contract('1.1.0', {
        'get-thing': {
          ...operation(
            z.strictObject({ id: z.string(), at: z.string().optional() }),
            z.object({ id: z.string() }),
          ),
          deprecated: { since: '2026-12-01', use: 'read-thing' },
        },
        'read-thing': get,
      }),
    );
    // Assess
    expect(diff).toEqual({
      breaking: [],
      compatible: [
        'get-thing: deprecated',
        'get-thing input: changed compatibly',
        'read-thing: operation added',
      ],
    });
  });

  it('prefixes schema breaks with the operation, the side and the field', () => {
    // Act
    const diff = diffContracts(
      contract('1.0.0', { 'get-thing': get }),
      contract('1.1.0', { 'get-thing': operation(z.strictObject({ id: z.string() }), z.object({})) }),
    );
    // Assess
    expect(diff.breaking).toEqual(['get-thing output /id: output field removed']);
  });
});
