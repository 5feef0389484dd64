/**
 * Vitest setup: the structured log lines the code under test writes (the Powertools logger's JSON, the
 * core's invocation lines) are held back instead of landing between Vitest's own output, and printed
 * only under a test that fails, where they help. `CIRCLE_TEST_LOGS=1` shows them all.
 *
 * Tests that assert on logs still see every line: `captureLogs()` replaces `process.stdout.write` on top
 * of this filter, so it receives the lines first (and hands them here only with `passthrough`). The level
 * is left alone on purpose: lowering it would hide the lines from those tests too.
 */
import { beforeEach } from 'vitest';
import { linesThroughStdoutStream } from '../../layers/core/src/observability.ts';

type Write = typeof process.stdout.write;

const LEVELS = new Set(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL']);
const held: string[] = [];

/** A JSON log line: an object with a logger level. */
function isLogLine(line: string): boolean {
  if (!line.startsWith('{"')) return false;
  try {
    const value = JSON.parse(line) as { level?: unknown };
    return typeof value.level === 'string' && LEVELS.has(value.level);
  } catch {
    return false;
  }
}

function holdLogLines(original: Write): Write {
  return ((chunk: unknown, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    const lines = text.split(/(?<=\n)/);
    const kept = lines.filter((line) => {
      if (!isLogLine(line.trimEnd())) return true;
      held.push(line.endsWith('\n') ? line : `${line}\n`);
      return false;
    });
    if (kept.length === lines.length)
      return (original as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest);
    const callback = rest.find((argument): argument is () => void => typeof argument === 'function');
    if (kept.length > 0) return original(kept.join(''), callback);
    if (callback !== undefined) process.nextTick(callback);
    return true;
  }) as Write;
}

// The core writes its own lines straight to file descriptor 1 (observability.ts); in tests they go through
// process.stdout, so this filter and the tests that replace its write see them.
linesThroughStdoutStream();

if (process.env['CIRCLE_TEST_LOGS'] !== '1') {
  const stderr = process.stderr.write.bind(process.stderr);
  process.stdout.write = holdLogLines(process.stdout.write.bind(process.stdout));
  process.stderr.write = holdLogLines(stderr);
  beforeEach((context) => {
    held.length = 0;
    context.onTestFailed(() => {
      if (held.length > 0) stderr(`--- log lines written during this test ---\n${held.join('')}`);
    });
  });
}
