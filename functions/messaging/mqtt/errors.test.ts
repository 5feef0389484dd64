/**
 * The MQTT error table: CONNACK return codes (3.1.1) and reason codes (5) as mqtt.js raises them (an
 * Error with a numeric `code`), the client's own conditions and socket failures.
 */
import { ConnectorError, isRetryable, NotFoundError } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { isAuthFailure, isConnectionLost, toMqttError } from './errors.ts';

/** A refusal as mqtt.js raises it: `ErrorWithReasonCode`, the broker's code in `code`. */
const refused = (code: number): Error => Object.assign(new Error(`Connection refused: ${code}`), { code });

describe('Function: toMqttError', () => {
  it.each([
    [1, 'ConfigurationError', 'MQTT_PROTOCOL_VERSION'],
    [2, 'ConfigurationError', 'client id'],
    [3, 'UnavailableError', 'unavailable'],
    [4, 'AuthError', 'user name or password'],
    [5, 'AuthError', 'not authorized'],
    [132, 'ConfigurationError', 'MQTT_PROTOCOL_VERSION'],
    [134, 'AuthError', 'user name or password'],
    [135, 'ForbiddenError', 'not authorized'],
    [136, 'UnavailableError', 'unavailable'],
    [137, 'UnavailableError', 'busy'],
    [139, 'UnavailableError', 'shutting down'],
    [144, 'ConfigurationError', 'topic name'],
    [149, 'ConfigurationError', 'too large'],
    [151, 'UnavailableError', 'quota'],
    [156, 'UnavailableError', 'another server'],
    [157, 'UnavailableError', 'moved'],
    [159, 'RateLimitedError', 'connection rate'],
  ])('maps the broker code %i to %s, naming it', (code, name, words) => {
    // Act
    const mapped = toMqttError(refused(code), 'connect');
    // Assess
    expect(mapped.name).toBe(name);
    expect(mapped.message).toContain(words);
    expect(mapped.message).toContain(`(${code})`);
    expect(mapped.details).toEqual({ provider: 'MQTT', operation: 'connect', code });
  });

  it.each([
    [139, 'Server shutting down', 503],
    [156, 'Use another server', 503],
    [157, 'Server moved', 503],
    [159, 'Connection rate exceeded', 429],
  ])('maps the MQTT 5 refusal %i (%s) as mqtt.js raises it to a retryable error', (code, reason, status) => {
    // Act
    const mapped = toMqttError(
      Object.assign(new Error(`Connection refused: ${reason}`), { code }),
      'connect',
    );
    // Assess
    expect(mapped).toMatchObject({ status, retryable: true, details: { code } });
    expect(isRetryable(mapped)).toBe(true);
    expect(isAuthFailure(mapped.cause)).toBe(false);
  });

  it('maps a lost connection to UnavailableError, by socket code or by the client message', () => {
    // Act
    const reset = toMqttError(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'publish');
    const closed = toMqttError(new Error('Connection closed'), 'publish');
    // Assess
    expect(reset).toMatchObject({ name: 'UnavailableError', details: { code: 'ECONNRESET' } });
    expect(closed).toMatchObject({ name: 'UnavailableError', details: { code: 'connection_lost' } });
  });

  it('answers an unexpected failure for an unknown code or a thrown value, and passes core errors through', () => {
    // Act
    const unknown = toMqttError(refused(999), 'publish');
    const thrown = toMqttError('a string', 'publish');
    const known = new NotFoundError('x');
    // Assess
    expect(unknown).toMatchObject({ name: 'UnexpectedResponseError', details: { code: 'unknown' } });
    expect(thrown).toBeInstanceOf(ConnectorError);
    expect(thrown.message).toBe('MQTT publish failed');
    expect(toMqttError(known, 'publish')).toBe(known);
  });
});

describe('Function: isAuthFailure', () => {
  it('recognises the credential refusals of either protocol version only', () => {
    expect([4, 5, 134, 135].map((code) => isAuthFailure(refused(code)))).toEqual([true, true, true, true]);
    expect([3, 136].map((code) => isAuthFailure(refused(code)))).toEqual([false, false]);
    expect(isAuthFailure(undefined)).toBe(false);
  });
});

describe('Function: isConnectionLost', () => {
  it('recognises socket codes and the client messages of a lost connection', () => {
    expect(isConnectionLost(Object.assign(new Error('x'), { code: 'EPIPE' }))).toBe(true);
    expect(isConnectionLost(new Error('Keepalive timeout'))).toBe(true);
    expect(isConnectionLost(new Error('connack timeout'))).toBe(true);
    expect(isConnectionLost(new Error('something else'))).toBe(false);
    expect(isConnectionLost('Connection closed')).toBe(false);
  });
});
