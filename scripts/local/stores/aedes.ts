/**
 * An embedded MQTT broker (aedes, MQTT 3.1.1) on 127.0.0.1: the local stack's MQTT when the machine's
 * Mosquitto does not answer, and the tests' broker where they need one they control (credentials that
 * rotate). Retained messages and QoS 0/1/2 work as on any broker; MQTT 5 user properties do not (aedes
 * speaks 3.1.1), so the MQTT connector runs with MQTT_PROTOCOL_VERSION=4 against it.
 */
import { once } from 'node:events';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { Aedes } from 'aedes';

export interface EmbeddedMqtt {
  host: string;
  port: number;
  /** `mqtt://127.0.0.1:<port>` */
  url: string;
  close(): Promise<void>;
}

export interface EmbeddedMqttOptions {
  /** Port to listen on; 0 (the default) picks a free one. */
  port?: number;
  /** Accepts a connection's user name and password; without it every client is let in. */
  authenticate?: (username: string | undefined, password: string | undefined) => boolean;
}

/**
 * Starts the broker.
 *
 * @example
 * ```ts
 * const broker = await startEmbeddedMqtt();
 * // MQTT_HOST=127.0.0.1 MQTT_PORT=${broker.port} MQTT_PROTOCOL_VERSION=4 MQTT_TLS=disable
 * await broker.close();
 * ```
 */
export async function startEmbeddedMqtt(options: EmbeddedMqttOptions = {}): Promise<EmbeddedMqtt> {
  const check = options.authenticate;
  const broker = await Aedes.createBroker(
    check === undefined
      ? {}
      : {
          authenticate: (_client, username, password, done) => {
            const ok = check(username, password?.toString('utf8'));
            if (ok) done(null, true);
            else
              done(Object.assign(new Error('Bad user name or password'), { returnCode: 4 as const }), false);
          },
        },
  );
  const server = createServer(broker.handle);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.listen(options.port ?? 0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
