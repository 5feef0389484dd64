/**
 * The local stack enforces Lambda's and Step Functions' payload limits, so a response that AWS would
 * refuse fails offline too: a function response over 6 MB on Lambda Invoke (Function.ResponseSizeTooLarge)
 * and on the HTTP API (502), an Invoke request over 6 MB, and data over 256 KiB in a state machine
 * (States.DataLimitExceeded, which no catcher takes). The connectors cap their own responses below these
 * limits, so the function here is a stand-in: the build of `slack` is replaced by a handler that answers
 * as many bytes as it is asked for, and the stack runs that build (`npm start -- --no-build`).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { InvokeCommand, LambdaClient, RequestTooLargeException } from '@aws-sdk/client-lambda';
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  GetExecutionHistoryCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT, type StackProcess, startStackProcess } from './stack-process.ts';

const run = promisify(execFile);
const AWS = { region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
const FUNCTION = 'circle-core-dev-slack';
const FUNCTION_ARN = `arn:aws:lambda:us-east-1:000000000000:function:${FUNCTION}`;
/** Lambda's limit as its error names it, and Step Functions' limit. */
const LAMBDA_LIMIT = 6_291_556;
const STATES_LIMIT = 262_144;
/** `{"data":""}`: what the stand-in adds around the bytes it is asked for. */
const ENVELOPE = 11;

/** Answers `{ data: 'x' * bytes }` (direct, task) or a `bytes`-long body (HTTP), and logs each call. */
const STAND_IN = `
export const handler = async (event) => {
  const http = event?.requestContext !== undefined;
  const spec = http ? JSON.parse(event.body ?? '{}') : (event ?? {});
  console.log(JSON.stringify({ level: 'INFO', message: 'stand-in invoked', marker: spec.marker ?? null }));
  const data = 'x'.repeat(Number(spec.bytes ?? 0));
  return http ? { statusCode: 200, headers: { 'content-type': 'text/plain' }, body: data } : { data };
};
`;

let stack: StackProcess;
let buildDir: string;
let lambda: LambdaClient;
let sfn: SFNClient;

beforeAll(async () => {
  buildDir = await mkdtemp(join(tmpdir(), 'circle-limits-build-'));
  await run(process.execPath, [join(REPO_ROOT, 'scripts', 'build.ts'), '--out-dir', buildDir], {
    cwd: REPO_ROOT,
  });
  await writeFile(join(buildDir, 'functions', 'slack', 'index.mjs'), STAND_IN);
  await rm(join(buildDir, 'functions', 'slack', 'index.mjs.map'), { force: true });
  stack = await startStackProcess({ CIRCLE_BUILD_DIR: buildDir }, ['--no-build', '--only', 'slack']);
  lambda = new LambdaClient({ ...AWS, endpoint: stack.awsUrl });
  sfn = new SFNClient({ ...AWS, endpoint: stack.awsUrl });
}, 90_000);

afterAll(async () => {
  lambda?.destroy();
  sfn?.destroy();
  if (stack !== undefined) await stack.stop().catch(() => undefined);
  if (buildDir !== undefined) await rm(buildDir, { recursive: true, force: true });
});

function invoke(payload: unknown) {
  return lambda.send(new InvokeCommand({ FunctionName: FUNCTION, Payload: JSON.stringify(payload) }));
}

function decoded(payload: Uint8Array | undefined): Record<string, unknown> {
  return JSON.parse(Buffer.from(payload ?? []).toString('utf8')) as Record<string, unknown>;
}

describe('Local stack: Lambda payload limits', () => {
  it('answers a response of exactly 6,291,556 bytes and refuses one byte more as Lambda does', async () => {
    // Act
    const atLimit = await invoke({ bytes: LAMBDA_LIMIT - ENVELOPE });
    const over = await invoke({ bytes: LAMBDA_LIMIT - ENVELOPE + 1 });

    // Assess
    expect(atLimit.FunctionError).toBeUndefined();
    expect(atLimit.Payload?.length).toBe(LAMBDA_LIMIT);
    expect(over.StatusCode).toBe(200);
    expect(over.FunctionError).toBe('Unhandled');
    expect(decoded(over.Payload)).toEqual({
      errorType: 'Function.ResponseSizeTooLarge',
      errorMessage: `Response payload size (${LAMBDA_LIMIT + 1} bytes) exceeded maximum allowed payload size (${LAMBDA_LIMIT} bytes).`,
    });
  });

  it('refuses a synchronous Invoke request over 6 MB before the function runs', async () => {
    // Prepare
    const marker = 'too-large-request';

    // Act
    const answer = invoke({ marker, padding: 'p'.repeat(6_291_456) });

    // Assess
    await expect(answer).rejects.toBeInstanceOf(RequestTooLargeException);
    expect(stack.lines.some((line) => line['marker'] === marker)).toBe(false);
  });

  it('answers 502 problem+json on the HTTP API when the function response is over 6 MB', async () => {
    // Prepare
    const post = (bytes: number) =>
      fetch(`${stack.apiUrl}/slack/anything`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}` },
        body: JSON.stringify({ bytes }),
      });

    // Act
    const under = await post(6_000_000);
    const over = await post(6_400_000);

    // Assess
    expect(under.status).toBe(200);
    expect((await under.text()).length).toBe(6_000_000);
    expect(over.status).toBe(502);
    expect(over.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await over.json()) as Record<string, unknown>;
    expect(problem).toMatchObject({ status: 502, title: 'Bad Gateway', code: 'response_too_large' });
    expect(String(problem['detail'])).toContain("Lambda's 6 MB limit");
  });
});

describe('Local stack: Step Functions payload limit', () => {
  async function execute(name: string, definition: unknown, input: unknown) {
    const { stateMachineArn } = await sfn.send(
      new CreateStateMachineCommand({
        name,
        definition: JSON.stringify(definition),
        roleArn: 'arn:aws:iam::000000000000:role/limits',
      }),
    );
    const { executionArn } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, input: JSON.stringify(input) }),
    );
    const deadline = Date.now() + 20_000;
    let described: DescribeExecutionCommandOutput;
    do {
      await new Promise((resolve) => setTimeout(resolve, 100));
      described = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    } while (described.status === 'RUNNING' && Date.now() < deadline);
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn }));
    return { described, events: history.events ?? [] };
  }

  const task = (bytes: number, extra: Record<string, unknown> = {}) => ({
    Type: 'Task',
    Resource: FUNCTION_ARN,
    Parameters: { bytes },
    ...extra,
  });

  it('runs a task whose result is exactly 256 KiB', async () => {
    // Act
    const { described } = await execute(
      'limits-at-limit',
      { StartAt: 'Fetch', States: { Fetch: task(STATES_LIMIT - ENVELOPE, { End: true }) } },
      {},
    );

    // Assess
    expect(described.status).toBe('SUCCEEDED');
    expect(Buffer.byteLength(String(described.output))).toBe(STATES_LIMIT);
  });

  it('fails on a task result over 256 KiB with States.DataLimitExceeded, which no Retry or Catch takes', async () => {
    // Act
    const { described, events } = await execute(
      'limits-task-result',
      {
        StartAt: 'Fetch',
        States: {
          Fetch: task(STATES_LIMIT, {
            Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 0, MaxAttempts: 2 }],
            Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Handled' }],
            End: true,
          }),
          Handled: { Type: 'Succeed' },
        },
      },
      {},
    );

    // Assess
    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('States.DataLimitExceeded');
    expect(described.cause).toContain(`${STATES_LIMIT + ENVELOPE} bytes`);
    expect(events.filter((event) => event.type === 'TaskStateEntered')).toHaveLength(1);
    expect(events.at(-1)?.type).toBe('ExecutionFailed');
  });

  it("fails when a state's output grows over 256 KiB, and runs no state after it", async () => {
    // Prepare: three branches each pass on a 100 kB input; the Parallel state's output is their array.
    const pass = (name: string) => ({ StartAt: name, States: { [name]: { Type: 'Pass', End: true } } });
    const marker = 'after-parallel';

    // Act
    const { described, events } = await execute(
      'limits-state-output',
      {
        StartAt: 'Fan',
        States: {
          Fan: { Type: 'Parallel', Branches: [pass('A'), pass('B'), pass('C')], Next: 'After' },
          After: { Type: 'Task', Resource: FUNCTION_ARN, Parameters: { bytes: 1, marker }, End: true },
        },
      },
      { blob: 'y'.repeat(100_000) },
    );

    // Assess
    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('States.DataLimitExceeded');
    expect(described.cause).toContain("state 'Fan'");
    expect(events.at(-1)).toMatchObject({
      type: 'ExecutionFailed',
      executionFailedEventDetails: { error: 'States.DataLimitExceeded' },
    });
    expect(stack.lines.some((line) => line['marker'] === marker)).toBe(false);
  });
});
