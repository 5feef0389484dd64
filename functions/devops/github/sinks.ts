/**
 * Where accepted GitHub events (webhook deliveries and synced issues) go: an SQS queue, a Step Functions
 * state machine, both, or, when neither is configured, only the log.
 */
import { createHash } from 'node:crypto';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { SendMessageCommand, type SendMessageCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { type Logger, PayloadTooLargeError } from '@circle-core/core';
import type { WebhookEvent, WebhookEventSink } from '../../../shared/interfaces/webhook-events.ts';
import { awsErrorName, awsFailure } from './aws-errors.ts';

/** SQS accepts messages up to 1 MiB. */
const SQS_MAX_BYTES = 1_048_576;
/** Step Functions accepts execution input up to 256 KiB. */
const SFN_MAX_BYTES = 262_144;

/** Without these a stalled connection would hold the webhook until Lambda kills it. */
const REQUEST_HANDLER = { connectionTimeout: 3_000, requestTimeout: 5_000 };

function serialise(event: WebhookEvent, limit: number): string {
  const body = JSON.stringify(event);
  if (Buffer.byteLength(body) > limit) throw new PayloadTooLargeError(limit);
  return body;
}

/**
 * Sends each event as one SQS message (the event envelope as JSON) with the message attributes
 * `eventName`, `deliveryId` and `correlationId`. On a FIFO queue the delivery id is the deduplication
 * id, so a redelivery within five minutes is dropped by SQS as well.
 *
 * @example
 * ```ts
 * const sink = new SqsEventSink({ queueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/github-events' });
 * await sink.publish(event);
 * ```
 */
export class SqsEventSink implements WebhookEventSink {
  readonly name = 'sqs';
  readonly durable = true;
  readonly #queueUrl: string;
  readonly #client: SQSClient;

  constructor(
    options: { queueUrl: string },
    client: SQSClient = new SQSClient({ requestHandler: REQUEST_HANDLER }),
  ) {
    this.#queueUrl = options.queueUrl;
    this.#client = client;
  }

  async publish(event: WebhookEvent): Promise<void> {
    const input: SendMessageCommandInput = {
      QueueUrl: this.#queueUrl,
      MessageBody: serialise(event, SQS_MAX_BYTES),
      MessageAttributes: {
        eventName: { DataType: 'String', StringValue: event.name },
        deliveryId: { DataType: 'String', StringValue: event.deliveryId },
        correlationId: { DataType: 'String', StringValue: event.correlationId },
      },
    };
    if (this.#queueUrl.endsWith('.fifo')) {
      input.MessageGroupId = event.source ?? event.provider;
      input.MessageDeduplicationId = digest(event.deliveryId).slice(0, 64);
    }
    try {
      await this.#client.send(new SendMessageCommand(input));
    } catch (error) {
      throw awsFailure('SQS', 'SendMessage', error);
    }
  }
}

/**
 * The Step Functions execution name for a delivery: `github-<delivery id>` when that is a valid name,
 * else `github-` and a digest of the id. The same delivery always gets the same name, so Step Functions
 * itself refuses to start a second execution for it.
 *
 * @example
 * ```ts
 * executionNameFor('72d3162e-cc78-11e3-81ab-4c9367dc0958'); // 'github-72d3162e-cc78-11e3-81ab-4c9367dc0958'
 * ```
 */
export function executionNameFor(deliveryId: string): string {
  const plain = `github-${deliveryId}`;
  return /^[A-Za-z0-9_-]{1,80}$/.test(plain) ? plain : `github-${digest(deliveryId).slice(0, 64)}`;
}

/**
 * Starts one execution per event (input: the event envelope as JSON), named after the delivery id. An
 * execution that already exists for the delivery counts as handed on.
 *
 * @example
 * ```ts
 * const sink = new StepFunctionsEventSink({ stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:github-events' });
 * ```
 */
export class StepFunctionsEventSink implements WebhookEventSink {
  readonly name = 'step-functions';
  readonly durable = true;
  readonly #stateMachineArn: string;
  readonly #client: SFNClient;

  constructor(
    options: { stateMachineArn: string },
    client: SFNClient = new SFNClient({ requestHandler: REQUEST_HANDLER }),
  ) {
    this.#stateMachineArn = options.stateMachineArn;
    this.#client = client;
  }

  async publish(event: WebhookEvent): Promise<void> {
    try {
      await this.#client.send(
        new StartExecutionCommand({
          stateMachineArn: this.#stateMachineArn,
          name: executionNameFor(event.deliveryId),
          input: serialise(event, SFN_MAX_BYTES),
        }),
      );
    } catch (error) {
      if (error instanceof PayloadTooLargeError) throw error;
      // Started before (a redelivery after an earlier answer was lost): it is handed on already.
      if (awsErrorName(error) === 'ExecutionAlreadyExists') return;
      throw awsFailure('Step Functions', 'StartExecution', error);
    }
  }
}

/**
 * The fallback when no queue or state machine is configured: a warning line per event (name, delivery
 * id, source; never the payload). Not durable: nothing downstream sees the event.
 *
 * @example
 * ```ts
 * const sink = new LogEventSink(logger);
 * ```
 */
export class LogEventSink implements WebhookEventSink {
  readonly name = 'log';
  readonly durable = false;
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  async publish(event: WebhookEvent): Promise<void> {
    this.#logger.warn(
      'GitHub event accepted but not handed on: no events queue or state machine configured',
      {
        eventName: event.name,
        deliveryId: event.deliveryId,
        source: event.source,
      },
    );
  }
}

/**
 * Publishes to several sinks in order; fails as soon as one fails (consumers dedupe on `deliveryId`, since
 * a retry re-sends to the sinks that had succeeded).
 *
 * @example
 * ```ts
 * const sink = new FanOutSink([new SqsEventSink({ queueUrl }), new StepFunctionsEventSink({ stateMachineArn })]);
 * ```
 */
export class FanOutSink implements WebhookEventSink {
  readonly name: string;
  readonly durable: boolean;
  readonly #sinks: readonly WebhookEventSink[];

  constructor(sinks: readonly WebhookEventSink[]) {
    this.#sinks = sinks;
    this.name = sinks.map((sink) => sink.name).join('+');
    this.durable = sinks.some((sink) => sink.durable);
  }

  async publish(event: WebhookEvent): Promise<void> {
    for (const sink of this.#sinks) await sink.publish(event);
  }
}

/**
 * The durable sink the settings ask for: SQS for `GITHUB_EVENTS_QUEUE_URL`, Step Functions for
 * `GITHUB_EVENTS_STATE_MACHINE_ARN`, both when both are set; `undefined` when neither is (the caller then
 * falls back to a {@link LogEventSink}).
 *
 * @example
 * ```ts
 * const sink = eventSinkFromConfig({ queueUrl: config.GITHUB_EVENTS_QUEUE_URL }) ?? new LogEventSink(logger);
 * ```
 */
export function eventSinkFromConfig(
  settings: { queueUrl?: string | undefined; stateMachineArn?: string | undefined },
  clients: { sqs?: SQSClient | undefined; sfn?: SFNClient | undefined } = {},
): WebhookEventSink | undefined {
  const sinks: WebhookEventSink[] = [];
  if (settings.queueUrl !== undefined)
    sinks.push(new SqsEventSink({ queueUrl: settings.queueUrl }, clients.sqs));
  if (settings.stateMachineArn !== undefined) {
    sinks.push(new StepFunctionsEventSink({ stateMachineArn: settings.stateMachineArn }, clients.sfn));
  }
  if (sinks.length <= 1) return sinks[0];
  return new FanOutSink(sinks);
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
