/**
 * Faults a test (or a sandbox user) injects per route: the failures every connector must survive, named
 * by the kit and shaped by the provider's dialect, plus the ones no dialect shapes (slow, hanging,
 * dropped, malformed, wrong-shaped and oversized answers).
 */
import type { Answer, ErrorKind } from './answers.ts';
import type { FakeRequest } from './requests.ts';

/** What a fault does to the answer. */
export type Fault =
  /** The provider's answer for this error kind (from the dialect), instead of the route's. */
  | { kind: Exclude<ErrorKind, 'throttled' | 'server-error'> }
  /** The dialect's throttled answer with `retry-after: <seconds>`; status 429 unless told. */
  | { kind: 'throttled'; retryAfterSeconds: number; status?: number }
  /** The dialect's server error; status 500 unless told (use `times` for "n failures, then success"). */
  | { kind: 'server-error'; status?: number }
  /** The route's own answer, `delayMs` later. */
  | { kind: 'slow'; delayMs: number }
  /** No answer at all: the connection stays open until the client gives up or the fake closes. */
  | { kind: 'hang' }
  /** The connection is destroyed without an answer (a reset). */
  | { kind: 'drop' }
  /** The route runs (side effects included), then its JSON answer is cut short: not parseable. */
  | { kind: 'malformed' }
  /** Valid JSON of the wrong shape: `json` when given, else an object answer wrapped in an array and an array in an object. */
  | { kind: 'wrong-shape'; json?: unknown }
  /**
   * The route's answer padded with JSON whitespace (still valid, same shape) to `bytes`; `chunked` sends it
   * without `content-length`, so only counting the bytes read finds out.
   */
  | { kind: 'oversized'; bytes: number; chunked?: boolean }
  /** Exactly this answer, instead of the route's. */
  | { kind: 'answer'; answer: Answer };

/** Which requests a fault applies to, and how often. */
export interface FaultTarget {
  /** A route name; `'*'` (default) for any request. */
  route?: string;
  /** Only requests for which this holds. */
  when?: (request: FakeRequest) => boolean;
  /** How many matching requests it answers; default 1 (`Infinity` for every one). */
  times?: number;
  /** Wait this long before answering (whatever the fault answers). */
  delayMs?: number;
  /** Higher goes first; equal priorities in the order injected. Default 0. */
  priority?: number;
}

interface Entry {
  fault: Fault;
  target: FaultTarget;
  left: number;
  order: number;
}

/** Pending faults, taken by the requests they match. */
export class FaultQueue {
  #entries: Entry[] = [];
  #order = 0;

  add(fault: Fault, target: FaultTarget = {}): void {
    this.#entries.push({ fault, target, left: target.times ?? 1, order: this.#order++ });
    this.#entries.sort((a, b) => (b.target.priority ?? 0) - (a.target.priority ?? 0) || a.order - b.order);
  }

  clear(): void {
    this.#entries = [];
  }

  /** The first fault matching `request`, counted down (and dropped once used up). */
  take(request: FakeRequest): { fault: Fault; delayMs: number } | undefined {
    const index = this.#entries.findIndex(
      ({ target }) =>
        (target.route === undefined || target.route === '*' || target.route === request.route) &&
        (target.when?.(request) ?? true),
    );
    const entry = this.#entries[index];
    if (entry === undefined) return undefined;
    entry.left -= 1;
    if (entry.left <= 0) this.#entries.splice(index, 1);
    return { fault: entry.fault, delayMs: entry.target.delayMs ?? 0 };
  }
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** The bytes an answer sends, and its content type (undefined for an empty answer). */
export function payloadOf(answer: Answer): { bytes: Buffer | undefined; contentType: string | undefined } {
  if (answer.body !== undefined) {
    return {
      bytes: Buffer.from(answer.body),
      contentType: answer.contentType ?? 'text/plain; charset=utf-8',
    };
  }
  if (answer.json !== undefined) {
    return { bytes: Buffer.from(JSON.stringify(answer.json)), contentType: answer.contentType ?? JSON_TYPE };
  }
  return { bytes: undefined, contentType: answer.contentType };
}

/** The answer cut short so that it no longer parses as JSON (a lone `{` when there is nothing to cut). */
export function malformed(answer: Answer): Answer {
  const text = payloadOf(answer).bytes?.toString('utf8') ?? '';
  let cut = text.slice(0, Math.floor(text.length / 2));
  try {
    JSON.parse(cut);
    cut = `${cut}{`;
  } catch {
    // Not parseable: what the fault is for.
  }
  return { status: answer.status, headers: answer.headers ?? {}, body: cut, contentType: JSON_TYPE };
}

/** Valid JSON, wrong shape: `replacement`, or the answer's JSON turned inside out. */
export function wrongShape(answer: Answer, replacement: unknown): Answer {
  const value = answer.json;
  const shape =
    replacement !== undefined ? replacement : Array.isArray(value) ? { items: value } : [value ?? null];
  return { status: answer.status, headers: answer.headers ?? {}, json: shape };
}
