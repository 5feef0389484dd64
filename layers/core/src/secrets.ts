/**
 * Secret values from AWS Secrets Manager: one fetch per container per max age, one request in flight per
 * secret, failures mapped by the AWS kit's Secrets Manager rows. Values never appear in a message, a log
 * line or an error. Where Lambda runs a function (its role's credentials in the environment) the value is
 * read with one hand-signed GetSecretValue ({@link directSecretsManagerReader}): loading the SDK client
 * would cost the cold start several times the call. Elsewhere, or with a client from
 * {@link configureSecrets}, it is read through Powertools parameters and the SDK's default chain.
 *
 * With `CIRCLE_SECRETS_BACKEND=vault` the same handles read HashiCorp Vault's KV v2 engine instead
 * (`vault.ts`); a read that carries a lease is served no longer than the lease.
 */
import type { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import sjson from 'secure-json-parse';
import type * as z from 'zod';
import { awsClientConfig } from './aws/client.ts';
import { awsFailure } from './aws/errors.ts';
import { directSecretsManagerReader, type SecretsManagerReader } from './aws/secrets-manager.ts';
import { describeExpectation } from './config.ts';
import { ConfigurationError, type ConnectorError } from './errors.ts';
import { parseOptions } from './schema-parse.ts';
import { secretsBackend, type VaultReader, vaultReader, vaultSettings } from './vault.ts';

export interface SecretOptions {
  /** How long a fetched value is served from the container cache, in seconds. Default 300. */
  maxAgeSeconds?: number;
}

/** A handle on one secret: cached per container with a max age, force-refreshable (rotation). */
export interface Secret {
  readonly name: string;
  /** The SecretString (a binary secret is decoded as UTF-8). */
  text(): Promise<string>;
  /**
   * The SecretString parsed as JSON and validated by `schema`. A bad shape throws a
   * {@link ConfigurationError} naming the secret and the offending field names, never their values.
   */
  json<T>(schema: z.ZodType<T>): Promise<T>;
  /** Fetches the value now, bypassing the cache (after a provider 401/403: the secret may have rotated). */
  refresh(): Promise<void>;
  /** Fetches during init. Never rejects: after a failure the first use fetches again and reports its own outcome. */
  prefetch(): Promise<void>;
  /**
   * Marks the value just read as unusable (it failed parsing or validation): the cache stops serving it,
   * and the next use fetches again, at most once per {@link INVALID_SECRET_RETRY_MS}, so a value fixed in the
   * store takes effect within seconds instead of after the max age. `json()` calls this itself.
   */
  reject(): void;
}

const DEFAULT_MAX_AGE_SECONDS = 300;

/**
 * How soon a value that failed parsing or validation is fetched again. Short, because every invocation
 * fails until the fix arrives; not zero, because a broken secret must not turn every invocation into a
 * Secrets Manager call.
 */
export const INVALID_SECRET_RETRY_MS = 2_000;

/** What the container knows about one secret name; shared by every handle on that name. */
interface Entry {
  value?: string;
  fetchedAt: number;
  /** The lease the store gave the value (Vault), ms; it caps the handle's max age. */
  leaseMs?: number | undefined;
  /** Set when a reader found `value` unusable; cleared by the next fetch. */
  rejected?: boolean;
  inFlight?: Promise<string> | undefined;
}

interface State {
  provider: Promise<SecretsProvider> | undefined;
  client: SecretsManagerClient | undefined;
  /** The hand-signed reader: `null` once the environment was found not to allow it (the SDK serves). */
  direct: SecretsManagerReader | null | undefined;
  /** Attempts per read of the hand-signed reader (the SDK client has its own setting). */
  maxAttempts: number | undefined;
  /** The Vault reader, built on first use when `CIRCLE_SECRETS_BACKEND=vault`. */
  vault: VaultReader | undefined;
  entries: Map<string, Entry>;
}

const state: State = {
  provider: undefined,
  client: undefined,
  direct: undefined,
  maxAttempts: undefined,
  vault: undefined,
  entries: new Map(),
};

/** The hand-signed reader, unless a client was configured or the environment does not allow it. */
function directReader(): SecretsManagerReader | undefined {
  if (state.client !== undefined) return undefined;
  if (state.direct === undefined) {
    state.direct = directSecretsManagerReader({ maxAttempts: state.maxAttempts }) ?? null;
  }
  return state.direct ?? undefined;
}

function provider(): Promise<SecretsProvider> {
  // Loaded on first use, not at import: a connector that reads no secret never pays for the SDK client
  // (tens of milliseconds of cold start), and the environment (AWS_ENDPOINT_URL_SECRETS_MANAGER, region,
  // credentials) is complete by then. The SDK resolves the endpoint variables itself.
  state.provider ??= Promise.all([
    import('@aws-lambda-powertools/parameters/secrets'),
    import('@aws-sdk/client-secrets-manager'),
  ]).then(([{ SecretsProvider: Provider }, { SecretsManagerClient: Client }]) => {
    // The kit's bounded timeouts, untraced: the first traced client names the process's tracer, and a
    // prefetch at init would name it after no connector.
    const client = state.client ?? new Client(awsClientConfig());
    return new Provider({ awsSdkV3Client: client });
  });
  return state.provider;
}

/**
 * Replaces the Secrets Manager client used by every handle, new and existing, and clears all cached
 * values. Without a client, the next use reads the environment again: a hand-signed request when it holds
 * credentials, else a default SDK client. `maxAttempts` sets the hand-signed reader's attempts per read
 * (default 3). For tests and the benchmark.
 *
 * @example
 * ```ts
 * configureSecrets({ client: new SecretsManagerClient({ endpoint: 'http://127.0.0.1:4566' }) });
 * configureSecrets({ maxAttempts: 1 });
 * ```
 */
export function configureSecrets(options: { client?: SecretsManagerClient; maxAttempts?: number }): void {
  state.client = options.client;
  state.provider = undefined;
  state.direct?.close();
  state.direct = undefined;
  state.maxAttempts = options.maxAttempts;
  state.vault?.close();
  state.vault = undefined;
  // A fresh map: a fetch still in flight for the old client writes into an entry nobody reads any more.
  state.entries = new Map();
}

function entryFor(name: string): Entry {
  let entry = state.entries.get(name);
  if (entry === undefined) {
    entry = { fetchedAt: 0 };
    state.entries.set(name, entry);
  }
  return entry;
}

/** One GetSecretValue per secret at a time: concurrent callers share the request in flight. */
function fetchValue(name: string, maxAgeSeconds: number): Promise<string> {
  const entry = entryFor(name);
  if (entry.inFlight !== undefined) return entry.inFlight;
  const inFlight = readFromStore(name, maxAgeSeconds).then(
    ({ value, leaseMs }) => {
      entry.value = value;
      entry.leaseMs = leaseMs;
      entry.fetchedAt = Date.now();
      entry.rejected = false;
      entry.inFlight = undefined;
      return value;
    },
    (error: unknown) => {
      entry.inFlight = undefined;
      throw error;
    },
  );
  entry.inFlight = inFlight;
  return inFlight;
}

/** The backend's answer: the value, and its lease when the store gave one. */
async function readFromStore(
  name: string,
  maxAgeSeconds: number,
): Promise<{ value: string; leaseMs: number | undefined }> {
  // Vault's module is loaded with the core, not on first use: it shares the HTTP client, SigV4 and errors
  // with the entry, so a lazy Vault chunk made esbuild put those in a chunk of their own, one more module
  // for every cold start to load (measured: more than Vault's 5.5 KiB cost).
  const backend = process.env['CIRCLE_SECRETS_BACKEND']?.trim();
  if (backend !== undefined && backend !== '' && backend !== 'secrets-manager') {
    secretsBackend(); // a value other than vault is a ConfigurationError naming it
    state.vault ??= vaultReader(vaultSettings(), {
      // AppRole's secret id: the one secret this function keeps in Secrets Manager.
      readSecretId: (secretName) => readFromSecretsManager(secretName, maxAgeSeconds),
      ...(state.maxAttempts === undefined ? {} : { maxAttempts: state.maxAttempts }),
    });
    const { value, leaseSeconds } = await state.vault.read(name);
    return { value, leaseMs: leaseSeconds > 0 ? leaseSeconds * 1000 : undefined };
  }
  return { value: await readFromSecretsManager(name, maxAgeSeconds), leaseMs: undefined };
}

async function readFromSecretsManager(name: string, maxAgeSeconds: number): Promise<string> {
  let value: string | Uint8Array | undefined;
  try {
    const direct = directReader();
    // The freshness decision is ours (per handle max age, single flight), so always ask the store.
    value =
      direct === undefined
        ? await (await provider()).get(name, { forceFetch: true, maxAge: maxAgeSeconds })
        : await direct.getSecretValue(name);
  } catch (error) {
    throw secretError(name, error);
  }
  if (value === undefined) throw new ConfigurationError(`secret ${name} has no value`);
  return typeof value === 'string' ? value : new TextDecoder().decode(value);
}

/** Maps an SDK failure with the kit's Secrets Manager rows. Messages name the secret and the AWS error only. */
function secretError(name: string, error: unknown): ConnectorError {
  // Powertools wraps the SDK's error in a GetParameterError (matched by name: the class loads lazily).
  const cause =
    error instanceof Error && error.name === 'GetParameterError' && error.cause !== undefined
      ? error.cause
      : error;
  const target = { service: 'Secrets Manager', action: 'GetSecretValue', resource: `secret ${name}` };
  return awsFailure({ ...target, details: { secret: name } }, cause);
}

/** Names the invalid fields of a secret and what was expected, without echoing any value. */
function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((issue) => {
      const field = issue.path.length === 0 ? '(root)' : issue.path.map(String).join('.');
      return `${field} (${describeExpectation(issue)})`;
    })
    .join(', ');
}

class SecretHandle implements Secret {
  readonly name: string;
  readonly #maxAgeMs: number;
  readonly #maxAgeSeconds: number;
  #parsed: { text: string; schema: z.ZodType<unknown>; value: unknown } | undefined;

  constructor(name: string, maxAgeSeconds: number) {
    this.name = name;
    this.#maxAgeSeconds = maxAgeSeconds;
    this.#maxAgeMs = maxAgeSeconds * 1000;
  }

  text(): Promise<string> {
    const entry = state.entries.get(this.name);
    if (entry?.value !== undefined) {
      const age = Date.now() - entry.fetchedAt;
      const ownMaxAge = Math.min(this.#maxAgeMs, entry.leaseMs ?? Number.POSITIVE_INFINITY);
      const maxAge = entry.rejected === true ? Math.min(ownMaxAge, INVALID_SECRET_RETRY_MS) : ownMaxAge;
      if (age < maxAge) return Promise.resolve(entry.value);
    }
    return fetchValue(this.name, this.#maxAgeSeconds);
  }

  reject(): void {
    const entry = state.entries.get(this.name);
    if (entry !== undefined) entry.rejected = true;
  }

  async json<T>(schema: z.ZodType<T>): Promise<T> {
    const text = await this.text();
    const cached = this.#parsed;
    // Parsing on every invocation would be wasted work: the text only changes on a fetch.
    if (cached !== undefined && cached.text === text && cached.schema === schema) return cached.value as T;
    let raw: unknown;
    try {
      raw = sjson.parse(text);
    } catch {
      this.reject();
      // No cause: JSON.parse messages quote the input, which here is the secret.
      throw new ConfigurationError(`secret ${this.name} is not valid JSON`);
    }
    const result = schema.safeParse(raw, parseOptions());
    if (!result.success) {
      this.reject();
      throw new ConfigurationError(
        `secret ${this.name} has an invalid shape: ${describeIssues(result.error.issues)}`,
      );
    }
    this.#parsed = { text, schema, value: result.data };
    return result.data;
  }

  async refresh(): Promise<void> {
    await fetchValue(this.name, this.#maxAgeSeconds);
  }

  async prefetch(): Promise<void> {
    try {
      await fetchValue(this.name, this.#maxAgeSeconds);
    } catch {
      // Nothing cached: the first use fetches again, so a secret created after start-up is picked up and a
      // failure that persists surfaces there, with its own error.
    }
  }
}

/**
 * Declares a secret by name or ARN (usually read from an environment variable). Nothing is fetched until
 * `prefetch()` or the first use; the value is then cached for the container with a max age.
 *
 * @example
 * ```ts
 * const token = defineSecret(config.SLACK_TOKEN_SECRET, { maxAgeSeconds: 600 });
 * void token.prefetch(); // during init
 * const value = await token.text();
 * const db = await defineSecret('prod/rds').json(z.object({ username: z.string(), password: z.string() }));
 * ```
 */
export function defineSecret(name: string, options: SecretOptions = {}): Secret {
  if (name.trim() === '') throw new ConfigurationError('a secret name is required (got an empty string)');
  const maxAgeSeconds = options.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS;
  if (!Number.isFinite(maxAgeSeconds) || maxAgeSeconds < 0) {
    throw new ConfigurationError(`maxAgeSeconds for secret ${name} must be a number of seconds >= 0`);
  }
  return new SecretHandle(name, maxAgeSeconds);
}
