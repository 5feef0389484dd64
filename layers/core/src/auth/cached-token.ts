/**
 * The one token cache of the core: every auth that exchanges something for a short-lived token (OAuth2
 * client credentials and refresh tokens, GitHub App installation tokens, any later exchange) keeps its
 * token here. One exchange at a time per auth instance, renewal ahead of expiry, and a forced renewal
 * after the provider refused the token (401/403).
 */
import type { TokenShare } from '../coordination/tokens.ts';
import type { AuthTarget, RequestAuth } from './types.ts';

/** What one exchange produced. */
export interface IssuedToken {
  /** The token value sent to the provider. */
  value: string;
  /** When the token stops working, epoch ms (e.g. from an `expires_at` field). */
  expiresAt?: number | undefined;
  /** Its life from the start of the exchange, ms (e.g. from an `expires_in` field); used without `expiresAt`. */
  expiresInMs?: number | undefined;
}

export interface CachedTokenAuthOptions {
  /** Gets a fresh token (signs a JWT, posts a grant, ...); its failure is not cached. */
  exchange: () => Promise<IssuedToken>;
  /** Renew a token when fewer than this many ms of its life remain; default 60 000. */
  refreshAheadMs?: number;
  /** Assumed life of a token whose expiry is unknown; default 300 000 (short, so a stale one is not kept). */
  defaultLifetimeMs?: number;
  /**
   * Called by `refresh()` after a provider refused the token, before the next exchange: re-read the
   * credentials the exchange uses (the client secret or key may have rotated).
   */
  onRefresh?: () => Promise<void>;
  /** The authorization scheme; default `Bearer`. */
  scheme?: string;
  /** The clock, epoch ms; tests move it to reach an expiry. */
  now?: () => number;
  /**
   * Shares tokens with the connector's other containers ({@link SharedTokenCache}): one exchange per
   * expiry across all of them. Without it each container exchanges for itself.
   */
  share?: TokenShare;
}

/** A {@link RequestAuth} backed by a cached token, which it also hands out. */
export interface CachedTokenAuth extends RequestAuth {
  /** The current token: the cached one, or the result of the one exchange in flight. */
  token(): Promise<string>;
  /** Drops the token (unless `refused` carried one already replaced) and re-reads the credentials. */
  refresh(refused?: AuthTarget): Promise<boolean>;
}

interface Cached {
  value: string;
  refreshAt: number;
}

/**
 * Sends `authorization: <scheme> <token>` with a token from `exchange`, cached until `refreshAheadMs`
 * before it expires (a token that lives shorter than that is used for half its life, so it is not renewed
 * on every call). Concurrent callers share one exchange. `refresh()` drops the token, runs `onRefresh`
 * and reports that one retry is worthwhile; an exchange that was already in flight then cannot put its
 * (possibly stale) token back into the cache.
 *
 * @example
 * ```ts
 * const auth = cachedTokenAuth({
 *   exchange: async () => ({ value: await mintToken(), expiresAt: Date.now() + 3_600_000 }),
 *   refreshAheadMs: 300_000,
 * });
 * await auth.apply(request); // request.headers.authorization = 'Bearer ...'
 * ```
 */
export function cachedTokenAuth(options: CachedTokenAuthOptions): CachedTokenAuth {
  const { exchange, refreshAheadMs = 60_000, defaultLifetimeMs = 300_000, scheme = 'Bearer' } = options;
  const now = options.now ?? (() => Date.now());
  let cached: Cached | undefined;
  let inFlight: Promise<string> | undefined;
  // Bumped by refresh(): an exchange started before it must not repopulate the cache.
  let generation = 0;
  // The last token the provider refused: a shared cache must not hand it back.
  let refused: string | undefined;

  function start(): Promise<string> {
    const started = generation;
    // Counted from the request, not the answer: the issuer's clock started before ours stopped waiting.
    const issuedAt = now();
    const issuing =
      options.share === undefined ? exchange() : options.share.exchange(exchange, refreshAheadMs, refused);
    const pending = issuing
      .then((issued) => {
        const expiresAt = issued.expiresAt ?? issuedAt + (issued.expiresInMs ?? defaultLifetimeMs);
        const lifeMs = expiresAt - issuedAt;
        const refreshAt = issuedAt + Math.max(lifeMs - refreshAheadMs, lifeMs / 2);
        if (started === generation) cached = { value: issued.value, refreshAt };
        return issued.value;
      })
      .finally(() => {
        if (inFlight === pending) inFlight = undefined;
      });
    inFlight = pending;
    return pending;
  }

  function token(): Promise<string> {
    if (cached !== undefined && now() < cached.refreshAt) return Promise.resolve(cached.value);
    return inFlight ?? start();
  }

  return {
    token,
    async apply(request) {
      request.headers['authorization'] = `${scheme} ${await token()}`;
    },
    async refresh(request?: AuthTarget) {
      // With concurrent invocations in one worker thread (Lambda Managed Instances,
      // https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html) several
      // can be refused with the same token: only the first refusal discards it. The others retry with the
      // token that replaced it, or join the exchange under way; a fresh token is never thrown away for a
      // refusal of the one before it.
      const sent = sentToken(request, scheme);
      if (sent !== undefined && (sent === refused || (cached !== undefined && sent !== cached.value))) {
        return true;
      }
      generation += 1;
      refused = cached?.value ?? refused;
      cached = undefined;
      inFlight = undefined;
      await options.onRefresh?.();
      // Even with unchanged credentials a new token may work where a revoked one failed.
      return true;
    },
  };
}

/** The token a refused request carried in `Authorization: <scheme> <token>`, if it carried one. */
function sentToken(request: AuthTarget | undefined, scheme: string): string | undefined {
  const header = request?.headers['authorization'] ?? request?.headers['Authorization'];
  const prefix = `${scheme} `;
  return header?.startsWith(prefix) === true ? header.slice(prefix.length) : undefined;
}
