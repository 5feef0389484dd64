/**
 * The `issue-fanout` workflow end to end on the local stack (`npm start --only eventbridge,sns,rabbitmq`,
 * serverless.yml resolved as deployed): an issue-opened event put on the EventBridge connector's bus over
 * HTTP is routed by IssueFanoutRule (its detail as input) to the state machine, which triages it by label
 * and publishes the summary through the SNS connector (fanned out by filter policy to IssueFanoutQueue,
 * not to SnsOrdersQueue) and through the RabbitMQ connector (the machine's RabbitMQ, routing key
 * circle-issues). Each effect is read back: the queue with the AWS SDK, RabbitMQ through the connector.
 * An event the rule does not match starts nothing; a bad detail fails with ValidationError before any task.
 */
import { randomUUID } from 'node:crypto';
import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import {
  DeleteMessageCommand,
  ListQueuesCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postOperation, type StackProcess, startStackProcess } from '../local/stack-process.ts';
import { stateMachineArn } from './harness.ts';

const RABBITMQ_QUEUE = 'circle-issues';

let stack: StackProcess;
let sfn: SFNClient;
let sqs: SQSClient;

const post = (path: string, input: unknown) => postOperation(stack, path, input);

/** Puts an event on the EventBridge connector's bus through the connector's HTTP API. */
async function putEvent(detailType: string, detail: unknown): Promise<void> {
  const put = await post('/eventbridge/publish-message', {
    body: JSON.stringify(detail),
    source: 'circle.github',
    detailType,
  });
  expect(put.status).toBe(200);
}

/** The issue-fanout executions whose input names this repository, once each has ended. */
async function executionsFor(repository: string, count: number, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { executions = [] } = await sfn.send(
      new ListExecutionsCommand({ stateMachineArn: stateMachineArn('issue-fanout') }),
    );
    const described = await Promise.all(
      executions.map((execution) =>
        sfn.send(new DescribeExecutionCommand({ executionArn: execution.executionArn })),
      ),
    );
    const mine = described.filter((execution) => (execution.input ?? '').includes(repository));
    if (mine.length >= count && mine.every((execution) => execution.status !== 'RUNNING')) return mine;
    if (Date.now() > deadline) throw new Error(`${mine.length} of ${count} executions for ${repository}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function queueUrl(suffix: string): Promise<string> {
  const { QueueUrls = [] } = await sqs.send(new ListQueuesCommand({}));
  const url = QueueUrls.find((candidate) => candidate.endsWith(suffix));
  if (url === undefined) throw new Error(`the stack has no queue ending ${suffix}`);
  return url;
}

/** The messages on a queue that mention `marker`, deleted once read. */
async function drain(suffix: string, marker: string) {
  const url = await queueUrl(suffix);
  const found: { body: string; attributes: Record<string, string> }[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) return found;
    for (const message of Messages) {
      if (!(message.Body ?? '').includes(marker)) continue;
      found.push({
        body: message.Body ?? '',
        attributes: Object.fromEntries(
          Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
            name,
            value.StringValue ?? '',
          ]),
        ),
      });
      await sqs.send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
    }
  }
}

beforeAll(async () => {
  stack = await startStackProcess({}, ['--only', 'eventbridge,sns,rabbitmq']);
  const aws = {
    endpoint: stack.awsUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  sfn = new SFNClient(aws);
  sqs = new SQSClient(aws);
}, 480_000);

afterAll(async () => {
  sfn?.destroy();
  sqs?.destroy();
  await stack?.stop();
  // The queue the workflow declared lives on the machine's RabbitMQ: remove it.
  const connection = await amqplib.connect('amqp://guest:guest@127.0.0.1:5672').catch(() => undefined);
  if (connection !== undefined) {
    const channel = await connection.createChannel();
    await channel.deleteQueue(RABBITMQ_QUEUE).catch(() => undefined);
    await connection.close();
  }
});

describe('Workflow issue-fanout on the local stack', () => {
  it('routes an issue-opened event to the state machine, which fans its summary out to the SNS-subscribed queue and RabbitMQ', async () => {
    // Prepare
    const repository = `octo/fanout-${randomUUID().slice(0, 8)}`;
    const detail = {
      repository,
      number: 42,
      title: 'Crash on start',
      url: `https://github.com/${repository}/issues/42`,
      labels: ['bug', 'triage'],
      correlationId: `fanout-${repository}`,
    };

    // Act
    await putEvent('issue-opened', detail);
    const [execution] = await executionsFor(repository, 1);
    const onQueue = await drain('IssueFanoutQueue', repository);
    const onOrders = await drain('SnsOrdersQueue', repository);
    const pulled = await post('/rabbitmq/receive-messages', {
      source: RABBITMQ_QUEUE,
      maxMessages: 10,
      waitTimeMs: 2_000,
    });
    const fromRabbit = (
      pulled.body['messages'] as { body: string; receipt: string; attributes: object }[]
    ).filter((message) => message.body.includes(repository));
    const acknowledged = await post('/rabbitmq/acknowledge-messages', {
      source: RABBITMQ_QUEUE,
      receipts: fromRabbit.map((message) => message.receipt),
    });

    // Assess: the execution, started by the rule with the event's detail
    expect(execution?.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution?.input ?? '{}')).toEqual(detail);
    const output = JSON.parse(execution?.output ?? '{}');
    expect(output).toMatchObject({
      correlationId: detail.correlationId,
      repository,
      number: 42,
      priority: 'high',
      sns: { messageId: expect.any(String) },
      rabbitmq: { messageId: expect.any(String) },
    });
    // SNS fan-out: the kind=issue subscription got it raw, with its attributes; the kind=order one did not.
    const summary = {
      repository,
      number: 42,
      title: 'Crash on start',
      url: detail.url,
      priority: 'high',
      summary: `[high] ${repository}#42: Crash on start ${detail.url}`,
    };
    expect(onQueue).toHaveLength(1);
    expect(JSON.parse(onQueue[0]?.body ?? '{}')).toEqual(summary);
    expect(onQueue[0]?.attributes).toEqual({ kind: 'issue', priority: 'high', repository });
    expect(onOrders).toEqual([]);
    // RabbitMQ: the same summary, with the same headers, acknowledged.
    expect(fromRabbit).toHaveLength(1);
    expect(JSON.parse(fromRabbit[0]?.body ?? '{}')).toEqual(summary);
    expect(fromRabbit[0]?.attributes).toMatchObject({ kind: 'issue', priority: 'high', repository });
    expect(acknowledged.body['results']).toEqual([{ receipt: fromRabbit[0]?.receipt, ok: true }]);
  }, 120_000);

  it('triages a security label as urgent and an unlabelled issue as normal, correlated by the execution name without a correlationId', async () => {
    // Prepare
    const repository = `octo/fanout-${randomUUID().slice(0, 8)}`;
    const issue = (number: number, labels?: string[]) => ({
      repository,
      number,
      title: `Issue ${number}`,
      url: `https://github.com/${repository}/issues/${number}`,
      ...(labels === undefined ? {} : { labels }),
    });

    // Act
    await putEvent('issue-opened', issue(1, ['bug', 'security']));
    await putEvent('issue-opened', issue(2));
    const executions = await executionsFor(repository, 2);
    const onQueue = await drain('IssueFanoutQueue', repository);

    // Assess
    const outputs = executions.map((execution) => JSON.parse(execution.output ?? '{}'));
    expect(outputs.map((output) => [output.number, output.priority]).sort()).toEqual([
      [1, 'urgent'],
      [2, 'normal'],
    ]);
    for (const [index, execution] of executions.entries()) {
      expect(outputs[index].correlationId).toBe(execution.name);
    }
    expect(onQueue.map((message) => message.attributes['priority']).sort()).toEqual(['normal', 'urgent']);
  }, 120_000);

  it('starts nothing for an event the rule does not match, and fails a bad detail with ValidationError before publishing', async () => {
    // Prepare
    const repository = `octo/fanout-${randomUUID().slice(0, 8)}`;
    const closed = {
      repository,
      number: 7,
      title: 'Closed',
      url: `https://github.com/${repository}/issues/7`,
    };
    const untitled = { repository, number: 8, url: `https://github.com/${repository}/issues/8` };

    // Act
    await putEvent('issue-closed', closed);
    await putEvent('issue-opened', untitled);
    const executions = await executionsFor(repository, 1);
    const history = await sfn.send(
      new DescribeExecutionCommand({ executionArn: executions[0]?.executionArn ?? '' }),
    );
    const onQueue = await drain('IssueFanoutQueue', repository);

    // Assess: one execution only (the closed event matched no rule), failed on its input, nothing published.
    expect(executions).toHaveLength(1);
    expect(JSON.parse(executions[0]?.input ?? '{}')).toEqual(untitled);
    expect(history).toMatchObject({ status: 'FAILED', error: 'ValidationError' });
    expect(history.cause).toMatch(/^input\.title must be a non-empty string/);
    expect(onQueue).toEqual([]);
  }, 120_000);
});
