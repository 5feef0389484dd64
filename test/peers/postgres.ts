/**
 * PostgreSQL peers for tests: the machine's real server, PGlite (embedded PostgreSQL in WebAssembly)
 * served over the PostgreSQL wire protocol, so the same `pg` client code talks to both, a password
 * gate that makes a trust-auth server ask for a password, and a throwaway second server that speaks TLS.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { type AddressInfo, connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
import { freePort, makeCa, makeServerCertificate } from './tls.ts';

/** A running PGlite socket server. */
export interface PgliteServer {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  url: string;
  close(): Promise<void>;
}

/**
 * The real PostgreSQL server of this machine (trust auth on 127.0.0.1, database `test`).
 * `CIRCLE_TEST_PG_URL` overrides it, e.g. where the superuser is `root`.
 *
 * @example
 * ```ts
 * const client = new pg.Client(realPostgresUrl());
 * ```
 */
export function realPostgresUrl(): string {
  return process.env['CIRCLE_TEST_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';
}

/**
 * Starts PGlite in memory behind `@electric-sql/pglite-socket` on 127.0.0.1 and an ephemeral port. PGlite
 * runs queries one at a time in this process, so a long statement (`pg_sleep`) blocks the test's event
 * loop; keep timeout tests on the real server. `vector: true` loads pgvector (`create extension vector`).
 *
 * @example
 * ```ts
 * const pglite = await startPglite();
 * const client = new pg.Client(pglite.url);
 * afterAll(() => pglite.close());
 * ```
 */
export async function startPglite(options: { vector?: boolean } = {}): Promise<PgliteServer> {
  // pgvector ships as a PGlite extension package; it loads only when asked for.
  const extensions = options.vector ? { vector: (await import('@electric-sql/pglite-pgvector')).vector } : {};
  const db = await PGlite.create({ extensions });
  // Several connections: a client reconnecting after a drop must not be refused while the old one closes.
  const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 16 });
  await server.start();
  const address = server.getServerConn();
  return {
    url: `postgres://postgres@${address}/postgres`,
    close: async () => {
      await server.stop();
      await db.close();
    },
  };
}

/**
 * A name no other test file uses (`prefix_` + 12 hex characters), for a schema or a table, so suites
 * running in parallel never collide.
 *
 * @example
 * ```ts
 * const schema = uniqueName('orders'); // orders_3f9a1c0b2e4d (PostgreSQL reserves schema names starting pg_)
 * ```
 */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/**
 * Runs `work` with a short-lived admin connection to `url` (to create or drop a schema, or terminate a
 * backend), closing it afterwards.
 *
 * @example
 * ```ts
 * await withPostgres(realPostgresUrl(), (client) => client.query(`create schema ${schema}`));
 * ```
 */
export async function withPostgres<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A password-checking front for a trust-auth PostgreSQL server. */
export interface PasswordGate {
  host: string;
  port: number;
  /** The password the gate accepts from now on (a rotation). */
  setPassword(password: string): void;
  /** Passwords the gate was offered, in order (accepted or not). */
  attempts: string[];
  /** Cuts every open connection, as a server restart or a failover would. */
  dropConnections(): void;
  close(): Promise<void>;
}

const SSL_REQUEST = 80_877_103;
const CANCEL_REQUEST = 80_877_102;

/** AuthenticationCleartextPassword: 'R', length 8, method 3. */
const CLEARTEXT_PASSWORD_REQUEST = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]);

/**
 * Consumes untyped startup-phase messages: answers SSLRequest with 'N' (no TLS), hands a CancelRequest to
 * `forwardCancel`, and returns the StartupMessage once it is complete.
 */
function readStartup(
  input: Buffer,
  client: Socket,
  forwardCancel: (message: Buffer) => void,
): { startup?: Buffer; rest: Buffer } {
  let buffer = input;
  while (buffer.length >= 8) {
    const length = buffer.readInt32BE(0);
    if (buffer.length < length) break;
    const code = buffer.readInt32BE(4);
    const message = buffer.subarray(0, length);
    buffer = buffer.subarray(length);
    if (code === SSL_REQUEST) {
      client.write('N');
    } else if (code === CANCEL_REQUEST) {
      forwardCancel(message);
      client.end();
      return { rest: Buffer.alloc(0) };
    } else {
      return { startup: message, rest: buffer };
    }
  }
  return { rest: buffer };
}

/** A complete PasswordMessage ('p', int32 length, NUL-terminated password) and the bytes after it. */
function readPasswordMessage(buffer: Buffer): { value: string; rest: Buffer } | undefined {
  if (buffer.length < 5) return undefined;
  const end = 1 + buffer.readInt32BE(1);
  if (buffer.length < end) return undefined;
  return { value: buffer.subarray(5, end - 1).toString('utf8'), rest: buffer.subarray(end) };
}

/** A parameter of a StartupMessage (int32 length, int32 version, then name NUL value NUL pairs). */
function startupParameter(startup: Buffer, name: string): string {
  const parts = startup.subarray(8).toString('utf8').split('\0');
  return parts[parts.indexOf(name) + 1] ?? '';
}

function errorResponse(sqlstate: string, message: string): Buffer {
  const fields = Buffer.concat([
    Buffer.from(`SFATAL\0VFATAL\0C${sqlstate}\0M${message}\0`, 'utf8'),
    Buffer.from([0]),
  ]);
  const head = Buffer.alloc(5);
  head.write('E', 0, 'latin1');
  head.writeInt32BE(fields.length + 4, 1);
  return Buffer.concat([head, fields]);
}

/**
 * Puts cleartext password authentication in front of a trust-auth server (the machine's PostgreSQL
 * accepts any password on 127.0.0.1), speaking the real wire protocol: the client's startup message is
 * answered with AuthenticationCleartextPassword; a wrong password gets the server's own refusal (FATAL
 * 28P01), a right one is forwarded with the startup message to the upstream, then bytes are piped both
 * ways. Cancel requests are forwarded. For rotation and wrong-password tests.
 *
 * @example
 * ```ts
 * const gate = await startPasswordGate({ upstream: realPostgresUrl(), password: 'pw1' });
 * const client = new pg.Client({ host: gate.host, port: gate.port, user: 'postgres', password: 'pw1', database: 'test' });
 * ```
 */
export async function startPasswordGate(options: {
  upstream: string;
  password: string;
}): Promise<PasswordGate> {
  const upstream = new URL(options.upstream);
  const upstreamPort = Number(upstream.port || 5432);
  let expected = options.password;
  const attempts: string[] = [];
  const sockets = new Set<Socket>();
  const track = (socket: Socket): Socket => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    return socket;
  };

  const upstreamSocket = (): Socket => track(connect(upstreamPort, upstream.hostname));

  /** Forwards the startup message and whatever followed the password, then pipes both ways. */
  const admit = (client: Socket, startup: Buffer, rest: Buffer): void => {
    const server = upstreamSocket();
    server.on('connect', () => {
      server.write(startup);
      if (rest.length > 0) server.write(rest);
      client.pipe(server);
      server.pipe(client);
    });
    server.on('close', () => client.destroy());
    client.on('close', () => server.destroy());
  };

  const server = createServer((client) => {
    track(client);
    let buffer: Buffer = Buffer.alloc(0);
    let startup: Buffer | undefined;
    const forwardCancel = (message: Buffer): void => {
      const upstreamCancel = upstreamSocket();
      upstreamCancel.on('connect', () => upstreamCancel.end(message));
    };
    const onData = (chunk: Buffer): void => {
      buffer = Buffer.concat([buffer, chunk]);
      if (startup === undefined) {
        const read = readStartup(buffer, client, forwardCancel);
        buffer = read.rest;
        startup = read.startup;
        if (startup === undefined) return;
        client.write(CLEARTEXT_PASSWORD_REQUEST);
      }
      const password = readPasswordMessage(buffer);
      if (password === undefined) return;
      client.off('data', onData);
      attempts.push(password.value);
      if (password.value === expected) {
        admit(client, startup, password.rest);
        return;
      }
      const user = startupParameter(startup, 'user');
      client.end(errorResponse('28P01', `password authentication failed for user "${user}"`));
    };
    client.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: '127.0.0.1',
    port,
    attempts,
    setPassword: (password) => {
      expected = password;
    },
    dropConnections: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A PostgreSQL server of its own, with TLS on, for the duration of a test file. */
export interface TlsPostgres {
  /** 127.0.0.1 only; connect as `localhost` (the name on the certificate) or `127.0.0.1` (not on it). */
  port: number;
  /** PEM file of the CA that issued the server certificate. */
  caFile: string;
  /** PEM file of another CA, which issued nothing this server presents. */
  otherCaFile: string;
  /** Stops the server and deletes its files. */
  close(): Promise<void>;
}

/** The PostgreSQL server programs (initdb, pg_ctl): Debian keeps them out of PATH, per major version. */
function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((version) => existsSync(join(root, version, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(root, versions[0], 'bin');
  }
  const fromPgConfig = spawnSync('pg_config', ['--bindir'], { encoding: 'utf8' });
  const bindir = fromPgConfig.status === 0 ? fromPgConfig.stdout.trim() : '';
  return bindir !== '' && existsSync(join(bindir, 'initdb')) ? bindir : undefined;
}

/**
 * Starts a second PostgreSQL server with TLS on, in a temporary folder, on a free port of 127.0.0.1: a
 * throwaway CA (and a second CA that is not the issuer) made with `openssl`, a server certificate for
 * `localhost`, `initdb`, and `hostssl`-only trust authentication, so a connection without TLS is refused.
 * Needs the PostgreSQL server packages (initdb, pg_ctl) and `openssl`; as root the server runs as the
 * `postgres` user. Nothing is shared with other test files or the machine's own server, so it is
 * idempotent and safe in parallel; the server is stopped when the process exits, whatever happens.
 *
 * @example
 * ```ts
 * const tls = await startTlsPostgres();
 * // PG_URL=postgres://postgres@localhost:<tls.port>/postgres PG_SSL=verify-full NODE_EXTRA_CA_CERTS=<tls.caFile>
 * afterAll(() => tls.close());
 * ```
 */
export async function startTlsPostgres(): Promise<TlsPostgres> {
  const bin = postgresBinDir();
  if (bin === undefined) {
    throw new Error('startTlsPostgres needs the PostgreSQL server packages (initdb, pg_ctl); none was found');
  }
  const dir = mkdtempSync(join(tmpdir(), 'circle-pg-tls-'));
  const data = join(dir, 'data');
  makeCa(dir, 'ca');
  makeCa(dir, 'other-ca');
  makeServerCertificate(dir, 'ca');

  // PostgreSQL refuses to run as root and wants its key readable by its own user only.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const owner = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
    const group = execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim();
    for (const name of ['', 'server.key', 'server.crt'])
      chownSync(join(dir, name), Number(owner), Number(group));
  }
  const run = (program: string, args: string[]): void => {
    const [command, commandArgs] = asRoot
      ? ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]]
      : [join(bin, program), args];
    const result = spawnSync(command, commandArgs, { encoding: 'utf8', cwd: dir });
    if (result.status !== 0) {
      const log = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8') : '';
      throw new Error(`${program} failed: ${result.stderr}${result.stdout}\n${log.slice(-2_000)}`);
    }
  };
  const stop = (): void => {
    if (existsSync(join(data, 'postmaster.pid'))) {
      spawnSync(asRoot ? 'runuser' : join(bin, 'pg_ctl'), [
        ...(asRoot ? ['-u', 'postgres', '--', join(bin, 'pg_ctl')] : []),
        '-D',
        data,
        '-m',
        'immediate',
        '-w',
        'stop',
      ]);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);

  try {
    run('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    writeFileSync(join(data, 'pg_hba.conf'), 'hostssl all all 127.0.0.1/32 trust\n');
    writeFileSync(join(data, 'postgresql.conf'), "\ninclude = 'circle-core-tls.conf'\n", { flag: 'a' });
    let port = 0;
    for (let attempt = 1; ; attempt += 1) {
      port = await freePort();
      writeFileSync(
        join(data, 'circle-core-tls.conf'),
        [
          "listen_addresses = '127.0.0.1'",
          `port = ${port}`,
          `unix_socket_directories = '${dir}'`,
          'ssl = on',
          `ssl_cert_file = '${join(dir, 'server.crt')}'`,
          `ssl_key_file = '${join(dir, 'server.key')}'`,
          'fsync = off',
          'max_connections = 20',
          '',
        ].join('\n'),
      );
      try {
        run('pg_ctl', ['-D', data, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
        break;
      } catch (error) {
        // Another process may have taken the free port in between: try another one.
        if (attempt === 3) throw error;
      }
    }
    return {
      port,
      caFile: join(dir, 'ca.crt'),
      otherCaFile: join(dir, 'other-ca.crt'),
      close: async () => {
        process.off('exit', stop);
        stop();
      },
    };
  } catch (error) {
    process.off('exit', stop);
    stop();
    throw error;
  }
}
