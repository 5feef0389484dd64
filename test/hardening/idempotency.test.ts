/**
 * Inbound idempotency, end to end through real connectors with CIRCLE_IDEMPOTENCY_TABLE on dynalite: the
 * same write delivered twice (SQS redelivery, HTTP retry) runs once and the repeat gets the stored result;
 * two concurrent duplicates run once; a call that failed can be retried with its key; the same key with a
 * different input is refused (409); a write without a key is refused (400) instead of running unprotected.
 * The guard itself is unit-tested in layers/core/src/idempotency.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { type CapturedLogs, captureLogs, lambdaContext, sqsEvent } from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { githubFaults } from '../../scripts/local/sandboxes/github.ts';
import { connectorFolder } from './support/connectors.ts';
import { type ConnectorName, type HttpResult, REPO, type Suite, startSuite } from './support/suite.ts';

/** The operations that change something at the provider; each must declare `effect: 'write'`. */
const WRITES: Record<ConnectorName, string[]> = {
  s3: ['chunk-object', 'copy-object', 'delete-object', 'put-object'],
  postgres: ['execute', 'insert-rows'],
  mysql: ['execute', 'insert-rows'],
  slack: ['post-message', 'update-message'],
  github: ['add-labels', 'comment-on-issue', 'create-issue'],
  jira: ['comment-on-issue', 'create-issue', 'transition-issue', 'update-issue'],
  pagerduty: [
    'acknowledge-alert',
    'acknowledge-incident',
    'create-incident',
    'resolve-alert',
    'resolve-incident',
    'trigger-alert',
  ],
  redis: ['delete-value', 'increment-value', 'put-value', 'put-values'],
  dynamodb: ['delete-value', 'increment-value', 'put-value', 'put-values'],
  openai: [],
  stripe: [
    'cancel-payment-intent',
    'capture-payment-intent',
    'confirm-payment-intent',
    'create-customer',
    'create-invoice',
    'create-payment-intent',
    'create-refund',
    'finalize-invoice',
  ],
  gitlab: [
    'comment-on-issue',
    'create-issue',
    'create-merge-request',
    'put-file',
    'transition-issue',
    'trigger-pipeline',
    'update-issue',
  ],
  oidc: [],
  anthropic: [],
  bedrock: [],
  pinecone: ['create-collection', 'delete-collection', 'delete-vectors', 'upsert-vectors'],
  gcs: ['chunk-object', 'copy-object', 'delete-object', 'put-object'],
  'azure-blob': ['chunk-object', 'copy-object', 'delete-object', 'put-object'],
  qdrant: ['create-collection', 'delete-collection', 'delete-vectors', 'upsert-vectors'],
  nats: ['acknowledge-messages', 'declare-consumer', 'publish-batch', 'publish-message', 'release-messages'],
  mqtt: ['acknowledge-messages', 'clear-retained', 'publish-batch', 'publish-message', 'release-messages'],
  sqs: ['acknowledge-messages', 'change-visibility', 'publish-batch', 'publish-message', 'release-messages'],
  sns: ['acknowledge-messages', 'publish-batch', 'publish-message', 'release-messages'],
  eventbridge: ['acknowledge-messages', 'publish-batch', 'publish-message', 'release-messages'],
  athena: ['cancel-query'],
  'iot-core': ['delete-thing-shadow', 'publish-message', 'update-thing-shadow'],
  transform: ['export-mysql', 'export-postgres', 'load-mysql', 'load-postgres', 'transform-records'],
};

let suite: Suite;
let logs: CapturedLogs;

function post(connector: ConnectorName, operation: string, body: unknown, key?: string): Promise<HttpResult> {
  return suite.http(connector, {
    path: `/${connector}/${operation}`,
    body,
    headers: key === undefined ? {} : { 'idempotency-key': key },
  });
}

beforeAll(async () => {
  suite = await startSuite({ env: { CIRCLE_IDEMPOTENCY_TABLE: 'circle-idempotency' } });
  // Until every connector declares its writes (see the first test), protect them here so the end-to-end
  // behaviour is proved either way; once declared, this changes nothing.
  for (const [connector, operations] of Object.entries(WRITES) as [ConnectorName, string[]][]) {
    for (const operation of operations) {
      const definition = suite.connectors[connector].runtime.operations[operation] as { effect?: string };
      definition.effect ??= 'write';
    }
  }
}, 60_000);

afterAll(async () => {
  await suite?.close();
});

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describe('Idempotency: declarations', () => {
  it.each(Object.entries(WRITES))(
    '%s declares exactly its writes as effect "write"',
    async (connector, writes) => {
      // Prepare: a fresh import, so the test above's protection does not count.
      const { connector: fresh } = (await import(`${connectorFolder(connector).module}?declarations`)) as {
        connector: { runtime: { operations: Record<string, { effect?: string }> } };
      };
      // Act
      const declared = Object.entries(fresh.runtime.operations)
        .filter(([, operation]) => operation.effect === 'write')
        .map(([name]) => name)
        .sort();
      // Assess
      expect(declared).toEqual(writes);
    },
  );
});

describe('Idempotency: through the connectors', () => {
  it('writes an SQS message delivered twice once (PostgreSQL rows), keyed by its message id', async () => {
    // Prepare
    const message = {
      messageId: randomUUID(),
      body: {
        operation: 'insert-rows',
        input: { schema: suite.schema, table: 'items', rows: [{ id: 'idem-sqs' }] },
      },
    };
    // Act
    const first = await suite.connectors.postgres.handler(sqsEvent([message]), lambdaContext());
    const second = await suite.connectors.postgres.handler(
      sqsEvent([{ ...message, receiveCount: 2 }]),
      lambdaContext(),
    );
    // Assess
    expect(first).toEqual({ batchItemFailures: [] });
    expect(second).toEqual({ batchItemFailures: [] });
    expect((await suite.rows('items')).filter((row) => row['id'] === 'idem-sqs')).toHaveLength(1);
  });

  it('posts a Slack message retried with the same Idempotency-Key once and answers the stored result', async () => {
    // Prepare
    const body = { channel: 'C0GENERAL', text: `idempotent ${randomUUID()}` };
    // Act
    const first = await post('slack', 'post-message', body, 'slack-key-1');
    const retry = await post('slack', 'post-message', body, 'slack-key-1');
    // Assess
    expect(first.statusCode).toBe(200);
    expect(retry.statusCode).toBe(200);
    expect(JSON.parse(retry.body)).toEqual(JSON.parse(first.body));
    expect(suite.slack.messages.filter((message) => message.text === body.text)).toHaveLength(1);
  });

  it('runs two concurrent duplicates once: one answer, one retryable 409, one message', async () => {
    // Prepare
    const body = { channel: 'C0GENERAL', text: `concurrent ${randomUUID()}` };
    suite.slack.failNext('chat.postMessage', { delayMs: 300 });
    // Act
    const answers = await Promise.all([
      post('slack', 'post-message', body, 'slack-concurrent'),
      new Promise<HttpResult>((resolve) =>
        setTimeout(() => resolve(post('slack', 'post-message', body, 'slack-concurrent')), 50),
      ),
    ]);
    // Assess
    expect(answers.map((answer) => answer.statusCode).sort()).toEqual([200, 409]);
    expect(suite.slack.messages.filter((message) => message.text === body.text)).toHaveLength(1);
  });

  it('lets a call that failed be retried with the same key (the failure is not stored)', async () => {
    // Prepare
    const body = { ...REPO, title: `retry ${randomUUID()}` };
    suite.github.failNext('create-issue', githubFaults.serverError(503));
    // Act
    const failed = await post('github', 'create-issue', body, 'gh-retry-1');
    const retried = await post('github', 'create-issue', body, 'gh-retry-1');
    const repeated = await post('github', 'create-issue', body, 'gh-retry-1');
    // Assess
    expect(failed.statusCode).toBe(503);
    expect(retried.statusCode).toBe(200);
    expect(repeated.body).toBe(retried.body);
    expect(suite.github.issues('octo/hello').filter((issue) => issue.title === body.title)).toHaveLength(1);
  });

  it('refuses the same key with a different input with 409 and does not run it', async () => {
    // Prepare
    await post('github', 'create-issue', { ...REPO, title: 'original' }, 'gh-reused');
    const issues = suite.github.issues('octo/hello').length;
    // Act
    const reused = await post('github', 'create-issue', { ...REPO, title: 'something else' }, 'gh-reused');
    // Assess
    expect(reused.statusCode).toBe(409);
    expect(JSON.parse(reused.body)).toMatchObject({ code: 'conflict' });
    expect(suite.github.issues('octo/hello')).toHaveLength(issues);
  });

  it('refuses a write without a key over HTTP (400) and as a task (ValidationError), writing nothing', async () => {
    // Act
    const http = await post('s3', 'put-object', { key: 'idem/unkeyed.txt', body: 'x' });
    const task = suite.connectors.s3
      .handler(
        { operation: 'put-object', input: { key: 'idem/unkeyed.txt', body: 'x' }, trigger: 'task' },
        lambdaContext(),
      )
      .catch((error: unknown) => error);
    const head = await post('s3', 'head-object', { key: 'idem/unkeyed.txt' });
    // Assess
    expect(http.statusCode).toBe(400);
    expect(JSON.parse(http.body).detail).toContain('Idempotency-Key');
    expect(await task).toMatchObject({ name: 'ValidationError' });
    expect(head.statusCode).toBe(404);
  });

  it('leaves reads alone: no key needed', async () => {
    // Act
    const response = await post('postgres', 'list-tables', { schema: suite.schema });
    // Assess
    expect(response.statusCode).toBe(200);
  });
});
