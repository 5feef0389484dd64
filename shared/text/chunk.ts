/**
 * Splits a text into overlapping chunks for embedding (the `rag-ingest` workflow's chunker). One place for
 * it: every connector or tool that chunks text imports this module.
 *
 * Deterministic: the same text and options always give the same chunks (no locale, no ICU version: sizes
 * and offsets count Unicode code points, so a surrogate pair, an emoji, is never cut in half). A chunk ends
 * at the last whitespace in the final fifth of its window when there is one (words stay whole), else at the
 * window's end, moved back so that a combining mark, an emoji modifier, a variation selector or a zero-width
 * joiner sequence stays whole (unless one character is longer than a whole chunk). The next chunk starts `overlap` code points before the previous one's end
 * (always at least one code point further on, so the loop ends).
 */

/** One chunk: its position in the text (code points, end exclusive) and its text. */
export interface TextChunk {
  /** 0, 1, 2, ... in text order. */
  index: number;
  /** Offset of the first code point. */
  start: number;
  /** Offset after the last code point. */
  end: number;
  text: string;
}

export interface ChunkOptions {
  /** The most code points in one chunk (a whole number, at least 1). */
  size: number;
  /** Code points repeated from the end of a chunk at the start of the next (0 to size - 1). */
  overlap: number;
}

/** Code points that belong to the character before them: a cut must not fall just before one. */
const JOINS_PREVIOUS = /^(?:\p{M}|\p{Emoji_Modifier}|\u200D|[\uFE00-\uFE0F])$/u;

/**
 * Whether a cut at `at` would split a character: a joining code point there, or a zero-width joiner before.
 * Only asked inside the text (`0 < at < points.length`). Shared with `truncate.ts`.
 */
export function splitsCharacter(points: readonly string[], at: number): boolean {
  return JOINS_PREVIOUS.test(points[at] as string) || points[at - 1] === '\u200D';
}

/**
 * The chunks of `text`; `[]` for an empty or whitespace-only text.
 *
 * @example
 * ```ts
 * chunkText('one two three four', { size: 9, overlap: 4 }).map((chunk) => chunk.text);
 * // ['one two ', 'two three', 'hree four']
 * ```
 */
export function chunkText(text: string, options: ChunkOptions): TextChunk[] {
  const { size, overlap } = options;
  if (!Number.isInteger(size) || size < 1) {
    throw new RangeError(`size must be a whole number >= 1, not ${size}`);
  }
  if (!Number.isInteger(overlap) || overlap < 0 || overlap >= size) {
    throw new RangeError(`overlap must be a whole number from 0 to size - 1 (${size - 1}), not ${overlap}`);
  }
  if (text.trim() === '') return [];
  const points = Array.from(text);
  const chunks: TextChunk[] = [];
  let start = 0;
  while (start < points.length) {
    const end = cutAt(points, start, Math.min(start + size, points.length));
    const slice = points.slice(start, end).join('');
    if (slice.trim() !== '') chunks.push({ index: chunks.length, start, end, text: slice });
    if (end >= points.length) break;
    start = Math.max(end - overlap, start + 1);
    while (start < end && splitsCharacter(points, start)) start += 1;
  }
  return chunks;
}

/** Where a chunk starting at `start` ends, given its window's end `limit`. */
function cutAt(points: readonly string[], start: number, limit: number): number {
  if (limit >= points.length) return points.length;
  const floor = start + Math.max(1, Math.floor(((limit - start) * 4) / 5));
  for (let cut = limit; cut > floor; cut -= 1) {
    if (/\s/u.test(points[cut - 1] as string)) return cut;
  }
  let cut = limit;
  while (cut > start + 1 && splitsCharacter(points, cut)) cut -= 1;
  return cut;
}
