/**
 * The secrets a stage expects, and `npm run secrets -- push --stage <stage>`: creates each one missing from
 * Secrets Manager with a placeholder value, then lists which still hold the placeholder. The names come
 * from the functions' `function.yml` (every `*_SECRET` variable under `custom.secretPrefix`), so a new
 * connector's secrets are pushed without editing this file. It talks to Secrets Manager through the AWS SDK:
 * the real account (the SDK's default credentials and region, or `--region`), or the local stack when
 * `AWS_ENDPOINT_URL` points at it. Values are never printed; a secret that exists is never overwritten.
 */

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { parse } from 'yaml';
import { discoverFunctions } from '../lib/functions.ts';

/** What a pushed secret holds until someone sets it; `push` reports a secret with this value as unset. */
export const PLACEHOLDER_VALUE =
  'circle-core:placeholder (set the real value; the connector README names its shape)';

// Serverless variables as written in serverless.yml and function.yml, not JavaScript placeholders.
const PREFIX_VARIABLE = `\${self:custom.secretPrefix}`;
const STAGE_VARIABLE = `\${sls:stage}`;
const SERVICE_VARIABLE = `\${self:service}`;

/** One secret a function names. */
export interface ExpectedSecret {
  /** The secret's name, e.g. `circle-core/prod/slack/bot-token`. */
  name: string;
  /** The function that reads it. */
  function: string;
  /** The environment variable naming it, e.g. `SLACK_BOT_TOKEN_SECRET`. */
  variable: string;
}

/** What `push` found or did for one secret. */
export interface PushedSecret extends ExpectedSecret {
  /** `created` now with the placeholder, `exists` already, `deleted` (scheduled for deletion: restore it). */
  state: 'created' | 'exists' | 'deleted';
  /** Whether it holds a value of its own (not the placeholder); unknown for a deleted one. */
  set: boolean | undefined;
}

function resolvePrefix(raw: unknown, stage: string, service: string): string {
  if (typeof raw !== 'string') throw new Error('serverless.yml has no custom.secretPrefix');
  const prefix = raw.replaceAll(STAGE_VARIABLE, stage).replaceAll(SERVICE_VARIABLE, service);
  if (prefix.includes('${')) {
    throw new Error(`custom.secretPrefix (${raw}) uses a variable this script cannot resolve`);
  }
  return prefix;
}

/**
 * Every secret the functions of `serverless.yml` name for `stage`, from their `function.yml`.
 *
 * @example
 * ```ts
 * const secrets = await expectedSecrets('/repo', 'prod');
 * secrets[0]; // { name: 'circle-core/prod/github/token', function: 'github', variable: 'GITHUB_TOKEN_SECRET' }
 * ```
 */
export async function expectedSecrets(root: string, stage: string): Promise<ExpectedSecret[]> {
  const config = parse(await readFile(join(root, 'serverless.yml'), 'utf8')) as {
    service: string;
    custom?: { secretPrefix?: unknown };
  };
  const prefix = resolvePrefix(config.custom?.secretPrefix, stage, config.service);
  const expected: ExpectedSecret[] = [];
  for (const fn of await discoverFunctions(root)) {
    const environment = (fn.definition['environment'] ?? {}) as Record<string, unknown>;
    for (const [variable, value] of Object.entries(environment)) {
      if (!variable.endsWith('_SECRET') || typeof value !== 'string') continue;
      if (!value.startsWith(`${PREFIX_VARIABLE}/`)) continue;
      const name = `${prefix}${value.slice(PREFIX_VARIABLE.length)}`;
      if (name.includes('${'))
        throw new Error(`${fn.name}: ${variable} (${value}) uses a variable this script cannot resolve`);
      expected.push({ name, function: fn.name, variable });
    }
  }
  return expected.sort((a, b) => a.name.localeCompare(b.name));
}

function errorName(error: unknown): string {
  return (error as { name?: string }).name ?? '';
}

async function holdsValue(client: SecretsManagerClient, name: string): Promise<boolean> {
  try {
    const { SecretString } = await client.send(new GetSecretValueCommand({ SecretId: name }));
    return SecretString !== PLACEHOLDER_VALUE;
  } catch (error) {
    // A secret created without a value (the console can) holds nothing yet.
    if (errorName(error) === 'ResourceNotFoundException') return false;
    throw error;
  }
}

/**
 * Creates each expected secret that Secrets Manager does not have, with {@link PLACEHOLDER_VALUE}, and
 * reports every one: created or already there, and whether it holds a value of its own. With `dryRun` it
 * creates nothing.
 *
 * @example
 * ```ts
 * const report = await pushSecrets({ root, stage: 'prod', client: new SecretsManagerClient({}) });
 * report.filter((secret) => secret.set === false); // still to set
 * ```
 */
export async function pushSecrets(options: {
  root: string;
  stage: string;
  client: SecretsManagerClient;
  dryRun?: boolean;
}): Promise<PushedSecret[]> {
  const { client, stage } = options;
  const report: PushedSecret[] = [];
  for (const secret of await expectedSecrets(options.root, stage)) {
    let state: PushedSecret['state'] = 'exists';
    try {
      const described = await client.send(new DescribeSecretCommand({ SecretId: secret.name }));
      if (described.DeletedDate !== undefined) state = 'deleted';
    } catch (error) {
      if (errorName(error) !== 'ResourceNotFoundException') throw error;
      state = 'created';
      if (options.dryRun !== true) {
        await client.send(
          new CreateSecretCommand({
            Name: secret.name,
            SecretString: PLACEHOLDER_VALUE,
            Description: `Circle Core ${secret.function} (${secret.variable}); created by npm run secrets -- push`,
            Tags: [
              { Key: 'project', Value: 'circle-core' },
              { Key: 'stage', Value: stage },
            ],
          }),
        );
      }
    }
    const set =
      state === 'deleted' ? undefined : state === 'created' ? false : await holdsValue(client, secret.name);
    report.push({ ...secret, state, set });
  }
  return report;
}

/**
 * The report as lines for a terminal: one per secret (never a value), then what is left to do.
 *
 * @example
 * ```ts
 * process.stdout.write(formatPushReport(report, { dryRun: false }));
 * ```
 */
export function formatPushReport(report: PushedSecret[], options: { dryRun: boolean }): string {
  const width = Math.max(...report.map((secret) => secret.name.length), 4);
  const created = options.dryRun ? 'missing' : 'created';
  const lines = report.map((secret) => {
    const state = secret.state === 'created' ? created : secret.state;
    const value = secret.set === undefined ? '-' : secret.set ? 'set' : 'UNSET';
    return `${secret.name.padEnd(width)}  ${state.padEnd(8)} ${value.padEnd(6)} ${secret.function} ${secret.variable}`;
  });
  const unset = report.filter((secret) => secret.set !== true);
  const summary =
    unset.length === 0
      ? 'Every expected secret holds a value.'
      : `${unset.length} of ${report.length} still to set (placeholder or no value): ${unset.map((secret) => secret.name).join(', ')}`;
  const header = `${'name'.padEnd(width)}  ${'state'.padEnd(8)} ${'value'.padEnd(6)} function variable`;
  return `${header}\n${lines.join('\n')}\n\n${summary}\n`;
}

/**
 * `npm run secrets -- push --stage <stage> [--region <region>] [--dry-run]`: pushes, then prints the report.
 * The client is the SDK's default: credentials and region from the environment (or `--region`), and the
 * endpoint from `AWS_ENDPOINT_URL` when set (the local stack).
 *
 * @example
 * ```ts
 * await runPush({ root: '/repo', stage: 'prod', dryRun: false });
 * ```
 */
export async function runPush(options: {
  root: string;
  stage: string | undefined;
  region?: string | undefined;
  dryRun: boolean;
}): Promise<void> {
  if (options.stage === undefined || options.stage === '') {
    throw new Error('usage: npm run secrets -- push --stage <stage> [--region <region>] [--dry-run]');
  }
  const client = new SecretsManagerClient(options.region === undefined ? {} : { region: options.region });
  try {
    const target = process.env['AWS_ENDPOINT_URL'] ?? `Secrets Manager in ${await client.config.region()}`;
    process.stderr.write(
      `${options.dryRun ? 'Checking' : 'Pushing'} the secrets of stage ${options.stage} (${target})\n`,
    );
    const report = await pushSecrets({
      root: options.root,
      stage: options.stage,
      client,
      dryRun: options.dryRun,
    });
    process.stdout.write(formatPushReport(report, { dryRun: options.dryRun }));
  } finally {
    client.destroy();
  }
}
