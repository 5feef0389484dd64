/**
 * Content filtering as EventBridge event patterns and SNS filter policies both define it: a pattern is an
 * object whose leaves are arrays of conditions (any one matches): a literal (string, number, boolean,
 * null), `prefix`, `suffix`, `equals-ignore-case`, `wildcard`, `anything-but` (a value, a list, or a
 * prefix/suffix/equals-ignore-case/wildcard), `numeric` (up to two comparisons), `exists` and `cidr`;
 * `$or` takes a list of alternative patterns at any level. An array in the event matches when any of its
 * items does. npm has no maintained matcher for this syntax, so it is written once here, for both services.
 * Sources: EventBridge "Content filtering in event patterns", SNS "Filter policy constraints".
 */

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** A pattern that cannot be read: the message says where, as AWS does (InvalidEventPatternException). */
export class PatternError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PatternError';
  }
}

const OPERATORS = new Set(['<', '<=', '=', '>=', '>']);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function wildcardRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*');
  return new RegExp(`^${escaped}$`, 's');
}

function ipv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || parts.some((part) => !/^\d{1,3}$/.test(part) || Number(part) > 255)) {
    return undefined;
  }
  return parts.reduce((acc, part) => acc * 256 + Number(part), 0);
}

function inCidr(value: unknown, cidr: unknown): boolean {
  if (typeof value !== 'string' || typeof cidr !== 'string') return false;
  const [network = '', bits = '32'] = cidr.split('/');
  const address = ipv4(value);
  const base = ipv4(network);
  if (address === undefined || base === undefined) return false;
  const size = 2 ** (32 - Number(bits));
  return Math.floor(address / size) === Math.floor(base / size);
}

const COMPARE: Record<string, (value: number, bound: number) => boolean> = {
  '<': (value, bound) => value < bound,
  '<=': (value, bound) => value <= bound,
  '=': (value, bound) => value === bound,
  '>=': (value, bound) => value >= bound,
  '>': (value, bound) => value > bound,
};

function numericMatch(value: unknown, spec: unknown): boolean {
  if (typeof value !== 'number' || !Array.isArray(spec)) return false;
  for (let index = 0; index + 1 < spec.length; index += 2) {
    const compare = COMPARE[String(spec[index])];
    const bound = spec[index + 1];
    if (compare === undefined || typeof bound !== 'number' || !compare(value, bound)) return false;
  }
  return true;
}

/** A string condition (`prefix`, `suffix`, `equals-ignore-case`, `wildcard`) on one value. */
function stringMatch(kind: string, value: unknown, spec: unknown): boolean {
  if (typeof value !== 'string') return false;
  if (isObject(spec) && typeof spec['equals-ignore-case'] === 'string') {
    const wanted = spec['equals-ignore-case'].toLowerCase();
    const text = value.toLowerCase();
    return kind === 'prefix' ? text.startsWith(wanted) : text.endsWith(wanted);
  }
  if (typeof spec !== 'string') return false;
  if (kind === 'prefix') return value.startsWith(spec);
  if (kind === 'suffix') return value.endsWith(spec);
  if (kind === 'equals-ignore-case') return value.toLowerCase() === spec.toLowerCase();
  return wildcardRegExp(spec).test(value);
}

function anythingBut(value: unknown, spec: unknown): boolean {
  if (value === undefined) return false;
  if (isObject(spec)) {
    const [kind] = Object.keys(spec);
    return kind !== undefined && !stringMatch(kind, value, spec[kind]);
  }
  const excluded = Array.isArray(spec) ? spec : [spec];
  return !excluded.some((item) => literalMatch(value, item));
}

function literalMatch(value: unknown, literal: unknown): boolean {
  if (typeof literal === 'number' && typeof value === 'number') return value === literal;
  return value === literal;
}

/** Each condition kind: does the (non-array, possibly absent) value satisfy the spec? */
const CONDITIONS: Record<string, (value: unknown, spec: unknown) => boolean> = {
  exists: (value, spec) => (spec === true ? value !== undefined : value === undefined),
  prefix: (value, spec) => stringMatch('prefix', value, spec),
  suffix: (value, spec) => stringMatch('suffix', value, spec),
  'equals-ignore-case': (value, spec) => stringMatch('equals-ignore-case', value, spec),
  wildcard: (value, spec) => stringMatch('wildcard', value, spec),
  'anything-but': anythingBut,
  numeric: numericMatch,
  cidr: inCidr,
};

/** One condition of a leaf's array against one (non-array) value; `undefined` is an absent field. */
function conditionMatch(value: unknown, condition: unknown): boolean {
  if (!isObject(condition)) return value !== undefined && literalMatch(value, condition);
  const [kind] = Object.keys(condition);
  const match = kind !== undefined && Object.hasOwn(CONDITIONS, kind) ? CONDITIONS[kind] : undefined;
  return match?.(value, condition[kind as string]) === true;
}

function leafMatch(value: unknown, conditions: unknown[]): boolean {
  if (Array.isArray(value)) {
    if (value.length === 0) return conditions.some((condition) => conditionMatch(undefined, condition));
    return value.some((item) => conditions.some((condition) => conditionMatch(item, condition)));
  }
  return conditions.some((condition) => conditionMatch(value, condition));
}

/** One key of a pattern against the subject: `$or`, a leaf (array of conditions) or a nested pattern. */
function keyMatch(subject: unknown, key: string, expected: unknown): boolean {
  if (key === '$or') {
    const alternatives = Array.isArray(expected) ? expected : [];
    return alternatives.some((alternative) => isObject(alternative) && objectMatch(subject, alternative));
  }
  const value = isObject(subject) && Object.hasOwn(subject, key) ? subject[key] : undefined;
  if (Array.isArray(expected)) return leafMatch(value, expected);
  if (!isObject(expected)) return true;
  const nested = Array.isArray(value) ? value : [value];
  return nested.some((item) => objectMatch(item, expected));
}

function objectMatch(subject: unknown, pattern: Record<string, unknown>): boolean {
  return Object.entries(pattern).every(([key, expected]) => keyMatch(subject, key, expected));
}

const isString = (spec: unknown): boolean => typeof spec === 'string';

/** Each condition kind's check of its spec: an error message, or undefined when it is well formed. */
const SPEC_CHECKS: Record<string, (spec: unknown, path: string) => string | undefined> = {
  exists: (spec) => (typeof spec === 'boolean' ? undefined : 'exists takes true or false'),
  numeric: (spec) => {
    const valid =
      Array.isArray(spec) &&
      (spec.length === 2 || spec.length === 4) &&
      spec.every((item, index) => (index % 2 === 0 ? OPERATORS.has(String(item)) : typeof item === 'number'));
    return valid ? undefined : 'numeric takes [operator, number] once or twice';
  },
  'anything-but': (spec, path) => {
    if (isObject(spec)) validateCondition(spec, `${path}.anything-but`);
    return undefined;
  },
  prefix: (spec) =>
    isString(spec) || (isObject(spec) && isString(spec['equals-ignore-case']))
      ? undefined
      : 'prefix takes a string',
  suffix: (spec) =>
    isString(spec) || (isObject(spec) && isString(spec['equals-ignore-case']))
      ? undefined
      : 'suffix takes a string',
  'equals-ignore-case': (spec) => (isString(spec) ? undefined : 'equals-ignore-case takes a string'),
  wildcard: (spec) => (isString(spec) ? undefined : 'wildcard takes a string'),
  cidr: (spec) => (isString(spec) ? undefined : 'cidr takes a string'),
};

function validateCondition(condition: unknown, path: string): void {
  if (Array.isArray(condition)) throw new PatternError(`${path}: a condition cannot be an array`);
  if (!isObject(condition)) return;
  const keys = Object.keys(condition);
  const [kind] = keys;
  if (keys.length !== 1 || kind === undefined) {
    throw new PatternError(`${path}: a condition object has exactly one key`);
  }
  const check = Object.hasOwn(SPEC_CHECKS, kind) ? SPEC_CHECKS[kind] : undefined;
  if (check === undefined) throw new PatternError(`${path}: unrecognized match type ${kind}`);
  const problem = check(condition[kind], path);
  if (problem !== undefined) throw new PatternError(`${path}: ${problem}`);
}

function validateOr(value: unknown, at: string): void {
  if (!Array.isArray(value) || value.length < 2) {
    throw new PatternError(`${at}: $or takes a list of at least two patterns`);
  }
  for (const alternative of value) validate(alternative, at);
}

function validate(pattern: unknown, path: string): void {
  if (!isObject(pattern)) throw new PatternError(`${path}: the pattern must be a JSON object`);
  for (const [key, value] of Object.entries(pattern)) {
    const at = path === '' ? key : `${path}.${key}`;
    if (key === '$or') {
      validateOr(value, at);
    } else if (Array.isArray(value)) {
      for (const condition of value) validateCondition(condition, at);
    } else if (isObject(value)) {
      validate(value, at);
    } else {
      throw new PatternError(`${at}: a match value must be an array or an object`);
    }
  }
}

/**
 * Parses and checks a pattern (JSON text or an object), or throws {@link PatternError} saying where.
 *
 * @example
 * ```ts
 * const pattern = parsePattern('{"source":[{"prefix":"com.acme"}]}');
 * ```
 */
export function parsePattern(pattern: unknown): Record<string, unknown> {
  let value = pattern;
  if (typeof pattern === 'string') {
    try {
      value = JSON.parse(pattern) as unknown;
    } catch {
      throw new PatternError('the pattern is not valid JSON');
    }
  }
  validate(value, '');
  return value as Record<string, unknown>;
}

/**
 * Whether `subject` (an event, a message body, or attribute values by name) matches `pattern`.
 *
 * @example
 * ```ts
 * matchesPattern({ detail: { size: [{ numeric: ['>', 10] }] } }, { detail: { size: 12 } }); // true
 * ```
 */
export function matchesPattern(pattern: Record<string, unknown>, subject: Json | unknown): boolean {
  return objectMatch(subject, pattern);
}
