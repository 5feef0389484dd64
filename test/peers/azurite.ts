/**
 * azurite (Microsoft's Azure Storage emulator) as a test peer: started exactly as the local stack starts
 * it (`scripts/local/stores/azurite.ts`: its own process, behind the Host/Origin gate), on 127.0.0.1 and an
 * ephemeral port, in memory, with a fresh random account key so a test can also present a wrong one.
 * Azurite checks Shared Key signatures and SAS tokens like Azure does.
 */
import { randomBytes } from 'node:crypto';
import { startAzurite as startAzuriteProcess } from '../../scripts/local/stores/azurite.ts';

/** A running azurite with one account. */
export interface AzuritePeer {
  /** The account's blob endpoint: `http://127.0.0.1:<port>/<account>`. */
  endpoint: string;
  accountName: string;
  /** The account's base64 key (random per peer). */
  accountKey: string;
  /** `DefaultEndpointsProtocol=http;AccountName=...;AccountKey=...;BlobEndpoint=...`. */
  connectionString: string;
  close(): Promise<void>;
}

/**
 * Starts azurite with one account and the given containers.
 *
 * @example
 * ```ts
 * const azurite = await startAzurite({ containers: ['data'] });
 * // parseCredential(azurite.connectionString, 'test') ...
 * await azurite.close();
 * ```
 */
export async function startAzurite(options: {
  containers: string[];
  accountName?: string;
}): Promise<AzuritePeer> {
  const accountName = options.accountName ?? 'circletest';
  const accountKey = randomBytes(64).toString('base64');
  const server = await startAzuriteProcess({
    accounts: [{ name: accountName, key: accountKey }],
    containers: options.containers.map((name) => ({ account: accountName, name })),
  });
  const endpoint = `${server.url}/${accountName}`;
  return {
    endpoint,
    accountName,
    accountKey,
    connectionString: `DefaultEndpointsProtocol=http;AccountName=${accountName};AccountKey=${accountKey};BlobEndpoint=${endpoint};`,
    close: () => server.close(),
  };
}
