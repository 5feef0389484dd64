import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { type CapturedLogs, captureLogs, lambdaContext } from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { githubFaults } from '../../../scripts/local/sandboxes/github.ts';
import { type GitHubTestStack, startGitHubTestStack } from '../../../test/stacks/github.ts';
import type { connector as GitHubConnector } from './index.ts';
import type { SyncIssuesOutput } from './models.ts';

const REPOSITORY = 'octo/sync';
let stack: GitHubTestStack;
let connector: typeof GitHubConnector;
let documents: DynamoDBDocumentClient;
let logs: CapturedLogs;

function minutesAgo(minutes: number): string {
  return new Date(Math.floor((Date.now() - minutes * 60_000) / 1000) * 1000)
    .toISOString()
    .replace('.000Z', 'Z');
}

function schedule(
  input: Record<string, unknown> = { owner: 'octo', repo: 'sync' },
): Promise<SyncIssuesOutput> {
  return connector.handler(
    { operation: 'sync-issues', input, trigger: 'schedule' },
    lambdaContext(),
  ) as Promise<SyncIssuesOutput>;
}

async function storedCheckpoint(): Promise<Record<string, unknown> | undefined> {
  const { Item } = await documents.send(
    new GetCommand({ TableName: stack.table, Key: { pk: `checkpoint#${REPOSITORY}` }, ConsistentRead: true }),
  );
  return Item;
}

/** The delivery ids handed on to SQS since `from`. */
function sentSince(from: number): string[] {
  return stack.aws.calls
    .slice(from)
    .filter((call) => call.target === 'AmazonSQS.SendMessage')
    .map((call) =>
      String(
        (call.body['MessageAttributes'] as { deliveryId: { StringValue: string } }).deliveryId.StringValue,
      ),
    );
}

function listRequests(): Array<Record<string, string>> {
  return stack.github.requests
    .filter((request) => request.route === 'list-issues')
    .map((request) => request.query);
}

beforeAll(async () => {
  stack = await startGitHubTestStack({
    sinks: ['sqs'],
    env: { GITHUB_SYNC_PAGE_SIZE: '2', GITHUB_SYNC_MAX_PAGES: '10', GITHUB_SYNC_OWNER: 'octo' },
  });
  ({ connector } = await import('./index.ts'));
  documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: stack.dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  );
  stack.github.addRepo(REPOSITORY);
  for (const [index, minutes] of [300, 240, 180, 120, 60].entries()) {
    stack.github.addIssue(REPOSITORY, {
      title: `Issue ${index + 1}`,
      createdAt: minutesAgo(minutes),
      updatedAt: minutesAgo(minutes),
    });
  }
  stack.github.addIssue(REPOSITORY, {
    title: 'A pull request',
    updatedAt: minutesAgo(90),
    pullRequest: true,
  });
  // Older than the 24 h lookback of a first run.
  stack.github.addIssue(REPOSITORY, {
    title: 'Ancient',
    createdAt: minutesAgo(3000),
    updatedAt: minutesAgo(3000),
  });
});

afterAll(async () => {
  documents.destroy();
  await stack.close();
});

beforeEach(() => {
  logs = captureLogs();
  stack.github.requests.length = 0;
});

afterEach(() => {
  logs.restore();
  stack.github.clearFaults();
});

describe('Operation: sync-issues', () => {
  it('hands on every issue of the lookback across all pages and then advances the checkpoint', async () => {
    // Prepare
    const from = stack.aws.calls.length;
    // Act
    const report = await schedule();
    // Assess
    expect(report).toMatchObject({
      repository: REPOSITORY,
      pages: 3,
      handedOn: 5,
      skipped: 0,
      sink: 'sqs',
      checkpointOutcome: 'advanced',
    });
    expect(sentSince(from).map((id) => id.replace(/@.*/, ''))).toEqual(
      [5, 4, 3, 2, 1].map((n) => `issue-sync:${REPOSITORY}#${n}`),
    );
    expect(listRequests()[0]).toMatchObject({
      state: 'all',
      sort: 'updated',
      direction: 'desc',
      per_page: '2',
    });
    const newest = stack.github.issues(REPOSITORY).find((issue) => issue.number === 5)?.updatedAt;
    expect(report.checkpoint).toBe(newest);
    expect(await storedCheckpoint()).toMatchObject({ since: newest, boundary: [5] });
  });

  it('hands nothing on again when nothing changed since the checkpoint', async () => {
    // Prepare
    const from = stack.aws.calls.length;
    const checkpoint = (await storedCheckpoint())?.['since'];
    // Act
    const report = await schedule();
    // Assess
    expect(report).toMatchObject({ handedOn: 0, skipped: 1, checkpointOutcome: 'unchanged' });
    expect(sentSince(from)).toEqual([]);
    expect(listRequests()[0]?.['since']).toBe(checkpoint);
  });

  it('on the next run hands on only the issues updated after the checkpoint', async () => {
    // Prepare
    const from = stack.aws.calls.length;
    const added = stack.github.addIssue(REPOSITORY, {
      title: 'New',
      createdAt: minutesAgo(30),
      updatedAt: minutesAgo(30),
    });
    const reopened = stack.github.issues(REPOSITORY).find((issue) => issue.number === 2);
    if (reopened !== undefined) reopened.updatedAt = minutesAgo(20);
    // Act
    const report = await schedule();
    // Assess
    expect(report).toMatchObject({ handedOn: 2, checkpointOutcome: 'advanced' });
    expect(sentSince(from).map((id) => id.replace(/@.*/, ''))).toEqual([
      `issue-sync:${REPOSITORY}#2`,
      `issue-sync:${REPOSITORY}#${added.number}`,
    ]);
    expect(await storedCheckpoint()).toMatchObject({ since: reopened?.updatedAt, boundary: [2] });
  });

  it('leaves the checkpoint untouched when page 2 fails, and the next run resumes from it', async () => {
    // Prepare
    for (let index = 0; index < 3; index += 1) {
      stack.github.addIssue(REPOSITORY, {
        title: `Burst ${index}`,
        createdAt: minutesAgo(10 - index),
        updatedAt: minutesAgo(10 - index),
      });
    }
    const before = await storedCheckpoint();
    stack.github.failNext('list-issues', {
      ...githubFaults.serverError(502),
      times: 3,
      when: (request) => request.query['page'] === '2',
    });
    // Act
    const failed = schedule();
    // Assess
    await expect(failed).rejects.toMatchObject({ name: 'UnavailableError' });
    expect(await storedCheckpoint()).toEqual(before);
    const from = stack.aws.calls.length;
    const retried = await schedule();
    expect(retried).toMatchObject({ handedOn: 3, checkpointOutcome: 'advanced' });
    expect(
      listRequests()
        .filter((query) => query['page'] === '1')
        .every((query) => query['since'] === before?.['since']),
    ).toBe(true);
    expect(sentSince(from)).toHaveLength(3);
  });

  it('takes since from the input to replay older issues, without moving the checkpoint back', async () => {
    // Prepare
    const before = await storedCheckpoint();
    // Act
    const report = await schedule({
      owner: 'octo',
      repo: 'sync',
      since: minutesAgo(100_000),
      includePullRequests: true,
    });
    // Assess
    expect(report.handedOn).toBe(stack.github.issues(REPOSITORY).length);
    expect(report.checkpointOutcome).toBe('unchanged');
    expect(await storedCheckpoint()).toMatchObject({ since: before?.['since'] });
  });

  it('fails without moving the checkpoint when the run needs more than GITHUB_SYNC_MAX_PAGES pages', async () => {
    // Prepare
    for (let index = 0; index < 21; index += 1) {
      stack.github.addIssue('octo/many', { title: `m${index}`, updatedAt: minutesAgo(5) });
    }
    const from = stack.aws.calls.length;
    // Act
    const attempt = schedule({ owner: 'octo', repo: 'many' });
    // Assess
    await expect(attempt).rejects.toMatchObject({
      name: 'ConfigurationError',
      message: expect.stringContaining('GITHUB_SYNC_MAX_PAGES'),
    });
    expect(listRequests()).toHaveLength(10);
    expect(sentSince(from)).toHaveLength(20);
    const { Item } = await documents.send(
      new GetCommand({ TableName: stack.table, Key: { pk: 'checkpoint#octo/many' }, ConsistentRead: true }),
    );
    expect(Item).toBeUndefined();
  });

  it('fails with ValidationError when no repository is given and GITHUB_SYNC_REPO is not set', async () => {
    // Act
    const attempt = schedule({});
    // Assess
    await expect(attempt).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining('GITHUB_SYNC_REPO'),
    });
  });
});
