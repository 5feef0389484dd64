/**
 * Turns the measurements into the named figures of `bench/results.json` and checks them against the
 * budgets of the design notes (DESIGN.md, "Budgets").
 */
import type { BulkLoadResult, ComponentCost, ThroughputResult } from '../harness/protocol.ts';
import type { ColdOutcome } from './cold.ts';
import type { ConnectionsFigures, SecretsFigures } from './probes.ts';
import { median, round } from './stats.ts';
import type { WarmOutcome } from './warm.ts';

/** One budget from the design notes, with the measured value. */
export interface BudgetCheck {
  readonly id: string;
  readonly description: string;
  /** `<=` the limit. */
  readonly limit: number;
  readonly value: number;
  readonly met: boolean;
}

export interface SizeRow {
  readonly artifact: string;
  readonly js_bytes: number;
  readonly zip_bytes: number | null;
}

/** One repository function: its bundle and its cold starts over the floor, also as ratios to raw. */
export interface FunctionFigures {
  readonly js_bytes: number;
  /** Its README has a section on its size: the reason a bundle over 300 KiB may give. */
  readonly size_explained: boolean;
  /** What its entry loads at init (index.mjs and the chunks it imports statically). */
  readonly init_js_bytes: number;
  readonly map_bytes: number;
  readonly zip_bytes: number;
  /** Import (init: config, clients, secrets prefetched) to exit, over the floor. */
  readonly init_over_floor_ms: number;
  /** Init plus one `GET /<name>/health` against the function's local peer, over the floor. */
  readonly health_over_floor_ms: number;
  /** The same over the raw handler's cold start (raw-http over the floor), same rounds: wall time. */
  readonly init_vs_raw: number;
  readonly health_vs_raw: number;
  /** CPU time over the floor's, and its ratio to raw's: what other load on the machine disturbs least. */
  readonly cpu_init_over_floor_ms: number;
  readonly cpu_health_over_floor_ms: number;
  readonly init_vs_raw_cpu: number;
  readonly health_vs_raw_cpu: number;
  /** The same function built by the `--baseline` checkout, cold-started in the same rounds. */
  readonly baseline?: {
    readonly cpu_init_over_floor_ms: number;
    readonly cpu_health_over_floor_ms: number;
    readonly health_over_floor_ms: number;
    readonly health_vs_raw_cpu: number;
    /** This build's init + health CPU over the floor divided by the baseline's (below 1 is faster). */
    readonly health_cpu_now_vs_baseline: number;
  };
}

/** Sizes of one function's build, as the bench got them from `buildArtifacts`. */
export interface FunctionSizes {
  readonly name: string;
  readonly jsBytes: number;
  readonly initJsBytes: number;
  readonly mapBytes: number;
  readonly zipBytes: number;
  /** Its README says why it is as large as it is (a section on its size). */
  readonly sizeExplained: boolean;
}

/**
 * Issue 20's figures for the real functions (init plus a health call over the floor, ms), measured beside a
 * raw handler at 14 ms; each function's target is its ratio to raw at least 30% below that. A function
 * added later has no target, only its figures.
 */
export const ISSUE_20_BASELINE = {
  raw_ms: 14,
  functions_ms: { s3: 123, postgres: 65, slack: 109, github: 132 },
};

/** The largest minified function bundle without a reason in the function's README (DESIGN, issue 20). */
export const FUNCTION_BUNDLE_LIMIT_BYTES = 300 * 1024;

export interface BenchResults {
  readonly mode: 'full' | 'short' | 'smoke';
  readonly date: string;
  readonly node: string;
  readonly machine: {
    readonly cpus: number;
    readonly model: string;
    readonly loadavg_start: number[];
    /** When the figures were complete; with the start's, how busy the shared machine was (report: noise). */
    readonly loadavg_end?: number[];
  };
  readonly settings: Readonly<Record<string, number | string | boolean>>;
  readonly warm_p50_ratio_core_vs_raw: number;
  readonly warm_p50_ratio_core_vs_stock: number;
  /** Against the stock stack that does not import the tracer (no X-Ray SDK loaded). */
  readonly warm_p50_ratio_core_vs_stock_no_tracer: number;
  readonly warm_p50_ratio_core_vs_raw_sqs: number;
  readonly warm_p50_ratio_core_vs_stock_sqs: number;
  readonly warm_p50_ratio_core_vs_stock_sqs_no_tracer: number;
  readonly warm_p50_ratio_core_vs_stock_traced: number;
  /** Cold start over the floor, core / raw, neither fetching a secret (wall time). */
  readonly cold_over_floor_ratio_core_vs_raw_no_secret: number;
  /** The same on CPU time (the budget: other load disturbs it least). */
  readonly cold_cpu_over_floor_ratio_core_vs_raw_no_secret: number;
  /** Cold start over the floor, core / raw, both fetching one secret during init. */
  readonly cold_over_floor_ratio_core_vs_raw: number;
  readonly cold_over_floor_ratio_core_vs_stock: number;
  /** The same as `cold_over_floor_ratio_core_vs_raw` on CPU time instead of wall time. */
  readonly cold_cpu_over_floor_ratio_core_vs_raw: number;
  readonly secrets_calls_per_1000: number;
  readonly connections_per_100_calls: number;
  /** Ratios of the `--compare-core` build (same rounds), when there is one. */
  readonly alternative_core?: Readonly<Record<string, number>>;
  readonly warm: Readonly<
    Record<string, { p50_us: number; p99_us: number; mean_us: number; invocations: number }>
  >;
  readonly warm_rounds: readonly {
    round: number;
    order: readonly string[];
    p50_us: Readonly<Record<string, number>>;
    ratios: Readonly<Record<string, number>>;
  }[];
  readonly output_lines_per_invocation: Readonly<Record<string, { stdout: number; stderr: number }>>;
  readonly xray_segments_per_invocation: Readonly<Record<string, number>>;
  readonly cold: {
    readonly floor_ms: number;
    readonly floor_cpu_ms: number;
    /** The floor's wall time in each round: its spread is how long processes waited for a core. */
    readonly floor_runs_ms?: readonly number[];
    readonly runs: number;
    /** Runs of each repository function (every `function_every`-th round; older results: `runs`). */
    readonly function_runs?: number;
    /** Runs of each function issue 20 sets a target for (every round; older results: `function_runs`). */
    readonly budget_function_runs?: number;
    readonly variants: Readonly<
      Record<
        string,
        { median_ms: number; over_floor_ms: number; first_result_ms: number; cpu_over_floor_ms: number }
      >
    >;
  };
  readonly secrets: SecretsFigures;
  readonly connections: ConnectionsFigures;
  readonly components: readonly { name: string; detail: string; p50_us: number; p99_us: number }[];
  readonly components_with_xray_loaded: readonly { name: string; p50_us: number; p99_us: number }[];
  readonly bundle_sizes: readonly SizeRow[];
  /** Every function of the repository (discovered from its function.yml), by name. */
  readonly functions: Readonly<Record<string, FunctionFigures>>;
  /** What the core's layer entry loads at cold start (static imports). */
  readonly layer_static_imports: readonly string[];
  /** The locales the layer's zod ships. */
  readonly layer_zod_locales: readonly string[];
  readonly budgets: readonly BudgetCheck[];
  /** Messaging connectors' publish throughput beside their providers' raw clients (issue 14). */
  readonly throughput?: readonly ThroughputResult[];
  /** S3 CSV -> PostgreSQL COPY by the transform connector beside psql \copy, and the 1 GB streaming run (issue 15). */
  readonly bulk_load?: BulkLoadResult;
  /** When `bulk_load` comes from an earlier run (`--skip-bulk-load`): that run's date. */
  readonly bulk_load_from?: string;
}

/** Ratio name -> [numerator variant, denominator variant], computed within each round. */
export const RATIOS: Readonly<Record<string, readonly [string, string]>> = {
  core_vs_raw: ['core-http', 'raw-http'],
  core_vs_stock: ['core-http', 'stock-http'],
  core_vs_stock_no_tracer: ['core-http', 'stock-http-no-tracer'],
  core_vs_raw_sqs: ['core-sqs', 'raw-sqs'],
  core_vs_stock_sqs: ['core-sqs', 'stock-sqs'],
  core_vs_stock_sqs_no_tracer: ['core-sqs', 'stock-sqs-no-tracer'],
  core_vs_stock_traced: ['core-http-traced', 'stock-http-traced'],
  stock_vs_raw: ['stock-http', 'raw-http'],
  stock_vs_raw_sqs: ['stock-sqs', 'raw-sqs'],
  stock_vs_stock_no_tracer: ['stock-http', 'stock-http-no-tracer'],
  stock_vs_stock_no_tracer_sqs: ['stock-sqs', 'stock-sqs-no-tracer'],
};

/** The same ratios for the alternative core, when it was measured. */
export const ALTERNATIVE_RATIOS: Readonly<Record<string, readonly [string, string]>> = {
  core_alt_vs_raw: ['core-alt-http', 'raw-http'],
  core_alt_vs_stock: ['core-alt-http', 'stock-http'],
  core_alt_vs_stock_no_tracer: ['core-alt-http', 'stock-http-no-tracer'],
  core_alt_vs_raw_sqs: ['core-alt-sqs', 'raw-sqs'],
  core_alt_vs_stock_sqs: ['core-alt-sqs', 'stock-sqs'],
  core_alt_vs_stock_traced: ['core-alt-http-traced', 'stock-http-traced'],
  core_alt_vs_core: ['core-alt-http', 'core-http'],
  core_alt_vs_core_sqs: ['core-alt-sqs', 'core-sqs'],
};

function roundRatios(
  figures: Readonly<Record<string, { p50Us: number }>>,
  ratios: Readonly<Record<string, readonly [string, string]>>,
): Record<string, number> {
  const result: Record<string, number> = {};
  for (const [name, [top, bottom]] of Object.entries(ratios)) {
    const a = figures[top]?.p50Us;
    const b = figures[bottom]?.p50Us;
    if (a !== undefined && b !== undefined) result[name] = a / b;
  }
  return result;
}

/**
 * The median over rounds of each within-round p50 ratio.
 *
 * @example
 * ```ts
 * medianRatios(warm, RATIOS).core_vs_stock; // 0.55
 * ```
 */
export function medianRatios(
  warm: WarmOutcome,
  ratios: Readonly<Record<string, readonly [string, string]>>,
): Record<string, number> {
  const perRound = warm.rounds.map((r) => roundRatios(r.figures, ratios));
  const result: Record<string, number> = {};
  for (const name of Object.keys(ratios)) {
    const values = perRound.map((r) => r[name]).filter((v): v is number => v !== undefined);
    if (values.length > 0) result[name] = round(median(values), 3);
  }
  return result;
}

/** Inputs to {@link composeResults}: every measurement of one run. */
export interface Measurements {
  readonly mode: 'full' | 'short' | 'smoke';
  readonly settings: Readonly<Record<string, number | string | boolean>>;
  readonly machine: BenchResults['machine'];
  readonly warm: WarmOutcome;
  readonly lines: Readonly<Record<string, { stdout: number; stderr: number }>>;
  readonly cold: ColdOutcome;
  readonly coldRuns: number;
  /** Cold runs of each repository function (fewer than the core variants': see run.ts). */
  readonly functionColdRuns: number;
  readonly budgetFunctionColdRuns: number;
  readonly secrets: SecretsFigures;
  readonly connections: ConnectionsFigures;
  readonly components: readonly ComponentCost[];
  readonly componentsWithXray: readonly ComponentCost[];
  readonly sizes: readonly SizeRow[];
  /** The repository's functions, sorted by name (empty with --skip-functions). */
  readonly functions: readonly FunctionSizes[];
  readonly layerStaticImports: readonly string[];
  readonly layerZodLocales: readonly string[];
  readonly hasAlternative: boolean;
  /** Messaging connectors' publish throughput beside their providers' raw clients. */
  readonly throughput?: readonly ThroughputResult[];
  /** The transform connector's bulk load beside psql, and the streaming run's memory. */
  readonly bulkLoad?: BulkLoadResult;
  /** The date of the earlier run whose bulk load figures are kept (`--skip-bulk-load`). */
  readonly bulkLoadFrom?: string;
}

function need(value: number | undefined, name: string): number {
  if (value === undefined || Number.isNaN(value)) throw new Error(`figure ${name} was not measured`);
  return value;
}

function coldRatio(cold: ColdOutcome, top: string, bottom: string): number {
  const a = cold.variants[top]?.overFloorMs;
  const b = cold.variants[bottom]?.overFloorMs;
  return round(need(a, `cold ${top}`) / need(b, `cold ${bottom}`), 3);
}

/** The same ratio on CPU time over the floor's (the budgets use it: see the report's cold section). */
function coldCpuRatio(cold: ColdOutcome, top: string, bottom: string): number {
  const a = cold.variants[top]?.cpuOverFloorMs;
  const b = cold.variants[bottom]?.cpuOverFloorMs;
  return round(need(a, `cold cpu ${top}`) / need(b, `cold cpu ${bottom}`), 3);
}

/** The cold variant ids of a repository function: init alone, and init plus a health call. */
export function functionColdIds(name: string): { init: string; health: string } {
  return { init: `function-${name}-init`, health: `function-${name}-health` };
}

/** The cold variant ids of the `--baseline` checkout's build of a function. */
export function baselineColdIds(name: string): { init: string; health: string } {
  return { init: `baseline-function-${name}-init`, health: `baseline-function-${name}-health` };
}

function baselineFigures(m: Measurements, name: string): FunctionFigures['baseline'] {
  const ids = baselineColdIds(name);
  const init = m.cold.variants[ids.init];
  const health = m.cold.variants[ids.health];
  if (init === undefined || health === undefined) return undefined;
  return {
    cpu_init_over_floor_ms: round(init.cpuOverFloorMs, 1),
    cpu_health_over_floor_ms: round(health.cpuOverFloorMs, 1),
    health_over_floor_ms: round(health.overFloorMs, 1),
    health_vs_raw_cpu: coldCpuRatio(m.cold, ids.health, 'raw-http'),
    health_cpu_now_vs_baseline: coldCpuRatio(m.cold, functionColdIds(name).health, ids.health),
  };
}

function functionFigures(m: Measurements): Record<string, FunctionFigures> {
  const figures: Record<string, FunctionFigures> = {};
  for (const fn of m.functions) {
    const ids = functionColdIds(fn.name);
    figures[fn.name] = {
      js_bytes: fn.jsBytes,
      size_explained: fn.sizeExplained,
      init_js_bytes: fn.initJsBytes,
      map_bytes: fn.mapBytes,
      zip_bytes: fn.zipBytes,
      init_over_floor_ms: round(need(m.cold.variants[ids.init]?.overFloorMs, `cold ${ids.init}`), 1),
      health_over_floor_ms: round(need(m.cold.variants[ids.health]?.overFloorMs, `cold ${ids.health}`), 1),
      init_vs_raw: coldRatio(m.cold, ids.init, 'raw-http'),
      health_vs_raw: coldRatio(m.cold, ids.health, 'raw-http'),
      cpu_init_over_floor_ms: round(need(m.cold.variants[ids.init]?.cpuOverFloorMs, `cpu ${ids.init}`), 1),
      cpu_health_over_floor_ms: round(
        need(m.cold.variants[ids.health]?.cpuOverFloorMs, `cpu ${ids.health}`),
        1,
      ),
      init_vs_raw_cpu: coldCpuRatio(m.cold, ids.init, 'raw-http'),
      health_vs_raw_cpu: coldCpuRatio(m.cold, ids.health, 'raw-http'),
    };
    const baseline = baselineFigures(m, fn.name);
    if (baseline !== undefined) figures[fn.name] = { ...(figures[fn.name] as FunctionFigures), baseline };
  }
  return figures;
}

/** Per function: its health cold start against issue 20's target, and its bundle against 300 KiB. */
function functionBudgets(functions: Readonly<Record<string, FunctionFigures>>): BudgetCheck[] {
  const budgets: BudgetCheck[] = [];
  const baseline: Readonly<Record<string, number>> = ISSUE_20_BASELINE.functions_ms;
  for (const [name, figures] of Object.entries(functions)) {
    const before = baseline[name];
    if (before !== undefined) {
      const limit = round((0.7 * before) / ISSUE_20_BASELINE.raw_ms, 2);
      budgets.push({
        id: `cold_health_ratio_${name}_vs_raw`,
        description: `${name}: init + health over the floor / raw (CPU time), at least 30% below issue 20 (${before} ms against ${ISSUE_20_BASELINE.raw_ms} ms raw)`,
        limit,
        value: figures.health_vs_raw_cpu,
        met: figures.health_vs_raw_cpu <= limit,
      });
    }
    const kib = round(figures.js_bytes / 1024, 1);
    const explained = figures.js_bytes > FUNCTION_BUNDLE_LIMIT_BYTES && figures.size_explained;
    budgets.push({
      id: `function_bundle_kib_${name}`,
      description: `${name}: minified bundle KiB (over 300 only with a reason in its README${explained ? ': given' : ''})`,
      limit: FUNCTION_BUNDLE_LIMIT_BYTES / 1024,
      value: kib,
      met: figures.js_bytes <= FUNCTION_BUNDLE_LIMIT_BYTES || figures.size_explained,
    });
  }
  return budgets;
}

/**
 * Assembles the named figures and the budget checks.
 *
 * @example
 * ```ts
 * const results = composeResults(measurements);
 * await writeFile('bench/results.json', JSON.stringify(results, null, 2));
 * ```
 */
export function composeResults(m: Measurements): BenchResults {
  const ratios = medianRatios(m.warm, RATIOS);
  const coreVsRaw = need(ratios['core_vs_raw'], 'core_vs_raw');
  const coreVsStock = need(ratios['core_vs_stock'], 'core_vs_stock');
  const coreVsStockLean = need(ratios['core_vs_stock_no_tracer'], 'core_vs_stock_no_tracer');
  const coreVsRawSqs = need(ratios['core_vs_raw_sqs'], 'core_vs_raw_sqs');
  const coreVsStockSqs = need(ratios['core_vs_stock_sqs'], 'core_vs_stock_sqs');
  const coreVsStockSqsLean = need(ratios['core_vs_stock_sqs_no_tracer'], 'core_vs_stock_sqs_no_tracer');
  const coldCoreVsRaw = coldRatio(m.cold, 'core-secret', 'raw-secret');
  const coldCoreVsRawBare = coldCpuRatio(m.cold, 'core', 'raw-http');
  const coldCoreVsRawSecretCpu = coldCpuRatio(m.cold, 'core-secret', 'raw-secret');
  const functions = functionFigures(m);
  const secretsPer1000 = m.secrets.callsPer1000;
  const connections = m.connections.serverConnections;
  const budgets: BudgetCheck[] = [
    {
      id: 'warm_p50_ratio_core_vs_stock',
      description: 'HTTP warm p50, core / stock (both one log line, tracing off, stock imports the tracer)',
      limit: 0.6,
      value: coreVsStock,
      met: coreVsStock <= 0.6,
    },
    {
      id: 'warm_p50_ratio_core_vs_stock_no_tracer',
      description: 'HTTP warm p50, core / stock without the tracer imported (no X-Ray SDK loaded)',
      limit: 0.6,
      value: coreVsStockLean,
      met: coreVsStockLean <= 0.6,
    },
    {
      id: 'warm_p50_ratio_core_vs_raw',
      description: 'HTTP warm p50, core / raw (raw writes no log line)',
      limit: 12,
      value: coreVsRaw,
      met: coreVsRaw <= 12,
    },
    {
      id: 'warm_p50_ratio_core_vs_stock_sqs',
      description: 'SQS batch of 10 warm p50, core / stock (stock imports the tracer)',
      limit: 0.6,
      value: coreVsStockSqs,
      met: coreVsStockSqs <= 0.6,
    },
    {
      id: 'warm_p50_ratio_core_vs_stock_sqs_no_tracer',
      description: 'SQS batch of 10 warm p50, core / stock without the tracer imported',
      limit: 0.6,
      value: coreVsStockSqsLean,
      met: coreVsStockSqsLean <= 0.6,
    },
    {
      id: 'warm_p50_ratio_core_vs_raw_sqs',
      description: 'SQS batch of 10 warm p50, core / raw',
      limit: 12,
      value: coreVsRawSqs,
      met: coreVsRawSqs <= 12,
    },
    {
      id: 'cold_cpu_over_floor_ratio_core_vs_raw_no_secret',
      description: 'cold start over the ESM floor (CPU time), core / raw, neither fetching a secret',
      limit: 2,
      value: coldCoreVsRawBare,
      met: coldCoreVsRawBare <= 2,
    },
    {
      id: 'cold_cpu_over_floor_ratio_core_vs_raw',
      description:
        'cold start over the ESM floor (CPU time), core / raw doing the same by hand (one secret at init)',
      limit: 1.5,
      value: coldCoreVsRawSecretCpu,
      met: coldCoreVsRawSecretCpu <= 1.5,
    },
    {
      id: 'secrets_calls_per_1000',
      description: 'Secrets Manager calls for init + 1,000 invocations (one per container per max age)',
      limit: 1,
      value: secretsPer1000,
      met: secretsPer1000 <= 1,
    },
    {
      id: 'secrets_calls_over_max_age',
      description: `Secrets Manager calls beyond one per max age (${m.secrets.maxAge.maxAgeSeconds} s max age, ${round(m.secrets.maxAge.elapsedMs / 1000, 1)} s of invocations)`,
      limit: 0,
      value: Math.max(0, m.secrets.maxAge.calls - m.secrets.maxAge.expected),
      met: m.secrets.maxAge.calls <= m.secrets.maxAge.expected,
    },
    {
      id: 'connections_per_100_calls',
      description: 'TCP connections per 100 sequential calls to one host (server side)',
      limit: 1,
      value: connections,
      met: connections <= 1,
    },
    ...functionBudgets(functions),
  ];
  const warm: Record<string, { p50_us: number; p99_us: number; mean_us: number; invocations: number }> = {};
  for (const [id, figures] of Object.entries(m.warm.pooled)) {
    warm[id] = {
      p50_us: round(figures.p50Us),
      p99_us: round(figures.p99Us),
      mean_us: round(figures.meanUs),
      invocations: figures.invocations,
    };
  }
  const coldVariants: Record<
    string,
    { median_ms: number; over_floor_ms: number; first_result_ms: number; cpu_over_floor_ms: number }
  > = {};
  for (const [id, figures] of Object.entries(m.cold.variants)) {
    coldVariants[id] = {
      median_ms: round(figures.medianMs, 1),
      over_floor_ms: round(figures.overFloorMs, 1),
      first_result_ms: round(figures.firstResultMs, 1),
      cpu_over_floor_ms: round(figures.cpuOverFloorMs, 1),
    };
  }
  const results: BenchResults = {
    mode: m.mode,
    date: new Date().toISOString(),
    node: process.version,
    machine: m.machine,
    settings: m.settings,
    warm_p50_ratio_core_vs_raw: coreVsRaw,
    warm_p50_ratio_core_vs_stock: coreVsStock,
    warm_p50_ratio_core_vs_stock_no_tracer: coreVsStockLean,
    warm_p50_ratio_core_vs_raw_sqs: coreVsRawSqs,
    warm_p50_ratio_core_vs_stock_sqs: coreVsStockSqs,
    warm_p50_ratio_core_vs_stock_sqs_no_tracer: coreVsStockSqsLean,
    warm_p50_ratio_core_vs_stock_traced: need(ratios['core_vs_stock_traced'], 'core_vs_stock_traced'),
    cold_over_floor_ratio_core_vs_raw_no_secret: coldRatio(m.cold, 'core', 'raw-http'),
    cold_cpu_over_floor_ratio_core_vs_raw_no_secret: coldCoreVsRawBare,
    cold_over_floor_ratio_core_vs_raw: coldCoreVsRaw,
    cold_over_floor_ratio_core_vs_stock: coldRatio(m.cold, 'core-secret', 'stock-secret'),
    cold_cpu_over_floor_ratio_core_vs_raw: coldCoreVsRawSecretCpu,
    secrets_calls_per_1000: secretsPer1000,
    connections_per_100_calls: connections,
    warm,
    warm_rounds: m.warm.rounds.map((r) => ({
      round: r.round,
      order: r.order,
      p50_us: Object.fromEntries(Object.entries(r.figures).map(([id, f]) => [id, round(f.p50Us)])),
      ratios: Object.fromEntries(
        Object.entries(roundRatios(r.figures, { ...RATIOS, ...ALTERNATIVE_RATIOS })).map(([k, v]) => [
          k,
          round(v),
        ]),
      ),
    })),
    output_lines_per_invocation: m.lines,
    xray_segments_per_invocation: Object.fromEntries(
      Object.entries(m.warm.segmentsPerInvocation).map(([id, value]) => [id, round(value, 2)]),
    ),
    cold: {
      floor_ms: round(m.cold.floor.medianMs, 1),
      floor_cpu_ms: round(m.cold.floor.cpuMs, 1),
      floor_runs_ms: m.cold.floor.runs.map((run) => round(run, 1)),
      runs: m.coldRuns,
      function_runs: m.functionColdRuns,
      budget_function_runs: m.budgetFunctionColdRuns,
      variants: coldVariants,
    },
    secrets: m.secrets,
    connections: m.connections,
    components: m.components.map((c) => ({
      name: c.name,
      detail: c.detail,
      p50_us: round(c.p50Us),
      p99_us: round(c.p99Us),
    })),
    components_with_xray_loaded: m.componentsWithXray.map((c) => ({
      name: c.name,
      p50_us: round(c.p50Us),
      p99_us: round(c.p99Us),
    })),
    bundle_sizes: m.sizes,
    functions,
    layer_static_imports: m.layerStaticImports,
    layer_zod_locales: m.layerZodLocales,
    budgets,
    ...(m.throughput === undefined ? {} : { throughput: m.throughput }),
    ...(m.bulkLoad === undefined ? {} : { bulk_load: m.bulkLoad }),
    ...(m.bulkLoad === undefined || m.bulkLoadFrom === undefined ? {} : { bulk_load_from: m.bulkLoadFrom }),
  };
  const alternativeCold =
    m.cold.variants['core-alt-secret'] === undefined
      ? {}
      : {
          cold_over_floor_ratio_core_alt_vs_raw: coldRatio(m.cold, 'core-alt-secret', 'raw-secret'),
          cold_over_floor_ratio_core_alt_vs_raw_no_secret: coldRatio(m.cold, 'core-alt', 'raw-http'),
        };
  return m.hasAlternative
    ? { ...results, alternative_core: { ...medianRatios(m.warm, ALTERNATIVE_RATIOS), ...alternativeCold } }
    : results;
}
