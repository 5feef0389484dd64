import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';

export type { Logger } from '@aws-lambda-powertools/logger';

/** Metric namespace for every connector; one dimension set per connector and operation. */
const NAMESPACE = 'CircleCore';

/**
 * The connector's logger: Powertools JSON lines with the connector name and version on every line.
 * Level from `POWERTOOLS_LOG_LEVEL` (default INFO).
 *
 * @example
 * ```ts
 * const logger = createLogger('s3', '1.2.0');
 * logger.info('bucket ready', { bucket });
 * ```
 */
export function createLogger(connector: string, version: string): Logger {
  return new Logger({ serviceName: connector, persistentKeys: { connectorVersion: version } });
}

/** One operation's outcome, as recorded by the runtime. */
export interface OperationSample {
  connector: string;
  operation: string;
  durationMs: number;
  failed: boolean;
}

/**
 * Collects operation outcomes during an invocation and publishes them once at its end: count, errors and
 * latency per connector and operation, one Embedded Metric Format line per operation (CloudWatch turns it
 * into metrics without an API call). An SQS batch of ten records of one operation is one line, not ten.
 *
 * @example
 * ```ts
 * const metrics = new OperationMetrics();
 * metrics.record({ connector: 's3', operation: 'put-object', durationMs: 12, failed: false });
 * metrics.publish();
 * ```
 */
export class OperationMetrics {
  readonly #samples: OperationSample[] = [];

  record(sample: OperationSample): void {
    this.#samples.push(sample);
  }

  /**
   * Takes the buffered samples and returns the first operation's metrics as EMF keys, to be embedded in the
   * invocation's own log line (one line carries both); any other operation's metrics are published as lines
   * of their own. Undefined when nothing was recorded.
   */
  drain(): Record<string, unknown> | undefined {
    if (this.#samples.length === 0) return undefined;
    const byOperation = new Map<string, OperationSample[]>();
    for (const sample of this.#samples) {
      const key = `${sample.connector}\u0000${sample.operation}`;
      const group = byOperation.get(key);
      if (group === undefined) byOperation.set(key, [sample]);
      else group.push(sample);
    }
    this.#samples.length = 0;
    let embedded: Record<string, unknown> | undefined;
    for (const group of byOperation.values()) {
      const first = group[0] as OperationSample;
      // Synchronous from first add to serialise, so nothing else can mix its dimensions in.
      const metrics = metricsFor(first.connector);
      metrics.addDimension('operation', first.operation);
      metrics.addMetric('invocations', MetricUnit.Count, group.length);
      metrics.addMetric('errors', MetricUnit.Count, group.filter((sample) => sample.failed).length);
      for (const sample of group) metrics.addMetric('latency', MetricUnit.Milliseconds, sample.durationMs);
      if (embedded === undefined) {
        embedded = metrics.serializeMetrics() as unknown as Record<string, unknown>;
        metrics.clearMetrics();
        metrics.clearDimensions();
      } else {
        metrics.publishStoredMetrics();
      }
    }
    return embedded;
  }

  /** Publishes everything buffered as EMF lines of their own (library use, where no invocation line is written). */
  publish(): void {
    const embedded = this.drain();
    if (embedded !== undefined) process.stdout.write(`${JSON.stringify(embedded)}\n`);
  }
}

const metricsByConnector = new Map<string, Metrics>();
function metricsFor(connector: string): Metrics {
  let metrics = metricsByConnector.get(connector);
  if (metrics === undefined) {
    metrics = new Metrics({
      namespace: process.env['POWERTOOLS_METRICS_NAMESPACE'] ?? NAMESPACE,
      serviceName: connector,
    });
    metrics.setThrowOnEmptyMetrics(false);
    metricsByConnector.set(connector, metrics);
  }
  return metrics;
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
