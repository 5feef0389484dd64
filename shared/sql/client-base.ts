/**
 * What every SQL connector's client does alike around its engine's statements: the one reused connection
 * and the credentials it opens with, read-only mode, the warm-up during init, the health round trip and
 * closing. An engine's client extends it and writes only its statements.
 */
import type { Replay } from '@circle-core/core';
import type { DatabaseCredentials } from './credentials.ts';

/** The engine's reused connection, as the client uses it: one unit of work at a time. */
export interface SqlConnection<Session> {
  use<T>(work: (session: Session) => Promise<T>, replay: Replay): Promise<T>;
  close(): Promise<void>;
}

/**
 * The shared part of a SQL client.
 *
 * @example
 * ```ts
 * class AcmeClient extends SqlClientBase<AcmeSession> {
 *   constructor(options: AcmeOptions) { super(new AcmeConnection(options), options.credentials, options.readOnly); }
 * }
 * ```
 */
export abstract class SqlClientBase<Session extends { run(sql: string): Promise<unknown> }> {
  /** Whether writes are refused (the `<PREFIX>_READ_ONLY` setting). */
  readonly readOnly: boolean;
  protected readonly connection: SqlConnection<Session>;
  readonly #credentials: DatabaseCredentials;

  constructor(connection: SqlConnection<Session>, credentials: DatabaseCredentials, readOnly: boolean) {
    this.connection = connection;
    this.#credentials = credentials;
    this.readOnly = readOnly;
  }

  /**
   * Fetches the secret and opens the connection ahead of the first call (Lambda init). Never rejects: a
   * failure is met again, and reported, by the first operation.
   */
  async warmUp(): Promise<void> {
    await this.#credentials.prefetch();
    await this.connection.use(async () => undefined, 'read').catch(() => undefined);
  }

  /** A cheap round trip proving credentials and reachability, for the health check. */
  async ping(): Promise<void> {
    await this.connection.use((session) => session.run('select 1'), 'read');
  }

  async close(): Promise<void> {
    await this.connection.close();
  }

  /** In read-only mode every unit of work only reads, so it may run again after a dropped connection. */
  protected replay(): Replay {
    return this.readOnly ? 'read' : 'write';
  }
}
