/**
 * Turns the resolved `serverless.yml` into what the local stack runs: functions with their environment and
 * triggers (HTTP routes, SQS event source mappings, schedules), queues, buckets, tables, state machines,
 * SNS topics and subscriptions, EventBridge buses and rules,
 * with every CloudFormation reference pointing at the local resource.
 */
import {
  type IntrinsicContext,
  type LocalResource,
  normalizeName,
  resolveIntrinsics,
  UnresolvedIntrinsicError,
} from './intrinsics.ts';
import type { CloudFormationResource, ServerlessConfig, ServerlessFunction } from './serverless.ts';

/** The account id every local ARN and queue URL uses (the one LocalStack users know). */
export const LOCAL_ACCOUNT_ID = '000000000000';

export interface HttpRoute {
  functionKey: string;
  /** Upper-case method, or `ANY`. */
  method: string;
  /** Path template (`/s3/{operation}`), or `$default` for the catch-all route. */
  path: string;
  /** API Gateway's route key, e.g. `POST /s3/{operation}`. */
  routeKey: string;
  /** Whether the route has an authorizer in serverless.yml (the local API key stands in for it). */
  authorized: boolean;
  /**
   * The route's JWT authorizer and its `scopes` (API Gateway's authorizationScopes): the gateway verifies
   * the token as API Gateway does instead of asking for the local API key.
   */
  jwt?: { authorizer: JwtAuthorizerSpec; scopes: string[] };
  /**
   * Set on the route standing in for a function URL (`url:` of the function): served at
   * `/lambda-url/<function key>/<path>`, the function getting the path after that prefix, as it would on
   * its own `https://<id>.lambda-url.<region>.on.aws` host; `RESPONSE_STREAM` streams its answer as written.
   */
  functionUrl?: { prefix: string; invokeMode: 'BUFFERED' | 'RESPONSE_STREAM' };
}

/** Where a function URL is served locally: `/lambda-url/<function key>/...` on the HTTP API. */
export const FUNCTION_URL_PREFIX = '/lambda-url';

/** A JWT authorizer of `provider.httpApi.authorizers` (API Gateway's JwtConfiguration). */
export interface JwtAuthorizerSpec {
  name: string;
  /** Where the token is: `$request.header.Authorization`, or `$request.querystring.<name>`. */
  identitySource: string[];
  /** The `iss` a token must carry; its discovery document names the JWKS. */
  issuerUrl: string;
  /** A token's `aud` (or, without `aud`, its `client_id`) must be one of these. */
  audience: string[];
}

export interface SqsMapping {
  functionKey: string;
  queueName: string;
  batchSize: number;
  batchingWindowSeconds: number;
  reportBatchItemFailures: boolean;
  enabled: boolean;
  maximumConcurrency: number;
}

export interface ScheduleRule {
  /** What the rule starts: a function (by key) or a state machine (by name). */
  kind: 'function' | 'stateMachine';
  target: string;
  /** Rule name, unique in the stack. */
  name: string;
  /** `rate(...)` or `cron(...)`. */
  expression: string;
  enabled: boolean;
  input?: unknown;
  inputPath?: string;
}

export interface LocalFunction {
  /** The key under `functions:` (`s3`). */
  key: string;
  /** The deployed name (`circle-core-dev-s3`). */
  name: string;
  arn: string;
  handler: string;
  timeoutSeconds: number;
  memorySize: number;
  /** provider.environment merged with the function's, intrinsics resolved. */
  environment: Record<string, string>;
  routes: HttpRoute[];
  queues: SqsMapping[];
  schedules: ScheduleRule[];
}

export interface QueueSpec {
  logicalId: string;
  name: string;
  /** SQS attributes as the API takes them (strings), RedrivePolicy as JSON. */
  attributes: Record<string, string>;
}

export interface TableSpec {
  logicalId: string;
  name: string;
  properties: Record<string, unknown>;
}

export interface StateMachineSpec {
  key: string;
  name: string;
  arn: string;
  type: 'STANDARD' | 'EXPRESS';
  definition: Record<string, unknown>;
  /** `schedule` events of the state machine: each starts an execution. */
  schedules: ScheduleRule[];
}

/** An SNS topic from `resources:` (AWS::SNS::Topic), with its inline subscriptions. */
export interface TopicSpec {
  logicalId: string;
  name: string;
  /** CreateTopic attributes (FifoTopic, ContentBasedDeduplication, ...), as strings. */
  attributes: Record<string, string>;
}

/** An SNS subscription: AWS::SNS::Subscription, or an entry of a topic's `Subscription` list. */
export interface SubscriptionSpec {
  topicArn: string;
  protocol: string;
  endpoint: string;
  /** FilterPolicy (JSON text), FilterPolicyScope, RawMessageDelivery. */
  attributes: Record<string, string>;
}

/** An EventBridge rule from `resources:` (AWS::Events::Rule) with its targets. */
export interface RuleSpec {
  logicalId: string;
  name: string;
  /** The bus name (`default` when none is named). */
  bus: string;
  eventPattern: string | undefined;
  state: string;
  targets: Record<string, unknown>[];
}

export interface LocalModel {
  service: string;
  stage: string;
  region: string;
  accountId: string;
  stackName: string;
  functions: LocalFunction[];
  queues: QueueSpec[];
  buckets: string[];
  tables: TableSpec[];
  stateMachines: StateMachineSpec[];
  topics: TopicSpec[];
  subscriptions: SubscriptionSpec[];
  /** EventBridge buses (AWS::Events::EventBus names); `default` always exists. */
  eventBuses: string[];
  rules: RuleSpec[];
  /** `provider.httpApi.cors` as given (true or an object). */
  cors: unknown;
  /** Things serverless.yml asks for that the local stack ignores or could not resolve. */
  warnings: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The local URL of a queue on the AWS endpoint.
 *
 * @example
 * ```ts
 * queueUrl('http://127.0.0.1:4566', 's3-requests'); // 'http://127.0.0.1:4566/000000000000/s3-requests'
 * ```
 */
export function queueUrl(awsUrl: string, name: string): string {
  return `${awsUrl}/${LOCAL_ACCOUNT_ID}/${name}`;
}

function queueName(logicalId: string, resource: CloudFormationResource, stackName: string): string {
  const props = resource.Properties ?? {};
  if (typeof props['QueueName'] === 'string') return props['QueueName'];
  const fifo = props['FifoQueue'] === true || props['FifoQueue'] === 'true';
  return `${stackName}-${logicalId}`.slice(0, fifo ? 75 : 80) + (fifo ? '.fifo' : '');
}

function stateMachineKeyToName(key: string, machine: { name?: string }): string {
  return typeof machine.name === 'string' && machine.name !== '' ? machine.name : key;
}

function named(props: Record<string, unknown>, key: string, fallback: string): string {
  return typeof props[key] === 'string' ? props[key] : fallback;
}

type ResourceFactory = (
  logicalId: string,
  resource: CloudFormationResource,
  base: Omit<IntrinsicContext, 'resources'>,
  awsUrl: string,
) => LocalResource;

/** What `Ref` and `Fn::GetAtt` answer for each resource type the stack runs. */
const RESOURCE_FACTORIES: Record<string, ResourceFactory> = {
  'AWS::SQS::Queue': (logicalId, resource, { region, accountId, stackName }, awsUrl) => {
    const name = queueName(logicalId, resource, stackName);
    const url = queueUrl(awsUrl, name);
    const arn = `arn:aws:sqs:${region}:${accountId}:${name}`;
    return { type: resource.Type, ref: url, attributes: { Arn: arn, QueueName: name, QueueUrl: url } };
  },
  'AWS::S3::Bucket': (logicalId, resource, { region, stackName }) => {
    const fallback = `${stackName}-${logicalId}`.toLowerCase().slice(0, 63);
    const name = named(resource.Properties ?? {}, 'BucketName', fallback);
    return {
      type: resource.Type,
      ref: name,
      attributes: {
        Arn: `arn:aws:s3:::${name}`,
        DomainName: `${name}.s3.amazonaws.com`,
        RegionalDomainName: `${name}.s3.${region}.amazonaws.com`,
      },
    };
  },
  'AWS::DynamoDB::Table': (logicalId, resource, { region, accountId, stackName }) => {
    const name = named(resource.Properties ?? {}, 'TableName', `${stackName}-${logicalId}`);
    const arn = `arn:aws:dynamodb:${region}:${accountId}:table/${name}`;
    return { type: resource.Type, ref: name, attributes: { Arn: arn, StreamArn: `${arn}/stream/local` } };
  },
  'AWS::SNS::Topic': (logicalId, resource, { region, accountId, stackName }) => {
    const props = resource.Properties ?? {};
    const fifo = props['FifoTopic'] === true || props['FifoTopic'] === 'true';
    const fallback = `${stackName}-${logicalId}`.slice(0, fifo ? 251 : 256) + (fifo ? '.fifo' : '');
    const name = named(props, 'TopicName', fallback);
    const arn = `arn:aws:sns:${region}:${accountId}:${name}`;
    return { type: resource.Type, ref: arn, attributes: { TopicName: name, TopicArn: arn } };
  },
  'AWS::SNS::Subscription': (logicalId, resource, { region, accountId }) => {
    const arn = `arn:aws:sns:${region}:${accountId}:subscription:${logicalId}`;
    return { type: resource.Type, ref: arn, attributes: { Arn: arn } };
  },
  'AWS::Events::EventBus': (logicalId, resource, { region, accountId }) => {
    const name = named(resource.Properties ?? {}, 'Name', logicalId);
    const arn = `arn:aws:events:${region}:${accountId}:event-bus/${name}`;
    return { type: resource.Type, ref: name, attributes: { Arn: arn, Name: name } };
  },
  // Only named (an EventBridge rule's RoleArn): the local stack enforces no IAM.
  'AWS::IAM::Role': (logicalId, resource, { accountId, stackName }) => {
    const name = named(resource.Properties ?? {}, 'RoleName', `${stackName}-${logicalId}`.slice(0, 64));
    return {
      type: resource.Type,
      ref: name,
      attributes: {
        Arn: `arn:aws:iam::${accountId}:role/${name}`,
        RoleId: `AROALOCAL${logicalId.toUpperCase()}`,
      },
    };
  },
  'AWS::Events::Rule': (logicalId, resource, { region, accountId, stackName }) => {
    const props = resource.Properties ?? {};
    const name = named(props, 'Name', `${stackName}-${logicalId}`.slice(0, 64));
    const bus = typeof props['EventBusName'] === 'string' ? busName(props['EventBusName']) : 'default';
    const arn = `arn:aws:events:${region}:${accountId}:rule/${bus === 'default' ? '' : `${bus}/`}${name}`;
    return { type: resource.Type, ref: name, attributes: { Arn: arn } };
  },
};

/** A bus name from a name or an ARN. */
function busName(nameOrArn: string): string {
  return nameOrArn.startsWith('arn:') ? nameOrArn.slice(nameOrArn.indexOf('event-bus/') + 10) : nameOrArn;
}

function stringAttributes(props: Record<string, unknown>, names: string[]): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const name of names) {
    const value = props[name];
    if (value !== undefined && value !== null) attributes[name] = stringify(value);
  }
  return attributes;
}

type Messaging = Pick<LocalModel, 'topics' | 'subscriptions' | 'eventBuses' | 'rules'>;

function topicOf(
  logicalId: string,
  properties: Record<string, unknown>,
  local: LocalResource,
  found: Messaging,
) {
  const name = local.attributes['TopicName'] ?? logicalId;
  const attributes = stringAttributes(properties, ['FifoTopic', 'ContentBasedDeduplication', 'DisplayName']);
  found.topics.push({ logicalId, name, attributes });
  const inline = Array.isArray(properties['Subscription']) ? properties['Subscription'] : [];
  for (const entry of inline as Record<string, unknown>[]) {
    found.subscriptions.push({
      topicArn: local.ref,
      protocol: String(entry['Protocol'] ?? ''),
      endpoint: String(entry['Endpoint'] ?? ''),
      attributes: {},
    });
  }
}

function ruleOf(logicalId: string, properties: Record<string, unknown>, local: LocalResource): RuleSpec {
  const pattern = properties['EventPattern'];
  return {
    logicalId,
    name: local.ref,
    bus: typeof properties['EventBusName'] === 'string' ? busName(properties['EventBusName']) : 'default',
    eventPattern: pattern === undefined ? undefined : stringify(pattern),
    state: String(properties['State'] ?? 'ENABLED'),
    targets: Array.isArray(properties['Targets']) ? (properties['Targets'] as Record<string, unknown>[]) : [],
  };
}

/** Messaging resources: topics and their subscriptions, buses, rules and their targets. */
function messagingOf(
  logicalId: string,
  resource: CloudFormationResource,
  properties: Record<string, unknown>,
  local: LocalResource,
  found: Messaging,
): void {
  if (resource.Type === 'AWS::SNS::Topic') topicOf(logicalId, properties, local, found);
  else if (resource.Type === 'AWS::SNS::Subscription') {
    found.subscriptions.push({
      topicArn: String(properties['TopicArn'] ?? ''),
      protocol: String(properties['Protocol'] ?? ''),
      endpoint: String(properties['Endpoint'] ?? ''),
      attributes: stringAttributes(properties, ['FilterPolicy', 'FilterPolicyScope', 'RawMessageDelivery']),
    });
  } else if (resource.Type === 'AWS::Events::EventBus') found.eventBuses.push(local.ref);
  else if (resource.Type === 'AWS::Events::Rule') found.rules.push(ruleOf(logicalId, properties, local));
}

/** Every logical id the local stack can answer `Ref`/`Fn::GetAtt` for. */
function registry(
  config: ServerlessConfig,
  base: Omit<IntrinsicContext, 'resources'>,
  awsUrl: string,
): Map<string, LocalResource> {
  const resources = new Map<string, LocalResource>();
  const { region, accountId, stackName } = base;
  for (const [logicalId, resource] of Object.entries(config.resources?.Resources ?? {})) {
    const factory = RESOURCE_FACTORIES[resource.Type];
    if (factory !== undefined) resources.set(logicalId, factory(logicalId, resource, base, awsUrl));
  }
  for (const [key, fn] of Object.entries(config.functions ?? {})) {
    const name = fn.name ?? `${stackName}-${key}`;
    const arn = `arn:aws:lambda:${region}:${accountId}:function:${name}`;
    resources.set(`${normalizeName(key)}LambdaFunction`, {
      type: 'AWS::Lambda::Function',
      ref: name,
      attributes: { Arn: arn },
    });
  }
  for (const [key, machine] of Object.entries(config.stepFunctions?.stateMachines ?? {})) {
    const name = stateMachineKeyToName(key, machine);
    const arn = `arn:aws:states:${region}:${accountId}:stateMachine:${name}`;
    const entry = {
      type: 'AWS::StepFunctions::StateMachine',
      ref: arn,
      attributes: { Arn: arn, Name: name },
    };
    resources.set(`${normalizeName(key)}StepFunctionsStateMachine`, entry);
    const custom = machine.id ?? machine.name;
    if (typeof custom === 'string') resources.set(normalizeName(custom), entry);
  }
  return resources;
}

function stringify(value: unknown): string {
  return typeof value === 'string'
    ? value
    : typeof value === 'object'
      ? JSON.stringify(value)
      : String(value);
}

const stringList = (value: unknown): string[] =>
  (Array.isArray(value) ? value : value === undefined || value === null ? [] : [value]).map(String);

/**
 * The JWT authorizers of `provider.httpApi.authorizers` (entries without `type`, or `type: jwt`); Lambda
 * (`type: request`) authorizers are left to the local API key.
 */
function jwtAuthorizersOf(config: ServerlessConfig, warnings: string[]): Map<string, JwtAuthorizerSpec> {
  const found = new Map<string, JwtAuthorizerSpec>();
  const declared = config.provider.httpApi?.['authorizers'];
  if (!isRecord(declared)) return found;
  for (const [name, spec] of Object.entries(declared)) {
    if (!isRecord(spec) || (spec['type'] !== undefined && spec['type'] !== 'jwt')) continue;
    const issuerUrl = spec['issuerUrl'];
    const audience = stringList(spec['audience']);
    if (typeof issuerUrl !== 'string' || issuerUrl === '' || audience.length === 0) {
      warnings.push(`httpApi authorizer ${name}: a JWT authorizer needs issuerUrl and audience; skipped`);
      continue;
    }
    const identitySource = stringList(spec['identitySource'] ?? '$request.header.Authorization');
    found.set(name, { name, identitySource, issuerUrl, audience });
  }
  return found;
}

/** What a route's `authorizer` asks for: a JWT authorizer with its scopes, or another kind (or none). */
function routeAuthorizer(
  functionKey: string,
  authorizer: unknown,
  jwt: Map<string, JwtAuthorizerSpec>,
  warnings: string[],
): Pick<HttpRoute, 'authorized' | 'jwt'> {
  if (authorizer === undefined || authorizer === null) return { authorized: false };
  const spec = isRecord(authorizer) ? authorizer : { name: authorizer };
  const name = typeof spec['name'] === 'string' ? spec['name'] : undefined;
  const found = name === undefined ? undefined : jwt.get(name);
  if (found !== undefined && (spec['type'] === undefined || spec['type'] === 'jwt')) {
    return { authorized: true, jwt: { authorizer: found, scopes: stringList(spec['scopes']) } };
  }
  if (name !== undefined) {
    warnings.push(
      `${functionKey}: authorizer ${name} is no JWT authorizer the local gateway checks (a Lambda authorizer is not run locally); the local API key stands in for it`,
    );
  }
  return { authorized: true };
}

/** `'POST /path'`, `'*'` or `{ method, path, authorizer }` as serverless.yml writes an httpApi event. */
function routeOf(
  functionKey: string,
  event: unknown,
  jwt: Map<string, JwtAuthorizerSpec>,
  warnings: string[],
): HttpRoute | undefined {
  let method = '*';
  let path = '*';
  let auth: Pick<HttpRoute, 'authorized' | 'jwt'> = { authorized: false };
  if (typeof event === 'string' && event !== '*') {
    const [first = '', second = ''] = event.trim().split(/\s+/);
    method = first;
    path = second;
  } else if (isRecord(event)) {
    method = String(event['method'] ?? '*');
    path = String(event['path'] ?? '');
    auth = routeAuthorizer(functionKey, event['authorizer'], jwt, warnings);
  } else if (event !== '*') {
    return undefined;
  }
  const upper = method === '*' ? 'ANY' : method.toUpperCase();
  if (path === '*' || path === '') {
    return { functionKey, method: upper, path: '$default', routeKey: '$default', ...auth };
  }
  return { functionKey, method: upper, path, routeKey: `${upper} ${path}`, ...auth };
}

function environmentOf(
  key: string,
  merged: Record<string, unknown>,
  context: IntrinsicContext,
  warnings: string[],
): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [variable, raw] of Object.entries(merged)) {
    try {
      const value = resolveIntrinsics(raw, context);
      if (value !== undefined && value !== null) environment[variable] = stringify(value);
    } catch (error) {
      if (!(error instanceof UnresolvedIntrinsicError)) throw error;
      warnings.push(`${key}: environment ${variable} left unset (${error.message})`);
    }
  }
  return environment;
}

function sqsMappingOf(
  key: string,
  spec: unknown,
  context: IntrinsicContext,
  warnings: string[],
): SqsMapping | undefined {
  const options = isRecord(spec) ? spec : { arn: spec };
  let arn: string;
  try {
    arn = stringify(resolveIntrinsics(options['arn'], context));
  } catch (error) {
    if (!(error instanceof UnresolvedIntrinsicError)) throw error;
    warnings.push(`${key}: sqs event skipped (${error.message})`);
    return undefined;
  }
  if (options['filterPatterns'] !== undefined)
    warnings.push(`${key}: sqs filterPatterns are not applied locally`);
  return {
    functionKey: key,
    queueName: arn.slice(arn.lastIndexOf(':') + 1),
    batchSize: Number(options['batchSize'] ?? 10),
    batchingWindowSeconds: Number(options['maximumBatchingWindow'] ?? 0),
    reportBatchItemFailures: options['functionResponseType'] === 'ReportBatchItemFailures',
    enabled: options['enabled'] !== false,
    // Lambda starts five pollers; two keep a laptop quiet and still overlap batches.
    maximumConcurrency: Math.min(Number(options['maximumConcurrency'] ?? 2), 5),
  };
}

function schedulesOf(
  target: { kind: ScheduleRule['kind']; key: string },
  name: string,
  spec: unknown,
  first: number,
  warnings: string[],
): ScheduleRule[] {
  const options = isRecord(spec) ? spec : { rate: spec };
  const rates = Array.isArray(options['rate']) ? options['rate'] : [options['rate']];
  if (options['inputTransformer'] !== undefined) {
    warnings.push(
      `${target.key}: schedule inputTransformer is not applied locally (the scheduled event is sent)`,
    );
  }
  const input =
    typeof options['input'] === 'string' ? (JSON.parse(options['input']) as unknown) : options['input'];
  return rates
    .filter((expression): expression is string => typeof expression === 'string')
    .map((expression, index) => {
      const rule: ScheduleRule = {
        kind: target.kind,
        target: target.key,
        name:
          typeof options['name'] === 'string'
            ? options['name']
            : `${name}-schedule-${first + index + 1}`.slice(0, 64),
        expression: expression.trim(),
        enabled: options['enabled'] !== false,
      };
      if (input !== undefined) rule.input = input;
      if (typeof options['inputPath'] === 'string') rule.inputPath = options['inputPath'];
      return rule;
    });
}

/** Adds one `events:` entry to the function's triggers, or a warning when the stack does not run it. */
function addEvent(
  local: LocalFunction,
  event: Record<string, unknown>,
  context: IntrinsicContext & { jwtAuthorizers: Map<string, JwtAuthorizerSpec> },
  warnings: string[],
): void {
  const [kind] = Object.keys(event);
  const spec = kind === undefined ? undefined : event[kind];
  if (kind === 'httpApi') {
    const route = routeOf(local.key, spec, context.jwtAuthorizers, warnings);
    if (route === undefined) warnings.push(`${local.key}: an httpApi event could not be read`);
    else local.routes.push(route);
  } else if (kind === 'sqs') {
    const mapping = sqsMappingOf(local.key, spec, context, warnings);
    if (mapping !== undefined) local.queues.push(mapping);
  } else if (kind === 'schedule') {
    local.schedules.push(
      ...schedulesOf(
        { kind: 'function', key: local.key },
        local.name,
        spec,
        local.schedules.length,
        warnings,
      ),
    );
  } else if (kind === 'http') {
    warnings.push(`${local.key}: REST API (http) events are not served locally; use httpApi`);
  } else {
    warnings.push(`${local.key}: ${kind ?? 'empty'} events are not emulated locally`);
  }
}

function resolveFunction(
  key: string,
  fn: ServerlessFunction,
  config: ServerlessConfig,
  context: IntrinsicContext & { jwtAuthorizers: Map<string, JwtAuthorizerSpec> },
  warnings: string[],
): LocalFunction {
  const resource = context.resources.get(`${normalizeName(key)}LambdaFunction`);
  const name = resource?.ref ?? key;
  const merged = { ...(config.provider.environment ?? {}), ...(fn.environment ?? {}) };
  const local: LocalFunction = {
    key,
    name,
    arn:
      resource?.attributes['Arn'] ?? `arn:aws:lambda:${context.region}:${context.accountId}:function:${name}`,
    handler: fn.handler ?? 'index.handler',
    timeoutSeconds: Number(fn.timeout ?? config.provider.timeout ?? 6),
    memorySize: Number(fn.memorySize ?? config.provider.memorySize ?? 1024),
    environment: environmentOf(key, merged, context, warnings),
    routes: [],
    queues: [],
    schedules: [],
  };
  for (const event of fn.events ?? []) addEvent(local, event, context, warnings);
  const url = functionUrlRoute(key, fn.url);
  if (url !== undefined) local.routes.push(url);
  return local;
}

/**
 * A function URL (`url: true` or `{ authorizer, invokeMode }`) as a route of the local HTTP API: any method
 * under `/lambda-url/<key>/`; `authorizer: aws_iam` (SigV4 in AWS) takes the local API key.
 */
function functionUrlRoute(key: string, url: ServerlessFunction['url']): HttpRoute | undefined {
  if (url === undefined || url === false) return undefined;
  const options = typeof url === 'object' ? url : {};
  const prefix = `${FUNCTION_URL_PREFIX}/${key}`;
  return {
    functionKey: key,
    method: 'ANY',
    path: `${prefix}/{proxy+}`,
    routeKey: '$default',
    authorized: options['authorizer'] === 'aws_iam',
    functionUrl: {
      prefix,
      invokeMode: options['invokeMode'] === 'RESPONSE_STREAM' ? 'RESPONSE_STREAM' : 'BUFFERED',
    },
  };
}

function isBucketName(value: string): boolean {
  return /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(value);
}

/** Buckets named by an environment variable (`S3_BUCKET`, `..._BUCKET_NAME`, `S3_ALLOWED_BUCKETS`). */
function bucketsFromEnvironment(functions: LocalFunction[]): string[] {
  const found: string[] = [];
  for (const fn of functions) {
    for (const [variable, value] of Object.entries(fn.environment)) {
      if (/(^|_)BUCKET(_NAME)?$/.test(variable) && isBucketName(value)) found.push(value);
      if (/(^|_)BUCKETS$/.test(variable)) {
        found.push(
          ...value
            .split(',')
            .map((part) => part.trim())
            .filter(isBucketName),
        );
      }
    }
  }
  return found;
}

function resolvedProperties(
  logicalId: string,
  resource: CloudFormationResource,
  context: IntrinsicContext,
  warnings: string[],
): Record<string, unknown> {
  try {
    const resolved = resolveIntrinsics(resource.Properties ?? {}, context);
    return isRecord(resolved) ? resolved : {};
  } catch (error) {
    if (!(error instanceof UnresolvedIntrinsicError)) throw error;
    warnings.push(`${logicalId}: properties not fully resolved (${error.message})`);
    return {};
  }
}

/** Queues, tables, buckets, topics, buses and rules declared under `resources:`. */
function resourcesOf(config: ServerlessConfig, context: IntrinsicContext, warnings: string[]) {
  const queues: QueueSpec[] = [];
  const tables: TableSpec[] = [];
  const buckets: string[] = [];
  const messaging: Messaging = {
    topics: [],
    subscriptions: [],
    eventBuses: [],
    rules: [],
  };
  for (const [logicalId, resource] of Object.entries(config.resources?.Resources ?? {})) {
    const local = context.resources.get(logicalId);
    if (local === undefined) continue;
    const properties = resolvedProperties(logicalId, resource, context, warnings);
    if (resource.Type === 'AWS::SQS::Queue') {
      const attributes: Record<string, string> = {};
      for (const [name, value] of Object.entries(properties)) {
        if (name !== 'QueueName' && name !== 'Tags' && value !== undefined)
          attributes[name] = stringify(value);
      }
      queues.push({ logicalId, name: local.attributes['QueueName'] ?? logicalId, attributes });
    } else if (resource.Type === 'AWS::DynamoDB::Table') {
      tables.push({ logicalId, name: local.ref, properties });
    } else if (resource.Type === 'AWS::S3::Bucket') {
      buckets.push(local.ref);
    } else {
      messagingOf(logicalId, resource, properties, local, messaging);
    }
  }
  return { queues, tables, buckets, ...messaging };
}

function stateMachinesOf(
  config: ServerlessConfig,
  context: IntrinsicContext,
  warnings: string[],
): StateMachineSpec[] {
  const machines: StateMachineSpec[] = [];
  for (const [key, machine] of Object.entries(config.stepFunctions?.stateMachines ?? {})) {
    const name = stateMachineKeyToName(key, machine);
    try {
      const raw =
        typeof machine.definition === 'string' ? JSON.parse(machine.definition) : machine.definition;
      // Deployed, the whole definition is an Fn::Sub template (serverless-step-functions makes it one), so
      // `arn:${AWS::Partition}:states:::lambda:invoke` gets its partition: substituted the same way here.
      const text = JSON.stringify(resolveIntrinsics(raw, context));
      const definition = JSON.parse(String(resolveIntrinsics({ 'Fn::Sub': text }, context)));
      if (!isRecord(definition)) throw new Error('definition must be an object');
      machines.push({
        key,
        name,
        arn: `arn:aws:states:${context.region}:${context.accountId}:stateMachine:${name}`,
        type: String(machine.type ?? 'STANDARD').toUpperCase() === 'EXPRESS' ? 'EXPRESS' : 'STANDARD',
        definition,
        schedules: (machine.events ?? []).flatMap((event, index) =>
          'schedule' in event
            ? schedulesOf({ kind: 'stateMachine', key: name }, name, event['schedule'], index, warnings)
            : [],
        ),
      });
    } catch (error) {
      warnings.push(`state machine ${name} skipped: ${(error as Error).message}`);
    }
  }
  return machines;
}

/**
 * Builds the local model of the service. `awsUrl` is the stack's AWS endpoint (queue URLs point at it).
 *
 * @example
 * ```ts
 * const model = buildModel(config, { awsUrl: 'http://127.0.0.1:4566' });
 * model.functions.map((fn) => fn.key); // ['github', 'postgres', 's3', 'slack']
 * ```
 */
export function buildModel(config: ServerlessConfig, options: { awsUrl: string }): LocalModel {
  const service = typeof config.service === 'string' ? config.service : config.service.name;
  const stage = config.provider.stage ?? 'dev';
  const region = config.provider.region ?? 'us-east-1';
  const stackName = `${service}-${stage}`;
  const base = { region, accountId: LOCAL_ACCOUNT_ID, stackName };
  const context: IntrinsicContext = { ...base, resources: registry(config, base, options.awsUrl) };
  const warnings: string[] = [];
  const jwtAuthorizers = jwtAuthorizersOf(config, warnings);
  const functions = Object.entries(config.functions ?? {})
    .map(([key, fn]) => resolveFunction(key, fn, config, { ...context, jwtAuthorizers }, warnings))
    .sort((a, b) => a.key.localeCompare(b.key));
  const { queues, tables, buckets, topics, subscriptions, eventBuses, rules } = resourcesOf(
    config,
    context,
    warnings,
  );
  return {
    service,
    stage,
    region,
    accountId: LOCAL_ACCOUNT_ID,
    stackName,
    functions,
    queues,
    buckets: [...new Set([...buckets, ...bucketsFromEnvironment(functions)])].sort(),
    tables,
    stateMachines: stateMachinesOf(config, context, warnings),
    topics,
    subscriptions,
    eventBuses,
    rules,
    cors: config.provider.httpApi?.['cors'],
    warnings,
  };
}
