/**
 * The embedded stores that stand in for AWS and PostgreSQL on a laptop: s3rver (S3 HTTP API, files under
 * `.local/s3`), dynalite (DynamoDB API on LevelDB under `.local/dynamodb`) and PGlite served over the
 * PostgreSQL wire protocol (`.local/pg`, or memory with `CIRCLE_LOCAL_PG=memory`). The two HTTP stores sit
 * behind the same Host/Origin gate as the stack's own listeners (dynalite would otherwise grant any web
 * page CORS). s3rver runs in a process of its own (`s3rver.ts`), the others in the stack's.
 */

import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DynamoDBClient,
  ResourceInUseException,
} from '@aws-sdk/client-dynamodb';
import { AwsError, sendJsonError } from '../aws/protocol.ts';
import { LOCAL_ACCESS_KEY_ID } from '../aws/proxy.ts';
import type { TableSpec } from '../config/model.ts';
import { guardServer, type Refusal } from '../guard.ts';
import { startS3rver } from './s3rver.ts';

const require = createRequire(import.meta.url);

/** A running store. */
export interface EmbeddedStore {
  /** Endpoint URL (`http://127.0.0.1:<port>`) or connection string. */
  url: string;
  close(): Promise<void>;
}

/** A refusal as DynamoDB words it. */
function refuseDynamo(_req: IncomingMessage, res: ServerResponse, refusal: Refusal): void {
  const error = new AwsError('AccessDeniedException', refusal.message, { status: 403 });
  sendJsonError(res, error, '1.0', 'com.amazonaws.dynamodb.v20120810#');
}

/**
 * Starts s3rver with the given buckets (created when missing; existing data is kept), in its own process
 * (see `s3rver.ts` for why), accepting the stack's fake credentials with any signature.
 *
 * @example
 * ```ts
 * const s3 = await startS3({ directory: '.local/s3', buckets: ['circle-core-dev-files'] });
 * ```
 */
export function startS3(options: { directory: string; buckets: string[] }): Promise<EmbeddedStore> {
  return startS3rver({
    directory: options.directory,
    buckets: options.buckets,
    keys: [{ accessKeyId: LOCAL_ACCESS_KEY_ID, secretAccessKey: 'test' }],
    allowMismatchedSignatures: true,
  });
}

type DynaliteFactory = (options: Record<string, unknown>) => Server;

function tableInput(table: TableSpec): CreateTableCommandInput {
  const props = table.properties;
  const input: Record<string, unknown> = {
    TableName: table.name,
    AttributeDefinitions: props['AttributeDefinitions'],
    KeySchema: props['KeySchema'],
  };
  const provisioned = props['BillingMode'] === 'PROVISIONED' || props['ProvisionedThroughput'] !== undefined;
  if (provisioned) {
    input['ProvisionedThroughput'] = props['ProvisionedThroughput'] ?? {
      ReadCapacityUnits: 5,
      WriteCapacityUnits: 5,
    };
  } else {
    input['BillingMode'] = 'PAY_PER_REQUEST';
  }
  for (const key of ['GlobalSecondaryIndexes', 'LocalSecondaryIndexes']) {
    if (Array.isArray(props[key])) {
      input[key] = (props[key] as Record<string, unknown>[]).map((index) => {
        const copy: Record<string, unknown> = { ...index };
        delete copy['ContributorInsightsSpecification'];
        if (provisioned && key === 'GlobalSecondaryIndexes') {
          copy['ProvisionedThroughput'] ??= { ReadCapacityUnits: 5, WriteCapacityUnits: 5 };
        }
        return copy;
      });
    }
  }
  const stream = props['StreamSpecification'] as { StreamViewType?: string } | undefined;
  if (stream?.StreamViewType !== undefined) {
    input['StreamSpecification'] = { StreamEnabled: true, StreamViewType: stream.StreamViewType };
  }
  return input as unknown as CreateTableCommandInput;
}

/**
 * Starts dynalite and creates the tables of serverless.yml (existing ones are kept).
 *
 * @example
 * ```ts
 * const dynamo = await startDynamo({ directory: '.local/dynamodb', tables, region: 'us-east-1' });
 * ```
 */
export async function startDynamo(options: {
  directory: string | undefined;
  tables: TableSpec[];
  region: string;
}): Promise<EmbeddedStore> {
  const dynalite = require('dynalite') as DynaliteFactory;
  const settings: Record<string, unknown> = { createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 };
  if (options.directory !== undefined) settings['path'] = options.directory;
  const server = dynalite(settings);
  guardServer(server, refuseDynamo);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = (): Promise<void> =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  const client = new DynamoDBClient({
    endpoint: url,
    region: options.region,
    credentials: { accessKeyId: LOCAL_ACCESS_KEY_ID, secretAccessKey: 'test' },
  });
  try {
    for (const table of options.tables) {
      try {
        await client.send(new CreateTableCommand(tableInput(table)));
      } catch (error) {
        if (!(error instanceof ResourceInUseException)) {
          throw new Error(`DynamoDB table ${table.name} (${table.logicalId}): ${(error as Error).message}`);
        }
      }
    }
  } catch (error) {
    await close();
    throw error;
  } finally {
    client.destroy();
  }
  return { url, close };
}

/**
 * Starts PGlite (in memory, or persisted in `directory`) behind the PostgreSQL wire protocol, with
 * `COPY ... FROM STDIN` (see `pglite-copy.ts`).
 *
 * @example
 * ```ts
 * const pg = await startPostgres({ directory: '.local/pg' }); // pg.url = 'postgres://postgres@127.0.0.1:<port>/postgres'
 * ```
 */
export async function startPostgres(options: { directory: string | undefined }): Promise<EmbeddedStore> {
  const { StagingPGlite, servePglite } = await import('./pglite-copy.ts');
  // pgvector is loaded for the pgvector connector; `create extension vector` then works as on RDS.
  const { vector } = await import('@electric-sql/pglite-pgvector');
  const extensions = { vector };
  const db =
    options.directory === undefined
      ? new StagingPGlite({ extensions })
      : new StagingPGlite(options.directory, { extensions });
  await db.waitReady;
  // Connection pools open several connections; PGlite still runs one query at a time.
  const endpoint = await servePglite(db, { port: 0, maxConnections: 32 });
  return {
    url: `postgres://postgres@${endpoint.address}/postgres`,
    close: async () => {
      await endpoint.close();
      await db.close();
    },
  };
}
