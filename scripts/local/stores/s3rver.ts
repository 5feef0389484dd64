/**
 * Starts s3rver (a real S3 HTTP server) in a process of its own, the one way both the local stack and the
 * tests' S3 peer run it, so the tests exercise what `npm start` serves.
 *
 * Why a process of its own, with `--openssl-legacy-provider`: s3rver encrypts ListObjectsV2 continuation
 * tokens with single DES, which OpenSSL 3 (Node 17 and later) offers only through its legacy provider, and
 * only a process flag switches that on. Run inside the stack, every listing longer than one page answered
 * 500 InternalError. The alternatives were worse: patching the token code means editing s3rver's private
 * functions (they are not exported), and switching the legacy provider on for the whole stack would give
 * its functions ciphers Lambda's runtime refuses. In its own process the flag reaches s3rver alone; the
 * token is an opaque cursor over local files, so DES protects nothing there. The process also keeps
 * s3rver's synchronous file I/O off the stack's event loop.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ENTRY = fileURLToPath(new URL('./s3rver-process.ts', import.meta.url));
const START_TIMEOUT_MS = 15_000;

/** How to start s3rver. */
export interface S3rverOptions {
  /** Where objects are stored (kept across restarts; the caller removes it if it should not be). */
  directory: string;
  /** Buckets created before the server accepts requests (existing ones are kept). */
  buckets: string[];
  /** Access keys s3rver accepts besides its built-in `S3RVER`. */
  keys: { accessKeyId: string; secretAccessKey: string }[];
  /** Serve requests whose SigV4 signature does not match the key's secret (the stack accepts any). */
  allowMismatchedSignatures?: boolean;
}

/** A running s3rver process. */
export interface S3rverServer {
  /** `http://127.0.0.1:<port>`; use it with path-style addressing. */
  url: string;
  /** Stops the process. Safe to call twice. */
  close(): Promise<void>;
}

function readPort(child: ChildProcess, stderr: () => string): Promise<number> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    const fail = (reason: string): void => {
      lines.close();
      reject(new Error(`s3rver did not start: ${reason}\n${stderr()}`.trim()));
    };
    const timer = setTimeout(() => fail(`no answer within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS);
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
      resolve((JSON.parse(line) as { port: number }).port);
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

/**
 * Starts s3rver on 127.0.0.1 (an ephemeral port) behind the local Host/Origin gate, with S3's conditional
 * writes (`If-None-Match`, `If-Match`), multi-page listings and keys with segments longer than a file name
 * (up to S3's 1,024 bytes) working.
 *
 * @example
 * ```ts
 * const s3 = await startS3rver({ directory: '.local/s3', buckets: ['data'], keys: [{ accessKeyId: 'test', secretAccessKey: 'test' }] });
 * // new S3Client({ endpoint: s3.url, forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
 * await s3.close();
 * ```
 */
export async function startS3rver(options: S3rverOptions): Promise<S3rverServer> {
  const settings = {
    directory: options.directory,
    buckets: options.buckets,
    keys: options.keys,
    allowMismatchedSignatures: options.allowMismatchedSignatures ?? false,
  };
  const child = spawn(process.execPath, ['--openssl-legacy-provider', ENTRY, JSON.stringify(settings)], {
    stdio: ['pipe', 'pipe', 'pipe'],
    // Only what it needs: s3rver must not see the caller's credentials or endpoints.
    env: { PATH: process.env['PATH'] ?? '' },
  });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  let port: number;
  try {
    port = await readPort(child, () => stderr);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => {
      closing ??= stop(child);
      return closing;
    },
  };
}
