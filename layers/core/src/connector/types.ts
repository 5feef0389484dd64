import type * as z from 'zod';
import type { ConfigSchema } from '../config.ts';
import type { FieldIssue } from '../errors.ts';
import type { Logger } from '../observability.ts';
import type { Secret } from '../secrets.ts';

/** How an invocation reached the connector. */
export type Trigger = 'http' | 'sqs' | 'schedule' | 'task' | 'direct';

/** What an operation's `run` receives besides its validated input. */
export interface OperationContext<Config, Client, Services = NoServices> {
  config: Config;
  /**
   * The provider client built once per container by `setup.client`: in every connector the one object
   * whose methods the operations call (`client.putObject(input)`, `client.postMessage(input)`).
   */
  client: Client;
  /** What `setup.services` built beside the client (webhook receivers, syncers); `{}` when it builds none. */
  services: Services;
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
export interface OperationDefinition<
  I extends z.ZodType,
  O extends z.ZodType,
  Config,
  Client,
  Services = NoServices,
> {
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
  /**
   * Numbers the answer carries that belong in the metrics (tokens used, estimated cost): each becomes an
   * EMF metric of that name beside `invocations`, `errors` and `latency`, summed over an SQS batch, and a
   * field of the invocation line. Read from the validated output of a successful call only.
   */
  measures?: (output: z.output<O>) => Record<string, number>;
  /**
   * For an operation that answers a result per entry (`publish-batch`): the part of its input it did not
   * do, and why, or undefined when it did everything. Nobody reads a queue record's answer, so a queue
   * record whose operation leaves something unfinished has that part moved to the dead-letter queue with its
   * reasons (the rest is done). Given the validated output and the input as the caller sent it.
   */
  unfinished?: (output: z.output<O>, input: z.input<I>) => Unfinished | undefined;
  run(input: z.output<I>, context: OperationContext<Config, Client, Services>): Promise<z.input<O>>;
}

/** What an operation left undone (see {@link OperationDefinition.unfinished}). */
export interface Unfinished {
  /** The operation's input narrowed to what is left, e.g. `{ ...input, entries: [the refused ones] }`. */
  input: unknown;
  /** One issue per entry left, with its input pointer (`/entries/1: ...`). */
  issues: FieldIssue[];
  /** Whether sending what is left again may succeed (at least one entry failed on something transient). */
  retryable: boolean;
}

/** An operation of any input and output: the operation table is heterogeneous by design. */
export type AnyOperation<Config, Client, Services = NoServices> = OperationDefinition<
  // biome-ignore lint/suspicious/noExplicitAny: any input schema.
  any,
  // biome-ignore lint/suspicious/noExplicitAny: any output schema.
  any,
  Config,
  Client,
  Services
>;

/** An HTTP request as an extra route (e.g. a webhook receiver) sees it. */
export interface RouteRequest {
  method: string;
  path: string;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** Query parameters decoded (API Gateway's `queryStringParameters`: repeated names comma-joined); empty values left out. */
  query: Record<string, string>;
  /**
   * The query string exactly as the caller sent it, without the `?` (API Gateway's `rawQueryString`; `''`
   * when there is none): percent-encoding, empty values, order and repeated names as received. For a
   * signature computed over the URL called (Twilio's); decode `query` for anything else. The HTTP adapter
   * always sets it; a request built by hand (a test) may leave it out.
   */
  rawQuery?: string;
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
export interface RouteDefinition<Config, Client, Services = NoServices> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  /**
   * `signature`: the route is public at the gateway and authenticates each request itself (webhooks);
   * `authorizer`: like operation routes, it requires the gateway's IAM/JWT authorizer.
   */
  auth: 'signature' | 'authorizer';
  description: string;
  handle(request: RouteRequest, context: OperationContext<Config, Client, Services>): Promise<RouteResponse>;
}

/** One health check result. */
export interface HealthCheck {
  name: string;
  ok: boolean;
  detail?: string;
}

/** What a connector's `setup` builds nothing of: no services beside the client. */
// biome-ignore lint/complexity/noBannedTypes: an empty record is exactly "no services".
export type NoServices = {};

/** Secret names by role, read from the settings; `undefined` when the settings configure none. */
export type SecretNames = Record<string, string | undefined>;

/** The secrets of {@link SecretNames}, defined by the kit: a role whose name may be absent may be undefined. */
export type SetupSecrets<N extends SecretNames> = {
  [Role in keyof N]: undefined extends N[Role] ? Secret | undefined : Secret;
};

/** What each step of {@link ConnectorSetup} receives. */
export interface SetupInput<Config, N extends SecretNames> {
  config: Config;
  secrets: SetupSecrets<N>;
}

/**
 * How every connector builds what its operations use, once per container, in the same order: the kit
 * defines the named `secrets` and prefetches them, `client` builds the provider client (`context.client`),
 * `services` builds whatever routes and scheduled operations need beside it (`context.services`), and
 * `warmUp` does the rest of the work worth doing during init (opening a connection). A failure anywhere is
 * retried by the next invocation, which reports it.
 *
 * @example
 * ```ts
 * setup: {
 *   secrets: (config) => ({ token: config.SLACK_BOT_TOKEN_SECRET }),
 *   secretMaxAgeSeconds: (config) => config.SLACK_SECRET_MAX_AGE_SECONDS,
 *   client: ({ config, secrets }) => new SlackApi(slackApi.clientFromSettings(config, { credential: secrets.token })),
 * },
 * ```
 */
export interface ConnectorSetup<Config, Client, Services, N extends SecretNames> {
  /** The secrets the connector reads, by role; each is defined once and all are prefetched in parallel. */
  secrets?(config: Config): N;
  /** How long a secret value is cached per container (the `<PREFIX>_SECRET_MAX_AGE_SECONDS` setting). */
  secretMaxAgeSeconds?(config: Config): number;
  /** Builds the provider client: the object whose methods the operations call. */
  client(input: SetupInput<Config, N>): Client | Promise<Client>;
  /** Builds what routes and scheduled operations use beside the client (receivers, syncers, sinks). */
  services?(input: SetupInput<Config, N> & { client: Client }): Services | Promise<Services>;
  /** Work worth doing during init beside the secrets' prefetch (opening the connection, reading credentials). */
  warmUp?(input: SetupInput<Config, N> & { client: Client; services: Services }): Promise<void>;
}

/**
 * @deprecated Declare `setup: { client: ({ config }) => ... }` ({@link ConnectorSetup}) instead.
 */
export type LegacySetup<Config, Client> = (config: Config) => Client | Promise<Client>;

/** Everything a connector declares once; {@link defineConnector} turns it into one Lambda handler. */
export interface ConnectorDefinition<
  S extends ConfigSchema,
  Client,
  Ops extends Record<string, AnyOperation<z.output<S>, Client, Services>>,
  Services = NoServices,
  N extends SecretNames = SecretNames,
> {
  /** Provider id: the first path segment of its routes (`/s3/put-object`) and the log `service`. */
  name: string;
  /** Semver of this connector, reported by `health` and in every log line. */
  version: string;
  /** Zod schema of the environment, keys are variable names. */
  config: S;
  /** Optional abilities callers can detect (`presign`, `transactions`, `threads`, ...). */
  capabilities?: readonly string[];
  /**
   * Builds the provider client and its services once per container, prefetching secrets during init. The
   * bare function form (`setup: (config) => client`) is the shape before the kit's: it still works while
   * connectors scaffolded with it move over, and is to be removed.
   */
  setup: ConnectorSetup<z.output<S>, Client, Services, N> | LegacySetup<z.output<S>, Client>;
  /** The operations, built with the typed `op` helper. */
  operations: (op: OperationBuilder<z.output<S>, Client, Services>) => Ops;
  /** Extra HTTP routes (webhook receivers). */
  routes?: (
    route: RouteBuilder<z.output<S>, Client, Services>,
  ) => RouteDefinition<z.output<S>, Client, Services>[];
  /** A cheap provider call proving credentials and reachability (e.g. `auth.test`, `HeadBucket`). */
  healthCheck?(context: OperationContext<z.output<S>, Client, Services>): Promise<void>;
}

export type OperationBuilder<Config, Client, Services = NoServices> = <
  I extends z.ZodType,
  O extends z.ZodType,
>(
  definition: OperationDefinition<I, O, Config, Client, Services>,
) => OperationDefinition<I, O, Config, Client, Services>;

export type RouteBuilder<Config, Client, Services = NoServices> = (
  definition: RouteDefinition<Config, Client, Services>,
) => RouteDefinition<Config, Client, Services>;

/** The envelope a queue record, a schedule input, a Step Functions task or a direct invoke carries. */
export interface OperationRequest {
  operation: string;
  input?: unknown;
  correlationId?: string;
  idempotencyKey?: string;
}
