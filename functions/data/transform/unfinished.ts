/**
 * What a load or an export stopped short of, for the core's `unfinished` hook: a queue record's answer is
 * read by nobody, so a load that answered `done: false` (the time ran out between parts) is moved to the
 * dead-letter queue as the input that resumes it, and a redrive finishes it instead of it being lost.
 */
import type { Unfinished } from '@circle-core/core';
import type { ExportPostgresOutput, LoadPostgresOutput } from './models.ts';

/**
 * A load (`load-postgres`, `load-mysql`) that stopped between parts: the same input with its loadId, so a
 * redrive skips the parts loaded and loads the rest.
 *
 * @example
 * ```ts
 * resumeLoad({ loadId: 'l1', done: false, partsLoaded: 1, partsSkipped: 0, ... }, input);
 * // { input: { ...input, loadId: 'l1' }, issues: [{ pointer: '/loadId', ... }], retryable: true }
 * ```
 */
export function resumeLoad(output: LoadPostgresOutput, input: object): Unfinished | undefined {
  if (output.done) return undefined;
  const parts = output.partsLoaded + output.partsSkipped;
  return {
    input: { ...input, loadId: output.loadId },
    issues: [
      {
        pointer: '/loadId',
        message: `load ${output.loadId} stopped for lack of time after ${parts} part(s); the same input with this loadId resumes it`,
      },
    ],
    retryable: true,
  };
}

/**
 * An export (`export-postgres`, `export-mysql`) that stopped for lack of time: the same input with the
 * cursor it answered (none when it wrote no part yet: the same input starts it again).
 *
 * @example
 * ```ts
 * resumeExport({ done: false, parts: 1, rows: 100, cursor: { after: 99, parts: 1, rows: 100 } }, input);
 * // { input: { ...input, cursor: { after: 99, parts: 1, rows: 100 } }, issues: [{ pointer: '/cursor', ... }], retryable: true }
 * ```
 */
export function resumeExport(output: ExportPostgresOutput, input: object): Unfinished | undefined {
  if (output.done) return undefined;
  return {
    input: output.cursor === undefined ? input : { ...input, cursor: output.cursor },
    issues: [
      {
        pointer: '/cursor',
        message: `export stopped for lack of time after ${output.parts} part(s) (${output.rows} rows); the same input with this cursor resumes it`,
      },
    ],
    retryable: true,
  };
}
