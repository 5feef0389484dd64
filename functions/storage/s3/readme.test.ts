/**
 * The README's operation examples, run as written against s3rver: each request body of the `put-object`,
 * `get-object`, `head-object`, `copy-object` and `delete-object` sections goes to the connector in README
 * order, and its answer must equal the README's answer but for the times it cannot know (`lastModified`).
 * The `list-objects` page and the over-the-limit `get-object` answer are checked for their fields and
 * what the bucket implies. A README example that drifts from what the connector returns (an entity tag, a
 * size, a field) fails here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lambdaContext } from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type S3rverPeer, startS3rver } from '../../../test/peers/s3rver.ts';

/** The bucket the README's answers name. */
const README_BUCKET = 'circle-core-dev-data';
const OPERATIONS = ['put-object', 'get-object', 'head-object', 'copy-object', 'delete-object'];

/** The first two JSON blocks of the README section `### \`<operation>\``: request and answer. */
function example(readme: string, operation: string): { request: unknown; answer: Record<string, unknown> } {
  const section = readme.split(`### \`${operation}\``)[1]?.split(/\n### /)[0] ?? '';
  const blocks = [...section.matchAll(/```json\n([\s\S]*?)```/g)].map((match) => JSON.parse(match[1] ?? ''));
  if (blocks.length < 2) throw new Error(`README section ${operation} has no request and answer`);
  return { request: blocks[0], answer: blocks[1] as Record<string, unknown> };
}

/** The answer without what differs per run. */
function stable(answer: Record<string, unknown>): Record<string, unknown> {
  const { lastModified: _lastModified, ...rest } = answer;
  return rest;
}

let peer: S3rverPeer;
let handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;

beforeAll(async () => {
  peer = await startS3rver({ buckets: [README_BUCKET] });
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'S3RVER');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'S3RVER');
  vi.stubEnv('S3_BUCKET', README_BUCKET);
  vi.stubEnv('S3_ENDPOINT', peer.endpoint);
  vi.stubEnv('S3_FORCE_PATH_STYLE', 'true');
  ({ handler } = await import('./index.ts'));
});

afterAll(async () => {
  vi.unstubAllEnvs();
  await peer.close();
});

describe('README examples', () => {
  it('answer as the README shows, in its order, against s3rver', async () => {
    // Arrange
    const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
    const examples = OPERATIONS.map((operation) => ({ operation, ...example(readme, operation) }));

    for (const { operation, request, answer } of examples) {
      // Act
      const out = (await handler(
        { operation, input: request, idempotencyKey: `readme-${operation}`, trigger: 'task' },
        lambdaContext(),
      )) as Record<string, unknown>;

      // Assert
      expect({ operation, answer: stable(out) }).toEqual({ operation, answer: stable(answer) });
    }
  });

  it('list-objects answers the shape the README shows, a common prefix counting toward maxKeys', async () => {
    // Arrange: what the README's page implies is in the bucket: an object and a "folder" under reports/,
    // and more after them (the page is truncated).
    const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
    const { request, answer } = example(readme, 'list-objects');
    const shown = answer as { objects: Record<string, unknown>[] };
    for (const [key, body] of [
      ['reports/2024/06.csv', 'day,total\n1,42\n'],
      ['reports/index.html', 'x'.repeat(512)],
      ['reports/zz.txt', 'later'],
    ]) {
      await handler(
        {
          operation: 'put-object',
          input: { key, body },
          idempotencyKey: `readme-list-${key}`,
          trigger: 'task',
        },
        lambdaContext(),
      );
    }

    // Act
    const out = (await handler(
      { operation: 'list-objects', input: request, trigger: 'task' },
      lambdaContext(),
    )) as {
      objects: Record<string, unknown>[];
    };

    // Assert
    expect(Object.keys(out).sort()).toEqual(Object.keys(answer).sort());
    expect(Object.keys(out.objects[0] ?? {}).sort()).toEqual(Object.keys(shown.objects[0] ?? {}).sort());
    expect(out).toMatchObject({
      bucket: answer['bucket'],
      objects: [{ key: 'reports/index.html', size: 512 }],
      commonPrefixes: answer['commonPrefixes'],
      isTruncated: true,
    });
  });

  it('presign-url answers as the README shows but for the URL and the time', async () => {
    // Arrange
    const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
    const { request, answer } = example(readme, 'presign-url');

    // Act
    const out = (await handler(
      { operation: 'presign-url', input: request, trigger: 'task' },
      lambdaContext(),
    )) as Record<string, unknown>;

    // Assert
    const { url: _url, expiresAt: _at, ...rest } = out;
    const { url: _shownUrl, expiresAt: _shownAt, ...shown } = answer;
    expect(Object.keys(out).sort()).toEqual(Object.keys(answer).sort());
    expect(rest).toEqual(shown);
  });

  it('answer an object over maxBytes with the fields the README shows', async () => {
    // Arrange: the README's "Over the limit" answer (a 70 MB object), and a small one read with maxBytes 1.
    const readme = readFileSync(join(import.meta.dirname, 'README.md'), 'utf8');
    const section = readme.split('### `get-object`')[1]?.split(/\n### /)[0] ?? '';
    const shown = [...section.matchAll(/```json\n([\s\S]*?)```/g)]
      .map((match) => JSON.parse(match[1] ?? '') as Record<string, unknown>)
      .find((block) => block['tooLarge'] === true);
    await handler(
      {
        operation: 'put-object',
        input: { key: 'exports/full.ndjson', body: '{"n":1}\n', contentType: 'application/x-ndjson' },
        idempotencyKey: 'readme-large',
        trigger: 'task',
      },
      lambdaContext(),
    );

    // Act
    const out = (await handler(
      { operation: 'get-object', input: { key: 'exports/full.ndjson', maxBytes: 1 }, trigger: 'task' },
      lambdaContext(),
    )) as Record<string, unknown>;

    // Assert
    expect(Object.keys(out).sort()).toEqual(Object.keys(shown ?? {}).sort());
    expect(out).toMatchObject({
      tooLarge: true,
      key: 'exports/full.ndjson',
      expiresIn: shown?.['expiresIn'],
    });
  });
});
