/**
 * The reference connectors (S3, PostgreSQL, MySQL, Slack, GitHub) and the newer ones added since (Jira,
 * PagerDuty, Redis, DynamoDB, OpenAI, Stripe, GitLab, OIDC, Anthropic, Bedrock) loaded together in one test process, each against a real peer: s3rver, the machine's
 * PostgreSQL behind a password gate, the machine's MariaDB as a user of its own with a distinctive
 * password, the machine's Redis as an ACL user of its own under a prefix of the run, the Slack, GitHub,
 * Jira, PagerDuty, OpenAI, Stripe, GitLab, Anthropic and Bedrock contract fakes, the local OpenID Connect issuer, one Secrets Manager fake holding every secret, dynalite for DynamoDB's
 * table and the webhook delivery ledgers and the SQS/Step Functions JSON fake for their event sinks. Every peer is
 * reachable, so a 5xx from a connector is a bug, not an outage. The secret values are distinctive, so a
 * leak test can look for them.
 */
import { randomBytes } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { httpEvent, lambdaContext } from '@circle-core/core/testing';
import { AckPolicy, connect as connectNats } from 'nats';
import pg from 'pg';
import { vi } from 'vitest';
import { AthenaEngine, athenaService } from '../../../scripts/local/aws/athena.ts';
import { IotDataPlane, iotDataService, mqttBroker } from '../../../scripts/local/aws/iot-data.ts';
import { type AnthropicFakeState, startAnthropicFake } from '../../../scripts/local/sandboxes/anthropic.ts';
import { type BedrockFakeState, startBedrockFake } from '../../../scripts/local/sandboxes/bedrock.ts';
import {
  type FakeServiceAccount,
  type GcsFakeState,
  newServiceAccount,
  startGcsFake,
} from '../../../scripts/local/sandboxes/gcs.ts';
import { type GitHubFake, startGitHubFake } from '../../../scripts/local/sandboxes/github.ts';
import { type GitlabFakeState, startGitlabFake } from '../../../scripts/local/sandboxes/gitlab.ts';
import {
  JIRA_SANDBOX_EMAIL,
  type JiraFakeState,
  signJiraWebhook,
  startJiraFake,
} from '../../../scripts/local/sandboxes/jira.ts';
import type { FakeServer } from '../../../scripts/local/sandboxes/kit/index.ts';
import { type OidcFake, startOidcFake } from '../../../scripts/local/sandboxes/oidc.ts';
import { type OpenaiFakeState, startOpenaiFake } from '../../../scripts/local/sandboxes/openai.ts';
import {
  PAGERDUTY_SANDBOX_FROM,
  type PagerDutyFakeState,
  signPagerDutyWebhook,
  startPagerDutyFake,
} from '../../../scripts/local/sandboxes/pagerduty.ts';
import { type PineconeFakeState, startPineconeFake } from '../../../scripts/local/sandboxes/pinecone.ts';
import { type QdrantFakeState, startQdrantFake } from '../../../scripts/local/sandboxes/qdrant.ts';
import { type SlackFake, startSlackFake } from '../../../scripts/local/sandboxes/slack.ts';
import {
  type StripeFakeState,
  signStripeWebhook,
  startStripeFake,
} from '../../../scripts/local/sandboxes/stripe.ts';
import { type AwsJsonFake, startAwsJsonFake } from '../../fakes/aws-json.ts';
import { type SecretsManagerFake, startSecretsManagerFake } from '../../fakes/secrets-manager.ts';
import { type AwsEndpointPeer, startAwsEndpointPeer } from '../../peers/aws-endpoint.ts';
import { type AzuritePeer, startAzurite } from '../../peers/azurite.ts';
import { MOSQUITTO, NATS, uniqueName as uniqueBrokerName } from '../../peers/brokers.ts';
import { createTable, type DynalitePeer, startDynalite } from '../../peers/dynalite.ts';
import { scratchDatabase, tick, uniqueMysqlName, withMysql } from '../../peers/mariadb.ts';
import {
  type PasswordGate,
  realPostgresUrl,
  startPasswordGate,
  uniqueName,
  withPostgres,
} from '../../peers/postgres.ts';
import { type RedisPeer, startRedisPeer } from '../../peers/redis.ts';
import { type S3rverPeer, startS3rver } from '../../peers/s3rver.ts';
import { githubHeaders, slackHeaders } from './hostile.ts';

export type ConnectorName =
  | 's3'
  | 'postgres'
  | 'mysql'
  | 'slack'
  | 'github'
  | 'jira'
  | 'pagerduty'
  | 'redis'
  | 'dynamodb'
  | 'openai'
  | 'stripe'
  | 'gitlab'
  | 'oidc'
  | 'anthropic'
  | 'bedrock'
  | 'pinecone'
  | 'gcs'
  | 'azure-blob'
  | 'qdrant'
  | 'nats'
  | 'mqtt'
  | 'sqs'
  | 'sns'
  | 'eventbridge'
  | 'athena'
  | 'iot-core'
  | 'transform';
export const CONNECTOR_NAMES: readonly ConnectorName[] = [
  's3',
  'postgres',
  'mysql',
  'slack',
  'github',
  'jira',
  'pagerduty',
  'redis',
  'dynamodb',
  'openai',
  'stripe',
  'gitlab',
  'oidc',
  'anthropic',
  'bedrock',
  'pinecone',
  'gcs',
  'azure-blob',
  'qdrant',
  'nats',
  'mqtt',
  'sqs',
  'sns',
  'eventbridge',
  'athena',
  'iot-core',
  'transform',
];

/**
 * Operations a provider does not have (Anthropic has no embeddings API): their documented answer to a valid
 * input is 501 `not_supported`, the one 5xx that is not a bug.
 */
export const NOT_SUPPORTED: readonly string[] = [
  'anthropic embed-texts',
  // Push-only publishers: SNS, EventBridge and MQTT keep nothing for a reader (refuseCapability).
  ...['sns', 'eventbridge', 'mqtt'].flatMap((name) =>
    ['receive-messages', 'acknowledge-messages', 'release-messages'].map(
      (operation) => `${name} ${operation}`,
    ),
  ),
];

/** Whether `status` is the documented 501 of an operation {@link NOT_SUPPORTED} lists. */
export function isNotSupportedAnswer(
  connector: ConnectorName,
  operation: string | undefined,
  status: number,
): boolean {
  return status === 501 && NOT_SUPPORTED.includes(`${connector} ${operation}`);
}

/** What every connector module exports. */
export interface LoadedConnector {
  name: string;
  handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
  runtime: {
    operations: Record<string, unknown>;
    routes: { method: string; path: string; auth: 'signature' | 'authorizer' }[];
    client(): Promise<unknown>;
  };
}

export interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** One HTTP route of a connector. */
export interface RouteEntry {
  connector: ConnectorName;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /** `operation`: `POST /<name>/<op>`; `health`; `signature`: a webhook; `authorizer`: an extra guarded route. */
  kind: 'operation' | 'health' | 'signature' | 'authorizer';
  operation?: string;
}

/** Distinctive secret values: none of them may ever appear in a log line, an error or a response. */
export interface SecretValues {
  slackToken: string;
  slackSigningSecret: string;
  githubToken: string;
  githubWebhookSecret: string;
  postgresPassword: string;
  mysqlPassword: string;
  awsSecretAccessKey: string;
  jiraToken: string;
  jiraWebhookSecret: string;
  pagerdutyToken: string;
  pagerdutyRoutingKey: string;
  pagerdutyWebhookSecret: string;
  redisPassword: string;
  openaiApiKey: string;
  stripeApiKey: string;
  stripeWebhookSecret: string;
  gitlabToken: string;
  gitlabWebhookSecret: string;
  /** The OIDC connector's introspection client secret. */
  oidcClientSecret: string;
  /** The signature part of the access token in the OIDC samples: a token input must never be echoed. */
  oidcTokenSignature: string;
  anthropicApiKey: string;
  pineconeApiKey: string;
  /** A line of the GCS service account's private key (PEM body): the key file must never be echoed. */
  gcsPrivateKeyLine: string;
  /** The azurite account's key (random per run), in the Azure Blob connector's connection string. */
  azureAccountKey: string;
  qdrantApiKey: string;
}

export interface Suite {
  s3rver: S3rverPeer;
  gate: PasswordGate;
  slack: SlackFake;
  github: GitHubFake;
  /** The Jira contract fake; it accepts `<email>:<values.jiraToken>` (basic auth). */
  jira: FakeServer<JiraFakeState>;
  /** The PagerDuty contract fake (REST and Events APIs); it accepts `values.pagerdutyToken` and routing key. */
  pagerduty: FakeServer<PagerDutyFakeState>;
  /** The machine's Redis under a prefix of this run; the connector logs in as `redisUser`. */
  redis: RedisPeer;
  redisUser: string;
  /** The OpenAI contract fake; it accepts `values.openaiApiKey`. */
  openai: FakeServer<OpenaiFakeState>;
  /** The Stripe contract fake; it accepts `values.stripeApiKey`. */
  stripe: FakeServer<StripeFakeState>;
  /** The GitLab contract fake; it accepts `values.gitlabToken` (PRIVATE-TOKEN). */
  gitlab: FakeServer<GitlabFakeState>;
  /** The local OpenID Connect issuer; its client `values.oidcClientSecret` introspects. */
  oidc: OidcFake;
  /** The Anthropic contract fake; it accepts `values.anthropicApiKey` (x-api-key). */
  anthropic: FakeServer<AnthropicFakeState>;
  /** The Bedrock Runtime contract fake; requests are SigV4-signed with `values.awsSecretAccessKey`. */
  bedrock: FakeServer<BedrockFakeState>;
  /** The Pinecone contract fake; it accepts `values.pineconeApiKey` (Api-Key). A collection `docs` is seeded. */
  pinecone: FakeServer<PineconeFakeState>;
  /** The Cloud Storage contract fake (bucket `data`); the connector signs in as `gcsAccount`. */
  gcs: FakeServer<GcsFakeState>;
  gcsAccount: FakeServiceAccount;
  /** azurite (the Azure Storage emulator) with container `data`. */
  azurite: AzuritePeer;
  /** The Qdrant contract fake; it accepts `values.qdrantApiKey` (Api-Key). A collection `docs` is seeded. */
  qdrant: FakeServer<QdrantFakeState>;
  /**
   * The local AWS endpoint behind the SNS and EventBridge connectors (topic `hardening-sns`, bus `default`);
   * the SQS connector's queue `hardening-sqs` is on `aws`, with the event sinks.
   */
  messagingAws: AwsEndpointPeer;
  /** The JetStream stream (subjects `<stream>.>`, consumer `workers`) and MQTT topic root of this run. */
  messaging: MessagingNames;
  /**
   * Athena's JSON API fake on `messagingAws` (DuckDB over s3rver): database `hardening`, table `orders`
   * (s3://data/athena/orders/), workgroup `primary` writing results to s3://data/athena-results/.
   */
  athenaEngine: AthenaEngine;
  /** A token the issuer signed for the OIDC samples (its signature is `values.oidcTokenSignature`). */
  oidcToken: string;
  secrets: SecretsManagerFake;
  dynamo: DynalitePeer;
  aws: AwsJsonFake;
  /** The PostgreSQL schema this suite owns (dropped by close). */
  schema: string;
  /** The MySQL database this suite owns (dropped by close), and the secret JSON that reaches it. */
  mysqlDatabase: string;
  mysqlSecret: string;
  /** The MySQL user the connector logs in as (its password is `values.mysqlPassword` at the start). */
  mysqlUser: string;
  values: SecretValues;
  connectors: Record<ConnectorName, LoadedConnector>;
  /** Every HTTP route of every connector. */
  routes: RouteEntry[];
  /** A valid input per operation, for tests that need the operation to be able to run. */
  samples: Record<ConnectorName, Record<string, unknown>>;
  http(connector: ConnectorName, options: Parameters<typeof httpEvent>[0]): Promise<HttpResult>;
  /** Headers that make `body` a correctly signed delivery to `connector`'s webhook route. */
  webhookHeaders(connector: ConnectorName, body: string, event?: string): Record<string, string>;
  /** Rows of a table in the suite's schema. */
  rows(table: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export const SECRET_NAMES = {
  slackToken: 'circle-core/slack/bot-token',
  slackSigning: 'circle-core/slack/signing-secret',
  githubToken: 'circle-core/github/token',
  githubWebhook: 'circle-core/github/webhook-secret',
  postgres: 'circle-core/postgres/credentials',
  mysql: 'circle-core/mysql/credentials',
  jiraCredentials: 'circle-core/jira/credentials',
  jiraWebhook: 'circle-core/jira/webhook-secret',
  pagerdutyToken: 'circle-core/pagerduty/api-key',
  pagerdutyRoutingKey: 'circle-core/pagerduty/routing-key',
  pagerdutyWebhook: 'circle-core/pagerduty/webhook-secret',
  redis: 'circle-core/redis/credentials',
  openai: 'circle-core/openai/api-key',
  stripeToken: 'circle-core/stripe/api-key',
  stripeWebhook: 'circle-core/stripe/webhook-secret',
  gitlabToken: 'circle-core/gitlab/token',
  gitlabWebhook: 'circle-core/gitlab/webhook-secret',
  oidcClient: 'circle-core/oidc/client',
  anthropic: 'circle-core/anthropic/api-key',
  pinecone: 'circle-core/pinecone/api-key',
  gcs: 'circle-core/gcs/service-account',
  azureBlob: 'circle-core/azure-blob/credentials',
  qdrant: 'circle-core/qdrant/api-key',
  nats: 'circle-core/nats/credentials',
  mqtt: 'circle-core/mqtt/credentials',
} as const;

export const REPO = { owner: 'octo', repo: 'hello' } as const;

function distinct(prefix: string): string {
  return `${prefix}${randomBytes(12).toString('hex')}`;
}

function samplesFor(
  schema: string,
  database: string,
  oidcToken: string,
  messaging: MessagingNames,
  athenaQueryId: string,
): Record<ConnectorName, Record<string, unknown>> {
  // Each publishes to its configured queue, subject, topic or bus (NATS_SUBJECT, MQTT_TOPIC, ...).
  const publisher = {
    'publish-message': { body: 'probe' },
    'publish-batch': { entries: [{ body: 'one' }, { body: 'two' }] },
    'receive-messages': { maxMessages: 1, waitTimeMs: 0 },
    'acknowledge-messages': { receipts: ['not-a-receipt'] },
    'release-messages': { receipts: ['not-a-receipt'] },
  };
  return {
    nats: {
      ...publisher,
      'declare-consumer': { consumer: 'probe', filterSubject: `${messaging.natsStream}.probe` },
      'inspect-stream': {},
      'forward-messages': { maxMessages: 1, waitTimeMs: 0 },
    },
    mqtt: {
      ...publisher,
      'collect-messages': { topicFilter: `${messaging.mqttRoot}/#`, maxMessages: 1, waitTimeMs: 50 },
      'clear-retained': { topic: `${messaging.mqttRoot}/probe` },
    },
    sqs: {
      ...publisher,
      'change-visibility': { receipts: ['not-a-receipt'], visibilityTimeoutSeconds: 0 },
      'get-queue-attributes': {},
    },
    sns: {
      ...publisher,
      'list-subscriptions': {},
      'get-topic-attributes': {},
    },
    eventbridge: {
      ...publisher,
      'describe-event-bus': {},
      'describe-rule': { name: 'probe' },
    },
    athena: {
      'start-query': {
        sql: 'select id, customer from orders where customer = ? order by id',
        params: ['acme'],
      },
      'get-query': { queryId: athenaQueryId },
      'get-query-results': { queryId: athenaQueryId, pageSize: 10 },
      'cancel-query': { queryId: athenaQueryId },
      'run-query': { sql: 'select count(*) as n from orders', waitSeconds: 20 },
    },
    'iot-core': {
      'publish-message': { topic: `devices/${messaging.mqttRoot}/probe`, payload: { on: true }, qos: 1 },
      'get-thing-shadow': { thingName: 'sensor-42' },
      'update-thing-shadow': { thingName: 'probe-thing', state: { desired: { target: 20 } } },
      'delete-thing-shadow': { thingName: 'probe-gone' },
      'list-named-shadows': { thingName: 'sensor-42' },
    },
    transform: {
      'transform-records': {
        expression: '{ "id": $string(id), "note": note }',
        // A claim check: the path checks set `records.key`, which only this form of the union has.
        records: { key: 'seed/loads.ndjson' },
      },
      'test-expression': { expression: '$uppercase(name)', sample: { name: 'ada' } },
      'load-postgres': {
        source: { key: 'seed/loads.ndjson' },
        table: `${schema}.loaded`,
        expression: '{ "id": $string(id), "note": note }',
        loadId: 'probe-load-pg',
      },
      'load-mysql': {
        source: { key: 'seed/loads.ndjson' },
        table: `${database}.loaded`,
        expression: '{ "id": $string(id), "note": note }',
        loadId: 'probe-load-my',
      },
      'export-postgres': { table: `${schema}.items`, keyColumn: 'id', exportId: 'probe-pg' },
      'export-mysql': { table: `${database}.items`, keyColumn: 'id', exportId: 'probe-my' },
    },
    oidc: {
      'verify-token': { token: oidcToken, requiredScopes: ['issues:read'] },
      'introspect-token': { token: oidcToken, tokenTypeHint: 'access_token' },
      'get-userinfo': { accessToken: oidcToken },
      'describe-issuer': {},
    },
    anthropic: {
      'complete-chat': { messages: [{ role: 'user', content: 'Reply with the single word: pong' }] },
      'generate-object': {
        messages: [{ role: 'user', content: 'Label: crash on start' }],
        schemaName: 'issue_label',
        schema: { type: 'object', properties: { label: { enum: ['bug', 'feature'] } }, required: ['label'] },
      },
      'embed-texts': { inputs: ['one two', 'three'] },
    },
    bedrock: {
      'complete-chat': { messages: [{ role: 'user', content: 'Reply with the single word: pong' }] },
      'generate-object': {
        messages: [{ role: 'user', content: 'Label: crash on start' }],
        schemaName: 'issue_label',
        schema: { type: 'object', properties: { label: { enum: ['bug', 'feature'] } }, required: ['label'] },
      },
      'embed-texts': { inputs: ['one two', 'three'], dimensions: 256 },
    },
    'azure-blob': {
      'put-object': { key: 'probe/a.txt', body: 'probe' },
      'get-object': { key: 'seed/readme.txt' },
      'head-object': { key: 'seed/readme.txt' },
      'list-objects': { prefix: 'seed/' },
      'delete-object': { key: 'probe/gone.txt' },
      'copy-object': { sourceKey: 'seed/readme.txt', key: 'probe/copy.txt' },
      'chunk-object': { key: 'seed/readme.txt', size: 200, overlap: 20 },
      'presign-url': { key: 'seed/readme.txt' },
    },
    gcs: {
      'put-object': { key: 'probe/a.txt', body: 'probe' },
      'get-object': { key: 'seed/readme.txt' },
      'head-object': { key: 'seed/readme.txt' },
      'list-objects': { prefix: 'seed/' },
      'delete-object': { key: 'probe/gone.txt' },
      'copy-object': { sourceKey: 'seed/readme.txt', key: 'probe/copy.txt' },
      'chunk-object': { key: 'seed/readme.txt', size: 200, overlap: 20 },
      'presign-url': { key: 'seed/readme.txt' },
    },
    pinecone: {
      'create-collection': { collection: 'probe', dimension: 3, metric: 'cosine' },
      'describe-collection': { collection: 'docs' },
      'delete-collection': { collection: 'probe-gone' },
      'upsert-vectors': {
        collection: 'docs',
        vectors: [{ id: 'probe#1', values: [0, 0, 1], metadata: { source: 'probe' } }],
      },
      'query-vectors': { collection: 'docs', vector: [1, 0, 0], topK: 2, filter: { source: 'handbook' } },
      'fetch-vectors': { collection: 'docs', ids: ['handbook#1', 'gone'] },
      'delete-vectors': { collection: 'docs', ids: ['probe#gone'] },
    },
    qdrant: {
      'create-collection': { collection: 'probe', dimension: 3, metric: 'cosine' },
      'describe-collection': { collection: 'docs' },
      'delete-collection': { collection: 'probe-gone' },
      'upsert-vectors': {
        collection: 'docs',
        vectors: [{ id: 'probe#1', values: [0, 0, 1], metadata: { source: 'probe' } }],
      },
      'query-vectors': { collection: 'docs', vector: [1, 0, 0], topK: 2, filter: { source: 'handbook' } },
      'fetch-vectors': { collection: 'docs', ids: ['handbook#1', 'gone'] },
      'delete-vectors': { collection: 'docs', ids: ['probe#gone'] },
    },
    s3: {
      'put-object': { key: 'probe/a.txt', body: 'probe' },
      'get-object': { key: 'seed/readme.txt' },
      'head-object': { key: 'seed/readme.txt' },
      'list-objects': { prefix: 'seed/' },
      'delete-object': { key: 'probe/gone.txt' },
      'copy-object': { sourceKey: 'seed/readme.txt', key: 'probe/copy.txt' },
      'chunk-object': { key: 'seed/readme.txt', size: 200, overlap: 20 },
      'presign-url': { key: 'seed/readme.txt' },
    },
    postgres: {
      query: { sql: `select count(*)::int as n from ${pg.escapeIdentifier(schema)}.items` },
      execute: {
        statements: [
          { sql: `insert into ${pg.escapeIdentifier(schema)}.items (id) values ($1)`, params: ['exec'] },
        ],
      },
      'insert-rows': { schema, table: 'items', rows: [{ id: 'sample' }] },
      'list-tables': { schema },
      'describe-table': { schema, table: 'items' },
    },
    mysql: {
      query: { sql: `select count(*) as n from ${tick(database)}.items` },
      execute: {
        statements: [{ sql: `insert into ${tick(database)}.items (id) values (?)`, params: ['exec'] }],
      },
      'insert-rows': { schema: database, table: 'items', rows: [{ id: 'sample' }] },
      'list-tables': { schema: database },
      'describe-table': { schema: database, table: 'items' },
    },
    slack: {
      'post-message': { channel: 'C0GENERAL', text: 'probe' },
      'update-message': { channel: 'C0GENERAL', ts: '1700000000.000100', text: 'probe' },
      'list-channels': {},
      'find-user-by-email': { email: 'alice@example.com' },
    },
    github: {
      'create-issue': { ...REPO, title: 'Probe' },
      'comment-on-issue': { ...REPO, issueNumber: 1, body: 'probe' },
      'list-issues': { ...REPO },
      'get-file': { ...REPO, path: 'README.md' },
      'sync-issues': { ...REPO },
      'add-labels': { ...REPO, issueNumber: 1, labels: ['probe'] },
    },
    jira: {
      'create-issue': { project: 'OPS', title: 'Probe' },
      'get-issue': { project: 'OPS', key: 'OPS-1' },
      'update-issue': { project: 'OPS', key: 'OPS-2', title: 'Probe' },
      'comment-on-issue': { project: 'OPS', key: 'OPS-2', body: 'probe' },
      'transition-issue': { project: 'OPS', key: 'OPS-3', state: 'closed' },
      'search-issues': { project: 'OPS' },
    },
    pagerduty: {
      'create-incident': { title: 'Probe', serviceId: 'PWIXJZS' },
      'get-incident': { incidentId: 'PT4KHLK' },
      'acknowledge-incident': { incidentId: 'PT4KHLK' },
      'resolve-incident': { incidentId: 'PT4KHLK' },
      'list-incidents': {},
      'list-oncalls': {},
      'list-contact-methods': { userId: 'PXPGF42' },
      'trigger-alert': { summary: 'Probe', source: 'probe-host', severity: 'info', dedupKey: 'probe' },
      'acknowledge-alert': { dedupKey: 'probe' },
      'resolve-alert': { dedupKey: 'probe' },
    },
    redis: {
      'get-value': { key: 'seed/greeting' },
      'put-value': { key: 'probe/a', value: { n: 1 } },
      'delete-value': { key: 'probe/gone' },
      'get-values': { keys: ['seed/greeting', 'probe/missing'] },
      'put-values': { items: [{ key: 'probe/b', value: 'x' }] },
      'list-keys': { prefix: 'seed/' },
      'increment-value': { key: 'probe/count', by: 2 },
    },
    dynamodb: {
      'get-value': { key: 'seed/greeting' },
      'put-value': { key: 'probe/a', value: { n: 1 } },
      'delete-value': { key: 'probe/gone' },
      'get-values': { keys: ['seed/greeting', 'probe/missing'] },
      'put-values': { items: [{ key: 'probe/b', value: 'x' }] },
      'list-keys': { prefix: 'seed/' },
      'increment-value': { key: 'probe/count', by: 2 },
    },
    openai: {
      'complete-chat': { messages: [{ role: 'user', content: 'Reply with the single word: pong' }] },
      'generate-object': {
        messages: [{ role: 'user', content: 'Label: crash on start' }],
        schemaName: 'issue_label',
        schema: { type: 'object', properties: { label: { enum: ['bug', 'feature'] } }, required: ['label'] },
      },
      'embed-texts': { inputs: ['one two', 'three'], dimensions: 8 },
    },
    stripe: {
      'create-customer': { email: 'probe@example.com', metadata: { probe: '1' } },
      'get-customer': { customerId: 'cus_SandboxJenny' },
      'list-customers': { limit: 2 },
      'search-customers': { query: "email:'jenny.rosen@example.com'" },
      'create-payment-intent': {
        amount: 1000,
        currency: 'usd',
        paymentMethod: 'pm_card_visa',
        confirm: true,
      },
      'get-payment-intent': { paymentIntentId: 'pi_SandboxSucceeded' },
      'confirm-payment-intent': { paymentIntentId: 'pi_SandboxOpen', paymentMethod: 'pm_card_visa' },
      'capture-payment-intent': { paymentIntentId: 'pi_SandboxCapture', amountToCapture: 1000 },
      'cancel-payment-intent': { paymentIntentId: 'pi_SandboxOpen' },
      'list-payment-intents': { customerId: 'cus_SandboxJenny' },
      'search-payment-intents': { query: "status:'succeeded'" },
      'create-refund': { paymentIntentId: 'pi_SandboxSucceeded', amount: 100 },
      'list-refunds': { paymentIntentId: 'pi_SandboxSucceeded' },
      'create-invoice': { customerId: 'cus_SandboxAda' },
      'get-invoice': { invoiceId: 'in_SandboxDraft' },
      'finalize-invoice': { invoiceId: 'in_SandboxDraft' },
      'list-invoices': { status: 'draft' },
      'search-invoices': { query: "customer:'cus_SandboxJenny'" },
    },
    gitlab: {
      'create-issue': { project: 'ops/platform', title: 'Probe', labels: ['probe'] },
      'get-issue': { project: 'ops/platform', key: '1' },
      'update-issue': { project: 'ops/platform', key: '2', title: 'Probe' },
      'comment-on-issue': { project: 'ops/platform', key: '2', body: 'probe' },
      'transition-issue': { project: 'ops/platform', key: '3', state: 'closed' },
      'search-issues': { project: 'ops/platform' },
      'list-merge-requests': { project: 'ops/platform' },
      'get-merge-request': { project: 'ops/platform', iid: 1 },
      'create-merge-request': {
        project: 'ops/platform',
        sourceBranch: 'feature/runbook',
        targetBranch: 'main',
        title: 'Probe',
      },
      'trigger-pipeline': { project: 'ops/platform', ref: 'main', variables: { PROBE: '1' } },
      'get-pipeline': { project: 'ops/platform', pipelineId: 100 },
      'get-file': { project: 'ops/platform', path: 'README.md', ref: 'main' },
      'put-file': {
        project: 'ops/platform',
        path: 'probe.md',
        branch: 'main',
        content: 'probe',
        commitMessage: 'Probe',
      },
      'list-files': { project: 'ops/platform', limit: 2 },
    },
  };
}

/** Where the messaging connectors publish: names of this run on the machine's brokers and the AWS peer. */
export interface MessagingNames {
  natsStream: string;
  mqttRoot: string;
}

/** The vector stores' seed: a collection `docs` (3 dimensions, cosine) with two handbook records. */
async function seedVectors(connector: LoadedConnector): Promise<void> {
  const context = lambdaContext();
  await connector.handler(
    {
      operation: 'create-collection',
      input: { collection: 'docs', dimension: 3, metric: 'cosine' },
      idempotencyKey: 'seed-docs',
    },
    context,
  );
  await connector.handler(
    {
      operation: 'upsert-vectors',
      input: {
        collection: 'docs',
        vectors: [
          { id: 'handbook#1', values: [1, 0, 0], metadata: { source: 'handbook', page: 1 } },
          { id: 'handbook#2', values: [0, 1, 0], metadata: { source: 'handbook', page: 2 } },
        ],
      },
      idempotencyKey: 'seed-docs-vectors',
    },
    context,
  );
}

/**
 * Starts every peer, points the environment at them, and imports the connectors (config is read at
 * import, as at a cold start). `env` adds or overrides settings. `close()` stops everything and restores
 * the environment.
 *
 * @example
 * ```ts
 * const suite = await startSuite({ env: { GITHUB_MAX_ATTEMPTS: '1' } });
 * const response = await suite.http('slack', { path: '/slack/list-channels', body: {} });
 * await suite.close();
 * ```
 */
export async function startSuite(options: { env?: Record<string, string> } = {}): Promise<Suite> {
  const values: SecretValues = {
    slackToken: distinct('xoxb-hardening-'),
    slackSigningSecret: distinct('slack-signing-'),
    githubToken: distinct('ghp_hardening'),
    githubWebhookSecret: distinct('gh-webhook-'),
    postgresPassword: distinct('Pg-Pass-'),
    mysqlPassword: distinct('My-Pass-'),
    awsSecretAccessKey: distinct('aws-secret-key-'),
    jiraToken: distinct('jira-api-token-'),
    jiraWebhookSecret: distinct('jira-webhook-'),
    pagerdutyToken: distinct('pd-api-key-'),
    // Events API integration keys are 32 characters.
    pagerdutyRoutingKey: `pdrk${randomBytes(14).toString('hex')}`,
    pagerdutyWebhookSecret: distinct('pd-webhook-'),
    redisPassword: distinct('Redis-Pass-'),
    openaiApiKey: distinct('sk-hardening-'),
    stripeApiKey: distinct('rk_test_hardening'),
    stripeWebhookSecret: distinct('whsec_hardening'),
    gitlabToken: distinct('glpat-hardening-'),
    gitlabWebhookSecret: distinct('gitlab-webhook-'),
    oidcClientSecret: distinct('oidc-client-secret-'),
    oidcTokenSignature: '',
    anthropicApiKey: distinct('sk-ant-hardening-'),
    pineconeApiKey: distinct('pcsk_hardening_'),
    gcsPrivateKeyLine: '',
    azureAccountKey: '',
    qdrantApiKey: distinct('qdrant-hardening-'),
  };
  const schema = uniqueName('hardening');
  const database = await scratchDatabase('hardening_my');
  const mysqlUser = uniqueMysqlName('hardening');
  const mysqlSecretValue = JSON.stringify({
    username: mysqlUser,
    password: values.mysqlPassword,
    host: '127.0.0.1',
    port: 3306,
    dbname: database.name,
    engine: 'mariadb',
  });
  await withMysql(async (admin) => {
    await admin.query(
      `create table ${tick(database.name)}.items (seq int auto_increment unique, id varchar(100) primary key, payload text, at datetime(6) default current_timestamp(6))`,
    );
    // Data Transform's load-mysql target.
    await admin.query(`create table ${tick(database.name)}.loaded (id varchar(100), note text)`);
    for (const host of ['127.0.0.1', 'localhost']) {
      await admin.query(`create user ${tick(mysqlUser)}@'${host}' identified by '${values.mysqlPassword}'`);
      await admin.query(`grant all on ${tick(database.name)}.* to ${tick(mysqlUser)}@'${host}'`);
    }
  });
  // Athena's fake and the IoT data plane are served by the messaging AWS endpoint: the engine reads the
  // tables from s3rver (known once it started), the data plane publishes to the machine's Mosquitto.
  let athenaS3: string | undefined;
  const athenaEngine = new AthenaEngine({
    catalog: {
      databases: {
        default: {},
        hardening: { orders: { location: 's3://data/athena/orders/', format: 'csv' } },
      },
      workGroups: { primary: { outputLocation: 's3://data/athena-results/' } },
    },
    s3Endpoint: () => athenaS3,
  });
  const iotBroker = mqttBroker(`mqtt://${MOSQUITTO.host}:${MOSQUITTO.port}`, 5);
  const [
    s3rver,
    gate,
    slack,
    github,
    dynamo,
    aws,
    jira,
    pagerduty,
    redis,
    openai,
    stripe,
    gitlab,
    oidc,
    anthropic,
    bedrock,
    qdrant,
    pinecone,
    gcs,
    azurite,
    messagingAws,
  ] = await Promise.all([
    // `transform`: Data Transform's own bucket, apart from the S3 connector's keys.
    startS3rver({ buckets: ['data', 'transform'] }),
    startPasswordGate({ upstream: realPostgresUrl(), password: values.postgresPassword }),
    startSlackFake({ tokens: [values.slackToken] }),
    startGitHubFake({
      tokens: [values.githubToken],
      repos: {
        'octo/hello': {
          files: { 'README.md': '# Hello\n' },
          issues: [{ title: 'Seeded', labels: ['bug'] }],
        },
      },
    }),
    startDynalite(),
    startAwsJsonFake(),
    startJiraFake(),
    startPagerDutyFake(),
    startRedisPeer(),
    startOpenaiFake(),
    startStripeFake(),
    startGitlabFake(),
    startOidcFake(),
    startAnthropicFake(),
    startBedrockFake(),
    startQdrantFake(),
    startPineconeFake(),
    startGcsFake({ buckets: ['data'] }),
    startAzurite({ containers: ['data'] }),
    startAwsEndpointPeer({
      topics: ['hardening-sns'],
      accountId: '123456789012',
      athena: athenaService(athenaEngine),
      iotData: iotDataService(new IotDataPlane({ broker: iotBroker, seed: true })),
    }),
  ]);
  // The machine's NATS (JetStream) and Mosquitto take anonymous clients: the secrets are `{}`.
  const messaging: MessagingNames = {
    natsStream: uniqueBrokerName('CIRCLE_HARDENING').replace(/-/g, '_'),
    mqttRoot: uniqueBrokerName('circle-hardening'),
  };
  const natsAdmin = await connectNats({ servers: `${NATS.host}:${NATS.port}` });
  const jetstream = await natsAdmin.jetstreamManager();
  await jetstream.streams.add({ name: messaging.natsStream, subjects: [`${messaging.natsStream}.>`] });
  await jetstream.consumers.add(messaging.natsStream, {
    durable_name: 'workers',
    ack_policy: AckPolicy.Explicit,
  });
  values.azureAccountKey = azurite.accountKey;
  athenaS3 = s3rver.endpoint;
  openai.state.tokens.clear();
  openai.state.tokens.add(values.openaiApiKey);
  stripe.state.tokens.clear();
  stripe.state.tokens.add(values.stripeApiKey);
  gitlab.state.tokens.clear();
  gitlab.state.tokens.add(values.gitlabToken);
  anthropic.state.tokens.clear();
  anthropic.state.tokens.add(values.anthropicApiKey);
  pinecone.state.keys.clear();
  pinecone.state.keys.add(values.pineconeApiKey);
  const gcsAccount = newServiceAccount('hardening@circle.iam.gserviceaccount.com', `${gcs.url}/token`);
  gcs.state.accounts.set(gcsAccount.email, gcsAccount.publicKey);
  values.gcsPrivateKeyLine =
    (JSON.parse(gcsAccount.keyFile) as { private_key: string }).private_key.split('\n')[5] ?? '';
  qdrant.state.keys.clear();
  qdrant.state.keys.add(values.qdrantApiKey);
  const redisUser = await redis.addUser(values.redisPassword);
  const oidcClientId = 'circle-core-hardening';
  oidc.state.clients.clear();
  oidc.state.clients.set(oidcClientId, values.oidcClientSecret);
  // A live access token for the user, as the issuer's token endpoint mints them (introspection knows its jti).
  const oidcNow = Math.floor(Date.now() / 1000);
  const oidcJti = randomBytes(8).toString('hex');
  oidc.state.live.add(oidcJti);
  const oidcToken = oidc.state.sign({
    iss: oidc.url,
    sub: 'user-jenny',
    aud: 'circle-core-api',
    iat: oidcNow,
    exp: oidcNow + 3600,
    jti: oidcJti,
    scope: 'issues:read',
    client_id: oidcClientId,
  });
  values.oidcTokenSignature = oidcToken.split('.')[2] ?? '';
  jira.state.tokens.clear();
  jira.state.tokens.add(`${JIRA_SANDBOX_EMAIL}:${values.jiraToken}`);
  pagerduty.state.tokens.clear();
  pagerduty.state.tokens.add(values.pagerdutyToken);
  pagerduty.state.routingKeys.clear();
  pagerduty.state.routingKeys.set(values.pagerdutyRoutingKey, 'PWIXJZS');
  const secrets = await startSecretsManagerFake({
    [SECRET_NAMES.slackToken]: values.slackToken,
    [SECRET_NAMES.slackSigning]: values.slackSigningSecret,
    [SECRET_NAMES.githubToken]: values.githubToken,
    [SECRET_NAMES.githubWebhook]: values.githubWebhookSecret,
    [SECRET_NAMES.postgres]: JSON.stringify({
      username: 'postgres',
      password: values.postgresPassword,
      host: gate.host,
      port: gate.port,
      dbname: 'test',
      engine: 'postgres',
    }),
    [SECRET_NAMES.mysql]: mysqlSecretValue,
    [SECRET_NAMES.jiraCredentials]: JSON.stringify({
      username: JIRA_SANDBOX_EMAIL,
      password: values.jiraToken,
    }),
    [SECRET_NAMES.jiraWebhook]: values.jiraWebhookSecret,
    [SECRET_NAMES.pagerdutyToken]: values.pagerdutyToken,
    [SECRET_NAMES.pagerdutyRoutingKey]: values.pagerdutyRoutingKey,
    [SECRET_NAMES.pagerdutyWebhook]: values.pagerdutyWebhookSecret,
    [SECRET_NAMES.redis]: JSON.stringify({ username: redisUser, password: values.redisPassword }),
    [SECRET_NAMES.openai]: values.openaiApiKey,
    [SECRET_NAMES.stripeToken]: values.stripeApiKey,
    [SECRET_NAMES.stripeWebhook]: values.stripeWebhookSecret,
    [SECRET_NAMES.gitlabToken]: values.gitlabToken,
    [SECRET_NAMES.gitlabWebhook]: values.gitlabWebhookSecret,
    [SECRET_NAMES.anthropic]: values.anthropicApiKey,
    [SECRET_NAMES.pinecone]: values.pineconeApiKey,
    [SECRET_NAMES.gcs]: gcsAccount.keyFile,
    [SECRET_NAMES.azureBlob]: azurite.connectionString,
    [SECRET_NAMES.qdrant]: values.qdrantApiKey,
    [SECRET_NAMES.nats]: '{}',
    [SECRET_NAMES.mqtt]: '{}',
    [SECRET_NAMES.oidcClient]: JSON.stringify({
      clientId: oidcClientId,
      clientSecret: values.oidcClientSecret,
    }),
  });
  await createTable(dynamo.endpoint, 'github-state');
  await createTable(dynamo.endpoint, 'slack-state');
  await createTable(dynamo.endpoint, 'jira-state');
  await createTable(dynamo.endpoint, 'pagerduty-state');
  await createTable(dynamo.endpoint, 'stripe-state');
  await createTable(dynamo.endpoint, 'gitlab-state');
  await createTable(dynamo.endpoint, 'nats-state');
  await createTable(dynamo.endpoint, 'key-values', { partitionKey: 'pk', sortKey: 'sk' });
  const idempotencyTable = options.env?.['CIRCLE_IDEMPOTENCY_TABLE'];
  if (idempotencyTable !== undefined)
    await createTable(dynamo.endpoint, idempotencyTable, { partitionKey: 'id' });
  const quoted = pg.escapeIdentifier(schema);
  await withPostgres(realPostgresUrl(), async (admin) => {
    await admin.query(`create schema ${quoted}`);
    await admin.query(
      `create table ${quoted}.items (seq serial, id text primary key, payload text, at timestamptz default now())`,
    );
    // Data Transform's load-postgres target.
    await admin.query(`create table ${quoted}.loaded (id text, note text)`);
  });

  const env: Record<string, string> = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: values.awsSecretAccessKey,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_ENDPOINT_URL_SQS: aws.endpoint,
    AWS_ENDPOINT_URL_SFN: aws.endpoint,
    S3_BUCKET: 'data',
    S3_ENDPOINT: s3rver.endpoint,
    S3_FORCE_PATH_STYLE: 'true',
    S3_MAX_ATTEMPTS: '1',
    PG_SECRET: SECRET_NAMES.postgres,
    PG_SSL: 'disable',
    PG_STATEMENT_TIMEOUT_MS: '5000',
    MYSQL_SECRET: SECRET_NAMES.mysql,
    MYSQL_SSL: 'disable',
    MYSQL_STATEMENT_TIMEOUT_MS: '5000',
    SLACK_API_URL: slack.url,
    SLACK_STATE_TABLE: 'slack-state',
    SLACK_EVENTS_QUEUE_URL: `${aws.endpoint}/123456789012/slack-events`,
    GITHUB_API_URL: github.baseUrl,
    GITHUB_STATE_TABLE: 'github-state',
    GITHUB_EVENTS_QUEUE_URL: `${aws.endpoint}/123456789012/github-events`,
    JIRA_API_URL: jira.url,
    JIRA_CREDENTIALS_SECRET: SECRET_NAMES.jiraCredentials,
    JIRA_WEBHOOK_SECRET_SECRET: SECRET_NAMES.jiraWebhook,
    JIRA_STATE_TABLE: 'jira-state',
    JIRA_EVENTS_QUEUE_URL: `${aws.endpoint}/123456789012/jira-events`,
    PAGERDUTY_API_URL: pagerduty.url,
    PAGERDUTY_EVENTS_API_URL: pagerduty.url,
    PAGERDUTY_FROM_EMAIL: PAGERDUTY_SANDBOX_FROM,
    PAGERDUTY_TOKEN_SECRET: SECRET_NAMES.pagerdutyToken,
    PAGERDUTY_ROUTING_KEY_SECRET: SECRET_NAMES.pagerdutyRoutingKey,
    PAGERDUTY_WEBHOOK_SECRET_SECRET: SECRET_NAMES.pagerdutyWebhook,
    PAGERDUTY_STATE_TABLE: 'pagerduty-state',
    PAGERDUTY_EVENTS_QUEUE_URL: `${aws.endpoint}/123456789012/pagerduty-events`,
    REDIS_HOST: redis.host,
    REDIS_PORT: String(redis.port),
    REDIS_TLS: 'disable',
    REDIS_SECRET: SECRET_NAMES.redis,
    REDIS_KEY_PREFIX: `${redis.prefix}hardening:`,
    REDIS_TIMEOUT_MS: '5000',
    DYNAMODB_TABLE: 'key-values',
    DYNAMODB_TIMEOUT_MS: '5000',
    OPENAI_API_URL: `${openai.url}/v1`,
    OPENAI_API_KEY_SECRET: SECRET_NAMES.openai,
    STRIPE_API_URL: `${stripe.url}/v1`,
    STRIPE_TOKEN_SECRET: SECRET_NAMES.stripeToken,
    STRIPE_WEBHOOK_SECRET_SECRET: SECRET_NAMES.stripeWebhook,
    STRIPE_STATE_TABLE: 'stripe-state',
    STRIPE_EVENTS_QUEUE_URL: `${aws.endpoint}/123456789012/stripe-events`,
    STRIPE_RATE_LIMIT: '0',
    GITLAB_API_URL: `${gitlab.url}/api/v4`,
    GITLAB_TOKEN_SECRET: SECRET_NAMES.gitlabToken,
    GITLAB_WEBHOOK_SECRET_SECRET: SECRET_NAMES.gitlabWebhook,
    GITLAB_STATE_TABLE: 'gitlab-state',
    GITLAB_EVENTS_QUEUE_URL: `${aws.endpoint}/123456789012/gitlab-events`,
    GITLAB_RATE_LIMIT: '0',
    OIDC_API_URL: oidc.url,
    OIDC_AUDIENCE: 'circle-core-api',
    OIDC_CLIENT_SECRET: SECRET_NAMES.oidcClient,
    ANTHROPIC_API_URL: `${anthropic.url}/v1`,
    ANTHROPIC_API_KEY_SECRET: SECRET_NAMES.anthropic,
    BEDROCK_ENDPOINT_URL: bedrock.url,
    PINECONE_API_URL: pinecone.url,
    PINECONE_API_KEY_SECRET: SECRET_NAMES.pinecone,
    PINECONE_RATE_LIMIT: '0',
    GCS_API_URL: gcs.url,
    GCS_BUCKET: 'data',
    GCS_CREDENTIALS_SECRET: SECRET_NAMES.gcs,
    AZURE_BLOB_CONTAINER: 'data',
    AZURE_BLOB_SECRET: SECRET_NAMES.azureBlob,
    AZURE_BLOB_TIMEOUT_MS: '5000',
    QDRANT_API_URL: qdrant.url,
    QDRANT_API_KEY_SECRET: SECRET_NAMES.qdrant,
    QDRANT_RATE_LIMIT: '0',
    NATS_HOST: NATS.host,
    NATS_PORT: String(NATS.port),
    NATS_TLS: 'disable',
    NATS_SECRET: SECRET_NAMES.nats,
    NATS_SUBJECT: `${messaging.natsStream}.events`,
    NATS_STREAM: messaging.natsStream,
    NATS_CONSUMER: 'workers',
    NATS_STATE_TABLE: 'nats-state',
    NATS_EVENTS_QUEUE_URL: `${aws.endpoint}/123456789012/nats-events`,
    NATS_CONNECT_TIMEOUT_MS: '2000',
    MQTT_HOST: MOSQUITTO.host,
    MQTT_PORT: String(MOSQUITTO.port),
    MQTT_TLS: 'disable',
    MQTT_SECRET: SECRET_NAMES.mqtt,
    MQTT_TOPIC: `${messaging.mqttRoot}/events`,
    MQTT_CONNECT_TIMEOUT_MS: '2000',
    SQS_QUEUE_URL: `${aws.endpoint}/123456789012/hardening-sqs`,
    SQS_MAX_ATTEMPTS: '1',
    AWS_ENDPOINT_URL_SNS: messagingAws.endpoint,
    SNS_TOPIC_ARN: messagingAws.topicArn('hardening-sns'),
    SNS_MAX_ATTEMPTS: '1',
    AWS_ENDPOINT_URL_EVENTBRIDGE: messagingAws.endpoint,
    EVENTBRIDGE_BUS_NAME: 'default',
    EVENTBRIDGE_MAX_ATTEMPTS: '1',
    AWS_ENDPOINT_URL_ATHENA: messagingAws.endpoint,
    ATHENA_WORKGROUP: 'primary',
    ATHENA_DATABASE: 'hardening',
    ATHENA_OUTPUT_LOCATION: 's3://data/athena-results/',
    ATHENA_MAX_ATTEMPTS: '1',
    AWS_ENDPOINT_URL_IOT_DATA_PLANE: messagingAws.endpoint,
    IOT_CORE_MAX_ATTEMPTS: '1',
    // Data Transform reads and writes s3rver's `transform` bucket and loads with the PG_ and MYSQL_ secrets above.
    AWS_ENDPOINT_URL_S3: s3rver.endpoint,
    TRANSFORM_BUCKET: 'transform',
    TRANSFORM_S3_FORCE_PATH_STYLE: 'true',
    TRANSFORM_PG_MANIFEST_TABLE: `${schema}.circle_load_parts`,
    TRANSFORM_MYSQL_MANIFEST_TABLE: `${database.name}.circle_load_parts`,
    ...options.env,
  };
  const saved = new Map<string, string | undefined>();
  for (const [name, value] of Object.entries(env)) {
    saved.set(name, process.env[name]);
    process.env[name] = value;
  }
  vi.resetModules();
  const [
    s3,
    postgres,
    mysqlConnector,
    slackConnector,
    githubConnector,
    jiraConnector,
    pagerdutyConnector,
    redisConnector,
    dynamodbConnector,
    openaiConnector,
    stripeConnector,
    gitlabConnector,
    oidcConnector,
    anthropicConnector,
    bedrockConnector,
    qdrantConnector,
    pineconeConnector,
    gcsConnector,
    azureBlobConnector,
    natsConnector,
    mqttConnector,
    sqsConnector,
    snsConnector,
    eventbridgeConnector,
    athenaConnector,
    iotCoreConnector,
    transformConnector,
  ] = await Promise.all([
    import('../../../functions/storage/s3/index.ts'),
    import('../../../functions/database/postgres/index.ts'),
    import('../../../functions/database/mysql/index.ts'),
    import('../../../functions/notifications/slack/index.ts'),
    import('../../../functions/devops/github/index.ts'),
    import('../../../functions/devops/jira/index.ts'),
    import('../../../functions/devops/pagerduty/index.ts'),
    import('../../../functions/database/redis/index.ts'),
    import('../../../functions/database/dynamodb/index.ts'),
    import('../../../functions/ai/openai/index.ts'),
    import('../../../functions/finance/stripe/index.ts'),
    import('../../../functions/devops/gitlab/index.ts'),
    import('../../../functions/security/oidc/index.ts'),
    import('../../../functions/ai/anthropic/index.ts'),
    import('../../../functions/ai/bedrock/index.ts'),
    import('../../../functions/ai/qdrant/index.ts'),
    import('../../../functions/ai/pinecone/index.ts'),
    import('../../../functions/storage/gcs/index.ts'),
    import('../../../functions/storage/azure-blob/index.ts'),
    import('../../../functions/messaging/nats/index.ts'),
    import('../../../functions/messaging/mqtt/index.ts'),
    import('../../../functions/messaging/sqs/index.ts'),
    import('../../../functions/messaging/sns/index.ts'),
    import('../../../functions/messaging/eventbridge/index.ts'),
    import('../../../functions/analytics/athena/index.ts'),
    import('../../../functions/iot/iot-core/index.ts'),
    import('../../../functions/data/transform/index.ts'),
  ]);
  const connectors = {
    s3: s3.connector,
    postgres: postgres.connector,
    mysql: mysqlConnector.connector,
    slack: slackConnector.connector,
    github: githubConnector.connector,
    jira: jiraConnector.connector,
    pagerduty: pagerdutyConnector.connector,
    redis: redisConnector.connector,
    dynamodb: dynamodbConnector.connector,
    openai: openaiConnector.connector,
    stripe: stripeConnector.connector,
    gitlab: gitlabConnector.connector,
    oidc: oidcConnector.connector,
    anthropic: anthropicConnector.connector,
    bedrock: bedrockConnector.connector,
    pinecone: pineconeConnector.connector,
    gcs: gcsConnector.connector,
    'azure-blob': azureBlobConnector.connector,
    qdrant: qdrantConnector.connector,
    nats: natsConnector.connector,
    mqtt: mqttConnector.connector,
    sqs: sqsConnector.connector,
    sns: snsConnector.connector,
    eventbridge: eventbridgeConnector.connector,
    athena: athenaConnector.connector,
    'iot-core': iotCoreConnector.connector,
    transform: transformConnector.connector,
  } as unknown as Record<ConnectorName, LoadedConnector>;
  await Promise.all(CONNECTOR_NAMES.map((name) => connectors[name].runtime.client()));
  // Something to read for the Redis and DynamoDB samples.
  await connectors.redis.handler(
    {
      operation: 'put-value',
      input: { key: 'seed/greeting', value: 'hello' },
      idempotencyKey: 'seed-greeting',
    },
    lambdaContext(),
  );
  await connectors.dynamodb.handler(
    {
      operation: 'put-value',
      input: { key: 'seed/greeting', value: 'hello' },
      idempotencyKey: 'seed-greeting',
    },
    lambdaContext(),
  );
  // A collection to read for the Qdrant samples.
  await seedVectors(connectors.qdrant);
  // A collection to read for the Pinecone samples.
  await seedVectors(connectors.pinecone);
  // Something to read for the S3, GCS and Azure Blob samples.
  for (const store of [connectors.s3, connectors.gcs, connectors['azure-blob']]) {
    await store.handler(
      {
        operation: 'put-object',
        input: { key: 'seed/readme.txt', body: 'hello' },
        idempotencyKey: 'seed-readme',
      },
      lambdaContext(),
    );
  }

  // Athena's table and Data Transform's load source, on s3rver.
  const seedS3 = new S3Client({
    endpoint: s3rver.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: s3rver.credentials,
  });
  for (const [bucket, key, body] of [
    ['data', 'athena/orders/orders.csv', 'id,customer,amount\n1,acme,12.5\n2,globex,3\n3,acme,40\n'],
    ['transform', 'seed/loads.ndjson', '{"id":1,"note":"one"}\n{"id":2,"note":"two"}\n'],
  ] as const) {
    await seedS3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  }
  seedS3.destroy();
  // A finished query for the Athena samples that read or cancel one.
  const athenaRun = (await connectors.athena.handler(
    { operation: 'run-query', input: { sql: 'select 1 as one', waitSeconds: 20 } },
    lambdaContext(),
  )) as { status?: { queryId?: string } };
  const athenaQueryId = athenaRun.status?.queryId ?? '';
  if (athenaQueryId === '') throw new Error(`Athena seed query failed: ${JSON.stringify(athenaRun)}`);

  const routes: RouteEntry[] = CONNECTOR_NAMES.flatMap((connector) => {
    const runtime = connectors[connector].runtime;
    const operations = Object.keys(runtime.operations).map(
      (operation): RouteEntry => ({
        connector,
        method: 'POST',
        path: `/${connector}/${operation}`,
        kind: 'operation',
        operation,
      }),
    );
    const extra = runtime.routes.map(
      (route): RouteEntry => ({
        connector,
        method: route.method as RouteEntry['method'],
        path: route.path,
        kind: route.auth,
      }),
    );
    return [
      ...operations,
      { connector, method: 'GET', path: `/${connector}/health`, kind: 'health' },
      ...extra,
    ];
  });

  return {
    s3rver,
    gate,
    slack,
    github,
    jira,
    pagerduty,
    redis,
    redisUser,
    openai,
    stripe,
    gitlab,
    oidc,
    oidcToken,
    anthropic,
    bedrock,
    qdrant,
    pinecone,
    gcs,
    gcsAccount,
    azurite,
    messagingAws,
    messaging,
    athenaEngine,
    secrets,
    dynamo,
    aws,
    schema,
    mysqlDatabase: database.name,
    mysqlSecret: mysqlSecretValue,
    mysqlUser,
    values,
    connectors,
    routes,
    samples: samplesFor(schema, database.name, oidcToken, messaging, athenaQueryId),
    http: async (connector, eventOptions) =>
      (await connectors[connector].handler(httpEvent(eventOptions), lambdaContext())) as HttpResult,
    webhookHeaders: (connector, body, event) => {
      switch (connector) {
        case 'github':
          return githubHeaders(values.githubWebhookSecret, body, event ?? 'issues');
        case 'jira':
          return {
            'x-hub-signature': signJiraWebhook(values.jiraWebhookSecret, body),
            'x-atlassian-webhook-identifier': randomBytes(8).toString('hex'),
          };
        case 'pagerduty':
          return { 'x-pagerduty-signature': signPagerDutyWebhook([values.pagerdutyWebhookSecret], body) };
        case 'stripe':
          return { 'stripe-signature': signStripeWebhook(body, values.stripeWebhookSecret) };
        case 'gitlab':
          return {
            'x-gitlab-token': values.gitlabWebhookSecret,
            'x-gitlab-event': 'Issue Hook',
            'idempotency-key': randomBytes(8).toString('hex'),
          };
        default:
          return slackHeaders(values.slackSigningSecret, body);
      }
    },
    rows: (table) =>
      withPostgres(realPostgresUrl(), async (admin) => {
        const result = await admin.query(
          `select * from ${quoted}.${pg.escapeIdentifier(table)} order by seq`,
        );
        return result.rows as Record<string, unknown>[];
      }),
    close: async () => {
      const client = (await connectors.postgres.runtime.client().catch(() => undefined)) as
        | { close(): Promise<void> }
        | undefined;
      await client?.close();
      const mysqlClient = (await connectors.mysql.runtime.client().catch(() => undefined)) as
        | { close(): Promise<void> }
        | undefined;
      await mysqlClient?.close();
      const redisClient = (await connectors.redis.runtime.client().catch(() => undefined)) as
        | { close(): Promise<void> }
        | undefined;
      await redisClient?.close().catch(() => undefined);
      for (const broker of [connectors.nats, connectors.mqtt]) {
        const client = (await broker.runtime.client().catch(() => undefined)) as
          | { close?(): Promise<void> }
          | undefined;
        await client?.close?.().catch(() => undefined);
      }
      for (const name of ['athena', 'iot-core', 'transform'] as const) {
        const client = (await connectors[name].runtime.client().catch(() => undefined)) as
          | { close?(): Promise<void> }
          | undefined;
        await client?.close?.().catch(() => undefined);
      }
      await athenaEngine.close();
      await iotBroker.close();
      await jetstream.streams.delete(messaging.natsStream).catch(() => undefined);
      await natsAdmin.close();
      for (const [name, value] of saved) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
      await withPostgres(realPostgresUrl(), (admin) => admin.query(`drop schema ${quoted} cascade`));
      await database.drop();
      await withMysql(async (admin) => {
        for (const host of ['127.0.0.1', 'localhost'])
          await admin.query(`drop user ${tick(mysqlUser)}@'${host}'`);
      });
      await Promise.all([
        s3rver.close(),
        gate.close(),
        slack.close(),
        github.close(),
        jira.close(),
        pagerduty.close(),
        redis.close(),
        openai.close(),
        stripe.close(),
        gitlab.close(),
        oidc.close(),
        anthropic.close(),
        bedrock.close(),
        pinecone.close(),
        gcs.close(),
        azurite.close(),
        qdrant.close(),
        messagingAws.close(),
        secrets.close(),
        dynamo.close(),
        aws.close(),
      ]);
    },
  };
}
