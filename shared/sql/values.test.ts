import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readNdjson } from '../data/formats.ts';
import { exactJsonParse, floatValue, roundedIntegerIssue, shortestFloat32 } from './values.ts';

describe('Function: exactJsonParse', () => {
  it('keeps a number a double cannot hold as its text, and every other number a number', () => {
    // Act
    const parsed = exactJsonParse(
      '{"id": 9007199254740993, "max": 9007199254740991, "ok": 1.10, "e": 1e21, "long": 0.12345678901234567890, ' +
        '"huge": 1e400, "neg": -18446744073709551615, "short": 0.1, "zero": -0.0, "list": [123456789012345678, 2]}',
    );
    // Assess
    expect(parsed).toEqual({
      id: '9007199254740993',
      max: 9007199254740991,
      ok: 1.1,
      e: 1e21,
      long: '0.12345678901234567890',
      huge: '1e400',
      neg: '-18446744073709551615',
      short: 0.1,
      zero: -0,
      list: ['123456789012345678', 2],
    });
  });
});

describe('Function: floatValue', () => {
  it('answers finite floats as numbers and NaN and the infinities by name', () => {
    expect(['1.5', '-0', '1e+300', 'NaN', 'Infinity', '-Infinity'].map(floatValue)).toEqual([
      1.5,
      -0,
      1e300,
      'NaN',
      'Infinity',
      '-Infinity',
    ]);
  });
});

describe('Function: shortestFloat32', () => {
  it('writes a 32-bit float as the shortest decimal that is the same float', () => {
    expect(
      [0.1, 1.1, 3.4028234663852886e38, 16777217, 1 / 3].map((value) => shortestFloat32(Math.fround(value))),
    ).toEqual([0.1, 1.1, 3.4028235e38, 16777216, 0.33333334]);
    expect(shortestFloat32(0.1)).toBe(0.1);
  });
});

describe('Function: roundedIntegerIssue', () => {
  it('names the first integer beyond 2^53, inside arrays and objects too, and lets exact values through', () => {
    expect(roundedIntegerIssue(2 ** 53, '/params/0')?.pointer).toBe('/params/0');
    expect(roundedIntegerIssue(2 ** 64, '/params/0')?.pointer).toBe('/params/0');
    // Beyond 2^64 no integer column could take it: a float such as 1e20 or 6.02e23 goes on
    expect(roundedIntegerIssue([1e20, -6.02e23, { x: 1e300 }], '/params/0')).toBeUndefined();
    expect(roundedIntegerIssue({ 'a/b': [1, -(2 ** 60)] }, '/rows/3')?.pointer).toBe('/rows/3/a~1b/1');
    expect(
      roundedIntegerIssue([2 ** 53 - 1, 1.5, 1e-300, '9007199254740993', null], '/params/0'),
    ).toBeUndefined();
  });
});

describe('Function: readNdjson with exactNumbers', () => {
  it('reads numbers a double cannot hold as their text only when asked', async () => {
    // Prepare
    const bytes = (): Readable => Readable.from([Buffer.from('{"id": 9007199254740993, "n": 1}\n')]);
    // Act
    const exact = [];
    for await (const item of readNdjson(bytes(), { exactNumbers: true })) exact.push(item);
    const plain = [];
    for await (const item of readNdjson(bytes())) plain.push(item);
    // Assess
    expect(exact).toEqual([{ index: 0, record: { id: '9007199254740993', n: 1 } }]);
    expect(plain).toEqual([{ index: 0, record: { id: 9007199254740992, n: 1 } }]);
  });
});
