/**
 * The local Lambda runtime, one child process per function: loads the built handler from the task root
 * (the current folder, like `/var/task`) with the layer and the runtime's SDK on its resolution path, then
 * runs each invocation the stack sends over IPC and answers the result or the error in Lambda's shape.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

interface InvokeMessage {
  type: 'invoke';
  id: string;
  event: unknown;
  context: {
    awsRequestId: string;
    deadline: number;
    functionName: string;
    invokedFunctionArn: string;
    memoryLimitInMB: string;
  };
}

type Handler = (event: unknown, context: unknown) => unknown;

/** An error as the Node.js Lambda runtime reports it. */
function lambdaError(error: unknown): { errorType: string; errorMessage: string; trace: string[] } {
  if (error instanceof Error) {
    return {
      errorType: error.name || 'Error',
      errorMessage: error.message,
      trace: (error.stack ?? '').split('\n'),
    };
  }
  return { errorType: 'Error', errorMessage: String(error), trace: [] };
}

function send(message: unknown): void {
  process.send?.(message);
}

async function loadHandler(): Promise<Handler> {
  const spec = process.env['_HANDLER'] ?? 'index.handler';
  const dot = spec.lastIndexOf('.');
  const moduleName = spec.slice(0, dot);
  const exportName = spec.slice(dot + 1);
  const root = process.cwd();
  const file = ['.mjs', '.js', '.cjs']
    .map((ext) => join(root, `${moduleName}${ext}`))
    .find((path) => existsSync(path));
  if (file === undefined) {
    const error = new Error(`Cannot find module '${moduleName}' in ${root}`);
    error.name = 'Runtime.ImportModuleError';
    throw error;
  }
  const module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  const handler = module[exportName];
  if (typeof handler !== 'function') {
    const error = new Error(`${spec} is undefined or not exported`);
    error.name = 'Runtime.HandlerNotFound';
    throw error;
  }
  return handler as Handler;
}

async function invoke(handler: Handler, message: InvokeMessage): Promise<void> {
  const { context: init } = message;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: init.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: init.invokedFunctionArn,
    memoryLimitInMB: init.memoryLimitInMB,
    awsRequestId: init.awsRequestId,
    logGroupName: process.env['AWS_LAMBDA_LOG_GROUP_NAME'] ?? '',
    logStreamName: process.env['AWS_LAMBDA_LOG_STREAM_NAME'] ?? '',
    getRemainingTimeInMillis: () => Math.max(0, init.deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
  try {
    const result = await handler(message.event, context);
    // Lambda serialises the result as JSON; undefined becomes null.
    send({ type: 'result', id: message.id, ok: true, payload: JSON.stringify(result ?? null) });
  } catch (error) {
    console.error(
      JSON.stringify({
        level: 'ERROR',
        message: 'Invoke Error',
        requestId: init.awsRequestId,
        ...lambdaError(error),
      }),
    );
    send({ type: 'result', id: message.id, ok: false, error: lambdaError(error) });
  }
}

// The stack is gone (crashed or killed): a container without its runtime API ends too.
process.on('disconnect', () => process.exit(0));

try {
  const handler = await loadHandler();
  process.on('message', (message: InvokeMessage) => {
    if (message?.type === 'invoke') void invoke(handler, message);
  });
  send({ type: 'ready' });
} catch (error) {
  console.error(JSON.stringify({ level: 'ERROR', message: 'Init Error', ...lambdaError(error) }));
  send({ type: 'init-error', error: lambdaError(error) });
  process.disconnect?.();
  process.exitCode = 1;
}
