/**
 * The workflow definitions as files: valid Amazon States Language (asl-validator, and the local runner's
 * own parser, once CloudFormation would have put the partition in), the retry, catch and idempotency-key
 * rules of shared/workflows/lint.ts against the real function timeouts and the connectors' declared
 * writes, no hard-coded partition, and their wiring in serverless.yml (every file deployed, the schedule,
 * the GitHub connector's target).
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { captureLogs } from '@circle-core/core/testing';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { discoverFunctions } from '../../scripts/lib/functions.ts';
import { normalizeName } from '../../scripts/local/config/intrinsics.ts';
import { type AslDefinition, walkStates } from '../../shared/workflows/asl.ts';
import { definitionFile, inPartition, loadDefinition, WORKFLOWS } from '../../shared/workflows/catalog.ts';
import { lintDefinition } from '../../shared/workflows/lint.ts';

const require = createRequire(import.meta.url);
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};

const root = resolve(import.meta.dirname, '../..');

interface ServerlessYaml {
  plugins: string[];
  custom: {
    github?: { eventsStateMachineArn?: unknown };
    stripe?: { eventsStateMachineArn?: unknown };
    pagerduty?: { eventsStateMachineArn?: unknown };
  };
  stepFunctions: {
    validate?: boolean;
    stateMachines: Record<
      string,
      {
        id: string;
        definition: string;
        events?: { schedule?: { rate: string; enabled: boolean; input?: unknown } }[];
      }
    >;
  };
}

/** Workflows without a task that changes something. */
const READ_ONLY = new Set<string>(['rag-answer']);

const serverless = parse(await readFile(join(root, 'serverless.yml'), 'utf8')) as ServerlessYaml;

/** Each function's timeout from its function.yml, keyed by the logical id serverless gives the function. */
async function functionTimeouts(): Promise<Record<string, number>> {
  const timeouts: Record<string, number> = {};
  // object-mirror's stores and its DynamoDB record.
  const mirror = ['storage/azure-blob', 'storage/gcs', 'database/dynamodb'];
  const ai = ['openai', 'anthropic', 'bedrock', 'pgvector', 'qdrant', 'pinecone'].map((name) => `ai/${name}`);
  for (const folder of [
    'storage/s3',
    'database/postgres',
    'notifications/slack',
    'devops/github',
    // order-fulfilment's providers.
    'finance/stripe',
    'retail/shopify',
    'notifications/ses',
    // incident-response's providers.
    'devops/pagerduty',
    'devops/jira',
    'devops/gitlab',
    'notifications/teams',
    'notifications/twilio',
    ...ai,
    ...mirror,
    // warehouse-load's load and check query.
    'data/transform',
    'analytics/duckdb',
  ]) {
    const text = await readFile(join(root, 'functions', folder, 'function.yml'), 'utf8');
    const { function: fn } = parse(text) as { function: Record<string, { timeout: number }> };
    for (const [key, { timeout }] of Object.entries(fn)) {
      timeouts[`${normalizeName(key)}LambdaFunction`] = timeout;
    }
  }
  return timeouts;
}

/**
 * Each connector's write operations (`effect: 'write'`), keyed by the logical id serverless gives its
 * function: what a task must pass an idempotency key to.
 */
async function writeOperations(): Promise<Record<string, string[]>> {
  const writes: Record<string, string[]> = {};
  for (const fn of await discoverFunctions(root)) {
    // Importing a connector runs its cold start, which logs its (here missing) configuration.
    const logs = captureLogs();
    const { connector } = (await import(fn.entry).finally(() => logs.restore())) as {
      connector: { runtime: { operations: Record<string, { effect?: string }> } };
    };
    writes[`${normalizeName(fn.name)}LambdaFunction`] = Object.entries(connector.runtime.operations)
      .filter(([, operation]) => operation.effect === 'write')
      .map(([operation]) => operation);
  }
  return writes;
}

/** The definition as the local stack runs it: the partition in, every `Fn::GetAtt` FunctionName an ARN. */
function resolved(definition: AslDefinition): StateMachineDefinition {
  return JSON.parse(JSON.stringify(inPartition(definition)), (_key, value: unknown) => {
    const target = (value as { 'Fn::GetAtt'?: [string, string] } | null)?.['Fn::GetAtt'];
    return target === undefined ? value : `arn:aws:lambda:us-east-1:000000000000:function:${target[0]}`;
  }) as StateMachineDefinition;
}

describe('Workflow definitions', () => {
  const timeouts = functionTimeouts();
  const writes = writeOperations();

  describe.each(WORKFLOWS.map((workflow) => workflow.name))('%s', (name) => {
    it('is valid Amazon States Language (asl-validator), as CloudFormation deploys it', async () => {
      // Act
      const result = aslValidator(inPartition(await loadDefinition(name)));

      // Assess
      expect(result.errorsText('\n')).toBe('');
      expect(result.isValid).toBe(true);
    });

    it('follows the workflow rules (input validation first, retries, catches, time budgets, idempotency keys) against the real function timeouts and writes', async () => {
      // Prepare
      const options = { functionTimeoutSeconds: await timeouts, writeOperations: await writes };

      // Act
      const issues = lintDefinition(await loadDefinition(name), options);

      // Assess
      expect(Object.values(options.writeOperations).flat().length).toBeGreaterThan(0);
      expect(issues).toEqual([]);
    });

    it('passes an idempotency key to every task that writes, and hard-codes no partition', async () => {
      // Prepare
      const definition = await loadDefinition(name);
      const writing = Object.entries(await writes);
      const keys: unknown[] = [];

      // Act
      walkStates(definition, (state) => {
        const payload = state.Parameters?.['Payload'] as Record<string, unknown> | undefined;
        const fn = (state.Parameters?.['FunctionName'] as { 'Fn::GetAtt'?: string[] } | undefined)?.[
          'Fn::GetAtt'
        ]?.[0];
        const write = writing.some(([id, ops]) => id === fn && ops.includes(String(payload?.['operation'])));
        if (write) keys.push(payload?.['idempotencyKey.$']);
      });

      // Assess: rag-answer only reads (embed, query, a structured answer), every other workflow writes.
      if (READ_ONLY.has(name)) expect(keys).toEqual([]);
      else expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) expect(key).toMatch(/^States\.Format\('\{\}:[^']*', \$\$\.Execution\.Id/);
      expect(JSON.stringify(definition)).not.toMatch(/arn:aws[\w-]*:/);
    });

    it('parses in aws-local-stepfunctions (the local runner), JSONPath only', async () => {
      // Prepare
      const definition = await loadDefinition(name);

      // Act
      const machine = () => new StateMachine(resolved(definition));

      // Assess
      expect(machine).not.toThrow();
      expect(JSON.stringify(definition)).not.toMatch(/JSONata|"Arguments"|"Output"|"Assign"/);
    });

    it('passes the correlation id on to every task', async () => {
      // Prepare
      const payloads: unknown[] = [];

      // Act
      walkStates(await loadDefinition(name), (state) => {
        if (state.Type === 'Task') payloads.push(state.Parameters?.['Payload']);
      });

      // Assess
      expect(payloads.length).toBeGreaterThan(0);
      for (const payload of payloads) expect(payload).toMatchObject({ 'correlationId.$': '$.correlationId' });
    });
  });

  it('finds a broken definition (the validator is not a no-op)', async () => {
    // Prepare
    const definition = await loadDefinition('broadcast');
    definition.StartAt = 'NoSuchState';

    // Act
    const result = aslValidator(definition);

    // Assess
    expect(result.isValid).toBe(false);
  });

  it('creates github_issues with the same statements wherever a workflow needs the table', async () => {
    // Prepare
    const ensure = async (name: 'issue-triage' | 'nightly-export'): Promise<unknown> =>
      (await loadDefinition(name)).States['EnsureTable']?.Parameters?.['Payload'];

    // Act
    const [triage, nightly] = await Promise.all([ensure('issue-triage'), ensure('nightly-export')]);

    // Assess
    expect(triage).toEqual(nightly);
    expect(JSON.stringify(triage)).toContain('CREATE TABLE IF NOT EXISTS github_issues');
  });
});

describe('Workflow deployment (serverless.yml)', () => {
  it('deploys every definition file of shared/workflows, with the logical id the catalog names', async () => {
    // Prepare
    const files = (await readdir(join(root, 'shared', 'workflows'))).filter((file) =>
      file.endsWith('.asl.json'),
    );
    const machines = serverless.stepFunctions.stateMachines;

    // Assess
    expect(files.sort()).toEqual(WORKFLOWS.map(({ name }) => `${name}.asl.json`).sort());
    expect(Object.keys(machines).sort()).toEqual(WORKFLOWS.map(({ name }) => name).sort());
    for (const { name, logicalId } of WORKFLOWS) {
      expect(machines[name]?.id).toBe(logicalId);
      expect(machines[name]?.definition).toBe(`\${file(shared/workflows/${name}.asl.json)}`);
      expect(definitionFile(name)).toBe(join(root, 'shared', 'workflows', `${name}.asl.json`));
    }
    // asl-validator runs on package through our plugin, with the partition put in (the plugin's own check
    // cannot read ${AWS::Partition}).
    expect(serverless.stepFunctions.validate).toBe(false);
    expect(serverless.plugins).toContain('./scripts/serverless/validate-workflows.cjs');
  });

  it('starts each workflow by the trigger it names', () => {
    // Prepare
    const machines = serverless.stepFunctions.stateMachines;
    const triggered = (trigger: string) => WORKFLOWS.filter((w) => w.trigger === trigger).map((w) => w.name);

    // Assess
    expect(triggered('schedule')).toEqual(['nightly-export', 'warehouse-load']);
    // On in every stage but dev (params.dev.schedulesEnabled); test/packaging/operations.test.ts reads both.
    expect(machines['nightly-export']?.events?.[0]?.schedule).toMatchObject({
      rate: 'cron(0 2 * * ? *)',
      enabled: `\${strToBool(\${param:schedulesEnabled})}`,
    });
    // warehouse-load: hourly, off in dev the same way; its input names the prefix, table and mapping.
    expect(machines['warehouse-load']?.events?.[0]?.schedule).toMatchObject({
      rate: 'cron(15 * * * ? *)',
      enabled: `\${strToBool(\${param:schedulesEnabled})}`,
      input: { trigger: 'schedule', prefix: 'warehouse/incoming/', table: 'warehouse_events' },
    });
    expect(triggered('github-webhook')).toEqual(['issue-triage']);
    expect(serverless.custom.github?.eventsStateMachineArn).toEqual({ Ref: 'IssueTriageStateMachine' });
    expect(triggered('stripe-webhook')).toEqual(['order-fulfilment']);
    expect(serverless.custom.stripe?.eventsStateMachineArn).toEqual({ Ref: 'OrderFulfilmentStateMachine' });
    // incident-response: also IncidentAlertRule (test/workflows/template.test.ts) and on demand.
    expect(triggered('pagerduty-webhook')).toEqual(['incident-response']);
    expect(serverless.custom.pagerduty?.eventsStateMachineArn).toEqual({
      Ref: 'IncidentResponseStateMachine',
    });
    expect(machines['broadcast']?.events).toBeUndefined();
  });
});
