import { describe, expect, it } from 'vitest';
import { ValidationError } from './errors.ts';
import { parseJson } from './json.ts';

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
