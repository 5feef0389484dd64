/**
 * No secret in any output: every connector runs their success, failure and retry paths (HTTP, SQS and
 * task triggers, provider faults, credential rotation, webhooks signed right and wrong) with
 * POWERTOOLS_LOG_LEVEL=DEBUG, and everything they write to stdout/stderr, every response and every error
 * thrown to Lambda is searched for the secret values, `Bearer <token>`, any Authorization header value
 * (SigV4 included) and every webhook signature that was sent.
 */
import { randomUUID } from 'node:crypto';
import { type CapturedLogs, captureLogs, lambdaContext, sqsEvent } from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newServiceAccount } from '../../scripts/local/sandboxes/gcs.ts';
import { githubFaults } from '../../scripts/local/sandboxes/github.ts';
import { JIRA_SANDBOX_EMAIL, signJiraWebhook } from '../../scripts/local/sandboxes/jira.ts';
import { signPagerDutyWebhook } from '../../scripts/local/sandboxes/pagerduty.ts';
import { signStripeWebhook } from '../../scripts/local/sandboxes/stripe.ts';
import { tick, withMysql } from '../peers/mariadb.ts';
import { githubHeaders, slackHeaders } from './support/hostile.ts';
import { type ConnectorName, REPO, SECRET_NAMES, type Suite, startSuite } from './support/suite.ts';

let suite: Suite;
let logs: CapturedLogs;
/** Everything a caller or the Lambda runtime would see: responses and thrown errors. */
const outputs: string[] = [];
/** Tokens given to the OIDC connector besides the suite's own: none may be echoed (their signatures). */
const oidcTokens: string[] = [];
/** Secret values made during the run (a rotated GCS key's PEM line): searched like `suite.values`. */
const madeSecrets: string[] = [];
/** What the Azure Blob connector answered over HTTP in the leak run. */
const azureStatuses: number[] = [];
/** Signature header values sent to the webhook routes. */
const signatures: string[] = [];
const ROTATED = {
  slackToken: 'xoxb-rotated-leak-check-5a5a5a5a5a5a',
  githubToken: 'ghp_rotatedLeakCheck9f9f9f9f9f9f9f9f9f',
  postgresPassword: 'Rotated-Pg-Pass-7e7e7e7e',
  mysqlPassword: 'Rotated-My-Pass-1d1d1d1d',
  mysqlWrongPassword: 'Wrong-My-Pass-3c3c3c3c',
  mysqlUnknownPassword: 'Unknown-My-Pass-6b6b6b6b',
  jiraToken: 'jira-rotated-leak-check-4f4f4f4f',
  pagerdutyToken: 'pd-rotated-leak-check-2e2e2e2e',
  openaiApiKey: 'sk-rotated-leak-check-3b3b3b3b',
  stripeApiKey: 'rk_test_rotatedLeakCheck4c4c4c4c',
  gitlabToken: 'glpat-rotated-leak-check-5d5d5d5d',
  oidcClientSecret: 'oidc-rotated-leak-check-6e6e6e6e',
  anthropicApiKey: 'sk-ant-rotated-leak-check-7f7f7f7f',
  pineconeApiKey: 'pcsk_rotated_leak_check_9b9b9b9b',
  qdrantApiKey: 'qdrant-rotated-leak-check-8a8a8a8a',
  redisPassword: 'Rotated-Redis-Pass-8a8a8a8a',
  redisWrongPassword: 'Wrong-Redis-Pass-0c0c0c0c',
};

async function http(
  connector: ConnectorName,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
) {
  const response = await suite.http(connector, { path, body, headers });
  outputs.push(JSON.stringify(response));
  return response;
}

async function task(connector: ConnectorName, operation: string, input: unknown): Promise<void> {
  try {
    outputs.push(
      JSON.stringify(
        await suite.connectors[connector].handler({ operation, input, trigger: 'task' }, lambdaContext()),
      ),
    );
  } catch (error) {
    outputs.push(String(error), (error as Error).stack ?? '', JSON.stringify(error));
  }
}

async function queue(connector: ConnectorName, bodies: unknown[]): Promise<void> {
  const event = sqsEvent(bodies.map((body) => ({ body, messageId: randomUUID() })));
  outputs.push(JSON.stringify(await suite.connectors[connector].handler(event, lambdaContext())));
}

async function webhook(
  connector: 'slack' | 'github' | 'jira' | 'pagerduty' | 'stripe' | 'gitlab',
  path: string,
  body: string,
  headers: Record<string, string>,
) {
  for (const name of [
    'x-slack-signature',
    'x-hub-signature-256',
    'x-hub-signature',
    'x-pagerduty-signature',
  ]) {
    const value = headers[name];
    if (value !== undefined) signatures.push(value, value.replace(/^(v0=|v1=|sha256=)/, ''));
  }
  // Stripe's header: `t=<seconds>,v1=<hex>`; each v1 is a signature of its own.
  for (const part of headers['stripe-signature']?.split(',') ?? []) {
    if (part.startsWith('v1=')) signatures.push(part.slice(3));
  }
  const response = await suite.http(connector, {
    path,
    body,
    headers: { 'content-type': 'application/json', ...headers },
    authorizer: 'none',
  });
  outputs.push(JSON.stringify(response));
}

/** A vector store's paths for the leak run (the Qdrant and Pinecone contract fakes, keys in `state.keys`). */
async function vectorStore(
  connector: 'qdrant' | 'pinecone',
  fake: { state: { keys: Set<string> }; inject: Suite['qdrant']['inject'] },
  secretName: string,
  key: string,
  rotated: string,
): Promise<void> {
  const path = (operation: string) => `/${connector}/${operation}`;
  await http(connector, path('create-collection'), { collection: 'leak', dimension: 3 });
  await http(connector, path('upsert-vectors'), {
    collection: 'leak',
    vectors: [{ id: 'leak#1', values: [1, 0, 0], metadata: { source: 'leak' } }],
  });
  await http(connector, path('query-vectors'), { collection: 'leak', vector: [1, 0, 0], topK: 1 });
  await http(connector, path('fetch-vectors'), { collection: 'leak', ids: ['leak#1', 'gone'] });
  await http(connector, path('describe-collection'), { collection: 'missing' });
  await http(connector, path('query-vectors'), { collection: 'leak', vector: [1, 0] });
  await http(connector, path('create-collection'), { collection: 'leak', dimension: 4 });
  fake.inject({ kind: 'server-error', status: 503 });
  await http(connector, path('describe-collection'), { collection: 'leak' });
  suite.secrets.set(secretName, rotated);
  fake.state.keys.add(rotated);
  fake.state.keys.delete(key);
  await http(connector, path('delete-vectors'), { collection: 'leak', ids: ['leak#1'] });
  fake.state.keys.delete(rotated);
  await http(connector, path('describe-collection'), { collection: 'leak' });
  fake.state.keys.add(rotated);
  await queue(connector, [{ operation: 'upsert-vectors', input: { collection: 'leak' } }, 'not json']);
  await task(connector, 'delete-collection', { collection: 'leak' });
}

beforeAll(async () => {
  logs = captureLogs();
  suite = await startSuite({
    env: { POWERTOOLS_LOG_LEVEL: 'DEBUG', GITHUB_MAX_ATTEMPTS: '3', SLACK_MAX_ATTEMPTS: '3' },
  });
  const { slack, github, secrets, gate, values } = suite;

  // S3: success, not found, a refused bucket, the queue and task triggers.
  await http('s3', '/s3/put-object', { key: 'leak/a.txt', body: 'x' });
  await http('s3', '/s3/get-object', { key: 'leak/a.txt' });
  await http('s3', '/s3/get-object', { key: 'leak/missing.txt' });
  await http('s3', '/s3/list-objects', { bucket: 'not-allowed-bucket' });
  await http('s3', '/s3/put-object', { key: '', body: 'x' });
  await queue('s3', [{ operation: 'head-object', input: { key: 'leak/missing.txt' } }, 'not json']);
  await task('s3', 'get-object', { key: 'leak/missing.txt' });

  // PostgreSQL: success, SQL errors, a dropped connection, a password rotation, queue and task.
  await http('postgres', '/postgres/query', { sql: 'select 1 as one' });
  await http('postgres', '/postgres/query', { sql: 'select * from no_such_table_anywhere' });
  await http('postgres', '/postgres/insert-rows', {
    schema: suite.schema,
    table: 'items',
    rows: [{ id: 'dup' }],
  });
  await http('postgres', '/postgres/insert-rows', {
    schema: suite.schema,
    table: 'items',
    rows: [{ id: 'dup' }],
  });
  gate.dropConnections();
  await http('postgres', '/postgres/query', { sql: 'select 2 as two' });
  gate.setPassword(ROTATED.postgresPassword);
  secrets.set(
    SECRET_NAMES.postgres,
    JSON.stringify({
      username: 'postgres',
      password: ROTATED.postgresPassword,
      host: gate.host,
      port: gate.port,
      dbname: 'test',
    }),
  );
  gate.dropConnections();
  await http('postgres', '/postgres/query', { sql: 'select 3 as three' });
  gate.setPassword('nobody-knows-this-one');
  gate.dropConnections();
  await http('postgres', '/postgres/query', { sql: 'select 4 as four' });
  gate.setPassword(ROTATED.postgresPassword);
  await queue('postgres', [{ operation: 'query', input: { sql: 'select $1::int as n', params: ['x'] } }]);
  await task('postgres', 'query', { sql: 'syntax error here' });

  // MySQL: success, SQL errors, a rotation (the server refuses the cached password, the fetched one
  // works), then a secret the server refuses too; queue and task.
  const dropMysqlSession = async (): Promise<void> => {
    const client = (await suite.connectors.mysql.runtime.client()) as { close(): Promise<void> };
    await client.close();
  };
  const mysqlSecret = (password: string): string =>
    JSON.stringify({ ...JSON.parse(suite.mysqlSecret), password });
  const mysqlServerPassword = (password: string): Promise<unknown> =>
    withMysql(async (admin) => {
      for (const host of ['127.0.0.1', 'localhost']) {
        await admin.query(`alter user ${tick(suite.mysqlUser)}@'${host}' identified by '${password}'`);
      }
    });
  await http('mysql', '/mysql/query', { sql: 'select 1 as one' });
  await http('mysql', '/mysql/query', { sql: 'select * from no_such_table_anywhere' });
  await http('mysql', '/mysql/insert-rows', {
    schema: suite.mysqlDatabase,
    table: 'items',
    rows: [{ id: 'dup' }],
  });
  await http('mysql', '/mysql/insert-rows', {
    schema: suite.mysqlDatabase,
    table: 'items',
    rows: [{ id: 'dup' }],
  });
  await mysqlServerPassword(ROTATED.mysqlPassword);
  secrets.set(SECRET_NAMES.mysql, mysqlSecret(ROTATED.mysqlPassword));
  await dropMysqlSession();
  await http('mysql', '/mysql/query', { sql: 'select 2 as two' });
  await mysqlServerPassword(ROTATED.mysqlUnknownPassword);
  secrets.set(SECRET_NAMES.mysql, mysqlSecret(ROTATED.mysqlWrongPassword));
  await dropMysqlSession();
  await http('mysql', '/mysql/query', { sql: 'select 3 as three' });
  await mysqlServerPassword(ROTATED.mysqlPassword);
  secrets.set(SECRET_NAMES.mysql, mysqlSecret(ROTATED.mysqlPassword));
  await dropMysqlSession();
  await queue('mysql', [{ operation: 'query', input: { sql: 'select ? as n', params: [1, 2] } }]);
  await task('mysql', 'query', { sql: 'syntax error here' });

  // Slack: success, provider errors, a 5xx retried, a rate limit, a rotation, a revoked token, webhooks.
  await http('slack', '/slack/list-channels', {});
  await http('slack', '/slack/post-message', { channel: 'C0GENERAL', text: 'hello' });
  await http('slack', '/slack/post-message', { channel: 'C0NOPE', text: 'hello' });
  slack.failNext('conversations.list', { status: 503 });
  await http('slack', '/slack/list-channels', {});
  slack.failNext('conversations.list', { retryAfter: 1 });
  await http('slack', '/slack/list-channels', {});
  secrets.set(SECRET_NAMES.slackToken, ROTATED.slackToken);
  slack.tokens.clear();
  slack.tokens.add(ROTATED.slackToken);
  await http('slack', '/slack/list-channels', {});
  slack.tokens.clear();
  await http('slack', '/slack/find-user-by-email', { email: 'alice@example.com' });
  slack.tokens.add(ROTATED.slackToken);
  await queue('slack', [{ operation: 'post-message', input: { channel: 'C0GENERAL' } }]);
  await task('slack', 'update-message', { channel: 'C0GENERAL', ts: '1700000000.000100', text: 'x' });
  const slackBody = JSON.stringify({ type: 'url_verification', challenge: 'c', token: 't' });
  await webhook('slack', '/slack/events', slackBody, slackHeaders(values.slackSigningSecret, slackBody));
  await webhook('slack', '/slack/events', slackBody, slackHeaders('wrong-secret', slackBody));
  await webhook(
    'slack',
    '/slack/events',
    `${slackBody} `,
    slackHeaders(values.slackSigningSecret, slackBody),
  );

  // GitHub: success, not found, a 5xx retried, bad credentials after a rotation, webhooks.
  await http('github', '/github/list-issues', { ...REPO });
  await http('github', '/github/create-issue', { ...REPO, title: 'Leak check' });
  await http('github', '/github/get-file', { ...REPO, path: 'missing.md' });
  github.failNext('list-issues', githubFaults.serverError(503));
  await http('github', '/github/list-issues', { ...REPO });
  secrets.set(SECRET_NAMES.githubToken, ROTATED.githubToken);
  github.addToken(ROTATED.githubToken);
  github.revokeToken(values.githubToken);
  await http('github', '/github/list-issues', { ...REPO });
  github.revokeToken(ROTATED.githubToken);
  await http('github', '/github/list-issues', { ...REPO });
  github.addToken(ROTATED.githubToken);
  await queue('github', [{ operation: 'comment-on-issue', input: { ...REPO, issueNumber: 999, body: 'x' } }]);
  await task('github', 'get-file', { ...REPO, path: 'README.md', ref: 'no-such-ref' });
  const githubBody = JSON.stringify({ action: 'opened', repository: { full_name: 'octo/hello' } });
  const signedHeaders = githubHeaders(values.githubWebhookSecret, githubBody);
  await webhook('github', '/github/webhook', githubBody, signedHeaders);
  await webhook('github', '/github/webhook', githubBody, signedHeaders);
  await webhook('github', '/github/webhook', githubBody, githubHeaders('wrong-secret', githubBody));

  // Jira: success, not found, a 5xx retried, a rotation, a revoked token, queue and task, webhooks.
  const { jira } = suite;
  const jiraUser = (token: string): string => `${JIRA_SANDBOX_EMAIL}:${token}`;
  await http('jira', '/jira/search-issues', { project: 'OPS' });
  await http('jira', '/jira/create-issue', { project: 'OPS', title: 'Leak check' });
  await http('jira', '/jira/get-issue', { project: 'OPS', key: 'OPS-999' });
  jira.inject({ kind: 'server-error', status: 503 }, { route: 'search-issues' });
  await http('jira', '/jira/search-issues', { project: 'OPS' });
  secrets.set(
    SECRET_NAMES.jiraCredentials,
    JSON.stringify({ username: JIRA_SANDBOX_EMAIL, password: ROTATED.jiraToken }),
  );
  jira.state.tokens.add(jiraUser(ROTATED.jiraToken));
  jira.state.tokens.delete(jiraUser(values.jiraToken));
  await http('jira', '/jira/get-issue', { project: 'OPS', key: 'OPS-1' });
  jira.state.tokens.delete(jiraUser(ROTATED.jiraToken));
  await http('jira', '/jira/get-issue', { project: 'OPS', key: 'OPS-1' });
  jira.state.tokens.add(jiraUser(ROTATED.jiraToken));
  await queue('jira', [
    { operation: 'comment-on-issue', input: { project: 'OPS', key: 'OPS-999', body: 'x' } },
  ]);
  await task('jira', 'search-issues', { project: 'OPS', query: 'nosuchfield = 1' });
  const jiraBody = JSON.stringify({
    timestamp: Date.now(),
    webhookEvent: 'jira:issue_created',
    issue: { key: 'OPS-1' },
  });
  const jiraSigned = suite.webhookHeaders('jira', jiraBody);
  await webhook('jira', '/jira/webhook', jiraBody, jiraSigned);
  await webhook('jira', '/jira/webhook', jiraBody, jiraSigned);
  await webhook('jira', '/jira/webhook', jiraBody, {
    ...jiraSigned,
    'x-hub-signature': signJiraWebhook('wrong-secret', jiraBody),
  });

  // PagerDuty: both APIs (the routing key travels in the Events API body), not found, a 5xx retried, a
  // rotation, a revoked token, queue and task, webhooks.
  const { pagerduty } = suite;
  await http('pagerduty', '/pagerduty/list-incidents', {});
  await http('pagerduty', '/pagerduty/create-incident', { title: 'Leak check', serviceId: 'PWIXJZS' });
  await http('pagerduty', '/pagerduty/get-incident', { incidentId: 'PNOPE00' });
  await http('pagerduty', '/pagerduty/trigger-alert', {
    summary: 'Leak check',
    source: 'leak-host',
    severity: 'critical',
    dedupKey: 'leak-check',
  });
  await http('pagerduty', '/pagerduty/resolve-alert', { dedupKey: 'leak-check' });
  pagerduty.inject({ kind: 'server-error', status: 503 }, { route: 'list-oncalls' });
  await http('pagerduty', '/pagerduty/list-oncalls', {});
  secrets.set(SECRET_NAMES.pagerdutyToken, ROTATED.pagerdutyToken);
  pagerduty.state.tokens.add(ROTATED.pagerdutyToken);
  pagerduty.state.tokens.delete(values.pagerdutyToken);
  await http('pagerduty', '/pagerduty/get-incident', { incidentId: 'PT4KHLK' });
  pagerduty.state.tokens.delete(ROTATED.pagerdutyToken);
  await http('pagerduty', '/pagerduty/get-incident', { incidentId: 'PT4KHLK' });
  pagerduty.state.tokens.add(ROTATED.pagerdutyToken);
  pagerduty.state.routingKeys.clear();
  await http('pagerduty', '/pagerduty/acknowledge-alert', { dedupKey: 'leak-check' });
  await queue('pagerduty', [{ operation: 'resolve-incident', input: { incidentId: 'PNOPE00' } }]);
  await task('pagerduty', 'trigger-alert', { summary: 'x', source: 'y', severity: 'info' });
  const pagerdutyBody = JSON.stringify({
    event: {
      id: '01DEN0Q4AVZ7RS3E2D2FMTJ7L2',
      event_type: 'incident.triggered',
      occurred_at: new Date().toISOString(),
      data: { id: 'PT4KHLK' },
    },
  });
  const pagerdutySigned = suite.webhookHeaders('pagerduty', pagerdutyBody);
  await webhook('pagerduty', '/pagerduty/webhook', pagerdutyBody, pagerdutySigned);
  await webhook('pagerduty', '/pagerduty/webhook', pagerdutyBody, pagerdutySigned);
  await webhook('pagerduty', '/pagerduty/webhook', pagerdutyBody, {
    'x-pagerduty-signature': signPagerDutyWebhook(['wrong-secret'], pagerdutyBody),
  });

  // Redis: success, missing, a refused condition, a wrong type, a rotation (ACL password changed, the
  // connections killed), a secret the server refuses, queue and task.
  const killRedisSessions = async (): Promise<void> => {
    await suite.redis.admin.sendCommand(['CLIENT', 'KILL', 'USER', suite.redisUser]);
  };
  const redisPassword = async (password: string): Promise<void> => {
    await suite.redis.admin.sendCommand(['ACL', 'SETUSER', suite.redisUser, 'resetpass', `>${password}`]);
  };
  const redisSecret = (password: string): string => JSON.stringify({ username: suite.redisUser, password });
  await http('redis', '/redis/put-value', { key: 'leak/a', value: { n: 1 } });
  await http('redis', '/redis/get-value', { key: 'leak/a' });
  await http('redis', '/redis/get-value', { key: 'leak/missing' });
  await http('redis', '/redis/put-value', { key: 'leak/a', value: 2, onlyIfAbsent: true });
  await http('redis', '/redis/increment-value', { key: 'leak/a' });
  await redisPassword(ROTATED.redisPassword);
  secrets.set(SECRET_NAMES.redis, redisSecret(ROTATED.redisPassword));
  await killRedisSessions();
  await http('redis', '/redis/get-value', { key: 'leak/a' });
  await redisPassword(ROTATED.redisWrongPassword);
  await killRedisSessions();
  await http('redis', '/redis/get-value', { key: 'leak/a' });
  await redisPassword(ROTATED.redisPassword);
  await queue('redis', [{ operation: 'put-value', input: { key: 'leak/q' } }, 'not json']);
  await task('redis', 'get-value', { key: 'leak/missing' });

  // DynamoDB (requests signed with the distinctive secret access key): success, missing, a refused
  // condition, a wrong type, queue and task.
  await http('dynamodb', '/dynamodb/put-value', { key: 'leak/a', value: { n: 1 } });
  await http('dynamodb', '/dynamodb/get-value', { key: 'leak/a' });
  await http('dynamodb', '/dynamodb/get-value', { key: 'leak/missing' });
  await http('dynamodb', '/dynamodb/put-value', { key: 'leak/a', value: 2, onlyIfAbsent: true });
  await http('dynamodb', '/dynamodb/increment-value', { key: 'leak/a' });
  await queue('dynamodb', [{ operation: 'put-value', input: { key: 'leak/q' } }, 'not json']);
  await task('dynamodb', 'get-value', { key: 'leak/missing' });

  // OpenAI: success on each operation, an unknown model, a 5xx retried, a rotation, a revoked key, queue
  // and task.
  const { openai } = suite;
  const chat = { messages: [{ role: 'user', content: 'Reply with the single word: pong' }] };
  await http('openai', '/openai/complete-chat', chat);
  await http('openai', '/openai/embed-texts', { inputs: ['leak check'], dimensions: 8 });
  await http('openai', '/openai/complete-chat', { ...chat, model: 'gpt-9' });
  openai.inject({ kind: 'server-error', status: 503 });
  await http('openai', '/openai/complete-chat', chat);
  secrets.set(SECRET_NAMES.openai, ROTATED.openaiApiKey);
  openai.state.tokens.add(ROTATED.openaiApiKey);
  openai.state.tokens.delete(values.openaiApiKey);
  await http('openai', '/openai/complete-chat', chat);
  openai.state.tokens.delete(ROTATED.openaiApiKey);
  await http('openai', '/openai/complete-chat', chat);
  openai.state.tokens.add(ROTATED.openaiApiKey);
  await queue('openai', [{ operation: 'complete-chat', input: { messages: [] } }, 'not json']);
  await task('openai', 'embed-texts', { inputs: ['x'], model: 'no-such-model' });

  // Stripe: success, not found, a declined card (402), an idempotency key reused with other parameters
  // (409), a 5xx retried, a rotation, a revoked key, signed and wrongly signed webhooks, queue and task.
  const { stripe } = suite;
  await http(
    'stripe',
    '/stripe/create-customer',
    { email: 'leak@example.com' },
    { 'idempotency-key': 'leak-1' },
  );
  await http(
    'stripe',
    '/stripe/create-customer',
    { email: 'other@example.com' },
    { 'idempotency-key': 'leak-1' },
  );
  await http('stripe', '/stripe/get-customer', { customerId: 'cus_Missing' });
  await http('stripe', '/stripe/create-payment-intent', {
    amount: 1000,
    currency: 'usd',
    paymentMethod: 'pm_card_chargeDeclined',
    confirm: true,
  });
  stripe.inject({ kind: 'server-error', status: 503 });
  await http('stripe', '/stripe/list-customers', { limit: 1 });
  secrets.set(SECRET_NAMES.stripeToken, ROTATED.stripeApiKey);
  stripe.state.tokens.add(ROTATED.stripeApiKey);
  stripe.state.tokens.delete(values.stripeApiKey);
  await http('stripe', '/stripe/list-customers', { limit: 1 });
  stripe.state.tokens.delete(ROTATED.stripeApiKey);
  await http('stripe', '/stripe/get-invoice', { invoiceId: 'in_SandboxDraft' });
  stripe.state.tokens.add(ROTATED.stripeApiKey);
  const stripeBody = JSON.stringify({
    id: 'evt_LeakCheck1',
    object: 'event',
    type: 'payment_intent.succeeded',
    data: { object: { id: 'pi_SandboxSucceeded', object: 'payment_intent' } },
  });
  await webhook('stripe', '/stripe/webhook', stripeBody, suite.webhookHeaders('stripe', stripeBody));
  await webhook('stripe', '/stripe/webhook', stripeBody, suite.webhookHeaders('stripe', stripeBody));
  await webhook('stripe', '/stripe/webhook', stripeBody, {
    'stripe-signature': signStripeWebhook(stripeBody, 'whsec_wrongSecret'),
  });
  await queue('stripe', [{ operation: 'create-refund', input: { paymentIntentId: 'pi_x' } }, 'not json']);
  await task('stripe', 'get-payment-intent', { paymentIntentId: 'pi_Missing' });

  // GitLab: success, not found, a conflict (an open merge request from the branch), a 5xx retried, a
  // rotation, a revoked token, webhooks with the right, a redelivered and a wrong token, queue and task.
  const { gitlab } = suite;
  await http('gitlab', '/gitlab/create-issue', { project: 'ops/platform', title: 'Leak check' });
  await http('gitlab', '/gitlab/get-issue', { project: 'ops/platform', key: '999' });
  await http('gitlab', '/gitlab/create-merge-request', {
    project: 'ops/platform',
    sourceBranch: 'feature/alerts',
    targetBranch: 'main',
    title: 'Leak check',
  });
  gitlab.inject({ kind: 'server-error', status: 503 });
  await http('gitlab', '/gitlab/search-issues', { project: 'ops/platform' });
  secrets.set(SECRET_NAMES.gitlabToken, ROTATED.gitlabToken);
  gitlab.state.tokens.add(ROTATED.gitlabToken);
  gitlab.state.tokens.delete(values.gitlabToken);
  await http('gitlab', '/gitlab/get-file', { project: 'ops/platform', path: 'README.md', ref: 'main' });
  gitlab.state.tokens.delete(ROTATED.gitlabToken);
  await http('gitlab', '/gitlab/get-pipeline', { project: 'ops/platform', pipelineId: 100 });
  gitlab.state.tokens.add(ROTATED.gitlabToken);
  const gitlabBody = JSON.stringify({
    object_kind: 'issue',
    project: { path_with_namespace: 'ops/platform' },
    object_attributes: { iid: 2, action: 'update' },
  });
  const gitlabHeaders = suite.webhookHeaders('gitlab', gitlabBody);
  await webhook('gitlab', '/gitlab/webhook', gitlabBody, gitlabHeaders);
  await webhook('gitlab', '/gitlab/webhook', gitlabBody, gitlabHeaders);
  await webhook('gitlab', '/gitlab/webhook', gitlabBody, {
    ...gitlabHeaders,
    'x-gitlab-token': 'wrong-token',
  });
  await queue('gitlab', [{ operation: 'comment-on-issue', input: { project: 'ops/platform' } }, 'not json']);
  await task('gitlab', 'get-merge-request', { project: 'ops/platform', iid: 99 });

  // OIDC: the token inputs are the secrets here. A valid token, each refused check (expired, forged kid,
  // tampered payload, wrong audience), malformed and oversized input, introspection live and inactive, a
  // 5xx retried, a client-secret rotation and a revoked client, userinfo refused, queue and task.
  const { oidc, oidcToken } = suite;
  const now = Math.floor(Date.now() / 1000);
  const claims = { iss: oidc.url, sub: 'user-jenny', aud: 'circle-core-api', iat: now, exp: now + 600 };
  const expired = oidc.state.sign({ ...claims, exp: now - 3600 });
  const forged = oidc.state.sign(claims, { kid: 'forged-leak-check' });
  const [header, , signature] = oidcToken.split('.');
  const tampered = `${header}.${Buffer.from(JSON.stringify({ ...claims, sub: 'admin' })).toString('base64url')}.${signature}`;
  const foreign = oidc.state.sign({ ...claims, aud: 'someone-else' });
  oidcTokens.push(expired, forged, tampered, foreign);
  await http('oidc', '/oidc/verify-token', { token: oidcToken, requiredScopes: ['issues:read'] });
  await http('oidc', '/oidc/verify-token', { token: oidcToken, requiredScopes: ['issues:admin'] });
  for (const token of [expired, forged, tampered, foreign, 'leak.check.malformed'])
    await http('oidc', '/oidc/verify-token', { token });
  await http('oidc', '/oidc/verify-token', { token: oidcToken, audience: 'x' });
  await http('oidc', '/oidc/introspect-token', { token: oidcToken });
  await http('oidc', '/oidc/introspect-token', { token: foreign, tokenTypeHint: 'access_token' });
  oidc.inject({ kind: 'server-error', status: 503 }, { route: 'introspect' });
  await http('oidc', '/oidc/introspect-token', { token: oidcToken });
  const oidcClient = 'circle-core-hardening';
  secrets.set(
    SECRET_NAMES.oidcClient,
    JSON.stringify({ clientId: oidcClient, clientSecret: ROTATED.oidcClientSecret }),
  );
  oidc.state.clients.set(oidcClient, ROTATED.oidcClientSecret);
  await http('oidc', '/oidc/introspect-token', { token: oidcToken });
  oidc.state.clients.set(oidcClient, 'revoked-leak-check');
  await http('oidc', '/oidc/introspect-token', { token: oidcToken });
  oidc.state.clients.set(oidcClient, ROTATED.oidcClientSecret);
  await http('oidc', '/oidc/get-userinfo', { accessToken: oidcToken });
  await http('oidc', '/oidc/get-userinfo', { accessToken: expired });
  await http('oidc', '/oidc/describe-issuer', {});
  await queue('oidc', [{ operation: 'verify-token', input: { token: forged } }, 'not json']);
  await task('oidc', 'introspect-token', { token: tampered, tokenTypeHint: 'refresh_token' });
  await task('oidc', 'get-userinfo', { accessToken: foreign });

  // Anthropic: success on chat and structured output, embed-texts (501: no embeddings API), an unknown
  // model, a 5xx retried, a rotation, a revoked key, queue and task.
  const { anthropic } = suite;
  await http('anthropic', '/anthropic/complete-chat', chat);
  await http('anthropic', '/anthropic/generate-object', suite.samples.anthropic['generate-object']);
  await http('anthropic', '/anthropic/embed-texts', { inputs: ['leak check'] });
  await http('anthropic', '/anthropic/complete-chat', { ...chat, model: 'claude-9' });
  anthropic.inject({ kind: 'server-error', status: 529 });
  await http('anthropic', '/anthropic/complete-chat', chat);
  secrets.set(SECRET_NAMES.anthropic, ROTATED.anthropicApiKey);
  anthropic.state.tokens.add(ROTATED.anthropicApiKey);
  anthropic.state.tokens.delete(values.anthropicApiKey);
  await http('anthropic', '/anthropic/complete-chat', chat);
  anthropic.state.tokens.delete(ROTATED.anthropicApiKey);
  await http('anthropic', '/anthropic/complete-chat', chat);
  anthropic.state.tokens.add(ROTATED.anthropicApiKey);
  await queue('anthropic', [{ operation: 'complete-chat', input: { messages: [] } }, 'not json']);
  await task('anthropic', 'complete-chat', { ...chat, model: 'no-such-model' });

  // Bedrock (SigV4 with the suite's distinctive secret access key): chat, structured output, embeddings,
  // an invalid model id, a model whose access is not granted, a throttle and a 503 retried, an unknown
  // access key, queue and task.
  const { bedrock } = suite;
  const haiku = 'anthropic.claude-3-haiku-20240307-v1:0';
  await http('bedrock', '/bedrock/complete-chat', chat);
  await http('bedrock', '/bedrock/generate-object', suite.samples.bedrock['generate-object']);
  await http('bedrock', '/bedrock/embed-texts', { inputs: ['leak check'], dimensions: 256 });
  await http('bedrock', '/bedrock/complete-chat', { ...chat, model: 'anthropic.claude-9' });
  bedrock.state.deniedModels.add(haiku);
  await http('bedrock', '/bedrock/complete-chat', chat);
  bedrock.state.deniedModels.delete(haiku);
  bedrock.inject({ kind: 'throttled', retryAfterSeconds: 0 }, { route: 'converse' });
  bedrock.inject({ kind: 'server-error', status: 503 }, { route: 'converse' });
  await http('bedrock', '/bedrock/complete-chat', chat);
  bedrock.state.accessKeys.delete('test');
  await http('bedrock', '/bedrock/embed-texts', { inputs: ['leak check'] });
  bedrock.state.accessKeys.add('test');
  await queue('bedrock', [{ operation: 'embed-texts', input: { inputs: [] } }, 'not json']);
  await task('bedrock', 'complete-chat', { ...chat, model: 'no-such-model' });

  // GCS (a service account key file; OAuth JWT bearer grant): put, read, missing, a bucket outside the
  // allowed one, a 503 retried, an expired access token, a key rotation, a revoked key, queue and task.
  const { gcs, gcsAccount } = suite;
  await http('gcs', '/gcs/put-object', { key: 'leak/a.txt', body: 'x' });
  await http('gcs', '/gcs/get-object', { key: 'leak/a.txt' });
  await http('gcs', '/gcs/get-object', { key: 'leak/missing.txt' });
  await http('gcs', '/gcs/list-objects', { bucket: 'not-allowed-bucket' });
  gcs.inject({ kind: 'server-error', status: 503 });
  await http('gcs', '/gcs/head-object', { key: 'leak/a.txt' });
  gcs.state.tokens.clear();
  await http('gcs', '/gcs/head-object', { key: 'leak/a.txt' });
  const rotatedAccount = newServiceAccount(gcsAccount.email, `${gcs.url}/token`);
  madeSecrets.push(
    (JSON.parse(rotatedAccount.keyFile) as { private_key: string }).private_key.split('\n')[5] ?? '',
  );
  secrets.set(SECRET_NAMES.gcs, rotatedAccount.keyFile);
  gcs.state.accounts.set(gcsAccount.email, rotatedAccount.publicKey);
  gcs.state.tokens.clear();
  await http('gcs', '/gcs/copy-object', { sourceKey: 'leak/a.txt', key: 'leak/b.txt' });
  gcs.state.accounts.delete(gcsAccount.email);
  gcs.state.tokens.clear();
  await http('gcs', '/gcs/delete-object', { key: 'leak/b.txt' });
  gcs.state.accounts.set(gcsAccount.email, rotatedAccount.publicKey);
  await queue('gcs', [{ operation: 'head-object', input: { key: 'leak/missing.txt' } }, 'not json']);
  await task('gcs', 'get-object', { key: 'leak/missing.txt' });

  // Azure Blob (azurite; SharedKey with the run's random account key): put, read, missing, a container
  // outside the allowed one, a presigned URL, a stale key put in the store (azurite cannot rotate its key, so
  // the cached one keeps working), restored, queue and task.
  azureStatuses.push(
    (await http('azure-blob', '/azure-blob/put-object', { key: 'leak/a.txt', body: 'x' })).statusCode,
  );
  azureStatuses.push((await http('azure-blob', '/azure-blob/get-object', { key: 'leak/a.txt' })).statusCode);
  azureStatuses.push(
    (await http('azure-blob', '/azure-blob/get-object', { key: 'leak/missing.txt' })).statusCode,
  );
  azureStatuses.push(
    (await http('azure-blob', '/azure-blob/list-objects', { bucket: 'not-allowed-container' })).statusCode,
  );
  azureStatuses.push((await http('azure-blob', '/azure-blob/presign-url', { key: 'leak/a.txt' })).statusCode);
  const staleKey = Buffer.alloc(64, 7).toString('base64');
  madeSecrets.push(staleKey);
  secrets.set(
    SECRET_NAMES.azureBlob,
    suite.azurite.connectionString.replace(values.azureAccountKey, staleKey),
  );
  azureStatuses.push((await http('azure-blob', '/azure-blob/head-object', { key: 'leak/a.txt' })).statusCode);
  secrets.set(SECRET_NAMES.azureBlob, suite.azurite.connectionString);
  azureStatuses.push(
    (await http('azure-blob', '/azure-blob/copy-object', { sourceKey: 'leak/a.txt', key: 'leak/b.txt' }))
      .statusCode,
  );
  await queue('azure-blob', [{ operation: 'head-object', input: { key: 'leak/missing.txt' } }, 'not json']);
  await task('azure-blob', 'get-object', { key: 'leak/missing.txt' });

  // Pinecone: every operation, a missing collection, a wrong dimension, a conflicting create, a 5xx retried,
  // a rotation, a revoked key, queue and task.
  await vectorStore(
    'pinecone',
    suite.pinecone,
    SECRET_NAMES.pinecone,
    values.pineconeApiKey,
    ROTATED.pineconeApiKey,
  );

  // Qdrant: every operation, a missing collection, a wrong dimension, a conflicting create, a 5xx retried,
  // a rotation, a revoked key, queue and task.
  await vectorStore('qdrant', suite.qdrant, SECRET_NAMES.qdrant, values.qdrantApiKey, ROTATED.qdrantApiKey);
  logs.restore();
}, 120_000);

afterAll(async () => {
  logs.restore();
  await suite?.close();
});

describe('Secrets in output: every connector, every path', () => {
  it('exercised the paths it claims (successes, provider failures, retries, refusals)', () => {
    // Assess
    const statuses = outputs.map((output) => /"statusCode":(\d{3})/.exec(output)?.[1]).filter(Boolean);
    expect(statuses).toEqual(expect.arrayContaining(['200', '202', '400', '401', '404', '409']));
    expect(suite.slack.requestsFor('conversations.list').length).toBeGreaterThan(4);
    // Jira and PagerDuty were reached with the suite's secrets, the Events API with its routing key.
    expect(suite.jira.logFor('search-issues').filter((entry) => entry.status === 200).length).toBeGreaterThan(
      0,
    );
    expect(suite.pagerduty.state.events.map((event) => event.dedupKey)).toContain('leak-check');
    expect(suite.openai.state.chats.length).toBeGreaterThan(2);
    expect(suite.stripe.logFor('list-customers').map((entry) => entry.status)).toEqual([503, 200, 401, 200]);
    expect(suite.gitlab.logFor('list-issues').map((entry) => entry.status)).toEqual([503, 200]);
    expect(suite.gitlab.logFor('get-file').map((entry) => entry.status)).toEqual([401, 200]);
    expect(suite.gitlab.logFor('get-pipeline').map((entry) => entry.status)).toEqual([401, 401]);
    // The issuer was reached: introspection 200s, the 503 retried, the rotation re-read, the revoked client.
    expect(suite.oidc.logFor('introspect').map((entry) => entry.status)).toEqual([
      200, 200, 503, 200, 401, 200, 401, 401, 200,
    ]);
    // Anthropic: chat, structured, unknown model, 529 then retried, rotation re-read, revoked twice, task.
    expect(suite.anthropic.logFor('create-message').map((entry) => entry.status)).toEqual([
      200, 200, 404, 529, 200, 401, 200, 401, 401, 404,
    ]);
    // Bedrock: chat, structured, invalid model (400), not granted (403), 429 and 503 retried, task (400);
    // embeddings, then the unknown access key (403 UnrecognizedClientException).
    expect(suite.bedrock.logFor('converse').map((entry) => entry.status)).toEqual([
      200, 200, 400, 403, 429, 503, 200, 400,
    ]);
    expect(suite.bedrock.logFor('invoke').map((entry) => entry.status)).toEqual([200, 403]);
    // Qdrant after its seed: the run's successes, 404, 409, 503 retried, 401 then the re-read key, revoked.
    expect(suite.qdrant.log.slice(3).map((entry) => `${entry.route} ${entry.status}`)).toEqual([
      'create-collection 200',
      'get-collection 200',
      'upsert-points 200',
      'get-collection 200',
      'query-points 200',
      'retrieve-points 200',
      'get-collection 404',
      'get-collection 200',
      'create-collection 409',
      'get-collection 200',
      'get-collection 503',
      'get-collection 200',
      'delete-points 401',
      'delete-points 200',
      'get-collection 401',
      'get-collection 401',
      'delete-collection 200',
    ]);
    // Pinecone after its seed: the same run on the control and data planes.
    expect(suite.pinecone.log.slice(3).map((entry) => `${entry.route} ${entry.status}`)).toEqual([
      'create-index 201',
      'describe-index 200',
      'upsert 200',
      'query 200',
      'fetch 200',
      'describe-index 404',
      'create-index 409',
      'describe-index 200',
      'describe-index-stats 200',
      'describe-index 503',
      'describe-index 200',
      'describe-index-stats 200',
      'delete 401',
      'delete 200',
      'describe-index 401',
      'describe-index 401',
      'delete-index 202',
    ]);
    // GCS: seed, the run's reads, 404, 503 retried, the expired token renewed, the rotated key re-read,
    // the revoked key refused at the token endpoint (400 invalid_grant), queue and task.
    expect(suite.gcs.log.map((entry) => `${entry.route} ${entry.status}`)).toEqual([
      'token 200',
      'insert-object 200',
      'insert-object 200',
      'get-object 200',
      'get-object 200',
      'get-object 404',
      'get-object 503',
      'get-object 200',
      'get-object 401',
      'token 200',
      'get-object 200',
      'rewrite-object 401',
      'token 200',
      'rewrite-object 200',
      'delete-object 401',
      'token 400',
      'token 200',
      'get-object 404',
      'get-object 404',
    ]);
    // Azure Blob: put, get, missing 404, container not allowed 403, presign, head with a stale key in the
    // store (the cached, working key still answers: the store is read again only after a refusal), copy.
    expect(azureStatuses).toEqual([200, 200, 404, 403, 200, 200, 200]);
    expect(suite.oidc.logFor('userinfo').map((entry) => entry.status)).toEqual([200, 401, 200]);
    expect(logs.records().some((line) => line['level'] === 'DEBUG' || line['level'] === 'WARN')).toBe(true);
    expect(signatures.length).toBeGreaterThanOrEqual(12);
    // MySQL fetched its secret again after the refusal and was refused again: the wrong password was sent.
    expect(outputs.some((output) => output.includes('MySQL refused the credentials even after'))).toBe(true);
  });

  it('never writes a secret value, in logs, responses or errors', () => {
    // Prepare
    const text = `${logs.text()}\n${outputs.join('\n')}`;
    const values = [...Object.values(suite.values), ...Object.values(ROTATED), ...madeSecrets];
    expect(values).not.toContain('');
    // Assess
    for (const value of values) expect(text, 'a secret value').not.toContain(value);
  });

  it('never writes a token given to the OIDC connector (whole, or its signature)', () => {
    // Prepare
    const text = `${logs.text()}\n${outputs.join('\n')}`;
    const tokens = [suite.oidcToken, ...oidcTokens];
    // Assess
    expect(oidcTokens.length).toBe(4);
    for (const token of tokens) {
      expect(text, 'an OIDC token').not.toContain(token);
      expect(text, "an OIDC token's signature").not.toContain(token.split('.')[2]);
    }
  });

  it('never writes an Authorization header value (bearer tokens, SigV4 signatures)', () => {
    // Prepare
    const text = `${logs.text()}\n${outputs.join('\n')}`;
    // Assess
    expect(text).not.toMatch(/Bearer\s+[\w-]{8,}/i);
    expect(text).not.toMatch(/AWS4-HMAC-SHA256\s+Credential=/);
    expect(text).not.toMatch(/Signature=[0-9a-f]{64}/);
    expect(text).not.toMatch(/"authorization"\s*:/i);
  });

  it('never writes a webhook signature that was sent', () => {
    // Prepare
    const text = `${logs.text()}\n${outputs.join('\n')}`;
    // Assess
    for (const signature of signatures) expect(text, 'a webhook signature').not.toContain(signature);
  });
});
