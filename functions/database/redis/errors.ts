/**
 * Redis's failures as core errors, mapped once: the error reply's code (its first word, `WRONGPASS`,
 * `WRONGTYPE`, ...), node-redis's own error classes (closed, timed out) and Node's socket codes each pick a
 * core error class, and so the HTTP status, the queue's retry-or-drop and the Step Functions error name.
 */
import {
  AuthError,
  BROKER_NETWORK_CODES,
  ConfigurationError,
  ConflictError,
  ConnectorError,
  ForbiddenError,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
} from '@circle-core/core';
import {
  AbortError,
  ConnectionTimeoutError,
  ErrorReply,
  TimeoutError as RedisTimeoutError,
  TimeoutReadError,
} from '@redis/client';
import { isConnectionLost } from './connection.ts';

type Make = (
  message: string,
  options: { cause: unknown; details: Record<string, unknown> },
) => ConnectorError;

const conflict: Make = (m, o) => new ConflictError(m, o);
const unavailable: Make = (m, o) => new UnavailableError(m, o);
const cluster: Make = (m, o) =>
  new ConfigurationError(
    `${m}: the server runs in cluster mode, which this connector does not speak (README: Cluster mode)`,
    o,
  );

/** Error reply codes: the first word of the reply. */
const ROWS: Readonly<Record<string, { meaning: string; make: Make }>> = {
  WRONGPASS: {
    meaning: 'Redis refused the user or password, even after the secret was read again',
    make: (m, o) => new AuthError(m, o),
  },
  NOAUTH: {
    meaning: 'the server requires AUTH and REDIS_SECRET is not set',
    make: (m, o) => new AuthError(m, o),
  },
  NOPERM: {
    meaning: 'the ACL user may not run this command or touch this key (its ACL rules, README: Auth setup)',
    make: (m, o) => new ForbiddenError(m, o),
  },
  WRONGTYPE: { meaning: 'the key holds a value this connector did not write (not a hash)', make: conflict },
  NOTINTEGER: { meaning: 'the value is not an integer', make: conflict },
  NOTSAFE: {
    meaning:
      'the increment would take the value beyond ±9007199254740991 (2^53 - 1), which a JSON number cannot hold exactly',
    make: conflict,
  },
  OVERFLOW: { meaning: 'the increment would overflow a 64-bit integer', make: conflict },
  OOM: { meaning: 'the server is out of memory (maxmemory reached)', make: unavailable },
  BUSY: { meaning: 'the server is running a long script', make: unavailable },
  LOADING: { meaning: 'the server is loading its data set', make: unavailable },
  READONLY: { meaning: 'the server is a replica (a failover is under way)', make: unavailable },
  MASTERDOWN: { meaning: 'the replica lost its primary', make: unavailable },
  // Writes refused before they run, until the server can write again: a retry can succeed.
  MISCONF: {
    meaning: 'the server stopped writes: it cannot save its snapshot to disk (stop-writes-on-bgsave-error)',
    make: unavailable,
  },
  NOREPLICAS: {
    meaning: 'the server stopped writes: too few replicas are connected (min-replicas-to-write)',
    make: unavailable,
  },
  TRYAGAIN: { meaning: 'a slot is being migrated', make: unavailable },
  CLUSTERDOWN: { meaning: 'the cluster is down', make: unavailable },
  // `ERR max number of clients reached`: maxclients, until other clients disconnect.
  MAXCLIENTS: { meaning: 'the server has reached its maximum number of clients', make: unavailable },
  MOVED: { meaning: 'the key lives on another shard', make: cluster },
  ASK: { meaning: 'the key is being moved to another shard', make: cluster },
  CROSSSLOT: { meaning: 'the keys live in different slots', make: cluster },
};

/**
 * What the socket codes of a connection that could not be opened or broke mean; which codes those are is
 * the core's `BROKER_NETWORK_CODES`, each an UnavailableError.
 */
const SOCKET_MEANINGS: Readonly<Record<string, string>> = {
  ECONNREFUSED: 'nothing listens at REDIS_HOST:REDIS_PORT',
  ENOTFOUND: 'REDIS_HOST does not resolve',
  EAI_AGAIN: 'REDIS_HOST could not be resolved for now (DNS)',
  EHOSTUNREACH: 'REDIS_HOST is unreachable',
  ENETUNREACH: 'the network of REDIS_HOST is unreachable',
  ENETDOWN: 'the network is down',
  ETIMEDOUT: 'the connection timed out',
  ECONNRESET: 'the connection was reset',
  ECONNABORTED: 'the connection was aborted',
  EPIPE: 'the connection was closed',
};

/** Node's TLS verification failures: the certificate or the host name, never retried. */
const TLS_MEANINGS: Readonly<Record<string, string>> = {
  ERR_TLS_CERT_ALTNAME_INVALID:
    'host name mismatch: REDIS_HOST is not a name the server certificate lists (use the endpoint name, not an address)',
  SELF_SIGNED_CERT_IN_CHAIN: 'the server certificate is not trusted: add its CA to NODE_EXTRA_CA_CERTS',
  DEPTH_ZERO_SELF_SIGNED_CERT:
    'the server certificate is self-signed and not trusted: add it to NODE_EXTRA_CA_CERTS',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'the server certificate is not trusted: add its CA to NODE_EXTRA_CA_CERTS',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    'the server certificate is not trusted: add its CA to NODE_EXTRA_CA_CERTS',
  CERT_HAS_EXPIRED: 'the server certificate has expired',
};

/** Reply codes that are a word of capitals; anything else reads as unknown. */
function replyCode(error: ErrorReply): string {
  const word = /^[A-Z]{2,20}\b/.exec(error.message)?.[0];
  if (word === 'ERR' && /overflow/i.test(error.message)) return 'OVERFLOW';
  if (word === 'ERR' && /not an integer/i.test(error.message)) return 'NOTINTEGER';
  if (word === 'ERR' && /max number of clients/i.test(error.message)) return 'MAXCLIENTS';
  return word ?? 'unknown';
}

/**
 * A node-redis or server failure as a core error; core errors pass through. Messages carry the code and
 * its meaning, never a key, a value or a credential.
 *
 * @example
 * ```ts
 * try { ... } catch (error) { throw toRedisError(error, 'put'); }
 * ```
 */
export function toRedisError(error: unknown, operation: string): ConnectorError {
  if (error instanceof ConnectorError) return error;
  const details = (code: string): { cause: unknown; details: Record<string, unknown> } => ({
    cause: error,
    details: { provider: 'Redis', operation, code },
  });
  if (error instanceof ErrorReply) {
    const code = replyCode(error);
    const row = Object.hasOwn(ROWS, code) ? ROWS[code] : undefined;
    if (row !== undefined)
      return row.make(`Redis ${operation} failed: ${row.meaning} (${code})`, details(code));
    return new UnexpectedResponseError(
      `Redis ${operation} failed with an error reply (${code})`,
      details(code),
    );
  }
  if (
    error instanceof RedisTimeoutError ||
    error instanceof TimeoutReadError ||
    error instanceof ConnectionTimeoutError ||
    error instanceof AbortError
  ) {
    return new TimeoutError(
      `Redis ${operation} got no answer in time (REDIS_TIMEOUT_MS, REDIS_CONNECT_TIMEOUT_MS or the invocation's time left)`,
      details('timeout'),
    );
  }
  const raw = (error as { code?: unknown } | undefined)?.code;
  const code = typeof raw === 'string' && /^[A-Z_]{1,32}$/.test(raw) ? raw : undefined;
  if (code !== undefined && Object.hasOwn(TLS_MEANINGS, code)) {
    return new ConfigurationError(
      `Redis ${operation} failed: ${TLS_MEANINGS[code]} (${code})`,
      details(code),
    );
  }
  if (code !== undefined && BROKER_NETWORK_CODES.has(code)) {
    const meaning = Object.hasOwn(SOCKET_MEANINGS, code) ? SOCKET_MEANINGS[code] : 'the network failed';
    return new UnavailableError(`Redis ${operation} failed: ${meaning} (${code})`, details(code));
  }
  if (isConnectionLost(error)) {
    return new UnavailableError(
      `Redis ${operation} failed: the connection broke (connection_lost)`,
      details('connection_lost'),
    );
  }
  return new UnexpectedResponseError(
    `Redis ${operation} failed (${code ?? 'unknown'})`,
    details(code ?? 'unknown'),
  );
}
