/**
 * Runs `scripts/package.ts --stage dev` once (build, then `serverless package` offline against the local
 * AWS stand-in), into a scratch build and package folder so it never races a developer's or another
 * suite's `.build`/`.serverless`, and checks the CloudFormation template against the deployment rules: one Lambda per
 * connector on nodejs24.x with the core layer, per-function least-privilege roles, SQS queues with
 * dead-letter queues and room for retries, partial batch responses, authorized HTTP routes, schedules.
 */
import { execFile } from 'node:child_process';
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SQS_MESSAGE_LIMIT_BYTES } from '../../layers/core/src/aws/limits.ts';
import { deployableNames, discoverFunctions } from '../../scripts/lib/functions.ts';
import { mergeStage, readPackagedStage } from '../../scripts/lib/stacks.ts';

const run = promisify(execFile);
const root = resolve(import.meta.dirname, '../..');
const STAGE = 'dev';
const SECRET_PREFIX = `circle-core/${STAGE}`;
/** Routes that providers call with their own signature, not with AWS credentials or a JWT. */
const WEBHOOK_PATH = /\/(webhook|events|commands)$/;
/** Data-plane services whose actions must always name their resources. */
const DATA_PLANE = /^(s3|dynamodb|sqs):/;

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** The connectors of this phase: losing one (its folder or its function.yml) must fail, not shrink the checks. */
const EXPECTED = ['github', 'mysql', 'postgres', 's3', 'slack'];
const functions = await discoverFunctions(root);
// serverless.yml includes each connector's function.yml by path; a missing one cannot be packaged.
const included = [
  ...(await readFile(join(root, 'serverless.yml'), 'utf8')).matchAll(/\$\{file\(([^)]+)\)/g),
].map((match) => match[1] ?? '');
const missingIncludes: string[] = [];
for (const file of new Set(included)) {
  try {
    await access(join(root, file));
  } catch {
    missingIncludes.push(file);
  }
}

let output = '';
let resources: Record<string, Resource> = {};

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const ofType = (type: string): [string, Resource][] =>
  Object.entries(resources).filter(([, resource]) => resource.Type === type);
const getAtt = (value: unknown): string | undefined => {
  const target = (value as { 'Fn::GetAtt'?: unknown[] } | undefined)?.['Fn::GetAtt'];
  return Array.isArray(target) ? String(target[0]) : undefined;
};
const lambdaOf = (name: string): [string, Resource] | undefined =>
  ofType('AWS::Lambda::Function').find(
    ([, fn]) => fn.Properties['FunctionName'] === `circle-core-${STAGE}-${name}`,
  );

const s3Key = (code: unknown): string => String((code as { S3Key?: unknown } | undefined)?.S3Key ?? '');

/** An IAM resource as text: plain strings as they are, Fn::Sub and Fn::Join flattened, others as JSON. */
function resourceText(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as Record<string, unknown>;
  const sub = object['Fn::Sub'];
  if (sub !== undefined) return String(Array.isArray(sub) ? sub[0] : sub);
  const join = object['Fn::Join'] as [string, unknown[]] | undefined;
  if (join !== undefined)
    return join[1].map((part) => (typeof part === 'string' ? part : '{ref}')).join(join[0]);
  return JSON.stringify(value);
}

function statementsOf(role: Resource): Statement[] {
  const policies = asArray(role.Properties['Policies'] as { PolicyDocument: { Statement: Statement[] } }[]);
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

describe('Script: package (template)', () => {
  let scratch: string | undefined;

  it('finds every expected connector and every function.yml serverless.yml includes', () => {
    // Assess
    expect(functions.map((fn) => fn.name)).toEqual(expect.arrayContaining(EXPECTED));
    expect(included.length).toBeGreaterThanOrEqual(EXPECTED.length);
    expect(missingIncludes).toEqual([]);
  });

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'circle-core-package-'));
    const packageDir = join(scratch, 'package');
    const args = ['--stage', STAGE, '--build-dir', join(scratch, 'build'), '--package-dir', packageDir];
    const result = await run(process.execPath, ['scripts/package.ts', ...args], {
      cwd: root,
      timeout: 280_000,
      maxBuffer: 16 * 1024 * 1024,
    });
    output = result.stdout;
    resources = mergeStage(await readPackagedStage(packageDir)).Resources as Record<string, Resource>;
  }, 300_000);

  afterAll(async () => {
    if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
  });

  it('packages offline: osls only reached the local AWS stand-in', () => {
    // Assess
    expect(output).toMatch(/Offline AWS stand-in answered: .*cloudformation:DescribeStacks/);
    expect(output).toContain('/package/cloudformation-template-update-stack.json');
  });

  it('declares the core layer from the built layer.zip for nodejs24.x', () => {
    // Act
    const layer = resources['CoreLambdaLayer'];
    // Assess
    expect(layer?.Type).toBe('AWS::Lambda::LayerVersion');
    expect(layer?.Properties['CompatibleRuntimes']).toContain('nodejs24.x');
    expect(s3Key(layer?.Properties['Content'])).toMatch(/\/layer\.zip$/);
  });

  it('has exactly one Lambda function per connector, and one per streaming function', () => {
    // Act
    const deployed = ofType('AWS::Lambda::Function').map(([, fn]) => String(fn.Properties['FunctionName']));
    // Assess
    expect(deployed.sort()).toEqual(
      deployableNames(functions)
        .map((name) => `circle-core-${STAGE}-${name}`)
        .sort(),
    );
  });

  const streaming = functions.flatMap((fn) => (fn.stream === undefined ? [] : [[fn.name, fn.stream.name]]));

  it('has a streaming function for each LLM connector', () => {
    // Assess
    expect(streaming.map(([, stream]) => stream)).toEqual(
      expect.arrayContaining(['anthropic-stream', 'bedrock-stream', 'openai-stream']),
    );
  });

  describe.each(streaming)('Streaming function of %s: %s', (connector, name) => {
    it('runs its own zip (index.streamHandler) behind an IAM-authorized function URL with response streaming', () => {
      // Prepare
      const [id, lambda] = lambdaOf(name) ?? [];
      // Act
      const urls = ofType('AWS::Lambda::Url').filter(
        ([, url]) => getAtt(url.Properties['TargetFunctionArn']) === id,
      );
      // Assess
      expect(lambda?.Properties).toMatchObject({ Runtime: 'nodejs24.x', Handler: 'index.streamHandler' });
      expect(s3Key(lambda?.Properties['Code'])).toMatch(new RegExp(`/${name}\\.zip$`));
      expect(urls).toHaveLength(1);
      expect(urls[0]?.[1].Properties).toMatchObject({ AuthType: 'AWS_IAM', InvokeMode: 'RESPONSE_STREAM' });
      // No events: the URL is its only trigger (no route, no queue mapping, no schedule).
      const mappings = ofType('AWS::Lambda::EventSourceMapping').filter(
        ([, mapping]) => getAtt(mapping.Properties['FunctionName']) === id,
      );
      expect(mappings).toEqual([]);
    });

    it("has the connector's settings and its own role: its budget counter and secret, no queue", () => {
      // Prepare
      const [, lambda] = lambdaOf(name) ?? [];
      const [, main] = lambdaOf(connector) ?? [];
      const role = resources[getAtt(lambda?.Properties['Role']) ?? ''] as Resource;
      const variables = (
        lambda?.Properties['Environment'] as { Variables?: Record<string, unknown> } | undefined
      )?.Variables;
      const mainVariables = (
        main?.Properties['Environment'] as { Variables?: Record<string, unknown> } | undefined
      )?.Variables;
      // Act
      const statements = statementsOf(role);
      const actions = statements.flatMap((statement) => asArray(statement.Action));
      // Assess
      expect(variables).toEqual(mainVariables);
      expect(getAtt(lambda?.Properties['Role'])).not.toBe(getAtt(main?.Properties['Role']));
      expect(actions).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:UpdateItem']));
      expect(actions.filter((action) => action.startsWith('sqs:'))).toEqual([]);
      expect(JSON.stringify(statements)).toContain(`quota#${connector}#*`);
      const secrets = statements
        .filter((statement) => asArray(statement.Action).includes('secretsmanager:GetSecretValue'))
        .flatMap((statement) => asArray(statement.Resource).map(resourceText));
      for (const secret of secrets) expect(secret).toContain(`:secret:${SECRET_PREFIX}/${connector}/`);
      if (connector === 'bedrock') {
        expect(actions).toContain('bedrock:InvokeModelWithResponseStream');
        expect(actions).not.toContain('bedrock:InvokeModel');
      } else {
        expect(secrets.length).toBeGreaterThan(0);
      }
    });
  });

  /** Functions whose native library is built for x86_64 only in this build. */
  const X86_64_FUNCTIONS = new Set(['duckdb']);

  describe.each(functions.map((fn) => fn.name))('Function: %s', (name) => {
    it('runs its own zip on nodejs24.x, arm64 (x86_64 where it ships a native engine), with the core layer', () => {
      // Act
      const props = lambdaOf(name)?.[1].Properties ?? {};
      // DuckDB's build ships the linux-x64 binding of its engine (scripts/lib/native-bindings.ts).
      const architecture = X86_64_FUNCTIONS.has(name) ? 'x86_64' : 'arm64';
      // Assess
      expect(props).toMatchObject({
        Runtime: 'nodejs24.x',
        Handler: 'index.handler',
        Architectures: [architecture],
        Layers: [{ Ref: 'CoreLambdaLayer' }],
      });
      expect(s3Key(props['Code'])).toMatch(new RegExp(`/${name}\\.zip$`));
      expect((props['Environment'] as { Variables: Record<string, unknown> }).Variables).toMatchObject({
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_METRICS_NAMESPACE: 'CircleCore',
        POWERTOOLS_TRACE_ENABLED: expect.stringMatching(/^(true|false)$/),
      });
    });

    it('has its own IAM role', () => {
      // Act
      const roleId = getAtt(lambdaOf(name)?.[1].Properties['Role']);
      const users = ofType('AWS::Lambda::Function').filter(
        ([, fn]) => getAtt(fn.Properties['Role']) === roleId,
      );
      // Assess
      expect(roleId).toBeDefined();
      expect(resources[roleId ?? '']?.Type).toBe('AWS::IAM::Role');
      expect(users).toHaveLength(1);
    });

    it('reads secrets only under its own prefix', (context) => {
      // Prepare
      const lambda = lambdaOf(name)?.[1];
      const roleId = getAtt(lambda?.Properties['Role']) ?? '';
      const role = resources[roleId] as Resource;
      const environment = lambda?.Properties['Environment'] as
        | { Variables?: Record<string, unknown> }
        | undefined;
      const variables = environment?.Variables ?? {};
      const namesSecrets = Object.keys(variables).some((variable) => /_SECRET$/.test(variable));
      context.skip(!namesSecrets, `${name} names no secret: its role is its only credential`);
      // Act
      const secretResources = statementsOf(role)
        .filter((statement) =>
          asArray(statement.Action).some((action) => action.startsWith('secretsmanager:')),
        )
        .flatMap((statement) => asArray(statement.Resource).map(resourceText));
      // Assess
      expect(secretResources.length).toBeGreaterThan(0);
      for (const resource of secretResources) {
        expect(resource).toMatch(
          /^arn:\$\{AWS::Partition\}:secretsmanager:\$\{AWS::Region\}:\$\{AWS::AccountId\}:secret:/,
        );
        expect(resource).toContain(`:secret:${SECRET_PREFIX}/${name}/`);
      }
    });

    it('has one EventBridge rule per declared schedule', () => {
      // Prepare
      const definition = functions.find((fn) => fn.name === name)?.definition;
      const events = asArray(definition?.['events'] as Record<string, unknown>[] | undefined);
      const declared = events
        .filter((event) => 'schedule' in event)
        .reduce((count, event) => {
          const schedule = event['schedule'] as { rate?: unknown } | string;
          return (
            count + (typeof schedule === 'object' && Array.isArray(schedule.rate) ? schedule.rate.length : 1)
          );
        }, 0);
      const lambdaId = lambdaOf(name)?.[0];
      // Act
      const rules = ofType('AWS::Events::Rule').filter(([, rule]) =>
        asArray(rule.Properties['Targets'] as { Arn: unknown }[]).some(
          (target) => getAtt(target.Arn) === lambdaId,
        ),
      );
      // Assess
      expect(rules).toHaveLength(declared);
      for (const [, rule] of rules) expect(rule.Properties['ScheduleExpression']).toMatch(/^(rate|cron)\(/);
    });
  });

  it('grants no wildcard action and no data-plane action on every resource', () => {
    // Act
    const statements = ofType('AWS::IAM::Role').flatMap(([id, role]) =>
      statementsOf(role).map((statement) => ({ id, statement })),
    );
    // Assess
    expect(statements.length).toBeGreaterThan(0);
    for (const { id, statement } of statements) {
      const actions = asArray(statement.Action);
      const where = `${id}: ${JSON.stringify(statement)}`;
      expect(
        actions.filter((action) => action === '*' || action.endsWith(':*')),
        where,
      ).toEqual([]);
      if (actions.some((action) => DATA_PLANE.test(action))) {
        expect(asArray(statement.Resource).map(resourceText), where).not.toContain('*');
      }
    }
  });

  it('gives every queue a dead-letter queue and a visibility timeout of at least 6x its consumer timeout', () => {
    // Prepare
    const queues = ofType('AWS::SQS::Queue');
    const redrive = (
      queue: Resource,
    ): { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown } | undefined => {
      const policy = queue.Properties['RedrivePolicy'];
      return typeof policy === 'string' ? JSON.parse(policy) : (policy as undefined);
    };
    const deadLetterQueues = new Set(queues.map(([, queue]) => getAtt(redrive(queue)?.deadLetterTargetArn)));
    const mappings = ofType('AWS::Lambda::EventSourceMapping');
    // Act
    const workQueues = queues.filter(([id]) => !deadLetterQueues.has(id));
    // Assess
    expect(workQueues.length).toBeGreaterThan(0);
    for (const [id, queue] of workQueues) {
      const policy = redrive(queue);
      const target = getAtt(policy?.deadLetterTargetArn);
      expect(resources[target ?? '']?.Type, `${id} dead-letter queue`).toBe('AWS::SQS::Queue');
      expect(Number(policy?.maxReceiveCount), `${id} maxReceiveCount`).toBeGreaterThanOrEqual(5);
      const visibility = Number(queue.Properties['VisibilityTimeout'] ?? 30);
      for (const [, mapping] of mappings.filter(([, m]) => getAtt(m.Properties['EventSourceArn']) === id)) {
        const consumer = resources[getAtt(mapping.Properties['FunctionName']) ?? ''];
        const timeout = Number(consumer?.Properties['Timeout'] ?? 6);
        // The connector moves a record failing on its last receive itself, with its reason.
        const variables = (consumer?.Properties['Environment'] as { Variables?: Record<string, unknown> })
          ?.Variables;
        expect(String(variables?.['CIRCLE_MAX_RECEIVE_COUNT']), `${id} CIRCLE_MAX_RECEIVE_COUNT`).toBe(
          String(policy?.maxReceiveCount),
        );
        expect(visibility, `${id} VisibilityTimeout vs timeout ${timeout}`).toBeGreaterThanOrEqual(
          6 * timeout,
        );
      }
    }
  });

  it("lets every queue take SQS's largest message, so a 1 MiB request or its dead letter is not refused", () => {
    // Act: CloudFormation's MaximumMessageSize default predates SQS's 1 MiB (January 2026), so it is stated
    const queues = ofType('AWS::SQS::Queue');
    // Assess
    expect(queues.length).toBeGreaterThan(0);
    for (const [id, queue] of queues) {
      expect(Number(queue.Properties['MaximumMessageSize']), `${id} MaximumMessageSize`).toBe(
        SQS_MESSAGE_LIMIT_BYTES,
      );
    }
  });

  it('reports partial batch failures on every event source mapping', () => {
    // Act
    const mappings = ofType('AWS::Lambda::EventSourceMapping');
    // Assess
    expect(mappings.length).toBeGreaterThan(0);
    for (const [id, mapping] of mappings) {
      expect(mapping.Properties['FunctionResponseTypes'], id).toEqual(['ReportBatchItemFailures']);
    }
  });

  it('authorizes every HTTP route except provider webhooks', () => {
    // Act
    const routes = ofType('AWS::ApiGatewayV2::Route').map(([, route]) => route.Properties);
    const guarded = routes.filter(
      (route) => !WEBHOOK_PATH.test(String(route['RouteKey']).split(' ')[1] ?? ''),
    );
    // Assess
    expect(guarded.length).toBeGreaterThan(0);
    for (const route of guarded) {
      expect(['AWS_IAM', 'JWT'], String(route['RouteKey'])).toContain(route['AuthorizationType']);
    }
  });
});
