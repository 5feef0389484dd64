/**
 * The statements of the pgvector connector. Identifiers it writes (schema, collection table) are validated
 * by their models and quoted; the dimension is a validated integer (a type modifier cannot be bound); the
 * metric picks from a fixed table; every value, metadata field name included, is a bound parameter.
 */
import type { FieldCondition, VectorFilter } from '#shared/models/vector-store.ts';

export type Metric = 'cosine' | 'euclidean' | 'dot';

/** Marks the `embedding` column of a table this connector made, with its metric. */
export const MARKER_PREFIX = 'circle-core vector collection, metric=';

/** pgvector's distance operators and the score each metric reports (higher or lower is closer). */
export const METRIC_SQL: Record<Metric, { operator: string; score: (vector: string) => string }> = {
  cosine: { operator: '<=>', score: (v) => `1 - (embedding <=> ${v})` },
  dot: { operator: '<#>', score: (v) => `-(embedding <#> ${v})` },
  euclidean: { operator: '<->', score: (v) => `embedding <-> ${v}` },
};

/** A quoted identifier; the models already restrict names, quoting makes `docs-v2` a valid table name. */
export function quoteIdentifier(name: string): string {
  if (name.length === 0 || name.length > 63 || name.includes('\u0000')) throw new Error('bad identifier');
  return `"${name.replaceAll('"', '""')}"`;
}

/** `"schema"."collection"` */
export function tableName(schema: string, collection: string): string {
  return `${quoteIdentifier(schema)}.${quoteIdentifier(collection)}`;
}

/** A vector as pgvector's text input, `[1,0.5,-2]`, bound as a parameter and cast. */
export function vectorText(values: readonly number[]): string {
  return `[${values.join(',')}]`;
}

export const DESCRIBE_SQL = `select a.atttypmod as dimension, t.typname as type, col_description(c.oid, a.attnum) as marker
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
left join pg_attribute a on a.attrelid = c.oid and a.attname = 'embedding' and not a.attisdropped
left join pg_type t on t.oid = a.atttypid
where n.nspname = $1 and c.relname = $2 and c.relkind in ('r', 'p', 'v', 'm', 'f')`;

export const HAS_EXTENSION_SQL = "select 1 from pg_extension where extname = 'vector'";

export function createTableSql(table: string, dimension: number): string {
  if (!Number.isInteger(dimension) || dimension < 1 || dimension > 16_000) throw new Error('bad dimension');
  return `create table ${table} (
  namespace text not null,
  id text not null,
  embedding vector(${dimension}) not null,
  metadata jsonb not null default '{}'::jsonb,
  primary key (namespace, id)
)`;
}

export function markSql(table: string, metric: Metric): string {
  // COMMENT takes no parameters; the text comes from the fixed metric table, never from input.
  const known = (Object.keys(METRIC_SQL) as Metric[]).find((name) => name === metric);
  if (known === undefined) throw new Error('bad metric');
  return `comment on column ${table}.embedding is '${MARKER_PREFIX}${known}'`;
}

export function upsertSql(table: string): string {
  return `insert into ${table} (namespace, id, embedding, metadata)
select $1::text, u.id, u.embedding::vector, u.metadata::jsonb
from unnest($2::text[], $3::text[], $4::text[]) as u(id, embedding, metadata)
on conflict (namespace, id) do update set embedding = excluded.embedding, metadata = excluded.metadata`;
}

/** A WHERE fragment and its parameters, numbered after those already taken. */
export interface Fragment {
  sql: string;
  params: unknown[];
}

/**
 * Translates a filter into SQL over the `metadata` jsonb column. Equality is jsonb containment (so
 * 2020 equals 2020.0 and text never equals a number); ranges only match numbers; `$ne` and `$nin` match
 * records without the field, as Qdrant and Pinecone do. On a field holding a list (a jsonb array) a
 * condition holds when any element satisfies it, as in Pinecone: `$eq` and `$in` match a list containing
 * the value (any of them), `$ne` and `$nin` one containing none, a range never matches. Every value and
 * field name is a bound parameter; the SQL text is built from the filter's shape only.
 *
 * @example
 * ```ts
 * filterSql({ genre: 'drama', year: { $gte: 2020 } }, 2); // { sql: '((metadata @> $3::jsonb or ...) and ...)', params: [...] }
 * ```
 */
export function filterSql(filter: VectorFilter, taken: number): Fragment {
  const params: unknown[] = [];
  const bind = (value: unknown): string => {
    params.push(value);
    return `$${taken + params.length}`;
  };
  const build = (node: VectorFilter): string => {
    const parts = Object.entries(node).map(([key, value]) => {
      if (key === '$and' || key === '$or') {
        const inner = (value as VectorFilter[]).map(build);
        return `(${inner.join(key === '$and' ? ' and ' : ' or ')})`;
      }
      return condition(key, value as FieldCondition);
    });
    return `(${parts.join(' and ')})`;
  };
  const condition = (field: string, value: FieldCondition): string => {
    // The value itself, or a list holding it: `{"tags":["a","b"]} @> {"tags":["a"]}`. Never null.
    const contains = (v: unknown) =>
      `(metadata @> ${bind(JSON.stringify({ [field]: v }))}::jsonb or metadata @> ${bind(JSON.stringify({ [field]: [v] }))}::jsonb)`;
    // The value is one of the list's, or (a list) holds one of them. Coalesced: a missing field is false, not null.
    const inList = (list: unknown[]) => {
      const values = bind(JSON.stringify(list));
      const found = `metadata -> ${bind(field)}::text`;
      return `coalesce(${values}::jsonb @> jsonb_build_array(${found}) or (jsonb_typeof(${found}) = 'array' and exists (select 1 from jsonb_array_elements(${found}) as element(value) where ${values}::jsonb @> jsonb_build_array(element.value))), false)`;
    };
    if (typeof value !== 'object') return contains(value);
    if ('$eq' in value) return contains(value.$eq);
    if ('$ne' in value) return `not ${contains(value.$ne)}`;
    if ('$in' in value) return inList(value.$in);
    if ('$nin' in value) return `not ${inList(value.$nin)}`;
    const ops = { $gt: '>', $gte: '>=', $lt: '<', $lte: '<=' } as const;
    const checks = (Object.keys(ops) as (keyof typeof ops)[])
      .filter((op) => value[op] !== undefined)
      .map((op) => `(metadata ->> ${bind(field)}::text)::float8 ${ops[op]} ${bind(value[op])}::float8`);
    // A list, text or boolean is never in a range.
    return `(case when jsonb_typeof(metadata -> ${bind(field)}::text) = 'number' then ${checks.join(' and ')} else false end)`;
  };
  return { sql: build(filter), params };
}
