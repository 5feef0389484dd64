import { linesThroughStdoutStream } from '../observability.ts';

/** Log lines written to stdout/stderr while capturing, parsed when they are JSON. */
export interface CapturedLogs {
  /** Every raw line. */
  readonly lines: string[];
  /** Lines that parsed as JSON objects. */
  records(): Record<string, unknown>[];
  /** The whole capture as one string, for "never contains the secret" checks. */
  text(): string;
  restore(): void;
}

/**
 * Captures everything written to stdout and stderr (Powertools logger and metrics write there). The core's
 * own lines (invocation, EMF) go through `process.stdout` from then on in this process, so they are seen too.
 *
 * @example
 * ```ts
 * const logs = captureLogs();
 * await handler(event, lambdaContext());
 * logs.restore();
 * expect(logs.text()).not.toContain(secretValue);
 * ```
 */
export function captureLogs(options: { passthrough?: boolean } = {}): CapturedLogs {
  const lines: string[] = [];
  linesThroughStdoutStream();
  const originals = {
    out: process.stdout.write.bind(process.stdout),
    err: process.stderr.write.bind(process.stderr),
  };
  const intercept =
    (original: typeof process.stdout.write) =>
    (chunk: unknown, ...rest: unknown[]): boolean => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
      lines.push(...text.split('\n').filter((line) => line.length > 0));
      return options.passthrough
        ? (original as (c: unknown, ...r: unknown[]) => boolean)(chunk, ...rest)
        : true;
    };
  process.stdout.write = intercept(originals.out) as typeof process.stdout.write;
  process.stderr.write = intercept(originals.err) as typeof process.stderr.write;
  return {
    lines,
    records: () =>
      lines.flatMap((line) => {
        try {
          const value: unknown = JSON.parse(line);
          return typeof value === 'object' && value !== null ? [value as Record<string, unknown>] : [];
        } catch {
          return [];
        }
      }),
    text: () => lines.join('\n'),
    restore: () => {
      process.stdout.write = originals.out;
      process.stderr.write = originals.err;
    },
  };
}
