import { describe, expect, it } from 'vitest';
import { canonicalDecimal, holdsExactly } from './decimal.ts';

describe('Function: canonicalDecimal', () => {
  it('writes one text per value, and nothing for a text that is not a decimal', () => {
    expect(canonicalDecimal('1E+20')).toBe(canonicalDecimal('100000000000000000000'));
    expect(['1.50', '-0.0', '+007', '.5', '1e-3', ' 2 '].map(canonicalDecimal)).toEqual([
      '15e-1',
      '0',
      '7e0',
      '5e-1',
      '1e-3',
      '2e0',
    ]);
    expect(['', '.', 'e5', '1.2.3', 'NaN', 'Infinity', '0x10'].map(canonicalDecimal)).toEqual(
      Array(7).fill(undefined),
    );
  });
});

describe('Function: holdsExactly', () => {
  it('tells a double that is the decimal from one that rounded it', () => {
    expect(holdsExactly(Number('0.1'), '0.1')).toBe(true);
    expect(holdsExactly(1e21, '1000000000000000000000')).toBe(true);
    expect(holdsExactly(Number('9007199254740993'), '9007199254740993')).toBe(false);
    expect(holdsExactly(Number('0.12345678901234567890'), '0.12345678901234567890')).toBe(false);
    expect(holdsExactly(Number('1e400'), '1e400')).toBe(false);
  });
});
