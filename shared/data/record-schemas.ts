/**
 * The schema records are checked against on either side of a transform: JSON Schema given in the request
 * (turned into zod with zod's own `z.fromJSONSchema`, which the core's `schemaFromJsonSchema` loads on first
 * use) or a model named from a registry of zod schemas. A
 * record that fails is reported with its index and the first problems, as JSON pointers into the record.
 */
import { schemaFromJsonSchema, ValidationError } from '@circle-core/core';
import * as z from 'zod';

/** The largest JSON Schema accepted in a request, as JSON bytes. */
export const MAX_JSON_SCHEMA_BYTES = 65_536;

/** How a request names a record schema: JSON Schema inline, or a registered model by name. */
export const RecordSchemaSpec = z
  .union([
    z.strictObject({
      jsonSchema: z
        .record(z.string(), z.unknown())
        .describe(
          'A JSON Schema (draft 2020-12 or 7) each record must match, e.g. {"type": "object", "required": ["id"]}',
        ),
    }),
    z.strictObject({
      model: z
        .string()
        .regex(/^[a-z][a-z0-9-]*(?:\.v\d+)?$/, 'expected a model name such as "order.v1"')
        .describe('A model the connector registers by name, e.g. "order.v1"'),
    }),
  ])
  .describe('A record schema: `{ "jsonSchema": {...} }` or `{ "model": "order.v1" }`');
export type RecordSchemaSpec = z.output<typeof RecordSchemaSpec>;

/** Named record models: name -> zod schema. */
export type RecordModels = Readonly<Record<string, z.ZodType>>;

/**
 * The zod schema a spec names; an unknown model or a JSON Schema zod cannot read is a ValidationError
 * naming the field (`pointer`).
 *
 * @example
 * ```ts
 * const schema = await resolveRecordSchema({ jsonSchema: { type: 'object', required: ['id'] } }, {}, '/inputSchema');
 * ```
 */
export async function resolveRecordSchema(
  spec: RecordSchemaSpec,
  models: RecordModels,
  pointer: string,
): Promise<z.ZodType> {
  if ('model' in spec) {
    const model = Object.hasOwn(models, spec.model) ? models[spec.model] : undefined;
    if (model === undefined) {
      const known = Object.keys(models).join(', ') || 'none';
      throw new ValidationError(`Unknown record model "${spec.model}" (known: ${known})`, [
        { pointer: `${pointer}/model`, message: `unknown model; known: ${known}` },
      ]);
    }
    return model;
  }
  const bytes = Buffer.byteLength(JSON.stringify(spec.jsonSchema));
  if (bytes > MAX_JSON_SCHEMA_BYTES) {
    throw new ValidationError(`The JSON Schema is ${bytes} bytes, over ${MAX_JSON_SCHEMA_BYTES}`, [
      { pointer: `${pointer}/jsonSchema`, message: `at most ${MAX_JSON_SCHEMA_BYTES} bytes of JSON` },
    ]);
  }
  try {
    return await schemaFromJsonSchema(spec.jsonSchema);
  } catch (error) {
    const reason = error instanceof Error ? error.message.slice(0, 300) : 'unreadable';
    throw new ValidationError(`The JSON Schema cannot be used: ${reason}`, [
      { pointer: `${pointer}/jsonSchema`, message: reason },
    ]);
  }
}

/** One record that failed its schema, with the first problems. */
export interface RecordProblem {
  /** JSON pointer into the record (`/total`), `''` for the record itself. */
  pointer: string;
  message: string;
}

/**
 * Checks one record; answers the parsed value (defaults applied) or the first few problems.
 *
 * @example
 * ```ts
 * const checked = checkRecord(schema, { id: 'x' }); // { ok: false, problems: [{ pointer: '/id', message: ... }] }
 * ```
 */
export function checkRecord(
  schema: z.ZodType,
  record: unknown,
): { ok: true; value: unknown } | { ok: false; problems: RecordProblem[] } {
  const result = schema.safeParse(record);
  if (result.success) return { ok: true, value: result.data };
  const problems = result.error.issues.slice(0, 5).map((issue) => ({
    pointer: issue.path
      .map((segment) => `/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`)
      .join(''),
    message: issue.message.slice(0, 200),
  }));
  return { ok: false, problems };
}
