/**
 * The workflows as deployed: `scripts/package.ts` (build, then `serverless package` offline) into a scratch
 * folder, and the CloudFormation template checked for one state machine per workflow, each with a role of
 * its own that may invoke exactly the connector functions its definition names (no wildcard), the
 * nightly schedule, the GitHub connector allowed to start issue-triage and nothing else, and the Stripe
 * connector order-fulfilment and nothing else.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mergeStage, readPackagedStage } from '../../scripts/lib/stacks.ts';
import { walkStates } from '../../shared/workflows/asl.ts';
import { loadDefinition, WORKFLOWS } from '../../shared/workflows/catalog.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');

/**
 * What serverless-step-functions grants a state machine that logs (loggingConfig) or traces
 * (tracingConfig): CloudWatch Logs delivery and X-Ray actions, which have no resource-level permissions.
 */
const TELEMETRY_ACTIONS = new Set([
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
]);

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: string | string[];
}
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

let scratch: string | undefined;
let output = '';
let resources: Record<string, Resource> = {};

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

function statementsOf(role: Resource | undefined): Statement[] {
  const policies = asArray(role?.Properties['Policies'] as { PolicyDocument: { Statement: Statement[] } }[]);
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

/** The logical id an IAM resource entry points at: `Fn::GetAtt`, a `${x}:*` Fn::Sub over one, or `Ref`. */
function referenced(value: unknown): string {
  const entry = value as Record<string, unknown>;
  const getAtt = entry['Fn::GetAtt'] as string[] | undefined;
  if (getAtt !== undefined) return String(getAtt[0]);
  const sub = entry['Fn::Sub'] as [string, Record<string, unknown>] | undefined;
  if (sub !== undefined) return `${referenced(Object.values(sub[1])[0])}${sub[0].replace(/^\$\{\w+\}/, '')}`;
  if (typeof entry['Ref'] === 'string') return entry['Ref'];
  return JSON.stringify(value);
}

/** The logical id of the IAM role a state machine (`RoleArn`) or a function (`Role`) runs as. */
function roleOf(resource: Resource | undefined): string {
  const role = resource?.Properties['RoleArn'] ?? resource?.Properties['Role'];
  return role === undefined ? '' : referenced(role);
}

/** The functions a definition invokes, by logical id. */
async function invokedFunctions(name: (typeof WORKFLOWS)[number]['name']): Promise<string[]> {
  const ids = new Set<string>();
  walkStates(await loadDefinition(name), (state) => {
    const target = (state.Parameters?.['FunctionName'] as { 'Fn::GetAtt'?: string[] } | undefined)?.[
      'Fn::GetAtt'
    ];
    if (target?.[0] !== undefined) ids.add(target[0]);
  });
  return [...ids].sort();
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'circle-core-workflows-package-'));
  const packageDir = join(scratch, 'package');
  const args = ['--stage', 'dev', '--build-dir', join(scratch, 'build'), '--package-dir', packageDir];
  const { stdout, stderr } = await run(process.execPath, ['scripts/package.ts', ...args], {
    cwd: root,
    // A full build and package: minutes on a loaded 2-core machine.
    timeout: 280_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  // The plugin reports each validated definition on stderr.
  output = `${stdout}\n${stderr}`;
  resources = mergeStage(await readPackagedStage(packageDir)).Resources as Record<string, Resource>;
}, 300_000);

afterAll(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

describe('Workflows: packaged template', () => {
  it('validates every definition while packaging (stepFunctions.validate)', () => {
    // Assess
    for (const { name } of WORKFLOWS) expect(output).toContain(`State machine "${name}" definition is valid`);
  });

  describe.each(WORKFLOWS.map(({ name, logicalId }) => ({ name, logicalId })))(
    '$name',
    ({ name, logicalId }) => {
      it('is a STANDARD state machine with a role of its own, assumed only by Step Functions', () => {
        // Act
        const machine = resources[logicalId];
        const roleId = roleOf(machine);
        const role = resources[roleId];
        const users = Object.values(resources).filter(
          (resource) => resource.Type === 'AWS::StepFunctions::StateMachine' && roleOf(resource) === roleId,
        );

        // Assess
        expect(machine?.Type).toBe('AWS::StepFunctions::StateMachine');
        expect(machine?.Properties['StateMachineType']).toBe('STANDARD');
        expect(role?.Type).toBe('AWS::IAM::Role');
        expect(users).toHaveLength(1);
        expect(JSON.stringify(role?.Properties['AssumeRolePolicyDocument'])).toMatch(
          /"Service":\{"Fn::Sub":"states\.\$\{AWS::Region\}\.amazonaws\.com"\}/,
        );
      });

      it('may invoke exactly the connector functions its definition names, and otherwise only deliver its logs', async () => {
        // Prepare
        const functions = await invokedFunctions(name);

        // Act
        const all = statementsOf(resources[roleOf(resources[logicalId])]);
        const telemetry = all.filter((statement) =>
          asArray(statement.Action).every((action) => TELEMETRY_ACTIONS.has(action)),
        );
        const statements = all.filter((statement) => !telemetry.includes(statement));

        // Assess: logging to its log group needs the delivery actions, which take no resource but '*'.
        expect(functions.length).toBeGreaterThan(0);
        expect(telemetry.flatMap((statement) => asArray(statement.Resource))).toEqual(['*']);
        expect(statements.flatMap((statement) => asArray(statement.Action))).toEqual([
          'lambda:InvokeFunction',
        ]);
        expect(statements.every((statement) => statement.Effect === 'Allow')).toBe(true);
        const granted = statements.flatMap((statement) => asArray(statement.Resource).map(referenced)).sort();
        expect(granted).toEqual(functions.flatMap((id) => [id, `${id}:*`]).sort());
      });
    },
  );

  it('grants no wildcard action to any workflow role', () => {
    // Prepare
    const roles = Object.entries(resources).filter(
      ([id, resource]) => resource.Type === 'AWS::IAM::Role' && /StateMachine|StepFunctions/.test(id),
    );

    // Act
    const actions = roles.flatMap(([, role]) =>
      statementsOf(role).flatMap((statement) => asArray(statement.Action)),
    );

    // Assess
    // One role per state machine, and one per schedule rule (nightly-export, warehouse-load) to start it.
    const schedules = WORKFLOWS.filter((workflow) => workflow.trigger === 'schedule').length;
    expect(roles.length).toBe(WORKFLOWS.length + schedules);
    expect(actions.filter((action) => action === '*' || action.endsWith(':*'))).toEqual([]);
    for (const [, role] of roles) {
      const targets = statementsOf(role)
        .filter((statement) => asArray(statement.Action).some((action) => !TELEMETRY_ACTIONS.has(action)))
        .flatMap((statement) => asArray(statement.Resource));
      expect(targets).not.toContain('*');
    }
  });

  it('starts nightly-export every night from an EventBridge rule that may start only it', () => {
    // Prepare
    const rule = Object.values(resources).find(
      (resource) =>
        resource.Type === 'AWS::Events::Rule' &&
        asArray(resource.Properties['Targets'] as { Arn: unknown }[]).some(
          (target) => referenced(target.Arn) === 'NightlyExportStateMachine',
        ),
    );
    const target = asArray(rule?.Properties['Targets'] as { RoleArn: unknown; Input: string }[])[0];

    // Act
    const statements = statementsOf(resources[referenced(target?.RoleArn)]);

    // Assess
    // This template is dev's, where schedules are off unless enabled; prod's is ENABLED
    // (test/packaging/operations.test.ts).
    expect(rule?.Properties).toMatchObject({ ScheduleExpression: 'cron(0 2 * * ? *)', State: 'DISABLED' });
    expect(JSON.parse(target?.Input ?? '{}')).toEqual({ trigger: 'schedule' });
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['states:StartExecution'], Resource: { Ref: 'NightlyExportStateMachine' } },
    ]);
  });

  it('starts warehouse-load every hour from an EventBridge rule that may start only it, with the prefix, table and mapping', () => {
    // Prepare
    const rule = Object.values(resources).find(
      (resource) =>
        resource.Type === 'AWS::Events::Rule' &&
        asArray(resource.Properties['Targets'] as { Arn: unknown }[]).some(
          (target) => referenced(target.Arn) === 'WarehouseLoadStateMachine',
        ),
    );
    const target = asArray(rule?.Properties['Targets'] as { RoleArn: unknown; Input: string }[])[0];

    // Act
    const statements = statementsOf(resources[referenced(target?.RoleArn)]);

    // Assess: dev's template, schedules off as nightly-export's.
    expect(rule?.Properties).toMatchObject({ ScheduleExpression: 'cron(15 * * * ? *)', State: 'DISABLED' });
    expect(JSON.parse(target?.Input ?? '{}')).toMatchObject({
      trigger: 'schedule',
      prefix: 'warehouse/incoming/',
      table: 'warehouse_events',
      expression: expect.stringContaining('amount_cents'),
    });
    expect(statements).toEqual([
      { Effect: 'Allow', Action: ['states:StartExecution'], Resource: { Ref: 'WarehouseLoadStateMachine' } },
    ]);
  });

  it('lets the GitHub connector start issue-triage (its env names it) and no other state machine', () => {
    // Prepare
    const github = resources['GithubLambdaFunction'];

    // Act
    const starts = statementsOf(resources[roleOf(github)]).filter((statement) =>
      asArray(statement.Action).includes('states:StartExecution'),
    );

    // Assess
    const environment = github?.Properties['Environment'] as
      | { Variables?: Record<string, unknown> }
      | undefined;
    expect(environment?.Variables?.['GITHUB_EVENTS_STATE_MACHINE_ARN']).toEqual({
      Ref: 'IssueTriageStateMachine',
    });
    expect(starts.flatMap((statement) => asArray(statement.Resource))).toEqual([
      { Ref: 'IssueTriageStateMachine' },
    ]);
  });

  it('lets the Stripe connector start order-fulfilment (its env names it) and no other state machine', () => {
    // Prepare
    const stripe = resources['StripeLambdaFunction'];

    // Act
    const starts = statementsOf(resources[roleOf(stripe)]).filter((statement) =>
      asArray(statement.Action).includes('states:StartExecution'),
    );

    // Assess
    const environment = stripe?.Properties['Environment'] as
      | { Variables?: Record<string, unknown> }
      | undefined;
    // Built from the machine's name: order-fulfilment invokes the Stripe function, so a Ref from the finance
    // stack would be a cycle (scripts/serverless/split-stacks.cjs names the machine and builds the ARN).
    const arn = {
      'Fn::Sub':
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub placeholder, not JavaScript.
        'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-OrderFulfilmentStateMachine',
    };
    expect(environment?.Variables?.['STRIPE_EVENTS_STATE_MACHINE_ARN']).toEqual(arn);
    expect(starts.flatMap((statement) => asArray(statement.Resource))).toEqual([arn]);
    expect(resources['OrderFulfilmentStateMachine']?.Properties['StateMachineName']).toEqual({
      'Fn::Sub':
        // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub placeholder, not JavaScript.
        '${AWS::StackName}-OrderFulfilmentStateMachine',
    });
  });

  it('lets the PagerDuty connector start incident-response (its env names it) and no other state machine', () => {
    // Prepare
    const pagerduty = resources['PagerdutyLambdaFunction'];

    // Act
    const starts = statementsOf(resources[roleOf(pagerduty)]).filter((statement) =>
      asArray(statement.Action).includes('states:StartExecution'),
    );

    // Assess: a Ref, or (incident-response invokes the PagerDuty function, so a Ref from the devops stack
    // would be a cycle) the ARN built from the machine's name, as for Stripe and order-fulfilment.
    const environment = pagerduty?.Properties['Environment'] as
      | { Variables?: Record<string, unknown> }
      | undefined;
    const arn = environment?.Variables?.['PAGERDUTY_EVENTS_STATE_MACHINE_ARN'];
    expect(
      JSON.stringify(arn) === JSON.stringify({ Ref: 'IncidentResponseStateMachine' }) ||
        String((arn as { 'Fn::Sub'?: unknown } | undefined)?.['Fn::Sub']).endsWith(
          // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub placeholder, not JavaScript.
          ':stateMachine:${AWS::StackName}-IncidentResponseStateMachine',
        ),
      JSON.stringify(arn),
    ).toBe(true);
    expect(starts.flatMap((statement) => asArray(statement.Resource))).toEqual([arn]);
  });

  it('starts incident-response from IncidentAlertRule (circle.alerts, Alert) on the bus, through a role that may start only it', () => {
    // Prepare
    const rule = resources['IncidentAlertRule'];
    const target = asArray(rule?.Properties['Targets'] as { Arn: unknown; RoleArn: unknown }[]);

    // Act
    const statements = statementsOf(resources[referenced(target[0]?.RoleArn)]);

    // Assess: the whole event is the input (the workflow reads its detail)
    expect(rule?.Properties).toMatchObject({
      EventPattern: { source: ['circle.alerts'], 'detail-type': ['Alert'] },
      State: 'ENABLED',
    });
    expect(referenced(rule?.Properties['EventBusName'])).toBe('EventbridgeBus');
    expect(target).toHaveLength(1);
    expect(referenced(target[0]?.Arn)).toBe('IncidentResponseStateMachine');
    expect(target[0]).not.toHaveProperty('InputPath');
    expect(statements).toEqual([
      { Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: 'IncidentResponseStateMachine' } },
    ]);
  });
});
