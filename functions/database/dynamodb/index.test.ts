/**
 * The DynamoDB connector against a real DynamoDB protocol peer (dynalite) through the real AWS SDK
 * client: the key-value conformance suite, each trigger, the table layout, expired items DynamoDB has not
 * swept yet, unprocessed batch items retried, and the failure paths the AWS kit maps. Failures DynamoDB
 * would answer under load (unprocessed keys, throttling, 5xx) are injected into the real client's
 * middleware stack, in front of the real peer.
 */
import { createHash } from 'node:crypto';
import { DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { withInvocation } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeKeyValueConformance } from '#shared/interfaces/key-value.conformance.ts';
import { createTable, type DynalitePeer, startDynalite } from '../../../test/peers/dynalite.ts';
import { DynamodbKeyValueStore, type DynamodbOptions, partitionOf } from './client.ts';

const TABLE = 'circle-core-test-kv';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let dynamo: DynalitePeer;
let raw: DynamoDBClient;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };
const options: DynamodbOptions = {
  table: TABLE,
  ttlAttribute: 'expiresAt',
  timeoutMs: 2_000,
  maxAttempts: 1,
};

async function call(operation: string, body: unknown): Promise<HttpResult> {
  const event = httpEvent({
    path: `/dynamodb/${operation}`,
    body,
    headers: { 'idempotency-key': crypto.randomUUID() },
  });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

/** A real SDK client against dynalite, with `intercept` in front of every call (what AWS would do under load). */
function interceptedSdk(
  intercept: (
    command: string,
    input: Record<string, unknown>,
    send: () => Promise<unknown>,
  ) => Promise<unknown>,
): DynamoDBClient {
  const sdk = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
  sdk.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as Record<string, unknown>;
      return (await intercept(String(context.commandName), input, () => next(args))) as Awaited<
        ReturnType<typeof next>
      >;
    },
    { step: 'initialize', name: 'circleTestIntercept' },
  );
  return sdk;
}

type BatchRequest = { Keys: unknown[] } | unknown[];

/** Cuts a batch request down to its first key or item, in place; answers the rest, as DynamoDB lists it. */
function keepFirst(requests: Record<string, BatchRequest>): Record<string, BatchRequest> {
  const [table, request] = Object.entries(requests)[0] as [string, BatchRequest];
  if (Array.isArray(request)) {
    requests[table] = request.slice(0, 1);
    return { [table]: request.slice(1) };
  }
  requests[table] = { ...request, Keys: request.Keys.slice(0, 1) };
  return { [table]: { ...request, Keys: request.Keys.slice(1) } };
}

function awsError(name: string, status: number): Error {
  return Object.assign(new Error(`${name} from the test`), {
    name,
    $fault: status >= 500 ? 'server' : 'client',
    $metadata: { httpStatusCode: status, requestId: 'req-1' },
  });
}

beforeAll(async () => {
  dynamo = await startDynalite();
  await createTable(dynamo.endpoint, TABLE, { partitionKey: 'pk', sortKey: 'sk' });
  raw = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    DYNAMODB_TABLE: TABLE,
    DYNAMODB_TIMEOUT_MS: '2000',
  });
  delete process.env['CIRCLE_IDEMPOTENCY_TABLE'];
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  raw?.destroy();
  await dynamo?.close();
});

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describeKeyValueConformance('DynamodbKeyValueStore on dynalite', async () => ({
  store: await DynamodbKeyValueStore.create(options),
}));

describe('Connector: dynamodb', () => {
  describe('Operations', () => {
    it('writes, reads, lists, counts and deletes through HTTP', async () => {
      // Act
      const put = await call('put-value', { key: 'orders/1', value: { total: 12.5 }, ttlSeconds: 60 });
      const got = await call('get-value', { key: 'orders/1' });
      const listed = await call('list-keys', { prefix: 'orders/' });
      const counted = await call('increment-value', { key: 'orders/count', by: 3 });
      const deleted = await call('delete-value', { key: 'orders/1' });
      const missing = await call('get-value', { key: 'orders/1' });

      // Assess
      expect(put.statusCode).toBe(200);
      expect(parsed(got)).toMatchObject({
        key: 'orders/1',
        value: { total: 12.5 },
        version: parsed(put)['version'],
      });
      expect(parsed(listed)['keys']).toEqual(['orders/1']);
      expect(parsed(counted)).toMatchObject({ key: 'orders/count', value: 3 });
      expect(parsed(deleted)).toEqual({ key: 'orders/1', deleted: true });
      expect(missing.statusCode).toBe(404);
    });

    it('keeps a key in the partition of its first segment, its value as native types', async () => {
      // Act
      await call('put-value', { key: 'layout/a/b', value: { n: 1, tags: ['x'] }, ttlSeconds: 600 });
      const { Item: item } = await raw.send(
        new GetItemCommand({ TableName: TABLE, Key: { pk: { S: 'layout/' }, sk: { S: 'layout/a/b' } } }),
      );

      // Assess
      expect(partitionOf('plain')).toBe('plain');
      expect(item?.['v']).toEqual({ M: { n: { N: '1' }, tags: { L: [{ S: 'x' }] } } });
      expect(item?.['ver']?.S).toEqual(expect.any(String));
      expect(Number(item?.['expiresAt']?.N) - Date.now() / 1000).toBeGreaterThan(590);
    });

    it('answers 409 for a failed condition, 400 naming an unknown field, 400 for a foreign cursor', async () => {
      // Prepare
      await call('put-value', { key: 'taken', value: 1 });
      const scanCursor = parsed(await call('list-keys', { prefix: 't', limit: 1 }))['cursor'];

      // Act
      const conflict = await call('put-value', { key: 'taken', value: 2, onlyIfAbsent: true });
      const unknown = await call('get-value', { key: 'a', kee: 'b' });
      const foreign = await call('list-keys', { prefix: 't/', cursor: scanCursor ?? 'x' });

      // Assess
      expect(conflict.statusCode).toBe(409);
      expect(parsed(conflict)['detail']).toBe(
        `the item in table ${TABLE} did not meet the condition (onlyIfAbsent or ifVersion)`,
      );
      expect(unknown.statusCode).toBe(400);
      expect(parsed(unknown)['errors']).toEqual([{ pointer: '/kee', message: 'unknown field' }]);
      expect(foreign.statusCode).toBe(400);
    });

    it('answers 400 naming the cursor for one edited to start outside the listing, before calling DynamoDB', async () => {
      // Prepare: cursors of this prefix (its digest kept) whose start key DynamoDB refuses with a
      // ValidationException: an empty key, or a Query start key outside the prefix's partition
      const digest = (prefix: string) => createHash('sha256').update(prefix).digest('hex').slice(0, 16);
      const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const edited = [
        { prefix: 'cursors/', cursor: cursor({ m: 'q', k: { pk: '', sk: '' }, p: digest('cursors/') }) },
        { prefix: 'cursors/', cursor: cursor({ m: 'q', k: { pk: 'b/', sk: 'b/1' }, p: digest('cursors/') }) },
        { prefix: 'cur', cursor: cursor({ m: 's', k: { pk: '', sk: '' }, p: digest('cur') }) },
      ];

      // Act
      const answers = await Promise.all(edited.map((input) => call('list-keys', input)));

      // Assess (before: 502 unexpected_response from DynamoDB's ValidationException)
      for (const answer of answers) {
        expect(answer.statusCode).toBe(400);
        expect(parsed(answer)['errors']).toEqual([{ pointer: '/cursor', message: expect.any(String) }]);
      }
    });

    it('answers 400 naming the cursor for one whose start key is over DynamoDB’s key sizes, before calling DynamoDB', async () => {
      // Prepare: DynamoDB refuses a start key whose sort key is over 1,024 bytes or whose partition key is
      // over 2,048 bytes (its constraints on partition and sort keys) with a ValidationException; a Scan
      // cursor's start key is otherwise any key of the table, a Query's any key under the prefix. (dynalite
      // counts UTF-16 units where DynamoDB counts UTF-8 bytes, so it takes the first two; DynamoDB would not.)
      const digest = (prefix: string) => createHash('sha256').update(prefix).digest('hex').slice(0, 16);
      const cursor = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const longSort = `cur${'é'.repeat(520)}`;
      const longQuery = `cursors/${'é'.repeat(510)}`;
      const edited = [
        { prefix: 'cur', cursor: cursor({ m: 's', k: { pk: longSort, sk: longSort }, p: digest('cur') }) },
        {
          prefix: 'cursors/',
          cursor: cursor({ m: 'q', k: { pk: 'cursors/', sk: longQuery }, p: digest('cursors/') }),
        },
        {
          prefix: 'cur',
          cursor: cursor({ m: 's', k: { pk: 'p'.repeat(2049), sk: 'cur' }, p: digest('cur') }),
        },
        {
          prefix: 'cur',
          cursor: cursor({ m: 's', k: { pk: 'cur', sk: `cur${'a'.repeat(1022)}` }, p: digest('cur') }),
        },
      ];
      expect(Buffer.byteLength(longSort)).toBeGreaterThan(1024);
      expect(Buffer.byteLength(longQuery)).toBeGreaterThan(1024);

      // Act
      const answers = await Promise.all(edited.map((input) => call('list-keys', input)));

      // Assess (before: 502 unexpected_response from DynamoDB's ValidationException)
      expect(answers.map((answer) => answer.statusCode)).toEqual([400, 400, 400, 400]);
      for (const answer of answers) {
        expect(parsed(answer)['errors']).toEqual([{ pointer: '/cursor', message: expect.any(String) }]);
      }
    });

    it('answers 400 naming a number DynamoDB cannot store, before calling DynamoDB', async () => {
      // Act (the hardening fuzz found -1e126 answered as a 502 from DynamoDB's ValidationException)
      const huge = await call('put-value', { key: 'numbers/huge', value: { 'a/b': [1, -1e126] } });
      const tiny = await call('put-values', {
        items: [
          { key: 'numbers/ok', value: { zero: 0, small: 1e-130, large: 9.9e125 } },
          { key: 'numbers/tiny', value: 5e-324 },
        ],
      });
      const stored = await call('get-value', { key: 'numbers/ok' });
      const edges = await call('put-value', {
        key: 'numbers/edges',
        value: { zero: 0, small: -1e-130, large: 9.9e125, beyondSafe: 1e20 },
      });

      // Assess
      expect(huge.statusCode).toBe(400);
      expect(parsed(huge)['errors']).toEqual([
        { pointer: '/value/a~1b/1', message: expect.stringContaining('1e126') },
      ]);
      expect(tiny.statusCode).toBe(400);
      expect(parsed(tiny)['errors']).toEqual([{ pointer: '/items/1/value', message: expect.any(String) }]);
      expect((await call('get-value', { key: 'numbers/huge' })).statusCode).toBe(404);
      expect(stored.statusCode).toBe(404);
      expect(edges.statusCode).toBe(200);
      const read = await call('get-value', { key: 'numbers/edges' });
      expect(parsed(read)['value']).toEqual({
        zero: 0,
        small: -1e-130,
        large: 9.9e125,
        beyondSafe: 1e20,
      });
    });

    it('answers 400 naming a value over DynamoDB’s 400 KB item size though its JSON is within 256 KiB', async () => {
      // Prepare: each [[]] is 4 bytes of JSON but 8 as a DynamoDB item (a list or map costs 3 bytes, each
      // element 1 more), so 52,428 of them (262,141 bytes of JSON) make an item of about 419 KB.
      const nested = Array.from({ length: 52_428 }, () => [[]]);
      const fits = Array.from({ length: 1_000 }, () => [[]]);
      expect(Buffer.byteLength(JSON.stringify(nested))).toBeLessThanOrEqual(262_144);

      // Act
      const one = await call('put-value', { key: 'sizes/nested', value: nested });
      const batch = await call('put-values', {
        items: [
          { key: 'sizes/fits', value: fits },
          { key: 'sizes/nested', value: nested },
        ],
      });
      const stored = await call('put-value', { key: 'sizes/fits', value: fits });

      // Assess (before: 502 unexpected_response from DynamoDB's ValidationException)
      expect(one.statusCode).toBe(400);
      expect(parsed(one)['errors']).toEqual([
        { pointer: '/value', message: expect.stringContaining('400 KB') },
      ]);
      expect(batch.statusCode).toBe(400);
      expect(parsed(batch)['errors']).toEqual([
        { pointer: '/items/1/value', message: expect.stringContaining('400 KB') },
      ]);
      expect((await call('get-value', { key: 'sizes/nested' })).statusCode).toBe(404);
      expect(stored.statusCode).toBe(200);
    });

    it('answers 409 for an increment of a fractional number, writing nothing', async () => {
      // Prepare (found on the running stack: 1.5 became 2.5, then the answer was a 500, so a retry added again)
      const put = await call('put-value', { key: 'counts/frac', value: 1.5 });

      // Act
      const refused = await call('increment-value', { key: 'counts/frac', by: 1 });
      const together = await Promise.all(
        Array.from({ length: 5 }, () => call('increment-value', { key: 'counts/frac', by: 2 })),
      );
      const got = await call('get-value', { key: 'counts/frac' });

      // Assess
      expect(refused.statusCode).toBe(409);
      expect(parsed(refused)).toMatchObject({
        code: 'conflict',
        detail: `the item in table ${TABLE} holds a number that is not an integer (increment-value adds only to integers)`,
      });
      expect(together.map((response) => response.statusCode)).toEqual([409, 409, 409, 409, 409]);
      expect(parsed(got)).toMatchObject({ value: 1.5, version: parsed(put)['version'] });
    });

    it('answers 409 for an increment of a value that is not a number, writing nothing', async () => {
      // Prepare
      const values = { text: 'ten', numeric: '10', object: { n: 1 }, list: [1], flag: true, nothing: null };
      const versions: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(values)) {
        versions[name] = parsed(await call('put-value', { key: `counts/${name}`, value }))['version'];
      }

      // Act
      const refused = await Promise.all(
        Object.keys(values).map((name) => call('increment-value', { key: `counts/${name}` })),
      );
      const stored = await Promise.all(
        Object.keys(values).map((name) => call('get-value', { key: `counts/${name}` })),
      );

      // Assess
      for (const response of refused) {
        expect(response.statusCode).toBe(409);
        expect(parsed(response)['detail']).toBe(
          `the item in table ${TABLE} holds a value that is not a number`,
        );
      }
      expect(stored.map((response) => parsed(response)['value'])).toEqual(Object.values(values));
      expect(stored.map((response) => parsed(response)['version'])).toEqual(Object.values(versions));
    });

    it('answers 409 for an increment past 2^53 - 1 either way, writing nothing, and reaches the bound', async () => {
      // Prepare (the answer is a JSON number: beyond 2^53 - 1 it would not be the stored integer)
      const max = Number.MAX_SAFE_INTEGER;
      await call('put-values', {
        items: [
          { key: 'counts/top', value: max - 1 },
          { key: 'counts/bottom', value: -max },
          { key: 'counts/huge', value: 1e20 },
        ],
      });

      // Act
      const reached = await call('increment-value', { key: 'counts/top', by: 1 });
      const over = await call('increment-value', { key: 'counts/top', by: 1 });
      const under = await call('increment-value', { key: 'counts/bottom', by: -1 });
      const huge = await call('increment-value', { key: 'counts/huge', by: -1 });
      const stored = await call('get-values', { keys: ['counts/top', 'counts/bottom', 'counts/huge'] });

      // Assess
      expect(parsed(reached)).toMatchObject({ value: max });
      for (const response of [over, under, huge]) {
        expect(response.statusCode).toBe(409);
        expect(parsed(response)['detail']).toBe(
          `the item in table ${TABLE} holds an integer the increment would take beyond ±9007199254740991 (2^53 - 1)`,
        );
      }
      expect((parsed(stored)['items'] as Array<{ value: number }>).map((item) => item.value)).toEqual([
        max,
        -max,
        1e20,
      ]);
    });

    it('answers a number another writer stored beyond what a JSON number holds as its exact text', async () => {
      // Prepare: DynamoDB keeps 38 digits; a JSON number (a double) keeps about 17.
      const wide = '12345678901234567890123456789012345678';
      await raw.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: {
            pk: { S: 'wide/' },
            sk: { S: 'wide/n' },
            v: {
              M: {
                big: { N: wide },
                odd: { N: '9007199254740993' },
                tenth: { N: '0.1' },
                even: { N: '1E+20' },
              },
            },
            ver: { S: 'v0' },
          },
        }),
      );
      await raw.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { pk: { S: 'wide/' }, sk: { S: 'wide/top' }, v: { N: wide }, ver: { S: 'v0' } },
        }),
      );
      await call('put-value', { key: 'wide/small', value: [1.5e-7, -0.000123, 123456789.125, 2 ** 60] });

      // Act
      const nested = await call('get-value', { key: 'wide/n' });
      const top = await call('get-values', { keys: ['wide/top', 'wide/small'] });
      const counted = await call('increment-value', { key: 'wide/top', by: 1 });

      // Assess
      expect(parsed(nested)['value']).toEqual({ big: wide, odd: '9007199254740993', tenth: 0.1, even: 1e20 });
      expect((parsed(top)['items'] as Array<{ value: unknown }>).map((item) => item.value)).toEqual([
        wide,
        [1.5e-7, -0.000123, 123456789.125, 2 ** 60],
      ]);
      expect(counted.statusCode).toBe(409);
      expect(parsed(counted)['detail']).toBe(
        `the item in table ${TABLE} holds an integer the increment would take beyond ±9007199254740991 (2^53 - 1)`,
      );
    });

    it('treats an expired item DynamoDB has not swept yet as absent everywhere', async () => {
      // Prepare
      const past = String(Math.floor(Date.now() / 1000) - 60);
      for (const [key, value] of [
        ['stale/value', { S: '"old"' }],
        ['stale/counter', { N: '41' }],
      ] as const) {
        await raw.send(
          new PutItemCommand({
            TableName: TABLE,
            Item: { pk: { S: 'stale/' }, sk: { S: key }, v: value, ver: { S: 'v0' }, expiresAt: { N: past } },
          }),
        );
      }

      // Act
      const got = await call('get-value', { key: 'stale/value' });
      const listed = await call('list-keys', { prefix: 'stale/' });
      const deleted = await call('delete-value', { key: 'stale/value' });
      const counted = await call('increment-value', { key: 'stale/counter', by: 5 });
      const created = await call('put-value', { key: 'stale/value', value: 'new', onlyIfAbsent: true });

      // Assess
      expect(got.statusCode).toBe(404);
      expect(parsed(listed)['keys']).toEqual([]);
      expect(parsed(deleted)).toEqual({ key: 'stale/value', deleted: false });
      expect(parsed(counted)).toMatchObject({ value: 5 });
      expect(created.statusCode).toBe(200);
    });
  });

  describe('Class: DynamodbKeyValueStore', () => {
    it('retries the keys and items a batch left unprocessed until every one is done', async () => {
      // Prepare
      const calls: Record<string, number> = {};
      const sdk = interceptedSdk(async (command, input, send) => {
        calls[command] = (calls[command] ?? 0) + 1;
        if (calls[command] !== 1) return send();
        // The first call processes only the first request; the rest come back unprocessed.
        const rest = keepFirst(input['RequestItems'] as Record<string, BatchRequest>);
        const result = (await send()) as { output: Record<string, unknown> };
        result.output[command === 'BatchGetItemCommand' ? 'UnprocessedKeys' : 'UnprocessedItems'] = rest;
        return result;
      });
      const store = new DynamodbKeyValueStore(sdk, options);
      const keys = ['batch/a', 'batch/b', 'batch/c'];

      // Act
      await store.putValues({ items: keys.map((key) => ({ key, value: key })) });
      const got = await store.getValues({ keys });

      // Assess
      expect(calls).toEqual({ BatchWriteItemCommand: 2, BatchGetItemCommand: 2 });
      expect(got.items.map((item) => item.value)).toEqual(keys);
      expect(got.missing).toEqual([]);
    });

    it('gives up on unprocessed items with RateLimitedError when the invocation has no time left', async () => {
      // Prepare
      let sent = 0;
      const counting = interceptedSdk(async (_command, input) => {
        sent += 1;
        return { output: { UnprocessedItems: input['RequestItems'], $metadata: {} } };
      });
      const late = new DynamodbKeyValueStore(counting, options);

      // Act
      const failure = withInvocation({ deadline: Date.now() + 1_000, correlationId: 'late' }, () =>
        late.putValues({ items: [{ key: 'late/a', value: 1 }] }),
      );

      // Assess
      await expect(failure).rejects.toMatchObject({ name: 'RateLimitedError' });
      expect(sent).toBeGreaterThan(1);
    });

    it('adds to an integer with one UpdateItem, whether put, counted or absent', async () => {
      // Prepare
      const sent: string[] = [];
      const store = new DynamodbKeyValueStore(
        interceptedSdk(async (command, _input, send) => {
          sent.push(command);
          return send();
        }),
        options,
      );
      await store.putValue({ key: 'cost/put', value: 10 });
      sent.length = 0;

      // Act
      const fromPut = await store.incrementValue({ key: 'cost/put', by: 5 });
      const fromNothing = await store.incrementValue({ key: 'cost/new', by: -2 });
      const counted = await store.incrementValue({ key: 'cost/new', by: 3 });

      // Assess
      expect(sent).toEqual(['UpdateItemCommand', 'UpdateItemCommand', 'UpdateItemCommand']);
      expect([fromPut.value, fromNothing.value, counted.value]).toEqual([15, -2, 1]);
    });

    it('counts on from a counter written before 1.0.1, losing no concurrent increment', async () => {
      // Prepare: an item as 1.0.0 wrote it (no vint mark)
      await raw.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { pk: { S: 'legacy/' }, sk: { S: 'legacy/count' }, v: { N: '7' }, ver: { S: 'v0' } },
        }),
      );
      const sent: string[] = [];
      const store = new DynamodbKeyValueStore(
        interceptedSdk(async (command, _input, send) => {
          sent.push(command);
          return send();
        }),
        options,
      );

      // Act
      const results = await Promise.all(
        Array.from({ length: 10 }, () => store.incrementValue({ key: 'legacy/count', by: 1 })),
      );
      sent.length = 0;
      const marked = await store.incrementValue({ key: 'legacy/count', by: 1 });

      // Assess
      expect(results.map((result) => result.value).sort((a, b) => a - b)).toEqual([
        8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
      ]);
      expect(marked.value).toBe(18);
      expect(sent).toEqual(['UpdateItemCommand']);
    });

    it('gives up with ConflictError, writing nothing, when the item changes under every attempt', async () => {
      // Prepare: every UpdateItem finds the condition failed, as if another writer always came first
      await raw.send(
        new PutItemCommand({
          TableName: TABLE,
          Item: { pk: { S: 'busy' }, sk: { S: 'busy' }, v: { N: '3' }, ver: { S: 'v0' } },
        }),
      );
      const sent: string[] = [];
      const store = new DynamodbKeyValueStore(
        interceptedSdk(async (command, _input, send) => {
          sent.push(command);
          if (command === 'UpdateItemCommand') throw awsError('ConditionalCheckFailedException', 400);
          return send();
        }),
        options,
      );

      // Act
      const failure = store.incrementValue({ key: 'busy', by: 1 });

      // Assess
      await expect(failure).rejects.toMatchObject({
        name: 'ConflictError',
        message: `the item in table ${TABLE} changed during each of 5 attempts at the increment; try again`,
      });
      expect(sent.filter((command) => command === 'UpdateItemCommand')).toHaveLength(10);
      await expect(store.getValue({ key: 'busy' })).resolves.toMatchObject({ value: 3, version: 'v0' });
    });

    it('answers an item locked by an ongoing transaction (TransactionConflictException) with a retryable 503', async () => {
      // Prepare: DynamoDB rejects a write to an item a TransactWriteItems is changing at that moment
      const store = new DynamodbKeyValueStore(
        interceptedSdk(async () => Promise.reject(awsError('TransactionConflictException', 400))),
        options,
      );

      // Act
      const failure = store.putValue({ key: 'in-transaction', value: 1 });

      // Assess
      await expect(failure).rejects.toMatchObject({
        name: 'UnavailableError',
        status: 503,
        retryable: true,
        message: `the item in table ${TABLE} is being changed by a transaction; try again`,
        details: { awsError: 'TransactionConflictException' },
      });
    });

    it('answers an item being written in another Region (ReplicatedWriteConflictException) with a retryable 503', async () => {
      // Prepare: a multi-Region strongly consistent global table refuses a write racing one in another
      // Region; botocore marks the error retryable, and nothing was written
      const store = new DynamodbKeyValueStore(
        interceptedSdk(async () => Promise.reject(awsError('ReplicatedWriteConflictException', 400))),
        options,
      );

      // Act
      const failure = store.putValue({ key: 'replicated', value: 1 });

      // Assess
      await expect(failure).rejects.toMatchObject({
        name: 'UnavailableError',
        status: 503,
        retryable: true,
        message: `the item in table ${TABLE} is being changed by a write in another Region; try again`,
        details: { awsError: 'ReplicatedWriteConflictException' },
      });
    });

    it('maps throttling, a missing table and a 5xx into the taxonomy', async () => {
      // Prepare
      const failing = (name: string, status: number) =>
        new DynamodbKeyValueStore(
          interceptedSdk(async () => Promise.reject(awsError(name, status))),
          options,
        );

      // Act
      const throttled = failing('ProvisionedThroughputExceededException', 400).getValue({ key: 'a' });
      const missingTable = failing('ResourceNotFoundException', 400).ping();
      const unavailable = failing('InternalServerError', 500).putValue({ key: 'a', value: 1 });

      // Assess
      await expect(throttled).rejects.toMatchObject({ name: 'RateLimitedError', retryable: true });
      await expect(missingTable).rejects.toMatchObject({
        name: 'ConfigurationError',
        message: expect.stringContaining('DYNAMODB_TABLE'),
      });
      await expect(unavailable).rejects.toMatchObject({ name: 'UnavailableError', retryable: true });
    });
  });

  describe('Lambda Managed Instances: concurrent invocations of one warm handler', () => {
    it('applies every interleaved increment once and lets exactly one of several create-only writes win', async () => {
      // Prepare: LMI sends one handler several invocations at once, sharing its module state and SDK client
      // (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html).
      const counter = `lmi/counter-${Date.now()}`;
      const slot = `lmi/slot-${Date.now()}`;
      // Act
      const [increments, claims] = await Promise.all([
        Promise.all(
          Array.from({ length: 8 }, (_, index) => call('increment-value', { key: counter, by: index + 1 })),
        ),
        Promise.all(
          Array.from({ length: 4 }, (_, index) =>
            call('put-value', { key: slot, value: { owner: index }, onlyIfAbsent: true }),
          ),
        ),
      ]);
      const total = await call('get-value', { key: counter });
      const owner = await call('get-value', { key: slot });
      // Assess: each increment answered its own new value, all of them distinct; one claim won.
      expect(increments.every((answer) => answer.statusCode === 200)).toBe(true);
      const values = increments.map((answer) => parsed(answer)['value'] as number).sort((a, b) => a - b);
      expect(new Set(values).size).toBe(8);
      expect(values.at(-1)).toBe(36);
      expect(parsed(total)['value']).toBe(36);
      const won = claims.filter((answer) => answer.statusCode === 200);
      expect(won).toHaveLength(1);
      expect(claims.filter((answer) => answer.statusCode === 409)).toHaveLength(3);
      expect(parsed(owner)['value']).toEqual({ owner: claims.indexOf(won[0] as HttpResult) });
    });
  });

  describe('Triggers', () => {
    it('runs a queued request and reports no failed record', async () => {
      // Act
      const event = sqsEvent([{ body: { operation: 'put-value', input: { key: 'queued', value: 'q' } } }]);
      const result = await connector.handler(event, lambdaContext());

      // Assess
      expect(result).toEqual({ batchItemFailures: [] });
      expect(await connector.run('get-value', { key: 'queued' })).toMatchObject({ value: 'q' });
    });

    it('runs a Step Functions task envelope and answers health', async () => {
      // Act
      const output = await connector.handler(
        { operation: 'increment-value', input: { key: 'task-counter', by: 2 } },
        lambdaContext(),
      );
      const health = await connector.handler(
        httpEvent({ method: 'GET', path: '/dynamodb/health' }),
        lambdaContext(),
      );

      // Assess
      expect(output).toMatchObject({ key: 'task-counter', value: 2 });
      expect((health as HttpResult).statusCode).toBe(200);
    });
  });
});
