/**
 * Reads `serverless.yml` as the Serverless CLI resolves it (`serverless print --format json`), so includes
 * and variables mean locally what they mean on deploy. The CLI runs offline: fake credentials, and STS and
 * CloudFormation pointed at the stack's own AWS endpoint (for `${aws:accountId}`). The result is cached
 * under the state folder, keyed by the content of every YAML file and the variables they read.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { REPO_ROOT } from '../paths.ts';

/** The resolved service definition, as `serverless print` emits it (only the parts the stack reads). */
export interface ServerlessConfig {
  service: string | { name: string };
  provider: {
    name?: string;
    region?: string;
    stage?: string;
    runtime?: string;
    timeout?: number;
    memorySize?: number;
    environment?: Record<string, unknown>;
    httpApi?: Record<string, unknown>;
  };
  custom?: Record<string, unknown>;
  functions?: Record<string, ServerlessFunction>;
  resources?: { Resources?: Record<string, CloudFormationResource>; Outputs?: Record<string, unknown> };
  stepFunctions?: { stateMachines?: Record<string, ServerlessStateMachine> };
}

export interface ServerlessFunction {
  handler?: string;
  name?: string;
  description?: string;
  timeout?: number;
  memorySize?: number;
  environment?: Record<string, unknown>;
  events?: Record<string, unknown>[];
  /** A function URL: `true`, or `{ authorizer: aws_iam, invokeMode: RESPONSE_STREAM, cors }`. */
  url?: boolean | Record<string, unknown>;
}

export interface CloudFormationResource {
  Type: string;
  Properties?: Record<string, unknown>;
}

export interface ServerlessStateMachine {
  name?: string;
  id?: string;
  type?: string;
  definition?: unknown;
  events?: Record<string, unknown>[];
}

const IGNORED_DIRS = new Set([
  'node_modules',
  '.git',
  '.build',
  '.local',
  '.serverless',
  'coverage',
  'bench',
]);

async function yamlFiles(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) {
      if (!IGNORED_DIRS.has(entry.name) && !entry.name.startsWith('.')) {
        found.push(...(await yamlFiles(join(dir, entry.name))));
      }
    } else if (/\.(ya?ml)$/.test(entry.name)) {
      found.push(join(dir, entry.name));
    }
  }
  return found.sort();
}

/**
 * The cache key of a resolution: every YAML file of the repository (includes, function.yml, workflows),
 * the environment variables they reference with `${env:NAME}`, the stage, the `--param` values and the CLI
 * version.
 */
async function cacheKey(root: string, stage: string | undefined, params: string[]): Promise<string> {
  const hash = createHash('sha256');
  hash.update(`stage=${stage ?? ''}\n`);
  for (const param of params) hash.update(`param=${param}\n`);
  const cli = JSON.parse(await readFile(join(root, 'node_modules', 'osls', 'package.json'), 'utf8')) as {
    version: string;
  };
  hash.update(`osls=${cli.version}\n`);
  for (const file of await yamlFiles(root)) {
    const text = await readFile(file, 'utf8');
    hash.update(`${relative(root, file)}\n${text}\n`);
    for (const match of text.matchAll(/\$\{env:([A-Za-z_][A-Za-z0-9_]*)/g)) {
      const name = match[1] ?? '';
      hash.update(`env:${name}=${process.env[name] ?? ''}\n`);
    }
  }
  return hash.digest('hex');
}

/**
 * Resolves `serverless.yml` with the Serverless CLI, or returns the cached resolution when nothing it
 * depends on changed.
 *
 * @example
 * ```ts
 * const config = await resolveServerlessConfig({ awsEndpoint: 'http://127.0.0.1:4566', cacheDir: '.local' });
 * ```
 */
export async function resolveServerlessConfig(options: {
  awsEndpoint: string;
  cacheDir: string;
  stage?: string;
  /** `key=value` pairs for the `param` source, as `serverless deploy --param="key=value"` takes them. */
  params?: string[];
  root?: string;
}): Promise<{ config: ServerlessConfig; cached: boolean }> {
  const root = options.root ?? REPO_ROOT;
  const params = options.params ?? [];
  for (const param of params) {
    if (!/^[^=\s]+=/.test(param)) throw new Error(`--param must be key=value, got "${param.slice(0, 100)}"`);
  }
  const key = await cacheKey(root, options.stage, params);
  const cacheFile = join(options.cacheDir, 'serverless-print.json');
  try {
    const cached = JSON.parse(await readFile(cacheFile, 'utf8')) as {
      key?: string;
      config?: ServerlessConfig;
    };
    if (cached.key === key && cached.config !== undefined) return { config: cached.config, cached: true };
  } catch {
    // No usable cache: resolve below.
  }
  const config = await printConfig(root, options.awsEndpoint, options.stage, params);
  await mkdir(options.cacheDir, { recursive: true });
  const temporary = `${cacheFile}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify({ key, config }));
  await rename(temporary, cacheFile);
  return { config, cached: false };
}

function printConfig(
  root: string,
  awsEndpoint: string,
  stage: string | undefined,
  params: string[],
): Promise<ServerlessConfig> {
  const cli = join(root, 'node_modules', 'osls', 'bin', 'serverless.js');
  const args = [cli, 'print', '--format', 'json'];
  if (stage !== undefined) args.push('--stage', stage);
  for (const param of params) args.push(`--param=${param}`);
  const env: NodeJS.ProcessEnv = {
    PATH: process.env['PATH'],
    HOME: process.env['HOME'],
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: process.env['AWS_REGION'] ?? 'us-east-1',
    AWS_ENDPOINT_URL_STS: awsEndpoint,
    AWS_ENDPOINT_URL_CLOUDFORMATION: awsEndpoint,
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    SLS_DEPRECATION_DISABLE: '*',
    CI: '1',
  };
  for (const [name, value] of Object.entries(process.env)) {
    // Variables the YAML may read with ${env:...}; credentials and profiles stay out.
    if (env[name] === undefined && !/^AWS_/.test(name)) env[name] = value;
  }
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out).toString('utf8');
      const start = stdout.indexOf('{');
      if (code === 0 && start >= 0) {
        try {
          resolvePromise(JSON.parse(stdout.slice(start)) as ServerlessConfig);
          return;
        } catch {
          // Reported below with the CLI's own output.
        }
      }
      const detail = `${Buffer.concat(err).toString('utf8')}\n${stdout}`.trim().slice(-4000);
      reject(new Error(`serverless print failed (exit ${code}):\n${detail}`));
    });
  });
}
