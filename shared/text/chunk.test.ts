import { describe, expect, it } from 'vitest';
import { chunkText, type TextChunk } from './chunk.ts';

/** The text the chunks cover, each overlap counted once (code points, as the chunker counts). */
function rebuild(chunks: TextChunk[]): string {
  let out: string[] = [];
  for (const chunk of chunks) out = [...out.slice(0, chunk.start), ...Array.from(chunk.text)];
  return out.join('');
}

const PROSE = Array.from({ length: 60 }, (_, i) => `Sentence ${i} talks about topic ${i % 7}.`).join(' ');

describe('chunkText', () => {
  it('keeps every chunk within size and covers the whole text, overlaps counted once', () => {
    // Act
    const chunks = chunkText(PROSE, { size: 200, overlap: 40 });

    // Assess
    expect(chunks.length).toBeGreaterThan(5);
    for (const chunk of chunks) {
      expect(Array.from(chunk.text).length).toBe(chunk.end - chunk.start);
      expect(chunk.end - chunk.start).toBeLessThanOrEqual(200);
    }
    expect(chunks.map((chunk) => chunk.index)).toEqual(chunks.map((_, index) => index));
    expect(chunks[0]?.start).toBe(0);
    expect(chunks.at(-1)?.end).toBe(PROSE.length);
    expect(rebuild(chunks)).toBe(PROSE);
  });

  it('repeats exactly `overlap` code points of a chunk at the start of the next', () => {
    // Act
    const chunks = chunkText(PROSE, { size: 120, overlap: 30 });

    // Assess
    for (const [previous, next] of chunks.slice(1).map((chunk, i) => [chunks[i], chunk] as const)) {
      expect(next.start).toBe((previous?.end ?? 0) - 30);
      expect(next.text.startsWith((previous?.text ?? '').slice(-30))).toBe(true);
    }
  });

  it('ends a chunk at whitespace near its window end, and cuts a word only when there is none', () => {
    // Act
    const words = chunkText('alpha beta gamma delta epsilon', { size: 12, overlap: 0 });
    const solid = chunkText('abcdefghijklmnopqrstuvwxyz', { size: 10, overlap: 2 });

    // Assess
    expect(words.map((chunk) => chunk.text)).toEqual(['alpha beta ', 'gamma delta ', 'epsilon']);
    expect(solid.map((chunk) => chunk.text)).toEqual(['abcdefghij', 'ijklmnopqr', 'qrstuvwxyz']);
  });

  it('counts code points and never splits a surrogate pair, a combining mark or an emoji sequence', () => {
    // Prepare: 𝒜 and 😀 are two UTF-16 units each; e + U+0301 is one character; 👍🏽 has a modifier.
    const text = '𝒜😀𝒜😀𝒜😀 cafe\u0301 👍🏽👍🏽👍🏽 ok';

    // Act
    const chunks = chunkText(text, { size: 4, overlap: 1 });

    // Assess
    expect(chunks[0]).toMatchObject({ start: 0, end: 4, text: '𝒜😀𝒜😀' });
    for (const chunk of chunks) {
      expect(chunk.text).not.toMatch(
        /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/,
      );
      expect(chunk.text).not.toMatch(/^[\u0301\u{1F3FD}]/u);
      expect(chunk.text).not.toMatch(/e$/);
    }
    expect(rebuild(chunks)).toBe(text);
  });

  it('gives no chunks for an empty or whitespace-only text, and one for a short text', () => {
    expect(chunkText('', { size: 10, overlap: 2 })).toEqual([]);
    expect(chunkText(' \n\t ', { size: 10, overlap: 2 })).toEqual([]);
    expect(chunkText('short', { size: 10, overlap: 2 })).toEqual([
      { index: 0, start: 0, end: 5, text: 'short' },
    ]);
  });

  it('is deterministic: the same text and options give the same chunks', () => {
    expect(chunkText(PROSE, { size: 97, overlap: 13 })).toEqual(chunkText(PROSE, { size: 97, overlap: 13 }));
  });

  it('refuses a size below 1, a fraction, or an overlap outside 0 to size - 1, naming the option', () => {
    expect(() => chunkText('x', { size: 0, overlap: 0 })).toThrow(/^size must/);
    expect(() => chunkText('x', { size: 2.5, overlap: 0 })).toThrow(/^size must/);
    expect(() => chunkText('x', { size: 10, overlap: 10 })).toThrow(/^overlap must .*\(9\), not 10$/);
    expect(() => chunkText('x', { size: 10, overlap: -1 })).toThrow(/^overlap must/);
  });

  it('leaves out a window of whitespace only, numbering the chunks kept without gaps', () => {
    // Act
    const chunks = chunkText(`ab${' '.repeat(12)}cd`, { size: 4, overlap: 0 });

    // Assess
    expect(chunks).toEqual([
      { index: 0, start: 0, end: 4, text: 'ab  ' },
      { index: 1, start: 12, end: 16, text: '  cd' },
    ]);
  });
});
