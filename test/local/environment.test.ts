/**
 * The local function environment's secret cache: every connector's max-age setting is 0 on the stack, so
 * a secret changed with `npm run secrets` is read by the next call, while the deployed default stays.
 */
import { describe, expect, it } from 'vitest';
import { loadCatalog } from '../../scripts/docs/catalog.ts';
import type { LocalFunction } from '../../scripts/local/config/model.ts';
import {
  environmentDigests,
  functionEnvironment,
  secretMaxAgeVariables,
  settingDigest,
  shellVariables,
} from '../../scripts/local/functions/environment.ts';
import { REPO_ROOT } from './stack-process.ts';

function localFunction(key: string, environment: Record<string, string>): LocalFunction {
  return {
    key,
    name: `svc-dev-${key}`,
    arn: 'arn',
    handler: 'index.handler',
    timeoutSeconds: 30,
    memorySize: 512,
    environment,
    routes: [],
    queues: [],
    schedules: [],
  };
}

const slack = localFunction('slack', {
  SLACK_BOT_TOKEN_SECRET: 'svc/slack/bot-token',
  SLACK_SIGNING_SECRET_SECRET: 'svc/slack/signing-secret',
  SLACK_SECRET_MAX_AGE_SECONDS: '300',
});
const build = (fn: LocalFunction, shell: NodeJS.ProcessEnv) =>
  functionEnvironment(
    fn,
    { aws: 'http://127.0.0.1:4566' },
    { region: 'us-east-1', shell, taskRoot: '/t', embeddedPostgres: false },
  );

describe('Function: secretMaxAgeVariables', () => {
  it('names the declared max ages and one per prefix of a variable naming a secret', () => {
    // Act
    const names = [
      secretMaxAgeVariables(slack),
      secretMaxAgeVariables(localFunction('postgres', { PG_SECRET: 'svc/pg', PG_SSL: 'verify-full' })),
      secretMaxAgeVariables(localFunction('s3', { S3_BUCKET: 'data' })),
    ];

    // Assess
    expect(names).toEqual([['SLACK_SECRET_MAX_AGE_SECONDS'], ['PG_SECRET_MAX_AGE_SECONDS'], []]);
  });

  it('covers every max-age setting of every connector, read from its config schema', async () => {
    // Prepare
    const connectors = await loadCatalog(REPO_ROOT);

    // Act
    const uncovered: string[] = [];
    let settings = 0;
    for (const connector of connectors) {
      const fn = localFunction(
        connector.name,
        Object.fromEntries(Object.keys(connector.environment).map((name) => [name, 'x'])),
      );
      for (const name of Object.keys(connector.config.shape).filter((key) =>
        key.endsWith('_SECRET_MAX_AGE_SECONDS'),
      )) {
        settings += 1;
        if (build(fn, {})[name] !== '0') uncovered.push(`${connector.name}: ${name}`);
      }
    }

    // Assess
    expect(settings).toBeGreaterThanOrEqual(3);
    expect(uncovered).toEqual([]);
  });
});

describe('Function: functionEnvironment', () => {
  it('sets the secret max age to 0 over the declared value, and lets the shell choose another', () => {
    // Act
    const local = build(slack, {});
    const chosen = build(slack, { SLACK_SECRET_MAX_AGE_SECONDS: '60' });

    // Assess
    expect(local['SLACK_SECRET_MAX_AGE_SECONDS']).toBe('0');
    expect(chosen['SLACK_SECRET_MAX_AGE_SECONDS']).toBe('60');
  });

  it('turns the shared rate budget off for a provider served on this machine, and only for it', () => {
    // Prepare
    const declared = localFunction('slack', { SLACK_API_URL: 'https://slack.com/api' });

    // Act
    const real = build(declared, {});
    const fake = build(declared, { SLACK_API_URL: 'http://127.0.0.1:4010/api' });
    const chosen = build(declared, { SLACK_API_URL: 'http://localhost:4010/api', SLACK_RATE_LIMIT: '5' });

    // Assess
    expect(real['SLACK_RATE_LIMIT']).toBeUndefined();
    expect(fake['SLACK_RATE_LIMIT']).toBe('0');
    expect(chosen['SLACK_RATE_LIMIT']).toBe('5');
  });
});

describe('Function: environmentDigests', () => {
  it('digests what the function got for each shell variable, null when unset, never the value', () => {
    // Prepare
    const postgres = localFunction('postgres', { PG_SECRET: 'svc/pg', PG_SSL: 'verify-full' });
    const env = build(postgres, { PG_URL: 'postgres://user:secret@db/app', PG_SSL: 'disable' });

    // Act
    const digests = environmentDigests(postgres, env);

    // Assess
    expect(Object.keys(digests)).toEqual(shellVariables(postgres));
    expect(digests).toEqual({
      PG_SECRET: null,
      PG_SECRET_MAX_AGE_SECONDS: settingDigest('0'),
      PG_SSL: settingDigest('disable'),
      PG_URL: settingDigest('postgres://user:secret@db/app'),
    });
    expect(JSON.stringify(digests)).not.toContain('secret@');
  });
});
