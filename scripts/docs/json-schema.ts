/**
 * Zod schemas as JSON Schema draft 2020-12 (the dialect OpenAPI 3.1 uses), through zod's own
 * `z.toJSONSchema`, made fit to sit inside a bigger document: local `$defs` are lifted out so references
 * can point into `components/schemas`, and zod metadata that is not a JSON Schema keyword becomes an
 * `x-` extension.
 */
import * as z from 'zod';

export type JsonSchema = { [keyword: string]: unknown };

/** Keywords whose value is a schema. */
const SCHEMA_KEYWORDS = new Set([
  'items',
  'contains',
  'additionalProperties',
  'propertyNames',
  'if',
  'then',
  'else',
  'not',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contentSchema',
]);
/** Keywords whose value is a list of schemas. */
const SCHEMA_LIST_KEYWORDS = new Set(['prefixItems', 'allOf', 'anyOf', 'oneOf']);
/** Keywords whose value maps names to schemas. */
const SCHEMA_MAP_KEYWORDS = new Set(['properties', 'patternProperties', 'dependentSchemas', '$defs']);
/** Every other keyword of draft 2020-12 and of OpenAPI 3.1's schema object, kept as they are. */
const PLAIN_KEYWORDS = new Set([
  '$schema',
  '$id',
  '$ref',
  '$anchor',
  '$dynamicRef',
  '$dynamicAnchor',
  '$vocabulary',
  '$comment',
  'type',
  'enum',
  'const',
  'multipleOf',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'maxContains',
  'minContains',
  'maxProperties',
  'minProperties',
  'required',
  'dependentRequired',
  'title',
  'description',
  'default',
  'deprecated',
  'readOnly',
  'writeOnly',
  'examples',
  'format',
  'contentEncoding',
  'contentMediaType',
  'discriminator',
  'xml',
  'externalDocs',
  'example',
]);

/**
 * Walks a schema: references are rewritten by `ref`, unknown keywords (zod `.meta()` fields such as
 * `pathKind`) become `x-` extensions, so a strict OpenAPI reader does not take them for typos.
 */
function normalise(schema: unknown, ref: (target: string) => string): unknown {
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) return schema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key === '$ref' && typeof value === 'string') out[key] = ref(value);
    else if (SCHEMA_KEYWORDS.has(key)) out[key] = normalise(value, ref);
    else if (SCHEMA_LIST_KEYWORDS.has(key) && Array.isArray(value)) {
      out[key] = value.map((item) => normalise(item, ref));
    } else if (SCHEMA_MAP_KEYWORDS.has(key) && typeof value === 'object' && value !== null) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, item]) => [name, normalise(item, ref)]),
      );
    } else if (PLAIN_KEYWORDS.has(key) || key.startsWith('x-')) out[key] = value;
    else out[`x-${key}`] = value;
  }
  return out;
}

/**
 * Collects schemas for `components/schemas`: each added schema gets the name asked for, and the local
 * definitions zod emits for recursive schemas (`$defs/__schema0`) become components of their own,
 * shared when two schemas carry the same definitions.
 *
 * @example
 * ```ts
 * const components = new SchemaComponents();
 * const ref = components.add('S3PutObjectInput', PutObjectInput, 'input'); // '#/components/schemas/S3PutObjectInput'
 * const document = { components: { schemas: components.sorted() } };
 * ```
 */
export class SchemaComponents {
  readonly #schemas = new Map<string, JsonSchema>();
  /** Raw `$defs` (as zod wrote them) -> the component names they were given. */
  readonly #lifted = new Map<string, Map<string, string>>();

  /** Converts `schema` (`io`: the shape a caller sends, or the shape it receives) and names it. */
  add(name: string, schema: z.ZodType, io: 'input' | 'output'): string {
    this.#claim(name);
    const {
      $schema: _dialect,
      $defs,
      ...body
    } = z.toJSONSchema(schema, {
      target: 'draft-2020-12',
      io,
      unrepresentable: 'throw',
    }) as JsonSchema;
    const names = this.#lift(name, $defs);
    this.#schemas.set(name, normalise(body, liftedRef(name, names)) as JsonSchema);
    return componentRef(name);
  }

  /** Adds a schema already in JSON Schema form (no local definitions). */
  addJson(name: string, schema: JsonSchema): string {
    this.#claim(name);
    this.#schemas.set(name, normalise(schema, (target) => target) as JsonSchema);
    return componentRef(name);
  }

  /** The converted schema of a component, for tables that list its fields. */
  get(name: string): JsonSchema | undefined {
    return this.#schemas.get(name);
  }

  /** Every component, sorted by name (the order of a map carries no meaning). */
  sorted(): Record<string, JsonSchema> {
    return Object.fromEntries([...this.#schemas.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  #claim(name: string): void {
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new Error(`Component name "${name}" is not allowed`);
    if (this.#schemas.has(name)) throw new Error(`Two schemas are named "${name}"`);
  }

  #lift(owner: string, defs: unknown): Map<string, string> {
    if (typeof defs !== 'object' || defs === null) return new Map();
    const key = JSON.stringify(defs);
    const known = this.#lifted.get(key);
    if (known !== undefined) return known;
    const names = new Map<string, string>();
    for (const local of Object.keys(defs)) {
      // zod names anonymous definitions `__schema0`; one with a registry id keeps it, prefixed only on a clash.
      const wanted = local.startsWith('__') ? `${owner}_${local.replace(/^_+/, '')}` : local;
      names.set(local, this.#schemas.has(wanted) ? `${owner}_${local}` : wanted);
    }
    for (const [local, def] of Object.entries(defs)) {
      const name = names.get(local) as string;
      this.#claim(name);
      this.#schemas.set(name, normalise(def, liftedRef(owner, names)) as JsonSchema);
    }
    this.#lifted.set(key, names);
    return names;
  }
}

function componentRef(name: string): string {
  return `#/components/schemas/${name}`;
}

/** Rewrites `#/$defs/<local>` to the component the definition was lifted to. */
function liftedRef(owner: string, names: ReadonlyMap<string, string>): (target: string) => string {
  return (target) => {
    const local = /^#\/\$defs\/(.+)$/.exec(target)?.[1];
    const lifted = local === undefined ? undefined : names.get(local);
    if (lifted === undefined) throw new Error(`${owner}: cannot place reference ${target}`);
    return componentRef(lifted);
  };
}

/**
 * A zod schema as plain JSON Schema for a reader that takes one self-contained schema (an MCP tool's
 * input): local `$defs` stay where zod put them, extensions are renamed as in the OpenAPI documents.
 *
 * @example
 * ```ts
 * const inputSchema = standaloneSchema(PutObjectInput, 'input'); // { type: 'object', properties: ... }
 * ```
 */
export function standaloneSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _dialect, ...body } = z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'throw',
  }) as JsonSchema;
  return normalise(body, (target) => target) as JsonSchema;
}
