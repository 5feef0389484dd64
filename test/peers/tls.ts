/**
 * TLS material for tests that run a throwaway server with TLS on (PostgreSQL, MariaDB): a CA made with
 * `openssl`, a server certificate for one host name issued by it, and a free port on 127.0.0.1.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { join } from 'node:path';

/**
 * A port nothing listens on right now, on 127.0.0.1.
 *
 * @example
 * ```ts
 * const port = await freePort();
 * ```
 */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/**
 * A throwaway CA (`<dir>/<name>.crt` and `.key`): self-signed, allowed to sign certificates and nothing
 * else, valid for two days.
 *
 * @example
 * ```ts
 * makeCa(dir, 'ca');
 * ```
 */
export function makeCa(dir: string, name: string): void {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      join(dir, `${name}.key`),
      '-out',
      join(dir, `${name}.crt`),
      '-days',
      '2',
      '-subj',
      `/CN=Circle Core test ${name}`,
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    { stdio: 'pipe' },
  );
}

/**
 * A server certificate (`<dir>/server.crt` and `.key`) for `host` only (no IP address in it), issued by
 * the CA `ca`.
 *
 * @example
 * ```ts
 * makeServerCertificate(dir, 'ca', 'localhost');
 * ```
 */
export function makeServerCertificate(dir: string, ca: string, host = 'localhost'): void {
  const extensions = join(dir, 'server.ext');
  writeFileSync(
    extensions,
    `subjectAltName = DNS:${host}\n` +
      'basicConstraints = critical, CA:FALSE\n' +
      'keyUsage = critical, digitalSignature\nextendedKeyUsage = serverAuth\n',
  );
  const key = join(dir, 'server.key');
  const request = join(dir, 'server.csr');
  execFileSync(
    'openssl',
    [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      request,
      '-subj',
      `/CN=${host}`,
    ],
    { stdio: 'pipe' },
  );
  execFileSync(
    'openssl',
    [
      'x509',
      '-req',
      '-in',
      request,
      '-CA',
      join(dir, `${ca}.crt`),
      '-CAkey',
      join(dir, `${ca}.key`),
      '-set_serial',
      `0x${randomBytes(8).toString('hex')}`,
      '-days',
      '2',
      '-extfile',
      extensions,
      '-out',
      join(dir, 'server.crt'),
    ],
    { stdio: 'pipe' },
  );
  chmodSync(key, 0o600);
}
