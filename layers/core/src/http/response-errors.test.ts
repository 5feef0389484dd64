import { describe, expect, it } from 'vitest';
import {
  AuthError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '../errors.ts';
import { failureForResponse, networkError, providerMessage } from './response-errors.ts';

const now = 1_700_000_000_000;
/** GitHub's rate-limit facts, as its provider declaration states them. */
const githubLimits = {
  remaining: 'x-ratelimit-remaining',
  reset: 'x-ratelimit-reset',
  resetFormat: 'epoch-seconds',
  throttleStatuses: [403],
} as const;
const answer = (status: number, body: unknown = undefined, headers: Record<string, string> = {}) => ({
  status,
  headers,
  body,
});

describe('Function: providerMessage', () => {
  it('reads message, error_description, error and error.message in that order', () => {
    // Act & Assess
    expect(providerMessage({ message: 'Bad field', error: 'x' })).toBe('Bad field');
    expect(providerMessage({ error: 'invalid_grant', error_description: 'Token expired' })).toBe(
      'Token expired',
    );
    expect(providerMessage({ ok: false, error: 'channel_not_found' })).toBe('channel_not_found');
    expect(providerMessage({ error: { message: 'Model not found', type: 'invalid_request_error' } })).toBe(
      'Model not found',
    );
  });

  it('returns undefined for bodies without a message', () => {
    // Act & Assess
    expect(providerMessage('plain text')).toBeUndefined();
    expect(providerMessage(null)).toBeUndefined();
    expect(providerMessage({ errors: [] })).toBeUndefined();
    expect(providerMessage({ message: '  \n ' })).toBeUndefined();
    expect(providerMessage({ error: { code: 7 } })).toBeUndefined();
  });

  it('flattens control characters and truncates to 200 characters', () => {
    // Act
    const said = providerMessage({ message: `line one\nline two\u0000${'x'.repeat(300)}` });

    // Assess
    expect(said).toHaveLength(200);
    expect(said?.startsWith('line one line two x')).toBe(true);
    expect(said?.endsWith('…')).toBe(true);
  });
});

describe('Function: failureForResponse', () => {
  it('returns undefined for 2xx and 3xx', () => {
    // Act & Assess
    expect(failureForResponse(answer(200), 'Slack', now)).toBeUndefined();
    expect(failureForResponse(answer(304), 'Slack', now)).toBeUndefined();
  });

  it.each([
    [400, ValidationError, 'Acme rejected the request (HTTP 400): Bad field'],
    [422, ValidationError, 'Acme rejected the request (HTTP 422): Bad field'],
    [401, AuthError, 'Acme rejected the credentials (HTTP 401)'],
    [403, ForbiddenError, 'Acme refused access (HTTP 403)'],
    [404, NotFoundError, 'Acme found no such resource (HTTP 404): Bad field'],
    [410, NotFoundError, 'Acme found no such resource (HTTP 410): Bad field'],
    [409, ConflictError, 'Acme reported a conflict (HTTP 409): Bad field'],
    [429, RateLimitedError, 'Acme rate limit reached (HTTP 429)'],
    [408, UnavailableError, 'Acme is unavailable (HTTP 408)'],
    [425, UnavailableError, 'Acme is unavailable (HTTP 425)'],
    [500, UnavailableError, 'Acme is unavailable (HTTP 500)'],
    [502, UnavailableError, 'Acme is unavailable (HTTP 502)'],
    [504, UnavailableError, 'Acme is unavailable (HTTP 504)'],
    [418, UnexpectedResponseError, 'Acme answered HTTP 418 unexpectedly'],
  ])('maps HTTP %i to its error class', (status, ErrorClass, message) => {
    // Act
    const failure = failureForResponse(answer(status, { message: 'Bad field' }), 'Acme', now);

    // Assess
    expect(failure?.error).toBeInstanceOf(ErrorClass);
    expect(failure?.error.message).toBe(message);
    expect(failure?.error.details).toEqual({ status, provider: 'Acme' });
  });

  it('maps 401/403 exactly, never subclassing 401 as ForbiddenError', () => {
    // Act
    const failure = failureForResponse(answer(401), 'Acme', now);

    // Assess
    expect(failure?.error).not.toBeInstanceOf(ForbiddenError);
  });

  it('treats a 403 with Retry-After as a rate limit when the provider declares 403 a throttle status', () => {
    // Act
    const failure = failureForResponse(
      answer(403, undefined, { 'retry-after': '60' }),
      'GitHub',
      now,
      githubLimits,
    );

    // Assess
    expect(failure?.error).toBeInstanceOf(RateLimitedError);
    expect(failure?.retryAfterMs).toBe(60_000);
    expect(failure?.error).toMatchObject({ retryAfterMs: 60_000 });
  });

  it('treats a 403 with no requests remaining as a rate limit with the wait until reset', () => {
    // Prepare
    const headers = { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 90) };

    // Act
    const failure = failureForResponse(answer(403, undefined, headers), 'GitHub', now, githubLimits);

    // Assess
    expect(failure?.error).toBeInstanceOf(RateLimitedError);
    expect(failure?.retryAfterMs).toBe(90_000);
  });

  it('keeps a 403 a ForbiddenError when the provider declares no throttle status, whatever its headers', () => {
    // Prepare
    const headers = { 'retry-after': '60', 'x-ratelimit-remaining': '0' };

    // Act
    const undeclared = failureForResponse(answer(403, undefined, headers), 'Acme', now);
    const plain = failureForResponse(answer(403), 'GitHub', now, githubLimits);

    // Assess
    expect(undeclared?.error).toBeInstanceOf(ForbiddenError);
    expect(plain?.error).toBeInstanceOf(ForbiddenError);
  });

  it('reads the wait of a 429 from the declared reset header', () => {
    // Prepare
    const headers = { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(now / 1000 + 30) };

    // Act
    const failure = failureForResponse(answer(429, undefined, headers), 'GitHub', now, githubLimits);

    // Assess
    expect(failure?.retryAfterMs).toBe(30_000);
  });

  it('gives a 429 without any hint no retryAfterMs', () => {
    // Act
    const failure = failureForResponse(answer(429), 'Acme', now);

    // Assess
    expect(failure?.retryAfterMs).toBeUndefined();
  });

  it('reads Retry-After on 503 but not on other 5xx', () => {
    // Act
    const unavailable = failureForResponse(answer(503, undefined, { 'retry-after': '2' }), 'Acme', now);
    const broken = failureForResponse(answer(500, undefined, { 'retry-after': '2' }), 'Acme', now);

    // Assess
    expect(unavailable?.retryAfterMs).toBe(2_000);
    expect(broken?.retryAfterMs).toBeUndefined();
  });

  it('never quotes a provider message on auth failures', () => {
    // Act
    const failure = failureForResponse(answer(401, { message: 'token xoxb-123 revoked' }), 'Slack', now);

    // Assess
    expect(failure?.error.message).not.toContain('xoxb');
  });
});

describe('Function: networkError', () => {
  it('names the error code and keeps the original as cause', () => {
    // Prepare
    const cause = Object.assign(new Error('connect ECONNREFUSED 10.0.0.1:443'), { code: 'ECONNREFUSED' });

    // Act
    const error = networkError(cause, 'Stripe');

    // Assess
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.message).toBe('Stripe could not be reached (ECONNREFUSED)');
    expect(error.cause).toBe(cause);
    expect(error.details).toEqual({ provider: 'Stripe' });
  });

  it('falls back to a generic label when the error has no code', () => {
    // Act
    const error = networkError(new Error('socket hang up'), 'Stripe');

    // Assess
    expect(error.message).toBe('Stripe could not be reached (network error)');
  });
});
