/**
 * CloudFormation intrinsic functions (`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`, ...) evaluated against the
 * local resources, so an environment variable like `{ Ref: S3RequestsQueue }` becomes the local queue URL.
 */

/** What a logical id stands for locally: its `Ref` value and its `Fn::GetAtt` attributes. */
export interface LocalResource {
  type: string;
  ref: string;
  attributes: Record<string, string>;
}

/** Pseudo parameters and the resources an expression may name. */
export interface IntrinsicContext {
  region: string;
  accountId: string;
  stackName: string;
  resources: ReadonlyMap<string, LocalResource>;
}

/** An intrinsic the local stack cannot evaluate (an import from another stack, a condition, ...). */
export class UnresolvedIntrinsicError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnresolvedIntrinsicError';
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function pseudo(name: string, context: IntrinsicContext): string | undefined {
  switch (name) {
    case 'AWS::Region':
      return context.region;
    case 'AWS::AccountId':
      return context.accountId;
    case 'AWS::StackName':
      return context.stackName;
    case 'AWS::StackId':
      return `arn:aws:cloudformation:${context.region}:${context.accountId}:stack/${context.stackName}/local`;
    case 'AWS::Partition':
      return 'aws';
    case 'AWS::URLSuffix':
      return 'amazonaws.com';
    default:
      return undefined;
  }
}

function ref(name: string, context: IntrinsicContext): string {
  const value = pseudo(name, context) ?? context.resources.get(name)?.ref;
  if (value === undefined)
    throw new UnresolvedIntrinsicError(`Ref: ${name} is not a resource the local stack runs`);
  return value;
}

function getAtt(target: string, attribute: string, context: IntrinsicContext): string {
  const resource = context.resources.get(target);
  const value = resource?.attributes[attribute];
  if (value === undefined) {
    throw new UnresolvedIntrinsicError(`Fn::GetAtt: ${target}.${attribute} is not known to the local stack`);
  }
  return value;
}

function text(value: unknown, where: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  throw new UnresolvedIntrinsicError(`${where}: expected a string`);
}

function substitute(template: string, variables: Record<string, unknown>, context: IntrinsicContext): string {
  return template.replace(/\$\{(!?)([^}]+)\}/g, (_whole, literal: string, name: string) => {
    if (literal === '!') return `\${${name}}`;
    if (name in variables) return text(variables[name], `Fn::Sub \${${name}}`);
    const dot = name.indexOf('.');
    if (dot > 0 && pseudo(name, context) === undefined) {
      return getAtt(name.slice(0, dot), name.slice(dot + 1), context);
    }
    return ref(name, context);
  });
}

function pair(name: string, argument: unknown): [unknown, unknown] {
  if (!Array.isArray(argument) || argument.length !== 2)
    throw new UnresolvedIntrinsicError(`${name}: malformed`);
  return [argument[0], argument[1]];
}

type Evaluator = (argument: unknown, context: IntrinsicContext) => unknown;

const EVALUATORS: Record<string, Evaluator> = {
  Ref: (argument, context) => ref(text(argument, 'Ref'), context),
  'Fn::GetAtt': (argument, context) => {
    const parts = typeof argument === 'string' ? argument.split('.') : argument;
    if (!Array.isArray(parts) || parts.length < 2)
      throw new UnresolvedIntrinsicError('Fn::GetAtt: malformed');
    const [target, ...attribute] = parts.map((part) => text(resolveIntrinsics(part, context), 'Fn::GetAtt'));
    return getAtt(target ?? '', attribute.join('.'), context);
  },
  'Fn::Sub': (argument, context) => {
    if (typeof argument === 'string') return substitute(argument, {}, context);
    const [template, variables] = pair('Fn::Sub', argument);
    const resolved = resolveIntrinsics(variables ?? {}, context);
    return substitute(text(template, 'Fn::Sub'), isRecord(resolved) ? resolved : {}, context);
  },
  'Fn::Join': (argument, context) => {
    const [delimiter, items] = pair('Fn::Join', argument);
    const list = resolveIntrinsics(items, context);
    if (!Array.isArray(list)) throw new UnresolvedIntrinsicError('Fn::Join: expected a list');
    return list.map((item) => text(item, 'Fn::Join')).join(text(delimiter, 'Fn::Join'));
  },
  'Fn::Select': (argument, context) => {
    const [position, items] = pair('Fn::Select', argument);
    const list = resolveIntrinsics(items, context);
    const index = Number(resolveIntrinsics(position, context));
    if (!Array.isArray(list) || !Number.isInteger(index) || list[index] === undefined) {
      throw new UnresolvedIntrinsicError('Fn::Select: index out of range');
    }
    return list[index];
  },
  'Fn::Split': (argument, context) => {
    const [delimiter, source] = pair('Fn::Split', argument);
    return text(resolveIntrinsics(source, context), 'Fn::Split').split(text(delimiter, 'Fn::Split'));
  },
  'Fn::ToJsonString': (argument, context) => JSON.stringify(resolveIntrinsics(argument, context)),
};

function evaluate(name: string, argument: unknown, context: IntrinsicContext): unknown {
  const evaluator = EVALUATORS[name];
  if (evaluator === undefined)
    throw new UnresolvedIntrinsicError(`${name} is not supported by the local stack`);
  return evaluator(argument, context);
}

/**
 * Evaluates every intrinsic function inside `value` (recursively); plain values pass through unchanged.
 * Throws {@link UnresolvedIntrinsicError} for what the local stack cannot know.
 *
 * @example
 * ```ts
 * resolveIntrinsics({ 'Fn::GetAtt': ['S3RequestsQueue', 'Arn'] }, context); // 'arn:aws:sqs:us-east-1:000000000000:...'
 * ```
 */
export function resolveIntrinsics(value: unknown, context: IntrinsicContext): unknown {
  if (Array.isArray(value)) return value.map((item) => resolveIntrinsics(item, context));
  if (!isRecord(value)) return value;
  const keys = Object.keys(value);
  const [only] = keys;
  if (keys.length === 1 && only !== undefined && (only === 'Ref' || only.startsWith('Fn::'))) {
    return evaluate(only, value[only], context);
  }
  const result: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) result[key] = resolveIntrinsics(item, context);
  return result;
}

/**
 * Serverless Framework's logical id naming: `my-fn` becomes `MyDashfn`, as in `MyDashfnLambdaFunction`.
 *
 * @example
 * ```ts
 * normalizeName('s3'); // 'S3'
 * ```
 */
export function normalizeName(name: string): string {
  const replaced = name.replaceAll('-', 'Dash').replaceAll('_', 'Underscore');
  return `${replaced.charAt(0).toUpperCase()}${replaced.slice(1)}`;
}
