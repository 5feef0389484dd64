import {
  ConflictError,
  ConnectorError,
  NotFoundError,
  RateLimitedError,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { toS3Error } from './errors.ts';

const target = { command: 'GetObject', bucket: 'data', key: 'a.txt', budgetMs: 1000 };

function sdkError(name: string, status?: number, extra: Record<string, unknown> = {}): Error {
  const error = new Error(`scripted ${name}`);
  error.name = name;
  return Object.assign(error, status === undefined ? {} : { $metadata: { httpStatusCode: status } }, extra);
}

describe('Function: toS3Error', () => {
  it('passes connector errors through unchanged', () => {
    // Prepare
    const original = new ConflictError('already mapped');
    // Act
    const mapped = toS3Error(original, target);
    // Assess
    expect(mapped).toBe(original);
  });

  it('maps S3 request errors to ValidationError and unknown 4xx to UnexpectedResponseError', () => {
    // Act
    const invalid = toS3Error(sdkError('KeyTooLongError', 400), target);
    const unknown = toS3Error(sdkError('MalformedXML', 400), target);
    // Assess
    expect(invalid).toBeInstanceOf(ValidationError);
    expect(invalid.message).toBe(
      'S3 rejected GetObject on object "a.txt" in bucket "data" (KeyTooLongError)',
    );
    expect(unknown).toBeInstanceOf(UnexpectedResponseError);
    expect(unknown.details).toEqual({ command: 'GetObject', s3Code: 'MalformedXML', httpStatus: 400 });
  });

  it('maps 429 to RateLimitedError carrying Retry-After', () => {
    // Prepare
    const error = sdkError('TooManyRequests', 429, { $response: { headers: { 'retry-after': '3' } } });
    // Act
    const mapped = toS3Error(error, target);
    // Assess
    expect(mapped).toBeInstanceOf(RateLimitedError);
    expect((mapped as RateLimitedError).retryAfterMs).toBe(3000);
  });

  it('maps socket failures to UnavailableError and socket timeouts to TimeoutError', () => {
    // Act
    const hangUp = toS3Error(new Error('socket hang up'), target);
    const reset = toS3Error(Object.assign(new Error('read'), { code: 'ECONNRESET' }), target);
    const timedOut = toS3Error(Object.assign(new Error('connect'), { code: 'ETIMEDOUT' }), target);
    // Assess
    expect(hangUp).toBeInstanceOf(UnavailableError);
    expect(reset).toBeInstanceOf(UnavailableError);
    expect(timedOut).toBeInstanceOf(TimeoutError);
    expect(timedOut.message).toBe('S3 GetObject timed out after 1000 ms');
  });

  it('names the bucket for a 404 on a bucket-level call', () => {
    // Act
    const mapped = toS3Error(sdkError('NotFound', 404), {
      command: 'HeadBucket',
      bucket: 'data',
      budgetMs: 1,
    });
    // Assess
    expect(mapped).toBeInstanceOf(NotFoundError);
    expect(mapped.message).toBe('Bucket "data" was not found');
  });

  it('wraps anything else as an unexposed ConnectorError keeping the cause', () => {
    // Prepare
    const thrown = 'a string';
    // Act
    const mapped = toS3Error(thrown, target);
    // Assess
    expect(mapped).toBeInstanceOf(ConnectorError);
    expect(mapped.expose).toBe(false);
    expect(mapped.cause).toBe(thrown);
  });
});
