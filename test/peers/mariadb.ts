/**
 * MySQL/MariaDB peers for tests: the machine's real MariaDB server (root without a password on
 * 127.0.0.1:3306, database `test`), an admin connection for set-up, and throwaway databases and users
 * with unique names so test files running in parallel never collide.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import { freePort, makeCa, makeServerCertificate } from './tls.ts';

/**
 * The real MySQL/MariaDB server of this machine. `CIRCLE_TEST_MYSQL_URL` overrides it.
 *
 * @example
 * ```ts
 * const url = realMysqlUrl(); // mysql://root@127.0.0.1:3306/test
 * ```
 */
export function realMysqlUrl(): string {
  return process.env['CIRCLE_TEST_MYSQL_URL'] ?? 'mysql://root@127.0.0.1:3306/test';
}

/**
 * A name no other test file uses (`prefix_` + 12 hex characters), for a database, table or user.
 *
 * @example
 * ```ts
 * const database = uniqueMysqlName('conformance'); // conformance_3f9a1c0b2e4d
 * ```
 */
export function uniqueMysqlName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/**
 * Runs `work` with a short-lived admin connection to the real server, closing it afterwards. Admin
 * statements use the text protocol (`query`): DDL and account statements with names the test made.
 *
 * @example
 * ```ts
 * await withMysql((admin) => admin.query('create database `scratch`'));
 * ```
 */
export async function withMysql<T>(work: (admin: mysql.Connection) => Promise<T>): Promise<T> {
  const admin = await mysql.createConnection({ uri: realMysqlUrl(), multipleStatements: false });
  try {
    return await work(admin);
  } finally {
    await admin.end();
  }
}

/** Quotes a name with backticks for the admin's DDL. */
export function tick(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}

/**
 * Creates a database of its own for one test file; `drop()` removes it.
 *
 * @example
 * ```ts
 * const scratch = await scratchDatabase('client');
 * afterAll(() => scratch.drop());
 * ```
 */
export async function scratchDatabase(prefix: string): Promise<{ name: string; drop(): Promise<void> }> {
  const name = uniqueMysqlName(prefix);
  await withMysql((admin) => admin.query(`create database ${tick(name)}`));
  return {
    name,
    drop: () =>
      withMysql((admin) => admin.query(`drop database if exists ${tick(name)}`)).then(() => undefined),
  };
}

/** A TCP front for the real server that can cut every open connection, as a failover or a network would. */
export interface CuttingProxy {
  url: string;
  /** Connections accepted so far. */
  accepted(): number;
  /** Destroys every open connection, with no message from the server. */
  cut(): void;
  close(): Promise<void>;
}

/**
 * Starts a TCP proxy on 127.0.0.1 in front of the real server (same user and database as
 * {@link realMysqlUrl}).
 *
 * @example
 * ```ts
 * const proxy = await startCuttingProxy();
 * proxy.cut(); // the connector sees its connection lost
 * ```
 */
export async function startCuttingProxy(): Promise<CuttingProxy> {
  const upstream = new URL(realMysqlUrl());
  const sockets = new Set<Socket>();
  let accepted = 0;
  const server = createServer((client) => {
    accepted += 1;
    const target = connect(Number(upstream.port || 3306), upstream.hostname);
    for (const socket of [client, target]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(target).pipe(client);
    client.on('close', () => target.destroy());
    target.on('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = new URL(realMysqlUrl());
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return {
    url: url.toString(),
    accepted: () => accepted,
    cut: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A throwaway MariaDB server with TLS on. */
export interface TlsMariadb {
  /** `mysql://root@localhost:<port>/` (any user is let in: the server skips its grant tables). */
  url: string;
  /** The PEM file of the CA that issued the server certificate (for NODE_EXTRA_CA_CERTS). */
  caFile: string;
  /** The PEM file of a CA that issued nothing this server presents. */
  otherCaFile: string;
  close(): Promise<void>;
}

/**
 * Starts a second MariaDB server on a free port of 127.0.0.1 with TLS on: an empty data folder, grant
 * tables skipped (the tests are about TLS, not accounts), a throwaway CA and a server certificate for
 * `host` made with `openssl`. Starts in about a second; stopped and deleted by `close()` or at exit.
 *
 * @example
 * ```ts
 * const tls = await startTlsMariadb(); // certificate for localhost
 * afterAll(() => tls.close());
 * ```
 */
export async function startTlsMariadb(host = 'localhost'): Promise<TlsMariadb> {
  const dir = await mkdtemp(join(tmpdir(), 'circle-core-tls-mariadb-'));
  makeCa(dir, 'ca');
  makeCa(dir, 'other');
  makeServerCertificate(dir, 'ca', host);
  await mkdir(join(dir, 'data'));
  const port = await freePort();
  const server = spawn(
    '/usr/sbin/mariadbd',
    [
      '--no-defaults',
      `--datadir=${join(dir, 'data')}`,
      `--socket=${join(dir, 'mariadb.sock')}`,
      `--port=${port}`,
      '--bind-address=127.0.0.1',
      '--skip-grant-tables',
      '--innodb-buffer-pool-size=16M',
      `--ssl-ca=${join(dir, 'ca.crt')}`,
      `--ssl-cert=${join(dir, 'server.crt')}`,
      `--ssl-key=${join(dir, 'server.key')}`,
      `--log-error=${join(dir, 'error.log')}`,
      ...(process.getuid?.() === 0 ? ['--user=root'] : []),
    ],
    { stdio: 'ignore' },
  );
  const stop = (): void => {
    server.kill('SIGKILL');
  };
  process.once('exit', stop);
  const close = async (): Promise<void> => {
    process.off('exit', stop);
    if (server.exitCode === null) {
      await new Promise<void>((resolve) => {
        server.once('exit', () => resolve());
        server.kill('SIGTERM');
      });
    }
    await rm(dir, { recursive: true, force: true });
  };
  for (let waited = 0; ; waited += 100) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    }).catch(() => false);
    if (up) break;
    if (waited > 20_000 || server.exitCode !== null) {
      await close();
      throw new Error('the TLS MariaDB server did not start');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url: `mysql://root@localhost:${port}/`,
    caFile: join(dir, 'ca.crt'),
    otherCaFile: join(dir, 'other.crt'),
    close,
  };
}
