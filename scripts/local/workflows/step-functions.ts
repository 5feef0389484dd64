/**
 * Step Functions executions on `aws-local-stepfunctions` (JSONPath ASL), with every Lambda task resolved to
 * the local functions: `arn:aws:lambda:...:function:<name>` resources and the optimised
 * `arn:aws:states:::lambda:invoke` integration (plus `sqs:sendMessage` onto the local queues). A function's
 * error surfaces under its `errorType`, so `Retry`/`Catch` match the core's stable error names. Data over
 * the service's 256 KiB limit fails the execution with `States.DataLimitExceeded`, as in AWS.
 */
import { randomUUID } from 'node:crypto';
import type { InvokeOutcome } from '../functions/function-process.ts';
import type { StackLog } from '../log.ts';
// The library with States.Hash as AWS computes it (its own hashes are wrong from 56 bytes).
import {
  ExecutionAbortedError,
  ExecutionTimeoutError,
  StateMachine,
  type StateMachineDefinition,
} from './local-stepfunctions.ts';

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Step Functions' limit on a state's input and output and on a task's result (bytes of the JSON). */
export const DATA_LIMIT_BYTES = 262_144;

/** A state machine the engine knows. */
export interface MachineRecord {
  name: string;
  arn: string;
  type: 'STANDARD' | 'EXPRESS';
  definition: Record<string, unknown>;
  roleArn: string;
  createdAt: number;
}

/** One history event, in the shape GetExecutionHistory returns. */
export interface HistoryEvent {
  id: number;
  previousEventId: number;
  timestamp: number;
  type: string;
  [details: string]: unknown;
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One execution. */
export interface ExecutionRecord {
  arn: string;
  name: string;
  machineArn: string;
  status: ExecutionStatus;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  startedAt: number;
  stoppedAt?: number;
  events: HistoryEvent[];
  done: Promise<void>;
  abort?: (() => void) | undefined;
}

/** Why the engine refused a request, with the Step Functions error type. */
/** StartExecution's input limit: 256 KiB as a UTF-8 string. */
const MAX_INPUT_BYTES = 262_144;

/** Characters AWS refuses in an execution name (besides whitespace and control characters). */
const NAME_FORBIDDEN = new Set('<>{}[]?*"#%\\^|~`$&,;:/');

/**
 * AWS's execution name rule: 1-80 characters, none of whitespace, brackets `< > { } [ ]`, wildcards `? *`,
 * the characters `" # % \ ^ | ~ $ & , ; : /` and the backtick, or control characters (U+0000-001F, U+007F-009F).
 */
function validExecutionName(name: string): boolean {
  const characters = [...name];
  if (characters.length < 1 || characters.length > 80) return false;
  return characters.every((character) => {
    const code = character.codePointAt(0) ?? 0;
    if (code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return false;
    return !/\s/u.test(character) && !NAME_FORBIDDEN.has(character);
  });
}

export class StepFunctionsError extends Error {
  readonly type: string;

  constructor(type: string, message: string) {
    super(message);
    this.name = 'StepFunctionsError';
    this.type = type;
  }
}

interface TaskState {
  Type: string;
  Resource?: string;
}

/** Every state of a definition, nested branches and map processors included. */
function walkStates(
  definition: Record<string, unknown>,
  visit: (name: string, state: TaskState) => void,
): void {
  const states = definition['States'];
  if (typeof states !== 'object' || states === null) return;
  for (const [name, state] of Object.entries(states as Record<string, Record<string, unknown>>)) {
    visit(name, state as unknown as TaskState);
    for (const branch of (state['Branches'] as Record<string, unknown>[] | undefined) ?? [])
      walkStates(branch, visit);
    for (const key of ['Iterator', 'ItemProcessor']) {
      const nested = state[key];
      if (typeof nested === 'object' && nested !== null) walkStates(nested as Record<string, unknown>, visit);
    }
  }
}

function usesJsonata(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(usesJsonata);
  if (typeof value !== 'object' || value === null) return false;
  return Object.entries(value).some(
    ([key, item]) => (key === 'QueryLanguage' && item === 'JSONata') || usesJsonata(item),
  );
}

function failure(name: string, message: string, cause?: string): Error {
  const error = cause === undefined ? new Error(message) : new Error(message, { cause });
  error.name = name;
  return error;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value ?? null);
}

function byteSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value ?? null));
}

/** AWS's terminal error: `States.ALL` does not catch it and no Retry applies. */
function dataLimitExceeded(cause: string): Error {
  // aws-local-stepfunctions reads these two flags.
  return Object.assign(failure('States.DataLimitExceeded', cause), {
    isRetryable: false,
    isCatchable: false,
  });
}

function overLimit(what: string, size: number): string {
  return `${what} has a size of ${size} bytes, exceeding the maximum number of bytes service limit (${DATA_LIMIT_BYTES}).`;
}

/** The engine behind the Step Functions endpoint and `npm run workflow`. */
export class StepFunctionsEngine {
  readonly #machines = new Map<string, MachineRecord>();
  readonly #executions = new Map<string, ExecutionRecord>();
  /** Executions (by ARN) that met data over the limit, with the cause; read until the execution ends. */
  readonly #overLimit = new Map<string, string>();
  readonly #region: string;
  readonly #accountId: string;
  readonly #invoke: (nameOrArn: string, payload: unknown) => Promise<InvokeOutcome | undefined>;
  readonly #sendMessage: ((queueUrl: string, body: string, groupId?: string) => unknown) | undefined;
  readonly #log: StackLog;

  constructor(options: {
    region: string;
    accountId: string;
    invoke: (nameOrArn: string, payload: unknown) => Promise<InvokeOutcome | undefined>;
    sendMessage?: (queueUrl: string, body: string, groupId?: string) => unknown;
    log: StackLog;
  }) {
    this.#region = options.region;
    this.#accountId = options.accountId;
    this.#invoke = options.invoke;
    this.#sendMessage = options.sendMessage;
    this.#log = options.log;
  }

  /** The ARN of a state machine name. */
  arnOf(name: string): string {
    return `arn:aws:states:${this.#region}:${this.#accountId}:stateMachine:${name}`;
  }

  /**
   * Registers a state machine after validating its definition (ASL, JSONPath only).
   *
   * @example
   * ```ts
   * engine.create('orders', { StartAt: 'Done', States: { Done: { Type: 'Succeed' } } });
   * ```
   */
  create(
    name: string,
    definition: Record<string, unknown>,
    options: { type?: string; roleArn?: string } = {},
  ): MachineRecord {
    if (!/^[\w-]{1,80}$/.test(name))
      throw new StepFunctionsError('InvalidName', `Invalid State Machine Name: '${name}'`);
    const arn = this.arnOf(name);
    if (usesJsonata(definition)) {
      throw new StepFunctionsError(
        'InvalidDefinition',
        `${name}: JSONata states are not supported locally (aws-local-stepfunctions runs JSONPath only)`,
      );
    }
    try {
      new StateMachine(definition as unknown as StateMachineDefinition);
    } catch (error) {
      throw new StepFunctionsError(
        'InvalidDefinition',
        `Invalid State Machine Definition: ${(error as Error).message}`,
      );
    }
    const existing = this.#machines.get(arn);
    if (existing !== undefined && JSON.stringify(existing.definition) !== JSON.stringify(definition)) {
      throw new StepFunctionsError('StateMachineAlreadyExists', `State Machine Already Exists: '${arn}'`);
    }
    const record: MachineRecord = existing ?? {
      name,
      arn,
      type: String(options.type ?? 'STANDARD').toUpperCase() === 'EXPRESS' ? 'EXPRESS' : 'STANDARD',
      definition,
      roleArn: options.roleArn ?? `arn:aws:iam::${this.#accountId}:role/local-step-functions`,
      createdAt: Date.now(),
    };
    this.#machines.set(arn, record);
    return record;
  }

  /** Deletes a state machine (its executions stay readable). */
  delete(arn: string): void {
    this.#machines.delete(arn);
  }

  /** Every state machine, sorted by name. */
  machines(): MachineRecord[] {
    return [...this.#machines.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** A state machine by ARN or name, or StateMachineDoesNotExist. */
  machine(arnOrName: string): MachineRecord {
    const machine = this.#machines.get(arnOrName) ?? this.#machines.get(this.arnOf(arnOrName));
    if (machine === undefined) {
      throw new StepFunctionsError(
        'StateMachineDoesNotExist',
        `State Machine Does Not Exist: '${arnOrName}'`,
      );
    }
    return machine;
  }

  /** An execution by ARN, or ExecutionDoesNotExist. */
  execution(arn: string): ExecutionRecord {
    const execution = this.#executions.get(arn);
    if (execution === undefined)
      throw new StepFunctionsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${arn}'`);
    return execution;
  }

  /** The executions of a state machine, newest first. */
  executions(machineArn: string, status?: string): ExecutionRecord[] {
    this.machine(machineArn);
    return [...this.#executions.values()]
      .filter(
        (execution) =>
          execution.machineArn === machineArn && (status === undefined || execution.status === status),
      )
      .sort((a, b) => b.startedAt - a.startedAt);
  }

  /**
   * Starts an execution; it runs in the background (await `record.done` to wait for it).
   *
   * @example
   * ```ts
   * const execution = engine.start(machine.arn, JSON.stringify({ key: 'a.txt' }));
   * await execution.done;
   * ```
   */
  start(machineArn: string, input = '{}', name: string = randomUUID()): ExecutionRecord {
    const machine = this.machine(machineArn);
    if (!validExecutionName(name))
      throw new StepFunctionsError('InvalidName', `Invalid Execution Name: '${name}'`);
    const bytes = Buffer.byteLength(input, 'utf8');
    if (bytes > MAX_INPUT_BYTES) {
      throw new StepFunctionsError(
        'ValidationException',
        `1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have ` +
          `length less than or equal to ${MAX_INPUT_BYTES} (it is ${bytes} bytes as UTF-8)`,
      );
    }
    const arn = `arn:aws:states:${this.#region}:${this.#accountId}:${machine.type === 'EXPRESS' ? 'express' : 'execution'}:${machine.name}:${name}`;
    const existing = this.#executions.get(arn);
    // AWS: the same name and input while the original runs is the same execution (idempotent); another
    // input, or a closed execution, is ExecutionAlreadyExists.
    if (existing !== undefined && existing.status === 'RUNNING' && existing.input === input) return existing;
    if (existing !== undefined)
      throw new StepFunctionsError('ExecutionAlreadyExists', `Execution Already Exists: '${arn}'`);
    let parsed: Json;
    try {
      parsed = JSON.parse(input) as Json;
    } catch {
      throw new StepFunctionsError('InvalidExecutionInput', 'Invalid execution input: not valid JSON');
    }
    const record: ExecutionRecord = {
      arn,
      name,
      machineArn: machine.arn,
      status: 'RUNNING',
      input,
      startedAt: Date.now(),
      events: [],
      done: Promise.resolve(),
    };
    this.#executions.set(arn, record);
    record.done = this.#run(machine, record, parsed);
    return record;
  }

  /** Stops a running execution. */
  stop(arn: string, error?: string, cause?: string): ExecutionRecord {
    const execution = this.execution(arn);
    if (execution.status === 'RUNNING') {
      if (error !== undefined) execution.error = error;
      if (cause !== undefined) execution.cause = cause;
      execution.abort?.();
    }
    return execution;
  }

  #taskHandlers(
    definition: Record<string, unknown>,
    execution: ExecutionRecord,
  ): Record<string, (input: Json) => Promise<Json>> {
    const handlers: Record<string, (input: Json) => Promise<Json>> = {};
    walkStates(definition, (stateName, state) => {
      if (state.Type !== 'Task' || handlers[stateName] !== undefined) return;
      handlers[stateName] = async (input) => {
        // The history is read a few microtasks behind the engine: one turn of the event loop lets it see
        // an earlier state's output over the limit, so this task does not run after it.
        await new Promise((resolve) => setImmediate(resolve));
        const earlier = this.#overLimit.get(execution.arn);
        if (earlier !== undefined) throw dataLimitExceeded(earlier);
        // Stopped meanwhile (over the limit, or StopExecution): the engine no longer listens.
        if (execution.status !== 'RUNNING') throw failure('States.Runtime', 'The execution has ended');
        this.#limit(execution, byteSize(input), `The input of state '${stateName}' (after Parameters)`);
        const result = await this.#task(state.Resource ?? '', input);
        this.#limit(execution, byteSize(result), `The result of state/task '${stateName}'`);
        return result;
      };
    });
    return handlers;
  }

  /** Throws the terminal error when a task's data is over the limit. */
  #limit(execution: ExecutionRecord, size: number, what: string): void {
    if (size <= DATA_LIMIT_BYTES) return;
    const cause = overLimit(what, size);
    this.#overLimit.set(execution.arn, cause);
    throw dataLimitExceeded(cause);
  }

  /** A state's output over the limit stops the execution (the engine has no hook after each state). */
  #watchOutput(execution: ExecutionRecord, stateName: string, output: unknown): void {
    if (this.#overLimit.has(execution.arn)) return;
    const size = byteSize(output);
    if (size <= DATA_LIMIT_BYTES) return;
    this.#overLimit.set(execution.arn, overLimit(`The output of state '${stateName}'`, size));
    execution.abort?.();
  }

  async #callFunction(functionName: string, payload: unknown): Promise<{ payload: Json; requestId: string }> {
    const outcome = await this.#invoke(functionName, payload);
    if (outcome === undefined) {
      throw failure('Lambda.ResourceNotFoundException', `Function not found: ${functionName}`);
    }
    if (outcome.error !== undefined) {
      throw failure(outcome.error.errorType, outcome.error.errorMessage, JSON.stringify(outcome.error));
    }
    return { payload: JSON.parse(outcome.payload ?? 'null') as Json, requestId: outcome.requestId };
  }

  async #task(resource: string, input: Json): Promise<Json> {
    if (/^arn:aws[\w-]*:states:::lambda:invoke$/.test(resource)) {
      const parameters = (input ?? {}) as { FunctionName?: string; Payload?: Json };
      if (typeof parameters.FunctionName !== 'string') {
        throw failure('States.Runtime', 'lambda:invoke needs Parameters.FunctionName');
      }
      const { payload, requestId } = await this.#callFunction(
        parameters.FunctionName,
        parameters.Payload ?? {},
      );
      return {
        ExecutedVersion: '$LATEST',
        Payload: payload,
        SdkHttpMetadata: { HttpHeaders: {}, HttpStatusCode: 200 },
        SdkResponseMetadata: { RequestId: requestId },
        StatusCode: 200,
      };
    }
    if (/^arn:aws[\w-]*:lambda:/.test(resource)) return (await this.#callFunction(resource, input)).payload;
    if (/^arn:aws[\w-]*:states:::sqs:sendMessage$/.test(resource) && this.#sendMessage !== undefined) {
      const parameters = (input ?? {}) as { QueueUrl?: string; MessageBody?: Json; MessageGroupId?: string };
      const result = await this.#sendMessage(
        String(parameters.QueueUrl ?? ''),
        text(parameters.MessageBody),
        parameters.MessageGroupId,
      );
      return result as Json;
    }
    throw failure('States.Runtime', `The local stack cannot run the task resource ${resource}`);
  }

  #record(
    execution: ExecutionRecord,
    type: string,
    details: Record<string, unknown> = {},
    timestamp = Date.now(),
  ): void {
    const id = execution.events.length + 1;
    execution.events.push({ id, previousEventId: id - 1, timestamp, type, ...details });
  }

  async #run(machine: MachineRecord, execution: ExecutionRecord, input: Json): Promise<void> {
    const stateMachine = new StateMachine(
      structuredClone(machine.definition) as unknown as StateMachineDefinition,
    );
    const run = stateMachine.run(input, {
      overrides: { taskResourceLocalHandlers: this.#taskHandlers(machine.definition, execution) },
      context: {
        Execution: { Id: execution.arn, Name: execution.name, RoleArn: machine.roleArn },
        StateMachine: { Id: machine.arn, Name: machine.name },
      },
    });
    execution.abort = run.abort;
    const consumeEvents = (async () => {
      for await (const event of run.eventLogs)
        this.#translate(execution, machine, event as unknown as Record<string, unknown>);
    })();
    let output: unknown;
    let failed: unknown;
    let succeeded = false;
    try {
      output = await run.result;
      succeeded = true;
    } catch (error) {
      failed = error;
    }
    // The history is complete before the status changes, so a caller that sees the end reads it all.
    await Promise.race([consumeEvents, new Promise((resolve) => setTimeout(resolve, 250))]);
    execution.stoppedAt = Date.now();
    execution.abort = undefined;
    const tooLarge = this.#overLimit.get(execution.arn);
    this.#overLimit.delete(execution.arn);
    if (tooLarge !== undefined) {
      execution.error = 'States.DataLimitExceeded';
      execution.cause = tooLarge;
      execution.status = 'FAILED';
    } else if (succeeded) {
      execution.output = JSON.stringify(output);
      execution.status = 'SUCCEEDED';
    } else if (failed instanceof ExecutionAbortedError) {
      if (!execution.events.some((event) => event.type === 'ExecutionAborted')) {
        this.#record(execution, 'ExecutionAborted', {
          executionAbortedEventDetails: { error: execution.error, cause: execution.cause },
        });
      }
      execution.status = 'ABORTED';
    } else if (failed instanceof ExecutionTimeoutError) {
      execution.error = 'States.Timeout';
      execution.status = 'TIMED_OUT';
    } else {
      const event = execution.events.findLast((candidate) => candidate.type === 'ExecutionFailed');
      const details = event?.['executionFailedEventDetails'] as
        | { error?: string; cause?: string }
        | undefined;
      execution.error = details?.error ?? (failed as Error).name;
      execution.cause = details?.cause ?? (failed as Error).message;
      execution.status = 'FAILED';
    }
    this.#log.info('execution finished', {
      stateMachine: machine.name,
      execution: execution.name,
      status: execution.status,
    });
  }

  #translate(execution: ExecutionRecord, machine: MachineRecord, event: Record<string, unknown>): void {
    const timestamp = Number(event['timestamp'] ?? Date.now());
    const state = event['state'] as
      | { name: string; type: string; input?: unknown; output?: unknown }
      | undefined;
    const parent = event['parentState'] as { name: string } | undefined;
    const cause = event['Cause'] === undefined ? undefined : text(event['Cause']);
    const tooLarge = this.#overLimit.get(execution.arn);
    if (tooLarge !== undefined && /^Execution(Succeeded|Aborted|Failed)$/.test(String(event['type']))) {
      // However the engine ended, the execution failed on the data limit.
      const details = { error: 'States.DataLimitExceeded', cause: tooLarge };
      this.#record(execution, 'ExecutionFailed', { executionFailedEventDetails: details }, timestamp);
      return;
    }
    switch (event['type']) {
      case 'ExecutionStarted':
        this.#record(
          execution,
          'ExecutionStarted',
          {
            executionStartedEventDetails: {
              input: text(event['input']),
              inputDetails: { truncated: false },
              roleArn: machine.roleArn,
            },
          },
          timestamp,
        );
        return;
      case 'ExecutionSucceeded':
        this.#record(
          execution,
          'ExecutionSucceeded',
          {
            executionSucceededEventDetails: {
              output: text(event['output']),
              outputDetails: { truncated: false },
            },
          },
          timestamp,
        );
        return;
      case 'ExecutionFailed':
        this.#record(
          execution,
          'ExecutionFailed',
          { executionFailedEventDetails: { error: event['Error'], cause } },
          timestamp,
        );
        return;
      case 'ExecutionAborted':
        this.#record(execution, 'ExecutionAborted', { executionAbortedEventDetails: {} }, timestamp);
        return;
      case 'ExecutionTimeout':
        this.#record(
          execution,
          'ExecutionTimedOut',
          { executionTimedOutEventDetails: { error: 'States.Timeout' } },
          timestamp,
        );
        return;
      case 'StateEntered':
        if (state === undefined) return;
        this.#record(
          execution,
          `${state.type}StateEntered`,
          {
            stateEnteredEventDetails: {
              name: state.name,
              input: text(state.input),
              inputDetails: { truncated: false },
            },
          },
          timestamp,
        );
        return;
      case 'StateExited':
        if (state === undefined) return;
        this.#watchOutput(execution, state.name, state.output);
        this.#record(
          execution,
          `${state.type}StateExited`,
          {
            stateExitedEventDetails: {
              name: state.name,
              output: text(state.output),
              outputDetails: { truncated: false },
            },
          },
          timestamp,
        );
        return;
      case 'StateFailed':
        if (state?.type === 'Task') {
          this.#record(
            execution,
            'TaskFailed',
            {
              taskFailedEventDetails: {
                resourceType: 'lambda',
                resource: state.name,
                error: event['Error'],
                cause,
              },
            },
            timestamp,
          );
        } else if (state?.type === 'Map' || state?.type === 'Parallel') {
          this.#record(execution, `${state.type}StateFailed`, {}, timestamp);
        }
        return;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const key = `${String(event['type']).charAt(0).toLowerCase()}${String(event['type']).slice(1)}EventDetails`;
        this.#record(
          execution,
          String(event['type']),
          { [key]: { name: parent?.name, index: event['index'] } },
          timestamp,
        );
        return;
      }
      case 'ParallelBranchStarted':
        this.#record(execution, 'ParallelStateStarted', {}, timestamp);
        return;
      case 'ParallelBranchSucceeded':
        this.#record(execution, 'ParallelStateSucceeded', {}, timestamp);
        return;
      case 'ParallelBranchFailed':
        this.#record(execution, 'ParallelStateFailed', {}, timestamp);
        return;
      default:
        return;
    }
  }
}
