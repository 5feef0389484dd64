/** The public shapes of the outbound HTTP client: requests, responses and options. */
import type { Agent as HttpAgent } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import type { LookupFunction } from 'node:net';
import type { RequestAuth } from '../auth/types.ts';
import type { RateBudget } from '../coordination/rate-budget.ts';
import type { ConnectorError } from '../errors.ts';
import type { RateLimitHeaders } from './backoff.ts';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One logical call; the client may send it several times (retries, one auth refresh, redirects). */
export interface HttpRequest {
  method: HttpMethod;
  /** Joined to `options.baseUrl`. */
  path?: string;
  /** Absolute URL; wins over `path`. */
  url?: string;
  /** The URL came from caller input: apply the SSRF guard even when the client's guard is off. */
  untrustedUrl?: boolean;
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  /** Serialised with `JSON.stringify`, sent as `application/json`. */
  json?: unknown;
  /** Raw body; pass its content-type in `headers`. */
  body?: string | Uint8Array;
  /** Sent as `options.idempotencyHeader`, the same on every attempt; makes POST/PATCH retryable. */
  idempotencyKey?: string;
  /**
   * The call changes nothing at the provider although its method is POST (a GraphQL query, a token
   * introspection): retried like a GET, with no idempotency header.
   */
  readOnly?: boolean;
  /**
   * A 2xx answer's body as received, a Buffer (object downloads, binary media), not decoded as text or
   * JSON; a failed answer is still decoded for the error mapping.
   */
  bytes?: boolean;
  /** Per attempt; overrides the client default. */
  timeoutMs?: number;
  /** Overrides the client default (1 = no retry). */
  maxAttempts?: number;
}

export interface HttpResponse<T = unknown> {
  status: number;
  /** Lower-cased names; repeated headers joined with `, `. */
  headers: Record<string, string>;
  /**
   * Parsed JSON for a JSON content-type, else the text (a Buffer for a 2xx answer to a `bytes` request);
   * `undefined` when empty or for HEAD.
   */
  body: T;
  /** The final URL after redirects (without credentials the auth added to the query). */
  url: string;
}

/** A 2xx answer whose body is read as it arrives ({@link HttpClient.stream}). */
export type HttpStream = HttpResponse<AsyncIterable<Uint8Array>>;

export interface HttpClientOptions {
  /** Human name used in messages, e.g. 'Slack'. */
  provider: string;
  baseUrl?: string;
  auth?: RequestAuth;
  /** Default headers for every request. */
  headers?: Record<string, string>;
  /** Per attempt, default 10 000; always capped by the invocation's remaining time. */
  timeoutMs?: number;
  /** Default 3 (1 = no retry). */
  maxAttempts?: number;
  /** Default 100. */
  baseDelayMs?: number;
  /** Default 5 000. */
  maxDelayMs?: number;
  /**
   * The longest `Retry-After` the client waits for, default 60 000; beyond it (or beyond the invocation's
   * remaining time) the call fails at once with a RateLimitedError carrying `retryAfterMs`.
   */
  maxRetryAfterMs?: number;
  /** Default 5 MiB. */
  maxResponseBytes?: number;
  /**
   * The provider's rate-limit headers (names lower-case); default: only `Retry-After` is read. A REST
   * provider declares them once (`defineRestProvider`).
   */
  rateLimit?: RateLimitHeaders;
  /** Default 'Idempotency-Key'. */
  idempotencyHeader?: string;
  /**
   * A rate budget shared with the connector's other containers ({@link SharedRateBudget}): one unit is
   * taken before every attempt, and a `Retry-After` the provider sends pauses every container.
   */
  budget?: RateBudget;
  /** Per host, shared by every client in the container; default `{ failureThreshold: 5, resetAfterMs: 30_000 }`. */
  circuitBreaker?: { failureThreshold?: number; resetAfterMs?: number } | false;
  /** Default false (base URLs are config); true when every URL comes from input. */
  ssrfGuard?: boolean;
  /** Default 0: redirects are answered as-is. Above 0 each hop is followed and, when guarded, checked. */
  maxRedirects?: number;
  /**
   * Provider hook called for every final response, 2xx included (Slack answers 200 `{ ok: false }`).
   * Return an error to fail, or retry when its class is retryable; `undefined` applies the default mapping.
   */
  inspect?: (response: HttpResponse) => ConnectorError | undefined;
  /** Injectable for tests; the client never destroys agents it did not create. */
  agent?: { http?: HttpAgent; https?: HttpsAgent };
  /**
   * The DNS lookup used when the SSRF guard applies; defaults to the guarded system lookup. For tests
   * (`createGuardedLookup({ resolve })`); it must refuse blocked addresses itself.
   */
  lookup?: LookupFunction;
}
