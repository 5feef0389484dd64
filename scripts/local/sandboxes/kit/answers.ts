/**
 * What a fake answers, and the error kinds whose bodies each provider declares in its own dialect (Slack's
 * `{ ok: false, error }` with HTTP 200, GitHub's `{ message, documentation_url }` with a status): the kit
 * only knows the kinds, never a provider's shape.
 */
import type { FakeRequest } from './requests.ts';

/** One HTTP answer. */
export interface Answer {
  status: number;
  headers?: Record<string, string>;
  /** Sent as JSON (`application/json; charset=utf-8`). */
  json?: unknown;
  /** Sent as is (wins over `json`), with `contentType` (default `text/plain; charset=utf-8`). */
  body?: string | Buffer;
  contentType?: string;
  /**
   * Sent piece by piece as produced (chunked, each written at once, waiting for the client to drain), with
   * `contentType`: a streamed answer such as Server-Sent Events. Wins over `body` and `json`.
   */
  chunks?: AsyncIterable<string | Buffer>;
}

/** The failures a connector must survive, as the kit names them; a dialect gives each its provider shape. */
export type ErrorKind =
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'throttled'
  | 'server-error';

/** What a dialect knows when it renders an error kind. */
export interface ErrorDetail {
  /** The status the fault asked for (`server-error`, `throttled`), else the kind's usual one. */
  status: number;
  /** For `throttled`: the seconds the answer asks to wait (the kit sets `retry-after` itself). */
  retryAfterSeconds?: number;
  request: FakeRequest;
}

/** A provider's error bodies: how each error kind looks in its API. */
export type ErrorDialect = (kind: ErrorKind, detail: ErrorDetail) => Answer;

/** The status an error kind has unless a fault or the dialect says otherwise. */
export const USUAL_STATUS: Readonly<Record<ErrorKind, number>> = {
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  throttled: 429,
  'server-error': 500,
};

/**
 * A provider-neutral dialect, `{ error: <kind>, message }` with the kind's usual status: the default for a
 * fake that declares none (and the kit's own tests).
 *
 * @example
 * ```ts
 * plainErrors('not-found', { status: 404, request }); // { status: 404, json: { error: 'not-found', ... } }
 * ```
 */
export const plainErrors: ErrorDialect = (kind, detail) => ({
  status: detail.status,
  json: { error: kind, message: `${kind} (${detail.status})` },
});

/** Thrown by a route handler (or a hook) to answer at once; the kit sends `answer`. */
export class AnswerError extends Error {
  readonly answer: Answer;
  constructor(answer: Answer) {
    super(`answer ${answer.status}`);
    this.name = 'AnswerError';
    this.answer = answer;
  }
}

/**
 * Stops a handler with this answer.
 *
 * @example
 * ```ts
 * if (repo === undefined) refuse({ status: 404, json: { message: 'Not Found' } });
 * ```
 */
export function refuse(answer: Answer): never {
  throw new AnswerError(answer);
}

/**
 * A JSON answer.
 *
 * @example
 * ```ts
 * return json(201, issue, { location: issue.url });
 * ```
 */
export function json(status: number, value: unknown, headers?: Record<string, string>): Answer {
  return headers === undefined ? { status, json: value } : { status, json: value, headers };
}
