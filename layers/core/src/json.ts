import secureJson from 'secure-json-parse';
import { ValidationError } from './errors.ts';

/** Deeper documents are refused: no real input needs them, and walking them can exhaust the stack. */
export const MAX_JSON_DEPTH = 256;
const MAX_DEPTH = MAX_JSON_DEPTH;

/** The deepest nesting of `[`/`{` outside strings; one pass, no allocation. Invalid JSON is left to the parser. */
function nestingDepth(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 92)
        i++; // backslash: skip the escaped character
      else if (code === 34) inString = false;
    } else if (code === 34) inString = true;
    else if (code === 123 || code === 91) {
      depth++;
      if (depth > deepest) deepest = depth;
    } else if (code === 125 || code === 93) depth--;
  }
  return deepest;
}

/**
 * Whether secure-json-parse would return `JSON.parse(text)` unchanged: its checks look for a key spelled
 * `__proto__` or `constructor`, literally or with `\u` escapes (the only JSON escape that can spell a
 * letter), and strip a leading byte order mark. A text with none of these needs no second scan; every
 * other text takes secure-json-parse's own path. Substring searches cost a fraction of its two regexes.
 */
function plainJson(text: string): boolean {
  return (
    text.charCodeAt(0) !== 0xfeff &&
    !text.includes('\\u') &&
    !text.includes('__proto__') &&
    !text.includes('constructor')
  );
}

/**
 * Parses untrusted JSON. Keys that could pollute prototypes (`__proto__`, `constructor.prototype`) are
 * refused rather than silently dropped, so a hostile body gets a clear 400 and nothing is polluted.
 *
 * @example
 * ```ts
 * const input = parseJson(event.body ?? '{}', 'request body');
 * ```
 */
export function parseJson(text: string, what: string): unknown {
  // Nesting deeper than MAX_DEPTH needs more than MAX_DEPTH brackets: a shorter text needs no scan.
  if (text.length > MAX_DEPTH && nestingDepth(text) > MAX_DEPTH) {
    throw new ValidationError(`The ${what} nests deeper than ${MAX_DEPTH} levels`);
  }
  try {
    return plainJson(text)
      ? JSON.parse(text)
      : secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const reason =
      error instanceof SyntaxError && /prototype|__proto__|constructor/i.test(error.message)
        ? 'contains a forbidden key (__proto__ or constructor.prototype)'
        : 'is not valid JSON';
    throw new ValidationError(`The ${what} ${reason}`, [], { cause: error });
  }
}

/**
 * Looks a name that came from input up in a table by own property only: a plain object would otherwise
 * answer `constructor`, `toString` or `__proto__` from `Object.prototype`.
 *
 * @example
 * ```ts
 * const operation = ownValue(operations, 'constructor'); // undefined
 * ```
 */
export function ownValue<T>(table: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}
