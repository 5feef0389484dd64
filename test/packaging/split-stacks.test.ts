/**
 * The stack split's own rules, on small templates, and its deploy step: the nested templates it uploads are
 * the ones the root's TemplateURLs name. The split of the real stage is checked in operations.test.ts.
 */
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: CloudFormation Fn::Sub placeholders, not JavaScript.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Template {
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown>; DependsOn?: string[] }>;
  Outputs?: Record<string, { Value: unknown }>;
  Conditions?: object;
}
interface Categories extends Map<string, { functions: string[]; resources: string[] }> {}
interface Upload {
  Bucket: string;
  Key: string;
  Body: Buffer;
  ContentType: string;
  ServerSideEncryption?: string;
}

const SplitStacks = createRequire(import.meta.url)('../../scripts/serverless/split-stacks.cjs') as {
  new (serverless: object): { upload(): Promise<void>; templateUrl(category: string): { 'Fn::Sub': string } };
  assignStacks(
    template: Template,
    categories: Categories,
    rootDeclared: string[],
    normalize: (name: string) => string,
  ): Map<string, string>;
  splitTemplate(
    template: Template,
    categories: Categories,
    owners: Map<string, string>,
    templateUrl: (category: string) => unknown,
  ): { root: Template; nested: Record<string, Template & { Parameters: object }> };
};

/** osls's normalized function name: `azure-blob` -> `AzureDashblob`. */
const normalize = (name: string) => {
  const text = name.replaceAll('-', 'Dash');
  return text.charAt(0).toUpperCase() + text.slice(1);
};
const fn = (role: string) => ({
  Type: 'AWS::Lambda::Function',
  Properties: { Role: { 'Fn::GetAtt': [role, 'Arn'] } },
});

/** Two connectors in two categories, a shared table and bucket, and a workflow calling both. */
const TEMPLATE: Template = {
  Resources: {
    IdempotencyTable: { Type: 'AWS::DynamoDB::Table' },
    S3DataBucket: { Type: 'AWS::S3::Bucket' },
    S3LambdaFunction: fn('S3IamRoleLambdaExecution'),
    S3IamRoleLambdaExecution: {
      Type: 'AWS::IAM::Role',
      Properties: {
        Policy: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${S3DataBucket}/*' },
        T: { Ref: 'IdempotencyTable' },
      },
    },
    S3RequestsQueue: { Type: 'AWS::SQS::Queue' },
    HttpApiIntegrationS3: { Type: 'AWS::ApiGatewayV2::Integration' },
    HttpApiRoutePostS3OperationVar: {
      Type: 'AWS::ApiGatewayV2::Route',
      Properties: { Target: { 'Fn::Join': ['/', ['integrations', { Ref: 'HttpApiIntegrationS3' }]] } },
      DependsOn: ['HttpApiIntegrationS3'],
    },
    AzureDashblobLambdaFunction: fn('AzureDashblobIamRoleLambdaExecution'),
    AzureDashblobIamRoleLambdaExecution: { Type: 'AWS::IAM::Role' },
    AzureBlobRequestsDeadLetterQueue: { Type: 'AWS::SQS::Queue' },
    AzureBlobRequestsDeadLetterQueueDepthAlarm: {
      Type: 'AWS::CloudWatch::Alarm',
      Properties: {
        Dimensions: [{ Value: { 'Fn::GetAtt': ['AzureBlobRequestsDeadLetterQueue', 'QueueName'] } }],
      },
    },
    PostgresLambdaFunction: fn('PostgresIamRoleLambdaExecution'),
    PostgresIamRoleLambdaExecution: { Type: 'AWS::IAM::Role' },
    MirrorStateMachine: {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: {
        Definition: { 'Fn::Sub': '${S3LambdaFunction.Arn} ${PostgresLambdaFunction.Arn}' },
      },
      DependsOn: ['PostgresIamRoleLambdaExecution'],
    },
  },
  Outputs: { S3RequestsQueueUrl: { Value: { Ref: 'S3RequestsQueue' } } },
};
const CATEGORIES: Categories = new Map([
  [
    'storage',
    { functions: ['s3', 'azure-blob'], resources: ['S3RequestsQueue', 'AzureBlobRequestsDeadLetterQueue'] },
  ],
  ['database', { functions: ['postgres'], resources: [] }],
]);
const ROOT_DECLARED = ['IdempotencyTable', 'S3DataBucket'];

describe('Split stacks: which stack holds what', () => {
  it('follows the function folders, keeps what serverless.yml declares in the root, routes with their integration', () => {
    // Act
    const owners = SplitStacks.assignStacks(TEMPLATE, CATEGORIES, ROOT_DECLARED, normalize);

    // Assess
    expect(Object.fromEntries(owners)).toEqual({
      S3LambdaFunction: 'StorageStack',
      S3IamRoleLambdaExecution: 'StorageStack',
      S3RequestsQueue: 'StorageStack',
      HttpApiIntegrationS3: 'StorageStack',
      HttpApiRoutePostS3OperationVar: 'StorageStack',
      AzureDashblobLambdaFunction: 'StorageStack',
      AzureDashblobIamRoleLambdaExecution: 'StorageStack',
      AzureBlobRequestsDeadLetterQueue: 'StorageStack',
      AzureBlobRequestsDeadLetterQueueDepthAlarm: 'StorageStack',
      PostgresLambdaFunction: 'DatabaseStack',
      PostgresIamRoleLambdaExecution: 'DatabaseStack',
    });
  });

  it('turns references across stacks into parameters and outputs, in Fn::Sub too', () => {
    // Prepare
    const owners = SplitStacks.assignStacks(TEMPLATE, CATEGORIES, ROOT_DECLARED, normalize);

    // Act
    const { root, nested } = SplitStacks.splitTemplate(TEMPLATE, CATEGORIES, owners, (category) => category);

    // Assess: the storage role reads the root's bucket and table as parameters the root passes.
    const storage = nested['storage'] as Template & { Parameters: object };
    expect(storage.Resources['S3IamRoleLambdaExecution']?.Properties).toEqual({
      Policy: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${S3DataBucket}/*' },
      T: { Ref: 'IdempotencyTable' },
    });
    expect(Object.keys(storage.Parameters).sort()).toEqual(['IdempotencyTable', 'S3DataBucket']);
    expect(root.Resources['StorageStack']?.Properties?.['Parameters']).toEqual({
      IdempotencyTable: { Ref: 'IdempotencyTable' },
      S3DataBucket: { Ref: 'S3DataBucket' },
    });
    // The workflow and the root's outputs read the functions and queue through outputs of their stacks.
    expect(root.Resources['MirrorStateMachine']?.Properties?.['Definition']).toEqual({
      'Fn::Sub':
        '${StorageStack.Outputs.S3LambdaFunctionArn} ${DatabaseStack.Outputs.PostgresLambdaFunctionArn}',
    });
    expect(root.Resources['MirrorStateMachine']?.DependsOn).toEqual(['DatabaseStack']);
    expect(root.Outputs?.['S3RequestsQueueUrl']?.Value).toEqual({
      'Fn::GetAtt': ['StorageStack', 'Outputs.S3RequestsQueue'],
    });
    expect(storage.Outputs).toEqual({
      S3LambdaFunctionArn: { Value: { 'Fn::GetAtt': ['S3LambdaFunction', 'Arn'] } },
      S3RequestsQueue: { Value: { Ref: 'S3RequestsQueue' } },
    });
    expect(storage.Resources['HttpApiRoutePostS3OperationVar']?.DependsOn).toEqual(['HttpApiIntegrationS3']);
    expect(root.Resources['StorageStack']?.Properties?.['TemplateURL']).toBe('storage');
  });

  it('gives a stack the ARN by name of a workflow it starts that calls it back, breaking the cycle', () => {
    // Prepare: the Postgres function starts MirrorStateMachine, whose role invokes the Postgres function
    const template = structuredClone(TEMPLATE);
    template.Resources['PostgresLambdaFunction'] = {
      Type: 'AWS::Lambda::Function',
      Properties: {
        Role: { 'Fn::GetAtt': ['PostgresIamRoleLambdaExecution', 'Arn'] },
        Environment: { Variables: { EVENTS_STATE_MACHINE_ARN: { Ref: 'MirrorStateMachine' } } },
      },
    };
    template.Resources['MirrorStateMachineRole'] = {
      Type: 'AWS::IAM::Role',
      Properties: { Resource: { 'Fn::GetAtt': ['PostgresLambdaFunction', 'Arn'] } },
    };
    template.Resources['MirrorStateMachine'] = {
      Type: 'AWS::StepFunctions::StateMachine',
      Properties: { RoleArn: { 'Fn::GetAtt': ['MirrorStateMachineRole', 'Arn'] } },
    };
    const owners = SplitStacks.assignStacks(template, CATEGORIES, ROOT_DECLARED, normalize);

    // Act
    const { root } = SplitStacks.splitTemplate(template, CATEGORIES, owners, (category) => category);

    // Assess: the stack gets the ARN built from the name the root gives the machine, not its Ref.
    expect(root.Resources['DatabaseStack']?.Properties?.['Parameters']).toMatchObject({
      MirrorStateMachine: {
        'Fn::Sub':
          'arn:${AWS::Partition}:states:${AWS::Region}:${AWS::AccountId}:stateMachine:${AWS::StackName}-MirrorStateMachine',
      },
    });
    expect(root.Resources['MirrorStateMachine']?.Properties?.['StateMachineName']).toEqual({
      'Fn::Sub': '${AWS::StackName}-MirrorStateMachine',
    });
    expect(root.Resources['DatabaseStack']?.DependsOn ?? []).not.toContain('MirrorStateMachine');
    // A machine that does not call back the stack starting it keeps its Ref and its generated name.
    const plain = SplitStacks.splitTemplate(TEMPLATE, CATEGORIES, owners, (category) => category).root;
    expect(plain.Resources['MirrorStateMachine']?.Properties?.['StateMachineName']).toBeUndefined();
  });

  it('refuses a template with Conditions rather than split it wrongly', () => {
    // Prepare
    const owners = SplitStacks.assignStacks(TEMPLATE, CATEGORIES, ROOT_DECLARED, normalize);

    // Act
    const attempt = () =>
      SplitStacks.splitTemplate({ ...TEMPLATE, Conditions: {} }, CATEGORIES, owners, String);

    // Assess
    expect(attempt).toThrow(/Conditions/);
  });
});

describe('Split stacks: deploy', () => {
  const FOLDER = 'serverless/circle-core/prod/1765000000000-2026-12-06T14:00:00.000Z';
  let serviceDir: string;
  const uploads: Upload[] = [];
  const serverless = (deploymentBucket?: string) => ({
    serviceDir,
    service: {
      package: { artifactDirectoryName: FOLDER },
      provider: { deploymentBucket, deploymentBucketObject: { serverSideEncryption: 'aws:kms' } },
    },
    getProvider: () => ({
      naming: {},
      getServerlessDeploymentBucketName: async () => 'circle-core-prod-deploymentbucket-abc',
      request: async (service: string, method: string, params: Upload) => {
        if (`${service}.${method}` !== 'S3.upload') throw new Error(`unexpected ${service}.${method}`);
        uploads.push(params);
        return {};
      },
    }),
  });

  beforeAll(async () => {
    serviceDir = await mkdtemp(join(tmpdir(), 'circle-split-stacks-'));
    await mkdir(join(serviceDir, '.serverless'));
    await writeFile(
      join(serviceDir, '.serverless', 'cloudformation-template-storage-nested-stack.json'),
      '{"s":1}',
    );
    await writeFile(
      join(serviceDir, '.serverless', 'cloudformation-template-ai-nested-stack.json'),
      '{"a":1}',
    );
    await writeFile(join(serviceDir, '.serverless', 'cloudformation-template-update-stack.json'), '{}');
  });

  afterAll(async () => {
    await rm(serviceDir, { recursive: true, force: true });
  });

  it('uploads each nested template, encrypted as the bucket asks, where the root’s TemplateURL points', async () => {
    // Prepare
    const plugin = new SplitStacks(serverless());

    // Act
    await plugin.upload();
    const url = plugin.templateUrl('storage')['Fn::Sub'];

    // Assess
    expect(uploads.map((upload) => upload.Key).sort()).toEqual([
      `${FOLDER}/cloudformation-template-ai-nested-stack.json`,
      `${FOLDER}/cloudformation-template-storage-nested-stack.json`,
    ]);
    const storage = uploads.find((upload) => upload.Key.includes('storage'));
    expect(storage).toMatchObject({
      Bucket: 'circle-core-prod-deploymentbucket-abc',
      ContentType: 'application/json',
      ServerSideEncryption: 'aws:kms',
    });
    expect(storage?.Body.toString()).toBe('{"s":1}');
    expect(url).toBe(
      `https://\${ServerlessDeploymentBucket}.s3.\${AWS::Region}.\${AWS::URLSuffix}/${storage?.Key}`,
    );
  });

  it('names a deployment bucket the stage configures by name', () => {
    // Act
    const url = new SplitStacks(serverless('team-deployments')).templateUrl('ai')['Fn::Sub'];

    // Assess
    expect(url).toBe(
      `https://team-deployments.s3.\${AWS::Region}.\${AWS::URLSuffix}/${FOLDER}/cloudformation-template-ai-nested-stack.json`,
    );
  });
});
