import { describe, expect, it } from 'vitest';
import {
  AuthError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '../errors.ts';
import type { HttpResponse } from '../http/types.ts';
import { type ErrorRow, type ErrorTable, fieldAt, operationOf, tableFailure } from './errors.ts';

const ROWS: Record<string, ErrorRow> = {
  bad_arg: { kind: 'validation', meaning: 'an argument is invalid' },
  bad_token: { kind: 'auth', meaning: 'the token is not valid' },
  no_scope: { kind: 'forbidden', meaning: 'the token lacks a scope' },
  missing: { kind: 'not-found', meaning: 'no such thing' },
  taken: { kind: 'conflict', meaning: 'the name is taken' },
  slow_down: { kind: 'rate-limited', meaning: 'too many calls' },
  down: { kind: 'unavailable', meaning: 'the service failed' },
  odd: { kind: 'unexpected', meaning: 'the service answered oddly' },
};
const CLASSES = {
  validation: ValidationError,
  auth: AuthError,
  forbidden: ForbiddenError,
  'not-found': NotFoundError,
  conflict: ConflictError,
  'rate-limited': RateLimitedError,
  unavailable: UnavailableError,
  unexpected: UnexpectedResponseError,
};
const context = { provider: 'Acme' };

function response(status: number, body: unknown, headers: Record<string, string> = {}): HttpResponse {
  return { status, headers, body, url: 'https://api.acme.test/v1/things.create' };
}

describe('Function: operationOf', () => {
  it.each([
    ['https://slack.com/api/chat.postMessage', 'chat.postMessage'],
    ['https://api.acme.test/v1/things?page=2', 'things'],
    ['/relative/path', 'path'],
    ['https://api.acme.test/', 'call'],
    ['https://api.acme.test/%3Cscript%3E', 'call'],
    ['http://[::1', 'call'],
  ])('names %s %s', (url, name) => {
    // Act & Assess
    expect(operationOf(url)).toBe(name);
  });
});

describe('Function: fieldAt', () => {
  it('reads own fields along a dotted path only', () => {
    // Act & Assess
    expect(fieldAt({ error: { code: 'x' } }, 'error.code')).toBe('x');
    expect(fieldAt({ error: 'flat' }, 'error.code')).toBeUndefined();
    expect(fieldAt({}, 'constructor')).toBeUndefined();
    expect(fieldAt([1], '0')).toBeUndefined();
  });
});

describe('Function: tableFailure', () => {
  describe('codeIn: ok-false (a 2xx that says it failed)', () => {
    const table: ErrorTable = {
      codeIn: 'ok-false',
      codeField: 'error',
      rows: ROWS,
      detailKeys: { code: 'acmeError', operation: 'method' },
      detailFields: ['needed', 'provided'],
      messageFields: ['needed'],
    };

    it('maps every row to the class its kind names, with meaning, call and code', () => {
      // Act
      const mismatches = Object.entries(ROWS).filter(([code, row]) => {
        const error = tableFailure(response(200, { ok: false, error: code }), table, context);
        return (
          !(error instanceof CLASSES[row.kind]) ||
          error.message !== `Acme things.create failed: ${row.meaning} (${code})` ||
          error.details?.['acmeError'] !== code ||
          error.details?.['method'] !== 'things.create'
        );
      });

      // Assess
      expect(mismatches).toEqual([]);
    });

    it('passes an ok answer and leaves 4xx/5xx to the status mapping', () => {
      // Act & Assess
      expect(tableFailure(response(200, { ok: true }), table, context)).toBeUndefined();
      expect(tableFailure(response(429, { ok: false, error: 'slow_down' }), table, context)).toBeUndefined();
    });

    it('copies short detail fields and appends the declared ones to the message', () => {
      // Act
      const error = tableFailure(
        response(200, { ok: false, error: 'no_scope', needed: 'things:write', provided: 'a b <c>' }),
        table,
        context,
      );

      // Assess
      expect(error?.message).toBe(
        'Acme things.create failed: the token lacks a scope (no_scope); needed: things:write',
      );
      expect(error?.details).toEqual({
        provider: 'Acme',
        method: 'things.create',
        acmeError: 'no_scope',
        needed: 'things:write',
      });
    });

    it('carries the wait of a rate-limited code from the declared headers', () => {
      // Act
      const error = tableFailure(
        response(200, { ok: false, error: 'slow_down' }, { 'retry-after': '7' }),
        table,
        context,
      );

      // Assess
      expect(error).toMatchObject({ name: 'RateLimitedError', retryAfterMs: 7_000 });
    });

    it.each([
      ['an unknown code', 'brand_new', 'Acme things.create failed with error brand_new'],
      ['a prototype name', '__proto__', 'Acme things.create failed with error __proto__'],
      [
        'a code that is not a word',
        'Bearer xoxb-1 <b>',
        'Acme things.create failed with error unrecognised_error',
      ],
      ['a missing code', undefined, 'Acme things.create failed with error unrecognised_error'],
    ])('maps %s to UnexpectedResponseError without echoing anything else', (_title, code, message) => {
      // Act
      const error = tableFailure(response(200, { ok: false, error: code }), table, context);

      // Assess
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error?.message).toBe(message);
    });

    it.each([
      ['a text body', 'maintenance', /with a body that is not a JSON object/],
      ['an array', [1], /with a body that is not a JSON object/],
      ['no ok field', { things: [] }, /without the ok field/],
      ['a non-boolean ok', { ok: 'yes' }, /without the ok field/],
    ])('maps %s on a 2xx to UnexpectedResponseError', (_title, body, message) => {
      // Act
      const error = tableFailure(response(200, body), table, context);

      // Assess
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error?.message).toMatch(message);
      expect(error?.details).toEqual({ provider: 'Acme', method: 'things.create', status: 200 });
    });
  });

  describe('codeIn: body (a code in a failed answer)', () => {
    const table: ErrorTable = { codeIn: 'body', codeField: 'error.code', rows: ROWS };

    it('maps a known code of a 4xx answer, with the default detail keys', () => {
      // Act
      const error = tableFailure(response(402, { error: { code: 'taken' } }), table, context);

      // Assess
      expect(error).toBeInstanceOf(ConflictError);
      expect(error?.details).toEqual({
        provider: 'Acme',
        operation: 'things.create',
        providerError: 'taken',
      });
    });

    it('leaves unknown codes, missing codes and 2xx answers to the status mapping', () => {
      // Act & Assess
      expect(tableFailure(response(400, { error: { code: 'other' } }), table, context)).toBeUndefined();
      expect(tableFailure(response(400, { message: 'no code' }), table, context)).toBeUndefined();
      expect(tableFailure(response(200, { error: { code: 'taken' } }), table, context)).toBeUndefined();
      expect(tableFailure(response(400, { code: 'taken' }), { codeIn: 'body' }, context)).toBeUndefined();
    });

    it("looks an integer code up as its decimal text (Twilio's { code: 20404 }), never a fraction", () => {
      // Prepare
      const numeric: ErrorTable = {
        codeIn: 'body',
        rows: { '20404': { kind: 'not-found', meaning: 'gone' } },
      };

      // Act
      const error = tableFailure(response(404, { code: 20404, message: 'x' }), numeric, context);

      // Assess
      expect(error).toBeInstanceOf(NotFoundError);
      expect(error?.message).toBe('Acme things.create failed: gone (20404)');
      expect(tableFailure(response(404, { code: 20404.5 }), numeric, context)).toBeUndefined();
    });
  });

  describe('fields: the input field a refused request names', () => {
    const pointers = { max_tokens: '/maxTokens', temperature: '/temperature' };
    const byParam: ErrorTable = {
      codeIn: 'body',
      codeField: 'error.code',
      rows: ROWS,
      fields: { param: 'error.param', pointers },
    };
    const byPrefix: ErrorTable = {
      codeIn: 'body',
      codeField: 'error.type',
      rows: { invalid_request_error: { kind: 'validation', meaning: 'the request was refused' } },
      fields: { prefix: 'error.message', pointers },
    };

    it("points a 400 without a row at the input field its param names, with the provider's message", () => {
      // Act
      const error = tableFailure(
        response(400, {
          error: { message: 'max_tokens is too large: 9999999.', param: 'max_tokens', code: null },
        }),
        byParam,
        context,
      );

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect(error?.message).toBe('Acme rejected the request (HTTP 400): max_tokens is too large: 9999999.');
      expect((error as ValidationError).issues).toEqual([
        { pointer: '/maxTokens', message: 'max_tokens is too large: 9999999.' },
      ]);
      expect(error?.details).toMatchObject({ provider: 'Acme', status: 400, operation: 'things.create' });
      const nested = tableFailure(
        response(400, { error: { message: 'bad role', param: 'temperature.[1].x', code: null } }),
        byParam,
        context,
      );
      expect((nested as ValidationError).issues).toEqual([{ pointer: '/temperature', message: 'bad role' }]);
    });

    it('points a validation row at the field its message starts with, and appends the message', () => {
      // Act
      const error = tableFailure(
        response(400, {
          type: 'error',
          error: {
            type: 'invalid_request_error',
            message: 'temperature: Input should be less than or equal to 1',
          },
        }),
        byPrefix,
        context,
      );

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect(error?.message).toBe(
        'Acme things.create failed: the request was refused (invalid_request_error): temperature: Input should be less than or equal to 1',
      );
      expect((error as ValidationError).issues).toEqual([
        { pointer: '/temperature', message: 'temperature: Input should be less than or equal to 1' },
      ]);
    });

    it('gives no pointer for a field without one, and leaves other statuses alone', () => {
      // Act
      const unknown = tableFailure(
        response(400, { error: { message: 'logit_bias is odd', param: 'logit_bias', code: null } }),
        byParam,
        context,
      );
      const prefixed = tableFailure(
        response(400, { error: { type: 'invalid_request_error', message: 'system.0: bad' } }),
        byPrefix,
        context,
      );
      const notFound = tableFailure(
        response(404, { error: { message: 'x', param: 'temperature', code: null } }),
        byParam,
        context,
      );

      // Assess
      expect(unknown).toBeUndefined();
      expect((prefixed as ValidationError).issues).toEqual([]);
      expect(prefixed?.message).toContain('(invalid_request_error): system.0: bad');
      expect(notFound).toBeUndefined();
    });

    it('points a row that names its field, whatever the body says', () => {
      // Prepare
      const table: ErrorTable = {
        codeIn: 'ok-false',
        rows: {
          invalid_cursor: { kind: 'validation', meaning: 'the cursor is not valid', pointer: '/cursor' },
        },
      };

      // Act
      const error = tableFailure(response(200, { ok: false, error: 'invalid_cursor' }), table, context);

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).issues).toEqual([
        { pointer: '/cursor', message: 'the cursor is not valid' },
      ]);
    });
  });

  describe('codeIn: status', () => {
    it('maps a status row and leaves the others to the default mapping', () => {
      // Prepare
      const table: ErrorTable = {
        codeIn: 'status',
        rows: { '402': { kind: 'forbidden', meaning: 'the plan ran out' } },
      };

      // Act
      const error = tableFailure(response(402, {}), table, context);

      // Assess
      expect(error).toBeInstanceOf(ForbiddenError);
      expect(error?.message).toBe('Acme things.create failed: the plan ran out (402)');
      expect(tableFailure(response(404, {}), table, context)).toBeUndefined();
    });
  });

  it.each([101, 302, 304])('treats HTTP %i as unexpected, with or without a table', (status) => {
    // Act
    const error = tableFailure(response(status, ''), undefined, context);

    // Assess
    expect(error).toBeInstanceOf(UnexpectedResponseError);
    expect(error?.message).toBe(`Acme answered things.create with HTTP ${status}`);
  });

  it('leaves every final answer to the status mapping without a table', () => {
    // Act & Assess
    expect(tableFailure(response(500, {}), undefined, context)).toBeUndefined();
    expect(tableFailure(response(200, {}), undefined, context)).toBeUndefined();
  });
});
