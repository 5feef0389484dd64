import { describe, expect, it } from 'vitest';
import { withInvocation } from '../context.ts';
import {
  ConfigurationError,
  ConflictError,
  NotFoundError,
  RateLimitedError,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '../errors.ts';
import { awsCall } from './call.ts';
import { awsClientConfig } from './client.ts';
import { awsErrorName, awsFailure } from './errors.ts';

const target = { service: 'SQS', action: 'SendMessage' };

function sdkError(name: string, status?: number, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error('secret detail from the service'), {
    name,
    ...(status === undefined ? {} : { $metadata: { httpStatusCode: status } }),
    ...extra,
  });
}

describe('Function: awsFailure', () => {
  it.each([
    ['ThrottlingException', 400, RateLimitedError],
    ['SlowDown', 503, RateLimitedError],
    ['ProvisionedThroughputExceededException', 400, RateLimitedError],
    ['AccessDeniedException', 400, ConfigurationError],
    ['UnrecognizedClientException', 400, ConfigurationError],
    ['ServiceUnavailable', 503, UnavailableError],
    ['InternalFailure', 500, UnavailableError],
    ['AbortError', undefined, TimeoutError],
    ['SomethingNew', 404, NotFoundError],
    ['SomethingNew', 409, ConflictError],
    ['SomethingNew', 412, ConflictError],
    ['SomethingNew', 429, RateLimitedError],
    ['SomethingNew', 403, ConfigurationError],
    ['SomethingNew', 502, UnavailableError],
    ['SomethingNew', 400, UnexpectedResponseError],
  ] as const)('maps %s (status %s) to %o', (name, status, expected) => {
    expect(awsFailure(target, sdkError(name, status))).toBeInstanceOf(expected);
  });

  it('lets a service table override the shared rows and carry a hint', () => {
    // Act
    const error = awsFailure(
      { ...target, table: { ThrottlingException: { kind: 'validation', hint: 'shorten the batch' } } },
      sdkError('ThrottlingException', 400),
    );
    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe('SQS SendMessage failed (ThrottlingException): shorten the batch');
  });

  it('does not treat Object.prototype names as table rows', () => {
    expect(awsFailure(target, sdkError('constructor', 400))).toBeInstanceOf(UnexpectedResponseError);
  });

  it('maps network failures by their code, naming the code', () => {
    // Act
    const error = awsFailure(
      target,
      Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
    );
    // Assess
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.message).toBe('SQS SendMessage failed (ECONNREFUSED)');
  });

  it('names the service, action and AWS error, never the message, and keeps the cause', () => {
    // Act
    const raw = sdkError('ThrottlingException', 400);
    const error = awsFailure({ ...target, details: { queue: 'events' } }, raw);
    // Assess
    expect(error.message).toBe('SQS SendMessage failed (ThrottlingException)');
    expect(error.message).not.toContain('secret detail');
    expect(error.cause).toBe(raw);
    expect(error.details).toEqual({
      service: 'SQS',
      action: 'SendMessage',
      awsError: 'ThrottlingException',
      queue: 'events',
    });
  });

  it('names the IAM role for a configuration failure without a hint of its own', () => {
    expect(awsFailure(target, sdkError('Whatever', 403)).message).toBe(
      "SQS SendMessage failed (Whatever): check the connector's settings and its IAM role",
    );
  });

  it('passes core errors through unchanged', () => {
    const original = new ValidationError('bad');
    expect(awsFailure(target, original)).toBe(original);
  });

  it('reads the name of anything thrown', () => {
    expect(awsErrorName('text')).toBe('UnknownError');
    expect(awsErrorName(sdkError('X'))).toBe('X');
  });
});

describe('Function: awsCall', () => {
  it('hands the call an abort signal bounded by the time left, and returns its result', async () => {
    // Act
    let signal: AbortSignal | undefined;
    const result = await withInvocation({ deadline: Date.now() + 60_000, correlationId: 'c' }, () =>
      awsCall({ ...target, timeoutMs: 1_000 }, async (abortSignal) => {
        signal = abortSignal;
        return 'sent';
      }),
    );
    // Assess
    expect(result).toBe('sent');
    expect(signal?.aborted).toBe(false);
  });

  it('maps a failure with the budget in a timeout message', async () => {
    // Act
    const error = await awsCall({ ...target, timeoutMs: 1_234 }, () =>
      Promise.reject(sdkError('AbortError')),
    ).catch((e: unknown) => e);
    // Assess
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe('SQS SendMessage timed out after 1234 ms');
  });

  it('refuses to start a call when the invocation has no time left', async () => {
    // Act
    let called = false;
    const error = await withInvocation({ deadline: Date.now() + 150, correlationId: 'c' }, () =>
      awsCall(target, async () => {
        called = true;
      }),
    ).catch((e: unknown) => e);
    // Assess
    expect(called).toBe(false);
    expect(error).toBeInstanceOf(TimeoutError);
  });
});

describe('Function: awsClientConfig', () => {
  it('bounds connection and request time and attempts by default', () => {
    expect(awsClientConfig()).toEqual({
      requestHandler: { connectionTimeout: 3_000, requestTimeout: 5_000 },
      maxAttempts: 3,
    });
  });

  it('takes an endpoint and service options', () => {
    expect(
      awsClientConfig({ endpoint: 'http://127.0.0.1:4566', maxAttempts: 1, extra: { forcePathStyle: true } }),
    ).toMatchObject({ endpoint: 'http://127.0.0.1:4566', maxAttempts: 1, forcePathStyle: true });
  });
});
