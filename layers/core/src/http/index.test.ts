import { describe, expect, it } from 'vitest';
import * as http from './index.ts';

describe('Module: http/index', () => {
  it('exposes the client, the guard, the breaker and the backoff helpers', () => {
    // Act
    const names = Object.keys(http).sort();

    // Assess
    expect(names).toEqual([
      'CircuitBreaker',
      'HttpClient',
      'assertUrlAllowed',
      'assertUrlSyntaxAllowed',
      'backoffDelayMs',
      'circuitBreakerFor',
      'createGuardedLookup',
      'failureForResponse',
      'guardedLookup',
      'isBlockedAddress',
      'networkError',
      'parseRetryAfter',
      'providerMessage',
      'rateLimitWaitMs',
      'resetCircuitBreakers',
    ]);
  });
});
