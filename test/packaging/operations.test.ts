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
import { parse } from 'yaml';
import { deployableNames, discoverFunctions, type FunctionSource } from '../../scripts/lib/functions.ts';
import { packageService } from '../../scripts/lib/serverless.ts';
import { mergeStage, type PackagedStage, readPackagedStage } from '../../scripts/lib/stacks.ts';

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
  'ShopifyEventsQueue',
  // The messaging connectors' example destinations, read by a consumer outside this stack.
  'SqsMessagesQueue',
  'SnsOrdersQueue',
  'EventbridgeOrdersQueue',
  // NATS messages forwarded by the polling schedule, for the consumers a team attaches.
  'NatsEventsQueue',
  // Device telemetry routed by the IoT Core rule (devices/+/telemetry), for the consumer a team attaches.
  'IotCoreTelemetryQueue',
  // issue-fanout's triage summaries, fanned out by SNS for the team that works them.
  'IssueFanoutQueue',
];
/** The configured stage's settings. */
const TOPIC = 'arn:aws:sns:us-east-1:123456789012:ops-pager';
const VPC = { securityGroupIds: ['sg-0123456789abcdef0'], subnetIds: ['subnet-0aaa', 'subnet-0bbb'] };
const PROXY = 'circle-core.proxy-abc.us-east-1.rds.amazonaws.com';
/**
 * cfn-lint findings that remain, each with why: they come from what osls and its plugins generate, not from
 * this repository's resources (but for one bucket policy).
 */
const EXPLAINED_FINDINGS: Record<string, string> = {
  I1022:
    'Fn::Join with an empty delimiter where Fn::Sub would read better: osls writes them (HttpApiUrl, the deployment bucket policy, Lambda permissions), and S3DataBucketPolicy keeps its Join because test/hardening/template.test.ts reads bucket policies in that form',
  W3005:
    'a DependsOn that a Ref or GetAtt already implies: osls and serverless-step-functions add them to roles, log groups and integrations; harmless',
};

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
  DependsOn?: string | string[];
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
/** Each stage as packaged: the root template and one nested template per connector category. */
const stages: Partial<Record<'dev' | 'prod' | 'configured' | 'unsplit', PackagedStage>> = {};
const packageDirs: Record<string, string> = {};

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
async function configuredRoot(
  name: string,
  values: Record<string, string> = {},
  edit: (text: string) => string = (text) => text,
): Promise<string> {
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
  await writeFile(join(root, 'serverless.yml'), edit(text));
  return root;
}

beforeAll(async () => {
  functions = await discoverFunctions(ROOT);
  scratch = await mkdtemp(join(tmpdir(), 'circle-operations-template-'));
  const buildDir = join(scratch, 'build');
  await mkdir(join(buildDir, 'functions'), { recursive: true });
  await writeFile(join(buildDir, 'layer.zip'), '');
  for (const name of deployableNames(functions)) {
    await writeFile(join(buildDir, 'functions', `${name}.zip`), '');
  }
  const configured = await configuredRoot('configured', {
    alarmTopicArn: TOPIC,
    ...Object.fromEntries(
      databases().flatMap((fn) => [
        [`${fn.name}Vpc`, JSON.stringify(VPC)],
        [`${fn.name}Host`, PROXY],
      ]),
    ),
  });
  const splitPlugin = '  - ./scripts/serverless/split-stacks.cjs\n';
  const unsplit = await configuredRoot('unsplit', {}, (text) => {
    if (!text.includes(splitPlugin)) throw new Error('serverless.yml no longer lists split-stacks.cjs');
    return text.replace(splitPlugin, '');
  });
  const packages = [
    ['dev', await configuredRoot('dev'), 'dev'],
    ['prod', await configuredRoot('prod'), 'prod'],
    ['configured', configured, 'staging'],
    ['unsplit', unsplit, 'dev'],
  ] as const;
  // Two at a time: each is an osls process of several hundred megabytes on a 2-core machine.
  for (const pair of [packages.slice(0, 2), packages.slice(2)]) {
    await Promise.all(
      pair.map(async ([key, root, stage]) => {
        const packageDir = join(scratch, `package-${key}`);
        await packageService({ root, stage, region: 'us-east-1', buildDir, packageDir });
        packageDirs[key] = packageDir;
        stages[key] = await readPackagedStage(packageDir);
      }),
    );
  }
  for (const key of ['dev', 'prod', 'configured'] as const) {
    templates[key] = mergeStage(stages[key] as PackagedStage) as unknown as Template;
  }
}, 300_000);

afterAll(async () => {
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

describe('Operations: alarms', () => {
  it('alarms on every function’s errors and throttles, above zero, in one metric-math alarm each', () => {
    // Prepare
    const lambdas = ofType(templates.dev, 'AWS::Lambda::Function');
    // Assess
    // Every deployed function, a connector's streaming function (openai-stream) included.
    expect(lambdas.length).toBe(deployableNames(functions).length);
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

  it('keeps every schedule off in dev and the workflow schedules on in prod', () => {
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
    // warehouse-load's hourly schedule, the same way.
    const warehouse = (stage: 'dev' | 'prod') =>
      rules(stage).find(([id]) => String(id).startsWith('WarehouseDashload'))?.[1];
    expect(warehouse('dev')).toBe('DISABLED');
    expect(warehouse('prod')).toBe('ENABLED');
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

/** CloudFormation's quotas per stack (a nested stack is a stack). */
const STACK_QUOTAS = { resources: 500, outputs: 200, parameters: 200 };
/** What a connector adds to its category's stack (README, "The stack's size"), and to the root's outputs. */
const CONNECTOR = { resources: 16, outputs: 4 };

/** The ids an Fn::Sub's text names, but for its own variables. */
function subVariables(sub: unknown): string[] {
  const [text, variables = {}] = Array.isArray(sub) ? sub : [sub];
  return [...String(text).matchAll(/\$\{([^!}][^}]*)\}/g)]
    .map((match) => String(match[1]).split('.')[0] as string)
    .filter((id) => !(id in (variables as object)));
}

/** Every Ref, GetAtt and Fn::Sub variable in `value`, as the id it names. */
function referencesIn(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(referencesIn);
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, item]) => {
    if (key === 'Ref' && typeof item === 'string') return [item];
    if (key === 'Fn::GetAtt') return [String(Array.isArray(item) ? item[0] : String(item).split('.')[0])];
    if (key === 'Fn::Sub')
      return [...subVariables(item), ...referencesIn(Array.isArray(item) ? item[1] : undefined)];
    return referencesIn(item);
  });
}

/** The resources of `template` that refer to `id`, but for the workflows (which call functions of any category). */
const referrersOf = (template: Template, id: string): string[] =>
  Object.entries(template.Resources)
    .filter(([other, resource]) => !other.includes('StateMachine') && referencesIn(resource).includes(id))
    .map(([other]) => other);

describe('Operations: the stack size', () => {
  const stackTemplates = (stage: PackagedStage): [string, PackagedStage['root']][] => [
    ['root', stage.root],
    ...Object.entries(stage.nested),
  ];

  it.for(['dev', 'prod'] as const)(
    '%s: every stack stays under CloudFormation’s quotas, with room for two more connectors in each',
    (key) => {
      // Prepare
      const stage = stages[key] as PackagedStage;
      // Assess: more than one stack, and each has room.
      expect(Object.keys(stage.nested).length).toBeGreaterThan(1);
      for (const [name, template] of stackTemplates(stage)) {
        const room = (quota: number, count: number) => quota - count;
        expect(
          room(STACK_QUOTAS.resources, Object.keys(template.Resources).length),
          name,
        ).toBeGreaterThanOrEqual(2 * CONNECTOR.resources);
        expect(
          room(STACK_QUOTAS.parameters, Object.keys(template.Parameters ?? {}).length),
          name,
        ).toBeGreaterThan(0);
        expect(
          room(STACK_QUOTAS.outputs, Object.keys(template.Outputs ?? {}).length),
          name,
        ).toBeGreaterThanOrEqual(name === 'root' ? 2 * CONNECTOR.outputs : 0);
      }
    },
  );

  /** A function's resources: itself, its role, what refers to it and what its function.yml declares. */
  async function resourcesOf(fn: FunctionSource): Promise<string[]> {
    const [id, lambda] = lambdaOf(templates.dev, fn.name) ?? [];
    if (id === undefined) throw new Error(`${fn.name} is not in the stage`);
    const role = getAtt(lambda?.Properties['Role']) ?? `${fn.name}'s role`;
    const declared = (parse(await readFile(fn.definitionFile, 'utf8')) as { resources?: object }).resources;
    return [id, role, ...referrersOf(templates.dev, id), ...Object.keys(declared ?? {})];
  }

  it('puts each connector’s resources in its category’s stack', async () => {
    // Prepare
    const owner = new Map<string, string>();
    for (const [category, template] of Object.entries((stages.dev as PackagedStage).nested)) {
      for (const id of Object.keys(template.Resources)) owner.set(id, category);
    }
    // Assess: function, role, log group, alarm, queue mapping, permissions, integration, routes, queues.
    expect(functions.length).toBeGreaterThan(0);
    for (const fn of functions) {
      const ids = await resourcesOf(fn);
      expect(ids.length, fn.name).toBeGreaterThan(6);
      for (const id of ids) expect(owner.get(id), `${id} (of ${fn.name})`).toBe(fn.category);
    }
  });

  it('keeps what connectors share, and the workflows, in the root', () => {
    // Prepare
    const { root } = stages.dev as PackagedStage;
    const shared = [
      'CoreLambdaLayer',
      'HttpApi',
      'HttpApiStage',
      'IdempotencyTable',
      'CoordinationTable',
      'AlarmTopic',
    ];
    const workflows = ofType(templates.dev, 'AWS::StepFunctions::StateMachine');
    // Assess
    expect(workflows.length).toBeGreaterThan(0);
    for (const id of [...shared, ...workflows.map(([id]) => id)])
      expect(root.Resources[id], id).toBeDefined();
  });

  it('resolves every reference inside its own stack: parameters passed, outputs given, no cycle', () => {
    // Prepare
    const stage = stages.dev as PackagedStage;
    const nestedStacks = Object.entries(stage.root.Resources).filter(
      ([, resource]) => resource.Type === 'AWS::CloudFormation::Stack',
    );
    // Assess: each template refers only to what it holds, its parameters and pseudo parameters.
    for (const [name, template] of stackTemplates(stage)) {
      const known = new Set([...Object.keys(template.Resources), ...Object.keys(template.Parameters ?? {})]);
      const dangling = [...new Set(referencesIn({ r: template.Resources, o: template.Outputs }))].filter(
        (id) => !known.has(id) && !id.startsWith('AWS::'),
      );
      expect(dangling, name).toEqual([]);
      for (const resource of Object.values(template.Resources)) {
        for (const other of asArray(resource.DependsOn))
          expect(known.has(other), `${name} DependsOn ${other}`).toBe(true);
      }
    }
    // Each nested stack gets exactly its parameters, and the root reads only outputs that exist.
    expect(nestedStacks.length).toBe(Object.keys(stage.nested).length);
    for (const [id, resource] of nestedStacks) {
      const template = stage.nested[stage.stacks[id] ?? ''];
      const passed = Object.keys((resource.Properties?.['Parameters'] ?? {}) as object).sort();
      expect(passed, id).toEqual(Object.keys(template?.Parameters ?? {}).sort());
    }
    const outputsRead = JSON.stringify(stage.root).matchAll(
      /"([A-Za-z0-9]+Stack)","Outputs\.([A-Za-z0-9]+)"/g,
    );
    let reads = 0;
    for (const [, stack, output] of outputsRead) {
      reads += 1;
      expect(
        stage.nested[stage.stacks[stack ?? ''] ?? '']?.Outputs?.[output ?? ''],
        `${stack}.${output}`,
      ).toBeDefined();
    }
    expect(reads).toBeGreaterThan(0);
    // No cycle among the root's resources and stacks (CloudFormation refuses one).
    const edges = new Map(
      Object.entries(stage.root.Resources).map(([id, resource]) => [
        id,
        new Set([...referencesIn(resource), ...asArray(resource.DependsOn)].filter((other) => other !== id)),
      ]),
    );
    const done = new Set<string>();
    const visiting = new Set<string>();
    const cycleFrom = (id: string): boolean => {
      if (done.has(id)) return false;
      if (visiting.has(id)) return true;
      visiting.add(id);
      const found = [...(edges.get(id) ?? [])].some(cycleFrom);
      visiting.delete(id);
      done.add(id);
      return found;
    };
    expect([...edges.keys()].filter(cycleFrom)).toEqual([]);
  });

  it('changes where resources live and never what they are: the stage read back equals the unsplit package', () => {
    // Prepare: the artifact folder's timestamp differs between the two packages.
    const normal = (template: unknown) =>
      JSON.parse(
        JSON.stringify(template).replace(/serverless\/circle-core\/dev\/[^/"]+/g, '<artifacts>'),
      ) as Template;
    const split = normal(templates.dev);
    const unsplit = normal(mergeStage(stages.unsplit as PackagedStage));
    const withoutDependsOn = (resources: Record<string, Resource>) =>
      Object.fromEntries(Object.entries(resources).map(([id, { DependsOn: _, ...rest }]) => [id, rest]));
    const stage = stages.dev as PackagedStage;
    const stackOf = (id: string) =>
      Object.entries(stage.stacks).find(
        ([, category]) => stage.nested[category]?.Resources[id] !== undefined,
      )?.[0] ?? id;
    // The one change the split makes to what a resource is: a workflow that calls back the stack starting it
    // (order-fulfilment, started by the Stripe connector) is named, and that stack reads its ARN built from
    // the name instead of the Ref, which would be a cycle (scripts/serverless/split-stacks.cjs).
    const named = Object.keys(split.Resources).filter(
      (id) =>
        split.Resources[id]?.Type === 'AWS::StepFunctions::StateMachine' &&
        split.Resources[id]?.Properties?.['StateMachineName'] !== undefined &&
        unsplit.Resources[id]?.Properties?.['StateMachineName'] === undefined,
    );
    const expected: Record<string, Resource> = {};
    for (const [id, resource] of Object.entries(unsplit.Resources)) {
      let text = JSON.stringify(resource);
      for (const machine of stackOf(id) === id ? [] : named) {
        const arn = `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:\${AWS::StackName}-${machine}`;
        text = text.replaceAll(JSON.stringify({ Ref: machine }), JSON.stringify({ 'Fn::Sub': arn }));
      }
      expected[id] = JSON.parse(text) as Resource;
    }
    for (const machine of named) {
      const properties = { ...expected[machine]?.Properties };
      properties['StateMachineName'] = { 'Fn::Sub': `\${AWS::StackName}-${machine}` };
      expected[machine] = { ...(expected[machine] as Resource), Properties: properties };
    }
    // Assess
    expect(named).toContain('OrderFulfilmentStateMachine');
    expect(Object.keys(split.Resources).length).toBeGreaterThan(400);
    expect(withoutDependsOn(split.Resources)).toEqual(withoutDependsOn(expected));
    expect(split.Outputs).toEqual(unsplit.Outputs);
    // A DependsOn that crossed stacks lives on the dependent's stack.
    for (const [id, resource] of Object.entries(unsplit.Resources)) {
      for (const other of asArray(resource.DependsOn as string | string[] | undefined)) {
        const kept = asArray(split.Resources[id]?.DependsOn as string | string[] | undefined).includes(other);
        const [from, to] = [stackOf(id), stackOf(other)];
        const viaStack = from !== to && asArray(stage.root.Resources[from]?.DependsOn).includes(to);
        const implied = from !== to && referencesIn(stage.root.Resources[from]).includes(to);
        expect(kept || viaStack || implied, `${id} DependsOn ${other}`).toBe(true);
      }
    }
  });
});

describe('Operations: cfn-lint', () => {
  it.for(['dev', 'prod'] as const)(
    '%s: finds nothing but the explained findings, informational rules included',
    { timeout: 300_000 },
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
        [
          '--include-checks',
          'I',
          '--format',
          'parseable',
          ...(await readdir(packageDirs[stage] ?? ''))
            .filter((file) => file.includes('-stack.json') && !file.includes('create-stack'))
            .map((file) => join(packageDirs[stage] ?? '', file)),
        ],
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
