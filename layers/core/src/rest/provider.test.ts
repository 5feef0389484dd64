import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import type { RequestAuth } from '../auth/types.ts';
import { loadConfig } from '../config.ts';
import {
  ConfigurationError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '../errors.ts';
import { resetCircuitBreakers } from '../http/circuit-breaker.ts';
import { HttpClient } from '../http/client.ts';
import { type Handler, reply, sequence, startServer, type TestServer } from '../http/testing/server.ts';
import { defineSecret } from '../secrets.ts';
import { linkHeader, offsetLimit } from './pagination.ts';
import { defineRestProvider, type RestClient, type RestClientOptions } from './provider.ts';

let server: TestServer;
const made: RestClient[] = [];

/** A provider declared as a connector would: every fact as data. */
const acme = defineRestProvider({
  name: 'Acme',
  settingsPrefix: 'ACME',
  baseUrl: 'https://api.acme.test/v1',
  baseUrlNote: 'Acme on premises: `https://HOST/acme/v1`',
  auth: { kind: 'bearer' },
  headers: { accept: 'application/vnd.acme+json', 'x-acme-version': '2024-01' },
  jsonContentType: 'application/json; charset=utf-8',
  errors: {
    codeIn: 'body',
    codeField: 'error.code',
    rows: {
      name_taken: { kind: 'conflict', meaning: 'another thing has that name' },
      key_expired: { kind: 'forbidden', meaning: 'the key has expired' },
      account_suspended: {
        kind: 'forbidden',
        meaning: 'the account is suspended',
        credentialFailure: false,
      },
    },
    notFoundHint: 'or this key may not see it',
  },
  inspect: (response) =>
    response.headers['x-acme-maintenance'] === 'on'
      ? new UnavailableError('Acme is in maintenance', { details: { provider: 'Acme' } })
      : undefined,
  pagination: linkHeader({ keys: ['per_page', 'state'] }),
  rateLimit: {
    remaining: 'X-Acme-Remaining',
    reset: 'X-Acme-Reset',
    resetFormat: 'epoch-seconds',
    throttleStatuses: [403],
  },
  idempotencyHeader: 'Acme-Idempotency-Key',
});

const Thing = z.object({ id: z.number(), name: z.string() });

function client(options: RestClientOptions = {}): RestClient {
  const made1 = acme.client({ baseUrl: server.origin, credential: 'k-1', ...options });
  made.push(made1);
  return made1;
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Handler =>
  (_request, response) => {
    response.writeHead(status, { 'content-type': 'application/json', ...headers });
    response.end(JSON.stringify(body));
  };

beforeAll(async () => {
  server = await startServer();
});
afterEach(() => {
  for (const each of made.splice(0)) each.close();
  resetCircuitBreakers();
  server.requests.length = 0;
  server.handle(reply(200, { ok: true }));
});
afterAll(() => server.close());

describe('Function: defineRestProvider', () => {
  it('derives the settings: the base URL overridable per stage, one range for timeouts and attempts', () => {
    // Prepare
    const Config = z.object({ ...acme.settings });

    // Act
    const defaults = loadConfig(Config, {});
    const staged = loadConfig(Config, { ACME_API_URL: 'http://127.0.0.1:9/v1', ACME_TIMEOUT_MS: '500' });

    // Assess
    expect(defaults).toEqual({
      ACME_API_URL: 'https://api.acme.test/v1',
      ACME_TIMEOUT_MS: 10_000,
      ACME_MAX_ATTEMPTS: 3,
      ACME_MAX_RETRY_AFTER_MS: 60_000,
      ACME_RATE_LIMIT: 0,
    });
    expect(staged.ACME_API_URL).toBe('http://127.0.0.1:9/v1');
    expect(acme.settings.ACME_API_URL.description).toBe(
      "Base URL of the Acme API (a contract fake's URL locally; Acme on premises: `https://HOST/acme/v1`)",
    );
    expect(() => loadConfig(Config, { ACME_API_URL: 'ftp://x' })).toThrow(ConfigurationError);
    expect(() => loadConfig(Config, { ACME_TIMEOUT_MS: '50' })).toThrow(ConfigurationError);
  });

  it('builds a client from the settings that sends the declared headers and the credential', async () => {
    // Prepare
    const settings = loadConfig(z.object({ ...acme.settings }), { ACME_API_URL: `${server.origin}/v1` });
    const rest = acme.clientFromSettings(settings, { credential: 'k-2' });
    made.push(rest);
    server.handle(json(200, { id: 1, name: 'one' }));

    // Act
    const thing = await rest.get('/things/1', Thing);

    // Assess
    expect(thing).toEqual({ id: 1, name: 'one' });
    const [request] = server.requests;
    expect(request?.url).toBe('/v1/things/1');
    expect(request?.headers).toMatchObject({
      accept: 'application/vnd.acme+json',
      'x-acme-version': '2024-01',
      authorization: 'Bearer k-2',
    });
  });

  it.each([
    [{ kind: 'api-key', header: 'X-Api-Key' } as const, 'x-api-key', 'k-1'],
    [{ kind: 'api-key', header: 'Authorization', prefix: 'Token ' } as const, 'authorization', 'Token k-1'],
  ])('builds the declared auth kind %o', async (kind, header, value) => {
    // Prepare
    const keyed = defineRestProvider({
      name: 'Keyed',
      settingsPrefix: 'KEYED',
      baseUrl: server.origin,
      auth: kind,
    });
    const target = { url: new URL(server.origin), headers: {} as Record<string, string> };

    // Act
    await keyed.auth('k-1').apply(target);

    // Assess
    expect(target.headers[header]).toBe(value);
  });

  it('sends nothing for auth none, and refuses a literal for basic auth', async () => {
    // Prepare
    const open = defineRestProvider({
      name: 'Open',
      settingsPrefix: 'OPEN',
      baseUrl: 'https://x',
      auth: { kind: 'none' },
    });
    const basic = defineRestProvider({
      name: 'Jira',
      settingsPrefix: 'JIRA',
      baseUrl: 'https://x',
      auth: { kind: 'basic' },
    });
    const target = { url: new URL('https://x'), headers: {} as Record<string, string> };

    // Act
    await open.auth('ignored').apply(target);

    // Assess
    expect(target.headers).toEqual({});
    expect(await open.auth('ignored').refresh?.()).toBe(false);
    expect(() => basic.auth('user:pw')).toThrow(/reads a secret holding \{ username, password \}/);
    expect(basic.auth(defineSecret('jira/basic'))).toHaveProperty('apply');
  });
});

describe('Class: RestClient', () => {
  describe('Methods: get, post, put, patch, delete', () => {
    it('sends JSON with the declared content-type and parses every method answer', async () => {
      // Prepare
      server.handle(json(200, { id: 7, name: 'seven' }));
      const rest = client();

      // Act
      const answers = await Promise.all([
        rest.post('/things', Thing, { json: { name: 'seven' } }),
        rest.put('/things/7', Thing, { json: { name: 'seven' } }),
        rest.patch('/things/7', Thing, { json: { name: 'seven' } }),
        rest.delete('/things/7', Thing),
      ]);

      // Assess
      expect(answers).toEqual(Array(4).fill({ id: 7, name: 'seven' }));
      const post = server.requests.find((request) => request.method === 'POST');
      expect(post?.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(JSON.parse(post?.body ?? '')).toEqual({ name: 'seven' });
      expect(server.requests.map((request) => request.method).sort()).toEqual([
        'DELETE',
        'PATCH',
        'POST',
        'PUT',
      ]);
    });

    it('sends a raw body with its own content-type and query parameters', async () => {
      // Prepare
      server.handle(json(200, {}));

      // Act
      await client().post('/upload', z.object({}), {
        body: 'a,b',
        headers: { 'content-type': 'text/csv' },
        query: { dryRun: true, skip: undefined },
      });

      // Assess
      expect(server.requests[0]).toMatchObject({ url: '/upload?dryRun=true', body: 'a,b' });
      expect(server.requests[0]?.headers['content-type']).toBe('text/csv');
    });

    it('throws UnexpectedResponseError naming the fields, never the values, when the answer does not fit', async () => {
      // Prepare
      server.handle(json(200, { id: 'secret-value-77' }));

      // Act
      const error = await client()
        .get('/things/1', Thing, { what: 'a thing' })
        .catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect((error as Error).message).toBe('Acme answered a thing without the expected fields (id, name)');
      expect((error as UnexpectedResponseError).details).toEqual({
        provider: 'Acme',
        fields: ['id', 'name'],
      });
      expect(JSON.stringify(error)).not.toContain('secret-value-77');
    });

    it('throws UnexpectedResponseError for a JSON content-type that does not parse', async () => {
      // Prepare
      server.handle((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"id": 1,');
      });

      // Act & Assess
      await expect(client().get('/things/1', Thing)).rejects.toBeInstanceOf(UnexpectedResponseError);
    });

    it('maps a code from the error table, and lets the status mapping take the rest', async () => {
      // Prepare
      server.handle(
        sequence(
          json(409, { error: { code: 'name_taken' } }),
          json(400, { error: { code: 'other' }, message: 'Bad name' }),
        ),
      );
      const rest = client();

      // Act
      const taken = await rest.post('/things', Thing, { json: {} }).catch((caught: unknown) => caught);
      const other = await rest.post('/things', Thing, { json: {} }).catch((caught: unknown) => caught);

      // Assess
      expect(taken).toBeInstanceOf(ConflictError);
      expect((taken as Error).message).toBe('Acme things failed: another thing has that name (name_taken)');
      expect(other).toBeInstanceOf(ValidationError);
      expect((other as Error).message).toBe('Acme rejected the request (HTTP 400): Bad name');
    });

    it('applies the provider quirk before the table', async () => {
      // Prepare
      server.handle(json(200, { id: 1, name: 'x' }, { 'x-acme-maintenance': 'on' }));

      // Act & Assess
      await expect(client({ maxAttempts: 1 }).get('/things/1', Thing)).rejects.toThrow(
        'Acme is in maintenance',
      );
    });

    it('names the subject of a 404, with the declared hint', async () => {
      // Prepare
      server.handle(json(404, { message: 'Not Found' }));

      // Act
      const error = await client()
        .get('/things/9', Thing, { notFound: 'Thing 9' })
        .catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(NotFoundError);
      expect((error as Error).message).toBe(
        'Thing 9 was not found, or this key may not see it (Acme found no such resource (HTTP 404): Not Found)',
      );
      expect((error as NotFoundError).details).toEqual({ status: 404, provider: 'Acme' });
    });

    it('passes other failures of a named call on unchanged', async () => {
      // Prepare
      server.handle(json(409, { error: { code: 'name_taken' } }));

      // Act & Assess
      await expect(client().get('/things/9', Thing, { notFound: 'Thing 9' })).rejects.toBeInstanceOf(
        ConflictError,
      );
    });
  });

  describe('Method: send (faults)', () => {
    it('retries a read after a 5xx and then parses the answer', async () => {
      // Prepare
      server.handle(sequence(json(502, {}), json(200, { id: 1, name: 'one' })));

      // Act
      const answer = await client().send('GET', '/things/1', Thing);

      // Assess
      expect(answer).toMatchObject({ status: 200, body: { id: 1, name: 'one' } });
      expect(server.requests).toHaveLength(2);
    });

    it('sends a write once without an idempotency key, and retries it with one under the declared header', async () => {
      // Prepare
      server.handle(sequence(json(503, {}), json(503, {}), json(201, { id: 2, name: 'two' })));
      const rest = client();

      // Act
      const once = await rest.post('/things', Thing, { json: {} }).catch((caught: unknown) => caught);
      const keyed = await rest.post('/things', Thing, { json: {}, idempotencyKey: 'op-1' });

      // Assess
      expect(once).toBeInstanceOf(UnavailableError);
      expect(keyed).toEqual({ id: 2, name: 'two' });
      expect(server.requests.map((request) => request.headers['acme-idempotency-key'])).toEqual([
        undefined,
        'op-1',
        'op-1',
      ]);
    });

    it('reads the declared rate-limit headers: a 403 with nothing remaining waits until the reset', async () => {
      // Prepare
      const reset = Math.floor(Date.now() / 1000) + 600;
      server.handle(
        json(403, { message: 'rate limit' }, { 'x-acme-remaining': '0', 'x-acme-reset': String(reset) }),
      );

      // Act
      const error = await client()
        .get('/things', z.unknown())
        .catch((caught: unknown) => caught);

      // Assess
      expect(error).toBeInstanceOf(RateLimitedError);
      expect((error as RateLimitedError).retryAfterMs).toBeGreaterThan(590_000);
      expect(server.requests).toHaveLength(1);
    });

    it('sends a write once when its row says the refusal is not about credentials; renews them for one that is', async () => {
      // Prepare
      let refreshed = 0;
      let token = 'k-1';
      const auth: RequestAuth = {
        apply: async (request) => {
          request.headers['authorization'] = `Bearer ${token}`;
        },
        refresh: async () => {
          refreshed += 1;
          token = 'k-2';
          return true;
        },
      };
      const rest = client({ auth });
      server.handle(json(403, { error: { code: 'account_suspended' } }));

      // Act
      const suspended = await rest.post('/things', Thing, { json: {} }).catch((caught: unknown) => caught);
      const suspendedRequests = server.requests.length;
      server.handle(
        sequence(json(403, { error: { code: 'key_expired' } }), json(201, { id: 4, name: 'four' })),
      );
      const renewed = await rest.post('/things', Thing, { json: {} });

      // Assess
      expect(suspended).toBeInstanceOf(ForbiddenError);
      expect((suspended as ForbiddenError).message).toContain('the account is suspended');
      expect(suspendedRequests).toBe(1);
      expect(renewed).toEqual({ id: 4, name: 'four' });
      expect(refreshed).toBe(1);
      expect(server.requests.map((request) => request.headers['authorization'])).toEqual([
        'Bearer k-1',
        'Bearer k-1',
        'Bearer k-2',
      ]);
    });

    it('waits a short Retry-After on a 429 and then succeeds', async () => {
      // Prepare
      server.handle(sequence(json(429, {}, { 'retry-after': '0' }), json(200, { id: 3, name: 'three' })));

      // Act
      const thing = await client().get('/things/3', Thing);

      // Assess
      expect(thing.id).toBe(3);
      expect(server.requests).toHaveLength(2);
    });

    it('throws TimeoutError when the answer does not come in time', async () => {
      // Prepare
      server.handle(() => undefined);

      // Act & Assess
      await expect(client({ timeoutMs: 100, maxAttempts: 1 }).get('/slow', Thing)).rejects.toBeInstanceOf(
        TimeoutError,
      );
    });

    it('returns the body as received without a schema, and uses an injected HTTP client', async () => {
      // Prepare
      server.handle(json(200, [1, 2]));
      const http = new HttpClient({ provider: 'Acme', baseUrl: server.origin });
      const rest = acme.client({ http });
      made.push(rest);

      // Act
      const answer = await rest.send('GET', '/raw');

      // Assess
      expect(answer.body).toEqual([1, 2]);
      expect(rest.http).toBe(http);
    });
  });

  describe('Method: list', () => {
    /** Issues 1..5 in pages of `per_page`, with GitHub-style Link headers. */
    const pages: Handler = (request, response) => {
      const url = new URL(request.url, server.origin);
      const page = Number(url.searchParams.get('page') ?? '1');
      const size = Number(url.searchParams.get('per_page') ?? '2');
      const items = [1, 2, 3, 4, 5].slice((page - 1) * size, page * size);
      const last = Math.ceil(5 / size);
      const links = [];
      const link = (p: number, rel: string) =>
        `<${server.origin}/items?per_page=${size}&state=all&page=${p}&token=leak>; rel="${rel}"`;
      if (page < last) links.push(link(page + 1, 'next'), link(last, 'last'));
      response.writeHead(200, { 'content-type': 'application/json', link: links.join(', ') });
      response.end(JSON.stringify(items.map((id) => ({ id, name: `n${id}` }))));
    };

    it('reads one page with the declared style and hands back a cursor that keeps the filters', async () => {
      // Prepare
      server.handle(pages);
      const rest = client();

      // Act
      const first = await rest.list('/items', z.array(Thing), {
        query: { per_page: 2, state: 'all', page: 1 },
        items: (things) => things.map((thing) => thing.id),
      });
      const second = await rest.list('/items', z.array(Thing), {
        cursor: first.nextCursor,
        items: (things) => things.map((thing) => thing.id),
      });

      // Assess
      expect(first).toMatchObject({ items: [1, 2], nextPage: 2, lastPage: 3 });
      expect(second.items).toEqual([3, 4]);
      expect(server.requests[1]?.url).toBe('/items?per_page=2&state=all&page=2');
    });

    it('collects every page within the time left', async () => {
      // Prepare
      server.handle(pages);

      // Act
      const collected = await client().collect('/items', z.array(Thing), {
        query: { per_page: 2 },
        items: (things) => things.map((thing) => thing.id),
      });

      // Assess
      expect(collected).toEqual({ items: [1, 2, 3, 4, 5], pages: 3, stoppedBy: 'end' });
    });

    it('uses a style given for one endpoint', async () => {
      // Prepare
      server.handle(json(200, { items: [{ id: 1, name: 'a' }] }));

      // Act
      const page = await client().list('/offset', z.object({ items: z.array(Thing) }), {
        query: { limit: 1 },
        items: (answer) => answer.items,
        pagination: offsetLimit(),
      });

      // Assess
      expect(page.nextCursor).toBeDefined();
    });

    it('throws ConfigurationError when the provider declares no pagination', async () => {
      // Prepare
      const flat = defineRestProvider({ name: 'Flat', settingsPrefix: 'FLAT', baseUrl: server.origin });
      const rest = flat.client();
      made.push(rest);

      // Act & Assess
      await expect(rest.list('/x', z.array(z.unknown()), { items: (all) => all })).rejects.toThrow(
        'Flat declares no pagination style for /x',
      );
    });
  });
});
