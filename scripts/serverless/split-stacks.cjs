'use strict';
// One stage is a root stack and one nested stack per connector category (README: "The stack's size").
//
// CloudFormation holds at most 500 resources and 200 outputs per stack, and a connector adds about 16
// resources. The root keeps what is shared (the layer, the HTTP API and its stage, the idempotency and
// coordination tables, the data bucket, the alarm topic, the workflows); each category's stack gets what
// its connectors' function.yml files define and what osls and the plugins generate for those functions
// (function, role, log group, queue mapping, permissions, HTTP integration and routes, alarms).
//
// Which stack a resource lives in follows from the folder layout, `functions/<category>/<provider>/`, so it
// never changes unless a connector moves category (which replaces its resources: do not). References that
// cross stacks become parameters of the nested stack (what it reads from the root or from another category)
// and outputs (what others read from it); DependsOn across stacks becomes a dependency of the stack.
// `scripts/lib/stacks.ts` reads a packaged stage back as one template, and the packaging tests check that
// the split changes where resources live and never what they are.
//
// Package: the nested templates are written beside the root one (`cloudformation-template-<category>-
// nested-stack.json`). Deploy: they are uploaded to the deployment bucket's artifact folder, which the
// root's TemplateURLs name, right after osls uploads its own artifacts.

const { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const YAML = require('yaml');

const NESTED_SUFFIX = '-nested-stack.json';

/** `cloudformation-template-<category>-nested-stack.json` */
function nestedFileName(category) {
  return `cloudformation-template-${category}${NESTED_SUFFIX}`;
}

/** `storage` -> `StorageStack`, `ai` -> `AiStack` */
function stackId(category) {
  const words = category.split(/[^A-Za-z0-9]+/).filter(Boolean);
  return `${words.map((word) => word[0].toUpperCase() + word.slice(1)).join('')}Stack`;
}

/**
 * The categories under functions/: each one's function names and the resource ids its function.yml
 * files define.
 */
function discoverCategories(serviceDir) {
  const root = join(serviceDir, 'functions');
  const categories = new Map();
  for (const category of readdirSync(root, { withFileTypes: true })) {
    if (!category.isDirectory()) continue;
    for (const provider of readdirSync(join(root, category.name), { withFileTypes: true })) {
      const file = join(root, category.name, provider.name, 'function.yml');
      if (!provider.isDirectory() || !existsSync(file)) continue;
      const definition = YAML.parse(readFileSync(file, 'utf8')) ?? {};
      const entry = categories.get(category.name) ?? { functions: [], resources: [] };
      entry.functions.push(...Object.keys(definition.function ?? {}));
      entry.resources.push(...Object.keys(definition.resources ?? {}));
      categories.set(category.name, entry);
    }
  }
  return categories;
}

/**
 * The stack each resource belongs to: a category's stack id, or undefined for the root.
 *
 * A resource a function.yml defines goes with its category; one serverless.yml defines itself stays in the
 * root. A resource osls or a plugin generated goes with the longest id it extends: a function's normalized
 * name (`S3LambdaFunction` extends `S3`) or another resource's id (`AzureBlobRequestsDeadLetterQueueDepthAlarm`
 * extends its queue's); HTTP integrations are named after their function (`HttpApiIntegrationS3`) and routes
 * go with the integration they target. Anything else stays in the root.
 */
function assignStacks(template, categories, rootDeclared, normalize) {
  const declared = new Map();
  const anchors = [];
  for (const [category, entry] of categories) {
    for (const id of entry.resources) declared.set(id, stackId(category));
    for (const name of entry.functions) anchors.push([normalize(name), stackId(category)]);
  }
  for (const id of rootDeclared) declared.set(id, undefined);
  const integrations = new Map(anchors.map(([prefix, stack]) => [`HttpApiIntegration${prefix}`, stack]));
  const ids = Object.keys(template.Resources);
  const memo = new Map();
  const ownerOf = (id) => {
    if (declared.has(id)) return declared.get(id);
    if (integrations.has(id)) return integrations.get(id);
    if (memo.has(id)) return memo.get(id);
    let best = '';
    let owner;
    for (const [prefix, stack] of anchors) {
      if (id.startsWith(prefix) && prefix.length > best.length) [best, owner] = [prefix, stack];
    }
    for (const other of ids) {
      if (other !== id && id.startsWith(other) && other.length > best.length)
        [best, owner] = [other, ownerOf(other)];
    }
    memo.set(id, owner);
    return owner;
  };
  const owners = new Map();
  for (const id of ids) {
    const resource = template.Resources[id];
    let owner = ownerOf(id);
    if (resource.Type === 'AWS::ApiGatewayV2::Route' && !declared.has(id)) {
      const target = JSON.stringify(resource.Properties?.Target ?? '');
      const integration = [...integrations.keys()].find((name) => target.includes(`"${name}"`));
      owner = integration === undefined ? undefined : integrations.get(integration);
    }
    if (owner !== undefined) owners.set(id, owner);
  }
  return owners;
}

/** A reference's name as a parameter or output id: `IdempotencyTable`, `IdempotencyTableArn`. */
function referenceName(id, attribute) {
  return attribute === undefined ? id : `${id}${attribute.replace(/[^A-Za-z0-9]/g, '')}`;
}

function reference(id, attribute) {
  return attribute === undefined ? { Ref: id } : { 'Fn::GetAtt': [id, attribute] };
}

/** The target of a Ref or GetAtt value ({ id, attribute }), or undefined for anything else. */
function targetOf(value) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const keys = Object.keys(value);
  if (keys.length !== 1) return undefined;
  if (keys[0] === 'Ref' && typeof value.Ref === 'string') return { id: value.Ref };
  const getAtt = value['Fn::GetAtt'];
  if (keys[0] !== 'Fn::GetAtt') return undefined;
  const [id, ...rest] = Array.isArray(getAtt) ? getAtt : String(getAtt).split('.');
  return { id: String(id), attribute: rest.join('.') };
}

/**
 * A copy of `value` with every Ref, GetAtt and Fn::Sub variable passed through `rewrite(id, attribute)`,
 * which answers the replacement value (and, for Fn::Sub, `{ sub: 'Name' }` or `{ sub: 'Stack.Outputs.Name' }`)
 * or undefined to leave it.
 */
function rewriteReferences(value, rewrite) {
  if (Array.isArray(value)) return value.map((item) => rewriteReferences(item, rewrite));
  if (value === null || typeof value !== 'object') return value;
  const target = targetOf(value);
  if (target !== undefined) return rewrite(target.id, target.attribute || undefined)?.value ?? value;
  if ('Fn::Sub' in value && Object.keys(value).length === 1) {
    const sub = value['Fn::Sub'];
    const [text, variables] = Array.isArray(sub) ? sub : [sub, undefined];
    const replaced = String(text).replace(/\$\{([^!}][^}]*)\}/g, (whole, name) => {
      const [id, ...rest] = name.split('.');
      if (variables?.[name] !== undefined || variables?.[id] !== undefined) return whole;
      const replacement = rewrite(id, rest.length > 0 ? rest.join('.') : undefined);
      return replacement === undefined ? whole : `\${${replacement.sub}}`;
    });
    const rewrittenVariables = variables === undefined ? undefined : rewriteReferences(variables, rewrite);
    return { 'Fn::Sub': variables === undefined ? replaced : [replaced, rewrittenVariables] };
  }
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, rewriteReferences(item, rewrite)]),
  );
}

const asList = (value) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

function emptyStack(template, category) {
  return {
    category,
    template: {
      AWSTemplateFormatVersion: '2010-09-09',
      Description: `${template.Description ?? 'Stack'}: the ${category} connectors`,
      Parameters: {},
      Resources: {},
      Outputs: {},
    },
    // What the root passes for each parameter, and what the stack waits for (other stacks, root resources).
    parameters: {},
    dependsOn: new Set(),
  };
}

/** The resources `value` references (Ref, GetAtt, Fn::Sub variables). */
function referencedIds(value) {
  const found = new Set();
  rewriteReferences(value, (target) => {
    found.add(target);
    return undefined;
  });
  return found;
}

/**
 * Whether `owner` may not read the root state machine `id` by Ref: the machine (or its role) invokes
 * functions of `owner`, so the stack would wait for the machine, the machine for its role and the role for
 * the stack (CloudFormation refuses the cycle). A webhook connector that starts the workflow which calls it
 * back is the case: the Stripe connector and order-fulfilment.
 */
function startsItsCaller(context, owner, id) {
  const { template, owners } = context;
  const machine = template.Resources[id];
  if (machine?.Type !== 'AWS::StepFunctions::StateMachine' || owners.get(id) !== undefined) return false;
  const seen = referencedIds(machine.Properties ?? {});
  for (const other of [...seen]) {
    if (template.Resources[other]?.Type === 'AWS::IAM::Role' && owners.get(other) === undefined) {
      for (const more of referencedIds(template.Resources[other].Properties ?? {})) seen.add(more);
    }
  }
  return [...seen].some((other) => owners.get(other) === owner);
}

/**
 * The ARN of root state machine `id` built from its name, which the root gives it (`<root stack>-<id>`,
 * unless it has one): what a stack that {@link startsItsCaller} reads instead of the Ref.
 */
function namedStateMachineArn(context, id) {
  context.named.add(id);
  const given = context.template.Resources[id].Properties?.StateMachineName;
  const name = typeof given === 'string' ? given : `\${AWS::StackName}-${id}`;
  return {
    'Fn::Sub': `arn:\${AWS::Partition}:states:\${AWS::Region}:\${AWS::AccountId}:stateMachine:${name}`,
  };
}

/**
 * Adds `resource` to its nested stack: a reference to a resource elsewhere becomes a parameter, passed by
 * the root from the resource itself or from the output of the stack that holds it.
 */
function moveToStack(context, owner, id, resource) {
  const { template, owners, stacks, exported } = context;
  const stack = stacks.get(owner);
  const rewritten = rewriteReferences(resource, (target, attribute) => {
    if (owners.get(target) === owner || template.Resources[target] === undefined) return undefined;
    const name = referenceName(target, attribute);
    if (owners.get(name) === owner)
      throw new Error(`split-stacks: parameter ${name} of ${owner} would shadow a resource`);
    stack.template.Parameters[name] = { Type: 'String' };
    const elsewhere = owners.get(target);
    stack.parameters[name] =
      attribute === undefined && startsItsCaller(context, owner, target)
        ? namedStateMachineArn(context, target)
        : elsewhere === undefined
          ? reference(target, attribute)
          : exported(elsewhere, target, attribute).value;
    return { value: { Ref: name }, sub: name };
  });
  const inside = asList(resource.DependsOn).filter((other) => owners.get(other) === owner);
  for (const other of asList(resource.DependsOn)) {
    if (owners.get(other) !== owner) stack.dependsOn.add(owners.get(other) ?? other);
  }
  delete rewritten.DependsOn;
  if (inside.length > 0) rewritten.DependsOn = inside;
  stack.template.Resources[id] = rewritten;
}

/** The root's own resources and outputs, reading what moved from the outputs of its stack. */
function rootTemplate(context) {
  const { template, owners, exported } = context;
  const fromRoot = (target, attribute) => {
    const owner = owners.get(target);
    return owner === undefined ? undefined : exported(owner, target, attribute);
  };
  const resources = {};
  for (const [id, resource] of Object.entries(template.Resources)) {
    if (owners.has(id)) continue;
    const rewritten = rewriteReferences(resource, fromRoot);
    const dependsOn = [...new Set(asList(resource.DependsOn).map((other) => owners.get(other) ?? other))];
    if (dependsOn.length > 0) rewritten.DependsOn = dependsOn;
    resources[id] = rewritten;
  }
  return { ...template, Resources: resources, Outputs: rewriteReferences(template.Outputs ?? {}, fromRoot) };
}

/**
 * Splits `template` (not changed) by `owners` into the root template and one template per nested stack.
 * `templateUrl(category)` answers the TemplateURL value of a category's nested template.
 */
function splitTemplate(template, categories, owners, templateUrl) {
  if (template.Conditions !== undefined || template.Mappings !== undefined) {
    throw new Error('split-stacks: templates with Conditions or Mappings are not supported');
  }
  const stacks = new Map();
  for (const category of categories.keys()) {
    const id = stackId(category);
    if (template.Resources[id] !== undefined) throw new Error(`split-stacks: ${id} is already a resource`);
    stacks.set(id, emptyStack(template, category));
  }
  // What the root or another stack reads as the value of a resource in `owner`: an output of it.
  const exported = (owner, id, attribute) => {
    const name = referenceName(id, attribute);
    stacks.get(owner).template.Outputs[name] = { Value: reference(id, attribute) };
    return { value: { 'Fn::GetAtt': [owner, `Outputs.${name}`] }, sub: `${owner}.Outputs.${name}` };
  };
  const context = { template, owners, stacks, exported, named: new Set() };
  for (const [id, resource] of Object.entries(template.Resources)) {
    const owner = owners.get(id);
    if (owner !== undefined) moveToStack(context, owner, id, resource);
  }
  const root = rootTemplate(context);
  for (const id of context.named) {
    const machine = root.Resources[id];
    if (typeof machine.Properties?.StateMachineName === 'string') continue;
    root.Resources[id] = {
      ...machine,
      Properties: { ...machine.Properties, StateMachineName: { 'Fn::Sub': `\${AWS::StackName}-${id}` } },
    };
  }
  const nested = {};
  for (const [id, stack] of stacks) {
    if (Object.keys(stack.template.Resources).length === 0) continue;
    const dependsOn = [...stack.dependsOn].filter((other) => other !== id).sort();
    root.Resources[id] = {
      Type: 'AWS::CloudFormation::Stack',
      // Removing the stage removes its stacks; what must survive says Retain on its own resource inside.
      DeletionPolicy: 'Delete',
      UpdateReplacePolicy: 'Delete',
      Properties: { TemplateURL: templateUrl(stack.category), Parameters: stack.parameters },
      ...(dependsOn.length > 0 ? { DependsOn: dependsOn } : {}),
    };
    nested[stack.category] = stack.template;
  }
  return { root, nested };
}

class SplitStacks {
  constructor(serverless) {
    this.serverless = serverless;
    this.provider = serverless.getProvider('aws');
    this.hooks = {
      // After operations.cjs added its alarms and outputs (plugins run in their listed order), before osls
      // writes the template.
      'before:aws:package:finalize:saveServiceState': () => this.split(),
      'after:aws:deploy:deploy:uploadArtifacts': () => this.upload(),
    };
  }

  /** Where osls keeps the package while it works (it moves it to `--package` afterwards, and back for a deploy). */
  workFolder() {
    return join(this.serverless.serviceDir, '.serverless');
  }

  templateUrl(category) {
    const service = this.serverless.service;
    const named = service.provider.deploymentBucket;
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a CloudFormation Fn::Sub placeholder, not JavaScript.
    const bucket = typeof named === 'string' ? named : '${ServerlessDeploymentBucket}';
    const folder = service.package.artifactDirectoryName;
    return {
      'Fn::Sub': `https://${bucket}.s3.\${AWS::Region}.\${AWS::URLSuffix}/${folder}/${nestedFileName(category)}`,
    };
  }

  split() {
    const service = this.serverless.service;
    const template = service.provider.compiledCloudFormationTemplate;
    const categories = discoverCategories(this.serverless.serviceDir);
    const naming = this.provider.naming;
    const custom = Object.keys(service.resources?.Resources ?? {});
    const fromFunctions = new Set([...categories.values()].flatMap((entry) => entry.resources));
    const rootDeclared = custom.filter((id) => !fromFunctions.has(id));
    const owners = assignStacks(template, categories, rootDeclared, (name) =>
      naming.getNormalizedFunctionName(name),
    );
    const { root, nested } = splitTemplate(template, categories, owners, (category) =>
      this.templateUrl(category),
    );
    template.Resources = root.Resources;
    template.Outputs = root.Outputs;
    mkdirSync(this.workFolder(), { recursive: true });
    for (const [category, body] of Object.entries(nested)) {
      writeFileSync(join(this.workFolder(), nestedFileName(category)), `${JSON.stringify(body, null, 2)}\n`);
    }
  }

  async upload() {
    const directory = this.workFolder();
    const files = readdirSync(directory).filter((name) => name.endsWith(NESTED_SUFFIX));
    const bucket = await this.provider.getServerlessDeploymentBucketName();
    const folder = this.serverless.service.package.artifactDirectoryName;
    const encryption = this.serverless.service.provider.deploymentBucketObject?.serverSideEncryption;
    for (const file of files) {
      await this.provider.request('S3', 'upload', {
        Bucket: bucket,
        Key: `${folder}/${file}`,
        Body: readFileSync(join(directory, file)),
        ContentType: 'application/json',
        ...(encryption === undefined ? {} : { ServerSideEncryption: encryption }),
      });
    }
  }
}

module.exports = SplitStacks;
module.exports.assignStacks = assignStacks;
module.exports.splitTemplate = splitTemplate;
module.exports.discoverCategories = discoverCategories;
module.exports.nestedFileName = nestedFileName;
module.exports.stackId = stackId;
module.exports.rewriteReferences = rewriteReferences;
module.exports.targetOf = targetOf;
