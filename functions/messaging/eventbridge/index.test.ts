/**
 * The Amazon EventBridge connector against the local stack's own EventBridge endpoint (JSON 1.1), spoken
 * to by the real AWS SDK client: the message-publisher conformance suite (observed through a rule whose
 * target is an SQS queue), the 1 MiB entry size, per-entry failures, rules, every trigger, and the
 * failure paths the AWS kit maps.
 */
import { randomUUID } from 'node:crypto';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { DeleteMessageBatchCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { PayloadTooLargeError } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  describeMessagePublisherConformance,
  type ObservedMessage,
} from '#shared/interfaces/message-publisher.conformance.ts';
import type { PublishBatchOutput } from '#shared/models/message-publisher.ts';
import { type AwsEndpointPeer, startAwsEndpointPeer } from '../../../test/peers/aws-endpoint.ts';
import { EventBridgePublisher, entrySize } from './client.ts';

interface HttpResult {
  statusCode: number;
  body: string;
}

const BUS = `eventbridge-connector-${randomUUID().slice(0, 8)}`;
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
let aws: AwsEndpointPeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };
const options = (bus: string) => ({
  bus,
  source: 'circle-core',
  detailType: 'message',
  timeoutMs: 2_000,
  maxAttempts: 1,
});

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({ path: `/eventbridge/${operation}`, body });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

/** A rule on `bus` sending the `detail` of matching events to a new queue, and a reader of that queue. */
async function ruleToQueue(
  peer: AwsEndpointPeer,
  bus: string,
  pattern: object,
  name = `rule-${randomUUID().slice(0, 8)}`,
) {
  const queue = `events-${randomUUID().slice(0, 8)}`;
  const sqs = new SQSClient({ endpoint: peer.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 });
  const collect = async (waitMs: number): Promise<ObservedMessage[]> => {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: peer.queueUrl(queue),
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: Math.min(20, Math.floor(waitMs / 1000)),
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length > 0) {
      await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: peer.queueUrl(queue),
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
        }),
      );
    }
    return messages.map((m) => ({ body: m.Body ?? '' }));
  };
  await collect(0); // creates the queue (createOnUse) before any event is put
  peer.buses.putRule({ Name: name, EventBusName: bus, EventPattern: JSON.stringify(pattern) });
  peer.buses.putTargets(name, bus, [{ Id: 'queue', Arn: peer.queueArn(queue), InputPath: '$.detail' }]);
  return { name, collect };
}

function failingSdk(name: string, status: number): EventBridgeClient {
  const error = Object.assign(new Error(`${name} from the test`), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'req-1' },
    $response: { headers: { 'retry-after': '2' } },
  });
  return { send: async () => Promise.reject(error) } as unknown as EventBridgeClient;
}

beforeAll(async () => {
  aws = await startAwsEndpointPeer({ buses: [BUS], createOnUse: true });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_EVENTBRIDGE: aws.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    EVENTBRIDGE_BUS_NAME: BUS,
    EVENTBRIDGE_SOURCE: 'com.example.shop',
    EVENTBRIDGE_TIMEOUT_MS: '3000',
  });
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await aws.close();
});

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describeMessagePublisherConformance('Amazon EventBridge on the local stack endpoint', async () => {
  const bus = `conformance-${randomUUID().slice(0, 8)}`;
  const peer = await startAwsEndpointPeer({ buses: [bus], createOnUse: true });
  const sdk = new EventBridgeClient({
    endpoint: peer.endpoint,
    region: 'us-east-1',
    credentials,
    maxAttempts: 1,
  });
  const { collect } = await ruleToQueue(peer, bus, { source: ['circle-core'] });
  return {
    publisher: new EventBridgePublisher(sdk, options(bus)),
    collect,
    // EventBridge refuses a detail that is not a JSON object, alone in its batch.
    refusedEntry: { body: 'not a JSON object' },
    disallowedDestination: 'another-teams-bus',
    close: () => peer.close(),
  };
});

describe('Connector: eventbridge', () => {
  describe('Operations: publish-message, publish-batch, describe-rule', () => {
    it("routes events by the rule's pattern on detail type and detail, with the configured source", async () => {
      // Prepare
      const big = await ruleToQueue(aws, BUS, {
        source: ['com.example.shop'],
        'detail-type': ['order-placed'],
        detail: { total: [{ numeric: ['>', 100] }] },
      });
      // Act
      const sent = await call('publish-message', {
        body: '{"order":"o-1","total":250}',
        detailType: 'order-placed',
      });
      await call('publish-batch', {
        entries: [
          { body: '{"order":"o-2","total":20}', detailType: 'order-placed' },
          { body: '{"order":"o-3","total":900}', detailType: 'order-cancelled' },
          { body: '{"order":"o-4","total":300}', detailType: 'order-placed', source: 'com.example.other' },
        ],
      });
      const rule = await call('describe-rule', { name: big.name });
      const missing = await call('describe-rule', { name: 'no-such-rule' });
      const bus = await call('describe-event-bus', {});
      // Assess
      expect(sent.statusCode).toBe(200);
      expect(parsed(sent)['messageId']).toMatch(/^[0-9a-f-]{36}$/);
      expect((await big.collect(0)).map((m) => JSON.parse(m.body))).toEqual([{ order: 'o-1', total: 250 }]);
      expect(parsed(rule)).toMatchObject({ name: big.name, state: 'ENABLED', targets: [{ id: 'queue' }] });
      // A rule that does not exist is the caller's 404, not a configuration error of the bus
      expect(missing.statusCode).toBe(404);
      expect(parsed(missing)).toMatchObject({
        code: 'not_found',
        detail: `rule "no-such-rule" on event bus "${BUS}" was not found`,
      });
      expect(parsed(bus)).toEqual({
        name: BUS,
        arn: `arn:aws:events:us-east-1:000000000000:event-bus/${BUS}`,
      });
    });

    it("puts a 600 KiB event through the peer to its rule's queue, as EventBridge takes entries up to 1 MiB since January 2026", async () => {
      // Prepare: 600 KiB of detail, over the old 256 KiB and under the 1 MiB EventBridge and SQS now take.
      const rule = await ruleToQueue(aws, BUS, { source: ['com.example.shop'], 'detail-type': ['large'] });
      const detail = { pad: 'x'.repeat(600 * 1024) };
      // Act
      const sent = await call('publish-message', { body: JSON.stringify(detail), detailType: 'large' });
      // Assess
      expect(sent.statusCode).toBe(200);
      expect(parsed(sent)['messageId']).toMatch(/^[0-9a-f-]{36}$/);
      expect((await rule.collect(0)).map((m) => JSON.parse(m.body))).toEqual([detail]);
    });

    it('enforces the 1 MiB entry and request size as EventBridge counts it (source and detail type too) before the call', async () => {
      // Prepare: a detail just under the limit, made too large by its detail type (12 bytes of
      // "long-detail-type" beyond the 4 of "message" and the 12 of the JSON around the pad).
      const before = aws.calls.length;
      const detail = JSON.stringify({ pad: 'x'.repeat(1_048_576 - 12 - 'circle-core'.length) });
      const bus = await EventBridgePublisher.create(options(BUS));
      // Act
      const error = await bus
        .publish({ body: detail, detailType: 'long-detail-type' })
        .catch((e: unknown) => e);
      const heavy = await bus
        .publishBatch({
          entries: [
            { body: JSON.stringify({ pad: 'y'.repeat(540_000) }) },
            { body: JSON.stringify({ pad: 'z'.repeat(540_000) }) },
          ],
        })
        .catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(PayloadTooLargeError);
      expect(error).toMatchObject({ status: 413, limitBytes: 1_048_576 });
      expect((error as Error).message).toContain('as EventBridge counts them');
      expect((error as Error).message).toContain('at most 1048576');
      expect(heavy).toBeInstanceOf(PayloadTooLargeError);
      expect(heavy).toMatchObject({ limitBytes: 1_048_576 });
      expect(aws.calls.length).toBe(before);
      expect(entrySize({ Source: 'shop', DetailType: 'order-placed', Detail: '{}', Time: new Date() })).toBe(
        32,
      );
    });

    it('reports a refused event in its own result and throws it for a single publish', async () => {
      // Act
      const batch = (await connector.run('publish-batch', {
        entries: [{ body: '{"ok":1}' }, { body: '[1,2]' }],
      })) as PublishBatchOutput;
      const single = await call('publish-message', { body: 'nope' });
      // Assess
      expect(batch).toMatchObject({ succeeded: 1, failed: 1 });
      expect(batch.results[1]).toMatchObject({
        ok: false,
        error: { name: 'ValidationError', retryable: false },
      });
      expect(single.statusCode).toBe(400);
      expect(parsed(single)['detail']).toContain('MalformedDetail');
    });

    it('names the body (the detail) EventBridge refused as malformed: /body, and /entries/<i>/body in a batch', async () => {
      // Act
      const single = await call('publish-message', { body: '[1,2]' });
      const batch = (await connector.run('publish-batch', {
        entries: [{ body: '{"ok":1}' }, { body: 'nope' }],
      })) as PublishBatchOutput;
      // Assess
      expect(single.statusCode).toBe(400);
      expect(parsed(single)).toMatchObject({
        code: 'validation_error',
        errors: [{ pointer: '/body', message: expect.stringContaining('JSON object') }],
      });
      expect(parsed(single)['detail']).toContain('MalformedDetail');
      expect(batch.results[1]).toMatchObject({
        ok: false,
        error: {
          name: 'ValidationError',
          retryable: false,
          message: expect.stringContaining('/entries/1/body'),
        },
      });
    });

    it('refuses attributes, ordering keys and pulls with a 501, and another bus with a 403, before any call', async () => {
      // Act
      const before = aws.calls.length;
      const statuses = [
        (await call('publish-message', { body: '{}', attributes: { kind: 'x' } })).statusCode,
        (await call('publish-message', { body: '{}', orderingKey: 'g' })).statusCode,
        (await call('receive-messages', {})).statusCode,
        (await call('publish-message', { destination: 'someone-elses', body: '{}' })).statusCode,
        (await call('publish-message', { body: '{}', source: 'aws.ec2' })).statusCode,
      ];
      // Assess
      expect(statuses).toEqual([501, 501, 501, 403, 400]);
      expect(aws.calls.length).toBe(before);
    });
  });

  describe('Class: EventBridgePublisher failures', () => {
    it('maps throttling to RateLimitedError with the wait AWS asked for', async () => {
      const failure = new EventBridgePublisher(failingSdk('ThrottlingException', 400), options(BUS)).publish({
        body: '{}',
      });
      await expect(failure).rejects.toMatchObject({ name: 'RateLimitedError', retryAfterMs: 2_000 });
    });

    it('maps a missing bus to a ConfigurationError naming the setting, over the real protocol', async () => {
      const bus = await EventBridgePublisher.create(options('no-such-bus'));
      await expect(bus.ping()).rejects.toMatchObject({
        name: 'ConfigurationError',
        message: 'event bus "no-such-bus" does not exist: check EVENTBRIDGE_BUS_NAME',
      });
    });

    it('maps a refused role, a 5xx, an abort and an unreadable answer', async () => {
      // Prepare
      aws.failNext('AWSEvents.PutEvents', { type: 'AccessDeniedException' });
      const bus = await EventBridgePublisher.create(options(BUS));
      const short = { send: async () => ({ Entries: [] }) } as unknown as EventBridgeClient;
      // Act
      const denied = await bus.publish({ body: '{}' }).catch((error: Error) => error);
      const down = await new EventBridgePublisher(failingSdk('InternalException', 500), options(BUS))
        .publishBatch({ entries: [{ body: '{}' }] })
        .catch((error: Error) => error);
      const slow = await new EventBridgePublisher(failingSdk('AbortError', 0), options(BUS))
        .describeRule({ name: 'x' })
        .catch((error: Error) => error);
      const unreadable = await new EventBridgePublisher(short, options(BUS))
        .publish({ body: '{}' })
        .catch((error: Error) => error);
      // Assess
      expect(denied).toMatchObject({ name: 'ConfigurationError' });
      expect(down).toMatchObject({ name: 'UnavailableError', retryable: true });
      expect(slow).toMatchObject({ name: 'TimeoutError' });
      expect(unreadable).toMatchObject({ name: 'UnexpectedResponseError' });
    });
  });

  describe('Concurrent invocations of one warm handler (Lambda Managed Instances)', () => {
    it("answers each of two interleaved invocations with its own events, even when the first's answer comes last", async () => {
      // Prepare: the first PutEvents answer is held until the second invocation's call was answered.
      const lmi = await ruleToQueue(aws, BUS, { 'detail-type': ['lmi'] });
      const send = EventBridgeClient.prototype.send;
      let secondAnswered = (): void => undefined;
      const second = new Promise<void>((resolve) => {
        secondAnswered = resolve;
      });
      let sends = 0;
      const spy = vi.spyOn(EventBridgeClient.prototype, 'send').mockImplementation(async function (
        this: EventBridgeClient,
        ...args: unknown[]
      ) {
        sends += 1;
        const answer = await (send as (...all: unknown[]) => Promise<unknown>).apply(this, args);
        if (sends === 1) await second;
        else secondAnswered();
        return answer;
      });
      // Act
      const [single, batch] = await Promise.all([
        call('publish-message', { body: '{"from":"single"}', detailType: 'lmi' }),
        call('publish-batch', {
          entries: [
            { body: '{"from":"batch","n":1}', detailType: 'lmi' },
            { body: '{"from":"batch","n":2}', detailType: 'lmi' },
          ],
        }),
      ]).finally(() => spy.mockRestore());
      // Assess
      expect(sends).toBe(2);
      expect(parsed(single)).toEqual({ messageId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
      expect(parsed(batch)).toMatchObject({ succeeded: 2, failed: 0 });
      const ids = (parsed(batch)['results'] as { messageId: string }[]).map((result) => result.messageId);
      expect(new Set([parsed(single)['messageId'], ...ids]).size).toBe(3);
      expect((await lmi.collect(0)).map((m) => m.body).sort()).toEqual([
        '{"from":"batch","n":1}',
        '{"from":"batch","n":2}',
        '{"from":"single"}',
      ]);
    });
  });

  describe('Triggers', () => {
    it('runs a queued request and a Step Functions task, and answers health', async () => {
      // Prepare
      const all = await ruleToQueue(aws, BUS, { 'detail-type': ['from-trigger'] });
      // Act
      const queued = await connector.handler(
        sqsEvent([
          {
            body: {
              operation: 'publish-message',
              input: { body: '{"from":"queue"}', detailType: 'from-trigger' },
            },
          },
        ]),
        lambdaContext(),
      );
      const task = await connector.handler(
        {
          operation: 'publish-batch',
          input: { entries: [{ body: '{"from":"task"}', detailType: 'from-trigger' }] },
        },
        lambdaContext(),
      );
      const health = (await connector.handler(
        httpEvent({ method: 'GET', path: '/eventbridge/health' }),
        lambdaContext(),
      )) as HttpResult;
      // Assess
      expect(queued).toEqual({ batchItemFailures: [] });
      expect(task).toMatchObject({ succeeded: 1, failed: 0 });
      expect(health.statusCode).toBe(200);
      expect(parsed(health)['capabilities']).toEqual([]);
      expect((await all.collect(0)).map((m) => m.body).sort()).toEqual([
        '{"from":"queue"}',
        '{"from":"task"}',
      ]);
    });

    it('refuses an unknown field with a 400 naming it', async () => {
      const typo = await call('describe-rule', { nam: 'x' });
      expect(typo.statusCode).toBe(400);
      expect(parsed(typo)['errors']).toEqual(
        expect.arrayContaining([{ pointer: '/nam', message: 'unknown field' }]),
      );
    });
  });
});
