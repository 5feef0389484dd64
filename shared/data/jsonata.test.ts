import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { compileExpression, EvaluationError } from './jsonata.ts';
import { checkRecord, resolveRecordSchema } from './record-schemas.ts';

const LIMITS = { timeoutMs: 500, maxDepth: 100, maxSequence: 1_000, maxResultBytes: 1_024 };

describe('Module: jsonata', () => {
  it('answers plain JSON, nothing for no match, and evaluates with a shorter budget when asked', async () => {
    // Prepare
    const expression = compileExpression('items[price > 1].name', LIMITS);

    // Act
    const many = await expression.evaluate({
      items: [
        { name: 'a', price: 2 },
        { name: 'b', price: 3 },
      ],
    });
    const none = await expression.evaluate({ items: [] });
    const shorter = await expression.evaluate({ items: [{ name: 'c', price: 5 }] }, {}, 50);
    const again = await expression.evaluate({ items: [{ name: 'd', price: 5 }] }, {}, 50);

    // Assess
    expect(many).toEqual(['a', 'b']);
    expect(Array.isArray(many) && Object.keys(many)).toEqual(['0', '1']);
    expect(none).toBeUndefined();
    expect([shorter, again]).toEqual(['c', 'd']);
  });

  it('rejects an answer JSON cannot hold (a function) and names a failure without a position', async () => {
    // Prepare
    const lambda = compileExpression('function($x) { $x }', LIMITS);
    const failing = compileExpression('$error("stop")', LIMITS);

    // Act
    const notJson = lambda.evaluate({});
    const thrown = failing.evaluate({});

    // Assess
    await expect(notJson).rejects.toMatchObject({ code: 'result_not_json' });
    await expect(thrown).rejects.toBeInstanceOf(EvaluationError);
    await expect(thrown).rejects.toMatchObject({ code: 'D3137', message: expect.stringContaining('stop') });
  });

  it('names the field and the position of a syntax error', () => {
    // Act
    const compile = () => compileExpression('a +', LIMITS, '/mapping');

    // Assess
    expect(compile).toThrow(
      expect.objectContaining({
        name: 'ValidationError',
        issues: [{ pointer: '/mapping', message: expect.stringMatching(/at position \d+/) }],
      }),
    );
  });
});

describe('Module: record-schemas', () => {
  it('refuses a JSON Schema over 64 KiB and one zod cannot read, naming the field', async () => {
    // Prepare
    const big = { type: 'object', description: 'x'.repeat(70_000) };

    // Act
    const tooBig = () => resolveRecordSchema({ jsonSchema: big }, {}, '/inputSchema');
    const unreadable = () =>
      resolveRecordSchema(
        { jsonSchema: { type: 'object', $ref: 'https://example.com/remote.json' } },
        {},
        '/outputSchema',
      );

    // Assess
    await expect(tooBig()).rejects.toThrow(
      expect.objectContaining({ issues: [expect.objectContaining({ pointer: '/inputSchema/jsonSchema' })] }),
    );
    await expect(unreadable()).rejects.toThrow(
      expect.objectContaining({ issues: [expect.objectContaining({ pointer: '/outputSchema/jsonSchema' })] }),
    );
  });

  it('answers the named model, and problems as escaped JSON pointers', async () => {
    // Prepare
    const model = z.object({ 'a/b': z.number() });
    const schema = await resolveRecordSchema({ model: 'thing.v1' }, { 'thing.v1': model }, '/inputSchema');

    // Act
    const checked = checkRecord(schema, { 'a/b': 'x' });

    // Assess
    expect(schema).toBe(model);
    expect(checked).toEqual({ ok: false, problems: [{ pointer: '/a~1b', message: expect.any(String) }] });
  });
});
