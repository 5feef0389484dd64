import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTlsMariadb, type TlsMariadb } from '../../../test/peers/mariadb.ts';

/**
 * TLS against a real MariaDB server: a second server with TLS on (`startTlsMariadb`: a throwaway CA, a
 * certificate for `localhost` only). The connector trusts the CAs of its process: Node.js's bundle plus the
 * PEM file NODE_EXTRA_CA_CERTS names (function.yml sets the RDS bundle), read only when the process starts.
 * So the connector runs in a child process started as Lambda starts it, configured through the
 * environment only: MYSQL_URL, MYSQL_SSL=verify-full and NODE_EXTRA_CA_CERTS.
 */

/** Runs one `query` through the connector's own entry point and prints its outcome as the last line. */
const PROBE = `
const { connector } = await import(process.env.PROBE_CONNECTOR);
let outcome;
try {
  outcome = { output: await connector.run('query', { sql: "show session status like 'Ssl_version'" }) };
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
          PROBE_CONNECTOR: new URL('./index.ts', import.meta.url).href,
          MYSQL_CONNECT_TIMEOUT_MS: '10000',
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

describe('MYSQL_SSL=verify-full against a real MariaDB server with TLS', () => {
  let server: TlsMariadb;

  beforeAll(async () => {
    server = await startTlsMariadb();
  }, 30_000);

  afterAll(async () => {
    await server?.close();
  });

  it('connects over TLS and runs a query when the CA is trusted and the host name is on the certificate', async () => {
    // Act
    const outcome = await connectorProcess({
      MYSQL_URL: server.url,
      MYSQL_SSL: 'verify-full',
      NODE_EXTRA_CA_CERTS: server.caFile,
    });
    // Assess
    expect(outcome.error).toBeUndefined();
    expect(outcome.output?.rows).toEqual([
      { Variable_name: 'Ssl_version', Value: expect.stringMatching(/^TLSv1\.[23]$/) },
    ]);
  });

  it('fails with ConfigurationError saying the certificate is not trusted when its CA is not', async () => {
    // Act
    const outcome = await connectorProcess({
      MYSQL_URL: server.url,
      MYSQL_SSL: 'verify-full',
      NODE_EXTRA_CA_CERTS: server.otherCaFile,
    });
    // Assess
    expect(outcome.error?.name).toBe('ConfigurationError');
    expect(outcome.error?.message).toMatch(/the server certificate is not trusted.*NODE_EXTRA_CA_CERTS/);
  });

  it('fails with ConfigurationError naming a host name mismatch when the name is not on the certificate', async () => {
    // Prepare: a server whose certificate names another host than the one connected to.
    const elsewhere = await startTlsMariadb('db.example.test');
    // Act
    const outcome = await connectorProcess({
      MYSQL_URL: elsewhere.url,
      MYSQL_SSL: 'verify-full',
      NODE_EXTRA_CA_CERTS: elsewhere.caFile,
    });
    await elsewhere.close();
    // Assess
    expect(outcome.error?.name).toBe('ConfigurationError');
    expect(outcome.error?.message).toMatch(/host name mismatch.*"localhost".*MYSQL_HOST/);
  });

  it('refuses an IP address as the host, which mysql2 would not check against the certificate', async () => {
    // Act
    const outcome = await connectorProcess({
      MYSQL_URL: server.url.replace('localhost', '127.0.0.1'),
      MYSQL_SSL: 'verify-full',
      NODE_EXTRA_CA_CERTS: server.caFile,
    });
    // Assess
    expect(outcome.error?.name).toBe('ConfigurationError');
    expect(outcome.error?.message).toMatch(
      /needs a host name the server certificate lists, not the IP address 127\.0\.0\.1/,
    );
  });
});
