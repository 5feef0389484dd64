/**
 * Secrets Manager for tests, behind the API the hand-written fake had: now the local stack's own endpoint
 * (`test/peers/aws-endpoint.ts` over `scripts/local/aws/secrets-manager.ts` and its secret store), spoken
 * to by the real AWS SDK client. Every operation the local stack serves works (GetSecretValue, PutSecretValue
 * for a rotation written back, ...), with Secrets Manager's own error shapes. New tests can use
 * `startAwsEndpointPeer` directly.
 *
 * Point a client at it with `AWS_ENDPOINT_URL_SECRETS_MANAGER=<endpoint>` before the client is built.
 */
import { startAwsEndpointPeer } from '../peers/aws-endpoint.ts';

export interface SecretsManagerFake {
  endpoint: string;
  /** Names asked for by GetSecretValue, in order (answered or not; a test may clear it). */
  calls: string[];
  /** Creates or replaces a value; every call that arrives afterwards sees it (a rotation). */
  set(name: string, value: string): void;
  /** The next GetSecretValue answers this AWS error (`ThrottlingException`, `AccessDeniedException`, ...). */
  failNext(errorType: string, status?: number): void;
  close(): Promise<void>;
}

/**
 * Starts the endpoint with an initial set of secrets (name -> SecretString).
 *
 * @example
 * ```ts
 * const sm = await startSecretsManagerFake({ 'circle-core/slack/bot-token': 'xoxb-test' });
 * process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = sm.endpoint;
 * ```
 */
export async function startSecretsManagerFake(
  initial: Record<string, string> = {},
): Promise<SecretsManagerFake> {
  const peer = await startAwsEndpointPeer({ secrets: initial });
  return {
    endpoint: peer.endpoint,
    calls: peer.secretReads,
    set: (name, value) => {
      // The peer orders the write before any later call, so nothing needs to await it.
      void peer.setSecret(name, value);
    },
    failNext: (type, status = 400) => peer.failNext('secretsmanager.GetSecretValue', { type, status }),
    close: () => peer.close(),
  };
}
