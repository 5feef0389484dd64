import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer as createHttpsServer, Agent as HttpsAgent } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RequestAuth } from '../auth/types.ts';
import { withInvocation } from '../context.ts';
import {
  AuthError,
  ConfigurationError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  UnavailableError,
  ValidationError,
} from '../errors.ts';
import { resetCircuitBreakers } from './circuit-breaker.ts';
import { HttpClient } from './client.ts';
import { rejection, reply, sequence, startServer, type TestServer, testClients } from './testing/server.ts';

let server: TestServer;
const clients = testClients(() => server.origin);
const client = clients.make;

/** An auth that sets a bearer token and, on refresh, switches to `fresh` (or refuses to). */
function bearer(refreshable = true): RequestAuth & { token: string; applied: number; refreshed: number } {
  const auth = {
    token: 'stale',
    applied: 0,
    refreshed: 0,
    async apply(request: { url: URL; headers: Record<string, string> }) {
      auth.applied += 1;
      request.headers['Authorization'] = `Bearer ${auth.token}`;
    },
    async refresh() {
      auth.refreshed += 1;
      if (!refreshable) return false;
      auth.token = 'fresh';
      return true;
    },
  };
  return auth;
}

const byToken = (request: { headers: Record<string, string | string[] | undefined> }) =>
  request.headers['authorization'] === 'Bearer fresh';

beforeAll(async () => {
  server = await startServer();
});

afterEach(() => {
  clients.closeAll();
  resetCircuitBreakers();
  server.requests.length = 0;
  server.handle(reply(200, { ok: true }));
});

afterAll(() => server.close());

describe('Class: HttpClient', () => {
  describe('Method: request', () => {
    it('joins baseUrl, path and query and returns the parsed JSON answer', async () => {
      // Prepare
      server.handle(reply(200, { id: 7 }, { 'x-request-id': 'r-1' }));
      const acme = client({ baseUrl: `${server.origin}/v1/` });

      // Act
      const response = await acme.request<{ id: number }>({
        method: 'GET',
        path: '/items',
        query: { page: 2, all: true, skip: undefined, q: 'a b' },
      });

      // Assess
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ id: 7 });
      expect(response.headers['x-request-id']).toBe('r-1');
      expect(response.url).toBe(`${server.origin}/v1/items?page=2&all=true&q=a+b`);
      expect(server.requests[0]?.url).toBe('/v1/items?page=2&all=true&q=a+b');
    });

    it('answers the bytes of a 2xx answer as received with `bytes`, and still maps a failure', async () => {
      // Prepare
      const bytes = Buffer.from([0xff, 0xfe, 0x00, 0x80, 0x41]);
      server.handle((_request, response) => {
        response.writeHead(200, { 'content-type': 'text/plain' });
        response.end(bytes);
      });
      const acme = client();

      // Act
      const raw = await acme.request({ method: 'GET', path: '/media', bytes: true });
      const text = await acme.request({ method: 'GET', path: '/media' });
      server.handle(reply(404, { error: 'gone' }));
      const missing = await acme
        .request({ method: 'GET', path: '/media', bytes: true })
        .catch((error: unknown) => error);

      // Assess
      expect(Buffer.isBuffer(raw.body) && raw.body.equals(bytes)).toBe(true);
      expect(typeof text.body).toBe('string');
      expect(missing).toMatchObject({ name: 'NotFoundError' });
    });

    it('uses an absolute url over baseUrl and path', async () => {
      // Prepare
      const acme = client({ baseUrl: 'http://127.0.0.1:1/unused' });

      // Act
      await acme.request({ method: 'GET', url: `${server.origin}/direct`, path: '/ignored' });

      // Assess
      expect(server.requests[0]?.url).toBe('/direct');
    });

    it('calls baseUrl itself when no path is given', async () => {
      // Act
      await client({ baseUrl: `${server.origin}/hook` }).request({ method: 'GET' });

      // Assess
      expect(server.requests[0]?.url).toBe('/hook');
    });

    it('sends default headers, the correlation id of the invocation and caller headers', async () => {
      // Prepare
      const acme = client({ headers: { 'X-Team': 'core' } });

      // Act
      await withInvocation({ deadline: Date.now() + 60_000, correlationId: 'corr-42' }, () =>
        acme.request({ method: 'GET', path: '/h', headers: { Accept: 'text/csv' } }),
      );

      // Assess
      const headers = server.requests[0]?.headers;
      expect(headers?.['user-agent']).toBe('circle-core/Acme');
      expect(headers?.['accept']).toBe('text/csv');
      expect(headers?.['x-team']).toBe('core');
      expect(headers?.['x-correlation-id']).toBe('corr-42');
    });

    it('sends no correlation id outside an invocation and accepts JSON by default', async () => {
      // Act
      await client({ provider: 'Google Cloud' }).request({ method: 'GET', path: '/h' });

      // Assess
      const headers = server.requests[0]?.headers;
      expect(headers?.['x-correlation-id']).toBeUndefined();
      expect(headers?.['accept']).toBe('application/json');
      expect(headers?.['user-agent']).toBe('circle-core/Google-Cloud');
    });

    it('serialises json bodies as application/json', async () => {
      // Act
      await client().request({ method: 'POST', path: '/items', json: { name: 'x', n: 1 } });

      // Assess
      expect(server.requests[0]?.method).toBe('POST');
      expect(server.requests[0]?.headers['content-type']).toBe('application/json');
      expect(server.requests[0]?.body).toBe('{"name":"x","n":1}');
    });

    it('sends raw string and byte bodies with the caller content-type', async () => {
      // Prepare
      const acme = client();

      // Act
      await acme.request({
        method: 'PUT',
        path: '/a',
        body: 'a,b\n1,2',
        headers: { 'content-type': 'text/csv' },
      });
      await acme.request({ method: 'PUT', path: '/b', body: new Uint8Array([104, 105]) });

      // Assess
      expect(server.requests[0]?.headers['content-type']).toBe('text/csv');
      expect(server.requests[0]?.body).toBe('a,b\n1,2');
      expect(server.requests[1]?.body).toBe('hi');
      expect(server.requests[1]?.headers['content-length']).toBe('2');
    });

    it('returns text for non-JSON answers and undefined for empty ones and HEAD', async () => {
      // Prepare
      const acme = client();
      server.handle((request, response) => {
        if (request.url === '/text') {
          response.setHeader('content-type', 'text/plain');
          response.end('hello');
        } else if (request.url === '/empty') {
          response.writeHead(204).end();
        } else {
          reply(200, { ok: true })(request, response, undefined as never);
        }
      });

      // Act
      const text = await acme.request({ method: 'GET', path: '/text' });
      const empty = await acme.request({ method: 'DELETE', path: '/empty' });
      const head = await acme.request({ method: 'HEAD', path: '/json' });

      // Assess
      expect(text.body).toBe('hello');
      expect(empty.status).toBe(204);
      expect(empty.body).toBeUndefined();
      expect(head.body).toBeUndefined();
      expect(head.headers['content-type']).toBe('application/json');
    });

    it('joins repeated response headers', async () => {
      // Prepare
      server.handle((_request, response) => {
        response.setHeader('set-cookie', ['a=1', 'b=2']);
        response.end();
      });

      // Act
      const response = await client().request({ method: 'GET', path: '/' });

      // Assess
      expect(response.headers['set-cookie']).toBe('a=1, b=2');
    });

    it('reuses one TCP connection for 100 sequential calls', async () => {
      // Prepare
      const acme = client();
      const before = server.connections;

      // Act
      for (let i = 0; i < 100; i += 1) await acme.request({ method: 'GET', path: `/n/${i}` });

      // Assess
      expect(acme.stats).toEqual({ socketsOpened: 1, attempts: 100 });
      expect(server.connections - before).toBe(1);
    });

    it('throws UnexpectedResponseError when a 2xx JSON body does not parse', async () => {
      // Prepare
      server.handle((_request, response) => {
        response.setHeader('content-type', 'application/json');
        response.end('{"broken":');
      });

      // Act
      const call = client().request({ method: 'GET', path: '/' });

      // Assess
      await expect(call).rejects.toMatchObject({
        name: 'UnexpectedResponseError',
        message: 'Acme answered a JSON content-type that does not parse',
      });
    });

    it('maps an error status with a provider message but never echoes the request body', async () => {
      // Prepare
      server.handle((request, response) => {
        response.writeHead(422, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ message: 'email is invalid', echo: request.body }));
      });

      // Act
      const error = await rejection(
        client().request({ method: 'POST', path: '/users', json: { email: 'x', password: 'hunter2' } }),
      );

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).message).toBe(
        'Acme rejected the request (HTTP 422): email is invalid',
      );
      expect((error as ValidationError).details).toEqual({ status: 422, provider: 'Acme' });
      expect(JSON.stringify(error)).not.toContain('hunter2');
      expect(server.requests).toHaveLength(1);
    });

    it.each([
      [400, ValidationError],
      [401, AuthError],
      [403, ForbiddenError],
      [404, NotFoundError],
      [409, ConflictError],
      [410, NotFoundError],
      [422, ValidationError],
    ])('never retries HTTP %i', async (status, ErrorClass) => {
      // Prepare
      server.handle(reply(status, { error: 'nope' }));

      // Act
      const call = client({ maxAttempts: 5 }).request({ method: 'GET', path: '/x' });

      // Assess
      await expect(call).rejects.toBeInstanceOf(ErrorClass);
      expect(server.requests).toHaveLength(1);
    });
  });

  describe('Method: request (inspect hook)', () => {
    it('fails a 200 answer the provider hook objects to', async () => {
      // Prepare
      server.handle(reply(200, { ok: false, error: 'invalid_auth' }));
      const seen: number[] = [];
      const slack = client({
        provider: 'Slack',
        inspect: (response) => {
          seen.push(response.status);
          const body = response.body as { ok: boolean; error?: string };
          return body.ok ? undefined : new AuthError(`Slack rejected the token (${body.error})`);
        },
      });

      // Act
      const call = slack.request({ method: 'POST', path: '/chat.postMessage', json: {} });

      // Assess
      await expect(call).rejects.toMatchObject({
        name: 'AuthError',
        message: 'Slack rejected the token (invalid_auth)',
      });
      expect(seen).toEqual([200]);
    });

    it('retries when the hook returns a retryable error', async () => {
      // Prepare
      server.handle(sequence(reply(200, { ok: false, error: 'fatal_error' }), reply(200, { ok: true })));
      const slack = client({
        inspect: (response) =>
          (response.body as { ok: boolean }).ok ? undefined : new UnavailableError('Slack had a fatal_error'),
      });

      // Act
      const response = await slack.request({ method: 'GET', path: '/conversations.list' });

      // Assess
      expect(response.body).toEqual({ ok: true });
      expect(slack.stats.attempts).toBe(2);
    });

    it('honours retryAfterMs of a RateLimitedError from the hook', async () => {
      // Prepare
      server.handle(sequence(reply(200, { ok: false }), reply(200, { ok: true })));
      const slack = client({
        inspect: (response) =>
          (response.body as { ok: boolean }).ok
            ? undefined
            : new RateLimitedError('slow down', { retryAfterMs: 300 }),
      });
      const started = Date.now();

      // Act
      await slack.request({ method: 'GET', path: '/' });

      // Assess
      expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    });
  });

  describe('Method: request (declared rate-limit headers)', () => {
    const github = {
      remaining: 'x-ratelimit-remaining',
      reset: 'x-ratelimit-reset',
      resetFormat: 'epoch-seconds',
      throttleStatuses: [403],
    } as const;

    it('computes retryAfterMs from the declared reset header when no requests remain', async () => {
      // Prepare
      const reset = Math.floor(Date.now() / 1000) + 600;
      server.handle(
        reply(
          403,
          { message: 'API rate limit exceeded' },
          {
            'x-ratelimit-remaining': '0',
            'x-ratelimit-reset': String(reset),
          },
        ),
      );

      // Act
      const error = await rejection(client({ rateLimit: github }).request({ method: 'GET', path: '/r' }));

      // Assess
      expect(error).toBeInstanceOf(RateLimitedError);
      const wait = (error as RateLimitedError).retryAfterMs ?? 0;
      expect(wait).toBeGreaterThan(590_000);
      expect(wait).toBeLessThanOrEqual(600_000);
      expect(server.requests).toHaveLength(1);
    });

    it('keeps the same 403 a ForbiddenError for a client that declared no rate-limit headers', async () => {
      // Prepare
      server.handle(reply(403, undefined, { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '1' }));

      // Act
      const error = await rejection(client().request({ method: 'GET', path: '/r' }));

      // Assess
      expect(error).toBeInstanceOf(ForbiddenError);
    });
  });

  describe('Method: request (auth)', () => {
    it('applies credentials before every attempt, on headers or on the query', async () => {
      // Prepare
      server.handle(sequence(reply(503), reply(200, { ok: true })));
      const auth: RequestAuth = {
        async apply({ url, headers }) {
          url.searchParams.set('api_key', 's3cr3t');
          headers['x-api-key'] = 's3cr3t';
        },
      };

      // Act
      const response = await client({ auth }).request({ method: 'GET', path: '/q', query: { a: '1' } });

      // Assess
      expect(server.requests.map((request) => request.url)).toEqual([
        '/q?a=1&api_key=s3cr3t',
        '/q?a=1&api_key=s3cr3t',
      ]);
      expect(server.requests[1]?.headers['x-api-key']).toBe('s3cr3t');
      expect(response.url).toBe(`${server.origin}/q?a=1`);
    });

    it('keeps query credentials out of error messages', async () => {
      // Prepare
      server.handle(reply(404, { message: 'no such thing' }));
      const auth: RequestAuth = {
        async apply({ url }) {
          url.searchParams.set('key', 's3cr3t');
        },
      };

      // Act
      const error = await rejection(client({ auth }).request({ method: 'GET', path: '/q' }));

      // Assess
      expect(error).toBeInstanceOf(NotFoundError);
      expect(`${error.message} ${JSON.stringify(error)}`).not.toContain('s3cr3t');
    });

    it('refreshes the credentials once after a 401 and retries with the fresh ones', async () => {
      // Prepare
      server.handle((request, response, raw) =>
        (byToken(request) ? reply(200, { ok: true }) : reply(401))(request, response, raw),
      );
      const auth = bearer();

      // Act
      const response = await client({ auth, maxAttempts: 1 }).request({
        method: 'POST',
        path: '/p',
        json: {},
      });

      // Assess
      expect(response.status).toBe(200);
      expect(auth.refreshed).toBe(1);
      expect(auth.applied).toBe(2);
      expect(server.requests.map((request) => request.headers['authorization'])).toEqual([
        'Bearer stale',
        'Bearer fresh',
      ]);
    });

    it('refreshes once after a 403 too', async () => {
      // Prepare
      server.handle((request, response, raw) =>
        (byToken(request) ? reply(200, { ok: true }) : reply(403))(request, response, raw),
      );
      const auth = bearer();

      // Act
      const response = await client({ auth }).request({ method: 'GET', path: '/p' });

      // Assess
      expect(response.status).toBe(200);
      expect(auth.refreshed).toBe(1);
    });

    it('surfaces a second 401 as AuthError without looping', async () => {
      // Prepare
      server.handle(reply(401));
      const auth = bearer();

      // Act
      const call = client({ auth }).request({ method: 'GET', path: '/p' });

      // Assess
      await expect(call).rejects.toMatchObject({
        name: 'AuthError',
        message: 'Acme rejected the credentials (HTTP 401)',
      });
      expect(auth.refreshed).toBe(1);
      expect(server.requests).toHaveLength(2);
    });

    it('does not retry when refresh reports that nothing changed', async () => {
      // Prepare
      server.handle(reply(403));
      const auth = bearer(false);

      // Act
      const call = client({ auth }).request({ method: 'GET', path: '/p' });

      // Assess
      await expect(call).rejects.toBeInstanceOf(ForbiddenError);
      expect(auth.refreshed).toBe(1);
      expect(server.requests).toHaveLength(1);
    });

    it('does not refresh on a 403 the provider declares a rate limit', async () => {
      // Prepare
      server.handle(reply(403, undefined, { 'x-ratelimit-remaining': '0' }));
      const auth = bearer();
      const rateLimit = { remaining: 'X-RateLimit-Remaining', throttleStatuses: [403] };

      // Act
      const call = client({ auth, maxAttempts: 1, rateLimit }).request({ method: 'GET', path: '/p' });

      // Assess
      await expect(call).rejects.toBeInstanceOf(RateLimitedError);
      expect(auth.refreshed).toBe(0);
    });

    it('surfaces a 401 as is when the auth cannot refresh', async () => {
      // Prepare
      server.handle(reply(401));
      const auth: RequestAuth = { apply: async () => undefined };

      // Act
      const call = client({ auth }).request({ method: 'GET', path: '/p' });

      // Assess
      await expect(call).rejects.toBeInstanceOf(AuthError);
      expect(server.requests).toHaveLength(1);
    });

    it('fails without sending when applying the credentials fails', async () => {
      // Prepare
      const auth: RequestAuth = {
        apply: async () => {
          throw new ConfigurationError('SLACK_TOKEN_SECRET is required');
        },
      };

      // Act
      const call = client({ auth }).request({ method: 'GET', path: '/p' });

      // Assess
      await expect(call).rejects.toBeInstanceOf(ConfigurationError);
      expect(server.requests).toHaveLength(0);
    });
  });

  describe('Method: request (TLS)', () => {
    const tls: { origin: string; cert: string; close: () => void } = {
      origin: '',
      cert: '',
      close: () => {},
    };

    beforeAll(async () => {
      // A throwaway self-signed certificate for 127.0.0.1, made fresh so no key is ever committed.
      const dir = mkdtempSync(join(tmpdir(), 'http-client-tls-'));
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-days',
          '1',
          '-subj',
          '/CN=127.0.0.1',
          '-addext',
          'subjectAltName=IP:127.0.0.1',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ],
        { stdio: 'ignore' },
      );
      const key = readFileSync(join(dir, 'key.pem'), 'utf8');
      tls.cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
      rmSync(dir, { recursive: true, force: true });
      const secure = createHttpsServer({ key, cert: tls.cert }, (_request, response) => {
        response.setHeader('content-type', 'application/json');
        response.end('{"secure":true}');
      });
      await new Promise<void>((resolve) => secure.listen(0, '127.0.0.1', resolve));
      tls.origin = `https://127.0.0.1:${(secure.address() as AddressInfo).port}`;
      tls.close = () => {
        secure.closeAllConnections();
        secure.close();
      };
    });

    afterAll(() => tls.close());

    it('keeps certificate verification on: a self-signed certificate is refused', async () => {
      // Act
      const error = await rejection(
        client({ baseUrl: tls.origin, maxAttempts: 1 }).request({ method: 'GET' }),
      );

      // Assess
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.message).toBe('Acme could not be reached (DEPTH_ZERO_SELF_SIGNED_CERT)');
    });

    it('speaks https over one kept-alive connection through an injected agent that trusts the certificate', async () => {
      // Prepare
      const agent = new HttpsAgent({ keepAlive: true, ca: tls.cert });
      const acme = client({ baseUrl: tls.origin, agent: { https: agent } });

      // Act
      const responses = [];
      for (let i = 0; i < 3; i += 1) responses.push(await acme.request({ method: 'GET', path: '/s' }));
      acme.close();
      const afterClose = await acme.request({ method: 'GET', path: '/s' });
      agent.destroy();

      // Assess
      expect(responses.map((response) => response.body)).toEqual([
        { secure: true },
        { secure: true },
        { secure: true },
      ]);
      expect(afterClose.status).toBe(200);
      expect(acme.stats.socketsOpened).toBe(1);
    });
  });

  describe('Method: constructor', () => {
    it.each([
      [{ maxAttempts: 0 }, 'HttpClient option maxAttempts must be a number >= 1'],
      [{ timeoutMs: Number.NaN }, 'HttpClient option timeoutMs must be a number >= 1'],
      [
        { circuitBreaker: { failureThreshold: 0 } },
        'HttpClient option failureThreshold must be a number >= 1',
      ],
      [{ maxRedirects: -1 }, 'HttpClient option maxRedirects must be a number >= 0'],
    ])('rejects the invalid option %o', (options, message) => {
      // Act & Assess
      expect(() => new HttpClient({ provider: 'Acme', ...options })).toThrow(new ConfigurationError(message));
    });

    it('builds a connection pool per protocol on first use: http calls never load node:https', async () => {
      // Prepare: a fresh process, since this one loaded node:https long ago.
      const script = [
        `const { HttpClient } = await import(${JSON.stringify(new URL('./client.ts', import.meta.url).href)});`,
        `const acme = new HttpClient({ provider: 'Acme', baseUrl: ${JSON.stringify(server.origin)} });`,
        "const { status } = await acme.request({ method: 'GET', path: '/' });",
        'acme.close();',
        "console.log(JSON.stringify({ status, https: process.moduleLoadList.includes('NativeModule https') }));",
      ].join('\n');

      // Act
      const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);

      // Assess
      expect(JSON.parse(stdout)).toEqual({ status: 200, https: false });
    });
  });

  describe('Method: request (URL)', () => {
    it('throws ConfigurationError when there is neither url nor baseUrl', async () => {
      // Prepare
      const acme = new HttpClient({ provider: 'Acme' });
      clients.track(acme);

      // Act & Assess
      await expect(acme.request({ method: 'GET', path: '/x' })).rejects.toBeInstanceOf(ConfigurationError);
    });

    it.each(['ftp://example.com/x', 'not a url'])('refuses the URL %s', async (url) => {
      // Act & Assess
      await expect(client().request({ method: 'GET', url })).rejects.toMatchObject({
        name: 'ValidationError',
        message: 'The Acme request URL is not an absolute http(s) URL',
      });
    });

    it.each([
      ['a letter beyond Latin-1', { 'If-None-Exist': 'family=\u0141ukasiewicz' }, 'if-none-exist'],
      ['a line break', { authorization: 'Bearer abc\r\nx-injected: 1' }, 'authorization'],
      ['a control character', { 'x-note': 'a\u0000b' }, 'x-note'],
    ])(
      "refuses a header value with %s as the caller's mistake, sending nothing",
      async (_what, headers, name) => {
        // Act
        const failure = client().request({ method: 'POST', path: '/x', headers, maxAttempts: 3 });

        // Assess
        await expect(failure).rejects.toMatchObject({
          name: 'ValidationError',
          status: 400,
          message: `The Acme request's ${name} header has a character HTTP cannot carry (a line break, another control character or a letter beyond Latin-1)`,
        });
        await expect(failure).rejects.not.toHaveProperty('message', expect.stringContaining('abc'));
        expect(server.requests).toHaveLength(0);
      },
    );

    it('refuses a header name that is not an HTTP token, and sends a Latin-1 value as it is', async () => {
      // Act & Assess
      await expect(
        client().request({ method: 'GET', path: '/x', headers: { 'bad name': 'x' } }),
      ).rejects.toMatchObject({
        name: 'ValidationError',
        message: 'The Acme request has a header name HTTP cannot carry',
      });
      await expect(
        client().request({ method: 'GET', path: '/x', headers: { 'x-note': 'caf\u00e9\tok' } }),
      ).resolves.toMatchObject({ status: 200 });
      expect(server.requests).toHaveLength(1);
    });

    it('rejects an invalid per-request maxAttempts', async () => {
      // Act & Assess
      await expect(client().request({ method: 'GET', maxAttempts: 0 })).rejects.toBeInstanceOf(
        ConfigurationError,
      );
    });
  });

  describe('Method: close', () => {
    it('closes the kept-alive connections it opened', async () => {
      // Prepare
      const acme = client();
      await acme.request({ method: 'GET', path: '/' });
      const before = server.connections;

      // Act
      acme.close();
      const next = client();
      await next.request({ method: 'GET', path: '/' });

      // Assess
      expect(server.connections - before).toBe(1);
      expect(next.stats.socketsOpened).toBe(1);
    });
  });
});
