import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AwsError } from '../../scripts/local/aws/protocol.ts';
import { secretsManagerService } from '../../scripts/local/aws/secrets-manager.ts';
import { SecretStore, secretArn } from '../../scripts/local/stores/secret-store.ts';
import { REPO_ROOT } from './stack-process.ts';

let dir: string;
let store: SecretStore;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'secrets-'));
  store = new SecretStore(join(dir, 'secrets.json'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('Class: SecretStore', () => {
  describe('Method: put', () => {
    it('writes the file with mode 0600, a new version per value, and finds a secret by ARN', async () => {
      // Act
      const first = await store.put('app/token', { value: 'one' });
      const second = await store.put('app/token', { value: 'two' });
      const byArn = await store.get(secretArn('app/token', 'us-east-1'));

      // Assess
      expect(second.versionId).not.toBe(first.versionId);
      expect(second.createdAt).toBe(first.createdAt);
      expect(byArn?.value).toBe('two');
      expect((await stat(store.file)).mode & 0o777).toBe(0o600);
    });

    it('refuses to create an existing secret or update a missing one', async () => {
      // Prepare
      await store.put('app/token', { value: 'one' });

      // Act
      const create = store.put('app/token', { value: 'x' }, 'create');
      const update = store.put('app/other', { value: 'x' }, 'update');

      // Assess
      await expect(create).rejects.toMatchObject({ reason: 'exists' });
      await expect(update).rejects.toMatchObject({ reason: 'not-found' });
    });
  });

  describe('Method: list', () => {
    it('reads hand-written "name": "value" entries', async () => {
      // Prepare
      await writeFile(store.file, JSON.stringify({ secrets: { 'hand/written': 'v' } }));

      // Act
      const secrets = await store.list();

      // Assess
      expect(secrets).toEqual([expect.objectContaining({ name: 'hand/written', value: 'v' })]);
    });
  });

  describe('Method: delete', () => {
    it('marks a secret deleted, restores it, and removes it for good with force', async () => {
      // Prepare
      await store.put('app/token', { value: 'one' });

      // Act
      const marked = await store.delete('app/token');
      const restored = await store.restore('app/token');
      await store.delete('app/token', { force: true });

      // Assess
      expect(marked.deletedAt).toEqual(expect.any(Number));
      expect(restored.deletedAt).toBeUndefined();
      expect(await store.get('app/token')).toBeUndefined();
      expect(JSON.parse(await readFile(store.file, 'utf8'))).toEqual({ secrets: {} });
    });
  });
});

describe('Secret names AWS refuses', () => {
  const BAD = ['bad name with spaces', 'semi;colon', 'bang!', 'x'.repeat(513), ''];

  it('CreateSecret answers ValidationException and stores nothing; valid names still work', async () => {
    // Prepare
    const service = secretsManagerService(store, 'us-east-1');

    // Act
    const refusals = await Promise.all(
      BAD.map((Name) =>
        service({ operation: 'CreateSecret', body: { Name, SecretString: 'v' } }).then(
          () => `${Name}: accepted`,
          (error: AwsError) => error.type,
        ),
      ),
    );
    const good = await service({
      operation: 'CreateSecret',
      body: { Name: 'app/A-z_0+9=.@x', SecretString: 'v' },
    });

    // Assess
    expect(refusals).toEqual([
      'ValidationException',
      'ValidationException',
      'ValidationException',
      'ValidationException',
      'InvalidParameterException',
    ]);
    expect(good).toMatchObject({ Name: 'app/A-z_0+9=.@x' });
    expect((await store.list()).map((secret) => secret.name)).toEqual(['app/A-z_0+9=.@x']);
  });

  it('npm run secrets -- set refuses the name with one clear line', async () => {
    // Act
    const answer = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [join(REPO_ROOT, 'scripts', 'local', 'secrets.ts'), 'set', 'bad name with spaces', 'v'],
        { cwd: REPO_ROOT, env: { ...process.env, CIRCLE_LOCAL_DIR: dir }, timeout: 30_000 },
        (_error, stdout, stderr) =>
          resolve({ code: child.exitCode, stdout: String(stdout), stderr: String(stderr) }),
      );
    });

    // Assess
    expect(answer.code).toBe(1);
    expect(answer.stderr.trim()).toBe(
      "'bad name with spaces' is not a valid secret name: Secrets Manager takes 1 to 512 characters, only ASCII letters, digits and / _ + = . @ -",
    );
    expect(existsSync(join(dir, 'secrets.json'))).toBe(false);
  });
});

describe('Function: secretsManagerService', () => {
  it('answers GetSecretValue like Secrets Manager and refuses a secret marked for deletion', async () => {
    // Prepare
    const service = secretsManagerService(store, 'us-east-1');
    await service({
      operation: 'CreateSecret',
      body: { Name: 'app/token', SecretString: 's3cr3t', Description: 'd' },
    });

    // Act
    const value = (await service({ operation: 'GetSecretValue', body: { SecretId: 'app/token' } })) as Record<
      string,
      unknown
    >;
    await service({ operation: 'DeleteSecret', body: { SecretId: 'app/token', RecoveryWindowInDays: 7 } });
    const deleted = await service({ operation: 'GetSecretValue', body: { SecretId: 'app/token' } }).catch(
      (error: unknown) => error,
    );
    const listed = (await service({ operation: 'ListSecrets', body: {} })) as { SecretList: unknown[] };
    const missing = await service({ operation: 'DescribeSecret', body: { SecretId: 'nope' } }).catch(
      (error: unknown) => error,
    );

    // Assess
    expect(value).toMatchObject({ Name: 'app/token', SecretString: 's3cr3t', VersionStages: ['AWSCURRENT'] });
    expect(String(value['ARN'])).toMatch(
      /^arn:aws:secretsmanager:us-east-1:000000000000:secret:app\/token-\w{6}$/,
    );
    expect(deleted).toMatchObject({ type: 'InvalidRequestException' });
    expect(listed.SecretList).toEqual([]);
    expect(missing).toBeInstanceOf(AwsError);
    expect(missing).toMatchObject({ type: 'ResourceNotFoundException' });
  });
});
