/**
 * Starts azurite's Blob service (Microsoft's Azure Storage emulator) in a process of its own
 * (`azurite-process.ts` says why), the one way both the local stack and the tests' Azure peer run it.
 * Azurite checks Shared Key signatures and SAS tokens against the account keys it is given, so a wrong
 * key or an expired SAS fails as on Azure.
 */
import { fileURLToPath } from 'node:url';
import { type ChildStore, startChildStore } from './child-store.ts';

const ENTRY = fileURLToPath(new URL('./azurite-process.ts', import.meta.url));

/**
 * Azurite's well-known development account, as Microsoft publishes it
 * (https://learn.microsoft.com/azure/storage/common/storage-use-azurite#well-known-storage-account-and-key):
 * public, accepted only by emulators.
 */
export const AZURITE_ACCOUNT = {
  name: 'devstoreaccount1',
  key: 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==',
} as const;

/** How to start azurite. */
export interface AzuriteOptions {
  /** Where blobs are stored (kept across restarts); unset keeps them in memory. */
  directory?: string;
  /** The accounts it accepts, each with its base64 key; default {@link AZURITE_ACCOUNT}. */
  accounts?: { name: string; key: string }[];
  /** Containers created before it answers (existing ones are kept). */
  containers?: { account: string; name: string }[];
}

/** A running azurite: `url` is the service root; an account's blob endpoint is `${url}/${account}`. */
export type AzuriteServer = ChildStore;

/**
 * Starts azurite on 127.0.0.1 (an ephemeral port) behind the local Host/Origin gate.
 *
 * @example
 * ```ts
 * const azurite = await startAzurite({ containers: [{ account: 'devstoreaccount1', name: 'data' }] });
 * // BlobEndpoint=${azurite.url}/devstoreaccount1
 * await azurite.close();
 * ```
 */
export function startAzurite(options: AzuriteOptions = {}): Promise<AzuriteServer> {
  return startChildStore('azurite', ENTRY, {
    ...(options.directory === undefined ? {} : { directory: options.directory }),
    accounts: options.accounts ?? [AZURITE_ACCOUNT],
    containers: options.containers ?? [],
  });
}
