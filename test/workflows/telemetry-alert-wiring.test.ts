/**
 * How `telemetry-alert` is started in production (serverless.yml): an EventBridge Pipe from the AWS IoT Core
 * connector's telemetry queue (its rule on devices/+/telemetry) to the state machine, one message per
 * execution with the body as input, and a role that can do exactly that. The local stack runs no Pipes, so
 * this is checked on the definition; `npm run package` and cfn-lint check the template
 * (test/workflows/template.test.ts, test/packaging/operations.test.ts).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

type Resource = { Type: string; Properties: Record<string, unknown> };

const root = resolve(import.meta.dirname, '../..');

async function rootResources(): Promise<Record<string, Resource>> {
  const serverless = parse(await readFile(join(root, 'serverless.yml'), 'utf8')) as {
    resources: ({ Resources?: Record<string, Resource> | string } | string)[];
  };
  const merged: Record<string, Resource> = {};
  for (const item of serverless.resources) {
    if (typeof item === 'object' && typeof item.Resources === 'object') Object.assign(merged, item.Resources);
  }
  return merged;
}

async function iotResources(): Promise<Record<string, Resource>> {
  const file = parse(await readFile(join(root, 'functions/iot/iot-core/function.yml'), 'utf8')) as {
    resources: Record<string, Resource>;
  };
  return file.resources;
}

describe('Workflow telemetry-alert: started from device telemetry (serverless.yml)', () => {
  it('pipes each message of the IoT Core telemetry queue, its body as input, into the state machine', async () => {
    // Prepare
    const resources = await rootResources();
    const iot = await iotResources();

    // Assess: the queue the IoT rule on devices/+/telemetry writes is the pipe's source.
    const rule = iot['IotCoreTelemetryRule']?.Properties['TopicRulePayload'] as {
      Sql: string;
      Actions: { Sqs?: { QueueUrl: unknown } }[];
    };
    expect(rule.Sql).toContain("FROM 'devices/+/telemetry'");
    expect(rule.Sql).toContain('topic() AS topic');
    expect(rule.Actions[0]?.Sqs?.QueueUrl).toEqual({ Ref: 'IotCoreTelemetryQueue' });
    expect(resources['TelemetryAlertPipe']).toMatchObject({
      Type: 'AWS::Pipes::Pipe',
      Properties: {
        RoleArn: { 'Fn::GetAtt': ['TelemetryAlertPipeRole', 'Arn'] },
        Source: { 'Fn::GetAtt': ['IotCoreTelemetryQueue', 'Arn'] },
        SourceParameters: { SqsQueueParameters: { BatchSize: 1 } },
        Target: { Ref: 'TelemetryAlertStateMachine' },
        TargetParameters: {
          InputTemplate: '<$.body>',
          StepFunctionStateMachineParameters: { InvocationType: 'FIRE_AND_FORGET' },
        },
      },
    });
  });

  it('gives the pipe a role that reads that queue and starts that state machine, nothing else', async () => {
    // Prepare
    const role = (await rootResources())['TelemetryAlertPipeRole'];

    // Assess
    expect(role?.Type).toBe('AWS::IAM::Role');
    const trust = role?.Properties['AssumeRolePolicyDocument'] as { Statement: Record<string, unknown>[] };
    expect(trust.Statement).toEqual([
      expect.objectContaining({
        Principal: { Service: 'pipes.amazonaws.com' },
        Action: 'sts:AssumeRole',
        Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
      }),
    ]);
    const policies = role?.Properties['Policies'] as { PolicyDocument: { Statement: unknown[] } }[];
    expect(policies.flatMap((policy) => policy.PolicyDocument.Statement)).toEqual([
      {
        Effect: 'Allow',
        Action: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
        Resource: { 'Fn::GetAtt': ['IotCoreTelemetryQueue', 'Arn'] },
      },
      { Effect: 'Allow', Action: 'states:StartExecution', Resource: { Ref: 'TelemetryAlertStateMachine' } },
    ]);
  });
});
