/**
 * Secrets Manager for connector tests: the local stack's own AWS endpoint ({@link startAwsEndpointPeer}),
 * reduced to what a connector's secret tests need. Point a connector at it with
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER=<endpoint>` (plus AWS_REGION and dummy credentials) before its secrets
 * are first read, and call `configureSecrets({})` between tests that change a value.
 */
import { startAwsEndpointPeer } from './aws-endpoint.ts';

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
  const peer = await startAwsEndpointPeer({ secrets: initial });
  return {
    endpoint: peer.endpoint,
    set: (name, value) => peer.setSecret(name, value),
    close: () => peer.close(),
  };
}
