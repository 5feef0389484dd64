import { ConnectorError, NotFoundError } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { isAuthFailure, isConnectionLost, natsCode, toNatsError } from './errors.ts';

const failure = (code: unknown, message = 'nats failure'): Error =>
  Object.assign(new Error(message), { code });

describe('Function: toNatsError', () => {
  it.each([
    ['503', 'NotFoundError'],
    ['404', 'NotFoundError'],
    ['400', 'ValidationError'],
    ['409', 'UnavailableError'],
    ['AUTHORIZATION_VIOLATION', 'AuthError'],
    ['AUTHENTICATION_EXPIRED', 'AuthError'],
    ['PERMISSIONS_VIOLATION', 'ForbiddenError'],
    ['TIMEOUT', 'TimeoutError'],
    ['SERVER_OPT_NA', 'ConfigurationError'],
    ['CONNECTION_CLOSED', 'UnavailableError'],
    ['CONNECTION_REFUSED', 'UnavailableError'],
    ['CONNECTION_TIMEOUT', 'UnavailableError'],
    ['DISCONNECT', 'UnavailableError'],
    ['ECONNRESET', 'UnavailableError'],
    ['SOMETHING_NEW', 'UnexpectedResponseError'],
  ])('maps the code %s to %s, naming it', (code, name) => {
    // Act
    const mapped = toNatsError(failure(code), 'publish');
    // Assess
    expect(mapped.name).toBe(name);
    expect(mapped.message).toContain(`(${code})`);
    expect(mapped.details).toEqual({ provider: 'NATS', operation: 'publish', code });
  });

  it('names the TLS setting when the server certificate is not trusted', () => {
    // Act
    const mapped = toNatsError(failure('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate'), 'connect');
    // Assess
    expect(mapped).toMatchObject({ name: 'ConfigurationError' });
    expect(mapped.message).toContain('NATS_TLS=verify-full');
  });

  it('passes core errors through, and wraps a thrown value without a code', () => {
    const known = new NotFoundError('x');
    expect(toNatsError(known, 'publish')).toBe(known);
    expect(toNatsError('text', 'publish')).toBeInstanceOf(ConnectorError);
    expect(toNatsError('text', 'publish').message).toBe('NATS publish failed (unknown)');
  });
});

describe('Function: natsCode', () => {
  it('reads the client code, refuses odd ones, and falls back to a socket cause', () => {
    const socket = Object.assign(new Error('connect'), { code: 'ECONNREFUSED' });
    expect(natsCode(failure('503'))).toBe('503');
    expect(natsCode(failure('bad code with spaces'))).toBeUndefined();
    expect(natsCode(new Error('wrapped', { cause: socket }))).toBe('ECONNREFUSED');
  });
});

describe('Functions: isAuthFailure, isConnectionLost', () => {
  it('recognise an authorization violation and lost connections only', () => {
    expect(isAuthFailure(failure('AUTHORIZATION_VIOLATION'))).toBe(true);
    expect(isAuthFailure(failure('503'))).toBe(false);
    expect(isConnectionLost(failure('CONNECTION_CLOSED'))).toBe(true);
    expect(isConnectionLost(failure('EPIPE'))).toBe(true);
    expect(isConnectionLost(failure('404'))).toBe(false);
    expect(isConnectionLost(new Error('no code at all'))).toBe(false);
  });
});
