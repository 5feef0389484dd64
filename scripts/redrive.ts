/**
 * `npm run redrive -- <queue> [--stage dev] [--to <queue>] [--rate <n>] [--aws] [--region <r>] [--no-wait]`:
 * moves the dead-lettered messages of a queue back to it with SQS `StartMessageMoveTask`, on the running
 * local stack (found through `.local/stack.json`) or, with `--aws` or when no stack runs, in AWS with the
 * SDK's default credentials and region. The same calls either way: the local SQS implements the move
 * tasks too.
 *
 * `<queue>` is a source queue or its dead-letter queue: its full name, its logical id from serverless.yml
 * (`S3RequestsQueue`, named `<service>-<stage>-<LogicalId>`), a function key (`s3`, `azure-blob`, when the function has
 * one queue with a DLQ), a URL or an ARN. Messages go back to the source queue, named explicitly, because
 * SQS cannot tell the source of a message that was sent to the DLQ directly (the core moves poison records
 * there itself) and fails such a task with `CouldNotDetermineMessageSource`. A DLQ with several sources
 * sends each message back to where it came from.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  GetQueueAttributesCommand,
  ListDeadLetterSourceQueuesCommand,
  ListMessageMoveTasksCommand,
  type ListMessageMoveTasksResultEntry,
  ListQueuesCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { parse } from 'yaml';
import { fail, runningStack } from './local/cli/common.ts';
import { REPO_ROOT } from './local/paths.ts';

const USAGE =
  'usage: npm run redrive -- <queue | function> [--stage <stage>] [--to <queue>] [--rate <messages per second>] [--aws] [--region <region>] [--no-wait]';

interface Target {
  client: SQSClient;
  where: string;
  stage: string;
  pollMs: number;
  /** The local stack's endpoint and region, for the AWS CLI command a `--no-wait` move prints. */
  local?: { endpoint: string; region: string };
}

interface QueueInfo {
  name: string;
  url: string;
  arn: string;
  /** The DLQ's ARN when this queue has a redrive policy. */
  deadLetterTargetArn?: string;
}

const nameOf = (url: string): string => url.slice(url.lastIndexOf('/') + 1);

async function serviceName(): Promise<string> {
  const config = parse(await readFile(join(REPO_ROOT, 'serverless.yml'), 'utf8')) as { service?: unknown };
  return typeof config.service === 'string' ? config.service : 'circle-core';
}

async function connect(values: { aws?: boolean; stage?: string; region?: string }): Promise<Target> {
  const running = values.aws === true ? undefined : await runningStack();
  if (running !== undefined) {
    const stage = running.stage ?? 'dev';
    if (values.stage !== undefined && values.stage !== stage) {
      throw new Error(
        `the running local stack serves stage ${stage}, not ${values.stage}; pass --aws to redrive stage ${values.stage} in AWS`,
      );
    }
    const region = running.region ?? 'us-east-1';
    const client = new SQSClient({
      endpoint: running.awsUrl,
      region,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    return {
      client,
      where: `the local stack (${running.awsUrl})`,
      stage,
      pollMs: 200,
      local: { endpoint: running.awsUrl, region },
    };
  }
  const client = new SQSClient(values.region === undefined ? {} : { region: values.region });
  let region: string;
  try {
    region = await client.config.region();
  } catch (error) {
    client.destroy();
    throw new Error(
      `no AWS region to redrive in (${(error as Error).message}): pass --region <region> or set AWS_REGION`,
    );
  }
  const where = `AWS (${region}${process.env['AWS_ENDPOINT_URL'] ? `, endpoint ${process.env['AWS_ENDPOINT_URL']}` : ''})`;
  return { client, where, stage: values.stage ?? 'dev', pollMs: 2000 };
}

async function describe(client: SQSClient, url: string): Promise<QueueInfo> {
  const { Attributes } = await client.send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn', 'RedrivePolicy'] }),
  );
  const policy = Attributes?.RedrivePolicy;
  const target = policy
    ? (JSON.parse(policy) as { deadLetterTargetArn?: string }).deadLetterTargetArn
    : undefined;
  return {
    name: nameOf(url),
    url,
    arn: String(Attributes?.QueueArn),
    ...(target === undefined ? {} : { deadLetterTargetArn: target }),
  };
}

async function listQueues(client: SQSClient, prefix: string): Promise<string[]> {
  const urls: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 1000, NextToken: token }),
    );
    urls.push(...(page.QueueUrls ?? []));
    token = page.NextToken;
  } while (token !== undefined);
  return urls;
}

/** Finds the queue a user named, or fails listing the queues that have a dead-letter queue. */
async function resolveQueue(client: SQSClient, given: string, prefix: string): Promise<QueueInfo> {
  if (/^https?:\/\//.test(given)) return describe(client, given);
  const wanted = given.startsWith('arn:') ? given.slice(given.lastIndexOf(':') + 1) : given;
  const urls = await listQueues(client, prefix);
  // `azure-blob` and `AzureBlob` name the same function: logical ids are its key in PascalCase.
  const folded = (text: string): string => text.replace(/[-_]/g, '').toLowerCase();
  const logical = (url: string): string => nameOf(url).slice(prefix.length);
  const exact = urls.find((url) => nameOf(url) === wanted || folded(logical(url)) === folded(wanted));
  if (exact !== undefined) return describe(client, exact);
  const queues = await Promise.all(urls.map((url) => describe(client, url)));
  const sources = queues.filter((queue) => queue.deadLetterTargetArn !== undefined);
  const byFunction = sources.filter((queue) =>
    folded(queue.name.slice(prefix.length)).startsWith(folded(wanted)),
  );
  if (byFunction.length === 1 && byFunction[0] !== undefined) return byFunction[0];
  if (byFunction.length > 1) {
    const matching = byFunction.map((queue) => queue.name.slice(prefix.length)).join(', ');
    throw new Error(`${given} names several queues with a dead-letter queue: ${matching}; give one of them`);
  }
  const known = sources.map((queue) => queue.name.slice(prefix.length)).join(', ') || '(none)';
  throw new Error(`no queue ${given} under ${prefix}*; queues with a dead-letter queue: ${known}`);
}

/** The DLQ to move from and, when it can be named, the queue to move to. */
async function plan(client: SQSClient, queue: QueueInfo, to: QueueInfo | undefined) {
  if (queue.deadLetterTargetArn !== undefined) {
    return { dlqArn: queue.deadLetterTargetArn, destination: to ?? queue };
  }
  const { queueUrls } = await client.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: queue.url }));
  const sources = queueUrls ?? [];
  if (to !== undefined) return { dlqArn: queue.arn, destination: to };
  if (sources.length === 1 && sources[0] !== undefined) {
    return { dlqArn: queue.arn, destination: await describe(client, sources[0]) };
  }
  return { dlqArn: queue.arn, destination: undefined };
}

async function latestTask(
  target: Target,
  dlqArn: string,
): Promise<ListMessageMoveTasksResultEntry | undefined> {
  const { Results } = await target.client.send(
    new ListMessageMoveTasksCommand({ SourceArn: dlqArn, MaxResults: 1 }),
  );
  return Results?.[0];
}

/** Waits for the task started after `previous` (the latest task before ours) to end. */
async function waitForTask(
  target: Target,
  dlqArn: string,
  previous: number | undefined,
): Promise<ListMessageMoveTasksResultEntry> {
  for (;;) {
    const task = await latestTask(target, dlqArn);
    const ours = task !== undefined && task.StartedTimestamp !== previous;
    if (ours && task.Status !== 'RUNNING' && task.Status !== 'CANCELLING') return task;
    await new Promise((resolve) => setTimeout(resolve, target.pollMs));
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      stage: { type: 'string' },
      to: { type: 'string' },
      rate: { type: 'string' },
      aws: { type: 'boolean' },
      region: { type: 'string' },
      'no-wait': { type: 'boolean' },
    },
  });
  const [given] = positionals;
  if (given === undefined || positionals.length > 1) throw new Error(USAGE);
  const rate = values.rate === undefined ? undefined : Number(values.rate);
  if (rate !== undefined && (!Number.isInteger(rate) || rate < 1 || rate > 500)) {
    throw new Error('--rate must be a whole number of messages per second from 1 to 500');
  }
  const target = await connect(values);
  process.stderr.write(`redriving in ${target.where}\n`);
  try {
    const prefix = `${await serviceName()}-${target.stage}-`;
    const queue = await resolveQueue(target.client, given, prefix);
    const to = values.to === undefined ? undefined : await resolveQueue(target.client, values.to, prefix);
    const { dlqArn, destination } = await plan(target.client, queue, to);
    const dlqName = dlqArn.slice(dlqArn.lastIndexOf(':') + 1);
    const toName = destination?.name ?? 'the queues they came from';
    const previous = (await latestTask(target, dlqArn))?.StartedTimestamp;
    const { TaskHandle } = await target.client.send(
      new StartMessageMoveTaskCommand({
        SourceArn: dlqArn,
        ...(destination === undefined ? {} : { DestinationArn: destination.arn }),
        ...(rate === undefined ? {} : { MaxNumberOfMessagesPerSecond: rate }),
      }),
    );
    process.stdout.write(`moving the messages of ${dlqName} to ${toName} (task ${TaskHandle})\n`);
    if (values['no-wait'] === true) {
      const local =
        target.local === undefined
          ? ''
          : ` --endpoint-url ${target.local.endpoint} --region ${target.local.region}`;
      process.stdout.write(
        `follow it with: aws sqs list-message-move-tasks --source-arn ${dlqArn}${local}\n`,
      );
      return;
    }
    const task = await waitForTask(target, dlqArn, previous);
    const moved = `${task.ApproximateNumberOfMessagesMoved ?? 0} of ${task.ApproximateNumberOfMessagesToMove ?? 0}`;
    if (task.Status === 'COMPLETED') {
      process.stdout.write(`${task.Status}: moved ${moved} message(s) from ${dlqName} to ${toName}\n`);
      return;
    }
    process.stdout.write(
      `${task.Status}: moved ${moved}${task.FailureReason ? ` (${task.FailureReason})` : ''}\n`,
    );
    process.exitCode = 1;
  } finally {
    target.client.destroy();
  }
}

await main().catch(fail);
