/**
 * The local stack's AWS endpoint as a test peer, driven by the real AWS SDK clients: secrets set from the
 * test (awaited or not), injected errors, SQS and Step Functions calls logged, and AWS's own refusals for
 * what does not exist.
 */
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpointPeer, startAwsEndpointPeer } from './aws-endpoint.ts';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
const client = { region: 'us-east-1', credentials, maxAttempts: 1 };
let aws: AwsEndpointPeer;

describe('Function: startAwsEndpointPeer', () => {
  beforeAll(async () => {
    aws = await startAwsEndpointPeer({
      secrets: { 'test/token': 'first' },
      queues: ['events'],
      stateMachines: ['flow'],
    });
  });
  afterAll(async () => {
    await aws.close();
  });

  describe('Secrets Manager', () => {
    const read = (id: string) =>
      new SecretsManagerClient({ ...client, endpoint: aws.endpoint }).send(
        new GetSecretValueCommand({ SecretId: id }),
      );

    it('serves the seeded secret and a value set without awaiting, and logs each read', async () => {
      // Act
      const first = await read('test/token');
      void aws.setSecret('test/token', 'rotated');
      const second = await read('test/token');
      // Assess
      expect([first.SecretString, second.SecretString]).toEqual(['first', 'rotated']);
      expect(aws.secretReads.slice(-2)).toEqual(['test/token', 'test/token']);
    });

    it('answers ResourceNotFoundException for an unknown secret and an injected error once', async () => {
      // Prepare
      aws.failNext('secretsmanager.GetSecretValue', { type: 'AccessDeniedException' });
      // Act
      const denied = await read('test/token').catch((error: Error) => error.name);
      const missing = await read('test/none').catch((error: Error) => error.name);
      const again = await read('test/token');
      // Assess
      expect([denied, missing]).toEqual(['AccessDeniedException', 'ResourceNotFoundException']);
      expect(again.SecretString).toBe('rotated');
      expect(aws.failed.slice(-2).map((call) => call.target)).toEqual([
        'secretsmanager.GetSecretValue',
        'secretsmanager.GetSecretValue',
      ]);
    });
  });

  describe('SQS and Step Functions', () => {
    const sqs = () => new SQSClient({ ...client, endpoint: aws.endpoint });
    const sfn = () => new SFNClient({ ...client, endpoint: aws.endpoint });

    it('queues a message on a declared queue, where a receive finds it', async () => {
      // Act
      await sqs().send(new SendMessageCommand({ QueueUrl: aws.queueUrl('events'), MessageBody: 'hello' }));
      const received = await sqs().send(new ReceiveMessageCommand({ QueueUrl: aws.queueUrl('events') }));
      // Assess
      expect(received.Messages?.map((message) => message.Body)).toEqual(['hello']);
      expect(aws.calls.find((call) => call.target === 'AmazonSQS.SendMessage')?.body['MessageBody']).toBe(
        'hello',
      );
    });

    it('refuses an undeclared queue as SQS does, and an injected error the given times', async () => {
      // Prepare
      aws.failNext('AmazonSQS.SendMessage', { type: 'InvalidParameterValue', times: 2 });
      const send = (url: string) =>
        sqs()
          .send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x' }))
          .then(
            () => 'sent',
            (error: Error) => error.name,
          );
      // Act
      const outcomes = [
        await send(aws.queueUrl('events')),
        await send(aws.queueUrl('events')),
        await send(aws.queueUrl('nowhere')),
        await send(aws.queueUrl('events')),
      ];
      // Assess
      expect(outcomes).toEqual([
        'InvalidParameterValue',
        'InvalidParameterValue',
        'QueueDoesNotExist',
        'sent',
      ]);
      expect(aws.queueCounts('events').visible).toBe(1);
    });

    it('starts an execution once; a second start with the same name is ExecutionAlreadyExists', async () => {
      // Prepare
      const start = new StartExecutionCommand({
        stateMachineArn: aws.stateMachineArn('flow'),
        name: 'run-1',
        input: '{}',
      });
      // Act
      const first = await sfn().send(start);
      const second = await sfn()
        .send(start)
        .catch((error: Error) => error.name);
      // Assess
      expect(first.executionArn).toContain(':execution:flow:run-1');
      expect(second).toBe('ExecutionAlreadyExists');
      expect(aws.failed.at(-1)?.body['name']).toBe('run-1');
    });

    it('creates what a call names with createOnUse, as the old hand-written fakes accepted anything', async () => {
      // Prepare
      const lenient = await startAwsEndpointPeer({ createOnUse: true, accountId: '123456789012' });
      const arn = 'arn:aws:states:us-east-1:123456789012:stateMachine:events';
      // Act
      const sent = await new SQSClient({ ...client, endpoint: lenient.endpoint }).send(
        new SendMessageCommand({ QueueUrl: `${lenient.endpoint}/123456789012/any`, MessageBody: 'm' }),
      );
      const started = await new SFNClient({ ...client, endpoint: lenient.endpoint }).send(
        new StartExecutionCommand({ stateMachineArn: arn, input: '{}' }),
      );
      await lenient.close();
      // Assess
      expect(sent.MessageId).toBeDefined();
      expect(started.executionArn).toMatch(/^arn:aws:states:us-east-1:123456789012:execution:events:/);
    });
  });
});
