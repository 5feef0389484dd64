/**
 * The `telemetry-alert` workflow end to end on the local stack (as `npm start` runs it): device readings
 * checked against a rule set stored in the stack's S3, recorded as Observations in the FHIR R4 sandbox or
 * as rows in the Snowflake sandbox, breaches paged through the PagerDuty sandbox (Events API v2) with the
 * suppression window in the machine's Redis. Each effect is read back from its sandbox; a redelivered
 * reading and a second breach within the window are checked to write and page nothing twice.
 */
import { randomUUID } from 'node:crypto';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  DeleteMessageCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runWorkflow, startWorkflowWorld, type WorkflowWorld } from './harness.ts';

let world: WorkflowWorld;
/** The S3 key of this run's rule set (the workflow's `rulesKey`). */
let rulesKey: string;

const RULES = [
  {
    id: 'heart-rate-high',
    metric: 'heart_rate',
    operator: 'gt',
    threshold: 120,
    severity: 'critical',
    sink: 'fhir',
    windowSeconds: 600,
  },
  {
    id: 'temperature-high',
    metric: 'temperature',
    operator: 'gte',
    threshold: 30,
    severity: 'warning',
    sink: 'warehouse',
    windowSeconds: 600,
  },
];

/** Calls an operation of a connector through the stack's HTTP API, as a user of `npm start` does. */
async function api(path: string, input: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${world.stack.apiUrl}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${world.stack.apiKey}`,
      'content-type': 'application/json',
      'idempotency-key': randomUUID(),
    },
    body: JSON.stringify(input),
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Record<string, unknown>;
}

async function putRules(key: string, body: string): Promise<void> {
  await world.s3.send(
    new PutObjectCommand({ Bucket: world.bucket, Key: key, Body: body, ContentType: 'application/json' }),
  );
}

/** The Observations in the FHIR sandbox with this reading key as identifier. */
async function observations(readingKey: string): Promise<Record<string, unknown>[]> {
  const page = await api('/fhir/search-resources', {
    resourceType: 'Observation',
    params: { identifier: `urn:circle-core:telemetry|${readingKey}` },
  });
  return page['resources'] as Record<string, unknown>[];
}

/** The PagerDuty sandbox's incidents whose dedup key starts with the device's window keys. */
async function incidentsOf(deviceId: string): Promise<{ incidentKey: string | null; title: string }[]> {
  const incidents = (await api('/pagerduty/list-incidents', { limit: 100 }))['incidents'] as {
    incidentKey: string | null;
    title: string;
  }[];
  return incidents.filter((incident) => incident.incidentKey?.startsWith(`telemetry-alert:${deviceId}:`));
}

interface Evaluation {
  ruleId: string;
  matched: boolean;
  breached?: boolean;
  page?: 'none' | 'paged' | 'suppressed';
  dedupKey?: string;
  recorded?: Record<string, unknown>;
}

interface Output {
  readingKey: string;
  rules: Evaluation[];
}

function reading(
  deviceId: string,
  metric: string,
  value: number,
  timestamp: string,
): Record<string, unknown> {
  return { deviceId, metric, value, timestamp, rulesKey, correlationId: `telemetry-${deviceId}` };
}

beforeAll(async () => {
  for (const name of ['PAGERDUTY_API_URL', 'PAGERDUTY_EVENTS_API_URL', 'FHIR_API_URL', 'CIRCLE_LOCAL_REAL']) {
    if (process.env[name] !== undefined) throw new Error(`unset ${name} to run this suite`);
  }
  world = await startWorkflowWorld();
  rulesKey = `config/telemetry-alert/test-${randomUUID()}.json`;
  await putRules(rulesKey, JSON.stringify({ rules: RULES }));
  // The rule set where the workflow looks without a rulesKey (a message from the IoT queue names none).
  await putRules('config/telemetry-alert/rules.json', JSON.stringify({ rules: RULES }));
}, 240_000);

afterAll(async () => {
  await world?.close();
});

describe('Workflow telemetry-alert on the local stack', () => {
  it('records a reading below the threshold as an Observation and pages nobody', async () => {
    // Prepare
    const deviceId = `monitor-${randomUUID()}`;

    // Act
    const result = await runWorkflow(
      world,
      'telemetry-alert',
      reading(deviceId, 'heart_rate', 72, '2026-12-06T09:00:00Z'),
    );

    // Assess
    expect(result).toMatchObject({ code: 0, status: 'SUCCEEDED' });
    const output = result.output as Output;
    expect(output.rules).toEqual([
      expect.objectContaining({ ruleId: 'heart-rate-high', matched: true, breached: false, page: 'none' }),
      { ruleId: 'temperature-high', matched: false },
    ]);
    const found = await observations(output.readingKey);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'heart_rate' },
      device: { display: deviceId },
      effectiveDateTime: '2026-12-06T09:00:00Z',
      valueQuantity: { value: 72 },
    });
    expect(await incidentsOf(deviceId)).toEqual([]);
  }, 180_000);

  it('pages once for a breach; a redelivery and a second breach within the window page no more', async () => {
    // Prepare
    const deviceId = `monitor-${randomUUID()}`;
    const breach = reading(deviceId, 'heart_rate', 140, '2026-12-06T09:01:00Z');

    // Act
    const first = await runWorkflow(world, 'telemetry-alert', breach);
    const redelivered = await runWorkflow(world, 'telemetry-alert', breach);
    const second = await runWorkflow(
      world,
      'telemetry-alert',
      reading(deviceId, 'heart_rate', 150, '2026-12-06T09:02:00Z'),
    );

    // Assess: the first breach opened the window and paged.
    for (const run of [first, redelivered, second])
      expect(run).toMatchObject({ code: 0, status: 'SUCCEEDED' });
    const dedupKey = `telemetry-alert:${deviceId}:heart-rate-high:2026-12-06T09:01:00Z`;
    expect((first.output as Output).rules[0]).toMatchObject({ breached: true, page: 'paged', dedupKey });
    // The redelivery finds its own window: the same dedup key, folded by PagerDuty into the open alert.
    expect((redelivered.output as Output).rules[0]).toMatchObject({ page: 'paged', dedupKey });
    // Another breach within the window is recorded, not paged.
    expect((second.output as Output).rules[0]).toMatchObject({ breached: true, page: 'suppressed' });
    // One Observation per reading: the redelivery found the first one.
    const firstKey = (first.output as Output).readingKey;
    expect((redelivered.output as Output).readingKey).toBe(firstKey);
    expect(await observations(firstKey)).toHaveLength(1);
    expect((redelivered.output as Output).rules[0]?.recorded).toMatchObject({ sink: 'fhir', created: false });
    expect(await observations((second.output as Output).readingKey)).toHaveLength(1);
    // One PagerDuty incident for the device, under the window's dedup key.
    expect(await incidentsOf(deviceId)).toEqual([expect.objectContaining({ incidentKey: dedupKey })]);
  }, 300_000);

  it('records a warehouse rule as one row per reading in Snowflake, also when redelivered, and pages once for the breach', async () => {
    // Prepare
    const deviceId = `freezer-${randomUUID()}`;
    const breach = { ...reading(deviceId, 'temperature', 31.5, '2026-12-06T09:03:00Z'), unit: 'Cel' };

    // Act
    const within = await runWorkflow(world, 'telemetry-alert', {
      ...reading(deviceId, 'temperature', 4.5, '2026-12-06T09:02:30Z'),
      unit: 'Cel',
    });
    const first = await runWorkflow(world, 'telemetry-alert', breach);
    const redelivered = await runWorkflow(world, 'telemetry-alert', breach);

    // Assess
    for (const run of [within, first, redelivered]) {
      expect(run).toMatchObject({ code: 0, status: 'SUCCEEDED' });
    }
    expect((within.output as Output).rules[1]).toMatchObject({ breached: false, page: 'none' });
    const output = first.output as Output;
    expect(output.rules).toEqual([
      { ruleId: 'heart-rate-high', matched: false },
      expect.objectContaining({
        ruleId: 'temperature-high',
        breached: true,
        page: 'paged',
        recorded: expect.objectContaining({ sink: 'warehouse', table: 'telemetry_events' }),
      }),
    ]);
    const rows = (await api('/snowflake/run-query', {
      sql: 'SELECT device_id, metric, value, unit, observed_at, rule_id, severity, breached FROM telemetry_events WHERE event_id = ?',
      params: [output.readingKey],
      waitSeconds: 20,
    })) as { results: { rows: unknown[][] } };
    expect(rows.results.rows).toEqual([
      [deviceId, 'temperature', 31.5, 'Cel', '2026-12-06T09:03:00Z', 'temperature-high', 'warning', true],
    ]);
    const below = (await api('/snowflake/run-query', {
      sql: 'SELECT value, breached FROM telemetry_events WHERE device_id = ? ORDER BY observed_at',
      params: [deviceId],
      waitSeconds: 20,
    })) as { results: { rows: unknown[][] } };
    expect(below.results.rows).toEqual([
      [4.5, false],
      [31.5, true],
    ]);
    expect(await incidentsOf(deviceId)).toHaveLength(1);
    expect(await observations(output.readingKey)).toEqual([]);
  }, 300_000);

  it('takes the message as the AWS IoT Core rule delivers it: the device named by the topic', async () => {
    // Prepare: what IotCoreTelemetryRule (SELECT *, topic() AS topic, timestamp() AS receivedAt) sends.
    const deviceId = `monitor-${randomUUID()}`;
    const message = {
      metric: 'heart_rate',
      value: 64,
      unit: '/min',
      timestamp: '2026-12-06T09:03:30Z',
      topic: `devices/${deviceId}/telemetry`,
      receivedAt: 1_796_547_810_000,
      rulesKey,
    };

    // Act
    const result = await runWorkflow(world, 'telemetry-alert', message);

    // Assess
    expect(result).toMatchObject({ code: 0, status: 'SUCCEEDED' });
    const output = result.output as Output & { reading: Record<string, unknown> };
    expect(output.reading).toEqual({
      deviceId,
      metric: 'heart_rate',
      value: 64,
      unit: '/min',
      timestamp: '2026-12-06T09:03:30Z',
    });
    expect(await observations(output.readingKey)).toEqual([
      expect.objectContaining({ device: expect.objectContaining({ display: deviceId }) }),
    ]);
  }, 180_000);

  it('takes a device message published over MQTT, routed by the IoT rule into the telemetry queue', async () => {
    // Prepare
    const deviceId = `monitor-${randomUUID()}`;
    const topic = `devices/${deviceId}/telemetry`;
    const sqs = new SQSClient({
      endpoint: world.stack.awsUrl,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    const { QueueUrl } = await sqs.send(
      new GetQueueUrlCommand({ QueueName: 'circle-core-dev-IotCoreTelemetryQueue' }),
    );

    // Act: the device publishes (through the IoT Core connector's data plane, onto the local broker); the
    // local IoT rule queues the message; the body starts the workflow, as TelemetryAlertPipe does in AWS.
    await api('/iot-core/publish-message', {
      topic,
      payload: { metric: 'heart_rate', value: 150, unit: '/min', timestamp: '2026-12-06T09:09:00Z' },
      qos: 1,
    });
    let body: string | undefined;
    for (let attempt = 0; attempt < 30 && body === undefined; attempt++) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      for (const message of Messages) {
        if (message.Body?.includes(topic) !== true) continue;
        body = message.Body;
        await sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: message.ReceiptHandle }));
      }
    }
    sqs.destroy();
    expect(body).toBeDefined();
    const result = await runWorkflow(world, 'telemetry-alert', JSON.parse(body ?? '{}'));

    // Assess
    expect(JSON.parse(body ?? '{}')).toMatchObject({ topic, receivedAt: expect.any(Number) });
    expect(result).toMatchObject({ code: 0, status: 'SUCCEEDED' });
    const output = result.output as Output & { reading: Record<string, unknown> };
    expect(output.reading).toMatchObject({ deviceId, value: 150 });
    expect(output.rules[0]).toMatchObject({ breached: true, page: 'paged' });
    expect(await observations(output.readingKey)).toHaveLength(1);
    expect(await incidentsOf(deviceId)).toHaveLength(1);
  }, 240_000);

  it('pages again after the window; two rules on one metric write one Observation and page each', async () => {
    // Prepare: a rule set of its own, with a 1 s window and two rules on spo2.
    const deviceId = `oximeter-${randomUUID()}`;
    const key = `config/telemetry-alert/window-${randomUUID()}.json`;
    await putRules(
      key,
      JSON.stringify({
        rules: [
          {
            id: 'spo2-low',
            metric: 'spo2',
            operator: 'lt',
            threshold: 92,
            severity: 'error',
            sink: 'fhir',
            windowSeconds: 1,
          },
          {
            id: 'spo2-critical',
            metric: 'spo2',
            operator: 'lte',
            threshold: 85,
            severity: 'critical',
            sink: 'fhir',
            windowSeconds: 600,
          },
        ],
      }),
    );
    const at = (timestamp: string, value: number) => ({
      ...reading(deviceId, 'spo2', value, timestamp),
      rulesKey: key,
    });

    // Act: a breach of both, then (once the 1 s window is over) a breach of the first only.
    const first = await runWorkflow(world, 'telemetry-alert', at('2026-12-06T09:06:00Z', 84));
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    const later = await runWorkflow(world, 'telemetry-alert', at('2026-12-06T09:07:00Z', 90));

    // Assess
    expect(first).toMatchObject({ code: 0, status: 'SUCCEEDED' });
    expect(later).toMatchObject({ code: 0, status: 'SUCCEEDED' });
    expect((first.output as Output).rules).toEqual([
      expect.objectContaining({
        ruleId: 'spo2-low',
        page: 'paged',
        recorded: expect.objectContaining({ created: true }),
      }),
      expect.objectContaining({
        ruleId: 'spo2-critical',
        page: 'paged',
        recorded: expect.objectContaining({ created: false }),
      }),
    ]);
    expect((later.output as Output).rules).toEqual([
      expect.objectContaining({ ruleId: 'spo2-low', page: 'paged' }),
      expect.objectContaining({ ruleId: 'spo2-critical', breached: false, page: 'none' }),
    ]);
    expect(await observations((first.output as Output).readingKey)).toHaveLength(1);
    const keys = (await incidentsOf(deviceId)).map((incident) => incident.incidentKey).sort();
    expect(keys).toEqual([
      `telemetry-alert:${deviceId}:spo2-critical:2026-12-06T09:06:00Z`,
      `telemetry-alert:${deviceId}:spo2-low:2026-12-06T09:06:00Z`,
      `telemetry-alert:${deviceId}:spo2-low:2026-12-06T09:07:00Z`,
    ]);
  }, 240_000);

  it('pages once for breaches that arrive at the same time, a reading and its redelivery included', async () => {
    // Prepare
    const deviceId = `monitor-${randomUUID()}`;
    const breach = reading(deviceId, 'heart_rate', 170, '2026-12-06T09:08:00Z');

    // Act: the reading twice and another breach, all three at once.
    const runs = await Promise.all([
      runWorkflow(world, 'telemetry-alert', breach),
      runWorkflow(world, 'telemetry-alert', breach),
      runWorkflow(world, 'telemetry-alert', reading(deviceId, 'heart_rate', 175, '2026-12-06T09:08:05Z')),
    ]);

    // Assess: one window, one incident; the reading recorded once, the other breach too.
    for (const run of runs) expect(run).toMatchObject({ code: 0, status: 'SUCCEEDED' });
    const [original, redelivered, other] = runs.map((run) => run.output as Output);
    expect(original?.readingKey).toBe(redelivered?.readingKey);
    expect(await observations(original?.readingKey ?? '')).toHaveLength(1);
    expect(await observations(other?.readingKey ?? '')).toHaveLength(1);
    const incidents = await incidentsOf(deviceId);
    expect(incidents).toHaveLength(1);
    const pages = runs.map((run) => (run.output as Output).rules[0]);
    // Whoever opened the window paged; a run of the same reading pages under the same key (folded).
    for (const page of pages.filter((evaluation) => evaluation?.page === 'paged')) {
      expect(page?.dedupKey).toBe(incidents[0]?.incidentKey);
    }
    expect(pages.filter((evaluation) => evaluation?.page === 'paged').length).toBeGreaterThanOrEqual(1);
  }, 240_000);

  it('fails a bad rule set with ConfigurationError naming the rule, before writing or paging', async () => {
    // Prepare
    const deviceId = `monitor-${randomUUID()}`;
    const badKey = `config/telemetry-alert/bad-${randomUUID()}.json`;
    await putRules(badKey, JSON.stringify({ rules: [RULES[0], { ...RULES[1], operator: 'above' }] }));

    // Act
    const result = await runWorkflow(world, 'telemetry-alert', {
      ...reading(deviceId, 'heart_rate', 180, '2026-12-06T09:04:00Z'),
      rulesKey: badKey,
    });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.stderr).toContain('error: ConfigurationError');
    expect(result.stderr).toContain(
      `cause: rules[1].operator must be one of gt, gte, lt or lte (rule set at S3 key ${badKey})`,
    );
    expect(await incidentsOf(deviceId)).toEqual([]);
  }, 180_000);

  it('fails a bad reading with ValidationError naming the field', async () => {
    // Act
    const result = await runWorkflow(world, 'telemetry-alert', {
      deviceId: 'monitor-bad',
      metric: 'heart_rate',
      value: '140',
      timestamp: '2026-12-06T09:05:00Z',
      rulesKey,
    });

    // Assess
    expect(result.status).toBe('FAILED');
    expect(result.stderr).toContain('error: ValidationError');
    expect(result.stderr).toContain('cause: input.value must be a number');
  }, 180_000);
});
