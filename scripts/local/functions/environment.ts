/**
 * A local function's environment: what Lambda sets (names, region, credentials), the variables of
 * serverless.yml, and the endpoints that point its SDK calls and stores at the stack. Nothing says "local":
 * only endpoints and secret values differ from AWS (and the secrets' cache max age, 0 here).
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { LocalFunction } from '../config/model.ts';

/** Where the stack's services listen. */
export interface LocalEndpoints {
  aws: string;
  s3?: string;
  dynamodb?: string;
  postgres?: string;
  /** SaaS sandboxes: a base-URL setting (`SLACK_API_URL`, ...) -> the sandbox's URL (`sandboxes/index.ts`). */
  sandboxes?: Record<string, string>;
  /** With `CIRCLE_LOCAL_SECRETS=vault`: the settings that make every function read Vault (`secrets-vault.ts`). */
  secretsBackend?: Record<string, string> | undefined;
}

/**
 * Whether the function talks to PostgreSQL and has no server of its own configured: no `PG_URL` in its
 * definition or the shell, and no `PG_SECRET` that the local secret store holds.
 *
 * @example
 * ```ts
 * if (model.functions.some((fn) => needsEmbeddedPostgres(fn, process.env, names))) await startPostgres(...);
 * ```
 */
export function needsEmbeddedPostgres(
  fn: LocalFunction,
  shell: NodeJS.ProcessEnv,
  secretNames: ReadonlySet<string>,
): boolean {
  const env = fn.environment;
  if (!usesPostgres(fn)) return false;
  if (shell['PG_URL'] !== undefined && shell['PG_URL'] !== '') return false;
  if (env['PG_URL'] !== undefined) return false;
  const secret = env['PG_SECRET'];
  return secret === undefined || !secretNames.has(secret);
}

function usesPostgres(fn: LocalFunction): boolean {
  return fn.key === 'postgres' || Object.keys(fn.environment).some((name) => name.startsWith('PG_'));
}

/**
 * The settings that say how long a function's connector caches a secret, by the connectors' convention
 * `<PREFIX>_SECRET_MAX_AGE_SECONDS`: those the function declares, and one per prefix of a variable naming a
 * secret (`PG_SECRET`, `SLACK_BOT_TOKEN_SECRET`, ...), whether declared or left to the config default.
 *
 * @example
 * ```ts
 * secretMaxAgeVariables(slack); // ['SLACK_SECRET_MAX_AGE_SECONDS']
 * ```
 */
export function secretMaxAgeVariables(fn: LocalFunction): string[] {
  const names = new Set<string>();
  for (const name of Object.keys(fn.environment)) {
    if (name.endsWith('_SECRET_MAX_AGE_SECONDS')) names.add(name);
    else if (/^[A-Z][A-Z0-9]*_(\w+_)?SECRET$/.test(name))
      names.add(`${name.split('_')[0]}_SECRET_MAX_AGE_SECONDS`);
  }
  return [...names].sort();
}

/**
 * The variables a function takes from the shell that starts the stack: those it declares (but `AWS_*`),
 * its secret max-age settings, and `PG_URL`/`PG_SSL` for a PostgreSQL function.
 *
 * @example
 * ```ts
 * shellVariables(postgres); // ['PG_SECRET', 'PG_SSL', ..., 'PG_URL']
 * ```
 */
export function shellVariables(fn: LocalFunction): string[] {
  const names = new Set(Object.keys(fn.environment).filter((name) => !name.startsWith('AWS_')));
  for (const name of secretMaxAgeVariables(fn)) names.add(name);
  if (usesPostgres(fn)) {
    names.add('PG_URL');
    names.add('PG_SSL');
  }
  return [...names].sort();
}

/**
 * A short digest of a setting's value, so the stack can say which value a function got (in the
 * git-ignored `stack.json`) without writing it down: `PG_URL` may carry a password.
 *
 * @example
 * ```ts
 * settingDigest('postgres://u:p@db/app'); // '5b0c...' (16 hex digits)
 * ```
 */
export function settingDigest(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 16);
}

/**
 * What a function got for each variable it takes from the shell, as digests (null when unset): written to
 * `stack.json`, so `npm run invoke` can tell a shell whose settings the running function does not have.
 *
 * @example
 * ```ts
 * environmentDigests(postgres, env); // { PG_URL: '5b0c...', PG_SSL: '1f2e...', PG_SECRET: null, ... }
 * ```
 */
export function environmentDigests(
  fn: LocalFunction,
  env: Readonly<Record<string, string>>,
): Record<string, string | null> {
  return Object.fromEntries(
    shellVariables(fn).map((name) => {
      const value = env[name];
      return [name, value === undefined ? null : settingDigest(value)];
    }),
  );
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * A REST provider served on this machine (a sandbox, or a fake the shell points at) has no rate limit to
 * protect: its shared budget (`<PREFIX>_RATE_LIMIT`, drawn from the coordination table) is off, unless the
 * shell sets the limit itself. A real provider's URL keeps the deployed budget.
 */
function applyLoopbackRateLimits(env: Record<string, string>, shell: NodeJS.ProcessEnv): void {
  for (const [name, value] of Object.entries(env)) {
    const prefix = /^(.+)_API_URL$/.exec(name)?.[1];
    if (prefix === undefined) continue;
    const chosen = shell[`${prefix}_RATE_LIMIT`];
    if (chosen !== undefined) {
      env[`${prefix}_RATE_LIMIT`] = chosen;
      continue;
    }
    let host: string;
    try {
      host = new URL(value).hostname;
    } catch {
      continue;
    }
    if (LOOPBACK.has(host)) env[`${prefix}_RATE_LIMIT`] = '0';
  }
}

/**
 * Embedded engines' local data: a setting declared empty in function.yml (off when deployed) that the local
 * stack points at files kept in the repository, so the README's examples run on `npm start` as written.
 */
const LOCAL_DATA_DIRECTORIES: Readonly<Record<string, string>> = {
  DUCKDB_LOCAL_DIRECTORY: 'functions/analytics/duckdb/sample',
};

function applyLocalData(env: Record<string, string>, fn: LocalFunction, endpoints: LocalEndpoints): void {
  const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
  for (const [name, path] of Object.entries(LOCAL_DATA_DIRECTORIES)) {
    if (fn.environment[name] === '') env[name] = resolve(repoRoot, path);
  }
  // A connector's own S3 addressing setting (DUCKDB_S3_FORCE_PATH_STYLE) follows the local store as S3_* does.
  if (endpoints.s3 === undefined) return;
  for (const name of Object.keys(fn.environment)) {
    if (name.endsWith('_S3_FORCE_PATH_STYLE')) env[name] = 'true';
  }
}

/** A provider's sandbox replaces its base URL, for a function that declares the setting. */
function applySandboxes(
  env: Record<string, string>,
  fn: LocalFunction,
  sandboxes: Record<string, string>,
): void {
  for (const [name, url] of Object.entries(sandboxes)) {
    if (fn.environment[name] !== undefined) env[name] = url;
  }
}

/**
 * Builds the environment one function process gets.
 *
 * @example
 * ```ts
 * const env = functionEnvironment(fn, { aws: 'http://127.0.0.1:4566', s3: 'http://127.0.0.1:40000' }, { region: 'us-east-1', shell: process.env, taskRoot, embeddedPostgres: false });
 * ```
 */
export function functionEnvironment(
  fn: LocalFunction,
  endpoints: LocalEndpoints,
  options: { region: string; shell: NodeJS.ProcessEnv; taskRoot: string; embeddedPostgres: boolean },
): Record<string, string> {
  const { shell } = options;
  const env: Record<string, string> = {
    PATH: shell['PATH'] ?? '/usr/local/bin:/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    TZ: 'UTC',
    LAMBDA_TASK_ROOT: options.taskRoot,
    _HANDLER: fn.handler,
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memorySize),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `local/[$LATEST]${process.pid}`,
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    AWS_REGION: options.region,
    AWS_DEFAULT_REGION: options.region,
    // Fake credentials: the stack accepts any, and real ones must never reach a laptop's functions by accident.
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_ENDPOINT_URL: endpoints.aws,
    NODE_ENV: shell['NODE_ENV'] ?? 'production',
  };
  if (endpoints.s3 !== undefined) {
    env['AWS_ENDPOINT_URL_S3'] = endpoints.s3;
    env['S3_ENDPOINT'] = endpoints.s3;
    env['S3_FORCE_PATH_STYLE'] = 'true';
  }
  if (endpoints.dynamodb !== undefined) env['AWS_ENDPOINT_URL_DYNAMODB'] = endpoints.dynamodb;
  for (const name of ['POWERTOOLS_LOG_LEVEL', 'POWERTOOLS_DEV', 'AWS_LAMBDA_LOG_LEVEL'] as const) {
    const value = shell[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, fn.environment);
  Object.assign(env, endpoints.secretsBackend);
  applySandboxes(env, fn, endpoints.sandboxes ?? {});
  applyLocalData(env, fn, endpoints);
  // A secret changed with `npm run secrets` (or PutSecretValue) is read by the next invocation: locally
  // the connectors cache secrets for 0 s instead of their deployed default (300 s). Only the value of
  // their own setting differs; the code path is the one deployed, and a local call costs about 1 ms.
  for (const name of secretMaxAgeVariables(fn)) env[name] = '0';
  // A variable the function declares can be overridden from the shell that starts the stack
  // (e.g. GITHUB_API_URL pointing at a fake); the same for S3_BUCKET, PG_SSL, the max ages, ...
  for (const name of [...Object.keys(fn.environment), ...secretMaxAgeVariables(fn)]) {
    const value = shell[name];
    if (value !== undefined && !name.startsWith('AWS_')) env[name] = value;
  }
  applyLoopbackRateLimits(env, shell);
  const shellPgUrl = shell['PG_URL'];
  if (usesPostgres(fn) && shellPgUrl !== undefined && shellPgUrl !== '') {
    env['PG_URL'] = shellPgUrl;
    if (shell['PG_SSL'] !== undefined) env['PG_SSL'] = shell['PG_SSL'];
    delete env['PG_SECRET'];
  } else if (options.embeddedPostgres && endpoints.postgres !== undefined) {
    env['PG_URL'] = endpoints.postgres;
    env['PG_SSL'] = 'disable';
    delete env['PG_SECRET'];
  }
  return env;
}
