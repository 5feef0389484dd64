import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import * as z from 'zod';
import { ConfigurationError, RateLimitedError, UnavailableError } from './errors.ts';
import { configureSecrets, defineSecret, INVALID_SECRET_RETRY_MS } from './secrets.ts';

/** What the fake store answers for one SecretId. */
type Answer =
  | { secretString: string }
  | { secretBinary: string }
  | { empty: true }
  | { error: string; status?: number; message?: string };

/**
 * A Secrets Manager stand-in speaking the real JSON 1.1 protocol for GetSecretValue, so the real SDK client
 * (signing, endpoint resolution, error parsing) is exercised end to end.
 */
class FakeSecretsManager {
  readonly answers = new Map<string, Answer>();
  readonly calls = new Map<string, number>();
  delayMs = 0;
  readonly server: Server;

  constructor() {
    this.server = createServer((req, res) => void this.#handle(req, res));
  }

  callsFor(name: string): number {
    return this.calls.get(name) ?? 0;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'POST' || req.headers['x-amz-target'] !== 'secretsmanager.GetSecretValue') {
      reply(400, { __type: 'UnknownOperationException', message: 'unsupported' });
      return;
    }
    const { SecretId } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { SecretId: string };
    this.calls.set(SecretId, this.callsFor(SecretId) + 1);
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const answer = this.answers.get(SecretId);
    if (answer === undefined) {
      reply(400, {
        __type: 'ResourceNotFoundException',
        message: "Secrets Manager can't find the specified secret.",
      });
      return;
    }
    if ('error' in answer) {
      reply(answer.status ?? 400, { __type: answer.error, message: answer.message ?? 'failed' });
      return;
    }
    const base = { ARN: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${SecretId}`, Name: SecretId };
    if ('secretString' in answer) {
      reply(200, { ...base, SecretString: answer.secretString, VersionId: 'v1' });
    } else if ('secretBinary' in answer) {
      reply(200, { ...base, SecretBinary: answer.secretBinary, VersionId: 'v1' });
    } else {
      reply(200, { ...base, VersionId: 'v1' });
    }
  }
}

const fake = new FakeSecretsManager();
let endpoint = '';
const savedEnv = { ...process.env };

/** A client that does not retry, so failure tests count exactly one call and stay fast. */
function noRetryClient(): SecretsManagerClient {
  return new SecretsManagerClient({ maxAttempts: 1 });
}

/**
 * Both ways a value is read, without retries: the SDK client (a configured client, or no credentials in
 * the environment) and the hand-signed request (Lambda's environment). Failures must read the same.
 */
const READERS = [
  ['the SDK client', () => configureSecrets({ client: noRetryClient() })],
  ['a hand-signed request', () => configureSecrets({ maxAttempts: 1 })],
] as const;

function errorText(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current instanceof Error) {
    parts.push(current.message, JSON.stringify(current), String(current.stack));
    current = current.cause;
  }
  return parts.join('\n');
}

beforeAll(async () => {
  fake.server.listen(0, '127.0.0.1');
  await once(fake.server, 'listening');
  endpoint = `http://127.0.0.1:${(fake.server.address() as AddressInfo).port}`;
  process.env['AWS_ACCESS_KEY_ID'] = 'AKIDFAKE';
  process.env['AWS_SECRET_ACCESS_KEY'] = 'fake-secret-key';
  process.env['AWS_REGION'] = 'us-east-1';
  process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] = endpoint;
});

afterAll(async () => {
  process.env = savedEnv;
  configureSecrets({});
  fake.server.close();
  await once(fake.server, 'close');
});

beforeEach(() => {
  fake.answers.clear();
  fake.calls.clear();
  fake.delayMs = 0;
  configureSecrets({});
});

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('Function: defineSecret', () => {
  it('throws a ConfigurationError when the name is empty', () => {
    // Act & Assess
    expect(() => defineSecret(' ')).toThrow(ConfigurationError);
  });

  it('throws a ConfigurationError when maxAgeSeconds is negative', () => {
    // Act & Assess
    expect(() => defineSecret('app/x', { maxAgeSeconds: -1 })).toThrow(/maxAgeSeconds for secret app\/x/);
  });

  it('exposes the name it was declared with', () => {
    // Act
    const secret = defineSecret('app/named');

    // Assess
    expect(secret.name).toBe('app/named');
  });
});

describe('Class: Secret', () => {
  describe('Method: text', () => {
    it('reads the SecretString from the endpoint in AWS_ENDPOINT_URL_SECRETS_MANAGER with the default client', async () => {
      // Prepare
      fake.answers.set('app/token', { secretString: 'xoxb-1' });

      // Act
      const value = await defineSecret('app/token').text();

      // Assess
      expect(value).toBe('xoxb-1');
      expect(fake.callsFor('app/token')).toBe(1);
    });

    it('reads from the endpoint in AWS_ENDPOINT_URL when no service-specific variable is set', async () => {
      // Prepare
      fake.answers.set('app/generic', { secretString: 'generic-value' });
      delete process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'];
      process.env['AWS_ENDPOINT_URL'] = endpoint;
      try {
        configureSecrets({});

        // Act
        const value = await defineSecret('app/generic').text();

        // Assess
        expect(value).toBe('generic-value');
        expect(fake.callsFor('app/generic')).toBe(1);
      } finally {
        delete process.env['AWS_ENDPOINT_URL'];
        process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] = endpoint;
      }
    });

    it('makes one GetSecretValue call for 100 concurrent reads on a cold cache', async () => {
      // Prepare
      fake.answers.set('app/hot', { secretString: 'hot' });
      fake.delayMs = 20;
      const secret = defineSecret('app/hot');

      // Act
      const values = await Promise.all(Array.from({ length: 100 }, () => secret.text()));

      // Assess
      expect(new Set(values)).toEqual(new Set(['hot']));
      expect(fake.callsFor('app/hot')).toBe(1);
    });

    it('serves 100 reads within the max age from one call and makes exactly one more after expiry', async () => {
      // Prepare
      fake.answers.set('app/aged', { secretString: 'old' });
      const secret = defineSecret('app/aged', { maxAgeSeconds: 60 });
      const start = Date.now();
      const now = vi.spyOn(Date, 'now').mockReturnValue(start);
      for (let i = 0; i < 100; i++) await secret.text();
      fake.answers.set('app/aged', { secretString: 'new' });
      now.mockReturnValue(start + 59_999);
      const beforeExpiry = await secret.text();

      // Act
      now.mockReturnValue(start + 60_000);
      const afterExpiry = await Promise.all(Array.from({ length: 100 }, () => secret.text()));

      // Assess
      expect(beforeExpiry).toBe('old');
      expect(new Set(afterExpiry)).toEqual(new Set(['new']));
      expect(fake.callsFor('app/aged')).toBe(2);
    });

    it('fetches on every read when maxAgeSeconds is 0', async () => {
      // Prepare
      fake.answers.set('app/uncached', { secretString: 'v' });
      const secret = defineSecret('app/uncached', { maxAgeSeconds: 0 });

      // Act
      await secret.text();
      await secret.text();

      // Assess
      expect(fake.callsFor('app/uncached')).toBe(2);
    });

    it('shares the cached value between handles on the same secret', async () => {
      // Prepare
      fake.answers.set('app/shared', { secretString: 'shared' });
      await defineSecret('app/shared').text();

      // Act
      const value = await defineSecret('app/shared').text();

      // Assess
      expect(value).toBe('shared');
      expect(fake.callsFor('app/shared')).toBe(1);
    });

    it('decodes a binary secret as UTF-8', async () => {
      // Prepare
      fake.answers.set('app/binary', { secretBinary: Buffer.from('bin-värde').toString('base64') });

      // Act
      const value = await defineSecret('app/binary').text();

      // Assess
      expect(value).toBe('bin-värde');
    });

    it('throws a ConfigurationError when the secret has neither a string nor a binary value', async () => {
      // Prepare
      fake.answers.set('app/empty', { empty: true });

      // Act & Assess
      await expect(defineSecret('app/empty').text()).rejects.toThrow('secret app/empty has no value');
    });

    it('throws a ConfigurationError naming the secret when it does not exist', async () => {
      // Act
      const error = await defineSecret('app/missing')
        .text()
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).message).toBe('secret app/missing was not found');
      expect((error as ConfigurationError).details).toEqual({
        service: 'Secrets Manager',
        action: 'GetSecretValue',
        awsError: 'ResourceNotFoundException',
        httpStatus: 400,
        secret: 'app/missing',
      });
    });

    it('throws a ConfigurationError naming the missing permission when access is denied', async () => {
      // Prepare
      fake.answers.set('app/denied', { error: 'AccessDeniedException' });

      // Act
      const error = await defineSecret('app/denied')
        .text()
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toContain('app/denied');
      expect((error as Error).message).toContain('secretsmanager:GetSecretValue');
    });

    it.each(
      READERS.flatMap(([reader, configure]) =>
        [
          ['DecryptionFailure', /could not be decrypted.*kms:Decrypt/],
          ['InvalidRequestException', /app\/bad failed \(InvalidRequestException\): check the name/],
          ['InvalidParameterException', /app\/bad failed \(InvalidParameterException\): check the name/],
          [
            'UnrecognizedClientException',
            /failed \(UnrecognizedClientException\): AWS rejected the credentials/,
          ],
          ['SomeFutureClientException', /on secret app\/bad failed \(SomeFutureClientException\)/],
        ].map(([type, message]) => [type as string, reader, message as RegExp, configure] as const),
      ),
    )(
      'throws a ConfigurationError when Secrets Manager answers %s (%s)',
      async (type, _reader, message, configure) => {
        // Prepare
        configure();
        fake.answers.set('app/bad', { error: type });

        // Act
        const error = await defineSecret('app/bad')
          .text()
          .catch((e: unknown) => e);

        // Assess
        expect(error).toBeInstanceOf(ConfigurationError);
        expect((error as Error).message).toMatch(message);
        expect(fake.callsFor('app/bad')).toBe(1);
      },
    );

    it.each(
      READERS.flatMap(([reader, configure]) =>
        (
          [
            ['ThrottlingException', 400, RateLimitedError],
            ['InternalServiceError', 500, UnavailableError],
            ['ServiceUnavailable', 503, UnavailableError],
          ] as const
        ).map(([type, status, expected]) => [type, status, reader, expected, configure] as const),
      ),
    )(
      'throws a retryable error when Secrets Manager answers %s (%i, %s)',
      async (type, status, _reader, expected, configure) => {
        // Prepare
        configure();
        fake.answers.set('app/flaky', { error: type, status });

        // Act
        const error = await defineSecret('app/flaky')
          .text()
          .catch((e: unknown) => e);

        // Assess
        expect(error).toBeInstanceOf(expected);
        expect((error as UnavailableError).retryable).toBe(true);
        expect((error as Error).message).toContain(`secret app/flaky failed (${type})`);
      },
    );

    it.each(['the SDK client', 'a hand-signed request'])(
      'throws an UnavailableError when the endpoint refuses connections (%s)',
      async (reader) => {
        // Prepare
        const closed = createServer();
        closed.listen(0, '127.0.0.1');
        await once(closed, 'listening');
        const port = (closed.address() as AddressInfo).port;
        closed.close();
        await once(closed, 'close');
        if (reader === 'the SDK client') {
          configureSecrets({
            client: new SecretsManagerClient({ maxAttempts: 1, endpoint: `http://127.0.0.1:${port}` }),
          });
        } else {
          vi.stubEnv('AWS_ENDPOINT_URL_SECRETS_MANAGER', `http://127.0.0.1:${port}`);
          configureSecrets({ maxAttempts: 1 });
        }

        // Act
        const error = await defineSecret('app/offline')
          .text()
          .catch((e: unknown) => e);

        // Assess
        expect(error).toBeInstanceOf(UnavailableError);
        expect((error as Error).message).toMatch(
          /^Secrets Manager GetSecretValue on secret app\/offline failed \(ECONNREFUSED\)/,
        );
      },
    );

    it('does not cache a failure: the next read asks the store again', async () => {
      // Prepare
      configureSecrets({ client: noRetryClient() });
      fake.answers.set('app/later', { error: 'InternalServiceError', status: 500 });
      const secret = defineSecret('app/later');
      await secret.text().catch(() => undefined);
      fake.answers.set('app/later', { secretString: 'now-there' });

      // Act
      const value = await secret.text();

      // Assess
      expect(value).toBe('now-there');
      expect(fake.callsFor('app/later')).toBe(2);
    });

    it('never puts the secret value into an error, its cause or its details', async () => {
      // Prepare
      const distinctive = 'S3cr3t-VALUE-9f8e7d';
      fake.answers.set('app/leaky', { secretString: `{"username": 42, "password": "${distinctive}"` });
      const secret = defineSecret('app/leaky');

      // Act
      const notJson = await secret.json(z.object({ password: z.string() })).catch((e: unknown) => e);
      fake.answers.set('app/leaky', {
        secretString: JSON.stringify({ username: 42, password: distinctive }),
      });
      await secret.refresh();
      const badShape = await secret
        .json(z.object({ username: z.string(), password: z.number() }))
        .catch((e: unknown) => e);

      // Assess
      expect(notJson).toBeInstanceOf(ConfigurationError);
      expect(badShape).toBeInstanceOf(ConfigurationError);
      expect(errorText(notJson)).not.toContain(distinctive);
      expect(errorText(badShape)).not.toContain(distinctive);
    });
  });

  describe('Method: json', () => {
    it('parses and validates the secret with the schema', async () => {
      // Prepare
      fake.answers.set('app/rds', {
        secretString: JSON.stringify({
          username: 'app',
          password: 'pw',
          host: 'db',
          port: 5432,
          engine: 'postgres',
        }),
      });
      const Rds = z.object({
        username: z.string(),
        password: z.string(),
        host: z.string(),
        port: z.number(),
      });

      // Act
      const value = await defineSecret('app/rds').json(Rds);

      // Assess
      expect(value).toEqual({ username: 'app', password: 'pw', host: 'db', port: 5432 });
    });

    it('returns the same parsed object until the value changes', async () => {
      // Prepare
      fake.answers.set('app/parsed', { secretString: '{"a":"1"}' });
      const secret = defineSecret('app/parsed');
      const Schema = z.object({ a: z.string() });
      const first = await secret.json(Schema);

      // Act
      const second = await secret.json(Schema);
      fake.answers.set('app/parsed', { secretString: '{"a":"2"}' });
      await secret.refresh();
      const third = await secret.json(Schema);

      // Assess
      expect(second).toBe(first);
      expect(third).toEqual({ a: '2' });
    });

    it('throws a ConfigurationError naming the secret and every bad field', async () => {
      // Prepare
      fake.answers.set('app/shape', { secretString: JSON.stringify({ username: 7, extra: true }) });

      // Act
      const error = await defineSecret('app/shape')
        .json(z.object({ username: z.string(), password: z.string(), port: z.number().min(1).optional() }))
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as Error).message).toBe(
        'secret app/shape has an invalid shape: username (expected string), password (expected string)',
      );
    });

    it('names nested fields and non-type issues', async () => {
      // Prepare
      fake.answers.set('app/nested', { secretString: JSON.stringify({ db: { port: 0 } }) });

      // Act
      const error = await defineSecret('app/nested')
        .json(z.object({ db: z.object({ port: z.number().min(1) }) }))
        .catch((e: unknown) => e);

      // Assess
      expect((error as Error).message).toBe(
        'secret app/nested has an invalid shape: db.port (expected at least 1)',
      );
    });

    it.each([
      [z.object({ name: z.string().max(2) }), { name: 'abc' }, 'name (expected at most 2)'],
      [z.object({ email: z.email() }), { email: 'nope' }, 'email (expected email)'],
      [z.object({ n: z.number().refine((v) => v % 2 === 0, 'must be even') }), { n: 3 }, 'n (must be even)'],
      [z.object({ mode: z.enum(['a', 'b']) }), { mode: 'c' }, 'mode (expected one of "a", "b")'],
    ])('describes what was expected without the value (%#)', async (schema, value, described) => {
      // Prepare
      fake.answers.set('app/described', { secretString: JSON.stringify(value) });

      // Act
      const error = await defineSecret('app/described')
        .json(schema as z.ZodType<unknown>)
        .catch((e: unknown) => e);

      // Assess
      expect((error as Error).message).toBe(`secret app/described has an invalid shape: ${described}`);
    });

    it('names the root when the value is not an object', async () => {
      // Prepare
      fake.answers.set('app/scalar', { secretString: '"just-a-string"' });

      // Act
      const error = await defineSecret('app/scalar')
        .json(z.object({ a: z.string() }))
        .catch((e: unknown) => e);

      // Assess
      expect((error as Error).message).toBe(
        'secret app/scalar has an invalid shape: (root) (expected object)',
      );
    });

    it('rejects a prototype-polluting payload as invalid JSON', async () => {
      // Prepare
      fake.answers.set('app/proto', { secretString: '{"__proto__":{"admin":true}}' });

      // Act & Assess
      await expect(defineSecret('app/proto').json(z.object({}))).rejects.toThrow(
        'secret app/proto is not valid JSON',
      );
    });
  });

  describe('Method: reject', () => {
    it.each([
      ['not JSON', '{"user": '],
      ['the wrong shape', '{"user": 42}'],
    ])('fetches a value that is %s again after the retry window, not after the max age', async (_, bad) => {
      // Prepare
      fake.answers.set('app/broken', { secretString: bad });
      const secret = defineSecret('app/broken', { maxAgeSeconds: 300 });
      const schema = z.object({ user: z.string() });
      const start = Date.now();
      const now = vi.spyOn(Date, 'now').mockReturnValue(start);
      const failures = await Promise.allSettled([secret.json(schema), secret.json(schema)]);
      fake.answers.set('app/broken', { secretString: '{"user":"fixed"}' });
      now.mockReturnValue(start + INVALID_SECRET_RETRY_MS - 1);
      const withinWindow = await secret.json(schema).catch((error: unknown) => error);

      // Act
      now.mockReturnValue(start + INVALID_SECRET_RETRY_MS);
      const fixed = await secret.json(schema);
      now.mockReturnValue(start + 200_000);
      const cached = await secret.json(schema);

      // Assess
      expect(failures.map((failure) => failure.status)).toEqual(['rejected', 'rejected']);
      expect(withinWindow).toBeInstanceOf(ConfigurationError);
      expect(fixed).toEqual({ user: 'fixed' });
      expect(cached).toEqual({ user: 'fixed' });
      expect(fake.callsFor('app/broken')).toBe(2);
    });

    it('does nothing before a value was fetched', async () => {
      // Prepare
      fake.answers.set('app/unread', { secretString: 'value' });
      const secret = defineSecret('app/unread');

      // Act
      secret.reject();

      // Assess
      expect(await secret.text()).toBe('value');
      expect(fake.callsFor('app/unread')).toBe(1);
    });
  });

  describe('Method: refresh', () => {
    it('fetches again within the max age and serves the rotated value afterwards', async () => {
      // Prepare
      fake.answers.set('app/rotating', { secretString: 'v1' });
      const secret = defineSecret('app/rotating');
      await secret.text();
      fake.answers.set('app/rotating', { secretString: 'v2' });

      // Act
      await secret.refresh();
      const value = await secret.text();

      // Assess
      expect(value).toBe('v2');
      expect(fake.callsFor('app/rotating')).toBe(2);
    });

    it('joins a fetch already in flight instead of starting another', async () => {
      // Prepare
      fake.answers.set('app/joined', { secretString: 'v' });
      fake.delayMs = 20;
      const secret = defineSecret('app/joined');

      // Act
      await Promise.all([secret.text(), secret.refresh(), secret.refresh()]);

      // Assess
      expect(fake.callsFor('app/joined')).toBe(1);
    });

    it('throws the mapped error when the fetch fails', async () => {
      // Act & Assess
      await expect(defineSecret('app/gone').refresh()).rejects.toThrow('secret app/gone was not found');
    });
  });

  describe('Method: prefetch', () => {
    it('fills the cache so the first read makes no call', async () => {
      // Prepare
      fake.answers.set('app/early', { secretString: 'early' });
      const secret = defineSecret('app/early');

      // Act
      await secret.prefetch();
      const value = await secret.text();

      // Assess
      expect(value).toBe('early');
      expect(fake.callsFor('app/early')).toBe(1);
    });

    it('resolves on failure, and the first use fetches again', async () => {
      // Prepare
      const secret = defineSecret('app/not-yet');

      // Act
      await expect(secret.prefetch()).resolves.toBeUndefined();
      const first = await secret.text().catch((e: unknown) => e);
      fake.answers.set('app/not-yet', { secretString: 'created' });
      const second = await secret.text();

      // Assess
      expect(first).toBeInstanceOf(ConfigurationError);
      expect((first as Error).message).toBe('secret app/not-yet was not found');
      expect(second).toBe('created');
      expect(fake.callsFor('app/not-yet')).toBe(3);
    });

    it('picks up a secret created after a failed prefetch on the first use', async () => {
      // Prepare
      const secret = defineSecret('app/late');
      await secret.prefetch();
      fake.answers.set('app/late', { secretString: 'late' });

      // Act
      const value = await secret.text();

      // Assess
      expect(value).toBe('late');
    });

    it('forgets a remembered error when refresh succeeds', async () => {
      // Prepare
      const secret = defineSecret('app/fixed');
      await secret.prefetch();
      fake.answers.set('app/fixed', { secretString: 'fixed' });

      // Act
      await secret.refresh();
      const value = await secret.text();

      // Assess
      expect(value).toBe('fixed');
    });
  });
});

describe('Function: configureSecrets', () => {
  it('switches existing handles to the new client and clears their cache', async () => {
    // Prepare
    fake.answers.set('app/switch', { secretString: 'from-env-client' });
    const secret = defineSecret('app/switch');
    await secret.text();
    const sent = vi.fn();
    const client = new SecretsManagerClient({ maxAttempts: 1 });
    client.middlewareStack.add(
      (next) => async (args) => {
        sent();
        return next(args);
      },
      { step: 'initialize' },
    );

    // Act
    configureSecrets({ client });
    const value = await secret.text();

    // Assess
    expect(value).toBe('from-env-client');
    expect(sent).toHaveBeenCalledTimes(1);
    expect(fake.callsFor('app/switch')).toBe(2);
  });
});
