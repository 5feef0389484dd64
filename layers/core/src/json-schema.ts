/**
 * JSON Schema to zod, loaded on first use. The layer's zod leaves its JSON Schema conversion
 * (`z.fromJSONSchema`, about a third of the zod the core and connectors load) out of the file every cold
 * start loads: it sits in `zod/json-schema`, which this helper imports the first time a schema is
 * converted. Classes are shared, so the schema it answers works inside any `z.object`.
 */
import type * as z from 'zod';

type JsonSchema = Parameters<typeof import('zod').fromJSONSchema>[0];

let converter: Promise<typeof import('zod').fromJSONSchema> | undefined;

/**
 * The zod schema for a JSON Schema (draft 2020-12, draft 7 or OpenAPI 3.0), loading the converter on the
 * first call. A schema zod cannot read rejects with zod's own Error, whose message says why.
 *
 * @example
 * ```ts
 * const schema = await schemaFromJsonSchema({ type: 'object', required: ['id'] });
 * schema.safeParse({ id: 1 }).success; // true
 * ```
 */
export async function schemaFromJsonSchema(json: unknown): Promise<z.ZodType> {
  converter ??= import('./json-schema-zod.ts').then((module) => module.fromJSONSchema);
  const fromJSONSchema = await converter.catch((error: unknown) => {
    converter = undefined;
    throw error;
  });
  return fromJSONSchema(json as JsonSchema);
}
