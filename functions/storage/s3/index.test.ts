import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type S3rverPeer, startS3rver } from '../../../test/peers/s3rver.ts';

const SECRET_ACCESS_KEY = 'wJalrXUtnFEMI-s3-secret-value-never-logged';
const SESSION_TOKEN = 'FwoGZXIvYXdzE-session-token-never-logged';

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

let peer: S3rverPeer;
let handler: Handler;

async function http(operation: string, input: unknown, method = 'POST'): Promise<HttpResult> {
  const event =
    method === 'GET'
      ? httpEvent({ method, path: `/s3/${operation}` })
      : httpEvent({ path: `/s3/${operation}`, body: input });
  return (await handler(event, lambdaContext())) as HttpResult;
}

async function task(operation: string, input: unknown): Promise<Record<string, unknown>> {
  return (await handler({ operation, input, trigger: 'task' }, lambdaContext())) as Record<string, unknown>;
}

beforeAll(async () => {
  peer = await startS3rver({ buckets: ['data', 'archive'] });
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', SECRET_ACCESS_KEY);
  vi.stubEnv('AWS_SESSION_TOKEN', SESSION_TOKEN);
  vi.stubEnv('S3_BUCKET', 'data');
  vi.stubEnv('S3_ALLOWED_BUCKETS', 'archive');
  vi.stubEnv('S3_ENDPOINT', peer.endpoint);
  vi.stubEnv('S3_FORCE_PATH_STYLE', 'true');
  vi.stubEnv('S3_GET_MAX_BYTES', '64');
  // Config is read when the module loads, as at a Lambda cold start.
  ({ handler } = await import('./index.ts'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await peer.close();
});

describe('Function: handler', () => {
  let logs: CapturedLogs;
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(() => {
    logs.restore();
  });

  describe('HTTP trigger', () => {
    it('serves every operation as POST /s3/<operation>', async () => {
      // Act
      const put = await http('put-object', {
        key: 'http/report.json',
        body: '{"total":3}',
        contentType: 'application/json',
        metadata: { source: 'http' },
      });
      const get = await http('get-object', { key: 'http/report.json' });
      const head = await http('head-object', { key: 'http/report.json' });
      const copy = await http('copy-object', {
        sourceKey: 'http/report.json',
        bucket: 'archive',
        key: 'http/report.json',
      });
      const list = await http('list-objects', { bucket: 'archive', prefix: 'http/' });
      const presign = await http('presign-url', { key: 'http/report.json', expiresIn: 60 });
      const downloaded = await (await fetch(JSON.parse(presign.body).url)).text();
      const del = await http('delete-object', { key: 'http/report.json' });
      const gone = await http('head-object', { key: 'http/report.json' });
      // Assess
      expect(put.statusCode).toBe(200);
      expect(JSON.parse(put.body)).toMatchObject({ bucket: 'data', key: 'http/report.json', size: 11 });
      expect(JSON.parse(get.body)).toMatchObject({
        tooLarge: false,
        body: '{"total":3}',
        encoding: 'utf8',
        contentType: 'application/json',
        metadata: { source: 'http' },
      });
      expect(JSON.parse(head.body)).toMatchObject({ size: 11, metadata: { source: 'http' } });
      expect(JSON.parse(copy.body)).toMatchObject({ bucket: 'archive', key: 'http/report.json' });
      expect(JSON.parse(list.body).objects.map((o: { key: string }) => o.key)).toEqual(['http/report.json']);
      expect(downloaded).toBe('{"total":3}');
      expect(JSON.parse(del.body)).toEqual({ bucket: 'data', key: 'http/report.json', deleted: true });
      expect(gone.statusCode).toBe(404);
    });

    it('takes user metadata up to S3’s 2 KB (2,048 bytes of names and values) and refuses one byte more', async () => {
      // Prepare: S3's user guide limits user-defined metadata to 2 KB, "the sum of the number of bytes in
      // the UTF-8 encoding of each key and value"; S3's MetadataTooLarge answer names MaxSizeAllowed 2048.
      const fits = { name: 'v'.repeat(2044) };
      const over = { name: 'v'.repeat(2045) };
      // Act
      const stored = await http('put-object', { key: 'http/meta-limit.txt', body: 'x', metadata: fits });
      const head = await http('head-object', { key: 'http/meta-limit.txt' });
      const refused = await http('put-object', { key: 'http/meta-over.txt', body: 'x', metadata: over });
      const copied = await http('copy-object', {
        sourceKey: 'http/meta-limit.txt',
        key: 'http/meta-over-copy.txt',
        metadata: over,
      });
      // Assess
      expect(stored.statusCode).toBe(200);
      expect(JSON.parse(head.body).metadata).toEqual(fits);
      for (const answer of [refused, copied]) {
        expect(answer.statusCode).toBe(400);
        expect(JSON.parse(answer.body).errors).toEqual([
          { pointer: '/metadata', message: 'expected at most 2048 bytes of metadata names and values' },
        ]);
      }
    });

    it('answers a presigned URL for objects over S3_GET_MAX_BYTES', async () => {
      // Prepare
      const body = 'z'.repeat(65);
      await http('put-object', { key: 'http/large.txt', body });
      // Act
      const response = await http('get-object', { key: 'http/large.txt' });
      // Assess
      const output = JSON.parse(response.body);
      expect(output).toMatchObject({ tooLarge: true, size: 65, expiresIn: 900 });
      expect(await (await fetch(output.url)).text()).toBe(body);
    });

    it('answers problem+json: 404 missing object, 403 bucket not allowed, 400 invalid base64', async () => {
      // Act
      const missing = await http('get-object', { key: 'http/none.txt' });
      const forbidden = await http('list-objects', { bucket: 'payroll' });
      const invalid = await http('put-object', { key: 'a.bin', body: '***', encoding: 'base64' });
      // Assess
      expect(missing.statusCode).toBe(404);
      expect(JSON.parse(missing.body)).toMatchObject({
        code: 'not_found',
        detail: 'object "http/none.txt" in bucket "data" was not found',
      });
      expect(forbidden.statusCode).toBe(403);
      expect(forbidden.headers['content-type']).toBe('application/problem+json');
      expect(invalid.statusCode).toBe(400);
      expect(JSON.parse(invalid.body).errors).toEqual([
        { pointer: '/body', message: 'expected standard padded base64' },
      ]);
    });

    it('serves GET /s3/health with a HeadBucket check', async () => {
      // Act
      const response = await http('health', undefined, 'GET');
      // Assess
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body)).toMatchObject({
        connector: 's3',
        status: 'ok',
        capabilities: ['presign', 'copy', 'metadata', 'conditional-write'],
        checks: [
          { name: 'config', ok: true },
          { name: 'setup', ok: true },
          { name: 'provider', ok: true },
        ],
      });
    });
  });

  describe('Step Functions task', () => {
    it('returns every operation output', async () => {
      // Prepare
      const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
      // Act
      const put = await task('put-object', {
        key: 'task/blob.bin',
        body: bytes.toString('base64'),
        encoding: 'base64',
      });
      const get = await task('get-object', { key: 'task/blob.bin' });
      const head = await task('head-object', { key: 'task/blob.bin' });
      const copy = await task('copy-object', { sourceKey: 'task/blob.bin', key: 'task/copy.bin' });
      const list = await task('list-objects', { prefix: 'task/', maxKeys: 1 });
      const presign = await task('presign-url', { key: 'task/put.txt', method: 'PUT' });
      const del = await task('delete-object', { key: 'task/copy.bin' });
      // Assess
      expect(put).toMatchObject({ size: 6 });
      expect(get).toMatchObject({ tooLarge: false, encoding: 'base64', body: bytes.toString('base64') });
      expect(head).toMatchObject({ contentType: 'application/octet-stream', size: 6 });
      expect(copy).toMatchObject({ key: 'task/copy.bin' });
      expect(list).toMatchObject({ objects: [{ key: 'task/blob.bin', size: 6 }], isTruncated: true });
      expect(presign).toMatchObject({ method: 'PUT', expiresIn: 900, headers: {} });
      expect(del).toEqual({ bucket: 'data', key: 'task/copy.bin', deleted: true });
    });

    it('answers concurrent invocations each with its own object (Lambda Managed Instances)', async () => {
      // Prepare: LMI sends one execution environment many invocations at once, sharing the module's state
      // (AWS Lambda developer guide, "Node.js runtime for Lambda Managed Instances"). Each copy reads its
      // source (HeadObject) before copying, so the two invocations' calls interleave.
      const names = ['one', 'two', 'three'];
      for (const name of names) {
        await task('put-object', {
          key: `lmi/${name}.txt`,
          body: name,
          cacheControl: `max-age=${name.length}`,
        });
      }
      // Act
      const copies = await Promise.all(
        names.map((name) =>
          task('copy-object', {
            sourceKey: `lmi/${name}.txt`,
            key: `lmi/${name}.csv`,
            contentType: 'text/csv',
            metadata: { name },
          }),
        ),
      );
      const reads = await Promise.all(names.map((name) => task('get-object', { key: `lmi/${name}.csv` })));
      // Assess
      expect(copies.map((copy) => copy['key'])).toEqual(names.map((name) => `lmi/${name}.csv`));
      expect(reads.map((read) => [read['body'], read['metadata']])).toEqual(
        names.map((name) => [name, { name }]),
      );
    });

    it('throws errors named for ASL Retry/Catch', async () => {
      // Act
      const missing = await handler(
        { operation: 'head-object', input: { key: 'task/none' } },
        lambdaContext(),
      ).catch((error: unknown) => error);
      const forbidden = await handler(
        { operation: 'delete-object', input: { bucket: 'payroll', key: 'x' } },
        lambdaContext(),
      ).catch((error: unknown) => error);
      // Assess
      expect(missing).toMatchObject({
        name: 'NotFoundError',
        message: 'object "task/none" in bucket "data" was not found',
      });
      expect(forbidden).toMatchObject({ name: 'ForbiddenError' });
    });
  });

  describe('SQS trigger', () => {
    it('runs each record and reports only the failed ones', async () => {
      // Prepare
      await task('put-object', { key: 'sqs/existing.txt', body: 'here' });
      const event = sqsEvent([
        { messageId: 'put', body: { operation: 'put-object', input: { key: 'sqs/new.txt', body: 'new' } } },
        { messageId: 'get', body: { operation: 'get-object', input: { key: 'sqs/existing.txt' } } },
        { messageId: 'head', body: { operation: 'head-object', input: { key: 'sqs/existing.txt' } } },
        { messageId: 'list', body: { operation: 'list-objects', input: { prefix: 'sqs/' } } },
        {
          messageId: 'copy',
          body: {
            operation: 'copy-object',
            input: { sourceKey: 'sqs/existing.txt', bucket: 'archive', key: 'sqs/copied.txt' },
          },
        },
        { messageId: 'presign', body: { operation: 'presign-url', input: { key: 'sqs/existing.txt' } } },
        { messageId: 'missing', body: { operation: 'get-object', input: { key: 'sqs/none.txt' } } },
        {
          messageId: 'forbidden',
          body: { operation: 'put-object', input: { bucket: 'payroll', key: 'x', body: 'x' } },
        },
      ]);
      // Act
      const response = (await handler(event, lambdaContext())) as {
        batchItemFailures: { itemIdentifier: string }[];
      };
      const deletion = (await handler(
        sqsEvent([
          { messageId: 'delete', body: { operation: 'delete-object', input: { key: 'sqs/existing.txt' } } },
        ]),
        lambdaContext(),
      )) as { batchItemFailures: unknown[] };
      // Assess
      expect(response.batchItemFailures.map((failure) => failure.itemIdentifier).sort()).toEqual([
        'forbidden',
        'missing',
      ]);
      expect(deletion.batchItemFailures).toEqual([]);
      await expect(task('get-object', { key: 'sqs/new.txt' })).resolves.toMatchObject({ body: 'new' });
      await expect(task('get-object', { bucket: 'archive', key: 'sqs/copied.txt' })).resolves.toMatchObject({
        body: 'here',
      });
      await expect(task('head-object', { key: 'sqs/existing.txt' })).rejects.toMatchObject({
        name: 'NotFoundError',
      });
    });
  });

  describe('logging', () => {
    it('never writes credentials, signatures or presigned URLs to logs or error answers', async () => {
      // Act
      const presigned = await http('presign-url', { key: 'logs/x.txt', method: 'PUT' });
      await http('put-object', { key: 'logs/big.txt', body: 'q'.repeat(100) });
      await http('get-object', { key: 'logs/big.txt' });
      const missing = await http('get-object', { key: 'logs/none.txt' });
      await handler({ operation: 'get-object', input: { key: 'logs/none.txt' } }, lambdaContext()).catch(
        (error: unknown) => error,
      );
      logs.restore();
      // Assess
      const signature = new URL(JSON.parse(presigned.body).url).searchParams.get('X-Amz-Signature');
      expect(signature).toMatch(/^[0-9a-f]{64}$/);
      const everything = `${logs.text()}\n${missing.body}`;
      for (const forbidden of [
        SECRET_ACCESS_KEY,
        SESSION_TOKEN,
        signature ?? 'unreachable',
        'X-Amz-Signature',
        'X-Amz-Security-Token',
        'AWS4-HMAC-SHA256',
        'authorization',
      ]) {
        expect(everything.toLowerCase()).not.toContain(forbidden.toLowerCase());
      }
      expect(logs.records().filter((record) => record['message'] === 'invocation')).toHaveLength(5);
    });
  });
});
