/**
 * The `object-mirror` workflow end to end on the local stack (`npm start --only s3,azure-blob,gcs,dynamodb`,
 * serverless.yml resolved as deployed: s3rver, azurite, the GCS contract fake and dynalite): an object put
 * on S3 through the S3 connector is copied by the state machine to Azure Blob and GCS and each copy's
 * entity tag recorded in DynamoDB. Every effect is read back through the connectors. With GCS refusing
 * (a bucket outside the gcs connector's GCS_ALLOWED_BUCKETS: ForbiddenError) the Azure copy is still made and recorded and the GCS failure is in
 * the output, not fatal; an object over the state's inline bound fails before any copy.
 */
import { randomUUID } from 'node:crypto';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postOperation, type StackProcess, startStackProcess } from '../local/stack-process.ts';
import { finished, stateMachineArn } from './harness.ts';

let stack: StackProcess;
let sfn: SFNClient;

const post = (path: string, input: unknown) => postOperation(stack, path, input);

/** Starts object-mirror with this input and waits for it to end. */
async function mirror(input: Record<string, unknown>) {
  const name = `mirror-${randomUUID()}`;
  const { executionArn } = await sfn.send(
    new StartExecutionCommand({
      stateMachineArn: stateMachineArn('object-mirror'),
      name,
      input: JSON.stringify(input),
    }),
  );
  return finished({ sfn }, executionArn ?? '', 90_000);
}

/** A fresh S3 object through the S3 connector; answers its key and etag. */
async function sourceObject(body: string, contentType = 'text/csv') {
  const key = `mirror/${randomUUID().slice(0, 8)}/report.csv`;
  const put = await post('/s3/put-object', { key, body, contentType });
  expect(put.status).toBe(200);
  return { key, etag: put.body['etag'] as string };
}

beforeAll(async () => {
  stack = await startStackProcess({}, ['--only', 's3,azure-blob,gcs,dynamodb']);
  sfn = new SFNClient({
    endpoint: stack.awsUrl,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}, 480_000);

afterAll(async () => {
  sfn?.destroy();
  await stack?.stop();
});

describe('Workflow object-mirror on the local stack', () => {
  it('copies an S3 object to Azure Blob and GCS and records each copy and its etag in DynamoDB', async () => {
    // Prepare
    const body = 'id,total\n1,42\n2,7\n';
    const source = await sourceObject(body);

    // Act
    const execution = await mirror({ key: source.key, correlationId: `mirror-${source.key}` });
    const output = JSON.parse(execution.output ?? '{}');
    const fromAzure = await post('/azure-blob/get-object', { key: source.key });
    const fromGcs = await post('/gcs/get-object', { key: source.key });
    const azureRecord = await post('/dynamodb/get-value', { key: `object-mirror/azure-blob/${source.key}` });
    const gcsRecord = await post('/dynamodb/get-value', { key: `object-mirror/gcs/${source.key}` });

    // Assess: the output names both copies and no body
    expect(execution.status).toBe('SUCCEEDED');
    expect(output).toEqual({
      correlationId: `mirror-${source.key}`,
      key: source.key,
      source: { bucket: expect.any(String), etag: source.etag, size: body.length },
      azureBlob: {
        store: 'azure-blob',
        ok: true,
        bucket: expect.any(String),
        key: source.key,
        etag: expect.any(String),
        recordKey: `object-mirror/azure-blob/${source.key}`,
      },
      gcs: {
        store: 'gcs',
        ok: true,
        bucket: expect.any(String),
        key: source.key,
        etag: expect.any(String),
        recordKey: `object-mirror/gcs/${source.key}`,
      },
    });
    // The copies hold the source's bytes and media type, under the etags the output reports.
    expect(fromAzure.status).toBe(200);
    expect(fromAzure.body).toMatchObject({ body, contentType: 'text/csv', etag: output.azureBlob.etag });
    expect(fromGcs.status).toBe(200);
    expect(fromGcs.body).toMatchObject({ body, contentType: 'text/csv', etag: output.gcs.etag });
    // Each copy recorded in DynamoDB with its etag beside the source's.
    expect(azureRecord.status).toBe(200);
    expect(azureRecord.body['value']).toEqual({
      store: 'azure-blob',
      bucket: output.azureBlob.bucket,
      key: source.key,
      etag: output.azureBlob.etag,
      size: body.length,
      sourceEtag: source.etag,
      correlationId: `mirror-${source.key}`,
    });
    expect(gcsRecord.status).toBe(200);
    expect(gcsRecord.body['value']).toMatchObject({
      store: 'gcs',
      bucket: output.gcs.bucket,
      etag: output.gcs.etag,
      sourceEtag: source.etag,
    });
  }, 180_000);

  it('with GCS refusing the copy, still makes and records the Azure copy and reports the GCS failure', async () => {
    // Prepare: a bucket the gcs connector is not allowed to write refuses the copy (ForbiddenError, 403).
    const body = 'id,total\n3,9\n';
    const source = await sourceObject(body);

    // Act
    const execution = await mirror({ key: source.key, gcsBucket: 'circle-no-such-bucket' });
    const output = JSON.parse(execution.output ?? '{}');
    const fromAzure = await post('/azure-blob/get-object', { key: source.key });
    const fromGcs = await post('/gcs/get-object', { key: source.key });
    const azureRecord = await post('/dynamodb/get-value', { key: `object-mirror/azure-blob/${source.key}` });
    const gcsRecord = await post('/dynamodb/get-value', { key: `object-mirror/gcs/${source.key}` });

    // Assess: not fatal; the failure is reported, the other copy stands
    expect(execution.status).toBe('SUCCEEDED');
    expect(output.correlationId).toBe(execution.name);
    expect(output.azureBlob).toMatchObject({ store: 'azure-blob', ok: true, etag: expect.any(String) });
    expect(output.gcs).toEqual({
      store: 'gcs',
      ok: false,
      error: 'ForbiddenError',
      cause: expect.stringContaining('circle-no-such-bucket'),
    });
    expect(fromAzure.body).toMatchObject({ body, etag: output.azureBlob.etag });
    expect(azureRecord.body['value']).toMatchObject({ etag: output.azureBlob.etag, sourceEtag: source.etag });
    expect(fromGcs.status).toBe(404);
    expect(gcsRecord.status).toBe(404);
  }, 180_000);

  it('fails an object over the inline bound with ObjectTooLarge before any copy, and a bad input with ValidationError', async () => {
    // Prepare: 96 KiB + 1 byte
    const source = await sourceObject('x'.repeat(98_305), 'text/plain');

    // Act
    const large = await mirror({ key: source.key });
    const bad = await mirror({ key: source.key, gcsBucket: 7 });
    const fromAzure = await post('/azure-blob/get-object', { key: source.key });
    const fromGcs = await post('/gcs/get-object', { key: source.key });

    // Assess
    expect(large).toMatchObject({ status: 'FAILED', error: 'ObjectTooLarge' });
    expect(bad).toMatchObject({ status: 'FAILED', error: 'ValidationError' });
    expect(bad.cause).toMatch(/^input\.gcsBucket must be a non-empty string/);
    expect(fromAzure.status).toBe(404);
    expect(fromGcs.status).toBe(404);
  }, 180_000);
});
