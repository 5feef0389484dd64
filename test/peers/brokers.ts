/**
 * The message brokers this machine runs on 127.0.0.1 (scripts/ensure-services.sh starts any that is
 * down): RabbitMQ (guest/guest), NATS with JetStream and Mosquitto, plus a throwaway TLS listener with a
 * certificate no CA the process trusts signed, for the connectors' TLS verification tests.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:tls';
import { makeCa, makeServerCertificate } from './tls.ts';

export const RABBITMQ = { host: '127.0.0.1', port: 5672, username: 'guest', password: 'guest' } as const;
export const NATS = { host: '127.0.0.1', port: 4222 } as const;
export const MOSQUITTO = { host: '127.0.0.1', port: 1883 } as const;

/**
 * A name no other test run uses: a queue, a stream, a topic segment.
 *
 * @example
 * ```ts
 * const queue = uniqueName('orders'); // orders-3f9a0c1d2e4b
 * ```
 */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(6).toString('hex')}`;
}

/**
 * A TLS listener on 127.0.0.1 whose certificate (for `localhost`) chains to a throwaway CA this process does
 * not trust; it closes every connection after the handshake would have failed.
 *
 * @example
 * ```ts
 * const untrusted = await startUntrustedTls();
 * // connect with TLS verification to localhost:untrusted.port: the chain is refused
 * ```
 */
export async function startUntrustedTls(): Promise<{ port: number; close(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'circle-broker-tls-'));
  makeCa(dir, 'ca');
  makeServerCertificate(dir, 'ca');
  const server = createServer({
    key: readFileSync(join(dir, 'server.key')),
    cert: readFileSync(join(dir, 'server.crt')),
  });
  server.on('secureConnection', (socket) => socket.destroy());
  server.on('tlsClientError', () => undefined);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
