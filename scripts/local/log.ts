/**
 * The stack's log: its own lines and every function's output, pretty in a terminal and JSON lines
 * otherwise (`CIRCLE_LOG_FORMAT=pretty|json` forces one).
 */

type Level = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

/** Where the stack writes what it and its functions say. */
export interface StackLog {
  readonly pretty: boolean;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** One line a function wrote on stdout or stderr (Powertools JSON or plain text). */
  functionLine(fn: string, line: string, stream: 'stdout' | 'stderr'): void;
  /** Text printed as is (the start-up table). */
  raw(text: string): void;
}

const COLORS: Record<Level, string> = {
  DEBUG: '\u001b[90m',
  INFO: '\u001b[36m',
  WARN: '\u001b[33m',
  ERROR: '\u001b[31m',
};
const RESET = '\u001b[0m';
const DIM = '\u001b[2m';

/** Keys a Powertools line carries that the pretty form shows elsewhere or not at all. */
const HIDDEN_KEYS = new Set([
  'level',
  'message',
  'timestamp',
  'service',
  'sampling_rate',
  'xray_trace_id',
  'connectorVersion',
  'function_arn',
  'function_memory_size',
  'function_name',
  'function_request_id',
  'cold_start',
]);

function normaliseLevel(value: unknown): Level {
  const text = String(value ?? 'INFO').toUpperCase();
  if (text === 'WARNING') return 'WARN';
  if (text === 'DEBUG' || text === 'WARN' || text === 'ERROR') return text;
  if (text === 'CRITICAL' || text === 'FATAL') return 'ERROR';
  return 'INFO';
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  return JSON.stringify(value);
}

/** A JSON object line (Powertools), or undefined for plain text. */
function parseObject(line: string): Record<string, unknown> | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

function time(date: Date = new Date()): string {
  return date.toISOString().slice(11, 23);
}

/**
 * Creates the stack log writing to `write` (stdout by default).
 *
 * @example
 * ```ts
 * const log = createStackLog();
 * log.info('queue created', { queue: 's3-requests' });
 * ```
 */
export function createStackLog(
  options: { pretty?: boolean; color?: boolean; write?: (text: string) => void } = {},
): StackLog {
  const forced = process.env['CIRCLE_LOG_FORMAT'];
  const pretty =
    options.pretty ?? (forced === undefined ? process.stdout.isTTY === true : forced === 'pretty');
  const color = options.color ?? (pretty && process.stdout.isTTY === true && !process.env['NO_COLOR']);
  const write = options.write ?? ((text: string) => process.stdout.write(text));
  const paint = (code: string, text: string): string => (color ? `${code}${text}${RESET}` : text);

  const prettyLine = (
    source: string,
    level: Level,
    message: string,
    fields: Record<string, unknown>,
  ): void => {
    const extras = Object.entries(fields)
      .filter(([key, value]) => !HIDDEN_KEYS.has(key) && value !== undefined)
      .map(([key, value]) => `${paint(DIM, `${key}=`)}${formatValue(value)}`)
      .join(' ');
    const head = `${paint(DIM, time())} ${source.padEnd(10)} ${paint(COLORS[level], level.padEnd(5))}`;
    write(`${head} ${message}${extras ? ` ${extras}` : ''}\n`);
  };

  const stackLine = (level: Level, message: string, fields: Record<string, unknown> = {}): void => {
    if (pretty) prettyLine('stack', level, message, fields);
    else
      write(
        `${JSON.stringify({ level, message, timestamp: new Date().toISOString(), source: 'local-stack', ...fields })}\n`,
      );
  };

  return {
    pretty,
    info: (message, fields) => stackLine('INFO', message, fields),
    warn: (message, fields) => stackLine('WARN', message, fields),
    error: (message, fields) => stackLine('ERROR', message, fields),
    raw: (text) => write(text),
    functionLine: (fn, line, stream) => {
      if (line.trim() === '') return;
      const parsed = parseObject(line);
      if (!pretty) {
        const fallback = { level: stream === 'stderr' ? 'ERROR' : 'INFO', message: line, function: fn };
        write(
          `${JSON.stringify(parsed === undefined ? { ...fallback, timestamp: new Date().toISOString() } : { function: fn, ...parsed })}\n`,
        );
      } else if (parsed === undefined) {
        prettyLine(fn, stream === 'stderr' ? 'WARN' : 'INFO', line, {});
      } else if (parsed['_aws'] === undefined) {
        // Embedded metric lines (`_aws`) are noise in a terminal.
        prettyLine(fn, normaliseLevel(parsed['level']), String(parsed['message'] ?? ''), parsed);
      }
    },
  };
}
