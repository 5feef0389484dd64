/**
 * The process azurite's Blob service runs in (started by `azurite.ts`, never directly): Microsoft's
 * emulator on 127.0.0.1, behind the stack's Host/Origin gate, with the accounts it is told and the
 * containers created before it answers. It prints `{"port": n}` once it listens, and stops when its
 * parent closes stdin (or dies) or sends SIGTERM.
 *
 * Why a process of its own: azurite reads its accounts from the process environment
 * (`AZURITE_ACCOUNTS`), keeps its LokiJS databases in memory with timers, and logs through a module-wide
 * winston logger; in the stack's process each of these would be shared with everything else. Its
 * telemetry is never started here (that is `azurite-blob`'s CLI), so it sends nothing anywhere.
 *
 * Options arrive as JSON in argv[2]: `{ directory?, accounts: [{ name, key }], containers: [{ account, name }] }`;
 * without `directory` the data lives in memory.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { escapeXml } from '../aws/protocol.ts';
import { guardServer, type Refusal } from '../guard.ts';

const require = createRequire(import.meta.url);

interface Options {
  directory?: string;
  accounts: { name: string; key: string }[];
  containers: { account: string; name: string }[];
}

interface BlobServerInstance {
  readonly httpServer: Server & { stop(callback?: () => void): void };
  start(): Promise<void>;
  close(): Promise<void>;
}
type BlobServerClass = new (configuration: unknown) => BlobServerInstance;
type BlobConfigurationClass = new (...settings: unknown[]) => unknown;

/** A refusal as Azure Storage words it (its XML error body and `x-ms-error-code`). */
function refuseAzure(_req: IncomingMessage, res: ServerResponse, refusal: Refusal): void {
  const text =
    '<?xml version="1.0" encoding="utf-8"?>\n' +
    `<Error><Code>AuthorizationFailure</Code><Message>${escapeXml(refusal.message)}</Message></Error>`;
  res.writeHead(403, {
    'content-type': 'application/xml',
    'content-length': Buffer.byteLength(text),
    'x-ms-error-code': 'AuthorizationFailure',
  });
  res.end(text);
}

const options = JSON.parse(process.argv[2] ?? '{}') as Options;
process.env['AZURITE_ACCOUNTS'] = options.accounts
  .map((account) => `${account.name}:${account.key}`)
  .join(';');
const { configLogger } = require('azurite/dist/src/common/Logger') as {
  configLogger(enable: boolean, file?: string): void;
};
configLogger(false);
const BlobServer = (require('azurite/dist/src/blob/BlobServer') as { default: BlobServerClass }).default;
const BlobConfiguration = (
  require('azurite/dist/src/blob/BlobConfiguration') as { default: BlobConfigurationClass }
).default;

const memory = options.directory === undefined;
const directory = options.directory ?? '.';
const configuration = new BlobConfiguration(
  '127.0.0.1',
  0,
  // Seconds an idle keep-alive socket stays open; above the SDK's reuse window, as real Azure does.
  65,
  join(directory, '__azurite_db_blob__.json'),
  join(directory, '__azurite_db_blob_extent__.json'),
  [{ locationId: 'Default', locationPath: join(directory, '__blobstorage__'), maxConcurrency: 10 }],
  false, // access log
  undefined,
  false, // debug log
  undefined,
  false, // loose: unknown headers and parameters are refused, as Azure does
  // The SDK may speak a newer service version than this azurite release knows; the operations used
  // here are older than both.
  true,
  '',
  '',
  '',
  undefined,
  false,
  memory,
);
const server = new BlobServer(configuration);
guardServer(server.httpServer, refuseAzure);

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  server.httpServer.closeAllConnections();
  server
    .close()
    .catch(() => undefined)
    .finally(() => process.exit(0));
}
process.stdin.on('end', stop).resume();
process.on('SIGTERM', stop);

/** Creates the containers it was told through the Blob API itself, keeping any that exist. */
async function ensureContainers(port: number): Promise<void> {
  if (options.containers.length === 0) return;
  const { BlobServiceClient, StorageSharedKeyCredential } = await import('@azure/storage-blob');
  for (const container of options.containers) {
    const account = options.accounts.find((candidate) => candidate.name === container.account);
    if (account === undefined)
      throw new Error(`container ${container.name}: unknown account ${container.account}`);
    const service = new BlobServiceClient(
      `http://127.0.0.1:${port}/${account.name}`,
      new StorageSharedKeyCredential(account.name, account.key),
    );
    await service.getContainerClient(container.name).createIfNotExists();
  }
}

async function main(): Promise<void> {
  await server.start();
  const port = (server.httpServer.address() as AddressInfo).port;
  await ensureContainers(port);
  process.stdout.write(`${JSON.stringify({ port })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
