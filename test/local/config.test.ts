import { describe, expect, it } from 'vitest';
import { resolveIntrinsics, UnresolvedIntrinsicError } from '../../scripts/local/config/intrinsics.ts';
import { buildModel, type LocalFunction } from '../../scripts/local/config/model.ts';
import type { ServerlessConfig } from '../../scripts/local/config/serverless.ts';
import { functionEnvironment, needsEmbeddedPostgres } from '../../scripts/local/functions/environment.ts';

const AWS_URL = 'http://127.0.0.1:4566';

const config: ServerlessConfig = {
  service: 'svc',
  provider: {
    stage: 'dev',
    region: 'eu-west-1',
    timeout: 10,
    memorySize: 256,
    environment: { SHARED: 'yes' },
  },
  functions: {
    'my-fn': {
      handler: 'index.handler',
      name: 'svc-dev-my-fn',
      timeout: 30,
      environment: {
        QUEUE_URL: { Ref: 'JobsQueue' },
        QUEUE_ARN: { 'Fn::GetAtt': ['JobsQueue', 'Arn'] },
        TABLE: { Ref: 'StateTable' },
        SELF: {
          // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax, not a JS template.
          'Fn::Sub': 'arn:aws:lambda:${AWS::Region}:${AWS::AccountId}:function:${MyDashfnLambdaFunction}',
        },
        FILES_BUCKET: 'svc-dev-files',
        IMPORTED: { 'Fn::ImportValue': 'other-stack-output' },
      },
      events: [
        { httpApi: { method: 'post', path: '/my/{operation}', authorizer: { type: 'aws_iam' } } },
        { httpApi: 'POST /my/webhook' },
        { httpApi: '*' },
        {
          sqs: {
            arn: { 'Fn::GetAtt': ['JobsQueue', 'Arn'] },
            batchSize: 5,
            maximumBatchingWindow: 2,
            functionResponseType: 'ReportBatchItemFailures',
          },
        },
        { schedule: { rate: ['rate(1 hour)', 'cron(0 9 * * ? *)'], input: { operation: 'sync' } } },
        { schedule: 'rate(5 minutes)' },
        { s3: { bucket: 'x' } },
      ],
    },
  },
  resources: {
    Resources: {
      JobsQueue: {
        Type: 'AWS::SQS::Queue',
        Properties: {
          VisibilityTimeout: 60,
          RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': ['JobsDlq', 'Arn'] }, maxReceiveCount: 3 },
        },
      },
      JobsDlq: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'jobs-dlq' } },
      StateTable: {
        Type: 'AWS::DynamoDB::Table',
        Properties: { TableName: 'svc-dev-state', KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] },
      },
      Uploads: { Type: 'AWS::S3::Bucket', Properties: { BucketName: 'svc-dev-uploads' } },
    },
  },
  stepFunctions: {
    stateMachines: {
      flow: {
        name: 'svc-flow',
        events: [{ schedule: { rate: 'cron(0 2 * * ? *)', input: { trigger: 'schedule' } } }],
        definition: {
          StartAt: 'Call',
          States: {
            Call: { Type: 'Task', Resource: { 'Fn::GetAtt': ['MyDashfnLambdaFunction', 'Arn'] }, End: true },
          },
        },
      },
    },
  },
};

describe('Function: buildModel', () => {
  const model = buildModel(config, { awsUrl: AWS_URL });
  const fn = model.functions[0] as LocalFunction;

  it('resolves intrinsics in the environment to the local resources, and warns about the rest', () => {
    // Assess
    expect(fn.environment).toMatchObject({
      SHARED: 'yes',
      QUEUE_URL: `${AWS_URL}/000000000000/svc-dev-JobsQueue`,
      QUEUE_ARN: 'arn:aws:sqs:eu-west-1:000000000000:svc-dev-JobsQueue',
      TABLE: 'svc-dev-state',
      SELF: 'arn:aws:lambda:eu-west-1:000000000000:function:svc-dev-my-fn',
    });
    expect(fn.environment['IMPORTED']).toBeUndefined();
    expect(model.warnings.some((warning) => warning.includes('IMPORTED'))).toBe(true);
    expect(model.warnings.some((warning) => warning.includes('s3 events are not emulated'))).toBe(true);
  });

  it('reads routes, SQS mappings and schedules from the events', () => {
    // Assess
    expect(fn).toMatchObject({ name: 'svc-dev-my-fn', timeoutSeconds: 30, memorySize: 256 });
    expect(fn.routes.map((route) => [route.routeKey, route.authorized])).toEqual([
      ['POST /my/{operation}', true],
      ['POST /my/webhook', false],
      ['$default', false],
    ]);
    expect(fn.queues).toEqual([
      {
        functionKey: 'my-fn',
        queueName: 'svc-dev-JobsQueue',
        batchSize: 5,
        batchingWindowSeconds: 2,
        reportBatchItemFailures: true,
        enabled: true,
        maximumConcurrency: 2,
      },
    ]);
    expect(fn.schedules.every((rule) => rule.kind === 'function' && rule.target === 'my-fn')).toBe(true);
    expect(fn.schedules.map((rule) => [rule.expression, rule.input])).toEqual([
      ['rate(1 hour)', { operation: 'sync' }],
      ['cron(0 9 * * ? *)', { operation: 'sync' }],
      ['rate(5 minutes)', undefined],
    ]);
  });

  it('collects queues with their redrive policy, tables, buckets and state machines', () => {
    // Assess
    const queue = model.queues.find((candidate) => candidate.logicalId === 'JobsQueue');
    expect(JSON.parse(queue?.attributes['RedrivePolicy'] ?? '{}')).toEqual({
      deadLetterTargetArn: 'arn:aws:sqs:eu-west-1:000000000000:jobs-dlq',
      maxReceiveCount: 3,
    });
    expect(queue?.attributes['VisibilityTimeout']).toBe('60');
    expect(model.tables.map((table) => table.name)).toEqual(['svc-dev-state']);
    expect(model.buckets).toEqual(['svc-dev-files', 'svc-dev-uploads']);
    expect(model.stateMachines[0]).toMatchObject({
      name: 'svc-flow',
      arn: 'arn:aws:states:eu-west-1:000000000000:stateMachine:svc-flow',
      definition: {
        States: { Call: { Resource: 'arn:aws:lambda:eu-west-1:000000000000:function:svc-dev-my-fn' } },
      },
    });
  });
});

describe('Function: resolveIntrinsics', () => {
  it('joins, selects and splits, and refuses unknown references', () => {
    // Prepare
    const context = { region: 'us-east-1', accountId: '1', stackName: 's', resources: new Map() };

    // Act
    const joined = resolveIntrinsics({ 'Fn::Join': ['-', ['a', { Ref: 'AWS::Region' }]] }, context);
    const selected = resolveIntrinsics({ 'Fn::Select': [1, { 'Fn::Split': [',', 'x,y,z'] }] }, context);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub syntax, not a JS template.
    const literal = resolveIntrinsics({ 'Fn::Sub': 'keep ${!Literal}' }, context);

    // Assess
    expect(joined).toBe('a-us-east-1');
    expect(selected).toBe('y');
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the literal Fn::Sub leaves behind.
    expect(literal).toBe('keep ${Literal}');
    expect(() => resolveIntrinsics({ Ref: 'Nothing' }, context)).toThrow(UnresolvedIntrinsicError);
  });
});

describe('Function: functionEnvironment', () => {
  const postgres: LocalFunction = {
    key: 'postgres',
    name: 'svc-dev-postgres',
    arn: 'arn',
    handler: 'index.handler',
    timeoutSeconds: 30,
    memorySize: 512,
    environment: { PG_SECRET: 'svc/pg', PG_SSL: 'verify-full', GITHUB_API_URL: 'https://api.github.com' },
    routes: [],
    queues: [],
    schedules: [],
  };
  const endpoints = {
    aws: AWS_URL,
    s3: 'http://127.0.0.1:1',
    postgres: 'postgres://postgres@127.0.0.1:2/postgres',
  };

  it('points the SDK and the stores at the stack and replaces a missing PG_SECRET with PGlite', () => {
    // Act
    const env = functionEnvironment(postgres, endpoints, {
      region: 'us-east-1',
      shell: { PATH: '/bin', AWS_PROFILE: 'real', GITHUB_API_URL: 'http://127.0.0.1:9' },
      taskRoot: '/tmp/task',
      embeddedPostgres: true,
    });

    // Assess
    expect(env).toMatchObject({
      AWS_ENDPOINT_URL: AWS_URL,
      AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1',
      S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_LAMBDA_FUNCTION_NAME: 'svc-dev-postgres',
      PG_URL: endpoints.postgres,
      PG_SSL: 'disable',
      GITHUB_API_URL: 'http://127.0.0.1:9',
    });
    expect(env['PG_SECRET']).toBeUndefined();
    expect(env['AWS_PROFILE']).toBeUndefined();
  });

  it('needs PGlite only when neither PG_URL nor a stored PG_SECRET is configured', () => {
    // Act
    const verdicts = [
      needsEmbeddedPostgres(postgres, {}, new Set()),
      needsEmbeddedPostgres(postgres, {}, new Set(['svc/pg'])),
      needsEmbeddedPostgres(postgres, { PG_URL: 'postgres://x' }, new Set()),
      needsEmbeddedPostgres({ ...postgres, key: 's3', environment: {} }, {}, new Set()),
    ];

    // Assess
    expect(verdicts).toEqual([true, false, false, false]);
  });
});
