import type * as z from 'zod';
import { monotonicMs } from '../clock.ts';
import { type ConfigSchema, loadConfig } from '../config.ts';
import { remainingTimeMs } from '../context.ts';
import {
  ConnectorError,
  type FieldIssue,
  NotFoundError,
  toConnectorError,
  ValidationError,
} from '../errors.ts';
import { IdempotencyGuard } from '../idempotency.ts';
import { ownValue } from '../json.ts';
import { createLogger, type Logger, OperationMetrics, type OperationSample } from '../observability.ts';
import { parseOptions } from '../schema-parse.ts';
import { type Built, runSetup } from './setup.ts';
import type {
  AnyOperation,
  ConnectorDefinition,
  HealthCheck,
  NoServices,
  OperationContext,
  OperationDeprecation,
  RouteDefinition,
  Trigger,
} from './types.ts';

/** How one execution was asked for. */
export interface ExecutionMeta {
  trigger: Trigger;
  correlationId: string;
  idempotencyKey?: string | undefined;
  /**
   * Where this execution's metric sample goes: the invocation's own list, which the handler turns into the
   * EMF document on that invocation's line. Without one (library use) the sample goes to `runtime.metrics`.
   * Concurrent invocations in one worker thread (Lambda Managed Instances) each keep their own list, so no
   * invocation's line carries another's outcomes.
   */
  samples?: OperationSample[] | undefined;
}

/** The health operation's answer. */
export interface HealthReport {
  connector: string;
  version: string;
  status: 'ok' | 'failing';
  capabilities: string[];
  checks: HealthCheck[];
}

/**
 * The per-container state of one connector: its config (validated once at cold start), its client (built
 * once, rebuilt only after a failed setup), its operations and routes, and `execute`, the single path every
 * trigger takes to run an operation.
 *
 * @example
 * ```ts
 * const output = await connector.runtime.execute('put-object', input, { trigger: 'direct', correlationId });
 * ```
 */
export class ConnectorRuntime<S extends ConfigSchema, Client, Services = NoServices> {
  readonly name: string;
  readonly version: string;
  readonly capabilities: readonly string[];
  /** The zod schema of the environment settings, for tooling (generated docs); `config` is the parsed value. */
  readonly configSchema: S;
  readonly logger: Logger;
  /**
   * Outcomes of operations run without an invocation's own list (`ExecutionMeta.samples`: library use,
   * `connector.run`), published by whoever ran them; also turns an invocation's list into EMF documents.
   */
  readonly metrics = new OperationMetrics();
  readonly operations: Record<string, AnyOperation<z.output<S>, Client, Services>>;
  readonly routes: RouteDefinition<z.output<S>, Client, Services>[];
  /** The `Deprecation` header (RFC 9745: `@<epoch seconds>`) of each deprecated operation, by name. */
  readonly deprecations: ReadonlyMap<string, string>;
  readonly #definition: Definition<S, Client, Services>;
  readonly #config: z.output<S> | undefined;
  readonly #configError: ConnectorError | undefined;
  readonly #idempotency: IdempotencyGuard;
  #built: Promise<Built<Client, Services>> | undefined;
  /** What `#built` resolved to, so a warm execution reads it without waiting a promise turn. */
  #ready: Built<Client, Services> | undefined;
  /** Operations looked up by name so far (see #operation). */
  readonly #resolved = new Map<string, AnyOperation<z.output<S>, Client, Services>>();
  /** Deprecated operations already warned about in this container. */
  readonly #warnedDeprecations = new Set<string>();

  constructor(definition: Definition<S, Client, Services>) {
    this.#definition = definition;
    this.name = definition.name;
    this.version = definition.version;
    this.capabilities = definition.capabilities ?? [];
    this.configSchema = definition.config;
    this.logger = createLogger(definition.name, definition.version);
    const identity = <T>(value: T): T => value;
    this.operations = definition.operations(identity);
    this.routes = definition.routes?.(identity) ?? [];
    this.deprecations = deprecationHeaders(this.name, this.operations);
    try {
      this.#config = loadConfig(definition.config);
    } catch (error) {
      // Fail fast but stay up: every invocation answers this error, naming the variable to fix.
      this.#configError = toConnectorError(error);
      this.logger.error('Connector configuration is invalid', { error: this.#configError.message });
    }
    this.#idempotency = new IdempotencyGuard({
      connector: this.name,
      logger: this.logger,
      writes: Object.keys(this.operations).filter((name) => this.operations[name]?.effect === 'write'),
    });
  }

  /** Validated config; throws the cold-start configuration error when it was invalid. */
  get config(): z.output<S> {
    if (this.#configError !== undefined) throw this.#configError;
    return this.#config as z.output<S>;
  }

  /**
   * Runs the connector's setup once per container (call during init to prefetch secrets and open
   * connections): the provider client and the services beside it.
   */
  built(): Promise<Built<Client, Services>> {
    if (this.#configError !== undefined) return Promise.reject(this.#configError);
    this.#built ??= Promise.resolve()
      .then(() => runSetup(this.#definition.setup, this.config))
      .then((built) => {
        this.#ready = built;
        return built;
      })
      .catch((error: unknown) => {
        // A failed setup (secret not yet readable, network) is retried by the next invocation.
        this.#built = undefined;
        throw toConnectorError(error);
      });
    return this.#built;
  }

  /** The provider client `setup.client` built, once per container. */
  async client(): Promise<Client> {
    return (await this.built()).client;
  }

  /** Context handed to operations and routes. */
  async context(meta: ExecutionMeta): Promise<OperationContext<z.output<S>, Client, Services>> {
    return this.#contextOf(await this.built(), meta);
  }

  #contextOf(
    { client, services }: Built<Client, Services>,
    meta: ExecutionMeta,
  ): OperationContext<z.output<S>, Client, Services> {
    return {
      config: this.config,
      client,
      services,
      logger: this.logger,
      correlationId: meta.correlationId,
      trigger: meta.trigger,
      idempotencyKey: meta.idempotencyKey,
      remainingTimeMs: timeLeft,
    };
  }

  /**
   * Validates the input, runs the operation, validates its output and records metrics. Never throws: every
   * failure rejects the promise. The checks run here, synchronously; a read on a warm container (client
   * built) then awaits the operation in one small async function of its own, with no closure: an SQS batch
   * runs this once per record.
   */
  execute(operationName: string, rawInput: unknown, meta: ExecutionMeta): Promise<unknown> {
    try {
      if (operationName === 'health') return this.health(meta);
      const operation = this.#operation(operationName);
      if (operation.deprecated !== undefined) this.#warnDeprecated(operationName, operation.deprecated);
      const input = parseInput(operation.input, rawInput ?? {});
      const started = monotonicMs();
      const ready = this.#ready;
      if (ready === undefined || operation.effect === 'write') {
        return this.#executeGuarded(operationName, operation, input, rawInput, meta, started);
      }
      return this.#executeWarm(
        operationName,
        operation,
        input,
        this.#contextOf(ready, meta),
        started,
        meta.samples,
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The operation's `unfinished` reader, if it has one (an unknown name has none). */
  unfinishedOf(operationName: string): AnyOperation<z.output<S>, Client, Services>['unfinished'] {
    return (this.#resolved.get(operationName) ?? ownValue(this.operations, operationName))?.unfinished;
  }

  /** The operation by name, own properties only; found ones are kept (a Map lookup costs less). */
  #operation(operationName: string): AnyOperation<z.output<S>, Client, Services> {
    let operation = this.#resolved.get(operationName);
    if (operation !== undefined) return operation;
    operation = ownValue(this.operations, operationName);
    if (operation === undefined) {
      throw new NotFoundError(
        `Unknown operation "${operationName.slice(0, 64)}"; ${this.name} offers: ${this.operationNames().join(', ')}`,
      );
    }
    this.#resolved.set(operationName, operation);
    return operation;
  }

  /** A read on a warm container: the operation, its output checked, its metrics. */
  async #executeWarm(
    operationName: string,
    operation: AnyOperation<z.output<S>, Client, Services>,
    input: unknown,
    context: OperationContext<z.output<S>, Client, Services>,
    started: number,
    samples: OperationSample[] | undefined,
  ): Promise<unknown> {
    let failed = true;
    let measures: Record<string, number> | undefined;
    try {
      const data = checkedOutput(operationName, operation, await operation.run(input, context));
      if (operation.measures !== undefined) measures = operation.measures(data);
      failed = false;
      return data;
    } catch (error) {
      throw toConnectorError(error);
    } finally {
      this.#record(samples, operationName, started, failed, measures);
    }
  }

  /** A write (behind the idempotency guard), or any operation before the client is built. */
  async #executeGuarded(
    operationName: string,
    operation: AnyOperation<z.output<S>, Client, Services>,
    input: unknown,
    rawInput: unknown,
    meta: ExecutionMeta,
    started: number,
  ): Promise<unknown> {
    let failed = true;
    let measures: Record<string, number> | undefined;
    const run = async (): Promise<unknown> => {
      const ready = this.#ready;
      const context = ready === undefined ? await this.context(meta) : this.#contextOf(ready, meta);
      const data = checkedOutput(operationName, operation, await operation.run(input, context));
      // Inside the run, so an idempotent replay (which spent nothing) does not count again.
      if (operation.measures !== undefined) measures = operation.measures(data);
      return data;
    };
    try {
      const output =
        operation.effect === 'write'
          ? await this.#idempotency.run(
              { operation: operationName, key: meta.idempotencyKey, input: rawInput ?? {} },
              run,
            )
          : await run();
      failed = false;
      return output;
    } catch (error) {
      throw toConnectorError(error);
    } finally {
      this.#record(meta.samples, operationName, started, failed, measures);
    }
  }

  #record(
    samples: OperationSample[] | undefined,
    operation: string,
    started: number,
    failed: boolean,
    measures: Record<string, number> | undefined,
  ): void {
    const durationMs = monotonicMs() - started;
    const sample: OperationSample =
      measures === undefined
        ? { connector: this.name, operation, durationMs, failed }
        : { connector: this.name, operation, durationMs, failed, measures };
    if (samples === undefined) this.metrics.record(sample);
    else samples.push(sample);
  }

  /** Once per container and operation: a deprecated operation is still being called. */
  #warnDeprecated(operation: string, deprecation: OperationDeprecation): void {
    if (this.#warnedDeprecations.has(operation)) return;
    this.#warnedDeprecations.add(operation);
    this.logger.warn(`Operation ${operation} is deprecated and will be removed in a later major version`, {
      operation,
      deprecatedSince: deprecation.since,
      use: deprecation.use,
    });
  }

  /** Every operation name, `health` included. */
  operationNames(): string[] {
    return [...Object.keys(this.operations), 'health'];
  }

  /** Config, client setup (secrets) and the connector's own cheap provider call. */
  async health(meta: ExecutionMeta): Promise<HealthReport> {
    const checks: HealthCheck[] = [];
    const report = (): HealthReport => ({
      connector: this.name,
      version: this.version,
      status: checks.every((check) => check.ok) ? 'ok' : 'failing',
      capabilities: [...this.capabilities],
      checks,
    });
    if (this.#configError !== undefined) {
      checks.push({ name: 'config', ok: false, detail: this.#configError.message });
      return report();
    }
    checks.push({ name: 'config', ok: true });
    let context: OperationContext<z.output<S>, Client, Services>;
    try {
      context = await this.context(meta);
      checks.push({ name: 'setup', ok: true });
    } catch (error) {
      checks.push({ name: 'setup', ok: false, detail: describe(error) });
      return report();
    }
    if (this.#definition.healthCheck !== undefined) {
      try {
        await this.#definition.healthCheck(context);
        checks.push({ name: 'provider', ok: true });
      } catch (error) {
        checks.push({ name: 'provider', ok: false, detail: describe(error) });
      }
    }
    return report();
  }
}

/** A connector definition as the runtime holds it, whatever its operation names and secret roles. */
type Definition<S extends ConfigSchema, Client, Services> = ConnectorDefinition<
  S,
  Client,
  Record<string, AnyOperation<z.output<S>, Client, Services>>,
  Services,
  // biome-ignore lint/suspicious/noExplicitAny: the secret roles are the connector's own; the runtime only passes them on.
  any
>;

/** Header values of the deprecated operations; a `since` that is no date is a definition bug, refused at load. */
function deprecationHeaders(
  connector: string,
  operations: Record<string, { deprecated?: OperationDeprecation }>,
): Map<string, string> {
  const headers = new Map<string, string>();
  for (const [name, operation] of Object.entries(operations)) {
    const since = operation.deprecated?.since;
    if (since === undefined) continue;
    const epochMs = /^\d{4}-\d{2}-\d{2}/.test(since) ? Date.parse(since) : Number.NaN;
    if (Number.isNaN(epochMs)) {
      throw new TypeError(
        `${connector}: operation ${name} has deprecated.since "${since}", not an ISO 8601 date`,
      );
    }
    headers.set(name, `@${Math.floor(epochMs / 1000)}`);
  }
  return headers;
}

/** The context's `remainingTimeMs`: one function for every context (it reads the invocation scope). */
const timeLeft = (): number => remainingTimeMs();

/** The operation's output, validated against its schema; a mismatch is the connector's bug (500). */
function checkedOutput(operationName: string, operation: { output: z.ZodType }, output: unknown): unknown {
  const parsed = operation.output.safeParse(output, parseOptions());
  if (!parsed.success) {
    throw new ConnectorError(`Operation ${operationName} produced output that does not match its schema`, {
      cause: parsed.error,
    });
  }
  return parsed.data;
}

function describe(error: unknown): string {
  const err = toConnectorError(error);
  return err.expose ? err.message : `${err.name} (see logs)`;
}

/**
 * The most field issues one ValidationError lists. Unknown keys are echoed back in their pointers, so without
 * a cap a body of many short unknown keys would come back several times larger than it was sent.
 */
export const MAX_FIELD_ISSUES = 50;

/**
 * Validates input against an operation's schema; every problem becomes a field issue with a JSON pointer.
 * An unknown field (refused by a strict object) is named by its own pointer, `/contentype: unknown field`,
 * not by its parent's, so the caller sees which key to fix. At most {@link MAX_FIELD_ISSUES} are listed.
 *
 * @example
 * ```ts
 * const input = parseInput(PutObjectInput, body); // throws ValidationError listing /key, /contentype ...
 * ```
 */
export function parseInput<T extends z.ZodType>(schema: T, raw: unknown): z.output<T> {
  const result = schema.safeParse(raw, parseOptions());
  if (result.success) return result.data;
  const all: FieldIssue[] = result.error.issues.flatMap((issue): FieldIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        pointer: toPointer([...issue.path, key]),
        message: 'unknown field',
      }));
    }
    // A record key its key schema refuses: zod says "Invalid key in record"; the key schema says what a key
    // must be (the pointer already names the key).
    if (issue.code === 'invalid_key') {
      const message = issue.issues.map((inner) => inner.message).join('; ') || issue.message;
      return [{ pointer: toPointer(issue.path), message }];
    }
    // A field the input lacks: zod says "Invalid input" (a union, such as any JSON value) or names the
    // type it expected and `undefined`; "required" says what to fix. Other messages (enums, checks) stay.
    const required =
      (issue.code === 'invalid_type' || issue.code === 'invalid_union') && isMissing(raw, issue.path);
    return [{ pointer: toPointer(issue.path), message: required ? 'required' : issue.message }];
  });
  const issues = all.slice(0, MAX_FIELD_ISSUES);
  if (all.length > issues.length) {
    issues.push({ pointer: '', message: `${all.length - issues.length} more problems not listed` });
  }
  const summary = issues.map((issue) => `${issue.pointer || '/'}: ${issue.message}`).join('; ');
  throw new ValidationError(`Invalid input: ${summary}`.slice(0, 1000), issues);
}

/** Whether `path` names a key its parent object in `raw` does not have. */
function isMissing(raw: unknown, path: readonly PropertyKey[]): boolean {
  if (path.length === 0) return false;
  let parent: unknown = raw;
  for (const segment of path.slice(0, -1)) {
    if (typeof parent !== 'object' || parent === null) return false;
    parent = (parent as Record<PropertyKey, unknown>)[segment];
  }
  return (
    typeof parent === 'object' &&
    parent !== null &&
    !Array.isArray(parent) &&
    !Object.hasOwn(parent, path.at(-1) as PropertyKey)
  );
}

/** RFC 6901: `~` becomes `~0`, `/` becomes `~1`. */
function toPointer(path: readonly PropertyKey[]): string {
  return path.map((segment) => `/${String(segment).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}
