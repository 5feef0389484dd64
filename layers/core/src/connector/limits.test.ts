import { describe, expect, it } from 'vitest';
import { PayloadTooLargeError } from '../errors.ts';
import {
  assertResponseFits,
  LAMBDA_RESPONSE_LIMIT_BYTES,
  responseLimit,
  STATE_LIMIT_BYTES,
  serialisedBytes,
} from './limits.ts';

describe('Function: responseLimit', () => {
  it.each([
    ['http', LAMBDA_RESPONSE_LIMIT_BYTES],
    ['direct', LAMBDA_RESPONSE_LIMIT_BYTES],
    ['task', STATE_LIMIT_BYTES],
    ['sqs', undefined],
    ['schedule', undefined],
  ] as const)('gives %s the limit %s', (trigger, limit) => {
    expect(responseLimit(trigger)).toBe(limit);
  });

  it('uses the AWS figures: 6 MB for Lambda, 256 KiB for a state', () => {
    expect(LAMBDA_RESPONSE_LIMIT_BYTES).toBe(6 * 1024 * 1024);
    expect(STATE_LIMIT_BYTES).toBe(256 * 1024);
  });
});

describe('Function: assertResponseFits', () => {
  it('accepts an answer of exactly the limit', () => {
    expect(() => assertResponseFits('query', 'task', STATE_LIMIT_BYTES)).not.toThrow();
  });

  it('refuses one byte more with a problem naming the operation, the size and the carrier', () => {
    // Act
    let error: unknown;
    try {
      assertResponseFits('query', 'task', STATE_LIMIT_BYTES + 1);
    } catch (caught) {
      error = caught;
    }
    // Assess
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect((error as PayloadTooLargeError).message).toBe(
      'The answer of query is 262145 bytes, over the 262144-byte limit of a Step Functions state: ask for less (a smaller page, limit or selection)',
    );
    expect((error as PayloadTooLargeError).details).toEqual({
      operation: 'query',
      bytes: STATE_LIMIT_BYTES + 1,
      limitBytes: STATE_LIMIT_BYTES,
    });
  });

  it('names a synchronous Lambda response for HTTP', () => {
    expect(() => assertResponseFits('get-object', 'http', LAMBDA_RESPONSE_LIMIT_BYTES + 1)).toThrow(
      /limit of a synchronous Lambda response/,
    );
  });

  it('never limits queue and schedule answers, which nobody receives', () => {
    expect(() => assertResponseFits('query', 'sqs', 10 * LAMBDA_RESPONSE_LIMIT_BYTES)).not.toThrow();
    expect(() => assertResponseFits('query', 'schedule', 10 * LAMBDA_RESPONSE_LIMIT_BYTES)).not.toThrow();
  });
});

describe('Function: serialisedBytes', () => {
  it('counts UTF-8 bytes of the JSON', () => {
    expect(serialisedBytes({ a: 'é' })).toBe(10);
  });

  it('counts nothing for undefined', () => {
    expect(serialisedBytes(undefined)).toBe(0);
  });
});
