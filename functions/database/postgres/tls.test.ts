import { execFile } from 'node:child_process';
import { ConfigurationError } from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { urlCredentials } from '#shared/sql/credentials.ts';
import { realPostgresUrl, startTlsPostgres, type TlsPostgres } from '../../../test/peers/postgres.ts';
import { POSTGRES, PostgresClient } from './client.ts';

/**
 * TLS against a real PostgreSQL server: a second server with TLS on (`startTlsPostgres`: a throwaway CA,
 * a certificate for `localhost` only, `hostssl` only). The connector trusts the CAs of its process: Node.js's
 * bundle plus the PEM file NODE_EXTRA_CA_CERTS names (function.yml sets the RDS bundle), read only when the
 * process starts. So the cases that need the test CA trusted run the connector in a child process started
 * as Lambda starts it, configured through the environment: PG_URL, PG_SSL=verify-full and
 * NODE_EXTRA_CA_CERTS. No setting is injected past the configuration.
 */

/** Runs one `query` through the connector's own entry point and prints its outcome as the last line. */
const PROBE = `
const { connector } = await import(process.env.PROBE_CONNECTOR);
let outcome;
try {
  outcome = { output: await connector.run('query', { sql: process.env.PROBE_SQL }) };
} catch (error) {
  outcome = { error: { name: error.name, message: error.message } };
}
process.stdout.write('\\nPROBE ' + JSON.stringify(outcome) + '\\n');
process.exit(0);
`;

interface Outcome {
  output?: { rows: Record<string, unknown>[] };
  error?: { name: string; message: string };
}

const TLS_SESSION_SQL =
  'select ssl, version, current_setting($$ssl$$) as server_ssl from pg_stat_ssl where pid = pg_backend_pid()';

/** The connector in a new Node.js process whose environment is `env` and nothing else of this one's. */
function connectorProcess(env: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '--eval', PROBE],
      {
        env: {
          PATH: process.env['PATH'] ?? '',
          AWS_REGION: 'us-east-1',
          POWERTOOLS_DEV: 'false',
          PROBE_CONNECTOR: new URL('./index.ts', import.meta.url).href,
          PROBE_SQL: TLS_SESSION_SQL,
          PG_CONNECT_TIMEOUT_MS: '10000',
          ...env,
        },
        timeout: 60_000,
      },
      (error, stdout, stderr) => {
        const line = stdout.split('\n').find((text) => text.startsWith('PROBE '));
        if (line === undefined) {
          reject(
            new Error(
              `the connector process printed no outcome (${error?.message}): ${stderr.slice(-2_000)}`,
            ),
          );
          return;
        }
        resolve(JSON.parse(line.slice('PROBE '.length)) as Outcome);
      },
    );
  });
}

describe('PG_SSL=verify-full against a real PostgreSQL server with TLS', () => {
  let server: TlsPostgres;
  const url = (host: string): string => `postgres://postgres@${host}:${server.port}/postgres`;

  beforeAll(async () => {
    server = await startTlsPostgres();
  });

  afterAll(async () => {
    await server?.close();
  });

  it('connects over TLS and runs a query when the CA is trusted and the host name is on the certificate', async () => {
    // Act
    const outcome = await connectorProcess({
      PG_URL: url('localhost'),
      PG_SSL: 'verify-full',
      NODE_EXTRA_CA_CERTS: server.caFile,
    });
    // Assess
    expect(outcome.error).toBeUndefined();
    expect(outcome.output?.rows).toEqual([
      { ssl: true, version: expect.stringMatching(/^TLSv1\.[23]$/), server_ssl: 'on' },
    ]);
  });

  it('fails with ConfigurationError saying the certificate is not trusted when its CA is not', async () => {
    // Act: the process trusts a CA, just not the one that issued the server's certificate.
    const outcome = await connectorProcess({
      PG_URL: url('localhost'),
      PG_SSL: 'verify-full',
      NODE_EXTRA_CA_CERTS: server.otherCaFile,
    });
    // Assess
    expect(outcome.error?.name).toBe('ConfigurationError');
    expect(outcome.error?.message).toMatch(/the server certificate is not trusted/);
    expect(outcome.error?.message).toMatch(/NODE_EXTRA_CA_CERTS/);
  });

  it('fails with ConfigurationError naming a host name mismatch when the name is not on the certificate', async () => {
    // Act: the same server and a trusted CA, reached by an address the certificate does not list.
    const outcome = await connectorProcess({
      PG_URL: url('127.0.0.1'),
      PG_SSL: 'verify-full',
      NODE_EXTRA_CA_CERTS: server.caFile,
    });
    // Assess
    expect(outcome.error?.name).toBe('ConfigurationError');
    expect(outcome.error?.message).toMatch(/host name mismatch/);
    expect(outcome.error?.message).toContain('"127.0.0.1"');
    expect(outcome.error?.message).not.toMatch(/not trusted/);
  });

  it('refuses, in this process too, a server whose CA only the environment of another process trusts', async () => {
    // Prepare
    const db = new PostgresClient({
      credentials: urlCredentials(url('localhost'), POSTGRES),
      ssl: 'verify-full',
      statementTimeoutMs: 15_000,
      connectTimeoutMs: 10_000,
      readOnly: false,
      applicationName: 'circle-core-tls-test',
    });
    // Act
    const attempt = db.query({ sql: 'select 1' });
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ConfigurationError);
    await expect(attempt).rejects.toThrow(/not trusted.*NODE_EXTRA_CA_CERTS/);
    await db.close();
  });

  it('fails with ConfigurationError naming PG_SSL when the server does not speak TLS', async () => {
    // Prepare: the machine's own server runs without TLS.
    const db = new PostgresClient({
      credentials: urlCredentials(realPostgresUrl(), POSTGRES),
      ssl: 'verify-full',
      statementTimeoutMs: 15_000,
      connectTimeoutMs: 10_000,
      readOnly: false,
      applicationName: 'circle-core-tls-test',
    });
    // Act
    const attempt = db.query({ sql: 'select 1' });
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(ConfigurationError);
    await expect(attempt).rejects.toThrow(/does not accept TLS.*PG_SSL/);
    await db.close();
  });
});
