import { describe, expect, it } from 'vitest';
import {
  AuthError,
  CircuitOpenError,
  ConfigurationError,
  ConflictError,
  ConnectorError,
  ForbiddenError,
  isRetryable,
  NotFoundError,
  NotSupportedError,
  PayloadTooLargeError,
  RateLimitedError,
  RETRYABLE_ERROR_NAMES,
  stepFunctionsErrorName,
  TimeoutError,
  toConnectorError,
  toProblem,
  UnavailableError,
  UnexpectedResponseError,
  UnsupportedMediaTypeError,
  ValidationError,
} from './errors.ts';

describe('Module: errors', () => {
  const cases: [ConnectorError, string, number, boolean][] = [
    [new ConfigurationError('X is required'), 'configuration_error', 500, false],
    [new ValidationError('bad'), 'validation_error', 400, false],
    [new PayloadTooLargeError(10), 'payload_too_large', 413, false],
    [new UnsupportedMediaTypeError('json only'), 'unsupported_media_type', 415, false],
    [new AuthError('no'), 'unauthorized', 401, false],
    [new ForbiddenError('no'), 'forbidden', 403, false],
    [new NotFoundError('gone'), 'not_found', 404, false],
    [new ConflictError('exists'), 'conflict', 409, false],
    [new NotSupportedError('nope'), 'not_supported', 501, false],
    [new RateLimitedError('slow'), 'rate_limited', 429, true],
    [new UnavailableError('down'), 'provider_unavailable', 503, true],
    [new CircuitOpenError('api.example.com'), 'circuit_open', 503, true],
    [new TimeoutError('late'), 'timeout', 504, true],
    [new UnexpectedResponseError('odd'), 'unexpected_response', 502, false],
  ];

  it.each(cases)('maps %s to its code, status and retry decision', (error, code, status, retryable) => {
    // Act
    const problem = toProblem(error);
    // Assess
    expect(error.code).toBe(code);
    expect(problem.status).toBe(status);
    expect(problem.code).toBe(code);
    expect(isRetryable(error)).toBe(retryable);
    expect(stepFunctionsErrorName(error)).toBe(error.name);
    expect(error.name).toMatch(/Error$/);
  });

  it('lists every retryable class name for state machine Retry blocks', () => {
    const retryableNames = cases.filter(([error]) => error.retryable).map(([error]) => error.name);
    expect([...RETRYABLE_ERROR_NAMES].sort()).toEqual(retryableNames.sort());
  });

  describe('Function: toProblem', () => {
    it('lists validation issues as JSON pointers', () => {
      const problem = toProblem(
        new ValidationError('Invalid input', [{ pointer: '/items/0/name', message: 'Required' }]),
        {
          instance: 'req-1',
        },
      );
      expect(problem).toMatchObject({
        type: 'https://circle-core.dev/problems/validation-error',
        title: 'Bad Request',
        status: 400,
        instance: 'req-1',
        errors: [{ pointer: '/items/0/name', message: 'Required' }],
      });
    });

    it('hides the message of unexposed errors', () => {
      const problem = toProblem(new Error('password=hunter2 leaked by a library'));
      expect(problem.status).toBe(500);
      expect(JSON.stringify(problem)).not.toContain('hunter2');
    });

    it('carries the rate limit delay', () => {
      expect(toProblem(new RateLimitedError('slow', { retryAfterMs: 1500 })).retryAfterMs).toBe(1500);
    });
  });

  describe('Function: toConnectorError', () => {
    it('passes known errors through and wraps unknown ones with their cause', () => {
      const known = new NotFoundError('x');
      const cause = new TypeError('boom');
      const wrapped = toConnectorError(cause);
      expect(toConnectorError(known)).toBe(known);
      expect(wrapped).toBeInstanceOf(ConnectorError);
      expect(wrapped.cause).toBe(cause);
      expect(wrapped.expose).toBe(false);
      expect(stepFunctionsErrorName(cause)).toBe('ConnectorError');
    });

    it('treats foreign errors as retryable for queues (they may be transient)', () => {
      expect(isRetryable(new Error('socket closed'))).toBe(true);
    });
  });
});
