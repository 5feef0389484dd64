/**
 * `npm run secrets -- push --stage <stage>` against Secrets Manager as the local stack serves it (the real
 * AWS SDK client through `AWS_ENDPOINT_URL`; in AWS the same calls go to the account): it creates every
 * secret the functions' `function.yml` name, with a placeholder, lists which still hold it, never
 * overwrites a secret that exists and never prints a value.
 */
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectedSecrets, PLACEHOLDER_VALUE } from '../../scripts/secrets/push.ts';
import { type SecretsManagerPeer, startSecretsManager } from '../peers/secrets-manager.ts';

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');
const STAGE = 'staging';
/** Set before the first push, as an operator who already stored the Slack token would have. */
const EXISTING = { name: `circle-core/${STAGE}/slack/bot-token`, value: 'xoxb-already-stored-value' };
const LATER_VALUE = 'ghp_set-after-the-first-push';

let peer: SecretsManagerPeer;
let client: SecretsManagerClient;

async function push(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      [join(ROOT, 'scripts', 'local', 'secrets.ts'), 'push', '--stage', STAGE, ...args],
      {
        cwd: ROOT,
        env: {
          ...process.env,
          AWS_ENDPOINT_URL: peer.endpoint,
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'test',
          AWS_SECRET_ACCESS_KEY: 'test',
        },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

/** The `value` column (`set`/`UNSET`) of each listed secret. */
function values(stdout: string): Record<string, string> {
  return Object.fromEntries(
    stdout
      .split('\n')
      .filter((line) => line.startsWith(`circle-core/${STAGE}/`))
      .map((line) => {
        const [name = '', , value = ''] = line.split(/\s+/);
        return [name, value];
      }),
  );
}

beforeAll(async () => {
  peer = await startSecretsManager({ [EXISTING.name]: EXISTING.value });
  client = new SecretsManagerClient({
    endpoint: peer.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
}, 30_000);

afterAll(async () => {
  client?.destroy();
  await peer?.close();
});

describe('Script: secrets push', () => {
  it('expects the secrets every function.yml names under the stage prefix', async () => {
    // Act
    const expected = await expectedSecrets(ROOT, STAGE);

    // Assess
    expect(expected.length).toBeGreaterThanOrEqual(6);
    expect(expected).toEqual(
      expect.arrayContaining([
        { name: `circle-core/${STAGE}/postgres/credentials`, function: 'postgres', variable: 'PG_SECRET' },
        { name: EXISTING.name, function: 'slack', variable: 'SLACK_BOT_TOKEN_SECRET' },
        { name: `circle-core/${STAGE}/github/token`, function: 'github', variable: 'GITHUB_TOKEN_SECRET' },
      ]),
    );
    for (const secret of expected)
      expect(secret.name).toMatch(new RegExp(`^circle-core/${STAGE}/${secret.function}/`));
  });

  it('lists what is missing without creating anything on a dry run', async () => {
    // Prepare
    const expected = await expectedSecrets(ROOT, STAGE);

    // Act
    const result = await push('--dry-run');
    const missing = client.send(new DescribeSecretCommand({ SecretId: `circle-core/${STAGE}/github/token` }));

    // Assess
    expect(result.code).toBe(0);
    expect(Object.keys(values(result.stdout)).sort()).toEqual(expected.map((secret) => secret.name).sort());
    expect(result.stdout).toMatch(/github\/token\s+missing\s+UNSET/);
    await expect(missing).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });

  it('creates every missing secret with the placeholder, keeps the existing one, and lists the unset ones', async () => {
    // Prepare
    const expected = await expectedSecrets(ROOT, STAGE);

    // Act
    const result = await push();
    const created = await Promise.all(
      expected
        .filter((secret) => secret.name !== EXISTING.name)
        .map(
          async (secret) =>
            (await client.send(new GetSecretValueCommand({ SecretId: secret.name }))).SecretString,
        ),
    );
    const kept = await client.send(new GetSecretValueCommand({ SecretId: EXISTING.name }));

    // Assess
    expect(result.code).toBe(0);
    expect(created.length).toBe(expected.length - 1);
    for (const value of created) expect(value).toBe(PLACEHOLDER_VALUE);
    expect(kept.SecretString).toBe(EXISTING.value);
    expect(values(result.stdout)[EXISTING.name]).toBe('set');
    expect(Object.values(values(result.stdout)).filter((value) => value === 'UNSET')).toHaveLength(
      expected.length - 1,
    );
    expect(result.stdout).toContain(`${expected.length - 1} of ${expected.length} still to set`);
    expect(result.stdout).not.toContain(EXISTING.value);
  });

  it('reports a secret as set once it holds a value of its own, and creates nothing twice', async () => {
    // Prepare
    const token = `circle-core/${STAGE}/github/token`;
    await client.send(new PutSecretValueCommand({ SecretId: token, SecretString: LATER_VALUE }));

    // Act
    const result = await push();

    // Assess
    expect(result.code).toBe(0);
    expect(result.stdout).not.toMatch(/\screated\s/);
    expect(values(result.stdout)[token]).toBe('set');
    expect(result.stdout).not.toContain(LATER_VALUE);
  });

  it('refuses to run without a stage', async () => {
    // Act
    const result = await run(process.execPath, [join(ROOT, 'scripts', 'local', 'secrets.ts'), 'push'], {
      cwd: ROOT,
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code?: number; stderr?: string }) => ({ code: error.code ?? 1, stderr: error.stderr ?? '' }),
    );

    // Assess
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--stage');
  });
});
