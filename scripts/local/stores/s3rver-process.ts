/**
 * The process s3rver runs in (started by `s3rver.ts`, never directly): s3rver on 127.0.0.1, behind the
 * stack's Host/Origin gate, with the access keys it is told, S3's conditional writes, keys with
 * segments longer than a file name (`s3rver-long-keys.ts`), listings in S3's order with `encoding-type=url`
 * (`s3rver-listing.ts`) and S3's 2 KB limit on user-defined metadata (`s3rver-metadata.ts`). It prints
 * `{"port": n}` once it listens, and stops when its parent closes stdin (or dies) or sends SIGTERM.
 *
 * Options arrive as JSON in argv[2]: `{ directory, buckets, keys: [{ accessKeyId, secretAccessKey }],
 * allowMismatchedSignatures }`.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { escapeXml } from '../aws/protocol.ts';
import { guard, type Refusal } from '../guard.ts';
import { honourConditionalWrites } from './s3rver-conditions.ts';
import { listInS3Order } from './s3rver-listing.ts';
import { storeLongKeys } from './s3rver-long-keys.ts';
import { limitUserMetadata } from './s3rver-metadata.ts';

const require = createRequire(import.meta.url);

interface Options {
  directory: string;
  buckets: string[];
  keys: { accessKeyId: string; secretAccessKey: string }[];
  allowMismatchedSignatures: boolean;
}

interface S3rverInstance {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  /** Koa's request listener, which `run()` attaches to the server it creates. */
  callback(): RequestListener;
  httpServer?: Server;
}
type S3rverClass = new (options: Record<string, unknown>) => S3rverInstance;

/** A refusal as S3 words it. */
function refuseS3(_req: IncomingMessage, res: ServerResponse, refusal: Refusal): void {
  const text =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    `<Error><Code>AccessDenied</Code><Message>${escapeXml(refusal.message)}</Message></Error>`;
  res.writeHead(403, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
honourConditionalWrites();
storeLongKeys();
listInS3Order();
limitUserMetadata();
const S3rver = require('s3rver') as S3rverClass;
// s3rver does not verify signatures unless told to, but it only accepts access key ids it knows.
const account = (
  require('s3rver/lib/models/account') as {
    DUMMY_ACCOUNT: { createKeyPair(id: string, secret: string): void };
  }
).DUMMY_ACCOUNT;
for (const key of options.keys) account.createKeyPair(key.accessKeyId, key.secretAccessKey);

const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory: options.directory,
  configureBuckets: options.buckets.map((name) => ({ name })),
  allowMismatchedSignatures: options.allowMismatchedSignatures,
});
const callback = server.callback.bind(server);
server.callback = () => guard(callback(), refuseS3);

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  server.httpServer?.closeAllConnections();
  server
    .close()
    .catch(() => undefined)
    .finally(() => process.exit(0));
}
// The parent closes stdin to stop us, and so does its death: no orphaned servers.
process.stdin.on('end', stop).resume();
process.on('SIGTERM', stop);

server.run().then(
  (address) => {
    // Node closes an idle keep-alive socket after 5 s; a client reusing it at that moment reads "socket
    // hang up". Real S3 keeps idle connections far longer, so the local store does too.
    if (server.httpServer !== undefined) {
      server.httpServer.keepAliveTimeout = 65_000;
      server.httpServer.headersTimeout = 66_000;
    }
    process.stdout.write(`${JSON.stringify({ port: address.port })}\n`);
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
