/**
 * Key rules on the real peer: s3rver normalises request paths, so a key with `.` or `..` segments would
 * address another bucket. Every hostile key must be refused with a 400 naming the field before S3 is
 * called, the bucket outside `S3_ALLOWED_BUCKETS` must stay untouched, and legitimate keys must keep working.
 */
import {
  CopyObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { awsFailure, ValidationError } from '@circle-core/core';
import { type CapturedLogs, captureLogs, httpEvent, lambdaContext } from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type S3rverPeer, startS3rver } from '../../../test/peers/s3rver.ts';
import { s3Target } from './errors.ts';

type Handler = (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
interface Problem {
  status: number;
  code: string;
  errors?: { pointer: string; message: string }[];
}

/** Keys that climb out of the bucket on a normalising store, or that no request can carry. */
const HOSTILE_KEYS: Record<string, string> = {
  'a parent segment first': '../other-bucket/secret.txt',
  'a dot then a parent segment': './../other-bucket/secret.txt',
  'parent segments after a folder': 'a/../../other-bucket/secret.txt',
  'a lone high surrogate': 'a\ud800b',
  'a lone low surrogate': 'a\udc00b',
  'a NUL character': 'a\u0000b',
  'a line feed': 'reports/a\nb.txt',
  'a DEL character': 'a\u007fb',
  'a dot segment': 'a/./secret.txt',
  'a backslash parent segment': '..\\other-bucket\\secret.txt',
  'fullwidth dots': '\uff0e\uff0e/other-bucket/secret.txt',
  'an empty segment': 'a//b.txt',
  'a leading slash': '/other-bucket/secret.txt',
};

/** Keys S3 users legitimately write; each must round-trip unchanged. */
const LEGITIMATE_KEYS = [
  'a/b/c.txt',
  'folder/',
  'a..b',
  '...',
  '.hidden',
  'résumé.pdf',
  'with space.txt',
  '日本語/データ.csv',
  'emoji 😀.txt',
  'percent%2e%2e/x.txt',
  // Characters S3's key naming guide says need URL encoding: a copy source carries them encoded.
  'a+b=c&d.txt',
  'time 12:00;v@1,$x.txt',
  'q?x#1.txt',
];

const SECRET = 'other bucket secret';

let peer: S3rverPeer;
let handler: Handler;
let raw: S3Client;
let logs: CapturedLogs;

async function run(operation: string, input: unknown): Promise<{ status: number; body: unknown }> {
  const event = httpEvent({ path: `/s3/${operation}`, body: input });
  const result = (await handler(event, lambdaContext())) as { statusCode: number; body: string };
  return { status: result.statusCode, body: JSON.parse(result.body) };
}

async function otherBucket(): Promise<Record<string, string>> {
  const listing = await raw.send(new ListObjectsV2Command({ Bucket: 'other-bucket' }));
  const entries = await Promise.all(
    (listing.Contents ?? []).map(async ({ Key }) => {
      const object = await raw.send(new GetObjectCommand({ Bucket: 'other-bucket', Key }));
      return [Key ?? '', (await object.Body?.transformToString()) ?? ''] as const;
    }),
  );
  return Object.fromEntries(entries);
}

beforeAll(async () => {
  peer = await startS3rver({ buckets: ['data', 'other-bucket'] });
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');
  vi.stubEnv('S3_BUCKET', 'data');
  vi.stubEnv('S3_ENDPOINT', peer.endpoint);
  vi.stubEnv('S3_FORCE_PATH_STYLE', 'true');
  raw = new S3Client({ endpoint: peer.endpoint, forcePathStyle: true, region: 'us-east-1' });
  await raw.send(new PutObjectCommand({ Bucket: 'other-bucket', Key: 'secret.txt', Body: SECRET }));
  // Config is read when the module loads, as at a Lambda cold start (which logs a warning line).
  const startup = captureLogs();
  ({ handler } = await import('./index.ts'));
  startup.restore();
});

afterAll(async () => {
  vi.unstubAllEnvs();
  raw?.destroy();
  await peer.close();
});

describe('Key rules on s3rver', () => {
  // Every refusal logs a warning line; keep them out of the test output.
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(() => {
    logs.restore();
  });

  describe.each(Object.entries(HOSTILE_KEYS))('a key with %s', (_, key) => {
    const requests: [operation: string, pointer: string, input: Record<string, unknown>][] = [
      ['put-object', '/key', { key, body: 'overwritten' }],
      ['get-object', '/key', { key }],
      ['head-object', '/key', { key }],
      ['delete-object', '/key', { key }],
      ['presign-url', '/key', { key, method: 'PUT' }],
      ['copy-object', '/sourceKey', { sourceKey: key, key: 'stolen.txt' }],
      ['copy-object', '/key', { sourceKey: 'seed.txt', key }],
      ['list-objects', '/prefix', { prefix: key }],
    ];

    it.each(requests)('is refused by %s with a 400 naming %s', async (operation, pointer, input) => {
      // Act
      const answer = await run(operation, input);
      // Assess
      expect(answer.status).toBe(400);
      const problem = answer.body as Problem;
      expect(problem.code).toBe('validation_error');
      expect(problem.errors?.map((issue) => issue.pointer)).toContain(pointer);
    });
  });

  it('leaves the other bucket exactly as it was, and copies nothing out of it', async () => {
    // Prepare
    const before = await otherBucket();
    // Act
    for (const key of Object.values(HOSTILE_KEYS)) {
      await run('put-object', { key, body: 'overwritten' });
      await run('copy-object', { sourceKey: key, key: 'stolen.txt' });
      await run('copy-object', { sourceKey: 'a.txt', key });
      await run('delete-object', { key });
    }
    const stolen = await run('head-object', { key: 'stolen.txt' });
    // Assess
    expect(before).toEqual({ 'secret.txt': SECRET });
    expect(await otherBucket()).toEqual(before);
    expect(stolen.status).toBe(404);
  });

  it('never answers the content of the other bucket', async () => {
    // Act
    const answers = await Promise.all(
      Object.values(HOSTILE_KEYS).flatMap((key) => [
        run('get-object', { key, encoding: 'utf8' }),
        run('head-object', { key }),
        run('list-objects', { prefix: key }),
      ]),
    );
    // Assess
    for (const answer of answers) {
      expect(answer.status).toBe(400);
      expect(JSON.stringify(answer.body)).not.toContain(SECRET);
    }
  });

  it.each(LEGITIMATE_KEYS)('keeps %j working: put, head, get, list, copy, presign, delete', async (key) => {
    // Act
    const put = await run('put-object', { key, body: `content of ${key}` });
    const head = await run('head-object', { key });
    const got = await run('get-object', { key });
    const listed = await run('list-objects', { prefix: key });
    const copied = await run('copy-object', { sourceKey: key, key: `copies/${key}` });
    const copy = await run('get-object', { key: `copies/${key}` });
    const presigned = await run('presign-url', { key });
    const download = await fetch((presigned.body as { url: string }).url);
    const deleted = await run('delete-object', { key });
    const gone = await run('head-object', { key });
    // Assess
    expect(put).toMatchObject({ status: 200, body: { key } });
    expect(head).toMatchObject({ status: 200, body: { key } });
    expect(got).toMatchObject({ status: 200, body: { key, body: `content of ${key}` } });
    expect(listed).toMatchObject({ status: 200, body: { objects: [{ key }] } });
    expect(copied).toMatchObject({ status: 200, body: { key: `copies/${key}` } });
    expect(copy).toMatchObject({ status: 200, body: { body: `content of ${key}` } });
    expect(await download.text()).toBe(`content of ${key}`);
    expect(deleted).toMatchObject({ status: 200, body: { key, deleted: true } });
    expect(gone.status).toBe(404);
  });

  it('lists with an empty prefix and a prefix ending in a partial segment', async () => {
    // Prepare
    await run('put-object', { key: 'partial/report-2024.csv', body: 'x' });
    // Act
    const everything = await run('list-objects', { prefix: '' });
    const partial = await run('list-objects', { prefix: 'partial/report-20' });
    // Assess
    expect(everything.status).toBe(200);
    expect(partial).toMatchObject({ status: 200, body: { objects: [{ key: 'partial/report-2024.csv' }] } });
  });

  it('refuses a delimiter or continuation token with a lone surrogate, naming the field', async () => {
    // Act
    const delimiter = await run('list-objects', { delimiter: '\ud800' });
    const token = await run('list-objects', { continuationToken: 'abc\udfff' });
    // Assess
    expect(delimiter).toMatchObject({ status: 400, body: { errors: [{ pointer: '/delimiter' }] } });
    expect(token).toMatchObject({ status: 400, body: { errors: [{ pointer: '/continuationToken' }] } });
  });
});

describe('Function: awsFailure with an S3 target', () => {
  describe('errors the SDK throws while building a request, before any response', () => {
    it.each([
      ['a key', new GetObjectCommand({ Bucket: 'data', Key: 'a\ud800b' })],
      ['a copy source', new CopyObjectCommand({ Bucket: 'data', Key: 'x', CopySource: 'data/a\udc00' })],
      ['a list delimiter', new ListObjectsV2Command({ Bucket: 'data', Delimiter: '\ud800' })],
      [
        'a header value',
        new PutObjectCommand({ Bucket: 'data', Key: 'x', Body: 'x', Metadata: { a: 'b\nc' } }),
      ],
    ])('maps text in %s that a request cannot carry to ValidationError (400)', async (_, command) => {
      // Act
      const thrown = await raw.send(command as GetObjectCommand).catch((error: unknown) => error);
      const mapped = awsFailure(s3Target('GetObject', 'data', 'x'), thrown);
      // Assess
      expect(thrown).not.toHaveProperty('$metadata.httpStatusCode');
      expect(mapped).toBeInstanceOf(ValidationError);
      expect(mapped.status).toBe(400);
      expect(mapped.cause).toBe(thrown);
    });
  });
});
