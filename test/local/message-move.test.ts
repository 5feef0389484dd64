/**
 * Message move tasks (DLQ redrive) on the local SQS, through its JSON operations as the SDK calls them:
 * where messages go, what a task reports, and the errors AWS answers (as recorded against the service).
 */
import { describe, expect, it } from 'vitest';
import { sqsService } from '../../scripts/local/aws/sqs.ts';
import { type LocalQueue, QueueEngine } from '../../scripts/local/queues/queue-engine.ts';

function setup(options: { fifo?: boolean } = {}) {
  const engine = new QueueEngine({
    region: 'us-east-1',
    accountId: '000000000000',
    baseUrl: 'http://127.0.0.1:4566',
  });
  const suffix = options.fifo ? '.fifo' : '';
  const fifo = options.fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'true' } : {};
  const dlq = engine.create(`jobs-dlq${suffix}`, fifo);
  const policy = JSON.stringify({ deadLetterTargetArn: dlq.arn, maxReceiveCount: 1 });
  const jobs = engine.create(`jobs${suffix}`, { ...fifo, RedrivePolicy: policy });
  const other = engine.create(`other${suffix}`, { ...fifo, RedrivePolicy: policy });
  const spare = engine.create(`spare${suffix}`, fifo);
  const sqs = sqsService(engine);
  const call = (operation: string, body: Record<string, unknown>) =>
    sqs({ operation, body }) as Promise<Record<string, unknown>>;
  return { engine, dlq, jobs, other, spare, call };
}

/** Receives once without deleting and lets the visibility lapse, so the next receive dead-letters it. */
function deadLetter(queue: LocalQueue, body: string, groupId?: string): string {
  const { messageId } = queue.send({ body, groupId });
  const [message] = queue.receive({ max: 1 });
  queue.changeVisibility(message?.receiptHandle ?? '', 0);
  queue.receive({ max: 1 });
  return messageId;
}

async function settle(
  call: (operation: string, body: Record<string, unknown>) => Promise<Record<string, unknown>>,
  arn: string,
) {
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const { Results } = await call('ListMessageMoveTasks', { SourceArn: arn });
    const [task] = Results as Record<string, unknown>[];
    if (task?.['Status'] !== 'RUNNING') return task;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the task did not end');
}

const bodies = (queue: LocalQueue) => queue.receive({ max: 10 }).map((message) => message.body);

async function failure(
  promise: Promise<unknown>,
): Promise<{ type: string; status: number; message: string } | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    const err = error as { type: string; status: number; message: string };
    return { type: err.type, status: err.status, message: err.message };
  }
}

describe('Function: sqsService (dead letters)', () => {
  it('answers DeadLetterQueueSourceArn for a message a redrive policy moved, and none for one sent directly', async () => {
    // Prepare
    const { dlq, jobs, call } = setup();
    const movedId = deadLetter(jobs, 'from jobs');
    const { messageId: sentId } = dlq.send({ body: 'sent to the DLQ directly' });

    // Act
    const byName = await call('ReceiveMessage', {
      QueueUrl: dlq.url,
      MaxNumberOfMessages: 10,
      AttributeNames: ['DeadLetterQueueSourceArn'],
      VisibilityTimeout: 0,
    });
    const all = await call('ReceiveMessage', {
      QueueUrl: dlq.url,
      MaxNumberOfMessages: 10,
      MessageSystemAttributeNames: ['All'],
    });
    const find = (answer: Record<string, unknown>, id: string) =>
      (answer['Messages'] as { MessageId: string; Attributes?: Record<string, string> }[]).find(
        (message) => message.MessageId === id,
      );

    // Assess
    expect(find(byName, movedId)?.Attributes).toEqual({ DeadLetterQueueSourceArn: jobs.arn });
    expect(find(byName, sentId)?.Attributes).toBeUndefined();
    expect(find(all, movedId)?.Attributes).toMatchObject({ DeadLetterQueueSourceArn: jobs.arn });
    expect(find(all, sentId)?.Attributes?.['DeadLetterQueueSourceArn']).toBeUndefined();
  });
});

describe('Function: sqsService (message move tasks)', () => {
  it('moves each message back to the queue it came from, as a new message, and reports the task', async () => {
    // Prepare
    const { dlq, jobs, other, call } = setup();
    const id = deadLetter(jobs, 'from jobs');
    deadLetter(other, 'from other');

    // Act
    const { TaskHandle } = await call('StartMessageMoveTask', { SourceArn: dlq.arn });
    const task = await settle(call, dlq.arn);
    const [moved] = jobs.receive({ max: 10 });

    // Assess
    expect(typeof TaskHandle).toBe('string');
    expect(task).toEqual({
      Status: 'COMPLETED',
      SourceArn: dlq.arn,
      ApproximateNumberOfMessagesMoved: 2,
      ApproximateNumberOfMessagesToMove: 2,
      StartedTimestamp: expect.any(Number),
    });
    expect(moved?.body).toBe('from jobs');
    expect(moved?.id).not.toBe(id);
    expect(moved?.receiveCount).toBe(1);
    expect(bodies(other)).toEqual(['from other']);
    expect(dlq.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('fails with CouldNotDetermineMessageSource for a message sent to the DLQ directly, unless a destination is named', async () => {
    // Prepare
    const { dlq, jobs, call } = setup();
    dlq.send({ body: 'sent here by the core' });

    // Act
    await call('StartMessageMoveTask', { SourceArn: dlq.arn });
    const failed = await settle(call, dlq.arn);
    await call('StartMessageMoveTask', {
      SourceArn: dlq.arn,
      DestinationArn: jobs.arn,
      MaxNumberOfMessagesPerSecond: 5,
    });
    const completed = await settle(call, dlq.arn);
    const { Results } = await call('ListMessageMoveTasks', { SourceArn: dlq.arn, MaxResults: 10 });

    // Assess
    expect(failed).toMatchObject({
      Status: 'FAILED',
      FailureReason: 'CouldNotDetermineMessageSource',
      ApproximateNumberOfMessagesMoved: 0,
    });
    expect(completed).toMatchObject({
      Status: 'COMPLETED',
      DestinationArn: jobs.arn,
      MaxNumberOfMessagesPerSecond: 5,
      ApproximateNumberOfMessagesMoved: 1,
    });
    expect((Results as unknown[]).length).toBe(2);
    expect(bodies(jobs)).toEqual(['sent here by the core']);
  });

  it('keeps FIFO groups and refuses a destination of another type', async () => {
    // Prepare
    const { engine, dlq, jobs, call } = setup({ fifo: true });
    const standard = engine.create('standard');
    deadLetter(jobs, 'in order', 'g1');

    // Act
    const mismatch = await failure(
      call('StartMessageMoveTask', { SourceArn: dlq.arn, DestinationArn: standard.arn }),
    );
    await call('StartMessageMoveTask', { SourceArn: dlq.arn });
    await settle(call, dlq.arn);
    const [moved] = jobs.receive({ max: 10 });

    // Assess
    expect(mismatch).toEqual({
      type: 'InvalidParameterValue',
      status: 400,
      message: 'The destination queue must be of the same type (standard or FIFO) as the source queue.',
    });
    expect(moved).toMatchObject({ body: 'in order', groupId: 'g1' });
  });

  it('answers the errors SQS answers', async () => {
    // Prepare
    const { dlq, jobs, spare, call } = setup();
    deadLetter(jobs, 'x');
    const missing = 'arn:aws:sqs:us-east-1:000000000000:missing';

    // Act
    const errors = {
      unknownSource: await failure(call('StartMessageMoveTask', { SourceArn: missing })),
      notADlq: await failure(call('StartMessageMoveTask', { SourceArn: spare.arn })),
      unknownDestination: await failure(
        call('StartMessageMoveTask', { SourceArn: dlq.arn, DestinationArn: missing }),
      ),
      rate: await failure(
        call('StartMessageMoveTask', { SourceArn: dlq.arn, MaxNumberOfMessagesPerSecond: 501 }),
      ),
      badHandle: await failure(call('CancelMessageMoveTask', { TaskHandle: 'not a handle' })),
      maxResults: await failure(call('ListMessageMoveTasks', { SourceArn: dlq.arn, MaxResults: 11 })),
    };

    // Assess
    expect(errors).toEqual({
      unknownSource: {
        type: 'ResourceNotFoundException',
        status: 404,
        message: "The resource that you specified for the SourceArn parameter doesn't exist.",
      },
      notADlq: {
        type: 'InvalidParameterValue',
        status: 400,
        message: 'Source queue must be configured as a Dead Letter Queue.',
      },
      unknownDestination: {
        type: 'ResourceNotFoundException',
        status: 404,
        message: "The resource that you specified for the DestinationArn parameter doesn't exist.",
      },
      rate: {
        type: 'InvalidParameterValue',
        status: 400,
        message:
          'Value for parameter MaxNumberOfMessagesPerSecond is invalid. Reason: must be between 1 and 500.',
      },
      badHandle: {
        type: 'InvalidParameterValue',
        status: 400,
        message: 'Value for parameter TaskHandle is invalid.',
      },
      maxResults: {
        type: 'InvalidParameterValue',
        status: 400,
        message: 'Value for parameter MaxResults is invalid. Reason: must be between 1 and 10.',
      },
    });
  });

  it('runs one task per source at a time, and cancels a running one keeping what it moved', async () => {
    // Prepare
    const { dlq, jobs, call } = setup();
    for (const body of ['a', 'b', 'c']) deadLetter(jobs, body);
    const { TaskHandle } = await call('StartMessageMoveTask', {
      SourceArn: dlq.arn,
      MaxNumberOfMessagesPerSecond: 1,
    });
    await new Promise((resolve) => setTimeout(resolve, 50));

    // Act
    const second = await failure(call('StartMessageMoveTask', { SourceArn: dlq.arn }));
    const running = (await call('ListMessageMoveTasks', { SourceArn: dlq.arn }))['Results'] as Record<
      string,
      unknown
    >[];
    const cancelled = await call('CancelMessageMoveTask', { TaskHandle });
    const after = (await call('ListMessageMoveTasks', { SourceArn: dlq.arn }))['Results'] as Record<
      string,
      unknown
    >[];
    const again = await failure(call('CancelMessageMoveTask', { TaskHandle }));

    // Assess
    expect(second?.message).toBe(
      'There is already a task running. Only one active task is allowed for a source queue arn at a given time.',
    );
    expect(running[0]).toMatchObject({ Status: 'RUNNING', TaskHandle, ApproximateNumberOfMessagesToMove: 3 });
    expect(cancelled).toEqual({ ApproximateNumberOfMessagesMoved: 1 });
    expect(after[0]).toMatchObject({ Status: 'CANCELLED', ApproximateNumberOfMessagesMoved: 1 });
    expect(after[0]?.['TaskHandle']).toBeUndefined();
    expect(again?.type).toBe('InvalidParameterValue');
    expect(bodies(jobs)).toEqual(['a']);
    expect(dlq.counts().visible).toBe(2);
  });
});
