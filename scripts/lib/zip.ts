/**
 * Deterministic zip archives for Lambda artifacts, written with yazl and listed with yauzl (both already
 * installed as dependencies of osls, which uses them for its own packaging). Same inputs give the same
 * bytes, so an unchanged function keeps its code hash and osls does not publish a new version for it.
 */
import { createWriteStream } from 'node:fs';
import { createRequire } from 'node:module';
import { pipeline } from 'node:stream/promises';

/** One file to put in an archive. */
export interface ZipEntry {
  /** Path inside the archive, with forward slashes (`nodejs/node_modules/zod/index.js`). */
  readonly path: string;
  /** Absolute path of the file on disk. */
  readonly file: string;
}

/** One file found in an archive. */
export interface ZipListing {
  readonly path: string;
  readonly size: number;
}

// Neither package ships type declarations; these are the few calls used here.
interface YazlZipFile {
  readonly outputStream: NodeJS.ReadableStream;
  addFile(file: string, path: string, options: Record<string, unknown>): void;
  end(): void;
}
interface YauzlEntry {
  readonly fileName: string;
  readonly uncompressedSize: number;
}
interface YauzlZipFile {
  eachEntry(): AsyncIterable<YauzlEntry>;
  close(): void;
}
const require = createRequire(import.meta.url);
const yazl = require('yazl') as { ZipFile: new () => YazlZipFile };
const yauzl = require('yauzl') as {
  openPromise(path: string, options: Record<string, unknown>): Promise<YauzlZipFile>;
};

// Local-time components on purpose: yazl writes DOS time fields from local getters, so this is the same
// 2020-01-01 00:00 in every time zone (the UTC "UT" field is turned off for the same reason).
const FIXED_MTIME = new Date(2020, 0, 1);

/**
 * Writes `entries` to `outFile` in path order, with a fixed timestamp, mode 0644 and maximum deflate.
 *
 * @example
 * ```ts
 * await writeZip('.build/functions/s3.zip', [{ path: 'index.mjs', file: '.build/functions/s3/index.mjs' }]);
 * ```
 */
export async function writeZip(outFile: string, entries: readonly ZipEntry[]): Promise<void> {
  const zip = new yazl.ZipFile();
  const sorted = [...entries].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  for (const entry of sorted) {
    zip.addFile(entry.file, entry.path, {
      mtime: FIXED_MTIME,
      mode: 0o100644,
      compressionLevel: 9,
      forceDosTimestamp: true,
    });
  }
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(outFile));
}

/**
 * Lists the files in a zip archive (directory entries left out), in archive order.
 *
 * @example
 * ```ts
 * const files = await listZip('.build/layer.zip');
 * files.some((f) => f.path === 'nodejs/node_modules/zod/index.js'); // true
 * ```
 */
export async function listZip(file: string): Promise<ZipListing[]> {
  const zip = await yauzl.openPromise(file, { lazyEntries: true });
  const files: ZipListing[] = [];
  try {
    for await (const entry of zip.eachEntry()) {
      if (!entry.fileName.endsWith('/')) files.push({ path: entry.fileName, size: entry.uncompressedSize });
    }
  } finally {
    zip.close();
  }
  return files;
}
