import middy from '@middy/core';
import type { APIGatewayProxyEventV2, Context, SQSEvent } from 'aws-lambda';
import type * as z from 'zod';
import { monotonicMs } from '../clock.ts';
import type { ConfigSchema } from '../config.ts';
import { withInvocation } from '../context.ts';
import { stepFunctionsErrorName, toConnectorError } from '../errors.ts';
import { InvocationLog, loadTracer, type OperationSample, traced, tracingEnabled } from '../observability.ts';
import { containerWarmed } from '../schema-parse.ts';
import { correlationIdFrom, parseEnvelope } from './envelope.ts';
import { handleHttp, headerValue } from './http-adapter.ts';
import { assertResponseFits, responseLimit, serialisedBytes } from './limits.ts';
import { handleQueue } from './queue-adapter.ts';
import { ConnectorRuntime } from './runtime.ts';
import type { AnyOperation, ConnectorDefinition, NoServices, SecretNames, Trigger } from './types.ts';

/** The Lambda handler every connector exports: one function serving every trigger. */
export type ConnectorHandler = (event: unknown, context: Context) => Promise<unknown>;

/** A defined connector: its handler, and the same operations for library use and tooling. */
export interface Connector<S extends ConfigSchema, Client, Ops extends string, Services = NoServices> {
  readonly name: string;
  readonly version: string;
  /** The Lambda handler for API Gateway, SQS, EventBridge schedules, Step Functions and direct invokes. */
  readonly handler: ConnectorHandler;
  /** Per-container state: config, client and services, operations, routes. */
  readonly runtime: ConnectorRuntime<S, Client, Services>;
  /** Builds the client (prefetching secrets) during init; the deployed entry awaits it at top level. */
  prepare(): Promise<void>;
  /** Runs an operation outside Lambda (scripts, other services), with the same validation. */
  run(
    operation: Ops | 'health',
    input: unknown,
    options?: { correlationId?: string; idempotencyKey?: string },
  ): Promise<unknown>;
}

type EventKind = 'http' | 'sqs' | 'request';

const ignoreAnnotation = (): void => undefined;

function kindOf(event: unknown): EventKind {
  const candidate = event as { version?: unknown; requestContext?: { http?: unknown }; Records?: unknown };
  if (candidate?.version === '2.0' && candidate.requestContext?.http !== undefined) return 'http';
  if (Array.isArray(candidate?.Records)) return 'sqs';
  return 'request';
}

/**
 * Declares a connector once and gets one Lambda handler that serves HTTP (API Gateway HTTP API v2), SQS
 * batches, EventBridge schedules, Step Functions tasks and direct invokes. Config is validated at cold
 * start, input at the boundary; every invocation writes one log line with its correlation id and records
 * count, errors and latency per operation.
 *
 * @example
 * ```ts
 * export const connector = defineConnector({
 *   name: 'echo', version: '1.0.0', config: z.object({}), setup: { client: () => ({}) },
 *   operations: (op) => ({
 *     'echo-text': op({
 *       description: 'Returns the text it was given',
 *       input: z.object({ text: z.string() }), output: z.object({ text: z.string() }),
 *       run: async ({ text }) => ({ text }),
 *     }),
 *   }),
 * });
 * export const handler = connector.handler;
 * ```
 */
export function defineConnector<
  S extends ConfigSchema,
  Client,
  Ops extends Record<string, AnyOperation<z.output<S>, Client, Services>>,
  Services = NoServices,
  N extends SecretNames = SecretNames,
>(
  definition: ConnectorDefinition<S, Client, Ops, Services, N>,
): Connector<S, Client, Extract<keyof Ops, string>, Services> {
  const runtime = new ConnectorRuntime<S, Client, Services>(definition);
  const { logger } = runtime;

  const invocationLog = new InvocationLog(logger, runtime.name, runtime.version);
  // Read once per container: a tracer is loaded (and the X-Ray SDK's async hooks switched on) only when on.
  const tracing = tracingEnabled();

  // Everything an invocation writes during its run is its own (line, samples, cold start), never the
  // runtime's: Lambda Managed Instances runs many invocations at once in one worker thread, sharing every
  // module-level and container-level value (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html).
  const dispatch = async (event: unknown, context: Context): Promise<unknown> => {
    const started = monotonicMs();
    // Taken as the invocation starts: with concurrent invocations the first to start is the cold one.
    const coldStart = invocationLog.starting();
    const deadline = Date.now() + context.getRemainingTimeInMillis();
    const line: Record<string, unknown> = { trigger: kindOf(event) };
    // This invocation's metric samples (one array per invocation, filled by runtime.execute).
    const samples: OperationSample[] = [];
    const tracer = tracing ? await loadTracer(runtime.name) : undefined;
    try {
      // Without a tracer, no wrapper around the route (one promise fewer per invocation).
      return await (tracer === undefined
        ? route(event, context, deadline, line, samples, ignoreAnnotation)
        : traced(tracer, runtime.name, (annotate) =>
            route(event, context, deadline, line, samples, annotate),
          ));
    } finally {
      line['durationMs'] = Math.round((monotonicMs() - started) * 1000) / 1000;
      const failed = line['errorCode'] !== undefined || (line['failed'] as number) > 0;
      const documents = runtime.metrics.documents(samples);
      invocationLog.write(failed ? 'WARN' : 'INFO', context, line, documents, coldStart);
      containerWarmed();
    }
  };

  const route = async (
    event: unknown,
    context: Context,
    deadline: number,
    line: Record<string, unknown>,
    samples: OperationSample[],
    annotate: (key: string, value: string) => void,
  ): Promise<unknown> => {
    const kind = line['trigger'];
    if (kind === 'http') {
      const http = event as APIGatewayProxyEventV2;
      const correlationId =
        correlationIdFrom(headerValue(http, 'x-correlation-id')) ?? http.requestContext.requestId;
      const outcome = await withInvocation({ deadline, correlationId }, () =>
        handleHttp(runtime, http, correlationId, samples),
      );
      Object.assign(line, {
        correlationId,
        operation: outcome.operation,
        status: outcome.response.statusCode,
      });
      annotate('operation', outcome.operation);
      if (outcome.error !== undefined) describeFailure(line, outcome.error);
      return outcome.response;
    }
    if (kind === 'sqs') {
      const outcome = await handleQueue(runtime, event as SQSEvent, deadline, context.awsRequestId, samples);
      line['correlationId'] = context.awsRequestId;
      line['records'] = outcome.records;
      line['failed'] = outcome.failed;
      return outcome.response;
    }
    try {
      return await runRequest(event, context, deadline, line, samples);
    } finally {
      if (typeof line['operation'] === 'string') annotate('operation', line['operation']);
    }
  };

  const runRequest = async (
    event: unknown,
    context: Context,
    deadline: number,
    line: Record<string, unknown>,
    samples: OperationSample[],
  ): Promise<unknown> => {
    const raw = event as { trigger?: unknown };
    const trigger: Trigger =
      raw?.trigger === 'schedule' ? 'schedule' : raw?.trigger === 'task' ? 'task' : 'direct';
    line['trigger'] = trigger;
    let correlationId = context.awsRequestId;
    try {
      const request = parseEnvelope(event);
      correlationId = correlationIdFrom(request.correlationId) ?? correlationId;
      Object.assign(line, { correlationId, operation: request.operation });
      const meta = { trigger, correlationId, idempotencyKey: request.idempotencyKey, samples };
      const output = await withInvocation({ deadline, correlationId }, () =>
        runtime.execute(request.operation, request.input, meta),
      );
      if (responseLimit(trigger) !== undefined) {
        assertResponseFits(request.operation, trigger, serialisedBytes(output));
      }
      return output;
    } catch (error) {
      line['correlationId'] = correlationId;
      const err = toConnectorError(error);
      describeFailure(line, err);
      // Step Functions matches `Retry`/`Catch` on the error name, so it must be the taxonomy's stable name.
      const failure = new Error(err.expose ? err.message : 'Internal error');
      failure.name = stepFunctionsErrorName(err);
      throw failure;
    }
  };

  const describeFailure = (
    line: Record<string, unknown>,
    error: ReturnType<typeof toConnectorError>,
  ): void => {
    Object.assign(line, { errorName: error.name, errorCode: error.code, error: error.message });
    if (!error.expose && error.cause instanceof Error) {
      // Internals go to the log only, never to the caller.
      line['cause'] = { name: error.cause.name, message: error.cause.message };
    }
  };

  // No middy early-timeout timer: outbound calls already stop at the Lambda deadline (the HTTP client keeps a
  // safety margin), and a timer plus AbortController per invocation is measurable on the hot path.
  // A named hook (middy style) so stack traces say where they are: operations' own log lines get the context.
  const loggerContextBefore = (request: { context: Context }): void => {
    logger.addContext(request.context);
  };
  const handler = middy<unknown, unknown, Error, Context>({ timeoutEarlyInMillis: 0 })
    .use({ before: loggerContextBefore })
    .handler(dispatch);

  return {
    name: runtime.name,
    version: runtime.version,
    handler: (event, context) => handler(event, context),
    runtime,
    prepare: async () => {
      try {
        await runtime.built();
      } catch (error) {
        // Init must not crash the container: invocations answer the error and retry setup.
        logger.error('Connector setup failed during init', { error: toConnectorError(error).message });
      }
    },
    run: (operation, input, options = {}) =>
      runtime
        .execute(operation, input, {
          trigger: 'direct',
          correlationId: correlationIdFrom(options.correlationId) ?? crypto.randomUUID(),
          idempotencyKey: options.idempotencyKey,
        })
        .finally(() => runtime.metrics.publish()),
  };
}
