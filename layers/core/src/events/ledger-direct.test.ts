/**
 * The delivery ledger on the direct path (DynamoDB's JSON protocol signed by hand, taken when no client is
 * injected and the environment holds credentials and an endpoint) against dynalite: the same claims,
 * acceptances, releases and takeovers as on the SDK path (events.test.ts), its items read back by the SDK.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTable, type DynalitePeer, startDynalite } from '../../../../test/peers/dynalite.ts';
import { ConfigurationError, UnavailableError } from '../errors.ts';
import { resetCircuitBreakers } from '../http/circuit-breaker.ts';
import { DynamoDbDeliveryLedger } from './ledger.ts';

const TABLE = 'state-direct';
let dynamo: DynalitePeer;
let sdk: DynamoDBDocumentClient;
let saved: NodeJS.ProcessEnv;
let clock = 1_800_000_000_000;
const now = (): number => clock;

beforeAll(async () => {
  dynamo = await startDynalite();
  await createTable(dynamo.endpoint, TABLE);
  sdk = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  );
});

afterAll(async () => {
  sdk.destroy();
  await dynamo.close();
});

beforeEach(() => {
  saved = { ...process.env };
  Object.assign(process.env, {
    AWS_ACCESS_KEY_ID: 'ASIATESTKEY',
    AWS_SECRET_ACCESS_KEY: 'test-secret',
    AWS_REGION: 'us-east-1',
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
  });
  resetCircuitBreakers();
});

afterEach(() => {
  process.env = saved;
});

describe('Class: DynamoDbDeliveryLedger (direct path)', () => {
  const ledger = (table = TABLE): DynamoDbDeliveryLedger =>
    new DynamoDbDeliveryLedger({ table, ttlDays: 7, leaseSeconds: 60, now, connector: 'github' });

  it('claims a new delivery, reports it in progress while claimed, and duplicate once accepted', async () => {
    // Act
    const first = await ledger().claim('d-1');
    const concurrent = await ledger().claim('d-1');
    if (first.status === 'claimed') await ledger().accept('d-1', first.token);
    const replay = await ledger().claim('d-1');

    // Assess
    expect(first.status).toBe('claimed');
    expect(concurrent).toEqual({ status: 'in-progress' });
    expect(replay).toEqual({ status: 'duplicate' });
    const { Item } = await sdk.send(
      new GetCommand({ TableName: TABLE, Key: { pk: 'delivery#d-1' }, ConsistentRead: true }),
    );
    expect(Item).toMatchObject({ status: 'accepted', expiresAt: Math.floor(clock / 1000) + 7 * 86_400 });
    expect(Item?.['leaseUntil']).toBeUndefined();
  });

  it('lets a released delivery, or one whose lease expired, be claimed again; ignores the old holder', async () => {
    // Prepare
    const first = await ledger().claim('d-2');
    const stale = await ledger().claim('d-3');

    // Act
    if (first.status === 'claimed') await ledger().release('d-2', first.token);
    const again = await ledger().claim('d-2');
    clock += 61_000;
    const takeover = await ledger().claim('d-3');
    if (stale.status === 'claimed') await ledger().release('d-3', stale.token);
    const whileHeld = await ledger().claim('d-3');

    // Assess
    expect(again.status).toBe('claimed');
    expect(takeover.status).toBe('claimed');
    expect(whileHeld).toEqual({ status: 'in-progress' });
  });

  it('throws ConfigurationError when the table does not exist, UnavailableError when nothing listens', async () => {
    // Act & Assess
    await expect(ledger('absent').claim('d-5')).rejects.toBeInstanceOf(ConfigurationError);
    process.env['AWS_ENDPOINT_URL_DYNAMODB'] = 'http://127.0.0.1:9';
    await expect(ledger().claim('d-6')).rejects.toBeInstanceOf(UnavailableError);
  });
});
