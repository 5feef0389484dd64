import { spawnSync } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLog } from '../../scripts/security/secrets.ts';
import { ROOT, runSecurity } from './support.ts';

/**
 * Credentials shaped like real ones, assembled at run time so that this file (and so the repository's
 * history) never holds one the scanner would flag.
 */
const PLANTED = {
  github: ['gh', 'p_', 'R8m2Kq7Zt4Xw9Lp3Vb6Nc1Hy5Jd0Fg8Sa2Ue'].join(''),
  slack: ['xo', 'xb-', '2848193847261-', '5829301928374-', 'Qm7Rt2Vx9Kp4Lw8Zn3Bc6Hd'].join(''),
};

let repo: string;

function git(...args: string[]): string {
  const result = spawnSync('git', ['-c', 'user.name=Test', '-c', 'user.email=test@example.test', ...args], {
    cwd: repo,
    encoding: 'utf8',
  });
  if (result.status !== 0) throw new Error(`git ${args.join(' ')}: ${result.stderr}`);
  return result.stdout.trim();
}

beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), 'circle-secrets-'));
  git('init', '--quiet', '--initial-branch=main');
  await copyFile(join(ROOT, '.secretlintrc.yml'), join(repo, '.secretlintrc.yml'));
  await writeFile(join(repo, 'README.md'), '# Fixture\n\nNothing secret here.\n');
  git('add', '.');
  git('commit', '--quiet', '-m', 'clean start');
});

afterAll(async () => {
  if (repo !== undefined) await rm(repo, { recursive: true, force: true });
});

describe('Security checks: secrets and history', () => {
  it('passes a clean tree and history', async () => {
    // Act
    const { status, output } = await runSecurity('secrets,history', repo);
    // Assess
    expect(output).toContain('PASS  secrets   no secret in the working tree');
    expect(output).toContain('PASS  history   no secret in any commit');
    expect(status).toBe(0);
  });

  it('fails the build on a credential planted in an uncommitted file, naming the line and masking the value', async () => {
    // Prepare
    await mkdir(join(repo, 'config'), { recursive: true });
    await writeFile(join(repo, 'config/leak.ts'), `// deploy\nexport const token = '${PLANTED.github}';\n`);
    // Act
    const { status, output } = await runSecurity('secrets,history', repo);
    // Assess
    expect(status).toBe(1);
    expect(output).toContain('FAIL  secrets   1 secret in the working tree');
    expect(output).toMatch(/- config\/leak\.ts:2 {2}found GitHub Token.*secretlint-rule-github/);
    expect(output).toContain('PASS  history');
    expect(output).not.toContain(PLANTED.github);
  });

  it('still fails on the history once the file that held the credential is deleted, naming the commit', async () => {
    // Prepare
    git('add', 'config/leak.ts');
    git('commit', '--quiet', '-m', 'add deploy config');
    const leaked = git('rev-parse', '--short=12', 'HEAD');
    git('rm', '--quiet', 'config/leak.ts');
    git('commit', '--quiet', '-m', 'remove deploy config');
    // Act
    const { status, output } = await runSecurity('secrets,history', repo);
    // Assess
    expect(status).toBe(1);
    expect(output).toContain('PASS  secrets');
    expect(output).toContain('FAIL  history   1 secret in the history');
    expect(output).toContain(`- ${leaked}:config/leak.ts:2  found GitHub Token`);
    expect(output).not.toContain(PLANTED.github);
  });

  it('lets an allow-listed fake through but not a real-looking token beside it', async () => {
    // Prepare: the sandbox's fake token is allow-listed by value in .secretlintrc.yml.
    const fakes = join(repo, 'fakes');
    await mkdir(fakes, { recursive: true });
    await writeFile(
      join(fakes, 'slack.ts'),
      "export const DEFAULT_SLACK_TOKEN = 'xoxb-circle-fake-token';\n",
    );
    const allowed = await runSecurity('secrets', repo);
    await writeFile(
      join(fakes, 'slack.ts'),
      `export const A = 'xoxb-circle-fake-token';\nexport const B = '${PLANTED.slack}';\n`,
    );
    // Act
    const refused = await runSecurity('secrets', repo);
    // Assess
    expect(allowed.output).toContain('PASS  secrets');
    expect(refused.status).toBe(1);
    expect(refused.output).toContain('FAIL  secrets   1 secret in the working tree');
    expect(refused.output).toMatch(/- fakes\/slack\.ts:2 {2}found slack token/);
  });
});

describe('Function: parseLog', () => {
  it('keeps the lines each commit added at their line numbers, even ones that look like diff headers', async () => {
    // Prepare
    const log = [
      '\0aaaa',
      'diff --git a/notes.md b/notes.md',
      '--- a/notes.md',
      '+++ b/notes.md',
      '@@ -3,0 +4,2 @@ heading',
      '+first',
      '++++ looks like a header',
      'diff --git a/gone.md b/gone.md',
      '--- a/gone.md',
      '+++ /dev/null',
      '@@ -1 +0,0 @@',
      '-bye',
      '\0bbbb',
      'diff --git a/"odd name.md" b/"odd name.md"',
      '+++ "b/odd\\tname.md"',
      '@@ -1 +1 @@',
      '-old',
      '+new',
    ].join('\n');
    // Act
    const added = parseLog(log);
    // Assess
    expect(added.map(({ commit, path, lines }) => [commit, path, [...lines]])).toEqual([
      [
        'aaaa',
        'notes.md',
        [
          [4, 'first'],
          [5, '+++ looks like a header'],
        ],
      ],
      ['bbbb', 'odd\tname.md', [[1, 'new']]],
    ]);
  });
});
