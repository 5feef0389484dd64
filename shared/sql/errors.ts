/**
 * Failure facts every SQL connector shares whatever its driver: which statement of a batch failed, which
 * socket errors mean the connection is gone, and what a TLS verification failure means and which setting
 * fixes it. The engine's own error table stays in its connector.
 */
import { ForbiddenError } from '@circle-core/core';

/**
 * A statement of a batch failed: carries its 0-based index to the error mapping, and the driver's error
 * unchanged so the connection logic can still tell a lost connection from an SQL error.
 *
 * @example
 * ```ts
 * try { await session.run(sql, params); } catch (error) { throw new StatementFailure(index, error); }
 * ```
 */
export class StatementFailure extends Error {
  readonly index: number;
  constructor(index: number, cause: unknown) {
    super(`Statement ${index} failed`, { cause });
    this.name = 'StatementFailure';
    this.index = index;
  }
}

/** Where a SQL failure happened, for the message and `details`. */
export interface FailureContext {
  /** The connector refuses writes (its `<PREFIX>_READ_ONLY=true` setting). */
  readOnly: boolean;
  /** 0-based index of the failing statement of an `execute` batch. */
  statementIndex?: number | undefined;
}

/**
 * The refusal of a write operation by a connector in read-only mode, naming the setting that makes it so.
 *
 * @example
 * ```ts
 * if (readOnly) throw readOnlyRefusal('PG', 'insert-rows');
 * ```
 */
export function readOnlyRefusal(prefix: string, operation: string): ForbiddenError {
  return new ForbiddenError(
    `The connector is in read-only mode (${prefix}_READ_ONLY=true): ${operation} is refused`,
  );
}

/**
 * The driver's error behind a {@link StatementFailure}, or the error itself.
 *
 * @example
 * ```ts
 * if (isConnectionLost(driverError(error))) discard();
 * ```
 */
export function driverError(error: unknown): unknown {
  return error instanceof StatementFailure ? error.cause : error;
}

/** Socket errors after which the connection cannot be used. */
export const NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/** The server certificate does not chain to a CA this process trusts. */
const UNTRUSTED_CERTIFICATE_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
]);

const EXPIRED_CERTIFICATE_CODES = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);

/** The certificate is trusted but names other hosts than the one connected to. */
const HOST_MISMATCH_CODE = 'ERR_TLS_CERT_ALTNAME_INVALID';

/**
 * What a TLS verification failure means and which setting fixes it; undefined for other errors.
 *
 * @example
 * ```ts
 * const message = tlsFailure(error, { engine: 'MySQL', setting: 'MYSQL_SSL', hostSetting: 'MYSQL_HOST' });
 * if (message !== undefined) throw new ConfigurationError(message, { cause: error });
 * ```
 */
export function tlsFailure(
  error: unknown,
  names: { engine: string; setting: string; hostSetting: string },
): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const kind = tlsFailureKind(error);
  if (kind === undefined) return undefined;
  const head = `TLS verification of the ${names.engine} server failed (${names.setting}=verify-full)`;
  if (kind === 'untrusted') {
    return (
      `${head}: the server certificate is not trusted, it does not chain to a CA this function trusts. ` +
      'Put the CA that issued it in the PEM file NODE_EXTRA_CA_CERTS names (read when the process ' +
      'starts; for RDS and Aurora /var/runtime/ca-cert.pem, which function.yml sets)'
    );
  }
  if (kind === 'expired') {
    return `${head}: the server certificate has expired or is not valid yet; renew it on the server`;
  }
  // Node.js puts the host it checked on the error (and in its message); a host name is configuration.
  const host =
    (error as Error & { host?: unknown }).host ?? /Host: (\S+?)\.? is not/.exec(error.message)?.[1];
  const named = typeof host === 'string' ? ` "${host.slice(0, 255)}"` : '';
  return (
    `${head}: host name mismatch, the server certificate does not name the host${named} the connector ` +
    `connected to. Connect with a name the certificate lists (${names.hostSetting}, or the secret's host; ` +
    'for RDS the endpoint name, not an IP address)'
  );
}

/**
 * What kind of TLS verification failure an error is, by Node's code or, where a driver replaced the code
 * with its own (mysql2: HANDSHAKE_SSL_ERROR), by OpenSSL's message.
 */
function tlsFailureKind(error: Error): 'untrusted' | 'expired' | 'mismatch' | undefined {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  if (UNTRUSTED_CERTIFICATE_CODES.has(code)) return 'untrusted';
  if (EXPIRED_CERTIFICATE_CODES.has(code)) return 'expired';
  if (code === HOST_MISMATCH_CODE) return 'mismatch';
  if (code !== 'HANDSHAKE_SSL_ERROR') return undefined;
  if (/does not match certificate's altnames/i.test(error.message)) return 'mismatch';
  if (/certificate has expired|certificate is not yet valid/i.test(error.message)) return 'expired';
  if (
    /self[- ]signed certificate|unable to (get|verify)|certificate (signature failure|not trusted)/i.test(
      error.message,
    )
  ) {
    return 'untrusted';
  }
  return undefined;
}
