import { describe, expect, it } from 'vitest';
import { codePointLength, truncateText } from './truncate.ts';

describe('truncateText', () => {
  it('returns text within the limit unchanged, counting code points (an emoji is one)', () => {
    // Act and assess
    expect(truncateText('short', 78)).toBe('short');
    expect(truncateText('😀'.repeat(78), 78)).toBe('😀'.repeat(78));
    expect(codePointLength('😀é日本')).toBe(4);
  });

  it('cuts ASCII at exactly max code points, the ellipsis included', () => {
    // Act
    const cut = truncateText('x'.repeat(100), 78, '…');

    // Assess
    expect(cut).toBe(`${'x'.repeat(77)}…`);
    expect(codePointLength(cut)).toBe(78);
  });

  it('never leaves half of a surrogate pair, whatever the offset of the emoji', () => {
    for (let lead = 0; lead < 4; lead += 1) {
      // Act
      const cut = truncateText(`${'a'.repeat(lead)}${'😀'.repeat(50)}`, 20, '…');

      // Assess
      expect(cut.isWellFormed()).toBe(true);
      expect(codePointLength(cut)).toBe(20);
      expect(cut.endsWith('😀…')).toBe(true);
    }
  });

  it('keeps a combining mark, a skin tone and a zero-width joiner sequence with their character', () => {
    // Prepare: e + combining acute; thumbs up + skin tone; family (man ZWJ woman ZWJ girl).
    const accent = `${'a'.repeat(9)}e\u0301z`;
    const tone = `${'a'.repeat(9)}👍🏽z`;
    const family = `${'a'.repeat(9)}👨\u200D👩\u200D👧z`;

    // Act and assess: the cut falls before the whole character, not inside it.
    expect(truncateText(accent, 11, '…')).toBe(`${'a'.repeat(9)}…`);
    expect(truncateText(tone, 11, '…')).toBe(`${'a'.repeat(9)}…`);
    expect(truncateText(family, 13, '…')).toBe(`${'a'.repeat(9)}…`);
    expect(truncateText(family, 20)).toBe(family);
  });

  it('refuses a negative or fractional limit, and gives only the ellipsis when nothing else fits', () => {
    // Act and assess
    expect(() => truncateText('abc', -1)).toThrow(RangeError);
    expect(() => truncateText('abc', 1.5)).toThrow(RangeError);
    expect(truncateText('abcdef', 1, '…')).toBe('…');
    expect(truncateText('abcdef', 0)).toBe('');
  });
});
