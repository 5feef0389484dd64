import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { NotFoundError, ValidationError } from '../errors.ts';
import { defineConnector } from './define.ts';
import { MAX_FIELD_ISSUES, parseInput } from './runtime.ts';

const PutInput = z.strictObject({
  key: z.string().min(1),
  contentType: z.string().optional(),
  metadata: z.strictObject({ owner: z.string() }).optional(),
  statements: z.array(z.strictObject({ sql: z.string() })).optional(),
});

function issuesOf(schema: z.ZodType, raw: unknown): ValidationError {
  try {
    parseInput(schema, raw);
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  throw new Error('expected parseInput to throw a ValidationError');
}

describe('Function: parseInput', () => {
  it('returns the parsed input when it matches', () => {
    // Act
    const input = parseInput(PutInput, { key: 'a.txt', contentType: 'text/plain' });
    // Assess
    expect(input).toEqual({ key: 'a.txt', contentType: 'text/plain' });
  });

  it('names a misspelled field by its own pointer, not its parent', () => {
    // Act
    const error = issuesOf(PutInput, { key: 'a.txt', contentype: 'text/plain' });
    // Assess
    expect(error.issues).toEqual([{ pointer: '/contentype', message: 'unknown field' }]);
    expect(error.message).toBe('Invalid input: /contentype: unknown field');
    expect(error.status).toBe(400);
  });

  it("names a record key its key schema refuses with that schema's own message, not zod's 'Invalid key'", () => {
    // Prepare: metadata names as the object-storage model has them
    const Name = z
      .string()
      .regex(/^[a-z0-9_]+$/, 'expected a lower-case name of letters, digits and underscores');
    const schema = z.strictObject({ metadata: z.record(Name, z.string().max(3, 'at most 3 characters')) });

    // Act
    const error = issuesOf(schema, { metadata: { ok: 'v', MyKey: 'v', long: 'value' } });

    // Assess
    expect(error.issues).toEqual([
      {
        pointer: '/metadata/MyKey',
        message: 'expected a lower-case name of letters, digits and underscores',
      },
      { pointer: '/metadata/long', message: 'at most 3 characters' },
    ]);
  });

  it('names every unknown field, nested ones and ones inside array items with their full pointer', () => {
    // Act
    const error = issuesOf(PutInput, {
      key: 'a.txt',
      extra: 1,
      'a/b~c': 2,
      metadata: { owner: 'me', ownr: 'me' },
      statements: [{ sql: 'select 1' }, { sql: 'select 2', parms: [] }],
    });
    // Assess
    expect(error.issues).toEqual(
      expect.arrayContaining([
        { pointer: '/extra', message: 'unknown field' },
        { pointer: '/a~1b~0c', message: 'unknown field' },
        { pointer: '/metadata/ownr', message: 'unknown field' },
        { pointer: '/statements/1/parms', message: 'unknown field' },
      ]),
    );
    expect(error.issues).toHaveLength(4);
  });

  it('says "required" for a field the input lacks, at any depth, whatever its type; other messages stay', () => {
    // Prepare
    const Schema = z.strictObject({
      key: z.string(),
      value: z.json(),
      mode: z.enum(['a', 'b']),
      items: z.array(z.strictObject({ name: z.string() })),
    });
    // Act
    const missing = issuesOf(Schema, { items: [{}] });
    const wrong = issuesOf(Schema, { key: 1, value: () => 1, mode: 'c', items: [{ name: 2 }] });
    // Assess
    expect(missing.issues).toEqual([
      { pointer: '/key', message: 'required' },
      { pointer: '/value', message: 'required' },
      { pointer: '/mode', message: expect.stringContaining('expected one of') },
      { pointer: '/items/0/name', message: 'required' },
    ]);
    expect(missing.message).toContain('/key: required; /value: required');
    expect(wrong.issues.map((issue) => issue.message)).not.toContain('required');
  });

  it('reports unknown fields alongside other problems', () => {
    // Act
    const error = issuesOf(PutInput, { key: '', contentype: 'x' });
    // Assess
    expect(error.issues.map((issue) => issue.pointer).sort()).toEqual(['/contentype', '/key']);
  });

  it('lists at most MAX_FIELD_ISSUES problems and says how many more there were', () => {
    // Prepare
    const raw: Record<string, unknown> = { key: 'a.txt' };
    for (let i = 0; i < MAX_FIELD_ISSUES + 25; i++) raw[`x${i}`] = i;
    // Act
    const error = issuesOf(PutInput, raw);
    // Assess
    expect(error.issues).toHaveLength(MAX_FIELD_ISSUES + 1);
    expect(error.issues[0]).toEqual({ pointer: '/x0', message: 'unknown field' });
    expect(error.issues.at(-1)).toEqual({ pointer: '', message: '25 more problems not listed' });
  });
});

describe('Method: ConnectorRuntime.execute', () => {
  function connector() {
    return defineConnector({
      name: 'exec',
      version: '1.0.0',
      config: z.object({}),
      setup: () => ({}),
      operations: (op) => ({
        echo: op({
          description: 'Answers its text',
          input: z.object({ text: z.string() }),
          output: z.object({ text: z.string() }),
          run: async ({ text }) => ({ text }),
        }),
        bad: op({
          description: 'Throws before it returns a promise',
          input: z.object({}),
          output: z.object({}),
          run: () => {
            throw new Error('sync failure');
          },
        }),
      }),
    });
  }
  const meta = { trigger: 'direct' as const, correlationId: 'c-1' };

  it('never throws: an unknown operation, an invalid input and a synchronous failure each reject', async () => {
    // Prepare: a warm container (client built), the path an SQS batch takes.
    const { runtime } = connector();
    await runtime.built();
    // Act
    const unknown = runtime.execute('nope', {}, meta);
    const invalid = runtime.execute('echo', { text: 1 }, meta);
    const failing = runtime.execute('bad', {}, meta);
    // Assess
    await expect(unknown).rejects.toBeInstanceOf(NotFoundError);
    await expect(invalid).rejects.toBeInstanceOf(ValidationError);
    await expect(failing).rejects.toThrow('Internal error');
    await expect(runtime.execute('echo', { text: 'hi' }, meta)).resolves.toEqual({ text: 'hi' });
    // The failed run and the answered one are counted; the refused requests never ran.
    const counts = runtime.metrics
      .drain()
      .map((document) => [document['operation'], document['invocations'], document['errors']]);
    expect(counts).toEqual([
      ['bad', 1, 1],
      ['echo', 1, 0],
    ]);
  });
});
