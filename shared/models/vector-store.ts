/**
 * The zod models of the vector-store interface (pgvector, Qdrant, Pinecone): collections with a dimension
 * and a distance metric, batched upserts with flat metadata (text, numbers, booleans and lists of text, the
 * types Pinecone allows), top-k queries with a metadata filter, deletes
 * by id or by filter, all within a namespace. Limits are the tightest of the three stores, so an input one
 * store accepts every store accepts. Input objects are strict: an unknown field is a 400 naming it.
 *
 * Reads are wider than writes: what a query or fetch returns is the metadata as the store holds it, any
 * JSON value per field ({@link StoredMetadata}), because a Qdrant collection or a pgvector table may have
 * been written by another tool (LangChain nests `loc: { lines: { from, to } }`; others write `null`, lists
 * of numbers, mixed lists). Pinecone itself only holds the flat types. Upserts and filters keep the flat
 * rules, so the connectors never write what Pinecone would refuse.
 *
 * The filter language is Pinecone's MongoDB-like subset, which maps one to one onto Qdrant's
 * `must`/`should`/`must_not` conditions and onto SQL over a `jsonb` column:
 * `{ "genre": "drama", "year": { "$gte": 2020 }, "$or": [{ "lang": { "$in": ["en", "fr"] } }, ...] }`.
 * Keys of one object are all required (and); `$ne` and `$nin` also match records without the field.
 *
 * On a field holding a list of text the conditions follow Pinecone's filter language: a condition holds when
 * any element satisfies it, so `{ "tags": "a" }` and `$eq` match a list that contains "a", `$in` one that
 * contains any of the values; `$ne` and `$nin` match a list that contains none of them; a range
 * (`$gt`, `$gte`, `$lt`, `$lte`, numbers only in Pinecone) never matches a list. Filter values stay scalars
 * (`{ "tags": ["a"] }` is refused, as Pinecone refuses it).
 */
import * as z from 'zod';

/** Pinecone's index names (lowercase letters, digits, hyphens; 45 at most) fit every store. */
export const COLLECTION_NAME = /^[a-z][a-z0-9-]{0,44}$/;

/** pgvector's `vector` type holds at most 16,000 dimensions. */
export const MAX_DIMENSION = 16_000;

/** Vectors per upsert or fetch, and ids per delete (Pinecone advises 100 records per upsert request). */
export const MAX_BATCH = 100;

/** Results per query at most (Pinecone's `topK` limit with metadata is 1,000; kept lower for Lambda payloads). */
export const MAX_TOP_K = 100;

/** A record's metadata as JSON text at most (Pinecone's limit is 40 KB per record). */
export const MAX_METADATA_BYTES = 40_000;

/** Conditions of one filter at most, counted over every nested level. */
export const MAX_FILTER_CONDITIONS = 50;

export const Collection = z
  .string()
  .regex(COLLECTION_NAME, 'expected 1-45 lowercase letters, digits or hyphens, starting with a letter')
  .describe(
    'The collection (a table for pgvector, a collection for Qdrant, an index for Pinecone), e.g. "docs"',
  );

export const Namespace = z
  .string()
  .max(64)
  .regex(/^[A-Za-z0-9_.:-]*$/, 'expected letters, digits and _ . : - only')
  .describe('A partition of the collection; "" (the default) is the default namespace, e.g. "tenant-42"');

export const Metric = z
  .enum(['cosine', 'euclidean', 'dot'])
  .describe(
    'Distance metric: cosine (score = cosine similarity), dot (score = dot product), euclidean (score = distance, lower is closer)',
  );

export const VectorId = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[^\p{Cc}]+$/u, 'expected no control characters')
  .describe('The record id, unique within its namespace, e.g. "doc-42#chunk-3"');

/** A metadata field name: plain words, so it is a JSON key, a Qdrant payload key and a Pinecone field alike. */
export const FieldName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'expected a letter then letters, digits or _ (64 at most)');

/** Text of a metadata value or of a list element at most. */
export const MAX_METADATA_TEXT = 4_096;

/** Elements of a list-of-text metadata value at most. */
export const MAX_METADATA_LIST = 64;

const Scalar = z.union([z.string().max(MAX_METADATA_TEXT), z.number(), z.boolean()]);

/** A metadata value: text, a number, a boolean, or a list of text (Pinecone's "list of strings"). */
export const MetadataValue = z.union([
  z.string().max(MAX_METADATA_TEXT),
  z.number(),
  z.boolean(),
  z.array(z.string().max(MAX_METADATA_TEXT)).max(MAX_METADATA_LIST),
]);
export type MetadataValue = z.output<typeof MetadataValue>;

export const Metadata = z
  .record(FieldName, MetadataValue)
  .refine(
    (value) => Buffer.byteLength(JSON.stringify(value), 'utf8') <= MAX_METADATA_BYTES,
    `expected at most ${MAX_METADATA_BYTES} bytes of metadata JSON`,
  )
  .describe(
    `Flat metadata: field -> text, number, boolean or a list of at most ${MAX_METADATA_LIST} texts, e.g. { "source": "handbook.pdf", "page": 3, "tags": ["hr", "leave"] }`,
  );

/**
 * A metadata value as a store answers it: any JSON value (text, number, boolean, null, a list of anything, a
 * nested object), since another tool may have written the record. What the connectors write stays
 * {@link MetadataValue}.
 */
export const StoredMetadataValue = z.json();
export type StoredMetadataValue = z.output<typeof StoredMetadataValue>;

/** Metadata as the stores answer it: any JSON value, under any field name another writer may have used. */
export const StoredMetadata = z.record(z.string(), StoredMetadataValue);
export type StoredMetadata = z.output<typeof StoredMetadata>;

/**
 * The largest finite float32. Every store keeps 32-bit floats (pgvector's `vector`, Qdrant, Pinecone): a
 * larger number is refused by pgvector, stored as 0 by Qdrant and makes Pinecone's scores overflow, so the
 * model refuses it for every store.
 */
export const MAX_FLOAT32 = 3.4028234663852886e38;

export const Values = z
  .array(
    z
      .number()
      .refine(Number.isFinite, 'expected a finite number')
      // A refine, not a bound: the JSON Schema (the versioned contract) stays as it was.
      .refine(
        (x) => !Number.isFinite(x) || Math.abs(x) <= MAX_FLOAT32,
        `expected a number within float32 range (magnitude at most ${MAX_FLOAT32})`,
      ),
  )
  .min(1)
  .max(MAX_DIMENSION)
  // Pinecone refuses all-zero dense vectors, and a zero vector has no cosine similarity (pgvector answers NaN).
  .refine((values) => values.some((x) => x !== 0), 'expected at least one number that is not 0')
  .describe('The vector, as many numbers as the collection has dimensions, not all 0');

/** One field condition: a value (equals) or one operator object; on a list field, see the module comment. */
export type FieldCondition =
  | string
  | number
  | boolean
  | { $eq: string | number | boolean }
  | { $ne: string | number | boolean }
  | { $in: (string | number)[] }
  | { $nin: (string | number)[] }
  | { $gt?: number; $gte?: number; $lt?: number; $lte?: number };

/** A filter: field conditions and `$and`/`$or` lists, all of an object's keys required. */
export type VectorFilter = { $and?: VectorFilter[]; $or?: VectorFilter[] } & {
  [field: string]: FieldCondition | VectorFilter[] | undefined;
};

const InList = z
  .array(z.union([z.string().max(4_096), z.number()]))
  .min(1)
  .max(100);
const Range = z
  .strictObject({ $gt: z.number(), $gte: z.number(), $lt: z.number(), $lte: z.number() })
  .partial()
  .refine((range) => Object.keys(range).length > 0, 'expected at least one of $gt, $gte, $lt, $lte');
const Condition = z.union([
  Scalar,
  z.strictObject({ $eq: Scalar }),
  z.strictObject({ $ne: Scalar }),
  z.strictObject({ $in: InList }),
  z.strictObject({ $nin: InList }),
  Range,
]);

function countConditions(filter: VectorFilter): number {
  return Object.entries(filter).reduce(
    (sum, [key, value]) =>
      sum +
      (key === '$and' || key === '$or'
        ? (value as VectorFilter[]).reduce((n, f) => n + countConditions(f), 0)
        : 1),
    0,
  );
}

/** One key of a filter object checked: `$and`/`$or` lists, or a field name and its condition. */
function checkEntry(key: string, condition: unknown): z.ZodSafeParseResult<unknown> | undefined {
  if (key === '$and' || key === '$or') return z.array(FilterObject).min(1).max(20).safeParse(condition);
  return FieldName.safeParse(key).success ? Condition.safeParse(condition) : undefined;
}

const FilterObject: z.ZodType<VectorFilter> = z.lazy(
  () =>
    z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
      for (const [key, condition] of Object.entries(value)) {
        const parsed = checkEntry(key, condition);
        if (parsed === undefined) {
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: 'expected a metadata field name, $and or $or',
          });
          continue;
        }
        for (const issue of parsed.error?.issues ?? []) {
          ctx.addIssue({ code: 'custom', path: [key, ...issue.path], message: issue.message });
        }
      }
      if (Object.keys(value).length === 0)
        ctx.addIssue({ code: 'custom', message: 'expected at least one condition' });
    }) as unknown as z.ZodType<VectorFilter>,
);

export const Filter = FilterObject.refine(
  (filter) => countConditions(filter) <= MAX_FILTER_CONDITIONS,
  `expected at most ${MAX_FILTER_CONDITIONS} conditions`,
).describe(
  'Metadata filter: { field: value } or { field: { $eq | $ne | $in | $nin | $gt | $gte | $lt | $lte } }, combined with $and / $or, e.g. { "source": "handbook.pdf", "page": { "$lte": 10 } }; on a list field $eq/$in match when it contains the value (any of them), $ne/$nin when it contains none, ranges never',
);

export const VectorRecord = z.strictObject({
  id: VectorId,
  values: Values,
  metadata: Metadata.optional(),
});
export type VectorRecord = z.output<typeof VectorRecord>;

export const CreateCollectionInput = z.strictObject({
  collection: Collection,
  dimension: z.number().int().min(1).max(MAX_DIMENSION).describe('Numbers per vector, e.g. 1536'),
  metric: Metric.default('cosine'),
});
export type CreateCollectionInput = z.input<typeof CreateCollectionInput>;

export const CollectionDescription = z.strictObject({
  collection: Collection,
  dimension: z.number().int().describe('Numbers per vector'),
  metric: Metric,
  vectorCount: z.number().int().describe('Records stored, over every namespace'),
});

export const CreateCollectionOutput = CollectionDescription.extend({
  created: z.boolean().describe('false when the collection already existed with this dimension and metric'),
});
export type CreateCollectionOutput = z.output<typeof CreateCollectionOutput>;

export const DescribeCollectionInput = z.strictObject({ collection: Collection });
export type DescribeCollectionInput = z.input<typeof DescribeCollectionInput>;
export const DescribeCollectionOutput = CollectionDescription;
export type DescribeCollectionOutput = z.output<typeof DescribeCollectionOutput>;

export const DeleteCollectionInput = z.strictObject({ collection: Collection });
export type DeleteCollectionInput = z.input<typeof DeleteCollectionInput>;
export const DeleteCollectionOutput = z.strictObject({
  deleted: z.boolean().describe('false when there was no such collection'),
});
export type DeleteCollectionOutput = z.output<typeof DeleteCollectionOutput>;

export const UpsertVectorsInput = z.strictObject({
  collection: Collection,
  namespace: Namespace.default(''),
  vectors: z
    .array(VectorRecord)
    .min(1)
    .max(MAX_BATCH)
    .refine((list) => new Set(list.map((v) => v.id)).size === list.length, 'expected each id once')
    .describe(`Up to ${MAX_BATCH} records; an existing id is replaced (values and metadata)`),
});
export type UpsertVectorsInput = z.input<typeof UpsertVectorsInput>;
export const UpsertVectorsOutput = z.strictObject({
  upserted: z.number().int().describe('Records written'),
});
export type UpsertVectorsOutput = z.output<typeof UpsertVectorsOutput>;

export const QueryVectorsInput = z.strictObject({
  collection: Collection,
  namespace: Namespace.default(''),
  vector: Values,
  topK: z.number().int().min(1).max(MAX_TOP_K).default(10).describe('Closest records to return'),
  filter: Filter.optional(),
  includeValues: z.boolean().default(false).describe("Return each match's vector too"),
});
export type QueryVectorsInput = z.input<typeof QueryVectorsInput>;

export const VectorMatch = z.strictObject({
  id: VectorId,
  score: z.number().describe('Similarity (cosine, dot) or distance (euclidean)'),
  metadata: StoredMetadata.describe(
    "The record's metadata as the store holds it ({} when it has none): what this interface writes is flat, but a record another tool wrote may hold any JSON value per field (nested objects, null, lists of numbers)",
  ),
  values: z.array(z.number()).optional().describe('The vector, when includeValues was set'),
});
export const QueryVectorsOutput = z.strictObject({
  matches: z.array(VectorMatch).describe('Closest first'),
});
export type QueryVectorsOutput = z.output<typeof QueryVectorsOutput>;

export const FetchVectorsInput = z.strictObject({
  collection: Collection,
  namespace: Namespace.default(''),
  ids: z.array(VectorId).min(1).max(MAX_BATCH).describe('Ids to read'),
});
export type FetchVectorsInput = z.input<typeof FetchVectorsInput>;
export const FetchVectorsOutput = z.strictObject({
  vectors: z
    .array(
      z.strictObject({
        id: VectorId,
        values: z.array(z.number()),
        metadata: StoredMetadata.describe(
          "The record's metadata as the store holds it ({} when it has none), any JSON value per field",
        ),
      }),
    )
    .describe('The records found, in the order asked'),
  missing: z.array(VectorId).describe('Ids with no record'),
});
export type FetchVectorsOutput = z.output<typeof FetchVectorsOutput>;

export const DeleteVectorsInput = z
  .strictObject({
    collection: Collection,
    namespace: Namespace.default(''),
    ids: z.array(VectorId).min(1).max(MAX_BATCH).optional().describe('Ids to delete'),
    filter: Filter.optional().describe('Delete every record of the namespace matching this filter'),
  })
  .refine((input) => (input.ids === undefined) !== (input.filter === undefined), {
    message: 'expected exactly one of ids and filter',
    path: ['ids'],
  });
export type DeleteVectorsInput = z.input<typeof DeleteVectorsInput>;
export const DeleteVectorsOutput = z.strictObject({
  deleted: z
    .number()
    .int()
    .nullable()
    .describe('Records deleted, or null where the store does not say (Qdrant, Pinecone)'),
});
export type DeleteVectorsOutput = z.output<typeof DeleteVectorsOutput>;
