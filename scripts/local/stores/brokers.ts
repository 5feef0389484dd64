/**
 * The local stack's message brokers for the RabbitMQ, NATS JetStream and MQTT connectors: the machine's
 * broker when it answers (RabbitMQ 127.0.0.1:5672 guest/guest, NATS 127.0.0.1:4222 with JetStream,
 * Mosquitto 127.0.0.1:1883), the embedded aedes broker for MQTT when Mosquitto does not, and otherwise a
 * clear warning naming the broker and how to start it (no embedded RabbitMQ or NATS server exists for
 * Node.js). A function the shell points elsewhere (`<PREFIX>_HOST`) is left alone. The broker's local
 * credentials are stored under the secret the function reads when none is stored, and NATS gets the
 * stream its configured subject needs, as the README examples expect.
 */
import { connect as tcpConnect } from 'node:net';
import { connect as natsConnect } from 'nats';
import type { LocalFunction } from '../config/model.ts';
import type { ConnectorReach } from '../stack-report.ts';
import { type EmbeddedMqtt, startEmbeddedMqtt } from './aedes.ts';
import type { SecretStore } from './secret-store.ts';

/** One broker the stack can point a connector at. */
interface BrokerSpec {
  /** The connector's function key. */
  key: string;
  /** Prefix of the connector's settings, e.g. `RABBITMQ`. */
  prefix: string;
  title: string;
  port: number;
  /** The secret value a local broker accepts. */
  secret: string;
  /** Settings beside host, port and TLS. */
  env: Record<string, string>;
  /** How to start the machine's broker. */
  start: string;
}

const SPECS: readonly BrokerSpec[] = [
  {
    key: 'rabbitmq',
    prefix: 'RABBITMQ',
    title: 'RabbitMQ',
    port: 5672,
    secret: JSON.stringify({ username: 'guest', password: 'guest' }),
    env: { RABBITMQ_VHOST: '/' },
    start: 'rabbitmq-server -detached',
  },
  {
    key: 'nats',
    prefix: 'NATS',
    title: 'NATS (JetStream)',
    port: 4222,
    secret: '{}',
    env: {},
    start: 'nats-server -js -a 127.0.0.1 &',
  },
  {
    key: 'mqtt',
    prefix: 'MQTT',
    title: 'Mosquitto (MQTT)',
    port: 1883,
    secret: '{}',
    env: { MQTT_PROTOCOL_VERSION: '5' },
    start: 'mosquitto -d',
  },
];

/** What `npm start` says when a machine broker without an embedded fallback does not answer. */
export function brokerAbsent(spec: { title: string; port: number; prefix: string; start: string }): string {
  return (
    `${spec.title} is not running on 127.0.0.1:${spec.port}: the ${spec.prefix.toLowerCase()} function needs it and ` +
    `no embedded server exists for Node.js. Start it (${spec.start}, or bash scripts/ensure-services.sh) and ` +
    `call the function again, or set ${spec.prefix}_HOST (and ${spec.prefix}_PORT, ${spec.prefix}_TLS, a stored ` +
    `${spec.prefix}_SECRET) before npm start`
  );
}

/** Whether something accepts TCP connections on 127.0.0.1:`port` within `timeoutMs`. */
export function answers(port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: '127.0.0.1', port });
    const done = (up: boolean): void => {
      socket.destroy();
      resolve(up);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Creates the stream a NATS function's subject needs, when it is missing (best effort). */
async function ensureNatsStream(port: number, env: Record<string, string>): Promise<void> {
  const stream = env['NATS_STREAM'];
  const subject = env['NATS_SUBJECT'];
  if (stream === undefined || stream === '' || subject === undefined || subject === '') return;
  const nc = await natsConnect({ servers: `127.0.0.1:${port}`, reconnect: false, timeout: 2_000 });
  try {
    const manager = await nc.jetstreamManager();
    await manager.streams
      .info(stream)
      .catch(() => manager.streams.add({ name: stream, subjects: [subject] }));
  } finally {
    await nc.close();
  }
}

/** The brokers the stack set up, for the functions' environment, `/health` and the banner. */
export interface LocalBrokers {
  /** What each broker connector talks to. */
  readonly reach: ReadonlyMap<string, ConnectorReach>;
  /** Points a broker function at its local broker (no-op for others and for configured ones). */
  apply(fn: LocalFunction, env: Record<string, string>): void;
  /** One line for the banner's stores. */
  summary(): string;
  close(): Promise<void>;
}

/**
 * Plans (and, for MQTT without Mosquitto, starts) the brokers of the selected functions.
 *
 * @example
 * ```ts
 * const brokers = await startLocalBrokers(selected, process.env, secretStore, (message) => log.warn(message));
 * brokers.apply(fn, env);
 * ```
 */
export async function startLocalBrokers(
  selected: readonly LocalFunction[],
  shell: NodeJS.ProcessEnv,
  secrets: Pick<SecretStore, 'get' | 'put'>,
  warn: (message: string, fields?: Record<string, unknown>) => void,
  options: { ports?: Partial<Record<string, number>> } = {},
): Promise<LocalBrokers> {
  const reach = new Map<string, ConnectorReach>();
  const settings = new Map<string, Record<string, string>>();
  let embedded: EmbeddedMqtt | undefined;
  for (const spec of SPECS) {
    const fn = selected.find((candidate) => candidate.key === spec.key);
    if (fn === undefined) continue;
    if ((shell[`${spec.prefix}_HOST`] ?? '') !== '') {
      reach.set(spec.key, {
        connector: spec.key,
        kind: 'configured',
        target: `${shell[`${spec.prefix}_HOST`]} (from the shell)`,
      });
      continue;
    }
    const port = options.ports?.[spec.key] ?? spec.port;
    const up = await answers(port);
    const env: Record<string, string> = {
      ...spec.env,
      [`${spec.prefix}_HOST`]: '127.0.0.1',
      [`${spec.prefix}_PORT`]: String(port),
      [`${spec.prefix}_TLS`]: 'disable',
    };
    if (up) {
      reach.set(spec.key, {
        connector: spec.key,
        kind: 'machine',
        target: `the machine's ${spec.title} 127.0.0.1:${port}`,
      });
      if (spec.key === 'nats') {
        await ensureNatsStream(port, { ...fn.environment, ...env }).catch((error: unknown) =>
          warn('NATS stream not created', { error: (error as Error).message }),
        );
      }
    } else if (spec.key === 'mqtt') {
      embedded = await startEmbeddedMqtt();
      Object.assign(env, { MQTT_PORT: String(embedded.port), MQTT_PROTOCOL_VERSION: '4' });
      reach.set(spec.key, {
        connector: spec.key,
        kind: 'embedded',
        target: `aedes ${embedded.url} (MQTT 3.1.1; Mosquitto is not running)`,
      });
    } else {
      warn(brokerAbsent({ ...spec, port }), { connector: spec.key });
      reach.set(spec.key, {
        connector: spec.key,
        kind: 'machine',
        target: `the machine's ${spec.title} 127.0.0.1:${port} (NOT RUNNING)`,
      });
    }
    const secretName = fn.environment[`${spec.prefix}_SECRET`];
    if (secretName !== undefined && (await secrets.get(secretName)) === undefined) {
      await secrets.put(secretName, {
        value: spec.secret,
        description: `Local ${spec.title} credentials (npm start)`,
      });
    }
    settings.set(spec.key, env);
  }
  return {
    reach,
    apply: (fn, env) => Object.assign(env, settings.get(fn.key) ?? {}),
    summary: () =>
      reach.size === 0
        ? 'not used'
        : [...reach.values()].map((entry) => `${entry.connector}: ${entry.target}`).join('; '),
    close: async () => {
      await embedded?.close();
    },
  };
}
