/**
 * RabbitMQ's failures as core errors, mapped once: AMQP reply codes (a channel or connection the server
 * closed), the handshake's refusal of a vhost, amqplib's own "channel closed", socket failures and TLS
 * verification each pick a core error class, and so the HTTP status, the queue's retry-or-drop and the
 * Step Functions error name. A refused password never gets here: the core's `ReusedConnection` reads the
 * secret again, then throws its own AuthError. The server's reply text names queues and exchanges, never credentials: it is kept.
 */
import {
  BROKER_NETWORK_CODES,
  ConfigurationError,
  ConflictError,
  ConnectorError,
  errorCode,
  ForbiddenError,
  NotFoundError,
  UnavailableError,
  UnexpectedResponseError,
} from '@circle-core/core';
import { tlsFailure } from '#shared/sql/errors.ts';

type Make = (
  message: string,
  options: { cause: unknown; details: Record<string, unknown> },
) => ConnectorError;

/** AMQP 0-9-1 reply codes (the spec's constants) the server closes a channel or connection with. */
const REPLY_CODES: Readonly<Record<number, { meaning: string; make: Make }>> = {
  403: { meaning: "access refused by the user's permissions", make: (m, o) => new ForbiddenError(m, o) },
  404: { meaning: 'no such queue or exchange', make: (m, o) => new NotFoundError(m, o) },
  405: {
    meaning: 'the queue is locked (exclusive to another connection)',
    make: (m, o) => new ConflictError(m, o),
  },
  406: {
    meaning: 'precondition failed (declared with other arguments, or an unknown delivery)',
    make: (m, o) => new ConflictError(m, o),
  },
  320: {
    meaning: 'the server closed the connection (shutdown or an operator)',
    make: (m, o) => new UnavailableError(m, o),
  },
  501: { meaning: 'frame error', make: (m, o) => new UnexpectedResponseError(m, o) },
  506: {
    meaning: 'resource error (the server is out of resources)',
    make: (m, o) => new UnavailableError(m, o),
  },
  530: { meaning: 'not allowed (the vhost or the operation)', make: (m, o) => new ForbiddenError(m, o) },
  541: { meaning: 'internal server error', make: (m, o) => new UnavailableError(m, o) },
};

/** The server's reason, from amqplib's message: `... with message "NOT_FOUND - no queue 'q' in vhost '/'"`. */
function serverText(error: Error): string | undefined {
  return /with message "([^"]{1,300})"/.exec(error.message)?.[1];
}

/** The connection failed because the server refused the user name or password (the secret may have rotated). */
export function isAuthFailure(error: unknown): boolean {
  return error instanceof Error && /ACCESS[-_]REFUSED/.test(error.message) && /Handshake/.test(error.message);
}

/**
 * AMQP 0-9-1 soft errors: the server closes only the channel (content too large, no route, no consumers,
 * access refused, not found, resource locked, precondition failed); the connection and its other channel
 * stay open.
 */
const CHANNEL_ONLY_CODES: ReadonlySet<number> = new Set([311, 312, 313, 403, 404, 405, 406]);

/**
 * The connection (or its channel) cannot be used any more. A channel the server closed with a soft error
 * is not: the connection goes on, and the next use opens that channel again (`connection.ts`).
 */
export function isConnectionLost(error: unknown): boolean {
  if (BROKER_NETWORK_CODES.has(errorCode(error) ?? '')) return true;
  if (!(error instanceof Error)) return false;
  const reply = (error as { code?: unknown }).code;
  if (typeof reply === 'number' && CHANNEL_ONLY_CODES.has(reply)) return false;
  return (
    error.name === 'IllegalOperationError' ||
    /^(channel closed|Connection closed|Socket closed|Unexpected close)/i.test(error.message)
  );
}

/**
 * A driver or server failure as a core error; core errors pass through.
 *
 * @example
 * ```ts
 * try { ... } catch (error) { throw toRabbitmqError(error, 'publish'); }
 * ```
 */
export function toRabbitmqError(error: unknown, operation: string): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const details = (code: string | number): Record<string, unknown> => ({
    provider: 'RabbitMQ',
    operation,
    code,
  });
  if (!(error instanceof Error)) {
    return new UnexpectedResponseError(`RabbitMQ ${operation} failed`, {
      cause: error,
      details: details('unknown'),
    });
  }
  const tls = tlsFailure(error, {
    engine: 'RabbitMQ',
    setting: 'RABBITMQ_TLS',
    hostSetting: 'RABBITMQ_HOST',
  });
  if (tls !== undefined) return new ConfigurationError(tls, { cause: error });
  if (/Expected ConnectionOpenOk/.test(error.message)) {
    return new ForbiddenError(
      `RabbitMQ ${operation} failed: the server refused the virtual host (it does not exist, or the user has no permissions on it; RABBITMQ_VHOST or the secret's vhost)`,
      { cause: error, details: details('NOT_ALLOWED') },
    );
  }
  const reply = (error as { code?: unknown }).code;
  const row = typeof reply === 'number' && Object.hasOwn(REPLY_CODES, reply) ? REPLY_CODES[reply] : undefined;
  if (row !== undefined) {
    const text = serverText(error);
    return row.make(`RabbitMQ ${operation} failed: ${row.meaning}${text === undefined ? '' : ` (${text})`}`, {
      cause: error,
      details: details(reply as number),
    });
  }
  if (isConnectionLost(error)) {
    const code = errorCode(error) ?? 'connection_lost';
    return new UnavailableError(`RabbitMQ ${operation} failed: the connection is unavailable (${code})`, {
      cause: error,
      details: details(code),
    });
  }
  return new UnexpectedResponseError(`RabbitMQ ${operation} failed`, {
    cause: error,
    details: details('unknown'),
  });
}
