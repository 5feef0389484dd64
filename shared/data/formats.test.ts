import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import {
  csvWriter,
  ndjsonWriter,
  type ReadItem,
  readCsv,
  readCsvBatches,
  readNdjson,
  readNdjsonBatches,
} from './formats.ts';

async function collect(items: AsyncIterable<ReadItem>): Promise<ReadItem[]> {
  const all: ReadItem[] = [];
  for await (const item of items) all.push(item);
  return all;
}

/** The text cut into chunks of `size` bytes, so lines and multi-byte characters straddle chunks. */
function chunks(text: string, size: number): Readable {
  const bytes = Buffer.from(text);
  const parts: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += size) parts.push(bytes.subarray(i, i + size));
  return Readable.from(parts);
}

function sink(): { write(chunk: Buffer | string): Promise<void>; text(): string } {
  const parts: string[] = [];
  return {
    write: async (chunk) => {
      parts.push(chunk.toString());
    },
    text: () => parts.join(''),
  };
}

describe('Module: formats', () => {
  describe('Function: readNdjson', () => {
    it('reads lines across chunk boundaries, skips blank lines, and rejects a bad or overlong line by index', async () => {
      // Prepare
      const text = `{"a":"é"}\n\n{"a":2}\r\nnot json\n{"pad":"${'x'.repeat(100)}"}\n{"a":5}`;

      // Act
      const items = await collect(readNdjson(chunks(text, 3), { maxRecordBytes: 50 }));

      // Assess
      expect(items).toEqual([
        { index: 0, record: { a: 'é' } },
        { index: 1, record: { a: 2 } },
        { index: 2, error: expect.stringContaining('not valid JSON') },
        { index: 3, error: 'the line is longer than 50 bytes' },
        { index: 4, record: { a: 5 } },
      ]);
    });

    it('refuses a line that would pollute prototypes', async () => {
      // Act
      const items = await collect(readNdjson(Readable.from([Buffer.from('{"__proto__":{"x":1}}\n')])));

      // Assess
      expect(items).toEqual([{ index: 0, error: expect.stringContaining('forbidden key') }]);
    });
  });

  describe('Function: readCsv', () => {
    it('keys rows by the header and counts a malformed row in the indexes', async () => {
      // Prepare
      const text = '\ufeffid,name\n1,"Lovelace, Ada"\n2,Bo,extra\n3,"multi\nline"\n4,Dee\n';

      // Act
      const items = await collect(readCsv(chunks(text, 4)));

      // Assess
      expect(items).toEqual([
        { index: 0, record: { id: '1', name: 'Lovelace, Ada' } },
        { index: 1, error: expect.stringContaining('Invalid Record Length') },
        { index: 2, record: { id: '3', name: 'multi\nline' } },
        { index: 3, record: { id: '4', name: 'Dee' } },
      ]);
    });
  });

  describe('Batch readers', () => {
    it('give the same items as arrays, in order, a malformed row and line counted by index', async () => {
      // Prepare: more rows than the CSV reader holds before pausing its input
      const rows = Array.from({ length: 25_000 }, (_, i) => (i === 12_345 ? `${i},x,extra` : `${i},n${i}`));
      const csv = `id,name\n${rows.join('\n')}\n`;
      const ndjson = `${Array.from({ length: 3_000 }, (_, i) => (i === 7 ? '{oops' : `{"id":${i}}`)).join('\n')}\n`;

      // Act
      const csvBatches: ReadItem[][] = [];
      for await (const batch of readCsvBatches(chunks(csv, 64 * 1024))) csvBatches.push(batch);
      const ndjsonBatches: ReadItem[][] = [];
      for await (const batch of readNdjsonBatches(chunks(ndjson, 4096))) ndjsonBatches.push(batch);

      // Assess
      const csvItems = csvBatches.flat();
      expect(csvBatches.length).toBeGreaterThan(1);
      expect(csvItems.map((item) => item.index)).toEqual(rows.map((_, i) => i));
      expect(csvItems[12_345]).toEqual({
        index: 12_345,
        error: expect.stringContaining('Invalid Record Length'),
      });
      expect(csvItems[24_999]).toEqual({ index: 24_999, record: { id: '24999', name: 'n24999' } });
      expect(csvItems).toEqual(await collect(readCsv(chunks(csv, 1000))));
      const ndjsonItems = ndjsonBatches.flat();
      expect(ndjsonBatches.length).toBeGreaterThan(1);
      expect(ndjsonItems).toHaveLength(3_000);
      expect(ndjsonItems[7]).toMatchObject({ index: 7, error: expect.any(String) });
      expect(ndjsonItems[2_999]).toEqual({ index: 2_999, record: { id: 2_999 } });
    });
  });

  describe('Writers', () => {
    it('writes NDJSON and CSV (header from the first record, nested values as JSON, quoting)', async () => {
      // Prepare
      const ndjson = sink();
      const csv = sink();
      const nd = ndjsonWriter(ndjson);
      const cw = csvWriter(csv);

      // Act
      for (const record of [
        { id: 1, name: 'Ada, L', tags: ['a'] },
        { id: 2, name: 'Bo', extra: true },
      ]) {
        await nd.write(record);
        await cw.write(record);
      }
      await nd.finish();
      await cw.finish();

      // Assess
      expect(ndjson.text()).toBe(
        '{"id":1,"name":"Ada, L","tags":["a"]}\n{"id":2,"name":"Bo","extra":true}\n',
      );
      expect(csv.text()).toBe('id,name,tags\n1,"Ada, L","[""a""]"\n2,Bo,\n');
    });

    it('writes only the header for no records when columns are given, and nothing otherwise', async () => {
      // Prepare
      const withColumns = sink();
      const without = sink();

      // Act
      await csvWriter(withColumns, { columns: ['id'] }).finish();
      await csvWriter(without).finish();

      // Assess
      expect(withColumns.text()).toBe('id\n');
      expect(without.text()).toBe('');
    });
  });
});
