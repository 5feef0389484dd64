/** PostgreSQL's engine facts through the shared SQL credentials (`shared/sql/credentials.ts`). */
import { ConfigurationError, type Secret } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import type * as z from 'zod';
import { credentialsFrom, secretCredentials, urlCredentials } from '#shared/sql/credentials.ts';
import { POSTGRES } from './client.ts';

/** A secret handle serving a fixed JSON value (the Secrets Manager path is covered by index.test.ts). */
function fixedSecret(value: unknown): Secret & { refreshes: number; prefetches: number } {
  const handle = {
    name: 'circle-core/postgres/credentials',
    refreshes: 0,
    prefetches: 0,
    text: async () => JSON.stringify(value),
    json: async <T>(schema: z.ZodType<T>) => schema.parse(value),
    refresh: async () => {
      handle.refreshes += 1;
    },
    prefetch: async () => {
      handle.prefetches += 1;
    },
    reject: () => undefined,
  };
  return handle;
}

describe('Function: urlCredentials', () => {
  it('reads host, port, user, encoded password and database from the URL', async () => {
    // Act
    const credentials = urlCredentials('postgres://app%40x:p%2Fss@db.internal:6543/sales', POSTGRES);
    // Assess
    await expect(credentials.endpoint()).resolves.toEqual({
      host: 'db.internal',
      port: 6543,
      user: 'app@x',
      password: 'p/ss',
      database: 'sales',
    });
    expect(credentials.rotatable).toBe(false);
  });

  it('defaults port, user and database, unwraps IPv6 hosts and applies overrides', async () => {
    // Act
    const plain = await urlCredentials('postgresql://[::1]', POSTGRES).endpoint();
    const overridden = await urlCredentials('postgres://u@h/db', POSTGRES, {
      host: 'proxy',
      port: 5433,
      database: 'other',
    }).endpoint();
    // Assess
    expect(plain).toEqual({ host: '::1', port: 5432, user: 'postgres', password: '', database: 'postgres' });
    expect(overridden).toMatchObject({ host: 'proxy', port: 5433, database: 'other' });
  });

  it('throws ConfigurationError without echoing an invalid URL or one without a host', () => {
    // Assess
    expect(() => urlCredentials('postgres://user:hunter2@:bad', POSTGRES)).toThrow(ConfigurationError);
    expect(() => urlCredentials('postgres://user:hunter2@:bad', POSTGRES)).not.toThrow(/hunter2/);
    expect(() => urlCredentials('postgres:///db', POSTGRES)).toThrow(/no host/);
  });

  it('offers refresh and prefetch as no-ops', async () => {
    // Prepare
    const credentials = urlCredentials('postgres://h/db', POSTGRES);
    // Assess
    await expect(credentials.refresh()).resolves.toBeUndefined();
    await expect(credentials.prefetch()).resolves.toBeUndefined();
  });
});

describe('Function: secretCredentials', () => {
  it('reads the RDS secret shape and lets overrides win', async () => {
    // Prepare
    const secret = fixedSecret({
      username: 'app',
      password: 'pw',
      host: 'db',
      port: '5433',
      dbname: 'sales',
      engine: 'postgres',
    });
    // Act
    const fromSecret = await secretCredentials(secret, POSTGRES).endpoint();
    const viaProxy = await secretCredentials(secret, POSTGRES, { host: 'proxy.internal' }).endpoint();
    // Assess
    expect(fromSecret).toEqual({ host: 'db', port: 5433, user: 'app', password: 'pw', database: 'sales' });
    expect(viaProxy.host).toBe('proxy.internal');
  });

  it('takes the host from PG_HOST for an RDS-managed secret holding only username and password', async () => {
    // Prepare
    const secret = fixedSecret({ username: 'app', password: 'pw' });
    // Act
    const endpoint = await secretCredentials(secret, POSTGRES, { host: 'db.internal' }).endpoint();
    const missing = secretCredentials(secret, POSTGRES).endpoint();
    // Assess
    expect(endpoint).toEqual({
      host: 'db.internal',
      port: 5432,
      user: 'app',
      password: 'pw',
      database: 'postgres',
    });
    await expect(missing).rejects.toThrow(/has no host: add "host" to it or set PG_HOST/);
  });

  it('throws ConfigurationError for a secret of another engine', async () => {
    // Prepare
    const secret = fixedSecret({ username: 'app', password: 'pw', host: 'db', engine: 'mysql' });
    // Act
    const attempt = secretCredentials(secret, POSTGRES).endpoint();
    // Assess
    await expect(attempt).rejects.toThrow(/engine mysql, not PostgreSQL/);
  });

  it('delegates refresh and prefetch to the secret and is rotatable', async () => {
    // Prepare
    const secret = fixedSecret({ username: 'app', password: 'pw', host: 'db' });
    const credentials = secretCredentials(secret, POSTGRES);
    // Act
    await credentials.refresh();
    await credentials.prefetch();
    // Assess
    expect([secret.refreshes, secret.prefetches, credentials.rotatable]).toEqual([1, 1, true]);
  });
});

describe('Function: credentialsFrom', () => {
  it('prefers the secret, falls back to the URL and refuses neither', async () => {
    // Act
    const fromSecret = credentialsFrom(
      { secret: 'circle-core/postgres/credentials', secretMaxAgeSeconds: 60 },
      POSTGRES,
    );
    const fromUrl = credentialsFrom(
      { url: 'postgres://h/db', port: 7000, secretMaxAgeSeconds: 60 },
      POSTGRES,
    );
    // Assess
    expect(fromSecret.rotatable).toBe(true);
    await expect(fromUrl.endpoint()).resolves.toMatchObject({ host: 'h', port: 7000 });
    expect(() => credentialsFrom({ secretMaxAgeSeconds: 60 }, POSTGRES)).toThrow(
      /set PG_SECRET .* or PG_URL/,
    );
  });
});
