/**
 * The Azure Blob connector through its Lambda handler, against azurite and the local stack's Secrets
 * Manager: each trigger, the credential read from the secret (connection string or JSON), key rotation,
 * and secrets kept out of answers and logs.
 */
import { configureSecrets } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type AzuritePeer, startAzurite } from '../../../test/peers/azurite.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';

const SECRET = 'test/azure-blob/credentials';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let azurite: AzuritePeer;
let secrets: SecretsManagerPeer;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(
  operation: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  const event = httpEvent({ path: `/azure-blob/${operation}`, body, headers });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

beforeAll(async () => {
  azurite = await startAzurite({ containers: ['data'] });
  secrets = await startSecretsManager({ [SECRET]: azurite.connectionString });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AZURE_BLOB_CONTAINER: 'data',
    AZURE_BLOB_SECRET: SECRET,
    AZURE_BLOB_TIMEOUT_MS: '3000',
    AZURE_BLOB_GET_MAX_BYTES: '64',
  });
  configureSecrets({});
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await azurite?.close();
  await secrets?.close();
});

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describe('Connector: azure-blob', () => {
  describe('Operations over HTTP', () => {
    it('puts, reads, lists and deletes a blob', async () => {
      // Act
      const put = await call(
        'put-object',
        { key: 'http/hello.txt', body: 'hello', metadata: { source: 'http' } },
        { 'idempotency-key': 'put-hello-1' },
      );
      const got = await call('get-object', { key: 'http/hello.txt' });
      const listed = await call('list-objects', { prefix: 'http/' });
      const deleted = await call('delete-object', { key: 'http/hello.txt' }, { 'idempotency-key': 'del-1' });
      const gone = await call('head-object', { key: 'http/hello.txt' });
      // Assess
      expect(put.statusCode).toBe(200);
      expect(parsed(got)).toMatchObject({ tooLarge: false, body: 'hello', metadata: { source: 'http' } });
      expect(parsed(listed)).toMatchObject({ bucket: 'data', objects: [{ key: 'http/hello.txt', size: 5 }] });
      expect(parsed(deleted)).toEqual({ bucket: 'data', key: 'http/hello.txt', deleted: true });
      expect(gone.statusCode).toBe(404);
    });

    it('answers 409 for an onlyIfAbsent write of an existing blob', async () => {
      // Act
      await call('put-object', { key: 'http/once.txt', body: '1', onlyIfAbsent: true });
      const again = await call('put-object', { key: 'http/once.txt', body: '2', onlyIfAbsent: true });
      // Assess
      expect(again.statusCode).toBe(409);
      expect(parsed(again)['code']).toBe('conflict');
    });

    it('answers a SAS URL for a blob beyond AZURE_BLOB_GET_MAX_BYTES', async () => {
      // Prepare
      await call('put-object', { key: 'http/large.txt', body: 'y'.repeat(100) });
      // Act
      const got = parsed(await call('get-object', { key: 'http/large.txt' }));
      // Assess
      expect(got).toMatchObject({ tooLarge: true, size: 100, expiresIn: 900 });
      await expect(fetch(got['url'] as string).then((response) => response.text())).resolves.toBe(
        'y'.repeat(100),
      );
    });

    it('refuses an unknown field with a 400 naming it, before calling Azure', async () => {
      // Act
      const response = await call('list-objects', { prefx: 'a/' });
      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['errors']).toEqual([{ pointer: '/prefx', message: 'unknown field' }]);
    });

    it('refuses chunk-object whose part keys would be over 1,024 bytes with a 400 naming /key, before reading or writing', async () => {
      // Prepare: 1,000 bytes do not fit with any version; 998 do with a 1-character one, not with the entity tag.
      const missing = `long/${'k'.repeat(995)}`;
      const present = `long/${'k'.repeat(993)}`;
      await call('put-object', { key: present, body: 'text to chunk' });
      // Act
      const beforeRead = await call('chunk-object', { key: missing });
      const beforeWrite = await call('chunk-object', { key: present });
      const listed = await call('list-objects', { prefix: 'chunks/' });
      // Assess: a read of the missing blob would have answered 404.
      expect(beforeRead.statusCode).toBe(400);
      expect(parsed(beforeRead)['errors']).toMatchObject([
        { pointer: '/key', message: expect.stringContaining('of at least 1026 bytes') },
        { pointer: '/outputPrefix', message: expect.stringContaining('its 7 bytes') },
      ]);
      expect(beforeWrite.statusCode).toBe(400);
      expect(parsed(beforeWrite)['errors']).toMatchObject([
        { pointer: '/key', message: expect.stringMatching(/of \d{4} bytes, over the 1,024-byte key limit/) },
        { pointer: '/outputPrefix' },
      ]);
      expect(parsed(listed)['objects']).toEqual([]);
    });
  });

  describe('Credentials', () => {
    it('reads the secret again after Azure refuses the key (rotation), and never shows it', async () => {
      // Prepare: the stored key goes stale; the account's real key arrives in the secret as JSON.
      await secrets.set(
        SECRET,
        JSON.stringify({
          accountName: azurite.accountName,
          accountKey: Buffer.alloc(64, 7).toString('base64'),
          endpoint: azurite.endpoint,
        }),
      );
      configureSecrets({});
      const { AzureBlobStorage } = await import('./client.ts');
      const { defineSecret } = await import('@circle-core/core');
      const storage = new AzureBlobStorage({
        container: 'data',
        credentials: { secret: defineSecret(SECRET) },
      });
      const refused = await storage.headObject({ key: 'x' }).catch((error: unknown) => error);
      await secrets.set(
        SECRET,
        JSON.stringify({
          accountName: azurite.accountName,
          accountKey: azurite.accountKey,
          endpoint: azurite.endpoint,
        }),
      );
      // Act
      const listed = await storage.listObjects({ prefix: 'nothing/' });
      // Assess
      expect(refused).toMatchObject({ name: 'AuthError' });
      expect(listed.objects).toEqual([]);
      expect(`${JSON.stringify(refused)}${logs.text()}`).not.toContain(azurite.accountKey);
      await secrets.set(SECRET, azurite.connectionString);
      configureSecrets({});
    });

    it('answers 500 naming the secret when it holds no usable credential, without its value', async () => {
      // Prepare
      const { AzureBlobStorage } = await import('./client.ts');
      const { defineSecret } = await import('@circle-core/core');
      await secrets.set('test/azure-blob/broken', 'AccountName=circletest;AccountKey=not base64!');
      const storage = new AzureBlobStorage({
        container: 'data',
        credentials: { secret: defineSecret('test/azure-blob/broken') },
      });
      // Act
      const failure = await storage.headObject({ key: 'x' }).catch((error: unknown) => error);
      // Assess
      expect(failure).toMatchObject({ name: 'ConfigurationError' });
      expect((failure as Error).message).toContain('test/azure-blob/broken');
      expect((failure as Error).message).toContain('accountKey');
      expect((failure as Error).message).not.toContain('not base64');
    });
  });

  describe('Settings', () => {
    it('refuses a container name Azure refuses, naming the variable', async () => {
      // Prepare
      const { AzureBlobConfig } = await import('./config.ts');
      // Act
      const dotted = AzureBlobConfig.safeParse({ AZURE_BLOB_CONTAINER: 'my.data' });
      const listed = AzureBlobConfig.safeParse({
        AZURE_BLOB_CONTAINER: 'data',
        AZURE_BLOB_ALLOWED_CONTAINERS: 'archive,no--such',
      });
      // Assess
      expect(dotted.error?.issues).toMatchObject([
        { path: ['AZURE_BLOB_CONTAINER'], message: expect.stringContaining('no dots') },
      ]);
      expect(listed.error?.issues).toMatchObject([
        { path: ['AZURE_BLOB_ALLOWED_CONTAINERS', 1], message: expect.stringContaining('two hyphens') },
      ]);
    });
  });

  describe('Triggers', () => {
    it('runs queued requests and reports no failed record', async () => {
      // Act
      const event = sqsEvent([
        { body: { operation: 'put-object', input: { key: 'queued/a.txt', body: 'a' } } },
        { body: { operation: 'put-object', input: { key: 'queued/b.txt', body: 'b' } } },
      ]);
      const result = await connector.handler(event, lambdaContext());
      const copy = await connector.run('copy-object', { sourceKey: 'queued/b.txt', key: 'queued/c.txt' });
      // Assess
      expect(result, logs.text()).toEqual({ batchItemFailures: [] });
      expect(copy).toMatchObject({ key: 'queued/c.txt' });
      await expect(connector.run('get-object', { key: 'queued/c.txt' })).resolves.toMatchObject({
        body: 'b',
      });
    });

    it('runs a Step Functions task envelope and answers health', async () => {
      // Act
      const output = await connector.handler(
        { trigger: 'task', operation: 'list-objects', input: { prefix: 'queued/', maxKeys: 1 } },
        lambdaContext(),
      );
      const health = await connector.handler(
        httpEvent({ method: 'GET', path: '/azure-blob/health' }),
        lambdaContext(),
      );
      // Assess
      expect(output).toMatchObject({ objects: [{ key: 'queued/a.txt' }], isTruncated: true });
      expect((health as HttpResult).statusCode).toBe(200);
      expect(logs.text()).not.toContain(azurite.accountKey);
    });
  });
});
