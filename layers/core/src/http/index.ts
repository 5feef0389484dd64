/**
 * The core's outbound HTTP: the client, the SSRF guard, the circuit breaker and the backoff helpers.
 *
 * @example
 * ```ts
 * import { HttpClient, assertUrlAllowed } from './http/index.ts';
 * ```
 */
export {
  type BackoffOptions,
  backoffDelayMs,
  parseRetryAfter,
  type RateLimitHeaders,
  rateLimitWaitMs,
} from './backoff.ts';
export {
  CircuitBreaker,
  type CircuitBreakerOptions,
  type CircuitState,
  circuitBreakerFor,
  resetCircuitBreakers,
} from './circuit-breaker.ts';
export { HttpClient } from './client.ts';
export {
  failureForResponse,
  networkError,
  providerMessage,
  type ResponseFailure,
} from './response-errors.ts';
export {
  assertUrlAllowed,
  assertUrlSyntaxAllowed,
  createGuardedLookup,
  type GuardOptions,
  guardedLookup,
  isBlockedAddress,
  type Resolver,
} from './ssrf.ts';
export type { HttpClientOptions, HttpMethod, HttpRequest, HttpResponse, HttpStream } from './types.ts';
