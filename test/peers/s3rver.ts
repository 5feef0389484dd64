/**
 * s3rver (a real S3 HTTP server) as a test peer: started exactly as the local stack starts it
 * (`scripts/local/stores/s3rver.ts`: its own process with the OpenSSL legacy provider for its continuation
 * tokens, the Host/Origin gate, S3's conditional writes), listening on 127.0.0.1 on an ephemeral port, with
 * its data in a fresh temporary directory that `close()` removes. Unlike the stack, it checks signatures.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startS3rver as startS3rverProcess } from '../../scripts/local/stores/s3rver.ts';

/** A running s3rver. */
export interface S3rverPeer {
  /** `http://127.0.0.1:<port>`; use it with `forcePathStyle: true`. */
  endpoint: string;
  /**
   * Access keys s3rver accepts (it checks the SigV4 signature against the key's secret, which for every
   * key here equals its id).
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
  const ids = ['test', ...(options.accessKeyIds ?? [])];
  let server: Awaited<ReturnType<typeof startS3rverProcess>>;
  try {
    server = await startS3rverProcess({
      directory,
      buckets: options.buckets,
      keys: ids.map((id) => ({ accessKeyId: id, secretAccessKey: id })),
    });
  } catch (error) {
    await rm(directory, { recursive: true, force: true });
    throw error;
  }
  let closing: Promise<void> | undefined;
  return {
    endpoint: server.url,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    directory,
    close: () => {
      closing ??= server.close().then(() => rm(directory, { recursive: true, force: true }));
      return closing;
    },
  };
}
