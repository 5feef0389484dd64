/**
 * The coordination table on the direct path (DynamoDB's JSON protocol signed by hand, which it takes when
 * the environment holds credentials and an endpoint, as Lambda's does) against dynalite: its answers, its
 * failures as CoordinationUnavailable naming the table, and, in a child process that records every module
 * it resolves, that no `@aws-sdk/*` module is loaded on that path.
 */
import { execFile } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createTable, type DynalitePeer, startDynalite } from '../../../../test/peers/dynalite.ts';
import { resetCircuitBreakers } from '../http/circuit-breaker.ts';
import { CoordinationTable, CoordinationUnavailable, coordinationFromEnv } from './table.ts';

const run = promisify(execFile);
let dynamo: DynalitePeer;
const tableName = 'coordination-direct';
let saved: NodeJS.ProcessEnv;

/** Lambda's environment for the direct path, pointed at `endpoint`; no SDK-only settings. */
const lambdaEnv = (endpoint: string) => ({
  AWS_ACCESS_KEY_ID: 'ASIATESTKEY',
  AWS_SECRET_ACCESS_KEY: 'test-secret',
  AWS_SESSION_TOKEN: 'test-token',
  AWS_REGION: 'us-east-1',
  AWS_ENDPOINT_URL_DYNAMODB: endpoint,
});

beforeAll(async () => {
  dynamo = await startDynalite();
  await createTable(dynamo.endpoint, tableName);
});

afterAll(async () => {
  await dynamo.close();
});

beforeEach(() => {
  saved = { ...process.env };
  Object.assign(process.env, lambdaEnv(dynamo.endpoint));
  resetCircuitBreakers();
});

afterEach(() => {
  process.env = saved;
});

describe('Class: CoordinationTable (direct path)', () => {
  it('updates under a condition, reports a condition that does not hold as false, and reads back', async () => {
    // Prepare
    const table = coordinationFromEnv('acme', undefined, { CIRCLE_COORDINATION_TABLE: tableName });
    const count = (limit: number) =>
      table?.update('rate#acme#1', {
        update: 'ADD #n :one SET #ttl = :ttl',
        condition: 'attribute_not_exists(#n) OR #n < :limit',
        names: { '#n': 'n', '#ttl': 'ttl' },
        values: { ':one': 1, ':limit': limit, ':ttl': 1_900_000_000 },
      });

    // Act
    const answers = [await count(2), await count(2), await count(2)];
    const item = await table?.get('rate#acme#1');

    // Assess
    expect(answers).toEqual([true, true, false]);
    expect(item).toEqual({ pk: 'rate#acme#1', n: 2, ttl: 1_900_000_000 });
    expect(await table?.get('absent')).toBeUndefined();
  });

  it('names the action and the table when the table does not exist', async () => {
    // Prepare
    const table = new CoordinationTable({ table: 'no-such-table', connector: 'acme' });

    // Act
    const error = await table
      .update('a', { update: 'SET n = :n', values: { ':n': 1 } })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(CoordinationUnavailable);
    expect((error as Error).message).toBe(
      'DynamoDB UpdateItem on no-such-table failed: DynamoDB UpdateItem failed (ResourceNotFoundException): the table does not exist',
    );
  });

  it('is unavailable, naming the table, when nothing listens', async () => {
    // Prepare
    process.env['AWS_ENDPOINT_URL_DYNAMODB'] = 'http://127.0.0.1:9';
    const table = new CoordinationTable({ table: tableName, connector: 'acme' });

    // Act
    const error = await table.get('a').catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(CoordinationUnavailable);
    expect((error as Error).message).toBe(
      `DynamoDB GetItem on ${tableName} failed: DynamoDB GetItem failed (ECONNREFUSED)`,
    );
    expect((error as Error).message).not.toContain('test-secret');
  });

  it('names a value it cannot store', async () => {
    // Prepare
    const table = new CoordinationTable({ table: tableName, connector: 'acme' });

    // Act
    const error = await table
      .update('a', { update: 'SET n = :n', values: { ':n': Number.POSITIVE_INFINITY } })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(CoordinationUnavailable);
    expect((error as Error).message).toBe(
      `DynamoDB UpdateItem on ${tableName} failed: ExpressionAttributeValues.:n: DynamoDB cannot store Infinity`,
    );
  });
});

describe('The direct path loads no AWS SDK', () => {
  /**
   * A child process that records every `@aws-sdk/*` specifier it resolves (ESM imports and requires
   * alike), uses the table once and prints what it saw.
   */
  async function inChild(env: Record<string, string>) {
    const tableModule = pathToFileURL(new URL('./table.ts', import.meta.url).pathname).href;
    const script = `
      import { registerHooks } from 'node:module';
      const loaded = new Set();
      registerHooks({
        resolve(specifier, context, next) {
          if (specifier.startsWith('@aws-sdk/')) loaded.add(specifier);
          return next(specifier, context);
        },
      });
      const { CoordinationTable } = await import(${JSON.stringify(tableModule)});
      const table = new CoordinationTable({ table: process.env.TABLE, connector: 'acme' });
      const made = await table.update('probe', { update: 'ADD n :one', values: { ':one': 1 } }).catch((e) => e.name);
      console.log(JSON.stringify({ made, loaded: [...loaded] }));
    `;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env['PATH'] ?? '', TABLE: tableName, ...env },
      timeout: 20_000,
    });
    return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { made: unknown; loaded: string[] };
  }

  it('updates the table with no @aws-sdk module resolved, where the SDK path resolves them', async () => {
    // Act
    const direct = await inChild(lambdaEnv(dynamo.endpoint));
    const {
      AWS_ACCESS_KEY_ID: _key,
      AWS_SECRET_ACCESS_KEY: _secret,
      ...noCredentials
    } = lambdaEnv(dynamo.endpoint);
    const sdk = await inChild({ ...noCredentials, AWS_EC2_METADATA_DISABLED: 'true' });

    // Assess
    expect(direct).toEqual({ made: true, loaded: [] });
    // The control: without credentials in the environment the SDK serves, and the hook sees it loaded.
    expect(sdk.loaded).toEqual(expect.arrayContaining(['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb']));
  }, 30_000);
});
