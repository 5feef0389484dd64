/**
 * Step Functions over AWS JSON 1.0 (`x-amz-target: AWSStepFunctions.<Operation>`): StartExecution,
 * StartSyncExecution, StopExecution, DescribeExecution, GetExecutionHistory, ListExecutions,
 * ListStateMachines, DescribeStateMachine, CreateStateMachine and DeleteStateMachine.
 */
import {
  type ExecutionRecord,
  type MachineRecord,
  type StepFunctionsEngine,
  StepFunctionsError,
} from '../workflows/step-functions.ts';
import { AwsError, epochSeconds, type JsonRequest, type JsonService, requireString } from './protocol.ts';

function describeExecution(execution: ExecutionRecord): Record<string, unknown> {
  const answer: Record<string, unknown> = {
    executionArn: execution.arn,
    stateMachineArn: execution.machineArn,
    name: execution.name,
    status: execution.status,
    startDate: epochSeconds(execution.startedAt),
    input: execution.input,
    inputDetails: { included: true },
  };
  if (execution.stoppedAt !== undefined) answer['stopDate'] = epochSeconds(execution.stoppedAt);
  if (execution.output !== undefined) {
    answer['output'] = execution.output;
    answer['outputDetails'] = { included: true };
  }
  if (execution.error !== undefined) answer['error'] = execution.error;
  if (execution.cause !== undefined) answer['cause'] = execution.cause;
  return answer;
}

function summary(machine: MachineRecord): Record<string, unknown> {
  return {
    stateMachineArn: machine.arn,
    name: machine.name,
    type: machine.type,
    creationDate: epochSeconds(machine.createdAt),
  };
}

function page<T>(items: T[], body: Record<string, unknown>): { items: T[]; nextToken?: string } {
  const max = typeof body['maxResults'] === 'number' && body['maxResults'] > 0 ? body['maxResults'] : 100;
  const start = typeof body['nextToken'] === 'string' ? Number(body['nextToken']) : 0;
  const result: { items: T[]; nextToken?: string } = { items: items.slice(start, start + max) };
  if (start + max < items.length) result.nextToken = String(start + max);
  return result;
}

/**
 * The Step Functions operations over `engine`.
 *
 * @example
 * ```ts
 * const sfn = stepFunctionsService(engine);
 * await sfn({ operation: 'ListStateMachines', body: {} });
 * ```
 */
export function stepFunctionsService(engine: StepFunctionsEngine): JsonService {
  const operations: Record<string, (body: Record<string, unknown>) => Promise<unknown> | unknown> = {
    CreateStateMachine: (body) => {
      const name = requireString(body, 'name', 'ValidationException');
      let definition: Record<string, unknown>;
      try {
        definition = JSON.parse(requireString(body, 'definition', 'ValidationException')) as Record<
          string,
          unknown
        >;
      } catch {
        throw new AwsError('InvalidDefinition', 'Invalid State Machine Definition: not valid JSON');
      }
      const options: { type?: string; roleArn?: string } = {};
      if (typeof body['type'] === 'string') options.type = body['type'];
      if (typeof body['roleArn'] === 'string') options.roleArn = body['roleArn'];
      const machine = engine.create(name, definition, options);
      return { stateMachineArn: machine.arn, creationDate: epochSeconds(machine.createdAt) };
    },
    DeleteStateMachine: (body) => {
      engine.delete(requireString(body, 'stateMachineArn', 'ValidationException'));
      return {};
    },
    DescribeStateMachine: (body) => {
      const machine = engine.machine(requireString(body, 'stateMachineArn', 'ValidationException'));
      return {
        ...summary(machine),
        status: 'ACTIVE',
        definition: JSON.stringify(machine.definition),
        roleArn: machine.roleArn,
      };
    },
    ListStateMachines: (body) => {
      const { items, nextToken } = page(engine.machines(), body);
      return { stateMachines: items.map(summary), ...(nextToken === undefined ? {} : { nextToken }) };
    },
    StartExecution: (body) => {
      const execution = engine.start(
        requireString(body, 'stateMachineArn', 'ValidationException'),
        typeof body['input'] === 'string' ? body['input'] : '{}',
        typeof body['name'] === 'string' ? body['name'] : undefined,
      );
      return { executionArn: execution.arn, startDate: epochSeconds(execution.startedAt) };
    },
    StartSyncExecution: async (body) => {
      const execution = engine.start(
        requireString(body, 'stateMachineArn', 'ValidationException'),
        typeof body['input'] === 'string' ? body['input'] : '{}',
        typeof body['name'] === 'string' ? body['name'] : undefined,
      );
      await execution.done;
      return describeExecution(execution);
    },
    StopExecution: async (body) => {
      const execution = engine.stop(
        requireString(body, 'executionArn', 'ValidationException'),
        typeof body['error'] === 'string' ? body['error'] : undefined,
        typeof body['cause'] === 'string' ? body['cause'] : undefined,
      );
      await execution.done;
      return { stopDate: epochSeconds(execution.stoppedAt ?? Date.now()) };
    },
    DescribeExecution: (body) =>
      describeExecution(engine.execution(requireString(body, 'executionArn', 'ValidationException'))),
    GetExecutionHistory: (body) => {
      const execution = engine.execution(requireString(body, 'executionArn', 'ValidationException'));
      const events = body['reverseOrder'] === true ? [...execution.events].reverse() : execution.events;
      const withData = body['includeExecutionData'] !== false;
      const { items, nextToken } = page(
        events.map((event) => ({ ...event, timestamp: epochSeconds(event.timestamp) })),
        body,
      );
      const shaped = withData
        ? items
        : items.map((event) =>
            Object.fromEntries(
              Object.entries(event).map(([key, value]) => {
                if (typeof value !== 'object' || value === null) return [key, value];
                const { input: _input, output: _output, ...rest } = value as Record<string, unknown>;
                return [key, rest];
              }),
            ),
          );
      return { events: shaped, ...(nextToken === undefined ? {} : { nextToken }) };
    },
    ListExecutions: (body) => {
      const machineArn = requireString(body, 'stateMachineArn', 'ValidationException');
      const status = typeof body['statusFilter'] === 'string' ? body['statusFilter'] : undefined;
      const { items, nextToken } = page(engine.executions(machineArn, status), body);
      return {
        executions: items.map((execution) => {
          const item: Record<string, unknown> = {
            executionArn: execution.arn,
            stateMachineArn: execution.machineArn,
            name: execution.name,
            status: execution.status,
            startDate: epochSeconds(execution.startedAt),
          };
          if (execution.stoppedAt !== undefined) item['stopDate'] = epochSeconds(execution.stoppedAt);
          return item;
        }),
        ...(nextToken === undefined ? {} : { nextToken }),
      };
    },
  };

  return async ({ operation, body }: JsonRequest) => {
    const handler = Object.hasOwn(operations, operation) ? operations[operation] : undefined;
    if (handler === undefined) {
      throw new AwsError(
        'UnknownOperationException',
        `AWSStepFunctions.${operation} is not supported by the local stack`,
      );
    }
    try {
      return await handler(body);
    } catch (error) {
      if (error instanceof StepFunctionsError) throw new AwsError(error.type, error.message);
      throw error;
    }
  };
}
