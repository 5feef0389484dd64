/**
 * The forms one connector name takes in the files the scaffolder writes: the folder and route segment
 * (`acme-cloud`), type names (`AcmeCloud`), values (`acmeCloud`), environment variables (`ACME_CLOUD_...`)
 * and prose (`Acme Cloud`). Names are checked here, before anything is written.
 */

/** What a connector kind builds on in the core. */
export const KINDS = ['rest', 'aws', 'connection'] as const;
export type Kind = (typeof KINDS)[number];

/** Every form of a new connector's names, as the templates use them. */
export interface ConnectorNames {
  /** `devops`: the folder under `functions/`. */
  readonly category: string;
  /** `acme-cloud`: folder, function key, connector name, first route segment. */
  readonly provider: string;
  /** `AcmeCloud`: types, classes, CloudFormation logical ids. */
  readonly pascal: string;
  /** `acmeCloud`: values. */
  readonly camel: string;
  /** `ACME_CLOUD`: the prefix of its environment variables. */
  readonly prefix: string;
  /** `Acme Cloud`: prose, messages, the provider's name in errors. */
  readonly title: string;
}

const KEBAB = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
const MAX_LENGTH = 32;
/**
 * Variable prefixes that belong to someone else: the local stack never passes `AWS_*` from the shell, and
 * the runtime, Powertools, Node.js and the core read the others.
 */
const TAKEN_PREFIXES = ['AWS', 'AMAZON', 'LAMBDA', 'CIRCLE', 'POWERTOOLS', 'NODE', 'PATH', 'TZ', 'LANG'];
/** Route segments and names the stack or the core already gives a meaning. */
const RESERVED = new Set(['health', 'openapi', 'openapi-json', 'local', 'console', 'core', 'shared', 'test']);
/** Characters a title may carry: it lands in TypeScript strings, YAML and Markdown. */
const TITLE = /^[A-Za-z0-9][A-Za-z0-9 .&+()-]{0,47}$/;

/**
 * Why `name` is not a usable kebab-case name, or undefined when it is.
 *
 * @example
 * ```ts
 * kebabProblem('provider', 'PagerDuty'); // 'provider "PagerDuty" must be kebab-case: ...'
 * ```
 */
export function kebabProblem(what: string, name: string): string | undefined {
  if (!KEBAB.test(name)) {
    return `${what} "${name}" must be kebab-case: lower-case letters and digits, words joined by single hyphens, starting with a letter (e.g. "pagerduty", "google-drive")`;
  }
  if (name.length > MAX_LENGTH) return `${what} "${name}" is longer than ${MAX_LENGTH} characters`;
  if (RESERVED.has(name)) return `${what} "${name}" is reserved (${[...RESERVED].join(', ')})`;
  return undefined;
}

/**
 * All the names of a connector, checked: kebab-case category and provider, a provider whose variable
 * prefix no one else owns, a title safe in code, YAML and Markdown.
 *
 * @example
 * ```ts
 * connectorNames('devops', 'acme-cloud'); // { pascal: 'AcmeCloud', prefix: 'ACME_CLOUD', title: 'Acme Cloud', ... }
 * ```
 */
export function connectorNames(category: string, provider: string, title?: string): ConnectorNames {
  const problem = kebabProblem('category', category) ?? kebabProblem('provider', provider);
  if (problem !== undefined) throw new Error(problem);
  const words = provider.split('-');
  const prefix = words.join('_').toUpperCase();
  const taken = TAKEN_PREFIXES.find((name) => prefix === name || prefix.startsWith(`${name}_`));
  if (taken !== undefined) {
    throw new Error(
      `provider "${provider}" would name its settings ${prefix}_*, and ${taken}_* variables belong to the runtime or the core; choose another name`,
    );
  }
  const capital = (word: string): string => `${word.charAt(0).toUpperCase()}${word.slice(1)}`;
  const pascal = words.map(capital).join('');
  const chosenTitle = title ?? words.map(capital).join(' ');
  if (!TITLE.test(chosenTitle)) {
    throw new Error(
      `title "${chosenTitle}" may hold letters, digits, spaces and . & + ( ) - only, at most 48 characters`,
    );
  }
  return {
    category,
    provider,
    pascal,
    camel: `${pascal.charAt(0).toLowerCase()}${pascal.slice(1)}`,
    prefix,
    title: chosenTitle,
  };
}

/**
 * The tokens the templates carry, each with its value for these names. Tokens are written `__Token__` so
 * they cannot be mistaken for code.
 *
 * @example
 * ```ts
 * tokens(connectorNames('devops', 'acme'))['__PREFIX__']; // 'ACME'
 * ```
 */
export function tokens(names: ConnectorNames): Record<string, string> {
  return {
    __category__: names.category,
    __provider__: names.provider,
    __Name__: names.pascal,
    __name__: names.camel,
    __PREFIX__: names.prefix,
    __Title__: names.title,
  };
}
