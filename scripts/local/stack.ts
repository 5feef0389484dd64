/**
 * The local stack: every function of serverless.yml run from its build, with its real triggers (HTTP API,
 * SQS event source mappings, schedules, Step Functions) and the AWS services it calls (Secrets Manager,
 * SQS, SNS, EventBridge, Step Functions, Lambda, S3 via s3rver, DynamoDB via dynalite) on one AWS
 * endpoint, plus PGlite when a PostgreSQL function has no server configured.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { iotReach, startLocalIot } from './aws/iot-local.ts';
import { startMessaging } from './aws/messaging.ts';
import { secretsManagerService } from './aws/secrets-manager.ts';
import { type AwsServices, startAwsEndpoint } from './aws/server.ts';
import { localMail, sesService } from './aws/ses.ts';
import { sqsService } from './aws/sqs.ts';
import { stepFunctionsService } from './aws/step-functions.ts';
import { buildModel, LOCAL_ACCOUNT_ID, type LocalFunction, type LocalModel } from './config/model.ts';
import { resolveServerlessConfig } from './config/serverless.ts';
import { createConsole } from './console/server.ts';
import {
  environmentDigests,
  functionEnvironment,
  type LocalEndpoints,
  needsEmbeddedPostgres,
} from './functions/environment.ts';
import { FunctionProcess, type InvokeOutcome } from './functions/function-process.ts';
import { FunctionRegistry } from './functions/registry.ts';
import { prepareRuntime, prepareTaskRoot } from './functions/task-root.ts';
import { loadApiKey } from './gateway/api-key.ts';
import { startHttpApi } from './gateway/http-api.ts';
import { localOpenApi } from './gateway/openapi.ts';
import type { StackLog } from './log.ts';
import { REPO_ROOT, stackFile } from './paths.ts';
import { EventSourceMapping } from './queues/event-source-mapping.ts';
import { MessageMoveTasks } from './queues/message-move.ts';
import { QueueEngine } from './queues/queue-engine.ts';
import { type ProviderState, planProviders, startSandboxes } from './sandboxes/index.ts';
import { Scheduler } from './schedules/scheduler.ts';
import { secretsSummary, startLocalVault, vaultListeners } from './secrets-vault.ts';
import { type ConnectorReach, controlRoutes, healthReport, type Listener } from './stack-report.ts';
import { type LocalBrokers, startLocalBrokers } from './stores/brokers.ts';
import { type EmbeddedStore, startDynamo, startPostgres, startS3 } from './stores/embedded.ts';
import {
  applyMysqlEnvironment,
  localMysqlUrl,
  MYSQL_ABSENT,
  mysqlAnswers,
  needsLocalMysql,
} from './stores/mariadb.ts';
import { applyRedisEnvironment, type LocalRedis, localRedisSummary, planLocalRedis } from './stores/redis.ts';
import { SecretStore } from './stores/secret-store.ts';
import { StepFunctionsEngine } from './workflows/step-functions.ts';

/** How to start the stack. */
export interface StackOptions {
  /** HTTP API port (0 = any free port). */
  apiPort: number;
  /** AWS endpoint port (0 = any free port). */
  awsPort: number;
  /** Run `npm run build` first. */
  build: boolean;
  localDir: string;
  buildDir: string;
  log: StackLog;
  stage?: string;
  /** `key=value` overrides of serverless.yml params (`npm start -- --param="key=value"`). */
  params?: string[];
  /** Only these functions (keys); all when absent. */
  only?: string[];
  /**
   * Replaces the VisibilityTimeout of the queues from serverless.yml (seconds), e.g. for tests; or
   * `function-timeout` (CIRCLE_LOCAL_FAST_POISON): each queue's is the longest timeout of the functions it
   * triggers, as short as AWS allows (visibility >= function timeout), so a batch never reappears while it
   * still runs (a connector retrying a throttled call inside the invocation); 2 s for a queue without one.
   */
  visibilityTimeoutSeconds?: number | 'function-timeout';
  /** Replaces every SQS event's maximumBatchingWindow (seconds), e.g. for tests. */
  batchingWindowSeconds?: number;
  /** Replaces the maxReceiveCount of every redrive policy, so poison reaches a DLQ sooner. */
  maxReceiveCount?: number;
  /** `memory` keeps PGlite's data in memory instead of `<localDir>/pg`. */
  postgres?: 'file' | 'memory';
  /** Write `<localDir>/stack.json` so the CLI scripts find this stack (the `npm start` stack does). */
  advertise?: boolean;
  env?: NodeJS.ProcessEnv;
}

/** A running stack. */
export interface Stack {
  apiUrl: string;
  awsUrl: string;
  apiKey: { key: string; source: string; file: string };
  model: LocalModel;
  functions: FunctionRegistry;
  scheduler: Scheduler;
  workflows: StepFunctionsEngine;
  stores: Record<string, string>;
  /** Per connector: a sandbox, an embedded engine, the machine's server or the real provider. */
  connectors: ConnectorReach[];
  startedInMs: number;
  /** Invokes a function by key, name or ARN; undefined when there is no such function. */
  invoke(nameOrArn: string, event: unknown): Promise<InvokeOutcome | undefined>;
  health(): Record<string, unknown>;
  stop(): Promise<void>;
}

function runBuild(log: StackLog, env: NodeJS.ProcessEnv, outDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    log.info('building (npm run build)');
    const child = spawn('npm', ['run', '--silent', 'build', '--', '--out-dir', outDir], {
      cwd: REPO_ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    const collect = (chunk: Buffer): void => {
      output.push(chunk.toString('utf8'));
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`npm run build failed (exit ${code}):\n${output.join('').trim().slice(-4000)}`));
    });
  });
}

async function listen<T>(what: string, port: number, variable: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw new Error(
        `${what}: port ${port} is in use (another stack?); set ${variable} to another port, or 0 for any`,
      );
    }
    throw error;
  }
}

/** Stop steps, run in reverse order of start; a failing step does not stop the others. */
class Cleanups {
  readonly #steps: (() => Promise<void> | void)[] = [];
  readonly #log: StackLog;

  constructor(log: StackLog) {
    this.#log = log;
  }

  push(step: () => Promise<void> | void): void {
    this.#steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.#steps.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        this.#log.warn('stop step failed', { error: (error as Error).message });
      }
    }
  }
}

/** Invokes a function by key, name or ARN (the registry is filled once the functions exist). */
type Invoker = (nameOrArn: string, event: unknown) => Promise<InvokeOutcome | undefined>;

function notFound(key: string): InvokeOutcome {
  return {
    requestId: '',
    durationMs: 0,
    logTail: '',
    error: { errorType: 'ResourceNotFoundException', errorMessage: `no function ${key}` },
  };
}

/** Two stacks on one state folder would fight over its LevelDB and PGlite files. */
export async function refuseSecondStack(dir: string): Promise<void> {
  let pid: number;
  try {
    pid = (JSON.parse(await readFile(stackFile(dir), 'utf8')) as { pid: number }).pid;
  } catch {
    return;
  }
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: the process lives but belongs to another user; still a live stack.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return;
  }
  throw new Error(
    `a local stack already runs with ${dir} (pid ${pid}); stop it, or set CIRCLE_LOCAL_DIR for another one`,
  );
}

/** A schedule rule targeting a state machine starts an execution with the rule's event as input. */
function startScheduledExecution(
  workflows: StepFunctionsEngine,
  name: string,
  event: unknown,
): InvokeOutcome {
  try {
    const execution = workflows.start(workflows.machine(name).arn, JSON.stringify(event));
    return {
      requestId: execution.name,
      durationMs: 0,
      logTail: '',
      payload: JSON.stringify({ executionArn: execution.arn, startDate: execution.startedAt / 1000 }),
    };
  } catch (error) {
    return {
      requestId: '',
      durationMs: 0,
      logTail: '',
      error: {
        errorType: (error as { type?: string }).type ?? 'Error',
        errorMessage: (error as Error).message,
      },
    };
  }
}

async function loadModel(options: StackOptions, shell: NodeJS.ProcessEnv, awsUrl: string) {
  const [, resolved] = await Promise.all([
    options.build ? runBuild(options.log, shell, options.buildDir) : Promise.resolve(),
    resolveServerlessConfig({
      awsEndpoint: awsUrl,
      cacheDir: options.localDir,
      ...(options.stage ? { stage: options.stage } : {}),
      ...(options.params ? { params: options.params } : {}),
    }),
  ]);
  const model = buildModel(resolved.config, { awsUrl });
  for (const warning of model.warnings) options.log.warn(warning);
  const only = options.only;
  if (only === undefined) return { model, selected: model.functions };
  const selected = model.functions.filter((fn) => only.includes(fn.key));
  const unknown = only.filter((key) => !selected.some((fn) => fn.key === key));
  if (unknown.length > 0) {
    const known = model.functions.map((fn) => fn.key).join(', ');
    throw new Error(`unknown function ${unknown.join(', ')}; serverless.yml has: ${known}`);
  }
  return { model, selected };
}

/** The longest timeout (whole seconds) of the functions a queue triggers; undefined when none does. */
function consumersTimeoutSeconds(model: LocalModel, queueName: string): number | undefined {
  const timeouts = model.functions
    .filter((fn) => fn.queues.some((mapping) => mapping.queueName === queueName))
    .map((fn) => Math.ceil(fn.timeoutSeconds));
  return timeouts.length === 0 ? undefined : Math.max(...timeouts);
}

function createQueues(model: LocalModel, awsUrl: string, options: StackOptions): QueueEngine {
  const engine = new QueueEngine({ region: model.region, accountId: LOCAL_ACCOUNT_ID, baseUrl: awsUrl });
  for (const queue of model.queues) {
    const attributes = { ...queue.attributes };
    if (options.visibilityTimeoutSeconds === 'function-timeout') {
      attributes['VisibilityTimeout'] = String(consumersTimeoutSeconds(model, queue.name) ?? 2);
    } else if (options.visibilityTimeoutSeconds !== undefined) {
      attributes['VisibilityTimeout'] = String(options.visibilityTimeoutSeconds);
    }
    const redrive = attributes['RedrivePolicy'];
    if (options.maxReceiveCount !== undefined && redrive !== undefined && redrive !== '') {
      const policy = JSON.parse(redrive) as Record<string, unknown>;
      attributes['RedrivePolicy'] = JSON.stringify({ ...policy, maxReceiveCount: options.maxReceiveCount });
    }
    engine.create(queue.name, attributes);
  }
  return engine;
}

async function startStores(
  options: StackOptions,
  model: LocalModel,
  withPostgres: boolean,
  cleanups: Cleanups,
): Promise<{ s3: EmbeddedStore; dynamo: EmbeddedStore; postgres: EmbeddedStore | undefined }> {
  const [s3, dynamo, postgres] = await Promise.all([
    startS3({ directory: join(options.localDir, 's3'), buckets: model.buckets }),
    startDynamo({
      directory: join(options.localDir, 'dynamodb'),
      tables: model.tables,
      region: model.region,
    }),
    withPostgres
      ? startPostgres({ directory: options.postgres === 'memory' ? undefined : join(options.localDir, 'pg') })
      : Promise.resolve(undefined),
  ]);
  cleanups.push(() => s3.close());
  cleanups.push(() => dynamo.close());
  if (postgres !== undefined) cleanups.push(() => postgres.close());
  return { s3, dynamo, postgres };
}

async function startFunctions(
  options: StackOptions,
  selected: LocalFunction[],
  context: {
    model: LocalModel;
    endpoints: LocalEndpoints;
    shell: NodeJS.ProcessEnv;
    embeddedPostgres: Set<string>;
    localMysql: { url: string; functions: Set<string> };
    localRedis: { url: string; functions: Set<string> };
    localBrokers: LocalBrokers;
  },
  cleanups: Cleanups,
): Promise<FunctionProcess[]> {
  const runtimeRoot = await mkdtemp(join(tmpdir(), 'circle-core-local-'));
  cleanups.push(() => rm(runtimeRoot, { recursive: true, force: true }));
  const modules = await prepareRuntime({
    buildDir: options.buildDir,
    root: runtimeRoot,
    repoRoot: REPO_ROOT,
  });
  const processes: FunctionProcess[] = [];
  for (const fn of selected) {
    const taskRoot = join(runtimeRoot, 'task', fn.key);
    await prepareTaskRoot({ buildDir: options.buildDir, key: fn.key, target: taskRoot, modules });
    const env = functionEnvironment(fn, context.endpoints, {
      region: context.model.region,
      shell: context.shell,
      taskRoot,
      embeddedPostgres: context.embeddedPostgres.has(fn.key),
    });
    // Shortened redrive policies (CIRCLE_LOCAL_FAST_POISON): the connectors' last receive comes sooner too.
    if (options.maxReceiveCount !== undefined && env['CIRCLE_MAX_RECEIVE_COUNT'] !== undefined) {
      env['CIRCLE_MAX_RECEIVE_COUNT'] = String(options.maxReceiveCount);
    }
    const { localMysql } = context;
    applyMysqlEnvironment(
      fn,
      env,
      context.shell,
      localMysql.functions.has(fn.key) ? localMysql.url : undefined,
    );
    const { localRedis } = context;
    applyRedisEnvironment(fn, env, localRedis.functions.has(fn.key) ? localRedis.url : undefined);
    context.localBrokers.apply(fn, env);
    processes.push(new FunctionProcess(fn, { taskRoot, env, log: options.log }));
  }
  cleanups.push(() => Promise.all(processes.map((fn) => fn.stop())).then(() => undefined));
  await Promise.all(
    processes.map((fn) =>
      fn.start().catch((error: unknown) =>
        options.log.error('function init failed', {
          function: fn.spec.key,
          error: (error as Error).message,
        }),
      ),
    ),
  );
  return processes;
}

function startWorkflows(
  model: LocalModel,
  invoke: Invoker,
  engine: QueueEngine,
  log: StackLog,
): StepFunctionsEngine {
  const workflows = new StepFunctionsEngine({
    region: model.region,
    accountId: LOCAL_ACCOUNT_ID,
    invoke,
    sendMessage: (queueUrl, body, groupId) => {
      const result = engine.byUrl(queueUrl).send({ body, groupId });
      return { MessageId: result.messageId, MD5OfMessageBody: result.md5OfBody };
    },
    log,
  });
  for (const machine of model.stateMachines) {
    try {
      workflows.create(machine.name, machine.definition, { type: machine.type });
    } catch (error) {
      log.error('state machine not loaded', { stateMachine: machine.name, error: (error as Error).message });
    }
  }
  return workflows;
}

function startMappings(
  options: StackOptions,
  selected: LocalFunction[],
  context: { engine: QueueEngine; registry: FunctionRegistry; region: string },
  cleanups: Cleanups,
): EventSourceMapping[] {
  const mappings: EventSourceMapping[] = [];
  for (const fn of selected) {
    const target = context.registry.find(fn.key) as FunctionProcess;
    for (const spec of fn.queues) {
      const queue = context.engine.get(spec.queueName);
      if (queue === undefined) {
        options.log.warn('sqs event of an unknown queue ignored', {
          function: fn.key,
          queue: spec.queueName,
        });
        continue;
      }
      const windowed =
        options.batchingWindowSeconds === undefined
          ? spec
          : { ...spec, batchingWindowSeconds: options.batchingWindowSeconds };
      const mapping = new EventSourceMapping(windowed, queue, {
        invoke: (event) => target.invoke(event),
        region: context.region,
        log: options.log,
      });
      mappings.push(mapping);
      mapping.start();
    }
  }
  // Batches in flight get a moment to settle; their messages would reappear anyway.
  cleanups.push(() =>
    Promise.race([
      Promise.all(mappings.map((mapping) => mapping.stop())).then(() => undefined),
      new Promise<void>((resolve) => setTimeout(resolve, 3000).unref()),
    ]),
  );
  return mappings;
}

function providerReach(connector: string, provider: ProviderState): ConnectorReach {
  const kinds = { sandbox: 'sandbox', real: 'real', shell: 'configured' } as const;
  return {
    connector,
    kind: kinds[provider.mode],
    target: provider.mode === 'real' ? `real ${provider.provider} (${provider.url})` : provider.url,
    ...(provider.note === undefined ? {} : { note: provider.note }),
  };
}

/** What each selected connector talks to, for `/health` and the start-up banner. */
function connectorReach(
  selected: LocalFunction[],
  reach: {
    providers: ProviderState[];
    s3: string;
    postgres: { url: string; functions: Set<string> } | undefined;
    mysql: { url: string; functions: Set<string>; up: boolean };
    redis: LocalRedis;
    brokers: LocalBrokers;
  },
): ConnectorReach[] {
  return selected.map((fn): ConnectorReach => {
    const provider = reach.providers.find((state) => fn.key === state.provider);
    if (provider !== undefined) return providerReach(fn.key, provider);
    const broker = reach.brokers.reach.get(fn.key);
    if (broker !== undefined) return broker;
    if (fn.key === 's3') return { connector: fn.key, kind: 'embedded', target: `s3rver ${reach.s3}` };
    if (reach.postgres?.functions.has(fn.key)) {
      return { connector: fn.key, kind: 'embedded', target: `PGlite ${reach.postgres.url}` };
    }
    if (reach.mysql.functions.has(fn.key)) {
      return {
        connector: fn.key,
        kind: 'machine',
        target: `the machine's MariaDB ${reach.mysql.url}${reach.mysql.up ? '' : ' (NOT RUNNING)'}`,
      };
    }
    if (reach.redis.functions.has(fn.key)) {
      return {
        connector: fn.key,
        kind: 'machine',
        target: `the machine's Redis ${reach.redis.url}${reach.redis.up ? '' : ' (NOT RUNNING)'}`,
      };
    }
    return { connector: fn.key, kind: 'configured', target: 'its own settings and secrets' };
  });
}

/**
 * Starts the whole stack and resolves once every function finished its init (or failed it).
 *
 * @example
 * ```ts
 * const stack = await startStack({ apiPort: 3000, awsPort: 4566, build: true, localDir: '.local', buildDir: '.build', log });
 * // ... later
 * await stack.stop();
 * ```
 */
export async function startStack(options: StackOptions): Promise<Stack> {
  const started = Date.now();
  const { log } = options;
  const shell = options.env ?? process.env;
  await mkdir(options.localDir, { recursive: true, mode: 0o700 });
  const cleanups = new Cleanups(log);
  try {
    // Every stack, advertised or temporary (a CLI command's), refuses a state folder a live stack uses.
    await refuseSecondStack(options.localDir);
    if (options.advertise) {
      // Said early, so a CLI command run during start-up waits instead of starting a second stack.
      const file = stackFile(options.localDir);
      await writeFile(file, `${JSON.stringify({ pid: process.pid, status: 'starting' })}\n`);
      cleanups.push(() => rm(file, { force: true }));
    }
    // The endpoints listen first: the Serverless CLI resolves ${aws:accountId} against the AWS one.
    const services: AwsServices = { accountId: LOCAL_ACCOUNT_ID };
    const aws = await listen('AWS endpoint', options.awsPort, 'AWS_PORT', () =>
      startAwsEndpoint({ port: options.awsPort, services, log }),
    );
    cleanups.push(() => aws.close());
    const secretStore = new SecretStore(join(options.localDir, 'secrets.json'));
    services.secretsManager = secretsManagerService(secretStore, shell['AWS_REGION'] ?? 'us-east-1');
    const apiKey = await loadApiKey(options.localDir, shell);
    let registry = new FunctionRegistry([]);
    let report: () => Record<string, unknown> = () => ({ status: 'starting' });
    let openApi: unknown;
    const invoke: Invoker = async (nameOrArn, event) => registry.find(nameOrArn)?.invoke(event);
    const api = await listen('HTTP API', options.apiPort, 'PORT', () =>
      startHttpApi({
        port: options.apiPort,
        apiKey: apiKey.key,
        invoke: async (key, event, streaming) =>
          (streaming === undefined
            ? await invoke(key, event)
            : await registry.find(key)?.invoke(event, streaming)) ?? notFound(key),
        timeoutMsOf: (key) => (registry.find(key)?.spec.timeoutSeconds ?? 30) * 1000,
        health: () => report(),
        openApi: () => openApi,
        log,
      }),
    );
    cleanups.push(() => api.close());
    openApi = await localOpenApi(REPO_ROOT, api.url);

    const { model, selected } = await loadModel(options, shell, aws.url);
    const engine = createQueues(model, aws.url, options);
    const moves = new MessageMoveTasks(engine);
    services.sqs = sqsService(engine, moves);
    startMessaging(model, engine, services, { invoke, log });
    services.mail = localMail(model, LOCAL_ACCOUNT_ID);
    services.ses = sesService(services.mail);
    // Athena: its JSON API on the AWS endpoint, the SQL on DuckDB over the S3 store (aws/athena-local.ts).
    const { startLocalAthena } = await import('./aws/athena-local.ts');
    const athena = await startLocalAthena(() => services.s3Endpoint, model.region);
    cleanups.push(() => athena.close());
    services.athena = athena.service;
    const secretNames = new Set(
      (await secretStore.list())
        .filter((secret) => secret.deletedAt === undefined)
        .map((secret) => secret.name),
    );
    const embeddedPostgres = new Set(
      selected.filter((fn) => needsEmbeddedPostgres(fn, shell, secretNames)).map((fn) => fn.key),
    );
    const { s3, dynamo, postgres } = await startStores(options, model, embeddedPostgres.size > 0, cleanups);
    const localMysql = {
      url: localMysqlUrl(shell),
      functions: new Set(
        selected.filter((fn) => needsLocalMysql(fn, shell, secretNames)).map((fn) => fn.key),
      ),
    };
    const mysqlUp = localMysql.functions.size > 0 && (await mysqlAnswers(localMysql.url));
    if (localMysql.functions.size > 0 && !mysqlUp) log.warn(MYSQL_ABSENT, { url: localMysql.url });
    const localRedis = await planLocalRedis(selected, shell, secretNames, (message, fields) =>
      log.warn(message, fields),
    );
    const localBrokers = await startLocalBrokers(selected, shell, secretStore, (message, fields) =>
      log.warn(message, fields),
    );
    cleanups.push(() => localBrokers.close());
    // AWS IoT Core: the data plane on the AWS endpoint, its broker, and the IoT rules of the selected functions.
    const localIot = await startLocalIot({ selected, model, engine, warn: (message) => log.warn(message) });
    cleanups.push(() => localIot.close());
    services.iotData = localIot.service;
    services.s3Endpoint = s3.url;
    services.dynamodbEndpoint = dynamo.url;
    const sandboxes = await startSandboxes(planProviders(selected, shell), secretStore, shell);
    cleanups.push(() => sandboxes.close());
    const vault = await startLocalVault(shell, secretStore, (message, fields) => log.info(message, fields));
    cleanups.push(async () => vault?.close());
    const endpoints: LocalEndpoints = {
      aws: aws.url,
      s3: s3.url,
      dynamodb: dynamo.url,
      sandboxes: sandboxes.variables,
      secretsBackend: vault?.variables,
    };
    if (postgres !== undefined) endpoints.postgres = postgres.url;
    const connectors = connectorReach(selected, {
      providers: sandboxes.providers,
      s3: s3.url,
      postgres: postgres === undefined ? undefined : { url: postgres.url, functions: embeddedPostgres },
      mysql: { url: localMysql.url, functions: localMysql.functions, up: mysqlUp },
      redis: localRedis,
      brokers: localBrokers,
    });
    const iotAt = connectors.findIndex((reach) => reach.connector === 'iot-core');
    if (iotAt >= 0) connectors[iotAt] = iotReach(localIot, aws.url);

    const processes = await startFunctions(
      options,
      selected,
      { model, endpoints, shell, embeddedPostgres, localMysql, localRedis, localBrokers },
      cleanups,
    );
    registry = new FunctionRegistry(processes);
    services.functions = registry;
    const workflows = startWorkflows(model, invoke, engine, log);
    services.stepFunctions = stepFunctionsService(workflows);
    const mappings = startMappings(options, selected, { engine, registry, region: model.region }, cleanups);
    const scheduler = new Scheduler(
      [
        ...selected.flatMap((fn) => fn.schedules),
        ...model.stateMachines.flatMap((machine) => machine.schedules),
      ],
      {
        invoke: async (rule, event) =>
          rule.kind === 'stateMachine'
            ? startScheduledExecution(workflows, rule.target, event)
            : ((await invoke(rule.target, event)) ?? notFound(rule.target)),
        region: model.region,
        accountId: LOCAL_ACCOUNT_ID,
        log,
      },
    );
    scheduler.start();
    cleanups.push(() => scheduler.stop());

    const stores: Record<string, string> = {
      s3: s3.url,
      dynamodb: dynamo.url,
      postgres: postgres?.url ?? 'not started (every PostgreSQL function has PG_URL or a stored PG_SECRET)',
      mysql:
        localMysql.functions.size === 0
          ? 'not used (every MySQL function has MYSQL_URL or a stored MYSQL_SECRET)'
          : `${localMysql.url} (the machine's MariaDB${mysqlUp ? '' : ': NOT RUNNING'})`,
      redis: localRedisSummary(localRedis),
      brokers: localBrokers.summary(),
      secrets: secretsSummary(aws.url, secretStore.file, vault),
      sqs: aws.url,
      sns: aws.url,
      ses: aws.url,
      iotData: `${aws.url} (MQTT: ${localIot.broker})`,
      eventBridge: aws.url,
      stepFunctions: aws.url,
      lambda: aws.url,
    };
    const listeners: Listener[] = [
      { name: 'HTTP API', url: api.url, protocol: 'http' },
      { name: 'AWS endpoint', url: aws.url, protocol: 'http' },
      { name: 'S3 (s3rver)', url: s3.url, protocol: 'http' },
      { name: 'DynamoDB (dynalite)', url: dynamo.url, protocol: 'http' },
    ];
    if (postgres !== undefined)
      listeners.push({ name: 'PostgreSQL (PGlite)', url: postgres.url, protocol: 'postgresql' });
    for (const sandbox of sandboxes.listeners) listeners.push({ ...sandbox, protocol: 'http' });
    listeners.push(...vaultListeners(vault));
    const sources = {
      apiUrl: api.url,
      awsUrl: aws.url,
      listeners,
      functions: selected,
      processes,
      queues: engine,
      mappings,
      scheduler,
      workflows,
      stores,
      connectors,
    };
    report = () => healthReport(sources);
    services.control = controlRoutes({ health: report, scheduler });
    api.setConsole(
      createConsole({
        apiUrl: api.url,
        apiKey: apiKey.key,
        health: report,
        openApi: () => openApi,
        processes,
        queues: engine,
        moves,
        scheduler,
        workflows,
        log,
        mail: services.mail,
      }),
    );
    api.setRoutes(selected.flatMap((fn) => fn.routes));

    if (options.advertise) {
      const advertised = {
        pid: process.pid,
        status: 'ready',
        apiUrl: api.url,
        awsUrl: aws.url,
        startedAt: new Date().toISOString(),
        stage: model.stage,
        region: model.region,
        // Digests, not values: the CLI compares its shell with what each function got (PG_URL, ...).
        environments: Object.fromEntries(
          processes.map((fn) => [fn.spec.key, environmentDigests(fn.spec, fn.environment)]),
        ),
      };
      await writeFile(stackFile(options.localDir), `${JSON.stringify(advertised, null, 2)}\n`);
    }

    let stopping: Promise<void> | undefined;
    return {
      apiUrl: api.url,
      awsUrl: aws.url,
      apiKey,
      model,
      functions: registry,
      scheduler,
      workflows,
      stores,
      connectors,
      startedInMs: Date.now() - started,
      invoke,
      health: () => report(),
      stop: () => {
        stopping ??= cleanups.run();
        return stopping;
      },
    };
  } catch (error) {
    await cleanups.run();
    throw error;
  }
}
