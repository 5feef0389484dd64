/**
 * MQTT's failures as core errors, mapped once: CONNACK return codes (MQTT 3.1.1) and reason codes
 * (MQTT 5) of a refused connection, the client's own conditions (closed, timed out), socket failures
 * and TLS verification each pick a core error class.
 */
import {
  AuthError,
  BROKER_NETWORK_CODES,
  ConfigurationError,
  ConnectorError,
  errorCode,
  ForbiddenError,
  RateLimitedError,
  UnavailableError,
  UnexpectedResponseError,
} from '@circle-core/core';
import { tlsFailure } from '#shared/sql/errors.ts';

type Make = (
  message: string,
  options: { cause: unknown; details: Record<string, unknown> },
) => ConnectorError;

/** CONNACK codes: 1-5 in MQTT 3.1.1, 0x80 and up in MQTT 5; and PUBACK reason codes of MQTT 5. */
const CODES: Readonly<Record<number, { meaning: string; make: Make }>> = {
  1: {
    meaning: 'the broker does not speak this protocol version (MQTT_PROTOCOL_VERSION)',
    make: (m, o) => new ConfigurationError(m, o),
  },
  2: { meaning: 'the broker refused the client id', make: (m, o) => new ConfigurationError(m, o) },
  3: { meaning: 'the broker is unavailable', make: (m, o) => new UnavailableError(m, o) },
  4: { meaning: 'the broker refused the user name or password', make: (m, o) => new AuthError(m, o) },
  5: { meaning: 'the broker refused the connection (not authorized)', make: (m, o) => new AuthError(m, o) },
  132: {
    meaning: 'the broker does not speak this protocol version (MQTT_PROTOCOL_VERSION)',
    make: (m, o) => new ConfigurationError(m, o),
  },
  134: { meaning: 'the broker refused the user name or password', make: (m, o) => new AuthError(m, o) },
  135: { meaning: 'not authorized', make: (m, o) => new ForbiddenError(m, o) },
  136: { meaning: 'the broker is unavailable', make: (m, o) => new UnavailableError(m, o) },
  137: { meaning: 'the broker is busy', make: (m, o) => new UnavailableError(m, o) },
  139: { meaning: 'the broker is shutting down', make: (m, o) => new UnavailableError(m, o) },
  144: { meaning: 'the topic name is invalid', make: (m, o) => new ConfigurationError(m, o) },
  149: { meaning: 'the packet is too large for the broker', make: (m, o) => new ConfigurationError(m, o) },
  151: { meaning: 'quota exceeded', make: (m, o) => new UnavailableError(m, o) },
  // A redirect (MQTT 5 server reference): not followed; a later attempt at MQTT_HOST may be accepted.
  156: { meaning: 'the broker asks to use another server', make: (m, o) => new UnavailableError(m, o) },
  157: { meaning: 'the broker has moved', make: (m, o) => new UnavailableError(m, o) },
  159: {
    meaning: "the broker's connection rate limit was exceeded; try again later",
    make: (m, o) => new RateLimitedError(m, o),
  },
};

/** The connection was refused for its credentials (they may have rotated). */
export function isAuthFailure(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return code === 4 || code === 5 || code === 134 || code === 135;
}

/** The connection cannot be used any more. */
export function isConnectionLost(error: unknown): boolean {
  if (BROKER_NETWORK_CODES.has(errorCode(error) ?? '')) return true;
  return (
    error instanceof Error &&
    /^(client disconnecting|Connection closed|connack timeout|Keepalive timeout)/i.test(error.message)
  );
}

/**
 * A client or broker failure as a core error; core errors pass through.
 *
 * @example
 * ```ts
 * try { ... } catch (error) { throw toMqttError(error, 'publish'); }
 * ```
 */
export function toMqttError(error: unknown, operation: string): ConnectorError {
  if (error instanceof ConnectorError) return error;
  if (error instanceof Error) {
    const tls = tlsFailure(error, { engine: 'MQTT', setting: 'MQTT_TLS', hostSetting: 'MQTT_HOST' });
    if (tls !== undefined) return new ConfigurationError(tls, { cause: error });
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  const details = (value: unknown): Record<string, unknown> => ({ provider: 'MQTT', operation, code: value });
  const row = typeof code === 'number' && Object.hasOwn(CODES, code) ? CODES[code] : undefined;
  if (row !== undefined) {
    return row.make(`MQTT ${operation} failed: ${row.meaning} (${code})`, {
      cause: error,
      details: details(code),
    });
  }
  if (isConnectionLost(error)) {
    const lost = errorCode(error) ?? 'connection_lost';
    return new UnavailableError(`MQTT ${operation} failed: the connection is unavailable (${lost})`, {
      cause: error,
      details: details(lost),
    });
  }
  return new UnexpectedResponseError(`MQTT ${operation} failed`, {
    cause: error,
    details: details('unknown'),
  });
}
