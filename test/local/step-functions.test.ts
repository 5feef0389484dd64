import { describe, expect, it } from 'vitest';
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

    it('refuses a duplicate execution name and input that is not JSON', () => {
      // Prepare
      const { engine } = worker();
      const machine = engine.create('simple', { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } });
      engine.start(machine.arn, '{}', 'once');

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
});
