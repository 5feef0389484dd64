/**
 * Least privilege in the packaged CloudFormation template, beyond what test/packaging/template.test.ts
 * checks (own secrets only, no `*` action, no `*` resource on s3/dynamodb/sqs, a DLQ per queue, authorized
 * non-webhook routes). Packages offline with placeholder artifacts (the template does not depend on the zip
 * contents, so no build is needed) and checks: no NotAction/NotResource/NotPrincipal; `*` resources only
 * for actions that have no resource-level permissions; roles trusted by their one service only and without
 * managed policies; no role reaching another connector's queue, table, bucket or secret; dead-letter queues
 * that outlive their source queue's retention and are never consumed by a function; public routes exactly
 * the routes that verify a signature in code; service-scoped Lambda permissions; private, encrypted
 * storage that refuses requests without TLS; queues encrypted at rest; and CIRCLE_IDEMPOTENCY_TABLE on every
 * function that declares a write, with a table and grants (on its own keys) that fit Powertools. Every check
 * over "each X" first proves there is an X, or skips saying why there is none.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type CapturedLogs, captureLogs } from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deployableNames, discoverFunctions, type FunctionSource } from '../../scripts/lib/functions.ts';
import { packageService } from '../../scripts/lib/serverless.ts';
import { mergeStage, readPackagedStage } from '../../scripts/lib/stacks.ts';

const ROOT = resolve(import.meta.dirname, '../..');
/**
 * Actions AWS offers no resource-level permissions for: the only ones allowed on Resource '*'. X-Ray for
 * tracing; the CloudWatch Logs delivery actions Step Functions needs to log to a log group (the state
 * machines' loggingConfig; AWS documents them as '*' only); SES v2's ListEmailTemplates and GetAccount.
 */
const RESOURCELESS_ACTIONS = new Set([
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
  // SES v2: the account's template list and its sending quota name no resource in IAM.
  'ses:ListEmailTemplates',
  'ses:GetAccount',
]);
/** Logs for every function; network interfaces for a database connector a stage puts in a VPC. */
const MANAGED_POLICY_ALLOWLIST = [
  /service-role\/AWSLambdaBasicExecutionRole$/,
  /service-role\/AWSLambdaVPCAccessExecutionRole$/,
];
/** SQS keeps a message this long unless MessageRetentionPeriod says otherwise. */
const DEFAULT_RETENTION_SECONDS = 345_600;

interface Resource {
  Type: string;
  Properties: Record<string, unknown>;
}
interface Statement {
  Effect: string;
  Action?: string | string[];
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
  Principal?: unknown;
  NotPrincipal?: unknown;
}

let scratch: string;
let resources: Record<string, Resource> = {};
let functions: FunctionSource[] = [];
let logs: CapturedLogs;
/** `METHOD /path` of every route a connector declares `auth: 'signature'`. */
let signatureRoutes: string[] = [];
/** The functions whose connector declares an operation with `effect: 'write'`. */
const writers: string[] = [];

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const ofType = (type: string): [string, Resource][] =>
  Object.entries(resources).filter(([, resource]) => resource.Type === type);
const getAtt = (value: unknown): string | undefined => {
  const target = (value as { 'Fn::GetAtt'?: unknown[] } | undefined)?.['Fn::GetAtt'];
  return Array.isArray(target) ? String(target[0]) : undefined;
};
const pascal = (name: string): string => name.charAt(0).toUpperCase() + name.slice(1);

/** Logical ids a value refers to (Ref, Fn::GetAtt, anywhere inside). */
function references(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(references);
  if (typeof value !== 'object' || value === null) return [];
  const object = value as Record<string, unknown>;
  const direct: string[] = [];
  if (typeof object['Ref'] === 'string') direct.push(object['Ref']);
  const att = getAtt(object);
  if (att !== undefined) direct.push(att);
  return [...direct, ...Object.values(object).flatMap(references)];
}

function policyStatements(role: Resource): Statement[] {
  const policies = asArray(role.Properties['Policies'] as { PolicyDocument: { Statement: Statement[] } }[]);
  return policies.flatMap((policy) => asArray(policy.PolicyDocument.Statement));
}

function allStatements(): { id: string; statement: Statement }[] {
  const documents: { id: string; statement: Statement }[] = [];
  for (const [id, resource] of Object.entries(resources)) {
    const props = resource.Properties ?? {};
    for (const key of ['AssumeRolePolicyDocument', 'PolicyDocument']) {
      const document = props[key] as { Statement?: Statement | Statement[] } | undefined;
      for (const statement of asArray(document?.Statement)) documents.push({ id, statement });
    }
    if (resource.Type === 'AWS::IAM::Role') {
      for (const statement of policyStatements(resource)) documents.push({ id, statement });
    }
  }
  return documents;
}

function functionRole(name: string): Resource | undefined {
  const fn = ofType('AWS::Lambda::Function').find(([, resource]) =>
    String(resource.Properties['FunctionName']).endsWith(`-${name}`),
  );
  return resources[getAtt(fn?.[1].Properties['Role']) ?? ''];
}

/** A policy resource as text: `Ref` and `Fn::GetAtt` become `{Id}`, `Fn::Join` is joined. */
function arnText(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as Record<string, unknown>;
  if (typeof object['Ref'] === 'string') return `{${object['Ref']}}`;
  const att = getAtt(object);
  if (att !== undefined) return `{${att}}`;
  const join = object['Fn::Join'] as [string, unknown[]] | undefined;
  if (join !== undefined) return join[1].map(arnText).join(join[0]);
  return JSON.stringify(value);
}

/**
 * For each bucket policy statement that denies every principal every S3 action on `bucketId` when
 * `aws:SecureTransport` is false: whether it covers the bucket itself and whether it covers its objects.
 */
function insecureTransportDenials(bucketId: string): { bucket: boolean; objects: boolean }[] {
  return ofType('AWS::S3::BucketPolicy')
    .filter(([, policy]) => references(policy.Properties['Bucket']).includes(bucketId))
    .flatMap(([, policy]) =>
      asArray((policy.Properties['PolicyDocument'] as { Statement: Statement | Statement[] }).Statement),
    )
    .filter((statement) => {
      const secure = (statement as { Condition?: { Bool?: Record<string, unknown> } }).Condition?.Bool?.[
        'aws:SecureTransport'
      ];
      return (
        statement.Effect === 'Deny' &&
        statement.Principal === '*' &&
        asArray(statement.Action).includes('s3:*') &&
        String(secure) === 'false'
      );
    })
    .map((statement) => {
      const targets = asArray(statement.Resource as unknown[]).map(arnText);
      const own = targets.filter((text) => text.includes(`{${bucketId}}`));
      return {
        bucket: own.some((text) => !text.endsWith('/*')),
        objects: own.some((text) => text.endsWith('/*')),
      };
    });
}

/**
 * Queues whose definition declares no encryption at rest: neither SQS-managed keys (`SqsManagedSseEnabled`)
 * nor a KMS key. New queues usually get SQS-managed keys by default; the template says so itself, so the
 * review does not rest on a default.
 */
function unencryptedQueues(template: Record<string, Resource>): string[] {
  return Object.entries(template)
    .filter(([, resource]) => resource.Type === 'AWS::SQS::Queue')
    .filter(
      ([, queue]) =>
        queue.Properties?.['SqsManagedSseEnabled'] !== true &&
        queue.Properties?.['KmsMasterKeyId'] === undefined,
    )
    .map(([id]) => id);
}

beforeAll(async () => {
  logs = captureLogs();
  functions = await discoverFunctions(ROOT);
  scratch = await mkdtemp(join(tmpdir(), 'circle-hardening-template-'));
  const buildDir = join(scratch, 'build');
  await mkdir(join(buildDir, 'functions'), { recursive: true });
  await writeFile(join(buildDir, 'layer.zip'), '');
  for (const name of deployableNames(functions)) {
    await writeFile(join(buildDir, 'functions', `${name}.zip`), '');
  }
  const packageDir = join(scratch, 'package');
  await packageService({ root: ROOT, stage: 'dev', region: 'us-east-1', buildDir, packageDir });
  resources = mergeStage(await readPackagedStage(packageDir)).Resources as Record<string, Resource>;
  for (const fn of functions) {
    const module = (await import(fn.entry)) as {
      connector: {
        runtime: {
          routes: { method: string; path: string; auth: string }[];
          operations: Record<string, { effect?: string }>;
        };
      };
    };
    for (const route of module.connector.runtime.routes) {
      if (route.auth === 'signature') signatureRoutes.push(`${route.method} ${route.path}`);
    }
    const operations = Object.values(module.connector.runtime.operations);
    if (operations.some((operation) => operation.effect === 'write')) writers.push(fn.name);
  }
  signatureRoutes = signatureRoutes.sort();
  logs.restore();
}, 180_000);

afterAll(async () => {
  logs.restore();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

describe('Template: IAM', () => {
  it('uses no NotAction, NotResource or NotPrincipal anywhere', () => {
    // Act
    const statements = allStatements();
    // Assess
    expect(statements.length).toBeGreaterThan(0);
    for (const { id, statement } of statements) {
      expect(statement.NotAction, id).toBeUndefined();
      expect(statement.NotResource, id).toBeUndefined();
      expect(statement.NotPrincipal, id).toBeUndefined();
    }
  });

  it("allows Resource '*' only for actions that have no resource-level permissions", () => {
    // Act
    const onAnything = ofType('AWS::IAM::Role').flatMap(([id, role]) =>
      policyStatements(role)
        .filter((statement) => statement.Effect === 'Allow' && asArray(statement.Resource).includes('*'))
        .map((statement) => ({ id, statement })),
    );
    // Assess: every role inherits the X-Ray grant, so there is always something to check.
    expect(onAnything.length).toBeGreaterThan(0);
    for (const { id, statement } of onAnything) {
      for (const action of asArray(statement.Action)) {
        expect(RESOURCELESS_ACTIONS.has(action), `${id}: ${action} on '*'`).toBe(true);
      }
    }
  });

  it('lets each role be assumed by one AWS service only, and attaches no broad managed policy', () => {
    // Assess: a role per function at least.
    expect(ofType('AWS::IAM::Role').length).toBeGreaterThanOrEqual(functions.length);
    for (const [id, role] of ofType('AWS::IAM::Role')) {
      // Act
      const trust = asArray(
        (role.Properties['AssumeRolePolicyDocument'] as { Statement: Statement[] }).Statement,
      );
      // Assess
      for (const statement of trust) {
        const principal = statement.Principal as { Service?: unknown } | string;
        expect(principal, id).not.toBe('*');
        expect(Object.keys(principal as object), id).toEqual(['Service']);
        expect(asArray((principal as { Service: unknown }).Service), id).toHaveLength(1);
      }
      for (const arn of asArray(role.Properties['ManagedPolicyArns'] as unknown[])) {
        const text = JSON.stringify(arn);
        expect(
          MANAGED_POLICY_ALLOWLIST.some((pattern) => pattern.test(text.replaceAll('"', ''))),
          `${id}: ${text}`,
        ).toBe(true);
      }
    }
  });

  it.each(['s3', 'postgres', 'slack', 'github'])(
    '%s: its role reaches no resource of another connector and reads only GetSecretValue on its secrets',
    (name) => {
      // Prepare
      const role = functionRole(name) as Resource;
      const others = functions.map((fn) => pascal(fn.name)).filter((prefix) => prefix !== pascal(name));
      // Act
      const statements = policyStatements(role);
      const referenced = statements.flatMap((statement) => references(statement.Resource));
      const texts = statements.flatMap((statement) =>
        asArray(statement.Resource).map((r) => JSON.stringify(r)),
      );
      // Assess
      expect(role, name).toBeDefined();
      for (const id of referenced) {
        expect(
          others.some((prefix) => id.startsWith(prefix)),
          `${name} reaches ${id}`,
        ).toBe(false);
      }
      for (const other of functions.filter((fn) => fn.name !== name)) {
        for (const text of texts)
          expect(text, `${name} reaches ${other.name}`).not.toContain(`/${other.name}/`);
      }
      const secretActions = statements
        .flatMap((statement) => asArray(statement.Action))
        .filter((action) => action.startsWith('secretsmanager:'));
      for (const action of secretActions) expect(action).toBe('secretsmanager:GetSecretValue');
    },
  );

  it('scopes every Lambda permission to an AWS service and a source', () => {
    // Assess: the HTTP API and the schedules invoke functions.
    expect(ofType('AWS::Lambda::Permission').length).toBeGreaterThan(0);
    for (const [id, permission] of ofType('AWS::Lambda::Permission')) {
      // Assess
      expect(String(permission.Properties['Principal']), id).toMatch(/^[a-z-]+\.amazonaws\.com$/);
      expect(permission.Properties['SourceArn'], id).toBeDefined();
    }
  });
});

describe('Template: queues', () => {
  const redrive = (
    queue: Resource,
  ): { deadLetterTargetArn?: unknown; maxReceiveCount?: unknown } | undefined => {
    const policy = queue.Properties['RedrivePolicy'];
    return typeof policy === 'string' ? JSON.parse(policy) : (policy as undefined);
  };

  it('keeps messages in every dead-letter queue longer than in its source queue', () => {
    // Act
    const workQueues = ofType('AWS::SQS::Queue').filter(([, queue]) => redrive(queue) !== undefined);
    // Assess
    expect(workQueues.length).toBeGreaterThan(0);
    for (const [id, queue] of workQueues) {
      const dlq = resources[getAtt(redrive(queue)?.deadLetterTargetArn) ?? ''] as Resource;
      const source = Number(queue.Properties['MessageRetentionPeriod'] ?? DEFAULT_RETENTION_SECONDS);
      const parked = Number(dlq.Properties['MessageRetentionPeriod'] ?? DEFAULT_RETENTION_SECONDS);
      // SQS keeps a message's original enqueue time in a standard DLQ: a shorter retention loses it early.
      expect(parked, `${id} dead-letter retention`).toBeGreaterThan(source);
    }
  });

  it('never lets a function consume a dead-letter queue', () => {
    // Prepare
    const deadLetterQueues = new Set(
      ofType('AWS::SQS::Queue').flatMap(([, queue]) => asArray(getAtt(redrive(queue)?.deadLetterTargetArn))),
    );
    // Act
    const consumed = ofType('AWS::Lambda::EventSourceMapping').map(([, mapping]) =>
      getAtt(mapping.Properties['EventSourceArn']),
    );
    // Assess
    expect(deadLetterQueues.size).toBeGreaterThan(0);
    expect(consumed.length).toBeGreaterThan(0);
    for (const queue of consumed) expect(deadLetterQueues.has(queue ?? ''), String(queue)).toBe(false);
  });

  it('encrypts every queue at rest (SQS-managed keys or KMS)', () => {
    // Act
    const queues = ofType('AWS::SQS::Queue');
    // Assess: the request queue and dead-letter queue of every connector at least.
    expect(queues.length).toBeGreaterThanOrEqual(functions.length * 2);
    expect(unencryptedQueues(resources)).toEqual([]);
  });

  it('would name a queue planted without encryption, and one that turns SQS-managed keys off', () => {
    // Prepare
    const planted: Record<string, Resource> = {
      EncryptedQueue: { Type: 'AWS::SQS::Queue', Properties: { SqsManagedSseEnabled: true } },
      PlantedQueue: { Type: 'AWS::SQS::Queue', Properties: { VisibilityTimeout: 30 } },
      PlantedOffQueue: { Type: 'AWS::SQS::Queue', Properties: { SqsManagedSseEnabled: false } },
      PlantedKmsQueue: { Type: 'AWS::SQS::Queue', Properties: { KmsMasterKeyId: 'alias/aws/sqs' } },
    };
    // Act & Assess
    expect(unencryptedQueues(planted)).toEqual(['PlantedQueue', 'PlantedOffQueue']);
  });

  it('grants no one a queue policy with a wildcard principal', (context) => {
    // Prepare
    const policies = ofType('AWS::SQS::QueuePolicy');
    context.skip(policies.length === 0, 'no queue policy in the template: only roles reach the queues');
    for (const [id, policy] of policies) {
      const statements = asArray(
        (policy.Properties['PolicyDocument'] as { Statement: Statement[] }).Statement,
      );
      for (const statement of statements) {
        // Assess
        if (statement.Effect === 'Allow')
          expect(JSON.stringify(statement.Principal), id).not.toContain('"*"');
      }
    }
  });
});

describe('Template: routes and storage', () => {
  it('leaves exactly the signature-verified routes public', () => {
    // Act
    const publicRoutes = ofType('AWS::ApiGatewayV2::Route')
      .filter(([, route]) => (route.Properties['AuthorizationType'] ?? 'NONE') === 'NONE')
      .map(([, route]) => String(route.Properties['RouteKey']))
      .sort();
    // Assess
    expect(signatureRoutes.length).toBeGreaterThan(0);
    expect(publicRoutes).toEqual(signatureRoutes);
  });

  it('blocks public access to, encrypts and refuses plain HTTP on every bucket, and encrypts every table', () => {
    // Prepare
    const buckets = ofType('AWS::S3::Bucket');
    const tables = ofType('AWS::DynamoDB::Table');
    // Assess: the connector's data bucket and osls's deployment bucket at least.
    expect(buckets.map(([id]) => id)).toEqual(
      expect.arrayContaining(['S3DataBucket', 'ServerlessDeploymentBucket']),
    );
    for (const [id, bucket] of buckets) {
      expect(bucket.Properties['PublicAccessBlockConfiguration'], id).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
      expect(bucket.Properties['BucketEncryption'], id).toMatchObject({
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: expect.stringMatching(/^(AES256|aws:kms)$/) } },
        ],
      });
      expect(insecureTransportDenials(id), `${id}: a Deny on aws:SecureTransport false`).toEqual([
        { bucket: true, objects: true },
      ]);
    }
    expect(tables.length).toBeGreaterThan(0);
    for (const [id, table] of tables) {
      expect(table.Properties['SSESpecification'], id).toMatchObject({ SSEEnabled: true });
    }
  });

  it('gives every function that declares a write CIRCLE_IDEMPOTENCY_TABLE, a Powertools-shaped table and the four item grants on its own keys', () => {
    // Prepare
    const withTable = ofType('AWS::Lambda::Function').flatMap(([id, fn]) => {
      const variables = (fn.Properties['Environment'] as { Variables?: Record<string, unknown> } | undefined)
        ?.Variables;
      const table = variables?.['CIRCLE_IDEMPOTENCY_TABLE'];
      const name = String(fn.Properties['FunctionName']).replace(/^circle-core-dev-/, '');
      return table === undefined ? [] : [{ id, fn, table, name }];
    });
    // Assess: idempotency is on by default (README, "Idempotency"), so every writer has the table.
    expect(writers.length).toBeGreaterThan(0);
    expect(withTable.map(({ name }) => name).sort()).toEqual([...writers].sort());
    for (const { id, fn, table, name } of withTable) {
      const tableId = references(table)[0] ?? '';
      const definition = resources[tableId] as Resource;
      const role = resources[getAtt(fn.Properties['Role']) ?? ''] as Resource;
      // Act
      const grants = policyStatements(role).filter((statement) =>
        references(statement.Resource).includes(tableId),
      );
      const granted = grants.flatMap((statement) => asArray(statement.Action));
      // Assess
      expect(definition?.Type, `${id} idempotency table`).toBe('AWS::DynamoDB::Table');
      expect(definition.Properties['KeySchema']).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
      expect(definition.Properties['TimeToLiveSpecification']).toEqual({
        AttributeName: 'expiration',
        Enabled: true,
      });
      expect(definition.Properties['PointInTimeRecoverySpecification']).toEqual({
        PointInTimeRecoveryEnabled: true,
      });
      expect([...granted].sort()).toEqual(
        ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'].sort(),
      );
      // One table for every connector: each reaches only the records Powertools keys with its name.
      for (const statement of grants) {
        expect((statement as { Condition?: unknown }).Condition, id).toEqual({
          'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [`${name}#*`] },
        });
      }
    }
  });
});
