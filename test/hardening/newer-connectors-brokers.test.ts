/**
 * The shared suites' checks for the RabbitMQ connector against the machine's RabbitMQ (127.0.0.1:5672):
 * the broker credentials are a JSON secret in a Secrets Manager peer, and the leak run puts distinctive
 * wrong passwords there (the broker refuses them: ACCESS_REFUSED, the connector re-reads the secret once
 * and answers 401), besides its happy paths, bad input and the queue and task triggers; no
 * response, thrown error or log line may hold a password or an amqp:// URL with credentials. Also: every
 * operation refuses an unknown field with 400 naming its pointer, and answers 401 without the authorizer.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { configureSecrets, resetCircuitBreakers } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RABBITMQ, uniqueName } from '../peers/brokers.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../peers/secrets-manager.ts';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

interface Loaded {
  handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
  runtime: { operations: Record<string, unknown> };
}

const distinct = (prefix: string): string => `${prefix}${randomBytes(10).toString('hex')}`;
const SECRET = 'hardening/rabbitmq/credentials';
const QUEUE = uniqueName('circle-hardening-rabbitmq');
const WRONG = [distinct('rabbitmq-leak-check-'), distinct('rabbitmq-rotated-leak-check-')];
const credentials = (password: string): string => JSON.stringify({ username: RABBITMQ.username, password });

const SAMPLES: Record<string, unknown> = {
  'declare-queue': { queue: QUEUE, type: 'classic' },
  'inspect-queue': { queue: QUEUE },
  'publish-message': { body: 'hello' },
  'publish-batch': { entries: [{ body: 'one' }, { body: 'two' }] },
  'receive-messages': { maxMessages: 1, waitTimeMs: 500 },
  'acknowledge-messages': { receipts: ['not-a-receipt'] },
  'release-messages': { receipts: ['not-a-receipt'] },
};

let secrets: SecretsManagerPeer;
let logs: CapturedLogs;
let connector: Loaded;
const savedEnv = { ...process.env };
const outputs: string[] = [];
const statuses: number[] = [];
let leakLogs = '';

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({
    path: `/rabbitmq/${operation}`,
    body,
    headers: { 'idempotency-key': randomUUID() },
  });
  const response = (await connector.handler(event, lambdaContext())) as HttpResult;
  outputs.push(JSON.stringify(response));
  statuses.push(response.statusCode);
  return response;
}

async function task(operation: string, input: unknown): Promise<void> {
  try {
    outputs.push(
      JSON.stringify(
        await connector.handler(
          { operation, input, trigger: 'task', idempotencyKey: randomUUID() },
          lambdaContext(),
        ),
      ),
    );
  } catch (error) {
    outputs.push(String(error), (error as Error).stack ?? '', JSON.stringify(error));
  }
}

/** Makes the connector read the secret again and open a new connection. */
async function renew(): Promise<void> {
  configureSecrets({});
  resetCircuitBreakers();
  const client = (await (connector.runtime as unknown as { client(): Promise<unknown> })
    .client()
    .catch(() => undefined)) as { close?: () => Promise<void> } | undefined;
  await client?.close?.().catch(() => undefined);
}

beforeAll(async () => {
  secrets = await startSecretsManager({ [SECRET]: credentials(RABBITMQ.password) });
  Object.assign(process.env, {
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    RABBITMQ_HOST: RABBITMQ.host,
    RABBITMQ_PORT: String(RABBITMQ.port),
    RABBITMQ_TLS: 'disable',
    RABBITMQ_SECRET: SECRET,
    RABBITMQ_ROUTING_KEY: QUEUE,
    RABBITMQ_QUEUE: QUEUE,
    RABBITMQ_CONNECT_TIMEOUT_MS: '2000',
    RABBITMQ_TIMEOUT_MS: '5000',
  });
  configureSecrets({});
  connector = (await import('../../functions/messaging/rabbitmq/index.ts')).connector as unknown as Loaded;

  logs = captureLogs();
  for (const [operation, input] of Object.entries(SAMPLES)) await call(operation, input);
  await call('inspect-queue', { queue: uniqueName('circle-hardening-missing') });
  await call('publish-message', { body: 'x', destination: '' });
  // Wrong passwords: the broker refuses each (ACCESS_REFUSED) on HTTP, queue and task.
  for (const password of WRONG) {
    await secrets.set(SECRET, credentials(password));
    await renew();
    await call('publish-message', { body: 'refused' });
    await call('inspect-queue', { queue: QUEUE });
  }
  await queue([{ operation: 'publish-message', input: { body: 'refused' } }, 'not json']);
  await task('inspect-queue', { queue: QUEUE });
  await secrets.set(SECRET, credentials(RABBITMQ.password));
  await renew();
  await call('receive-messages', { maxMessages: 10, waitTimeMs: 500 });
  leakLogs = logs.text();
  logs.restore();
}, 120_000);

async function queue(bodies: unknown[]): Promise<void> {
  const event = sqsEvent(bodies.map((body) => ({ body, messageId: randomUUID() })));
  outputs.push(JSON.stringify(await connector.handler(event, lambdaContext())));
}

afterAll(async () => {
  process.env = savedEnv;
  await renew();
  const connection = await amqp.connect(
    `amqp://${RABBITMQ.username}:${RABBITMQ.password}@${RABBITMQ.host}:${RABBITMQ.port}`,
  );
  const channel = await connection.createChannel();
  await channel.deleteQueue(QUEUE).catch(() => undefined);
  await connection.close();
  await secrets?.close();
});

describe('Secrets in output: RabbitMQ, every path', () => {
  it('exercised the paths it claims (successes, refusals, refused credentials on every trigger)', () => {
    expect(statuses).toContain(200);
    expect(statuses).toContain(404);
    expect(
      statuses.filter((status) => status >= 500 || status === 401 || status === 403).length,
    ).toBeGreaterThan(3);
    expect(leakLogs).toContain('"service":"rabbitmq"');
  });

  it('shows no broker password or credentialed amqp URL in any response, error or log line', () => {
    const seen = `${outputs.join('\n')}\n${leakLogs}`;
    expect(WRONG.filter((password) => seen.includes(password))).toEqual([]);
    expect(seen).not.toMatch(/amqps?:\/\/[^/\s"]*:[^/\s"]*@/);
  });
});

describe('Strict inputs and authorization: RabbitMQ', () => {
  it('has a sample for exactly its operations', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(connector.runtime.operations).sort());
  });

  it.each(Object.keys(SAMPLES))('%s answers 400 naming /unexpectedFieldX', async (operation) => {
    const response = await call(operation, { ...(SAMPLES[operation] as object), unexpectedFieldX: 1 });
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body).errors).toContainEqual({
      pointer: '/unexpectedFieldX',
      message: 'unknown field',
    });
  });

  it.each(Object.keys(SAMPLES))('%s without the gateway authorizer is 401', async (operation) => {
    const response = (await connector.handler(
      httpEvent({ path: `/rabbitmq/${operation}`, body: SAMPLES[operation], authorizer: 'none' }),
      lambdaContext(),
    )) as HttpResult;
    expect(response.statusCode).toBe(401);
  });
});
