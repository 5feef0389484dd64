/**
 * Cuts text to a provider's length limit without breaking a character: one place for it, so every
 * connector that shortens text for a provider (an email subject, an error message it repeats) imports this
 * module instead of calling `String.prototype.slice`, which counts UTF-16 code units and can leave half of
 * a surrogate pair (an emoji) behind: a lone surrogate no UTF-8 encoder can write, which providers refuse
 * or turn into U+FFFD.
 *
 * Lengths count Unicode code points, as zod's `.max()` and JSON Schema's `maxLength` count them. A cut
 * never falls inside a surrogate pair, nor just before a combining mark, an emoji modifier, a variation
 * selector or inside a zero-width joiner sequence (the same rule as `chunk.ts`): the cut moves back to
 * before the whole character instead, so the result may be shorter than `max`.
 */
import { splitsCharacter } from './chunk.ts';

/** The length of `text` in code points (what zod's `.max()` and JSON Schema's `maxLength` count). */
export function codePointLength(text: string): number {
  let count = 0;
  for (const _point of text) count += 1;
  return count;
}

/**
 * `text` itself when it has at most `max` code points; else its start, cut before a whole character, and
 * `ellipsis` (counted in `max`), so the result has at most `max` code points and is well-formed Unicode
 * whenever `text` is.
 *
 * @example
 * ```ts
 * truncateText('Disk full 😀😀', 11, '…'); // 'Disk full …' (never half of the emoji)
 * truncateText('short', 78); // 'short'
 * ```
 */
export function truncateText(text: string, max: number, ellipsis = ''): string {
  if (!Number.isInteger(max) || max < 0) throw new RangeError(`max must be a whole number >= 0, not ${max}`);
  if (text.length <= max) return text;
  const points = Array.from(text);
  if (points.length <= max) return text;
  const room = max - codePointLength(ellipsis);
  if (room <= 0) return Array.from(ellipsis).slice(0, max).join('');
  let cut = room;
  while (cut > 0 && splitsCharacter(points, cut)) cut -= 1;
  return points.slice(0, cut).join('') + ellipsis;
}
