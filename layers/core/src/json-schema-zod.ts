/**
 * zod's JSON Schema conversion, loaded on first use by {@link ./json-schema.ts}. In the layer this import
 * reads `zod/json-schema`, the layer's zod's second file (scripts/lib/bundle.ts, zodJsonSchemaImport), so
 * the converter's code is compiled only by the functions that convert; from source it is zod itself.
 */
export { fromJSONSchema } from 'zod';
