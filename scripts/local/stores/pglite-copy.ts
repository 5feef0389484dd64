/**
 * `COPY ... FROM STDIN` for PGlite behind the PostgreSQL wire protocol. PGlite runs the backend in single-user
 * mode one message at a time, so a backend waiting for CopyData after a `COPY ... FROM STDIN` query finds the
 * end of its input and drops the connection ("protocol synchronization was lost"). This shim sits in front
 * of `@electric-sql/pglite-socket`: it answers such a query with CopyInResponse itself, collects the CopyData
 * messages until CopyDone, stages them as a file in PGlite's in-memory file system and sends PGlite the same
 * statement reading `FROM '<that file>'`; PGlite then answers `COPY n` (or an ErrorResponse) and
 * ReadyForQuery as PostgreSQL would, inside the connection's transaction, through the socket server's queue.
 * CopyFail becomes the error PostgreSQL raises for it ("COPY from stdin failed: ...", SQLSTATE 57014), so a
 * transaction around the COPY is aborted and rolls back as on a real server. Every other message passes
 * through unchanged.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

const SSL_REQUEST = 80877103;
const GSS_REQUEST = 80877104;
const CANCEL_REQUEST = 80877102;
const STAGING_DIR = '/tmp/circle-copy';

/** A `COPY <target> FROM STDIN ...` statement (one statement, simple protocol); group 1 is what precedes STDIN. */
const COPY_FROM_STDIN = /^(\s*copy\s[\s\S]*?\bfrom\s+)stdin\b([\s\S]*)$/i;

/** PGlite with a way to stage a file in its (Emscripten) file system, for `COPY ... FROM '<file>'`. */
export class StagingPGlite extends PGlite {
  /** Writes `data` at `path` in the database's file system (memory; never the host's disk). */
  stageFile(path: string, data: Uint8Array): void {
    const fs = this.stagingFs();
    try {
      fs.mkdir(STAGING_DIR);
    } catch {
      // already there
    }
    fs.writeFile(path, data);
  }

  /** Removes a staged file; a missing one is fine. */
  unstageFile(path: string): void {
    try {
      this.stagingFs().unlink(path);
    } catch {
      // already gone (or the database closed)
    }
  }

  private stagingFs() {
    if (this.mod === undefined) throw new Error('PGlite is not ready or closed');
    return this.mod.FS;
  }
}

/** A PGlite served over the wire protocol, with COPY FROM STDIN. */
export interface PgliteEndpoint {
  /** `host:port` to connect to. */
  address: string;
  close(): Promise<void>;
}

function message(type: string, body: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([header, body]);
}

const queryMessage = (sql: string): Buffer => message('Q', Buffer.from(`${sql}\0`, 'utf8'));

/** CopyInResponse: overall format (0 text, 1 binary) and one format code per column of an explicit list. */
function copyInResponse(statement: string, binary: boolean): Buffer {
  const list = /^\s*copy\s+[^(]*\(([^)]*)\)\s*from\b/i.exec(statement)?.[1];
  const columns = list === undefined ? 0 : list.split(',').length;
  const body = Buffer.alloc(3 + 2 * columns);
  body.writeInt8(binary ? 1 : 0, 0);
  body.writeInt16BE(columns, 1);
  for (let i = 0; i < columns; i += 1) body.writeInt16BE(binary ? 1 : 0, 3 + 2 * i);
  return message('G', body);
}

/**
 * The data up to an end-of-data marker (a line holding only `\\.`), which PostgreSQL honours on STDIN in text
 * and CSV format (psql sends one) but would read as a row from a file.
 */
function untilEndMarker(data: Buffer): Buffer {
  for (let at = 0; at < data.length; ) {
    if (data[at] === 0x5c && data[at + 1] === 0x2e) {
      const next = data[at + 2];
      if (next === undefined || next === 0x0a || (next === 0x0d && data[at + 3] === 0x0a)) {
        return data.subarray(0, at);
      }
    }
    const newline = data.indexOf(0x0a, at);
    if (newline < 0) break;
    at = newline + 1;
  }
  return data;
}

/** The statement PostgreSQL runs for a CopyFail: the same error, so a surrounding transaction aborts. */
function copyFailStatement(reason: string): string {
  const text = `COPY from stdin failed: ${reason}`.replaceAll('\0', '').replaceAll("'", "''");
  return `do $circle_copy$ begin raise exception using errcode = 'query_canceled', message = '${text}'; end $circle_copy$`;
}

/** One client connection and its upstream connection to the socket server. */
class CopyConnection {
  readonly #client: Socket;
  readonly #upstream: Socket;
  readonly #db: StagingPGlite;
  #fromClient = Buffer.alloc(0);
  #fromUpstream = Buffer.alloc(0);
  #started = false;
  /** The COPY statement being fed, and its data so far. */
  #copy: { statement: string; binary: boolean; chunks: Buffer[] } | undefined;
  /** One entry per message that ends in ReadyForQuery: the staged file to remove then, if any. */
  readonly #awaitingReady: (string | undefined)[] = [];

  constructor(client: Socket, upstream: Socket, db: StagingPGlite) {
    this.#client = client;
    this.#upstream = upstream;
    this.#db = db;
    client.on('data', (chunk: Buffer) => this.#onClient(chunk));
    upstream.on('data', (chunk: Buffer) => this.#onUpstream(chunk));
    const end = (): void => this.#close();
    for (const socket of [client, upstream]) {
      socket.on('close', end);
      socket.on('error', end);
    }
  }

  #close(): void {
    this.#client.destroy();
    this.#upstream.destroy();
    for (const path of this.#awaitingReady.splice(0)) if (path !== undefined) this.#db.unstageFile(path);
  }

  #onClient(chunk: Buffer): void {
    this.#fromClient = Buffer.concat([this.#fromClient, chunk]);
    while (this.#started ? this.#takeMessage() : this.#takeStartup());
  }

  /** The untyped packets before the session: SSL and GSS requests (refused with 'N'), cancel, startup. */
  #takeStartup(): boolean {
    if (this.#fromClient.length < 8) return false;
    const length = this.#fromClient.readInt32BE(0);
    if (this.#fromClient.length < length) return false;
    const packet = this.#fromClient.subarray(0, length);
    this.#fromClient = this.#fromClient.subarray(length);
    const code = packet.readInt32BE(4);
    if (code === SSL_REQUEST || code === GSS_REQUEST) {
      this.#client.write('N');
      return true;
    }
    if (code !== CANCEL_REQUEST) {
      this.#started = true;
      this.#awaitingReady.push(undefined);
    }
    this.#upstream.write(packet);
    return true;
  }

  /** One typed message, once it is complete. */
  #takeMessage(): boolean {
    if (this.#fromClient.length < 5) return false;
    const length = 1 + this.#fromClient.readInt32BE(1);
    if (this.#fromClient.length < length) return false;
    const packet = this.#fromClient.subarray(0, length);
    this.#fromClient = this.#fromClient.subarray(length);
    this.#onMessage(String.fromCharCode(packet[0] ?? 0), packet);
    return true;
  }

  #onMessage(type: string, packet: Buffer): void {
    const copy = this.#copy;
    if (copy !== undefined) {
      if (type === 'd') copy.chunks.push(Buffer.from(packet.subarray(5)));
      else if (type === 'c') this.#finishCopy(copy);
      else if (type === 'f') this.#failCopy(packet.subarray(5).toString('utf8').replace(/\0$/, ''));
      // Flush and Sync are ignored during COPY IN, as PostgreSQL does; anything else ends it.
      else if (type !== 'H' && type !== 'S')
        this.#failCopy(`unexpected message type 0x${packet[0]?.toString(16)}`);
      return;
    }
    if (type === 'Q') {
      const sql = packet.subarray(5).toString('utf8').replace(/\0$/, '');
      const match = COPY_FROM_STDIN.exec(sql);
      if (match !== null) {
        const binary = /\bbinary\b/i.test(match[2] ?? '');
        this.#copy = { statement: sql, binary, chunks: [] };
        this.#client.write(copyInResponse(sql, binary));
        return;
      }
    }
    if (type === 'Q' || type === 'S') this.#awaitingReady.push(undefined);
    this.#upstream.write(packet);
  }

  #finishCopy(copy: { statement: string; binary: boolean; chunks: Buffer[] }): void {
    this.#copy = undefined;
    const path = `${STAGING_DIR}/${randomUUID()}`;
    const data = Buffer.concat(copy.chunks);
    try {
      this.#db.stageFile(path, copy.binary ? data : untilEndMarker(data));
    } catch (error) {
      this.#forward(copyFailStatement(`could not stage the data (${(error as Error).message})`), undefined);
      return;
    }
    const statement = copy.statement.replace(
      COPY_FROM_STDIN,
      (_all, head: string, tail: string) => `${head}'${path}'${tail}`,
    );
    this.#forward(statement, path);
  }

  #failCopy(reason: string): void {
    this.#copy = undefined;
    this.#forward(copyFailStatement(reason), undefined);
  }

  #forward(sql: string, staged: string | undefined): void {
    this.#awaitingReady.push(staged);
    this.#upstream.write(queryMessage(sql));
  }

  #onUpstream(chunk: Buffer): void {
    this.#client.write(chunk);
    this.#fromUpstream = Buffer.concat([this.#fromUpstream, chunk]);
    while (this.#fromUpstream.length >= 5) {
      const length = 1 + this.#fromUpstream.readInt32BE(1);
      if (this.#fromUpstream.length < length) return;
      const type = this.#fromUpstream[0];
      this.#fromUpstream = this.#fromUpstream.subarray(length);
      if (type === 0x5a /* Z: ReadyForQuery */) {
        const staged = this.#awaitingReady.shift();
        if (staged !== undefined) this.#db.unstageFile(staged);
      }
    }
  }
}

/**
 * Serves `db` on 127.0.0.1 (`port` 0: an ephemeral one) with COPY FROM STDIN; see the module comment.
 *
 * @example
 * ```ts
 * const db = new StagingPGlite({});
 * await db.waitReady;
 * const endpoint = await servePglite(db, { port: 0, maxConnections: 32 });
 * // postgres://postgres@${endpoint.address}/postgres
 * ```
 */
export async function servePglite(
  db: StagingPGlite,
  options: { port: number; maxConnections: number },
): Promise<PgliteEndpoint> {
  // The socket server listens on a Unix socket in a private folder, not on a TCP port: the stack listens on
  // no port it does not report (test/hardening/local-listeners.test.ts), and only this shim reaches it.
  const folder = await mkdtemp(join(tmpdir(), 'circle-pglite-'));
  const path = join(folder, '.s.PGSQL.5432');
  const upstream = new PGLiteSocketServer({ db, path, maxConnections: options.maxConnections });
  await upstream.start();
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const inner = connect({ path });
    client.setNoDelay(true);
    inner.setNoDelay(true);
    for (const socket of [client, inner]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    }
    new CopyConnection(client, inner, db);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const address = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    address,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await upstream.stop();
      await rm(folder, { recursive: true, force: true });
    },
  };
}
