/**
 * Runs `serverless package` (osls) fully offline: AWS calls go to the local stand-in, credentials are
 * fake, no user AWS config is read, and nothing waits for a terminal.
 */
import { spawn } from 'node:child_process';
import { access, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type AwsCall, startAwsStandIn } from './aws-stand-in.ts';
import { deployableNames, discoverFunctions } from './functions.ts';
import { mergeStage, ROOT_TEMPLATE, readPackagedStage } from './stacks.ts';

export interface PackageOptions {
  /** Repository root (holds serverless.yml). */
  readonly root: string;
  readonly stage: string;
  readonly region: string;
  /** Where the build wrote the artifacts (absolute); serverless.yml reads it as `CIRCLE_BUILD_DIR`. */
  readonly buildDir?: string;
  /** Where osls writes the template and state (absolute); default `<root>/.serverless`. */
  readonly packageDir?: string;
  /** Also write osls's output to this process's stdout/stderr as it runs. */
  readonly echo?: boolean;
}

export interface PackageResult {
  /** `<packageDir>/cloudformation-template-update-stack.json` */
  readonly templateFile: string;
  /** The AWS calls osls made (answered by the stand-in). */
  readonly awsCalls: readonly AwsCall[];
  /** osls's combined stdout and stderr. */
  readonly output: string;
}

/**
 * Where `serverless package` leaves the CloudFormation template in its package folder.
 *
 * @example
 * ```ts
 * const template = JSON.parse(await readFile(templatePath('/repo/.serverless'), 'utf8'));
 * ```
 */
export function templatePath(packageDir: string): string {
  return join(packageDir, ROOT_TEMPLATE);
}

/**
 * The artifacts serverless.yml points at (the layer and one zip per discovered function) that are not in
 * `buildDir`, relative to it.
 *
 * @example
 * ```ts
 * await missingArtifacts('/repo', '/repo/.build'); // ['functions/s3.zip'] after building other functions only
 * ```
 */
export async function missingArtifacts(root: string, buildDir: string): Promise<string[]> {
  const functions = await discoverFunctions(root);
  const expected = ['layer.zip', ...deployableNames(functions).map((name) => `functions/${name}.zip`)];
  const missing: string[] = [];
  for (const artifact of expected) {
    try {
      await access(join(buildDir, artifact));
    } catch {
      missing.push(artifact);
    }
  }
  return missing;
}

/**
 * The environment osls runs in: every AWS endpoint at the stand-in, fake credentials, no prompts, and
 * none of the caller's AWS settings (profile, session, endpoints, config files).
 *
 * @example
 * ```ts
 * spawn(process.execPath, [bin, 'package'], { env: offlineEnvironment(process.env, aws.endpoint, 'us-east-1') });
 * ```
 */
export function offlineEnvironment(
  base: NodeJS.ProcessEnv,
  endpoint: string,
  region: string,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(base)) {
    // A developer's profile, session or endpoint overrides must not leak into an offline package.
    if (value === undefined || key.startsWith('AWS_')) continue;
    env[key] = value;
  }
  const nowhere = join(tmpdir(), 'circle-core-offline-no-aws-config');
  return {
    ...env,
    CI: 'true',
    AWS_ACCESS_KEY_ID: 'offline',
    AWS_SECRET_ACCESS_KEY: 'offline',
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_CONFIG_FILE: nowhere,
    AWS_SHARED_CREDENTIALS_FILE: nowhere,
    AWS_EC2_METADATA_DISABLED: 'true',
    // Any AWS call goes to the stand-in: the two it knows are answered, others fail naming the call.
    AWS_ENDPOINT_URL: endpoint,
    AWS_ENDPOINT_URL_CLOUDFORMATION: endpoint,
    AWS_ENDPOINT_URL_STS: endpoint,
    // osls has no telemetry or update check; these keep it that way should a plugin bring one.
    SLS_TELEMETRY_DISABLED: '1',
    SLS_NOTIFICATIONS_MODE: 'off',
    SLS_AWS_REQUEST_MAX_RETRIES: '0',
  };
}

function serverlessBin(root: string): string {
  const require = createRequire(join(root, 'package.json'));
  return join(dirname(require.resolve('osls/package.json')), 'bin', 'serverless.js');
}

/**
 * Packages the service for `stage` with osls, offline, and returns where the CloudFormation template is.
 * Fails when an artifact is missing (run the build first), when osls fails, or when a discovered function
 * is absent from the template (serverless.yml does not include its function.yml).
 *
 * @example
 * ```ts
 * const { templateFile } = await packageService({ root: process.cwd(), stage: 'dev', region: 'us-east-1' });
 * // templateFile: <root>/.serverless/cloudformation-template-update-stack.json
 * ```
 */
export async function packageService(options: PackageOptions): Promise<PackageResult> {
  const { root, stage, region } = options;
  const buildDir = options.buildDir ?? join(root, '.build');
  const packageDir = options.packageDir ?? join(root, '.serverless');
  const missing = await missingArtifacts(root, buildDir);
  if (missing.length > 0) {
    throw new Error(`Missing build artifacts in ${buildDir} (run npm run build): ${missing.join(', ')}`);
  }
  const templateFile = templatePath(packageDir);
  // A template left from an earlier run must not pass for this one's.
  await rm(templateFile, { force: true });
  const aws = await startAwsStandIn();
  let output = '';
  try {
    const env = { ...offlineEnvironment(process.env, aws.endpoint, region), CIRCLE_BUILD_DIR: buildDir };
    const args = [
      serverlessBin(root),
      'package',
      '--stage',
      stage,
      '--region',
      region,
      '--package',
      packageDir,
    ];
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
      const collect = (target: NodeJS.WriteStream) => (chunk: Buffer) => {
        output += chunk.toString('utf8');
        if (options.echo) target.write(chunk);
      };
      child.stdout.on('data', collect(process.stdout));
      child.stderr.on('data', collect(process.stderr));
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (code !== 0) throw new Error(`serverless package exited with ${code}\n${output}`);
  } finally {
    await aws.close();
  }
  await assertEveryFunctionPackaged(root, packageDir);
  return { templateFile, awsCalls: [...aws.calls], output };
}

async function assertEveryFunctionPackaged(root: string, packageDir: string): Promise<void> {
  const template = mergeStage(await readPackagedStage(packageDir));
  const packaged = Object.values(template.Resources)
    .filter((resource) => resource.Type === 'AWS::Lambda::Function')
    .map((resource) =>
      String((resource.Properties?.['Code'] as { S3Key?: unknown } | undefined)?.S3Key ?? ''),
    );
  const absent = (await discoverFunctions(root)).flatMap((fn) =>
    deployableNames([fn])
      .filter((name) => !packaged.some((key) => key.endsWith(`/${name}.zip`)))
      .map((name) => `${fn.definitionFile.slice(root.length + 1)} (${name})`),
  );
  if (absent.length > 0) {
    const names = absent.join(', ');
    throw new Error(`Not in the template (include them in serverless.yml): ${names}`);
  }
}
