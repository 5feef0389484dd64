/**
 * Broker and endpoint faults of the messaging publishers, end to end through their handlers, mapped to the
 * error taxonomy with no secret in any answer or log line (their inputs, hostile bodies and leak checks on
 * the happy paths run in the shared suites, support/suite.ts):
 *
 * - NATS and MQTT: a broker that is down (nothing listens on the port: connection refused) is a 503
 *   `provider_unavailable`; the credentials in their secret (a distinctive password) appear nowhere.
 * - SQS, SNS and EventBridge against the local AWS endpoint: the service throttling (ThrottlingException /
 *   Throttled) is a 429 `rate_limited`, the service unavailable (503) a 503, and an endpoint
 *   that is down a 503; the distinctive AWS secret key appears nowhere.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { resetCircuitBreakers } from '@circle-core/core';
import { type CapturedLogs, captureLogs, httpEvent, lambdaContext } from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type AwsEndpointPeer, startAwsEndpointPeer } from '../peers/aws-endpoint.ts';
import { freePort } from '../peers/tls.ts';
import { connectorFolder } from './support/connectors.ts';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

interface Loaded {
  handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
}

const distinct = (prefix: string): string => `${prefix}${randomBytes(10).toString('hex')}`;
const AWS_SECRET = distinct('messaging-aws-secret-leak-check-');
const BROKER_PASSWORD = distinct('messaging-broker-password-leak-check-');
const SECRETS = [AWS_SECRET, BROKER_PASSWORD];
const savedEnv = { ...process.env };
let aws: AwsEndpointPeer;
let logs: CapturedLogs;
const outputs: string[] = [];

/** Imports a connector afresh with `env` (config is read at import, as at a cold start). */
async function load(name: string, env: Record<string, string>): Promise<Loaded> {
  Object.assign(process.env, env);
  vi.resetModules();
  resetCircuitBreakers();
  return ((await import(`${connectorFolder(name).module}?faults-${randomUUID()}`)) as { connector: Loaded })
    .connector;
}

async function publish(connector: Loaded, name: string): Promise<HttpResult> {
  const response = (await connector.handler(
    httpEvent({
      path: `/${name}/publish-message`,
      // A JSON object: EventBridge's detail must be one.
      body: { body: '{"probe":"fault"}' },
      headers: { 'idempotency-key': randomUUID() },
    }),
    lambdaContext(),
  )) as HttpResult;
  outputs.push(JSON.stringify(response));
  return response;
}

const problem = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

beforeAll(async () => {
  aws = await startAwsEndpointPeer({
    accountId: '123456789012',
    queues: ['faults'],
    topics: ['faults'],
    secrets: {
      'hardening/nats/credentials': JSON.stringify({ username: 'circle', password: BROKER_PASSWORD }),
      'hardening/mqtt/credentials': JSON.stringify({ username: 'circle', password: BROKER_PASSWORD }),
    },
  });
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: AWS_SECRET,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: aws.endpoint,
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
  });
});

afterAll(async () => {
  process.env = savedEnv;
  await aws?.close();
  // Assess: nothing any case answered, threw or logged holds a secret.
  const everything = outputs.join('\n');
  for (const secret of SECRETS) expect(everything).not.toContain(secret);
});

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  outputs.push(logs.text());
  for (const secret of SECRETS) expect(logs.text()).not.toContain(secret);
  logs.restore();
});

describe('Messaging faults: a broker that is down', () => {
  it.each([
    [
      'nats',
      {
        NATS_HOST: '127.0.0.1',
        NATS_TLS: 'disable',
        NATS_SUBJECT: 'faults.events',
        NATS_CONNECT_TIMEOUT_MS: '1000',
      },
    ],
    [
      'mqtt',
      {
        MQTT_HOST: '127.0.0.1',
        MQTT_TLS: 'disable',
        MQTT_TOPIC: 'faults/events',
        MQTT_CONNECT_TIMEOUT_MS: '1000',
      },
    ],
  ] as const)(
    '%s answers 503 provider_unavailable when nothing listens, naming no secret',
    async (name, env) => {
      // Prepare
      const port = String(await freePort());
      const prefix = name.toUpperCase();
      const connector = await load(name, {
        ...env,
        [`${prefix}_PORT`]: port,
        [`${prefix}_SECRET`]: `hardening/${name}/credentials`,
      });
      // Act
      const response = await publish(connector, name);
      // Assess
      expect(response.statusCode, response.body).toBe(503);
      expect(problem(response)).toMatchObject({ code: 'provider_unavailable' });
    },
  );
});

describe('Messaging faults: the AWS service throttles, fails or is down', () => {
  const publishers = [
    { name: 'sqs', target: 'AmazonSQS.SendMessage', throttled: 'ThrottlingException' },
    { name: 'sns', target: 'sns.Publish', throttled: 'Throttled' },
    { name: 'eventbridge', target: 'AWSEvents.PutEvents', throttled: 'ThrottlingException' },
  ] as const;

  function env(endpoint: string): Record<string, string> {
    return {
      AWS_ENDPOINT_URL_SQS: endpoint,
      AWS_ENDPOINT_URL_SNS: endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: endpoint,
      SQS_QUEUE_URL: `${endpoint}/123456789012/faults`,
      SQS_MAX_ATTEMPTS: '1',
      SNS_TOPIC_ARN: aws.topicArn('faults'),
      SNS_MAX_ATTEMPTS: '1',
      EVENTBRIDGE_BUS_NAME: 'default',
      EVENTBRIDGE_MAX_ATTEMPTS: '1',
    };
  }

  it.each(publishers)(
    '$name: throttling is 429 rate_limited, a 503 is 503, and it then publishes',
    async (publisher) => {
      // Prepare
      const connector = await load(publisher.name, env(aws.endpoint));
      // Act
      aws.failNext(publisher.target, { type: publisher.throttled, status: 400 });
      const throttled = await publish(connector, publisher.name);
      resetCircuitBreakers();
      aws.failNext(publisher.target, { type: 'ServiceUnavailable', status: 503 });
      const unavailable = await publish(connector, publisher.name);
      resetCircuitBreakers();
      const healthy = await publish(connector, publisher.name);
      // Assess
      expect(throttled.statusCode, throttled.body).toBe(429);
      expect(problem(throttled)).toMatchObject({ code: 'rate_limited' });
      expect(unavailable.statusCode, unavailable.body).toBe(503);
      expect(healthy.statusCode, healthy.body).toBe(200);
    },
  );

  it.each(publishers)('$name: an endpoint that is down is 503 provider_unavailable', async (publisher) => {
    // Prepare
    const down = `http://127.0.0.1:${await freePort()}`;
    const connector = await load(publisher.name, env(down));
    // Act
    const response = await publish(connector, publisher.name);
    // Assess
    expect(response.statusCode, response.body).toBe(503);
    expect(problem(response)).toMatchObject({ code: 'provider_unavailable' });
  });
});
