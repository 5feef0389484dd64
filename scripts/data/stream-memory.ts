/**
 * `node scripts/data/stream-memory.ts [--mib 1024] [--to ndjson|csv|parquet] [--no-expression]`: the
 * constant-memory check of the streaming readers and writers in shared/data. Generates a CSV file of about
 * `--mib` MiB in a temporary folder (one line per order, ~100 bytes each), streams it through readCsv, the
 * bounded JSONata evaluation (`applyTransform`, one evaluation per record) and a writer of the chosen
 * format into another file, sampling the resident set size every 50 ms, and prints rows, seconds and the
 * peak RSS over the RSS before the run. The same readers and writers serve S3 (8 MiB ranged reads,
 * 8 MiB multipart parts), so the S3 path holds at most one more range and one more part.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { csvWriter, ndjsonWriter, type RecordWriter, readCsv } from '../../shared/data/formats.ts';
import { compileExpression } from '../../shared/data/jsonata.ts';
import { parquetWriter } from '../../shared/data/parquet.ts';
import { applyTransform } from '../../shared/data/record-transform.ts';

const { values } = parseArgs({
  options: {
    mib: { type: 'string', default: '1024' },
    to: { type: 'string', default: 'ndjson' },
    'no-expression': { type: 'boolean', default: false },
  },
});
const targetBytes = Number(values.mib) * 1024 * 1024;
const directory = await mkdtemp(join(tmpdir(), 'circle-stream-memory-'));
const input = join(directory, 'orders.csv');
const output = join(directory, `orders.out.${values.to}`);

async function writeStream(path: string, lines: () => Generator<string>): Promise<void> {
  const out = createWriteStream(path);
  for (const line of lines()) if (!out.write(line)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

try {
  const started = Date.now();
  await writeStream(input, function* () {
    yield 'id,customer,total,currency,created_at,note\n';
    let bytes = 0;
    let buffered: string[] = [];
    for (let i = 0; bytes < targetBytes; i++) {
      const line = `${i},customer-${i % 9973},${((i * 37) % 100000) / 100},EUR,2026-12-0${(i % 9) + 1}T10:00:00Z,"note, ${i % 101}"\n`;
      bytes += line.length;
      buffered.push(line);
      if (buffered.length === 10_000) {
        yield buffered.join('');
        buffered = [];
      }
    }
    yield buffered.join('');
  });
  const size = (await stat(input)).size;
  console.log(
    `generated ${(size / 1048576).toFixed(0)} MiB of CSV in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );

  globalThis.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 50);

  const out = createWriteStream(output);
  const sink = {
    write: async (chunk: Buffer | string) => {
      if (!out.write(chunk)) await once(out, 'drain');
    },
  };
  const writer: RecordWriter =
    values.to === 'csv'
      ? csvWriter(sink)
      : values.to === 'parquet'
        ? parquetWriter(sink)
        : ndjsonWriter(sink);
  const limits = { timeoutMs: 1_000, maxDepth: 500, maxSequence: 100_000, maxResultBytes: 262_144 };
  const parts = values['no-expression']
    ? {}
    : {
        expression: compileExpression(
          '{ "order_id": $number(id), "customer": customer, "total_cents": $round($number(total) * 100), "currency": currency, "created_at": created_at }',
          limits,
        ),
      };
  const begun = Date.now();
  let rows = 0;
  let rejected = 0;
  for await (const item of readCsv(createReadStream(input, { highWaterMark: 1024 * 1024 }))) {
    const outcome = await applyTransform(parts, item, 1_000);
    if ('rejection' in outcome) rejected += 1;
    else for (const record of outcome.records) await writer.write(record);
    rows += 1;
  }
  await writer.finish();
  out.end();
  await once(out, 'finish');
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const seconds = (Date.now() - begun) / 1000;
  const written = (await stat(output)).size;
  console.log(
    JSON.stringify({
      inputMiB: Math.round(size / 1048576),
      to: values.to,
      expression: !values['no-expression'],
      rows,
      rejected,
      outputMiB: Math.round(written / 1048576),
      seconds: Math.round(seconds * 10) / 10,
      rowsPerSecond: Math.round(rows / seconds),
      baselineRssMiB: Math.round(baseline / 1048576),
      peakRssMiB: Math.round(peak / 1048576),
      peakOverBaselineMiB: Math.round((peak - baseline) / 1048576),
      // The kernel's count (getrusage, KiB on Linux): the process's highest RSS, generation included.
      maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    }),
  );
} finally {
  await rm(directory, { recursive: true, force: true });
}
