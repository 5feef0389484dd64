import { describe, expect, it } from 'vitest';
import * as z from 'zod';
import { SchemaComponents, standaloneSchema } from '../../scripts/docs/json-schema.ts';

const Value: z.ZodType = z.lazy(() => z.union([z.string(), z.array(Value)]));

describe('Class: SchemaComponents', () => {
  describe('Method: add', () => {
    it('lifts a recursive definition into a component, shared by every schema that carries it', () => {
      // Prepare
      const components = new SchemaComponents();

      // Act
      components.add('AInput', z.object({ value: Value }), 'input');
      components.add('BInput', z.object({ value: Value }), 'input');

      // Assess
      const all = components.sorted();
      expect(Object.keys(all)).toEqual(['AInput', 'AInput_schema0', 'BInput']);
      expect(all['BInput']).toMatchObject({
        properties: { value: { $ref: '#/components/schemas/AInput_schema0' } },
      });
      expect(JSON.stringify(all)).not.toContain('$defs');
    });

    it('renames metadata that is no JSON Schema keyword to an x- extension, but never a property name', () => {
      // Prepare
      const components = new SchemaComponents();
      const schema = z.object({ format: z.string().meta({ pathKind: 'object-key' }).describe('A key') });

      // Act
      components.add('KeyInput', schema, 'input');

      // Assess
      expect(components.get('KeyInput')).toMatchObject({
        properties: { format: { type: 'string', description: 'A key', 'x-pathKind': 'object-key' } },
      });
    });

    it('takes the input or the output side of a schema with a default', () => {
      // Prepare
      const components = new SchemaComponents();
      const schema = z.object({ limit: z.number().default(10) });

      // Act
      components.add('In', schema, 'input');
      components.add('Out', schema, 'output');

      // Assess
      expect(components.get('In')?.['required']).toBeUndefined();
      expect(components.get('Out')?.['required']).toEqual(['limit']);
    });

    it('refuses two schemas of one name', () => {
      // Prepare
      const components = new SchemaComponents();
      components.add('Same', z.object({}), 'input');

      // Act + Assess
      expect(() => components.add('Same', z.object({}), 'output')).toThrow('Two schemas are named "Same"');
    });
  });
});

describe('Function: standaloneSchema', () => {
  it('keeps local definitions and drops the dialect line', () => {
    // Act
    const schema = standaloneSchema(z.object({ value: Value }), 'input');

    // Assess
    expect(schema['$schema']).toBeUndefined();
    expect(schema['$defs']).toBeDefined();
  });
});
