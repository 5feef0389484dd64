/**
 * A provider token shared by every container of a connector: one container exchanges (under a lease in the
 * coordination table), the others wait for its token and reuse it. Fifty concurrent Lambdas then make one
 * token request per expiry, not fifty, and a rotating refresh token is spent, and written back, once.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { IssuedToken } from '../auth/cached-token.ts';
import { ANSWER_RESERVE_MS } from '../budget.ts';
import { remainingTimeMs } from '../context.ts';
import {
  type CoordinationItem,
  type CoordinationTable,
  CoordinationUnavailable,
  ttlSeconds,
} from './table.ts';

/** What {@link cachedTokenAuth} asks of a shared cache. */
export interface TokenShare {
  /**
   * A token with more than `minLifeMs` to live: another container's, or one `run` issues here under the
   * lease. `refused` is a value the provider just refused: it is never handed out again.
   */
  exchange(run: () => Promise<IssuedToken>, minLifeMs: number, refused?: string): Promise<IssuedToken>;
}

export interface SharedTokenCacheOptions {
  table: CoordinationTable;
  /** Names the token among the connector's: an installation id, a client id, a credential's secret name. */
  key: string;
  /** How long a lease holds before another container may take the exchange over; default 15 000 ms. */
  leaseMs?: number;
  /** How often a waiting container looks for the holder's token; default 100 ms. */
  pollMs?: number;
  /** Assumed life of a token whose expiry is unknown; default 300 000 ms (as the local cache). */
  defaultLifetimeMs?: number;
  now?: () => number;
}

/** An error of `run` itself, carried past the fallback (which is only for the table's failures). */
class ExchangeFailed {
  readonly error: unknown;
  constructor(error: unknown) {
    this.error = error;
  }
}

/**
 * A {@link TokenShare} in the coordination table (`token#<connector>#<key>`: the value, its expiry, and
 * while an exchange runs its lease). When the table cannot be reached every container exchanges on its
 * own, as without sharing.
 *
 * @example
 * ```ts
 * const share = new SharedTokenCache({ table, key: `installation-${installationId}` });
 * const auth = cachedTokenAuth({ exchange: mintInstallationToken, share });
 * ```
 */
export class SharedTokenCache implements TokenShare {
  readonly #table: CoordinationTable;
  readonly #pk: string;
  readonly #leaseMs: number;
  readonly #pollMs: number;
  readonly #defaultLifetimeMs: number;
  readonly #now: () => number;

  constructor(options: SharedTokenCacheOptions) {
    this.#table = options.table;
    this.#pk = `token#${options.table.connector}#${options.key}`;
    this.#leaseMs = options.leaseMs ?? 15_000;
    this.#pollMs = options.pollMs ?? 100;
    this.#defaultLifetimeMs = options.defaultLifetimeMs ?? 300_000;
    this.#now = options.now ?? Date.now;
  }

  async exchange(run: () => Promise<IssuedToken>, minLifeMs: number, refused?: string): Promise<IssuedToken> {
    const guarded = () =>
      run().catch((error: unknown) => {
        throw new ExchangeFailed(error);
      });
    try {
      return await this.#shared(guarded, minLifeMs, refused);
    } catch (error) {
      if (error instanceof ExchangeFailed) throw error.error;
      this.#table.fallingBack('tokens are exchanged', error);
      return run();
    }
  }

  async #shared(run: () => Promise<IssuedToken>, minLifeMs: number, refused?: string): Promise<IssuedToken> {
    for (;;) {
      const item = await this.#table.get(this.#pk);
      const now = this.#now();
      const usable = this.#usable(item, now, minLifeMs, refused);
      if (usable !== undefined) return usable;
      const leaseUntil = typeof item?.['leaseUntil'] === 'number' ? item['leaseUntil'] : 0;
      if (leaseUntil <= now) {
        const owner = randomUUID();
        if (await this.#lease(owner, now)) return this.#issue(run, owner);
        continue;
      }
      // Another container is exchanging: wait for its token, unless waiting would not leave time to use it.
      if (remainingTimeMs() - ANSWER_RESERVE_MS < Math.min(leaseUntil - now, this.#pollMs) + 1_000) {
        return run();
      }
      await sleep(Math.min(this.#pollMs, leaseUntil - now));
    }
  }

  /** The item's token, when there is one that is not refused and lives long enough. */
  #usable(item: CoordinationItem | undefined, now: number, minLifeMs: number, refused?: string) {
    const value = item?.['value'];
    const expiresAt = item?.['expiresAt'];
    const issuedAt = item?.['issuedAt'];
    if (typeof value !== 'string' || typeof expiresAt !== 'number' || value === refused) return undefined;
    // A token that lives shorter than minLifeMs is used for the first half of its life, as in the local cache.
    const life = typeof issuedAt === 'number' ? expiresAt - issuedAt : expiresAt - now;
    return expiresAt - now > Math.min(minLifeMs, life / 2) ? { value, expiresAt } : undefined;
  }

  #lease(owner: string, now: number): Promise<boolean> {
    return this.#table.update(this.#pk, {
      update: 'SET leaseOwner = :owner, leaseUntil = :until, #ttl = :ttl',
      condition: 'attribute_not_exists(leaseUntil) OR leaseUntil <= :now',
      names: { '#ttl': 'ttl' },
      values: {
        ':owner': owner,
        ':until': now + this.#leaseMs,
        ':now': now,
        ':ttl': ttlSeconds(now, this.#leaseMs + 86_400_000),
      },
    });
  }

  /** Runs the exchange under the lease and publishes its token; a failed exchange frees the lease at once. */
  async #issue(run: () => Promise<IssuedToken>, owner: string): Promise<IssuedToken> {
    const issuedAt = this.#now();
    let issued: IssuedToken;
    try {
      issued = await run();
    } catch (error) {
      await this.#release(owner);
      throw error;
    }
    const expiresAt = issued.expiresAt ?? issuedAt + (issued.expiresInMs ?? this.#defaultLifetimeMs);
    try {
      await this.#table.update(this.#pk, {
        update:
          'SET #value = :value, expiresAt = :expiresAt, issuedAt = :issuedAt, #ttl = :ttl REMOVE leaseOwner, leaseUntil',
        condition: 'leaseOwner = :owner',
        names: { '#value': 'value', '#ttl': 'ttl' },
        values: {
          ':value': issued.value,
          ':expiresAt': expiresAt,
          ':issuedAt': issuedAt,
          ':owner': owner,
          ':ttl': ttlSeconds(expiresAt, 3_600_000),
        },
      });
    } catch (error) {
      // The token is good; only the other containers miss it (they will exchange for themselves).
      if (!(error instanceof CoordinationUnavailable)) throw error;
      this.#table.fallingBack('a token was not shared', error);
    }
    return { value: issued.value, expiresAt };
  }

  async #release(owner: string): Promise<void> {
    try {
      await this.#table.update(this.#pk, {
        update: 'REMOVE leaseOwner, leaseUntil',
        condition: 'leaseOwner = :owner',
        values: { ':owner': owner },
      });
    } catch {
      // The lease expires on its own.
    }
  }
}
