import { ValidationError } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, pageOf, parseLinkHeader } from './pagination.ts';

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

describe('Function: parseLinkHeader', () => {
  it('reads next and last among GitHub links, ignoring the others', () => {
    // Prepare
    const header =
      '<https://api.github.com/repositories/1/issues?page=1>; rel="prev", ' +
      '<https://api.github.com/repositories/1/issues?page=3>; rel="next", ' +
      '<https://api.github.com/repositories/1/issues?page=9>; rel="last"';
    // Act
    const links = parseLinkHeader(header);
    // Assess
    expect(pageOf(links.next)).toBe(3);
    expect(pageOf(links.last)).toBe(9);
  });

  it('ignores links that are not URLs and tolerates a missing header', () => {
    // Act & Assess
    expect(parseLinkHeader('<not a url>; rel="next"')).toEqual({});
    expect(parseLinkHeader(undefined)).toEqual({});
    expect(pageOf(new URL('https://x.test/?page=zero'))).toBeUndefined();
  });
});

describe('Function: decodeCursor', () => {
  it('round-trips the query of a next link, keeping only issue listing parameters', () => {
    // Prepare
    const cursor = encodeCursor(
      new URL('https://x.test/issues?state=all&page=2&per_page=5&access_token=nope'),
    );
    // Act
    const query = decodeCursor(cursor);
    // Assess
    expect(query).toEqual({ state: 'all', page: '2', per_page: '5' });
  });

  it.each([
    ['not base64 JSON', 'not-a-cursor'],
    ['an array', encode(['page', '2'])],
    ['an unknown key', encode({ page: '2', url: 'https://evil.test' })],
    ['a non-string value', encode({ page: 2 })],
    ['no page', encode({ state: 'open' })],
  ])('throws ValidationError for %s', (_, cursor) => {
    // Act & Assess
    expect(() => decodeCursor(cursor)).toThrow(ValidationError);
  });
});
