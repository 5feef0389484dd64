/**
 * How the S3 helpers treat answers S3 should never give but a broken proxy or store could: a ranged GET
 * shorter than the range, a multipart upload started without an upload id, a part accepted without an ETag,
 * a HEAD without a length. Each is a clear UnexpectedResponseError naming the object, never a corrupt read
 * or a half-written object reported as written. The S3 client is a stand-in that records the commands and
 * answers with the given shapes (the SDK's own output types).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { headObject, readRange, type S3ObjectAddress, S3ObjectWriter, s3ObjectTarget } from './s3-objects.ts';

function address(answer: (command: { constructor: { name: string } }) => unknown): {
  address: S3ObjectAddress;
  sent: string[];
} {
  const sent: string[] = [];
  const s3 = {
    send: async (command: { constructor: { name: string } }) => {
      sent.push(command.constructor.name);
      return answer(command);
    },
  } as unknown as S3Client;
  return {
    sent,
    address: {
      s3,
      bucket: 'data',
      key: 'in/orders.csv',
      target: (action) => s3ObjectTarget(action, 'data', 'in/orders.csv'),
      timeoutMs: 5_000,
    },
  };
}

describe('S3 helpers: answers S3 should not give', () => {
  it('reads an empty range without a call, and refuses a ranged GET shorter than the range', async () => {
    // Prepare
    const { address: short, sent } = address(() => ({ Body: [Buffer.from('abc')] }));

    // Act
    const empty = await readRange(short, 10, 10);
    const failure = await readRange(short, 0, 8).catch((error: unknown) => error);

    // Assess
    expect(empty.length).toBe(0);
    expect(sent).toEqual(['GetObjectCommand']);
    expect(failure).toMatchObject({ name: 'UnexpectedResponseError' });
    expect(String((failure as Error).message)).toContain(
      '3 bytes for a range of 8 of object "in/orders.csv"',
    );
  });

  it('answers size 0 for a HEAD without a length', async () => {
    // Prepare
    const { address: head } = address(() => ({ ETag: '"e"' }));

    // Act
    const answer = await headObject(head);

    // Assess
    expect(answer).toEqual({ size: 0, etag: '"e"', contentType: undefined });
  });

  it('refuses a multipart upload started without an upload id', async () => {
    // Prepare
    const { address: target } = address(() => ({}));
    const writer = new S3ObjectWriter(target, { contentType: 'text/csv', partBytes: 5 * 1024 * 1024 });

    // Act
    const failure = await writer.write(Buffer.alloc(5 * 1024 * 1024, 1)).catch((error: unknown) => error);

    // Assess
    expect(failure).toMatchObject({ name: 'UnexpectedResponseError' });
    expect(String((failure as Error).message)).toContain('without an upload id');
  });

  it('refuses a part accepted without an ETag, and abort() ends the upload', async () => {
    // Prepare
    const { address: target, sent } = address((command) =>
      command.constructor.name === 'CreateMultipartUploadCommand' ? { UploadId: 'u-1' } : {},
    );
    const writer = new S3ObjectWriter(target, { contentType: 'text/csv', partBytes: 5 * 1024 * 1024 });

    // Act
    const failure = await writer.write(Buffer.alloc(5 * 1024 * 1024, 1)).catch((error: unknown) => error);
    await writer.abort();

    // Assess
    expect(String((failure as Error).message)).toContain('part 1 of "in/orders.csv" without an ETag');
    expect(sent).toEqual([
      'CreateMultipartUploadCommand',
      'UploadPartCommand',
      'AbortMultipartUploadCommand',
    ]);
  });
});
