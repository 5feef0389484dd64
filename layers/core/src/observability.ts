import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Tracer } from '@aws-lambda-powertools/tracer';

export type { Logger } from '@aws-lambda-powertools/logger';

/** Metric namespace for every connector; one dimension set per connector and operation. */
const NAMESPACE = 'CircleCore';

/** Powertools' level names that a level setting may take, as its `LogLevelThreshold` knows them. */
const LEVEL_NAMES = new Set(['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT']);

/**
 * The level a Powertools logger built now without a level option would start at: Lambda's Advanced Logging
 * Controls level (`AWS_LAMBDA_LOG_LEVEL`, FATAL meaning CRITICAL) first, then `POWERTOOLS_LOG_LEVEL`, then
 * `LOG_LEVEL`, then INFO; values trimmed and taken only when valid, as Powertools takes them. Undefined when
 * debug sampling is configured (`POWERTOOLS_LOGGER_SAMPLE_RATE`): that level is drawn by the logger itself.
 */
function initialLogLevel(env: Record<string, string | undefined> = process.env): string | undefined {
  if ((env['POWERTOOLS_LOGGER_SAMPLE_RATE'] ?? '').trim() !== '') return undefined;
  const alc = (env['AWS_LAMBDA_LOG_LEVEL'] ?? '').trim();
  const alcLevel = alc === 'FATAL' ? 'CRITICAL' : alc;
  if (LEVEL_NAMES.has(alcLevel)) return alcLevel;
  const level = (env['POWERTOOLS_LOG_LEVEL'] ?? '').trim() || (env['LOG_LEVEL'] ?? '').trim();
  return LEVEL_NAMES.has(level) ? level : 'INFO';
}

/** The package that holds Powertools' logger, in the layer beside the core and in the repository. */
const POWERTOOLS_LOGGER_PACKAGE = '@aws-lambda-powertools/logger';

let loggerClass: typeof Logger | undefined;

/**
 * Powertools' `Logger` class, loaded synchronously on first use with `require`: outside the core's bundle
 * (the layer ships it as a CommonJS package of its own beside `@circle-core/core`), so a container whose
 * invocations write no line but the invocation line never compiles it (about 1.7 ms of a cold start). In
 * the repository the same `require` finds the core's dependency.
 */
function powertoolsLogger(): typeof Logger {
  loggerClass ??= (createRequire(import.meta.url)(POWERTOOLS_LOGGER_PACKAGE) as { Logger: typeof Logger })
    .Logger;
  return loggerClass;
}

/**
 * The connector's logger: Powertools JSON lines with the connector name (and version, when given) on every
 * line. Level from `POWERTOOLS_LOG_LEVEL` (default INFO), read when the logger is created.
 *
 * The Powertools logger behind it is loaded and built on its first real use (a line, a key, any other
 * method): a connector's invocations usually write no line but the invocation line, which is written by
 * hand ({@link InvocationLog}). Until then `addContext` only keeps the context (handed on when the logger
 * is built, cold start included) and `getLevelName` answers the level read at creation.
 *
 * @example
 * ```ts
 * const logger = createLogger('s3', '1.2.0');
 * logger.info('bucket ready', { bucket });
 * ```
 */
export function createLogger(connector: string, version?: string): Logger {
  const options =
    version === undefined
      ? { serviceName: connector }
      : { serviceName: connector, persistentKeys: { connectorVersion: version } };
  const logLevel = initialLogLevel();
  // With concurrent invocations (AWS_LAMBDA_MAX_CONCURRENCY) Powertools keeps each one's context apart in
  // the runtime's store: build it now, and let it write outside an invocation too.
  if ((process.env['AWS_LAMBDA_MAX_CONCURRENCY'] ?? '') !== '') {
    return outsideInvocationSafe(inAnyInvocation(() => new (powertoolsLogger())(options)));
  }
  // Debug sampling draws the level (and may log) as the logger is built: build it now, as before.
  if (logLevel === undefined) return new (powertoolsLogger())(options);
  return lazyLogger(
    () => new (powertoolsLogger())({ ...options, logLevel: logLevel as LogLevelOption }),
    logLevel,
  );
}

/** The Lambda runtime's per-invocation store (`@aws/lambda-invoke-store`) as the logger wrapper uses it. */
interface RuntimeStore {
  hasContext(): boolean;
  run<T>(context: Record<PropertyKey, unknown>, fn: () => T): T;
}

/**
 * Runs `fn` in an empty context of the Lambda runtime's per-invocation store when none is active (init, a
 * timer or a connection event of a connection opened at init); else, or without such a store, just runs it.
 * With `AWS_LAMBDA_MAX_CONCURRENCY` set Powertools' logger keeps its keys in that store and, outside any
 * context, throws "No context available" (`InvokeStoreMulti.set`,
 * https://github.com/awslabs/aws-lambda-invoke-store): a warning at init crashed the init, a line in an
 * event handler crashed the process. In the empty context the line is written without a request id.
 */
function inAnyInvocation<T>(fn: () => T): T {
  const store = (globalThis as { awslambda?: { InvokeStore?: Partial<RuntimeStore> } }).awslambda
    ?.InvokeStore;
  if (typeof store?.hasContext !== 'function' || typeof store.run !== 'function' || store.hasContext()) {
    return fn();
  }
  return (store as RuntimeStore).run({}, fn);
}

/**
 * Methods of Powertools' logger that need a context of the runtime's store and keep nothing there that
 * outlives the call: the lines, and the persistent keys (kept by the logger itself). `setLogLevel` and
 * `addContext` are left alone: outside an invocation the first sets the base level, as it should.
 */
const NEEDS_STORE_CONTEXT = new Set<PropertyKey>([
  'trace',
  'debug',
  'info',
  'warn',
  'error',
  'critical',
  'appendPersistentKeys',
  'removePersistentKeys',
]);

/**
 * The Powertools logger, its line and persistent-key methods run by {@link inAnyInvocation}: used only with
 * concurrent invocations (Lambda Managed Instances), so other containers pay nothing for it.
 */
function outsideInvocationSafe(logger: Logger): Logger {
  /** Methods bound to the logger (its private fields need `this` to be it), once each. */
  const methods = new Map<unknown, unknown>();
  return new Proxy(logger, {
    get: (target, key) => {
      const value: unknown = Reflect.get(target, key, target);
      if (typeof value !== 'function' || key === 'constructor') return value;
      let method = methods.get(value);
      if (method === undefined) {
        const call = value as (...args: unknown[]) => unknown;
        method = NEEDS_STORE_CONTEXT.has(key)
          ? (...args: unknown[]) => inAnyInvocation(() => call.apply(target, args))
          : call.bind(target);
        methods.set(value, method);
      }
      return method;
    },
  });
}

/** The `logLevel` option of Powertools' logger. */
type LogLevelOption = NonNullable<NonNullable<ConstructorParameters<typeof Logger>[0]>['logLevel']>;

/** The Lambda context a logger keeps (Powertools' `addContext` argument). */
type LoggerContext = Parameters<Logger['addContext']>[0];

/**
 * A logger that builds the Powertools logger `build` returns on first use and forwards everything to it;
 * `addContext` and `getLevelName` alone are answered without it. `build` takes the level read at creation
 * (`levelName`), so the logger starts where an eagerly built one would have.
 */
function lazyLogger(build: () => Logger, levelName: string): Logger {
  let real: Logger | undefined;
  /** Contexts added before the logger existed: the last one, and whether there were several (0, 1, 2+). */
  let context: LoggerContext | undefined;
  let contexts = 0;
  const realize = (): Logger => {
    if (real !== undefined) return real;
    const logger = build();
    real = logger;
    if (context !== undefined) {
      // The first addContext takes the cold start: with two or more before, the next line is not cold.
      if (contexts > 1) logger.addContext(context);
      logger.addContext(context);
      context = undefined;
    }
    return logger;
  };
  const addContext = (value: LoggerContext): void => {
    if (real !== undefined) {
      real.addContext(value);
      return;
    }
    context = value;
    if (contexts < 2) contexts += 1;
  };
  const getLevelName = (): ReturnType<Logger['getLevelName']> =>
    (real === undefined ? levelName : real.getLevelName()) as ReturnType<Logger['getLevelName']>;
  /** Methods of the built logger bound to it, once each (its private fields need `this` to be the logger). */
  const bound = new WeakMap<object, unknown>();
  const forward = (logger: Logger, key: PropertyKey): unknown => {
    const value: unknown = Reflect.get(logger, key, logger);
    // `constructor` stays the class itself (a bound copy would not be it).
    if (typeof value !== 'function' || key === 'constructor') return value;
    let method = bound.get(value);
    if (method === undefined) {
      method = (value as (...args: unknown[]) => unknown).bind(logger);
      bound.set(value, method);
    }
    return method;
  };
  return new Proxy({} as Logger, {
    get: (_target, key) => {
      if (key === 'addContext') return addContext;
      if (key === 'getLevelName') return getLevelName;
      return forward(realize(), key);
    },
    set: (_target, key, value) => Reflect.set(realize(), key, value),
    has: (_target, key) => Reflect.has(realize(), key),
    getPrototypeOf: () => Reflect.getPrototypeOf(realize()),
  });
}

/** One operation's outcome, as recorded by the runtime. */
export interface OperationSample {
  connector: string;
  operation: string;
  durationMs: number;
  failed: boolean;
  /** The operation's own numbers (`measures` in its definition), e.g. `{ inputTokens: 12 }`. */
  measures?: Record<string, number>;
}

/** Names the core's own metrics take, which an operation's measures may not reuse. */
const CORE_METRICS = new Set(['invocations', 'errors', 'latency', 'service', 'operation', '_aws']);

/** The Embedded Metric Format directive: the same for every operation of every connector. */
function emfDirective(): Record<string, unknown> {
  return {
    Namespace: process.env['POWERTOOLS_METRICS_NAMESPACE'] || NAMESPACE,
    Dimensions: [['service', 'operation']],
    Metrics: [
      { Name: 'invocations', Unit: 'Count' },
      { Name: 'errors', Unit: 'Count' },
      { Name: 'latency', Unit: 'Milliseconds' },
    ],
  };
}

/**
 * Set on `globalThis` (under a registered symbol, so every copy of this module in the process sees it: tests
 * that reset their module registry load a second one) once the core's own lines go through `process.stdout`.
 */
const THROUGH_STDOUT_STREAM = Symbol.for('circle-core.lines-through-stdout-stream');

/**
 * How the core's own lines (the invocation line, EMF documents) are written: straight to file descriptor 1
 * ({@link writeToStdoutFd}) until {@link linesThroughStdoutStream}, or a descriptor that cannot take a line,
 * sends them through `process.stdout` for the rest of the process.
 */
function writeStdout(text: string): void {
  if ((globalThis as Record<symbol, unknown>)[THROUGH_STDOUT_STREAM] === true) process.stdout.write(text);
  else writeToStdoutFd(text);
}

/**
 * Writes `text` to file descriptor 1 with write(2), as `process.stdout` does on Linux when the descriptor
 * takes the bytes at once. The stream itself is not needed for that, and opening it loads Node's stream
 * modules: about twenty built-ins compiled during the cold start whose first invocation writes its line
 * (8.4 million instructions of the bench's core variant, CHANGELOG 0.3.0). A short write goes on with the
 * rest. A descriptor that will not take the bytes now (EAGAIN: a non-blocking pipe that is full) or at all
 * hands the rest of this line, and every later line, to `process.stdout`, which queues them: no line is
 * lost, and lines keep their order from then on.
 */
function writeToStdoutFd(text: string): void {
  let bytes: Buffer | undefined;
  let written = 0;
  try {
    written = writeSync(1, text);
    if (written === Buffer.byteLength(text)) return;
    bytes = Buffer.from(text, 'utf8');
    while (written < bytes.length) written += writeSync(1, bytes, written);
  } catch {
    linesThroughStdoutStream();
    process.stdout.write(written === 0 ? text : (bytes ?? Buffer.from(text, 'utf8')).subarray(written));
  }
}

/**
 * Sends the core's own lines through `process.stdout.write` from now on, in this process (every copy of the
 * core in it): for tests and tools that read lines by replacing that function (`captureLogs` calls this).
 *
 * @example
 * ```ts
 * linesThroughStdoutStream();
 * process.stdout.write = capture; // now sees every invocation line
 * ```
 */
export function linesThroughStdoutStream(): void {
  (globalThis as Record<symbol, unknown>)[THROUGH_STDOUT_STREAM] = true;
}

/**
 * Collects operation outcomes during an invocation: count, errors and latency per connector and operation,
 * in CloudWatch Embedded Metric Format (CloudWatch turns a log line carrying `_aws` into metrics, no API
 * call). An SQS batch of ten records of one operation is one metric document, not ten.
 *
 * Written by hand rather than through Powertools Metrics: serialising one document there costs about 11 µs
 * per invocation, more than the rest of the core's hot path together (see bench/RESULTS.md).
 *
 * @example
 * ```ts
 * const metrics = new OperationMetrics();
 * metrics.record({ connector: 's3', operation: 'put-object', durationMs: 12, failed: false });
 * metrics.publish();
 * ```
 */
export class OperationMetrics {
  #samples: OperationSample[] = [];
  #directive: Record<string, unknown> | undefined;

  record(sample: OperationSample): void {
    this.#samples.push(sample);
  }

  /**
   * Takes the buffered samples and returns one EMF document per connector and operation (usually one),
   * each to be written on a log line. Empty when nothing was recorded.
   */
  drain(): Record<string, unknown>[] {
    const samples = this.#samples;
    if (samples.length === 0) return [];
    this.#samples = [];
    return this.documents(samples);
  }

  /**
   * The EMF documents of `samples`, one per connector and operation: for samples an invocation collected
   * itself (see `ExecutionMeta.samples`). With concurrent invocations in one worker thread (Lambda Managed
   * Instances) a buffer shared by the container would hand one invocation's outcomes to whichever
   * invocation drains it first.
   */
  documents(samples: readonly OperationSample[]): Record<string, unknown>[] {
    if (samples.length === 0) return [];
    this.#directive ??= emfDirective();
    const plain = this.#directive;
    const timestamp = Date.now();
    return groupByOperation(samples).map((group) => {
      const first = group[0] as OperationSample;
      // Microseconds are the clock's useful precision (as the line's durationMs); a shorter number also
      // serialises faster than the float noise of a difference of performance.now() readings.
      const latency = group.map((sample) => Math.round(sample.durationMs * 1000) / 1000);
      const measured = sumMeasures(group);
      const directive = measured === undefined ? plain : withMeasures(plain, Object.keys(measured));
      return {
        _aws: { Timestamp: timestamp, CloudWatchMetrics: [directive] },
        service: first.connector,
        operation: first.operation,
        invocations: group.length,
        errors: countFailed(group),
        latency: latency.length === 1 ? latency[0] : latency,
        ...measured,
      };
    });
  }

  /** Writes everything buffered as EMF lines of their own (library use, where no invocation line is written). */
  publish(): void {
    for (const document of this.drain()) writeStdout(`${JSON.stringify(document)}\n`);
  }
}

/** Samples grouped by connector and operation, in order of first appearance (usually a single group). */
function groupByOperation(samples: readonly OperationSample[]): (readonly OperationSample[])[] {
  const { connector, operation } = samples[0] as OperationSample;
  if (samples.every((sample) => sample.connector === connector && sample.operation === operation)) {
    return [samples];
  }
  const byOperation = new Map<string, OperationSample[]>();
  for (const sample of samples) {
    const key = `${sample.connector}\u0000${sample.operation}`;
    const group = byOperation.get(key);
    if (group === undefined) byOperation.set(key, [sample]);
    else group.push(sample);
  }
  return [...byOperation.values()];
}

function countFailed(group: readonly OperationSample[]): number {
  let failed = 0;
  for (const sample of group) if (sample.failed) failed += 1;
  return failed;
}

/** The measures of a group of samples added up per name; undefined when none has any. */
function sumMeasures(group: readonly OperationSample[]): Record<string, number> | undefined {
  let sums: Record<string, number> | undefined;
  for (const sample of group) {
    if (sample.measures === undefined) continue;
    for (const [name, value] of Object.entries(sample.measures)) {
      if (CORE_METRICS.has(name) || !Number.isFinite(value)) continue;
      sums ??= {};
      // Rounded to 1e-10: float noise in summed costs would otherwise show on every line.
      sums[name] = Math.round(((sums[name] ?? 0) + value) * 1e10) / 1e10;
    }
  }
  return sums;
}

/** The directive with the measures' names added as unitless metrics. */
function withMeasures(directive: Record<string, unknown>, names: string[]): Record<string, unknown> {
  const metrics = directive['Metrics'] as Record<string, unknown>[];
  return { ...directive, Metrics: [...metrics, ...names.map((name) => ({ Name: name, Unit: 'None' }))] };
}

/** `Root=1-5759e988-bd862e3fe1be46a994272793;Parent=...;Sampled=1` -> the root trace id. */
const TRACE_ROOT = /(?:^|;)Root=([^;]+)/;
const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR', 'CRITICAL', 'SILENT'];

/**
 * Writes the one line per invocation: the Powertools logger's JSON shape (level, message, timestamp,
 * service, cold start, function and request ids, X-Ray trace id) gated by that logger's level, with the
 * invocation's outcome and its metrics (EMF) on the same line. Hand-serialised because a Powertools log
 * line costs about 12 µs against 2.5 µs (bench/RESULTS.md); every other line goes through the logger.
 *
 * @example
 * ```ts
 * const log = new InvocationLog(logger, 's3', '1.0.0');
 * log.write('INFO', context, { operation: 'put-object', status: 200 }, metrics.drain());
 * ```
 */
export class InvocationLog {
  readonly #service: string;
  readonly #version: string;
  /** The logger's level, read once per container: asking Powertools on every line costs measurable time. */
  readonly #threshold: number;
  #coldStart = true;

  constructor(logger: Logger, service: string, version: string) {
    this.#service = service;
    this.#version = version;
    this.#threshold = LEVELS.indexOf(logger.getLevelName());
  }

  /**
   * Whether the invocation starting now is the first of this container (with Lambda Managed Instances, of
   * this worker thread): true once. Called as each invocation starts, so of concurrent invocations the one
   * that started first is the cold start, not the one that ended first.
   */
  starting(): boolean {
    const coldStart = this.#coldStart;
    this.#coldStart = false;
    return coldStart;
  }

  /**
   * Writes the invocation's line; `coldStart` is what {@link starting} answered when it started (left out,
   * the line takes the cold start if no invocation has yet).
   */
  write(
    level: 'INFO' | 'WARN',
    context: { functionName: string; awsRequestId: string },
    fields: Record<string, unknown>,
    metrics: Record<string, unknown>[],
    coldStart: boolean = this.starting(),
  ): void {
    const first = metrics[0];
    for (let i = 1; i < metrics.length; i += 1) writeStdout(`${JSON.stringify(metrics[i])}\n`);
    if (this.#threshold > LEVELS.indexOf(level)) {
      // The level drops the line; the metrics must not go with it.
      if (first !== undefined) writeStdout(`${JSON.stringify(first)}\n`);
      return;
    }
    const trace = invocationTraceHeader() ?? process.env['_X_AMZN_TRACE_ID'];
    const root = trace === undefined ? undefined : TRACE_ROOT.exec(trace)?.[1];
    const line: Record<string, unknown> = {
      level,
      message: 'invocation',
      timestamp: isoTimestamp(Date.now()),
      service: this.#service,
      connectorVersion: this.#version,
      cold_start: coldStart,
      function_name: context.functionName,
      function_request_id: context.awsRequestId,
    };
    if (root !== undefined) line['xray_trace_id'] = root;
    // The EMF directive is the same on every line: serialised once, then written as the line's last key.
    const aws = first?.['_aws'] as EmfMetadata | undefined;
    if (aws === undefined) {
      writeStdout(`${JSON.stringify(Object.assign(line, fields, first))}\n`);
      return;
    }
    const text = JSON.stringify(Object.assign(line, fields, first, { _aws: undefined }));
    writeStdout(`${text.slice(0, -1)},"_aws":${emfMetadataJson(aws)}}\n`);
  }
}

/** The Lambda runtime's per-invocation store (`@aws/lambda-invoke-store`), as far as the core reads it. */
interface InvokeStore {
  getXRayTraceId?(): string | undefined;
}

/**
 * The invocation's X-Ray trace header from the Lambda runtime's per-invocation store, when the runtime keeps
 * one. With Lambda Managed Instances several invocations run at once in one process, so the process-wide
 * `_X_AMZN_TRACE_ID` can hold another invocation's trace; Powertools reads the store first for the same
 * reason (`getXrayTraceDataFromEnv`, https://github.com/awslabs/aws-lambda-invoke-store).
 */
function invocationTraceHeader(): string | undefined {
  return (
    globalThis as { awslambda?: { InvokeStore?: InvokeStore } }
  ).awslambda?.InvokeStore?.getXRayTraceId?.();
}

/** The `_aws` member of an EMF document. */
interface EmfMetadata {
  Timestamp: number;
  CloudWatchMetrics: Record<string, unknown>[];
}

const directiveTexts = new WeakMap<object, string>();

/** `_aws` as JSON, each directive object serialised once (the plain directive is one object per container). */
function emfMetadataJson(aws: EmfMetadata): string {
  const directives = aws.CloudWatchMetrics.map((directive) => {
    let text = directiveTexts.get(directive);
    if (text === undefined) {
      text = JSON.stringify(directive);
      directiveTexts.set(directive, text);
    }
    return text;
  });
  return `{"Timestamp":${JSON.stringify(aws.Timestamp)},"CloudWatchMetrics":[${directives.join(',')}]}`;
}

let isoSecond = Number.NaN;
let isoPrefix = '';

/**
 * `new Date(epochMs).toISOString()`, with the part up to the second formatted once per second: a Date and
 * its formatting cost more than the rest of the line's header together.
 */
export function isoTimestamp(epochMs: number): string {
  const second = Math.floor(epochMs / 1000);
  if (second !== isoSecond) {
    const iso = new Date(epochMs).toISOString();
    // Outside years 0 to 9999 the format has a sign and six digits: no cache there.
    if (iso.length !== 24) return iso;
    isoSecond = second;
    isoPrefix = iso.slice(0, 20);
  }
  const ms = epochMs - second * 1000;
  return `${isoPrefix}${ms < 10 ? '00' : ms < 100 ? '0' : ''}${ms}Z`;
}

/**
 * Whether X-Ray tracing is switched on for this function (`POWERTOOLS_TRACE_ENABLED=true`, which
 * `serverless.yml` sets on stages with tracing).
 *
 * @example
 * ```ts
 * if (tracingEnabled()) logger.debug('tracing on');
 * ```
 */
export function tracingEnabled(env: Record<string, string | undefined> = process.env): boolean {
  return env['POWERTOOLS_TRACE_ENABLED'] === 'true';
}

let tracerPromise: Promise<Tracer | undefined> | undefined;

/**
 * The Powertools tracer, loaded only when tracing is on: importing the X-Ray SDK switches on async hooks
 * for the whole process, which costs every invocation even with tracing off.
 *
 * @example
 * ```ts
 * const tracer = await loadTracer('s3');
 * tracer?.putAnnotation('operation', 'put-object');
 * ```
 */
export function loadTracer(connector: string): Promise<Tracer | undefined> {
  if (!tracingEnabled()) return Promise.resolve(undefined);
  tracerPromise ??= import('@aws-lambda-powertools/tracer').then(
    ({ Tracer: TracerClass }) => new TracerClass({ serviceName: connector }),
  );
  return tracerPromise;
}

/**
 * Runs `fn` inside an X-Ray subsegment `## <connector>` annotated with the operation and cold start, when a
 * tracer is given (tracing on); otherwise just runs it. Lambda's own segment is a read-only facade, so
 * annotations must go on a subsegment of ours.
 *
 * @example
 * ```ts
 * const result = await traced(tracer, 's3', () => handle(event), (span) => span.annotate('operation', 'put-object'));
 * ```
 */
export async function traced<T>(
  tracer: Tracer | undefined,
  connector: string,
  fn: (annotate: (key: string, value: string) => void) => Promise<T>,
): Promise<T> {
  if (tracer === undefined) return fn(() => undefined);
  const parent = tracer.getSegment();
  const subsegment = parent?.addNewSubsegment(`## ${connector}`);
  if (subsegment === undefined) return fn(() => undefined);
  tracer.setSegment(subsegment);
  tracer.annotateColdStart();
  tracer.addServiceNameAnnotation();
  try {
    return await fn((key, value) => tracer.putAnnotation(key, value));
  } catch (error) {
    tracer.addErrorAsMetadata(error as Error);
    throw error;
  } finally {
    subsegment.close();
    tracer.setSegment(parent as NonNullable<typeof parent>);
  }
}

/**
 * Wraps an AWS SDK v3 client so its calls appear as X-Ray subsegments when tracing is on; a no-op otherwise.
 *
 * @example
 * ```ts
 * const s3 = await traceAwsClient(new S3Client({}), 's3');
 * ```
 */
export async function traceAwsClient<T>(client: T, connector: string): Promise<T> {
  const tracer = await loadTracer(connector);
  return tracer === undefined ? client : tracer.captureAWSv3Client(client);
}
