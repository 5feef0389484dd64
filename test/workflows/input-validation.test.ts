/**
 * Input validation, end to end on the local stack: each workflow checks its execution input before any
 * work and fails a bad one with `ValidationError` and a Cause naming the field, instead of a
 * `States.Runtime` deep inside a Pass or an intrinsic. The bad inputs are a table per workflow: the input
 * itself as a non-object, and every field the definition validates missing or of the wrong type. The table
 * must cover exactly the fields the definition's ValidationErrors name. Good inputs still succeed.
 */
import { randomUUID } from 'node:crypto';
import { GetExecutionHistoryCommand, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AslDefinition, walkStates } from '../../shared/workflows/asl.ts';
import { loadDefinition, WORKFLOWS, type WorkflowName } from '../../shared/workflows/catalog.ts';
import {
  finished,
  issuesPayload,
  readObject,
  startWorkflowWorld,
  stateMachineArn,
  type WorkflowWorld,
} from './harness.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One bad input and the field its ValidationError must name. */
interface BadInput {
  /** `input` for the input itself, else the field's path: `input.channels`, `input.payload.issue.id`. */
  field: string;
  /** What is wrong with it, for the test name. */
  problem: string;
  input: Json;
  /**
   * `failure path`: found after the workflow archived the event (issue-triage's issue fields), so it is
   * recorded and reported like any failure; a list of task names: found by the read-only check calls a
   * workflow makes before any work where ASL cannot check a string (warehouse-load's `CheckExpression`,
   * object-mirror's `CheckAzureContainer`), so those are the only tasks entered; otherwise no task runs.
   */
  via?: 'failure path' | string[];
}

const MISSING = Symbol('missing');

/** A copy of `base` with the dot-separated `path` set to `value`, or removed for MISSING. */
function withField(base: Json, path: string, value: Json | typeof MISSING): Json {
  const copy = structuredClone(base);
  const keys = path.split('.');
  const last = keys.pop() ?? '';
  let target = copy as Record<string, Json>;
  for (const key of keys) target = target[key] as Record<string, Json>;
  if (value === MISSING) delete target[last];
  else target[last] = value;
  return copy;
}

/** Rows for one field: each `[problem, value]` put into `base` at `path`. */
function badField(
  base: Json,
  path: string,
  cases: [string, Json | typeof MISSING][],
  via?: 'failure path' | string[],
): BadInput[] {
  return cases.map(([problem, value]) => ({
    field: `input.${path}`,
    problem,
    input: withField(base, path, value),
    ...(via === undefined ? {} : { via }),
  }));
}

/** The input itself as every JSON value that is not an object. */
function notAnObject(sample: Json): BadInput[] {
  const values: [string, Json][] = [
    ['a string', JSON.stringify(sample)],
    ['a number', 42],
    ['a boolean', true],
    ['null', null],
    ['an array', [sample]],
    ['an empty array', []],
  ];
  return values.map(([problem, input]) => ({ field: 'input', problem, input }));
}

const BROADCAST: Json = { channels: ['#general', 'C0RANDOM'], text: 'Maintenance at 18:00 UTC' };

const NIGHTLY_EXPORT: Json = { channel: '#random', correlationId: 'export-validation' };

const INCIDENT_RESPONSE: Json = {
  action: 'trigger',
  alertId: 'alert-validation',
  summary: 'Disk full on db-1',
  source: 'db-1',
  severity: 'critical',
  escalationPolicyId: 'PT20YPA',
  notifier: 'slack',
  channel: '#alerts',
  tracker: 'jira',
  project: 'OPS',
};

/** The ways incident-response's required string fields can be wrong. */
const INCIDENT_RESPONSE_STRING: [string, Json | typeof MISSING][] = [
  ['missing', MISSING],
  ['null', null],
  ['a number', 7],
  ['an empty string', ''],
];

/** ORDER_FULFILMENT: the Stripe connector's envelope of a payment_intent.succeeded event. */
const ORDER_FULFILMENT: Json = {
  provider: 'stripe',
  name: 'payment-intent-succeeded',
  event: 'payment_intent.succeeded',
  deliveryId: 'evt_validation',
  correlationId: 'validation-order',
  payload: {
    id: 'evt_validation',
    type: 'payment_intent.succeeded',
    data: { object: { id: 'pi_validation', object: 'payment_intent' } },
  },
};

const WAREHOUSE_LOAD: Json = {
  prefix: 'warehouse/validation/',
  table: 'warehouse_validation',
  expression: '$',
};

const OBJECT_MIRROR: Json = {
  key: 'mirror/validation.csv',
  azureContainer: 'validation',
  gcsBucket: 'validation',
};

const ISSUE_FANOUT: Json = {
  repository: 'octo/validation',
  number: 7,
  title: 'Crash on start',
  url: 'https://github.com/octo/validation/issues/7',
  labels: ['bug'],
};

function triageEnvelope(number: number): Json {
  return {
    provider: 'github',
    name: 'issue-opened',
    event: 'issues',
    action: 'opened',
    deliveryId: randomUUID(),
    correlationId: `validation-${number}`,
    receivedAt: '2026-11-26T09:00:01.000Z',
    source: 'octo/validation',
    payload: issuesPayload({
      action: 'opened',
      repository: 'octo/validation',
      number,
      title: 'Valid',
    }) as Json,
  };
}

const ISSUE_TRIAGE = triageEnvelope(1);

const TELEMETRY_ALERT: Json = {
  deviceId: 'monitor-validation',
  metric: 'heart_rate',
  value: 72,
  timestamp: '2026-12-06T09:00:00Z',
};

/** The same reading as the AWS IoT Core rule delivers it: the device named by the topic. */
const TELEMETRY_ALERT_FROM_IOT: Json = {
  topic: 'devices/monitor-validation/telemetry',
  metric: 'heart_rate',
  value: 72,
  timestamp: '2026-12-06T09:00:00Z',
  receivedAt: 1_765_011_600_000,
};

const RAG_INGEST: Json = {
  keys: ['docs/validation.md'],
  embeddingProvider: 'openai',
  vectorStore: 'qdrant',
  collection: 'validation',
};

const RAG_ANSWER: Json = {
  question: 'What is validated?',
  embeddingProvider: 'bedrock',
  chatProvider: 'anthropic',
  vectorStore: 'pgvector',
  collection: 'validation',
};

const ISSUE_LABEL: Json = {
  owner: 'octo',
  repo: 'hello',
  number: 7,
  title: 'Crash on start',
  body: 'Stack trace attached',
  provider: 'openai',
};

/** Rows for a required non-empty string field. */
const NOT_A_STRING: [string, Json | typeof MISSING][] = [
  ['missing', MISSING],
  ['null', null],
  ['a number', 7],
  ['an empty string', ''],
];

const BAD_INPUTS: Record<WorkflowName, BadInput[]> = {
  'telemetry-alert': [
    ...notAnObject(TELEMETRY_ALERT),
    ...badField(TELEMETRY_ALERT, 'deviceId', NOT_A_STRING),
    ...badField(TELEMETRY_ALERT, 'metric', [
      ['missing', MISSING],
      ['a number', 7],
      ['an empty string', ''],
    ]),
    ...badField(TELEMETRY_ALERT, 'value', [
      ['missing', MISSING],
      ['a string', '72'],
      ['null', null],
    ]),
    ...badField(TELEMETRY_ALERT, 'timestamp', [
      ['missing', MISSING],
      ['not a timestamp', 'yesterday'],
      ['a number', 1_765_011_600],
      ['30 February (the audit case)', '2026-02-30T09:01:00Z'],
      ['31 April', '2026-04-31T09:01:00+02:00'],
      ['29 February outside a leap year', '2026-02-29T09:01:00Z'],
      ['29 February 1900 (a century, not a leap year)', '1900-02-29T09:01:00Z'],
    ]),
    ...badField(TELEMETRY_ALERT, 'unit', [
      ['a number', 1],
      ['an empty string', ''],
    ]),
    ...badField(TELEMETRY_ALERT, 'rulesKey', [
      ['an object', { key: 'rules.json' }],
      ['an empty string', ''],
    ]),
    ...badField(TELEMETRY_ALERT, 'correlationId', [['a number', 42]]),
    ...badField(TELEMETRY_ALERT_FROM_IOT, 'timestamp', [
      ['30 February, with a topic', '2026-02-30T09:00:00Z'],
    ]),
    ...badField(TELEMETRY_ALERT_FROM_IOT, 'topic', [
      ['a number', 7],
      ['another topic', 'sensors/7/telemetry'],
      ['no thing', 'devices//telemetry'],
      ['two levels', 'devices/a/b/telemetry'],
    ]),
  ],
  'rag-ingest': [
    ...notAnObject(RAG_INGEST),
    ...badField(RAG_INGEST, 'keys', [
      ['missing', MISSING],
      ['a string', 'docs/validation.md'],
      ['an object', { 0: 'docs/validation.md' }],
      ['an empty array', []],
      ['101 keys', Array.from({ length: 101 }, () => 'docs/a.md')],
      ['an array with an empty string', ['docs/a.md', '']],
      ['an array with a number', [42]],
    ]),
    ...badField(RAG_INGEST, 'embeddingProvider', [
      ['missing', MISSING],
      ['a number', 1],
      ['anthropic (no embeddings API)', 'anthropic'],
    ]),
    ...badField(RAG_INGEST, 'vectorStore', [
      ['missing', MISSING],
      ['null', null],
      ['not a vector store', 'redis'],
    ]),
    ...badField(RAG_INGEST, 'collection', NOT_A_STRING),
    ...badField(RAG_INGEST, 'correlationId', [['a number', 42]]),
  ],
  'issue-label': [
    ...notAnObject(ISSUE_LABEL),
    ...badField(ISSUE_LABEL, 'owner', NOT_A_STRING),
    ...badField(ISSUE_LABEL, 'repo', NOT_A_STRING),
    ...badField(ISSUE_LABEL, 'number', [
      ['missing', MISSING],
      ['a string', '7'],
      ['zero', 0],
      ['a fraction', 7.5],
      ['1e20 (the audit case)', 1e20],
      ['above 2147483647', 2_147_483_648],
    ]),
    ...badField(ISSUE_LABEL, 'title', NOT_A_STRING),
    ...badField(ISSUE_LABEL, 'body', [
      ['a number', 7],
      ['an object', { text: 'x' }],
    ]),
    ...badField(ISSUE_LABEL, 'provider', [
      ['missing', MISSING],
      ['a boolean', true],
      ['not a provider', 'gemini'],
    ]),
    ...badField(ISSUE_LABEL, 'correlationId', [['a number', 42]]),
  ],
  'rag-answer': [
    ...notAnObject(RAG_ANSWER),
    ...badField(RAG_ANSWER, 'question', NOT_A_STRING),
    ...badField(RAG_ANSWER, 'embeddingProvider', [
      ['missing', MISSING],
      ['not a provider', 'cohere'],
    ]),
    ...badField(RAG_ANSWER, 'chatProvider', [
      ['missing', MISSING],
      ['a boolean', true],
      ['not a provider', 'gemini'],
    ]),
    ...badField(RAG_ANSWER, 'vectorStore', [
      ['missing', MISSING],
      ['not a vector store', 'pgvector2'],
    ]),
    ...badField(RAG_ANSWER, 'collection', NOT_A_STRING),
    ...badField(RAG_ANSWER, 'correlationId', [['a number', 42]]),
  ],
  'incident-response': [
    ...notAnObject(INCIDENT_RESPONSE),
    {
      field: 'input',
      problem: 'an EventBridge event whose detail is a string',
      input: { 'detail-type': 'Alert', source: 'monitoring', detail: 'disk full' },
    },
    {
      field: 'input.Message',
      problem: 'an SNS notification whose Message is JSON of an array',
      input: { Type: 'Notification', MessageId: 'm-1', Message: '["disk full"]' },
    },
    {
      field: 'input.Message',
      problem: 'an SNS notification whose Message is plain text, not JSON',
      input: { Type: 'Notification', MessageId: 'm-2', Message: 'ALARM: disk full on db-1' },
    },
    {
      field: 'input.payload.event.data',
      problem: 'a PagerDuty incident.triggered webhook whose incident has no title',
      input: {
        provider: 'pagerduty',
        event: 'incident.triggered',
        deliveryId: '01DEN3RG2EQSB0FSDCAAUHK5WL',
        correlationId: 'c-1',
        payload: {
          event: {
            id: '01DEN3RG2EQSB0FSDCAAUHK5WL',
            event_type: 'incident.triggered',
            data: { id: 'PGR0VU2', escalation_policy: { id: 'PT20YPA' } },
          },
        },
      },
    },
    ...badField(INCIDENT_RESPONSE, 'action', [
      ['missing', MISSING],
      ['a number', 1],
      ['not an action', 'page'],
    ]),
    ...badField(INCIDENT_RESPONSE, 'alertId', INCIDENT_RESPONSE_STRING),
    ...badField(INCIDENT_RESPONSE, 'summary', INCIDENT_RESPONSE_STRING),
    ...badField(INCIDENT_RESPONSE, 'source', INCIDENT_RESPONSE_STRING),
    ...badField(INCIDENT_RESPONSE, 'severity', [
      ['missing', MISSING],
      ['a number', 1],
      ['not a PagerDuty severity', 'high'],
    ]),
    ...badField(INCIDENT_RESPONSE, 'escalationPolicyId', INCIDENT_RESPONSE_STRING),
    ...badField(INCIDENT_RESPONSE, 'notifier', [
      ['missing', MISSING],
      ['null', null],
      ['not a notifier', 'email'],
    ]),
    ...badField(INCIDENT_RESPONSE, 'channel', INCIDENT_RESPONSE_STRING),
    ...badField(INCIDENT_RESPONSE, 'tracker', [
      ['missing', MISSING],
      ['a number', 3],
      ['not a tracker', 'github'],
    ]),
    ...badField(INCIDENT_RESPONSE, 'project', INCIDENT_RESPONSE_STRING),
    ...badField(INCIDENT_RESPONSE, 'correlationId', [['a number', 42]]),
  ],
  'order-fulfilment': [
    ...notAnObject(ORDER_FULFILMENT),
    ...badField(ORDER_FULFILMENT, 'event', [
      ['missing', MISSING],
      ['a number', 1],
      ['an empty string', ''],
    ]),
    ...badField(ORDER_FULFILMENT, 'deliveryId', [
      ['missing', MISSING],
      ['null', null],
    ]),
    ...badField(ORDER_FULFILMENT, 'correlationId', [['a number', 42]]),
    ...badField(ORDER_FULFILMENT, 'payload', [
      ['missing', MISSING],
      ['a string', '{"id":"evt_validation"}'],
      ['an array', [{ id: 'evt_validation' }]],
    ]),
    ...badField(ORDER_FULFILMENT, 'payload.data.object.id', [
      ['missing', MISSING],
      ['a number', 42],
      ['an empty string', ''],
    ]),
  ],
  broadcast: [
    ...notAnObject(BROADCAST),
    ...badField(BROADCAST, 'channels', [
      ['missing', MISSING],
      ['null', null],
      ['a string (the issue 10 case)', '#general'],
      ['a number', 7],
      ['an object', { 0: '#general' }],
      ['an empty array', []],
      ['101 channels', Array.from({ length: 101 }, () => '#general')],
      ['an array with a number', ['#general', 42]],
      ['an array with an empty string', ['#general', '']],
      ['an array with null', [null]],
      ['an array of arrays', [['#general']]],
    ]),
    ...badField(BROADCAST, 'text', [
      ['missing', MISSING],
      ['null', null],
      ['a number', 42],
      ['an empty string', ''],
      ['an array', ['hi']],
    ]),
    ...badField(BROADCAST, 'correlationId', [
      ['a number', 42],
      ['an object', { id: 'chg-42' }],
    ]),
  ],
  'nightly-export': [
    ...notAnObject(NIGHTLY_EXPORT),
    ...badField(NIGHTLY_EXPORT, 'channel', [
      ['a number', 5],
      ['null', null],
      ['an empty string', ''],
    ]),
    ...badField(NIGHTLY_EXPORT, 'alertsChannel', [
      ['a boolean', false],
      ['an empty string', ''],
    ]),
    ...badField(NIGHTLY_EXPORT, 'pageRows', [
      ['a string', '500'],
      ['zero', 0],
      ['negative', -1],
      ['a fraction', 2.5],
    ]),
    ...badField(NIGHTLY_EXPORT, 'pageBytes', [
      ['null', null],
      ['zero', 0],
      ['a fraction', 1024.5],
    ]),
    ...badField(NIGHTLY_EXPORT, 'maxParts', [
      ['a string', '64'],
      ['zero', 0],
      ['a fraction', 1.5],
    ]),
    ...badField(NIGHTLY_EXPORT, 'linkExpiresSeconds', [
      ['an object', { seconds: 60 }],
      ['zero', 0],
      ['more than 7 days', 604_801],
      ['a fraction', 3600.5],
    ]),
    ...badField(NIGHTLY_EXPORT, 'correlationId', [['a number', 42]]),
  ],
  'warehouse-load': [
    ...notAnObject(WAREHOUSE_LOAD),
    ...badField(WAREHOUSE_LOAD, 'prefix', NOT_A_STRING),
    ...badField(WAREHOUSE_LOAD, 'table', [
      ['missing', MISSING],
      ['an array', ['events']],
      ['an empty string', ''],
    ]),
    ...badField(WAREHOUSE_LOAD, 'expression', [
      ['missing', MISSING],
      ['an object', { id: 'id' }],
      ['an empty string', ''],
    ]),
    ...badField(
      WAREHOUSE_LOAD,
      'expression',
      [
        ['a syntax error (the audit case)', '{ bad jsonata'],
        ['over 20,000 characters', `$${'x'.repeat(20_000)}`],
      ],
      ['CheckExpression'],
    ),
    ...badField(WAREHOUSE_LOAD, 'channel', [
      ['a number', 5],
      ['an empty string', ''],
    ]),
    ...badField(WAREHOUSE_LOAD, 'correlationId', [['a number', 42]]),
  ],
  'object-mirror': [
    ...notAnObject(OBJECT_MIRROR),
    ...badField(OBJECT_MIRROR, 'key', NOT_A_STRING),
    ...badField(OBJECT_MIRROR, 'azureContainer', [
      ['an object', { name: 'validation' }],
      ['a number', 7],
      ['an empty string', ''],
    ]),
    ...badField(OBJECT_MIRROR, 'gcsBucket', [
      ['an array', ['validation']],
      ['a boolean', true],
      ['an empty string', ''],
    ]),
    ...badField(
      OBJECT_MIRROR,
      'azureContainer',
      [
        ['not a container name (the audit case)', 'NO_such!'],
        ['two characters', 'ab'],
        ['an upper-case letter', 'Mirror'],
        ['two hyphens in a row, which Azure refuses (the audit case)', 'no--such'],
        ['a dot, which Azure refuses', 'my.mirror'],
      ],
      ['CheckAzureContainer'],
    ),
    ...badField(
      withField(OBJECT_MIRROR, 'azureContainer', MISSING),
      'gcsBucket',
      [
        ['not a bucket name', 'NO_such!'],
        ['64 characters', 'b'.repeat(64)],
      ],
      ['CheckGcsBucket'],
    ),
    ...badField(OBJECT_MIRROR, 'correlationId', [['a number', 42]]),
  ],
  'issue-fanout': [
    ...notAnObject(ISSUE_FANOUT),
    ...badField(ISSUE_FANOUT, 'repository', [
      ['missing', MISSING],
      ['null', null],
      ['a number', 7],
      ['an empty string', ''],
    ]),
    ...badField(ISSUE_FANOUT, 'number', [
      ['missing', MISSING],
      ['a string', '7'],
      ['zero', 0],
      ['a fraction (the audit case)', 42.5],
      ['an exponent', 1e21],
      ['above 2147483647', 2_147_483_648],
    ]),
    ...badField(ISSUE_FANOUT, 'title', [
      ['missing', MISSING],
      ['a number', 7],
      ['an empty string', ''],
    ]),
    ...badField(ISSUE_FANOUT, 'url', [
      ['missing', MISSING],
      ['an array', ['https://github.com/octo/validation/issues/7']],
      ['an empty string', ''],
    ]),
    ...badField(ISSUE_FANOUT, 'labels', [
      ['a string', 'bug'],
      ['a number', 1],
      ['an object', { 0: 'bug' }],
      ['an array of a number, an object and null (the audit case)', [1, { a: 'security' }, null]],
      ['an array with an empty string', ['bug', '']],
    ]),
    ...badField(ISSUE_FANOUT, 'correlationId', [['a number', 42]]),
  ],
  'issue-triage': [
    ...notAnObject({ event: 'issues' }),
    ...badField(ISSUE_TRIAGE, 'event', [
      ['missing', MISSING],
      ['a number', 1],
      ['an empty string', ''],
    ]),
    ...badField(ISSUE_TRIAGE, 'deliveryId', [
      ['missing', MISSING],
      ['null', null],
      ['an empty string', ''],
    ]),
    ...badField(ISSUE_TRIAGE, 'correlationId', [
      ['missing', MISSING],
      ['a number', 42],
    ]),
    ...badField(ISSUE_TRIAGE, 'action', [['an object', { name: 'opened' }]]),
    ...badField(ISSUE_TRIAGE, 'payload', [
      ['missing', MISSING],
      ['null', null],
      ['a string', '{"action":"opened"}'],
      ['an array', [{ action: 'opened' }]],
    ]),
    ...badField(
      ISSUE_TRIAGE,
      'payload.repository.full_name',
      [
        ['missing', MISSING],
        ['a number', 42],
      ],
      'failure path',
    ),
    ...badField(ISSUE_TRIAGE, 'payload.issue.number', [['a string', '7']], 'failure path'),
    ...badField(ISSUE_TRIAGE, 'payload.issue.id', [['missing', MISSING]], 'failure path'),
    ...badField(ISSUE_TRIAGE, 'payload.issue.title', [['null', null]], 'failure path'),
    ...badField(ISSUE_TRIAGE, 'payload.issue.html_url', [['a number', 5]], 'failure path'),
    ...badField(ISSUE_TRIAGE, 'payload.issue.state', [['missing', MISSING]], 'failure path'),
    ...badField(ISSUE_TRIAGE, 'payload.issue.user.login', [['missing', MISSING]], 'failure path'),
    ...badField(ISSUE_TRIAGE, 'payload.issue.created_at', [['not a timestamp', 'yesterday']], 'failure path'),
    ...badField(ISSUE_TRIAGE, 'payload.issue.updated_at', [['missing', MISSING]], 'failure path'),
  ],
};

/** The fields a definition's ValidationErrors name (`input.channels must be ...` names `input.channels`). */
function validatedFields(definition: AslDefinition): string[] {
  const fields = new Set<string>();
  walkStates(definition, (state) => {
    const result = (state.Type === 'Pass' ? state['Result'] : undefined) as
      | Record<string, unknown>
      | undefined;
    const failure = state.Type === 'Fail' ? state : result;
    if (failure?.['Error'] !== 'ValidationError') return;
    const field = /^(input\S*) must /.exec(String(failure['Cause']))?.[1];
    fields.add(field ?? `(a Cause that names no field: ${String(failure['Cause'])})`);
  });
  return [...fields].sort();
}

let world: WorkflowWorld;

beforeAll(async () => {
  world = await startWorkflowWorld();
}, 240_000);

afterAll(async () => {
  await world?.close();
});

/** Starts an execution with the input as given (any JSON value) and waits for its end. */
async function execute(workflow: WorkflowName, input: Json) {
  const name = `validation-${randomUUID()}`;
  const { executionArn } = await world.sfn.send(
    new StartExecutionCommand({
      stateMachineArn: stateMachineArn(workflow),
      name,
      input: JSON.stringify(input),
    }),
  );
  return { name, arn: executionArn ?? '', execution: await finished(world, executionArn ?? '') };
}

/** The names of the task states an execution entered. */
async function tasksEntered(arn: string): Promise<string[]> {
  const { events = [] } = await world.sfn.send(
    new GetExecutionHistoryCommand({ executionArn: arn, maxResults: 1000 }),
  );
  return events
    .filter((event) => event.type === 'TaskStateEntered')
    .map((event) => event.stateEnteredEventDetails?.name ?? '');
}

describe.each(WORKFLOWS.map(({ name }) => name))('Workflow input validation: %s', (workflow) => {
  const rows = BAD_INPUTS[workflow];

  it('has a bad-input table covering the input itself and exactly the fields the definition validates', async () => {
    // Prepare
    const definition = await loadDefinition(workflow);

    // Act
    const covered = [...new Set(rows.map((row) => row.field))].sort();

    // Assess
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter((row) => row.field === 'input').length).toBeGreaterThanOrEqual(6);
    expect(covered).toEqual(validatedFields(definition));
  });

  it.each(rows)('fails $field as $problem with a ValidationError naming it', async (row) => {
    // Prepare
    const postsBefore = world.slack.requestsFor('chat.postMessage').length;

    // Act
    const { name, arn, execution } = await execute(workflow, row.input);

    // Assess
    expect(execution).toMatchObject({ status: 'FAILED', error: 'ValidationError' });
    expect(execution.cause).toMatch(new RegExp(`^${row.field.replaceAll('.', '\\.')} must `));
    if (row.via === 'failure path') {
      // Archived first, then recorded and reported like any failure.
      expect(await tasksEntered(arn)).toEqual(['ArchiveEvent', 'RecordFailure', 'NotifyFailure']);
      expect(await readObject(world, `failures/${workflow}/${name}.json`)).toContain(row.field);
    } else if (row.via !== undefined) {
      expect(await tasksEntered(arn)).toEqual(row.via);
      expect(world.slack.requestsFor('chat.postMessage').length).toBe(postsBefore);
    } else {
      expect(await tasksEntered(arn)).toEqual([]);
      expect(world.slack.requestsFor('chat.postMessage').length).toBe(postsBefore);
    }
  });
});

describe('Workflow input validation: good inputs still succeed', () => {
  it('broadcast: 100 channels (the most), a correlation id, and the execution name without one', async () => {
    // Prepare
    const text = `Boundary (${randomUUID()})`;
    const hundred = Array.from({ length: 100 }, (_, index) => (index % 2 === 0 ? '#general' : 'C0RANDOM'));

    // Act
    const most = await execute('broadcast', { channels: hundred, text, correlationId: 'chg-100' });
    const unnamed = await execute('broadcast', { channels: ['C0ALERTS'], text });

    // Assess
    expect(most.execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(most.execution.output ?? '{}')).toMatchObject({
      correlationId: 'chg-100',
      deliveredCount: 100,
      failedCount: 0,
    });
    expect(unnamed.execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(unnamed.execution.output ?? '{}')).toMatchObject({
      correlationId: unnamed.name,
      delivered: ['C0ALERTS'],
    });
  }, 60_000);

  it('nightly-export: no settings, the schedule input, and every setting at its bound', async () => {
    // Prepare: an empty table (the workflow creates it) is one empty part, within maxParts 1.
    await world.db.query('drop table if exists github_issues');

    // Act
    const defaults = await execute('nightly-export', {});
    const scheduled = await execute('nightly-export', { trigger: 'schedule' });
    const bounds = await execute('nightly-export', {
      channel: '#random',
      alertsChannel: '#alerts',
      pageRows: 1,
      pageBytes: 1,
      maxParts: 1,
      linkExpiresSeconds: 604_800,
      correlationId: 'export-bounds',
    });

    // Assess
    for (const { execution } of [defaults, scheduled, bounds]) expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(defaults.execution.output ?? '{}')).toMatchObject({
      correlationId: defaults.name,
      slack: { channel: 'C0GENERAL' },
    });
    expect(JSON.parse(bounds.execution.output ?? '{}')).toMatchObject({
      correlationId: 'export-bounds',
      slack: { channel: 'C0RANDOM' },
    });
  }, 60_000);

  it('issue-triage: an opened issue is triaged; an event without an action and another action are ignored', async () => {
    // Prepare
    const opened = triageEnvelope(2);
    const push = {
      ...(withField(triageEnvelope(3), 'action', MISSING) as object),
      event: 'push',
      payload: {},
    };
    const labeled = withField(triageEnvelope(4), 'action', 'labeled');

    // Act
    const triaged = await execute('issue-triage', opened);
    const ignored = await Promise.all([execute('issue-triage', push), execute('issue-triage', labeled)]);

    // Assess
    expect(triaged.execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(triaged.execution.output ?? '{}')).toMatchObject({
      issue: { repository: 'octo/validation', number: 2, author: 'octocat' },
      upsert: { rowCount: 1 },
    });
    for (const { execution, arn } of ignored) {
      expect(execution.status).toBe('SUCCEEDED');
      expect(await tasksEntered(arn)).toEqual([]);
    }
  });
});
