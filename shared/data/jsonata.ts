/**
 * Record transforms declared as data: a JSONata expression (https://docs.jsonata.org) compiled once and
 * evaluated per record within limits. JSONata 2.2's own guardrails bound every evaluation (the `timeout`,
 * `stack` and `sequence` options of `jsonata(expression, options)`: errors D1012, D1011 and D2015, checked
 * at every step of the evaluator), and the answer's JSON size is measured before it is kept. JSONata has no
 * access to the process, the network or the file system; a caller's expression can only read the record and
 * the bindings it is given.
 */
import { ValidationError } from '@circle-core/core';
import jsonata from 'jsonata';

/** Limits of one evaluation. */
export interface ExpressionLimits {
  /** Wall-clock milliseconds one evaluation may take (JSONata's `timeout`, D1012). */
  timeoutMs: number;
  /** Nesting depth of the evaluator, i.e. recursion (JSONata's `stack`, D1011). */
  maxDepth: number;
  /** Longest sequence an evaluation may build (JSONata's `sequence`, D2015). */
  maxSequence: number;
  /** Largest answer of one evaluation, as JSON bytes. */
  maxResultBytes: number;
}

/** Why one evaluation gave no usable answer (the record is rejected; the others go on). */
export class EvaluationError extends Error {
  /** JSONata's error code (`T2002`, `D1012`, ...) or `result_too_large` / `result_not_json`. */
  readonly code: string;
  /** Character offset in the expression the error points at, when JSONata gives one. */
  readonly position: number | undefined;
  constructor(code: string, message: string, position?: number) {
    super(message);
    this.name = 'EvaluationError';
    this.code = code;
    this.position = position;
  }
}

interface JsonataFailure {
  code?: unknown;
  position?: unknown;
  token?: unknown;
  message?: unknown;
}

const asFailure = (error: unknown): JsonataFailure =>
  typeof error === 'object' && error !== null ? (error as JsonataFailure) : {};

/** JSONata's message, with where it points: `T2002 at position 7: The right side of ...`. */
function describeFailure(failure: JsonataFailure): {
  code: string;
  position: number | undefined;
  text: string;
} {
  const code = typeof failure.code === 'string' ? failure.code : 'unknown';
  const position = typeof failure.position === 'number' ? failure.position : undefined;
  const message = typeof failure.message === 'string' ? failure.message : 'evaluation failed';
  const where = position === undefined ? '' : ` at position ${position}`;
  return { code, position, text: `${code}${where}: ${message}`.slice(0, 500) };
}

/** A compiled expression with its limits. */
export interface BoundedExpression {
  /** The expression text, as given. */
  readonly source: string;
  /**
   * Evaluates the expression on one value. Resolves to JSONata's answer (undefined when nothing matched),
   * or rejects with an {@link EvaluationError}. `timeoutMs` overrides the limit for this call (the time
   * left in the invocation may be shorter).
   */
  evaluate(input: unknown, bindings?: Record<string, unknown>, timeoutMs?: number): Promise<unknown>;
}

/**
 * Compiles a JSONata expression; a syntax error is a ValidationError that names the field and the
 * character position JSONata reports.
 *
 * @example
 * ```ts
 * const expression = compileExpression('{ "id": id, "name": $uppercase(name) }', limits, '/expression');
 * await expression.evaluate({ id: 1, name: 'ada' }); // { id: 1, name: 'ADA' }
 * ```
 */
export function compileExpression(
  source: string,
  limits: ExpressionLimits,
  pointer = '/expression',
): BoundedExpression {
  const compile = (timeoutMs: number): jsonata.Expression =>
    jsonata(source, { timeout: timeoutMs, stack: limits.maxDepth, sequence: limits.maxSequence });
  let compiled: jsonata.Expression;
  try {
    compiled = compile(limits.timeoutMs);
  } catch (error) {
    const failure = describeFailure(asFailure(error));
    throw new ValidationError(`Invalid JSONata expression: ${failure.text}`, [
      { pointer, message: `JSONata ${failure.text}` },
    ]);
  }
  const byTimeout = new Map<number, jsonata.Expression>([[limits.timeoutMs, compiled]]);
  return {
    source,
    async evaluate(input, bindings = {}, timeoutMs = limits.timeoutMs) {
      // The options are fixed at compile time: an invocation with less time left compiles a shorter one.
      const budget = Math.max(1, Math.min(limits.timeoutMs, Math.floor(timeoutMs)));
      let expression = byTimeout.get(budget);
      if (expression === undefined) {
        expression = compile(budget);
        if (byTimeout.size < 16) byTimeout.set(budget, expression);
      }
      let result: unknown;
      try {
        result = await expression.evaluate(input, bindings);
      } catch (error) {
        const failure = describeFailure(asFailure(error));
        throw new EvaluationError(failure.code, failure.text, failure.position);
      }
      return checkResult(result, limits.maxResultBytes);
    },
  };
}

/**
 * JSONata answers sequences as arrays with extra properties and functions as objects: what is kept is
 * plain JSON, at most `maxBytes` of it.
 */
function checkResult(result: unknown, maxBytes: number): unknown {
  if (result === undefined) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(result);
  } catch {
    text = undefined;
  }
  if (text === undefined) {
    throw new EvaluationError(
      'result_not_json',
      'result_not_json: the expression answered a value JSON cannot hold',
    );
  }
  const bytes = Buffer.byteLength(text);
  if (bytes > maxBytes) {
    throw new EvaluationError(
      'result_too_large',
      `result_too_large: the expression answered ${bytes} bytes of JSON, over the limit of ${maxBytes}`,
    );
  }
  return JSON.parse(text);
}
