/**
 * What counts as a breaking change to a connector's contract, decided on the JSON Schemas zod writes for each
 * operation (`z.toJSONSchema(schema, { io })`). An input must go on accepting everything it accepted; an
 * output must not produce anything its consumers could not get before, except new fields (consumers ignore
 * fields they do not know: the root README says so). Breaking, so a major version:
 *
 * - a removed operation, or a read that became a write (it then needs an idempotency key);
 * - input: a new required field, an optional field made required, a removed field (strict inputs refuse it),
 *   a narrowed type (fewer types or enum values, a tighter bound, a new or changed pattern or format,
 *   unknown fields refused where they were accepted);
 * - output: a removed field, a field that may now be missing, a widened type (a new type such as `null`, a
 *   new enum value, a looser bound, a dropped pattern or format);
 * - a change to a constraint this module has no rule for (`allOf`, `not`, `multipleOf`, ...): counted as
 *   breaking until someone writes the rule.
 *
 * Descriptions, titles, examples and defaults never break anything; any other difference is a compatible
 * change (a minor version at least).
 */
import { isDeepStrictEqual } from 'node:util';

export type JsonSchema = { [keyword: string]: unknown };
/** A schema as JSON Schema allows it: an object, or `true` (anything) / `false` (nothing). */
export type SchemaNode = JsonSchema | boolean;
/** Which side of an operation a schema describes: what callers send, or what they get back. */
export type Io = 'input' | 'output';

/** A breaking difference, located by a JSON Pointer into the data (`/items/[]/key`, `[]` for array items). */
export interface SchemaBreak {
  readonly path: string;
  readonly message: string;
}

/** One operation as released: its effect, its deprecation and its two schemas (descriptions stripped). */
export interface OperationContract {
  readonly effect: 'read' | 'write';
  readonly deprecated?: { readonly since: string; readonly use?: string };
  readonly input: JsonSchema;
  readonly output: JsonSchema;
}

/** A connector's contract at one version: what `schema/<version>.json` holds. */
export interface ConnectorContract {
  readonly connector: string;
  readonly version: string;
  readonly operations: Readonly<Record<string, OperationContract>>;
}

/** The differences between two contracts, each a readable sentence naming the operation. */
export interface ContractDiff {
  readonly breaking: string[];
  readonly compatible: string[];
}

/** Draft 2020-12 constraints without a rule: any change to them counts as breaking. */
const UNRULED = [
  'allOf',
  'not',
  'if',
  'then',
  'else',
  'multipleOf',
  'uniqueItems',
  'prefixItems',
  'contains',
  'minContains',
  'maxContains',
  'patternProperties',
  'dependentRequired',
  'dependentSchemas',
  'unevaluatedItems',
  'unevaluatedProperties',
  'contentEncoding',
  'contentMediaType',
  'contentSchema',
];

interface Context {
  readonly io: Io;
  readonly oldRoot: SchemaNode;
  readonly newRoot: SchemaNode;
  /** `$ref` pairs being compared: a recursive schema is assumed compatible with itself on the way down. */
  readonly comparing: Set<string>;
}

const isObject = (value: unknown): value is JsonSchema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const asArray = (value: unknown): unknown[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const show = (value: unknown): string => JSON.stringify(value);
const child = (path: string, segment: string): string =>
  `${path}/${segment.replaceAll('~', '~0').replaceAll('/', '~1')}`;

/**
 * The breaking differences between an old and a new schema of one side of an operation.
 *
 * @example
 * ```ts
 * schemaBreaks({ type: 'object', properties: {} }, { type: 'object', properties: { a: {} }, required: ['a'] }, 'input');
 * // [{ path: '/a', message: 'new required input field' }]
 * ```
 */
export function schemaBreaks(oldSchema: SchemaNode, newSchema: SchemaNode, io: Io): SchemaBreak[] {
  const context: Context = { io, oldRoot: oldSchema, newRoot: newSchema, comparing: new Set() };
  return compare(oldSchema, newSchema, '', context);
}

/**
 * Every difference between two releases of a connector's contract, breaking or not.
 *
 * @example
 * ```ts
 * const { breaking, compatible } = diffContracts(released, current);
 * ```
 */
export function diffContracts(previous: ConnectorContract, next: ConnectorContract): ContractDiff {
  const diff: ContractDiff = { breaking: [], compatible: [] };
  for (const [name, before] of Object.entries(previous.operations)) {
    const after = next.operations[name];
    if (after === undefined) diff.breaking.push(`${name}: operation removed`);
    else diffOperation(name, before, after, diff);
  }
  for (const name of Object.keys(next.operations)) {
    if (previous.operations[name] === undefined) diff.compatible.push(`${name}: operation added`);
  }
  return diff;
}

function diffOperation(
  name: string,
  before: OperationContract,
  after: OperationContract,
  diff: ContractDiff,
): void {
  if (before.effect === 'read' && after.effect === 'write') {
    diff.breaking.push(
      `${name}: became a write (callers now need an idempotency key where the table is set)`,
    );
  } else if (before.effect !== after.effect) diff.compatible.push(`${name}: became a read`);
  if (!isDeepStrictEqual(before.deprecated, after.deprecated)) {
    diff.compatible.push(
      `${name}: ${after.deprecated === undefined ? 'no longer deprecated' : 'deprecated'}`,
    );
  }
  for (const io of ['input', 'output'] as const) {
    const breaks = schemaBreaks(before[io], after[io], io);
    diff.breaking.push(...breaks.map((found) => `${name} ${io} ${found.path || '/'}: ${found.message}`));
    if (breaks.length === 0 && !isDeepStrictEqual(before[io], after[io])) {
      diff.compatible.push(`${name} ${io}: changed compatibly`);
    }
  }
}

/**
 * A schema without its annotations (descriptions, titles, examples, comments), keeping property names
 * even when a property is called `description`. Snapshots store this form.
 *
 * @example
 * ```ts
 * stripAnnotations({ type: 'string', description: 'A key' }); // { type: 'string' }
 * ```
 */
export function stripAnnotations(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(stripAnnotations);
  if (!isObject(schema)) return schema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (['description', 'title', 'examples', '$comment', '$schema'].includes(key)) continue;
    if (['properties', 'patternProperties', '$defs', 'dependentSchemas'].includes(key) && isObject(value)) {
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, item]) => [name, stripAnnotations(item)]),
      );
    } else if (['enum', 'const', 'default', 'required', 'type'].includes(key)) out[key] = value;
    else out[key] = stripAnnotations(value);
  }
  return out;
}

function compare(oldNode: SchemaNode, newNode: SchemaNode, path: string, context: Context): SchemaBreak[] {
  const { io } = context;
  if (oldNode === false || newNode === false) {
    const narrowed = newNode === false && oldNode !== false;
    const widened = oldNode === false && newNode !== false;
    if (io === 'input' && narrowed) return [{ path, message: 'accepts nothing any more' }];
    if (io === 'output' && widened) return [{ path, message: 'may now be present where it never was' }];
    return [];
  }
  const pair = resolvePair(oldNode, newNode, context);
  if (pair === undefined) return [];
  const [before, after] = pair;
  if (hasUnion(before) || hasUnion(after)) return compareUnions(before, after, path, context);
  const typeBreaks = compareTypes(before, after, path, io);
  // Once the types disagree, the finer rules only repeat it.
  if (typeBreaks.length > 0) return typeBreaks;
  return [
    ...compareValues(before, after, path, io),
    ...compareBounds(before, after, path, io),
    ...compareText(before, after, path, io),
    ...compareObjects(before, after, path, context),
    ...compareChildren(before, after, path, context),
    ...UNRULED.filter((keyword) => !isDeepStrictEqual(before[keyword], after[keyword])).map((keyword) => ({
      path,
      message: `${keyword} changed (no compatibility rule for it, so counted as breaking)`,
    })),
  ];
}

/** Follows `$ref`s (siblings kept); `undefined` when this pair is already being compared further up. */
function resolvePair(
  oldNode: SchemaNode,
  newNode: SchemaNode,
  context: Context,
): [JsonSchema, JsonSchema] | undefined {
  const oldRef = isObject(oldNode) ? oldNode['$ref'] : undefined;
  const newRef = isObject(newNode) ? newNode['$ref'] : undefined;
  if (typeof oldRef === 'string' || typeof newRef === 'string') {
    const key = `${String(oldRef)}|${String(newRef)}`;
    if (context.comparing.has(key)) return undefined;
    context.comparing.add(key);
  }
  return [resolve(oldNode, context.oldRoot), resolve(newNode, context.newRoot)];
}

function resolve(node: SchemaNode, root: SchemaNode): JsonSchema {
  let current: JsonSchema = node === true ? {} : isObject(node) ? node : {};
  for (let depth = 0; typeof current['$ref'] === 'string' && depth < 64; depth += 1) {
    const { $ref, ...siblings } = current;
    const target = pointer(root, $ref as string);
    current = { ...(target === true ? {} : isObject(target) ? target : {}), ...siblings };
  }
  return current;
}

function pointer(root: SchemaNode, ref: string): unknown {
  if (!ref.startsWith('#')) throw new Error(`Only local references are supported, not ${ref}`);
  let current: unknown = root;
  for (const raw of ref.slice(1).split('/').slice(1)) {
    const segment = decodeURIComponent(raw).replaceAll('~1', '/').replaceAll('~0', '~');
    current = isObject(current) ? current[segment] : undefined;
  }
  if (current === undefined) throw new Error(`Reference ${ref} points nowhere`);
  return current;
}

function hasUnion(schema: JsonSchema): boolean {
  return Array.isArray(schema['anyOf']) || Array.isArray(schema['oneOf']);
}

/** A union's branches, each with the keywords beside the union; a plain schema is its one branch. */
function branches(schema: JsonSchema): JsonSchema[] {
  const { anyOf, oneOf, ...siblings } = schema;
  const list = Array.isArray(anyOf) ? anyOf : Array.isArray(oneOf) ? oneOf : undefined;
  if (list === undefined) return [schema];
  return list.map((branch) => ({ ...siblings, ...(isObject(branch) ? branch : {}) }));
}

/**
 * Input: every form accepted before must still match some branch. Output: every form produced now must
 * match some branch consumers knew. When none fits, the nearest branch's breaks are reported.
 */
function compareUnions(before: JsonSchema, after: JsonSchema, path: string, context: Context): SchemaBreak[] {
  const [must, may] =
    context.io === 'input' ? [branches(before), branches(after)] : [branches(after), branches(before)];
  const found: SchemaBreak[] = [];
  for (const branch of must) {
    const attempts = may.map((other) =>
      context.io === 'input'
        ? compare(branch, other, path, forked(context))
        : compare(other, branch, path, forked(context)),
    );
    if (attempts.some((breaks) => breaks.length === 0)) continue;
    // Nearest: a branch of the same type if there is one (its breaks say what changed), then the fewest.
    const ranked = attempts.map((breaks, index) => ({
      breaks,
      rank: (sharesType(branch, may[index] as JsonSchema) ? 0 : 1_000) + breaks.length,
    }));
    found.push(...ranked.reduce((best, next) => (next.rank < best.rank ? next : best)).breaks);
  }
  return found;
}

const forked = (context: Context): Context => ({ ...context, comparing: new Set(context.comparing) });

function typesOf(schema: JsonSchema): Set<string> | undefined {
  return schema['type'] === undefined ? undefined : new Set(asArray(schema['type']).map(String));
}

function sharesType(a: JsonSchema, b: JsonSchema): boolean {
  const [left, right] = [typesOf(a), typesOf(b)];
  if (left === undefined || right === undefined) return true;
  return [...left].some((type) => covers(right, type) || (type === 'number' && right.has('integer')));
}

const covers = (types: Set<string>, type: string): boolean =>
  types.has(type) || (type === 'integer' && types.has('number'));

function compareTypes(before: JsonSchema, after: JsonSchema, path: string, io: Io): SchemaBreak[] {
  const [oldTypes, newTypes] = [typesOf(before), typesOf(after)];
  if (io === 'input') {
    if (newTypes === undefined) return [];
    if (oldTypes === undefined) return [{ path, message: `accepts only ${[...newTypes].join(' or ')} now` }];
    return [...oldTypes]
      .filter((type) => !covers(newTypes, type))
      .map((type) => ({ path, message: `no longer accepts ${type}` }));
  }
  if (oldTypes === undefined) return [];
  if (newTypes === undefined) return [{ path, message: 'may now be of any type' }];
  return [...newTypes]
    .filter((type) => !covers(oldTypes, type))
    .map((type) => ({ path, message: `may now be ${type}` }));
}

function valuesOf(schema: JsonSchema): unknown[] | undefined {
  if (schema['const'] !== undefined) return [schema['const']];
  return Array.isArray(schema['enum']) ? schema['enum'] : undefined;
}

function compareValues(before: JsonSchema, after: JsonSchema, path: string, io: Io): SchemaBreak[] {
  const [oldValues, newValues] = [valuesOf(before), valuesOf(after)];
  const missingFrom = (values: unknown[], from: unknown[]): unknown[] =>
    values.filter((value) => !from.some((other) => isDeepStrictEqual(value, other)));
  if (io === 'input') {
    if (newValues === undefined) return [];
    if (oldValues === undefined) return [{ path, message: `accepts only ${show(newValues)} now` }];
    const removed = missingFrom(oldValues, newValues);
    return removed.length === 0 ? [] : [{ path, message: `no longer accepts ${show(removed)}` }];
  }
  if (oldValues === undefined) return [];
  if (newValues === undefined)
    return [{ path, message: `may now be any value, not only ${show(oldValues)}` }];
  const added = missingFrom(newValues, oldValues);
  return added.length === 0 ? [] : [{ path, message: `may now be ${show(added)}` }];
}

interface Bound {
  readonly value: number;
  readonly exclusive: boolean;
}

/** The effective bound of `minimum`/`exclusiveMinimum` (or the maximum pair), `undefined` when none. */
function numericBound(schema: JsonSchema, side: 'lower' | 'upper'): Bound | undefined {
  const [inclusiveKey, exclusiveKey] =
    side === 'lower' ? ['minimum', 'exclusiveMinimum'] : ['maximum', 'exclusiveMaximum'];
  const inclusive = typeof schema[inclusiveKey] === 'number' ? (schema[inclusiveKey] as number) : undefined;
  const exclusive = typeof schema[exclusiveKey] === 'number' ? (schema[exclusiveKey] as number) : undefined;
  if (inclusive === undefined)
    return exclusive === undefined ? undefined : { value: exclusive, exclusive: true };
  if (exclusive === undefined) return { value: inclusive, exclusive: false };
  const exclusiveWins = side === 'lower' ? exclusive >= inclusive : exclusive <= inclusive;
  return exclusiveWins ? { value: exclusive, exclusive: true } : { value: inclusive, exclusive: false };
}

/** Whether `next` lets fewer values through than `previous` on that side (a missing bound lets all through). */
function tighter(previous: Bound | undefined, next: Bound | undefined, side: 'lower' | 'upper'): boolean {
  if (next === undefined) return false;
  if (previous === undefined) return true;
  const beyond = side === 'lower' ? next.value > previous.value : next.value < previous.value;
  return beyond || (next.value === previous.value && next.exclusive && !previous.exclusive);
}

const describeBound = (bound: Bound | undefined): string =>
  bound === undefined ? 'none' : `${bound.exclusive ? 'exclusive ' : ''}${bound.value}`;

const COUNT_BOUNDS: [string, 'lower' | 'upper'][] = [
  ['minLength', 'lower'],
  ['maxLength', 'upper'],
  ['minItems', 'lower'],
  ['maxItems', 'upper'],
  ['minProperties', 'lower'],
  ['maxProperties', 'upper'],
];

function compareBounds(before: JsonSchema, after: JsonSchema, path: string, io: Io): SchemaBreak[] {
  const found: SchemaBreak[] = [];
  const check = (name: string, side: 'lower' | 'upper', previous?: Bound, next?: Bound): void => {
    // An input breaks when the new bound is tighter; an output when the old one was.
    const breaks = io === 'input' ? tighter(previous, next, side) : tighter(next, previous, side);
    if (!breaks) return;
    const verb = io === 'input' ? 'tightened' : 'loosened';
    found.push({
      path,
      message: `${name} ${verb} from ${describeBound(previous)} to ${describeBound(next)}`,
    });
  };
  for (const side of ['lower', 'upper'] as const) {
    check(
      side === 'lower' ? 'minimum' : 'maximum',
      side,
      numericBound(before, side),
      numericBound(after, side),
    );
  }
  for (const [keyword, side] of COUNT_BOUNDS) {
    const bound = (schema: JsonSchema): Bound | undefined =>
      typeof schema[keyword] === 'number'
        ? { value: schema[keyword] as number, exclusive: false }
        : undefined;
    check(keyword, side, bound(before), bound(after));
  }
  return found;
}

/** `pattern` and `format`: a new or changed one narrows an input; a dropped or changed one widens an output. */
function compareText(before: JsonSchema, after: JsonSchema, path: string, io: Io): SchemaBreak[] {
  const found: SchemaBreak[] = [];
  for (const keyword of ['pattern', 'format']) {
    const [previous, next] = [before[keyword], after[keyword]];
    if (previous === next) continue;
    if (io === 'input' && next !== undefined) {
      found.push({
        path,
        message: `${keyword} ${previous === undefined ? 'added' : 'changed'}: ${show(next)}`,
      });
    }
    if (io === 'output' && previous !== undefined) {
      found.push({
        path,
        message: `${keyword} ${next === undefined ? 'dropped' : 'changed'}: was ${show(previous)}`,
      });
    }
  }
  return found;
}

function compareObjects(
  before: JsonSchema,
  after: JsonSchema,
  path: string,
  context: Context,
): SchemaBreak[] {
  const oldProperties = isObject(before['properties']) ? before['properties'] : {};
  const newProperties = isObject(after['properties']) ? after['properties'] : {};
  const required = {
    before: new Set(asArray(before['required']).map(String)),
    after: new Set(asArray(after['required']).map(String)),
  };
  const strict = after['additionalProperties'] === false;
  const names = new Set([
    ...Object.keys(oldProperties),
    ...Object.keys(newProperties),
    ...required.before,
    ...required.after,
  ]);
  const found: SchemaBreak[] = [];
  for (const name of names) {
    const at = child(path, name);
    const [previous, next] = [oldProperties[name], newProperties[name]];
    const message = fieldBreak(context.io, previous !== undefined, next !== undefined, {
      before: required.before.has(name),
      after: required.after.has(name),
      strict,
    });
    if (message !== undefined) found.push({ path: at, message });
    if (previous !== undefined && next !== undefined) {
      found.push(...compare(previous as SchemaNode, next as SchemaNode, at, context));
    }
  }
  return found;
}

/** What breaks about one field's presence: removed, newly required, or no longer always there. */
function fieldBreak(
  io: Io,
  existed: boolean,
  exists: boolean,
  flags: { before: boolean; after: boolean; strict: boolean },
): string | undefined {
  if (io === 'input') {
    if (existed && !exists)
      return flags.strict ? 'input field removed (callers that send it are refused)' : undefined;
    if (!existed && flags.after) return 'new required input field';
    return !flags.before && flags.after ? 'input field is now required' : undefined;
  }
  if (existed && !exists) return 'output field removed';
  return flags.before && !flags.after ? 'output field may now be missing' : undefined;
}

/** `additionalProperties` (records, strictness), `items` and `propertyNames`. */
function compareChildren(
  before: JsonSchema,
  after: JsonSchema,
  path: string,
  context: Context,
): SchemaBreak[] {
  const found: SchemaBreak[] = [];
  const [oldExtra, newExtra] = [before['additionalProperties'], after['additionalProperties']];
  if (context.io === 'input' && oldExtra !== false && newExtra === false) {
    found.push({ path, message: 'now refuses fields it does not know' });
  } else if (isObject(oldExtra) || isObject(newExtra)) {
    // A record's values; an output's new fields are allowed, so only schemas are compared there.
    const [previous, next] = [oldExtra ?? true, newExtra ?? true] as SchemaNode[];
    if (!(context.io === 'output' && next === false)) {
      found.push(...compare(previous as SchemaNode, next as SchemaNode, child(path, '*'), context));
    }
  }
  if (before['items'] !== undefined || after['items'] !== undefined) {
    const [previous, next] = [before['items'] ?? true, after['items'] ?? true] as SchemaNode[];
    found.push(...compare(previous as SchemaNode, next as SchemaNode, `${path}/[]`, context));
  }
  if (before['propertyNames'] !== undefined || after['propertyNames'] !== undefined) {
    const [previous, next] = [
      before['propertyNames'] ?? true,
      after['propertyNames'] ?? true,
    ] as SchemaNode[];
    found.push(...compare(previous as SchemaNode, next as SchemaNode, `${path}/{name}`, context));
  }
  return found;
}
