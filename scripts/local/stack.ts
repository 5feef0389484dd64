/**
 * The local stack: every function of serverless.yml run from its build, with its real triggers (HTTP API,
 * SQS event source mappings, schedules, Step Functions) and the AWS services it calls (Secrets Manager,
 * SQS, Step Functions, Lambda, S3 via s3rver, DynamoDB via dynalite) on one AWS endpoint, plus PGlite
 * when a PostgreSQL function has no server configured.
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { secretsManagerService } from './aws/secrets-manager.ts';
import { type AwsEndpoint, type AwsServices, startAwsEndpoint } from './aws/server.ts';
import { sqsService } from './aws/sqs.ts';
import { stepFunctionsService } from './aws/step-functions.ts';
import { buildModel, LOCAL_ACCOUNT_ID, type LocalModel } from './config/model.ts';
import { resolveServerlessConfig } from './config/serverless.ts';
import { functionEnvironment, type LocalEndpoints, needsEmbeddedPostgres } from './functions/environment.ts';
import { FunctionProcess, type InvokeOutcome } from './functions/function-process.ts';
import { FunctionRegistry } from './functions/registry.ts';
import { prepareTaskRoot } from './functions/task-root.ts';
import { loadApiKey } from './gateway/api-key.ts';
import { type HttpApi, startHttpApi } from './gateway/http-api.ts';
import type { StackLog } from './log.ts';
import { REPO_ROOT, stackFile } from './paths.ts';
import { EventSourceMapping } from './queues/event-source-mapping.ts';
import { QueueEngine } from './queues/queue-engine.ts';
import { Scheduler } from './schedules/scheduler.ts';
import { type EmbeddedStore, startDynamo, startPostgres, startS3 } from './stores/embedded.ts';
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
  /** Only these functions (keys); all when absent. */
  only?: string[];
  /** Replaces the VisibilityTimeout of the queues from serverless.yml (seconds), e.g. for tests. */
  visibilityTimeoutSeconds?: number;
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
  const cleanups: (() => Promise<void> | void)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const step of cleanups.splice(0).reverse()) {
      try {
        await step();
      } catch (error) {
        log.warn('stop step failed', { error: (error as Error).message });
      }
    }
  };

  try {
    const services: AwsServices = { accountId: LOCAL_ACCOUNT_ID };
    const aws: AwsEndpoint = await listen('AWS endpoint', options.awsPort, 'AWS_PORT', () =>
      startAwsEndpoint({ port: options.awsPort, services, log }),
    );
    cleanups.push(() => aws.close());

    const secretStore = new SecretStore(join(options.localDir, 'secrets.json'));
    const region = shell['AWS_REGION'] ?? 'us-east-1';
    services.secretsManager = secretsManagerService(secretStore, region);

    const apiKey = await loadApiKey(options.localDir, shell);
    let registry = new FunctionRegistry([]);
    let healthReport: () => Record<string, unknown> = () => ({ status: 'starting' });
    const invoke = async (nameOrArn: string, event: unknown): Promise<InvokeOutcome | undefined> =>
      registry.find(nameOrArn)?.invoke(event);
    const api: HttpApi = await listen('HTTP API', options.apiPort, 'PORT', () =>
      startHttpApi({
        port: options.apiPort,
        apiKey: apiKey.key,
        invoke: async (key, event) =>
          (await invoke(key, event)) ?? {
            requestId: '',
            durationMs: 0,
            logTail: '',
            error: { errorType: 'ResourceNotFoundException', errorMessage: `no function ${key}` },
          },
        timeoutMsOf: (key) => (registry.find(key)?.spec.timeoutSeconds ?? 30) * 1000,
        health: () => healthReport(),
        log,
      }),
    );
    cleanups.push(() => api.close());

    const [, resolved] = await Promise.all([
      options.build ? runBuild(log, shell, options.buildDir) : Promise.resolve(),
      resolveServerlessConfig({
        awsEndpoint: aws.url,
        cacheDir: options.localDir,
        ...(options.stage ? { stage: options.stage } : {}),
      }),
    ]);
    const model = buildModel(resolved.config, { awsUrl: aws.url });
    for (const warning of model.warnings) log.warn(warning);
    const selected =
      options.only === undefined
        ? model.functions
        : model.functions.filter((fn) => options.only?.includes(fn.key));
    if (options.only !== undefined && selected.length !== options.only.length) {
      const known = model.functions.map((fn) => fn.key).join(', ');
      throw new Error(
        `unknown function ${options.only.filter((key) => !selected.some((fn) => fn.key === key)).join(', ')}; serverless.yml has: ${known}`,
      );
    }

    // Queues first: functions may read their URLs at init.
    const engine = new QueueEngine({ region: model.region, accountId: LOCAL_ACCOUNT_ID, baseUrl: aws.url });
    for (const queue of model.queues) {
      const attributes = { ...queue.attributes };
      if (options.visibilityTimeoutSeconds !== undefined) {
        attributes['VisibilityTimeout'] = String(options.visibilityTimeoutSeconds);
      }
      engine.create(queue.name, attributes);
    }
    services.sqs = sqsService(engine);

    const secretNames = new Set(
      (await secretStore.list()).filter((s) => s.deletedAt === undefined).map((s) => s.name),
    );
    const embeddedPostgres = new Set(
      selected.filter((fn) => needsEmbeddedPostgres(fn, shell, secretNames)).map((fn) => fn.key),
    );
    const [s3, dynamo, postgres] = await Promise.all([
      startS3({ directory: join(options.localDir, 's3'), buckets: model.buckets }),
      startDynamo({
        directory: join(options.localDir, 'dynamodb'),
        tables: model.tables,
        region: model.region,
      }),
      embeddedPostgres.size > 0
        ? startPostgres({
            directory: options.postgres === 'memory' ? undefined : join(options.localDir, 'pg'),
          })
        : Promise.resolve(undefined as EmbeddedStore | undefined),
    ]);
    cleanups.push(() => s3.close());
    cleanups.push(() => dynamo.close());
    if (postgres !== undefined) cleanups.push(() => postgres.close());
    services.s3Endpoint = s3.url;
    services.dynamodbEndpoint = dynamo.url;
    const endpoints: LocalEndpoints = { aws: aws.url, s3: s3.url, dynamodb: dynamo.url };
    if (postgres !== undefined) endpoints.postgres = postgres.url;

    const runtimeRoot = await mkdtemp(join(tmpdir(), 'circle-core-local-'));
    cleanups.push(() => rm(runtimeRoot, { recursive: true, force: true }));
    const processes: FunctionProcess[] = [];
    for (const fn of selected) {
      const taskRoot = join(runtimeRoot, fn.key);
      await prepareTaskRoot({
        buildDir: options.buildDir,
        key: fn.key,
        target: taskRoot,
        repoRoot: REPO_ROOT,
      });
      const env = functionEnvironment(fn, endpoints, {
        region: model.region,
        shell,
        taskRoot,
        embeddedPostgres: embeddedPostgres.has(fn.key),
      });
      processes.push(new FunctionProcess(fn, { taskRoot, env, log }));
    }
    registry = new FunctionRegistry(processes);
    services.functions = registry;
    cleanups.push(() => Promise.all(processes.map((fn) => fn.stop())).then(() => undefined));
    await Promise.all(
      processes.map((fn) =>
        fn
          .start()
          .catch((error: unknown) =>
            log.error('function init failed', { function: fn.spec.key, error: (error as Error).message }),
          ),
      ),
    );

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
        log.error('state machine not loaded', {
          stateMachine: machine.name,
          error: (error as Error).message,
        });
      }
    }
    services.stepFunctions = stepFunctionsService(workflows);

    const mappings: EventSourceMapping[] = [];
    for (const fn of selected) {
      for (const spec of fn.queues) {
        const queue = engine.get(spec.queueName);
        if (queue === undefined) {
          log.warn('sqs event of an unknown queue ignored', { function: fn.key, queue: spec.queueName });
          continue;
        }
        const target = registry.find(fn.key) as FunctionProcess;
        const mapping = new EventSourceMapping(spec, queue, {
          invoke: (event) => target.invoke(event),
          region: model.region,
          log,
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

    const scheduler = new Scheduler(
      selected.flatMap((fn) => fn.schedules),
      {
        invoke: async (key, event) =>
          (await invoke(key, event)) ?? {
            requestId: '',
            durationMs: 0,
            logTail: '',
            error: { errorType: 'ResourceNotFoundException', errorMessage: `no function ${key}` },
          },
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
      secrets: `${aws.url} (Secrets Manager) over ${secretStore.file}`,
      sqs: aws.url,
      stepFunctions: aws.url,
      lambda: aws.url,
    };
    healthReport = () => ({
      status: processes.every((fn) => fn.state === 'ready') ? 'ok' : 'degraded',
      api: api.url,
      aws: aws.url,
      functions: processes.map((fn) => ({
        function: fn.spec.key,
        name: fn.spec.name,
        arn: fn.spec.arn,
        state: fn.state,
        ...(fn.initError === undefined ? {} : { initError: fn.initError }),
        timeoutSeconds: fn.spec.timeoutSeconds,
      })),
      routes: selected.flatMap((fn) =>
        fn.routes.map((route) => ({
          function: fn.key,
          method: route.method,
          path: route.path,
          auth: route.authorized ? 'local API key' : 'open',
        })),
      ),
      queues: engine.list().map((queue) => {
        const counts = queue.counts();
        const redrive = queue.redrivePolicy;
        return {
          name: queue.name,
          url: queue.url,
          arn: queue.arn,
          visibilityTimeoutSeconds: queue.visibilityTimeoutSeconds,
          ...counts,
          ...(redrive === undefined
            ? {}
            : {
                deadLetterQueue: redrive.deadLetterTargetArn.split(':').pop(),
                maxReceiveCount: redrive.maxReceiveCount,
              }),
          mappings: mappings
            .filter((mapping) => mapping.queue === queue)
            .map((mapping) => ({
              function: mapping.spec.functionKey,
              batchSize: mapping.spec.batchSize,
              batchingWindowSeconds: mapping.spec.batchingWindowSeconds,
              reportBatchItemFailures: mapping.spec.reportBatchItemFailures,
              ...mapping.stats,
            })),
        };
      }),
      schedules: scheduler.describe(),
      stateMachines: workflows
        .machines()
        .map((machine) => ({ name: machine.name, arn: machine.arn, type: machine.type })),
      stores,
    });

    services.control = async (req: IncomingMessage, res: ServerResponse): Promise<boolean> => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const reply = (status: number, body: unknown): true => {
        const text = JSON.stringify(body);
        res.writeHead(status, {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
        return true;
      };
      if (req.method === 'GET' && url.pathname === '/_local/health') return reply(200, healthReport());
      const fire = /^\/_local\/schedules\/([\w-]+)$/.exec(url.pathname);
      if (req.method === 'POST' && fire?.[1] !== undefined) {
        const fn = registry.find(fire[1]);
        if (fn === undefined) return reply(404, { message: `no function ${fire[1]}` });
        const index = url.searchParams.get('index');
        const results = await scheduler.fire(fn.spec.key, index === null ? undefined : Number(index));
        return reply(200, { function: fn.spec.key, fired: results });
      }
      return false;
    };

    api.setRoutes(selected.flatMap((fn) => fn.routes));

    if (options.advertise) {
      const file = stackFile(options.localDir);
      await writeFile(
        file,
        `${JSON.stringify({ pid: process.pid, apiUrl: api.url, awsUrl: aws.url, startedAt: new Date().toISOString() }, null, 2)}\n`,
      );
      cleanups.push(() => rm(file, { force: true }));
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
      startedInMs: Date.now() - started,
      invoke,
      health: () => healthReport(),
      stop: () => {
        stopping ??= cleanup();
        return stopping;
      },
    };
  } catch (error) {
    await cleanup();
    throw error;
  }
}
