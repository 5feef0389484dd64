/**
 * The environment every child process runs with: what the Lambda runtime sets for a `nodejs24.x`
 * function of this repository (serverless.yml, production stage), nothing from the developer's shell.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';

/**
 * NODE_OPTIONS of a stage, from serverless.yml's `params` (`provider.environment.NODE_OPTIONS` is
 * `${param:nodeOptions}`): the stage's own entry, else `default`.
 *
 * @example
 * ```ts
 * stageNodeOptions('/repo', 'prod'); // ''
 * stageNodeOptions('/repo', 'dev'); // '--enable-source-maps'
 * ```
 */
export function stageNodeOptions(root: string, stage: string): string {
  const config = parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), { logLevel: 'silent' }) as {
    params?: Record<string, { nodeOptions?: unknown } | undefined>;
  };
  const value = config.params?.[stage]?.nodeOptions ?? config.params?.['default']?.nodeOptions ?? '';
  return String(value);
}

/**
 * The NODE_OPTIONS a checkout's production stage runs with: `provider.environment.NODE_OPTIONS` of its
 * serverless.yml, through `params` when it names `${param:nodeOptions}` (older checkouts set it literally).
 *
 * @example
 * ```ts
 * productionNodeOptions('/repo'); // ''
 * ```
 */
export function productionNodeOptions(root: string): string {
  const config = parse(readFileSync(join(root, 'serverless.yml'), 'utf8'), { logLevel: 'silent' }) as {
    provider?: { environment?: Record<string, unknown> };
  };
  const declared = config.provider?.environment?.['NODE_OPTIONS'];
  if (typeof declared !== 'string') return '';
  return declared.includes('param:nodeOptions') ? stageNodeOptions(root, 'prod') : declared;
}

const PRODUCTION_NODE_OPTIONS = productionNodeOptions(join(import.meta.dirname, '..', '..', '..'));

export interface LambdaEnvironmentOptions {
  functionName: string;
  /** POWERTOOLS_TRACE_ENABLED, as serverless.yml sets it from the stage's `tracing` parameter. */
  tracing: boolean;
  /** Where X-Ray segments go (a UDP sink in the parent). */
  xrayDaemon: string;
  /** Secrets Manager endpoint (the counting fake), when the variant reads a secret. */
  secretsEndpoint?: string;
  extra?: Record<string, string>;
}

/**
 * The variables a deployed function sees, with fake credentials and local endpoints.
 *
 * @example
 * ```ts
 * spawn(process.execPath, [script], { env: lambdaEnvironment({ functionName: 'bench-core', tracing: false, xrayDaemon }) });
 * ```
 */
export function lambdaEnvironment(options: LambdaEnvironmentOptions): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '/usr/bin:/bin',
    LANG: 'en_US.UTF-8',
    // Lambda sets TZ=:UTC; without it the Powertools logger formats every timestamp through Intl.
    TZ: ':UTC',
    LAMBDA_TASK_ROOT: '/var/task',
    LAMBDA_RUNTIME_DIR: '/var/runtime',
    _HANDLER: 'index.handler',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: options.functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512',
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${options.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: '2026/01/01/[$LATEST]0123456789abcdef0123456789abcdef',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'ASIABENCHMARKEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'bench-secret-access-key',
    AWS_SESSION_TOKEN: 'bench-session-token',
    AWS_XRAY_DAEMON_ADDRESS: options.xrayDaemon,
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
    // serverless.yml's provider.environment, as the production stage resolves it.
    NODE_OPTIONS: PRODUCTION_NODE_OPTIONS,
    POWERTOOLS_METRICS_NAMESPACE: 'CircleCore',
    POWERTOOLS_LOG_LEVEL: 'INFO',
    POWERTOOLS_TRACE_ENABLED: String(options.tracing),
  };
  if (options.secretsEndpoint !== undefined)
    env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] = options.secretsEndpoint;
  return { ...env, ...options.extra };
}
