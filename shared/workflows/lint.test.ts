import { RETRYABLE_ERROR_NAMES } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import type { AslDefinition, AslState } from './asl.ts';
import { walkStates } from './asl.ts';
import { loadDefinition, WORKFLOWS } from './catalog.ts';
import {
  LAMBDA_INVOKE,
  LAMBDA_SERVICE_ERRORS,
  type LintOptions,
  lintDefinition,
  worstCaseRetryWaitSeconds,
  worstCaseStateSeconds,
} from './lint.ts';

/** A task that follows every rule; each test breaks one. */
function task(overrides: Partial<AslState> = {}): AslState {
  return {
    Type: 'Task',
    Resource: LAMBDA_INVOKE,
    Parameters: {
      FunctionName: { 'Fn::GetAtt': ['SlackLambdaFunction', 'Arn'] },
      Payload: {
        operation: 'post-message',
        trigger: 'task',
        'correlationId.$': '$.correlationId',
        input: {},
      },
    },
    TimeoutSeconds: 45,
    Retry: [
      {
        ErrorEquals: [...LAMBDA_SERVICE_ERRORS],
        IntervalSeconds: 1,
        MaxAttempts: 3,
        MaxDelaySeconds: 4,
        JitterStrategy: 'FULL',
      },
      {
        ErrorEquals: [...RETRYABLE_ERROR_NAMES],
        IntervalSeconds: 2,
        MaxAttempts: 3,
        MaxDelaySeconds: 10,
        JitterStrategy: 'FULL',
      },
    ],
    Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failure', Next: 'Failed' }],
    End: true,
    ...overrides,
  };
}

/** Input validation that follows the rules: a Choice on the input itself, failing with a ValidationError. */
function validation(next = 'Step'): Record<string, AslState> {
  return {
    ValidateInput: {
      Type: 'Choice',
      Choices: [{ Not: { Variable: '$', IsPresent: true }, Next: 'InvalidInput' }],
      Default: next,
    },
    InvalidInput: { Type: 'Fail', Error: 'ValidationError', Cause: 'input must be a JSON object' },
  };
}

/** A machine around one state, behind input validation; `null` leaves the machine's TimeoutSeconds out. */
function machine(state: AslState, timeoutSeconds: number | null = 900): AslDefinition {
  const definition: AslDefinition = {
    StartAt: 'ValidateInput',
    States: { ...validation(), Step: state, Failed: { Type: 'Fail' } },
  };
  if (timeoutSeconds !== null) definition.TimeoutSeconds = timeoutSeconds;
  return definition;
}

const rules = (definition: AslDefinition, options = {}): string[] =>
  lintDefinition(definition, options).map((issue) => issue.rule);

describe('Function: lintDefinition', () => {
  it('passes a task that follows every rule', () => {
    // Act
    const issues = lintDefinition(machine(task()), { functionTimeoutSeconds: { SlackLambdaFunction: 28 } });

    // Assess
    expect(issues).toEqual([]);
  });

  it('passes every shipped workflow', async () => {
    // Act
    const results = await Promise.all(
      WORKFLOWS.map(async ({ name }) => lintDefinition(await loadDefinition(name))),
    );

    // Assess
    expect(results).toHaveLength(WORKFLOWS.length);
    expect(results).toEqual(WORKFLOWS.map(() => []));
  });

  it('reports a non-retryable connector error in a retrier', () => {
    // Prepare
    const definition = machine(
      task({
        Retry: [
          ...(task().Retry ?? []),
          { ErrorEquals: ['NotFoundError'], MaxDelaySeconds: 2, JitterStrategy: 'FULL', MaxAttempts: 1 },
        ],
      }),
    );

    // Act
    const issues = lintDefinition(definition);

    // Assess
    expect(issues).toEqual([
      {
        path: 'States.Step.Retry[2]',
        rule: 'retry-only-retryable',
        message: 'NotFoundError must not be retried',
      },
    ]);
  });

  it('reports missing Lambda service and connector retriers', () => {
    // Act
    const found = rules(machine(task({ Retry: [] })));

    // Assess
    expect(found).toEqual(['retry-lambda-service', 'retry-connector']);
  });

  it('reports a retrier without full jitter or without a delay cap', () => {
    // Prepare
    const [service, connector] = task().Retry ?? [];
    const retry = [
      { ...service, ErrorEquals: [...LAMBDA_SERVICE_ERRORS], JitterStrategy: 'NONE' as const },
      { ...connector, ErrorEquals: [...RETRYABLE_ERROR_NAMES], MaxDelaySeconds: 0 },
    ];

    // Act
    const issues = lintDefinition(machine(task({ Retry: retry })));

    // Assess
    expect(issues.map((issue) => `${issue.path} ${issue.message}`)).toEqual([
      'States.Step.Retry[0] JitterStrategy must be FULL',
      'States.Step.Retry[1] MaxDelaySeconds must be a positive integer',
    ]);
  });

  it('reports States.ALL that is not alone or not last', () => {
    // Prepare
    const definition = machine(
      task({
        Catch: [
          { ErrorEquals: ['States.ALL', 'NotFoundError'], Next: 'Failed' },
          { ErrorEquals: ['TimeoutError'], Next: 'Failed' },
        ],
      }),
    );

    // Act
    const issues = lintDefinition(definition);

    // Assess
    expect(issues).toContainEqual(
      expect.objectContaining({ path: 'States.Step.Catch[0]', rule: 'states-all-last' }),
    );
  });

  it('reports States.ALL in a retrier (it would retry non-retryable errors too)', () => {
    // Prepare
    const definition = machine(
      task({
        Retry: [
          ...(task().Retry ?? []),
          { ErrorEquals: ['States.ALL'], MaxDelaySeconds: 1, JitterStrategy: 'FULL' },
        ],
      }),
    );

    // Act
    const found = rules(definition);

    // Assess
    expect(found).toEqual(['retry-only-retryable']);
  });

  it('reports retry waits that do not fit under the state TimeoutSeconds', () => {
    // Prepare: 1+2+4 and 2+4+8 seconds of waits is 21 s, against a 20 s timeout.
    const definition = machine(task({ TimeoutSeconds: 20 }));

    // Act
    const issues = lintDefinition(definition);

    // Assess
    expect(issues).toEqual([
      {
        path: 'States.Step',
        rule: 'timeout',
        message: 'worst-case retry time 21 s must stay under TimeoutSeconds 20 s',
      },
    ]);
  });

  it('reports a task timeout that does not exceed the function timeout', () => {
    // Act
    const issues = lintDefinition(machine(task({ TimeoutSeconds: 28 })), {
      functionTimeoutSeconds: { SlackLambdaFunction: 28 },
    });

    // Assess
    expect(issues.map((issue) => issue.message)).toContain(
      'TimeoutSeconds 28 s must exceed the SlackLambdaFunction timeout (28 s)',
    );
  });

  it('reports a task without TimeoutSeconds, and a machine without one', () => {
    // Prepare
    const { TimeoutSeconds: _omitted, ...withoutTimeout } = task();

    // Act
    const found = rules(machine(withoutTimeout as AslState, null));

    // Assess
    expect(found).toEqual(['machine-timeout', 'timeout']);
  });

  it("reports a task whose worst case exceeds the state machine's TimeoutSeconds", () => {
    // Prepare: 7 attempts x 45 s + 21 s of waits = 336 s.
    const definition = machine(task(), 300);

    // Act
    const issues = lintDefinition(definition);

    // Assess
    expect(issues.map((issue) => issue.message)).toEqual([
      "worst case 336 s (attempts × TimeoutSeconds + waits) exceeds the state machine's TimeoutSeconds 300 s",
    ]);
  });

  it('reports a task outside the connector envelope or the lambda:invoke integration', () => {
    // Prepare
    const wrongResource = machine(task({ Resource: 'arn:aws:lambda:us-east-1:123456789012:function:x' }));
    const noEnvelope = machine(
      task({ Parameters: { 'FunctionName.$': '$.fn', Payload: { operation: 'query', input: {} } } }),
    );

    // Act
    const wrong = lintDefinition(wrongResource).map((issue) => issue.message);
    const missing = lintDefinition(noEnvelope).map((issue) => issue.message);

    // Assess
    expect(wrong).toEqual([
      `Resource must be ${LAMBDA_INVOKE}, got arn:aws:lambda:us-east-1:123456789012:function:x`,
    ]);
    expect(missing).toEqual([
      'Parameters.FunctionName must name the function statically (least-privilege role)',
      'Payload must pass correlationId.$ on',
      "Payload.trigger must be 'task'",
    ]);
  });

  it('reports a hard-coded partition in the task resource', () => {
    // Act
    const found = lintDefinition(machine(task({ Resource: 'arn:aws:states:::lambda:invoke' })));

    // Assess
    expect(found.map((issue) => issue.rule)).toEqual(['lambda-invoke']);
  });

  it('reports a task no Catch covers, and accepts one covered by its enclosing Map', () => {
    // Prepare
    const { Catch: _none, ...uncaught } = task();
    const inMap = (mapCatch: boolean): AslDefinition =>
      machine({
        Type: 'Map',
        MaxConcurrency: 2,
        ItemProcessor: { StartAt: 'Inner', States: { Inner: uncaught as AslState } },
        ...(mapCatch ? { Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Failed' }] } : {}),
        End: true,
      });

    // Act
    const alone = rules(machine(uncaught as AslState));
    const covered = rules(inMap(true));
    const uncovered = lintDefinition(inMap(false));

    // Assess
    expect(alone).toEqual(['catch']);
    expect(covered).toEqual([]);
    expect(uncovered.map((issue) => issue.path)).toEqual(['States.Step.ItemProcessor.States.Inner']);
  });

  it('reports a Map without an explicit MaxConcurrency', () => {
    // Prepare
    const definition = machine({
      Type: 'Map',
      ItemProcessor: { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } },
      End: true,
    });

    // Act
    const found = rules(definition);

    // Assess
    expect(found).toEqual(['map-concurrency']);
  });

  it('reports JSONata anywhere in the definition', () => {
    // Prepare
    const definition = { ...machine(task()), QueryLanguage: 'JSONata' };

    // Act
    const found = rules(definition);

    // Assess
    expect(found).toEqual(['jsonpath-only']);
  });
});

describe('Function: lintDefinition, idempotency keys', () => {
  const writes: LintOptions = { writeOperations: { SlackLambdaFunction: ['post-message'] } };
  /** The task with a payload field set (undefined removes it). */
  const keyed = (key: string | undefined, operation = 'post-message'): AslState => {
    const payload: Record<string, unknown> = {
      ...(task().Parameters?.['Payload'] as Record<string, unknown>),
      operation,
    };
    if (key === undefined) delete payload['idempotencyKey.$'];
    else payload['idempotencyKey.$'] = key;
    return task({ Parameters: { ...task().Parameters, Payload: payload } });
  };
  const messages = (definition: AslDefinition, options: LintOptions = writes): string[] =>
    lintDefinition(definition, options).map((issue) => `${issue.rule}: ${issue.message}`);

  it('passes a write keyed by the execution and the state, and a read without a key', () => {
    // Act
    const write = messages(machine(keyed("States.Format('{}:Step', $$.Execution.Id)")));
    const read = messages(machine(keyed(undefined, 'list-channels')));

    // Assess
    expect(write).toEqual([]);
    expect(read).toEqual([]);
  });

  it('reports a write without a key only when the write operations are known', () => {
    // Prepare
    const definition = machine(keyed(undefined));

    // Act
    const known = messages(definition);
    const unknown = messages(definition, { writeOperations: {} });

    // Assess
    expect(known).toEqual([
      "idempotency-key: post-message changes data: Payload must pass idempotencyKey.$, e.g. States.Format('{}:Step', $$.Execution.Id)",
    ]);
    expect(unknown).toEqual([]);
  });

  it('reports a key that is not derived from the execution, or names another state', () => {
    // Act
    const constant = messages(machine(keyed('$.requestId')));
    const noExecution = messages(machine(keyed("States.Format('{}:Step', $.correlationId)")));
    const otherState = messages(machine(keyed("States.Format('{}:PostToSlack', $$.Execution.Id)")));

    // Assess
    const notDerived =
      'idempotency-key: idempotencyKey.$ must be States.Format over $$.Execution.Id, so a retry of the task reuses it';
    expect(constant).toEqual([notDerived]);
    expect(noExecution).toEqual([notDerived]);
    expect(otherState).toEqual([
      'idempotency-key: the idempotencyKey.$ template must name the state (:Step), so no other write shares it',
    ]);
  });

  it('reports a key inside a Map without the item index, and accepts one with it', () => {
    // Prepare
    const inMap = (key: string, selector: Record<string, unknown>): AslDefinition =>
      machine({
        Type: 'Map',
        MaxConcurrency: 2,
        ItemSelector: selector,
        ItemProcessor: { StartAt: 'Post', States: { Post: keyed(key) } },
        End: true,
      });
    const withIndex = { 'index.$': '$$.Map.Item.Index', 'channel.$': '$$.Map.Item.Value' };

    // Act
    const indexed = messages(inMap("States.Format('{}:Step:{}:Post', $$.Execution.Id, $.index)", withIndex));
    const unindexed = messages(inMap("States.Format('{}:Post', $$.Execution.Id)", withIndex));
    const notSelected = messages(
      inMap("States.Format('{}:Step:{}:Post', $$.Execution.Id, $.index)", {
        'channel.$': '$$.Map.Item.Value',
      }),
    );

    // Assess
    const missingIndex =
      'idempotency-key: inside Map Step, idempotencyKey.$ must include the item index (pass "index.$": "$$.Map.Item.Index" in its ItemSelector)';
    expect(indexed).toEqual([]);
    expect(unindexed).toEqual([missingIndex]);
    expect(notSelected).toEqual([missingIndex]);
  });

  it('reports a key on a loop that does not tell the rounds apart', () => {
    // Prepare
    const loop = (key: string): AslDefinition => ({
      StartAt: 'ValidateInput',
      TimeoutSeconds: 900,
      States: {
        ...validation(),
        Step: { ...keyed(key), End: undefined, Next: 'More' },
        More: {
          Type: 'Choice',
          Choices: [{ Variable: '$.more', BooleanEquals: true, Next: 'Step' }],
          Default: 'Done',
        },
        Done: { Type: 'Succeed' },
        Failed: { Type: 'Fail' },
      },
    });

    // Act
    const same = messages(loop("States.Format('{}:Step', $$.Execution.Id)"));
    const perRound = messages(loop("States.Format('{}:Step:{}', $$.Execution.Id, $.page)"));

    // Assess
    expect(same).toEqual([
      'idempotency-key: the state runs once per round of a loop: idempotencyKey.$ must include a value of the state data that tells the rounds apart',
    ]);
    expect(perRound).toEqual([]);
  });
});

describe('Function: lintDefinition, input validation', () => {
  it('reports a workflow whose StartAt state is not a validation Choice', () => {
    // Prepare
    const definition: AslDefinition = { ...machine(task()), StartAt: 'Step' };

    // Act
    const issues = lintDefinition(definition);

    // Assess
    expect(issues).toEqual([
      {
        path: 'States.Step',
        rule: 'input-validation',
        message: 'the StartAt state must be a Choice that validates the input',
      },
    ]);
  });

  it('reports a StartAt Choice that tests fields but never the input itself', () => {
    // Prepare
    const definition = machine(task());
    definition.States['ValidateInput'] = {
      Type: 'Choice',
      Choices: [{ Not: { Variable: '$.channels', IsPresent: true }, Next: 'InvalidInput' }],
      Default: 'Step',
    };

    // Act
    const issues = lintDefinition(definition);

    // Assess
    expect(issues.map((issue) => `${issue.path} ${issue.rule}`)).toEqual([
      'States.ValidateInput input-validation',
    ]);
    expect(issues[0]?.message).toContain('must test the input itself ($)');
  });

  it('accepts the input test nested in And, Or or Not, and a ValidationError reached through Pass states', () => {
    // Prepare
    const definition = machine(task());
    definition.States['ValidateInput'] = {
      Type: 'Choice',
      Choices: [
        {
          Or: [{ Variable: '$', IsString: true }, { Not: { Variable: '$', IsPresent: true } }],
          Next: 'Inspect',
        },
      ],
      Default: 'Step',
    };
    definition.States['Inspect'] = { Type: 'Pass', Next: 'Check' };
    definition.States['Check'] = {
      Type: 'Choice',
      Choices: [{ Variable: '$.kind', StringEquals: '[', Next: 'InvalidInput' }],
      Default: 'Step',
    };

    // Act
    const issues = lintDefinition(definition);

    // Assess
    expect(issues).toEqual([]);
  });

  it('reports validation that cannot end in a ValidationError before the first task', () => {
    // Prepare: the only ValidationError lies behind the task.
    const definition = machine(task({ Next: 'InvalidInput' }));
    delete definition.States['Step']?.['End'];
    definition.States['ValidateInput'] = {
      Type: 'Choice',
      Choices: [{ Variable: '$', IsString: true, Next: 'Step' }],
      Default: 'Failed',
    };

    // Act
    const issues = lintDefinition(definition);

    // Assess
    expect(issues).toEqual([
      {
        path: 'States.ValidateInput',
        rule: 'input-validation',
        message:
          'no Fail state with Error ValidationError is reachable from the StartAt Choice through Choice and Pass states',
      },
    ]);
  });

  it('reports a ValidationError whose Cause names no input field, in a Fail state or a failure-path Pass', () => {
    // Prepare
    const definition = machine(task());
    definition.States['InvalidInput'] = { Type: 'Fail', Error: 'ValidationError', Cause: 'bad request' };
    definition.States['InvalidTitle'] = {
      Type: 'Pass',
      Result: { Error: 'ValidationError', Cause: 'The issue has no title' },
      ResultPath: '$.failure',
      Next: 'Failed',
    };
    definition.States['InvalidUser'] = {
      Type: 'Pass',
      Result: { Error: 'ValidationError', Cause: 'input.payload.issue.user.login must be a string' },
      ResultPath: '$.failure',
      Next: 'Failed',
    };
    definition.States['Other'] = { Type: 'Fail', Error: 'NotFoundError', Cause: 'no input field here' };

    // Act
    const issues = lintDefinition(definition);

    // Assess
    expect(issues.map((issue) => `${issue.path} ${issue.rule}`)).toEqual([
      'States.InvalidInput validation-cause',
      'States.InvalidTitle validation-cause',
    ]);
  });
});

describe('Function: worstCaseRetryWaitSeconds', () => {
  it('sums every backoff wait of every retrier, each capped by MaxDelaySeconds', () => {
    // Act
    const seconds = worstCaseRetryWaitSeconds([
      { ErrorEquals: ['A'], IntervalSeconds: 2, BackoffRate: 3, MaxAttempts: 3, MaxDelaySeconds: 10 },
      { ErrorEquals: ['B'] },
    ]);

    // Assess: 2 + 6 + 10 (capped), then the ASL defaults 1 + 2 + 4.
    expect(seconds).toBe(25);
  });

  it('is zero without retriers', () => {
    // Act & Assess
    expect(worstCaseRetryWaitSeconds()).toBe(0);
  });
});

describe('Function: worstCaseStateSeconds', () => {
  it('adds every attempt running into TimeoutSeconds to the waits', () => {
    // Act
    const seconds = worstCaseStateSeconds(task());

    // Assess: 1 + 3 + 3 attempts of 45 s, and 21 s of waits.
    expect(seconds).toBe(336);
  });
});

describe('Function: walkStates', () => {
  it('visits nested Map and Parallel states with their parents', () => {
    // Prepare
    const definition: AslDefinition = {
      StartAt: 'Fan',
      States: {
        Fan: {
          Type: 'Parallel',
          Branches: [{ StartAt: 'Left', States: { Left: { Type: 'Pass', End: true } } }],
          Next: 'Each',
        },
        Each: {
          Type: 'Map',
          Iterator: { StartAt: 'Item', States: { Item: { Type: 'Pass', End: true } } },
          End: true,
        },
      },
    };
    const seen: string[] = [];

    // Act
    walkStates(definition, (_state, location) => {
      seen.push(`${location.path} <${location.parents.map((parent) => parent.name).join('/')}>`);
    });

    // Assess
    expect(seen).toEqual([
      'States.Fan <>',
      'States.Fan.Branches.0.States.Left <Fan>',
      'States.Each <>',
      'States.Each.Iterator.States.Item <Each>',
    ]);
  });
});
