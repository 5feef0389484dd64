import { parquetMetadata } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import type { ReadItem } from './formats.ts';
import { parquetWriter, readParquet, toJsonValue } from './parquet.ts';

async function write(records: unknown[], rowGroupRows?: number): Promise<{ file: Buffer; writes: number }> {
  const chunks: Buffer[] = [];
  const writer = parquetWriter(
    {
      write: async (chunk) => {
        chunks.push(Buffer.from(chunk));
      },
    },
    rowGroupRows === undefined ? {} : { rowGroupRows },
  );
  for (const record of records) await writer.write(record);
  await writer.finish();
  return { file: Buffer.concat(chunks), writes: chunks.length };
}

async function read(file: Buffer): Promise<{ items: ReadItem[]; reads: number }> {
  let reads = 0;
  const items: ReadItem[] = [];
  const source = {
    byteLength: file.length,
    read: async (start: number, end: number) => {
      reads += 1;
      return file.subarray(start, end);
    },
  };
  for await (const item of readParquet(source)) items.push(item);
  return { items, reads };
}

describe('Module: parquet', () => {
  it('writes row groups one at a time and reads them back as JSON, in order', async () => {
    // Prepare
    const records = Array.from({ length: 2_500 }, (_, i) => ({
      id: i,
      name: i % 7 === 0 ? null : `name-${i}`,
      total: i / 4,
      paid: i % 2 === 0,
      tags: { n: i },
    }));

    // Act
    const { file, writes } = await write(records, 1_000);
    const { items } = await read(file);

    // Assess
    expect(
      parquetMetadata(file.buffer.slice(file.byteOffset, file.byteOffset + file.length) as ArrayBuffer)
        .row_groups,
    ).toHaveLength(3);
    expect(writes).toBe(4); // three groups, then the footer
    expect(items).toHaveLength(2_500);
    expect(items[0]).toEqual({
      index: 0,
      record: { id: 0, name: null, total: 0, paid: true, tags: { n: 0 } },
    });
    expect(items[2_499]).toEqual({
      index: 2_499,
      record: { id: 2_499, name: null, total: 624.75, paid: false, tags: { n: 2_499 } },
    });
  });

  it('keeps whole numbers and fractions in one column (DOUBLE), and refuses values of another type later', async () => {
    // Act
    const mixed = await write([{ n: 1 }, { n: 2.5 }], 1);
    const refused = write([{ n: 1 }, { n: 'two' }], 1);

    // Assess
    expect((await read(mixed.file)).items.map((item) => ('record' in item ? item.record : item))).toEqual([
      { n: 1 },
      { n: 2.5 },
    ]);
    await expect(refused).rejects.toMatchObject({ name: 'ValidationError' });
  });

  it('refuses bytes that are not Parquet with a ValidationError', async () => {
    // Act
    const reading = read(Buffer.from('id,name\n1,Ada\n'));

    // Assess
    await expect(reading).rejects.toMatchObject({
      name: 'ValidationError',
      message: expect.stringContaining('Parquet'),
    });
  });

  it('answers decoded values as JSON', () => {
    // Assess
    expect(
      toJsonValue({
        big: 2n ** 60n,
        small: 5n,
        at: new Date(0),
        bin: new Uint8Array([1, 2]),
        nan: Number.NaN,
        inf: Number.POSITIVE_INFINITY,
        negInf: Number.NEGATIVE_INFINITY,
      }),
    ).toEqual({
      big: '1152921504606846976',
      small: 5,
      at: '1970-01-01T00:00:00.000Z',
      bin: 'AQI=',
      nan: 'NaN',
      inf: 'Infinity',
      negInf: '-Infinity',
    });
  });
});
