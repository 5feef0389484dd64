/**
 * DynamoDB for tests: dynalite (a DynamoDB implementation on LevelDB, in memory) on 127.0.0.1 with an
 * ephemeral port, spoken to by the real AWS SDK client. Point a client at it with
 * `AWS_ENDPOINT_URL_DYNAMODB=<endpoint>` (plus AWS_REGION and dummy credentials) before it is built.
 */

import type { Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';

type DynaliteFactory = (options: {
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}) => Server;

// dynalite is CommonJS without type declarations.
const dynalite = createRequire(import.meta.url)('dynalite') as DynaliteFactory;

export interface DynalitePeer {
  /** e.g. `http://127.0.0.1:41234`. */
  endpoint: string;
  close(): Promise<void>;
}

/**
 * Starts an in-memory dynalite whose tables become ACTIVE at once.
 *
 * @example
 * ```ts
 * const dynamo = await startDynalite();
 * await createTable(dynamo.endpoint, 'github-state');
 * process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
 * ```
 */
export async function startDynalite(): Promise<DynalitePeer> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/**
 * Creates a PAY_PER_REQUEST table with a string partition key (default `pk`, and an optional string sort
 * key) and waits until it is ACTIVE.
 *
 * @example
 * ```ts
 * await createTable(dynamo.endpoint, 'github-state', { partitionKey: 'pk' });
 * ```
 */
export async function createTable(
  endpoint: string,
  tableName: string,
  options: { partitionKey?: string; sortKey?: string } = {},
): Promise<void> {
  const { partitionKey = 'pk', sortKey } = options;
  const client = new DynamoDBClient({
    endpoint,
    region: process.env['AWS_REGION'] ?? 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  try {
    const attributes: AttributeDefinition[] = [{ AttributeName: partitionKey, AttributeType: 'S' }];
    const keys: KeySchemaElement[] = [{ AttributeName: partitionKey, KeyType: 'HASH' }];
    if (sortKey !== undefined) {
      attributes.push({ AttributeName: sortKey, AttributeType: 'S' });
      keys.push({ AttributeName: sortKey, KeyType: 'RANGE' });
    }
    await client.send(
      new CreateTableCommand({
        TableName: tableName,
        AttributeDefinitions: attributes,
        KeySchema: keys,
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    for (let attempt = 0; attempt < 100; attempt += 1) {
      const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table?.TableStatus === 'ACTIVE') return;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    throw new Error(`dynalite table ${tableName} did not become ACTIVE`);
  } finally {
    client.destroy();
  }
}
