/**
 * The local stack's SNS and EventBridge driven by the AWS CLI (botocore's own serializers, not the JS
 * SDK's): a filtered SNS subscription delivering to SQS, a rule routing an event to a queue, and their
 * refusals as the CLI reports them. Skipped where no `aws` command is installed.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpointPeer, startAwsEndpointPeer } from '../peers/aws-endpoint.ts';

const run = promisify(execFile);
const installed = spawnSync('aws', ['--version'], { encoding: 'utf8' }).status === 0;
let aws: AwsEndpointPeer;

/** One CLI command against the peer, answered as parsed JSON (async: the peer runs in this process). */
async function cli(...args: string[]): Promise<Record<string, unknown>> {
  const env = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_MAX_ATTEMPTS: '1',
  };
  const { stdout } = await run('aws', ['--endpoint-url', aws.endpoint, '--output', 'json', ...args], {
    env,
    timeout: 60_000,
  });
  return stdout.trim() === '' ? {} : (JSON.parse(stdout) as Record<string, unknown>);
}

const failure = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'succeeded',
    (error: { stderr?: string }) => String(error.stderr ?? ''),
  );

describe.skipIf(!installed)('Local SNS and EventBridge with the AWS CLI', () => {
  beforeAll(async () => {
    aws = await startAwsEndpointPeer({ createOnUse: true });
  });

  afterAll(async () => {
    await aws?.close();
  });

  it('publishes to a topic whose filtered subscription delivers only the matching message, raw', async () => {
    // Prepare
    const queue = `cli-${randomUUID().slice(0, 8)}`;
    await cli('sqs', 'receive-message', '--queue-url', aws.queueUrl(queue));
    const topic = await cli('sns', 'create-topic', '--name', `cli-${randomUUID().slice(0, 8)}`);
    const topicArn = String(topic['TopicArn']);
    const filter = JSON.stringify({ kind: ['order'] });
    await cli(
      'sns',
      'subscribe',
      '--topic-arn',
      topicArn,
      '--protocol',
      'sqs',
      '--notification-endpoint',
      aws.queueArn(queue),
      '--attributes',
      JSON.stringify({ RawMessageDelivery: 'true', FilterPolicy: filter }),
    );
    // Act
    const attribute = (kind: string) => JSON.stringify({ kind: { DataType: 'String', StringValue: kind } });
    await cli(
      'sns',
      'publish',
      '--topic-arn',
      topicArn,
      '--message',
      'order 1',
      '--message-attributes',
      attribute('order'),
    );
    await cli(
      'sns',
      'publish',
      '--topic-arn',
      topicArn,
      '--message',
      'refund 1',
      '--message-attributes',
      attribute('refund'),
    );
    const received = await cli(
      'sqs',
      'receive-message',
      '--queue-url',
      aws.queueUrl(queue),
      '--max-number-of-messages',
      '10',
    );
    const listed = await cli('sns', 'list-subscriptions-by-topic', '--topic-arn', topicArn);
    const missing = await failure(
      cli('sns', 'publish', '--topic-arn', aws.topicArn('no-such-topic'), '--message', 'x'),
    );
    // Assess
    expect((received['Messages'] as { Body: string }[]).map((m) => m.Body)).toEqual(['order 1']);
    expect(listed['Subscriptions']).toEqual([
      expect.objectContaining({ Protocol: 'sqs', Endpoint: aws.queueArn(queue) }),
    ]);
    expect(missing).toContain('NotFound');
  }, 120_000);

  it('puts events on a bus whose rule routes the matching one to a queue, failing a bad entry alone', async () => {
    // Prepare
    const queue = `cli-${randomUUID().slice(0, 8)}`;
    const bus = `cli-${randomUUID().slice(0, 8)}`;
    await cli('sqs', 'receive-message', '--queue-url', aws.queueUrl(queue));
    await cli('events', 'create-event-bus', '--name', bus);
    await cli(
      'events',
      'put-rule',
      '--name',
      'big',
      '--event-bus-name',
      bus,
      '--event-pattern',
      JSON.stringify({ detail: { total: [{ numeric: ['>=', 100] }] } }),
    );
    await cli(
      'events',
      'put-targets',
      '--rule',
      'big',
      '--event-bus-name',
      bus,
      '--targets',
      JSON.stringify([{ Id: 'q', Arn: aws.queueArn(queue), InputPath: '$.detail' }]),
    );
    // Act
    const put = await cli(
      'events',
      'put-events',
      '--entries',
      JSON.stringify([
        { EventBusName: bus, Source: 'shop', DetailType: 'order', Detail: '{"total":150}' },
        { EventBusName: bus, Source: 'shop', DetailType: 'order', Detail: '{"total":5}' },
        { EventBusName: bus, Source: 'shop', DetailType: 'order', Detail: 'not json' },
      ]),
    );
    const received = await cli(
      'sqs',
      'receive-message',
      '--queue-url',
      aws.queueUrl(queue),
      '--max-number-of-messages',
      '10',
    );
    const badPattern = await failure(
      cli(
        'events',
        'put-rule',
        '--name',
        'bad',
        '--event-bus-name',
        bus,
        '--event-pattern',
        '{"source":"x"}',
      ),
    );
    // Assess
    expect(put['FailedEntryCount']).toBe(1);
    expect((put['Entries'] as { ErrorCode?: string }[]).map((e) => e.ErrorCode ?? 'ok')).toEqual([
      'ok',
      'ok',
      'MalformedDetail',
    ]);
    expect((received['Messages'] as { Body: string }[]).map((m) => JSON.parse(m.Body))).toEqual([
      { total: 150 },
    ]);
    expect(badPattern).toContain('InvalidEventPatternException');
  }, 120_000);
});
