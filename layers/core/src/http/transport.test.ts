import { describe, expect, it } from 'vitest';
import { decodeBody } from './transport.ts';

const raw = (body: string, contentType?: string) => ({
  status: 200,
  headers: contentType === undefined ? {} : { 'content-type': contentType },
  body: Buffer.from(body),
});

describe('Function: decodeBody', () => {
  it.each([
    'application/json',
    'application/json; charset=utf-8',
    'application/problem+json',
    'application/vnd.github+json',
    'Application/JSON',
  ])('parses JSON for content-type %s', (contentType) => {
    // Act
    const decoded = decodeBody(raw('{"a":[1,2]}', contentType), 'GET');

    // Assess
    expect(decoded).toEqual({ body: { a: [1, 2] }, malformed: false });
  });

  it('returns text for other content types', () => {
    // Act & Assess
    expect(decodeBody(raw('{"a":1}', 'text/plain'), 'GET').body).toBe('{"a":1}');
    expect(decodeBody(raw('<x/>', 'application/jsonp-ish'), 'GET').body).toBe('<x/>');
    expect(decodeBody(raw('hi'), 'GET').body).toBe('hi');
  });

  it('returns undefined for an empty body and for HEAD', () => {
    // Act & Assess
    expect(decodeBody(raw('', 'application/json'), 'GET').body).toBeUndefined();
    expect(decodeBody(raw('{"a":1}', 'application/json'), 'HEAD').body).toBeUndefined();
  });

  it('flags a JSON body that does not parse and keeps its text', () => {
    // Act
    const decoded = decodeBody(raw('{"a":', 'application/json'), 'GET');

    // Assess
    expect(decoded).toEqual({ body: '{"a":', malformed: true });
  });

  it('removes __proto__ and constructor keys instead of letting them pollute prototypes', () => {
    // Act
    const decoded = decodeBody(
      raw('{"a":1,"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}', 'application/json'),
      'GET',
    );

    // Assess
    const body = decoded.body as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['a']);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.getPrototypeOf(body)).toBe(Object.prototype);
  });
});
