/**
 * The retry and catch rules every Circle Core workflow follows, as a linter over ASL definitions:
 * Lambda tasks through `lambda:invoke` with the connector envelope, retries only for the Lambda service
 * errors and the connectors' retryable errors (full jitter, capped delays), `States.ALL` only alone and
 * last, every task covered by a Catch, explicit Map concurrency, time budgets that add up, input
 * validation first (the StartAt state is a Choice that tests the input itself and can end in a
 * `ValidationError` whose Cause names the input field), and an idempotency key on every write, derived
 * from the execution and the state so that a retried task repeats nothing.
 */
import { RETRYABLE_ERROR_NAMES } from '@circle-core/core';
import type { AslDefinition, AslRetrier, AslState, StateLocation } from './asl.ts';
import { AWS_PARTITION, walkStates } from './asl.ts';

/** The transient Lambda service errors Step Functions recommends retrying on every Lambda task. */
export const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;

/**
 * The one task resource workflows use: the optimised Lambda integration, in the deploying partition
 * (`arn:${AWS::Partition}:...`, never a hard-coded `arn:aws:`); the local stack substitutes it as
 * CloudFormation does.
 */
export const LAMBDA_INVOKE = `arn:${AWS_PARTITION}:states:::lambda:invoke`;

/** The error name of an input that breaks a workflow's contract (the core's name for the same failure). */
export const VALIDATION_ERROR = 'ValidationError';

const ALL = 'States.ALL';
/** `input must be ...`, `input.channels must be ...`, `input.payload.issue.user.login must be ...`. */
const NAMES_INPUT_FIELD = /^input(\.[\w$-]+(\[\d+\])?)* must /;
// ASL defaults when a retrier leaves a field out.
const DEFAULT_INTERVAL_SECONDS = 1;
const DEFAULT_BACKOFF_RATE = 2;
const DEFAULT_MAX_ATTEMPTS = 3;

/** One broken rule. */
export interface LintIssue {
  /** Where, e.g. `States.PostToSlack.Retry[1]`. */
  path: string;
  rule: string;
  message: string;
}

export interface LintOptions {
  /**
   * Timeout of each function a task may invoke, by the CloudFormation logical id its `FunctionName`
   * names (`S3LambdaFunction`). A task's `TimeoutSeconds` must exceed it, so Step Functions never gives
   * up on an invocation that is still running (and would run again on retry).
   */
  functionTimeoutSeconds?: Readonly<Record<string, number>>;
  /** The connector error names that may be retried; defaults to the core's `RETRYABLE_ERROR_NAMES`. */
  retryableErrorNames?: readonly string[];
  /**
   * The operations that change something (`effect: 'write'`), by the logical id a task's `FunctionName`
   * names (`S3LambdaFunction: ['put-object', ...]`). A task invoking one must pass `idempotencyKey.$`.
   * Without this list only the shape of the keys that are passed is checked.
   */
  writeOperations?: Readonly<Record<string, readonly string[]>>;
}

/**
 * The longest a state can spend waiting between attempts: for every retrier, the sum of its
 * `MaxAttempts` backoff waits (`IntervalSeconds × BackoffRate^n`, each capped by `MaxDelaySeconds`).
 * Full jitter only shortens a wait, so this is the worst case. Retriers count attempts separately,
 * so alternating errors can exhaust all of them.
 *
 * @example
 * ```ts
 * worstCaseRetryWaitSeconds([{ ErrorEquals: ['TimeoutError'], IntervalSeconds: 2, MaxAttempts: 3, MaxDelaySeconds: 5 }]); // 2 + 4 + 5 = 11
 * ```
 */
export function worstCaseRetryWaitSeconds(retriers: readonly AslRetrier[] = []): number {
  let total = 0;
  for (const retrier of retriers) {
    const interval = retrier.IntervalSeconds ?? DEFAULT_INTERVAL_SECONDS;
    const rate = retrier.BackoffRate ?? DEFAULT_BACKOFF_RATE;
    const cap = retrier.MaxDelaySeconds ?? Number.POSITIVE_INFINITY;
    for (let attempt = 0; attempt < (retrier.MaxAttempts ?? DEFAULT_MAX_ATTEMPTS); attempt += 1) {
      total += Math.min(interval * rate ** attempt, cap);
    }
  }
  return total;
}

/**
 * The longest a task state can take end to end: every attempt (the first plus each retrier's
 * `MaxAttempts`) running into `TimeoutSeconds`, plus the worst-case waits between them.
 *
 * @example
 * ```ts
 * worstCaseStateSeconds({ Type: 'Task', TimeoutSeconds: 30, Retry: [{ ErrorEquals: ['TimeoutError'], MaxAttempts: 2, IntervalSeconds: 1 }] }); // 3 × 30 + 1 + 2 = 93
 * ```
 */
export function worstCaseStateSeconds(state: AslState): number {
  const attempts =
    1 + (state.Retry ?? []).reduce((sum, r) => sum + (r.MaxAttempts ?? DEFAULT_MAX_ATTEMPTS), 0);
  return attempts * (state.TimeoutSeconds ?? 0) + worstCaseRetryWaitSeconds(state.Retry);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkJsonPathOnly(value: unknown, path: string, issues: LintIssue[]): void {
  if (Array.isArray(value)) {
    value.forEach((item, index) => {
      checkJsonPathOnly(item, `${path}[${index}]`, issues);
    });
    return;
  }
  if (!isRecord(value)) return;
  for (const [key, item] of Object.entries(value)) {
    if (key === 'QueryLanguage' && item !== 'JSONPath') {
      issues.push({
        path,
        rule: 'jsonpath-only',
        message: 'JSONata is not run by the local runner; use JSONPath',
      });
    }
    checkJsonPathOnly(item, `${path}.${key}`, issues);
  }
}

/** The logical id of a `{ "Fn::GetAtt": ["XLambdaFunction", "Arn"] }` FunctionName, if it is one. */
function functionLogicalId(functionName: unknown): string | undefined {
  if (!isRecord(functionName)) return undefined;
  const target = functionName['Fn::GetAtt'];
  return Array.isArray(target) && typeof target[0] === 'string' ? target[0] : undefined;
}

function checkInvoke(state: AslState, path: string, issues: LintIssue[]): void {
  const fail = (message: string): void => {
    issues.push({ path, rule: 'lambda-invoke', message });
  };
  if (state.Resource !== LAMBDA_INVOKE) {
    fail(`Resource must be ${LAMBDA_INVOKE}, got ${String(state.Resource)}`);
    return;
  }
  const parameters = state.Parameters ?? {};
  if (parameters['FunctionName'] === undefined) {
    // A `FunctionName.$` path would need lambda:InvokeFunction on every function.
    fail('Parameters.FunctionName must name the function statically (least-privilege role)');
  }
  const payload = parameters['Payload'];
  if (!isRecord(payload)) {
    fail('Parameters.Payload must be the connector envelope { operation, input, correlationId.$, trigger }');
    return;
  }
  if (typeof payload['operation'] !== 'string') fail('Payload.operation must be a fixed operation id');
  if (!isRecord(payload['input']) && typeof payload['input.$'] !== 'string') fail('Payload.input is missing');
  if (typeof payload['correlationId.$'] !== 'string') fail('Payload must pass correlationId.$ on');
  if (payload['trigger'] !== 'task') fail("Payload.trigger must be 'task'");
}

function checkErrorLists(
  lists: readonly { ErrorEquals: readonly string[] }[],
  path: string,
  field: 'Retry' | 'Catch',
  issues: LintIssue[],
): void {
  lists.forEach((entry, index) => {
    if (!entry.ErrorEquals.includes(ALL)) return;
    if (entry.ErrorEquals.length !== 1 || index !== lists.length - 1) {
      issues.push({
        path: `${path}.${field}[${index}]`,
        rule: 'states-all-last',
        message: `${ALL} must be alone in its ErrorEquals and in the last ${field === 'Retry' ? 'retrier' : 'catcher'}`,
      });
    }
  });
}

function checkRetry(state: AslState, path: string, retryable: readonly string[], issues: LintIssue[]): void {
  const retry = state.Retry ?? [];
  const covers = (names: readonly string[]): boolean =>
    retry.some((retrier) => names.every((name) => retrier.ErrorEquals.includes(name)));
  if (!covers(LAMBDA_SERVICE_ERRORS)) {
    issues.push({
      path,
      rule: 'retry-lambda-service',
      message: `a retrier must list ${LAMBDA_SERVICE_ERRORS.join(', ')}`,
    });
  }
  if (!covers(retryable)) {
    issues.push({ path, rule: 'retry-connector', message: `a retrier must list ${retryable.join(', ')}` });
  }
  const allowed = new Set<string>([...LAMBDA_SERVICE_ERRORS, ...retryable]);
  retry.forEach((retrier, index) => {
    const where = `${path}.Retry[${index}]`;
    for (const name of retrier.ErrorEquals.filter((candidate) => !allowed.has(candidate))) {
      issues.push({ path: where, rule: 'retry-only-retryable', message: `${name} must not be retried` });
    }
    if (retrier.JitterStrategy !== 'FULL') {
      issues.push({ path: where, rule: 'retry-jitter', message: 'JitterStrategy must be FULL' });
    }
    if (!Number.isInteger(retrier.MaxDelaySeconds) || (retrier.MaxDelaySeconds ?? 0) < 1) {
      issues.push({
        path: where,
        rule: 'retry-jitter',
        message: 'MaxDelaySeconds must be a positive integer',
      });
    }
  });
}

function checkTimeouts(
  state: AslState,
  path: string,
  machineTimeout: number | undefined,
  options: LintOptions,
  issues: LintIssue[],
): void {
  const timeout = state.TimeoutSeconds;
  if (timeout === undefined || !Number.isInteger(timeout) || timeout < 1) {
    issues.push({ path, rule: 'timeout', message: 'TimeoutSeconds must be set (a positive integer)' });
    return;
  }
  const waits = worstCaseRetryWaitSeconds(state.Retry);
  if (waits >= timeout) {
    issues.push({
      path,
      rule: 'timeout',
      message: `worst-case retry time ${waits} s must stay under TimeoutSeconds ${timeout} s`,
    });
  }
  const logicalId = functionLogicalId(state.Parameters?.['FunctionName']);
  const functionTimeout = logicalId === undefined ? undefined : options.functionTimeoutSeconds?.[logicalId];
  if (functionTimeout !== undefined && timeout <= functionTimeout) {
    issues.push({
      path,
      rule: 'timeout',
      message: `TimeoutSeconds ${timeout} s must exceed the ${logicalId} timeout (${functionTimeout} s)`,
    });
  }
  const worst = worstCaseStateSeconds(state);
  if (machineTimeout !== undefined && worst > machineTimeout) {
    issues.push({
      path,
      rule: 'machine-timeout',
      message: `worst case ${worst} s (attempts × TimeoutSeconds + waits) exceeds the state machine's TimeoutSeconds ${machineTimeout} s`,
    });
  }
}

function caughtByAll(state: AslState): boolean {
  return (state.Catch ?? []).some((catcher) => catcher.ErrorEquals.includes(ALL));
}

/** Whether a Choice rule (or one nested in its And, Or or Not) tests the input itself, `$`. */
function testsInputItself(rule: unknown): boolean {
  if (!isRecord(rule)) return false;
  if (rule['Variable'] === '$') return true;
  const nested = [
    ...(Array.isArray(rule['And']) ? rule['And'] : []),
    ...(Array.isArray(rule['Or']) ? rule['Or'] : []),
  ];
  return nested.some(testsInputItself) || testsInputItself(rule['Not']);
}

/** The states a Choice or Pass state can go to next. */
function successors(state: AslState): string[] {
  const next = typeof state['Next'] === 'string' ? [state['Next']] : [];
  if (state.Type !== 'Choice') return next;
  const choices = Array.isArray(state['Choices']) ? (state['Choices'] as unknown[]) : [];
  const targets = choices.map((rule) => (isRecord(rule) ? rule['Next'] : undefined));
  return [...targets, state['Default']].filter((target): target is string => typeof target === 'string');
}

function isValidationFail(state: AslState | undefined): boolean {
  return state?.Type === 'Fail' && state['Error'] === VALIDATION_ERROR;
}

/**
 * Input validation comes first: the StartAt state is a Choice, one of its rules tests the input itself
 * (`$`: a string, an array or null would otherwise reach a Pass or an intrinsic and fail with an
 * uncatchable `States.Runtime`), and the Choice and Pass states from there, before any work, can end in a
 * `Fail` state with Error `ValidationError`.
 */
function checkInputValidation(definition: AslDefinition, issues: LintIssue[]): void {
  const path = `States.${definition.StartAt}`;
  const fail = (message: string): void => {
    issues.push({ path, rule: 'input-validation', message });
  };
  const start = definition.States[definition.StartAt];
  if (start?.Type !== 'Choice') {
    fail('the StartAt state must be a Choice that validates the input');
    return;
  }
  const choices = Array.isArray(start['Choices']) ? (start['Choices'] as unknown[]) : [];
  if (!choices.some(testsInputItself)) {
    fail(
      'the StartAt Choice must test the input itself ($), so a non-object input fails as a ValidationError',
    );
  }
  const seen = new Set<string>();
  const queue = [definition.StartAt];
  for (let name = queue.shift(); name !== undefined; name = queue.shift()) {
    if (seen.has(name)) continue;
    seen.add(name);
    const state = definition.States[name];
    if (isValidationFail(state)) return;
    if (state?.Type === 'Choice' || state?.Type === 'Pass') queue.push(...successors(state));
  }
  fail(
    `no Fail state with Error ${VALIDATION_ERROR} is reachable from the StartAt Choice through Choice and Pass states`,
  );
}

/**
 * A `ValidationError` names the input field at fault in its Cause: a `Fail` state's, or the `{ Error, Cause }`
 * a Pass hands to a failure path.
 */
function checkValidationCause(state: AslState, path: string, issues: LintIssue[]): void {
  const result = state.Type === 'Pass' && isRecord(state['Result']) ? state['Result'] : undefined;
  const error = state.Type === 'Fail' ? state['Error'] : result?.['Error'];
  if (error !== VALIDATION_ERROR) return;
  const cause = state.Type === 'Fail' ? state['Cause'] : result?.['Cause'];
  if (typeof cause !== 'string' || !NAMES_INPUT_FIELD.test(cause)) {
    issues.push({
      path,
      rule: 'validation-cause',
      message: `a ${VALIDATION_ERROR} needs a Cause that names the input field: "input.<field> must be ..."`,
    });
  }
}

/** The states a state can go to next, failure paths included. */
function transitions(state: AslState): string[] {
  const catchers = (state.Catch ?? []).map((catcher) => catcher.Next);
  return [...successors(state), ...catchers];
}

/** Whether a state can be entered again from itself through its level's transitions. */
function reachesItself(definition: AslDefinition, name: string): boolean {
  const seen = new Set<string>();
  const queue = transitions(definition.States[name] as AslState);
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    if (next === name) return true;
    if (seen.has(next)) continue;
    seen.add(next);
    const target = definition.States[next];
    if (target !== undefined) queue.push(...transitions(target));
  }
  return false;
}

/** The definitions nested in a Map or Parallel state, with the path prefix `walkStates` gives their states. */
function nestedDefinitions(state: AslState, path: string): [AslDefinition, string][] {
  const nested: [AslDefinition, string][] = [];
  const processor = state.ItemProcessor ?? state.Iterator;
  if (processor !== undefined) {
    nested.push([
      processor,
      `${path}.${state.ItemProcessor === undefined ? 'Iterator' : 'ItemProcessor'}.States`,
    ]);
  }
  (state.Branches ?? []).forEach((branch, index) => {
    nested.push([branch, `${path}.Branches.${index}.States`]);
  });
  return nested;
}

/**
 * The paths (as `walkStates` writes them) of the states that can be entered more than once in one run:
 * those on a cycle of their own level's transitions (a loop over pages), at every nesting level.
 */
function statesOnCycles(definition: AslDefinition, prefix = 'States'): Set<string> {
  const found = new Set<string>();
  for (const [name, state] of Object.entries(definition.States)) {
    if (reachesItself(definition, name)) found.add(`${prefix}.${name}`);
    for (const [nested, nestedPrefix] of nestedDefinitions(state, `${prefix}.${name}`)) {
      for (const path of statesOnCycles(nested, nestedPrefix)) found.add(path);
    }
  }
  return found;
}

/** The fields a Map's ItemSelector (or legacy Parameters) fills from `$$.Map.Item.Index`. */
function mapIndexFields(map: AslState): string[] {
  const selector = map['ItemSelector'] ?? map.Parameters;
  if (!isRecord(selector)) return [];
  return Object.entries(selector)
    .filter(([key, value]) => key.endsWith('.$') && value === '$$.Map.Item.Index')
    .map(([key]) => key.slice(0, -2));
}

/**
 * A write passes `idempotencyKey.$`, so that a retried task (the same execution, the same state) is
 * answered from the connector's idempotency store instead of running again: `States.Format` over
 * `$$.Execution.Id` with the state's name in the template; inside a Map also the item index the Map's
 * ItemSelector passes in; on a loop also a value of the state data that tells the rounds apart.
 */
function checkIdempotencyKey(
  state: AslState,
  location: StateLocation,
  context: { options: LintOptions; onCycle: boolean },
  issues: LintIssue[],
): void {
  const fail = (message: string): void => {
    issues.push({ path: location.path, rule: 'idempotency-key', message });
  };
  const payload = state.Parameters?.['Payload'];
  if (!isRecord(payload)) return;
  const key = payload['idempotencyKey.$'];
  const logicalId = functionLogicalId(state.Parameters?.['FunctionName']);
  const operation = payload['operation'];
  const writes = logicalId === undefined ? undefined : context.options.writeOperations?.[logicalId];
  if (key === undefined) {
    if (typeof operation === 'string' && writes?.includes(operation)) {
      fail(
        `${operation} changes data: Payload must pass idempotencyKey.$, e.g. States.Format('{}:${location.name}', $$.Execution.Id)`,
      );
    }
    return;
  }
  const template =
    typeof key === 'string' ? /^States\.Format\('((?:[^'\\]|\\.)*)'/.exec(key)?.[1] : undefined;
  if (typeof key !== 'string' || template === undefined || !key.includes('$$.Execution.Id')) {
    fail('idempotencyKey.$ must be States.Format over $$.Execution.Id, so a retry of the task reuses it');
    return;
  }
  if (!template.split(':').includes(location.name)) {
    fail(
      `the idempotencyKey.$ template must name the state (:${location.name}), so no other write shares it`,
    );
  }
  const map = [...location.parents].reverse().find((parent) => parent.state.Type === 'Map');
  if (map !== undefined && !mapIndexFields(map.state).some((field) => key.includes(`$.${field}`))) {
    fail(
      `inside Map ${map.name}, idempotencyKey.$ must include the item index (pass "index.$": "$$.Map.Item.Index" in its ItemSelector)`,
    );
  }
  if (context.onCycle && !/(^|[^$])\$\./.test(key)) {
    fail(
      'the state runs once per round of a loop: idempotencyKey.$ must include a value of the state data that tells the rounds apart',
    );
  }
}

function checkState(
  state: AslState,
  location: StateLocation,
  definition: AslDefinition,
  context: { options: LintOptions; onCycle: ReadonlySet<string> },
  issues: LintIssue[],
): void {
  const { options, onCycle } = context;
  const { path } = location;
  checkErrorLists(state.Retry ?? [], path, 'Retry', issues);
  checkErrorLists(state.Catch ?? [], path, 'Catch', issues);
  checkValidationCause(state, path, issues);
  if (state.Type === 'Map' && (!Number.isInteger(state.MaxConcurrency) || (state.MaxConcurrency ?? 0) < 1)) {
    issues.push({
      path,
      rule: 'map-concurrency',
      message: 'a Map needs an explicit MaxConcurrency of 1 or more',
    });
  }
  if (state.Type !== 'Task') return;
  checkInvoke(state, path, issues);
  checkIdempotencyKey(state, location, { options, onCycle: onCycle.has(path) }, issues);
  checkRetry(state, path, options.retryableErrorNames ?? RETRYABLE_ERROR_NAMES, issues);
  checkTimeouts(state, path, definition.TimeoutSeconds, options, issues);
  if (!caughtByAll(state) && !location.parents.some((parent) => caughtByAll(parent.state))) {
    issues.push({
      path,
      rule: 'catch',
      message: `a task needs a Catch on ${ALL}, its own or its enclosing Map or Parallel state's`,
    });
  }
}

/**
 * Checks a definition against the workflow rules; an empty list means it passes.
 *
 * @example
 * ```ts
 * const issues = lintDefinition(await loadDefinition('broadcast'), { functionTimeoutSeconds: { SlackLambdaFunction: 28 } });
 * if (issues.length > 0) throw new Error(issues.map((i) => `${i.path}: ${i.message}`).join('\n'));
 * ```
 */
export function lintDefinition(definition: AslDefinition, options: LintOptions = {}): LintIssue[] {
  const issues: LintIssue[] = [];
  checkJsonPathOnly(definition, '$', issues);
  if (!Number.isInteger(definition.TimeoutSeconds)) {
    issues.push({ path: '$', rule: 'machine-timeout', message: 'the state machine needs a TimeoutSeconds' });
  }
  checkInputValidation(definition, issues);
  const onCycle = statesOnCycles(definition);
  walkStates(definition, (state, location) => {
    checkState(state, location, definition, { options, onCycle }, issues);
  });
  return issues;
}
