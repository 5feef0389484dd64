/**
 * What the benchmark's parent process and its child processes exchange: the task (JSON in the
 * `BENCH_TASK` variable) and the answer (one IPC message, or one line on fd 3 for cold starts).
 */

/** Lambda-like invocation settings shared by every harness. */
export interface InvocationTask {
  /** Absolute path of the handler bundle (`index.mjs`). */
  bundle: string;
  /** The event, as the Lambda runtime hands it over: JSON text, parsed afresh for every invocation. */
  event: string;
  /** `http` answers must be 200, `sqs` answers must have no `batchItemFailures`. */
  kind: 'http' | 'sqs';
  functionName: string;
  /** Marks each invocation's trace header sampled, as Lambda does on a traced function. */
  traced: boolean;
}

export interface WarmTask extends InvocationTask {
  /** Untimed invocations before the child reports ready. */
  warmup: number;
}

/** The warm child is loaded and warmed up. */
export interface WarmReady {
  ready: true;
  failures: number;
}

/** Run this many timed invocations and answer a {@link WarmSlice}; 0 ends the child. */
export interface WarmCommand {
  invocations: number;
}

export interface WarmSlice {
  /** Nanoseconds per timed invocation, in order. */
  samples: Float64Array;
  /** Invocations whose answer was not the expected success. */
  failures: number;
  /** Wall time of the slice, in milliseconds. */
  loopMs: number;
}

/** One cold start: a fresh process imports `bundleUrl` and, unless `event` is absent, invokes it once. */
export interface ColdTask {
  /** `file:` URL of the handler bundle (the parent converts it, so the child loads no `node:url`). */
  bundleUrl: string;
  /** The event as JSON text; absent to measure init alone. */
  event?: string;
  /** `http` answers must be 200, `sqs` answers must have no `batchItemFailures`. */
  kind: 'http' | 'sqs';
  functionName: string;
}

export interface ColdResult {
  ok: boolean;
  /** Milliseconds since the child's time origin when the first answer arrived. */
  firstResultMs: number;
  /** CPU time (user + system, all threads) the process used up to its first answer, in milliseconds. */
  cpuMs: number;
}

export interface SecretsTask extends InvocationTask {
  /** Invocations to run; ignored when `durationMs` is set. */
  invocations: number;
  /** Keep invoking for this long, pausing `pauseMs` between invocations (max-age check). */
  durationMs?: number;
  pauseMs?: number;
}

export interface SecretsResult {
  invocations: number;
  failures: number;
  elapsedMs: number;
}

export interface ConnectionsTask {
  url: string;
  calls: number;
}

export interface ConnectionsResult {
  socketsOpened: number;
  attempts: number;
  failures: number;
}

export interface ComponentsTask {
  iterations: number;
  warmup: number;
  /** A body as the HTTP variants receive it, and an SQS batch event. */
  body: string;
  sqsEvent: string;
  headers: Record<string, string>;
  /** Import the X-Ray SDK first, as the stock stack does even with tracing off. */
  loadXray: boolean;
}

export interface ComponentCost {
  name: string;
  /** What the measured call does, for the report. */
  detail: string;
  p50Us: number;
  p99Us: number;
}

export interface ComponentsResult {
  components: ComponentCost[];
}

/** `throughput.ts`: messages per publish run, and runs per side. */
export interface ThroughputTask {
  messages: number;
  rounds: number;
}

/** One messaging connector's publish throughput beside its provider's own client, on the same peer. */
export interface ThroughputResult {
  connector: string;
  peer: string;
  /** Messages per batch: the provider's batch limit (AWS 10; the brokers' connector limit 100). */
  batch: number;
  messages: number;
  /** 0 when not measured (see `reason`). */
  rounds: number;
  /** Medians over the rounds. */
  connector_per_second?: number;
  raw_per_second?: number;
  /** connector / raw messages per second: 1 is parity, above 1 the connector was faster. */
  ratio?: number;
  reason?: string;
}

/** `copy.ts`: rows of the CSV loaded per round, rounds per side, MiB of CSV for the streaming run. */
export interface CopyTask {
  rows: number;
  rounds: number;
  streamMib: number;
}

/** S3 CSV -> PostgreSQL: the transform connector's load-postgres beside `psql \copy` of the same file. */
export interface CopyResult {
  rows: number;
  /** 0 when not measured (see `reason`). */
  rounds: number;
  /** Input records per part: one COPY and one transaction each. */
  part_records: number;
  csv_bytes: number;
  /** Medians over the rounds. */
  connector_seconds?: number;
  psql_seconds?: number;
  connector_rows_per_second?: number;
  psql_rows_per_second?: number;
  /** connector / psql rows per second: 1 is parity, below 1 the connector was slower. */
  ratio?: number;
  reason?: string;
}

/** The streaming readers and writers on a large CSV file (scripts/data/stream-memory.ts). */
export interface StreamMemoryResult {
  input_mib: number;
  heap_cap_mib: number;
  rows?: number;
  seconds?: number;
  rows_per_second?: number;
  output_mib?: number;
  /** RSS before the streaming started, and the highest sampled (every 50 ms) during it. */
  baseline_rss_mib?: number;
  peak_rss_mib?: number;
  /** The process's max RSS as the kernel counts it (getrusage), input generation included. */
  max_rss_mib?: number;
  reason?: string;
}

/** What `copy.ts` answers: the COPY comparison and the streaming run. */
export interface BulkLoadResult {
  copy: CopyResult;
  stream: StreamMemoryResult;
}
