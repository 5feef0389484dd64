import * as z from 'zod';
import { ConfigurationError } from './errors.ts';
import { parseOptions } from './schema-parse.ts';

/**
 * A connector's configuration schema: a zod object whose keys are the environment variable names, so
 * every message about a bad setting names the variable a person has to fix.
 */
export type ConfigSchema = z.ZodObject<Record<string, z.ZodType>>;

/**
 * Parses a connector's settings from the environment. Empty strings count as unset, so defaults apply.
 * Throws a {@link ConfigurationError} naming every bad variable and what was expected; values are never
 * echoed (a misplaced secret must not reach a log).
 *
 * @example
 * ```ts
 * const Config = z.object({ S3_BUCKET: z.string().min(1), S3_FORCE_PATH_STYLE: envBoolean(false) });
 * const config = loadConfig(Config); // { S3_BUCKET: 'data', S3_FORCE_PATH_STYLE: false }
 * ```
 */
export function loadConfig<S extends ConfigSchema>(
  schema: S,
  env: Record<string, string | undefined> = process.env,
): z.output<S> {
  const raw: Record<string, string> = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const result = schema.safeParse(raw, parseOptions());
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = String(issue.path[0] ?? '(config)');
    const expected =
      issue.code === 'invalid_type' && raw[variable] === undefined ? 'is required' : 'is invalid';
    return `${variable} ${expected} (${describeExpectation(issue)})`;
  });
  return failConfig(`Invalid configuration: ${problems.join('; ')}`);
}

function failConfig(message: string): never {
  throw new ConfigurationError(message);
}

/**
 * What a zod issue expected, in words that never quote the received value (a misplaced secret in a setting,
 * or a secret's own fields, must not reach a message).
 *
 * @example
 * ```ts
 * describeExpectation(issue); // 'expected at most 5000'
 * ```
 */
export function describeExpectation(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return `expected ${issue.expected}`;
    case 'too_small':
      return `expected at least ${String(issue.minimum)}`;
    case 'too_big':
      return `expected at most ${String(issue.maximum)}`;
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_format':
      return `expected ${issue.format}`;
    // A custom check's message is written by the schema's author, never derived from the input.
    case 'custom':
      return issue.message;
    default:
      return issue.code;
  }
}

/**
 * A boolean environment setting: `true`/`false`/`1`/`0`/`yes`/`no` (any case), with a default.
 *
 * @example
 * ```ts
 * z.object({ PG_READ_ONLY: envBoolean(false) });
 * ```
 */
export function envBoolean(defaultValue: boolean) {
  return z
    .enum(['true', 'false', '1', '0', 'yes', 'no', 'TRUE', 'FALSE', 'True', 'False', 'YES', 'NO'])
    .default(defaultValue ? 'true' : 'false')
    .transform((value) => ['true', '1', 'yes'].includes(value.toLowerCase()));
}

/**
 * An integer environment setting within bounds, with a default.
 *
 * @example
 * ```ts
 * z.object({ PG_STATEMENT_TIMEOUT_MS: envInteger(15_000, { min: 100, max: 900_000 }) });
 * ```
 */
export function envInteger(defaultValue: number, bounds: { min?: number; max?: number } = {}) {
  let schema = z.coerce.number().int();
  if (bounds.min !== undefined) schema = schema.min(bounds.min);
  if (bounds.max !== undefined) schema = schema.max(bounds.max);
  return schema.default(defaultValue);
}

/**
 * A comma-separated list setting (`a, b,c` becomes `['a', 'b', 'c']`; blank items are dropped). The default
 * is applied as the text it would be written as (`RS256,ES256`), so the generated docs show it, and the
 * schema carries `list` metadata (`x-list` in the docs) so they say what the setting accepts.
 *
 * `nonEmpty`: the setting must name at least one item. Unset or `""` still takes the default; a value of
 * only commas or spaces fails {@link loadConfig} with a `ConfigurationError` naming the variable. Leave it
 * off where an empty list has a meaning (no extra buckets, no audience check).
 *
 * @example
 * ```ts
 * z.object({ ALLOWED_REPOS: envList([]), JWT_ALGORITHMS: envList(['RS256'], { nonEmpty: true }) });
 * ```
 */
export function envList(defaultValue: string[], options: { nonEmpty?: boolean } = {}) {
  const nonEmpty = options.nonEmpty ?? false;
  const list = z.string().transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter((item) => item.length > 0),
  );
  const checked = nonEmpty
    ? list.refine((items) => items.length > 0, { message: 'expected at least one item, comma-separated' })
    : list;
  return checked.prefault(defaultValue.join(',')).meta({ list: { nonEmpty } });
}
