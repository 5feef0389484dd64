/**
 * The workflows' `States.Hash` keys on the local engine, as AWS computes them: warehouse-load's `loadId`,
 * incident-response's dedup `label` and telemetry-alert's `readingKey`, each expression as the definition has it, run
 * in a Pass state. aws-local-stepfunctions hashes inputs of 56 bytes and more wrongly (a `loadId` for another
 * table equal to the first: nothing loaded, no error); scripts/local/workflows/local-stepfunctions.ts
 * corrects it.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createStackLog } from '../../scripts/local/log.ts';
import { StepFunctionsEngine } from '../../scripts/local/workflows/step-functions.ts';
import { walkStates } from '../../shared/workflows/asl.ts';
import { loadDefinition, type WorkflowName } from '../../shared/workflows/catalog.ts';

const engine = new StepFunctionsEngine({
  region: 'us-east-1',
  accountId: '000000000000',
  invoke: async () => undefined,
  log: createStackLog({ pretty: false, write: () => undefined }),
});

/** The `<field>.$` Parameter of the first state of a workflow that sets it with States.Hash (nested states included). */
async function hashParameter(workflow: WorkflowName, field: string): Promise<Record<string, unknown>> {
  const found: Record<string, unknown>[] = [];
  walkStates(await loadDefinition(workflow), (state) => {
    const expression = state.Parameters?.[`${field}.$`];
    if (typeof expression === 'string' && expression.includes('States.Hash(')) {
      found.push({ [`${field}.$`]: expression });
    }
  });
  expect(found.length).toBeGreaterThan(0);
  return found[0] ?? {};
}

/** The output of a Pass state with those Parameters, on the engine. */
async function pass(parameters: Record<string, unknown>, input: unknown): Promise<Record<string, unknown>> {
  const machine = engine.create(
    `pass-${createHash('sha1').update(JSON.stringify(parameters)).digest('hex')}`,
    {
      StartAt: 'State',
      States: { State: { Type: 'Pass', Parameters: parameters, End: true } },
    },
  );
  const execution = engine.start(machine.arn, JSON.stringify(input));
  await execution.done;
  expect(execution.status).toBe('SUCCEEDED');
  return JSON.parse(execution.output ?? '{}') as Record<string, unknown>;
}

function sha(algorithm: string, text: string): string {
  return createHash(algorithm).update(text, 'utf8').digest('hex');
}

describe('States.Hash in the workflows (local engine)', () => {
  it("names warehouse-load's load by bucket, key, entity tag and table: another table is another load", async () => {
    // Prepare
    const parameters = await hashParameter('warehouse-load', 'loadId');
    const object = { key: 'warehouse/incoming/events-1.csv', etag: '"9b2cf535f27731c974343645a3985328"' };
    const input = (table: string) => ({
      bucket: 'circle-core-local',
      object,
      table,
      index: 0,
      pageNumber: 1,
    });

    // Act
    const first = await pass(parameters, input('warehouse_events'));
    const second = await pass(parameters, input('nope_table'));

    // Assess
    expect(first['loadId']).toBe(
      sha('sha256', `circle-core-local|${object.key}|${object.etag}|warehouse_events`),
    );
    expect(second['loadId']).toBe(sha('sha256', `circle-core-local|${object.key}|${object.etag}|nope_table`));
    expect(first['loadId']).not.toBe(second['loadId']);
  });

  it("labels incident-response's issue by the SHA-1 of the PagerDuty dedup key", async () => {
    // Prepare
    const parameters = await hashParameter('incident-response', 'label');
    const key = (n: number) => `pagerduty/incidents/Q1ABCDEFGHIJKL/alerts/checkout-latency-p99-${n}`;

    // Act
    const outputs = await Promise.all([1, 2].map((n) => pass(parameters, { pd: { key: key(n) } })));

    // Assess
    expect(outputs.map((output) => output['label'])).toEqual(
      [1, 2].map((n) => `alert-${sha('sha1', key(n))}`),
    );
  });

  it("keys telemetry-alert's reading by the SHA-256 of device, metric and timestamp", async () => {
    // Prepare
    const parameters = await hashParameter('telemetry-alert', 'readingKey');
    const settings = (metric: string) => ({
      deviceId: 'plant-7/line-3/sensor-0042',
      metric,
      timestamp: '2026-12-06T10:15:30.000Z',
    });

    // Act
    const outputs = await Promise.all(
      ['temperature_celsius_a', 'temperature_celsius_b'].map((metric) =>
        pass(parameters, { settings: settings(metric) }),
      ),
    );

    // Assess
    expect(outputs.map((output) => output['readingKey'])).toEqual(
      ['temperature_celsius_a', 'temperature_celsius_b'].map((metric) =>
        sha('sha256', `plant-7/line-3/sensor-0042|${metric}|2026-12-06T10:15:30.000Z`),
      ),
    );
  });
});
