import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RequestAuth } from '../auth/types.ts';
import { UnexpectedResponseError, ValidationError } from '../errors.ts';
import { resetCircuitBreakers } from './circuit-breaker.ts';
import { HttpClient } from './client.ts';
import { createGuardedLookup, isBlockedAddress } from './ssrf.ts';
import { rejection, reply, startServer, type TestServer } from './testing/server.ts';
import type { HttpClientOptions } from './types.ts';

let server: TestServer;
let other: TestServer;
const clients: HttpClient[] = [];

/**
 * Test DNS: `api.example.test` resolves to the test server on 127.0.0.1, which this lookup alone treats
 * as public (nothing else can reach a local server); every other name resolves to a private address.
 */
const testLookup = createGuardedLookup({
  resolve: async (hostname) => [
    { address: hostname === 'api.example.test' ? '127.0.0.1' : '10.0.0.9', family: 4 },
  ],
  isBlocked: (address) => address !== '127.0.0.1' && isBlockedAddress(address),
});

function client(options: Partial<HttpClientOptions> = {}): HttpClient {
  const created = new HttpClient({
    provider: 'Acme',
    baseDelayMs: 1,
    maxDelayMs: 5,
    lookup: testLookup,
    ...options,
  });
  clients.push(created);
  return created;
}

const redirect = (status: number, location: string) => reply(status, undefined, { location });
const publicUrl = (path: string) => `http://api.example.test:${server.port}${path}`;

beforeAll(async () => {
  server = await startServer();
  other = await startServer();
});

afterEach(() => {
  for (const created of clients.splice(0)) created.close();
  resetCircuitBreakers();
  for (const each of [server, other]) {
    each.requests.length = 0;
    each.handle(reply(200, { ok: true }));
  }
});

afterAll(async () => {
  await server.close();
  await other.close();
});

describe('Class: HttpClient', () => {
  describe('Method: request (SSRF guard)', () => {
    it('refuses a loopback URL before connecting when the client is guarded', async () => {
      // Prepare
      const acme = client({ ssrfGuard: true });
      const connections = server.connections;

      // Act
      const error = await rejection(acme.request({ method: 'GET', url: `${server.origin}/x` }));

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect(error).toMatchObject({ code: 'validation_error' });
      expect(error.message).toBe('URL refused: 127.0.0.1 is a private or reserved address');
      expect(server.connections).toBe(connections);
      expect(acme.stats.attempts).toBe(0);
    });

    it.each([
      'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
      'http://2130706433/',
      'http://0x7f.1/',
      'http://[::1]/',
      'http://[::ffff:127.0.0.1]/',
      'http://[::ffff:7f00:1]/',
      'http://localhost:9001/2018-06-01/runtime/invocation/next',
      'http://localhost:2773/secretsmanager/get?secretId=x',
      'http://a.b.localhost/',
      'http://10.0.0.1/',
      'http://192.168.0.1/',
      'http://[fd00::1]/',
      'file:///etc/passwd',
      'gopher://example.com/',
    ])('refuses the untrusted URL %s even when the client guard is off', async (url) => {
      // Prepare
      const acme = client();

      // Act
      const error = await rejection(acme.request({ method: 'GET', url, untrustedUrl: true }));

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toMatch(/^URL refused: /);
      expect(acme.stats.attempts).toBe(0);
    });

    it('refuses a host name that resolves to a private address, without opening a connection', async () => {
      // Prepare
      const acme = client({ maxAttempts: 3, circuitBreaker: { failureThreshold: 1 } });
      const connections = server.connections;

      // Act
      const error = await rejection(
        acme.request({
          method: 'GET',
          url: `http://intranet.example.test:${server.port}/`,
          untrustedUrl: true,
        }),
      );

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toBe(
        'URL refused: intranet.example.test resolves to a private or reserved address',
      );
      expect(server.connections).toBe(connections);
      expect(acme.stats).toEqual({ attempts: 1, socketsOpened: 0 });
    });

    it('does not trip the circuit breaker on a refusal', async () => {
      // Prepare
      const acme = client({ maxAttempts: 1, circuitBreaker: { failureThreshold: 1 } });
      const url = `http://intranet.example.test:${server.port}/`;
      await rejection(acme.request({ method: 'GET', url, untrustedUrl: true }));

      // Act
      const error = await rejection(acme.request({ method: 'GET', url, untrustedUrl: true }));

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
    });

    it('lets a URL through whose host resolves to an allowed address', async () => {
      // Prepare
      const acme = client({ ssrfGuard: true });

      // Act
      const response = await acme.request({ method: 'GET', url: publicUrl('/ok') });

      // Assess
      expect(response.status).toBe(200);
      expect(server.requests[0]?.headers['host']).toBe(`api.example.test:${server.port}`);
    });

    it('keeps untrusted calls in their own guarded connection pool', async () => {
      // Prepare
      const acme = client();

      // Act
      await acme.request({ method: 'GET', url: `${server.origin}/trusted` });
      await acme.request({ method: 'GET', url: publicUrl('/untrusted'), untrustedUrl: true });
      await acme.request({ method: 'GET', url: publicUrl('/untrusted'), untrustedUrl: true });
      await acme.request({ method: 'GET', url: `${server.origin}/trusted` });

      // Assess
      expect(acme.stats.socketsOpened).toBe(2);
    });

    it('uses the guarded lookup with injected agents too', async () => {
      // Prepare
      const { Agent } = await import('node:http');
      const agent = new Agent({ keepAlive: true });
      const acme = client({ ssrfGuard: true, agent: { http: agent } });

      // Act
      const error = await rejection(
        acme.request({ method: 'GET', url: `http://intranet.example.test:${server.port}/` }),
      );
      agent.destroy();

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
    });
  });

  describe('Method: request (redirects)', () => {
    it('answers a redirect as-is by default', async () => {
      // Prepare
      server.handle(redirect(302, '/elsewhere'));

      // Act
      const response = await client().request({ method: 'GET', url: `${server.origin}/start` });

      // Assess
      expect(response.status).toBe(302);
      expect(response.headers['location']).toBe('/elsewhere');
      expect(server.requests).toHaveLength(1);
    });

    it('follows up to maxRedirects hops and reports the final URL', async () => {
      // Prepare
      server.handle((request, response, raw) => {
        const next: Record<string, string> = { '/a': '/b', '/b': '/c?x=1', '/c?x=1': '/d' };
        const location = next[request.url];
        (location === undefined ? reply(200, { at: request.url }) : redirect(301, location))(
          request,
          response,
          raw,
        );
      });

      // Act
      const followed = await client({ maxRedirects: 3 }).request({
        method: 'GET',
        url: `${server.origin}/a`,
      });
      const stopped = await client({ maxRedirects: 1 }).request({ method: 'GET', url: `${server.origin}/a` });

      // Assess
      expect(followed.body).toEqual({ at: '/d' });
      expect(followed.url).toBe(`${server.origin}/d`);
      expect(stopped.status).toBe(301);
      expect(stopped.url).toBe(`${server.origin}/b`);
    });

    it('returns a 3xx without Location as it is', async () => {
      // Prepare
      server.handle((_request, response) => response.writeHead(304).end());

      // Act
      const response = await client({ maxRedirects: 5 }).request({ method: 'GET', url: `${server.origin}/` });

      // Assess
      expect(response.status).toBe(304);
    });

    it('turns a POST into a GET without body on 303 and keeps it on 307', async () => {
      // Prepare
      server.handle((request, response, raw) => {
        const hops: Record<string, () => void> = {
          '/see-other': () => redirect(303, '/result')(request, response, raw),
          '/temporary': () => redirect(307, '/result')(request, response, raw),
        };
        (
          hops[request.url] ??
          (() => reply(200, { method: request.method, body: request.body })(request, response, raw))
        )();
      });
      const acme = client({ maxRedirects: 1 });

      // Act
      const seeOther = await acme.request({
        method: 'POST',
        url: `${server.origin}/see-other`,
        json: { a: 1 },
      });
      const temporary = await acme.request({
        method: 'POST',
        url: `${server.origin}/temporary`,
        json: { a: 1 },
      });

      // Assess
      expect(seeOther.body).toEqual({ method: 'GET', body: '' });
      expect(server.requests[1]?.headers['content-type']).toBeUndefined();
      expect(temporary.body).toEqual({ method: 'POST', body: '{"a":1}' });
    });

    it('keeps the method of a PUT on 302 and of a HEAD on 303', async () => {
      // Prepare
      server.handle((request, response, raw) => {
        if (request.url === '/put') redirect(302, '/done')(request, response, raw);
        else if (request.url === '/head') redirect(303, '/done')(request, response, raw);
        else reply(200, { method: request.method })(request, response, raw);
      });
      const acme = client({ maxRedirects: 1 });

      // Act
      const put = await acme.request({ method: 'PUT', url: `${server.origin}/put`, json: {} });
      await acme.request({ method: 'HEAD', url: `${server.origin}/head` });

      // Assess
      expect(put.body).toEqual({ method: 'PUT' });
      expect(server.requests.map((request) => request.method)).toEqual(['PUT', 'PUT', 'HEAD', 'HEAD']);
    });

    it('re-applies credentials on a same-origin hop and drops them on another origin', async () => {
      // Prepare
      server.handle((request, response, raw) =>
        (request.url.startsWith('/one') ? redirect(307, '/two') : redirect(307, `${other.origin}/landing`))(
          request,
          response,
          raw,
        ),
      );
      const applied: string[] = [];
      const auth: RequestAuth = {
        async apply({ url, headers }) {
          applied.push(url.pathname);
          url.searchParams.set('key', 's3cr3t');
          headers['Authorization'] = 'Bearer s3cr3t';
        },
      };

      // Act
      const response = await client({ auth, maxRedirects: 2 }).request({
        method: 'GET',
        url: `${server.origin}/one`,
        headers: { cookie: 'session=abc' },
      });

      // Assess
      expect(response.url).toBe(`${other.origin}/landing`);
      expect(applied).toEqual(['/one', '/two']);
      expect(server.requests.map((request) => request.headers['authorization'])).toEqual([
        'Bearer s3cr3t',
        'Bearer s3cr3t',
      ]);
      const landed = other.requests[0];
      expect(landed?.url).toBe('/landing');
      expect(landed?.headers['authorization']).toBeUndefined();
      expect(landed?.headers['cookie']).toBeUndefined();
    });

    it('refuses a redirect to an unusable URL', async () => {
      // Prepare
      server.handle(redirect(302, 'ftp://example.com/file'));

      // Act
      const error = await rejection(
        client({ maxRedirects: 1 }).request({ method: 'GET', url: server.origin }),
      );

      // Assess
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe('Acme redirected to an unusable URL');
    });

    it('follows a guarded redirect to an allowed address', async () => {
      // Prepare
      server.handle((request, response, raw) =>
        (request.url === '/start' ? redirect(302, '/final') : reply(200, { ok: true }))(
          request,
          response,
          raw,
        ),
      );

      // Act
      const response = await client({ ssrfGuard: true, maxRedirects: 1 }).request({
        method: 'GET',
        url: publicUrl('/start'),
      });

      // Assess
      expect(response.url).toBe(publicUrl('/final'));
    });

    it.each([
      [
        'http://169.254.169.254/latest/meta-data/',
        'URL refused: 169.254.169.254 is a private or reserved address',
      ],
      ['http://127.0.0.1:1/', 'URL refused: 127.0.0.1 is a private or reserved address'],
      ['http://localhost:9001/', 'URL refused: localhost is a local host name'],
      [
        'http://internal.example.test/',
        'URL refused: internal.example.test resolves to a private or reserved address',
      ],
    ])('checks every guarded redirect hop: refuses %s', async (location, message) => {
      // Prepare
      server.handle(redirect(302, location));

      // Act
      const error = await rejection(
        client({ maxRedirects: 3 }).request({ method: 'GET', url: publicUrl('/start'), untrustedUrl: true }),
      );

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect(error.message).toBe(message);
    });
  });
});
