import { afterEach, describe, expect, it } from 'vitest';
import { CircuitBreaker, circuitBreakerFor, resetCircuitBreakers } from './circuit-breaker.ts';

function clock(start = 1_000) {
  const time = { now: start };
  return { time, now: () => time.now };
}

describe('Class: CircuitBreaker', () => {
  describe('Method: onFailure', () => {
    it('opens the circuit after failureThreshold consecutive failures', () => {
      // Prepare
      const breaker = new CircuitBreaker({ failureThreshold: 3, resetAfterMs: 1_000 }, clock().now);

      // Act
      breaker.onFailure();
      breaker.onFailure();
      const beforeThreshold = breaker.tryAcquire();
      breaker.onFailure();

      // Assess
      expect(beforeThreshold).toBe(true);
      expect(breaker.state).toBe('open');
      expect(breaker.tryAcquire()).toBe(false);
    });

    it('does not open when a success interrupts the run of failures', () => {
      // Prepare
      const breaker = new CircuitBreaker({ failureThreshold: 2, resetAfterMs: 1_000 }, clock().now);

      // Act
      breaker.onFailure();
      breaker.onSuccess();
      breaker.onFailure();

      // Assess
      expect(breaker.state).toBe('closed');
      expect(breaker.tryAcquire()).toBe(true);
    });

    it('re-opens at once when the half-open probe fails', () => {
      // Prepare
      const { time, now } = clock();
      const breaker = new CircuitBreaker({ failureThreshold: 5, resetAfterMs: 1_000 }, now);
      for (let i = 0; i < 5; i += 1) breaker.onFailure();
      time.now += 1_000;
      breaker.tryAcquire();

      // Act
      breaker.onFailure();

      // Assess
      expect(breaker.state).toBe('open');
      time.now += 999;
      expect(breaker.tryAcquire()).toBe(false);
    });
  });

  describe('Method: tryAcquire', () => {
    it('lets exactly one probe through once resetAfterMs has passed', () => {
      // Prepare
      const { time, now } = clock();
      const breaker = new CircuitBreaker({ failureThreshold: 1, resetAfterMs: 500 }, now);
      breaker.onFailure();

      // Act
      time.now += 499;
      const early = breaker.tryAcquire();
      time.now += 1;
      const probe = breaker.tryAcquire();
      const second = breaker.tryAcquire();

      // Assess
      expect(early).toBe(false);
      expect(probe).toBe(true);
      expect(second).toBe(false);
      expect(breaker.state).toBe('half-open');
    });
  });

  describe('Method: onSuccess', () => {
    it('closes a half-open circuit', () => {
      // Prepare
      const { time, now } = clock();
      const breaker = new CircuitBreaker({ failureThreshold: 1, resetAfterMs: 10 }, now);
      breaker.onFailure();
      time.now += 10;
      breaker.tryAcquire();

      // Act
      breaker.onSuccess();

      // Assess
      expect(breaker.state).toBe('closed');
      expect(breaker.tryAcquire()).toBe(true);
    });
  });

  describe('Method: release', () => {
    it('gives the probe slot back so the next caller can probe at once', () => {
      // Prepare
      const { time, now } = clock();
      const breaker = new CircuitBreaker({ failureThreshold: 1, resetAfterMs: 10 }, now);
      breaker.onFailure();
      time.now += 10;
      breaker.tryAcquire();

      // Act
      breaker.release();

      // Assess
      expect(breaker.state).toBe('open');
      expect(breaker.tryAcquire()).toBe(true);
    });

    it('changes nothing on a closed circuit', () => {
      // Prepare
      const breaker = new CircuitBreaker({ failureThreshold: 1, resetAfterMs: 10 });

      // Act
      breaker.release();

      // Assess
      expect(breaker.state).toBe('closed');
    });
  });
});

describe('Function: circuitBreakerFor', () => {
  afterEach(() => resetCircuitBreakers());

  it('returns the same breaker for the same host key', () => {
    // Act
    const first = circuitBreakerFor('api.example.com:443', { failureThreshold: 1, resetAfterMs: 10 });
    const second = circuitBreakerFor('api.example.com:443', { failureThreshold: 9, resetAfterMs: 99 });

    // Assess
    expect(second).toBe(first);
    expect(circuitBreakerFor('api.example.com:8443', { failureThreshold: 1, resetAfterMs: 10 })).not.toBe(
      first,
    );
  });

  it('forgets every breaker on resetCircuitBreakers', () => {
    // Prepare
    const first = circuitBreakerFor('h:1', { failureThreshold: 1, resetAfterMs: 10 });
    first.onFailure();

    // Act
    resetCircuitBreakers();

    // Assess
    const fresh = circuitBreakerFor('h:1', { failureThreshold: 1, resetAfterMs: 10 });
    expect(fresh).not.toBe(first);
    expect(fresh.state).toBe('closed');
  });
});
