/**
 * Raw variant with a secret: the raw HTTP handler plus what a careful hand-written function does during
 * init, fetching its API token from Secrets Manager with the AWS SDK's client (what a hand-written function
 * uses; the core signs one GetSecretValue itself where Lambda's environment holds the credentials). The
 * cold start budget compares the core with this.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { handler as createItemHandler } from './raw-http.ts';

const client = new SecretsManagerClient({});
const response = await client.send(
  new GetSecretValueCommand({ SecretId: process.env['BENCH_SECRET_NAME'] ?? 'bench/api-token' }),
);
const token = response.SecretString ?? '';

/**
 * Answers 503 without the token (as a function that needs it would), else the raw HTTP operation.
 *
 * @example
 * ```ts
 * const response = await handler(event); // { statusCode: 200, ... }
 * ```
 */
export async function handler(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  if (token.length === 0) return { statusCode: 503, body: '{"title":"No API token"}' };
  return createItemHandler(event);
}
