/**
 * The settings every receiving connector has, declared once: `<PREFIX>_STATE_TABLE` (the delivery
 * ledger), `<PREFIX>_EVENTS_QUEUE_URL` and `<PREFIX>_EVENTS_STATE_MACHINE_ARN` (the sinks) and
 * `<PREFIX>_DELIVERY_TTL_DAYS`, and the one function that builds the ledger and the sink from them.
 */
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import * as z from 'zod';
import { envInteger } from '../config.ts';
import { ConfigurationError } from '../errors.ts';
import type { Logger } from '../observability.ts';
import { createDocumentClient, DynamoDbDeliveryLedger } from './ledger.ts';
import { eventSinkFromSettings, LogEventSink } from './sinks.ts';
import type { DeliveryLedger, WebhookEventSink } from './types.ts';

const STATE_MACHINE_ARN = /^arn:aws[\w-]*:states:[\w-]+:\d{12}:stateMachine:[\w-]{1,80}$/;

/** The zod shape of the receiving settings for `prefix`, to spread into a connector's config. */
export type EventSettingsShape<P extends string> = {
  [K in `${P}_STATE_TABLE`]: z.ZodOptional<z.ZodString>;
} & { [K in `${P}_EVENTS_QUEUE_URL`]: z.ZodOptional<z.ZodURL> } & {
  [K in `${P}_EVENTS_STATE_MACHINE_ARN`]: z.ZodOptional<z.ZodString>;
} & { [K in `${P}_DELIVERY_TTL_DAYS`]: ReturnType<typeof envInteger> };

/**
 * The receiving settings of a connector, to spread into its config schema.
 *
 * @example
 * ```ts
 * export const SlackConfig = z.object({ ...eventSettings('SLACK', { ttlDays: 2 }), SLACK_API_URL: ... });
 * ```
 */
export function eventSettings<P extends string>(
  prefix: P,
  defaults: { ttlDays: number },
): EventSettingsShape<P> {
  return {
    [`${prefix}_STATE_TABLE`]: z
      .string()
      .min(1)
      .optional()
      .describe('DynamoDB table (partition key `pk`, TTL on `expiresAt`) remembering accepted delivery ids'),
    [`${prefix}_EVENTS_QUEUE_URL`]: z
      .url()
      .optional()
      .describe('SQS queue that receives each accepted event'),
    [`${prefix}_EVENTS_STATE_MACHINE_ARN`]: z
      .string()
      .regex(STATE_MACHINE_ARN, 'expected a state machine ARN')
      .optional()
      .describe('State machine started once per accepted event'),
    [`${prefix}_DELIVERY_TTL_DAYS`]: envInteger(defaults.ttlDays, { min: 1, max: 365 }).describe(
      'How long an accepted delivery id is remembered',
    ),
  } as EventSettingsShape<P>;
}

/** What a receiving connector builds once per container from its settings. */
export interface EventReceiving {
  /** Undefined without a state table: receiving then fails closed, naming the setting. */
  ledger: DeliveryLedger | undefined;
  /** The durable sink, undefined when no queue or state machine is configured. */
  sink: WebhookEventSink | undefined;
  /**
   * The ledger's document client on the state table, built on first use (with the core's copy of the AWS
   * SDK, the runtime's); undefined without a state table. A connector's own items (checkpoints) use a
   * client of its own bundled SDK, so commands and client always come from one copy.
   */
  documents: (() => Promise<DynamoDBDocumentClient>) | undefined;
  table: string | undefined;
  /** The ledger, or a {@link ConfigurationError} naming the state table setting. */
  requireLedger(): DeliveryLedger;
  /** The durable sink, or a warning-only log sink naming the settings that would make it durable. */
  sinkOr(logger: Logger): WebhookEventSink;
}

/**
 * Builds the ledger and the sink from a connector's receiving settings.
 *
 * @example
 * ```ts
 * const receiving = await eventReceivingFromConfig('SLACK', config, 'slack');
 * await handOn(event, { ledger: receiving.requireLedger(), sink: receiving.sinkOr(logger), logger });
 * ```
 */
export async function eventReceivingFromConfig(
  prefix: string,
  config: Record<string, unknown>,
  connector: string,
  overrides: { dynamo?: DynamoDBDocumentClient; sqs?: SQSClient; sfn?: SFNClient; now?: () => number } = {},
): Promise<EventReceiving> {
  const text = (name: string): string | undefined => {
    const value = config[`${prefix}_${name}`];
    return typeof value === 'string' ? value : undefined;
  };
  const table = text('STATE_TABLE');
  const ttl = config[`${prefix}_DELIVERY_TTL_DAYS`];
  let client: Promise<DynamoDBDocumentClient> | undefined;
  // An SDK document client on the state table for a connector's own items, built on first use.
  const documents =
    table === undefined
      ? undefined
      : (): Promise<DynamoDBDocumentClient> => {
          client ??= (
            overrides.dynamo ? Promise.resolve(overrides.dynamo) : createDocumentClient(connector)
          ).catch((error: unknown) => {
            client = undefined;
            throw error;
          });
          return client;
        };
  // Its client is built on the first delivery, not at init: a health call or an operation never touches
  // the ledger.
  const ledger =
    table === undefined
      ? undefined
      : new DynamoDbDeliveryLedger(
          {
            table,
            connector,
            ttlDays: typeof ttl === 'number' ? ttl : 7,
            ...(overrides.now ? { now: overrides.now } : {}),
          },
          overrides.dynamo,
        );
  const sink = eventSinkFromSettings(
    { connector, queueUrl: text('EVENTS_QUEUE_URL'), stateMachineArn: text('EVENTS_STATE_MACHINE_ARN') },
    { sqs: overrides.sqs, sfn: overrides.sfn },
  );
  return {
    ledger,
    sink,
    documents,
    table,
    requireLedger: () => {
      if (ledger !== undefined) return ledger;
      throw new ConfigurationError(
        `${prefix}_STATE_TABLE is required to receive events (deliveries are deduplicated in it)`,
      );
    },
    sinkOr: (logger) =>
      sink ??
      new LogEventSink(
        logger,
        `no ${prefix}_EVENTS_QUEUE_URL or ${prefix}_EVENTS_STATE_MACHINE_ARN is configured`,
      ),
  };
}
