import type { BatchProcessor, SqsFifoPartialProcessorAsync } from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { ConfigSchema } from '../config.ts';
import { withInvocation } from '../context.ts';
import { isRetryable, toConnectorError } from '../errors.ts';
import { parseJson } from '../json.ts';
import { moveToDeadLetter } from './dead-letter.ts';
import { correlationIdFrom, parseEnvelope } from './envelope.ts';
import type { ConnectorRuntime } from './runtime.ts';

type Batch = typeof import('@aws-lambda-powertools/batch');

// One processor of each kind per container, as Powertools recommends: `processPartialResponse` resets it
// for every batch. Lambda runs one batch at a time per container; a concurrent caller (tests, a local host
// running several batches at once) gets a fresh processor instead of sharing the busy one.
// Powertools batch loads with the first SQS batch, not at init: HTTP, schedule and Step Functions
// invocations never use it (bench/RESULTS.md, cold start).
let shared:
  | Promise<{ batch: Batch; standard: BatchProcessor; fifo: SqsFifoPartialProcessorAsync; busy: boolean }>
  | undefined;

function loadShared(): NonNullable<typeof shared> {
  shared ??= import('@aws-lambda-powertools/batch').then((batch) => ({
    batch,
    standard: new batch.BatchProcessor(batch.EventType.SQS),
    fifo: new batch.SqsFifoPartialProcessorAsync(),
    busy: false,
  }));
  return shared;
}

/** Counts for the invocation's log line. */
export interface QueueOutcome {
  response: SQSBatchResponse;
  records: number;
  failed: number;
}

/**
 * Serves an SQS batch. Each record is one operation request, run independently; a failure is reported
 * for that record alone (`batchItemFailures`), so SQS redelivers only it and, after `maxReceiveCount`,
 * moves it to the dead-letter queue. Nothing is dropped: a non-retryable failure (invalid input) is moved to
 * the function's dead-letter queue at once with its reason (`CIRCLE_DEAD_LETTER_QUEUE_URL`), or, when that
 * is not configured or fails, returned to the queue so the redrive policy parks it there.
 * A fully failed batch is reported record by record too, never thrown, so one policy covers both cases.
 * FIFO queues stop a message group at its first failure; other groups go on.
 *
 * @example
 * ```ts
 * const { response } = await handleQueue(runtime, sqsEvent, deadline); // { batchItemFailures: [...] }
 * ```
 */
export async function handleQueue<S extends ConfigSchema, Client, Services>(
  runtime: ConnectorRuntime<S, Client, Services>,
  event: SQSEvent,
  deadline: number,
): Promise<QueueOutcome> {
  const bindings = queueBindings();
  const isFifo = event.Records[0]?.eventSourceARN.endsWith('.fifo') ?? false;
  const recordHandler = async (record: SQSRecord): Promise<void> => {
    let operation = bindings.get(queueName(record.eventSourceARN));
    let correlationId =
      correlationIdFrom(record.messageAttributes?.['correlationId']?.stringValue) ?? record.messageId;
    try {
      const body = parseJson(record.body, `message body of ${record.messageId}`);
      const request = parseEnvelope(operation === undefined ? body : { operation, input: body });
      operation = request.operation;
      correlationId = correlationIdFrom(request.correlationId) ?? correlationId;
      const meta = {
        trigger: 'sqs' as const,
        correlationId,
        idempotencyKey: request.idempotencyKey ?? record.messageId,
      };
      await withInvocation({ deadline, correlationId }, () =>
        runtime.execute(request.operation, request.input, meta),
      );
    } catch (error) {
      const err = toConnectorError(error);
      const retryable = isRetryable(err);
      const details = {
        messageId: record.messageId,
        operation,
        correlationId,
        errorName: err.name,
        errorCode: err.code,
        error: err.message,
        receiveCount: record.attributes?.ApproximateReceiveCount,
      };
      // A record that can never succeed goes to the dead-letter queue now, with its reason, and counts as
      // handled; when that is not possible it is left to the redrive policy, so nothing is lost.
      if (!retryable && (await moveToDeadLetter(record, err, runtime))) {
        runtime.logger.warn('Poison record moved to the dead-letter queue', details);
        return;
      }
      runtime.logger.warn(
        retryable ? 'Record failed, will be retried' : 'Poison record, left for the DLQ',
        details,
      );
      throw err;
    }
  };
  const shared = await loadShared();
  const { BatchProcessor, EventType, processPartialResponse, SqsFifoPartialProcessorAsync } = shared.batch;
  const reuse = !shared.busy;
  shared.busy = true;
  try {
    const response = isFifo
      ? await processPartialResponse(
          event,
          recordHandler,
          reuse ? shared.fifo : new SqsFifoPartialProcessorAsync(),
          {
            skipGroupOnError: true,
            throwOnFullBatchFailure: false,
          },
        )
      : await processPartialResponse(
          event,
          recordHandler,
          reuse ? shared.standard : new BatchProcessor(EventType.SQS),
          {
            throwOnFullBatchFailure: false,
          },
        );
    return { response, records: event.Records.length, failed: response.batchItemFailures.length };
  } finally {
    if (reuse) shared.busy = false;
  }
}

let parsedBindings: { raw: string; map: Map<string, string> } | undefined;

/**
 * `CIRCLE_QUEUE_BINDINGS=queue-a=operation-a,queue-b=operation-b`: queues whose bodies are bare inputs.
 * Parsed once per container (again only if the variable changes, as it does between tests).
 */
function queueBindings(): Map<string, string> {
  const raw = process.env['CIRCLE_QUEUE_BINDINGS'] ?? '';
  if (parsedBindings?.raw === raw) return parsedBindings.map;
  const map = new Map<string, string>();
  for (const pair of raw.split(',')) {
    const [queue, operation] = pair.split('=').map((part) => part.trim());
    if (queue && operation) map.set(queue, operation);
  }
  parsedBindings = { raw, map };
  return map;
}

function queueName(arn: string): string {
  return arn.slice(arn.lastIndexOf(':') + 1);
}
