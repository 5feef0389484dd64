/**
 * The Redis key-value store: every operation one unit of work on the reused connection, each write one Lua
 * script so its condition, version and expiry change together, bounded by the invocation's time left, its
 * failure mapped once (`errors.ts`). The only file the operations call.
 *
 * A value lives in a hash under `<REDIS_KEY_PREFIX><key>`: field `v` holds its JSON text, field `ver` its
 * version token (a fresh random token per write, so a key deleted and written again never repeats a
 * version). Expiry is the key's own (`EXPIREAT`, read back with `EXPIRETIME`, Redis 7+).
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  ConflictError,
  callBudget,
  defineSecret,
  NotFoundError,
  parseInput,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import { ErrorReply } from '@redis/client';
import * as z from 'zod';
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
  PutValueInput,
  type PutValueOutput,
  PutValuesInput,
  type PutValuesOutput,
} from '#shared/models/key-value.ts';
import { RedisConnection, type RedisSession } from './connection.ts';
import { toRedisError } from './errors.ts';

/** Redis offers every optional ability of the key-value interface. */
export const REDIS_CAPABILITIES: readonly KeyValueCapability[] = [
  'ttl',
  'conditional-writes',
  'increment',
  'prefix-list',
];

export interface RedisStoreOptions {
  host: string;
  port: number;
  tls: boolean;
  /** Name or ARN of the secret holding `{ username?, password }`; absent: no AUTH. */
  secretName?: string;
  database: number;
  /** Prefix of every key, e.g. `circle-core:dev:`. */
  keyPrefix: string;
  secretMaxAgeSeconds: number;
  connectTimeoutMs: number;
  /** One command's own bound; the invocation's time left may cut it shorter. */
  timeoutMs: number;
}

/** Seconds since the epoch at which a TTL started now ends, rounded up so it never ends early. */
const EXPIRY = `
local function expire_at(key, ttl)
  local now = redis.call('TIME')
  local at = tonumber(now[1]) + tonumber(ttl)
  if tonumber(now[2]) > 0 then at = at + 1 end
  redis.call('EXPIREAT', key, at)
end`;

/** KEYS[1]; ARGV: json, version, ttl ('' none), condition ('', 'absent', 'version'), expected version. */
const PUT = `${EXPIRY}
local key = KEYS[1]
if ARGV[4] == 'absent' then
  if redis.call('EXISTS', key) == 1 then return {0} end
elseif ARGV[4] == 'version' then
  if redis.call('HGET', key, 'ver') ~= ARGV[5] then return {0} end
end
redis.call('DEL', key)
redis.call('HSET', key, 'v', ARGV[1], 'ver', ARGV[2])
if ARGV[3] ~= '' then expire_at(key, ARGV[3]) end
return {1, redis.call('EXPIRETIME', key)}`;

/** KEYS[1] -> false, or {json, version, expire time (-1 none)}. */
const GET = `
local found = redis.call('HMGET', KEYS[1], 'v', 'ver')
if not found[1] or not found[2] then return false end
return {found[1], found[2], redis.call('EXPIRETIME', KEYS[1])}`;

/** KEYS[1]; ARGV[1] expected version ('' any) -> 1 deleted, 0 none, -1 other version. */
const DELETE = `
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'ver') ~= ARGV[1] then return -1 end
return redis.call('DEL', KEYS[1])`;

/** KEYS[1]; ARGV: by, version, ttl for a new key ('' none) -> the new value. */
const INCREMENT = `${EXPIRY}
local key = KEYS[1]
local existed = redis.call('EXISTS', key)
local current = '0'
if existed == 1 then
  current = redis.call('HGET', key, 'v')
  if not current or not string.match(current, '^-?%d+$') then
    return redis.error_reply('NOTINTEGER the value is not an integer')
  end
end
-- Lua numbers are doubles: exact within ±(2^53 - 1), and a value or a sum beyond it never rounds back inside.
local limit = 9007199254740991
if math.abs(tonumber(current)) > limit or math.abs(tonumber(current) + tonumber(ARGV[1])) > limit then
  return redis.error_reply('NOTSAFE the increment would take the value beyond ±9007199254740991 (2^53 - 1)')
end
local value = redis.call('HINCRBY', key, 'v', ARGV[1])
redis.call('HSET', key, 'ver', ARGV[2])
if existed == 0 and ARGV[3] ~= '' then expire_at(key, ARGV[3]) end
return value`;

interface Script {
  source: string;
  sha: string;
}

const script = (source: string): Script => ({ source, sha: createHash('sha1').update(source).digest('hex') });
const SCRIPTS = { put: script(PUT), get: script(GET), delete: script(DELETE), increment: script(INCREMENT) };

/** How many SCAN calls one page may take when matches are sparse, before it answers an empty page. */
const MAX_SCANS_PER_PAGE = 20;

/** A listing cursor: where SCAN stands, how many keys of that SCAN batch were already answered, and the prefix's digest. */
const Cursor = z.strictObject({
  s: z.string().regex(/^\d{1,20}$/),
  o: z.number().int().min(0),
  p: z.string().regex(/^[0-9a-f]{16}$/),
});
type Cursor = z.infer<typeof Cursor>;

const prefixDigest = (prefix: string): string =>
  createHash('sha256').update(prefix).digest('hex').slice(0, 16);

const newVersion = (): string => randomBytes(12).toString('base64url');

const expiresAt = (seconds: unknown): string | undefined =>
  typeof seconds === 'number' && seconds > 0 ? new Date(seconds * 1000).toISOString() : undefined;

/** Escapes SCAN MATCH's glob characters so a prefix matches literally. */
const globEscape = (text: string): string => text.replace(/[*?[\]\\^-]/g, (character) => `\\${character}`);

function badCursor(): ValidationError {
  return new ValidationError('cursor is not one this listing issued', [
    { pointer: '/cursor', message: 'expected the cursor of the previous page of the same prefix' },
  ]);
}

/**
 * The key-value interface on one Redis server (Redis 7+, Valkey, ElastiCache, MemoryDB).
 *
 * @example
 * ```ts
 * const store = RedisKeyValueStore.create({ host: '127.0.0.1', port: 6379, tls: false, database: 0,
 *   keyPrefix: 'circle-core:dev:', secretMaxAgeSeconds: 300, connectTimeoutMs: 5_000, timeoutMs: 5_000 });
 * await store.putValue({ key: 'greeting', value: 'hello', ttlSeconds: 60 });
 * ```
 */
export class RedisKeyValueStore implements KeyValueStore {
  readonly capabilities: ReadonlySet<KeyValueCapability> = new Set(REDIS_CAPABILITIES);
  readonly #connection: RedisConnection;
  readonly #options: RedisStoreOptions;

  constructor(connection: RedisConnection, options: RedisStoreOptions) {
    this.#connection = connection;
    this.#options = options;
  }

  /** Builds the store; nothing connects until the first call. */
  static create(options: RedisStoreOptions): RedisKeyValueStore {
    const credentials =
      options.secretName === undefined
        ? undefined
        : defineSecret(options.secretName, { maxAgeSeconds: options.secretMaxAgeSeconds });
    const connection = new RedisConnection({
      host: options.host,
      port: options.port,
      tls: options.tls,
      database: options.database,
      credentials,
      connectTimeoutMs: options.connectTimeoutMs,
    });
    return new RedisKeyValueStore(connection, options);
  }

  async getValue(raw: GetValueInput): Promise<GetValueOutput> {
    const { key } = parseInput(GetValueInput, raw);
    const entry = await this.#run('get', 'read', (redis) => this.#get(redis, key));
    if (entry === undefined) throw new NotFoundError(`No value under the key (get)`);
    return entry;
  }

  async putValue(raw: PutValueInput): Promise<PutValueOutput> {
    const input = parseInput(PutValueInput, raw);
    const condition = input.onlyIfAbsent === true ? 'absent' : input.ifVersion === undefined ? '' : 'version';
    return this.#run('put', 'write', (redis) =>
      this.#put(redis, input.key, JSON.stringify(input.value), input.ttlSeconds, condition, input.ifVersion),
    );
  }

  async deleteValue(raw: DeleteValueInput): Promise<DeleteValueOutput> {
    const input = parseInput(DeleteValueInput, raw);
    const outcome = await this.#run('delete', 'write', (redis) =>
      this.#eval(redis, SCRIPTS.delete, input.key, [input.ifVersion ?? '']),
    );
    if (outcome === -1) throw new ConflictError('The value has another version than ifVersion (delete)');
    return { key: input.key, deleted: outcome === 1 };
  }

  async getValues(raw: GetValuesInput): Promise<GetValuesOutput> {
    const { keys } = parseInput(GetValuesInput, raw);
    // Commands sent in one tick travel as one pipeline: one round trip for the batch.
    const entries = await this.#run('get-values', 'read', (redis) =>
      Promise.all(keys.map((key) => this.#get(redis, key))),
    );
    return {
      items: entries.filter((entry): entry is Entry => entry !== undefined),
      missing: keys.filter((_, index) => entries[index] === undefined),
    };
  }

  async putValues(raw: PutValuesInput): Promise<PutValuesOutput> {
    const { items } = parseInput(PutValuesInput, raw);
    const written = await this.#run('put-values', 'write', (redis) =>
      Promise.all(
        items.map((item) => this.#put(redis, item.key, JSON.stringify(item.value), item.ttlSeconds, '')),
      ),
    );
    return { items: written };
  }

  async listKeys(raw: ListKeysInput): Promise<ListKeysOutput> {
    const input = parseInput(ListKeysInput, raw);
    const digest = prefixDigest(input.prefix);
    const start = input.cursor === undefined ? { s: '0', o: 0, p: digest } : this.#readCursor(input.cursor);
    if (start.p !== digest) throw badCursor();
    const match = `${globEscape(this.#options.keyPrefix + input.prefix)}*`;
    return this.#run('list-keys', 'read', async (redis) => {
      const keys: string[] = [];
      let position = start.s;
      let skip = start.o;
      for (let scans = 0; scans < MAX_SCANS_PER_PAGE; scans += 1) {
        const room = input.limit - keys.length;
        const [next, batch] = await this.#scan(redis, position, match, input.limit);
        const fresh = batch.slice(skip);
        keys.push(...fresh.slice(0, room));
        if (fresh.length > room) {
          // The rest of this batch comes first on the next page: SCAN answers the same batch again.
          return { keys, cursor: this.#writeCursor({ s: position, o: skip + room, p: digest }) };
        }
        skip = 0;
        position = next;
        if (position === '0') return { keys };
        if (keys.length > 0) break;
      }
      return { keys, cursor: this.#writeCursor({ s: position, o: 0, p: digest }) };
    });
  }

  async incrementValue(raw: IncrementValueInput): Promise<IncrementValueOutput> {
    const input = parseInput(IncrementValueInput, raw);
    const version = newVersion();
    const value = await this.#run('increment', 'write', (redis) =>
      this.#eval(redis, SCRIPTS.increment, input.key, [
        String(input.by),
        version,
        String(input.ttlSeconds ?? ''),
      ]),
    );
    if (typeof value !== 'number')
      throw new UnexpectedResponseError('Redis increment answered a value that is not a number');
    return { key: input.key, value, version };
  }

  /** Opens the connection if needed and asks the server to answer, for `health`. */
  async ping(): Promise<void> {
    await this.#run('ping', 'read', (redis) => redis.sendCommand(['PING'], this.#commandOptions('ping')));
  }

  /** Closes the connection. */
  close(): Promise<void> {
    return this.#connection.close();
  }

  async #get(redis: RedisSession, key: string): Promise<Entry | undefined> {
    const found = await this.#eval(redis, SCRIPTS.get, key, []);
    if (found === null) return undefined;
    if (!Array.isArray(found) || typeof found[0] !== 'string' || typeof found[1] !== 'string') {
      throw new UnexpectedResponseError('Redis get answered something that is not a stored value');
    }
    let value: Entry['value'];
    try {
      value = JSON.parse(found[0]) as Entry['value'];
      // A counter HINCRBY took past 2^53 (before increments refused that, or another program): its exact
      // text, never the rounded number JSON.parse makes of it.
      if (typeof value === 'number' && Number.isInteger(value) && !Number.isSafeInteger(value)) {
        if (/^-?\d+$/.test(found[0]) && BigInt(found[0]) !== BigInt(value)) value = found[0];
      }
    } catch (error) {
      throw new UnexpectedResponseError(
        'Redis get found a value that is not JSON (written by another program)',
        {
          cause: error,
        },
      );
    }
    const expires = expiresAt(found[2]);
    return { key, value, version: found[1], ...(expires === undefined ? {} : { expiresAt: expires }) };
  }

  async #put(
    redis: RedisSession,
    key: string,
    json: string,
    ttlSeconds: number | undefined,
    condition: '' | 'absent' | 'version',
    expected = '',
  ): Promise<PutValueOutput> {
    const version = newVersion();
    const outcome = await this.#eval(redis, SCRIPTS.put, key, [
      json,
      version,
      String(ttlSeconds ?? ''),
      condition,
      expected,
    ]);
    if (!Array.isArray(outcome)) throw new UnexpectedResponseError('Redis put answered something unexpected');
    if (outcome[0] !== 1) {
      throw new ConflictError(
        condition === 'absent'
          ? 'The key already holds a value (onlyIfAbsent)'
          : 'The value has another version than ifVersion (put)',
      );
    }
    const expires = expiresAt(outcome[1]);
    return { key, version, ...(expires === undefined ? {} : { expiresAt: expires }) };
  }

  async #scan(
    redis: RedisSession,
    position: string,
    match: string,
    count: number,
  ): Promise<[string, string[]]> {
    const reply = await redis.sendCommand(
      ['SCAN', position, 'MATCH', match, 'COUNT', String(count), 'TYPE', 'hash'],
      this.#commandOptions('list-keys'),
    );
    const [next, found] = Array.isArray(reply) ? reply : [];
    if (typeof next !== 'string' || !Array.isArray(found))
      throw new UnexpectedResponseError('Redis SCAN answered something unexpected');
    const prefix = this.#options.keyPrefix;
    return [
      next,
      found.filter((key): key is string => typeof key === 'string').map((key) => key.slice(prefix.length)),
    ];
  }

  /** Runs a script by its digest, loading it once per server (EVALSHA, then EVAL after NOSCRIPT). */
  async #eval(redis: RedisSession, code: Script, key: string, args: string[]): Promise<unknown> {
    const rest = ['1', this.#options.keyPrefix + key, ...args];
    const options = this.#commandOptions('script');
    try {
      return await redis.sendCommand(['EVALSHA', code.sha, ...rest], options);
    } catch (error) {
      if (!(error instanceof ErrorReply && error.message.startsWith('NOSCRIPT'))) throw error;
      return redis.sendCommand(['EVAL', code.source, ...rest], this.#commandOptions('script'));
    }
  }

  #commandOptions(what: string): { timeout: number; rejectInFlight: true } {
    return { timeout: callBudget(this.#options.timeoutMs, `Redis ${what}`), rejectInFlight: true };
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

  async #run<T>(
    operation: string,
    replay: 'read' | 'write',
    work: (redis: RedisSession) => Promise<T>,
  ): Promise<T> {
    try {
      return await this.#connection.use(work, replay);
    } catch (error) {
      throw toRedisError(error, operation);
    }
  }
}
