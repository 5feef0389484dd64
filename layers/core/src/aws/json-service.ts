/**
 * AWS JSON-protocol services (Secrets Manager, DynamoDB) without the AWS SDK: one `POST /` with the action
 * in `x-amz-target`, signed by hand (SigV4) and sent through the core's {@link HttpClient} (keep-alive, a
 * deadline per attempt, full-jitter retries of throttling and server errors, a per-host circuit breaker).
 * Loading and building an SDK client costs a function's cold start far more than the call itself; this
 * path costs a few milliseconds. It serves the environment Lambda gives a function (its role's credentials
 * in the environment, a region in a standard partition or an endpoint set by `AWS_ENDPOINT_URL_<SERVICE>` /
 * `AWS_ENDPOINT_URL`); anywhere else {@link awsJsonClient} returns `undefined` and the caller uses the SDK.
 */
import { randomUUID } from 'node:crypto';
import { ConnectorError, UnexpectedResponseError } from '../errors.ts';
import { HttpClient } from '../http/client.ts';
import { isHostFailure } from '../http/transport.ts';
import type { HttpResponse } from '../http/types.ts';
import { awsFailure } from './errors.ts';
import { environmentCredentials, sha256Hex, signV4 } from './sigv4.ts';

/** What tells one JSON-protocol service from another. */
export interface AwsJsonService {
  /** The name in messages and in the error rows (`AWS_SERVICE_ERRORS`): `Secrets Manager`, `DynamoDB`. */
  readonly name: string;
  /** The SigV4 signing name, also the regional endpoint's first label: `secretsmanager`, `dynamodb`. */
  readonly signingName: string;
  /** The service's own endpoint variable: `AWS_ENDPOINT_URL_SECRETS_MANAGER`, `AWS_ENDPOINT_URL_DYNAMODB`. */
  readonly endpointVariable: string;
  /** The protocol's version in `content-type: application/x-amz-json-<version>`. */
  readonly jsonVersion: '1.0' | '1.1';
  /** What `x-amz-target` carries before `.<Action>`: `secretsmanager`, `DynamoDB_20120810`. */
  readonly targetPrefix: string;
}

export const SECRETS_MANAGER_SERVICE: AwsJsonService = {
  name: 'Secrets Manager',
  signingName: 'secretsmanager',
  endpointVariable: 'AWS_ENDPOINT_URL_SECRETS_MANAGER',
  jsonVersion: '1.1',
  targetPrefix: 'secretsmanager',
};

export const DYNAMODB_SERVICE: AwsJsonService = {
  name: 'DynamoDB',
  signingName: 'dynamodb',
  endpointVariable: 'AWS_ENDPOINT_URL_DYNAMODB',
  jsonVersion: '1.0',
  targetPrefix: 'DynamoDB_20120810',
};

/** An error answer of an AWS JSON service, shaped like the SDK's so {@link awsFailure} reads it the same way. */
export class AwsServiceError extends Error {
  readonly $fault: 'client' | 'server';
  readonly $metadata: { httpStatusCode: number; requestId?: string | undefined };
  readonly $response: { headers: Record<string, string> };

  constructor(name: string, message: string, response: Pick<HttpResponse, 'status' | 'headers'>) {
    super(message);
    this.name = name;
    this.$fault = response.status >= 500 ? 'server' : 'client';
    this.$metadata = { httpStatusCode: response.status, requestId: response.headers['x-amzn-requestid'] };
    this.$response = { headers: response.headers };
  }
}

/** Region patterns of the partitions whose endpoints are `<service>.<region>.<suffix>`. */
const PARTITIONS: readonly (readonly [RegExp, string])[] = [
  [/^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/, 'amazonaws.com'],
  [/^us-gov-\w+-\d+$/, 'amazonaws.com'],
  [/^cn-\w+-\d+$/, 'amazonaws.com.cn'],
];

/**
 * Where a service's requests go, resolved as the SDK resolves it for the cases this path serves: the region
 * (`AWS_REGION`, else `AWS_DEFAULT_REGION`), then the service's own variable (`AWS_ENDPOINT_URL_DYNAMODB`),
 * `AWS_ENDPOINT_URL` (both unless `AWS_IGNORE_CONFIGURED_ENDPOINT_URLS=true`), else the partition's regional
 * endpoint. `undefined` for what only the SDK knows: no region, FIPS or dual-stack endpoints, other
 * partitions.
 *
 * @example
 * ```ts
 * awsServiceEndpoint(DYNAMODB_SERVICE, { AWS_REGION: 'eu-west-1' }); // { url: 'https://dynamodb.eu-west-1.amazonaws.com', region: 'eu-west-1' }
 * ```
 */
export function awsServiceEndpoint(
  service: Pick<AwsJsonService, 'signingName' | 'endpointVariable'>,
  env: NodeJS.ProcessEnv = process.env,
): { url: string; region: string } | undefined {
  const region = env['AWS_REGION'] || env['AWS_DEFAULT_REGION'];
  if (!region) return undefined;
  if (env['AWS_IGNORE_CONFIGURED_ENDPOINT_URLS']?.toLowerCase() !== 'true') {
    const configured = env[service.endpointVariable] || env['AWS_ENDPOINT_URL'];
    if (configured) return { url: configured, region };
  }
  const variant = (name: string) => env[name]?.toLowerCase() === 'true';
  if (variant('AWS_USE_FIPS_ENDPOINT') || variant('AWS_USE_DUALSTACK_ENDPOINT')) return undefined;
  const suffix = PARTITIONS.find(([pattern]) => pattern.test(region))?.[1];
  return suffix === undefined
    ? undefined
    : { url: `https://${service.signingName}.${region}.${suffix}`, region };
}

/** The AWS error name of an answer: `__type` (after its namespace), else the `x-amzn-errortype` header. */
function errorName(body: Record<string, unknown> | undefined, headers: Record<string, string>): string {
  const type = typeof body?.['__type'] === 'string' ? body['__type'] : headers['x-amzn-errortype'];
  const name = type?.split(':')[0]?.split('#').pop()?.trim();
  return name === undefined || name === '' ? 'UnknownError' : name;
}

function parseObject(body: unknown): Record<string, unknown> | undefined {
  let value = body;
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The AWS error of a refused call, or `undefined` for a success (the client's default mapping applies). */
function answerError(service: AwsJsonService, response: HttpResponse): ConnectorError | undefined {
  if (response.status < 300) return undefined;
  const body = parseObject(response.body);
  const message = body?.['message'] ?? body?.['Message'];
  const error = new AwsServiceError(
    errorName(body, response.headers),
    typeof message === 'string' ? message : `HTTP ${response.status}`,
    response,
  );
  // Classified here so the client retries what is retryable (throttling, server errors); the caller maps
  // the AWS error again with its action and resource named (see rawFailure).
  return awsFailure({ service: service.name, action: 'request' }, error);
}

/**
 * The AWS or Node error behind a failure of the client, so the caller maps it with its own rows (an AWS
 * error answer, a socket error with its code); the client's own errors (timeout, open circuit) stay.
 */
export function rawFailure(error: unknown): unknown {
  if (!(error instanceof ConnectorError)) return error;
  const cause = error.cause;
  if (cause instanceof AwsServiceError) return cause;
  const code = (cause as { code?: unknown } | undefined)?.code;
  if (isHostFailure(error) && typeof code === 'string') return cause;
  return error;
}

/** Sends actions of one service; failures are thrown as the raw AWS or Node error ({@link rawFailure}). */
export interface AwsJsonClient {
  readonly service: AwsJsonService;
  /** Sends `action` with `input` as its JSON body and returns the answer's JSON object. */
  send(action: string, input: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** Closes the client's idle connections. */
  close(): void;
}

export interface AwsJsonClientOptions {
  /** Attempts per call, the first included; default 3, as the SDK's standard retry mode. */
  maxAttempts?: number | undefined;
  /** Per attempt; default 5000 ms, capped by the invocation's remaining time. */
  timeoutMs?: number | undefined;
}

/**
 * A client of `service` that signs its requests by hand, or `undefined` when the environment holds no
 * credentials or no endpoint this path can resolve ({@link awsServiceEndpoint}): the SDK then serves.
 * Credentials are read from the environment on every request, as Lambda may replace them. Every attempt of
 * one call carries the same `amz-sdk-invocation-id`, as the SDK sends it, which is what lets the client
 * retry a POST (the SDK retries every action on throttling and server errors too).
 *
 * @example
 * ```ts
 * const dynamodb = awsJsonClient(DYNAMODB_SERVICE);
 * const answer = await dynamodb?.send('GetItem', { TableName: 't', Key: { pk: { S: 'a' } } });
 * ```
 */
export function awsJsonClient(
  service: AwsJsonService,
  options: AwsJsonClientOptions = {},
  env: NodeJS.ProcessEnv = process.env,
): AwsJsonClient | undefined {
  const initial = environmentCredentials(env);
  const endpoint = awsServiceEndpoint(service, env);
  if (initial === undefined || endpoint === undefined) return undefined;
  const client = new HttpClient({
    provider: service.name,
    baseUrl: endpoint.url,
    timeoutMs: options.timeoutMs ?? 5_000,
    maxAttempts: options.maxAttempts ?? 3,
    idempotencyHeader: 'amz-sdk-invocation-id',
    auth: {
      apply: async (target) => {
        const payloadHash = target.headers['x-amz-content-sha256'] ?? sha256Hex('');
        signV4(
          { method: 'POST', url: target.url, headers: target.headers, payloadHash },
          {
            credentials: environmentCredentials(env) ?? initial,
            region: endpoint.region,
            service: service.signingName,
          },
        );
      },
    },
    inspect: (response) => answerError(service, response),
  });
  const contentType = `application/x-amz-json-${service.jsonVersion}`;
  return {
    service,
    async send(action, input) {
      const body = JSON.stringify(input);
      let response: HttpResponse;
      try {
        response = await client.request({
          method: 'POST',
          path: '/',
          body,
          headers: {
            'content-type': contentType,
            'x-amz-target': `${service.targetPrefix}.${action}`,
            'x-amz-content-sha256': sha256Hex(body),
          },
          idempotencyKey: randomUUID(),
        });
      } catch (error) {
        throw rawFailure(error);
      }
      const answer = parseObject(response.body);
      if (answer === undefined) {
        throw new UnexpectedResponseError(`${service.name} answered ${action} with an unreadable body`, {
          details: { service: service.name, action, httpStatus: response.status },
        });
      }
      return answer;
    },
    close: () => client.close(),
  };
}
