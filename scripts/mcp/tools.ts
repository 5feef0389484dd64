/**
 * The MCP tools: one per connector operation (and one health check per connector), named like the
 * OpenAPI operation ids, described by the operation's description and taking its input JSON Schema.
 */
import type { ConnectorEntry } from '../docs/catalog.ts';
import { type JsonSchema, standaloneSchema } from '../docs/json-schema.ts';
import { operationId } from '../docs/openapi.ts';

/** The tool argument that becomes the `Idempotency-Key` header of a write (never sent in the body). */
export const IDEMPOTENCY_ARGUMENT = 'idempotencyKey';

/** One tool and the HTTP call it makes. */
export interface ToolSpec {
  /** `s3_put_object` */
  readonly name: string;
  readonly description: string;
  readonly inputSchema: JsonSchema & { type: 'object' };
  readonly connector: string;
  readonly operation: string;
  readonly method: 'GET' | 'POST';
  /** `/s3/put-object` */
  readonly path: string;
  readonly effect: 'read' | 'write';
  /** Whether `idempotencyKey` was added to the input schema (a write whose input has no such field). */
  readonly takesIdempotencyKey: boolean;
}

/** A write's schema plus the optional `idempotencyKey`, unless its input already has a field of that name. */
function withIdempotencyKey(schema: JsonSchema): { schema: JsonSchema; added: boolean } {
  const properties = (schema['properties'] ?? {}) as Record<string, unknown>;
  if (IDEMPOTENCY_ARGUMENT in properties) return { schema, added: false };
  return {
    added: true,
    schema: {
      ...schema,
      properties: {
        ...properties,
        [IDEMPOTENCY_ARGUMENT]: {
          type: 'string',
          minLength: 1,
          maxLength: 256,
          description:
            'Sent as the Idempotency-Key header, not as input: calling again with the same key answers the ' +
            'stored result instead of writing twice (where the stage keeps idempotency records). A new key ' +
            'is generated when absent.',
        },
      },
    },
  };
}

/**
 * Every operation of every connector as an MCP tool, plus `<connector>_health`.
 *
 * @example
 * ```ts
 * const tools = buildTools(await loadCatalog(root)); // [{ name: 'github_create_issue', ... }, ...]
 * ```
 */
export function buildTools(connectors: readonly ConnectorEntry[]): ToolSpec[] {
  const tools: ToolSpec[] = [];
  for (const connector of connectors) {
    for (const operation of connector.operations) {
      const input = standaloneSchema(operation.input, 'input');
      if (input['type'] !== 'object') {
        throw new Error(
          `${connector.name} ${operation.name}: an MCP tool input must be a JSON object schema`,
        );
      }
      const write = operation.effect === 'write';
      const { schema, added } = write ? withIdempotencyKey(input) : { schema: input, added: false };
      tools.push({
        name: operationId(connector.name, operation.name),
        description: `${operation.description} (${connector.name} ${operation.name}; ${
          write ? 'writes: changes something at the provider' : 'reads only'
        })`,
        inputSchema: schema as ToolSpec['inputSchema'],
        connector: connector.name,
        operation: operation.name,
        method: 'POST',
        path: `/${connector.name}/${operation.name}`,
        effect: operation.effect,
        takesIdempotencyKey: added,
      });
    }
    tools.push({
      name: operationId(connector.name, 'health'),
      description: `Checks the ${connector.name} connector: config, setup (secrets) and a cheap provider call`,
      inputSchema: { type: 'object', properties: {}, additionalProperties: false },
      connector: connector.name,
      operation: 'health',
      method: 'GET',
      path: `/${connector.name}/health`,
      effect: 'read',
      takesIdempotencyKey: false,
    });
  }
  return tools;
}
