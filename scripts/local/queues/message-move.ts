/**
 * SQS message move tasks (dead-letter queue redrive), as `StartMessageMoveTask`, `ListMessageMoveTasks` and
 * `CancelMessageMoveTask` describe them: a task moves the messages of a dead-letter queue, oldest first, to
 * an explicit destination or back to the queue each came from, at most `MaxNumberOfMessagesPerSecond` a
 * second when given; moved messages are new messages (new id, receive count 0, the body and attributes
 * kept); one task runs per source queue at a time; a message the queue did not dead-letter itself (sent to
 * it directly, as the core does with poison records) has no source, so without a destination the task
 * fails with `CouldNotDetermineMessageSource`, as in AWS. Errors and messages follow the service's.
 */
import { randomUUID } from 'node:crypto';
import { type LocalQueue, type QueueEngine, type StoredMessage, sqsError } from './queue-engine.ts';

/** A task's status, as ListMessageMoveTasks reports it. */
export type MoveTaskStatus = 'RUNNING' | 'COMPLETED' | 'CANCELLING' | 'CANCELLED' | 'FAILED';

/** What StartMessageMoveTask takes. */
export interface MoveTaskInput {
  sourceArn: string;
  destinationArn?: string | undefined;
  maxNumberOfMessagesPerSecond?: number | undefined;
}

interface MoveTask {
  id: string;
  handle: string;
  sourceArn: string;
  destinationArn: string | undefined;
  maxPerSecond: number | undefined;
  status: MoveTaskStatus;
  moved: number;
  toMove: number;
  startedAt: number;
  failureReason: string | undefined;
  timer: NodeJS.Timeout | undefined;
}

/** Tasks kept per source queue (ListMessageMoveTasks answers at most ten). */
const HISTORY = 10;
/** Without a rate, messages move in slices, so a large queue does not hold the event loop. */
const SLICE = 100;

function sourceMissing(parameter: 'SourceArn' | 'DestinationArn'): Error {
  return sqsError(
    'ResourceNotFoundException',
    `The resource that you specified for the ${parameter} parameter doesn't exist.`,
  );
}

function encodeHandle(taskId: string, sourceArn: string): string {
  return Buffer.from(JSON.stringify({ taskId, sourceArn })).toString('base64');
}

function decodeHandle(handle: string): { taskId: string; sourceArn: string } {
  try {
    const decoded = JSON.parse(Buffer.from(handle, 'base64').toString('utf8')) as Record<string, unknown>;
    if (typeof decoded['taskId'] === 'string' && typeof decoded['sourceArn'] === 'string') {
      return { taskId: decoded['taskId'], sourceArn: decoded['sourceArn'] };
    }
  } catch {
    // Answered below.
  }
  throw sqsError('InvalidParameterValue', 'Value for parameter TaskHandle is invalid.');
}

/** The message move tasks of one queue engine. */
export class MessageMoveTasks {
  readonly #engine: QueueEngine;
  /** Per source ARN, newest first. */
  readonly #tasks = new Map<string, MoveTask[]>();

  constructor(engine: QueueEngine) {
    this.#engine = engine;
  }

  /**
   * Starts a task and answers its handle; the messages move in the background.
   *
   * @example
   * ```ts
   * const handle = moves.start({ sourceArn: dlq.arn }); // back to the queues they came from
   * ```
   */
  start(input: MoveTaskInput): string {
    const source = this.#engine.byArn(input.sourceArn);
    if (source === undefined) throw sourceMissing('SourceArn');
    if (this.#engine.deadLetterSources(source).length === 0) {
      throw sqsError('InvalidParameterValue', 'Source queue must be configured as a Dead Letter Queue.');
    }
    if (input.destinationArn !== undefined) this.#checkDestination(source, input.destinationArn);
    const rate = input.maxNumberOfMessagesPerSecond;
    if (rate !== undefined && (!Number.isInteger(rate) || rate < 1 || rate > 500)) {
      throw sqsError(
        'InvalidParameterValue',
        'Value for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and 500.',
      );
    }
    const history = this.#tasks.get(source.arn) ?? [];
    if (history.some((task) => task.status === 'RUNNING')) {
      throw sqsError(
        'InvalidParameterValue',
        'There is already a task running. Only one active task is allowed for a source queue arn at a given time.',
      );
    }
    const counts = source.counts();
    const id = randomUUID();
    const task: MoveTask = {
      id,
      handle: encodeHandle(id, source.arn),
      sourceArn: source.arn,
      destinationArn: input.destinationArn,
      maxPerSecond: rate,
      status: 'RUNNING',
      moved: 0,
      toMove: counts.visible + counts.delayed,
      startedAt: Date.now(),
      failureReason: undefined,
      timer: undefined,
    };
    this.#tasks.set(source.arn, [task, ...history].slice(0, HISTORY));
    this.#schedule(task, 0);
    return task.handle;
  }

  /**
   * The most recent tasks of a source queue, newest first, as ListMessageMoveTasks answers them.
   *
   * @example
   * ```ts
   * const [latest] = moves.list(dlq.arn); // { Status: 'COMPLETED', ApproximateNumberOfMessagesMoved: 1, ... }
   * ```
   */
  list(sourceArn: string, maxResults = 1): Record<string, unknown>[] {
    if (!Number.isInteger(maxResults) || maxResults < 1 || maxResults > 10) {
      throw sqsError(
        'InvalidParameterValue',
        'Value for parameter MaxResults is invalid. Reason: must be between 1 and 10.',
      );
    }
    const source = this.#engine.byArn(sourceArn);
    if (source === undefined) throw sourceMissing('SourceArn');
    return (this.#tasks.get(source.arn) ?? []).slice(0, maxResults).map((task) => ({
      ...(task.status === 'RUNNING' ? { TaskHandle: task.handle } : {}),
      Status: task.status,
      SourceArn: task.sourceArn,
      ...(task.destinationArn === undefined ? {} : { DestinationArn: task.destinationArn }),
      ...(task.maxPerSecond === undefined ? {} : { MaxNumberOfMessagesPerSecond: task.maxPerSecond }),
      ApproximateNumberOfMessagesMoved: task.moved,
      ApproximateNumberOfMessagesToMove: task.toMove,
      ...(task.failureReason === undefined ? {} : { FailureReason: task.failureReason }),
      StartedTimestamp: task.startedAt,
    }));
  }

  /**
   * Cancels a running task; answers how many messages it moved. Moved messages stay moved.
   *
   * @example
   * ```ts
   * const moved = moves.cancel(handle);
   * ```
   */
  cancel(handle: string): number {
    const { taskId, sourceArn } = decodeHandle(handle);
    const source = this.#engine.byArn(sourceArn);
    if (source === undefined) throw sourceMissing('SourceArn');
    const task = this.#tasks.get(source.arn)?.find((candidate) => candidate.id === taskId);
    if (task === undefined) throw sqsError('ResourceNotFoundException', 'Task does not exist.');
    if (task.status !== 'RUNNING') {
      throw sqsError('InvalidParameterValue', 'Only a task whose status is RUNNING can be cancelled.');
    }
    clearTimeout(task.timer);
    task.status = 'CANCELLED';
    return task.moved;
  }

  /** Stops every running task's timer (the stack is stopping; queues live in memory). */
  stop(): void {
    for (const tasks of this.#tasks.values()) for (const task of tasks) clearTimeout(task.timer);
  }

  #checkDestination(source: LocalQueue, destinationArn: string): void {
    const destination = this.#engine.byArn(destinationArn);
    if (destination === undefined) throw sourceMissing('DestinationArn');
    if (destination === source) {
      throw sqsError('InvalidParameterValue', 'The source and destination queues must be different queues.');
    }
    if (destination.fifo !== source.fifo) {
      throw sqsError(
        'InvalidParameterValue',
        'The destination queue must be of the same type (standard or FIFO) as the source queue.',
      );
    }
  }

  #schedule(task: MoveTask, delayMs: number): void {
    task.timer = setTimeout(() => this.#step(task), delayMs);
    task.timer.unref();
  }

  /** Moves one slice (a second's worth at the task's rate), then schedules the next or ends the task. */
  #step(task: MoveTask): void {
    if (task.status !== 'RUNNING') return;
    const source = this.#engine.byArn(task.sourceArn);
    if (source === undefined) {
      this.#end(task, 'FAILED', 'AWS.SimpleQueueService.NonExistentQueue');
      return;
    }
    const slice = task.maxPerSecond ?? SLICE;
    for (let count = 0; count < slice && task.moved < task.toMove; count += 1) {
      let failure: string | undefined;
      const moved = source.moveOldest((message) => {
        const target = this.#target(task, message);
        if (typeof target === 'string') {
          failure = target;
          return false;
        }
        try {
          target.send({
            body: message.body,
            attributes: message.attributes,
            traceHeader: message.traceHeader,
            groupId: target.fifo ? message.groupId : undefined,
            deduplicationId: target.fifo ? (message.deduplicationId ?? message.id) : undefined,
          });
        } catch (error) {
          // The destination refused it (a smaller MaximumMessageSize, ...): it stays in the source.
          failure = (error as { type?: string }).type ?? 'InternalError';
          return false;
        }
        return true;
      });
      if (failure !== undefined) {
        this.#end(task, 'FAILED', failure);
        return;
      }
      if (moved === undefined) break;
      task.moved += 1;
    }
    const more = task.moved < task.toMove && source.counts().visible > 0;
    if (more) this.#schedule(task, task.maxPerSecond === undefined ? 0 : 1000);
    else this.#end(task, 'COMPLETED');
  }

  /** Where a message goes, or why it cannot go anywhere. */
  #target(task: MoveTask, message: StoredMessage): LocalQueue | string {
    const arn = task.destinationArn ?? message.deadLetterSourceArn;
    if (arn === undefined) return 'CouldNotDetermineMessageSource';
    return this.#engine.byArn(arn) ?? 'AWS.SimpleQueueService.NonExistentQueue';
  }

  #end(task: MoveTask, status: MoveTaskStatus, failureReason?: string): void {
    task.status = status;
    task.failureReason = failureReason;
    task.timer = undefined;
  }
}
