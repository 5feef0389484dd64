/**
 * Numbers on their way between JSON and the SQL engines, kept exact (PostgreSQL, MySQL/MariaDB, the
 * Data Transform connector's loads): a JSON number that a double cannot hold travels as its decimal text,
 * non-finite floats as their names (JSON has no NaN), and an integer parameter JSON has already rounded is
 * refused instead of being written rounded.
 */
import type { FieldIssue } from '@circle-core/core';
import { holdsExactly } from '#shared/data/decimal.ts';

/** Only a number with 16 or more digits, or an exponent of 3 digits, may not fit a double. */
const MAYBE_INEXACT = /\d{16}|[eE][+-]?\d{3}/;

function keepInexact(_key: string, value: unknown, context?: { source?: string }): unknown {
  if (typeof value !== 'number' || context?.source === undefined) return value;
  return holdsExactly(value, context.source) ? value : context.source;
}

/**
 * Parses JSON text whose numbers must not lose digits: a number a double cannot hold exactly (an integer
 * beyond 2^53, a decimal with more than 15 to 17 significant digits, 1e400) becomes its decimal text as
 * written; every other number stays a number.
 *
 * @example
 * ```ts
 * exactJsonParse('{"id": 9007199254740993, "qty": 2}'); // { id: '9007199254740993', qty: 2 }
 * ```
 */
export function exactJsonParse(text: string): unknown {
  return MAYBE_INEXACT.test(text) ? JSON.parse(text, keepInexact) : JSON.parse(text);
}

/**
 * {@link exactJsonParse} for text already parsed once (and checked) as `parsed`: parsed again only when it
 * may hold a number a double cannot.
 *
 * @example
 * ```ts
 * const record = exactNumbers(line, parseJson(line, 'line'));
 * ```
 */
export function exactNumbers(text: string, parsed: unknown): unknown {
  return MAYBE_INEXACT.test(text) ? JSON.parse(text, keepInexact) : parsed;
}

/**
 * A float the engine sent as text: a number when finite, else its name (`NaN`, `Infinity`, `-Infinity`),
 * which JSON has no number for (it would become null).
 *
 * @example
 * ```ts
 * floatValue('1.5'); // 1.5
 * floatValue('NaN'); // 'NaN'
 * ```
 */
export function floatValue(text: string): number | string {
  const value = Number(text);
  return Number.isFinite(value) ? value : text;
}

/**
 * Writes a 32-bit float (MySQL `FLOAT`, which the binary protocol sends as 4 bytes) as the shortest
 * decimal that is the same float, as the server prints it: `0.1`, not `0.10000000149011612`.
 *
 * @example
 * ```ts
 * shortestFloat32(Math.fround(0.1)); // 0.1
 * ```
 */
export function shortestFloat32(value: number): number {
  if (!Number.isFinite(value) || Math.fround(value) !== value) return value;
  for (let precision = 1; precision < 9; precision += 1) {
    const shorter = Number(value.toPrecision(precision));
    if (Math.fround(shorter) === value) return shorter;
  }
  return value;
}

const token = (key: string): string => key.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * Beyond ±2^64 no SQL integer column (BIGINT UNSIGNED tops out at 2^64 - 1) could take the value: a number
 * that large is a float (1e20, 6.02e23) and goes on as one.
 */
const INTEGER_COLUMN_LIMIT = 2 ** 64;

/** The first integer beyond ±(2^53 - 1), within ±2^64, in a parameter or cell (also inside arrays and objects). */
function roundedIntegerAt(value: unknown, pointer: string): string | undefined {
  if (typeof value === 'number') {
    const rounded =
      Number.isInteger(value) && !Number.isSafeInteger(value) && Math.abs(value) <= INTEGER_COLUMN_LIMIT;
    return rounded ? pointer : undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const entries = Array.isArray(value) ? value.entries() : Object.entries(value);
  for (const [key, item] of entries) {
    const found = roundedIntegerAt(item, `${pointer}/${token(String(key))}`);
    if (found !== undefined) return found;
  }
  return undefined;
}

/** Why an integer beyond 2^53 in a parameter is refused. */
export const ROUNDED_INTEGER =
  'is an integer beyond 2^53 (9007199254740991), which a JSON number cannot carry exactly (9007199254740993 arrives as 9007199254740992): pass it as a string';

/**
 * {@link ROUNDED_INTEGER} for a zod check, where the issue's path names the field: what the warehouse
 * connectors' `params` and the Data Transform connector's inline `records` answer.
 */
export const ROUNDED_WHOLE_NUMBER =
  'is an integer beyond 2^53 (9007199254740991), which a JSON number cannot carry exactly ' +
  '(9007199254740993 arrives as 9007199254740992): send it as its decimal text, a string such as "9007199254740993"';

/**
 * The issue of a value holding an integer beyond ±(2^53 - 1): such a JSON number was already rounded to a
 * double when the request was parsed, and writing it would store other digits than the caller sent.
 *
 * @example
 * ```ts
 * roundedIntegerIssue(9007199254740993, '/params/0'); // { pointer: '/params/0', message: '... pass it as a string' }
 * roundedIntegerIssue('9007199254740993', '/params/0'); // undefined
 * ```
 */
export function roundedIntegerIssue(value: unknown, pointer: string): FieldIssue | undefined {
  const found = roundedIntegerAt(value, pointer);
  return found === undefined
    ? undefined
    : { pointer: found, message: `The value at ${found} ${ROUNDED_INTEGER}` };
}
