import {
  BatchProcessor,
  EventType,
  processPartialResponse,
  SqsFifoPartialProcessorAsync,
} from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSRecord } from 'aws-lambda';
import * as fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { currentCorrelationId, withInvocation } from '../context.ts';
import { UnavailableError } from '../errors.ts';
import { type CapturedLogs, captureLogs, sqsEvent } from '../testing/index.ts';
import { defineConnector } from './define.ts';
import { handleQueue } from './queue-adapter.ts';

/**
 * The core's batch loop against Powertools batch itself (the library it replaces on the hot path, with the
 * options the core used): for any batch of records that succeed or fail, after any delay, in any message
 * groups, both report the same records as failed and run the same records.
 */

interface Step {
  ok: boolean;
  /** Turns of the event loop before the record settles, so records finish out of order. */
  turns: number;
  group: string | undefined;
}

const settle = async (turns: number): Promise<void> => {
  for (let i = 0; i < turns; i += 1) await new Promise((resolve) => setImmediate(resolve));
};

function batch(steps: Step[], fifo: boolean) {
  return sqsEvent(
    steps.map((step, index) => ({
      messageId: `m${index}`,
      ...(step.group === undefined ? {} : { groupId: step.group }),
      body: { operation: 'step', input: { ok: step.ok, turns: step.turns } },
    })),
    { queue: fifo ? 'steps.fifo' : 'steps' },
  );
}

function stepConnector(ran: string[]) {
  return defineConnector({
    name: 'steps',
    version: '1.0.0',
    config: z.object({}),
    setup: () => ({}),
    operations: (op) => ({
      step: op({
        description: 'Succeeds or fails after some turns',
        input: z.object({ ok: z.boolean(), turns: z.number().int() }),
        output: z.object({}),
        run: async ({ ok, turns }, { idempotencyKey }) => {
          ran.push(String(idempotencyKey));
          await settle(turns);
          // Retryable, so the record goes back to the queue (no dead-letter queue involved).
          if (!ok) throw new UnavailableError('step failed');
          return {};
        },
      }),
    }),
  });
}

/** Powertools batch with the options the core passed it, around the same record outcomes. */
async function powertools(event: ReturnType<typeof batch>, fifo: boolean, ran: string[]) {
  const handler = async (record: SQSRecord): Promise<void> => {
    ran.push(record.messageId);
    const { input } = JSON.parse(record.body) as { input: { ok: boolean; turns: number } };
    await settle(input.turns);
    if (!input.ok) throw new Error('step failed');
  };
  return fifo
    ? processPartialResponse(event, handler, new SqsFifoPartialProcessorAsync(), {
        skipGroupOnError: true,
        throwOnFullBatchFailure: false,
      })
    : processPartialResponse(event, handler, new BatchProcessor(EventType.SQS), {
        throwOnFullBatchFailure: false,
      });
}

const ids = (response: SQSBatchResponse): string[] => response.batchItemFailures.map((f) => f.itemIdentifier);

describe('Function: handleQueue (Powertools batch semantics)', () => {
  let logs: CapturedLogs;
  beforeEach(() => {
    logs = captureLogs();
  });
  afterEach(() => {
    logs.restore();
  });

  const step = fc.record({
    ok: fc.boolean(),
    turns: fc.integer({ min: 0, max: 3 }),
    group: fc.option(fc.constantFrom('g1', 'g2', 'g3', ''), { nil: undefined }),
  });

  it('fails the same records as Powertools on a standard queue (all records run)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 10 }), async (steps) => {
        const event = batch(steps, false);
        const ranCore: string[] = [];
        const ranPowertools: string[] = [];
        const core = await handleQueue(stepConnector(ranCore).runtime, event, Date.now() + 30_000);
        const reference = await powertools(event, false, ranPowertools);
        // Powertools lists failures as they settle; the core in record order. SQS reads it as a set.
        expect(ids(core.response).sort()).toEqual(ids(reference).sort());
        expect(ids(core.response)).toEqual(steps.flatMap((s, i) => (s.ok ? [] : [`m${i}`])));
        expect(ranCore).toEqual(ranPowertools);
        expect(core.failed).toBe(reference.batchItemFailures.length);
        expect(core.records).toBe(steps.length);
      }),
      { numRuns: 150 },
    );
  });

  it('fails and skips the same records as Powertools on a FIFO queue, in the same order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 10 }), async (steps) => {
        const event = batch(steps, true);
        const ranCore: string[] = [];
        const ranPowertools: string[] = [];
        const core = await handleQueue(stepConnector(ranCore).runtime, event, Date.now() + 30_000);
        const reference = await powertools(event, true, ranPowertools);
        expect(core.response).toEqual(reference);
        expect(ranCore).toEqual(ranPowertools);
      }),
      { numRuns: 150 },
    );
  });

  it("runs every record in its own scope, across its awaits, and leaves the caller's scope as it was", async () => {
    // Records settle in any order, some carry a correlation id (attribute or envelope), some do not parse.
    const record = fc.record({
      turns: fc.integer({ min: 0, max: 3 }),
      via: fc.constantFrom('none', 'attribute', 'envelope', 'unparsable'),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(record, { maxLength: 10 }), fc.boolean(), async (records, fifo) => {
        const seen = new Map<string, string[]>();
        const connector = defineConnector({
          name: 'scopes',
          version: '1.0.0',
          config: z.object({}),
          setup: () => ({}),
          operations: (op) => ({
            look: op({
              description: 'Reads its scope before and after its awaits',
              input: z.object({ turns: z.number().int() }),
              output: z.object({}),
              run: async ({ turns }, { idempotencyKey, remainingTimeMs }) => {
                const key = String(idempotencyKey);
                const views = [`${currentCorrelationId()}@${remainingTimeMs() > 0}`];
                await settle(turns);
                views.push(`${currentCorrelationId()}@${remainingTimeMs() > 0}`);
                seen.set(key, views);
                return {};
              },
            }),
          }),
        });
        const event = sqsEvent(
          records.map((r, index) => ({
            messageId: `m${index}`,
            ...(fifo ? { groupId: `g${index}` } : {}),
            ...(r.via === 'attribute' ? { correlationId: `a${index}` } : {}),
            body:
              r.via === 'unparsable'
                ? '{not json'
                : {
                    operation: 'look',
                    input: { turns: r.turns },
                    ...(r.via === 'envelope' ? { correlationId: `e${index}` } : {}),
                  },
          })),
          { queue: fifo ? 'scopes.fifo' : 'scopes' },
        );
        const outcome = await withInvocation({ deadline: Date.now() + 60_000, correlationId: 'caller' }, () =>
          handleQueue(connector.runtime, event, Date.now() + 30_000, 'batch-1'),
        );
        expect(currentCorrelationId()).toBeUndefined();
        records.forEach((r, index) => {
          const expected =
            r.via === 'attribute' ? `a${index}` : r.via === 'envelope' ? `e${index}` : `m${index}`;
          if (r.via === 'unparsable') expect(seen.has(`m${index}`)).toBe(false);
          else expect(seen.get(`m${index}`)).toEqual([`${expected}@true`, `${expected}@true`]);
        });
        expect(outcome.failed).toBe(records.filter((r) => r.via === 'unparsable').length);
      }),
      { numRuns: 100 },
    );
  });

  it('answers an empty batch with no failures, as Powertools does', async () => {
    const core = await handleQueue(stepConnector([]).runtime, { Records: [] }, Date.now() + 30_000);
    expect(core).toEqual({ response: { batchItemFailures: [] }, records: 0, failed: 0 });
  });
});
