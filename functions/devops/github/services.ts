/**
 * Builds everything the connector uses once per container: the GitHub client with its auth, the webhook
 * secret, the DynamoDB state (delivery ids, checkpoints) and the events sink.
 */

import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type DeliveryLedger,
  defineSecret,
  eventReceivingFromConfig,
  type HttpClient,
  type Logger,
  type Secret,
  type WebhookEventSink,
} from '@circle-core/core';
import { githubAuthFromConfig } from './auth.ts';
import { type CheckpointStore, checkpointDocuments, DynamoDbCheckpointStore } from './checkpoint.ts';
import { type GitHubApi, GitHubClient, githubApi } from './client.ts';
import type { GitHubConfig } from './config.ts';
import type { IssueSyncer } from './sync.ts';
import type { WebhookReceiver } from './webhook.ts';

/** Side effects a test (or another host) may provide instead of the defaults built from the environment. */
export interface GitHubServiceOverrides {
  /** The HTTP client for GitHub's REST API (the auth's token exchange keeps its own). */
  http?: HttpClient;
  dynamo?: DynamoDBDocumentClient;
  sqs?: SQSClient;
  sfn?: SFNClient;
  now?: () => number;
}

/** What operations and routes receive as `client`. */
export interface GitHubServices {
  /** The REST calls on input the runtime parsed. */
  github: GitHubApi;
  webhookSecret: Secret;
  ledger: DeliveryLedger | undefined;
  checkpoints: CheckpointStore | undefined;
  /** The durable sink, undefined when none is configured. */
  sink: WebhookEventSink | undefined;
  /** The webhook receiver, logging through the invocation's logger. */
  webhooks(logger: Logger): WebhookReceiver;
  /** The issue syncer, logging through the invocation's logger. */
  syncer(logger: Logger): IssueSyncer;
}

/**
 * Creates the connector's services from its config and fetches its secrets (the GitHub credential and
 * the webhook secret) once, during init.
 *
 * @example
 * ```ts
 * const services = await createGitHubServices(loadConfig(GitHubConfig));
 * await services.github.listIssues({ owner: 'octo', repo: 'hello' });
 * ```
 */
export async function createGitHubServices(
  config: GitHubConfig,
  overrides: GitHubServiceOverrides = {},
): Promise<GitHubServices> {
  const { auth, prefetch } = githubAuthFromConfig(
    config,
    overrides.now === undefined ? {} : { now: overrides.now },
  );
  const webhookSecret = defineSecret(config.GITHUB_WEBHOOK_SECRET_SECRET, {
    maxAgeSeconds: config.GITHUB_SECRET_MAX_AGE_SECONDS,
  });
  await Promise.all([prefetch(), webhookSecret.prefetch()]);
  const rest = githubApi.clientFromSettings(config, { auth, http: overrides.http });
  // One connection pool: the operations call the API on parsed input, the syncer uses the library face.
  const source = new GitHubClient({}, rest);
  const now = overrides.now ?? Date.now;
  const receiving = await eventReceivingFromConfig('GITHUB', config, 'github', { ...overrides, now });
  const { ledger, sink, table } = receiving;
  const checkpoints =
    table === undefined
      ? undefined
      : new DynamoDbCheckpointStore({ table, now }, overrides.dynamo ?? checkpointDocuments());
  return {
    github: source.api,
    webhookSecret,
    ledger,
    checkpoints,
    sink,
    webhooks: (logger) => ({
      secret: webhookSecret,
      ledger,
      sink: receiving.sinkOr(logger),
      logger,
      now,
    }),
    syncer: (logger) => ({
      source,
      checkpoints,
      sink: receiving.sinkOr(logger),
      logger,
      pageSize: config.GITHUB_SYNC_PAGE_SIZE,
      maxPages: config.GITHUB_SYNC_MAX_PAGES,
      lookbackHours: config.GITHUB_SYNC_LOOKBACK_HOURS,
      now,
    }),
  };
}
