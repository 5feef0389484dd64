import { describe, expect, it } from 'vitest';
import { withInvocation } from '../context.ts';
import {
  AuthError,
  ConfigurationError,
  ConflictError,
  ConnectorError,
  ForbiddenError,
  NotFoundError,
  NotSupportedError,
  RateLimitedError,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '../errors.ts';
import { awsCall } from './call.ts';
import { awsClientConfig } from './client.ts';
import { awsEntryFailure, awsErrorName, awsFailure } from './errors.ts';

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

  it('maps the kind not-supported to a NotSupportedError that is not retried', () => {
    // Act
    const error = awsFailure(
      { ...target, table: { NotImplemented: 'not-supported' } },
      sdkError('NotImplemented', 501),
    );
    // Assess
    expect(error).toBeInstanceOf(NotSupportedError);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe('SQS SendMessage failed (NotImplemented)');
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

  it.each([
    ['ENETDOWN', 'connect ENETDOWN 52.94.0.1:443'],
    ['ECONNABORTED', 'read ECONNABORTED'],
  ])('maps the unanswered network failure %s as retryable unavailable', (code, message) => {
    // Act
    const error = awsFailure(target, Object.assign(new Error(message), { code, syscall: 'connect' }));
    // Assess
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.retryable).toBe(true);
  });

  it('maps a reused socket closed under the call by its code, though the SDK names it TimeoutError', () => {
    // Act
    const hangUp = Object.assign(new Error('socket hang up'), {
      name: 'TimeoutError',
      code: 'ECONNRESET',
      $metadata: { attempts: 1 },
    });
    const error = awsFailure(target, hangUp);
    // Assess
    expect(error).toBeInstanceOf(UnavailableError);
    expect(error.message).toBe('SQS SendMessage failed (ECONNRESET)');
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
      httpStatus: 400,
      queue: 'events',
    });
  });

  it('names the IAM role for a configuration failure without a hint of its own', () => {
    expect(awsFailure(target, sdkError('Whatever', 403)).message).toBe(
      "SQS SendMessage failed (Whatever): check the connector's settings and its IAM role",
    );
  });

  it('maps the kinds auth and forbidden to AuthError and ForbiddenError', () => {
    // Prepare
    const table = { InvalidAccessKeyId: 'auth', AccessDenied: 'forbidden' } as const;
    // Act
    const refused = awsFailure({ ...target, table }, sdkError('InvalidAccessKeyId', 403));
    const denied = awsFailure({ ...target, table }, sdkError('AccessDenied', 403));
    // Assess
    expect(refused).toBeInstanceOf(AuthError);
    expect(refused).not.toBeInstanceOf(ForbiddenError);
    expect(refused.message).toBe('SQS SendMessage failed (InvalidAccessKeyId): AWS rejected the credentials');
    expect(denied).toBeInstanceOf(ForbiddenError);
  });

  it('looks rows up by name, then Node error code, then HTTP status', () => {
    // Prepare
    const table = { '403': 'forbidden', Named: 'conflict' } as const;
    // Act
    const byStatus = awsFailure({ ...target, table }, sdkError('SomethingNew', 403));
    const byName = awsFailure({ ...target, table }, sdkError('Named', 403));
    const byCode = awsFailure(target, Object.assign(new Error('connect'), { code: 'ETIMEDOUT' }));
    // Assess
    expect(byStatus).toBeInstanceOf(ForbiddenError);
    expect(byName).toBeInstanceOf(ConflictError);
    expect(byCode).toBeInstanceOf(TimeoutError);
  });

  it('names the resource in messages, and says what happened to it where a row (or not-found) does', () => {
    // Prepare
    const on = { ...target, resource: 'queue "events"' };
    const table = { Gone: { kind: 'configuration', says: 'is gone', hint: 'create it' } } as const;
    // Act
    const failed = awsFailure(on, sdkError('InternalFailure', 500));
    const missing = awsFailure(on, sdkError('SomethingNew', 404));
    const said = awsFailure({ ...on, table }, sdkError('Gone', 400));
    // Assess
    expect(failed.message).toBe('SQS SendMessage on queue "events" failed (InternalFailure)');
    expect(missing).toBeInstanceOf(NotFoundError);
    expect(missing.message).toBe('queue "events" was not found');
    expect(said).toBeInstanceOf(ConfigurationError);
    expect(said.message).toBe('queue "events" is gone: create it');
  });

  it("takes the resource from the error when the row reads it there, else the target's", () => {
    // Prepare
    const table = {
      NoSuchThing: {
        kind: 'not-found',
        resource: (error: unknown) => `thing "${(error as { Thing?: string }).Thing}"`,
      },
    } as const;
    // Act
    const error = awsFailure(
      { ...target, table, resource: 'queue "events"' },
      sdkError('NoSuchThing', 404, { Thing: 'other' }),
    );
    // Assess
    expect(error.message).toBe('thing "other" was not found');
  });

  it('maps a request the SDK cannot build to ValidationError only when it carries the caller input', () => {
    // Prepare
    const unencodable = new URIError('URI malformed');
    const badHeader = Object.assign(new TypeError('Invalid character in header content'), {
      code: 'ERR_INVALID_CHAR',
    });
    // Act
    const fromInput = awsFailure({ ...target, callerInput: true }, unencodable);
    const headerFromInput = awsFailure({ ...target, callerInput: true }, badHeader);
    const ours = awsFailure(target, unencodable);
    // Assess
    expect(fromInput).toBeInstanceOf(ValidationError);
    expect(fromInput.message).toBe(
      'SQS SendMessage failed (URIError): the input has text a request cannot carry',
    );
    expect(headerFromInput).toBeInstanceOf(ValidationError);
    expect(ours).not.toBeInstanceOf(ValidationError);
    expect(ours.expose).toBe(false);
  });

  it('maps a socket failure without a code to UnavailableError', () => {
    expect(awsFailure(target, new Error('socket hang up'))).toBeInstanceOf(UnavailableError);
  });

  it('carries Retry-After, the status and the request id', () => {
    // Act
    const error = awsFailure(
      target,
      sdkError('SlowDown', 503, {
        $metadata: { httpStatusCode: 503, requestId: 'req-1' },
        $response: { headers: { 'retry-after': '2' } },
      }),
    );
    // Assess
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterMs).toBe(2000);
    expect(error.details).toMatchObject({ httpStatus: 503, requestId: 'req-1' });
  });

  it('says an answer that failed with a 2xx could not be read', () => {
    // Act
    const error = awsFailure(target, sdkError('SyntaxError', 200));
    // Assess
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error.message).toBe('SQS SendMessage failed (SyntaxError): the answer could not be read');
  });

  it('wraps an unclassified failure without an answer as an unexposed ConnectorError', () => {
    // Act
    const error = awsFailure(target, 'a string');
    // Assess
    expect(error.constructor).toBe(ConnectorError);
    expect(error.expose).toBe(false);
    expect(error.cause).toBe('a string');
  });

  it.each([
    ['ResourceNotFoundException', 'secret app/x was not found'],
    [
      'AccessDeniedException',
      "Secrets Manager GetSecretValue on secret app/x failed (AccessDeniedException): the function's role needs secretsmanager:GetSecretValue on it (and kms:Decrypt on its key when it uses a customer managed KMS key)",
    ],
    [
      'SomeFutureClientException',
      "Secrets Manager GetSecretValue on secret app/x failed (SomeFutureClientException): check the connector's settings and its IAM role",
    ],
  ])('maps Secrets Manager %s to a ConfigurationError naming the secret', (name, message) => {
    // Act
    const error = awsFailure(
      { service: 'Secrets Manager', action: 'GetSecretValue', resource: 'secret app/x' },
      sdkError(name, 400),
    );
    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(message);
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

describe('Function: awsEntryFailure', () => {
  it("maps a refused batch entry by the service's rows, a sender's fault as a 4xx and the service's as a 5xx", () => {
    // Prepare
    const table = { InvalidMessageContents: 'validation' } as const;
    const on = { service: 'SQS', action: 'SendMessageBatch', table, resource: 'queue "jobs"' };
    // Act
    const invalid = awsEntryFailure(on, 'InvalidMessageContents');
    const throttled = awsEntryFailure(on, 'ThrottlingException');
    const internal = awsEntryFailure(on, 'SomethingBroke', false);
    const unknown = awsEntryFailure(on, 'SomethingNew');
    // Assess
    expect(invalid).toBeInstanceOf(ValidationError);
    expect(invalid.message).toBe('SQS SendMessageBatch on queue "jobs" failed (InvalidMessageContents)');
    expect(throttled).toBeInstanceOf(RateLimitedError);
    expect(internal).toBeInstanceOf(UnavailableError);
    expect(unknown).toBeInstanceOf(ValidationError);
    expect(unknown.message).toBe('SQS SendMessageBatch on queue "jobs" failed (SomethingNew)');
    expect(unknown.retryable).toBe(false);
  });

  it('keeps a 502 for a code no row lists when the service answers it for a whole call', () => {
    // Only an entry refused beside accepted ones is told apart by its own content
    const error = awsFailure(target, sdkError('SomethingNew', 400, { $fault: 'client' }));
    expect(error).toBeInstanceOf(UnexpectedResponseError);
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

  it('retries a retryable failure by the core policy, waiting as Retry-After says', async () => {
    // Prepare
    const failures = [
      sdkError('ThrottlingException', 429, { $response: { headers: { 'retry-after': '0.05' } } }),
      sdkError('ServiceUnavailableException', 503),
    ];
    const at: number[] = [];
    // Act
    const result = await awsCall({ ...target, retry: { maxAttempts: 3, baseDelayMs: 1 } }, async () => {
      at.push(Date.now());
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      return 'sent';
    });
    // Assess
    expect(result).toBe('sent');
    expect(at).toHaveLength(3);
    expect((at[1] ?? 0) - (at[0] ?? 0)).toBeGreaterThanOrEqual(45);
  });

  it('does not retry a refused request, and stops after maxAttempts', async () => {
    // Prepare
    let refused = 0;
    let throttled = 0;
    // Act
    const validation = await awsCall({ ...target, retry: { maxAttempts: 3 } }, async () => {
      refused += 1;
      throw sdkError('ValidationException', 400);
    }).catch((e: unknown) => e);
    const limited = await awsCall({ ...target, retry: { maxAttempts: 2, baseDelayMs: 1 } }, async () => {
      throttled += 1;
      throw sdkError('ThrottlingException', 429);
    }).catch((e: unknown) => e);
    // Assess
    expect(refused).toBe(1);
    expect(validation).not.toBeInstanceOf(RateLimitedError);
    expect(throttled).toBe(2);
    expect(limited).toBeInstanceOf(RateLimitedError);
  });

  it('does not wait longer than the time left allows', async () => {
    // Prepare
    let calls = 0;
    // Act
    const error = await withInvocation({ deadline: Date.now() + 2_000, correlationId: 'c' }, () =>
      awsCall({ ...target, retry: { maxAttempts: 3, maxDelayMs: 60_000 } }, async () => {
        calls += 1;
        throw sdkError('ThrottlingException', 429, { $response: { headers: { 'retry-after': '30' } } });
      }),
    ).catch((e: unknown) => e);
    // Assess
    expect(calls).toBe(1);
    expect(error).toBeInstanceOf(RateLimitedError);
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
