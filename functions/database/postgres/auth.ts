/**
 * Where the PostgreSQL connector's credentials come from: a Secrets Manager secret in the RDS shape
 * (rotatable: refreshed once when the server refuses the password), or a `PG_URL` for local servers.
 */
import { ConfigurationError, defineSecret, type Secret } from '@circle-core/core';
import * as z from 'zod';

/** Everything needed to open a connection. */
export interface PostgresEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** Settings that win over what the secret says (e.g. an RDS Proxy endpoint in front of the database). */
export interface EndpointOverrides {
  host?: string | undefined;
  port?: number | undefined;
  database?: string | undefined;
}

/** A source of connection credentials. */
export interface PostgresCredentials {
  /** Fetches (or serves from cache) the current endpoint and credentials. */
  endpoint(): Promise<PostgresEndpoint>;
  /** Forgets cached credentials after the server refused them; a no-op for fixed credentials. */
  refresh(): Promise<void>;
  /** Whether `refresh` can yield different credentials (a rotated secret). */
  readonly rotatable: boolean;
  /** Fetches during init; never rejects. */
  prefetch(): Promise<void>;
}

/** The JSON shape RDS, Aurora and the Secrets Manager rotation functions store for PostgreSQL. */
export const RdsSecret = z.object({
  username: z.string().min(1),
  password: z.string(),
  host: z.string().min(1).optional(),
  port: z.coerce.number().int().min(1).max(65_535).optional(),
  dbname: z.string().min(1).optional(),
  engine: z.string().optional(),
});
export type RdsSecret = z.infer<typeof RdsSecret>;

/**
 * Credentials from a Secrets Manager secret holding `{ username, password, host?, port?, dbname?, engine? }`.
 * RDS-managed master secrets hold only username and password: `overrides.host` then names the server.
 *
 * @example
 * ```ts
 * const credentials = secretCredentials(defineSecret('circle-core/postgres/credentials'), { host: 'db.internal' });
 * ```
 */
export function secretCredentials(secret: Secret, overrides: EndpointOverrides = {}): PostgresCredentials {
  return {
    rotatable: true,
    prefetch: () => secret.prefetch(),
    refresh: () => secret.refresh(),
    endpoint: async () => {
      const value = await secret.json(RdsSecret);
      if (value.engine !== undefined && !value.engine.includes('postgres')) {
        throw new ConfigurationError(
          `secret ${secret.name} is for engine ${value.engine.slice(0, 32)}, not PostgreSQL`,
        );
      }
      const host = overrides.host ?? value.host;
      if (host === undefined) {
        throw new ConfigurationError(`secret ${secret.name} has no host: add "host" to it or set PG_HOST`);
      }
      return {
        host,
        port: overrides.port ?? value.port ?? 5432,
        user: value.username,
        password: value.password,
        database: overrides.database ?? value.dbname ?? 'postgres',
      };
    },
  };
}

/**
 * Fixed credentials from a `postgres://user:password@host:port/database` URL (local and dev servers).
 *
 * @example
 * ```ts
 * const credentials = urlCredentials('postgres://postgres@127.0.0.1:5432/test');
 * ```
 */
export function urlCredentials(url: string, overrides: EndpointOverrides = {}): PostgresCredentials {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // No cause and no echo: the URL may carry a password.
    throw new ConfigurationError(
      'PG_URL is not a valid URL (expected postgres://user:password@host:port/db)',
    );
  }
  if (parsed.hostname === '') throw new ConfigurationError('PG_URL has no host');
  const endpoint: PostgresEndpoint = {
    host: overrides.host ?? parsed.hostname.replace(/^\[|\]$/g, ''),
    port: overrides.port ?? (parsed.port === '' ? 5432 : Number(parsed.port)),
    user: decodeURIComponent(parsed.username) || 'postgres',
    password: decodeURIComponent(parsed.password),
    database: overrides.database ?? (decodeURIComponent(parsed.pathname.slice(1)) || 'postgres'),
  };
  return {
    rotatable: false,
    prefetch: async () => undefined,
    refresh: async () => undefined,
    endpoint: async () => endpoint,
  };
}

/** The settings {@link credentialsFrom} reads. */
export interface CredentialSettings {
  PG_SECRET?: string | undefined;
  PG_URL?: string | undefined;
  PG_HOST?: string | undefined;
  PG_PORT?: number | undefined;
  PG_DATABASE?: string | undefined;
  PG_SECRET_MAX_AGE_SECONDS: number;
}

/**
 * Picks the credential source the configuration names: the `PG_SECRET` secret, else `PG_URL`.
 *
 * @example
 * ```ts
 * const credentials = credentialsFrom(loadConfig(PostgresConfig));
 * ```
 */
export function credentialsFrom(settings: CredentialSettings): PostgresCredentials {
  const overrides: EndpointOverrides = {
    host: settings.PG_HOST,
    port: settings.PG_PORT,
    database: settings.PG_DATABASE,
  };
  if (settings.PG_SECRET !== undefined) {
    const secret = defineSecret(settings.PG_SECRET, { maxAgeSeconds: settings.PG_SECRET_MAX_AGE_SECONDS });
    return secretCredentials(secret, overrides);
  }
  if (settings.PG_URL !== undefined) return urlCredentials(settings.PG_URL, overrides);
  throw new ConfigurationError(
    'set PG_SECRET (a Secrets Manager secret name) or PG_URL (local and dev only)',
  );
}
