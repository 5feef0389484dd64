/**
 * A per-host circuit breaker. After a run of consecutive failures (5xx, network, timeout) calls to the
 * host fail fast for a while instead of stacking up timeouts, then one probe decides whether to resume.
 * Breakers live in a module-level map, so every HttpClient in the container shares what it learned.
 */

/** Tuning of a breaker. */
export interface CircuitBreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long an open circuit fails fast before letting one probe through, in ms. */
  resetAfterMs: number;
}

/** `closed`: calls flow. `open`: calls fail fast. `half-open`: one probe is in flight. */
export type CircuitState = 'closed' | 'open' | 'half-open';

/**
 * The breaker of one host.
 *
 * @example
 * ```ts
 * const breaker = new CircuitBreaker({ failureThreshold: 5, resetAfterMs: 30_000 });
 * if (!breaker.tryAcquire()) throw new CircuitOpenError('api.example.com');
 * try { await call(); breaker.onSuccess(); } catch (err) { breaker.onFailure(); throw err; }
 * ```
 */
export class CircuitBreaker {
  readonly #options: CircuitBreakerOptions;
  readonly #now: () => number;
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;

  constructor(options: CircuitBreakerOptions, now: () => number = Date.now) {
    this.#options = options;
    this.#now = now;
  }

  /** The current state; an `open` circuit stays `open` until a caller takes the probe slot. */
  get state(): CircuitState {
    return this.#state;
  }

  /**
   * Whether a call may go out now. An open circuit whose wait has elapsed lets exactly one caller through
   * (the probe) and turns half-open; everyone else keeps failing fast until the probe reports back.
   */
  tryAcquire(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'half-open') return false;
    if (this.#now() - this.#openedAt < this.#options.resetAfterMs) return false;
    this.#state = 'half-open';
    return true;
  }

  /** The host answered: close the circuit and forget past failures. */
  onSuccess(): void {
    this.#state = 'closed';
    this.#failures = 0;
  }

  /** The host failed: count it, and open the circuit at the threshold or when the probe failed. */
  onFailure(): void {
    this.#failures += 1;
    if (this.#state === 'half-open' || this.#failures >= this.#options.failureThreshold) {
      this.#state = 'open';
      this.#openedAt = this.#now();
    }
  }

  /**
   * The acquired call ended without saying anything about the host (refused before connecting, e.g. by the
   * SSRF guard): give the probe slot back so the next caller can probe.
   */
  release(): void {
    if (this.#state === 'half-open') {
      this.#state = 'open';
      this.#openedAt = this.#now() - this.#options.resetAfterMs;
    }
  }
}

const breakers = new Map<string, CircuitBreaker>();

/**
 * The shared breaker of a host (`host:port`), created on first use. The first caller's options win: one
 * host is one failure domain whichever client talks to it.
 *
 * @example
 * ```ts
 * const breaker = circuitBreakerFor('api.github.com:443', { failureThreshold: 5, resetAfterMs: 30_000 });
 * ```
 */
export function circuitBreakerFor(key: string, options: CircuitBreakerOptions): CircuitBreaker {
  let breaker = breakers.get(key);
  if (breaker === undefined) {
    breaker = new CircuitBreaker(options);
    breakers.set(key, breaker);
  }
  return breaker;
}

/**
 * Forgets every breaker (tests, or a container that wants a clean slate).
 *
 * @example
 * ```ts
 * afterEach(() => resetCircuitBreakers());
 * ```
 */
export function resetCircuitBreakers(): void {
  breakers.clear();
}
