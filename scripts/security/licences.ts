/**
 * The production dependency tree (`npm ls --omit=dev --all`: what the functions and the layer bundle) and
 * the licence allow-list it must keep to: permissive licences only, read from each installed package's
 * `package.json` as an SPDX expression. A package without a licence, with one outside the list, or with a
 * text npm cannot read as SPDX (`SEE LICENSE IN ...`) is a finding naming it.
 */
import { glob, readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './exec.ts';

/**
 * Licences a production dependency may carry: permissive ones that ask at most for the notice to be kept.
 * Extending the list is a decision for review, with the reason in the commit.
 */
export const ALLOWED_LICENCES: ReadonlySet<string> = new Set([
  'MIT',
  'MIT-0',
  'ISC',
  'Apache-2.0',
  'BSD-2-Clause',
  'BSD-3-Clause',
  '0BSD',
  'BlueOak-1.0.0',
  'Unlicense',
  'CC0-1.0',
]);

/** One installed production package. */
export interface ProductionPackage {
  readonly name: string;
  readonly version: string;
  /** Absolute folder. */
  readonly path: string;
  /** A workspace or the root: our own code, not a dependency. */
  readonly local: boolean;
  /** The SPDX expression it declares, `undefined` when it declares none. */
  readonly licence: string | undefined;
}

interface Manifest {
  name?: string;
  version?: string;
  license?: unknown;
  licenses?: unknown;
}

/** `license` as npm documents it, plus the legacy `{ type }` object and `licenses` array (read as OR). */
function declaredLicence(manifest: Manifest): string | undefined {
  const typeOf = (value: unknown): string | undefined =>
    typeof value === 'string'
      ? value
      : typeof (value as { type?: unknown })?.type === 'string'
        ? (value as { type: string }).type
        : undefined;
  const single = typeOf(manifest.license);
  if (single !== undefined) return single;
  const list = Array.isArray(manifest.licenses) ? manifest.licenses.map(typeOf) : [];
  const names = list.filter((name): name is string => name !== undefined);
  return names.length === 0 ? undefined : names.length === 1 ? names[0] : `(${names.join(' OR ')})`;
}

/**
 * Every package of the production tree installed under `root`, each `name@version` once.
 *
 * @example
 * ```ts
 * const packages = await productionPackages(process.cwd()); // [{ name: 'pg', version: '8.23.1', ... }, ...]
 * ```
 */
export async function productionPackages(root: string): Promise<ProductionPackage[]> {
  const npm = await runCommand('npm', ['ls', '--omit=dev', '--all', '--parseable'], { cwd: root });
  // npm ls exits 1 on a tree it finds fault with (an extraneous package) but still lists it.
  const paths = npm.stdout.split('\n').filter((line) => line.trim() !== '');
  if (paths.length === 0) throw new Error(`npm ls --omit=dev failed in ${root}: ${npm.stderr.trim()}`);
  const own = await ownPackages(root);
  const seen = new Map<string, ProductionPackage>();
  for (const path of paths) {
    const manifest = JSON.parse(await readFile(join(path, 'package.json'), 'utf8')) as Manifest;
    const found: ProductionPackage = {
      name: manifest.name ?? path,
      version: manifest.version ?? '0.0.0',
      path,
      // A workspace is listed through its node_modules link: where the link points says whose code it is.
      local: own.has(await realpath(path)),
      licence: declaredLicence(manifest),
    };
    seen.set(`${found.name}@${found.version}`, seen.get(`${found.name}@${found.version}`) ?? found);
  }
  return [...seen.values()];
}

/**
 * The folders of our own code: the project and its workspaces. A `file:` dependency elsewhere in the tree
 * is somebody else's code and answers for its licence like any other.
 */
async function ownPackages(root: string): Promise<Set<string>> {
  const manifest = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { workspaces?: unknown };
  const patterns = Array.isArray(manifest.workspaces) ? manifest.workspaces.map(String) : [];
  const folders = new Set([await realpath(root)]);
  for (const pattern of patterns) {
    for await (const folder of glob(pattern, { cwd: root })) folders.add(await realpath(join(root, folder)));
  }
  return folders;
}

/** Tokens of an SPDX expression: identifiers (`MIT`, `Apache-2.0+`), `AND`, `OR`, `WITH`, parentheses. */
function tokenize(expression: string): string[] {
  return expression
    .replaceAll('(', ' ( ')
    .replaceAll(')', ' ) ')
    .split(/\s+/)
    .filter((token) => token !== '');
}

/**
 * Whether an SPDX expression lets us ship the package under the allow-list: `OR` needs one side allowed,
 * `AND` both; `X WITH exception` is judged on `X` (exceptions only add permissions).
 *
 * @example
 * ```ts
 * licenceAllowed('(MIT OR GPL-3.0-only)'); // true
 * licenceAllowed('MIT AND GPL-3.0-only'); // false
 * ```
 */
export function licenceAllowed(expression: string, allowed: ReadonlySet<string> = ALLOWED_LICENCES): boolean {
  const tokens = tokenize(expression);
  let position = 0;
  const peek = (): string | undefined => tokens[position];
  const take = (): string | undefined => tokens[position++];
  const atom = (): boolean => {
    const token = take();
    if (token === '(') {
      const inner = or();
      if (take() !== ')') throw new Error('unbalanced parentheses');
      return inner;
    }
    if (token === undefined || ['AND', 'OR', 'WITH', ')'].includes(token))
      throw new Error('an identifier is missing');
    if (peek() === 'WITH') {
      take();
      take();
    }
    return allowed.has(token.replace(/\+$/, ''));
  };
  const and = (): boolean => {
    let result = atom();
    while (peek() === 'AND') {
      take();
      result = atom() && result;
    }
    return result;
  };
  const or = (): boolean => {
    let result = and();
    while (peek() === 'OR') {
      take();
      result = and() || result;
    }
    return result;
  };
  try {
    const result = or();
    return position === tokens.length && result;
  } catch {
    return false;
  }
}

/**
 * The production dependencies whose licence is not on the allow-list, one line each naming the package,
 * its version, its licence and where it is installed.
 *
 * @example
 * ```ts
 * const findings = await licenceFindings(process.cwd()); // ['gpl-thing@1.0.0: GPL-3.0-only (node_modules/gpl-thing)']
 * ```
 */
export async function licenceFindings(root: string): Promise<{ checked: number; findings: string[] }> {
  const dependencies = (await productionPackages(root)).filter((found) => !found.local);
  const findings = dependencies
    .filter((found) => found.licence === undefined || !licenceAllowed(found.licence))
    .map(
      (found) =>
        `${found.name}@${found.version}: ${found.licence ?? 'no licence declared'} ` +
        `(${found.path.slice(root.length + 1)})`,
    );
  return { checked: dependencies.length, findings: findings.sort() };
}
