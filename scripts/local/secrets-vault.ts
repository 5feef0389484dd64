/**
 * `CIRCLE_LOCAL_SECRETS=vault npm start`: every function reads its secrets from HashiCorp Vault instead of
 * Secrets Manager, as a stage with `CIRCLE_SECRETS_BACKEND=vault` does: the Vault sandbox (the contract fake
 * of `sandboxes/vault.ts`) serves the local secret store as KV v2 values under the mount `secret`, and each
 * function logs in with the aws IAM method (its local credentials sign `sts:GetCallerIdentity`) as the
 * role `circle-core`. `npm run secrets -- set ...` changes what Vault serves at the next read.
 */

import { guardSandbox } from './sandboxes/index.ts';
import { startVaultFake } from './sandboxes/vault.ts';
import type { SecretStore } from './stores/secret-store.ts';

/** The settings a function gets to read through the local Vault. */
export function vaultVariables(url: string): Record<string, string> {
  return { CIRCLE_SECRETS_BACKEND: 'vault', VAULT_ADDR: url, CIRCLE_VAULT_ROLE: 'circle-core' };
}

/** Which backend the shell asks for: `CIRCLE_LOCAL_SECRETS` is `secrets-manager` (default) or `vault`. */
export function localSecretsBackend(shell: NodeJS.ProcessEnv): 'secrets-manager' | 'vault' {
  const value = shell['CIRCLE_LOCAL_SECRETS']?.trim() || 'secrets-manager';
  if (value === 'secrets-manager' || value === 'vault') return value;
  throw new Error(`CIRCLE_LOCAL_SECRETS must be secrets-manager or vault, got "${value.slice(0, 40)}"`);
}

/** The local Vault: its settings for functions, its listener, what `/health` says of secrets. */
export interface LocalVault {
  url: string;
  variables: Record<string, string>;
  close(): Promise<void>;
}

/**
 * Starts the Vault sandbox over the secret store when the shell asks for it (`CIRCLE_LOCAL_SECRETS=vault`),
 * else nothing; `log` gets one line per login and read (names only, never a value or token).
 *
 * @example
 * ```ts
 * const vault = await startLocalVault(process.env, secretStore, (message, fields) => log.info(message, fields));
 * ```
 */
export async function startLocalVault(
  shell: NodeJS.ProcessEnv,
  store: SecretStore,
  log: (message: string, fields: Record<string, unknown>) => void,
): Promise<LocalVault | undefined> {
  if (localSecretsBackend(shell) !== 'vault') return undefined;
  const fake = await startVaultFake({
    prepare: guardSandbox,
    backing: async (path) => {
      const secret = await store.get(path);
      return secret === undefined || secret.deletedAt !== undefined ? undefined : secret.value;
    },
    onAccess: (access) => log(`vault ${access.kind}`, { ...access }),
  });
  return { url: fake.url, variables: vaultVariables(fake.url), close: () => fake.close() };
}

/** What `/health` says serves secrets. */
export function secretsSummary(awsUrl: string, file: string, vault: LocalVault | undefined): string {
  return vault === undefined
    ? `${awsUrl} (Secrets Manager) over ${file}`
    : `${vault.url} (Vault sandbox, KV v2 mount secret) over ${file}`;
}

/** The Vault sandbox among the stack's listeners, when it runs. */
export function vaultListeners(vault: LocalVault | undefined) {
  return vault === undefined ? [] : [{ name: 'Vault (sandbox)', url: vault.url, protocol: 'http' as const }];
}
