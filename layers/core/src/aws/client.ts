/**
 * One way to build an AWS SDK v3 client: bounded connection and request timeouts, the attempt count, and
 * X-Ray capture when tracing is on. Endpoints come from the SDK's own variables (`AWS_ENDPOINT_URL`,
 * `AWS_ENDPOINT_URL_<SERVICE>`), which is how the local stack and tests point clients at 127.0.0.1; a
 * connector with its own endpoint setting passes `endpoint`. The SDK class is passed in, so the core never
 * loads a client a connector does not use.
 */
import { traceAwsClient } from '../observability.ts';

export interface AwsClientSettings {
  /** TCP connect timeout; default 3000 ms. */
  connectionTimeoutMs?: number | undefined;
  /** Socket idle timeout per request; default 5000 ms. Per-call budgets come from {@link awsCall}. */
  requestTimeoutMs?: number | undefined;
  /** SDK attempts per call, including the first; default 3. */
  maxAttempts?: number | undefined;
  /** An explicit endpoint (a connector setting such as `S3_ENDPOINT`). */
  endpoint?: string | undefined;
  /** Service-specific options merged last (e.g. `{ forcePathStyle: true }` for S3). */
  extra?: Record<string, unknown> | undefined;
}

/**
 * The constructor options {@link createAwsClient} gives a client.
 *
 * @example
 * ```ts
 * new SQSClient(awsClientConfig({ maxAttempts: 2 }));
 * ```
 */
export function awsClientConfig(settings: AwsClientSettings = {}): Record<string, unknown> {
  return {
    // Without these a stalled connection would hold the invocation until Lambda stops it.
    requestHandler: {
      connectionTimeout: settings.connectionTimeoutMs ?? 3_000,
      requestTimeout: settings.requestTimeoutMs ?? 5_000,
    },
    maxAttempts: settings.maxAttempts ?? 3,
    ...(settings.endpoint === undefined ? {} : { endpoint: settings.endpoint }),
    ...settings.extra,
  };
}

/**
 * Builds a client of `Client` with {@link awsClientConfig}, traced when tracing is on.
 *
 * @example
 * ```ts
 * const sqs = await createAwsClient(SQSClient, 'github');
 * ```
 */
export function createAwsClient<C>(
  Client: new (config: never) => C,
  connector: string,
  settings: AwsClientSettings = {},
): Promise<C> {
  const Constructor = Client as unknown as new (config: Record<string, unknown>) => C;
  return traceAwsClient(new Constructor(awsClientConfig(settings)), connector);
}
