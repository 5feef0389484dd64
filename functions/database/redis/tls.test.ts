import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:tls';
import { createClient } from '@redis/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, makeCa, makeServerCertificate } from '../../../test/peers/tls.ts';

/**
 * TLS against the machine's real Redis: a TLS terminator on 127.0.0.1 (certificate for `localhost` only,
 * from a throwaway CA) in front of :6379, as ElastiCache's in-transit encryption is in front of its
 * engine. The connector trusts the CAs of its process: Node.js's bundle plus the PEM file
 * NODE_EXTRA_CA_CERTS names, read only when the process starts. So it runs in a child process configured
 * through the environment only, as Lambda starts it.
 */

/** Writes and reads one value through the connector's entry point; prints the outcome as the last line. */
const PROBE = `
const { connector } = await import(process.env.PROBE_CONNECTOR);
let outcome;
try {
  await connector.run('put-value', { key: 'tls', value: 'over tls' });
  outcome = { output: await connector.run('get-value', { key: 'tls' }) };
} catch (error) {
  outcome = { error: { name: error.name, message: error.message } };
}
process.stdout.write('\\nPROBE ' + JSON.stringify(outcome) + '\\n');
process.exit(0);
`;

interface Outcome {
  output?: { value: unknown };
  error?: { name: string; message: string };
}

function connectorProcess(env: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '--eval', PROBE],
      {
        env: {
          PATH: process.env['PATH'] ?? '',
          AWS_REGION: 'us-east-1',
          PROBE_CONNECTOR: new URL('./index.ts', import.meta.url).href,
          REDIS_CONNECT_TIMEOUT_MS: '10000',
          REDIS_TIMEOUT_MS: '10000',
          ...env,
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const line = stdout.split('\n').find((text) => text.startsWith('PROBE '));
        if (line === undefined) {
          reject(new Error(`the connector printed no outcome (${error?.message}): ${stderr.slice(-2_000)}`));
          return;
        }
        resolve(JSON.parse(line.slice('PROBE '.length)) as Outcome);
      },
    );
  });
}

describe('REDIS_TLS=verify-full against the real Redis behind TLS', () => {
  let dir: string;
  let terminator: Server;
  let port: number;
  const prefix = `circle-test:tls-${randomBytes(6).toString('hex')}:`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'circle-redis-tls-'));
    makeCa(dir, 'ca');
    makeCa(dir, 'other');
    makeServerCertificate(dir, 'ca', 'localhost');
    terminator = createServer(
      { key: await readFile(join(dir, 'server.key')), cert: await readFile(join(dir, 'server.crt')) },
      (socket) => {
        const upstream = connect({ host: '127.0.0.1', port: Number(process.env['REDIS_TEST_PORT'] ?? 6379) });
        socket.pipe(upstream).pipe(socket);
        socket.on('error', () => upstream.destroy());
        upstream.on('error', () => socket.destroy());
      },
    );
    port = await freePort();
    await new Promise<void>((resolve) => terminator.listen(port, '127.0.0.1', resolve));
  }, 30_000);

  afterAll(async () => {
    // The probe's one key, written under this run's prefix.
    const admin = createClient({
      socket: { host: '127.0.0.1', port: Number(process.env['REDIS_TEST_PORT'] ?? 6379) },
    });
    admin.on('error', () => undefined);
    await admin.connect();
    await admin.sendCommand(['UNLINK', `${prefix}tls`]);
    admin.destroy();
    await new Promise((resolve) => terminator?.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  const settings = (ca: string, host = 'localhost'): Record<string, string> => ({
    REDIS_HOST: host,
    REDIS_PORT: String(port),
    REDIS_TLS: 'verify-full',
    REDIS_KEY_PREFIX: prefix,
    NODE_EXTRA_CA_CERTS: join(dir, `${ca}.crt`),
  });

  it('writes and reads over TLS when the CA is trusted and the host name is on the certificate', async () => {
    // Act
    const outcome = await connectorProcess(settings('ca'));

    // Assess
    expect(outcome.error).toBeUndefined();
    expect(outcome.output).toMatchObject({ value: 'over tls' });
  });

  it('fails with ConfigurationError saying the certificate is not trusted when its CA is not', async () => {
    // Act
    const outcome = await connectorProcess(settings('other'));

    // Assess
    expect(outcome.error?.name).toBe('ConfigurationError');
    expect(outcome.error?.message).toMatch(/not trusted: add its CA to NODE_EXTRA_CA_CERTS/);
  });

  it('fails with ConfigurationError naming a host name mismatch when the name is not on the certificate', async () => {
    // Act
    const outcome = await connectorProcess(settings('ca', '127.0.0.1'));

    // Assess
    expect(outcome.error?.name).toBe('ConfigurationError');
    expect(outcome.error?.message).toMatch(/host name mismatch/);
  });
});
