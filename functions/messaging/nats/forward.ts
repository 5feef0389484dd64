/**
 * `forward-messages`, the polling schedule by which NATS consumption reaches Lambda (AWS has no event
 * source for NATS): each run pulls bounded batches from a durable JetStream consumer while time is left,
 * hands every message on as an event (the core's `handOn`: deduplicated on the stream sequence, to the
 * configured queue or state machine) and acknowledges a message only after it was handed on. The
 * consumer's acknowledgement floor is the checkpoint, kept by JetStream: a run that dies after a pull
 * acknowledges nothing, and those messages come back after the consumer's ack wait; one that dies after
 * handing on but before acknowledging gets them back too, and the ledger answers "duplicate" for them.
 */
import {
  type DeliveryLedger,
  handOn,
  type Logger,
  toConnectorError,
  type WebhookEvent,
  type WebhookEventSink,
} from '@circle-core/core';
import type { ReceiveInput, SettleInput, SettleOutput } from '#shared/models/message-publisher.ts';
import type { PulledMessage } from './client.ts';
import type { ForwardMessagesOutput, ForwardMessagesRequest } from './models.ts';

/** JetStream's own cap on one pull (the connector's receive limit). */
const PULL_SIZE = 100;

/** The connector calls a run makes. */
export interface PullSource {
  pull(input: ReceiveInput): Promise<{ stream: string; consumer: string; messages: PulledMessage[] }>;
  acknowledge(input: SettleInput): Promise<SettleOutput>;
  release(input: SettleInput): Promise<SettleOutput>;
}

/** What one run needs; built once per container (the ledger and sink) plus the invocation's logger. */
export interface MessageForwarder {
  source: PullSource;
  ledger: DeliveryLedger;
  sink: WebhookEventSink;
  logger: Logger;
  /** Milliseconds left in the invocation. */
  remainingTimeMs: () => number;
  /** Time kept back for settling and returning: no pull starts with less left than this plus its wait. */
  reserveMs: number;
  now?: () => number;
}

/** The delivery id of a stream message: the same on every redelivery, unique within the stream. */
export function deliveryIdOf(stream: string, sequence: number): string {
  return `nats:${stream}#${sequence}`;
}

/**
 * Runs one forwarding pass over the durable consumer.
 *
 * @example
 * ```ts
 * const report = await forwardMessages({ maxMessages: 500, waitTimeMs: 1_000 }, correlationId, forwarder);
 * ```
 */
export async function forwardMessages(
  input: ForwardMessagesRequest,
  correlationId: string,
  forwarder: MessageForwarder,
): Promise<ForwardMessagesOutput> {
  const { source, ledger, sink, logger } = forwarder;
  const now = forwarder.now ?? Date.now;
  const where = input.source === undefined ? {} : { source: input.source };
  const report: ForwardMessagesOutput = {
    stream: '',
    consumer: '',
    pulled: 0,
    handedOn: 0,
    duplicates: 0,
    released: 0,
    unsettled: 0,
    sink: sink.name,
    stoppedBy: 'max-messages',
  };
  while (report.pulled < input.maxMessages) {
    if (forwarder.remainingTimeMs() < forwarder.reserveMs + input.waitTimeMs) {
      report.stoppedBy = 'time';
      break;
    }
    const batch = await source.pull({
      ...where,
      maxMessages: Math.min(PULL_SIZE, input.maxMessages - report.pulled),
      waitTimeMs: input.waitTimeMs,
    });
    report.stream = batch.stream;
    report.consumer = batch.consumer;
    if (batch.messages.length === 0) {
      report.stoppedBy = 'drained';
      break;
    }
    report.pulled += batch.messages.length;
    const handed: string[] = [];
    let failed: PulledMessage[] = [];
    for (const [index, message] of batch.messages.entries()) {
      try {
        const outcome = await handOn(eventOf(batch.stream, batch.consumer, message, correlationId, now), {
          ledger,
          sink,
          logger,
        });
        if (outcome.status === 'duplicate') report.duplicates += 1;
        else report.handedOn += 1;
        handed.push(message.receipt);
      } catch (error) {
        // In stream order: the rest of the batch goes back with it rather than overtaking it.
        failed = batch.messages.slice(index);
        logger.error('Handing on a NATS message failed; it and the rest of its batch are released', {
          stream: batch.stream,
          sequence: message.sequence,
          error: toConnectorError(error).message,
        });
        break;
      }
    }
    // Acknowledged only now, after each was handed on: the acknowledgement floor is the checkpoint.
    if (handed.length > 0) {
      const { results } = await source.acknowledge({ ...where, receipts: handed });
      report.unsettled += results.filter((result) => !result.ok).length;
    }
    if (failed.length > 0) {
      report.released += failed.length;
      await source.release({ ...where, receipts: failed.map((message) => message.receipt) }).catch(() => {
        // Not released: the ack wait brings them back all the same.
      });
      report.stoppedBy = 'hand-on-failed';
      break;
    }
  }
  logger.info('forward-messages finished', { ...report });
  return report;
}

function eventOf(
  stream: string,
  consumer: string,
  message: PulledMessage,
  correlationId: string,
  now: () => number,
): WebhookEvent {
  return {
    provider: 'nats',
    name: 'message-received',
    event: message.subject,
    deliveryId: deliveryIdOf(stream, message.sequence),
    correlationId,
    receivedAt: new Date(now()).toISOString(),
    source: `${stream}/${consumer}`,
    payload: {
      subject: message.subject,
      sequence: message.sequence,
      body: message.body,
      attributes: message.attributes,
      ...(message.messageId === undefined ? {} : { messageId: message.messageId }),
      redelivered: message.redelivered,
      ...(message.deliveryCount === undefined ? {} : { deliveryCount: message.deliveryCount }),
    },
  };
}
