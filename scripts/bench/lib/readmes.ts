/**
 * Each connector's README carries its own benchmark figures, between `<!-- generated:bench -->` markers,
 * written by a full `npm run bench` into the repository's bench folder: bundle sizes, init and init plus a
 * health call as CPU time over the ESM floor, and the ratio to a raw handler in the same rounds. A README
 * without the markers gets them at the end of its section on cold start, or in a new "Cold start" section
 * before "Version and changelog" (the heading leaves "size" out: a size section is where a bundle over
 * 300 KiB gives its reason, which the benchmark checks).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { table } from '../../docs/markdown.ts';
import { type BenchResults, type FunctionFigures, ISSUE_20_BASELINE } from './results.ts';

const START = '<!-- generated:bench -->';
const END = '<!-- /generated:bench -->';

const fixed = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const kib = (bytes: number): string => fixed(bytes / 1024);

/** How many cold starts a function's figures are the median of: the budget functions run in every round. */
function coldRunsOf(results: BenchResults, name: string): number {
  const cold = results.cold;
  const every = cold.function_runs ?? cold.runs;
  return Object.hasOwn(ISSUE_20_BASELINE.functions_ms, name) ? (cold.budget_function_runs ?? every) : every;
}

/**
 * The figures block of one function (without the markers).
 *
 * @example
 * ```ts
 * benchBlock(results, 's3', '../../../bench/RESULTS.md');
 * ```
 */
export function benchBlock(results: BenchResults, name: string, resultsLink: string): string {
  const f = results.functions[name] as FunctionFigures | undefined;
  if (f === undefined) return `Not measured by the last full run (${results.date.slice(0, 10)}).`;
  const raw = results.cold.variants['raw-http'];
  return [
    `Measured by the last full \`npm run bench\` (${results.date.slice(0, 10)}, ` +
      `[bench/RESULTS.md](${resultsLink}#functions)): CPU time over an ESM \`node\` floor, median of ` +
      `${coldRunsOf(results, name)} cold starts, against a raw handler's ` +
      `${fixed(raw?.cpu_over_floor_ms ?? Number.NaN)} ms in the same rounds.`,
    '',
    // Aligned as the docs' tables are, so the README stays as Biome formats Markdown.
    table(
      [
        'JS KiB',
        'loaded at init KiB',
        'zip KiB',
        'init ms',
        'init + health ms',
        'init / raw',
        'init + health / raw',
      ],
      [
        [
          kib(f.js_bytes),
          kib(f.init_js_bytes),
          kib(f.zip_bytes),
          fixed(f.cpu_init_over_floor_ms),
          fixed(f.cpu_health_over_floor_ms),
          fixed(f.init_vs_raw_cpu, 2),
          fixed(f.health_vs_raw_cpu, 2),
        ],
      ],
    ),
  ].join('\n');
}

/**
 * The README text with the block in place: replaced between existing markers, else inserted.
 *
 * @example
 * ```ts
 * withBenchBlock('# S3\n\n## Version and changelog\n', 'figures'); // a "## Cold start" section before it
 * ```
 */
export function withBenchBlock(text: string, block: string): string {
  const section = `${START}\n${block}\n${END}`;
  const from = text.indexOf(START);
  const to = text.indexOf(END);
  if (from >= 0 && to > from) return `${text.slice(0, from)}${section}${text.slice(to + END.length)}`;
  const lines = text.split('\n');
  const heading = lines.findIndex((line) => /^## .*cold start/i.test(line));
  if (heading >= 0) {
    let next = lines.findIndex((line, index) => index > heading && /^## /.test(line));
    if (next < 0) next = lines.length;
    let end = next;
    while (end > heading + 1 && (lines[end - 1] ?? '').trim() === '') end -= 1;
    lines.splice(end, 0, '', section);
    return lines.join('\n');
  }
  const version = lines.findIndex((line) => /^## Version and changelog/.test(line));
  const at = version >= 0 ? version : lines.length;
  lines.splice(at, 0, '## Cold start', '', section, '');
  return lines.join('\n');
}

/**
 * Writes every measured function's block into its README; returns the files it changed.
 *
 * @example
 * ```ts
 * await writeFunctionReadmes('/repo', results, [{ name: 's3', dir: '/repo/functions/storage/s3' }]);
 * ```
 */
export async function writeFunctionReadmes(
  root: string,
  results: BenchResults,
  functions: readonly { readonly name: string; readonly dir: string }[],
): Promise<string[]> {
  const changed: string[] = [];
  for (const fn of functions) {
    const file = join(fn.dir, 'README.md');
    const text = await readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const link = relative(fn.dir, join(root, 'bench', 'RESULTS.md'))
      .split('\\')
      .join('/');
    const next = withBenchBlock(text, benchBlock(results, fn.name, link));
    if (next !== text) {
      await writeFile(file, next);
      changed.push(file);
    }
  }
  return changed;
}
