/**
 * Secret scanning with secretlint and its recommended preset, configured by the repository's
 * `.secretlintrc.yml` (which also allow-lists, value by value, the fake credentials tests carry): the tree
 * (tracked files and untracked ones git does not ignore, so a secret is caught before its commit) and the
 * history (every line every commit added, so a secret deleted since is still found). Findings show the
 * secret masked.
 */
import { access, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createEngine } from '@secretlint/node';
import { runCommand } from './exec.ts';

/** One secret found: where (a file and line, or a commit, file and line) and what secretlint says. */
export interface SecretFinding {
  readonly where: string;
  readonly rule: string;
  readonly message: string;
}

/** The parts of secretlint's `json` formatter output read here (it also carries the file, unmasked). */
interface LintResult {
  filePath: string;
  messages: { ruleId: string; message: string; loc: { start: { line: number } } }[];
}

/** The config every scan uses: the one in the scanned repository. */
export const CONFIG_FILE = '.secretlintrc.yml';

type Engine = Awaited<ReturnType<typeof createEngine>>;

async function engineFor(root: string): Promise<Engine> {
  const configFilePath = join(root, CONFIG_FILE);
  await access(configFilePath);
  return createEngine({ cwd: root, configFilePath, formatter: 'json', color: false, maskSecrets: true });
}

function findings(output: string, where: (result: LintResult, line: number) => string): SecretFinding[] {
  const results = JSON.parse(output === '' ? '[]' : output) as LintResult[];
  return results.flatMap((result) =>
    result.messages.map((message) => ({
      where: where(result, message.loc.start.line),
      rule: message.ruleId,
      message: message.message,
    })),
  );
}

async function git(root: string, args: string[]): Promise<string> {
  const { status, stdout, stderr } = await runCommand('git', args, { cwd: root });
  if (status !== 0) throw new Error(`git ${args[0]} failed in ${root}: ${stderr.trim()}`);
  return stdout;
}

/**
 * The files of the working tree worth scanning: tracked ones that still exist and untracked ones git does
 * not ignore (`.local/`, `node_modules/`, build output stay out).
 *
 * @example
 * ```ts
 * const files = await treeFiles(process.cwd()); // ['README.md', 'functions/storage/s3/index.ts', ...]
 * ```
 */
export async function treeFiles(root: string): Promise<string[]> {
  const listed = (await git(root, ['ls-files', '-z', '--cached', '--others', '--exclude-standard']))
    .split('\0')
    .filter((path) => path !== '');
  const files: string[] = [];
  for (const path of new Set(listed)) {
    const info = await stat(join(root, path)).catch(() => undefined);
    if (info?.isFile()) files.push(path);
  }
  return files.sort();
}

/**
 * Scans the working tree; each finding is `path:line`.
 *
 * @example
 * ```ts
 * const found = await scanTree(process.cwd()); // [] when clean
 * ```
 */
export async function scanTree(root: string): Promise<SecretFinding[]> {
  const engine = await engineFor(root);
  const files = await treeFiles(root);
  if (files.length === 0) return [];
  const { output } = await engine.executeOnFiles({ filePathList: files.map((path) => join(root, path)) });
  return findings(output, (result, line) => `${result.filePath.slice(root.length + 1)}:${line}`);
}

/** The lines one commit added to one file, at their line numbers in that commit's version of the file. */
export interface AddedLines {
  readonly commit: string;
  readonly path: string;
  readonly lines: ReadonlyMap<number, string>;
}

/**
 * Splits `git log -p --unified=0 --format=%x00%H` output into the lines each commit added to each file.
 * Deleted files, binary files and removed lines carry nothing to scan.
 *
 * @example
 * ```ts
 * const added = parseLog(await git(root, ['log', '-p', '--unified=0', '--format=%x00%H']));
 * ```
 */
export function parseLog(log: string): AddedLines[] {
  return log
    .split('\0')
    .filter((part) => part.trim() !== '')
    .flatMap(parseCommit)
    .filter((entry) => entry.lines.size > 0);
}

interface Hunk {
  removed: number;
  added: number;
  next: number;
}

function parseCommit(chunk: string): AddedLines[] {
  const [commit = '', ...rest] = chunk.split('\n');
  const files: AddedLines[] = [];
  let current: Map<number, string> | undefined;
  // Inside a hunk, lines are content whatever they start with: its header says how many there are.
  const hunk: Hunk = { removed: 0, added: 0, next: 0 };
  for (const line of rest) {
    if (hunk.removed > 0 || hunk.added > 0) readHunkLine(line, hunk, current);
    else if (line.startsWith('+++ ')) {
      const path = targetPath(line.slice(4));
      current = path === undefined ? undefined : new Map();
      if (path !== undefined && current !== undefined) files.push({ commit, path, lines: current });
    } else if (line.startsWith('@@ ')) {
      const counts = /^@@ -\d+(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/.exec(line);
      hunk.removed = Number(counts?.[1] ?? 1);
      hunk.next = Number(counts?.[2] ?? 0);
      hunk.added = Number(counts?.[3] ?? 1);
    }
  }
  return files;
}

function readHunkLine(line: string, hunk: Hunk, lines: Map<number, string> | undefined): void {
  if (line.startsWith('-')) hunk.removed -= 1;
  else if (line.startsWith('+')) {
    lines?.set(hunk.next, line.slice(1));
    hunk.added -= 1;
    hunk.next += 1;
  }
}

/** The path in a `+++ b/path` header (C-quoted by git when unusual), `undefined` for a deleted file. */
function targetPath(header: string): string | undefined {
  if (header === '/dev/null') return undefined;
  const unquoted = header.startsWith('"') ? (JSON.parse(header) as string) : header;
  return unquoted.replace(/^b\//, '');
}

/**
 * Scans every line every commit reachable from any ref added (merges show no diff of their own); each
 * finding is `<commit>:<path>:<line>`.
 *
 * @example
 * ```ts
 * const found = await scanHistory(process.cwd()); // [] when no commit ever added a secret
 * ```
 */
export async function scanHistory(root: string): Promise<SecretFinding[]> {
  const engine = await engineFor(root);
  const log = await git(root, [
    'log',
    '--all',
    '-p',
    '--unified=0',
    '--no-color',
    '--no-ext-diff',
    '--no-renames',
    '--format=%x00%H',
  ]);
  const found: SecretFinding[] = [];
  for (const { commit, path, lines } of parseLog(log)) {
    // Lines sit at their own numbers (gaps left empty), so a finding names the line in that commit's file.
    const last = Math.max(...lines.keys());
    const content = Array.from({ length: last }, (_, index) => lines.get(index + 1) ?? '').join('\n');
    const { output } = await engine.executeOnContent({ content, filePath: join(root, path) });
    found.push(...findings(output, (_, line) => `${commit.slice(0, 12)}:${path}:${line}`));
  }
  return found;
}
