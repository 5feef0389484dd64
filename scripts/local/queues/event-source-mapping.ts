/**
 * An SQS event source mapping, as Lambda runs one: pollers receive up to `batchSize` messages (waiting up
 * to the batching window to fill a batch), invoke the function with an SQS event while the messages are
 * hidden for the queue's visibility timeout, then delete the successes. With `ReportBatchItemFailures`, the
 * listed failures stay and reappear after the timeout; when the function throws or times out, the whole
 * batch does. The queue's redrive policy then moves a message received too often to its DLQ.
 */
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { systemAttributes } from '../aws/sqs.ts';
import type { SqsMapping } from '../config/model.ts';
import type { InvokeOutcome } from '../functions/function-process.ts';
import type { StackLog } from '../log.ts';
import type { LocalQueue, StoredMessage } from './queue-engine.ts';

/** What the mapping did, for `/health`. */
export interface MappingStats {
  batches: number;
  received: number;
  deleted: number;
  failedBatches: number;
}

/**
 * The SQS event Lambda builds from received messages.
 *
 * @example
 * ```ts
 * const event = sqsEventFor(queue, queue.receive({ max: 10 }), 'us-east-1');
 * ```
 */
export function sqsEventFor(queue: LocalQueue, messages: StoredMessage[], region: string): SQSEvent {
  return {
    Records: messages.map((message): SQSRecord => {
      const messageAttributes: SQSRecord['messageAttributes'] = {};
      for (const [name, value] of Object.entries(message.attributes)) {
        const attribute: SQSRecord['messageAttributes'][string] = {
          dataType: value.DataType as SQSRecord['messageAttributes'][string]['dataType'],
          stringListValues: [],
          binaryListValues: [],
        };
        if (value.StringValue !== undefined) attribute.stringValue = value.StringValue;
        if (value.BinaryValue !== undefined) attribute.binaryValue = value.BinaryValue;
        messageAttributes[name] = attribute;
      }
      const record: SQSRecord = {
        messageId: message.id,
        receiptHandle: message.receiptHandle ?? '',
        body: message.body,
        attributes: systemAttributes(message) as unknown as SQSRecord['attributes'],
        messageAttributes,
        md5OfBody: message.md5OfBody,
        eventSource: 'aws:sqs',
        eventSourceARN: queue.arn,
        awsRegion: region,
      };
      if (message.md5OfAttributes !== undefined) {
        (record as SQSRecord & { md5OfMessageAttributes?: string }).md5OfMessageAttributes =
          message.md5OfAttributes;
      }
      return record;
    }),
  };
}

/** The message ids a function reported as failed, or undefined when the response fails the whole batch. */
function reportedFailures(payload: string | undefined, batch: StoredMessage[]): Set<string> | undefined {
  let response: unknown;
  try {
    response = JSON.parse(payload ?? 'null');
  } catch {
    return undefined;
  }
  if (response === null || typeof response !== 'object') return new Set();
  const failures = (response as { batchItemFailures?: unknown }).batchItemFailures;
  if (failures === undefined || failures === null) return new Set();
  if (!Array.isArray(failures)) return undefined;
  const ids = new Set(batch.map((message) => message.id));
  const failed = new Set<string>();
  for (const item of failures) {
    const id = (item as { itemIdentifier?: unknown })?.itemIdentifier;
    // Lambda treats an empty, missing or unknown identifier as a failure of the whole batch.
    if (typeof id !== 'string' || !ids.has(id)) return undefined;
    failed.add(id);
  }
  return failed;
}

/** One running mapping from a queue to a function. */
export class EventSourceMapping {
  readonly spec: SqsMapping;
  readonly queue: LocalQueue;
  readonly stats: MappingStats = { batches: 0, received: 0, deleted: 0, failedBatches: 0 };
  readonly #invoke: (event: SQSEvent) => Promise<InvokeOutcome>;
  readonly #region: string;
  readonly #log: StackLog;
  readonly #abort = new AbortController();
  #gathering: Promise<void> = Promise.resolve();
  #pollers: Promise<void>[] = [];

  constructor(
    spec: SqsMapping,
    queue: LocalQueue,
    options: { invoke: (event: SQSEvent) => Promise<InvokeOutcome>; region: string; log: StackLog },
  ) {
    this.spec = spec;
    this.queue = queue;
    this.#invoke = options.invoke;
    this.#region = options.region;
    this.#log = options.log;
  }

  /** Starts the pollers (one batch in flight per poller). */
  start(): void {
    if (!this.spec.enabled) return;
    for (let index = 0; index < Math.max(1, this.spec.maximumConcurrency); index += 1) {
      this.#pollers.push(this.#poll());
    }
  }

  /** Stops polling and waits for the batches in flight. */
  async stop(): Promise<void> {
    this.#abort.abort();
    await Promise.allSettled(this.#pollers);
  }

  async #poll(): Promise<void> {
    const signal = this.#abort.signal;
    while (!signal.aborted) {
      const batch = await this.#gather(signal);
      if (batch.length === 0) continue;
      await this.#run(batch);
    }
  }

  /** One poller gathers at a time, so a batching window fills one batch instead of splitting it. */
  async #gather(signal: AbortSignal): Promise<StoredMessage[]> {
    const previous = this.#gathering;
    let release = (): void => undefined;
    this.#gathering = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      const batch: StoredMessage[] = [];
      while (batch.length === 0 && !signal.aborted) {
        batch.push(...this.queue.receive({ max: this.spec.batchSize }));
        if (batch.length === 0) await this.queue.waitForChange(1000, signal);
      }
      const windowEnd = Date.now() + this.spec.batchingWindowSeconds * 1000;
      while (batch.length < this.spec.batchSize && Date.now() < windowEnd && !signal.aborted) {
        await this.queue.waitForChange(windowEnd - Date.now(), signal);
        batch.push(...this.queue.receive({ max: this.spec.batchSize - batch.length }));
      }
      return batch;
    } finally {
      release();
    }
  }

  async #run(batch: StoredMessage[]): Promise<void> {
    this.stats.batches += 1;
    this.stats.received += batch.length;
    const handles = new Map(batch.map((message) => [message.id, message.receiptHandle ?? '']));
    const outcome = await this.#invoke(sqsEventFor(this.queue, batch, this.#region));
    if (outcome.error !== undefined) {
      this.stats.failedBatches += 1;
      this.#log.warn('batch failed; its messages reappear after the visibility timeout', {
        function: this.spec.functionKey,
        queue: this.queue.name,
        messages: batch.length,
        errorType: outcome.error.errorType,
      });
      // A failing function must not spin on the same messages: Lambda backs off too.
      await new Promise((resolve) => setTimeout(resolve, 200));
      return;
    }
    let failed: Set<string> | undefined = new Set();
    if (this.spec.reportBatchItemFailures) failed = reportedFailures(outcome.payload, batch);
    if (failed === undefined) {
      this.stats.failedBatches += 1;
      this.#log.warn('invalid batch response; the whole batch reappears after the visibility timeout', {
        function: this.spec.functionKey,
        queue: this.queue.name,
      });
      return;
    }
    for (const [id, handle] of handles) {
      if (failed.has(id)) continue;
      this.queue.delete(handle);
      this.stats.deleted += 1;
    }
  }
}
