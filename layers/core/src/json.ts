import secureJson from 'secure-json-parse';
import { ValidationError } from './errors.ts';

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
  try {
    return secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const reason =
      error instanceof SyntaxError && /prototype|__proto__|constructor/i.test(error.message)
        ? 'contains a forbidden key (__proto__ or constructor.prototype)'
        : 'is not valid JSON';
    throw new ValidationError(`The ${what} ${reason}`, [], { cause: error });
  }
}
