/**
 * What the message-broker connectors (RabbitMQ, NATS JetStream, MQTT) share beside the reused connection:
 * the one shape of a broker's secret, the TLS options every driver gets (certificate chain and host name
 * always verified, a client certificate when the secret holds one), the setting that chooses TLS, the
 * socket failures after which a broker connection is gone, and a wait bounded by the call's budget for
 * the answers drivers deliver by callback or event (a publisher confirm, a PUBACK, a pull's batch).
 */
import { isIP } from 'node:net';
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import * as z from 'zod';
import { ConfigurationError, TimeoutError } from './errors.ts';

/**
 * A broker's secret, as JSON in Secrets Manager: whichever of these the broker's authentication uses.
 * RabbitMQ: `username`, `password` (and optionally `vhost`); NATS: `username`/`password`, `token`, or
 * `creds` (the NKey user JWT and seed, the `.creds` file's text); MQTT: `username`/`password`, and/or
 * `clientCert` with `clientKey` (PEM) for mutual TLS.
 */
// Built on first parse (z.lazy): a function that never reads this secret skips building it at cold start.
export const BrokerSecret = z.lazy(() =>
  z.object({
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    vhost: z.string().min(1).optional(),
    token: z.string().min(1).optional(),
    creds: z.string().min(1).optional(),
    clientCert: z.string().min(1).optional(),
    clientKey: z.string().min(1).optional(),
  }),
);
export type BrokerSecret = z.output<typeof BrokerSecret>;

/** `verify-full`: TLS with the certificate chain and host name checked; `disable`: plain TCP (local only). */
export type BrokerTlsMode = 'verify-full' | 'disable';

/**
 * The setting that chooses TLS for a broker, `verify-full` unless set: TLS verification is never turned
 * off, only TLS itself (for a broker on this machine).
 *
 * @example
 * ```ts
 * const Config = z.object({ RABBITMQ_TLS: envBrokerTls('RabbitMQ') });
 * ```
 */
export function envBrokerTls(broker: string) {
  return z
    .enum(['verify-full', 'disable'])
    .default('verify-full')
    .describe(
      `\`verify-full\`: TLS to ${broker}, certificate chain and host name verified (extra CAs through NODE_EXTRA_CA_CERTS); \`disable\`: plain TCP, for a broker on this machine only`,
    );
}

/**
 * The TLS options of a broker connection, or undefined for plain TCP. The host name is checked against
 * the certificate (an IP address against its IP entries); a client certificate is presented when the
 * secret holds one, and a certificate without its key is a configuration error naming the secret.
 *
 * @example
 * ```ts
 * const tls = brokerTlsOptions('verify-full', 'mq.example.com', secret, 'RABBITMQ_SECRET');
 * ```
 */
export function brokerTlsOptions(
  mode: BrokerTlsMode,
  host: string,
  secret: BrokerSecret,
  secretSetting: string,
): TlsOptions | undefined {
  const halfPair = (secret.clientCert === undefined) !== (secret.clientKey === undefined);
  if (halfPair) {
    throw new ConfigurationError(
      `The secret named by ${secretSetting} holds only one of clientCert and clientKey: a client certificate needs both`,
    );
  }
  if (mode === 'disable') {
    if (secret.clientCert !== undefined) {
      throw new ConfigurationError(
        `The secret named by ${secretSetting} holds a client certificate, which needs TLS: set the TLS setting to verify-full`,
      );
    }
    return undefined;
  }
  return {
    rejectUnauthorized: true,
    ...(isIP(host) === 0 ? { servername: host } : {}),
    ...(secret.clientCert === undefined ? {} : { cert: secret.clientCert, key: secret.clientKey }),
  };
}

/**
 * Socket failures after which a broker connection cannot be used (nothing was listening, the name did not
 * resolve, even for now, the network is unreachable or down, or the connection broke): each worth trying
 * again later.
 */
export const BROKER_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
]);

/**
 * The Node.js error code of a failure (or of its cause, where a driver wraps the socket's error).
 *
 * @example
 * ```ts
 * if (BROKER_NETWORK_CODES.has(errorCode(error) ?? '')) markBroken();
 * ```
 */
export function errorCode(error: unknown): string | undefined {
  for (let current = error, depth = 0; current instanceof Error && depth < 5; depth += 1) {
    const code = (current as NodeJS.ErrnoException).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return undefined;
}

/**
 * Waits for `answer` at most `timeoutMs`: past it, `onTimeout` runs (drop the connection the answer was
 * due on, so a late answer cannot be mistaken for the next one) and a {@link TimeoutError} naming `what`
 * rejects. The answer's own failure rejects unchanged.
 *
 * @example
 * ```ts
 * await withDeadline(channel.waitForConfirms(), budgetMs, 'RabbitMQ publisher confirms', () => discard());
 * ```
 */
export function withDeadline<T>(
  answer: Promise<T>,
  timeoutMs: number,
  what: string,
  onTimeout?: () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      onTimeout?.();
      reject(new TimeoutError(`${what} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    answer.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
