import {
  AuthError,
  awsFailure,
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
} from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { s3Target } from './errors.ts';

const target = { ...s3Target('GetObject', 'data', 'a.txt'), budgetMs: 1000 };

function sdkError(name: string, status?: number, extra: Record<string, unknown> = {}): Error {
  const error = new Error(`scripted ${name}`);
  error.name = name;
  return Object.assign(error, status === undefined ? {} : { $metadata: { httpStatusCode: status } }, extra);
}

describe('Function: awsFailure with S3 rows', () => {
  it('passes connector errors through unchanged', () => {
    // Prepare
    const original = new ConflictError('already mapped');
    // Act
    const mapped = awsFailure(target, original);
    // Assess
    expect(mapped).toBe(original);
  });

  it('maps S3 request errors to ValidationError and unknown 4xx to UnexpectedResponseError', () => {
    // Act
    const invalid = awsFailure(target, sdkError('KeyTooLongError', 400));
    const unknown = awsFailure(target, sdkError('MalformedXML', 400));
    // Assess
    expect(invalid).toBeInstanceOf(ValidationError);
    expect(invalid.message).toBe('S3 GetObject on object "a.txt" in bucket "data" failed (KeyTooLongError)');
    expect(unknown).toBeInstanceOf(UnexpectedResponseError);
    expect(unknown.details).toEqual({
      service: 'S3',
      action: 'GetObject',
      awsError: 'MalformedXML',
      httpStatus: 400,
      bucket: 'data',
    });
  });

  it('maps 429 to RateLimitedError carrying Retry-After', () => {
    // Prepare
    const error = sdkError('TooManyRequests', 429, { $response: { headers: { 'retry-after': '3' } } });
    // Act
    const mapped = awsFailure(target, error);
    // Assess
    expect(mapped).toBeInstanceOf(RateLimitedError);
    expect((mapped as RateLimitedError).retryAfterMs).toBe(3000);
  });

  it('maps S3 throttling codes to RateLimitedError, whatever the status', () => {
    expect(awsFailure(target, sdkError('SlowDown', 503))).toBeInstanceOf(RateLimitedError);
    expect(awsFailure(target, sdkError('BandwidthLimitExceeded', 400))).toBeInstanceOf(RateLimitedError);
  });

  it('maps refused credentials to AuthError and a denial, with or without a code, to ForbiddenError', () => {
    // Act
    const refused = awsFailure(target, sdkError('InvalidAccessKeyId', 403));
    const denied = awsFailure(target, sdkError('AccessDenied', 403));
    const bare = awsFailure(target, sdkError('403', 403));
    // Assess
    expect(refused).toBeInstanceOf(AuthError);
    expect(refused).not.toBeInstanceOf(ForbiddenError);
    expect(denied).toBeInstanceOf(ForbiddenError);
    expect(bare).toBeInstanceOf(ForbiddenError);
  });

  it('maps socket failures to UnavailableError and socket timeouts to TimeoutError', () => {
    // Act
    const hangUp = awsFailure(target, new Error('socket hang up'));
    const reset = awsFailure(target, Object.assign(new Error('read'), { code: 'ECONNRESET' }));
    const timedOut = awsFailure(target, Object.assign(new Error('connect'), { code: 'ETIMEDOUT' }));
    // Assess
    expect(hangUp).toBeInstanceOf(UnavailableError);
    expect(reset).toBeInstanceOf(UnavailableError);
    expect(timedOut).toBeInstanceOf(TimeoutError);
    expect(timedOut.message).toBe('S3 GetObject timed out after 1000 ms');
  });

  it('names the object for NoSuchKey and the bucket for a 404 on a bucket-level call', () => {
    // Act
    const key = awsFailure(target, sdkError('NoSuchKey', 404));
    const bucket = awsFailure(s3Target('HeadBucket', 'data'), sdkError('NotFound', 404));
    // Assess
    expect(key).toBeInstanceOf(NotFoundError);
    expect(key.message).toBe('object "a.txt" in bucket "data" was not found');
    expect(bucket).toBeInstanceOf(NotFoundError);
    expect(bucket.message).toBe('bucket "data" was not found');
  });

  it('names the bucket S3 reports for NoSuchBucket, else the bucket of the call', () => {
    // Act
    const reported = awsFailure(target, sdkError('NoSuchBucket', 404, { BucketName: 'ghost' }));
    const unnamed = awsFailure(target, sdkError('NoSuchBucket', 404));
    // Assess
    expect(reported).toBeInstanceOf(NotFoundError);
    expect(reported.message).toBe('bucket "ghost" was not found');
    expect(unnamed.message).toBe('bucket "data" was not found');
  });

  it('maps a 501 without a code (an answer to HEAD has no body) like NotImplemented', () => {
    // Act
    const bare = awsFailure(target, sdkError('501', 501));
    const named = awsFailure(target, sdkError('NotImplemented', 501));
    // Assess
    expect(bare).toBeInstanceOf(NotSupportedError);
    expect(named).toBeInstanceOf(NotSupportedError);
    expect(named.retryable).toBe(false);
    expect(named.message).toBe(
      'S3 GetObject on object "a.txt" in bucket "data" failed (NotImplemented): the store does not implement a header this request sends',
    );
  });

  it('wraps anything else as an unexposed ConnectorError keeping the cause', () => {
    // Prepare
    const thrown = 'a string';
    // Act
    const mapped = awsFailure(target, thrown);
    // Assess
    expect(mapped).toBeInstanceOf(ConnectorError);
    expect(mapped.expose).toBe(false);
    expect(mapped.cause).toBe(thrown);
  });
});
