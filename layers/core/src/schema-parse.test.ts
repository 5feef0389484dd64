import * as fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { captureLogs, httpEvent, lambdaContext } from './testing/index.ts';

/** A fresh copy of the core, whose parse mode starts cold whatever ran before it in this worker. */
async function freshCore() {
  vi.resetModules();
  const parse = await import('./schema-parse.ts');
  const { defineConnector } = await import('./connector/define.ts');
  return { ...parse, defineConnector };
}

describe('Function: parseOptions', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('interprets until the handler has answered an invocation, then leaves zod to compile', async () => {
    // Prepare
    const core = await freshCore();
    const input = z.object({ text: z.string().min(1), nested: z.object({ n: z.number() }).optional() });
    const output = z.object({ text: z.string() });
    const inputParse = vi.spyOn(input, 'safeParse');
    const outputParse = vi.spyOn(output, 'safeParse');
    const connector = core.defineConnector({
      name: 'parse-mode',
      version: '1.0.0',
      config: z.object({ PARSE_MODE_PREFIX: z.string().default('>') }),
      setup: () => ({}),
      operations: (op) => ({
        echo: op({ description: 'Echoes', input, output, run: async ({ text }) => ({ text }) }),
      }),
    });
    const event = httpEvent({ path: '/parse-mode/echo', body: { text: 'hi', nested: { n: 1 } } });
    const logs = captureLogs();
    // Act
    const before = core.parseOptions();
    const first = (await connector.handler(event, lambdaContext())) as { statusCode: number };
    const after = core.parseOptions();
    const second = (await connector.handler(event, lambdaContext())) as { statusCode: number };
    logs.restore();
    // Assess
    expect(before).toEqual({ jitless: true });
    expect(after).toBeUndefined();
    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    expect(inputParse.mock.calls.map((call) => call[1])).toEqual([{ jitless: true }, undefined]);
    expect(outputParse.mock.calls.map((call) => call[1])).toEqual([{ jitless: true }, undefined]);
  });

  it('gives the same data and the same issues interpreted as compiled', () => {
    // Prepare: object schemas of every kind of key zod's compiled parser treats apart
    const schema = z.strictObject({
      id: z.string().min(2),
      count: z.number().int().default(1),
      note: z.string().optional(),
      tags: z.array(z.string()).max(3).optional(),
      nested: z.object({ at: z.iso.datetime(), flag: z.boolean().default(false) }).optional(),
    });
    const value = fc.record(
      {
        id: fc.oneof(fc.string({ maxLength: 4 }), fc.integer()),
        count: fc.oneof(fc.integer(), fc.double(), fc.constant(undefined)),
        note: fc.oneof(fc.string(), fc.constant(null)),
        tags: fc.array(fc.string({ maxLength: 3 }), { maxLength: 5 }),
        nested: fc.oneof(
          fc.record({ at: fc.constantFrom('2026-12-07T04:00:00Z', 'yesterday'), flag: fc.boolean() }),
          fc.constant('x'),
        ),
        extra: fc.string(),
      },
      { requiredKeys: [] },
    );
    // Act and assess: the first parse of a fresh schema each time, so both paths really run
    fc.assert(
      fc.property(value, (raw) => {
        const interpreted = schema.clone().safeParse(raw, { jitless: true });
        const compiled = schema.clone().safeParse(raw);
        expect(interpreted.success).toBe(compiled.success);
        if (compiled.success) expect(interpreted.data).toEqual(compiled.data);
        else expect(interpreted.error?.issues).toEqual(compiled.error.issues);
      }),
      { numRuns: 300 },
    );
  });
});
