/**
 * Maps a stack trace from a deployed function back to the TypeScript sources. Production runs without
 * `--enable-source-maps` (it costs every cold start), so a trace in CloudWatch names positions in the
 * minified bundles: `/var/task/index.mjs:1:20345` for the function, `/opt/nodejs/node_modules/...` for the
 * layer. The build keeps a source map beside every bundle (and in every zip); this reads those maps.
 */
import { readFile } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the maps of the deployed build are. */
export interface StackTraceMaps {
  /** The build folder the deployed zips came from (`.build`, or `CIRCLE_BUILD_DIR`). */
  readonly buildDir: string;
  /** The function whose trace this is (its `/var/task` is that function's bundle). */
  readonly functionName: string;
  /** Paths of the sources are printed relative to this folder (the repository). */
  readonly root: string;
}

/** `/var/task/<file>:line:column` or `/opt/nodejs/node_modules/<file>:line:column`, with or without `file://`. */
const FRAME = /(?:file:\/\/)?(\/var\/task|\/opt\/nodejs\/node_modules)\/([^\s:()]+):(\d+):(\d+)/g;

async function loadMap(file: string, cache: Map<string, SourceMap | null>): Promise<SourceMap | null> {
  if (!cache.has(file)) {
    try {
      cache.set(file, new SourceMap(JSON.parse(await readFile(file, 'utf8'))));
    } catch {
      cache.set(file, null);
    }
  }
  return cache.get(file) ?? null;
}

/** The built file a runtime path stands for, in the build folder. */
function builtFile(maps: StackTraceMaps, base: string, path: string): string {
  return base === '/var/task'
    ? join(maps.buildDir, 'functions', maps.functionName, path)
    : join(maps.buildDir, 'layer', 'nodejs', 'node_modules', path);
}

function sourcePath(maps: StackTraceMaps, mapFile: string, source: string): string {
  const absolute = source.startsWith('file:') ? fileURLToPath(source) : resolve(dirname(mapFile), source);
  return relative(maps.root, absolute);
}

/**
 * Rewrites every bundle position in `trace` to `source.ts:line:column` (and the original function name,
 * when the map has one), leaving lines it cannot map as they are, marked with the reason.
 *
 * @example
 * ```ts
 * await mapStackTrace('    at run (file:///var/task/index.mjs:1:20345)', { buildDir: '.build', functionName: 's3', root: '.' });
 * // '    at run (functions/storage/s3/client.ts:118:13)'
 * ```
 */
export async function mapStackTrace(trace: string, maps: StackTraceMaps): Promise<string> {
  const cache = new Map<string, SourceMap | null>();
  const lines: string[] = [];
  for (const line of trace.split('\n')) {
    const replacements: { from: string; to: string; name?: string }[] = [];
    for (const match of line.matchAll(FRAME)) {
      const [text, base = '', path = '', lineText = '0', columnText = '0'] = match;
      const mapFile = `${builtFile(maps, base, path)}.map`;
      const map = await loadMap(mapFile, cache);
      if (map === null) {
        replacements.push({ from: text, to: `${text} [no map at ${relative(maps.root, mapFile)}]` });
        continue;
      }
      const origin = map.findOrigin(Number(lineText), Number(columnText));
      if (!('fileName' in origin)) {
        replacements.push({ from: text, to: `${text} [not in the map]` });
        continue;
      }
      const to = `${sourcePath(maps, mapFile, origin.fileName)}:${origin.lineNumber}:${origin.columnNumber}`;
      replacements.push(origin.name ? { from: text, to, name: origin.name } : { from: text, to });
    }
    let mapped = line;
    for (const { from, to, name } of replacements) {
      mapped = mapped.replace(from, to);
      // `at <minified name> (` becomes `at <original name> (` when the map knows it.
      if (name !== undefined)
        mapped = mapped.replace(/^(\s*at\s+(?:async\s+)?)[\w$.]+(?=\s+\()/, `$1${name}`);
    }
    lines.push(mapped);
  }
  return lines.join('\n');
}
