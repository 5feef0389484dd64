/**
 * Response streaming for HTTP callers, once for every connector: an operation that produces its answer
 * piece by piece (a model's tokens) is served through a Lambda function URL with
 * `InvokeMode: RESPONSE_STREAM`, the handler wrapped with `awslambda.streamifyResponse`, and the caller gets
 * `text/event-stream`: one Server-Sent Events frame per piece as it is produced (`event: <type>` and
 * `data: <JSON>`), an `error` frame when the producer fails after its first frame (the status line is
 * already sent by then), and nothing after the time budget: the stream ends with a `TimeoutError` frame
 * before Lambda would cut it. The status line and headers go only with the first frame: a request refused
 * before it (bad input, unknown operation, a spent budget, the provider's own refusal such as an unknown
 * model, a producer that has sent nothing by the deadline) is an ordinary RFC 9457 problem with its status,
 * as the connector's usual handler answers it. Queue and Step Functions callers never come here: they get
 * the whole answer from the connector's usual handler.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import type * as z from 'zod';
import { monotonicMs } from '../clock.ts';
import { withInvocation } from '../context.ts';
import { NotFoundError, TimeoutError, toConnectorError, toProblem } from '../errors.ts';
import { createLogger, InvocationLog, OperationMetrics } from '../observability.ts';
import { containerWarmed } from '../schema-parse.ts';
import { maxBodyBytes, problemResponse, readJsonText } from './http-adapter.ts';
import { parseInput } from './runtime.ts';

/** One frame of a stream: its SSE event name and its JSON data. */
export interface StreamEvent {
  event: string;
  data: unknown;
}

/** What a stream operation is given besides its input. */
export interface StreamContext {
  correlationId: string;
  /** Epoch milliseconds the stream must have ended by (the invocation's deadline less a margin). */
  deadline: number;
  /** Aborted when the deadline passes or the caller goes away: pass it to the provider call. */
  signal: AbortSignal;
  /**
   * Records the operation's own numbers (tokens, cost), as `measures` does for an ordinary operation: they
   * go in the invocation line and its EMF metrics when the stream ends.
   */
  measure(values: Record<string, number>): void;
}

/** A streamed operation: validated input in, frames out. */
export interface StreamOperation<I extends z.ZodType = z.ZodType> {
  input: I;
  /**
   * Checks run before the status line is sent (a budget spent): a failure here is an ordinary problem with
   * its status (a 429), not an error frame after a 200.
   */
  admit?(input: z.output<I>): Promise<void>;
  run(input: z.output<I>, context: StreamContext): AsyncIterable<StreamEvent>;
}

/** How a stream ended. */
export interface StreamOutcome {
  frames: number;
  /** Set when the stream ended with an error frame. */
  error?: { name: string; code: string };
}

/** The margin kept before the invocation's deadline to send the timeout frame and end the stream. */
export const STREAM_DEADLINE_MARGIN_MS = 1_000;

/**
 * One Server-Sent Events frame. JSON text has no raw line breaks, so `data` is one line.
 *
 * @example
 * ```ts
 * sseFrame('delta', { text: 'Hel' }); // 'event: delta\ndata: {"text":"Hel"}\n\n'
 * ```
 */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event.replace(/[\r\n]/g, '')}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The status and headers of a stream, for `awslambda.HttpResponseStream.from`.
 *
 * @example
 * ```ts
 * const out = awslambda.HttpResponseStream.from(responseStream, eventStreamHead(correlationId));
 * ```
 */
export function eventStreamHead(correlationId: string): {
  statusCode: number;
  headers: Record<string, string>;
} {
  return {
    statusCode: 200,
    headers: {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'x-correlation-id': correlationId,
    },
  };
}

async function write(target: Writable, text: string): Promise<void> {
  if (target.destroyed) throw new Error('the caller went away');
  if (!target.write(text)) await once(target, 'drain');
}

/** The error frame's data: the problem without internals, and the correlation id. */
function errorData(error: unknown, correlationId: string): Record<string, unknown> {
  const err = toConnectorError(error);
  return { error: { name: err.name, ...toProblem(err) }, correlationId };
}

/** Settles `'expired'` at `deadline` (epoch ms) unless cleared first. */
function expiry(deadline: number): { expired: Promise<'expired'>; clear(): void } {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<'expired'>((resolve) => {
    timer = setTimeout(() => resolve('expired'), Math.max(0, deadline - Date.now()));
  });
  return { expired, clear: () => clearTimeout(timer) };
}

/**
 * The producer's next frame, or `'expired'` when `expired` settles first: the producer is then stopped
 * (`controller` aborted, its iterator returned; the frame it was making is never sent).
 */
async function nextBefore(
  iterator: AsyncIterator<StreamEvent>,
  expired: Promise<'expired'>,
  controller: AbortController | undefined,
): Promise<IteratorResult<StreamEvent> | 'expired'> {
  const next = await Promise.race([iterator.next(), expired]);
  if (next === 'expired') {
    controller?.abort(new TimeoutError('The stream ran out of time'));
    void iterator.return?.().catch(() => undefined);
  }
  return next;
}

/**
 * `iterator` again, its `first` result (already read) ahead of the rest; `return` goes to `iterator` at
 * once, as it would without the wrapper.
 */
function resumed(
  first: IteratorResult<StreamEvent>,
  iterator: AsyncIterator<StreamEvent>,
): AsyncIterable<StreamEvent> {
  let pending: IteratorResult<StreamEvent> | undefined = first;
  const rest: AsyncIterator<StreamEvent> = {
    next: () => {
      const result = pending;
      pending = undefined;
      return result === undefined ? iterator.next() : Promise.resolve(result);
    },
    return: (value?: unknown) =>
      iterator.return?.(value) ?? Promise.resolve({ done: true as const, value: undefined }),
  };
  return { [Symbol.asyncIterator]: () => rest };
}

/**
 * Writes `events` to `target` as SSE frames, each as soon as it is produced (waiting for the target to
 * drain, so a slow reader slows the producer instead of filling memory). A producer failure becomes an
 * `error` frame; at the deadline the producer is stopped (its signal aborted, its iterator returned) and a
 * `TimeoutError` frame ends the stream. The target is always ended.
 *
 * @example
 * ```ts
 * await writeEventStream(responseStream, frames(), { correlationId, deadline, controller });
 * ```
 */
export async function writeEventStream(
  target: Writable,
  events: AsyncIterable<StreamEvent>,
  options: { correlationId: string; deadline: number; controller?: AbortController },
): Promise<StreamOutcome> {
  const iterator = events[Symbol.asyncIterator]();
  let frames = 0;
  const timer = expiry(options.deadline);
  let failure: unknown;
  try {
    for (;;) {
      const next = await nextBefore(iterator, timer.expired, options.controller);
      if (next === 'expired') {
        failure = new TimeoutError('The stream ran out of its time budget and was ended');
        break;
      }
      if (next.done === true) break;
      await write(target, sseFrame(next.value.event, next.value.data));
      frames += 1;
    }
  } catch (error) {
    failure = error;
  } finally {
    timer.clear();
  }
  let outcome: StreamOutcome = { frames };
  if (failure !== undefined) {
    const err = toConnectorError(failure);
    outcome = { frames, error: { name: err.name, code: err.code } };
    if (!target.destroyed) {
      await write(target, sseFrame('error', errorData(err, options.correlationId))).catch(() => undefined);
    }
  }
  if (!target.destroyed) target.end();
  return outcome;
}

/** The Lambda runtime's streaming hooks (a global there; the local stack and tests provide their own). */
export interface StreamingRuntime {
  streamifyResponse<E>(
    handler: (event: E, responseStream: Writable, context: Context) => Promise<void>,
  ): unknown;
  HttpResponseStream: {
    from(stream: Writable, metadata: { statusCode: number; headers: Record<string, string> }): Writable;
  };
}

function streamingRuntime(): StreamingRuntime | undefined {
  return (globalThis as { awslambda?: StreamingRuntime }).awslambda;
}

function header(event: APIGatewayProxyEventV2, name: string): string | undefined {
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

/**
 * Starts the producer and opens the stream (`open`: the status line and headers) only once its first frame
 * is ready, then writes that frame and the rest as {@link writeEventStream} does. Until then a failure (the
 * provider refusing the request, nothing by the deadline) is answered as `refused`, for the caller to send
 * as an ordinary problem: a 200 sent before the provider has answered would tell the caller otherwise.
 */
async function streamFromFirstFrame(
  produce: () => AsyncIterable<StreamEvent>,
  open: () => Writable,
  options: { correlationId: string; deadline: number; controller: AbortController },
): Promise<StreamOutcome | { refused: unknown }> {
  const timer = expiry(options.deadline);
  let iterator: AsyncIterator<StreamEvent>;
  let first: IteratorResult<StreamEvent> | 'expired';
  try {
    iterator = produce()[Symbol.asyncIterator]();
    first = await nextBefore(iterator, timer.expired, options.controller);
  } catch (error) {
    return { refused: error };
  } finally {
    timer.clear();
  }
  if (first === 'expired') {
    return { refused: new TimeoutError('The stream ran out of its time budget before its first frame') };
  }
  return writeEventStream(open(), resumed(first, iterator), options);
}

/**
 * The connector's usual problem answer (status, Retry-After of a 429) in place of a stream, noted on the
 * invocation line; nothing is sent to a caller that went away.
 */
function answerProblem(
  runtime: StreamingRuntime,
  responseStream: Writable,
  error: unknown,
  invocation: { correlationId: string; line: Record<string, unknown> },
): void {
  const err = toConnectorError(error);
  const answer = problemResponse(err, invocation.correlationId);
  Object.assign(invocation.line, {
    status: answer.statusCode,
    errorName: err.name,
    errorCode: err.code,
    error: err.message,
  });
  if (responseStream.destroyed) return;
  const head = { statusCode: answer.statusCode ?? 500, headers: answer.headers as Record<string, string> };
  runtime.HttpResponseStream.from(responseStream, head).end(answer.body);
}

/** The stream operation `POST /<operation>` (or `POST /<connector>/<operation>`) names; else a 404. */
function routedOperation(
  name: string,
  operations: Record<string, StreamOperation>,
  event: APIGatewayProxyEventV2,
): { operationName: string; operation: StreamOperation } {
  const segments = (event.rawPath ?? '/').split('/').filter((segment) => segment !== '');
  const operationName = segments.length === 2 && segments[0] === name ? segments[1] : segments[0];
  const operation = operationName === undefined ? undefined : operations[operationName];
  if (
    operationName === undefined ||
    operation === undefined ||
    event.requestContext?.http?.method?.toUpperCase() !== 'POST'
  ) {
    throw new NotFoundError(`No stream operation POST ${(event.rawPath ?? '/').slice(0, 128)}`);
  }
  return { operationName, operation };
}

/** What {@link streamingHandler} is told about the connector it serves. */
export interface StreamingHandlerOptions {
  /** The connector's version, on the invocation line (as the connector's usual handler writes it). */
  version?: string;
}

/**
 * A function URL handler (payload 2.0, `InvokeMode: RESPONSE_STREAM`) serving the named stream operations
 * at `POST /<operation>` (or `POST /<connector>/<operation>`): the body is validated against the
 * operation's input (and the operation's `admit` check run), then the producer started; the status line
 * and headers go with its first frame, and the frames stream from there. A failure before the first frame
 * (the input, `admit`, the provider refusing the request, nothing by the deadline) is the problem answer
 * with its status; after it, an `error` frame. Every invocation writes the connector's invocation line
 * (trigger `stream`, operation, status, frames, the error of an error frame, the operation's measures) with
 * its EMF metrics, as the usual handler does. Wrapped with the runtime's `awslambda.streamifyResponse`;
 * `runtime` replaces the global (the local stack, tests).
 *
 * @example
 * ```ts
 * export const streamHandler = streamingHandler('openai', { 'chat-stream': { input: ChatInput, run: streamChat } });
 * ```
 */
export function streamingHandler(
  name: string,
  operations: Record<string, StreamOperation>,
  runtime: StreamingRuntime | undefined = streamingRuntime(),
  options: StreamingHandlerOptions = {},
): unknown {
  if (typeof runtime?.streamifyResponse !== 'function') {
    throw new Error('Lambda response streaming (awslambda.streamifyResponse) is not available here');
  }
  const version = options.version ?? '0.0.0';
  const metrics = new OperationMetrics();
  const invocationLog = new InvocationLog(createLogger(name, version), name, version);
  const serve = async (event: APIGatewayProxyEventV2, responseStream: Writable, context: Context) => {
    const started = monotonicMs();
    // As the invocation starts: of concurrent invocations (Lambda Managed Instances) the first started is cold.
    const coldStart = invocationLog.starting();
    const correlationId = header(event, 'x-correlation-id') ?? context.awsRequestId;
    const line: Record<string, unknown> = { trigger: 'stream', correlationId };
    let measures: Record<string, number> | undefined;
    let failed = true;
    let operationName: string | undefined;
    try {
      const outcome = await stream(event, responseStream, context, correlationId, line, (values) => {
        measures = { ...measures, ...values };
      });
      operationName = outcome;
      failed = line['errorCode'] !== undefined;
    } finally {
      line['durationMs'] = Math.round((monotonicMs() - started) * 1000) / 1000;
      if (operationName !== undefined) {
        metrics.record({
          connector: name,
          operation: operationName,
          durationMs: monotonicMs() - started,
          failed,
          ...(measures === undefined ? {} : { measures }),
        });
      }
      // Recorded and drained with no await between: the buffer holds this invocation's sample alone.
      invocationLog.write(failed ? 'WARN' : 'INFO', context, line, metrics.drain(), coldStart);
      containerWarmed();
    }
  };
  /** Serves one request; answers the operation's name when one was found (for the metrics). */
  const stream = async (
    event: APIGatewayProxyEventV2,
    responseStream: Writable,
    context: Context,
    correlationId: string,
    line: Record<string, unknown>,
    measure: (values: Record<string, number>) => void,
  ): Promise<string | undefined> => {
    const deadline = Date.now() + context.getRemainingTimeInMillis() - STREAM_DEADLINE_MARGIN_MS;
    // The invocation's scope, as the connector's usual handler sets it: the core's HTTP and AWS clients
    // read the time left (attempt timeouts, a streamed body's deadline) and the correlation id from it.
    const scope = { deadline: Date.now() + context.getRemainingTimeInMillis(), correlationId };
    let input: unknown;
    let found: { operationName: string; operation: StreamOperation } | undefined;
    const refuse = (error: unknown) => answerProblem(runtime, responseStream, error, { correlationId, line });
    try {
      found = routedOperation(name, operations, event);
      line['operation'] = found.operationName;
      const admitted = found.operation;
      input = parseInput(admitted.input, readJsonText(event, maxBodyBytes(operations)));
      if (admitted.admit !== undefined) await withInvocation(scope, () => admitted.admit?.(input));
    } catch (error) {
      refuse(error);
      return found?.operationName;
    }
    const { operationName, operation } = found;
    const controller = new AbortController();
    responseStream.once('close', () => controller.abort(new Error('the caller went away')));
    const context2 = { correlationId, deadline, signal: controller.signal, measure };
    const outcome = await withInvocation(scope, () =>
      streamFromFirstFrame(
        () => operation.run(input, context2),
        () => runtime.HttpResponseStream.from(responseStream, eventStreamHead(correlationId)),
        { correlationId, deadline, controller },
      ),
    );
    if ('refused' in outcome) {
      refuse(outcome.refused);
      return operationName;
    }
    Object.assign(line, { status: 200, frames: outcome.frames });
    if (outcome.error !== undefined) {
      Object.assign(line, { errorName: outcome.error.name, errorCode: outcome.error.code });
    }
    return operationName;
  };
  return runtime.streamifyResponse(serve);
}
