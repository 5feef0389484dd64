/**
 * Operable stacks, read from the packaged CloudFormation templates (offline, placeholder artifacts: the
 * template does not depend on the zips) of `dev`, `prod`, and a stage configured the way an operator
 * would (an alarm topic of their own, the database connectors in a VPC behind RDS Proxy):
 * alarms for every function, dead-letter queue, hand-off queue and state machine, to one SNS topic;
 * state machines logging (ERROR, a log group with retention) and tracing in prod; HTTP API throttling per
 * stage; a connection cap for every database connector; VPC and proxy settings that switch by config;
 * schedules off in dev; every queue consumed, parked into, or a documented hand-off; the outputs an
 * operator looks up; an explicit removal policy on everything that holds data; no hard-coded partition
 * in the state machines; and cfn-lint (informational rules included) with each remaining finding
 * explained. Every check over "each X" first proves there is an X.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoverFunctions, type FunctionSource } from '../../scripts/lib/functions.ts';
import { packageService } from '../../scripts/lib/serverless.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
/** Queues no function consumes on purpose: events handed to consumers outside the stack (README). */
const HAND_OFF_QUEUES = [
  // The webhook connectors' accepted events, for the consumers a team attaches.
  'GithubEventsQueue',
  'SlackEventsQueue',
  'JiraEventsQueue',
  'PagerdutyEventsQueue',
  'StripeEventsQueue',
  'GitlabEventsQueue',
  'TwilioEventsQueue',
  // The messaging connectors' example destinations, read by a consumer outside this stack.
  'SqsMessagesQueue',
  'SnsOrdersQueue',
  'EventbridgeOrdersQueue',
  // NATS messages forwarded by the polling schedule, for the consumers a team attaches.
  'NatsEventsQueue',
  // issue-fanout's triage summaries, fanned out by SNS for the team that works them.
  'IssueFanoutQueue',
];
/** The configured stage's settings. */
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ops-pager';
const VPC = { securityGroupIds: ['sg-0123456789abcdef0'], subnetIds: ['subnet-0aaa', 'subnet-0bbb'] };
const PROXY = 'circle-core.proxy-abc.us-east-1.rds.amazonaws.com';
/**
 * cfn-lint findings that remain, each with why: the first two come from what osls and its plugins
 * generate, not from this repository's resources (but for one bucket policy); the third is the stack's size.
 */
const EXPLAINED_FINDINGS: Record<string, string> = {
  I1022:
    'Fn::Join with an empty delimiter where Fn::Sub would read better: osls writes them (HttpApiUrl, the deployment bucket policy, Lambda permissions), and S3DataBucketPolicy keeps its Join because test/hardening/template.test.ts reads bucket policies in that form',
  W3005:
    'a DependsOn that a Ref or GetAtt already implies: osls and serverless-step-functions add them to roles, log groups and integrations; harmless',
  I3010:
    'the stack is above 90% of CloudFormation’s 500 resources: known, counted by the stack-size test below with room for two more connectors; the README says how the stack splits before the next ones',
};

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
}
interface Template {
  Resources: Record<string, Resource>;
  Outputs: Record<string, { Value: unknown }>;
}

let scratch: string;
let functions: FunctionSource[] = [];
const templates: Record<'dev' | 'prod' | 'configured', Template> = {
  dev: { Resources: {}, Outputs: {} },
  prod: { Resources: {}, Outputs: {} },
  configured: { Resources: {}, Outputs: {} },
};
const templateFiles: Record<string, string> = {};

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const ofType = (template: Template, type: string): [string, Resource][] =>
  Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
const getAtt = (value: unknown): string | undefined => {
  const target = (value as { 'Fn::GetAtt'?: unknown[] } | undefined)?.['Fn::GetAtt'];
  return Array.isArray(target) ? String(target[0]) : undefined;
};
const ref = (value: unknown): string | undefined => (value as { Ref?: string } | undefined)?.Ref;
const redrive = (queue: Resource): { deadLetterTargetArn?: unknown } | undefined => {
  const policy = queue.Properties['RedrivePolicy'];
  return typeof policy === 'string' ? JSON.parse(policy) : (policy as undefined);
};
const deadLetterQueues = (template: Template): string[] => [
  ...new Set(
    ofType(template, 'AWS::SQS::Queue').flatMap(([, queue]) =>
      asArray(getAtt(redrive(queue)?.deadLetterTargetArn)),
    ),
  ),
];
const alarms = (template: Template): (Record<string, unknown> & { id: string })[] =>
  ofType(template, 'AWS::CloudWatch::Alarm').map(([id, alarm]) => ({ ...alarm.Properties, id }));
const alarmOn = (template: Template, metric: string, dimension: string, target: string) =>
  alarms(template).filter(
    (alarm) =>
      alarm['MetricName'] === metric &&
      asArray(alarm['Dimensions'] as { Name: string; Value: unknown }[]).some(
        (d) => d.Name === dimension && (ref(d.Value) === target || getAtt(d.Value) === target),
      ),
  );
const lambdaOf = (template: Template, name: string): [string, Resource] | undefined =>
  ofType(template, 'AWS::Lambda::Function').find(([, fn]) =>
    String(fn.Properties['FunctionName']).endsWith(`-${name}`),
  );
/** The database connectors: their downstream takes a bounded number of connections. */
/**
 * The connectors that hold a server connection per container and so cap their concurrency (the SQL ones):
 * those whose function.yml declares a reserved concurrency. DynamoDB (HTTP) and Redis (tens of thousands of
 * connections) declare none.
 */
const databases = (): FunctionSource[] =>
  functions.filter((fn) => fn.category === 'database' && 'reservedConcurrency' in fn.definition);

/**
 * A copy of the repository (symlinks) whose serverless.yml gives `values` to these `params.default` keys,
 * as an operator configuring a stage would. Each package runs in a copy of its own: osls writes its state
 * into the service folder's .serverless before moving it, so two runs in one folder collide.
 */
async function configuredRoot(name: string, values: Record<string, string> = {}): Promise<string> {
  const root = join(scratch, `${name}-root`);
  await mkdir(root);
  for (const entry of await readdir(ROOT)) {
    if (entry === 'serverless.yml' || entry.startsWith('.')) continue;
    await symlink(join(ROOT, entry), join(root, entry));
  }
  let text = await readFile(join(ROOT, 'serverless.yml'), 'utf8');
  for (const [key, value] of Object.entries(values)) {
    const line = new RegExp(`^(    ${key}:) .*$`, 'm');
    if (!line.test(text)) throw new Error(`serverless.yml has no params.default.${key} to configure`);
    text = text.replace(line, `$1 ${value}`);
  }
  await writeFile(join(root, 'serverless.yml'), text);
  return root;
}

beforeAll(async () => {
  functions = await discoverFunctions(ROOT);
  scratch = await mkdtemp(join(tmpdir(), 'circle-operations-template-'));
  const buildDir = join(scratch, 'build');
  await mkdir(join(buildDir, 'functions'), { recursive: true });
  await writeFile(join(buildDir, 'layer.zip'), '');
  for (const fn of functions) await writeFile(join(buildDir, 'functions', `${fn.name}.zip`), '');
  const configured = await configuredRoot('configured', {
    alarmTopicArn: TOPIC,
    ...Object.fromEntries(
      databases().flatMap((fn) => [
        [`${fn.name}Vpc`, JSON.stringify(VPC)],
        [`${fn.name}Host`, PROXY],
      ]),
    ),
  });
  const stages = [
    ['dev', await configuredRoot('dev'), 'dev'],
    ['prod', await configuredRoot('prod'), 'prod'],
    ['configured', configured, 'staging'],
  ] as const;
  await Promise.all(
    stages.map(async ([key, root, stage]) => {
      const { templateFile } = await packageService({
        root,
        stage,
        region: 'us-east-1',
        buildDir,
        packageDir: join(scratch, `package-${key}`),
      });
      templateFiles[key] = templateFile;
      templates[key] = JSON.parse(await readFile(templateFile, 'utf8')) as Template;
    }),
  );
}, 240_000);

afterAll(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

describe('Operations: alarms', () => {
  it('alarms on every function’s errors and throttles, above zero, in one metric-math alarm each', () => {
    // Prepare
    const lambdas = ofType(templates.dev, 'AWS::Lambda::Function');
    // Assess
    expect(lambdas.length).toBe(functions.length);
    for (const [id] of lambdas) {
      const found = alarms(templates.dev).filter((alarm) =>
        JSON.stringify(alarm['Metrics'] ?? []).includes(`"Ref":"${id}"`),
      );
      expect(found, id).toHaveLength(1);
      const metrics = found[0]?.['Metrics'] as {
        MetricStat?: { Metric: { Namespace: string; MetricName: string }; Stat: string };
        Expression?: string;
      }[];
      expect(metrics.flatMap((m) => asArray(m.MetricStat?.Metric.MetricName)).sort()).toEqual([
        'Errors',
        'Throttles',
      ]);
      for (const m of metrics.filter((q) => q.MetricStat !== undefined)) {
        expect(m.MetricStat).toMatchObject({ Metric: { Namespace: 'AWS/Lambda' }, Stat: 'Sum' });
      }
      expect(metrics.find((m) => m.Expression !== undefined)?.Expression).toBe(
        'FILL(errors, 0) + FILL(throttles, 0)',
      );
      expect(found[0]).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 0 });
    }
  });

  it('alarms as soon as a dead-letter queue holds a message, for every dead-letter queue', () => {
    // Prepare
    const parked = deadLetterQueues(templates.dev);
    // Assess
    expect(parked.length).toBeGreaterThanOrEqual(functions.length);
    for (const id of parked) {
      const found = alarmOn(templates.dev, 'ApproximateNumberOfMessagesVisible', 'QueueName', id);
      expect(found, id).toHaveLength(1);
      expect(found[0]).toMatchObject({
        Namespace: 'AWS/SQS',
        Statistic: 'Maximum',
        ComparisonOperator: 'GreaterThanThreshold',
        Threshold: 0,
      });
    }
  });

  it('alarms on every state machine’s failed and timed-out executions', () => {
    // Prepare
    const machines = ofType(templates.dev, 'AWS::StepFunctions::StateMachine');
    // Assess
    expect(machines.length).toBeGreaterThan(0);
    for (const [id] of machines) {
      const found = alarms(templates.dev).filter((alarm) =>
        JSON.stringify(alarm['Metrics'] ?? []).includes(`"Ref":"${id}"`),
      );
      expect(found, id).toHaveLength(1);
      const metrics = found[0]?.['Metrics'] as {
        MetricStat?: { Metric: { MetricName: string } };
        Expression?: string;
      }[];
      expect(metrics.flatMap((m) => asArray(m.MetricStat?.Metric.MetricName)).sort()).toEqual([
        'ExecutionsFailed',
        'ExecutionsTimedOut',
      ]);
      expect(metrics.some((m) => m.Expression !== undefined)).toBe(true);
      expect(found[0]).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 0 });
    }
  });

  it('sends every alarm to the stack’s own topic, output as AlarmTopicArn, unless a topic is configured', () => {
    // Prepare
    const own = alarms(templates.dev);
    const configured = alarms(templates.configured);
    // Assess
    expect(own.length).toBeGreaterThan(0);
    expect(templates.dev.Resources['AlarmTopic']?.Type).toBe('AWS::SNS::Topic');
    expect(templates.dev.Outputs['AlarmTopicArn']?.Value).toEqual({ Ref: 'AlarmTopic' });
    for (const alarm of own) {
      expect(alarm['AlarmActions'], alarm.id).toEqual([{ Ref: 'AlarmTopic' }]);
      expect(alarm['OKActions'], alarm.id).toEqual([{ Ref: 'AlarmTopic' }]);
    }
    expect(configured.length).toBe(own.length);
    expect(templates.configured.Resources['AlarmTopic']).toBeUndefined();
    for (const alarm of configured) expect(alarm['AlarmActions'], alarm.id).toEqual([TOPIC]);
  });
});

describe('Operations: state machines', () => {
  it.each(['dev', 'prod'] as const)(
    '%s: every state machine logs ERROR to a log group with retention',
    (stage) => {
      // Prepare
      const machines = ofType(templates[stage], 'AWS::StepFunctions::StateMachine');
      const retention = stage === 'prod' ? 90 : 14;
      // Assess
      expect(machines.length).toBeGreaterThan(0);
      for (const [id, machine] of machines) {
        const logging = machine.Properties['LoggingConfiguration'] as {
          Level: string;
          IncludeExecutionData: boolean;
          Destinations: { CloudWatchLogsLogGroup: { LogGroupArn: unknown } }[];
        };
        expect(logging, id).toMatchObject({ Level: 'ERROR', IncludeExecutionData: false });
        const group =
          templates[stage].Resources[
            getAtt(logging.Destinations[0]?.CloudWatchLogsLogGroup.LogGroupArn) ?? ''
          ];
        expect(group?.Type, id).toBe('AWS::Logs::LogGroup');
        expect(group?.Properties['RetentionInDays'], id).toBe(retention);
        expect(String(group?.Properties['LogGroupName']), id).toMatch(/^\/aws\/vendedlogs\/states\//);
      }
    },
  );

  it('traces every state machine in prod, none in dev', () => {
    // Act
    const tracing = (stage: 'dev' | 'prod') =>
      ofType(templates[stage], 'AWS::StepFunctions::StateMachine').map(
        ([, machine]) => (machine.Properties['TracingConfiguration'] as { Enabled: boolean }).Enabled,
      );
    // Assess
    expect(tracing('prod').length).toBeGreaterThan(0);
    expect(new Set(tracing('prod'))).toEqual(new Set([true]));
    expect(new Set(tracing('dev'))).toEqual(new Set([false]));
  });

  it(`names no partition in any state machine definition (arn:\${AWS::Partition}, substituted on deploy)`, () => {
    // Prepare
    const machines = ofType(templates.dev, 'AWS::StepFunctions::StateMachine');
    // Assess
    expect(machines.length).toBeGreaterThan(0);
    for (const [id, machine] of machines) {
      const definition = machine.Properties['DefinitionString'] as { 'Fn::Sub': [string, unknown] };
      const text = definition['Fn::Sub'][0];
      expect(text, id).toContain(`"arn:\${AWS::Partition}:states:::lambda:invoke"`);
      expect(text, id).not.toMatch(/arn:aws[\w-]*:/);
    }
  });
});

describe('Operations: partitions', () => {
  it('names no partition, region or account in any IAM policy of any stage (Fn::Sub with pseudo parameters)', () => {
    for (const stage of ['dev', 'prod'] as const) {
      // Prepare
      const policies = ofType(templates[stage], 'AWS::IAM::Role').flatMap(([, role]) =>
        ((role.Properties['Policies'] ?? []) as { PolicyDocument: unknown }[]).map(
          (policy) => policy.PolicyDocument,
        ),
      );
      const text = JSON.stringify(policies);
      // Assess
      expect(policies.length, stage).toBeGreaterThan(0);
      expect(text, stage).toContain(
        `arn:\${AWS::Partition}:secretsmanager:\${AWS::Region}:\${AWS::AccountId}:secret:`,
      );
      expect(text, stage).not.toMatch(/arn:aws[\w-]*:/);
    }
  });
});

describe('Operations: limits', () => {
  it.each([
    ['dev', 50, 100],
    ['prod', 200, 400],
  ] as const)('%s: throttles every HTTP API route at the stage (%i/s, burst %i)', (stage, rate, burst) => {
    // Act
    const stages = ofType(templates[stage], 'AWS::ApiGatewayV2::Stage');
    // Assess
    expect(stages.length).toBe(1);
    expect(stages[0]?.[1].Properties['DefaultRouteSettings']).toMatchObject({
      ThrottlingRateLimit: rate,
      ThrottlingBurstLimit: burst,
    });
  });

  it('caps the concurrent queue batches of every database connector, and reserves its concurrency in prod', () => {
    // Prepare
    const found = databases();
    // Assess
    expect(found.length).toBeGreaterThan(0);
    for (const fn of found) {
      for (const stage of ['dev', 'prod'] as const) {
        const [id, lambda] = lambdaOf(templates[stage], fn.name) ?? [];
        const mappings = ofType(templates[stage], 'AWS::Lambda::EventSourceMapping').filter(
          ([, mapping]) => getAtt(mapping.Properties['FunctionName']) === id,
        );
        expect(mappings.length, `${stage} ${fn.name}`).toBeGreaterThan(0);
        for (const [, mapping] of mappings) {
          expect(mapping.Properties['ScalingConfig'], `${stage} ${fn.name}`).toEqual({
            MaximumConcurrency: 5,
          });
        }
        const reserved = lambda?.Properties['ReservedConcurrentExecutions'];
        // dev: none, so a new account (whose quota leaves nothing to reserve) can deploy it.
        expect(reserved, `${stage} ${fn.name}`).toBe(stage === 'prod' ? 20 : undefined);
      }
    }
  });

  it('puts the database connectors in a VPC, behind a proxy host, only when a stage configures one', () => {
    // Prepare
    const found = databases();
    // Assess
    expect(found.length).toBeGreaterThan(0);
    for (const fn of found) {
      const [, plain] = lambdaOf(templates.prod, fn.name) ?? [];
      const [, inVpc] = lambdaOf(templates.configured, fn.name) ?? [];
      const variables = (lambda: Resource | undefined): Record<string, unknown> =>
        (lambda?.Properties['Environment'] as { Variables?: Record<string, unknown> } | undefined)
          ?.Variables ?? {};
      const host = Object.keys(variables(inVpc)).find((name) => name.endsWith('_HOST'));
      const role = templates.configured.Resources[getAtt(inVpc?.Properties['Role']) ?? ''];
      expect(plain?.Properties['VpcConfig'], fn.name).toBeUndefined();
      expect(host, fn.name).toBeDefined();
      expect(variables(plain)[host ?? ''], fn.name).toBe('');
      expect(inVpc?.Properties['VpcConfig'], fn.name).toEqual({
        SecurityGroupIds: VPC.securityGroupIds,
        SubnetIds: VPC.subnetIds,
      });
      expect(variables(inVpc)[host ?? ''], fn.name).toBe(PROXY);
      expect(JSON.stringify(role?.Properties['ManagedPolicyArns']), fn.name).toContain(
        'AWSLambdaVPCAccessExecutionRole',
      );
    }
  });

  it('keeps every schedule off in dev and the workflow schedule on in prod', () => {
    // Act
    // Schedules only: a rule with an event pattern (EventBridge's example routing) routes, it fires nothing.
    const rules = (stage: 'dev' | 'prod') =>
      ofType(templates[stage], 'AWS::Events::Rule')
        .filter(([, rule]) => rule.Properties['ScheduleExpression'] !== undefined)
        .map(([id, rule]) => [id, rule.Properties['State']]);
    const nightly = (stage: 'dev' | 'prod') =>
      rules(stage).find(([id]) => String(id).startsWith('NightlyDashexport'))?.[1];
    // Assess
    expect(rules('dev').length).toBeGreaterThan(0);
    for (const [id, state] of rules('dev')) expect(state, String(id)).toBe('DISABLED');
    expect(nightly('prod')).toBe('ENABLED');
  });
});

describe('Operations: queues, outputs, removal', () => {
  it('gives every queue a consumer, or parks dead letters in it, or hands events off with a retention and an age alarm', () => {
    // Prepare
    const template = templates.dev;
    const consumed = new Set(
      ofType(template, 'AWS::Lambda::EventSourceMapping').map(([, m]) =>
        getAtt(m.Properties['EventSourceArn']),
      ),
    );
    const parked = new Set(deadLetterQueues(template));
    // Act
    const handOff = ofType(template, 'AWS::SQS::Queue')
      .filter(([id]) => !consumed.has(id) && !parked.has(id))
      .map(([id]) => id);
    // Assess: a new queue without a consumer must be a documented hand-off (root README), or go.
    expect(consumed.size).toBeGreaterThan(0);
    expect(handOff.sort()).toEqual([...HAND_OFF_QUEUES].sort());
    for (const id of handOff) {
      const queue = template.Resources[id] as Resource;
      const dlq = template.Resources[getAtt(redrive(queue)?.deadLetterTargetArn) ?? ''] as Resource;
      expect(queue.Properties['MessageRetentionPeriod'], id).toBe(604_800);
      expect(Number(dlq.Properties['MessageRetentionPeriod']), id).toBeGreaterThan(604_800);
      const age = alarmOn(template, 'ApproximateAgeOfOldestMessage', 'QueueName', id);
      expect(age, id).toHaveLength(1);
      expect(age[0]).toMatchObject({ Threshold: 3600, ComparisonOperator: 'GreaterThanThreshold' });
    }
  });

  it('outputs the HTTP API URL, every queue URL, every state machine ARN and the data bucket', () => {
    // Prepare
    const { Outputs: outputs } = templates.dev;
    const values = Object.values(outputs).map((output) => JSON.stringify(output.Value));
    const queues = ofType(templates.dev, 'AWS::SQS::Queue');
    const machines = ofType(templates.dev, 'AWS::StepFunctions::StateMachine');
    // Assess
    expect(outputs['HttpApiUrl']).toBeDefined();
    expect(queues.length).toBeGreaterThan(0);
    expect(machines.length).toBeGreaterThan(0);
    for (const [id] of [...queues, ...machines]) expect(values, id).toContain(JSON.stringify({ Ref: id }));
    expect(outputs['S3DataBucketName']?.Value).toEqual({ Ref: 'S3DataBucket' });
  });

  it.each(['dev', 'prod'] as const)(
    '%s: says what happens on removal to every queue, table, bucket and log group',
    (stage) => {
      // Prepare
      const stateful = Object.entries(templates[stage].Resources).filter(([, resource]) =>
        ['AWS::SQS::Queue', 'AWS::DynamoDB::Table', 'AWS::S3::Bucket', 'AWS::Logs::LogGroup'].includes(
          resource.Type,
        ),
      );
      // Assess
      expect(stateful.length).toBeGreaterThan(0);
      for (const [id, resource] of stateful) {
        expect(['Delete', 'Retain'], `${id} DeletionPolicy`).toContain(resource.DeletionPolicy);
        expect(resource.UpdateReplacePolicy, `${id} UpdateReplacePolicy`).toBe(resource.DeletionPolicy);
      }
    },
  );

  const TRANSIENT_TABLES = ['IdempotencyTable', 'CoordinationTable'];

  it('retains dead letters, hand-off events, connector state and the data bucket in prod; drops them in dev', () => {
    // Prepare
    const kept = [
      ...deadLetterQueues(templates.prod),
      ...HAND_OFF_QUEUES,
      ...ofType(templates.prod, 'AWS::DynamoDB::Table')
        .map(([id]) => id)
        // Transient by design: idempotency records (an hour) and shared tokens and rate windows (TTL).
        .filter((id) => !TRANSIENT_TABLES.includes(id)),
    ];
    // Assess
    expect(kept.length).toBeGreaterThan(HAND_OFF_QUEUES.length);
    for (const id of kept) {
      expect(templates.prod.Resources[id]?.DeletionPolicy, `prod ${id}`).toBe('Retain');
      expect(templates.dev.Resources[id]?.DeletionPolicy, `dev ${id}`).toBe('Delete');
    }
    expect(templates.prod.Resources['S3DataBucket']?.DeletionPolicy).toBe('Retain');
    for (const id of TRANSIENT_TABLES)
      expect(templates.prod.Resources[id]?.DeletionPolicy, id).toBe('Delete');
  });
});

describe('Operations: the stack size', () => {
  it.for(['dev', 'prod'] as const)(
    '%s: stays under CloudFormation’s 500 resources per stack, with room for two more connectors',
    (stage) => {
      const count = Object.keys(templates[stage].Resources).length;
      // A connector adds about 16 (function, role, log group, two routes, integration, permission, event
      // source mapping, queue and dead-letter queue, two alarms, ...): README, "The stack's size".
      expect(count).toBeLessThanOrEqual(500 - 2 * 16);
    },
  );
});

describe('Operations: cfn-lint', () => {
  it.for(['dev', 'prod'] as const)(
    '%s: finds nothing but the explained findings, informational rules included',
    { timeout: 120_000 },
    async (stage, context) => {
      // Prepare
      const available = await run('cfn-lint', ['--version']).then(
        () => true,
        () => false,
      );
      context.skip(!available, 'cfn-lint is not installed (pip install cfn-lint; PyPI is unreachable here)');
      // Act
      const { stdout } = await run(
        'cfn-lint',
        ['--include-checks', 'I', '--format', 'parseable', templateFiles[stage] ?? ''],
        { maxBuffer: 16 * 1024 * 1024 },
      ).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }));
      const findings = stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => line.split(':').slice(5).join(':'));
      const unexplained = findings.filter(
        (finding) => EXPLAINED_FINDINGS[finding.split(':')[0] ?? ''] === undefined,
      );
      // Assess: it ran on the template (these findings are always there), and nothing else came up.
      expect(findings.length).toBeGreaterThan(0);
      expect(unexplained).toEqual([]);
    },
  );
});
