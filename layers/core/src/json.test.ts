import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.ts';
import { MAX_JSON_DEPTH, parseJson } from './json.ts';

describe('Function: parseJson', () => {
  it('parses plain JSON', () => {
    expect(parseJson('{"a":[1,{"b":null}]}', 'body')).toEqual({ a: [1, { b: null }] });
  });

  it.each([['{"__proto__":{"polluted":1}}'], ['{"a":{"constructor":{"prototype":{"polluted":1}}}}']])(
    'refuses prototype pollution in %s without polluting',
    (text) => {
      expect(() => parseJson(text, 'request body')).toThrow(/forbidden key/);
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    },
  );

  it('names what was malformed', () => {
    expect(() => parseJson('{"a":', 'message body of m-1')).toThrow(ValidationError);
    expect(() => parseJson('{"a":', 'message body of m-1')).toThrow(
      'The message body of m-1 is not valid JSON',
    );
  });
});

describe('Function: parseJson (nesting)', () => {
  it('refuses documents nested deeper than the limit, counting only brackets outside strings', () => {
    const deep = `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`;
    const atLimit = `${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`;
    const bracketsInString = JSON.stringify({ text: `${'{['.repeat(1000)}\\"` });
    expect(() => parseJson(deep, 'request body')).toThrow(`nests deeper than ${MAX_JSON_DEPTH} levels`);
    expect(parseJson(atLimit, 'request body')).toBeInstanceOf(Array);
    expect(parseJson(bracketsInString, 'request body')).toMatchObject({ text: expect.any(String) });
  });
});
