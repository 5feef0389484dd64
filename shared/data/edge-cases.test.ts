/**
 * The data helpers' edge paths: writers given no records, exactly one batch, values that are not objects
 * and values JSON has no text for; Parquet cells of every JSON shape; rejections past their listed limit;
 * an expression answering several records or failing outside JSONata; many evaluation budgets.
 */
import { parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { csvWriter, ndjsonWriter, type RecordWriter } from './formats.ts';
import { compileExpression } from './jsonata.ts';
import { parquetWriter, toJsonValue } from './parquet.ts';
import { applyTransform, Rejections } from './record-transform.ts';

const LIMITS = { timeoutMs: 1_000, maxDepth: 100, maxSequence: 10_000, maxResultBytes: 65_536 };

async function written(
  make: (sink: { write(chunk: Buffer | string): Promise<void> }) => RecordWriter,
  records: unknown[],
): Promise<{ text: string; bytes: Buffer; writes: number }> {
  const chunks: Buffer[] = [];
  const writer = make({
    write: async (chunk) => {
      chunks.push(Buffer.from(chunk));
    },
  });
  for (const record of records) await writer.write(record);
  await writer.finish();
  const bytes = Buffer.concat(chunks);
  return { text: bytes.toString('utf8'), bytes, writes: chunks.length };
}

describe('Writers: edge paths', () => {
  it('writes nothing for no records, and only the header when the columns are given', async () => {
    // Act
    const ndjson = await written(ndjsonWriter, []);
    const csv = await written((sink) => csvWriter(sink), []);
    const header = await written((sink) => csvWriter(sink, { columns: ['id', 'name'] }), []);
    const parquet = await written((sink) => parquetWriter(sink), []);

    // Assess
    expect(ndjson).toMatchObject({ text: '', writes: 0 });
    expect(csv).toMatchObject({ text: '', writes: 0 });
    expect(header.text).toBe('id,name\n');
    expect(parquet.writes).toBe(0);
  });

  it('flushes each full batch once and writes no empty batch at the end', async () => {
    // Prepare
    const records = Array.from({ length: 1_000 }, (_, i) => ({ id: i }));

    // Act
    const ndjson = await written(ndjsonWriter, records);
    const csv = await written((sink) => csvWriter(sink), records);

    // Assess
    expect(ndjson.writes).toBe(1);
    expect(ndjson.text.split('\n')).toHaveLength(1_001);
    expect(csv.writes).toBe(1);
    expect(csv.text.split('\n')[1]).toBe('0');
  });

  it('writes records that are not objects as a value column, and undefined as JSON null', async () => {
    // Act
    const ndjson = await written(ndjsonWriter, [undefined, 1, 'a']);
    const csv = await written((sink) => csvWriter(sink), [1, 'two', [3], { nested: true }]);
    const parquet = await written((sink) => parquetWriter(sink), ['x', 'y']);
    const rows = await parquetReadObjects({
      file: parquet.bytes.buffer.slice(
        parquet.bytes.byteOffset,
        parquet.bytes.byteOffset + parquet.bytes.byteLength,
      ) as ArrayBuffer,
    });

    // Assess
    expect(ndjson.text).toBe('null\n1\n"a"\n');
    expect(csv.text).toBe('value\n1\ntwo\n[3]\n\n');
    expect(rows).toEqual([{ value: 'x' }, { value: 'y' }]);
  });

  it('writes a Parquet file of the given columns with an absent cell as null', async () => {
    // Act
    const parquet = await written(
      (sink) => parquetWriter(sink, { columns: ['id', 'note'] }),
      [{ id: 1, note: 'a' }, { id: 2 }],
    );
    const header = await written((sink) => parquetWriter(sink, { columns: ['id'] }), []);
    const rows = await parquetReadObjects({
      file: parquet.bytes.buffer.slice(
        parquet.bytes.byteOffset,
        parquet.bytes.byteOffset + parquet.bytes.byteLength,
      ) as ArrayBuffer,
    });

    // Assess
    expect(rows).toEqual([
      { id: 1, note: 'a' },
      { id: 2, note: null },
    ]);
    expect(header.bytes.subarray(0, 4).toString()).toBe('PAR1');
  });

  it('turns Parquet values into JSON: dates, invalid dates, arrays and nested objects', () => {
    // Act
    const value = toJsonValue({
      at: new Date('2026-12-06T10:00:00Z'),
      never: new Date(Number.NaN),
      list: [1n, new Date(0)],
      nested: { gone: undefined, kept: 'k' },
    });

    // Assess
    expect(value).toEqual({
      at: '2026-12-06T10:00:00.000Z',
      never: null,
      list: [1, '1970-01-01T00:00:00.000Z'],
      nested: { kept: 'k' },
    });
  });
});

describe('Record transforms: edge paths', () => {
  it('counts every rejection but lists only up to the limit', () => {
    // Prepare
    const rejections = new Rejections(2);

    // Act
    for (let index = 0; index < 5; index += 1) rejections.add({ index, stage: 'read', message: 'bad' });

    // Assess
    expect(rejections.count).toBe(5);
    expect(rejections.listed.map((rejection) => rejection.index)).toEqual([0, 1]);
  });

  it('answers each record of an array result, and lets a failure outside JSONata through', async () => {
    // Prepare
    const expression = compileExpression('[{ "n": n }, { "n": n * 2 }]', LIMITS);
    const broken = {
      source: 'broken',
      evaluate: async () => {
        throw new TypeError('not a JSONata failure');
      },
    };

    // Act
    const several = await applyTransform({ expression }, { index: 0, record: { n: 2 } }, 1_000);
    const failure = await applyTransform({ expression: broken }, { index: 1, record: {} }, 1_000).catch(
      (error: unknown) => error,
    );

    // Assess
    expect(several).toEqual({ records: [{ n: 2 }, { n: 4 }] });
    expect(failure).toBeInstanceOf(TypeError);
  });

  it('evaluates with more different time budgets than it keeps compiled, with the same answers', async () => {
    // Prepare
    const expression = compileExpression('a + b', LIMITS);

    // Act
    const answers: unknown[] = [];
    for (let i = 0; i < 20; i += 1) answers.push(await expression.evaluate({ a: i, b: 1 }, {}, 900 + i));

    // Assess
    expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });
});
