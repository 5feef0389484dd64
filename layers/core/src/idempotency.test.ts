import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
  GetItemCommand,
  PutItemCommand,
  ScanCommand,
} from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { createTable, type DynalitePeer, startDynalite } from '../../../test/peers/dynalite.ts';
import { defineConnector } from './connector/define.ts';
import {
  ConfigurationError,
  ConflictError,
  ConnectorError,
  RateLimitedError,
  UnavailableError,
  ValidationError,
} from './errors.ts';
import {
  DEFAULT_IDEMPOTENCY_TTL_SECONDS,
  IdempotencyGuard,
  IdempotencyInProgressError,
  idempotencySettings,
} from './idempotency.ts';
import { createLogger } from './observability.ts';
import { type CapturedLogs, captureLogs, httpEvent, lambdaContext, sqsEvent } from './testing/index.ts';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

const TABLE = 'idempotency';
const ENV_KEYS = [
  'CIRCLE_IDEMPOTENCY_TABLE',
  'CIRCLE_IDEMPOTENCY_TTL_SECONDS',
  'AWS_ENDPOINT_URL_DYNAMODB',
  'AWS_ACCESS_KEY_ID',
  'AWS_SECRET_ACCESS_KEY',
] as const;

let dynamo: DynalitePeer;
let logs: CapturedLogs;
/** Every run of the write operation, in order: the side effect being protected. */
const effects: string[] = [];
let gate: Promise<void> | undefined;
let failNext: Error | undefined;
let bigOutput = false;
const saved = new Map<string, string | undefined>();

function ledgerConnector(env: Record<string, string | undefined> = {}) {
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  return defineConnector({
    name: 'ledger',
    version: '1.0.0',
    config: z.object({}),
    setup: () => ({}),
    operations: (op) => ({
      'add-entry': op({
        description: 'Appends an entry (a write)',
        effect: 'write',
        input: z.object({ amount: z.number(), note: z.string().optional() }),
        output: z.object({ entry: z.number(), amount: z.number(), padding: z.string().optional() }),
        run: async ({ amount }) => {
          effects.push(`add:${amount}`);
          if (gate !== undefined) await gate;
          if (failNext !== undefined) {
            const error = failNext;
            failNext = undefined;
            throw error;
          }
          const output: { entry: number; amount: number; padding?: string } = {
            entry: effects.length,
            amount,
          };
          if (bigOutput) output.padding = 'x'.repeat(450_000);
          return output;
        },
      }),
      'remove-entry': op({
        description: 'Removes an entry (another write)',
        effect: 'write',
        input: z.object({ amount: z.number() }),
        output: z.object({ removed: z.number() }),
        run: async ({ amount }) => {
          effects.push(`remove:${amount}`);
          return { removed: amount };
        },
      }),
      'count-entries': op({
        description: 'Counts entries (a read)',
        input: z.object({}),
        output: z.object({ count: z.number() }),
        run: async () => ({ count: effects.length }),
      }),
    }),
  });
}

type Ledger = ReturnType<typeof ledgerConnector>;

async function post(
  connector: Ledger,
  operation: string,
  body: unknown,
  key: string | undefined,
): Promise<HttpResult> {
  const headers: Record<string, string> = key === undefined ? {} : { 'Idempotency-Key': key };
  const event = httpEvent({ path: `/ledger/${operation}`, body, headers });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

async function storedRecords(): Promise<number> {
  const client = new DynamoDBClient({
    endpoint: dynamo.endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    const { Count } = await client.send(new ScanCommand({ TableName: TABLE }));
    return Count ?? 0;
  } finally {
    client.destroy();
  }
}

beforeAll(async () => {
  for (const name of ENV_KEYS) saved.set(name, process.env[name]);
  dynamo = await startDynalite();
  await createTable(dynamo.endpoint, TABLE, { partitionKey: 'id' });
  process.env['AWS_ENDPOINT_URL_DYNAMODB'] = dynamo.endpoint;
  process.env['AWS_ACCESS_KEY_ID'] = 'test';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'test';
});

afterAll(async () => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await dynamo.close();
});

beforeEach(() => {
  effects.length = 0;
  gate = undefined;
  failNext = undefined;
  bigOutput = false;
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
  vi.useRealTimers();
  delete process.env['CIRCLE_IDEMPOTENCY_TABLE'];
  delete process.env['CIRCLE_IDEMPOTENCY_TTL_SECONDS'];
});

describe('Function: idempotencySettings', () => {
  it('defaults to no table and a one-hour expiry', () => {
    // Act
    const settings = idempotencySettings({});
    // Assess
    expect(settings).toEqual({ table: undefined, ttlSeconds: DEFAULT_IDEMPOTENCY_TTL_SECONDS });
  });

  it('reads the table and the expiry, treating blanks as unset', () => {
    // Act
    const settings = idempotencySettings({
      CIRCLE_IDEMPOTENCY_TABLE: ' ledger-idempotency ',
      CIRCLE_IDEMPOTENCY_TTL_SECONDS: '',
    });
    const custom = idempotencySettings({ CIRCLE_IDEMPOTENCY_TTL_SECONDS: '86400' });
    // Assess
    expect(settings).toEqual({ table: 'ledger-idempotency', ttlSeconds: 3600 });
    expect(custom.ttlSeconds).toBe(86_400);
  });

  it.each(['0', '-5', '1.5', 'soon', '99999999999'])(
    'throws ConfigurationError naming the variable for TTL %s',
    (ttl) => {
      // Act & Assess
      expect(() => idempotencySettings({ CIRCLE_IDEMPOTENCY_TTL_SECONDS: ttl })).toThrow(
        new ConfigurationError(
          'CIRCLE_IDEMPOTENCY_TTL_SECONDS is invalid (expected whole seconds from 1 to 31536000)',
        ),
      );
    },
  );
});

describe('Class: IdempotencyInProgressError', () => {
  it('is a retryable ConflictError under the stable name ConflictError', () => {
    // Act
    const error = new IdempotencyInProgressError('add-entry');
    // Assess
    expect(error).toBeInstanceOf(ConflictError);
    expect(error).toMatchObject({ name: 'ConflictError', code: 'conflict', status: 409, retryable: true });
    expect(error.message).toContain('add-entry');
  });
});

describe('Class: IdempotencyGuard', () => {
  describe('Method: constructor', () => {
    it('warns once at cold start, listing the write operations, when no table is configured', () => {
      // Act
      ledgerConnector({ CIRCLE_IDEMPOTENCY_TABLE: undefined });
      // Assess
      const warnings = logs.records().filter((line) => String(line['message']).includes('idempotency'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({
        level: 'WARN',
        unprotectedOperations: ['add-entry', 'remove-entry'],
      });
      expect(String(warnings[0]?.['message'])).toContain('CIRCLE_IDEMPOTENCY_TABLE');
    });

    it('does not warn when the table is configured or the connector has no writes', () => {
      // Act
      ledgerConnector({ CIRCLE_IDEMPOTENCY_TABLE: TABLE });
      new IdempotencyGuard({ connector: 'reader', logger: createLogger('reader', '1'), writes: [], env: {} });
      // Assess
      expect(logs.text()).not.toContain('without idempotency protection');
    });
  });

  describe('Method: run (no table)', () => {
    it('runs writes unprotected, with or without a key, every time', async () => {
      // Prepare
      const connector = ledgerConnector({ CIRCLE_IDEMPOTENCY_TABLE: undefined });
      // Act
      const first = await post(connector, 'add-entry', { amount: 5 }, 'k-1');
      const second = await post(connector, 'add-entry', { amount: 5 }, 'k-1');
      const keyless = await post(connector, 'add-entry', { amount: 5 }, undefined);
      // Assess
      expect([first.statusCode, second.statusCode, keyless.statusCode]).toEqual([200, 200, 200]);
      expect(effects).toEqual(['add:5', 'add:5', 'add:5']);
    });
  });

  describe('Method: run (DynamoDB table)', () => {
    it('runs the same write once and answers the repeat with the stored result', async () => {
      // Prepare
      const connector = ledgerConnector({ CIRCLE_IDEMPOTENCY_TABLE: TABLE });
      // Act
      const first = await post(connector, 'add-entry', { amount: 7, note: 'a' }, 'same-key-1');
      const second = await post(connector, 'add-entry', { note: 'a', amount: 7 }, 'same-key-1');
      // Assess
      expect(first.statusCode).toBe(200);
      expect(second.statusCode).toBe(200);
      expect(JSON.parse(second.body)).toEqual(JSON.parse(first.body));
      expect(JSON.parse(first.body)).toEqual({ entry: 1, amount: 7 });
      expect(effects).toEqual(['add:7']);
      expect(logs.text()).toContain('Repeated delivery answered from the idempotency store');
    });

    it('runs an SQS message delivered twice once, keyed by its message id', async () => {
      // Prepare
      const connector = ledgerConnector({ CIRCLE_IDEMPOTENCY_TABLE: TABLE });
      const message = { messageId: 'msg-dup-1', body: { operation: 'add-entry', input: { amount: 3 } } };
      // Act
      const first = await connector.handler(sqsEvent([message]), lambdaContext());
      const second = await connector.handler(sqsEvent([message]), lambdaContext());
      // Assess
      expect(first).toEqual({ batchItemFailures: [] });
      expect(second).toEqual({ batchItemFailures: [] });
      expect(effects).toEqual(['add:3']);
    });

    it('prefers the envelope idempotencyKey over the message id', async () => {
      // Prepare
      const connector = ledgerConnector({ CIRCLE_IDEMPOTENCY_TABLE: TABLE });
      const body = { operation: 'add-entry', input: { amount: 4 }, idempotencyKey: 'order-4' };
      // Act
      await connector.handler(sqsEvent([{ messageId: 'm-a', body }]), lambdaContext());
      await connector.handler(sqsEvent([{ messageId: 'm-b', body }]), lambdaContext());
      await connector.handler({ ...body, trigger: 'task' }, lambdaContext());
      // Assess
      expect(effects).toEqual(['add:4']);
    });

    it('runs two concurrent duplicates once and refuses the other as a retryable conflict', async () => {
      // Prepare
      const connector = ledgerConnector({ CIRCLE_IDEMPOTENCY_TABLE: TABLE });
      let release = (): void => undefined;
      gate = new Promise((resolve) => {
        release = resolve;
      });
      // Act
      const first = post(connector, 'add-entry', { amount: 9 }, 'concurrent-1');
      await vi.waitFor(() => expect(effects).toHaveLength(1));
      const second = await post(connector, 'add-entry', { amount: 9 }, 'concurrent-1');
      release();
      const firstResult = await first;
      gate = undefined;
      const third = await post(connector, 'add-entry', { amount: 9 }, 'concurrent-1');
      // Assess
      expect(firstResult.statusCode).toBe(200);
      expect(second.statusCode).toBe(409);
      expect(JSON.parse(second.body)).toMatchObject({ code: 'conflict', status: 409 });
      expect(JSON.parse(second.body).detail).toContain('still being processed');
      expect(third.body).toBe(firstResult.body);
      expect(effects).toEqual(['add:9']);
    });

    it('reports the concurrent duplicate in an SQS batch for redelivery, and answers it from the store later', async () => {
      // Prepare
      const connector = ledgerConnector({ CIRCLE_IDEMPOTENCY_TABLE: TABLE });
      const body = { operation: 'add-entry', input: { amount: 11 }, idempotencyKey: 'batch-dup' };
      // Records of a batch run concurrently; the first holds its claim long enough for the second to meet it.
      gate = new Promise((resolve) => setTimeout(resolve, 300));
      // Act
      const batch = await connector.handler(
        sqsEvent([
          { messageId: 'b-1', body },
          { messageId: 'b-2', body },
        ]),
        lambdaContext(),
      );
      gate = undefined;
      const redelivery = await connector.handler(sqsEvent([{ messageId: 'b-2', body }]), lambdaContext());
      // Assess
      expect((batch as { batchItemFailures: unknown[] }).batchItemFailures).toHaveLength(1);
      expect(redelivery).toEqual({ batchItemFailures: [] });
      expect(effects).toEqual(['add:11']);
      expect(logs.text()).toContain('Record failed, will be retried');
    });

    it('does not store a failed run, so the same key can be tried again', async () => {
      // Prepare
      const connector = ledgerConnector({ CIRCLE_IDEMPOTENCY_TABLE: TABLE });
      failNext = new UnavailableError('provider down');
      // Act
      const failed = await post(connector, 'add-entry', { amount: 2 }, 'retry-after-failure');
      const retried = await post(connector, 'add-entry', { amount: 2 }, 'retry-after-failure');
      const repeated = await post(connector, 'add-entry', { amount: 2 }, 'retry-after-failure');
      // Assess
      expect(failed.statusCode).toBe(503);
      expect(retried.statusCode).toBe(200);
      expect(repeated.body).toBe(retried.body);
      expect(effects).toEqual(['add:2', 'add:2']);
    });

    it('refuses the same key with a different input as a ConflictError', async () => {
      // Prepare
      const connector = ledgerConnector({ CIRCLE_IDEMPOTENCY_TABLE: TABLE });
      await post(connector, 'add-entry', { amount: 1 }, 'reused-key');
      // Act
      const reused = await post(connector, 'add-entry', { amount: 1000 }, 'reused-key');
      const task = connector.handler(
        { operation: 'add-entry', input: { amount: 1000 }, idempotencyKey: 'reused-key', trigger: 'task' },
        lambdaContext(),
      );
      // Assess
      expect(reused.statusCode).toBe(409);
      expect(reused.headers['content-type']).toBe('application/problem+json');
      expect(JSON.parse(reused.body).detail).toContain('different add-entry input');
      await expect(task).rejects.toMatchObject({ name: 'ConflictError' });
      expect(effects).toEqual(['add:1']);
    });

    it('scopes keys to the operation: one key on two operations runs both', async () => {
      // Prepare
      const connector = ledgerConnector({ CIRCLE_IDEMPOTENCY_TABLE: TABLE });
      // Act
      const added = await post(connector, 'add-entry', { amount: 6 }, 'shared-key');
      const removed = await post(connector, 'remove-entry', { amount: 6 }, 'shared-key');
      // Assess
      expect([added.statusCode, removed.statusCode]).toEqual([200, 200]);
      expect(effects).toEqual(['add:6', 'remove:6']);
    });

    it('refuses a write without a key, naming the header and the field, before it runs', async () => {
      // Prepare
      const connector = ledgerConnector({ CIRCLE_IDEMPOTENCY_TABLE: TABLE });
      // Act
      const response = await post(connector, 'add-entry', { amount: 8 }, undefined);
      const task = connector.handler({ operation: 'add-entry', input: { amount: 8 } }, lambdaContext());
      // Assess
      expect(response.statusCode).toBe(400);
      const problem = JSON.parse(response.body);
      expect(problem.code).toBe('validation_error');
      expect(problem.detail).toContain('Idempotency-Key header');
      expect(problem.detail).toContain('idempotencyKey field');
      await expect(task).rejects.toMatchObject({ name: 'ValidationError' });
      expect(effects).toEqual([]);
    });

    it.each([
      ['too long', 'k'.repeat(257)],
      ['with spaces', 'two words'],
      ['with a control character', 'key\u0001'],
    ])('refuses a key %s', async (_what, key) => {
      // Prepare
      const connector = ledgerConnector({ CIRCLE_IDEMPOTENCY_TABLE: TABLE });
      // Act
      const response = await connector
        .handler({ operation: 'add-entry', input: { amount: 1 }, idempotencyKey: key }, lambdaContext())
        .catch((error: unknown) => error);
      // Assess
      expect(response).toMatchObject({ name: 'ValidationError' });
      expect(effects).toEqual([]);
    });

    it('leaves reads alone: no key needed, nothing stored', async () => {
      // Prepare
      const connector = ledgerConnector({ CIRCLE_IDEMPOTENCY_TABLE: TABLE });
      const before = await storedRecords();
      // Act
      const response = await post(connector, 'count-entries', {}, undefined);
      // Assess
      expect(response.statusCode).toBe(200);
      expect(await storedRecords()).toBe(before);
    });

    it('runs the key again once its record expired (CIRCLE_IDEMPOTENCY_TTL_SECONDS)', async () => {
      // Prepare
      const connector = ledgerConnector({
        CIRCLE_IDEMPOTENCY_TABLE: TABLE,
        CIRCLE_IDEMPOTENCY_TTL_SECONDS: '60',
      });
      vi.useFakeTimers({ toFake: ['Date'] });
      await post(connector, 'add-entry', { amount: 12 }, 'expiring-key');
      vi.setSystemTime(Date.now() + 30_000);
      await post(connector, 'add-entry', { amount: 12 }, 'expiring-key');
      // Act
      vi.setSystemTime(Date.now() + 61_000);
      const late = await post(connector, 'add-entry', { amount: 12 }, 'expiring-key');
      // Assess
      expect(late.statusCode).toBe(200);
      expect(effects).toEqual(['add:12', 'add:12']);
    });

    it('answers the result even when storing it fails, and logs that a repeat may run again', async () => {
      // Prepare
      const connector = ledgerConnector({ CIRCLE_IDEMPOTENCY_TABLE: TABLE });
      bigOutput = true;
      // Act
      const response = await post(connector, 'add-entry', { amount: 13 }, 'too-big-to-store');
      // Assess
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body).padding).toHaveLength(450_000);
      expect(logs.text()).toContain('could not be stored');
    });

    it('fails a write with ConfigurationError naming the variable when the table does not exist', async () => {
      // Prepare
      const connector = ledgerConnector({ CIRCLE_IDEMPOTENCY_TABLE: 'no-such-table' });
      // Act
      const response = await post(connector, 'add-entry', { amount: 1 }, 'k-missing-table');
      // Assess
      expect(response.statusCode).toBe(500);
      expect(JSON.parse(response.body).detail).toBe(
        'idempotency table no-such-table does not exist: check CIRCLE_IDEMPOTENCY_TABLE',
      );
      expect(effects).toEqual([]);
    });

    it('fails a write with ConfigurationError when the expiry setting is invalid, reads still work', async () => {
      // Prepare
      const connector = ledgerConnector({
        CIRCLE_IDEMPOTENCY_TABLE: TABLE,
        CIRCLE_IDEMPOTENCY_TTL_SECONDS: 'forever',
      });
      // Act
      const write = await post(connector, 'add-entry', { amount: 1 }, 'k-bad-ttl');
      const read = await post(connector, 'count-entries', {}, undefined);
      // Assess
      expect(write.statusCode).toBe(500);
      expect(JSON.parse(write.body).detail).toContain('CIRCLE_IDEMPOTENCY_TTL_SECONDS');
      expect(read.statusCode).toBe(200);
      expect(effects).toEqual([]);
    });
  });

  describe('Method: run (store unavailable)', () => {
    it('fails with a retryable UnavailableError and does not run the write', async () => {
      // Prepare
      const client = new DynamoDBClient({
        endpoint: 'http://127.0.0.1:9',
        maxAttempts: 1,
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      });
      const guard = new IdempotencyGuard({
        connector: 'ledger',
        logger: createLogger('ledger', '1'),
        writes: ['add-entry'],
        env: { CIRCLE_IDEMPOTENCY_TABLE: TABLE },
        client,
      });
      let ran = 0;
      // Act
      const result = guard.run({ operation: 'add-entry', key: 'k', input: {} }, async () => {
        ran += 1;
        return {};
      });
      // Assess
      await expect(result).rejects.toBeInstanceOf(UnavailableError);
      await expect(result).rejects.toMatchObject({ retryable: true });
      expect(ran).toBe(0);
    });

    const awsError = (name: string): DynamoDBServiceException =>
      new DynamoDBServiceException({
        name,
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: name,
      });

    function mockedGuard(): { guard: IdempotencyGuard; dynamo: ReturnType<typeof mockClient> } {
      const client = new DynamoDBClient({ credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
      const dynamo = mockClient(client);
      const guard = new IdempotencyGuard({
        connector: 'ledger',
        logger: createLogger('ledger', '1'),
        writes: ['add-entry'],
        env: { CIRCLE_IDEMPOTENCY_TABLE: TABLE },
        client,
      });
      return { guard, dynamo };
    }

    it('names the missing permission when access to the table is denied', async () => {
      // Prepare
      const { guard, dynamo } = mockedGuard();
      dynamo.on(PutItemCommand).rejects(awsError('AccessDeniedException'));
      // Act
      const result = guard.run({ operation: 'add-entry', key: 'k', input: {} }, async () => ({}));
      // Assess
      await expect(result).rejects.toBeInstanceOf(ConfigurationError);
      await expect(result).rejects.toThrow(/dynamodb:GetItem, PutItem, UpdateItem and DeleteItem/);
    });

    it('maps a raw store error met while reading the existing record, throttling to RateLimitedError', async () => {
      // Prepare
      const { guard, dynamo } = mockedGuard();
      dynamo
        .on(PutItemCommand)
        .rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
      dynamo.on(GetItemCommand).rejects(awsError('ProvisionedThroughputExceededException'));
      // Act
      const result = guard.run({ operation: 'add-entry', key: 'k', input: {} }, async () => ({}));
      // Assess
      await expect(result).rejects.toBeInstanceOf(RateLimitedError);
      await expect(result).rejects.toMatchObject({
        retryable: true,
        message:
          'DynamoDB request on idempotency table idempotency failed (ProvisionedThroughputExceededException)',
      });
    });

    it('treats a record that vanished between the claim and the read as still in progress', async () => {
      // Prepare
      const { guard, dynamo } = mockedGuard();
      dynamo
        .on(PutItemCommand)
        .rejects(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
      dynamo.on(GetItemCommand).resolves({});
      // Act
      const result = guard.run({ operation: 'add-entry', key: 'k', input: {} }, async () => ({}));
      // Assess
      await expect(result).rejects.toBeInstanceOf(IdempotencyInProgressError);
    });

    it("passes the operation's own errors through and wraps what is not an Error", async () => {
      // Prepare
      const { guard, dynamo } = mockedGuard();
      dynamo.onAnyCommand().resolves({});
      // Act
      const typed = guard.run({ operation: 'add-entry', key: 'k1', input: {} }, async () => {
        throw new TypeError('boom');
      });
      const odd = guard.run({ operation: 'add-entry', key: 'k2', input: {} }, () =>
        Promise.reject('not an error'),
      );
      const empty = await guard.run({ operation: 'add-entry', key: 'k3', input: {} }, async () => undefined);
      // Assess
      await expect(typed).rejects.toBeInstanceOf(TypeError);
      await expect(odd).rejects.toBeInstanceOf(ConnectorError);
      await expect(odd).rejects.toThrow('The idempotency check failed');
      expect(empty).toBeNull();
    });

    it('lets a ValidationError of a missing key through unchanged', async () => {
      // Prepare
      const guard = new IdempotencyGuard({
        connector: 'ledger',
        logger: createLogger('ledger', '1'),
        writes: ['add-entry'],
        env: { CIRCLE_IDEMPOTENCY_TABLE: TABLE },
      });
      // Act
      const result = guard.run({ operation: 'add-entry', key: '', input: {} }, async () => ({}));
      // Assess
      await expect(result).rejects.toBeInstanceOf(ValidationError);
    });
  });
});
