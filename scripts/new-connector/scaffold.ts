/**
 * Writes a new connector from the templates of its kind (`templates/<kind>/*.tmpl`, tokens `__Name__`
 * replaced) and wires it into `serverless.yml`. Everything is checked before the first file is written:
 * the kind, the names, that nothing it would write exists, and that `serverless.yml` has the shape it
 * edits. `run.ts` is the command around it.
 */
import { spawnSync } from 'node:child_process';
import { access, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { type ConnectorNames, connectorNames, KINDS, type Kind, tokens } from './names.ts';

/** A refusal to scaffold: its message is for the person who typed the command. */
export class ScaffoldError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScaffoldError';
  }
}

export interface ScaffoldOptions {
  /** The repository root. */
  root: string;
  category: string;
  provider: string;
  kind: string;
  /** The provider's name in prose; default from the provider (`acme-cloud` -> `Acme Cloud`). */
  title?: string | undefined;
}

export interface ScaffoldResult {
  names: ConnectorNames;
  kind: Kind;
  /**
   * Repository-relative paths of the files written, `serverless.yml` excluded; a rest connector's include
   * `scripts/local/sandboxes/index.ts`, where its fake joins the sandboxes.
   */
  files: string[];
}

/** What each kind builds on, for messages and the changelog. */
export const KIND_SUMMARY: Readonly<Record<Kind, string>> = {
  rest: 'an HTTP/JSON API on the REST kit (defineRestProvider), tested against a contract fake',
  aws: 'an AWS service through the AWS kit (createAwsClient, awsCall), tested against a real peer',
  connection: 'a connection-based server (database, broker) on ConnectionDriver + ReusedConnection',
};

const STARTER: Readonly<Record<Kind, string>> = {
  rest: "the starter operations `list-items` and `create-item` against the starter contract fake, not yet __Title__'s own API",
  aws: "the starter operations `put-item` and `get-item` on a DynamoDB table of its own, not yet __Title__'s own service",
  connection:
    "the starter operations `get-value` and `set-value` over the starter line protocol, not yet __Title__'s own protocol or driver",
};

const TEMPLATES = join(import.meta.dirname, 'templates');
const CONNECTOR_FILES = [
  'index.ts',
  'client.ts',
  'errors.ts',
  'models.ts',
  'config.ts',
  'function.yml',
  'README.md',
];
const LEFTOVER = /__(?:category|provider|Name|name|PREFIX|Title|kind|starter|date)__/;

/** One file to write: its template and its repository-relative target. */
interface Planned {
  template: string;
  target: string;
}

function plan(names: ConnectorNames, kind: Kind): Planned[] {
  const folder = `functions/${names.category}/${names.provider}`;
  const files: Planned[] = CONNECTOR_FILES.map((file) => ({
    template: `${kind}/${file}.tmpl`,
    target: `${folder}/${file}`,
  }));
  files.push({ template: `${kind}/index.test.ts.tmpl`, target: `${folder}/index.test.ts` });
  files.push({ template: 'common/CHANGELOG.md.tmpl', target: `${folder}/CHANGELOG.md` });
  files.push({ template: `${kind}/threat-model.ts.tmpl`, target: `${folder}/threat-model.ts` });
  if (kind === 'rest')
    files.push({ template: 'rest/fake.ts.tmpl', target: `scripts/local/sandboxes/${names.provider}.ts` });
  if (kind === 'connection') {
    files.push({ template: 'connection/connection.ts.tmpl', target: `${folder}/connection.ts` });
    files.push({ template: 'connection/protocol.ts.tmpl', target: `${folder}/protocol.ts` });
    files.push({ template: 'connection/peer.ts.tmpl', target: `test/peers/${names.provider}.ts` });
  }
  return files;
}

async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Every function folder's provider name: function keys must be unique across categories. */
async function providersInUse(root: string): Promise<Map<string, string>> {
  const used = new Map<string, string>();
  const base = join(root, 'functions');
  for (const category of await readdir(base, { withFileTypes: true })) {
    if (!category.isDirectory()) continue;
    for (const provider of await readdir(join(base, category.name), { withFileTypes: true })) {
      if (provider.isDirectory()) used.set(provider.name, `functions/${category.name}/${provider.name}`);
    }
  }
  return used;
}

/**
 * `serverless.yml` with the connector added to its three lists (functions, artifacts, resources), or a
 * ScaffoldError naming the lines to add by hand when the file no longer has the shape this edits.
 *
 * @example
 * ```ts
 * const text = wireServerless(await readFile('serverless.yml', 'utf8'), connectorNames('devops', 'acme'));
 * ```
 */
export function wireServerless(text: string, names: ConnectorNames): string {
  const file = `functions/${names.category}/${names.provider}/function.yml`;
  const additions = [
    {
      after: /^ {2}- \$\{file\(functions\/[^)]+\/function\.yml\):function\}$/gm,
      line: `  - \${file(${file}):function}`,
    },
    {
      after: /^ {8}artifact: \$\{self:custom\.buildDir\}\/functions\/[^\s]+\.zip$/gm,
      line: `    ${names.provider}:\n      package:\n        artifact: \${self:custom.buildDir}/functions/${names.provider}.zip`,
    },
    {
      after: /^ {2}- Resources: \$\{file\(functions\/[^)]+\/function\.yml\):resources\}$/gm,
      line: `  - Resources: \${file(${file}):resources}`,
    },
  ];
  let wired = text;
  for (const { after, line } of additions) {
    const last = [...wired.matchAll(after)].pop();
    if (last === undefined) {
      throw new ScaffoldError(
        `serverless.yml no longer has the lists this command edits; add by hand:\n${additions.map((a) => a.line).join('\n')}`,
      );
    }
    const at = last.index + last[0].length;
    wired = `${wired.slice(0, at)}\n${line}${wired.slice(at)}`;
  }
  const document = parse(wired) as { functions?: unknown[]; resources?: unknown[] };
  if (!Array.isArray(document.functions) || !Array.isArray(document.resources)) {
    throw new ScaffoldError('serverless.yml would not parse after the edit; nothing was written');
  }
  return wired;
}

const SANDBOXES_FILE = 'scripts/local/sandboxes/index.ts';

/**
 * `scripts/local/sandboxes/index.ts` with a rest connector's contract fake added to `SANDBOXES` (its import
 * after the last local import, its row last in the table), so `npm start` serves it as the provider's
 * sandbox with no hand edit; or a ScaffoldError naming the lines to add when the file no longer has the
 * shape this edits.
 *
 * @example
 * ```ts
 * const text = wireSandbox(await readFile(SANDBOXES_FILE, 'utf8'), connectorNames('devops', 'acme'));
 * ```
 */
export function wireSandbox(text: string, names: ConnectorNames): string {
  const { pascal, prefix, provider, title } = names;
  const importLine = `import { ${prefix}_SANDBOX_TOKEN, start${pascal}Fake } from './${provider}.ts';`;
  const row = [
    '  {',
    `    provider: '${provider}',`,
    `    listener: '${title.replaceAll("'", "\\'")} sandbox',`,
    `    urlVariable: '${prefix}_API_URL',`,
    `    secretVariable: '${prefix}_TOKEN_SECRET',`,
    `    token: ${prefix}_SANDBOX_TOKEN,`,
    '    start: async (prepare) => {',
    `      const fake = await start${pascal}Fake({ prepare });`,
    '      return {',
    // The starter fake serves its API under /v1, as the connector's base URL names it.
    "        url: new URL('/v1', fake.url).href,",
    '        acceptToken: (token) => fake.state.tokens.add(token),',
    '        close: () => fake.close(),',
    '      };',
    '    },',
    '  },',
  ].join('\n');
  const lastImport = [...text.matchAll(/^import [^;]+ from '\.\/[^']+';$/gm)].pop();
  const table = /^export const SANDBOXES: readonly SandboxSpec\[\] = \[$/m.exec(text);
  const end = table === null ? -1 : text.indexOf('\n];', table.index);
  if (lastImport === undefined || table === null || end < 0) {
    throw new ScaffoldError(
      `${SANDBOXES_FILE} no longer has the SANDBOXES table this command edits; add by hand:\n${importLine}\n${row}`,
    );
  }
  const afterImport = lastImport.index + lastImport[0].length;
  return `${text.slice(0, afterImport)}\n${importLine}${text.slice(afterImport, end)}\n${row}${text.slice(end)}`;
}

/** Replaces every token; a token left over means a template names one that does not exist. */
export function render(template: string, values: Readonly<Record<string, string>>, name: string): string {
  let text = template;
  for (const [token, value] of Object.entries(values)) text = text.replaceAll(token, value);
  const leftover = LEFTOVER.exec(text);
  if (leftover !== null) throw new Error(`template ${name} has an unknown token ${leftover[0]}`);
  return text;
}

/**
 * Checks, renders and writes a connector, then adds it to `serverless.yml`.
 *
 * @example
 * ```ts
 * const { files } = await scaffold({ root, category: 'devops', provider: 'acme', kind: 'rest' });
 * ```
 */
export async function scaffold(options: ScaffoldOptions): Promise<ScaffoldResult> {
  const { root } = options;
  if (!(KINDS as readonly string[]).includes(options.kind)) {
    const choices = KINDS.map((kind) => `${kind} (${KIND_SUMMARY[kind]})`).join('; ');
    throw new ScaffoldError(`unknown kind "${options.kind}": choose one of ${choices}`);
  }
  const kind = options.kind as Kind;
  let names: ConnectorNames;
  try {
    names = connectorNames(options.category, options.provider, options.title);
  } catch (error) {
    throw new ScaffoldError((error as Error).message);
  }
  const folder = `functions/${names.category}/${names.provider}`;
  if (await exists(join(root, folder))) {
    throw new ScaffoldError(
      `${folder} already exists: choose another provider name, or remove the folder first`,
    );
  }
  const taken = (await providersInUse(root)).get(names.provider);
  if (taken !== undefined) {
    throw new ScaffoldError(
      `provider "${names.provider}" is already ${taken}: function names are unique across categories`,
    );
  }
  const planned = plan(names, kind);
  for (const { target } of planned) {
    if (await exists(join(root, target)))
      throw new ScaffoldError(`${target} already exists; nothing was written`);
  }
  const serverlessPath = join(root, 'serverless.yml');
  wireServerless(await readFile(serverlessPath, 'utf8'), names);
  const sandboxesPath = join(root, SANDBOXES_FILE);
  if (kind === 'rest') wireSandbox(await readFile(sandboxesPath, 'utf8'), names);

  const today = new Date().toISOString().slice(0, 10);
  const values = { ...tokens(names), __kind__: kind, __starter__: STARTER[kind], __date__: today };
  values.__starter__ = render(values.__starter__, values, 'starter');
  const rendered: { target: string; text: string }[] = [];
  for (const { template, target } of planned) {
    rendered.push({
      target,
      text: render(await readFile(join(TEMPLATES, template), 'utf8'), values, template),
    });
  }
  for (const { target, text } of rendered) {
    await mkdir(dirname(join(root, target)), { recursive: true });
    await writeFile(join(root, target), text, { flag: 'wx' });
  }
  // Read again at the last moment: someone else may have changed it meanwhile.
  await writeFile(serverlessPath, wireServerless(await readFile(serverlessPath, 'utf8'), names));
  const files = rendered.map(({ target }) => target);
  if (kind === 'rest') {
    await writeFile(sandboxesPath, wireSandbox(await readFile(sandboxesPath, 'utf8'), names));
    files.push(SANDBOXES_FILE);
  }
  return { names, kind, files };
}

/**
 * Formats the new files as the repository's Biome does (TypeScript line width and import order, Markdown
 * tables), then checks them: a name's length changes where lines break and how wide a table is, so the
 * templates cannot be laid out ahead. Files Biome does not know (YAML) are left as written.
 *
 * @example
 * ```ts
 * formatFiles(root, ['functions/devops/acme/index.ts']);
 * ```
 */
export function formatFiles(root: string, files: readonly string[]): void {
  const biome = join(root, 'node_modules', '.bin', 'biome');
  for (const args of [
    ['check', '--write'],
    ['check', '--error-on-warnings'],
  ]) {
    const result = spawnSync(process.execPath, [biome, ...args, ...files], { cwd: root, encoding: 'utf8' });
    if (result.status !== 0) {
      throw new Error(`biome ${args.join(' ')} failed on the new files:\n${result.stdout}${result.stderr}`);
    }
  }
}
