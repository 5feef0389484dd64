/**
 * The local Lambda runtime, one child process per function: loads the built handler from the task root
 * (the current folder, like `/var/task`) with the layer and the runtime's SDK on its resolution path, then
 * runs each invocation the stack sends over IPC and answers the result or the error in Lambda's shape.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { finished, Writable } from 'node:stream';
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

type Handler = (event: unknown, context: unknown, responseStream?: unknown) => unknown;

/** Marks a handler wrapped by `awslambda.streamifyResponse`: it gets (event, responseStream, context). */
const STREAMING = Symbol('circle-core.local.streaming');
/** What ends the JSON prelude `HttpResponseStream.from` writes before the body: 8 NUL bytes, as in Lambda. */
const PRELUDE_END = Buffer.alloc(8);

/**
 * The Lambda Node.js runtime's `awslambda` global, for response streaming: `streamifyResponse` marks the
 * handler as a streaming one (the runtime then passes it a writable response stream), and
 * `HttpResponseStream.from` writes the status and headers as a JSON prelude ended by 8 NUL bytes before the
 * body, the framing the runtime sends to a function URL. Every chunk written goes to the stack at once
 * (`chunk` messages), which writes it to the caller as it comes.
 */
(globalThis as { awslambda?: unknown }).awslambda = {
  streamifyResponse(handler: (event: unknown, stream: Writable, context: unknown) => Promise<void>) {
    return Object.assign(
      (event: unknown, context: unknown, stream: Writable) => handler(event, stream, context),
      { [STREAMING]: true },
    );
  },
  HttpResponseStream: {
    from(stream: Writable, metadata: { statusCode?: number; headers?: Record<string, string> }): Writable {
      stream.write(JSON.stringify(metadata));
      stream.write(PRELUDE_END);
      return stream;
    },
  },
};

/** The response stream of one streaming invocation: each write is one `chunk` message to the stack. */
function responseStream(id: string): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, callback) {
      // The callback waits for the message to be handed to the channel: a slow stack slows the writer.
      process.send?.({ type: 'chunk', id, data: chunk.toString('base64') }, undefined, undefined, (error) =>
        callback(error ?? null),
      );
    },
  });
}

/** Streaming invocations in flight, so a caller that went away can end theirs. */
const streams = new Map<string, Writable>();

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
    if ((handler as { [STREAMING]?: boolean })[STREAMING] === true) {
      const stream = responseStream(message.id);
      streams.set(message.id, stream);
      try {
        await handler(message.event, context, stream);
        if (!stream.writableEnded && !stream.destroyed) stream.end();
        await new Promise<void>((resolve) => finished(stream, () => resolve()));
      } finally {
        streams.delete(message.id);
      }
      send({ type: 'result', id: message.id, ok: true, payload: 'null' });
      return;
    }
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
  process.on('message', (message: InvokeMessage | { type: 'abort'; id: string }) => {
    if (message?.type === 'invoke') void invoke(handler, message);
    // The caller of a streaming invocation went away: its stream closes, as the runtime's does.
    else if (message?.type === 'abort') streams.get(message.id)?.destroy();
  });
  send({ type: 'ready' });
} catch (error) {
  console.error(JSON.stringify({ level: 'ERROR', message: 'Init Error', ...lambdaError(error) }));
  send({ type: 'init-error', error: lambdaError(error) });
  process.disconnect?.();
  process.exitCode = 1;
}
