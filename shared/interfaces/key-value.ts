/**
 * The key-value interface: what Redis, DynamoDB and the other key-value stores on the roadmap (Memcached,
 * etcd, Cloudflare KV, Azure Tables) offer in common. Workflows and other code program against this, not
 * against one store. Models live in `shared/models/key-value.ts`.
 */
import type {
  DeleteValueInput,
  DeleteValueOutput,
  GetValueInput,
  GetValueOutput,
  GetValuesInput,
  GetValuesOutput,
  IncrementValueInput,
  IncrementValueOutput,
  ListKeysInput,
  ListKeysOutput,
  PutValueInput,
  PutValueOutput,
  PutValuesInput,
  PutValuesOutput,
} from '../models/key-value.ts';
import type { HasCapabilities } from './capabilities.ts';

/**
 * Optional abilities a key-value store may offer:
 * - `ttl`: values expire after `ttlSeconds` (Memcached and Redis natively, DynamoDB by a TTL attribute
 *   that reads filter until the background sweep deletes it);
 * - `conditional-writes`: `onlyIfAbsent` and `ifVersion` (compare-and-set) on put, `ifVersion` on delete,
 *   atomically (Cloudflare KV cannot);
 * - `increment`: `incrementValue` adds to an integer atomically, without a lost update;
 * - `prefix-list`: `listKeys` pages through the keys under a prefix (Memcached cannot).
 */
export type KeyValueCapability = 'ttl' | 'conditional-writes' | 'increment' | 'prefix-list';

/**
 * One key-value store. Values are JSON and come back as they were written. Every write gives the value a
 * new opaque `version`; a conditional write that finds another version, or a value where it asked for
 * none, fails with `ConflictError` and changes nothing. Every method validates its input (throwing
 * `ValidationError`) and fails only with the core error taxonomy: `NotFoundError` for a missing key on
 * `getValue`, `ConflictError` for a failed condition or an increment of a value that is not an integer,
 * `RateLimitedError`/`UnavailableError`/`TimeoutError` for transient trouble, `NotSupportedError` for a
 * capability it lacks. Messages never contain values.
 *
 * Guarantees a caller can rely on across stores: reads after a write see it (strongly consistent reads);
 * a `listKeys` walk returns every key that exists under the prefix for the whole walk at least once (a
 * store that rehashes meanwhile, like Redis, may return a key twice), in no promised order; batches are
 * not transactions: `putValues` either writes every item or fails, and after a failure some items may be
 * written.
 *
 * @example
 * ```ts
 * async function recordCopy(store: KeyValueStore, key: string, etag: string): Promise<void> {
 *   const current = await store.getValue({ key }).catch(() => undefined);
 *   await store.putValue({ key, value: { etag }, ...(current ? { ifVersion: current.version } : { onlyIfAbsent: true }) });
 * }
 * ```
 */
export interface KeyValueStore extends HasCapabilities<KeyValueCapability> {
  /** Reads one value with its version and expiry; `NotFoundError` when the key holds none. */
  getValue(input: GetValueInput): Promise<GetValueOutput>;
  /** Writes one value, optionally with a time to live and one condition (only if absent, or if version). */
  putValue(input: PutValueInput): Promise<PutValueOutput>;
  /** Removes a value; removing a missing one succeeds with `deleted: false`. */
  deleteValue(input: DeleteValueInput): Promise<DeleteValueOutput>;
  /** Reads up to 100 values at once; missing keys are listed, not errors. */
  getValues(input: GetValuesInput): Promise<GetValuesOutput>;
  /** Writes up to 25 values at once, unconditionally. */
  putValues(input: PutValuesInput): Promise<PutValuesOutput>;
  /** One page of the keys under a prefix and a cursor for the next (capability `prefix-list`). */
  listKeys(input: ListKeysInput): Promise<ListKeysOutput>;
  /** Adds to an integer value atomically, from 0 when the key is missing (capability `increment`). */
  incrementValue(input: IncrementValueInput): Promise<IncrementValueOutput>;
}
