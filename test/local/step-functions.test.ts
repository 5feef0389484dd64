import { createHash } from 'node:crypto';
import {
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpoint, startAwsEndpoint } from '../../scripts/local/aws/server.ts';
import { stepFunctionsService } from '../../scripts/local/aws/step-functions.ts';
import type { InvokeOutcome } from '../../scripts/local/functions/function-process.ts';
import { createStackLog } from '../../scripts/local/log.ts';
import { StepFunctionsEngine } from '../../scripts/local/workflows/step-functions.ts';

const FN = 'arn:aws:lambda:us-east-1:000000000000:function:svc-dev-worker';

/** A local "function" that counts its calls and fails the first `failures` of them. */
function worker(failures = 0) {
  const calls: unknown[] = [];
  const invoke = async (name: string, payload: unknown): Promise<InvokeOutcome | undefined> => {
    if (!name.endsWith('svc-dev-worker')) return undefined;
    calls.push(payload);
    if (calls.length <= failures) {
      return {
        requestId: 'r',
        durationMs: 0,
        logTail: '',
        error: { errorType: 'UnavailableError', errorMessage: 'try again' },
      };
    }
    return { requestId: 'r', durationMs: 0, logTail: '', payload: JSON.stringify({ echoed: payload }) };
  };
  const engine = new StepFunctionsEngine({
    region: 'us-east-1',
    accountId: '000000000000',
    invoke,
    log: createStackLog({ pretty: false, write: () => undefined }),
  });
  return { engine, calls };
}

/** The algorithms `States.Hash` takes, with node:crypto's name for each. */
const HASH_ALGORITHMS = [
  ['MD5', 'md5'],
  ['SHA-1', 'sha1'],
  ['SHA-256', 'sha256'],
  ['SHA-384', 'sha384'],
  ['SHA-512', 'sha512'],
] as const;

/** Runs `States.Hash($.data[i], $.algorithm)` for every input in one Pass state on the engine. */
async function statesHash(
  engine: StepFunctionsEngine,
  data: string[],
  algorithm: string,
): Promise<{ status: string; hashes: string[]; error?: string | undefined }> {
  const parameters = Object.fromEntries(
    data.map((_, index) => [`h${index}.$`, `States.Hash($.data[${index}], $.algorithm)`]),
  );
  const machine = engine.create(`hashing-${data.length}`, {
    StartAt: 'Hash',
    States: { Hash: { Type: 'Pass', Parameters: parameters, End: true } },
  });
  const execution = engine.start(machine.arn, JSON.stringify({ data, algorithm }));
  await execution.done;
  const output = JSON.parse(execution.output ?? '{}') as Record<string, string>;
  return {
    status: execution.status,
    hashes: data.map((_, index) => output[`h${index}`] ?? ''),
    error: execution.error,
  };
}

describe('Class: StepFunctionsEngine', () => {
  describe('Method: start', () => {
    it('retries a Lambda task on the error name the function throws, then succeeds', async () => {
      // Prepare
      const { engine, calls } = worker(1);
      const machine = engine.create('retrying', {
        StartAt: 'Work',
        States: {
          Work: {
            Type: 'Task',
            Resource: FN,
            Retry: [{ ErrorEquals: ['UnavailableError'], IntervalSeconds: 0, MaxAttempts: 2 }],
            End: true,
          },
        },
      });

      // Act
      const execution = engine.start(machine.arn, '{"n":1}');
      await execution.done;

      // Assess
      expect(execution.status).toBe('SUCCEEDED');
      expect(JSON.parse(execution.output ?? 'null')).toEqual({ echoed: { n: 1 } });
      expect(calls).toHaveLength(2);
      expect(execution.events.map((event) => event.type)).toEqual([
        'ExecutionStarted',
        'TaskStateEntered',
        'TaskFailed',
        'TaskStateExited',
        'ExecutionSucceeded',
      ]);
    });

    it('wraps the lambda:invoke integration result and runs tasks inside Map and Parallel states', async () => {
      // Prepare
      const { engine } = worker();
      const invoke = {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { FunctionName: FN, 'Payload.$': '$' },
        OutputPath: '$.Payload',
        End: true,
      };
      const machine = engine.create('nested', {
        StartAt: 'Fan',
        States: {
          Fan: {
            Type: 'Parallel',
            Branches: [
              { StartAt: 'Direct', States: { Direct: { Type: 'Task', Resource: FN, End: true } } },
              {
                StartAt: 'Each',
                States: {
                  Each: {
                    Type: 'Map',
                    ItemsPath: '$.items',
                    Iterator: { StartAt: 'Item', States: { Item: invoke } },
                    End: true,
                  },
                },
              },
            ],
            End: true,
          },
        },
      });

      // Act
      const execution = engine.start(machine.arn, '{"items":[1,2]}');
      await execution.done;

      // Assess
      expect(execution.status).toBe('SUCCEEDED');
      expect(JSON.parse(execution.output ?? 'null')).toEqual([
        { echoed: { items: [1, 2] } },
        [{ echoed: 1 }, { echoed: 2 }],
      ]);
    });

    it('fails with the task error, and with States.Runtime for a resource it cannot run', async () => {
      // Prepare
      const { engine } = worker(5);
      const failing = engine.create('failing', {
        StartAt: 'Work',
        States: { Work: { Type: 'Task', Resource: FN, End: true } },
      });
      const foreign = engine.create('foreign', {
        StartAt: 'Put',
        States: { Put: { Type: 'Task', Resource: 'arn:aws:states:::dynamodb:putItem', End: true } },
      });

      // Act
      const first = engine.start(failing.arn);
      const second = engine.start(foreign.arn);
      await Promise.all([first.done, second.done]);

      // Assess
      expect(first).toMatchObject({ status: 'FAILED', error: 'UnavailableError' });
      expect(JSON.parse(first.cause ?? '{}')).toMatchObject({
        errorType: 'UnavailableError',
        errorMessage: 'try again',
      });
      expect(second).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    });

    it('refuses the name of a closed execution and input that is not JSON', async () => {
      // Prepare
      const { engine } = worker();
      const machine = engine.create('simple', { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } });
      await engine.start(machine.arn, '{}', 'once').done;

      // Act
      const duplicate = () => engine.start(machine.arn, '{}', 'once');
      const invalid = () => engine.start(machine.arn, 'not json');

      // Assess
      expect(duplicate).toThrow(expect.objectContaining({ type: 'ExecutionAlreadyExists' }));
      expect(invalid).toThrow(expect.objectContaining({ type: 'InvalidExecutionInput' }));
    });
  });

  describe('Method: stop', () => {
    it('aborts a running execution', async () => {
      // Prepare
      const { engine } = worker();
      const machine = engine.create('waiting', {
        StartAt: 'Wait',
        States: { Wait: { Type: 'Wait', Seconds: 30, End: true } },
      });
      const execution = engine.start(machine.arn);

      // Act
      engine.stop(execution.arn, 'Stopped', 'by test');
      await execution.done;

      // Assess
      expect(execution).toMatchObject({ status: 'ABORTED', error: 'Stopped', cause: 'by test' });
      expect(execution.events.at(-1)?.type).toBe('ExecutionAborted');
    });
  });

  describe('Method: create', () => {
    it('refuses JSONata definitions and invalid ASL', () => {
      // Prepare
      const { engine } = worker();

      // Act
      const jsonata = () =>
        engine.create('jsonata', {
          QueryLanguage: 'JSONata',
          StartAt: 'A',
          States: { A: { Type: 'Succeed' } },
        });
      const invalid = () => engine.create('invalid', { StartAt: 'Missing', States: {} });

      // Assess
      expect(jsonata).toThrow(/JSONata/);
      expect(invalid).toThrow(expect.objectContaining({ type: 'InvalidDefinition' }));
    });
  });

  describe('Intrinsic: States.Hash', () => {
    it.each(HASH_ALGORITHMS)(
      'computes %s as AWS does (node:crypto) at any length',
      async (algorithm, name) => {
        // Prepare
        const { engine } = worker();
        // Around every padding boundary of 64- and 128-byte blocks, a multi-byte UTF-8 input and the limit.
        const inputs = [0, 1, 55, 56, 63, 64, 100, 111, 112, 127, 128, 1000, 10_000].map((length) =>
          'x'.repeat(length),
        );
        inputs.push(`${'x'.repeat(99)}A`, `${'é'.repeat(60)}🙂 ünïcödé`);

        // Act
        const result = await statesHash(engine, inputs, algorithm);

        // Assess
        expect(result.status).toBe('SUCCEEDED');
        expect(result.hashes).toEqual(
          inputs.map((input) => createHash(name).update(input, 'utf8').digest('hex')),
        );
      },
    );

    it.each(HASH_ALGORITHMS)(
      'hashes two 100-character inputs that differ in their last character apart with %s',
      async (algorithm) => {
        // Prepare
        const { engine } = worker();

        // Act
        const result = await statesHash(engine, [`${'x'.repeat(99)}A`, `${'x'.repeat(99)}B`], algorithm);

        // Assess
        expect(result.status).toBe('SUCCEEDED');
        expect(result.hashes[0]).toMatch(/^[0-9a-f]+$/);
        expect(result.hashes[0]).not.toBe(result.hashes[1]);
      },
    );

    it('keeps the service errors: an unsupported algorithm and input over 10,000 characters', async () => {
      // Prepare
      const { engine } = worker();

      // Act
      const unsupported = await statesHash(engine, ['data'], 'SHA-3');
      const lowercase = await statesHash(engine, ['data'], 'sha-256');
      const tooLong = await statesHash(engine, ['x'.repeat(10_001)], 'SHA-256');

      // Assess
      for (const result of [unsupported, lowercase, tooLong])
        expect(result).toMatchObject({ status: 'FAILED', error: 'States.Runtime' });
    });
  });
});

describe('Local Step Functions endpoint: StartExecution', () => {
  let aws: AwsEndpoint;
  let sfn: SFNClient;
  let engine: StepFunctionsEngine;
  let release: () => void = () => undefined;
  let machineArn: string;

  beforeAll(async () => {
    // A task that waits for the test to release it keeps an execution RUNNING as long as needed.
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    engine = new StepFunctionsEngine({
      region: 'us-east-1',
      accountId: '000000000000',
      invoke: async () => {
        await gate;
        return { requestId: 'r', durationMs: 0, logTail: '', payload: '{}' };
      },
      log: createStackLog({ pretty: false, write: () => undefined }),
    });
    machineArn = engine.create('held', {
      StartAt: 'Wait',
      States: { Wait: { Type: 'Task', Resource: FN, End: true } },
    }).arn;
    aws = await startAwsEndpoint({
      port: 0,
      log: createStackLog({ pretty: false, write: () => undefined }),
      services: { accountId: '000000000000', stepFunctions: stepFunctionsService(engine) },
    });
    sfn = new SFNClient({
      endpoint: aws.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    release();
    sfn?.destroy();
    await aws?.close();
  });

  it('refuses input over 262,144 UTF-8 bytes at the call and starts nothing', async () => {
    // Prepare: under the limit in characters, over it in UTF-8 bytes (é is two bytes).
    const input = JSON.stringify({ text: 'é'.repeat(140_000) });

    // Act
    const refused = await sfn
      .send(new StartExecutionCommand({ stateMachineArn: machineArn, name: 'too-big', input }))
      .catch((error: Error) => error);
    const { executions } = await sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn }));

    // Assess
    expect(input.length).toBeLessThan(262_144);
    expect(refused).toMatchObject({ name: 'ValidationException' });
    expect((refused as Error).message).toContain('262144');
    expect(executions?.map((execution) => execution.name)).not.toContain('too-big');
  });

  it('answers the same executionArn for the same name and input while it runs; another input is ExecutionAlreadyExists', async () => {
    // Act
    const first = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: machineArn, name: 'once', input: '{"a":1}' }),
    );
    const again = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: machineArn, name: 'once', input: '{"a":1}' }),
    );
    const other = await sfn
      .send(new StartExecutionCommand({ stateMachineArn: machineArn, name: 'once', input: '{"a":2}' }))
      .catch((error: Error) => error);
    const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn: first.executionArn }));

    // Assess
    expect(again.executionArn).toBe(first.executionArn);
    expect(status).toBe('RUNNING');
    expect(other).toMatchObject({ name: 'ExecutionAlreadyExists' });
  });

  it('takes the names AWS takes and refuses the ones it refuses', async () => {
    // Prepare
    const accepted = ['order.2026-12-07', 'user@example', 'café-über', 'a'.repeat(80), 'x+y=z', "it's"];
    const refused = [
      '',
      'a'.repeat(81),
      'has space',
      'tab\tname',
      'a<b',
      'a{b}',
      'a[0]',
      'what?',
      'star*',
      'quote"',
      'hash#',
      'pct%',
      'back\\slash',
      'caret^',
      'pipe|',
      'tilde~',
      'tick`',
      'dollar$',
      'amp&',
      'comma,',
      'semi;',
      'colon:',
      'slash/',
      'bell\u0007',
      'c1\u0085',
    ];

    // Act
    const starts = await Promise.all(
      accepted.map((name) =>
        sfn
          .send(new StartExecutionCommand({ stateMachineArn: machineArn, name, input: '{}' }))
          .then(() => 'ok')
          .catch((error: Error) => `${name}: ${error.name}`),
      ),
    );
    const refusals = await Promise.all(
      refused.map((name) =>
        sfn
          .send(new StartExecutionCommand({ stateMachineArn: machineArn, name, input: '{}' }))
          .then(() => `${name}: accepted`)
          .catch((error: Error) => error.name),
      ),
    );

    // Assess
    expect(starts).toEqual(accepted.map(() => 'ok'));
    expect(refusals).toEqual(refused.map(() => 'InvalidName'));
  });
});
