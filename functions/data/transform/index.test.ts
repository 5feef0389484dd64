/**
 * The Data Transform connector against s3rver (a real S3 HTTP server) through the real AWS SDK client:
 * inline and claim-check transforms, schemas on both sides, the JSONata limits, every trigger.
 */
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { withInvocation } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type S3rverPeer, startS3rver } from '../../../test/peers/s3rver.ts';
import { TransformClient } from './client.ts';
import { clientOptions, TransformConfig } from './config.ts';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let peer: S3rverPeer;
let s3: S3Client;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({ path: `/transform/${operation}`, body });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

async function put(key: string, body: string, bucket = 'data'): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
}

async function get(key: string, bucket = 'data'): Promise<string> {
  const response = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return (await response.Body?.transformToString()) ?? '';
}

const ORDERS = [
  { id: 1, customer: 'Ada', total: 12.5, currency: 'EUR' },
  { id: 2, customer: '', total: 3, currency: 'EUR' },
  { id: 3, customer: 'Grace', total: 40, currency: 'USD' },
  { id: 4, customer: 'Linus', total: 0, currency: 'EUR' },
];

const TO_ROW =
  '$.total > 0 ? { "order_id": $string(id), "customer": customer, "total_cents": $round(total * 100), "currency": $uppercase(currency) }';

beforeAll(async () => {
  peer = await startS3rver({ buckets: ['data', 'other', 'elsewhere'] });
  s3 = new S3Client({
    endpoint: peer.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: peer.credentials,
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_S3: peer.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'S3RVER',
    AWS_SECRET_ACCESS_KEY: 'S3RVER',
    TRANSFORM_BUCKET: 'data',
    TRANSFORM_ALLOWED_BUCKETS: 'other',
    TRANSFORM_S3_FORCE_PATH_STYLE: 'true',
    TRANSFORM_EVAL_TIMEOUT_MS: '200',
    TRANSFORM_MAX_DEPTH: '100',
    TRANSFORM_MAX_SEQUENCE: '1000',
    TRANSFORM_MAX_RESULT_BYTES: '2048',
    TRANSFORM_MAX_RECORD_BYTES: '1024',
    TRANSFORM_INLINE_MAX_BYTES: '400',
  });
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  s3?.destroy();
  await peer?.close();
});

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describe('Connector: transform', () => {
  describe('Operation: transform-records', () => {
    it('maps inline records, rejecting by index the ones failing either schema and counting the filtered', async () => {
      // Act
      const response = await call('transform-records', {
        expression: TO_ROW,
        records: ORDERS,
        inputSchema: { model: 'order.v1' },
        outputSchema: {
          jsonSchema: {
            type: 'object',
            properties: { currency: { enum: ['EUR', 'GBP'] } },
            required: ['order_id', 'currency'],
          },
        },
      });

      // Assess
      expect(response.statusCode).toBe(200);
      const body = parsed(response);
      expect(body).toMatchObject({ read: 4, written: 1, skipped: 1, rejectedCount: 2 });
      expect(body['records']).toEqual([
        { order_id: '1', customer: 'Ada', total_cents: 1250, currency: 'EUR' },
      ]);
      expect(body['rejected']).toEqual([
        {
          index: 1,
          stage: 'input',
          message: 'does not match inputSchema',
          problems: [{ pointer: '/customer', message: expect.any(String) }],
        },
        {
          index: 2,
          stage: 'output',
          message: 'result does not match outputSchema',
          problems: [{ pointer: '/currency', message: expect.any(String) }],
        },
      ]);
    });

    it('answers 400 naming the expression position for a syntax error, and an unknown model by its field', async () => {
      // Act
      const syntax = await call('transform-records', { expression: '{ "id": id ', records: [{ id: 1 }] });
      const model = await call('transform-records', {
        expression: 'id',
        records: [],
        inputSchema: { model: 'nothing.v1' },
      });

      // Assess
      expect(syntax.statusCode).toBe(400);
      expect(parsed(syntax)['errors']).toEqual([
        { pointer: '/expression', message: expect.stringMatching(/^JSONata S0\d+ at position \d+: /) },
      ]);
      expect(model.statusCode).toBe(400);
      expect(parsed(model)['errors']).toEqual([
        { pointer: '/inputSchema/model', message: expect.any(String) },
      ]);
    });

    it('rejects a record whose evaluation runs too long, recurses too deep, builds too long a sequence or answers too much', async () => {
      // Prepare
      const records = [
        { kind: 'loop' },
        { kind: 'deep' },
        { kind: 'range' },
        { kind: 'big' },
        { kind: 'fine' },
      ];
      const expression = `(
        $loop := function($n) { $n > -1 ? $loop($n + 1) : 0 };
        $deep := function($n) { $n = 0 ? 0 : 1 + $deep($n - 1) };
        kind = "loop" ? $loop(0) : kind = "deep" ? $deep(100000) : kind = "range" ? [1..100000]
          : kind = "big" ? $pad("", 5000) : { "kind": kind }
      )`;

      // Act
      const body = parsed(await call('transform-records', { expression, records }));

      // Assess
      expect(body).toMatchObject({ read: 5, written: 1, rejectedCount: 4, records: [{ kind: 'fine' }] });
      const messages = (body['rejected'] as { index: number; message: string }[]).map((r) => [
        r.index,
        r.message,
      ]);
      expect(messages).toEqual([
        [0, expect.stringMatching(/^(D1012|D1011)/)],
        [1, expect.stringMatching(/^D1011/)],
        [2, expect.stringMatching(/^D2015/)],
        [3, expect.stringMatching(/^result_too_large/)],
      ]);
    });

    it('reads an NDJSON claim check, rejects an unreadable line by index, and writes a large output to S3', async () => {
      // Prepare
      const lines = Array.from({ length: 30 }, (_, i) =>
        JSON.stringify({ id: i, customer: `c${i}`, total: i, currency: 'EUR' }),
      );
      lines.splice(5, 0, '{"id": 5.5, broken');
      lines.splice(9, 0, '', `{"pad":"${'x'.repeat(2000)}"}`);
      await put('in/orders.ndjson', `${lines.join('\n')}\n`);

      // Act
      const body = parsed(
        await call('transform-records', {
          expression: '{ "id": id, "who": customer }',
          records: { key: 'in/orders.ndjson' },
        }),
      );

      // Assess: 32 records (the blank line is not one), two unreadable, 30 written to a claim check
      expect(body).toMatchObject({ read: 32, written: 30, rejectedCount: 2 });
      expect((body['rejected'] as { index: number; stage: string }[]).map((r) => [r.index, r.stage])).toEqual(
        [
          [5, 'read'],
          [9, 'read'],
        ],
      );
      expect(body['records']).toBeUndefined();
      const object = body['object'] as { key: string; format: string; size: number };
      expect(object).toMatchObject({ bucket: 'data', format: 'ndjson', parts: 1 });
      expect(object.key).toMatch(/^transform\/outputs\/.+\.ndjson$/);
      const written = (await get(object.key)).trimEnd().split('\n');
      expect(written).toHaveLength(30);
      expect(JSON.parse(written[29] ?? '')).toEqual({ id: 29, who: 'c29' });
      expect(object.size).toBe(Buffer.byteLength(await get(object.key)));
    });

    it('gives concurrent requests sharing a correlation id each its own claim-check object', async () => {
      // Prepare: Lambda Managed Instances run many invocations at once in one environment (AWS Lambda
      // developer guide, "Node.js runtime for Lambda Managed Instances"); a workflow passing its own
      // correlation id to parallel steps gives them all the same one. Each output passes
      // TRANSFORM_INLINE_MAX_BYTES, so each is written to S3.
      const records = (tag: string) => Array.from({ length: 20 }, (_, id) => ({ id, tag }));
      const request = (tag: string) => ({
        operation: 'transform-records',
        correlationId: 'workflow-run-7',
        input: { expression: '{ "id": id, "tag": tag }', records: records(tag) },
      });

      // Act: both invocations in flight at once, each with its own Lambda context.
      const answers = (await Promise.all([
        connector.handler(request('first'), lambdaContext()),
        connector.handler(request('second'), lambdaContext()),
      ])) as { object: { key: string } }[];

      // Assess: each answer names an object holding its own records.
      const [first, second] = answers;
      expect(first?.object.key).not.toBe(second?.object.key);
      for (const [index, tag] of ['first', 'second'].entries()) {
        const key = answers[index]?.object.key ?? '';
        expect(key).toMatch(/^transform\/outputs\/workflow-run-7-[0-9a-f]{16}\.ndjson$/);
        const written = (await get(key))
          .trimEnd()
          .split('\n')
          .map((line) => JSON.parse(line));
        expect(written).toEqual(records(tag));
      }
    });

    it('writes a repeated request to the same claim-check object', async () => {
      // Prepare: a retry carries the same correlation id and the same input.
      const request = {
        operation: 'transform-records',
        correlationId: 'retried-request',
        input: { expression: '$', records: Array.from({ length: 20 }, (_, id) => ({ id, pad: 'xxxx' })) },
      };

      // Act
      const once = (await connector.handler(request, lambdaContext())) as { object: { key: string } };
      const again = (await connector.handler(request, lambdaContext())) as { object: { key: string } };

      // Assess
      expect(again.object.key).toBe(once.object.key);
    });

    it('reads CSV and writes CSV to the object named in another allowed bucket', async () => {
      // Prepare
      await put(
        'in/people.csv',
        'id,name,city\n1,Ada,London\n2,"Hopper, Grace",NYC,extra\n3,Linus,Helsinki\n',
      );

      // Act
      const body = parsed(
        await call('transform-records', {
          expression: '{ "id": $number(id), "name": $uppercase(name) }',
          records: { key: 'in/people.csv' },
          output: { bucket: 'other', key: 'out/people.csv', format: 'csv' },
        }),
      );

      // Assess
      expect(body).toMatchObject({
        read: 3,
        written: 2,
        rejectedCount: 1,
        object: { bucket: 'other', key: 'out/people.csv' },
      });
      expect((body['rejected'] as { index: number }[])[0]?.index).toBe(1);
      expect(await get('out/people.csv', 'other')).toBe('id,name\n1,ADA\n3,LINUS\n');
    });

    it('writes Parquet from CSV and reads that Parquet back (claim check both ways)', async () => {
      // Prepare
      const rows = Array.from({ length: 50 }, (_, i) => `${i},c${i},${i * 1.5}`);
      await put('in/sales.csv', `id,customer,total\n${rows.join('\n')}\n`);

      // Act
      const written = parsed(
        await call('transform-records', {
          expression: '{ "id": $number(id), "customer": customer, "total": $number(total) }',
          records: { key: 'in/sales.csv' },
          output: { key: 'out/sales.parquet', format: 'parquet' },
        }),
      );
      const back = parsed(
        await call('transform-records', {
          expression: 'total > 70 ? { "id": id, "total": total }',
          records: { key: 'out/sales.parquet' },
        }),
      );

      // Assess
      expect(written).toMatchObject({
        read: 50,
        written: 50,
        object: { key: 'out/sales.parquet', format: 'parquet' },
      });
      expect((await get('out/sales.parquet')).startsWith('PAR1')).toBe(true);
      expect(back).toMatchObject({
        read: 50,
        written: 3,
        skipped: 47,
        records: [
          { id: 47, total: 70.5 },
          { id: 48, total: 72 },
          { id: 49, total: 73.5 },
        ],
      });
    });

    it('refuses a bucket that is not allowed (403) and a missing object (404)', async () => {
      // Act
      const forbidden = await call('transform-records', {
        expression: 'id',
        records: { key: 'a', bucket: 'elsewhere' },
      });
      const missing = await call('transform-records', {
        expression: 'id',
        records: { key: 'in/none.ndjson' },
      });

      // Assess
      expect(forbidden.statusCode).toBe(403);
      expect(missing.statusCode).toBe(404);
      expect(parsed(missing)['detail']).toContain('in/none.ndjson');
    });
  });

  describe('Class: TransformClient failure paths', () => {
    const options = () => ({
      ...clientOptions(TransformConfig.parse({ ...process.env, TRANSFORM_MAX_OUTPUT_BYTES: '1024' })),
    });

    it('fails with 413 past TRANSFORM_MAX_OUTPUT_BYTES and leaves no object behind', async () => {
      // Prepare
      const client = new TransformClient(s3, options());
      const records = Array.from({ length: 40 }, (_, i) => ({ i, pad: 'x'.repeat(40) }));

      // Act
      const failing = client.transformRecords(
        { expression: '$', records, output: { key: 'out/too-big.ndjson' } },
        'c-1',
      );

      // Assess
      await expect(failing).rejects.toMatchObject({ name: 'PayloadTooLargeError', status: 413 });
      await expect(get('out/too-big.ndjson')).rejects.toMatchObject({ name: 'NoSuchKey' });
    });

    it('stops with TimeoutError when the invocation has no time left for a record', async () => {
      // Prepare
      const client = new TransformClient(s3, options());

      // Act
      const failing = withInvocation({ deadline: Date.now() + 1_000, correlationId: 'c-2' }, () =>
        client.transformRecords({ expression: '$', records: [{ a: 1 }] }, 'c-2'),
      );

      // Assess
      await expect(failing).rejects.toMatchObject({ name: 'TimeoutError' });
    });

    it('maps an S3 5xx while reading a claim check to a retryable UnavailableError', async () => {
      // Prepare
      const error = Object.assign(new Error('InternalError from the test'), {
        name: 'InternalError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
      });
      const broken = { send: async () => Promise.reject(error) } as unknown as S3Client;
      const client = new TransformClient(broken, options());

      // Act
      const failing = client.transformRecords({ expression: '$', records: { key: 'in/a.ndjson' } }, 'c-3');

      // Assess
      await expect(failing).rejects.toMatchObject({ name: 'UnavailableError', retryable: true });
    });
  });

  describe('Operation: test-expression', () => {
    it('evaluates on a sample, reports an evaluation error with its position, and refuses bad syntax', async () => {
      // Act
      const ok = parsed(
        await call('test-expression', {
          expression: '$uppercase(name) & $suffix',
          sample: { name: 'ada' },
          bindings: { suffix: '!' },
        }),
      );
      const failing = parsed(
        await call('test-expression', { expression: 'name + 1', sample: { name: 'ada' } }),
      );
      const bad = await call('test-expression', { expression: '$uppercase(' });

      // Assess
      expect(ok).toEqual({ valid: true, result: 'ADA!' });
      expect(failing).toMatchObject({ valid: true, error: { code: 'T2001', position: expect.any(Number) } });
      expect(bad.statusCode).toBe(400);
    });
  });

  describe('Review 2026-12-07: integers JSON has already rounded', () => {
    it('refuses an inline record holding an integer beyond 2^53 with a 400 naming the field, keeping floats', async () => {
      // Act: 9007199254740993 arrives as 9007199254740992, the neighbouring id.
      const rounded = await call(
        'transform-records',
        '{"expression":"$","records":[{"id":1},{"order":{"a/b":[1.5,9007199254740993]}}]}',
      );
      const kept = await call('transform-records', {
        expression: '$',
        records: [{ id: '9007199254740993', big: 1e20, half: 1.5, safe: 2 ** 53 - 1 }],
      });

      // Assess
      expect(rounded.statusCode).toBe(400);
      expect(parsed(rounded)['errors']).toEqual([
        { pointer: '/records/1/order/a~1b/1', message: expect.stringMatching(/beyond 2\^53.*decimal text/) },
      ]);
      expect(kept.statusCode).toBe(200);
      expect(parsed(kept)['records']).toEqual([
        { id: '9007199254740993', big: 1e20, half: 1.5, safe: 2 ** 53 - 1 },
      ]);
    });
  });

  describe('Triggers', () => {
    it('runs a queued request, a Step Functions task envelope, and answers health', async () => {
      // Act
      const queued = await connector.handler(
        sqsEvent([
          { body: { operation: 'transform-records', input: { expression: 'id', records: [{ id: 1 }] } } },
        ]),
        lambdaContext(),
      );
      const task = await connector.handler(
        { operation: 'transform-records', input: { expression: '{ "n": n * 2 }', records: [{ n: 2 }] } },
        lambdaContext(),
      );
      const health = await connector.handler(
        httpEvent({ method: 'GET', path: '/transform/health' }),
        lambdaContext(),
      );

      // Assess
      expect(queued).toEqual({ batchItemFailures: [] });
      expect(task).toMatchObject({ read: 1, written: 1, records: [{ n: 4 }] });
      expect((health as HttpResult).statusCode).toBe(200);
    });
  });
});
