import { ConfigurationError, type Secret } from '@circle-core/core';
import { afterEach, describe, expect, it } from 'vitest';
import type * as z from 'zod';
import {
  credentialsFrom,
  type EngineFacts,
  rdsSigner,
  secretCredentials,
  urlCredentials,
  withIamToken,
} from './credentials.ts';

const ENGINE: EngineFacts = {
  name: 'MySQL',
  prefix: 'MYSQL',
  schemes: ['mysql'],
  engine: /mysql|mariadb/,
  defaultPort: 3306,
  defaultUser: 'root',
  defaultDatabase: '',
};

/** A secret handle over a value the test sets, counting refreshes. */
function fakeSecret(value: unknown): Secret & { refreshed: number } {
  const secret = {
    name: 'circle-core/mysql/credentials',
    refreshed: 0,
    text: async () => JSON.stringify(value),
    json: async <T>(schema: z.ZodType<T>) => schema.parse(value),
    refresh: async () => {
      secret.refreshed += 1;
    },
    prefetch: async () => undefined,
    reject: () => undefined,
  };
  return secret;
}

describe('Function: urlCredentials', () => {
  it('reads host, port, user, encoded password and database, and lets overrides win', async () => {
    // Act
    const plain = await urlCredentials('mysql://app:p%40ss@db.example:3307/sales', ENGINE).endpoint();
    const defaults = await urlCredentials('mysql://[::1]', ENGINE, {
      database: 'other',
      port: 4000,
    }).endpoint();
    // Assess
    expect(plain).toEqual({
      host: 'db.example',
      port: 3307,
      user: 'app',
      password: 'p@ss',
      database: 'sales',
    });
    expect(defaults).toEqual({ host: '::1', port: 4000, user: 'root', password: '', database: 'other' });
  });

  it('throws ConfigurationError without echoing an invalid URL, and for one without a host', () => {
    // Act & Assess
    expect(() => urlCredentials('not a url secret-pw', ENGINE)).toThrow(ConfigurationError);
    expect(() => urlCredentials('not a url secret-pw', ENGINE)).not.toThrow(/secret-pw/);
    expect(() => urlCredentials('mysql://', ENGINE)).toThrow(/MYSQL_URL/);
  });

  it('throws ConfigurationError naming the setting for a malformed % escape, without echoing the URL', () => {
    // Act & Assess: a password with a bare "%" (50%off) that was not percent-encoded.
    expect(() => urlCredentials('mysql://app:50%off@db.example/sales', ENGINE)).toThrow(ConfigurationError);
    expect(() => urlCredentials('mysql://app:50%off@db.example/sales', ENGINE)).toThrow(/MYSQL_URL/);
    expect(() => urlCredentials('mysql://app:50%off@db.example/sales', ENGINE)).not.toThrow(/50%off/);
  });

  it('cannot rotate: refresh and prefetch do nothing', async () => {
    // Prepare
    const credentials = urlCredentials('mysql://root@127.0.0.1/test', ENGINE);
    // Act & Assess
    expect(credentials.rotatable).toBe(false);
    await expect(credentials.refresh()).resolves.toBeUndefined();
    await expect(credentials.prefetch()).resolves.toBeUndefined();
  });
});

describe('Function: secretCredentials', () => {
  it('reads the RDS secret shape, defaults the port, and lets overrides win', async () => {
    // Prepare
    const secret = fakeSecret({
      username: 'app',
      password: 'pw',
      host: 'db',
      dbname: 'sales',
      engine: 'mysql',
    });
    // Act
    const plain = await secretCredentials(secret, ENGINE).endpoint();
    const proxied = await secretCredentials(secret, ENGINE, { host: 'proxy', port: 3310 }).endpoint();
    // Assess
    expect(plain).toEqual({ host: 'db', port: 3306, user: 'app', password: 'pw', database: 'sales' });
    expect(proxied).toMatchObject({ host: 'proxy', port: 3310 });
  });

  it('refuses a secret of another engine, and one without a host naming the setting', async () => {
    // Act
    const other = secretCredentials(
      fakeSecret({ username: 'a', password: 'b', host: 'h', engine: 'postgres' }),
      ENGINE,
    );
    const hostless = secretCredentials(fakeSecret({ username: 'a', password: 'b' }), ENGINE);
    // Assess
    await expect(other.endpoint()).rejects.toThrow(/is for engine postgres, not MySQL/);
    await expect(hostless.endpoint()).rejects.toThrow(/has no host: add "host" to it or set MYSQL_HOST/);
  });

  it('is rotatable and refreshes through the secret', async () => {
    // Prepare
    const secret = fakeSecret({ username: 'a', password: 'b', host: 'h' });
    const credentials = secretCredentials(secret, ENGINE);
    // Act
    await credentials.refresh();
    await credentials.prefetch();
    // Assess
    expect(credentials.rotatable).toBe(true);
    expect(secret.refreshed).toBe(1);
  });
});

describe('Function: credentialsFrom', () => {
  it('prefers the secret, falls back to the URL, and names both settings when neither is set', async () => {
    // Act
    const fromSecret = credentialsFrom({ secret: 'name', url: 'mysql://h', secretMaxAgeSeconds: 60 }, ENGINE);
    const fromUrl = credentialsFrom({ url: 'mysql://h/db', secretMaxAgeSeconds: 60 }, ENGINE);
    // Assess
    expect(fromSecret.rotatable).toBe(true);
    await expect(fromUrl.endpoint()).resolves.toMatchObject({ host: 'h', database: 'db' });
    expect(() => credentialsFrom({ secretMaxAgeSeconds: 60 }, ENGINE)).toThrow(
      /MYSQL_SECRET .* or MYSQL_URL/,
    );
  });
});

describe('Function: withIamToken', () => {
  const saved = { ...process.env };
  afterEach(() => {
    process.env = { ...saved };
  });

  it('replaces the password with a token signed for that endpoint at every open', async () => {
    // Prepare
    let signed = 0;
    const credentials = withIamToken(
      urlCredentials('mysql://iam_app:ignored@db.example/sales', ENGINE),
      async (endpoint) => {
        signed += 1;
        return `token-for-${endpoint.user}@${endpoint.host}-${signed}`;
      },
    );
    // Act
    const first = await credentials.endpoint();
    const second = await credentials.endpoint();
    // Assess
    expect(first.password).toBe('token-for-iam_app@db.example-1');
    expect(second.password).toBe('token-for-iam_app@db.example-2');
    expect(credentials.rotatable).toBe(false);
  });

  it('signs a real rds-db:connect token with the SDK signer, offline, from the role credentials', async () => {
    // Prepare
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE', AWS_SECRET_ACCESS_KEY: 'test-secret' });
    const sign = rdsSigner('eu-west-1');
    // Act
    const token = await sign({
      host: 'db.example',
      port: 3306,
      user: 'iam_app',
      password: '',
      database: 'sales',
    });
    // Assess
    expect(token).toMatch(
      /^db\.example:3306\/\?Action=connect&DBUser=iam_app&X-Amz-Algorithm=AWS4-HMAC-SHA256/,
    );
    expect(token).toContain('X-Amz-Credential=AKIDEXAMPLE%2F');
    expect(token).not.toContain('test-secret');
  });

  it('needs a region', async () => {
    // Act & Assess
    await expect(
      rdsSigner(undefined)({ host: 'h', port: 3306, user: 'u', password: '', database: '' }),
    ).rejects.toThrow(/AWS_REGION/);
  });
});
