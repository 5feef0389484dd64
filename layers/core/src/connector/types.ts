import type * as z from 'zod';
import type { ConfigSchema } from '../config.ts';
import type { Logger } from '../observability.ts';

/** How an invocation reached the connector. */
export type Trigger = 'http' | 'sqs' | 'schedule' | 'task' | 'direct';

/** What an operation's `run` receives besides its validated input. */
export interface OperationContext<Config, Client> {
  config: Config;
  /** The provider client built once per container by the connector's `setup`. */
  client: Client;
  logger: Logger;
  correlationId: string;
  trigger: Trigger;
  /** Caller-supplied key that makes a repeated delivery safe (`Idempotency-Key` header, envelope field). */
  idempotencyKey: string | undefined;
  /** Milliseconds left before Lambda stops the invocation (`Infinity` outside Lambda). */
  remainingTimeMs(): number;
}

/**
 * An operation on its way out (root README, "Versions and deprecation"): it keeps working for the rest of
 * its major version and the whole next one, its HTTP answers carry a `Deprecation` header (RFC 9745) and
 * the first call in each container logs a warning.
 */
export interface OperationDeprecation {
  /** The ISO 8601 date the deprecation took effect (`2026-12-01`); the `Deprecation` header carries it. */
  since: string;
  /** What callers should use instead, for the warning and the changelog (`list-objects with a prefix`). */
  use?: string;
}

/** One operation: a name (the key in `operations`), zod input and output, and a short body. */
export interface OperationDefinition<I extends z.ZodType, O extends z.ZodType, Config, Client> {
  /** One sentence for the README, the health output and the route listing. */
  description: string;
  input: I;
  output: O;
  /**
   * `read` (default): safe to repeat. `write`: changes something at the provider, so with
   * `CIRCLE_IDEMPOTENCY_TABLE` set it runs at most once per idempotency key (a repeat answers the stored
   * result) and is refused without a key; without the table it runs unprotected.
   */
  effect?: 'read' | 'write';
  /** Set when the operation is deprecated; removing it later is a major version (see the README). */
  deprecated?: OperationDeprecation;
  run(input: z.output<I>, context: OperationContext<Config, Client>): Promise<z.input<O>>;
}

// biome-ignore lint/suspicious/noExplicitAny: the operation table is heterogeneous by design.
export type AnyOperation<Config, Client> = OperationDefinition<any, any, Config, Client>;

/** An HTTP request as an extra route (e.g. a webhook receiver) sees it. */
export interface RouteRequest {
  method: string;
  path: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  query: Record<string, string>;
  /** The raw body bytes exactly as received (signatures are computed over these). */
  rawBody: Buffer;
  correlationId: string;
}

/** What an extra route answers. `body` objects are sent as JSON. */
export interface RouteResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** A route beside the operation routes, e.g. `POST /github/webhook`. */
export interface RouteDefinition<Config, Client> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /**
   * `signature`: the route is public at the gateway and authenticates each request itself (webhooks);
   * `authorizer`: like operation routes, it requires the gateway's IAM/JWT authorizer.
   */
  auth: 'signature' | 'authorizer';
  description: string;
  handle(request: RouteRequest, context: OperationContext<Config, Client>): Promise<RouteResponse>;
}

/** One health check result. */
export interface HealthCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

/** Everything a connector declares once; {@link defineConnector} turns it into one Lambda handler. */
export interface ConnectorDefinition<
  S extends ConfigSchema,
  Client,
  Ops extends Record<string, AnyOperation<z.output<S>, Client>>,
> {
  /** Provider id: the first path segment of its routes (`/s3/put-object`) and the log `service`. */
  name: string;
  /** Semver of this connector, reported by `health` and in every log line. */
  version: string;
  /** Zod schema of the environment, keys are variable names. */
  config: S;
  /** Optional abilities callers can detect (`presign`, `transactions`, `threads`, ...). */
  capabilities?: readonly string[];
  /** Builds the provider client once per container; may prefetch secrets. */
  setup(config: z.output<S>): Client | Promise<Client>;
  /** The operations, built with the typed `op` helper. */
  operations: (op: OperationBuilder<z.output<S>, Client>) => Ops;
  /** Extra HTTP routes (webhook receivers). */
  routes?: (route: RouteBuilder<z.output<S>, Client>) => RouteDefinition<z.output<S>, Client>[];
  /** A cheap provider call proving credentials and reachability (e.g. `auth.test`, `HeadBucket`). */
  healthCheck?(context: OperationContext<z.output<S>, Client>): Promise<void>;
}

export type OperationBuilder<Config, Client> = <I extends z.ZodType, O extends z.ZodType>(
  definition: OperationDefinition<I, O, Config, Client>,
) => OperationDefinition<I, O, Config, Client>;

export type RouteBuilder<Config, Client> = (
  definition: RouteDefinition<Config, Client>,
) => RouteDefinition<Config, Client>;

/** The envelope a queue record, a schedule input, a Step Functions task or a direct invoke carries. */
export interface OperationRequest {
  operation: string;
  input?: unknown;
  correlationId?: string;
  idempotencyKey?: string;
}
