import * as fc from 'fast-check';
import secureJson from 'secure-json-parse';
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

describe('Function: parseJson (fast path)', () => {
  /** What secure-json-parse alone answers (the path parseJson took for every text before its fast path). */
  const secure = (text: string): { value: unknown } | { error: string } => {
    try {
      return {
        value: secureJson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' }),
      };
    } catch (error) {
      return { error: (error as Error).message };
    }
  };
  const ours = (text: string): { value: unknown } | { error: string } => {
    try {
      return { value: parseJson(text, 'body') };
    } catch (error) {
      // The parser's own error (invalid JSON or a forbidden key) is the cause of the ValidationError.
      return { error: ((error as ValidationError).cause as Error | undefined)?.message ?? 'no cause' };
    }
  };
  // Keys that pollute or look like they might, spelled literally and with \u escapes, beside plain ones.
  const key = fc.oneof(
    fc.string(),
    fc.constantFrom(
      '__proto__',
      'constructor',
      'prototype',
      '\\u005f_proto__',
      'constructo\\u0072',
      '\\u0061',
    ),
  );
  const text = fc.oneof(
    fc.json(),
    fc.tuple(fc.array(fc.tuple(key, fc.json()), { maxLength: 4 }), fc.boolean()).map(([entries, bom]) => {
      const body = `{${entries.map(([k, v]) => `${JSON.stringify(k).replaceAll('\\\\u', '\\u')}:${v}`).join(',')}}`;
      return bom ? `\ufeff${body}` : body;
    }),
    fc.string(),
  );

  it('answers exactly what secure-json-parse answers, for any text', () => {
    fc.assert(
      fc.property(text, (candidate) => {
        expect(ours(candidate)).toEqual(secure(candidate));
      }),
      { numRuns: 2000 },
    );
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it.each([
    ['{"\\u005f_proto__":{"polluted":1}}'],
    ['{"a":{"constructo\\u0072":{"prototype":{"polluted":1}}}}'],
    ['\ufeff{"__proto__":{"polluted":1}}'],
  ])('refuses the escaped or prefixed spelling %s', (candidate) => {
    expect(() => parseJson(candidate, 'request body')).toThrow(/forbidden key/);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('strips a leading byte order mark as before', () => {
    expect(parseJson('\ufeff{"a":1}', 'body')).toEqual({ a: 1 });
  });
});
