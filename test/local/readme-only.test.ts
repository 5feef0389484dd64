/**
 * A README that starts the stack with `npm start -- --only <functions>` must name every function its later
 * examples call (issue 12, "the README tells the truth on the running stack"). `--only` starts the named
 * functions alone (`scripts/local/stack.ts`), so an example that reaches another one (a connector's
 * `<name>-stream` function URL, another connector's route, `npm run invoke -- <other>`) answers 404 or
 * "unknown function" for a newcomer who followed the README from the top. readme-examples.test.ts runs
 * the examples on a full stack, where this cannot show, so it is checked here from the READMEs and the
 * functions' `function.yml` routes.
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { discoverFunctions } from '../../scripts/lib/functions.ts';
import { REPO_ROOT } from './stack-process.ts';

const SHELLS = new Set(['bash', 'sh', 'shell']);
const START = /^(\w+=\S*\s+)*npm start\b(.*)$/;
const ONLY = /--only[= ](\S+)/;

/** Route prefix (`/bedrock/...`) -> the functions that serve routes under it. */
async function routeOwners(): Promise<Map<string, Set<string>>> {
  const owners = new Map<string, Set<string>>();
  for (const fn of await discoverFunctions(REPO_ROOT)) {
    const events = (fn.definition['events'] ?? []) as { httpApi?: { path?: string } }[];
    for (const event of events) {
      const prefix = /^\/([^/{]+)\//.exec(event.httpApi?.path ?? '')?.[1];
      if (prefix === undefined) continue;
      const set = owners.get(prefix) ?? new Set<string>();
      set.add(fn.name);
      owners.set(prefix, set);
    }
  }
  return owners;
}

/** The functions each call of one command reaches on the stack (any one of a set serves it). */
function calledFunctions(command: string, owners: ReadonlyMap<string, ReadonlySet<string>>): string[][] {
  const called: string[][] = [];
  for (const match of command.matchAll(/:3000\/lambda-url\/([a-z][\w-]*)\//g)) called.push([match[1] ?? '']);
  for (const match of command.matchAll(/:3000\/([a-z][\w-]*)\//g)) {
    if (match[1] === 'lambda-url') continue;
    const serving = owners.get(match[1] ?? '');
    if (serving !== undefined) called.push([...serving]);
  }
  for (const match of command.matchAll(/npm run (?:invoke|schedule) -- ([a-z][\w-]*)/g))
    called.push([match[1] ?? '']);
  return called;
}

interface Finding {
  where: string;
  only: string;
  command: string;
}

/** The shell blocks of a README, each with its line and its commands (continuations joined, no comments). */
function shellBlocks(text: string): { line: number; commands: string[] }[] {
  return [...text.matchAll(/^```(\w*)\n([\s\S]*?)^```$/gm)]
    .filter((block) => SHELLS.has(block[1] ?? ''))
    .map((block) => ({
      line: text.slice(0, block.index).split('\n').length,
      commands: (block[2] ?? '')
        .replace(/\\\n\s*/g, ' ')
        .split('\n')
        .map((command) => command.trim())
        .filter((command) => command !== '' && !command.startsWith('#')),
    }));
}

/** Every example command after an `--only` start in one README that reaches a function it left out. */
function findings(readme: string, text: string, owners: ReadonlyMap<string, ReadonlySet<string>>): Finding[] {
  const found: Finding[] = [];
  let only: { where: string; names: string[] } | undefined;
  for (const { line, commands } of shellBlocks(text)) {
    for (const command of commands) {
      const start = START.exec(command);
      if (start !== null) {
        const list = ONLY.exec(start[2] ?? '')?.[1];
        only = list === undefined ? undefined : { where: `${readme}:${line}`, names: list.split(',') };
        continue;
      }
      if (only === undefined) continue;
      const { where, names } = only;
      const missed = calledFunctions(command, owners).filter(
        (set) => !set.some((name) => names.includes(name)),
      );
      found.push(
        ...missed.map(() => ({ where: `${readme}:${line}`, only: where, command: command.slice(0, 160) })),
      );
    }
  }
  return found;
}

describe('README examples after `npm start -- --only ...`', () => {
  it('call only functions the `--only` list starts', async () => {
    // Prepare
    const owners = await routeOwners();
    const readmes = ['README.md', 'scripts/local/README.md', 'shared/workflows/README.md'];
    for (const entry of await readdir(join(REPO_ROOT, 'functions'), { recursive: true })) {
      if (entry.endsWith('README.md')) readmes.push(join('functions', entry));
    }

    // Act
    const found: Finding[] = [];
    for (const readme of readmes) {
      found.push(...findings(readme, await readFile(join(REPO_ROOT, readme), 'utf8'), owners));
    }

    // Assess
    expect(owners.get('bedrock')).toEqual(new Set(['bedrock']));
    expect(found).toEqual([]);
  });

  it('would see an example that reaches a function the list leaves out', async () => {
    // Prepare: the bedrock README as it was (0.3.x): `--only bedrock`, then the bedrock-stream URL.
    const owners = await routeOwners();
    const readme = [
      '```bash',
      'npm start -- --only bedrock',
      '```',
      '```bash',
      'curl -s http://127.0.0.1:3000/bedrock/complete-chat -d "{}"',
      'curl -s --no-buffer http://127.0.0.1:3000/lambda-url/bedrock-stream/chat-stream -d "{}"',
      'npm run invoke -- openai --task --operation health',
      '```',
    ].join('\n');

    // Act
    const found = findings('example.md', readme, owners);

    // Assess
    expect(found.map((finding) => finding.command)).toEqual([
      expect.stringContaining('lambda-url/bedrock-stream'),
      expect.stringContaining('invoke -- openai'),
    ]);
  });
});
