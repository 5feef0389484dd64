/**
 * `npm start`: builds, then runs every function of serverless.yml offline with its real triggers.
 *
 *   npm start [-- --no-build] [--stage dev] [--param="key=value"]... [--only s3,postgres]
 *
 * `--param` overrides a serverless.yml param as `serverless deploy --param` does (e.g. the JWT authorizer's
 * issuer, README "JWT authorizers on the local stack").
 *
 * Environment: PORT (HTTP API, default 3000), AWS_PORT (AWS endpoint, default 4566; 0 = any free port),
 * CIRCLE_LOCAL_API_KEY, CIRCLE_LOCAL_DIR (default .local), CIRCLE_BUILD_DIR (default .build),
 * CIRCLE_LOCAL_PG=memory, CIRCLE_LOCAL_VISIBILITY_TIMEOUT and CIRCLE_LOCAL_BATCHING_WINDOW (seconds, every
 * queue and SQS event: short values for tests), CIRCLE_LOCAL_MAX_RECEIVE_COUNT (every redrive policy),
 * CIRCLE_LOCAL_FAST_POISON=1 (visibility = the consuming function's timeout and 2 receives unless those are
 * given: a failing message reaches its DLQ in seconds; the default stays serverless.yml's, as in AWS), CIRCLE_LOG_FORMAT=pretty|json.
 */
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { firstSteps } from './first-steps.ts';
import { createStackLog, type StackLog } from './log.ts';
import { buildDir, localDir, REPO_ROOT } from './paths.ts';
import { type Stack, type StackOptions, startStack } from './stack.ts';

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0 || value > 65_535) {
    throw new Error(`${name} must be a port number (0 for any free port), got "${raw}"`);
  }
  return value;
}

/** A whole number setting from the environment, within bounds; undefined when unset. */
function wholeNumber(name: string, min: number, max: number): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be a whole number from ${min} to ${max}, got "${raw}"`);
  }
  return value;
}

/**
 * Visibility and receives before the DLQ under CIRCLE_LOCAL_FAST_POISON: each queue's visibility is the
 * timeout of the function it triggers (the shortest AWS accepts), never less, so a batch whose connector
 * retries a throttled call inside the invocation is not redelivered while it still runs.
 */
const FAST_POISON = { visibilityTimeoutSeconds: 'function-timeout', maxReceiveCount: 2 } as const;

function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [index, cell] of row.entries()) widths[index] = Math.max(widths[index] ?? 0, cell.length);
  }
  return rows
    .map(
      (row) =>
        `    ${row
          .map((cell, index) => cell.padEnd(widths[index] ?? 0))
          .join('  ')
          .trimEnd()}`,
    )
    .join('\n');
}

/**
 * The start-up summary: addresses, key, and a short table of routes, queues, schedules and workflows.
 *
 * @example
 * ```ts
 * process.stdout.write(summary(stack));
 * ```
 */
export function summary(stack: Stack): string {
  const health = stack.health() as {
    functions: { function: string; state: string; initError?: string }[];
    queues: {
      name: string;
      maxReceiveCount?: number;
      deadLetterQueue?: string;
      mappings: { function: string; batchSize: number; batchingWindowSeconds: number }[];
    }[];
    schedules: { target: string; expression: string; enabled: boolean; next?: string }[];
    stateMachines: { name: string; type: string }[];
  };
  const fromRoot = relative(REPO_ROOT, stack.apiKey.file);
  const keyFile = fromRoot.startsWith('..') ? stack.apiKey.file : fromRoot;
  const lines: string[] = [
    '',
    `Circle Core local stack ready in ${(stack.startedInMs / 1000).toFixed(1)} s (service ${stack.model.service}, stage ${stack.model.stage})`,
    '',
    `  HTTP API      ${stack.apiUrl}   (GET ${stack.apiUrl}/health)`,
    `  Console       ${stack.apiUrl}/_console   (in a browser; sign in with the API key below)`,
    `  AWS endpoint  ${stack.awsUrl}   export AWS_ENDPOINT_URL=${stack.awsUrl}`,
    `  API key       ${stack.apiKey.key}   (${stack.apiKey.source === 'environment' ? 'CIRCLE_LOCAL_API_KEY' : keyFile}; send "Authorization: Bearer <key>")`,
    '',
    '  Functions',
    table(health.functions.map((fn) => [fn.function, fn.state, fn.initError ?? ''])),
    '',
    '  Routes',
    table(
      stack.model.functions.flatMap((fn) =>
        fn.routes.map((route) => [
          route.method,
          route.path,
          fn.key,
          route.jwt !== undefined
            ? `JWT ${route.jwt.authorizer.name}`
            : route.authorized
              ? 'API key'
              : 'open',
        ]),
      ),
    ) || '    (none)',
    '',
    '  Queues',
    table(
      health.queues.map((queue) => [
        queue.name,
        queue.mappings
          .map((m) => `-> ${m.function} (batch ${m.batchSize}, window ${m.batchingWindowSeconds} s)`)
          .join(', ') || '(no consumer)',
        queue.deadLetterQueue === undefined
          ? ''
          : `DLQ ${queue.deadLetterQueue} after ${queue.maxReceiveCount}`,
      ]),
    ) || '    (none)',
    '',
    '  Schedules',
    table(
      health.schedules.map((rule) => [
        rule.target,
        rule.expression,
        rule.enabled ? `next ${rule.next ?? '-'}` : 'disabled',
      ]),
    ) || '    (none)',
    '',
    '  Workflows',
    table(health.stateMachines.map((machine) => [machine.name, machine.type])) || '    (none)',
    '',
    '  Connectors (sandbox: the provider’s contract fake, seeded; CIRCLE_LOCAL_REAL=slack,github for the real ones)',
    table(stack.connectors.map((reach) => [reach.connector, reach.kind, reach.target, reach.note ?? ''])) ||
      '    (none)',
    '',
    '  Stores',
    table(Object.entries(stack.stores).map(([name, url]) => [name, url])),
    '',
    '  Try',
    ...firstSteps(
      stack.apiUrl,
      stack.apiKey.key,
      stack.model.functions.map((fn) => fn.key),
    ).map((step) => `    ${step}`),
    '',
    '  Press Ctrl-C to stop.',
    '',
  ];
  return `${lines.join('\n')}\n`;
}

function options(
  values: { 'no-build'?: boolean; stage?: string; param?: string[]; only?: string },
  log: StackLog,
): StackOptions {
  const seconds = (name: string): number | undefined => {
    const raw = process.env[name];
    return raw === undefined || raw === '' ? undefined : Number(raw);
  };
  const fast = ['1', 'true'].includes(process.env['CIRCLE_LOCAL_FAST_POISON'] ?? '');
  const visibility =
    wholeNumber('CIRCLE_LOCAL_VISIBILITY_TIMEOUT', 0, 43_200) ??
    (fast ? FAST_POISON.visibilityTimeoutSeconds : undefined);
  const maxReceiveCount =
    wholeNumber('CIRCLE_LOCAL_MAX_RECEIVE_COUNT', 1, 1000) ??
    (fast ? FAST_POISON.maxReceiveCount : undefined);
  const batchingWindow = seconds('CIRCLE_LOCAL_BATCHING_WINDOW');
  if (visibility !== undefined || maxReceiveCount !== undefined) {
    log.warn('queues shortened for local runs; AWS uses the values of serverless.yml', {
      visibilityTimeoutSeconds:
        visibility === 'function-timeout'
          ? "each consumer's function timeout"
          : (visibility ?? 'as declared'),
      maxReceiveCount: maxReceiveCount ?? 'as declared',
    });
  }
  return {
    apiPort: port('PORT', 3000),
    awsPort: port('AWS_PORT', 4566),
    build: values['no-build'] !== true,
    localDir: localDir(),
    buildDir: buildDir(),
    log,
    advertise: true,
    postgres: process.env['CIRCLE_LOCAL_PG'] === 'memory' ? 'memory' : 'file',
    ...(values.stage === undefined ? {} : { stage: values.stage }),
    ...(values.param === undefined ? {} : { params: values.param }),
    ...(values.only === undefined ? {} : { only: values.only.split(',').map((key) => key.trim()) }),
    ...(visibility === undefined ? {} : { visibilityTimeoutSeconds: visibility }),
    ...(maxReceiveCount === undefined ? {} : { maxReceiveCount }),
    ...(batchingWindow === undefined ? {} : { batchingWindowSeconds: batchingWindow }),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'no-build': { type: 'boolean', default: false },
      stage: { type: 'string' },
      param: { type: 'string', multiple: true },
      only: { type: 'string' },
    },
    allowPositionals: false,
  });
  const log = createStackLog();
  let stack: Stack | undefined;
  let signals = 0;
  let stopRequested: string | undefined;
  const stop = (signal: string): void => {
    signals += 1;
    if (signals > 1) {
      log.warn('forced exit');
      process.exit(130);
    }
    if (stack === undefined) {
      // Still starting: stop as soon as everything started is known (and can be stopped).
      stopRequested = signal;
      log.info('stopping once started', { signal });
      return;
    }
    log.info('stopping', { signal });
    stack.stop().then(
      () => {
        log.info('stopped');
        process.exit(0);
      },
      (error: unknown) => {
        log.error('stop failed', { error: (error as Error).message });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGHUP', () => stop('SIGHUP'));
  // `kill <npm pid>` ends npm and its shell but not this process: stop when the parent is gone.
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent && signals === 0) stop('parent exited');
  }, 1000).unref();

  try {
    stack = await startStack(options(values, log));
  } catch (error) {
    log.error('the local stack did not start', { error: (error as Error).message });
    process.exit(1);
  }
  if (stopRequested !== undefined) {
    signals = 0;
    stop(stopRequested);
    return;
  }
  // The table is for people: stdout in a terminal, stderr when stdout carries JSON log lines.
  if (log.pretty) log.raw(summary(stack));
  else process.stderr.write(summary(stack));
  log.info('ready', { apiUrl: stack.apiUrl, awsUrl: stack.awsUrl, startedInMs: stack.startedInMs });
}

await main();
