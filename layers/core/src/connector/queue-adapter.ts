import type { SQSBatchItemFailure, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { ConfigSchema } from '../config.ts';
import { enterInvocation, withInvocation } from '../context.ts';
import {
  AuthError,
  ConfigurationError,
  type ConnectorError,
  isRetryable,
  toConnectorError,
  UnavailableError,
  ValidationError,
} from '../errors.ts';
import { parseJson } from '../json.ts';
import type { OperationSample } from '../observability.ts';
import { moveToDeadLetter } from './dead-letter.ts';
import { correlationIdFrom, parseEnvelope } from './envelope.ts';
import type { ConnectorRuntime, ExecutionMeta } from './runtime.ts';
import type { OperationRequest, Unfinished } from './types.ts';

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
 * is not configured or fails, returned to the queue so the redrive policy parks it there. Refused
 * credentials (AuthError, ForbiddenError) and a ConfigurationError are the operator's to fix, not the
 * record's: those records go back to the queue too, and succeed once fixed within the redrive window.
 * A fully failed batch is reported record by record too, never thrown, so one policy covers both cases.
 * FIFO queues stop a message group at its first failure; other groups go on.
 *
 * The batch loop is the core's own, with Powertools batch's semantics (`processPartialResponse` with
 * `BatchProcessor(EventType.SQS)`, and `SqsFifoPartialProcessorAsync` with `skipGroupOnError`, both with
 * `throwOnFullBatchFailure: false`): standard queues run every record at once, FIFO queues one at a time,
 * skipping the rest of a group after its first failure. Powertools reads its settings from the environment
 * on every access and wraps each record in promises of its own, about 13 µs a batch of 10, the largest part
 * of the core's batch cost (bench/RESULTS.md); queue-adapter.test.ts holds the two to the same answers.
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
  /** The batch's own scope (the invocation's request id), seen only between records; each has its own. */
  correlationId = 'sqs-batch',
  /** The invocation's own metric samples (see `ExecutionMeta.samples`): one list for the whole batch. */
  samples?: OperationSample[],
): Promise<QueueOutcome> {
  const records = event.Records;
  const bindings = queueBindings();
  const isFifo = records[0]?.eventSourceARN.endsWith('.fifo') ?? false;
  const batchItemFailures: SQSBatchItemFailure[] = [];
  if (isFifo) {
    const run = (record: SQSRecord): Promise<boolean> =>
      runRecord(runtime, record, bindings, deadline, false, samples);
    await runInGroups(records, run, batchItemFailures);
  } else {
    // Every record is started inside one scope of the batch, each entering its own (see enterInvocation).
    const pending = withInvocation(
      { deadline, correlationId },
      startRecords,
      runtime,
      records,
      bindings,
      deadline,
      samples,
    );
    const succeeded = await Promise.all(pending);
    for (let i = 0; i < records.length; i += 1) {
      if (!succeeded[i]) batchItemFailures.push({ itemIdentifier: (records[i] as SQSRecord).messageId });
    }
  }
  return { response: { batchItemFailures }, records: records.length, failed: batchItemFailures.length };
}

/**
 * FIFO: one record at a time; after a failure the rest of its message group fails unprocessed, so SQS
 * redelivers the group in order. A record without a group id is never skipped (as Powertools does).
 */
async function runInGroups(
  records: readonly SQSRecord[],
  run: (record: SQSRecord) => Promise<boolean>,
  batchItemFailures: SQSBatchItemFailure[],
): Promise<void> {
  const failedGroups = new Set<string>();
  for (const record of records) {
    const group = record.attributes?.MessageGroupId;
    if (group !== undefined && failedGroups.has(group)) {
      batchItemFailures.push({ itemIdentifier: record.messageId });
    } else if (!(await run(record))) {
      batchItemFailures.push({ itemIdentifier: record.messageId });
      if (group) failedGroups.add(group);
    }
  }
}

/** Starts every record of a standard queue's batch, each in its own scope; called inside the batch's scope. */
function startRecords<S extends ConfigSchema, Client, Services>(
  runtime: ConnectorRuntime<S, Client, Services>,
  records: readonly SQSRecord[],
  bindings: Map<string, string>,
  deadline: number,
  samples: OperationSample[] | undefined,
): Promise<boolean>[] {
  const pending: Promise<boolean>[] = new Array(records.length);
  for (let i = 0; i < records.length; i += 1) {
    pending[i] = runRecord(runtime, records[i] as SQSRecord, bindings, deadline, true, samples);
  }
  return pending;
}

/**
 * Runs one record's operation; false when the record must be reported as failed (returned to the queue).
 * Never rejects: every failure is logged here, with its reason. Not an async function: a record that
 * succeeds costs the operation's promise and one reaction, no frame of its own.
 */
function runRecord<S extends ConfigSchema, Client, Services>(
  runtime: ConnectorRuntime<S, Client, Services>,
  record: SQSRecord,
  bindings: Map<string, string>,
  deadline: number,
  /** Inside the batch's scope (records started together): enter the record's scope instead of nesting one. */
  batched: boolean,
  samples: OperationSample[] | undefined,
): Promise<boolean> {
  const bound = bindings.size === 0 ? undefined : bindings.get(queueName(record.eventSourceARN));
  let operation = bound;
  let correlationId =
    correlationIdFrom(record.messageAttributes?.['correlationId']?.stringValue) ?? record.messageId;
  let done: Promise<unknown>;
  let request: OperationRequest;
  let meta: ExecutionMeta;
  try {
    const body = parseJson(record.body, `message body of ${record.messageId}`);
    request = parseEnvelope(bound === undefined ? body : { operation: bound, input: body });
    operation = request.operation;
    correlationId = correlationIdFrom(request.correlationId) ?? correlationId;
    meta = {
      trigger: 'sqs',
      correlationId,
      idempotencyKey: request.idempotencyKey ?? record.messageId,
      samples,
    };
    // Its own scope per record (deadline, correlation id), with no closure per record.
    const scope = { deadline, correlationId };
    if (batched) {
      enterInvocation(scope);
      done = executeRequest(runtime, request, meta);
    } else {
      done = withInvocation(scope, executeRequest, runtime, request, meta);
    }
  } catch (error) {
    if (batched) enterInvocation({ deadline, correlationId });
    return recordFailed(runtime, record, operation, correlationId, error);
  }
  const failed = (error: unknown): Promise<boolean> =>
    recordFailed(runtime, record, operation, correlationId, error);
  const unfinished = runtime.unfinishedOf(request.operation);
  if (unfinished === undefined) return done.then(recordSucceeded, failed);
  return done.then((output) => recordDone(runtime, record, request, meta, unfinished, output, bound), failed);
}

const recordSucceeded = (): boolean => true;

/**
 * A record whose operation answered but left part of its input undone (refused entries of a batch): that
 * part, and only it, goes to the dead-letter queue with the reasons, so a redrive sends only what was not
 * done. It carries its own idempotency key (`<key>:unfinished`), or a redrive would replay this answer.
 * When it cannot be moved (no dead-letter queue, the move failed) the record is reported failed, so the
 * redrive policy keeps the whole message: nothing is lost, though a redrive may send the rest twice.
 */
async function recordDone<S extends ConfigSchema, Client, Services>(
  runtime: ConnectorRuntime<S, Client, Services>,
  record: SQSRecord,
  request: OperationRequest,
  meta: ExecutionMeta,
  reader: (output: unknown, input: unknown) => Unfinished | undefined,
  output: unknown,
  /** The queue's bound operation: its bodies are bare inputs, and so is what goes to the dead-letter queue. */
  bound: string | undefined,
): Promise<boolean> {
  let unfinished: Unfinished | undefined;
  try {
    unfinished = reader(output, request.input);
  } catch (error) {
    // The connector's own bug: the whole record goes the way of any internal error, never the whole batch.
    return recordFailed(runtime, record, request.operation, meta.correlationId, error);
  }
  if (unfinished === undefined) return true;
  const { issues, retryable } = unfinished;
  const listed = issues
    .slice(0, 10)
    .map((issue) => `${issue.pointer}: ${issue.message}`)
    .join('; ');
  const message = `${issues.length} part(s) of ${request.operation} not done${retryable ? ' (retryable)' : ''}: ${listed}`;
  const error = retryable ? new UnavailableError(message) : new ValidationError(message, issues);
  const key = unfinishedKey(meta.idempotencyKey ?? record.messageId);
  const body =
    bound === undefined
      ? {
          operation: request.operation,
          input: unfinished.input,
          correlationId: meta.correlationId,
          idempotencyKey: key,
        }
      : unfinished.input;
  const details = {
    messageId: record.messageId,
    operation: request.operation,
    correlationId: meta.correlationId,
    unfinished: issues.length,
    retryable,
    error: message.slice(0, 1000),
  };
  if (await moveToDeadLetter({ ...record, body: JSON.stringify(body) }, error, runtime)) {
    runtime.logger.warn('Record partly done; what is left moved to the dead-letter queue', details);
    return true;
  }
  runtime.logger.warn('Record partly done; left whole for the redrive policy', details);
  return false;
}

/** The idempotency key of a record's unfinished part: its own, within the core's 256 characters. */
function unfinishedKey(key: string): string {
  const suffix = ':unfinished';
  if (key.length + suffix.length <= 256) return `${key}${suffix}`;
  const crypto = process.getBuiltinModule('node:crypto') as typeof import('node:crypto');
  return `${crypto.createHash('sha256').update(key).digest('hex')}${suffix}`;
}

/** A failure of the connector's own credentials (401, 403) or configuration, not of the record. */
const operatorFault = (err: ConnectorError): boolean =>
  err instanceof AuthError || err instanceof ConfigurationError;

/**
 * A record that failed: one that can never succeed goes to the dead-letter queue now, with its reason, and
 * counts as handled; when that is not possible it is left to the redrive policy, so nothing is lost.
 */
async function recordFailed<S extends ConfigSchema, Client, Services>(
  runtime: ConnectorRuntime<S, Client, Services>,
  record: SQSRecord,
  operation: string | undefined,
  correlationId: string,
  error: unknown,
): Promise<boolean> {
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
  // On its last receive a record the queue would park anyway goes to the DLQ now, with its reason.
  const last = lastReceive(record);
  // Refused credentials, a missing scope or setting: the operator's to fix, not the record's, so the
  // record stays with the redrive policy and succeeds once fixed (or reaches the DLQ after maxReceiveCount).
  if (!retryable && operatorFault(err) && !last) {
    runtime.logger.warn(
      'Record failed on credentials or configuration, left for the redrive policy',
      details,
    );
    return false;
  }
  if ((!retryable || last) && (await moveToDeadLetter(record, err, runtime))) {
    runtime.logger.warn(
      retryable || operatorFault(err)
        ? 'Record failed on its last receive, moved to the dead-letter queue'
        : 'Poison record moved to the dead-letter queue',
      details,
    );
    return true;
  }
  runtime.logger.warn(
    retryable ? 'Record failed, will be retried' : 'Poison record, left for the DLQ',
    details,
  );
  return false;
}

/**
 * Whether this is the record's last receive before the redrive policy parks it: `CIRCLE_MAX_RECEIVE_COUNT`
 * (serverless.yml sets it to the policies' `maxReceiveCount`) reached. Unset: never.
 */
function lastReceive(record: SQSRecord): boolean {
  const max = Number(process.env['CIRCLE_MAX_RECEIVE_COUNT']);
  const count = Number(record.attributes?.ApproximateReceiveCount);
  return Number.isInteger(max) && max >= 1 && count >= max;
}

function executeRequest<S extends ConfigSchema, Client, Services>(
  runtime: ConnectorRuntime<S, Client, Services>,
  request: OperationRequest,
  meta: ExecutionMeta,
): Promise<unknown> {
  return runtime.execute(request.operation, request.input, meta);
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
