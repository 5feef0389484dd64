/**
 * NATS's failures as core errors, mapped once: the client's error codes (`503` no responders: no stream
 * listens on the subject; `404` from the JetStream API; `AUTHORIZATION_VIOLATION`; `TIMEOUT`; connection
 * codes), socket failures and TLS verification each pick a core error class.
 */
import {
  AuthError,
  BROKER_NETWORK_CODES,
  ConfigurationError,
  ConnectorError,
  errorCode,
  ForbiddenError,
  NotFoundError,
  PayloadTooLargeError,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import { tlsFailure } from '#shared/sql/errors.ts';

type Make = (
  message: string,
  options: { cause: unknown; details: Record<string, unknown> },
) => ConnectorError;

/** nats-server's default max_payload (1 MiB), the limit a MAX_PAYLOAD_EXCEEDED names without the server's. */
export const DEFAULT_MAX_PAYLOAD = 1_048_576;

const ROWS: Readonly<Record<string, { meaning: string; make: Make }>> = {
  '503': {
    meaning: 'no stream listens on the subject (no responders)',
    make: (m, o) => new NotFoundError(m, o),
  },
  '404': { meaning: 'no such stream or consumer', make: (m, o) => new NotFoundError(m, o) },
  '400': { meaning: 'JetStream refused the request', make: (m, o) => new ValidationError(m, [], o) },
  '409': { meaning: 'JetStream reported a conflict', make: (m, o) => new UnavailableError(m, o) },
  AUTHORIZATION_VIOLATION: {
    meaning: 'the server refused the credentials, even after the secret was read again',
    make: (m, o) => new AuthError(m, o),
  },
  AUTHENTICATION_EXPIRED: { meaning: 'the user JWT expired', make: (m, o) => new AuthError(m, o) },
  PERMISSIONS_VIOLATION: {
    meaning: 'the user may not use that subject',
    make: (m, o) => new ForbiddenError(m, o),
  },
  TIMEOUT: { meaning: 'no answer in time', make: (m, o) => new TimeoutError(m, o) },
  SERVER_OPT_NA: {
    meaning: 'the server offers no TLS while NATS_TLS=verify-full asks for it',
    make: (m, o) => new ConfigurationError(m, o),
  },
  CONNECTION_CLOSED: {
    meaning:
      'the connection closed (a publish may have reached the stream: publishing it again with the same deduplicationId is safe)',
    make: (m, o) => new UnavailableError(m, o),
  },
  CONNECTION_REFUSED: {
    meaning: 'nothing listens at the host and port',
    make: (m, o) => new UnavailableError(m, o),
  },
  CONNECTION_TIMEOUT: {
    meaning: 'the connection was not established in time',
    make: (m, o) => new UnavailableError(m, o),
  },
  DISCONNECT: { meaning: 'the connection broke', make: (m, o) => new UnavailableError(m, o) },
  // The client refuses a message over the max_payload the server announced (the publish checks it first).
  MAX_PAYLOAD_EXCEEDED: {
    meaning: "the message (body and attributes) is larger than the server's max_payload",
    make: (m, o) =>
      new PayloadTooLargeError(DEFAULT_MAX_PAYLOAD, { ...o, message: `${m}: send a smaller body` }),
  },
};

/** The code of a NATS failure: the client's own, or the socket's. */
export function natsCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string') return /^[\w.-]{1,64}$/.test(code) ? code : undefined;
  return errorCode(error);
}

/** The server refused the credentials (they may have rotated). */
export function isAuthFailure(error: unknown): boolean {
  return natsCode(error) === 'AUTHORIZATION_VIOLATION';
}

/** The connection cannot be used any more. */
export function isConnectionLost(error: unknown): boolean {
  const code = natsCode(error) ?? '';
  return (
    BROKER_NETWORK_CODES.has(code) || ['CONNECTION_CLOSED', 'DISCONNECT', 'CONNECTION_REFUSED'].includes(code)
  );
}

/**
 * A client or server failure as a core error; core errors pass through. Messages carry the code and its
 * meaning, never a credential.
 *
 * @example
 * ```ts
 * try { ... } catch (error) { throw toNatsError(error, 'publish'); }
 * ```
 */
export function toNatsError(error: unknown, operation: string): ConnectorError {
  if (error instanceof ConnectorError) return error;
  if (error instanceof Error) {
    const tls = tlsFailure(error, { engine: 'NATS', setting: 'NATS_TLS', hostSetting: 'NATS_HOST' });
    if (tls !== undefined) return new ConfigurationError(tls, { cause: error });
  }
  const raw = natsCode(error) ?? 'unknown';
  const code = BROKER_NETWORK_CODES.has(raw) ? 'CONNECTION_REFUSED' : raw;
  const row = Object.hasOwn(ROWS, code) ? ROWS[code] : undefined;
  const options = { cause: error, details: { provider: 'NATS', operation, code: raw } };
  if (row === undefined) return new UnexpectedResponseError(`NATS ${operation} failed (${raw})`, options);
  return row.make(`NATS ${operation} failed: ${row.meaning} (${raw})`, options);
}
