/**
 * The independent OpenAPI check the docs suites share: ReadMe's `@readme/openapi-parser`, which validates
 * a document against the OpenAPI 3.1 schema, resolves every `$ref` and applies its own rules (unique
 * operation ids, path parameters, security schemes).
 */
import { validate } from '@readme/openapi-parser';

/**
 * Validates an OpenAPI document; answers the problems found, none when it is valid.
 *
 * @example
 * ```ts
 * expect(await openApiProblems(document)).toEqual([]);
 * ```
 */
export async function openApiProblems(document: unknown): Promise<string[]> {
  // The parser dereferences in place: hand it a copy so the caller's document stays as it was.
  const result = await validate(structuredClone(document) as Parameters<typeof validate>[0]);
  if (result.valid) return result.warnings.map((warning) => `warning: ${warning.message}`);
  return result.errors.map((error) => error.message);
}
