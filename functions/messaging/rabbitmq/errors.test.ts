import { ConnectorError, NotFoundError } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { isAuthFailure, isConnectionLost, toRabbitmqError } from './errors.ts';

/** An error as amqplib raises it when the server closes a channel. */
const closed = (code: number, text: string): Error =>
  Object.assign(new Error(`Operation failed: BasicGet; ${code} (X) with message "${text}"`), { code });

describe('Function: toRabbitmqError', () => {
  it.each([
    [403, 'ACCESS_REFUSED - access to queue denied', 'ForbiddenError'],
    [404, "NOT_FOUND - no queue 'q' in vhost '/'", 'NotFoundError'],
    [405, 'RESOURCE_LOCKED - cannot obtain exclusive access', 'ConflictError'],
    [406, 'PRECONDITION_FAILED - unknown delivery tag 7', 'ConflictError'],
    [320, 'CONNECTION_FORCED - broker forced connection closure', 'UnavailableError'],
    [501, 'FRAME_ERROR', 'UnexpectedResponseError'],
    [506, 'RESOURCE_ERROR', 'UnavailableError'],
    [530, 'NOT_ALLOWED - vhost not found', 'ForbiddenError'],
    [541, 'INTERNAL_ERROR', 'UnavailableError'],
  ])('maps the AMQP reply code %i to a core error, keeping the server text', (code, text, name) => {
    // Act
    const mapped = toRabbitmqError(closed(code, text), 'receive');
    // Assess
    expect(mapped.name).toBe(name);
    expect(mapped.message).toContain(text);
    expect(mapped.details).toEqual({ provider: 'RabbitMQ', operation: 'receive', code });
  });

  it('maps a reply code without the server text to its meaning alone', () => {
    // Act
    const mapped = toRabbitmqError(
      Object.assign(new Error('Channel closed by server: 404'), { code: 404 }),
      'publish',
    );
    // Assess
    expect(mapped).toMatchObject({
      name: 'NotFoundError',
      message: 'RabbitMQ publish failed: no such queue or exchange',
    });
  });

  it('maps socket failures and a closed channel to UnavailableError, and anything else to an unexpected answer', () => {
    // Act
    const refused = toRabbitmqError(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), 'publish');
    const channel = toRabbitmqError(new Error('channel closed'), 'publish');
    const strange = toRabbitmqError(new Error('what'), 'publish');
    const thrown = toRabbitmqError('a string', 'publish');
    const known = new NotFoundError('x');
    // Assess
    expect(refused).toMatchObject({ name: 'UnavailableError', details: { code: 'ECONNREFUSED' } });
    expect(channel).toMatchObject({ name: 'UnavailableError', details: { code: 'connection_lost' } });
    expect(strange).toMatchObject({ name: 'UnexpectedResponseError', message: 'RabbitMQ publish failed' });
    expect(thrown).toBeInstanceOf(ConnectorError);
    expect(toRabbitmqError(known, 'publish')).toBe(known);
  });
});

describe('Function: isAuthFailure', () => {
  it('recognises the handshake refusal only', () => {
    expect(isAuthFailure(new Error('Handshake terminated by server: 403 (ACCESS-REFUSED)'))).toBe(true);
    expect(isAuthFailure(closed(403, 'ACCESS_REFUSED - queue'))).toBe(false);
    expect(isAuthFailure('ACCESS-REFUSED')).toBe(false);
  });
});

describe('Function: isConnectionLost', () => {
  it('recognises socket codes, closed channels and illegal operations', () => {
    const illegal = Object.assign(new Error('Channel closed'), { name: 'IllegalOperationError' });
    expect(isConnectionLost(Object.assign(new Error('x'), { code: 'EPIPE' }))).toBe(true);
    expect(isConnectionLost(illegal)).toBe(true);
    expect(isConnectionLost(new Error('Connection closed: 320'))).toBe(true);
    expect(isConnectionLost(closed(404, 'NOT_FOUND'))).toBe(false);
    // The channel's own close event after a soft error: the connection goes on.
    const channelClosed = (code: number): Error =>
      Object.assign(new Error(`Channel closed by server: ${code} (X) with message "X"`), { code });
    expect(isConnectionLost(channelClosed(404))).toBe(false);
    expect(isConnectionLost(channelClosed(406))).toBe(false);
    expect(isConnectionLost(undefined)).toBe(false);
  });
});
