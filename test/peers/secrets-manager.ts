/**
 * Secrets Manager for tests: the local stack's own endpoint (`scripts/local/aws/server.ts` serving
 * `secretsmanager.*` over a secret store file in a temporary folder), spoken to by the real AWS SDK
 * client. Point a connector at it with `AWS_ENDPOINT_URL_SECRETS_MANAGER=<endpoint>` (plus AWS_REGION and
 * dummy credentials) before its secrets are first read, and call `configureSecrets({})` between tests
 * that change a value.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secretsManagerService } from '../../scripts/local/aws/secrets-manager.ts';
import { startAwsEndpoint } from '../../scripts/local/aws/server.ts';
import { createStackLog } from '../../scripts/local/log.ts';
import { SecretStore } from '../../scripts/local/stores/secret-store.ts';

export interface SecretsManagerPeer {
  /** e.g. `http://127.0.0.1:41234`. */
  endpoint: string;
  /** Creates or replaces a secret's value (a rotation, seen at the connector's next fetch). */
  set(name: string, value: string): Promise<void>;
  close(): Promise<void>;
}

/**
 * Starts the endpoint on an ephemeral port with `initial` secrets (name -> SecretString).
 *
 * @example
 * ```ts
 * const secrets = await startSecretsManager({ 'test/acme/token': 'acme-sandbox-token' });
 * process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] = secrets.endpoint;
 * ```
 */
export async function startSecretsManager(initial: Record<string, string> = {}): Promise<SecretsManagerPeer> {
  const dir = await mkdtemp(join(tmpdir(), 'circle-core-secrets-'));
  const store = new SecretStore(join(dir, 'secrets.json'));
  for (const [name, value] of Object.entries(initial)) await store.put(name, { value });
  const region = process.env['AWS_REGION'] ?? 'us-east-1';
  const endpoint = await startAwsEndpoint({
    port: 0,
    services: { accountId: '000000000000', secretsManager: secretsManagerService(store, region) },
    log: createStackLog({ pretty: false, write: () => undefined }),
  });
  return {
    endpoint: endpoint.url,
    set: async (name, value) => {
      await store.put(name, { value });
    },
    close: async () => {
      await endpoint.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
