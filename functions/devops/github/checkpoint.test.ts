import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConfigurationError } from '@circle-core/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTable, type DynalitePeer, startDynalite } from '../../../test/peers/dynalite.ts';
import { DynamoDbCheckpointStore } from './checkpoint.ts';

const TABLE = 'checkpoint-test';
const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
let dynamo: DynalitePeer;
let documents: DynamoDBDocumentClient;
const now = (): number => 1_800_000_000_000;

beforeAll(async () => {
  dynamo = await startDynalite();
  await createTable(dynamo.endpoint, TABLE);
  documents = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials }),
  );
});

afterAll(async () => {
  documents.destroy();
  await dynamo.close();
});

describe('Class: DynamoDbCheckpointStore', () => {
  const store = (): DynamoDbCheckpointStore => new DynamoDbCheckpointStore({ table: TABLE, now }, documents);

  it('reads nothing for a new repository and creates the checkpoint on the first advance', async () => {
    // Act
    const before = await store().read('octo/new');
    const outcome = await store().advance('octo/new', undefined, {
      since: '2024-05-01T00:00:00Z',
      boundary: [1],
    });
    // Assess
    expect(before).toBeUndefined();
    expect(outcome).toBe('advanced');
    expect(await store().read('octo/new')).toEqual({ since: '2024-05-01T00:00:00Z', boundary: [1] });
  });

  it('never moves backwards when two overlapping runs finish out of order', async () => {
    // Prepare
    const start = { since: '2024-05-01T00:00:00Z', boundary: [1] };
    await store().advance('octo/overlap', undefined, start);
    const readByA = await store().read('octo/overlap');
    const readByB = await store().read('octo/overlap');
    // Act
    const a = await store().advance('octo/overlap', readByA, {
      since: '2024-05-03T00:00:00Z',
      boundary: [3],
    });
    const b = await store().advance('octo/overlap', readByB, {
      since: '2024-05-02T00:00:00Z',
      boundary: [2],
    });
    // Assess
    expect(a).toBe('advanced');
    expect(b).toBe('superseded');
    expect(await store().read('octo/overlap')).toEqual({ since: '2024-05-03T00:00:00Z', boundary: [3] });
  });

  it('lets the later of two overlapping runs win even when it writes second', async () => {
    // Prepare
    await store().advance('octo/later', undefined, { since: '2024-05-01T00:00:00Z', boundary: [1] });
    const readByA = await store().read('octo/later');
    const readByB = await store().read('octo/later');
    // Act
    await store().advance('octo/later', readByA, { since: '2024-05-02T00:00:00Z', boundary: [2] });
    const b = await store().advance('octo/later', readByB, { since: '2024-05-04T00:00:00Z', boundary: [4] });
    // Assess
    expect(b).toBe('advanced');
    expect(await store().read('octo/later')).toEqual({ since: '2024-05-04T00:00:00Z', boundary: [4] });
  });

  it('keeps the boundary issues of both runs when they end at the same time', async () => {
    // Prepare
    await store().advance('octo/same', undefined, { since: '2024-05-01T00:00:00Z', boundary: [1] });
    const read = await store().read('octo/same');
    // Act
    const outcome = await store().advance('octo/same', read, {
      since: '2024-05-01T00:00:00Z',
      boundary: [1, 2],
    });
    // Assess
    expect(outcome).toBe('advanced');
    expect(await store().read('octo/same')).toEqual({ since: '2024-05-01T00:00:00Z', boundary: [1, 2] });
  });

  it('throws ConfigurationError when the table does not exist', async () => {
    // Prepare
    const missing = new DynamoDbCheckpointStore({ table: 'absent' }, documents);
    // Act & Assess
    await expect(missing.read('octo/x')).rejects.toBeInstanceOf(ConfigurationError);
    await expect(
      missing.advance('octo/x', undefined, { since: '2024-01-01T00:00:00Z', boundary: [] }),
    ).rejects.toBeInstanceOf(ConfigurationError);
  });
});
