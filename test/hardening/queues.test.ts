/**
 * Queue promises, end to end through the PostgreSQL connector against the machine's real PostgreSQL
 * (rows are the side effects being counted): a batch of 10 with 3 poison records reports exactly those 3
 * and writes each of the other 7 once, also across SQS redeliveries of the reported ones; a fully failed
 * batch is reported record by record and never thrown (README "Queue policy"); fast-check proves every
 * reported itemIdentifier is a real, non-empty, unique message id of a failed record; a FIFO group stops
 * at its first failure (its later messages are not processed before it) while other groups go on
 * (Powertools `skipGroupOnError`).
 */
import { randomUUID } from 'node:crypto';
import {
  type CapturedLogs,
  captureLogs,
  lambdaContext,
  type SqsMessage,
  sqsEvent,
} from '@circle-core/core/testing';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Suite, startSuite } from './support/suite.ts';

interface BatchResponse {
  batchItemFailures: { itemIdentifier: string }[];
}

/** Property runs: a tenth of the HTTP fuzz budget, as each run writes to PostgreSQL. */
const FUZZ_RUNS = Number(
  process.env['CIRCLE_FUZZ_RUNS'] ?? (process.env['CIRCLE_LONG'] === '1' ? 10_000 : 1_000),
);
const PROPERTY_RUNS = Math.max(50, Math.floor(FUZZ_RUNS / 10));
/** Printed before anything runs; CIRCLE_FUZZ_SEED=<seed> replays a run (shrinking stays on). */
const SEED = Number(process.env['CIRCLE_FUZZ_SEED'] ?? Date.now() % 2_147_483_647);

let suite: Suite;
let logs: CapturedLogs;

const insert = (id: string): unknown => ({
  operation: 'insert-rows',
  input: { schema: suite.schema, table: 'items', rows: [{ id, payload: `payload of ${id}` }] },
});

/** The ways a record can be poison: each fails on every delivery. */
const POISON: Record<string, () => unknown> = {
  'not JSON': () => '{"operation": "insert-rows", ',
  'not an object': () => '"just a string"',
  'unknown operation': () => ({ operation: 'drop-everything', input: {} }),
  'invalid input': () => ({ operation: 'insert-rows', input: { table: 'items', rows: [] } }),
  'missing table': () => ({
    operation: 'insert-rows',
    input: { schema: suite.schema, table: 'no_such_table', rows: [{ id: 'x' }] },
  }),
  'constraint violation': () => ({
    operation: 'insert-rows',
    input: { schema: suite.schema, table: 'items', rows: [{ id: null }] },
  }),
  'polluting body': () => '{"operation":"insert-rows","input":{"__proto__":{"polluted":true}}}',
  'empty body': () => '',
};

async function deliver(messages: SqsMessage[], queue = 'postgres-requests'): Promise<BatchResponse> {
  return (await suite.connectors.postgres.handler(
    sqsEvent(messages, { queue }),
    lambdaContext(),
  )) as BatchResponse;
}

function reported(response: BatchResponse): string[] {
  return response.batchItemFailures.map((failure) => failure.itemIdentifier);
}

async function ids(prefix: string): Promise<string[]> {
  const rows = await suite.rows('items');
  return rows.map((row) => String(row['id'])).filter((id) => id.startsWith(prefix));
}

beforeAll(async () => {
  console.log(`queues: ${PROPERTY_RUNS} property runs, seed ${SEED} (replay with CIRCLE_FUZZ_SEED=${SEED})`);
  suite = await startSuite();
}, 60_000);

afterAll(async () => {
  await suite?.close();
});

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
});

describe('Queue: partial batch failures', () => {
  it('reports exactly the 3 poison records of a batch of 10; the other 7 are written once each', async () => {
    // Prepare
    const poisonKinds = ['not JSON', 'invalid input', 'missing table'];
    const messages: SqsMessage[] = Array.from({ length: 10 }, (_, index) => {
      const poison = [1, 4, 8].indexOf(index);
      const messageId = randomUUID();
      return poison === -1
        ? { messageId, body: insert(`b10-${index}`) }
        : { messageId, body: (POISON[poisonKinds[poison] ?? ''] as () => unknown)() };
    });
    const poisonIds = [1, 4, 8].map((index) => messages[index]?.messageId);
    // Act
    const first = await deliver(messages);
    // SQS redelivers only the reported records, up to maxReceiveCount (5), then the DLQ takes them.
    const redeliveries: BatchResponse[] = [];
    for (let receive = 2; receive <= 5; receive += 1) {
      const again = messages
        .filter((message) => poisonIds.includes(message.messageId))
        .map((message) => ({ ...message, receiveCount: receive }));
      redeliveries.push(await deliver(again));
    }
    // Assess
    expect(reported(first).sort()).toEqual([...poisonIds].sort());
    for (const response of redeliveries) expect(reported(response).sort()).toEqual([...poisonIds].sort());
    expect((await ids('b10-')).sort()).toEqual(
      ['b10-0', 'b10-2', 'b10-3', 'b10-5', 'b10-6', 'b10-7', 'b10-9'].sort(),
    );
    expect(logs.text()).toContain('Poison record, left for the DLQ');
  });

  it('reports every record of a fully failed batch and never throws (README "Queue policy")', async () => {
    // Prepare
    const kinds = Object.keys(POISON);
    const messages: SqsMessage[] = Array.from({ length: 10 }, (_, index) => ({
      messageId: randomUUID(),
      body: (POISON[kinds[index % kinds.length] ?? ''] as () => unknown)(),
    }));
    // Act
    const response = await deliver(messages);
    // Assess
    expect(reported(response).sort()).toEqual(messages.map((message) => message.messageId).sort());
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('reports a fully failed batch record by record when the database is unreachable too (retryable)', async () => {
    // Prepare
    const messages: SqsMessage[] = Array.from({ length: 4 }, (_, index) => ({
      messageId: randomUUID(),
      body: insert(`down-${index}`),
    }));
    suite.gate.setPassword('rotated-away');
    suite.gate.dropConnections();
    try {
      // Act
      const response = await deliver(messages);
      // Assess
      expect(reported(response).sort()).toEqual(messages.map((message) => message.messageId).sort());
    } finally {
      suite.gate.setPassword(suite.values.postgresPassword);
    }
    expect(await ids('down-')).toEqual([]);
  });

  it('reports only real, non-empty, unique message ids, exactly those of the failed records (property)', async () => {
    // Prepare
    const kinds = Object.keys(POISON);
    const record = fc.record({
      messageId: fc.oneof(fc.uuid(), fc.string({ minLength: 1, maxLength: 80 })),
      poison: fc.option(fc.constantFrom(...kinds), { freq: 3 }),
    });
    const batch = fc.uniqueArray(record, {
      minLength: 1,
      maxLength: 10,
      selector: (entry) => entry.messageId,
    });
    // Act & Assess
    await fc.assert(
      fc.asyncProperty(batch, async (entries) => {
        const run = `p${randomUUID().slice(0, 8)}-`;
        const messages: SqsMessage[] = entries.map((entry, index) => ({
          messageId: entry.messageId,
          body: entry.poison === null ? insert(`${run}${index}`) : (POISON[entry.poison] as () => unknown)(),
        }));
        const response = await deliver(messages);
        const failures = reported(response);
        const real = new Set(messages.map((message) => message.messageId));
        for (const id of failures) {
          expect(id).not.toBe('');
          expect(real.has(id)).toBe(true);
        }
        expect(new Set(failures).size).toBe(failures.length);
        const expected = entries.filter((entry) => entry.poison !== null).map((entry) => entry.messageId);
        expect([...failures].sort()).toEqual([...expected].sort());
        const written = entries.flatMap((entry, index) => (entry.poison === null ? [`${run}${index}`] : []));
        expect((await ids(run)).sort()).toEqual(written.sort());
      }),
      { numRuns: PROPERTY_RUNS, seed: SEED },
    );
  }, 120_000);
});

describe('Queue: FIFO message groups', () => {
  it('does not process c before the failing b of its group, and goes on with the other group', async () => {
    // Prepare
    const message = (id: string, groupId: string, body: unknown): SqsMessage => ({
      messageId: id,
      groupId,
      body,
    });
    const failingB = {
      operation: 'insert-rows',
      input: { schema: suite.schema, table: 'no_such_table', rows: [{ id: 'fifo-b' }] },
    };
    const batch = [
      message('a', 'g1', insert('fifo-a')),
      message('b', 'g1', failingB),
      message('c', 'g1', insert('fifo-c')),
      message('d', 'g2', insert('fifo-d')),
      message('e', 'g2', insert('fifo-e')),
    ];
    // Act
    const first = await deliver(batch, 'postgres-requests.fifo');
    const afterFirst = await ids('fifo-');
    // SQS FIFO redelivers b and c (in order) after the visibility timeout; b has been fixed meanwhile.
    const second = await deliver(
      [message('b', 'g1', insert('fifo-b')), message('c', 'g1', insert('fifo-c'))],
      'postgres-requests.fifo',
    );
    // Assess
    expect(reported(first)).toEqual(['b', 'c']);
    expect(afterFirst).toEqual(['fifo-a', 'fifo-d', 'fifo-e']);
    expect(reported(second)).toEqual([]);
    // Rows come back in insertion order (serial seq): b strictly before c.
    expect(await ids('fifo-')).toEqual(['fifo-a', 'fifo-d', 'fifo-e', 'fifo-b', 'fifo-c']);
  });

  it('keeps a group blocked across redeliveries while its head keeps failing', async () => {
    // Prepare
    const poison = { operation: 'insert-rows', input: { table: 'items', rows: [] } };
    const batch: SqsMessage[] = [
      { messageId: 'h1', groupId: 'blocked', body: poison },
      { messageId: 'h2', groupId: 'blocked', body: insert('blocked-2') },
      { messageId: 'o1', groupId: 'open', body: insert('open-1') },
    ];
    // Act
    const responses: BatchResponse[] = [];
    for (let receive = 1; receive <= 3; receive += 1) {
      responses.push(
        await deliver(
          batch
            .filter((entry) => entry.groupId === 'blocked' || receive === 1)
            .map((entry) => ({ ...entry, receiveCount: receive })),
          'postgres-requests.fifo',
        ),
      );
    }
    // Assess
    for (const response of responses) expect(reported(response)).toEqual(['h1', 'h2']);
    expect(await ids('blocked-')).toEqual([]);
    expect(await ids('open-')).toEqual(['open-1']);
  });
});
