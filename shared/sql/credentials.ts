/**
 * Where a SQL connector's credentials come from, for every engine RDS hosts (PostgreSQL, MySQL, MariaDB):
 * a Secrets Manager secret in the RDS JSON shape (rotatable: fetched again once when the server refuses
 * the password), a URL for local and dev servers, and optionally an RDS IAM authentication token in place
 * of the password. What differs per engine (name, default port and database, setting names) is data.
 */
import { ConfigurationError, defineSecret, type Secret } from '@circle-core/core';
import * as z from 'zod';

/** Everything needed to open a connection. */
export interface DatabaseEndpoint {
  host: string;
  port: number;
  user: string;
  password: string;
  database: string;
}

/** Settings that win over what the secret or URL says (e.g. an RDS Proxy endpoint). */
export interface EndpointOverrides {
  host?: string | undefined;
  port?: number | undefined;
  database?: string | undefined;
}

/** A source of connection credentials. */
export interface DatabaseCredentials {
  /** Fetches (or serves from cache) the current endpoint and credentials. */
  endpoint(): Promise<DatabaseEndpoint>;
  /** Forgets cached credentials after the server refused them; a no-op for fixed credentials. */
  refresh(): Promise<void>;
  /** Whether `refresh` can yield different credentials (a rotated secret). */
  readonly rotatable: boolean;
  /** Fetches during init; never rejects. */
  prefetch(): Promise<void>;
}

/** The facts about one engine that credentials need. */
export interface EngineFacts {
  /** For messages: `PostgreSQL`, `MySQL`. */
  name: string;
  /** The setting prefix: `PG` names `PG_SECRET`, `PG_URL`, `PG_HOST`. */
  prefix: string;
  /** URL schemes accepted, without `://`. */
  schemes: readonly string[];
  /** Whether a secret's `engine` field (`postgres`, `mysql`, `mariadb`, `aurora-mysql`) is this engine. */
  engine: RegExp;
  defaultPort: number;
  defaultUser: string;
  /** The database when neither the secret nor the settings name one; empty: none selected. */
  defaultDatabase: string;
}

/** The JSON shape RDS, Aurora and the Secrets Manager rotation functions store. */
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
 * const credentials = secretCredentials(defineSecret('circle-core/mysql/credentials'), MYSQL, { host: 'db' });
 * ```
 */
export function secretCredentials(
  secret: Secret,
  engine: EngineFacts,
  overrides: EndpointOverrides = {},
): DatabaseCredentials {
  return {
    rotatable: true,
    prefetch: () => secret.prefetch(),
    refresh: () => secret.refresh(),
    endpoint: async () => {
      const value = await secret.json(RdsSecret);
      if (value.engine !== undefined && !engine.engine.test(value.engine)) {
        throw new ConfigurationError(
          `secret ${secret.name} is for engine ${value.engine.slice(0, 32)}, not ${engine.name}`,
        );
      }
      const host = overrides.host ?? value.host;
      if (host === undefined) {
        throw new ConfigurationError(
          `secret ${secret.name} has no host: add "host" to it or set ${engine.prefix}_HOST`,
        );
      }
      return {
        host,
        port: overrides.port ?? value.port ?? engine.defaultPort,
        user: value.username,
        password: value.password,
        database: overrides.database ?? value.dbname ?? engine.defaultDatabase,
      };
    },
  };
}

/**
 * Fixed credentials from a `scheme://user:password@host:port/database` URL (local and dev servers).
 *
 * @example
 * ```ts
 * const credentials = urlCredentials('mysql://root@127.0.0.1:3306/test', MYSQL);
 * ```
 */
export function urlCredentials(
  url: string,
  engine: EngineFacts,
  overrides: EndpointOverrides = {},
): DatabaseCredentials {
  const setting = `${engine.prefix}_URL`;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // No cause and no echo: the URL may carry a password.
    throw new ConfigurationError(
      `${setting} is not a valid URL (expected ${engine.schemes[0]}://user:password@host:port/db)`,
    );
  }
  if (parsed.hostname === '') throw new ConfigurationError(`${setting} has no host`);
  const decode = (part: string, what: string): string => {
    try {
      return decodeURIComponent(part);
    } catch {
      // No cause and no echo: the part may be the password.
      throw new ConfigurationError(`${setting} has a malformed %-escape in its ${what} (write "%" as %25)`);
    }
  };
  const endpoint: DatabaseEndpoint = {
    host: overrides.host ?? parsed.hostname.replace(/^\[|\]$/g, ''),
    port: overrides.port ?? (parsed.port === '' ? engine.defaultPort : Number(parsed.port)),
    user: decode(parsed.username, 'user') || engine.defaultUser,
    password: decode(parsed.password, 'password'),
    database: overrides.database ?? (decode(parsed.pathname.slice(1), 'database') || engine.defaultDatabase),
  };
  return {
    rotatable: false,
    prefetch: async () => undefined,
    refresh: async () => undefined,
    endpoint: async () => endpoint,
  };
}

/** Signs an RDS IAM authentication token (a presigned `rds-db:connect` URL, valid 15 minutes). */
export type TokenSigner = (endpoint: DatabaseEndpoint) => Promise<string>;

/**
 * The `@aws-sdk/rds-signer` signer with the Lambda role's credentials (the SDK's default chain). Loaded
 * on first use, so a connector without IAM authentication never pays for it at cold start.
 *
 * @example
 * ```ts
 * const sign = rdsSigner('eu-west-1');
 * ```
 */
export function rdsSigner(region: string | undefined): TokenSigner {
  return async (endpoint) => {
    if (region === undefined || region === '') {
      throw new ConfigurationError('RDS IAM authentication needs AWS_REGION');
    }
    const { Signer } = await import('@aws-sdk/rds-signer');
    const signer = new Signer({
      hostname: endpoint.host,
      port: endpoint.port,
      username: endpoint.user,
      region,
    });
    return signer.getAuthToken();
  };
}

/**
 * The same endpoint with a fresh RDS IAM authentication token as the password, signed at every open (a
 * token lives 15 minutes; an open uses it at once). The secret or URL then only names host, user and
 * database; its password is ignored.
 *
 * @example
 * ```ts
 * const credentials = withIamToken(urlCredentials('mysql://app@db.example:3306/sales', MYSQL), rdsSigner('eu-west-1'));
 * ```
 */
export function withIamToken(base: DatabaseCredentials, sign: TokenSigner): DatabaseCredentials {
  return {
    rotatable: base.rotatable,
    prefetch: () => base.prefetch(),
    refresh: () => base.refresh(),
    endpoint: async () => {
      const endpoint = await base.endpoint();
      return { ...endpoint, password: await sign(endpoint) };
    },
  };
}

/** The settings {@link credentialsFrom} reads, by their generic names. */
export interface CredentialSettings {
  secret?: string | undefined;
  url?: string | undefined;
  host?: string | undefined;
  port?: number | undefined;
  database?: string | undefined;
  secretMaxAgeSeconds: number;
}

/**
 * Picks the credential source the configuration names: the secret, else the URL.
 *
 * @example
 * ```ts
 * const credentials = credentialsFrom({ url: 'mysql://root@127.0.0.1/test', secretMaxAgeSeconds: 300 }, MYSQL);
 * ```
 */
export function credentialsFrom(settings: CredentialSettings, engine: EngineFacts): DatabaseCredentials {
  const overrides: EndpointOverrides = {
    host: settings.host,
    port: settings.port,
    database: settings.database,
  };
  if (settings.secret !== undefined) {
    const secret = defineSecret(settings.secret, { maxAgeSeconds: settings.secretMaxAgeSeconds });
    return secretCredentials(secret, engine, overrides);
  }
  if (settings.url !== undefined) return urlCredentials(settings.url, engine, overrides);
  throw new ConfigurationError(
    `set ${engine.prefix}_SECRET (a Secrets Manager secret name) or ${engine.prefix}_URL (local and dev only)`,
  );
}
