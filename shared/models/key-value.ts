/**
 * The zod models of the key-value interface (Redis, DynamoDB, and later Memcached, etcd, Cloudflare KV,
 * Azure Tables): get, put with a condition and a time to live, delete, batches, a prefix listing with a
 * cursor, and an atomic counter. Values are JSON; limits are the tightest of the stores on the roadmap
 * (DynamoDB's 400 KB item and its batch sizes), so an input one store accepts every store accepts.
 * Input objects are strict: an unknown field is refused with a 400 naming it.
 */
import * as z from 'zod';
import { WellFormedText } from './paths.ts';

/** DynamoDB's sort key limit (1024 bytes) is the tightest key limit of the stores. */
export const MAX_KEY_BYTES = 1024;

/** A value's JSON text at most; DynamoDB's item limit is 400 KB including names and the key. */
export const MAX_VALUE_BYTES = 262_144;

/** DynamoDB's BatchGetItem takes at most 100 keys per request. */
export const MAX_BATCH_GET = 100;

/** DynamoDB's BatchWriteItem takes at most 25 items per request. */
export const MAX_BATCH_PUT = 25;

/** A listing page holds at most this many keys. */
export const MAX_LIST_LIMIT = 1_000;

/** Thirty years: any longer time to live is a mistake, and DynamoDB ignores expiry times five years past. */
export const MAX_TTL_SECONDS = 946_080_000;

/** JSON nesting deeper than DynamoDB's 32 levels is refused by it. */
const MAX_DEPTH = 30;

const CONTROL_CHARACTERS = /\p{Cc}/u;

const keyText = (what: string) =>
  WellFormedText.refine((value) => !CONTROL_CHARACTERS.test(value), 'expected no control characters').refine(
    (value) => Buffer.byteLength(value, 'utf8') <= MAX_KEY_BYTES,
    `expected at most ${MAX_KEY_BYTES} bytes of UTF-8 in a ${what}`,
  );

/** A key: 1-1024 bytes of well-formed UTF-8 without control characters. */
export const Key = keyText('key').min(1).describe('The key, e.g. "orders/2024/0042"');

/** A listing prefix: empty (every key) or the start of keys, under the key rules. */
export const KeyPrefix = keyText('prefix').describe('Only keys starting with this, e.g. "orders/2024/"');

function depth(value: unknown): number {
  if (Array.isArray(value)) return 1 + Math.max(0, ...value.map(depth));
  if (typeof value === 'object' && value !== null) return 1 + Math.max(0, ...Object.values(value).map(depth));
  return 0;
}

/** A JSON value of at most {@link MAX_VALUE_BYTES} as text and 30 levels deep. */
export const Value = z
  .json()
  .refine(
    (value) => Buffer.byteLength(JSON.stringify(value), 'utf8') <= MAX_VALUE_BYTES,
    `expected at most ${MAX_VALUE_BYTES} bytes of JSON`,
  )
  .refine((value) => depth(value) <= MAX_DEPTH, `expected at most ${MAX_DEPTH} levels of nesting`)
  .describe('Any JSON value: text, number, boolean, null, array or object, e.g. { "etag": "9b2cf535" }');
export type Value = z.infer<typeof Value>;

/** A version token; opaque, compared for equality only. */
export const Version = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\x21-\x7e]+$/, 'expected a version token as answered by get-value')
  .describe('Opaque version token of the stored value; it changes on every write');

const TtlSeconds = z
  .number()
  .int()
  .min(1)
  .max(MAX_TTL_SECONDS)
  .describe('Seconds until the value expires and reads no longer see it; without it the value never expires');

const ExpiresAt = z
  .string()
  .describe('When the value expires (ISO 8601), absent when it never does; stores count whole seconds');

/** One stored value with its version. */
export const Entry = z.object({
  key: z.string().describe('The key'),
  value: Value,
  version: z
    .string()
    .describe('Version token: pass it as `ifVersion` to write only if nothing changed since'),
  expiresAt: ExpiresAt.optional(),
});
export type Entry = z.infer<typeof Entry>;

/** Input of `get-value`. */
export const GetValueInput = z.strictObject({ key: Key });
export type GetValueInput = z.input<typeof GetValueInput>;

/** Output of `get-value`. */
export const GetValueOutput = Entry;
export type GetValueOutput = Entry;

const PutFields = {
  key: Key,
  value: Value,
  ttlSeconds: TtlSeconds.optional(),
};

/** Input of `put-value`. */
export const PutValueInput = z
  .strictObject({
    ...PutFields,
    onlyIfAbsent: z
      .boolean()
      .optional()
      .describe(
        'When true, fail with ConflictError (409) if the key holds a value (capability "conditional-writes")',
      ),
    ifVersion: Version.optional().describe(
      'Write only if the stored value still has this version, else ConflictError (409): compare-and-set (capability "conditional-writes")',
    ),
  })
  .superRefine((input, context) => {
    // One condition at a time: "absent" and "this version" cannot both hold.
    if (input.onlyIfAbsent === true && input.ifVersion !== undefined) {
      context.addIssue({
        code: 'custom',
        message: 'expected either onlyIfAbsent or ifVersion, not both',
        path: ['ifVersion'],
      });
    }
  });
export type PutValueInput = z.input<typeof PutValueInput>;

/** Output of `put-value`. */
export const PutValueOutput = z.object({
  key: z.string().describe('The key written'),
  version: z.string().describe('Version token of the value now stored'),
  expiresAt: ExpiresAt.optional(),
});
export type PutValueOutput = z.infer<typeof PutValueOutput>;

/** Input of `delete-value`. */
export const DeleteValueInput = z.strictObject({
  key: Key,
  ifVersion: Version.optional().describe(
    'Delete only if the stored value still has this version, else ConflictError (409) (capability "conditional-writes")',
  ),
});
export type DeleteValueInput = z.input<typeof DeleteValueInput>;

/** Output of `delete-value`. */
export const DeleteValueOutput = z.object({
  key: z.string().describe('The key'),
  deleted: z.boolean().describe('True when a value was removed, false when there was none (not an error)'),
});
export type DeleteValueOutput = z.infer<typeof DeleteValueOutput>;

const distinct = (keys: readonly string[]): boolean => new Set(keys).size === keys.length;

/** Input of `get-values`. */
export const GetValuesInput = z.strictObject({
  keys: z
    .array(Key)
    .min(1)
    .max(MAX_BATCH_GET)
    .refine(distinct, 'expected distinct keys')
    .describe(`Up to ${MAX_BATCH_GET} distinct keys to read at once`),
});
export type GetValuesInput = z.input<typeof GetValuesInput>;

/** Output of `get-values`. */
export const GetValuesOutput = z.object({
  items: z.array(Entry).describe('The values found, in the order of the keys asked for'),
  missing: z.array(z.string()).describe('The keys that hold no value, in the order asked for'),
});
export type GetValuesOutput = z.infer<typeof GetValuesOutput>;

/** Input of `put-values`. */
export const PutValuesInput = z.strictObject({
  items: z
    .array(z.strictObject(PutFields))
    .min(1)
    .max(MAX_BATCH_PUT)
    .refine((items) => distinct(items.map((item) => item.key)), 'expected distinct keys')
    .describe(`Up to ${MAX_BATCH_PUT} values to write at once, unconditionally`),
});
export type PutValuesInput = z.input<typeof PutValuesInput>;

/** Output of `put-values`. */
export const PutValuesOutput = z.object({
  items: z.array(PutValueOutput).describe('Each value written, in the order given'),
});
export type PutValuesOutput = z.infer<typeof PutValuesOutput>;

/** Input of `list-keys`. */
export const ListKeysInput = z.strictObject({
  prefix: KeyPrefix.default(''),
  limit: z
    .number()
    .int()
    .min(1)
    .max(MAX_LIST_LIMIT)
    .default(100)
    .describe('Keys per page at most; a page may hold fewer even when more follow'),
  cursor: WellFormedText.min(1)
    .max(4096)
    .optional()
    .describe('The `cursor` of the previous page, to continue the listing'),
});
export type ListKeysInput = z.input<typeof ListKeysInput>;

/** Output of `list-keys`. */
export const ListKeysOutput = z.object({
  keys: z.array(z.string()).describe('Keys under the prefix on this page'),
  cursor: z
    .string()
    .optional()
    .describe('Pass it back for the next page; absent when the listing is complete'),
});
export type ListKeysOutput = z.infer<typeof ListKeysOutput>;

/** Input of `increment-value`. */
export const IncrementValueInput = z.strictObject({
  key: Key,
  by: z
    .number()
    .int()
    .min(-Number.MAX_SAFE_INTEGER)
    .max(Number.MAX_SAFE_INTEGER)
    .default(1)
    .describe('Amount to add (negative to subtract); a missing key counts from 0'),
  ttlSeconds: TtlSeconds.optional().describe(
    'Sets the time to live when the increment creates the key; an existing key keeps its own',
  ),
});
export type IncrementValueInput = z.input<typeof IncrementValueInput>;

/** Output of `increment-value`. */
export const IncrementValueOutput = z.object({
  key: z.string().describe('The key'),
  value: z.number().int().describe('The value after the increment'),
  version: z.string().describe('Version token after the increment'),
});
export type IncrementValueOutput = z.infer<typeof IncrementValueOutput>;
