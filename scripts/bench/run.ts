/**
 * `npm run bench [-- --short] [--out-dir bench] [--compare-core <checkout>]`: builds the variants like
 * production, measures warm cost, cold start, Secrets Manager calls, connection reuse, tracing on and off
 * and bundle sizes side by side in one run, plus the messaging connectors' publish throughput beside their
 * providers' raw clients (`harness/throughput.ts`), the transform connector's S3 CSV -> PostgreSQL COPY
 * beside `psql \copy` and the 1 GB streaming run's memory (`harness/copy.ts`), and writes
 * `bench/results.json` and `bench/RESULTS.md`.
 * `--short` is the CI mode (every figure, fewer samples); `--smoke` only proves the script works (tests);
 * `--skip-functions` leaves the repository's functions out (their build, cold starts and sizes);
 * `--skip-bulk-load` keeps the bulk load's figures of the previous results.json in the output folder (its
 * 1 GiB streaming run alone takes over ten minutes here) instead of measuring them again;
 * `--baseline <checkout>` also builds that checkout's functions with its own scripts and cold-starts them in
 * the same rounds (before and after a change, side by side).
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startSecretsManagerFake } from '../../test/fakes/secrets-manager.ts';
import type {
  BulkLoadResult,
  ComponentsResult,
  ComponentsTask,
  ThroughputResult,
  ThroughputTask,
} from './harness/protocol.ts';
import { type BenchBuild, buildBench } from './lib/build.ts';
import { runChild } from './lib/child.ts';
import { type ColdVariant, runColdRounds } from './lib/cold.ts';
import { lambdaEnvironment, stageNodeOptions } from './lib/env.ts';
import { GATEWAY_HEADERS, httpEventText, sqsEventText } from './lib/events.ts';
import {
  type BaselineFunction,
  type PreparedFunctions,
  prepareBaselineFunctions,
  prepareFunctions,
} from './lib/functions.ts';
import { BENCH_SECRET, probeConnections, probeSecrets, startXraySink } from './lib/probes.ts';
import { writeFunctionReadmes } from './lib/readmes.ts';
import { renderMarkdown } from './lib/report.ts';
import {
  baselineColdIds,
  composeResults,
  type FunctionSizes,
  functionColdIds,
  ISSUE_20_BASELINE,
  type SizeRow,
} from './lib/results.ts';
import { countLogLines, runWarmRounds, type WarmOptions, type WarmVariant } from './lib/warm.ts';
import { SAMPLE_INPUT } from './variants/operation.ts';

const root = resolve(import.meta.dirname, '..', '..');
const { values } = parseArgs({
  options: {
    short: { type: 'boolean', default: false },
    smoke: { type: 'boolean', default: false },
    'skip-functions': { type: 'boolean', default: false },
    'skip-bulk-load': { type: 'boolean', default: false },
    'out-dir': { type: 'string', default: 'bench' },
    'compare-core': { type: 'string' },
    baseline: { type: 'string' },
  },
  strict: true,
});

type Mode = 'full' | 'short' | 'smoke';
const mode: Mode = values.smoke ? 'smoke' : values.short ? 'short' : 'full';
const pick = <T>(full: T, short: T, smoke: T): T =>
  mode === 'full' ? full : mode === 'short' ? short : smoke;
const settings = {
  rounds: pick(30, 5, 1),
  warmup_http: pick(10_000, 3_000, 200),
  slice_http: pick(5_000, 2_000, 200),
  warmup_sqs: pick(2_000, 500, 50),
  slice_sqs: pick(1_000, 400, 50),
  sqs_batch_size: 10,
  cold_runs: pick(25, 7, 1),
  // The repository's functions (two variants each, 36 of them) run in every fifth cold round in the full mode
  // (5 runs each, against 25 for the core variants) and every third in the short one (3 of 7): one round of
  // all 72 took about 150 s under a load average of 20 on this 2-core machine (0.4 to 5 s a process), so
  // every function fits in a full run of about 25 minutes. The four functions issue 20 sets targets for (s3,
  // postgres, slack, github) run in every round: their ratios are budgets, and 5 runs move a ratio by about
  // one either way.
  function_cold_every: pick(5, 3, 1),
  component_iterations: pick(20_000, 5_000, 500),
  secret_max_age_seconds: pick(0.5, 0.25, 0.1),
  secret_max_age_run_ms: pick(2_700, 1_100, 300),
  throughput_messages: 1_000,
  throughput_rounds: pick(5, 3, 1),
  bulk_load_rows: pick(1_000_000, 1_000_000, 20_000),
  bulk_load_rounds: pick(5, 3, 1),
  bulk_load_stream_mib: pick(1024, 1024, 20),
};
/** The bulk load's PostgreSQL: the tests' override, when set (test/peers/postgres.ts). */
const pgTestUrl = (): Record<string, string> => {
  const url = process.env['CIRCLE_TEST_PG_URL'];
  return url === undefined ? {} : { CIRCLE_TEST_PG_URL: url };
};
const outDir = resolve(root, values['out-dir']);
const work = join(outDir, 'out');
const logsDir = join(work, 'logs');
const started = performance.now();
const loadAtStart = loadavg().map((load) => Math.round(load * 100) / 100);
const progress = (message: string): void => {
  const seconds = ((performance.now() - started) / 1000).toFixed(0).padStart(4);
  console.log(`[${seconds} s] ${message}`);
};

/** Sizes of the variants, the layer and the repository's functions. */
function sizes(built: BenchBuild, prepared: PreparedFunctions | undefined): SizeRow[] {
  const rows: SizeRow[] = Object.entries(built.sizes).map(([name, size]) => ({
    artifact: `variant: ${name}`,
    js_bytes: size.jsBytes,
    zip_bytes: size.zipBytes,
  }));
  const layer = built.layer.sizes;
  rows.push(
    {
      artifact: 'layer (zip)',
      js_bytes: layer.coreJs + layer.zodJs + layer.zodJsonSchemaJs,
      zip_bytes: layer.layerZip,
    },
    { artifact: 'layer: @circle-core/core', js_bytes: layer.coreJs, zip_bytes: null },
    { artifact: 'layer: @circle-core/core index.js', js_bytes: layer.coreIndexJs, zip_bytes: null },
    // A layer from before base.js (a baseline checkout) has none.
    ...(layer.coreBaseJs > 0
      ? [{ artifact: 'layer: @circle-core/core base.js', js_bytes: layer.coreBaseJs, zip_bytes: null }]
      : []),
    { artifact: 'layer: zod', js_bytes: layer.zodJs, zip_bytes: null },
    // A layer from before zod/json-schema (a baseline checkout) has none.
    ...(layer.zodJsonSchemaJs > 0
      ? [{ artifact: 'layer: zod/json-schema', js_bytes: layer.zodJsonSchemaJs, zip_bytes: null }]
      : []),
  );
  for (const size of prepared?.sizes ?? []) {
    if (!size.artifact.startsWith('function ')) continue;
    rows.push({ artifact: size.artifact, js_bytes: size.jsBytes, zip_bytes: size.zip?.bytes ?? null });
  }
  return rows;
}

function functionSizes(prepared: PreparedFunctions | undefined): FunctionSizes[] {
  // The functions cold-started (one per connector): a connector's streaming function (`openai-stream`) has
  // its size in the bundle sizes table only, and no cold figures to go with a row here.
  const measured = new Set(prepared?.functions.map((fn) => `function ${fn.name}`));
  return (prepared?.sizes ?? [])
    .filter((size) => measured.has(size.artifact))
    .map((size) => ({
      name: size.artifact.slice('function '.length),
      jsBytes: size.jsBytes,
      initJsBytes: size.initJsBytes ?? size.jsBytes,
      mapBytes: size.mapBytes,
      zipBytes: size.zip?.bytes ?? 0,
      sizeExplained:
        prepared?.functions.find((fn) => `function ${fn.name}` === size.artifact)?.sizeExplained ?? false,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

progress(`building bundles into ${work}`);
const built = await buildBench(root, work, values['compare-core']);
await mkdir(logsDir, { recursive: true });
const sink = await startXraySink();
const secretsFake = await startSecretsManagerFake({ [BENCH_SECRET]: 'bench-api-token-value' });
let prepared: PreparedFunctions | undefined;
try {
  const httpEvent = httpEventText();
  const sqsEvent = sqsEventText(settings.sqs_batch_size);
  const environment = (functionName: string, tracing: boolean, extra: Record<string, string> = {}) =>
    lambdaEnvironment({
      functionName,
      tracing,
      xrayDaemon: sink.address,
      secretsEndpoint: secretsFake.endpoint,
      extra: { BENCH_SECRET_NAME: BENCH_SECRET, ...extra },
    });

  const b = built.bundles;
  const cores: { family: WarmVariant['family']; id: string; bundle: string }[] = [
    { family: 'core', id: 'core', bundle: b.core },
  ];
  if (built.alternative !== undefined) {
    cores.push({ family: 'core-alt', id: 'core-alt', bundle: built.alternative.core });
  }
  const variants: WarmVariant[] = [
    {
      id: 'raw-http',
      family: 'raw',
      trigger: 'http',
      traced: false,
      bundle: b['raw-http'],
      event: httpEvent,
    },
    {
      id: 'stock-http',
      family: 'stock',
      trigger: 'http',
      traced: false,
      bundle: b['stock-http'],
      event: httpEvent,
    },
    ...cores.map(
      (c): WarmVariant => ({ ...c, id: `${c.id}-http`, trigger: 'http', traced: false, event: httpEvent }),
    ),
    {
      id: 'stock-http-no-tracer',
      family: 'stock',
      trigger: 'http',
      traced: false,
      bundle: b['stock-http-no-tracer'],
      event: httpEvent,
    },
    {
      id: 'stock-http-traced',
      family: 'stock',
      trigger: 'http',
      traced: true,
      bundle: b['stock-http'],
      event: httpEvent,
    },
    ...cores.map(
      (c): WarmVariant => ({
        ...c,
        id: `${c.id}-http-traced`,
        trigger: 'http',
        traced: true,
        event: httpEvent,
      }),
    ),
    { id: 'raw-sqs', family: 'raw', trigger: 'sqs', traced: false, bundle: b['raw-sqs'], event: sqsEvent },
    {
      id: 'stock-sqs',
      family: 'stock',
      trigger: 'sqs',
      traced: false,
      bundle: b['stock-sqs'],
      event: sqsEvent,
    },
    {
      id: 'stock-sqs-no-tracer',
      family: 'stock',
      trigger: 'sqs',
      traced: false,
      bundle: b['stock-sqs-no-tracer'],
      event: sqsEvent,
    },
    ...cores.map(
      (c): WarmVariant => ({ ...c, id: `${c.id}-sqs`, trigger: 'sqs', traced: false, event: sqsEvent }),
    ),
  ];
  const warmOptions: WarmOptions = {
    harness: built.harness.warm,
    rounds: settings.rounds,
    warmup: { http: settings.warmup_http, sqs: settings.warmup_sqs },
    slice: { http: settings.slice_http, sqs: settings.slice_sqs },
    environment: (variant) => environment(`bench-${variant.id}`, variant.traced),
    logsDir,
    segmentsReceived: () => sink.received(),
    progress,
  };

  progress('counting output lines per invocation');
  const lines = await countLogLines(variants, warmOptions, 200);

  progress(`warm: ${settings.rounds} rounds of ${variants.length} variants`);
  const warm = await runWarmRounds(variants, warmOptions);

  progress('components');
  const componentsTask = (loadXray: boolean): ComponentsTask => ({
    iterations: settings.component_iterations,
    warmup: Math.round(settings.component_iterations / 5),
    body: JSON.stringify(SAMPLE_INPUT),
    sqsEvent,
    headers: { 'content-type': 'application/json', host: 'api.example.test', ...GATEWAY_HEADERS },
    loadXray,
  });
  const components = await runChild<ComponentsResult>({
    script: built.harness.components,
    task: componentsTask(false),
    env: environment('bench-components', false),
    stderrFile: join(logsDir, 'components.stderr'),
  });
  const componentsWithXray = await runChild<ComponentsResult>({
    script: built.harness.components,
    task: componentsTask(true),
    env: environment('bench-components', false),
    stderrFile: join(logsDir, 'components.stderr'),
  });

  if (!values['skip-functions']) {
    progress("building the repository's functions and starting their peers");
    prepared = await prepareFunctions(root, work, secretsFake);
  }
  let baseline: BaselineFunction[] = [];
  if (prepared !== undefined && values.baseline !== undefined) {
    progress(`building the baseline's functions (${values.baseline})`);
    baseline = await prepareBaselineFunctions(resolve(values.baseline), root, work, prepared);
  }

  progress(`cold: ${settings.cold_runs} rounds`);
  const coldVariants: ColdVariant[] = [
    { id: 'raw-http', bundle: b['raw-http'], event: httpEvent, trigger: 'http' },
    { id: 'raw-secret', bundle: b['raw-secret'], event: httpEvent, trigger: 'http' },
    { id: 'stock-secret', bundle: b['stock-secret'], event: httpEvent, trigger: 'http' },
    { id: 'core', bundle: b.core, event: httpEvent, trigger: 'http' },
    { id: 'core-secret', bundle: b['core-secret'], event: httpEvent, trigger: 'http' },
  ];
  if (built.alternative !== undefined) {
    coldVariants.push(
      { id: 'core-alt', bundle: built.alternative.core, event: httpEvent, trigger: 'http' },
      { id: 'core-alt-secret', bundle: built.alternative.coreSecret, event: httpEvent, trigger: 'http' },
    );
  }
  const variantEnv = new Map<string, Readonly<Record<string, string>>>();
  // The dev stage's NODE_OPTIONS (--enable-source-maps), to show what production saves by leaving it out.
  coldVariants.push({ id: 'core-dev', bundle: b.core, event: httpEvent, trigger: 'http' });
  variantEnv.set('core-dev', { NODE_OPTIONS: stageNodeOptions(root, 'dev') });
  /** Budget functions run in every cold round, the others in every `function_cold_every`-th. */
  const coldEvery = (name: string): number =>
    Object.hasOwn(ISSUE_20_BASELINE.functions_ms, name) ? 1 : settings.function_cold_every;
  for (const fn of prepared?.functions ?? []) {
    const ids = functionColdIds(fn.name);
    const every = coldEvery(fn.name);
    coldVariants.push(
      { id: ids.init, bundle: fn.bundle, trigger: 'http', every },
      { id: ids.health, bundle: fn.bundle, event: fn.healthEvent, trigger: 'http', every },
    );
    variantEnv.set(ids.init, fn.env);
    variantEnv.set(ids.health, fn.env);
  }
  for (const fn of baseline) {
    const current = prepared?.functions.find((candidate) => candidate.name === fn.name);
    if (current === undefined) continue;
    const ids = baselineColdIds(fn.name);
    const every = coldEvery(fn.name);
    coldVariants.push(
      { id: ids.init, bundle: fn.bundle, trigger: 'http', every },
      { id: ids.health, bundle: fn.bundle, event: current.healthEvent, trigger: 'http', every },
    );
    const env = { ...current.env, NODE_OPTIONS: fn.nodeOptions };
    variantEnv.set(ids.init, env);
    variantEnv.set(ids.health, env);
  }
  const cold = await runColdRounds(coldVariants, {
    harness: built.harness.cold,
    floor: built.harness.floor,
    runs: settings.cold_runs,
    environment: (variant) =>
      environment(`bench-${variant?.id ?? 'floor'}`, false, { ...variantEnv.get(variant?.id ?? '') }),
    logsDir,
    progress,
  });

  progress('Secrets Manager calls and connections');
  const secrets = await probeSecrets({
    harness: built.harness.secrets,
    bundle: b['core-secret'],
    event: httpEvent,
    fake: secretsFake,
    environment: (extra) => environment('bench-core-secret', false, extra),
    logsDir,
    maxAgeSeconds: settings.secret_max_age_seconds,
    durationMs: settings.secret_max_age_run_ms,
  });
  const connections = await probeConnections({
    harness: built.harness.connections,
    calls: 100,
    env: environment('bench-connections', false),
    logsDir,
  });

  progress('messaging publish throughput, connector beside the raw client');
  const throughputTask: ThroughputTask = {
    messages: settings.throughput_messages,
    rounds: settings.throughput_rounds,
  };
  // Run from source (Node strips the types): it imports the connectors' clients and the local stack's AWS.
  const throughput = await runChild<ThroughputResult[]>({
    script: join(root, 'scripts', 'bench', 'harness', 'throughput.ts'),
    task: throughputTask,
    env: { PATH: process.env['PATH'] ?? '' },
    stderrFile: join(logsDir, 'throughput.stderr'),
    timeoutMs: 300_000,
  });

  progress(
    values['skip-bulk-load']
      ? 'bulk load: skipped, the previous figures kept (--skip-bulk-load)'
      : `bulk load: ${settings.bulk_load_rows} CSV rows S3 -> PostgreSQL beside psql, ${settings.bulk_load_stream_mib} MiB streamed`,
  );
  const previous = values['skip-bulk-load']
    ? ((await readFile(join(outDir, 'results.json'), 'utf8')
        .then((text) => JSON.parse(text) as { bulk_load?: BulkLoadResult; bulk_load_from?: string })
        .catch(() => undefined)) ?? {})
    : undefined;
  // From source, as throughput.ts: it imports the transform connector and starts the local S3 store.
  const bulkLoad =
    previous !== undefined
      ? previous.bulk_load
      : await runChild<BulkLoadResult>({
          script: join(root, 'scripts', 'bench', 'harness', 'copy.ts'),
          task: {
            rows: settings.bulk_load_rows,
            rounds: settings.bulk_load_rounds,
            streamMib: settings.bulk_load_stream_mib,
          },
          env: { PATH: process.env['PATH'] ?? '', ...pgTestUrl() },
          stderrFile: join(logsDir, 'bulk-load.stderr'),
          // The 1 GiB streaming run took 13 minutes on this machine under load.
          timeoutMs: 7_200_000,
        });

  const results = composeResults({
    mode,
    settings,
    machine: {
      cpus: cpus().length,
      model: cpus()[0]?.model ?? 'unknown',
      loadavg_start: loadAtStart,
      loadavg_end: loadavg().map((load) => Math.round(load * 100) / 100),
    },
    warm,
    lines,
    cold,
    coldRuns: settings.cold_runs,
    functionColdRuns: Math.ceil(settings.cold_runs / settings.function_cold_every),
    budgetFunctionColdRuns: settings.cold_runs,
    secrets,
    connections,
    components: components.components,
    componentsWithXray: componentsWithXray.components,
    sizes: sizes(built, prepared),
    functions: functionSizes(prepared),
    layerStaticImports: built.layer.staticImports,
    layerZodLocales: built.layer.zodLocales,
    hasAlternative: built.alternative !== undefined,
    throughput,
    ...(bulkLoad === undefined ? {} : { bulkLoad }),
    ...(previous === undefined
      ? {}
      : // Its own date is unknown when the harness ran alone and only added the figures to the file.
        { bulkLoadFrom: previous.bulk_load_from ?? 'the previous bench/results.json' }),
  });
  await mkdir(outDir, { recursive: true });
  await writeFile(join(outDir, 'results.json'), `${JSON.stringify(results, null, 2)}\n`);
  await writeFile(join(outDir, 'RESULTS.md'), renderMarkdown(results));
  progress(`wrote ${join(outDir, 'results.json')} and RESULTS.md`);
  // Each connector's README carries its figures: written by a full run into the repository's bench folder
  // only (a test's or a comparison's run must not rewrite the READMEs).
  if (mode === 'full' && outDir === join(root, 'bench') && prepared !== undefined) {
    const changed = await writeFunctionReadmes(root, results, prepared.functions);
    progress(`wrote the figures of ${changed.length} connector READMEs`);
  }
  for (const budget of results.budgets) {
    console.log(
      `${budget.met ? 'met    ' : 'NOT MET'}  ${budget.id} = ${budget.value} (limit ${budget.limit})`,
    );
  }
} finally {
  await prepared?.close();
  await sink.close();
  await secretsFake.close();
}
