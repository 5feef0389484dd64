import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { ANSWER_RESERVE_MS } from '../budget.ts';
import { withInvocation } from '../context.ts';
import {
  AuthError,
  ConfigurationError,
  ForbiddenError,
  RateLimitedError,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
} from '../errors.ts';
import { configureSecrets, defineSecret } from '../secrets.ts';
import { oauth2ClientCredentials, type TokenRequest } from './oauth2-client-credentials.ts';

/** What the token endpoint received, decoded independently of the code under test. */
interface Received {
  contentType: string | undefined;
  accept: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
  form: URLSearchParams;
}

type Override =
  | { status: number; body: string; headers?: Record<string, string> }
  | { stall: 'headers' | 'body' }
  | { huge: true };

/**
 * A token endpoint following RFC 6749 §4.4 and §5: client authentication by HTTP Basic (form-encoded
 * id and secret) or in the body, `invalid_client` for wrong credentials, JSON answers.
 */
class FakeTokenEndpoint {
  readonly clients = new Map<string, string>();
  readonly received: Received[] = [];
  readonly overrides: Override[] = [];
  expiresIn: number | string | undefined = 3600;
  delayMs = 0;
  issued = 0;
  readonly server = createServer((req, res) => void this.#handle(req, res));

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    let clientId = form.get('client_id') ?? undefined;
    let clientSecret = form.get('client_secret') ?? undefined;
    const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
    if (basic?.[1] !== undefined) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      const decode = (s: string) => decodeURIComponent(s.replaceAll('+', ' '));
      clientId = decode(decoded.slice(0, colon));
      clientSecret = decode(decoded.slice(colon + 1));
    }
    this.received.push({
      contentType: req.headers['content-type'],
      accept: req.headers.accept,
      clientId,
      clientSecret,
      form,
    });
    if (this.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.delayMs));
    const override = this.overrides.shift();
    if (override !== undefined) {
      if ('stall' in override) {
        if (override.stall === 'body') res.writeHead(200, { 'content-type': 'application/json' }).write('{');
        return; // never ends: the client's timeout has to fire
      }
      if ('huge' in override) {
        res
          .writeHead(200, { 'content-type': 'application/json' })
          .end(`{"access_token":"${'a'.repeat(70_000)}"}`);
        return;
      }
      res
        .writeHead(override.status, { 'content-type': 'application/json', ...override.headers })
        .end(override.body);
      return;
    }
    const json = (status: number, body: unknown) =>
      res
        .writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' })
        .end(JSON.stringify(body));
    if (form.get('grant_type') !== 'client_credentials') {
      json(400, { error: 'unsupported_grant_type' });
      return;
    }
    if (clientId === undefined || this.clients.get(clientId) !== clientSecret) {
      json(401, { error: 'invalid_client', error_description: 'Client authentication failed' });
      return;
    }
    this.issued += 1;
    const token: Record<string, unknown> = { access_token: `tok-${this.issued}`, token_type: 'Bearer' };
    if (this.expiresIn !== undefined) token['expires_in'] = this.expiresIn;
    json(200, token);
  }
}

const endpoint = new FakeTokenEndpoint();
let tokenUrl = '';
const smClient = new SecretsManagerClient({ region: 'us-east-1' });
const sm = mockClient(smClient);
const SECRET = 's3cr+t/ü=& x';

function target() {
  return { url: new URL('https://api.example.com/orders'), headers: {} as Record<string, string> };
}

async function authorizationOf(auth: { apply: (r: ReturnType<typeof target>) => Promise<void> }) {
  const request = target();
  await auth.apply(request);
  return request.headers['authorization'];
}

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.message}\n${JSON.stringify(error)}\n${String(error.stack)}` : '';
}

beforeAll(async () => {
  endpoint.server.listen(0, '127.0.0.1');
  await once(endpoint.server, 'listening');
  tokenUrl = `http://127.0.0.1:${(endpoint.server.address() as AddressInfo).port}/oauth/token`;
});

afterAll(async () => {
  endpoint.server.closeAllConnections();
  endpoint.server.close();
  await once(endpoint.server, 'close');
});

beforeEach(() => {
  endpoint.clients.clear();
  endpoint.clients.set('client:1', SECRET);
  endpoint.received.length = 0;
  endpoint.overrides.length = 0;
  endpoint.expiresIn = 3600;
  endpoint.delayMs = 0;
  endpoint.issued = 0;
  sm.reset();
  configureSecrets({ client: smClient });
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('Function: oauth2ClientCredentials', () => {
  it('throws a ConfigurationError when tokenUrl is not a URL', () => {
    // Act & Assess
    expect(() =>
      oauth2ClientCredentials({ tokenUrl: 'not a url', credentials: { clientId: 'a', clientSecret: 'b' } }),
    ).toThrow(new ConfigurationError('oauth2ClientCredentials tokenUrl is not a valid URL'));
  });

  it.each(['http://login.example.com/token', 'ftp://127.0.0.1/token'])(
    'throws a ConfigurationError for %s: the secret would travel in clear text',
    (url) => {
      // Act & Assess
      expect(() =>
        oauth2ClientCredentials({ tokenUrl: url, credentials: { clientId: 'a', clientSecret: 'b' } }),
      ).toThrow(/must use https/);
    },
  );

  it.each(['https://login.example.com/token', 'http://localhost:8080/token', 'http://[::1]:8080/token'])(
    'accepts %s',
    (url) => {
      // Act & Assess
      expect(() =>
        oauth2ClientCredentials({ tokenUrl: url, credentials: { clientId: 'a', clientSecret: 'b' } }),
      ).not.toThrow();
    },
  );

  it('throws a ConfigurationError naming the field when literal credentials are invalid', () => {
    // Act & Assess
    expect(() =>
      oauth2ClientCredentials({ tokenUrl, credentials: { clientId: 'a', clientSecret: '' } }),
    ).toThrow(new ConfigurationError('oauth2ClientCredentials credentials are invalid: clientSecret'));
  });
});

describe('Class: OAuth2ClientCredentialsAuth', () => {
  describe('Method: apply', () => {
    it('gets a token with HTTP Basic client authentication and sends it as a bearer token', async () => {
      // Prepare
      const auth = oauth2ClientCredentials({
        tokenUrl,
        credentials: { clientId: 'client:1', clientSecret: SECRET },
        scope: 'read:orders write:orders',
        audience: 'https://api.example.com',
      });

      // Act
      const authorization = await authorizationOf(auth);

      // Assess
      expect(authorization).toBe('Bearer tok-1');
      expect(endpoint.received).toHaveLength(1);
      const [received] = endpoint.received;
      expect(received?.contentType).toBe('application/x-www-form-urlencoded');
      expect(received?.accept).toBe('application/json');
      expect(received?.clientId).toBe('client:1');
      expect(received?.clientSecret).toBe(SECRET);
      expect(Object.fromEntries(received?.form ?? [])).toEqual({
        grant_type: 'client_credentials',
        scope: 'read:orders write:orders',
        audience: 'https://api.example.com',
      });
    });

    it('sends the client credentials in the body when asked to', async () => {
      // Prepare
      const auth = oauth2ClientCredentials({
        tokenUrl,
        credentials: { clientId: 'client:1', clientSecret: SECRET },
        clientAuthentication: 'body',
      });

      // Act
      const authorization = await authorizationOf(auth);

      // Assess
      expect(authorization).toBe('Bearer tok-1');
      expect(endpoint.received[0]?.form.get('client_secret')).toBe(SECRET);
    });

    it('reads the client credentials from a secret', async () => {
      // Prepare
      sm.on(GetSecretValueCommand, { SecretId: 'app/oauth' }).resolves({
        SecretString: JSON.stringify({ clientId: 'client:1', clientSecret: SECRET }),
      });
      const auth = oauth2ClientCredentials({ tokenUrl, credentials: defineSecret('app/oauth') });

      // Act
      const authorization = await authorizationOf(auth);

      // Assess
      expect(authorization).toBe('Bearer tok-1');
    });

    it('throws a ConfigurationError naming the field when the secret has a bad shape', async () => {
      // Prepare
      sm.on(GetSecretValueCommand, { SecretId: 'app/oauth-bad' }).resolves({
        SecretString: JSON.stringify({ client_id: 'client:1', clientSecret: SECRET }),
      });
      const auth = oauth2ClientCredentials({ tokenUrl, credentials: defineSecret('app/oauth-bad') });

      // Act & Assess
      await expect(auth.apply(target())).rejects.toThrow(
        'secret app/oauth-bad has an invalid shape: clientId (expected string)',
      );
    });

    it('makes one token request for 20 concurrent calls on a cold cache', async () => {
      // Prepare
      endpoint.delayMs = 30;
      const auth = oauth2ClientCredentials({
        tokenUrl,
        credentials: { clientId: 'client:1', clientSecret: SECRET },
      });

      // Act
      const values = await Promise.all(Array.from({ length: 20 }, () => authorizationOf(auth)));

      // Assess
      expect(new Set(values)).toEqual(new Set(['Bearer tok-1']));
      expect(endpoint.received).toHaveLength(1);
    });

    it('reuses the token until refreshAheadMs before it expires, then gets exactly one new one', async () => {
      // Prepare
      const start = Date.now();
      const now = vi.spyOn(Date, 'now').mockReturnValue(start);
      const auth = oauth2ClientCredentials({
        tokenUrl,
        credentials: { clientId: 'client:1', clientSecret: SECRET },
        refreshAheadMs: 60_000,
      });
      await authorizationOf(auth);
      now.mockReturnValue(start + 3_540_000 - 1);
      const beforeWindow = await authorizationOf(auth);

      // Act
      now.mockReturnValue(start + 3_540_000);
      const inWindow = await Promise.all([
        authorizationOf(auth),
        authorizationOf(auth),
        authorizationOf(auth),
      ]);

      // Assess
      expect(beforeWindow).toBe('Bearer tok-1');
      expect(new Set(inWindow)).toEqual(new Set(['Bearer tok-2']));
      expect(endpoint.received).toHaveLength(2);
    });

    it.each([
      ['renews a token that lives shorter than refreshAheadMs halfway through its life', '30', 15_000],
      ['assumes a five-minute life when the answer has no expires_in', undefined, 240_000],
    ])('%s', async (_title, expiresIn, renewAtMs) => {
      // Prepare
      endpoint.expiresIn = expiresIn;
      const start = Date.now();
      const now = vi.spyOn(Date, 'now').mockReturnValue(start);
      const auth = oauth2ClientCredentials({
        tokenUrl,
        credentials: { clientId: 'client:1', clientSecret: SECRET },
      });
      await authorizationOf(auth);
      now.mockReturnValue(start + renewAtMs - 1);
      const cached = await authorizationOf(auth);

      // Act
      now.mockReturnValue(start + renewAtMs);
      const renewed = await authorizationOf(auth);

      // Assess
      expect(cached).toBe('Bearer tok-1');
      expect(renewed).toBe('Bearer tok-2');
    });

    it('throws an AuthError naming only the OAuth error code when the client is rejected', async () => {
      // Prepare
      const auth = oauth2ClientCredentials({
        tokenUrl,
        credentials: { clientId: 'client:1', clientSecret: 'wrong' },
      });

      // Act
      const error = await auth.apply(target()).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(AuthError);
      expect(error).not.toBeInstanceOf(ForbiddenError);
      expect((error as AuthError).message).toBe(
        `token endpoint ${new URL(tokenUrl).host} rejected the request (invalid_client): Client authentication failed`,
      );
      expect((error as AuthError).details).toEqual({ oauthError: 'invalid_client', status: 401 });
      expect(errorText(error)).not.toContain('wrong');
    });

    it('does not cache a failure: the next call asks for a token again', async () => {
      // Prepare
      endpoint.overrides.push({ status: 503, body: '' });
      const auth = oauth2ClientCredentials({
        tokenUrl,
        credentials: { clientId: 'client:1', clientSecret: SECRET },
      });
      await auth.apply(target()).catch(() => undefined);

      // Act
      const authorization = await authorizationOf(auth);

      // Assess
      expect(authorization).toBe('Bearer tok-1');
      expect(endpoint.received).toHaveLength(2);
    });

    it('truncates the error description, keeps it on one line and redacts the client secret', async () => {
      // Prepare
      endpoint.overrides.push({
        status: 400,
        body: JSON.stringify({
          error: 'invalid_request',
          error_description: `bad\nsecret ${SECRET} ${'x'.repeat(300)}`,
        }),
      });
      const auth = oauth2ClientCredentials({
        tokenUrl,
        credentials: { clientId: 'client:1', clientSecret: SECRET },
      });

      // Act
      const error = await auth.apply(target()).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(AuthError);
      const message = (error as Error).message;
      expect(message).toContain('(invalid_request): bad secret [redacted] xxx');
      expect(message).not.toContain(SECRET);
      expect(message).not.toContain('\n');
      expect(message.length).toBeLessThan(300);
    });

    it.each([
      [
        403,
        JSON.stringify({ error: 'unauthorized_client' }),
        ForbiddenError,
        /rejected the request \(unauthorized_client\)$/,
      ],
      [403, 'Forbidden', ForbiddenError, /answered 403$/],
      [401, '<html>no</html>', AuthError, /answered 401$/],
      [400, '<html>bad</html>', UnexpectedResponseError, /answered 400$/],
      [404, '{}', UnexpectedResponseError, /answered 404$/],
      [502, '', UnavailableError, /answered 502$/],
      [200, 'not json', UnexpectedResponseError, /without a usable token \(\(body\)\)$/],
      [
        200,
        JSON.stringify({ token_type: 'Bearer' }),
        UnexpectedResponseError,
        /usable token \(access_token\)$/,
      ],
      [
        200,
        JSON.stringify({ access_token: 'a', token_type: 'mac' }),
        UnexpectedResponseError,
        /token_type "mac"$/,
      ],
      [
        200,
        JSON.stringify({ access_token: 'a', token_type: 'Bearer', expires_in: -5 }),
        UnexpectedResponseError,
        /usable token \(expires_in\)$/,
      ],
    ])('maps an answer %i %s to %o', async (status, body, type, message) => {
      // Prepare
      endpoint.overrides.push({ status, body });
      const auth = oauth2ClientCredentials({
        tokenUrl,
        credentials: { clientId: 'client:1', clientSecret: SECRET },
      });

      // Act
      const error = await auth.apply(target()).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(type);
      expect((error as Error).message).toMatch(message);
    });

    it.each([
      ['seconds', (): Record<string, string> => ({ 'retry-after': '7' }), 7000],
      // The date is made when the test runs: made at load, a busy machine could age it past the bound.
      [
        'an HTTP date',
        (): Record<string, string> => ({ 'retry-after': new Date(Date.now() + 60_000).toUTCString() }),
        60_000,
      ],
      ['a word', (): Record<string, string> => ({ 'retry-after': 'soon' }), undefined],
      ['nothing', (): Record<string, string> => ({}), undefined],
    ])('throws a RateLimitedError carrying Retry-After given as %s', async (_what, headers, expected) => {
      // Prepare
      endpoint.overrides.push({ status: 429, body: '{"error":"slow_down"}', headers: headers() });
      const auth = oauth2ClientCredentials({
        tokenUrl,
        credentials: { clientId: 'client:1', clientSecret: SECRET },
      });

      // Act
      const error = await auth.apply(target()).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(RateLimitedError);
      const retryAfter = (error as RateLimitedError).retryAfterMs;
      if (expected === undefined) expect(retryAfter).toBeUndefined();
      else expect(retryAfter).toBeGreaterThan(expected - 2_000);
      if (expected !== undefined) expect(retryAfter).toBeLessThanOrEqual(expected);
    });

    it.each(['headers', 'body'] as const)(
      'throws a TimeoutError when the endpoint stalls before the %s end',
      async (stall) => {
        // Prepare
        endpoint.overrides.push({ stall });
        const auth = oauth2ClientCredentials({
          tokenUrl,
          credentials: { clientId: 'client:1', clientSecret: SECRET },
          timeoutMs: 100,
        });

        // Act
        const error = await auth.apply(target()).catch((e: unknown) => e);

        // Assess
        expect(error).toBeInstanceOf(TimeoutError);
        expect((error as Error).message).toMatch(/timed out after 100 ms$/);
      },
    );

    it('caps the request timeout by the time left in the invocation, less the answer reserve', async () => {
      // Prepare
      endpoint.overrides.push({ stall: 'headers' });
      const auth = oauth2ClientCredentials({
        tokenUrl,
        credentials: { clientId: 'client:1', clientSecret: SECRET },
      });

      // Act: 1,200 ms left less the core's 200 ms reserve leaves at most a 1,000 ms request (less on a busy
      // machine, by however long it took to get there).
      const error = await withInvocation({ deadline: Date.now() + 1_200, correlationId: 'c-1' }, () =>
        auth.apply(target()).catch((e: unknown) => e),
      );

      // Assess
      expect(error).toBeInstanceOf(TimeoutError);
      const bound = Number(/timed out after (\d+) ms$/.exec((error as Error).message)?.[1]);
      expect(bound).toBeGreaterThan(0);
      expect(bound).toBeLessThanOrEqual(1_200 - ANSWER_RESERVE_MS);
    });

    it('throws a TimeoutError without a request when the invocation has no time left', async () => {
      // Prepare
      const auth = oauth2ClientCredentials({
        tokenUrl,
        credentials: { clientId: 'client:1', clientSecret: SECRET },
      });

      // Act
      const error = await withInvocation({ deadline: Date.now() - 1, correlationId: 'c-2' }, () =>
        auth.apply(target()).catch((e: unknown) => e),
      );

      // Assess
      expect(error).toBeInstanceOf(TimeoutError);
      expect(endpoint.received).toHaveLength(0);
    });

    it('throws an UnexpectedResponseError when the answer exceeds the size cap', async () => {
      // Prepare
      endpoint.overrides.push({ huge: true });
      const auth = oauth2ClientCredentials({
        tokenUrl,
        credentials: { clientId: 'client:1', clientSecret: SECRET },
      });

      // Act & Assess
      await expect(auth.apply(target())).rejects.toThrow(
        new UnexpectedResponseError('token endpoint answer exceeds 65536 bytes'),
      );
    });

    it('throws an UnavailableError when the endpoint refuses connections', async () => {
      // Prepare
      const closed = createServer();
      closed.listen(0, '127.0.0.1');
      await once(closed, 'listening');
      const port = (closed.address() as AddressInfo).port;
      closed.close();
      await once(closed, 'close');
      const auth = oauth2ClientCredentials({
        tokenUrl: `http://127.0.0.1:${port}/token`,
        credentials: { clientId: 'client:1', clientSecret: SECRET },
      });

      // Act
      const error = await auth.apply(target()).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(UnavailableError);
      expect((error as Error).message).toBe(`token request to 127.0.0.1:${port} failed (ECONNREFUSED)`);
    });

    it('sends the token request through an injected post function', async () => {
      // Prepare
      const seen: TokenRequest[] = [];
      const auth = oauth2ClientCredentials({
        tokenUrl: 'https://login.example.com/oauth/token',
        credentials: { clientId: 'id', clientSecret: 'pw' },
        timeoutMs: 2_000,
        post: async (request) => {
          seen.push(request);
          return {
            status: 200,
            headers: {},
            body: '{"access_token":"inj","token_type":"bearer","expires_in":60}',
          };
        },
      });

      // Act
      const authorization = await authorizationOf(auth);

      // Assess
      expect(authorization).toBe('Bearer inj');
      expect(seen).toHaveLength(1);
      expect(seen[0]?.url.href).toBe('https://login.example.com/oauth/token');
      expect(seen[0]?.body).toBe('grant_type=client_credentials');
      expect(seen[0]?.timeoutMs).toBe(2_000);
      expect(seen[0]?.headers['authorization']).toBe(`Basic ${Buffer.from('id:pw').toString('base64')}`);
    });
  });

  describe('Method: refresh', () => {
    it('drops the token, re-reads the rotated client secret and reports a retry is worthwhile', async () => {
      // Prepare
      sm.on(GetSecretValueCommand, { SecretId: 'app/oauth-rotating' })
        .resolvesOnce({ SecretString: JSON.stringify({ clientId: 'client:1', clientSecret: SECRET }) })
        .resolves({ SecretString: JSON.stringify({ clientId: 'client:1', clientSecret: 'rotated' }) });
      const auth = oauth2ClientCredentials({ tokenUrl, credentials: defineSecret('app/oauth-rotating') });
      await authorizationOf(auth);
      endpoint.clients.set('client:1', 'rotated');

      // Act
      const retry = await auth.refresh?.();
      const authorization = await authorizationOf(auth);

      // Assess
      expect(retry).toBe(true);
      expect(authorization).toBe('Bearer tok-2');
      expect(endpoint.received.map((r) => r.clientSecret)).toEqual([SECRET, 'rotated']);
    });

    it('drops the token of literal credentials and reports a retry is worthwhile', async () => {
      // Prepare
      const auth = oauth2ClientCredentials({
        tokenUrl,
        credentials: { clientId: 'client:1', clientSecret: SECRET },
      });
      await authorizationOf(auth);

      // Act
      const retry = await auth.refresh?.();
      const authorization = await authorizationOf(auth);

      // Assess
      expect(retry).toBe(true);
      expect(authorization).toBe('Bearer tok-2');
    });

    it('keeps a token requested before the refresh out of the cache', async () => {
      // Prepare
      endpoint.delayMs = 50;
      const auth = oauth2ClientCredentials({
        tokenUrl,
        credentials: { clientId: 'client:1', clientSecret: SECRET },
      });
      const early = authorizationOf(auth);
      await new Promise((resolve) => setTimeout(resolve, 10));

      // Act
      await auth.refresh?.();
      const late = await authorizationOf(auth);
      const again = await authorizationOf(auth);

      // Assess
      expect(await early).toBe('Bearer tok-1');
      expect(late).toBe('Bearer tok-2');
      expect(again).toBe('Bearer tok-2');
      expect(endpoint.received).toHaveLength(2);
    });

    it('keeps a failure of a token requested before the refresh from clearing the new request', async () => {
      // Prepare
      endpoint.delayMs = 50;
      endpoint.overrides.push({ status: 503, body: '' });
      const auth = oauth2ClientCredentials({
        tokenUrl,
        credentials: { clientId: 'client:1', clientSecret: SECRET },
      });
      const early = auth.apply(target()).catch((e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 10));
      await auth.refresh?.();

      // Act
      const late = await Promise.all([authorizationOf(auth), authorizationOf(auth)]);

      // Assess
      expect(await early).toBeInstanceOf(UnavailableError);
      expect(late).toEqual(['Bearer tok-1', 'Bearer tok-1']);
      expect(endpoint.received).toHaveLength(2);
    });
  });
});
