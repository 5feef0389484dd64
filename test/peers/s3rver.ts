/**
 * s3rver (a real S3 HTTP server) as a test peer: one child process per call, listening on 127.0.0.1 on an
 * ephemeral port, with its data in a fresh temporary directory that `close()` removes.
 *
 * Why a child process: s3rver encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node
 * 17+) only offers through its legacy provider, and that can only be switched on by a process flag. A
 * separate process also keeps s3rver's synchronous file I/O off the test's event loop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** A running s3rver. */
export interface S3rverPeer {
  /** `http://127.0.0.1:<port>`; use it with `forcePathStyle: true`. */
  endpoint: string;
  /**
   * Access keys s3rver accepts (it does not verify SigV4 signatures, only that the key id is known);
   * the secret can be anything.
   */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The data directory (removed by `close`). */
  directory: string;
  /** Stops the server and removes its data. Safe to call twice. */
  close(): Promise<void>;
}

export interface S3rverOptions {
  /** Buckets created before the server starts accepting requests. */
  buckets: string[];
  /** Extra access key ids to accept besides `S3RVER` and `test` (the local stack's default). */
  accessKeyIds?: string[];
}

const require = createRequire(import.meta.url);

// Runs in the child (CommonJS, `-e`): the parent passes module paths and options as JSON in argv.
const CHILD = `
const [modulePath, accountPath, optionsJson] = process.argv.slice(1);
const S3rver = require(modulePath);
const { DUMMY_ACCOUNT } = require(accountPath);
const options = JSON.parse(optionsJson);
for (const id of options.accessKeyIds) DUMMY_ACCOUNT.createKeyPair(id, id);
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: options.directory,
  configureBuckets: options.buckets.map((name) => ({ name })),
});
server.run().then(
  (address) => process.stdout.write(JSON.stringify({ port: address.port }) + '\\n'),
  (error) => { process.stderr.write(String(error && error.stack || error)); process.exit(1); },
);
const stop = () => {
  if (server.httpServer) server.httpServer.closeAllConnections();
  server.close().catch(() => undefined).finally(() => process.exit(0));
};
// The parent closes stdin to stop us, and so does its death: no orphaned servers.
process.stdin.on('end', stop).resume();
process.on('SIGTERM', stop);
`;

/**
 * Starts s3rver with the given buckets. Point the AWS SDK at `endpoint` with `forcePathStyle: true`,
 * region `us-east-1` and an access key id from `credentials` (or `test`).
 *
 * @example
 * ```ts
 * const s3rver = await startS3rver({ buckets: ['data'] });
 * const s3 = new S3Client({ endpoint: s3rver.endpoint, forcePathStyle: true, region: 'us-east-1',
 *   credentials: s3rver.credentials });
 * await s3rver.close();
 * ```
 */
export async function startS3rver(options: S3rverOptions): Promise<S3rverPeer> {
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const childOptions = {
    directory,
    buckets: options.buckets,
    accessKeyIds: ['test', ...(options.accessKeyIds ?? [])],
  };
  const child = spawn(
    process.execPath,
    [
      '--openssl-legacy-provider',
      '-e',
      CHILD,
      require.resolve('s3rver'),
      require.resolve('s3rver/lib/models/account'),
      JSON.stringify(childOptions),
    ],
    { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH: process.env['PATH'] ?? '' } },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  let port: number;
  try {
    port = await readPort(child, () => stderr);
  } catch (error) {
    child.kill('SIGKILL');
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    directory,
    close: () => {
      closing ??= stop(child).then(() => rm(directory, { recursive: true, force: true }));
      return closing;
    },
  };
}

function readPort(child: ChildProcess, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const fail = (reason: string) => {
      lines.close();
      reject(new Error(`s3rver did not start: ${reason}\n${stderr()}`));
    };
    const timer = setTimeout(() => fail('no answer within 15 s'), 15_000);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(`exited with code ${String(code)}`);
    });
    child.once('error', (error) => {
      clearTimeout(timer);
      fail(error.message);
    });
    lines.once('line', (line) => {
      clearTimeout(timer);
      lines.close();
      child.removeAllListeners('exit');
      const { port } = JSON.parse(line) as { port: number };
      resolve(port);
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.stdin?.end();
  });
}
