/**
 * What the GitHub connector builds beside its client once per container (`context.services`): the DynamoDB
 * state (delivery ids, checkpoints), the events sink, the webhook receiver and the issue syncer.
 */

import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  type DeliveryLedger,
  eventReceivingFromConfig,
  type Logger,
  type Secret,
  type WebhookEventSink,
} from '@circle-core/core';
import { type CheckpointStore, checkpointDocuments, DynamoDbCheckpointStore } from './checkpoint.ts';
import type { GitHubApi } from './client.ts';
import type { GitHubConfig } from './config.ts';
import type { IssueSyncer } from './sync.ts';
import type { WebhookReceiver } from './webhook.ts';

/** Side effects a test (or another host) may provide instead of the defaults built from the environment. */
export interface GitHubServiceOverrides {
  dynamo?: DynamoDBDocumentClient;
  sqs?: SQSClient;
  sfn?: SFNClient;
  now?: () => number;
}

/** What routes and the scheduled sync receive as `services`. */
export interface GitHubServices {
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
 * Builds the connector's services from its config, the webhook secret and the client the operations use.
 *
 * @example
 * ```ts
 * const services = await createGitHubServices({ config, webhookSecret, client });
 * ```
 */
export async function createGitHubServices(
  setup: { config: GitHubConfig; webhookSecret: Secret; client: GitHubApi },
  overrides: GitHubServiceOverrides = {},
): Promise<GitHubServices> {
  const { config, webhookSecret, client } = setup;
  const now = overrides.now ?? Date.now;
  const receiving = await eventReceivingFromConfig('GITHUB', config, 'github', { ...overrides, now });
  const { ledger, sink, table } = receiving;
  const checkpoints =
    table === undefined
      ? undefined
      : new DynamoDbCheckpointStore({ table, now }, overrides.dynamo ?? checkpointDocuments());
  return {
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
      source: client,
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
