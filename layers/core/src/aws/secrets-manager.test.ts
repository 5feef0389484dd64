import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError, RateLimitedError, TimeoutError, UnexpectedResponseError } from '../errors.ts';
import { awsFailure } from './errors.ts';
import { AwsServiceError, directSecretsManagerReader, secretsManagerEndpoint } from './secrets-manager.ts';

/** What one request looked like on the wire. */
interface Seen {
  headers: IncomingMessage['headers'];
  body: string;
}

type Reply = (res: ServerResponse) => void | Promise<void>;

const seen: Seen[] = [];
let replies: Reply[] = [];
const server = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
  const reply = replies.shift() ?? ((r: ServerResponse) => r.writeHead(500).end());
  await reply(res);
});
let endpoint = '';

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Reply =>
  (res) => {
    res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1', ...headers });
    res.end(typeof body === 'string' ? body : JSON.stringify(body));
  };

/** Lambda's environment, pointed at the test server. */
const lambdaEnv = () => ({
  AWS_ACCESS_KEY_ID: 'ASIATESTKEY',
  AWS_SECRET_ACCESS_KEY: 'test-secret-access-key',
  AWS_SESSION_TOKEN: 'test-session-token',
  AWS_REGION: 'eu-central-1',
  AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoint,
});

beforeAll(async () => {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  server.close();
  await once(server, 'close');
});

beforeEach(() => {
  seen.length = 0;
  replies = [];
});

describe('Function: secretsManagerEndpoint', () => {
  it.each([
    [{ AWS_REGION: 'eu-west-1' }, 'https://secretsmanager.eu-west-1.amazonaws.com', 'eu-west-1'],
    [
      { AWS_DEFAULT_REGION: 'ap-southeast-2' },
      'https://secretsmanager.ap-southeast-2.amazonaws.com',
      'ap-southeast-2',
    ],
    [{ AWS_REGION: 'us-gov-west-1' }, 'https://secretsmanager.us-gov-west-1.amazonaws.com', 'us-gov-west-1'],
    [{ AWS_REGION: 'cn-north-1' }, 'https://secretsmanager.cn-north-1.amazonaws.com.cn', 'cn-north-1'],
    [
      { AWS_REGION: 'us-east-1', AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' },
      'http://127.0.0.1:4566',
      'us-east-1',
    ],
    [
      {
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL: 'http://a:1',
        AWS_ENDPOINT_URL_SECRETS_MANAGER: 'http://b:2',
        AWS_USE_FIPS_ENDPOINT: 'true',
      },
      'http://b:2',
      'us-east-1',
    ],
    [
      {
        AWS_REGION: 'us-east-1',
        AWS_ENDPOINT_URL: 'http://a:1',
        AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'TRUE',
      },
      'https://secretsmanager.us-east-1.amazonaws.com',
      'us-east-1',
    ],
  ])('resolves %o to %s', (env, url, region) => {
    expect(secretsManagerEndpoint(env)).toEqual({ url, region });
  });

  it.each([
    {},
    { AWS_REGION: '' },
    { AWS_REGION: 'us-east-1', AWS_USE_FIPS_ENDPOINT: 'true' },
    { AWS_REGION: 'us-east-1', AWS_USE_DUALSTACK_ENDPOINT: 'True' },
    { AWS_REGION: 'us-iso-east-1' },
    { AWS_REGION: 'eu-isoe-west-1' },
  ])('leaves %o to the SDK', (env) => {
    expect(secretsManagerEndpoint(env)).toBeUndefined();
  });
});

describe('Function: directSecretsManagerReader', () => {
  it('is undefined without credentials or without an endpoint it can resolve', () => {
    const { AWS_ACCESS_KEY_ID: _key, ...withoutKey } = lambdaEnv();
    const { AWS_REGION: _region, ...withoutRegion } = lambdaEnv();
    expect(directSecretsManagerReader({}, withoutKey)).toBeUndefined();
    expect(directSecretsManagerReader({}, withoutRegion)).toBeUndefined();
  });

  it('sends one signed GetSecretValue in the JSON 1.1 protocol and returns the SecretString', async () => {
    // Prepare
    replies.push(json(200, { Name: 'app/token', SecretString: 'the-value', VersionId: 'v1' }));
    const reader = directSecretsManagerReader({}, lambdaEnv());

    // Act
    const value = await reader?.getSecretValue('app/token');
    reader?.close();

    // Assess
    expect(value).toBe('the-value');
    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(JSON.parse(request?.body ?? '')).toEqual({ SecretId: 'app/token' });
    expect(request?.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
    expect(request?.headers['content-type']).toBe('application/x-amz-json-1.1');
    expect(request?.headers['x-amz-security-token']).toBe('test-session-token');
    expect(request?.headers['authorization']).toMatch(
      /^AWS4-HMAC-SHA256 Credential=ASIATESTKEY\/\d{8}\/eu-central-1\/secretsmanager\/aws4_request, SignedHeaders=content-type;host;x-amz-content-sha256;x-amz-date;x-amz-security-token;x-amz-target, Signature=[0-9a-f]{64}$/,
    );
  });

  it('decodes a SecretBinary and answers undefined for a secret with neither value', async () => {
    // Prepare
    replies.push(json(200, { SecretBinary: Buffer.from('bin-äöü').toString('base64') }), (res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ Name: 'app/empty' }));
    });
    const reader = directSecretsManagerReader({}, lambdaEnv());

    // Act
    const binary = await reader?.getSecretValue('app/bin');
    const empty = await reader?.getSecretValue('app/empty');
    reader?.close();

    // Assess
    expect(new TextDecoder().decode(binary as Uint8Array)).toBe('bin-äöü');
    expect(empty).toBeUndefined();
  });

  it('retries a throttled call with the same invocation id and returns the value', async () => {
    // Prepare
    replies.push(
      json(400, { __type: 'ThrottlingException', message: 'Rate exceeded' }),
      json(503, '<html>busy</html>', { 'x-amzn-errortype': 'ServiceUnavailable:http://internal' }),
      json(200, { SecretString: 'after-retries' }),
    );
    const reader = directSecretsManagerReader({}, lambdaEnv());

    // Act
    const value = await reader?.getSecretValue('app/busy');
    reader?.close();

    // Assess
    expect(value).toBe('after-retries');
    expect(seen).toHaveLength(3);
    const ids = new Set(seen.map((request) => request.headers['amz-sdk-invocation-id']));
    expect(ids.size).toBe(1);
    expect([...ids][0]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('throws the AWS error of a refused call, unretried, for the caller to map', async () => {
    // Prepare
    replies.push(
      json(
        400,
        { __type: 'com.amazonaws.secretsmanager#ResourceNotFoundException', Message: 'not here' },
        {
          'x-amzn-requestid': 'req-1',
        },
      ),
    );
    const reader = directSecretsManagerReader({}, lambdaEnv());

    // Act
    const error = await reader?.getSecretValue('app/none').catch((e: unknown) => e);
    reader?.close();

    // Assess
    expect(error).toBeInstanceOf(AwsServiceError);
    expect(error).toMatchObject({
      name: 'ResourceNotFoundException',
      message: 'not here',
      $fault: 'client',
      $metadata: { httpStatusCode: 400, requestId: 'req-1' },
    });
    expect(seen).toHaveLength(1);
    const mapped = awsFailure(
      { service: 'Secrets Manager', action: 'GetSecretValue', resource: 'secret app/none' },
      error,
    );
    expect(mapped).toBeInstanceOf(ConfigurationError);
    expect(mapped.message).toBe('secret app/none was not found');
  });

  it('names an answer without an error type UnknownError after the last attempt', async () => {
    // Prepare
    replies.push(json(500, 'not json'));
    const reader = directSecretsManagerReader({ maxAttempts: 1 }, lambdaEnv());

    // Act
    const error = await reader?.getSecretValue('app/x').catch((e: unknown) => e);
    reader?.close();

    // Assess
    expect(error).toMatchObject({ name: 'UnknownError', message: 'HTTP 500', $fault: 'server' });
  });

  it('keeps the retry-after of a throttled answer for the mapping', async () => {
    // Prepare
    replies.push(json(429, { __type: 'TooManyRequestsException' }, { 'retry-after': '2' }));
    const reader = directSecretsManagerReader({ maxAttempts: 1 }, lambdaEnv());

    // Act
    const error = await reader?.getSecretValue('app/x').catch((e: unknown) => e);
    reader?.close();

    // Assess
    const mapped = awsFailure({ service: 'Secrets Manager', action: 'GetSecretValue' }, error);
    expect(mapped).toBeInstanceOf(RateLimitedError);
    expect((mapped as RateLimitedError).retryAfterMs).toBe(2000);
  });

  it('throws an UnexpectedResponseError when a success does not parse', async () => {
    // Prepare
    replies.push(json(200, '{"SecretString": '));
    const reader = directSecretsManagerReader({}, lambdaEnv());

    // Act
    const error = await reader?.getSecretValue('app/x').catch((e: unknown) => e);
    reader?.close();

    // Assess
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect((error as Error).message).toBe('Secrets Manager answered GetSecretValue with an unreadable body');
  });

  it('keeps the client timeout when the store does not answer in time', async () => {
    // Prepare
    replies.push(async (res) => {
      await new Promise((resolve) => setTimeout(resolve, 400));
      json(200, { SecretString: 'late' })(res);
    });
    const reader = directSecretsManagerReader({ maxAttempts: 1, timeoutMs: 100 }, lambdaEnv());

    // Act
    const error = await reader?.getSecretValue('app/slow').catch((e: unknown) => e);
    reader?.close();

    // Assess
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as Error).message).toBe('Secrets Manager did not answer within 100 ms');
  });
});
