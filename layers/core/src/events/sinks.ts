/**
 * Where accepted events go: an SQS queue, a Step Functions state machine, both, or, when neither is
 * configured, only the log. The SDK clients are built by the AWS kit on first use.
 */
import { createHash } from 'node:crypto';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SendMessageCommandInput, SQSClient } from '@aws-sdk/client-sqs';
import { awsCall } from '../aws/call.ts';
import { createAwsClient } from '../aws/client.ts';
import { awsErrorName } from '../aws/errors.ts';
import { SQS_MESSAGE_LIMIT_BYTES } from '../aws/limits.ts';
import { PayloadTooLargeError } from '../errors.ts';
import type { Logger } from '../observability.ts';
import type { WebhookEvent, WebhookEventSink } from './types.ts';

/** Step Functions accepts execution input up to 256 KiB. */
const SFN_MAX_BYTES = 262_144;

function serialise(event: WebhookEvent, limit: number): string {
  const body = JSON.stringify(event);
  const bytes = Buffer.byteLength(body);
  if (bytes > limit) {
    throw new PayloadTooLargeError(limit, {
      message: `The ${event.provider} event ${event.deliveryId} is ${bytes} bytes, over the ${limit}-byte limit of its sink`,
    });
  }
  return body;
}

function digest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/**
 * Sends each event as one SQS message (the event envelope as JSON) with the message attributes
 * `eventName`, `deliveryId` and `correlationId`. On a FIFO queue the delivery id is the deduplication
 * id, so a redelivery within five minutes is dropped by SQS as well.
 *
 * @example
 * ```ts
 * const sink = new SqsEventSink({ queueUrl, connector: 'github' });
 * await sink.publish(event);
 * ```
 */
export class SqsEventSink implements WebhookEventSink {
  readonly name = 'sqs';
  readonly durable = true;
  readonly #queueUrl: string;
  readonly #connector: string;
  #client: Promise<SQSClient> | undefined;

  constructor(options: { queueUrl: string; connector: string }, client?: SQSClient) {
    this.#queueUrl = options.queueUrl;
    this.#connector = options.connector;
    if (client !== undefined) this.#client = Promise.resolve(client);
  }

  /** Built on the first publish: init, and every invocation that hands nothing on, never load the SQS SDK. */
  #sqs(): Promise<SQSClient> {
    this.#client ??= import('@aws-sdk/client-sqs').then(({ SQSClient: Client }) =>
      createAwsClient(Client, this.#connector),
    );
    return this.#client;
  }

  async publish(event: WebhookEvent): Promise<void> {
    const input: SendMessageCommandInput = {
      QueueUrl: this.#queueUrl,
      MessageBody: serialise(event, SQS_MESSAGE_LIMIT_BYTES),
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
    const [client, { SendMessageCommand }] = await Promise.all([this.#sqs(), import('@aws-sdk/client-sqs')]);
    await awsCall({ service: 'SQS', action: 'SendMessage' }, (abortSignal) =>
      client.send(new SendMessageCommand(input), { abortSignal }),
    );
  }
}

/**
 * The Step Functions execution name for a delivery: `<provider>-<delivery id>` when that is a valid name,
 * else the provider and a digest of the id. The same delivery always gets the same name, so Step Functions
 * itself refuses to start a second execution for it.
 *
 * @example
 * ```ts
 * executionNameFor('github', '72d3162e-cc78-11e3-81ab-4c9367dc0958'); // 'github-72d3162e-cc78-11e3-81ab-4c9367dc0958'
 * ```
 */
export function executionNameFor(provider: string, deliveryId: string): string {
  const plain = `${provider}-${deliveryId}`;
  return /^[A-Za-z0-9_-]{1,80}$/.test(plain) ? plain : `${provider}-${digest(deliveryId).slice(0, 64)}`;
}

/**
 * Starts one execution per event (input: the event envelope as JSON), named after the delivery id. An
 * execution that already exists for the delivery counts as handed on.
 *
 * @example
 * ```ts
 * const sink = new StepFunctionsEventSink({ stateMachineArn, connector: 'github' });
 * ```
 */
export class StepFunctionsEventSink implements WebhookEventSink {
  readonly name = 'step-functions';
  readonly durable = true;
  readonly #stateMachineArn: string;
  readonly #connector: string;
  #client: Promise<SFNClient> | undefined;

  constructor(options: { stateMachineArn: string; connector: string }, client?: SFNClient) {
    this.#stateMachineArn = options.stateMachineArn;
    this.#connector = options.connector;
    if (client !== undefined) this.#client = Promise.resolve(client);
  }

  /** Built on the first publish, like the SQS sink's client. */
  #sfn(): Promise<SFNClient> {
    this.#client ??= import('@aws-sdk/client-sfn').then(({ SFNClient: Client }) =>
      createAwsClient(Client, this.#connector),
    );
    return this.#client;
  }

  async publish(event: WebhookEvent): Promise<void> {
    const input = serialise(event, SFN_MAX_BYTES);
    const [client, { StartExecutionCommand }] = await Promise.all([
      this.#sfn(),
      import('@aws-sdk/client-sfn'),
    ]);
    const start = new StartExecutionCommand({
      stateMachineArn: this.#stateMachineArn,
      name: executionNameFor(event.provider, event.deliveryId),
      input,
    });
    try {
      await awsCall({ service: 'Step Functions', action: 'StartExecution' }, (abortSignal) =>
        client.send(start, { abortSignal }),
      );
    } catch (error) {
      // Started before (a redelivery after an earlier answer was lost): it is handed on already.
      if (awsErrorName((error as { cause?: unknown }).cause) === 'ExecutionAlreadyExists') return;
      throw error;
    }
  }
}

/**
 * The fallback when no queue or state machine is configured: a warning line per event (name, delivery
 * id, source; never the payload). Not durable: nothing downstream sees the event.
 *
 * @example
 * ```ts
 * const sink = new LogEventSink(logger, 'no GITHUB_EVENTS_QUEUE_URL is configured');
 * ```
 */
export class LogEventSink implements WebhookEventSink {
  readonly name = 'log';
  readonly durable = false;
  readonly #logger: Logger;
  readonly #reason: string;

  constructor(logger: Logger, reason = 'no events queue or state machine is configured') {
    this.#logger = logger;
    this.#reason = reason;
  }

  async publish(event: WebhookEvent): Promise<void> {
    this.#logger.warn(`${event.provider} event accepted but not handed on: ${this.#reason}`, {
      eventName: event.name,
      deliveryId: event.deliveryId,
      source: event.source,
    });
  }
}

/**
 * Publishes to several sinks in order; fails as soon as one fails (consumers dedupe on `deliveryId`, since
 * a retry re-sends to the sinks that had succeeded).
 *
 * @example
 * ```ts
 * const sink = new FanOutSink([new SqsEventSink({ queueUrl, connector }), new StepFunctionsEventSink({ stateMachineArn, connector })]);
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
 * The durable sink the settings ask for: SQS for a queue URL, Step Functions for a state machine ARN, both
 * when both are set; `undefined` when neither is (the caller then falls back to a {@link LogEventSink}).
 *
 * @example
 * ```ts
 * const sink = eventSinkFromSettings({ connector: 'github', queueUrl: config.GITHUB_EVENTS_QUEUE_URL }) ?? new LogEventSink(logger);
 * ```
 */
export function eventSinkFromSettings(
  settings: { connector: string; queueUrl?: string | undefined; stateMachineArn?: string | undefined },
  clients: { sqs?: SQSClient | undefined; sfn?: SFNClient | undefined } = {},
): WebhookEventSink | undefined {
  const { connector } = settings;
  const sinks: WebhookEventSink[] = [];
  if (settings.queueUrl !== undefined) {
    sinks.push(new SqsEventSink({ queueUrl: settings.queueUrl, connector }, clients.sqs));
  }
  if (settings.stateMachineArn !== undefined) {
    sinks.push(
      new StepFunctionsEventSink({ stateMachineArn: settings.stateMachineArn, connector }, clients.sfn),
    );
  }
  if (sinks.length <= 1) return sinks[0];
  return new FanOutSink(sinks);
}
