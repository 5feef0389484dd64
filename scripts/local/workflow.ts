/**
 * `npm run workflow -- <state machine> --input '<json>'`: runs one execution to its end and prints its
 * status and output (or error and cause), on the running stack or on one started for this command.
 * `npm run workflow -- --list` lists the state machines.
 */
import { parseArgs } from 'node:util';
import { awsJson, fail, readJsonArgument, runningStack, temporaryStack } from './cli/common.ts';

interface Described {
  status: string;
  output?: string;
  error?: string;
  cause?: string;
  executionArn?: string;
}

function report(name: string, described: Described): void {
  process.stdout.write(`${name}: ${described.status}\n`);
  if (described.output !== undefined) {
    process.stdout.write(`${JSON.stringify(JSON.parse(described.output), null, 2)}\n`);
  }
  if (described.status !== 'SUCCEEDED') {
    if (described.error !== undefined) process.stderr.write(`error: ${described.error}\n`);
    if (described.cause !== undefined) process.stderr.write(`cause: ${described.cause}\n`);
    process.exitCode = 1;
  }
}

async function onRunningStack(awsUrl: string, name: string | undefined, input: string): Promise<void> {
  const { stateMachines } = await awsJson<{ stateMachines: { name: string; stateMachineArn: string }[] }>(
    awsUrl,
    'AWSStepFunctions.ListStateMachines',
    {},
  );
  if (name === undefined) {
    for (const machine of stateMachines)
      process.stdout.write(`${machine.name}  ${machine.stateMachineArn}\n`);
    return;
  }
  const machine = stateMachines.find(
    (candidate) => candidate.name === name || candidate.stateMachineArn === name,
  );
  if (machine === undefined) {
    throw new Error(
      `no state machine ${name}; known: ${stateMachines.map((m) => m.name).join(', ') || '(none)'}`,
    );
  }
  const { executionArn } = await awsJson<{ executionArn: string }>(
    awsUrl,
    'AWSStepFunctions.StartExecution',
    {
      stateMachineArn: machine.stateMachineArn,
      input,
    },
  );
  process.stderr.write(`started ${executionArn}\n`);
  for (;;) {
    const described = await awsJson<Described>(awsUrl, 'AWSStepFunctions.DescribeExecution', {
      executionArn,
    });
    if (described.status !== 'RUNNING') {
      report(machine.name, described);
      return;
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function onTemporaryStack(name: string | undefined, input: string, build: boolean): Promise<void> {
  const stack = await temporaryStack({ build });
  try {
    if (name === undefined) {
      for (const machine of stack.workflows.machines())
        process.stdout.write(`${machine.name}  ${machine.arn}\n`);
      return;
    }
    const execution = stack.workflows.start(stack.workflows.machine(name).arn, input);
    process.stderr.write(`started ${execution.arn}\n`);
    await execution.done;
    report(name, execution);
  } finally {
    await stack.stop();
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { input: { type: 'string', short: 'i' }, list: { type: 'boolean' }, build: { type: 'boolean' } },
  });
  const name = values.list === true ? undefined : positionals[0];
  if (name === undefined && values.list !== true) {
    throw new Error("usage: npm run workflow -- <state machine> --input '<json>' | --list");
  }
  const input = JSON.stringify(
    values.input === undefined ? {} : await readJsonArgument(values.input, '--input'),
  );
  const running = await runningStack();
  if (running !== undefined) await onRunningStack(running.awsUrl, name, input);
  else await onTemporaryStack(name, input, values.build === true);
}

await main().catch(fail);
