/**
 * Every conformance suite once more, against an implementation that offers none of the interface's
 * optional capabilities (shared/interfaces/testing: the reference connector wrapped so that it declares no
 * capability and refuses what needs one). The connectors themselves offer every capability, so their own
 * runs skip the refusal tests; here those run and the capability tests skip. Peers as in each connector's
 * run: s3rver, the Slack and GitHub contract fakes, PGlite over the wire protocol.
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { basicAuth, bearerAuth } from '@circle-core/core';
import pg from 'pg';
import { vi } from 'vitest';
import { urlCredentials } from '#shared/sql/credentials.ts';
import { DuckDbClient } from '../../functions/analytics/duckdb/client.ts';
import { DynamodbKeyValueStore } from '../../functions/database/dynamodb/client.ts';
import { POSTGRES, PostgresClient } from '../../functions/database/postgres/client.ts';
import { GitHubClient } from '../../functions/devops/github/client.ts';
import { JiraClient } from '../../functions/devops/jira/client.ts';
import { SlackClient } from '../../functions/notifications/slack/client.ts';
import { S3ObjectStorage } from '../../functions/storage/s3/client.ts';
import { startGitHubFake } from '../../scripts/local/sandboxes/github.ts';
import { JIRA_SANDBOX_EMAIL, JIRA_SANDBOX_TOKEN, startJiraFake } from '../../scripts/local/sandboxes/jira.ts';
import { DEFAULT_SLACK_TOKEN, startSlackFake } from '../../scripts/local/sandboxes/slack.ts';
import { describeIssueTrackerConformance } from '../../shared/interfaces/issue-tracker.conformance.ts';
import { describeKeyValueConformance } from '../../shared/interfaces/key-value.conformance.ts';
import { describeNotifierConformance } from '../../shared/interfaces/notifier.conformance.ts';
import { describeObjectStorageConformance } from '../../shared/interfaces/object-storage.conformance.ts';
import { describeSourceControlConformance } from '../../shared/interfaces/source-control.conformance.ts';
import { describeSqlDatabaseConformance } from '../../shared/interfaces/sql-database.conformance.ts';
import {
  issueTrackerWithoutCapabilities,
  keyValueStoreWithoutCapabilities,
  notifierWithoutCapabilities,
  objectStorageWithoutCapabilities,
  sourceControlWithoutCapabilities,
  sqlDatabaseWithoutCapabilities,
  warehouseQueryWithoutCapabilities,
} from '../../shared/interfaces/testing/without-capabilities.ts';
import { describeWarehouseQueryConformance } from '../../shared/interfaces/warehouse-query.conformance.ts';
import { createTable, startDynalite } from '../peers/dynalite.ts';
import { startPglite, uniqueName } from '../peers/postgres.ts';
import { startS3rver } from '../peers/s3rver.ts';

// s3rver accepts any secret for a known access key id; the SDK reads these through its default chain.
vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');

const GITHUB_TOKEN = 'ghp_conformance_without_capabilities';
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0xff, 0xfe]);

describeObjectStorageConformance('S3ObjectStorage without optional capabilities', async () => {
  const peer = await startS3rver({ buckets: ['plain'] });
  const storage = new S3ObjectStorage({
    bucket: 'plain',
    endpoint: peer.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
  });
  return {
    storage: objectStorageWithoutCapabilities(storage),
    disallowedBucket: 'elsewhere',
    close: peer.close,
  };
});

describeNotifierConformance('SlackClient without optional capabilities', async () => {
  const fake = await startSlackFake();
  const slack = new SlackClient({ token: DEFAULT_SLACK_TOKEN, baseUrl: fake.url });
  return {
    notifier: notifierWithoutCapabilities(slack),
    channel: 'C0GENERAL',
    missingChannel: 'C0MISSING',
    readMessage: async (channel, ts) => {
      const message = fake.message(channel, ts);
      return message === undefined
        ? undefined
        : { text: message.text, blocks: message.blocks, threadTs: message.threadTs };
    },
    close: async () => {
      slack.close();
      await fake.close();
    },
  };
});

describeSourceControlConformance('GitHubClient without optional capabilities', async () => {
  const fake = await startGitHubFake({
    tokens: [GITHUB_TOKEN],
    repos: {
      'plain/repo': { files: { 'notes.txt': 'plain text\n', 'docs/index.md': '# Docs', 'image.bin': PNG } },
    },
  });
  fake.addIssue('plain/repo', { title: 'Already closed', state: 'closed' });
  const pullRequest = fake.addIssue('plain/repo', { title: 'A pull request', pullRequest: true });
  const github = new GitHubClient({ baseUrl: fake.baseUrl, auth: bearerAuth({ token: GITHUB_TOKEN }) });
  return {
    client: sourceControlWithoutCapabilities(github),
    repository: { owner: 'plain', repo: 'repo' },
    missingRepository: { owner: 'plain', repo: 'absent' },
    textFile: { path: 'notes.txt', content: 'plain text\n' },
    binaryFile: { path: 'image.bin', bytes: PNG },
    pullRequest: { number: pullRequest.number },
    directory: 'docs',
    close: () => fake.close(),
  };
});

describeSqlDatabaseConformance('PostgresClient on PGlite without optional capabilities', async () => {
  const pglite = await startPglite();
  const schema = uniqueName('conformance_plain');
  const client = new PostgresClient({
    credentials: urlCredentials(pglite.url, POSTGRES),
    ssl: 'disable',
    statementTimeoutMs: 15_000,
    connectTimeoutMs: 5_000,
    readOnly: false,
    applicationName: 'circle-core-test',
  });
  await client.query({ sql: `create schema ${pg.escapeIdentifier(schema)}` });
  return {
    db: sqlDatabaseWithoutCapabilities(client),
    schema,
    placeholder: (position) => `$${position}`,
    quote: (name) => pg.escapeIdentifier(name),
    cleanup: async () => {
      await client.close();
      await pglite.close();
    },
  };
});

describeKeyValueConformance('DynamodbKeyValueStore on dynalite without optional capabilities', async () => {
  const dynamo = await startDynalite();
  await createTable(dynamo.endpoint, 'plain-kv', { partitionKey: 'pk', sortKey: 'sk' });
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynamo.endpoint);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  const store = await DynamodbKeyValueStore.create({
    table: 'plain-kv',
    ttlAttribute: 'expiresAt',
    timeoutMs: 5_000,
    maxAttempts: 2,
  });
  return { store: keyValueStoreWithoutCapabilities(store), close: dynamo.close };
});

describeIssueTrackerConformance('JiraClient without optional capabilities', async () => {
  const fake = await startJiraFake();
  const jira = new JiraClient({
    baseUrl: fake.url,
    auth: basicAuth({ credentials: { username: JIRA_SANDBOX_EMAIL, password: JIRA_SANDBOX_TOKEN } }),
  });
  return {
    client: issueTrackerWithoutCapabilities(jira),
    project: 'WEB',
    missingProject: 'NOPE',
    missingKey: 'WEB-99999',
    close: async () => {
      jira.close();
      await fake.close();
    },
  };
});

describeWarehouseQueryConformance('DuckDbClient (embedded) without optional capabilities', async () => {
  const directory = await mkdtemp(join(tmpdir(), 'conformance-duckdb-'));
  const duckdb = new DuckDbClient({
    memoryLimitMb: 128,
    threads: 1,
    tempDirectory: directory,
    sourceBuckets: [],
    s3ForcePathStyle: true,
    sourceMaxBytes: 1_000,
    s3TimeoutMs: 1_000,
    maxResultRows: 5_000,
    resultTtlSeconds: 60,
    maxQueries: 50,
    defaultTimeoutSeconds: 60,
  });
  return {
    warehouse: warehouseQueryWithoutCapabilities(duckdb),
    series: (count) => `select range::integer as n from range(${count}) order by n`,
    slowSql: 'select count(*) as n from range(100000000000) a where a.range % 7 = 3',
    missingTableSql: 'select * from no_such_table',
    cleanup: async () => {
      await duckdb.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
});
