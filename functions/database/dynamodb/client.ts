/**
 * The DynamoDB key-value store through the core's AWS kit: one SDK client from `createAwsClient`
 * (endpoint from `AWS_ENDPOINT_URL_DYNAMODB`, bounded timeouts and attempts, tracing when on) wrapped in
 * lib-dynamodb's document client, and every call through `awsCall` (the invocation's time budget as an
 * abort signal, failures mapped once with the rows in `errors.ts`). The only file that talks to AWS.
 *
 * Table layout: partition key `pk` is the key up to and including its first `/` (the whole key when it
 * has none), sort key `sk` the whole key, so the keys under a prefix with a `/` are one `Query`
 * (`begins_with(sk, :prefix)`) in key order. `v` holds the value as native DynamoDB types (a number is
 * `N`, so increments are an UpdateItem), `vint` is `true` when `v` is a safe integer (so an increment's
 * condition can refuse anything else without writing: a condition expression cannot test a number for
 * being whole), `ver` a fresh random version token per write, and the TTL attribute
 * (`DYNAMODB_TTL_ATTRIBUTE`, epoch seconds) the expiry. DynamoDB deletes expired items only
 * within days, so every read, condition and listing treats an expired item as absent.
 */
import { createHash, randomBytes } from 'node:crypto';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import {
  awsCall,
  backoffDelayMs,
  ConflictError,
  createAwsClient,
  NotFoundError,
  parseInput,
  RateLimitedError,
  remainingTimeMs,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import * as z from 'zod';
import { canonicalDecimal, holdsExactly } from '#shared/data/decimal.ts';
import type { KeyValueCapability, KeyValueStore } from '#shared/interfaces/key-value.ts';
import {
  DeleteValueInput,
  type DeleteValueOutput,
  type Entry,
  GetValueInput,
  type GetValueOutput,
  GetValuesInput,
  type GetValuesOutput,
  IncrementValueInput,
  type IncrementValueOutput,
  ListKeysInput,
  type ListKeysOutput,
  MAX_KEY_BYTES,
  PutValueInput,
  type PutValueOutput,
  PutValuesInput,
  type PutValuesOutput,
  type Value,
} from '#shared/models/key-value.ts';
import { DYNAMODB_ERRORS, dynamodbTarget, INCREMENT_ERRORS } from './errors.ts';

/** DynamoDB offers every optional ability of the key-value interface. */
export const DYNAMODB_CAPABILITIES: readonly KeyValueCapability[] = [
  'ttl',
  'conditional-writes',
  'increment',
  'prefix-list',
];

/** What the client needs from the settings. */
export interface DynamodbOptions {
  table: string;
  /** Name of the table's TTL attribute (epoch seconds). */
  ttlAttribute: string;
  /** One call's budget including the SDK's retries; the invocation's time left may cut it shorter. */
  timeoutMs: number;
  maxAttempts: number;
}

/** Unprocessed batch items are retried after a jittered wait, never longer than this. */
const BATCH_BACKOFF = { baseDelayMs: 50, maxDelayMs: 1_000 };
/** A listing page stops after this many Scan calls when matches are sparse. */
const MAX_SCANS_PER_PAGE = 20;
/** What a batch retry must leave of the invocation to be worth starting. */
const RETRY_RESERVE_MS = 300;
/** Rounds of an increment whose item keeps changing between its read and its conditional write. */
const INCREMENT_ATTEMPTS = 5;

const Cursor = z.strictObject({
  m: z.enum(['q', 's']),
  k: z.strictObject({ pk: z.string(), sk: z.string() }),
  p: z.string().regex(/^[0-9a-f]{16}$/),
});
type Cursor = z.infer<typeof Cursor>;

type Item = Record<string, unknown>;

const newVersion = (): string => randomBytes(12).toString('base64url');
const prefixDigest = (prefix: string): string =>
  createHash('sha256').update(prefix).digest('hex').slice(0, 16);
const nowSeconds = (): number => Math.floor(Date.now() / 1000);
/** The expiry of a TTL starting now, rounded up to the next whole second: never early. */
const expiryOf = (ttlSeconds: number): number => Math.ceil(Date.now() / 1000) + ttlSeconds;
const isoOf = (seconds: number): string => new Date(seconds * 1000).toISOString();

/** The partition of a key: up to and including its first `/`, or the whole key. */
export function partitionOf(key: string): string {
  const slash = key.indexOf('/');
  return slash === -1 ? key : key.slice(0, slash + 1);
}

const keyOf = (key: string): { pk: string; sk: string } => ({ pk: partitionOf(key), sk: key });

function badCursor(): ValidationError {
  return new ValidationError('cursor is not one this listing issued', [
    { pointer: '/cursor', message: 'expected the cursor of the previous page of the same prefix' },
  ]);
}

/**
 * Whether a cursor's start key is one DynamoDB takes for this listing: a key this connector writes (its
 * sort key 1 to 1,024 bytes of UTF-8, its partition key the sort key's partition, so within DynamoDB's
 * 1,024-byte sort and 2,048-byte partition key limits), and a Query's lies in the prefix's partition,
 * under the prefix (a Scan's is any such key). An edited cursor that breaks this would otherwise be
 * DynamoDB's ValidationException, a 502.
 */
function startsInside(cursor: Cursor, prefix: string): boolean {
  const { pk, sk } = cursor.k;
  if (sk === '' || Buffer.byteLength(sk, 'utf8') > MAX_KEY_BYTES || pk !== partitionOf(sk)) return false;
  return cursor.m === 's' || (pk === partitionOf(prefix) && sk.startsWith(prefix));
}

/** DynamoDB's ConditionalCheckFailedException (as the AWS kit mapped it): nothing was written. */
const isConditionFailure = (error: unknown): boolean =>
  error instanceof ConflictError && error.details?.['awsError'] === 'ConditionalCheckFailedException';

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The JSON pointer of the first number DynamoDB cannot store (magnitudes from 1E-130 up to, not
 * including, 1E+126, and 0), or undefined. A JSON number outside that range is valid input to the
 * interface, so it is refused here by name instead of as DynamoDB's ValidationException.
 */
function unstorableNumberAt(value: unknown, pointer: string): string | undefined {
  if (typeof value === 'number') {
    const magnitude = Math.abs(value);
    return magnitude !== 0 && (magnitude >= 1e126 || magnitude < 1e-130) ? pointer : undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  for (const [name, item] of Object.entries(value)) {
    const at = unstorableNumberAt(item, `${pointer}/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`);
    if (at !== undefined) return at;
  }
  return undefined;
}

/**
 * A number DynamoDB holds (38 significant digits) that no JSON number (a double) holds exactly, e.g. an
 * integer beyond 2^53 another writer stored: answered as its exact decimal text, never rounded.
 */
class WideNumber {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/** DynamoDB's text of a number: a JS number when one holds it exactly, a {@link WideNumber} otherwise. */
function readNumber(text: string): number | WideNumber {
  const number = Number(text);
  return holdsExactly(number, text) ? number : new WideNumber(text);
}

/** A value as read, each {@link WideNumber} in it as its exact text. */
function exactValue(value: unknown): unknown {
  if (value instanceof WideNumber) return value.text;
  if (Array.isArray(value)) return value.map(exactValue);
  if (typeof value !== 'object' || value === null) return value;
  return Object.fromEntries(Object.entries(value).map(([name, item]) => [name, exactValue(item)]));
}

/** DynamoDB's item size limit: 400 KB, counted as its item sizes and formats page says. */
const MAX_ITEM_BYTES = 409_600;

/**
 * The size of a value as DynamoDB counts it toward an item (AWS's "DynamoDB item sizes and formats"): text
 * its UTF-8 bytes, a number one byte per two significant digits plus one (plus one more here: the page
 * calls it approximate), null and booleans one, a list or map 3 bytes plus 1 per element plus its
 * elements (and a map its names). A value within the interface's 256 KiB of JSON can still exceed 400 KB
 * this way (a list of empty lists is 3 bytes of JSON per element but 4 in DynamoDB).
 */
function dynamodbSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'number') {
    const digits = Math.abs(value).toExponential().split('e')[0]?.replace('.', '') ?? '';
    return 2 + Math.ceil(digits.length / 2);
  }
  if (typeof value !== 'object' || value === null) return 1;
  let size = 3;
  for (const [name, item] of Object.entries(value)) {
    size += 1 + dynamodbSize(item) + (Array.isArray(value) ? 0 : Buffer.byteLength(name, 'utf8'));
  }
  return size;
}

/**
 * The key-value interface on one DynamoDB table.
 *
 * @example
 * ```ts
 * const store = await DynamodbKeyValueStore.create({ table: 'kv', ttlAttribute: 'expiresAt', timeoutMs: 5_000, maxAttempts: 3 });
 * await store.putValue({ key: 'copies/report.csv', value: { etag: '9b2cf535' }, onlyIfAbsent: true });
 * ```
 */
export class DynamodbKeyValueStore implements KeyValueStore {
  readonly capabilities: ReadonlySet<KeyValueCapability> = new Set(DYNAMODB_CAPABILITIES);
  readonly #sdk: DynamoDBClient;
  readonly #doc: DynamoDBDocumentClient;
  readonly #options: DynamodbOptions;

  constructor(sdk: DynamoDBClient, options: DynamodbOptions) {
    this.#sdk = sdk;
    this.#doc = DynamoDBDocumentClient.from(sdk, {
      marshallOptions: { removeUndefinedValues: true, allowImpreciseNumbers: true },
      // Values were JSON numbers (doubles) when written: read them back as such, beyond the safe integers too
      // (the SDK otherwise throws on any number above 2^53, e.g. 1e20); one no double holds exactly (another
      // writer's 38 digits) as its exact text.
      unmarshallOptions: { wrapNumbers: readNumber },
    });
    this.#options = options;
  }

  /** Builds the SDK client the kit's way (traced when tracing is on). */
  static async create(options: DynamodbOptions): Promise<DynamodbKeyValueStore> {
    const sdk = await createAwsClient(DynamoDBClient, 'dynamodb', {
      connectionTimeoutMs: Math.min(options.timeoutMs, 3_000),
      requestTimeoutMs: options.timeoutMs,
      maxAttempts: options.maxAttempts,
    });
    return new DynamodbKeyValueStore(sdk, options);
  }

  async getValue(raw: GetValueInput): Promise<GetValueOutput> {
    const { key } = parseInput(GetValueInput, raw);
    const { Item: item } = await this.#call('GetItem', (abortSignal) =>
      this.#doc.send(
        new GetCommand({ TableName: this.#options.table, Key: keyOf(key), ConsistentRead: true }),
        {
          abortSignal,
        },
      ),
    );
    const entry = item === undefined ? undefined : this.#entry(item);
    if (entry === undefined) throw new NotFoundError('No value under the key (GetItem)');
    return entry;
  }

  async putValue(raw: PutValueInput): Promise<PutValueOutput> {
    const input = parseInput(PutValueInput, raw);
    const ttl = this.#options.ttlAttribute;
    const condition =
      input.onlyIfAbsent === true
        ? {
            ConditionExpression: 'attribute_not_exists(pk) OR #ttl <= :now',
            values: { ':now': nowSeconds() },
          }
        : input.ifVersion === undefined
          ? undefined
          : {
              ConditionExpression: 'ver = :expected AND (attribute_not_exists(#ttl) OR #ttl > :now)',
              values: { ':expected': input.ifVersion, ':now': nowSeconds() },
            };
    const { item, output } = this.#itemOf(input.key, input.value, input.ttlSeconds, '/value');
    await this.#call('PutItem', (abortSignal) =>
      this.#doc.send(
        new PutCommand({
          TableName: this.#options.table,
          Item: item,
          ...(condition === undefined
            ? {}
            : {
                ConditionExpression: condition.ConditionExpression,
                ExpressionAttributeNames: { '#ttl': ttl },
                ExpressionAttributeValues: condition.values,
              }),
        }),
        { abortSignal },
      ),
    );
    return output;
  }

  async deleteValue(raw: DeleteValueInput): Promise<DeleteValueOutput> {
    const input = parseInput(DeleteValueInput, raw);
    const { Attributes: old } = await this.#call('DeleteItem', (abortSignal) =>
      this.#doc.send(
        new DeleteCommand({
          TableName: this.#options.table,
          Key: keyOf(input.key),
          ReturnValues: 'ALL_OLD',
          ...(input.ifVersion === undefined
            ? {}
            : {
                ConditionExpression: 'ver = :expected AND (attribute_not_exists(#ttl) OR #ttl > :now)',
                ExpressionAttributeNames: { '#ttl': this.#options.ttlAttribute },
                ExpressionAttributeValues: { ':expected': input.ifVersion, ':now': nowSeconds() },
              }),
        }),
        { abortSignal },
      ),
    );
    return { key: input.key, deleted: old !== undefined && !this.#expired(old) };
  }

  async getValues(raw: GetValuesInput): Promise<GetValuesOutput> {
    const { keys } = parseInput(GetValuesInput, raw);
    const table = this.#options.table;
    const found = new Map<string, Entry>();
    let pending: Item[] = keys.map(keyOf);
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt > 0) await this.#backOff(attempt, 'BatchGetItem', pending.length);
      const request = { [table]: { Keys: pending, ConsistentRead: true } };
      const answer = await this.#call('BatchGetItem', (abortSignal) =>
        this.#doc.send(new BatchGetCommand({ RequestItems: request }), { abortSignal }),
      );
      for (const item of answer.Responses?.[table] ?? []) {
        const entry = this.#entry(item);
        if (entry !== undefined) found.set(entry.key, entry);
      }
      pending = answer.UnprocessedKeys?.[table]?.Keys ?? [];
    }
    return {
      items: keys.flatMap((key) => {
        const entry = found.get(key);
        return entry === undefined ? [] : [entry];
      }),
      missing: keys.filter((key) => !found.has(key)),
    };
  }

  async putValues(raw: PutValuesInput): Promise<PutValuesOutput> {
    const { items } = parseInput(PutValuesInput, raw);
    const table = this.#options.table;
    const written = items.map((item, index) =>
      this.#itemOf(item.key, item.value, item.ttlSeconds, `/items/${index}/value`),
    );
    let pending = written.map(({ item }) => ({ PutRequest: { Item: item } }));
    for (let attempt = 0; pending.length > 0; attempt += 1) {
      if (attempt > 0) await this.#backOff(attempt, 'BatchWriteItem', pending.length);
      const answer = await this.#call('BatchWriteItem', (abortSignal) =>
        this.#doc.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }), { abortSignal }),
      );
      pending = (answer.UnprocessedItems?.[table] ?? []).flatMap((request) =>
        request.PutRequest?.Item === undefined ? [] : [{ PutRequest: { Item: request.PutRequest.Item } }],
      );
    }
    return { items: written.map(({ output }) => output) };
  }

  async listKeys(raw: ListKeysInput): Promise<ListKeysOutput> {
    const input = parseInput(ListKeysInput, raw);
    const digest = prefixDigest(input.prefix);
    const mode = input.prefix.includes('/') ? 'q' : 's';
    let start = input.cursor === undefined ? undefined : this.#readCursor(input.cursor);
    if (
      start !== undefined &&
      (start.p !== digest || start.m !== mode || !startsInside(start, input.prefix))
    ) {
      throw badCursor();
    }
    const keys: string[] = [];
    for (let calls = 0; calls < (mode === 'q' ? 1 : MAX_SCANS_PER_PAGE); calls += 1) {
      const answer = await this.#listPage(mode, input.prefix, input.limit - keys.length, start?.k);
      for (const item of answer.Items ?? []) {
        if (typeof item['sk'] === 'string') keys.push(item['sk']);
      }
      const last = answer.LastEvaluatedKey;
      if (last === undefined) return { keys };
      start = { m: mode, k: { pk: String(last['pk']), sk: String(last['sk']) }, p: digest };
      if (keys.length > 0) break;
    }
    return { keys, ...(start === undefined ? {} : { cursor: this.#writeCursor(start) }) };
  }

  /** One Query (a prefix within one partition) or Scan (across partitions) page of live keys. */
  #listPage(
    mode: 'q' | 's',
    prefix: string,
    limit: number,
    startKey: Cursor['k'] | undefined,
  ): Promise<{ Items?: Item[] | undefined; LastEvaluatedKey?: Item | undefined }> {
    const live = 'attribute_not_exists(#ttl) OR #ttl > :now';
    const page = {
      TableName: this.#options.table,
      Limit: limit,
      ProjectionExpression: 'sk',
      ConsistentRead: true,
      ExpressionAttributeNames: { '#ttl': this.#options.ttlAttribute },
      ...(startKey === undefined ? {} : { ExclusiveStartKey: startKey }),
    };
    const values = { ':prefix': prefix, ':now': nowSeconds() };
    if (mode === 'q') {
      const query = new QueryCommand({
        ...page,
        KeyConditionExpression: 'pk = :pk AND begins_with(sk, :prefix)',
        FilterExpression: live,
        ExpressionAttributeValues: { ...values, ':pk': partitionOf(prefix) },
      });
      return this.#call('Query', (abortSignal) => this.#doc.send(query, { abortSignal }));
    }
    const scan = new ScanCommand({
      ...page,
      FilterExpression: `begins_with(sk, :prefix) AND (${live})`,
      ExpressionAttributeValues: values,
    });
    return this.#call('Scan', (abortSignal) => this.#doc.send(scan, { abortSignal }));
  }

  /**
   * One conditional UpdateItem when the item is absent or marked as a safe integer (`vint`) far enough
   * from ±(2^53 - 1); otherwise the condition fails and nothing is written, and {@link #incrementSlowly}
   * reads the item to say why (or to count on from an item without the mark, or an expired one).
   */
  async incrementValue(raw: IncrementValueInput): Promise<IncrementValueOutput> {
    const input = parseInput(IncrementValueInput, raw);
    const ttl = input.ttlSeconds === undefined ? undefined : expiryOf(input.ttlSeconds);
    const fast = await this.#add(input.key, input.by, ttl, undefined);
    return fast ?? this.#incrementSlowly(input.key, input.by, ttl);
  }

  /**
   * After the fast path's condition failed: reads the item and refuses (409) a value that is not a number,
   * not an integer or too close to ±(2^53 - 1), writing nothing; replaces an expired item; adds to an
   * integer without the `vint` mark (written before 1.0.1) only if its version is still the one read. A
   * write that finds the item changed starts again with the fast path, a bounded number of times.
   */
  async #incrementSlowly(key: string, by: number, ttl: number | undefined): Promise<IncrementValueOutput> {
    for (let attempt = 1; attempt <= INCREMENT_ATTEMPTS; attempt += 1) {
      if (attempt > 1) {
        const fast = await this.#add(key, by, ttl, undefined);
        if (fast !== undefined) return fast;
      }
      const { Item: item } = await this.#call('GetItem', (abortSignal) =>
        this.#doc.send(
          new GetCommand({ TableName: this.#options.table, Key: keyOf(key), ConsistentRead: true }),
          { abortSignal },
        ),
      );
      // Deleted since the update: the next attempt creates it.
      if (item === undefined) continue;
      const entry = this.#entry(item);
      if (entry === undefined) {
        // The item expired but is not swept yet: the counter starts again from `by`, as on a missing key.
        const version = newVersion();
        if (await this.#putExpired(key, by, version, ttl)) return { key, value: by, version };
        continue;
      }
      this.#refuseIncrement(item['v'], by);
      const counted = await this.#add(key, by, ttl, entry.version);
      if (counted !== undefined) return counted;
    }
    throw new ConflictError(
      `the item in table ${this.#options.table} changed during each of ${INCREMENT_ATTEMPTS} attempts at the increment; try again`,
    );
  }

  /** Throws the 409 for a value the increment may not add `by` to; returns for a safe integer result. */
  #refuseIncrement(value: unknown, by: number): void {
    const item = `the item in table ${this.#options.table}`;
    const wide = value instanceof WideNumber ? canonicalDecimal(value.text) : undefined;
    if (typeof value !== 'number' && wide === undefined) {
      throw new ConflictError(`${item} holds a value that is not a number`);
    }
    if (wide?.includes('e-') || (typeof value === 'number' && !Number.isInteger(value))) {
      throw new ConflictError(
        `${item} holds a number that is not an integer (increment-value adds only to integers)`,
      );
    }
    if (
      typeof value !== 'number' ||
      !Number.isSafeInteger(value) ||
      Math.abs(value + by) > Number.MAX_SAFE_INTEGER
    ) {
      throw new ConflictError(
        `${item} holds an integer the increment would take beyond ±${Number.MAX_SAFE_INTEGER} (2^53 - 1)`,
      );
    }
  }

  /**
   * One UpdateItem adding `by`: with `seen`, only while the item's version is `seen` (an integer checked
   * by the caller); without, only while it is absent or marked a safe integer that stays one. Answers
   * undefined when the condition failed (nothing written); every other failure throws.
   */
  async #add(
    key: string,
    by: number,
    ttl: number | undefined,
    seen: string | undefined,
  ): Promise<IncrementValueOutput | undefined> {
    const version = newVersion();
    const live = '(attribute_not_exists(#ttl) OR #ttl > :now)';
    // v + by stays within ±(2^53 - 1): one bound, exact as a double since both are safe integers.
    const [within, limit] =
      by >= 0
        ? ['v <= :limit', Number.MAX_SAFE_INTEGER - by]
        : ['v >= :limit', -Number.MAX_SAFE_INTEGER - by];
    try {
      const { Attributes: updated } = await this.#call(
        'UpdateItem',
        (abortSignal) =>
          this.#doc.send(
            new UpdateCommand({
              TableName: this.#options.table,
              Key: keyOf(key),
              UpdateExpression: `SET v = if_not_exists(v, :zero) + :by, ver = :ver, vint = :true${ttl === undefined ? '' : ', #ttl = if_not_exists(#ttl, :exp)'}`,
              ConditionExpression:
                seen === undefined
                  ? `${live} AND (attribute_not_exists(v) OR (vint = :true AND ${within}))`
                  : `${live} AND ver = :seen`,
              ExpressionAttributeNames: { '#ttl': this.#options.ttlAttribute },
              ExpressionAttributeValues: {
                ':zero': 0,
                ':by': by,
                ':ver': version,
                ':true': true,
                ':now': nowSeconds(),
                ...(seen === undefined ? { ':limit': limit } : { ':seen': seen }),
                ...(ttl === undefined ? {} : { ':exp': ttl }),
              },
              ReturnValues: 'UPDATED_NEW',
            }),
            { abortSignal },
          ),
        INCREMENT_ERRORS,
      );
      const value = updated?.['v'];
      if (typeof value !== 'number')
        throw new UnexpectedResponseError('DynamoDB UpdateItem answered no number');
      return { key, value, version };
    } catch (error) {
      if (isConditionFailure(error)) return undefined;
      throw error;
    }
  }

  /** Proves the credentials, the endpoint and the table for `health`. */
  async ping(): Promise<void> {
    const command = new DescribeTableCommand({ TableName: this.#options.table });
    await this.#call('DescribeTable', (abortSignal) => this.#sdk.send(command, { abortSignal }));
  }

  /** Replaces an expired item with a new counter, only while it is still expired; false when it is not. */
  async #putExpired(key: string, value: number, version: string, ttl: number | undefined): Promise<boolean> {
    try {
      await this.#call('PutItem', (abortSignal) =>
        this.#doc.send(
          new PutCommand({
            TableName: this.#options.table,
            Item: {
              ...keyOf(key),
              v: value,
              vint: true,
              ver: version,
              ...(ttl === undefined ? {} : { [this.#options.ttlAttribute]: ttl }),
            },
            ConditionExpression: '#ttl <= :now',
            ExpressionAttributeNames: { '#ttl': this.#options.ttlAttribute },
            ExpressionAttributeValues: { ':now': nowSeconds() },
          }),
          { abortSignal },
        ),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  #itemOf(
    key: string,
    value: Value,
    ttlSeconds: number | undefined,
    pointer: string,
  ): { item: Item; output: PutValueOutput } {
    const unstorable = unstorableNumberAt(value, pointer);
    if (unstorable !== undefined) {
      throw new ValidationError('value holds a number DynamoDB cannot store', [
        { pointer: unstorable, message: 'expected 0 or a magnitude from 1e-130 up to, not including, 1e126' },
      ]);
    }
    const version = newVersion();
    const expires = ttlSeconds === undefined ? undefined : expiryOf(ttlSeconds);
    const item: Item = {
      ...keyOf(key),
      v: value,
      ...(Number.isSafeInteger(value) ? { vint: true } : {}),
      ver: version,
      ...(expires === undefined ? {} : { [this.#options.ttlAttribute]: expires }),
    };
    const size = Object.entries(item).reduce(
      (total, [name, attribute]) => total + Buffer.byteLength(name, 'utf8') + dynamodbSize(attribute),
      0,
    );
    if (size > MAX_ITEM_BYTES) {
      throw new ValidationError('value is too large for a DynamoDB item', [
        {
          pointer,
          message: `expected at most 400 KB as a DynamoDB item (about ${size} bytes: each list or map adds 3 bytes, each element 1)`,
        },
      ]);
    }
    return {
      item,
      output: { key, version, ...(expires === undefined ? {} : { expiresAt: isoOf(expires) }) },
    };
  }

  #expired(item: Item): boolean {
    const expires = item[this.#options.ttlAttribute];
    return typeof expires === 'number' && expires <= nowSeconds();
  }

  #entry(item: Item): Entry | undefined {
    if (this.#expired(item)) return undefined;
    const { sk, ver } = item;
    if (typeof sk !== 'string' || typeof ver !== 'string' || !('v' in item)) {
      throw new UnexpectedResponseError(
        'DynamoDB answered an item this connector did not write (no sk, v or ver)',
      );
    }
    const expires = item[this.#options.ttlAttribute];
    return {
      key: sk,
      value: exactValue(item['v']) as Value,
      version: ver,
      ...(typeof expires === 'number' ? { expiresAt: isoOf(expires) } : {}),
    };
  }

  /** Waits before retrying unprocessed batch items, or fails when the invocation has no time left for it. */
  async #backOff(attempt: number, action: string, left: number): Promise<void> {
    const delay = backoffDelayMs(attempt, BATCH_BACKOFF);
    if (remainingTimeMs() - delay < RETRY_RESERVE_MS) {
      throw new RateLimitedError(
        `DynamoDB ${action} left ${left} items unprocessed (throughput exceeded) and the invocation has no time left to retry them`,
      );
    }
    await sleep(delay);
  }

  #readCursor(text: string): Cursor {
    try {
      return Cursor.parse(JSON.parse(Buffer.from(text, 'base64url').toString('utf8')));
    } catch {
      throw badCursor();
    }
  }

  #writeCursor(cursor: Cursor): string {
    return Buffer.from(JSON.stringify(cursor)).toString('base64url');
  }

  #call<T>(
    action: string,
    send: (abortSignal: AbortSignal) => Promise<T>,
    rows = DYNAMODB_ERRORS,
  ): Promise<T> {
    return awsCall(
      { ...dynamodbTarget(action, this.#options.table, rows), timeoutMs: this.#options.timeoutMs },
      send,
    );
  }
}
