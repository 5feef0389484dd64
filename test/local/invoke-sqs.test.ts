/**
 * `npm run invoke -- <function> --sqs` on the running stack says what became of its record: succeeded, failed
 * and left for retry (with the reason), or moved to the dead-letter queue (with the reason and the queue's
 * name), and exits non-zero unless it succeeded. Driven as a user runs it, against a stack started the way
 * `npm start` does; the DLQ is read back with the real SQS client. A queued `publish-batch` with an entry SQS
 * refuses sends the others and parks only that entry (the audit's lost-entry case, on the running stack).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import {
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type StackProcess, startStackProcess } from './stack-process.ts';

const run = promisify(execFile);
const S3_DLQ = 'circle-core-dev-S3RequestsDeadLetterQueue';

let stack: StackProcess;
let sqs: SQSClient;

async function invoke(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(REPO_ROOT, 'scripts', 'local', 'invoke.ts'), ...args],
      { cwd: REPO_ROOT, env: stack.env },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** Takes the parked messages off the S3 DLQ, answering each one's errorName attribute. */
async function drainDlq(): Promise<string[]> {
  const url = String((await sqs.send(new GetQueueUrlCommand({ QueueName: S3_DLQ }))).QueueUrl);
  const { Messages } = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }),
  );
  for (const message of Messages ?? []) {
    await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
  }
  return (Messages ?? []).map((message) => String(message.MessageAttributes?.['errorName']?.StringValue));
}

beforeAll(async () => {
  stack = await startStackProcess({}, ['--only', 's3,postgres,sqs']);
  sqs = new SQSClient({
    endpoint: stack.awsUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}, 300_000);

afterAll(async () => {
  sqs?.destroy();
  if (stack !== undefined) await stack.stop();
});

describe('npm run invoke -- <function> --sqs', () => {
  it('says a record of an unknown operation was moved to the DLQ, with its reason and queue, and exits 1', async () => {
    // Act
    const answer = await invoke('s3', '--sqs', '--operation', 'nope', '--input', '{}');
    const parked = await drainDlq();

    // Assess
    expect(answer.code).toBe(1);
    expect(JSON.parse(answer.stdout)).toEqual({ batchItemFailures: [] });
    expect(answer.stderr).toMatch(
      new RegExp(`moved to the dead-letter queue ${S3_DLQ}: NotFoundError \\(\\w+\\): .*nope`),
    );
    expect(parked).toEqual(['NotFoundError']);
  });

  it('says a record with invalid input was moved to the DLQ, and exits 1', async () => {
    // Act
    const answer = await invoke('s3', '--sqs', '--operation', 'head-object', '--input', '{"key":7}');
    const parked = await drainDlq();

    // Assess
    expect(answer.code).toBe(1);
    expect(answer.stderr).toContain(`moved to the dead-letter queue ${S3_DLQ}: ValidationError`);
    expect(parked).toEqual(['ValidationError']);
  });

  it('says a record that failed on a retryable error is left for retry, with the reason, and exits 1', async () => {
    // Act: a serialization failure (40001) is transient, so the connector asks SQS to deliver it again.
    const answer = await invoke(
      'postgres',
      '--sqs',
      '--operation',
      'query',
      '--input',
      JSON.stringify({
        sql: "DO $$ BEGIN RAISE EXCEPTION 'try again later' USING ERRCODE = '40001'; END $$",
      }),
    );

    // Assess
    expect(answer.code).toBe(1);
    const { batchItemFailures } = JSON.parse(answer.stdout) as {
      batchItemFailures: { itemIdentifier: string }[];
    };
    expect(batchItemFailures).toHaveLength(1);
    expect(answer.stderr).toMatch(/failed and left for retry: \w+Error \(\w+\): .*try again later/);
    expect(answer.stderr).toContain(batchItemFailures[0]?.itemIdentifier);
  });

  it('says a batch record was done in part and parks only the refused entry in the DLQ, and exits 1', async () => {
    // Act: a NUL, which an SQS message cannot carry, in the second of two entries
    const answer = await invoke(
      'sqs',
      '--sqs',
      '--operation',
      'publish-batch',
      '--input',
      '{"entries":[{"body":"fine"},{"body":"bad \\u0000"}]}',
    );

    // Assess
    expect(answer.code).toBe(1);
    expect(JSON.parse(answer.stdout)).toEqual({ batchItemFailures: [] });
    expect(answer.stderr).toMatch(
      /record [\w-]+ was done in part; what was left moved to the dead-letter queue circle-core-dev-SqsRequestsDeadLetterQueue: 1 part\(s\) of publish-batch not done: \/entries\/1: ValidationError/,
    );
    const url = String(
      (await sqs.send(new GetQueueUrlCommand({ QueueName: 'circle-core-dev-SqsRequestsDeadLetterQueue' })))
        .QueueUrl,
    );
    const { Messages } = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }),
    );
    expect(Messages?.map((message) => JSON.parse(String(message.Body)).input)).toEqual([
      { entries: [{ body: 'bad \u0000' }] },
    ]);
  });

  it('says a record that succeeded did, and exits 0', async () => {
    // Act
    const answer = await invoke('s3', '--sqs', '--operation', 'list-objects', '--input', '{}');

    // Assess
    expect(answer.code).toBe(0);
    expect(JSON.parse(answer.stdout)).toEqual({ batchItemFailures: [] });
    expect(answer.stderr).toMatch(/record [\w-]+ succeeded/);
    expect(await drainDlq()).toEqual([]);
  });
});
