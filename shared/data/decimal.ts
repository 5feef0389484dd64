/**
 * Decimal text compared by value, for numbers that must not lose digits on their way through JSON (SQL
 * results and parameters, NDJSON loads, DynamoDB's 38-digit numbers): whether a double holds a decimal
 * exactly, or the decimal must travel as its text.
 */

/**
 * A decimal's value as `sign digits e exponent`, without leading or trailing zeros, so two texts of one
 * value compare equal (`1E+20` and `100000000000000000000`, `1.50` and `1.5`); undefined for a text that is
 * not a decimal.
 *
 * @example
 * ```ts
 * canonicalDecimal('1.50'); // '15e-1'
 * canonicalDecimal('1E+20') === canonicalDecimal('100000000000000000000'); // true
 * ```
 */
export function canonicalDecimal(text: string): string | undefined {
  const match = /^([+-]?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text.trim());
  if (match === null || `${match[2] ?? ''}${match[3] ?? ''}` === '') return undefined;
  const fraction = match[3] ?? '';
  let digits = `${match[2] ?? ''}${fraction}`.replace(/^0+/, '');
  if (digits === '') return '0';
  let exponent = Number(match[4] ?? '0') - fraction.length;
  const trimmed = digits.replace(/0+$/, '');
  exponent += digits.length - trimmed.length;
  digits = trimmed;
  return `${match[1] === '-' ? '-' : ''}${digits}e${exponent}`;
}

/**
 * Whether the double `value` is exactly the decimal written `text` (`9007199254740993` is not: it parses
 * to 9007199254740992).
 *
 * @example
 * ```ts
 * holdsExactly(Number('0.1'), '0.1'); // true
 * holdsExactly(Number('9007199254740993'), '9007199254740993'); // false
 * ```
 */
export function holdsExactly(value: number, text: string): boolean {
  return Number.isFinite(value) && canonicalDecimal(String(value)) === canonicalDecimal(text);
}
