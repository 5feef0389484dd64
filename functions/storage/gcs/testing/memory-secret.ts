/**
 * A {@link Secret} held in memory, for library-level tests of the GCS client: `set` rotates it, and
 * `refreshes` counts how often the client asked for a fresh value.
 */
import { ConfigurationError, type Secret } from '@circle-core/core';
import type * as z from 'zod';

export interface MemorySecret extends Secret {
  set(value: string): void;
  readonly refreshes: number;
}

/**
 * @example
 * ```ts
 * const secret = memorySecret('test/gcs', account.keyFile);
 * ```
 */
export function memorySecret(name: string, initial: string): MemorySecret {
  let value = initial;
  let refreshes = 0;
  return {
    name,
    text: async () => value,
    json: async <T>(schema: z.ZodType<T>) => {
      const parsed = schema.safeParse(JSON.parse(value));
      if (!parsed.success) throw new ConfigurationError(`Secret ${name} has the wrong shape`);
      return parsed.data;
    },
    refresh: async () => {
      refreshes += 1;
    },
    prefetch: async () => undefined,
    reject: () => undefined,
    set: (next) => {
      value = next;
    },
    get refreshes() {
      return refreshes;
    },
  };
}
