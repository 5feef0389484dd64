import { EventEmitter } from 'node:events';
import { ANSWER_RESERVE_MS, AuthError, TimeoutError, UnavailableError } from '@circle-core/core';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import type { DatabaseCredentials, DatabaseEndpoint } from '#shared/sql/credentials.ts';
import { type ClientFactory, PostgresConnection } from './connection.ts';

/**
 * Unit tests with an injected client factory: the real-protocol paths (timeouts, terminated backends,
 * rotation through a password-checking gate, TLS verification) are covered against real servers in
 * client.test.ts, index.test.ts and tls.test.ts; these pin the branches a real server cannot be made to
 * take on demand, and the TLS options handed to the driver.
 */

type Step = 'ok' | Error;

/** A stand-in for `pg.Client` whose connect and query outcomes are scripted. */
class ScriptedClient extends EventEmitter {
  readonly queries: string[] = [];
  ended = false;
  readonly #connect: Step;
  readonly #queries: Step[];

  constructor(connect: Step, queries: Step[] = []) {
    super();
    this.#connect = connect;
    this.#queries = queries;
  }

  async connect(): Promise<void> {
    if (this.#connect !== 'ok') throw this.#connect;
  }

  async query(config: { text: string }): Promise<pg.QueryResult> {
    this.queries.push(config.text);
    // The session setup statement always succeeds; scripted steps apply to the work.
    const step = config.text.includes('set_config') ? 'ok' : (this.#queries.shift() ?? 'ok');
    if (step !== 'ok') throw step;
    return { rows: [{ one: 1 }], rowCount: 1, fields: [], command: 'SELECT', oid: 0 };
  }

  async end(): Promise<void> {
    this.ended = true;
  }

  getTransactionStatus(): string {
    return 'I';
  }
}

function serverError(code: string): pg.DatabaseError {
  return Object.assign(new pg.DatabaseError('refused', 7, 'error'), { code });
}

function factoryOf(clients: ScriptedClient[]): ClientFactory & { created: pg.ClientConfig[] } {
  const created: pg.ClientConfig[] = [];
  const factory = (config: pg.ClientConfig): pg.Client => {
    created.push(config);
    const next = clients.shift();
    if (next === undefined) throw new Error('no more scripted clients');
    return next as unknown as pg.Client;
  };
  return Object.assign(factory, { created });
}

function credentials(rotatable: boolean): DatabaseCredentials & { refreshes: number } {
  const endpoint: DatabaseEndpoint = { host: 'db', port: 5432, user: 'app', password: 'pw', database: 'd' };
  const source = {
    rotatable,
    refreshes: 0,
    endpoint: async () => endpoint,
    refresh: async () => {
      source.refreshes += 1;
    },
    prefetch: async () => undefined,
  };
  return source;
}

function connection(options: {
  clients: ScriptedClient[];
  rotatable?: boolean;
  remainingTimeMs?: () => number;
  ssl?: 'verify-full' | 'disable';
}) {
  const createClient = factoryOf(options.clients);
  const source = credentials(options.rotatable ?? true);
  const subject = new PostgresConnection({
    credentials: source,
    ssl: options.ssl ?? 'disable',
    statementTimeoutMs: 1_000,
    connectTimeoutMs: 1_000,
    readOnly: false,
    applicationName: 'test',
    createClient,
    ...(options.remainingTimeMs === undefined ? {} : { remainingTimeMs: options.remainingTimeMs }),
  });
  return { subject, createClient, source };
}

const selectOne = (session: { run(sql: string): Promise<pg.QueryResult> }) => session.run('select 1 as one');

describe('Class: PostgresConnection', () => {
  describe('Method: use', () => {
    it('fetches the credentials again once and reconnects when the server refuses the password', async () => {
      // Prepare
      const { subject, createClient, source } = connection({
        clients: [new ScriptedClient(serverError('28P01')), new ScriptedClient('ok')],
      });
      // Act
      const result = await subject.use(selectOne, 'read');
      // Assess
      expect(result.rows).toEqual([{ one: 1 }]);
      expect(source.refreshes).toBe(1);
      expect(createClient.created).toHaveLength(2);
    });

    it('throws AuthError after one refresh when the server refuses the new password too', async () => {
      // Prepare
      const { subject, source } = connection({
        clients: [new ScriptedClient(serverError('28P01')), new ScriptedClient(serverError('28000'))],
      });
      // Act
      const attempt = subject.use(selectOne, 'read');
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(AuthError);
      await expect(attempt).rejects.toThrow(/even after the secret was fetched again/);
      expect(source.refreshes).toBe(1);
    });

    it('throws AuthError without a refresh when the credentials cannot rotate', async () => {
      // Prepare
      const { subject, source, createClient } = connection({
        clients: [new ScriptedClient(serverError('28P01'))],
        rotatable: false,
      });
      // Act
      const attempt = subject.use(selectOne, 'read');
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(AuthError);
      expect(source.refreshes).toBe(0);
      expect(createClient.created).toHaveLength(1);
    });

    it('reports the second failure as it is when the reconnect fails for another reason', async () => {
      // Prepare
      const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
      const { subject } = connection({
        clients: [new ScriptedClient(serverError('28P01')), new ScriptedClient(refused)],
      });
      // Act
      const attempt = subject.use(selectOne, 'write');
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(UnavailableError);
    });

    it('runs read-only work again on a new connection after the connection was lost', async () => {
      // Prepare
      const lost = new Error('Connection terminated unexpectedly');
      const first = new ScriptedClient('ok', [lost]);
      const { subject, createClient } = connection({ clients: [first, new ScriptedClient('ok')] });
      // Act
      const result = await subject.use(selectOne, 'read');
      // Assess
      expect(result.rowCount).toBe(1);
      expect(createClient.created).toHaveLength(2);
      expect(first.ended).toBe(true);
    });

    it('does not run writes again when the connection was lost, and reconnects for the next call', async () => {
      // Prepare
      const lost = new Error('Connection terminated unexpectedly');
      const { subject, createClient } = connection({
        clients: [new ScriptedClient('ok', [lost]), new ScriptedClient('ok')],
      });
      // Act
      const attempt = subject.use(selectOne, 'write');
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(UnavailableError);
      expect(createClient.created).toHaveLength(1);
      await expect(subject.use(selectOne, 'write')).resolves.toMatchObject({ rowCount: 1 });
      expect(createClient.created).toHaveLength(2);
    });

    it('drops a connection that reported an error while idle', async () => {
      // Prepare
      const first = new ScriptedClient('ok');
      const { subject, createClient } = connection({ clients: [first, new ScriptedClient('ok')] });
      await subject.use(selectOne, 'read');
      // Act
      first.emit('error', new Error('Connection terminated unexpectedly'));
      await subject.use(selectOne, 'read');
      // Assess
      expect(createClient.created).toHaveLength(2);
    });

    it('throws TimeoutError without connecting when the invocation has no time left', async () => {
      // Prepare
      const { subject, createClient } = connection({
        clients: [new ScriptedClient('ok')],
        remainingTimeMs: () => ANSWER_RESERVE_MS,
      });
      // Act
      const attempt = subject.use(selectOne, 'read');
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(TimeoutError);
      expect(createClient.created).toHaveLength(0);
    });

    it('verifies the server certificate and host name with PG_SSL=verify-full', async () => {
      // Prepare
      const { subject, createClient } = connection({
        clients: [new ScriptedClient('ok')],
        ssl: 'verify-full',
      });
      // Act
      await subject.use(selectOne, 'read');
      // Assess
      expect(createClient.created[0]?.ssl).toEqual({ rejectUnauthorized: true, servername: 'db' });
    });
  });
});
