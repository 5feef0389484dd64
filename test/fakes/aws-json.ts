/**
 * A tiny AWS JSON-protocol server for the connector's event sinks: SQS `SendMessage` (AWS JSON 1.0,
 * `x-amz-target: AmazonSQS.SendMessage`) and Step Functions `StartExecution`
 * (`x-amz-target: AWSStepFunctions.StartExecution`), spoken to by the real SDK clients through
 * `AWS_ENDPOINT_URL_SQS` / `AWS_ENDPOINT_URL_SFN`. Step Functions refuses a second execution with the
 * same name and another input (`ExecutionAlreadyExists`), as the service does.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One accepted call. */
export interface AwsJsonCall {
  target: string;
  body: Record<string, unknown>;
}

export interface AwsJsonFake {
  endpoint: string;
  /** Successful calls, in order. */
  calls: AwsJsonCall[];
  /** Calls answered with an injected error. */
  failed: AwsJsonCall[];
  /** The next `times` calls of `target` answer this AWS error. */
  failNext(target: string, error: { type: string; status?: number; times?: number }): void;
  close(): Promise<void>;
}

type Answer = [status: number, payload: unknown];

/**
 * Starts the fake on 127.0.0.1 with an ephemeral port.
 *
 * @example
 * ```ts
 * const aws = await startAwsJsonFake();
 * process.env.AWS_ENDPOINT_URL_SQS = aws.endpoint;
 * ```
 */
export async function startAwsJsonFake(): Promise<AwsJsonFake> {
  const calls: AwsJsonCall[] = [];
  const failed: AwsJsonCall[] = [];
  const failures: Array<{ target: string; type: string; status: number; left: number }> = [];
  const executions = new Map<string, { arn: string; input: unknown; startDate: number }>();

  const sendMessage = (body: Record<string, unknown>): Answer => {
    calls.push({ target: 'AmazonSQS.SendMessage', body });
    const md5 = createHash('md5')
      .update(String(body['MessageBody'] ?? ''))
      .digest('hex');
    return [200, { MessageId: randomUUID(), MD5OfMessageBody: md5 }];
  };

  const startExecution = (body: Record<string, unknown>): Answer => {
    const target = 'AWSStepFunctions.StartExecution';
    const name = String(body['name'] ?? randomUUID());
    const existing = executions.get(name);
    if (existing !== undefined && existing.input !== body['input']) {
      failed.push({ target, body });
      return [400, { __type: 'ExecutionAlreadyExists', message: `Execution Already Exists: '${name}'` }];
    }
    calls.push({ target, body });
    const execution = existing ?? {
      arn: `${String(body['stateMachineArn']).replace(':stateMachine:', ':execution:')}:${name}`,
      input: body['input'],
      startDate: Date.now() / 1000,
    };
    executions.set(name, execution);
    return [200, { executionArn: execution.arn, startDate: execution.startDate }];
  };

  const injected = (target: string, body: Record<string, unknown>): Answer | undefined => {
    const failure = failures.find((entry) => entry.target === target);
    if (failure === undefined) return undefined;
    failure.left -= 1;
    if (failure.left <= 0) failures.splice(failures.indexOf(failure), 1);
    failed.push({ target, body });
    return [failure.status, { __type: failure.type, message: `Injected ${failure.type}` }];
  };

  const answer = (target: string, body: Record<string, unknown>): Answer => {
    const failure = injected(target, body);
    if (failure !== undefined) return failure;
    if (target === 'AmazonSQS.SendMessage') return sendMessage(body);
    if (target === 'AWSStepFunctions.StartExecution') return startExecution(body);
    return [400, { __type: 'UnknownOperationException', message: `Unsupported ${target}` }];
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      const [status, payload] = answer(target, body);
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(payload));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    failed,
    failNext: (target, error) => {
      failures.push({ target, type: error.type, status: error.status ?? 400, left: error.times ?? 1 });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
