/**
 * The counting probes: Secrets Manager calls per invocations (a counting GetSecretValue endpoint), TCP
 * connections per sequential outbound calls (counted by the server and by the core's client), and an
 * X-Ray daemon stand-in that counts the segments traced variants send.
 */
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { SecretsManagerFake } from '../../../test/fakes/secrets-manager.ts';
import type { ConnectionsResult, ConnectionsTask, SecretsResult, SecretsTask } from '../harness/protocol.ts';
import { runChild } from './child.ts';

/** The secret every variant that needs one reads. */
export const BENCH_SECRET = 'bench/api-token';

export interface XraySink {
  readonly address: string;
  received(): number;
  close(): Promise<void>;
}

/**
 * A UDP socket where the X-Ray SDK sends its segments; it only counts them.
 *
 * @example
 * ```ts
 * const sink = await startXraySink(); // AWS_XRAY_DAEMON_ADDRESS = sink.address
 * ```
 */
export async function startXraySink(): Promise<XraySink> {
  const socket = createSocket('udp4');
  let count = 0;
  socket.on('message', () => (count += 1));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  return {
    address: `127.0.0.1:${port}`,
    received: () => count,
    close: () => new Promise<void>((resolve) => socket.close(() => resolve())),
  };
}

export interface SecretsFigures {
  /** GetSecretValue calls for one container's init plus 1,000 invocations. */
  readonly callsPer1000: number;
  readonly maxAge: {
    readonly maxAgeSeconds: number;
    readonly elapsedMs: number;
    readonly invocations: number;
    readonly calls: number;
    /** One call at init, then one each time the cached value is older than the max age. */
    readonly expected: number;
  };
}

export interface SecretsProbeOptions {
  readonly harness: string;
  readonly bundle: string;
  readonly event: string;
  readonly fake: SecretsManagerFake;
  readonly environment: (extra: Record<string, string>) => Record<string, string>;
  readonly logsDir: string;
  /** How long the max-age check invokes for, and the max age it uses. */
  readonly maxAgeSeconds: number;
  readonly durationMs: number;
}

/**
 * Counts the calls one container makes for 1,000 invocations, then for a run longer than a short max age.
 *
 * @example
 * ```ts
 * const { callsPer1000 } = await probeSecrets(options); // 1
 * ```
 */
export async function probeSecrets(options: SecretsProbeOptions): Promise<SecretsFigures> {
  const base: Omit<SecretsTask, 'invocations'> = {
    bundle: options.bundle,
    event: options.event,
    kind: 'http',
    functionName: 'bench-core-secret',
    traced: false,
  };
  const stderrFile = join(options.logsDir, 'secrets.stderr');
  const before = options.fake.calls.length;
  const counted = await runChild<SecretsResult>({
    script: options.harness,
    task: { ...base, invocations: 1000 },
    env: options.environment({}),
    stderrFile,
  });
  if (counted.failures > 0) throw new Error(`secrets probe: ${counted.failures} invocations failed`);
  const callsPer1000 = options.fake.calls.length - before;
  const beforeAge = options.fake.calls.length;
  const aged = await runChild<SecretsResult>({
    script: options.harness,
    task: { ...base, invocations: 0, durationMs: options.durationMs, pauseMs: 5 },
    env: options.environment({ BENCH_SECRET_MAX_AGE_SECONDS: String(options.maxAgeSeconds) }),
    stderrFile,
  });
  if (aged.failures > 0) throw new Error(`secrets max-age probe: ${aged.failures} invocations failed`);
  return {
    callsPer1000,
    maxAge: {
      maxAgeSeconds: options.maxAgeSeconds,
      elapsedMs: aged.elapsedMs,
      invocations: aged.invocations,
      calls: options.fake.calls.length - beforeAge,
      expected: 1 + Math.floor(aged.elapsedMs / (options.maxAgeSeconds * 1000)),
    },
  };
}

export interface ConnectionsFigures {
  readonly calls: number;
  /** TCP connections the server accepted. */
  readonly serverConnections: number;
  /** Sockets the core's client reports it opened. */
  readonly clientSocketsOpened: number;
}

/**
 * Serves `calls` sequential GETs from the core's HttpClient in a child and counts connections both ways.
 *
 * @example
 * ```ts
 * const { serverConnections } = await probeConnections({ harness, calls: 100, env, logsDir }); // 1
 * ```
 */
export async function probeConnections(options: {
  harness: string;
  calls: number;
  env: Record<string, string>;
  logsDir: string;
}): Promise<ConnectionsFigures> {
  let connections = 0;
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end('{"id":1,"name":"widget"}');
  });
  server.on('connection', () => (connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const task: ConnectionsTask = { url: `http://127.0.0.1:${port}`, calls: options.calls };
    const result = await runChild<ConnectionsResult>({
      script: options.harness,
      task,
      env: options.env,
      stderrFile: join(options.logsDir, 'connections.stderr'),
    });
    if (result.failures > 0) throw new Error(`connections probe: ${result.failures} calls failed`);
    return {
      calls: options.calls,
      serverConnections: connections,
      clientSocketsOpened: result.socketsOpened,
    };
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
