/**
 * The workflow definitions as files: valid Amazon States Language (asl-validator, and the local runner's
 * own parser), the retry and catch rules of shared/workflows/lint.ts against the real function timeouts,
 * and their wiring in serverless.yml (every file deployed, the schedule, the GitHub connector's target).
 */
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type AslDefinition, walkStates } from '../../shared/workflows/asl.ts';
import { definitionFile, loadDefinition, WORKFLOWS } from '../../shared/workflows/catalog.ts';
import { lintDefinition } from '../../shared/workflows/lint.ts';

const require = createRequire(import.meta.url);
const aslValidator = require('asl-validator') as (definition: unknown) => {
  isValid: boolean;
  errorsText: (separator?: string) => string;
};

const root = resolve(import.meta.dirname, '../..');

interface ServerlessYaml {
  custom: { github?: { eventsStateMachineArn?: unknown } };
  stepFunctions: {
    validate?: boolean;
    stateMachines: Record<
      string,
      { id: string; definition: string; events?: { schedule?: { rate: string; enabled: boolean } }[] }
    >;
  };
}

const serverless = parse(await readFile(join(root, 'serverless.yml'), 'utf8')) as ServerlessYaml;

/** Each function's timeout from its function.yml, keyed by the logical id serverless gives the function. */
async function functionTimeouts(): Promise<Record<string, number>> {
  const timeouts: Record<string, number> = {};
  for (const folder of ['storage/s3', 'database/postgres', 'notifications/slack', 'devops/github']) {
    const text = await readFile(join(root, 'functions', folder, 'function.yml'), 'utf8');
    const { function: fn } = parse(text) as { function: Record<string, { timeout: number }> };
    for (const [key, { timeout }] of Object.entries(fn)) {
      timeouts[`${key.charAt(0).toUpperCase()}${key.slice(1)}LambdaFunction`] = timeout;
    }
  }
  return timeouts;
}

/** The definition as the local stack runs it: every `Fn::GetAtt` FunctionName resolved to an ARN. */
function resolved(definition: AslDefinition): StateMachineDefinition {
  return JSON.parse(JSON.stringify(definition), (_key, value: unknown) => {
    const target = (value as { 'Fn::GetAtt'?: [string, string] } | null)?.['Fn::GetAtt'];
    return target === undefined ? value : `arn:aws:lambda:us-east-1:000000000000:function:${target[0]}`;
  }) as StateMachineDefinition;
}

describe('Workflow definitions', () => {
  const timeouts = functionTimeouts();

  describe.each(WORKFLOWS.map((workflow) => workflow.name))('%s', (name) => {
    it('is valid Amazon States Language (asl-validator)', async () => {
      // Act
      const result = aslValidator(await loadDefinition(name));

      // Assess
      expect(result.errorsText('\n')).toBe('');
      expect(result.isValid).toBe(true);
    });

    it('follows the workflow rules (input validation first, retries, catches, time budgets) against the real function timeouts', async () => {
      // Act
      const issues = lintDefinition(await loadDefinition(name), { functionTimeoutSeconds: await timeouts });

      // Assess
      expect(issues).toEqual([]);
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
    expect(serverless.stepFunctions.validate).toBe(true);
  });

  it('starts each workflow by the trigger it names', () => {
    // Prepare
    const machines = serverless.stepFunctions.stateMachines;
    const triggered = (trigger: string) => WORKFLOWS.filter((w) => w.trigger === trigger).map((w) => w.name);

    // Assess
    expect(triggered('schedule')).toEqual(['nightly-export']);
    expect(machines['nightly-export']?.events?.[0]?.schedule).toMatchObject({
      rate: 'cron(0 2 * * ? *)',
      enabled: true,
    });
    expect(triggered('github-webhook')).toEqual(['issue-triage']);
    expect(serverless.custom.github?.eventsStateMachineArn).toEqual({ Ref: 'IssueTriageStateMachine' });
    expect(machines['broadcast']?.events).toBeUndefined();
  });
});
