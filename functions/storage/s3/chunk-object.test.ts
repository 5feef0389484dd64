/**
 * `chunk-object` through the S3 connector against s3rver: the object is read, chunked with overlap, and the
 * batch parts are written back under chunks/<key>/<etag>/, ids keyed by the object version.
 */
import { createHash } from 'node:crypto';
import { httpEvent, lambdaContext } from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type S3rverPeer, startS3rver } from '../../../test/peers/s3rver.ts';

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

let peer: S3rverPeer;
let handler: Handler;

async function task(operation: string, input: unknown): Promise<Record<string, unknown>> {
  return (await handler({ operation, input, trigger: 'task' }, lambdaContext())) as Record<string, unknown>;
}

/** POST /s3/<operation>: the status and the answer's problem document. */
async function http(
  operation: string,
  input: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const answer = (await handler(httpEvent({ path: `/s3/${operation}`, body: input }), lambdaContext())) as {
    statusCode: number;
    body: string;
  };
  return { status: answer.statusCode, body: JSON.parse(answer.body) as Record<string, unknown> };
}

const TEXT = Array.from(
  { length: 40 },
  (_, i) => `Paragraph ${i}: the ingest pipeline keeps chunk ${i}.`,
).join('\n');

/** A valid key of `bytes` bytes, in segments short enough for s3rver's files. */
function longKey(bytes: number): string {
  let key = 'long';
  while (key.length + 101 < bytes) key += `/${'k'.repeat(99)}`;
  return `${key}/${'k'.repeat(bytes - key.length - 1)}`;
}

beforeAll(async () => {
  peer = await startS3rver({ buckets: ['data'] });
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');
  vi.stubEnv('S3_BUCKET', 'data');
  vi.stubEnv('S3_ENDPOINT', peer.endpoint);
  vi.stubEnv('S3_FORCE_PATH_STYLE', 'true');
  vi.stubEnv('S3_GET_MAX_BYTES', '64');
  ({ handler } = await import('./index.ts'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await peer.close();
});

describe('Operation: chunk-object', () => {
  it('writes batch parts of overlapping chunks, ids from key, etag and index, the same on a second run', async () => {
    // Prepare
    const put = await task('put-object', { key: 'docs/guide.md', body: TEXT, contentType: 'text/markdown' });

    // Act
    const first = await task('chunk-object', { key: 'docs/guide.md', size: 200, overlap: 40, batchSize: 4 });
    const again = await task('chunk-object', { key: 'docs/guide.md', size: 200, overlap: 40, batchSize: 4 });

    // Assess
    const etag = String(put['etag']);
    expect(first).toEqual(again);
    const batches = first['batches'] as { key: string; count: number; first: number }[];
    const chunkCount = first['chunkCount'] as number;
    expect(first).toMatchObject({ key: 'docs/guide.md', version: etag });
    expect(chunkCount).toBeGreaterThan(8);
    expect(batches.map((batch) => batch.count).reduce((a, b) => a + b, 0)).toBe(chunkCount);
    expect(batches[0]?.key).toBe(`chunks/docs/guide.md/${etag}/batch-00000.json`);
    const part = await task('get-object', { key: batches[1]?.key, encoding: 'utf8', maxBytes: 100_000 });
    const batch = JSON.parse(String(part['body'])) as {
      ids: string[];
      records: { id: string; text: string; metadata: Record<string, unknown> }[];
    };
    expect(batch.ids).toEqual([4, 5, 6, 7].map((index) => `docs/guide.md@${etag}#${index}`));
    expect(batch.records[0]?.metadata).toMatchObject({ source: 'docs/guide.md', version: etag, chunk: 4 });
    expect(batch.records[0]?.metadata['text']).toBe(batch.records[0]?.text);
    expect(TEXT).toContain(batch.records[0]?.text);
  });

  it('keys the chunks by the new etag once the object changes', async () => {
    // Prepare
    await task('put-object', { key: 'docs/changing.md', body: 'first version of the text' });
    const before = await task('chunk-object', { key: 'docs/changing.md' });
    await task('put-object', { key: 'docs/changing.md', body: 'second version of the text' });

    // Act
    const after = await task('chunk-object', { key: 'docs/changing.md' });

    // Assess
    expect(after['version']).not.toBe(before['version']);
    expect(after['chunkCount']).toBe(1);
  });

  it('chunks an object whose key ends in "/" into a folder named by the hash of its key', async () => {
    // Prepare
    const put = await task('put-object', { key: 'notes/', body: TEXT, contentType: 'text/plain' });

    // Act
    const result = await task('chunk-object', { key: 'notes/', size: 400, overlap: 0, batchSize: 50 });

    // Assess
    const hash = createHash('sha256').update('notes/').digest('hex');
    const batches = result['batches'] as { key: string }[];
    expect(result).toMatchObject({ key: 'notes/', version: String(put['etag']) });
    expect(batches[0]?.key).toBe(`chunks/sha256-${hash}/${String(put['etag'])}/batch-00000.json`);
    const part = await task('get-object', { key: batches[0]?.key, encoding: 'utf8', maxBytes: 100_000 });
    expect(JSON.parse(String(part['body']))).toMatchObject({
      ids: expect.arrayContaining([expect.stringContaining('notes/@')]),
    });
  });

  it('refuses a key too long for its part keys before reading it, naming /key and the length', async () => {
    // Prepare: 1,000 bytes, a valid key; its parts would be chunks/<key>/<version>/batch-00000.json.
    const key = longKey(1_000);

    // Act: the object does not exist, so a read would answer 404.
    const refused = await http('chunk-object', { key });

    // Assess
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      code: 'validation_error',
      detail: expect.stringContaining('1,024-byte key limit'),
      errors: [
        { pointer: '/key', message: expect.stringContaining('of at least 1026 bytes') },
        { pointer: '/outputPrefix', message: expect.stringContaining('its 7 bytes') },
      ],
    });
  });

  it('refuses a key whose part keys the version takes over the limit, before writing any part', async () => {
    // Prepare: 998 bytes fit with a 1-character version; the etag (32 hex digits and quotes) does not.
    const key = longKey(998);
    const put = await task('put-object', { key, body: TEXT });
    const version = String(put['etag']).replaceAll(/[^\w.-]/g, '_');
    const length = 'parts/'.length + 998 + 1 + version.length + 1 + 'batch-00000.json'.length;

    // Act
    const refused = await http('chunk-object', { key, outputPrefix: 'parts/' });
    const written = await task('list-objects', { prefix: 'parts/' });

    // Assess
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({
      errors: [
        { pointer: '/key', message: expect.stringContaining(`of ${length} bytes`) },
        { pointer: '/outputPrefix', message: expect.stringContaining('its 6 bytes') },
      ],
    });
    expect(written['objects']).toEqual([]);
  });

  it('refuses overlap >= size and a missing object with errors naming them', async () => {
    await expect(
      task('chunk-object', { key: 'docs/guide.md', size: 100, overlap: 100 }),
    ).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining('overlap'),
    });
    await expect(task('chunk-object', { key: 'docs/none.md' })).rejects.toMatchObject({
      name: 'NotFoundError',
    });
  });
});
