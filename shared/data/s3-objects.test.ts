/** Ranged reads and multipart writes against s3rver (a real S3 HTTP server) through the real AWS SDK. */
import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type S3rverPeer, startS3rver } from '../../test/peers/s3rver.ts';
import { readObject, type S3ObjectAddress, S3ObjectWriter, s3ObjectTarget } from './s3-objects.ts';

let peer: S3rverPeer;
let s3: S3Client;

const address = (key: string): S3ObjectAddress => ({
  s3,
  bucket: 'data',
  key,
  timeoutMs: 10_000,
  target: (action) => s3ObjectTarget(action, 'data', key),
});

beforeAll(async () => {
  peer = await startS3rver({ buckets: ['data'] });
  s3 = new S3Client({
    endpoint: peer.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: peer.credentials,
  });
});

afterAll(async () => {
  s3?.destroy();
  await peer?.close();
});

describe('Module: s3-objects', () => {
  it('writes 11 MiB as three multipart parts and reads it back range by range', async () => {
    // Prepare
    const block = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < block.length; i++) block[i] = i % 251;
    const writer = new S3ObjectWriter(address('big.bin'), {
      contentType: 'application/octet-stream',
      partBytes: 5 * 1024 * 1024,
    });

    // Act
    for (let i = 0; i < 11; i++) await writer.write(block);
    const written = await writer.finish();
    const ranges: number[] = [];
    let same = true;
    let offset = 0;
    for await (const chunk of readObject(address('big.bin'), { rangeBytes: 4 * 1024 * 1024 })) {
      ranges.push(chunk.length);
      for (let i = 0; i < chunk.length; i += 4099)
        if (chunk[i] !== ((offset + i) % (1024 * 1024)) % 251) same = false;
      offset += chunk.length;
    }

    const prefetched: Buffer[] = [];
    for await (const chunk of readObject(address('big.bin'), { rangeBytes: 4 * 1024 * 1024, prefetch: true }))
      prefetched.push(chunk);

    // Assess
    expect(written).toMatchObject({ bucket: 'data', key: 'big.bin', size: 11 * 1024 * 1024, parts: 3 });
    expect(ranges).toEqual([4, 4, 3].map((n) => n * 1024 * 1024));
    expect(same).toBe(true);
    expect(prefetched.map((chunk) => chunk.length)).toEqual(ranges);
    expect(Buffer.concat(prefetched).equals(Buffer.concat([...Array(11)].map(() => block)))).toBe(true);
  });

  it('writes a small object with one PutObject, and an aborted upload leaves nothing', async () => {
    // Prepare
    const small = new S3ObjectWriter(address('small.txt'), { contentType: 'text/plain' });
    const dropped = new S3ObjectWriter(address('dropped.bin'), { contentType: 'application/octet-stream' });

    // Act
    await small.write('hello ');
    await small.write(Buffer.from('world'));
    const written = await small.finish();
    await dropped.write(Buffer.alloc(9 * 1024 * 1024));
    await dropped.abort();
    const body = await (
      await s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'small.txt' }))
    ).Body?.transformToString();
    const missing = s3.send(new GetObjectCommand({ Bucket: 'data', Key: 'dropped.bin' }));

    // Assess
    expect(written).toMatchObject({ size: 11, parts: 1 });
    expect(body).toBe('hello world');
    await expect(missing).rejects.toMatchObject({ name: 'NoSuchKey' });
  });

  it('maps a missing object to NotFoundError naming it', async () => {
    // Act
    const reading = (async () => {
      for await (const _ of readObject(address('none.txt'))) return;
    })();

    // Assess
    await expect(reading).rejects.toMatchObject({
      name: 'NotFoundError',
      message: expect.stringContaining('none.txt'),
    });
  });
});
