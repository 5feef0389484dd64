/**
 * The entries of a batch Bundle the server refused, for the core's `unfinished` hook: a queue record's
 * answer is read by nobody, so a queued `run-transaction` of type batch whose entries partly failed has
 * those entries, and only them, moved to the dead-letter queue with their status. A transaction is all or
 * nothing (a refused one is an error), so it never leaves part undone.
 */
import type { Unfinished } from '@circle-core/core';
import type { RunTransactionOutput } from './models.ts';

/** The HTTP status code at the start of an entry's status line ("404 Not Found"), if any. */
function statusCode(status: string): number | undefined {
  const match = /^\s*(\d{3})\b/.exec(status);
  return match === null ? undefined : Number(match[1]);
}

/** Statuses worth sending again later: a timeout, throttling, a server failure. */
const retryableStatus = (code: number): boolean => code === 408 || code === 429 || code >= 500;

/** The first issue code of an entry's OperationOutcome ("conflict", "not-found"): never its text (PHI). */
function outcomeCode(outcome: unknown): string | undefined {
  if (typeof outcome !== 'object' || outcome === null) return undefined;
  const issues = (outcome as { issue?: unknown }).issue;
  if (!Array.isArray(issues)) return undefined;
  const code = (issues[0] as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^[a-z-]{1,40}$/.test(code) ? code : undefined;
}

/**
 * The entries whose result is a 4xx or 5xx status, narrowed from the input as sent; undefined when every
 * entry succeeded (or the server gave no status to tell by).
 *
 * @example
 * ```ts
 * refusedBundleEntries({ type: 'batch-response', entries: [{ status: '201 Created' }, { status: '412' }] }, input);
 * // { input: { ...input, entry: [input.entry[1]] }, issues: [{ pointer: '/entry/1', message: 'status 412' }], retryable: false }
 * ```
 */
export function refusedBundleEntries(
  output: RunTransactionOutput,
  input: { entry: readonly unknown[] },
): Unfinished | undefined {
  const refused: { index: number; code: number; outcome?: string }[] = [];
  output.entries.forEach((result, index) => {
    const code = statusCode(result.status);
    if (code === undefined || code < 400 || index >= input.entry.length) return;
    const outcome = outcomeCode(result.outcome);
    refused.push({ index, code, ...(outcome === undefined ? {} : { outcome }) });
  });
  if (refused.length === 0) return undefined;
  return {
    input: { ...input, entry: refused.map(({ index }) => input.entry[index]) },
    issues: refused.map(({ index, code, outcome }) => ({
      pointer: `/entry/${index}`,
      message: `the server answered status ${code}${outcome === undefined ? '' : ` (${outcome})`}`,
    })),
    retryable: refused.some(({ code }) => retryableStatus(code)),
  };
}
