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

/**
 * Records one operation's outcome: count, errors and latency, dimensioned by connector and operation,
 * as one Embedded Metric Format line (CloudWatch turns it into metrics without an API call).
 *
 * @example
 * ```ts
 * recordOperation({ connector: 's3', operation: 'put-object', durationMs: 12, failed: false });
 * ```
 */
export function recordOperation(sample: {
  connector: string;
  operation: string;
  durationMs: number;
  failed: boolean;
}): void {
  // Synchronous from first add to publish, so records processed concurrently never mix dimensions.
  const metrics = metricsFor(sample.connector);
  metrics.addDimension('operation', sample.operation);
  metrics.addMetric('invocations', MetricUnit.Count, 1);
  metrics.addMetric('errors', MetricUnit.Count, sample.failed ? 1 : 0);
  metrics.addMetric('latency', MetricUnit.Milliseconds, sample.durationMs);
  metrics.publishStoredMetrics();
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
