/**
 * Secrets Manager's GetSecretValue without the AWS SDK: one JSON 1.1 request through the aws kit's
 * hand-signed JSON client ({@link awsJsonClient}: SigV4 and the core's `HttpClient` with keep-alive,
 * deadlines, retries and a circuit breaker). Loading and building the SDK client costs a function's cold
 * start far more than the call itself; this path costs a few milliseconds. Where the environment holds no
 * credentials or no endpoint the direct path can resolve, {@link directSecretsManagerReader} returns
 * `undefined` and the caller uses the SDK's default chain.
 */
import {
  type AwsJsonClientOptions,
  awsJsonClient,
  awsServiceEndpoint,
  SECRETS_MANAGER_SERVICE,
} from './json-service.ts';

export { AwsServiceError } from './json-service.ts';

/** Reads one secret's current value: its SecretString, its decoded SecretBinary, or neither. */
export interface SecretsManagerReader {
  getSecretValue(secretId: string): Promise<string | Uint8Array | undefined>;
  /** Closes the reader's idle connections. */
  close(): void;
}

/**
 * Where GetSecretValue goes ({@link awsServiceEndpoint} for Secrets Manager and
 * `AWS_ENDPOINT_URL_SECRETS_MANAGER`), or `undefined` for what only the SDK knows.
 *
 * @example
 * ```ts
 * secretsManagerEndpoint({ AWS_REGION: 'eu-west-1' }); // { url: 'https://secretsmanager.eu-west-1.amazonaws.com', region: 'eu-west-1' }
 * ```
 */
export function secretsManagerEndpoint(
  env: NodeJS.ProcessEnv = process.env,
): { url: string; region: string } | undefined {
  return awsServiceEndpoint(SECRETS_MANAGER_SERVICE, env);
}

export type DirectReaderOptions = AwsJsonClientOptions;

/**
 * A GetSecretValue reader that signs its requests by hand, or `undefined` when the environment holds no
 * credentials or no endpoint this path can resolve ({@link secretsManagerEndpoint}): the SDK then serves.
 * Credentials are read from the environment on every request, as Lambda may replace them.
 *
 * @example
 * ```ts
 * const reader = directSecretsManagerReader();
 * const value = await reader?.getSecretValue('prod/slack/bot-token');
 * ```
 */
export function directSecretsManagerReader(
  options: DirectReaderOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): SecretsManagerReader | undefined {
  const client = awsJsonClient(SECRETS_MANAGER_SERVICE, options, env);
  if (client === undefined) return undefined;
  return {
    async getSecretValue(secretId) {
      const answer = await client.send('GetSecretValue', { SecretId: secretId });
      if (typeof answer['SecretString'] === 'string') return answer['SecretString'];
      if (typeof answer['SecretBinary'] === 'string') {
        return new Uint8Array(Buffer.from(answer['SecretBinary'], 'base64'));
      }
      return undefined;
    },
    close: () => client.close(),
  };
}
