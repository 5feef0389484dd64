/**
 * The workflow suite's world: the local stack (as `npm start` runs it, ephemeral ports, temporary state)
 * with the Slack and GitHub contract fakes behind the connectors, the machine's PostgreSQL (a database of
 * its own per run; PGlite from the stack when no server answers) and the stack's s3rver; plus the ways a
 * user reaches the workflows: a signed GitHub webhook, Step Functions over the stack's AWS endpoint and
 * `npm run workflow`.
 */
import { execFile } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { GetObjectCommand, ListBucketsCommand, S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  type DescribeExecutionCommandOutput,
  SFNClient,
} from '@aws-sdk/client-sfn';
import pg from 'pg';
import { type GitHubFake, startGitHubFake } from '../../scripts/local/sandboxes/github.ts';
import { DEFAULT_SLACK_TOKEN, type SlackFake, startSlackFake } from '../../scripts/local/sandboxes/slack.ts';
import { REPO_ROOT, type StackProcess, startStackProcess } from '../local/stack-process.ts';
import { realPostgresUrl, uniqueName, withPostgres } from '../peers/postgres.ts';

const run = promisify(execFile);
const REGION = 'us-east-1';
const LOCAL_ACCOUNT_ID = '000000000000';
const SECRET_PREFIX = 'circle-core/dev';
const GITHUB_TOKEN = 'ghp_workflow_suite';

/** Everything a workflow test talks to. */
export interface WorkflowWorld {
  stack: StackProcess;
  slack: SlackFake;
  github: GitHubFake;
  /** The database the PostgreSQL connector uses, for direct reads and seeding. */
  db: pg.Client;
  /** `real PostgreSQL` or `PGlite` (when no server answers on 127.0.0.1:5432). */
  dbKind: string;
  s3: S3Client;
  bucket: string;
  sfn: SFNClient;
  webhookSecret: string;
  close(): Promise<void>;
}

async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> } | undefined> {
  const admin = realPostgresUrl();
  const name = uniqueName('workflows');
  try {
    await withPostgres(admin, (client) => client.query(`create database ${name}`));
  } catch {
    return undefined;
  }
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () =>
      withPostgres(admin, (client) => client.query(`drop database if exists ${name} with (force)`)).then(
        () => undefined,
      ),
  };
}

/**
 * Starts the fakes, a database, the connectors' secrets in the local secret store, and the stack; `env`
 * adds settings for the stack (e.g. `CIRCLE_LOCAL_VISIBILITY_TIMEOUT`), `secrets` more secrets (name under
 * `circle-core/dev/` -> value).
 *
 * @example
 * ```ts
 * const world = await startWorkflowWorld();
 * afterAll(() => world.close());
 * ```
 */
export async function startWorkflowWorld(
  options: {
    env?: Record<string, string>;
    secrets?: Record<string, string>;
    /** Only these connectors (`npm start -- --only ...`; warehouse-load: s3,transform,duckdb,slack). */
    only?: readonly string[];
    /** The stack's own embedded PGlite, as plain `npm start` runs it, instead of a database on the machine's server. */
    embeddedPostgres?: boolean;
  } = {},
): Promise<WorkflowWorld> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const close = async (): Promise<void> => {
    for (const step of cleanups.splice(0).reverse()) await step().catch(() => undefined);
  };
  try {
    const slack = await startSlackFake();
    cleanups.push(() => slack.close());
    const github = await startGitHubFake({ tokens: [GITHUB_TOKEN] });
    cleanups.push(() => github.close());
    const database = options.embeddedPostgres === true ? undefined : await createDatabase();
    if (database !== undefined) cleanups.push(database.drop);

    // The secrets are in the store before the stack starts, as `npm run secrets -- set` would leave them,
    // so every connector reads them during its init.
    const webhookSecret = `whsec-${randomUUID()}`;
    const localDir = await mkdtemp(join(tmpdir(), 'circle-workflows-'));
    cleanups.push(() => rm(localDir, { recursive: true, force: true }));
    const secrets = {
      'slack/bot-token': DEFAULT_SLACK_TOKEN,
      'slack/signing-secret': 'slack-signing-secret',
      'github/token': GITHUB_TOKEN,
      'github/webhook-secret': webhookSecret,
      // More secrets by name under circle-core/dev/ (order-fulfilment: its own Stripe and Shopify fakes' keys).
      ...options.secrets,
    };
    await writeFile(
      join(localDir, 'secrets.json'),
      JSON.stringify({
        secrets: Object.fromEntries(
          Object.entries(secrets).map(([name, value]) => [`${SECRET_PREFIX}/${name}`, value]),
        ),
      }),
      { mode: 0o600 },
    );

    const env: Record<string, string> = {
      CIRCLE_LOCAL_DIR: localDir,
      CIRCLE_BUILD_DIR: join(localDir, 'build'),
      SLACK_API_URL: slack.url,
      GITHUB_API_URL: github.baseUrl,
    };
    if (database !== undefined) Object.assign(env, { PG_URL: database.url, PG_SSL: 'disable' });
    const onlyArgs = options.only === undefined ? [] : ['--only', options.only.join(',')];
    const stack = await startStackProcess({ ...env, ...options.env }, onlyArgs);
    cleanups.push(() => stack.stop());

    const aws = {
      endpoint: stack.awsUrl,
      region: REGION,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    };
    const health = (await (await fetch(`${stack.apiUrl}/health`)).json()) as {
      stores: Record<string, string>;
    };
    const db = new pg.Client({ connectionString: database?.url ?? health.stores['postgres'] });
    await db.connect();
    cleanups.push(() => db.end());

    const s3 = new S3Client({ ...aws, endpoint: health.stores['s3'] ?? stack.awsUrl, forcePathStyle: true });
    cleanups.push(async () => s3.destroy());
    const { Buckets = [] } = await s3.send(new ListBucketsCommand({}));
    const bucket = Buckets.map((b) => b.Name ?? '').find((name) => name.endsWith('-objects'));
    if (bucket === undefined) throw new Error('the stack created no -objects bucket for the S3 connector');
    const sfn = new SFNClient(aws);
    cleanups.push(async () => sfn.destroy());

    return {
      stack,
      slack,
      github,
      db,
      dbKind: database === undefined ? 'PGlite' : 'real PostgreSQL',
      s3,
      bucket,
      sfn,
      webhookSecret,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/**
 * A GitHub `issues` webhook payload as GitHub sends it (the fields the triage reads, and some more).
 *
 * @example
 * ```ts
 * const payload = issuesPayload({ action: 'opened', repository: 'octo/hello', number: 7, title: 'Crash' });
 * ```
 */
export function issuesPayload(options: {
  action: string;
  repository: string;
  number: number;
  title: string;
  author?: string;
}): Record<string, unknown> {
  const [owner = 'octo', name = 'hello'] = options.repository.split('/');
  const url = `https://github.com/${options.repository}/issues/${options.number}`;
  const created = '2026-11-26T09:00:00Z';
  return {
    action: options.action,
    issue: {
      id: 1_000_000 + options.number,
      node_id: `I_kwDO${options.number}`,
      number: options.number,
      title: options.title,
      state: 'open',
      html_url: url,
      url: `https://api.github.com/repos/${options.repository}/issues/${options.number}`,
      body: 'Steps to reproduce: ...',
      user: { login: options.author ?? 'octocat', id: 1 },
      labels: [],
      created_at: created,
      updated_at: created,
    },
    repository: { id: 42, name, full_name: options.repository, owner: { login: owner } },
    sender: { login: options.author ?? 'octocat', id: 1 },
  };
}

/**
 * Sends a webhook to the GitHub connector's public route, signed here with node:crypto (independently of
 * the connector's verifier), and answers the status, body and delivery id.
 *
 * @example
 * ```ts
 * const { status, deliveryId } = await sendWebhook(world, 'issues', payload, 'corr-1');
 * ```
 */
export async function sendWebhook(
  world: WorkflowWorld,
  event: string,
  payload: unknown,
  correlationId: string,
): Promise<{ status: number; body: unknown; deliveryId: string }> {
  const deliveryId = randomUUID();
  const body = JSON.stringify(payload);
  const signature = `sha256=${createHmac('sha256', world.webhookSecret).update(body).digest('hex')}`;
  const response = await fetch(`${world.stack.apiUrl}/github/webhook`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': event,
      'x-github-delivery': deliveryId,
      'x-hub-signature-256': signature,
      'x-correlation-id': correlationId,
      'user-agent': 'GitHub-Hookshot/workflow-suite',
    },
    body,
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text), deliveryId };
}

/**
 * The ARN of a local execution.
 *
 * @example
 * ```ts
 * executionArn('issue-triage', 'github-1'); // 'arn:aws:states:us-east-1:000000000000:execution:issue-triage:github-1'
 * ```
 */
export function executionArn(stateMachine: string, name: string): string {
  return `arn:aws:states:${REGION}:${LOCAL_ACCOUNT_ID}:execution:${stateMachine}:${name}`;
}

/**
 * The ARN of a local state machine.
 *
 * @example
 * ```ts
 * stateMachineArn('broadcast'); // 'arn:aws:states:us-east-1:000000000000:stateMachine:broadcast'
 * ```
 */
export function stateMachineArn(name: string): string {
  return `arn:aws:states:${REGION}:${LOCAL_ACCOUNT_ID}:stateMachine:${name}`;
}

/**
 * Polls DescribeExecution until the execution has ended.
 *
 * @example
 * ```ts
 * const done = await finished(world, executionArn('issue-triage', `github-${deliveryId}`));
 * ```
 */
export async function finished(
  world: Pick<WorkflowWorld, 'sfn'>,
  arn: string,
  timeoutMs = 15_000,
): Promise<DescribeExecutionCommandOutput> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const described = await world.sfn.send(new DescribeExecutionCommand({ executionArn: arn }));
    if (described.status !== 'RUNNING') return described;
    if (Date.now() > deadline) throw new Error(`${arn} still running after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** What `npm run workflow` printed. */
export interface WorkflowRun {
  code: number;
  /** The state machine's status line, e.g. `SUCCEEDED`. */
  status: string | undefined;
  output: unknown;
  executionName: string | undefined;
  stderr: string;
}

/**
 * Runs `npm run workflow -- <name> --input '<json>'` (the script itself, on this Node) against the stack.
 *
 * @example
 * ```ts
 * const result = await runWorkflow(world, 'broadcast', { channels: ['#general'], text: 'hi' });
 * ```
 */
export async function runWorkflow(world: WorkflowWorld, name: string, input: unknown): Promise<WorkflowRun> {
  const args = [join(REPO_ROOT, 'scripts', 'local', 'workflow.ts'), name, '--input', JSON.stringify(input)];
  let stdout: string;
  let stderr: string;
  let code = 0;
  try {
    ({ stdout, stderr } = await run(process.execPath, args, { cwd: REPO_ROOT, env: world.stack.env }));
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    ({ stdout = '', stderr = '' } = failed);
    code = typeof failed.code === 'number' ? failed.code : 1;
  }
  const [first = '', ...rest] = stdout.split('\n');
  const json = rest.join('\n').trim();
  return {
    code,
    status: new RegExp(`^${name}: (\\w+)$`).exec(first)?.[1],
    output: json === '' ? undefined : JSON.parse(json),
    executionName: /started \S+:execution:[\w-]+:([\w-]+)/.exec(stderr)?.[1],
    stderr,
  };
}

/**
 * Fires a state machine's schedule now with `npm run schedule -- <name>` (the event EventBridge would send)
 * and answers the ARN of the execution it started.
 *
 * @example
 * ```ts
 * const arn = await fireSchedule(world, 'nightly-export');
 * ```
 */
export async function fireSchedule(world: WorkflowWorld, stateMachine: string): Promise<string> {
  const script = join(REPO_ROOT, 'scripts', 'local', 'schedule.ts');
  const { stdout } = await run(process.execPath, [script, stateMachine], {
    cwd: REPO_ROOT,
    env: world.stack.env,
  });
  const arn = /"executionArn": "([^"]+)"/.exec(stdout)?.[1];
  if (arn === undefined)
    throw new Error(`npm run schedule -- ${stateMachine} started no execution:\n${stdout}`);
  return arn;
}

/**
 * Reads an object from the stack's s3rver as text, or undefined when it does not exist.
 *
 * @example
 * ```ts
 * const text = await readObject(world, 'github/events/issues/<delivery>.json');
 * ```
 */
export async function readObject(world: WorkflowWorld, key: string): Promise<string | undefined> {
  try {
    const object = await world.s3.send(new GetObjectCommand({ Bucket: world.bucket, Key: key }));
    return await object.Body?.transformToString('utf8');
  } catch (error) {
    if ((error as { name?: string }).name === 'NoSuchKey') return undefined;
    throw error;
  }
}

/**
 * The function log lines of the stack that carry `correlationId`, as `function:message` pairs.
 *
 * @example
 * ```ts
 * expect(linesWithCorrelation(world, 'corr-1')).toContain('slack:invocation');
 * ```
 */
export function linesWithCorrelation(world: WorkflowWorld, correlationId: string): Set<string> {
  return new Set(
    world.stack.lines
      .filter((line) => line['correlationId'] === correlationId && typeof line['function'] === 'string')
      .map((line) => `${String(line['function'])}:${String(line['message'])}`),
  );
}
