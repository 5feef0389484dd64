/**
 * One record through a transform: read, checked against the input schema, mapped by the bounded JSONata
 * expression, each answer checked against the output schema. Any step that fails rejects the record with
 * its index and stage; the caller goes on with the next one.
 */
import type * as z from 'zod';
import type { ReadItem } from './formats.ts';
import { type BoundedExpression, EvaluationError } from './jsonata.ts';
import { checkRecord, type RecordProblem } from './record-schemas.ts';

/** Why a record was not kept. */
export interface RecordRejection {
  /** 0-based index of the input record. */
  index: number;
  /** `read`: unreadable; `input` / `output`: failed that schema; `expression`: the evaluation failed. */
  stage: 'read' | 'input' | 'expression' | 'output';
  message: string;
  problems?: RecordProblem[];
}

/** What became of one record: its output records (none when the expression answered nothing), or why not. */
export type RecordOutcome = { records: unknown[] } | { rejection: RecordRejection };

/** The parts of a transform; each schema is optional, and without an expression a record maps to itself. */
export interface RecordTransformParts {
  expression?: BoundedExpression | undefined;
  inputSchema?: z.ZodType | undefined;
  outputSchema?: z.ZodType | undefined;
  bindings?: Record<string, unknown> | undefined;
}

/**
 * Applies the parts to one read item within `timeoutMs` for its evaluation.
 *
 * @example
 * ```ts
 * const outcome = await applyTransform({ expression }, { index: 0, record: { id: 1 } }, 1_000);
 * if ('records' in outcome) for (const record of outcome.records) await writer.write(record);
 * ```
 */
export async function applyTransform(
  parts: RecordTransformParts,
  item: ReadItem,
  timeoutMs: number,
): Promise<RecordOutcome> {
  const input = checkInput(parts, item);
  if ('rejection' in input) return input;
  if (parts.expression === undefined) return checkOutput(parts, item.index, input.record);
  let result: unknown;
  try {
    result = await parts.expression.evaluate(input.record, parts.bindings, timeoutMs);
  } catch (error) {
    if (!(error instanceof EvaluationError)) throw error;
    return { rejection: { index: item.index, stage: 'expression', message: error.message } };
  }
  return checkOutput(parts, item.index, result);
}

/**
 * {@link applyTransform} without an expression, synchronously (no promise per record on a hot path):
 * the schemas' checks alone; the parts' expression, if any, is not evaluated.
 *
 * @example
 * ```ts
 * const outcome = applyChecks({ inputSchema }, { index: 0, record: { id: 1 } });
 * ```
 */
export function applyChecks(parts: RecordTransformParts, item: ReadItem): RecordOutcome {
  const input = checkInput(parts, item);
  return 'rejection' in input ? input : checkOutput(parts, item.index, input.record);
}

function checkInput(
  parts: RecordTransformParts,
  item: ReadItem,
): { record: unknown } | { rejection: RecordRejection } {
  const { index } = item;
  if ('error' in item) return { rejection: { index, stage: 'read', message: item.error } };
  if (parts.inputSchema === undefined) return { record: item.record };
  const checked = checkRecord(parts.inputSchema, item.record);
  if (checked.ok) return { record: checked.value };
  return {
    rejection: { index, stage: 'input', message: 'does not match inputSchema', problems: checked.problems },
  };
}

function checkOutput(parts: RecordTransformParts, index: number, result: unknown): RecordOutcome {
  if (result === undefined) return { records: [] };
  const outputs = Array.isArray(result) ? result : [result];
  if (parts.outputSchema === undefined) return { records: outputs };
  const records: unknown[] = [];
  for (const output of outputs) {
    const checked = checkRecord(parts.outputSchema, output);
    if (!checked.ok) {
      return {
        rejection: {
          index,
          stage: 'output',
          message: 'result does not match outputSchema',
          problems: checked.problems,
        },
      };
    }
    records.push(checked.value);
  }
  return { records };
}

/**
 * Counts rejections and keeps the first `limit` of them for the answer.
 *
 * @example
 * ```ts
 * const rejections = new Rejections(100);
 * rejections.add({ index: 3, stage: 'read', message: 'not JSON' });
 * ```
 */
export class Rejections {
  readonly listed: RecordRejection[] = [];
  count = 0;
  readonly #limit: number;
  constructor(limit: number) {
    this.#limit = limit;
  }
  add(rejection: RecordRejection): void {
    this.count += 1;
    if (this.listed.length < this.#limit) this.listed.push(rejection);
  }
}
