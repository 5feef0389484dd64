/**
 * A packaged stage read back: its root template, the nested stacks' templates (one per connector category,
 * written by scripts/serverless/split-stacks.cjs) and the stage as one template, for the checks that ask what
 * a stage holds rather than which stack holds it.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';

export interface StackResource {
  Type: string;
  Properties?: Record<string, unknown>;
  DependsOn?: string | string[];
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  [key: string]: unknown;
}

export interface StackTemplate {
  Resources: Record<string, StackResource>;
  Parameters?: Record<string, { Type: string }>;
  Outputs?: Record<string, { Value: unknown; [key: string]: unknown }>;
  [key: string]: unknown;
}

export interface PackagedStage {
  readonly root: StackTemplate;
  /** Category (`storage`) -> its nested stack's template. */
  readonly nested: Readonly<Record<string, StackTemplate>>;
  /** The root's nested-stack resource id (`StorageStack`) -> its category. */
  readonly stacks: Readonly<Record<string, string>>;
}

type Rewrite = (id: string, attribute: string | undefined) => { value: unknown; sub: string } | undefined;

const split = createRequire(import.meta.url)('../serverless/split-stacks.cjs') as {
  rewriteReferences: (value: unknown, rewrite: Rewrite) => unknown;
  targetOf: (value: unknown) => { id: string; attribute: string } | undefined;
};

/** The root template's file in a package folder. */
export const ROOT_TEMPLATE = 'cloudformation-template-update-stack.json';

const NESTED_FILE = /cloudformation-template-([a-z0-9-]+)-nested-stack\.json/;

/**
 * Reads the root template of `packageDir` and each nested template its stacks name.
 *
 * @example
 * ```ts
 * const stage = await readPackagedStage('.serverless');
 * Object.keys(stage.nested); // ['ai', 'analytics', 'database', ...]
 * ```
 */
export async function readPackagedStage(packageDir: string): Promise<PackagedStage> {
  const read = async (file: string) =>
    JSON.parse(await readFile(join(packageDir, file), 'utf8')) as StackTemplate;
  const root = await read(ROOT_TEMPLATE);
  const nested: Record<string, StackTemplate> = {};
  const stacks: Record<string, string> = {};
  for (const [id, resource] of Object.entries(root.Resources)) {
    if (resource.Type !== 'AWS::CloudFormation::Stack') continue;
    const file = NESTED_FILE.exec(JSON.stringify(resource.Properties?.['TemplateURL']));
    if (file?.[1] === undefined)
      throw new Error(`${id}: its TemplateURL names no nested template of this package`);
    stacks[id] = file[1];
    nested[file[1]] = await read(file[0]);
  }
  return { root, nested, stacks };
}

const asList = (value: string | string[] | undefined): string[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** An `Fn::Sub` over pseudo parameters only (`${AWS::Region}`, ...): a value, not a reference. */
function isBuiltInPlace(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const text = (value as Record<string, unknown>)['Fn::Sub'];
  if (typeof text !== 'string' || Object.keys(value).length !== 1) return false;
  return [...text.matchAll(/\$\{([^}]*)\}/g)].every((match) => match[1]?.startsWith('AWS::'));
}

/**
 * The stage as one template: each nested stack's resources in place of its stack, every parameter and
 * output resolved back to the reference it carries, and the outputs of the root. A DependsOn between two
 * stacks is the stacks' own (the nested-stack resource's DependsOn) and is not repeated on the resources.
 *
 * @example
 * ```ts
 * const template = mergeStage(await readPackagedStage('.serverless'));
 * template.Resources['S3LambdaFunction']?.Type; // 'AWS::Lambda::Function'
 * ```
 */
export function mergeStage(stage: PackagedStage): StackTemplate {
  const { root, nested, stacks } = stage;
  const asSub = (value: unknown) => {
    const target = split.targetOf(value);
    if (target !== undefined) {
      return { value, sub: target.attribute ? `${target.id}.${target.attribute}` : target.id };
    }
    // A value the split builds in place (a state machine's ARN from its name, where a Ref would make a
    // cycle): it stands where the parameter is read by Ref; inside an Fn::Sub it has no name to give.
    if (isBuiltInPlace(value)) return { value, sub: `!not-a-reference:${JSON.stringify(value)}` };
    throw new Error(`not a reference: ${JSON.stringify(value)}`);
  };
  const fromRoot: Rewrite = (id, attribute) => {
    const category = stacks[id];
    if (category === undefined || !attribute?.startsWith('Outputs.')) return undefined;
    const output = nested[category]?.Outputs?.[attribute.slice('Outputs.'.length)];
    if (output === undefined) throw new Error(`${id} has no output ${attribute}`);
    return asSub(output.Value);
  };
  const resources: Record<string, StackResource> = {};
  for (const [id, resource] of Object.entries(root.Resources)) {
    const category = stacks[id];
    if (category === undefined) {
      const merged = split.rewriteReferences(resource, fromRoot) as StackResource;
      const dependsOn = asList(resource.DependsOn).filter((other) => stacks[other] === undefined);
      if (dependsOn.length > 0) merged.DependsOn = dependsOn;
      else delete merged.DependsOn;
      resources[id] = merged;
      continue;
    }
    const passed = (resource.Properties?.['Parameters'] ?? {}) as Record<string, unknown>;
    const template = nested[category] as StackTemplate;
    const fromParameter: Rewrite = (name, attribute) => {
      if (attribute !== undefined || template.Parameters?.[name] === undefined) return undefined;
      if (!(name in passed)) throw new Error(`${id} does not pass its parameter ${name}`);
      return asSub(split.rewriteReferences(passed[name], fromRoot));
    };
    for (const [inner, body] of Object.entries(template.Resources)) {
      if (resources[inner] !== undefined) throw new Error(`${inner} is in two stacks`);
      resources[inner] = split.rewriteReferences(body, fromParameter) as StackResource;
    }
  }
  const outputs = split.rewriteReferences(root.Outputs ?? {}, fromRoot) as NonNullable<
    StackTemplate['Outputs']
  >;
  return { ...root, Resources: resources, Outputs: outputs };
}
