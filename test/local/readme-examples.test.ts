/**
 * Every example of every README, run as written against a fresh stack (issue 12): the root README, the
 * local-stack guide, the workflows README and each connector's README. The shell blocks are taken from the
 * Markdown mechanically; each command that talks to the stack (`curl`, `npm run invoke|workflow|schedule|
 * redrive|secrets`, `aws`, and the variables and functions they use) runs in bash against a stack started
 * as `npm start` starts it, and must succeed: exit status 0, and for curl an HTTP status below 400. The
 * stack's addresses replace `127.0.0.1:3000` and `127.0.0.1:4566`, and its state folder `.local/`; nothing
 * else is rewritten. Commands that cannot run here are left out by rule, each rule with its reason
 * ({@link LEFT_OUT}); a block for the other major version of the AWS CLI (the prose before it names it)
 * is left out too, and every `aws` block when no AWS CLI is installed (said in the test names).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKFLOWS } from '../../shared/workflows/catalog.ts';
import { REPO_ROOT, type StackProcess, startStackProcess } from './stack-process.ts';

/** Commands an example may show but this test does not run, and why. */
const LEFT_OUT: readonly { pattern: RegExp; reason: string }[] = [
  {
    pattern: /^(\S+=\S*\s+)*npm (start|ci|test)\b/,
    reason: 'starts or installs (the test runs its own stack)',
  },
  { pattern: /^npm run secrets -- (set|delete)\b/, reason: 'stores your own secret (placeholder values)' },
  { pattern: /(^|\s)--aws(\s|$)|--stage prod|\/prod\//, reason: 'runs against AWS, not the local stack' },
  { pattern: /&\s*(#.*)?$/, reason: 'starts a server in the background' },
  {
    pattern: /\$\{?JWT_(ISSUER|TOKEN)\b/,
    reason:
      'needs a stage with a JWT authorizer and the local OIDC issuer on :4599 (scripts/local/README.md)',
  },
];

/**
 * READMEs whose examples fail today, each with why: they run as \`it.fails\`, which turns red the day one
 * passes, so the entry is removed with the fix rather than forgotten.
 */
const KNOWN_BROKEN: Readonly<Record<string, string>> = {};

const SHELLS = new Set(['bash', 'sh', 'shell']);
const RUNS = /^(\w+=\S*\s+)*(curl|npm run (invoke|workflow|schedule|redrive|secrets)\b|aws\s)/;
/** Lines that only set something up for the commands after them (variables, shell functions). */
const SETUP = /^(export\s+\w+=|\w+=|\w+\(\)\s*\{)/;

interface Example {
  /** `README.md:69`. */
  where: string;
  readme: string;
  /** The commands to run, continuation lines joined. */
  commands: string[];
  /** Variables and functions the README defined in earlier blocks. */
  setup: string[];
  /** `v1` or `v2` when the prose before the block is about one AWS CLI version. */
  cli: 'v1' | 'v2' | undefined;
  usesAws: boolean;
  /** Connectors it calls that this repository does not have (a walkthrough's example name). */
  missing: string[];
}

async function readmes(): Promise<string[]> {
  const found = ['README.md', 'scripts/local/README.md', 'shared/workflows/README.md'];
  for (const entry of await readdir(join(REPO_ROOT, 'functions'), { recursive: true })) {
    if (entry.endsWith('README.md')) found.push(join('functions', entry));
  }
  return found.sort((a, b) => (a === 'README.md' ? -1 : b === 'README.md' ? 1 : a.localeCompare(b)));
}

/**
 * Joins `\` continuations; drops comments and blank lines. A command whose next line is a comment starting
 * with an HTTP status (`# 409: ...`) documents that answer: its curl must get that status instead.
 */
function commandsOf(block: string): string[] {
  const lines = block
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');
  const commands: string[] = [];
  for (const [index, line] of lines.entries()) {
    if (line.startsWith('#')) continue;
    const documented = /^#\s*([1-5]\d\d)\b/.exec(lines[index + 1] ?? '')?.[1];
    commands.push(documented === undefined ? line : `EXPECT=${documented}; ${line}; EXPECT=`);
  }
  return commands;
}

function cliOf(prose: string): 'v1' | 'v2' | undefined {
  const paragraph =
    prose
      .trim()
      .split(/\n\s*\n/)
      .pop() ?? '';
  if (/either version/i.test(paragraph)) return undefined;
  const v1 = /CLI v1\b/.test(paragraph);
  const v2 = /CLI v2\b/.test(paragraph);
  return v1 === v2 ? undefined : v1 ? 'v1' : 'v2';
}

/** The examples of one README, in order. */
/** Every connector of the repository (`functions/<category>/<provider>`). */
async function connectors(): Promise<Set<string>> {
  const found = new Set<string>();
  for (const category of await readdir(join(REPO_ROOT, 'functions'), { withFileTypes: true })) {
    if (!category.isDirectory()) continue;
    for (const entry of await readdir(join(REPO_ROOT, 'functions', category.name), { withFileTypes: true }))
      if (entry.isDirectory()) found.add(entry.name);
  }
  return found;
}

/**
 * The connectors a command calls: `:3000/<provider>/...`, a streaming function's URL
 * `:3000/lambda-url/<provider>-stream/...` (its connector's) and `npm run invoke -- <provider>`.
 */
function calledConnectors(commands: string[]): string[] {
  const text = commands.join('\n');
  return [
    ...[...text.matchAll(/:3000\/(?:lambda-url\/)?([a-z][\w-]*?)(?:-stream)?\//g)].map(
      (match) => match[1] ?? '',
    ),
    ...[...text.matchAll(/npm run invoke -- ([a-z][\w-]*)/g)].map((match) => match[1] ?? ''),
  ];
}

function examplesOf(readme: string, text: string, known: ReadonlySet<string>): Example[] {
  const examples: Example[] = [];
  const setup: string[] = [];
  let previousEnd = 0;
  for (const match of text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)) {
    const prose = text.slice(previousEnd, match.index);
    previousEnd = match.index + match[0].length;
    if (!SHELLS.has(match[1] ?? '')) continue;
    const all = commandsOf(match[2] ?? '');
    const kept = all.filter((command) => !LEFT_OUT.some((rule) => rule.pattern.test(command)));
    const commands = kept.filter((command) => RUNS.test(command) || SETUP.test(command));
    if (!commands.some((command) => RUNS.test(command))) continue;
    const line = text.slice(0, match.index).split('\n').length;
    examples.push({
      where: `${readme}:${line}`,
      readme,
      commands,
      setup: [...setup],
      cli: cliOf(prose),
      missing: [...new Set(calledConnectors(commands).filter((name) => !known.has(name)))],
      usesAws: commands.some((command) => /^(\w+=\S*\s+)*aws\s/.test(command)),
    });
    setup.push(...commands.filter((command) => SETUP.test(command) && !RUNS.test(command)));
  }
  return examples;
}

function installedCli(): 'v1' | 'v2' | undefined {
  try {
    const version = execFileSync('aws', ['--version'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return /aws-cli\/1\./.test(version) ? 'v1' : 'v2';
  } catch {
    return undefined;
  }
}

const cli = installedCli();
const known = await connectors();
const examples = (
  await Promise.all(
    (
      await readmes()
    ).map(async (readme) => examplesOf(readme, await readFile(join(REPO_ROOT, readme), 'utf8'), known)),
  )
).flat();

let stack: StackProcess;
let scratch: string;

beforeAll(async () => {
  for (const name of ['SLACK_API_URL', 'GITHUB_API_URL', 'CIRCLE_LOCAL_REAL', 'PG_URL', 'MYSQL_URL']) {
    if (process.env[name] !== undefined) throw new Error(`unset ${name} to run this suite`);
  }
  // No key given: the stack writes .local/api-key (here its state folder), which the examples read.
  stack = await startStackProcess({ CIRCLE_LOCAL_API_KEY: '' });
  scratch = await mkdtemp(join(tmpdir(), 'circle-readme-'));
}, 300_000);

afterAll(async () => {
  if (stack !== undefined) await stack.stop();
  if (scratch !== undefined) await rm(scratch, { recursive: true, force: true });
});

/** The example as bash runs it: addresses and the state folder of this stack, failures fatal. */
function script(example: Example): string {
  const api = new URL(stack.apiUrl);
  const aws = new URL(stack.awsUrl);
  const rewrite = (command: string): string =>
    command
      .replaceAll(/(http:\/\/)?(127\.0\.0\.1|localhost):3000\b/g, `http://127.0.0.1:${api.port}`)
      .replaceAll(/(http:\/\/)?(127\.0\.0\.1|localhost):4566\b/g, `http://127.0.0.1:${aws.port}`)
      .replaceAll(/(^|[\s=("'$])\.local\//g, `$1${stack.localDir}/`);
  return [
    'set -eo pipefail',
    // curl as the examples call it, but an HTTP error fails the example (and shows the answer), unless the
    // README documents that status for the command (EXPECT, see commandsOf).
    [
      'curl() {',
      '  if [ -z "$EXPECT" ]; then command curl --fail-with-body --show-error "$@"; echo; return; fi',
      `  local out; out=$(command curl --show-error -w '\\n%{http_code}' "$@")`,
      `  local status=\${out##*$'\\n'}; printf '%s\\n' "\${out%$'\\n'*}"`,
      '  [ "$status" = "$EXPECT" ] || { echo "expected HTTP $EXPECT as documented, got $status" >&2; return 22; }',
      '}',
    ].join('\n'),
    // A prerequisite the root README names (Debian: uuid-runtime); stood in for where it is missing.
    'command -v uuidgen >/dev/null || uuidgen() { cat /proc/sys/kernel/random/uuid; }',
    `npm() { command npm --prefix ${JSON.stringify(REPO_ROOT)} "$@"; }`,
    ...example.setup.map(rewrite),
    ...example.commands.map(rewrite),
  ].join('\n');
}

/** The shell of someone who followed the README: no AWS settings of their own, a fresh home. */
function newcomerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...stack.env, HOME: scratch, NO_COLOR: '1' };
  for (const name of Object.keys(env)) {
    if (name.startsWith('AWS_') || name.startsWith('VITEST') || name === 'NODE_V8_COVERAGE') delete env[name];
  }
  delete env['CIRCLE_LOCAL_API_KEY'];
  return env;
}

function runBash(text: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      ['-c', text],
      {
        cwd: scratch,
        env: newcomerEnv(),
        timeout: 120_000,
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, output: `${stdout}${stderr}` });
      },
    );
  });
}

function skipReason(example: Example): string | undefined {
  if (example.missing.length > 0) {
    return `calls ${example.missing.join(', ')}, a connector this repository does not have (a walkthrough's name)`;
  }
  if (!example.usesAws) return undefined;
  if (cli === undefined) return 'no AWS CLI installed';
  if (example.cli !== undefined && example.cli !== cli)
    return `for AWS CLI ${example.cli}; ${cli} is installed`;
  return undefined;
}

describe('README examples against a fresh stack', { timeout: 150_000 }, () => {
  it('finds the examples of every README, the connectors’ included', () => {
    // Assess
    const where = new Set(examples.map((example) => example.readme));
    expect(where).toContain('README.md');
    expect(where).toContain('scripts/local/README.md');
    expect(where).toContain('shared/workflows/README.md');
    expect([...where].filter((readme) => readme.startsWith('functions/')).length).toBeGreaterThanOrEqual(3);
  });

  it('runs every on-demand workflow in the workflows README’s “Running them locally”', async () => {
    // Prepare
    const readme = await readFile(join(REPO_ROOT, 'shared/workflows/README.md'), 'utf8');
    const section = /^## Running them locally\n([\s\S]*?)(?=^## )/m.exec(readme)?.[1] ?? '';

    // Act
    const missing = WORKFLOWS.filter((workflow) => workflow.trigger === 'on-demand')
      .map((workflow) => workflow.name)
      .filter((name) => !section.includes(`npm run workflow -- ${name} --input '`));

    // Assess: each is then run by the example test of that block, against this suite's stack.
    expect(section).not.toBe('');
    expect(missing).toEqual([]);
  });

  it('runs the readiness one-liners the root README and the local guide show in their prose', async () => {
    // Prepare: `until curl -sf http://127.0.0.1:3000/health ...; done`, inline code, not a shell block.
    const oneLiners: { where: string; command: string }[] = [];
    for (const readme of ['README.md', 'scripts/local/README.md']) {
      const text = await readFile(join(REPO_ROOT, readme), 'utf8');
      for (const match of text.matchAll(/`(until curl [^`]+)`/g)) {
        oneLiners.push({
          where: `${readme}:${text.slice(0, match.index).split('\n').length}`,
          command: match[1] ?? '',
        });
      }
    }

    // Act
    const runs = await Promise.all(
      oneLiners.map(async ({ where, command }) => {
        const example: Example = {
          where,
          readme: where,
          commands: [`timeout 60 bash -c ${JSON.stringify(command)}`],
          setup: [],
          cli: undefined,
          usesAws: false,
          missing: [],
        };
        return { where, ...(await runBash(script(example))) };
      }),
    );

    // Assess: both guides show one; each ends at once on a ready stack.
    expect(oneLiners.map((oneLiner) => oneLiner.where.split(':')[0])).toEqual([
      'README.md',
      'scripts/local/README.md',
    ]);
    for (const run of runs) expect(run.code, `${run.where}\n${run.output}`).toBe(0);
  });

  for (const example of examples) {
    const reason = skipReason(example);
    const broken = KNOWN_BROKEN[example.readme];
    const test = reason !== undefined ? it.skip : broken === undefined ? it : it.fails;
    test(`${example.where}: ${example.commands.filter((command) => RUNS.test(command)).length} command(s)${reason === undefined ? '' : ` (skipped: ${reason})`}${broken === undefined ? '' : ` (known broken: ${broken})`}`, async () => {
      // Act
      const text = script(example);
      const { code, output } = await runBash(text);

      // Assess
      expect(code, `${text}\n---\n${output.slice(-4000)}`).toBe(0);
    });
  }
});
