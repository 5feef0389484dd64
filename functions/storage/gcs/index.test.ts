/**
 * The Google Cloud Storage connector through its Lambda handler, against the GCS contract fake
 * (`scripts/local/sandboxes/gcs.ts`) and the local stack's Secrets Manager holding a service account key:
 * each operation over HTTP, SQS, Step Functions and direct invoke, and the failure paths every connector
 * must survive (401 then a rotated key, 404, 412 -> 409, 429 with Retry-After, 5xx then success, timeout,
 * malformed and oversized answers), with the key kept out of answers and logs.
 */
import { configureSecrets, resetCircuitBreakers } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  type FakeServiceAccount,
  type GcsFakeState,
  newServiceAccount,
  startGcsFake,
} from '../../../scripts/local/sandboxes/gcs.ts';
import { type FakeServer, json } from '../../../scripts/local/sandboxes/kit/index.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../../../test/peers/secrets-manager.ts';

const SECRET = 'test/gcs/service-account';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let fake: FakeServer<GcsFakeState>;
let secrets: SecretsManagerPeer;
let account: FakeServiceAccount;
let logs: CapturedLogs;
let connector: typeof import('./index.ts')['connector'];
const savedEnv = { ...process.env };

async function call(
  operation: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<HttpResult> {
  const event = httpEvent({ path: `/gcs/${operation}`, body, headers });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const parsed = (response: HttpResult): Record<string, unknown> => JSON.parse(response.body);

/** The private key's base64 body, a line of it: what must never appear in an answer or a log. */
const keyMarker = (): string => {
  const pem = (JSON.parse(account.keyFile) as { private_key: string }).private_key;
  return pem.split('\n')[5] ?? 'unreachable';
};

beforeAll(async () => {
  fake = await startGcsFake({ buckets: ['data'] });
  account = newServiceAccount('connector@circle.iam.gserviceaccount.com', `${fake.url}/token`);
  secrets = await startSecretsManager({ [SECRET]: account.keyFile });
  Object.assign(process.env, {
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    GCS_API_URL: fake.url,
    GCS_BUCKET: 'data',
    GCS_CREDENTIALS_SECRET: SECRET,
    GCS_TIMEOUT_MS: '1000',
    GCS_MAX_RETRY_AFTER_MS: '2000',
    GCS_GET_MAX_BYTES: '64',
  });
  configureSecrets({});
  ({ connector } = await import('./index.ts'));
});

afterAll(async () => {
  process.env = savedEnv;
  await fake?.close();
  await secrets?.close();
});

beforeEach(async () => {
  // The connector keeps its access token across tests, as a warm container does.
  const issued = new Map(fake.state.tokens);
  fake.reset();
  for (const [token, grant] of issued) fake.state.tokens.set(token, grant);
  fake.state.accounts.set(account.email, account.publicKey);
  await secrets.set(SECRET, account.keyFile);
  configureSecrets({});
  resetCircuitBreakers();
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describe('Connector: gcs', () => {
  describe('Operations over HTTP', () => {
    it('puts, reads, lists, copies and deletes an object', async () => {
      // Act
      const put = await call('put-object', {
        key: 'http/hello.txt',
        body: 'hello',
        metadata: { source: 'http' },
      });
      const got = await call('get-object', { key: 'http/hello.txt' });
      const head = await call('head-object', { key: 'http/hello.txt' });
      const copy = await call('copy-object', { sourceKey: 'http/hello.txt', key: 'http/copy.txt' });
      const list = await call('list-objects', { prefix: 'http/' });
      const removed = await call('delete-object', { key: 'http/hello.txt' });
      const gone = await call('head-object', { key: 'http/hello.txt' });
      // Assess
      expect(put.statusCode).toBe(200);
      expect(parsed(got)).toMatchObject({ tooLarge: false, body: 'hello', metadata: { source: 'http' } });
      expect(parsed(head)).toMatchObject({ size: 5, contentType: 'text/plain; charset=utf-8' });
      expect(parsed(copy)).toMatchObject({ key: 'http/copy.txt' });
      expect((parsed(list)['objects'] as { key: string }[]).map((o) => o.key)).toEqual([
        'http/copy.txt',
        'http/hello.txt',
      ]);
      expect(parsed(removed)).toEqual({ bucket: 'data', key: 'http/hello.txt', deleted: true });
      expect(gone.statusCode).toBe(404);
    });

    it('answers a V4 signed URL for a large object and for presign-url', async () => {
      // Act
      const large = await call('get-object', { key: 'reports/2024/06/summary.csv', maxBytes: 8 });
      const presigned = await call('presign-url', { key: 'hello.txt', expiresIn: 120 });
      const download = await fetch(String(parsed(presigned)['url']));
      // Assess
      expect(parsed(large)).toMatchObject({ tooLarge: true, expiresIn: 900 });
      expect(download.status).toBe(200);
      expect(await download.text()).toBe('Hello from the Google Cloud Storage sandbox\n');
    });

    it('refuses an unknown field and a climbing key with a 400 naming them, before any call', async () => {
      // Act
      const unknown = await call('put-object', { key: 'a.txt', body: 'x', bodyy: 'x' });
      const climbing = await call('get-object', { key: 'a/../b.txt' });
      // Assess
      expect(unknown.statusCode).toBe(400);
      expect(parsed(unknown)['errors']).toEqual([{ pointer: '/bodyy', message: 'unknown field' }]);
      expect(climbing.statusCode).toBe(400);
      expect(JSON.stringify(parsed(climbing)['errors'])).toContain('/key');
      expect(fake.log).toEqual([]);
    });

    it('refuses chunk-object whose part keys would be over 1,024 bytes with a 400 naming /key, before reading or writing', async () => {
      // Prepare: 1,000 bytes do not fit with any version; 998 do with a 1-character one, not with the generation.
      const missing = `long/${'k'.repeat(995)}`;
      const present = `long/${'k'.repeat(993)}`;
      await call('put-object', { key: present, body: 'text to chunk' });
      fake.log.length = 0;
      // Act
      const beforeRead = await call('chunk-object', { key: missing });
      const readOnly = fake.log.length;
      const beforeWrite = await call('chunk-object', { key: present });
      const list = await call('list-objects', { prefix: 'chunks/' });
      // Assess
      expect(beforeRead.statusCode).toBe(400);
      expect(parsed(beforeRead)['errors']).toMatchObject([
        { pointer: '/key', message: expect.stringContaining('of at least 1026 bytes') },
        { pointer: '/outputPrefix', message: expect.stringContaining('its 7 bytes') },
      ]);
      expect(readOnly).toBe(0);
      expect(beforeWrite.statusCode).toBe(400);
      expect(parsed(beforeWrite)['errors']).toMatchObject([
        { pointer: '/key', message: expect.stringMatching(/of \d{4} bytes, over the 1,024-byte key limit/) },
        { pointer: '/outputPrefix' },
      ]);
      expect(parsed(list)['objects']).toEqual([]);
    });
  });

  describe('Failure paths', () => {
    it('maps 412 conditionNotMet to 409 for onlyIfAbsent on an existing object', async () => {
      // Act
      const response = await call('put-object', { key: 'hello.txt', body: 'x', onlyIfAbsent: true });
      // Assess
      expect(response.statusCode).toBe(409);
      expect(parsed(response)['detail']).toContain('"hello.txt" already exists');
      expect(fake.state.buckets.get('data')?.get('hello.txt')?.bytes.toString()).toContain('sandbox');
    });

    it('answers 502 for a rewrite that ends without the object, or stops without a token', async () => {
      // Prepare
      await call('put-object', { key: 'rw/source.txt', body: 'x' });
      const rewrite = (value: Record<string, unknown>) =>
        fake.inject(
          { kind: 'answer', answer: json(200, { kind: 'storage#rewriteResponse', ...value }) },
          {
            route: 'rewrite-object',
          },
        );
      rewrite({ done: true, totalBytesRewritten: '1', objectSize: '1' });
      rewrite({ done: false, totalBytesRewritten: '0', objectSize: '1' });

      // Act
      const ended = await call('copy-object', { sourceKey: 'rw/source.txt', key: 'rw/a.txt' });
      const stopped = await call('copy-object', { sourceKey: 'rw/source.txt', key: 'rw/b.txt' });

      // Assess
      expect([ended.statusCode, stopped.statusCode]).toEqual([502, 502]);
      expect(parsed(ended)['detail']).toContain('ended a rewrite without the new object');
      expect(parsed(stopped)['detail']).toContain('unfinished rewrite without a token');
    });

    it('answers 403 for a delete refused by the bucket policy (only a missing object counts as deleted)', async () => {
      fake.inject({ kind: 'forbidden' }, { route: 'delete-object', times: Number.POSITIVE_INFINITY });
      const refused = await call('delete-object', { key: 'anything.txt' });
      expect(refused.statusCode).toBe(403);
    });

    it('answers a continuation token Google Cloud Storage refuses with a 400 on /continuationToken, naming objects.list', async () => {
      // Act
      const response = await call('list-objects', { continuationToken: 'garbage!!' });

      // Assess
      expect(response.statusCode).toBe(400);
      expect(parsed(response)['errors']).toEqual([
        { pointer: '/continuationToken', message: expect.stringContaining('nextContinuationToken') },
      ]);
      expect(parsed(response)['detail']).toContain('Google Cloud Storage objects.list failed');
      expect(parsed(response)['detail']).toContain('the page token is not valid');
    });

    it('names the API call, never a path segment or an object name, when a call fails', async () => {
      // Prepare
      fake.inject({ kind: 'forbidden' }, { route: 'insert-object', times: Number.POSITIVE_INFINITY });
      fake.inject({ kind: 'forbidden' }, { route: 'get-object', times: Number.POSITIVE_INFINITY });

      // Act
      const put = await call('put-object', { key: 'report.csv', body: 'x' });
      const head = await call('head-object', { key: 'report.csv' });

      // Assess
      expect(parsed(put)['detail']).toContain('Google Cloud Storage objects.insert failed');
      expect(parsed(head)['detail']).toContain('Google Cloud Storage objects.get');
      expect(parsed(head)['detail']).not.toContain('report.csv failed');
    });

    it('answers 404 for a missing object, naming it', async () => {
      // Act
      const response = await call('get-object', { key: 'missing.txt' });
      // Assess
      expect(response.statusCode).toBe(404);
      expect(parsed(response)['detail']).toContain('Object "missing.txt" in bucket "data"');
    });

    it('waits as Retry-After says on a 429, then answers', async () => {
      // Prepare
      fake.inject({ kind: 'throttled', retryAfterSeconds: 1 }, { route: 'get-object' });
      // Act
      const started = Date.now();
      const response = await call('head-object', { key: 'hello.txt' });
      // Assess
      expect(response.statusCode).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(900);
      expect(fake.logFor('get-object').map((entry) => entry.status)).toEqual([429, 200]);
    });

    it('answers 429 with the wait when Retry-After exceeds the longest wait', async () => {
      // Prepare
      fake.inject({ kind: 'throttled', retryAfterSeconds: 30 }, { route: 'list-objects' });
      // Act
      const response = await call('list-objects', {});
      // Assess
      expect(response.statusCode).toBe(429);
      expect(fake.logFor('list-objects')).toHaveLength(1);
    });

    it('retries a 5xx, and answers 503 when Google Cloud Storage keeps failing', async () => {
      // Prepare
      fake.inject({ kind: 'server-error', status: 503 }, { route: 'list-objects' });
      // Act
      const recovered = await call('list-objects', {});
      fake.inject(
        { kind: 'server-error', status: 503 },
        { route: 'list-objects', times: Number.POSITIVE_INFINITY },
      );
      const failed = await call('list-objects', {});
      // Assess
      expect(recovered.statusCode).toBe(200);
      expect(failed.statusCode).toBe(503);
      expect(parsed(failed)['code']).toBe('provider_unavailable');
    });

    it('answers 504 when Google Cloud Storage does not answer in time', async () => {
      // Prepare
      fake.inject({ kind: 'hang' }, { route: 'get-bucket', times: Number.POSITIVE_INFINITY });
      // Act
      const response = (await connector.handler(
        httpEvent({ method: 'GET', path: '/gcs/health' }),
        lambdaContext(),
      )) as HttpResult;
      // Assess
      expect(response.statusCode).toBeGreaterThanOrEqual(500);
      expect(fake.logFor('get-bucket').length).toBeGreaterThanOrEqual(1);
    });

    it('answers 502 for a malformed answer and for an oversized one', async () => {
      // Prepare
      fake.inject({ kind: 'malformed' }, { route: 'list-objects', times: Number.POSITIVE_INFINITY });
      fake.inject(
        { kind: 'oversized', bytes: 6 * 1024 * 1024 },
        { route: 'get-object', times: Number.POSITIVE_INFINITY },
      );
      // Act
      const malformed = await call('list-objects', {});
      const oversized = await call('head-object', { key: 'hello.txt' });
      // Assess
      expect(malformed.statusCode).toBe(502);
      expect(parsed(malformed)['code']).toBe('unexpected_response');
      expect(oversized.statusCode).toBe(502);
    });
  });

  describe('Credentials', () => {
    it('reads the secret again after a 401 and continues with the rotated key', async () => {
      // Prepare
      await connector.run('head-object', { key: 'hello.txt' });
      const rotated = newServiceAccount('rotated@circle.iam.gserviceaccount.com', `${fake.url}/token`);
      fake.state.accounts.clear();
      fake.state.accounts.set(rotated.email, rotated.publicKey);
      await secrets.set(SECRET, rotated.keyFile);
      // Act
      const response = await call('head-object', { key: 'hello.txt' });
      // Assess
      expect(response.statusCode).toBe(200);
      expect(fake.logFor('get-object').map((entry) => entry.status)).toEqual([200, 401, 200]);
      expect([...fake.state.tokens.values()].map((grant) => grant.email)).toContain(rotated.email);
    });

    it('answers 401 when the key stays refused, and never shows the key or the token', async () => {
      // Prepare
      fake.state.accounts.clear();
      // Act
      const response = await call('head-object', { key: 'hello.txt' });
      // Assess
      expect(response.statusCode).toBe(401);
      expect(parsed(response)['detail']).toContain('invalid_grant');
      const seen = `${response.body}${logs.text()}`;
      expect(seen).not.toContain(keyMarker());
      expect(seen).not.toContain('ya29.');
    });

    it('answers a configuration error naming the fields when the secret is not a key file', async () => {
      // Prepare
      await secrets.set(SECRET, JSON.stringify({ client_email: 'x@y.z', private_key_typo: 'k' }));
      // Act
      const response = await call('head-object', { key: 'hello.txt' });
      // Assess
      expect(response.statusCode).toBe(500);
      expect(`${response.body}${logs.text()}`).toContain('private_key');
    });
  });

  describe('Triggers', () => {
    it('runs a queued put and reports no failed record', async () => {
      // Act
      const event = sqsEvent([
        { body: { operation: 'put-object', input: { key: 'queued.txt', body: 'q' } } },
      ]);
      const result = await connector.handler(event, lambdaContext());
      // Assess
      expect(result).toEqual({ batchItemFailures: [] });
      expect(fake.state.buckets.get('data')?.get('queued.txt')?.bytes.toString()).toBe('q');
    });

    it('runs a Step Functions task envelope, a direct invoke and answers health', async () => {
      // Act
      const task = await connector.handler(
        { trigger: 'task', operation: 'list-objects', input: { prefix: 'reports/', delimiter: '/' } },
        lambdaContext(),
      );
      const direct = await connector.run('head-object', { key: 'hello.txt' });
      const health = await connector.handler(
        httpEvent({ method: 'GET', path: '/gcs/health' }),
        lambdaContext(),
      );
      // Assess
      expect(task).toMatchObject({ commonPrefixes: ['reports/2024/'], objects: [] });
      expect(direct).toMatchObject({ key: 'hello.txt', metadata: { source: 'sandbox' } });
      expect((health as HttpResult).statusCode).toBe(200);
    });
  });
});
