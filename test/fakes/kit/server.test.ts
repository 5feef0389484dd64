/**
 * The kit's server without faults: routing with parameters, the token hook, the request log (secrets
 * dropped), seeded state and reset, the answer hooks, and its own limits. Real HTTP throughout.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { json, refuse } from '../../../scripts/local/sandboxes/kit/answers.ts';
import { compilePath } from '../../../scripts/local/sandboxes/kit/routes.ts';
import { type FakeServer, startFake } from '../../../scripts/local/sandboxes/kit/server.ts';
import { EXAMPLE_READ_ONLY_TOKEN, EXAMPLE_TOKEN, type ExampleState, exampleFake } from './example.ts';

let fake: FakeServer<ExampleState>;

async function call(
  path: string,
  init: { method?: string; body?: string; headers?: Record<string, string>; token?: string | null } = {},
): Promise<{ status: number; headers: Headers; text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json', ...init.headers };
  if (init.token !== null) headers['authorization'] = `Bearer ${init.token ?? EXAMPLE_TOKEN}`;
  const response = await fetch(`${fake.url}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body === undefined ? {} : { body: init.body }),
  });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

describe('Function: compilePath', () => {
  it('matches named segments and a rest that may be empty, decoding both', () => {
    // Prepare
    const pattern = compilePath('/repos/:owner/:repo/contents/*path');
    // Act
    const matches = [
      pattern.match('/repos/o/r/contents/docs/a%20b.md'),
      pattern.match('/repos/o/r/contents'),
      pattern.match('/repos/o/r/issues'),
      pattern.match('/repos/o%ZZ/r/contents'),
    ];
    // Assess
    expect(matches).toEqual([
      { owner: 'o', repo: 'r', path: 'docs/a b.md' },
      { owner: 'o', repo: 'r', path: '' },
      undefined,
      undefined,
    ]);
  });

  it('refuses a rest that is not last', () => {
    // Act / Assess
    expect(() => compilePath('/a/*rest/b')).toThrow('must end the pattern');
  });
});

describe('Function: startFake', () => {
  beforeAll(async () => {
    fake = await startFake(exampleFake());
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => {
    fake.reset();
  });

  describe('routing', () => {
    it('routes by method and path, with the decoded parameters', async () => {
      // Act
      const item = await call('/items/b');
      const file = await call('/files/a/b%2Fc.txt', { token: null });
      // Assess
      expect(JSON.parse(item.text)).toEqual({ id: 'b', name: 'Banana' });
      expect(file.text).toBe('file:a/b/c.txt');
      expect(fake.log.map((entry) => entry.route)).toEqual(['get-item', 'get-file']);
    });

    it("answers the dialect's not-found for an unknown path or method, and the handler's own refusal", async () => {
      // Act
      const unknownPath = await call('/nothing');
      const unknownMethod = await call('/items/a', { method: 'DELETE' });
      const missing = await call('/items/zzz');
      // Assess
      expect([unknownPath.status, unknownMethod.status, missing.status]).toEqual([404, 404, 404]);
      expect(JSON.parse(unknownPath.text)).toEqual({ errors: [{ code: 'NOT_FOUND', status: 404 }] });
      expect(fake.log.map((entry) => entry.route)).toEqual([undefined, undefined, 'get-item']);
    });
  });

  describe('token check', () => {
    it('refuses an unknown token (401) and a reader writing (403), in the dialect; a route without auth skips it', async () => {
      // Act
      const none = await call('/items', { token: null });
      const wrong = await call('/items', { token: 'nope' });
      const reader = await call('/items', {
        method: 'POST',
        token: EXAMPLE_READ_ONLY_TOKEN,
        body: '{"id":"x"}',
      });
      const open = await call('/files/readme', { token: null });
      // Assess
      expect([none.status, wrong.status, reader.status, open.status]).toEqual([401, 401, 403, 200]);
      expect(JSON.parse(reader.text)).toEqual({ errors: [{ code: 'FORBIDDEN', status: 403 }] });
      expect(fake.state.items).toHaveLength(2);
    });

    it('follows a rotation made in the state', async () => {
      // Prepare
      fake.state.tokens.delete(EXAMPLE_TOKEN);
      fake.state.tokens.add('ex-rotated');
      // Act
      const old = await call('/items');
      const rotated = await call('/items', { token: 'ex-rotated' });
      // Assess
      expect([old.status, rotated.status]).toEqual([401, 200]);
    });

    it('reads the token with the fake own hook when it declares one', async () => {
      // Prepare
      const own = await startFake({
        ...exampleFake(),
        token: (request) => request.query['access_token'],
      });
      // Act
      const response = await fetch(`${own.url}/items?access_token=${EXAMPLE_TOKEN}`);
      await own.close();
      // Assess
      expect(response.status).toBe(200);
      expect(own.log[0]?.token).toBe(EXAMPLE_TOKEN);
      expect(own.log[0]?.query).toEqual({});
    });
  });

  describe('request log', () => {
    it('keeps method, path, query, parsed body, token and status, without secret headers or fields', async () => {
      // Act
      await call('/items?sort=name', {
        method: 'POST',
        headers: { cookie: 'session=s3cr3t', 'x-api-key': 'k3y', 'x-trace': 't-1' },
        body: JSON.stringify({ id: 'c', name: 'Cherry', password: 'hunter2' }),
      });
      await call('/files/x', {
        method: 'POST',
        token: null,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'token=xoxb-secret&channel=C1',
      });
      // Assess
      const [post, form] = fake.log;
      expect(post).toMatchObject({
        route: 'create-item',
        method: 'POST',
        path: '/items',
        query: { sort: 'name' },
        body: { id: 'c', name: 'Cherry' },
        token: EXAMPLE_TOKEN,
        status: 201,
      });
      expect(post?.headers['x-trace']).toBe('t-1');
      expect(form).toMatchObject({
        route: undefined,
        body: { channel: 'C1' },
        token: undefined,
        status: 404,
      });
      const printed = JSON.stringify(fake.log);
      for (const secret of ['Bearer', 's3cr3t', 'k3y', 'hunter2', 'xoxb-secret']) {
        expect(printed).not.toContain(secret);
      }
      expect(fake.logFor('create-item')).toEqual([post]);
    });
  });

  describe('Method: reset', () => {
    it('restores the seeded state in place and forgets the log and pending faults', async () => {
      // Prepare
      const held = fake.state.items;
      await call('/items', { method: 'POST', body: JSON.stringify({ id: 'c', name: 'Cherry' }) });
      fake.inject({ kind: 'server-error' });
      // Act
      fake.reset();
      const after = await call('/items');
      // Assess
      expect(held).toBe(fake.state.items);
      expect(held.map((item) => item.id)).toEqual(['a', 'b']);
      expect(after.status).toBe(200);
      expect(fake.log).toHaveLength(1);
    });
  });

  describe('hooks and limits', () => {
    it('runs `before` for every request and adds the common headers to every answer, the answer own winning', async () => {
      // Prepare
      const own = await startFake({
        ...exampleFake(),
        before: ({ request }) =>
          request.headers['x-api-version'] === 'old'
            ? json(400, { message: 'Unsupported version' })
            : undefined,
        headers: () => ({ 'x-request-id': 'common', 'x-shared': 'common' }),
        routes: [
          ...exampleFake().routes,
          {
            name: 'own',
            method: 'GET',
            path: '/own',
            auth: false,
            handle: () => json(200, {}, { 'X-Shared': 'own' }),
          },
        ],
      });
      // Act
      const old = await fetch(`${own.url}/own`, { headers: { 'x-api-version': 'old' } });
      const current = await fetch(`${own.url}/own`);
      await own.close();
      // Assess
      expect([old.status, current.status]).toEqual([400, 200]);
      expect(old.headers.get('x-request-id')).toBe('common');
      expect(current.headers.get('x-shared')).toBe('own');
    });

    it("answers the dialect's server error when a handler throws, and logs what went wrong", async () => {
      // Prepare
      const own = await startFake({
        ...exampleFake(),
        routes: [
          { name: 'broken', method: 'GET', path: '/broken', auth: false, handle: () => JSON.parse('{') },
          {
            name: 'refusing',
            method: 'GET',
            path: '/refusing',
            auth: false,
            handle: () => refuse({ status: 418 }),
          },
        ],
      });
      // Act
      const broken = await fetch(`${own.url}/broken`);
      const refusing = await fetch(`${own.url}/refusing`);
      await own.close();
      // Assess
      expect(broken.status).toBe(500);
      expect(await broken.json()).toEqual({ errors: [{ code: 'SERVER_ERROR', status: 500 }] });
      expect(own.log[0]?.error).toMatch(/JSON/);
      expect(refusing.status).toBe(418);
    });

    it('answers 413 for a body over maxRequestBytes, still logged', async () => {
      // Prepare
      const own = await startFake({ ...exampleFake(), maxRequestBytes: 1024 });
      // Act
      const response = await fetch(`${own.url}/items`, { method: 'POST', body: 'x'.repeat(2048) });
      await own.close();
      // Assess
      expect(response.status).toBe(413);
      expect(own.log[0]).toMatchObject({ route: 'create-item', status: 413 });
    });

    it('listens on the port it is given and closes twice without error', async () => {
      // Prepare
      const first = await startFake(exampleFake());
      const { port } = first;
      await first.close();
      // Act
      const pinned = await startFake(exampleFake(), { port });
      const response = await fetch(`${pinned.url}/files/x`);
      await pinned.close();
      await pinned.close();
      // Assess
      expect(pinned.url).toBe(`http://127.0.0.1:${port}`);
      expect(response.status).toBe(200);
    });
  });
});

describe('Function: startFake (binary bodies)', () => {
  it('hands a handler the request bytes as received and sends a Buffer answer unchanged', async () => {
    // Prepare
    const echo = await startFake({
      name: 'Echo',
      seed: () => ({}),
      routes: [
        {
          name: 'echo',
          method: 'PUT',
          path: '/echo',
          auth: false,
          handle: ({ request }) => ({
            status: 200,
            body: Buffer.concat([request.bytes, Buffer.from([Buffer.byteLength(request.rawBody)])]),
            contentType: 'application/octet-stream',
          }),
        },
      ],
    });
    const sent = Buffer.from([0x00, 0xff, 0xfe, 0x80]);
    // Act
    const response = await fetch(`${echo.url}/echo`, { method: 'PUT', body: sent });
    const received = Buffer.from(await response.arrayBuffer());
    await echo.close();
    // Assess
    expect(received.subarray(0, 4).equals(sent)).toBe(true);
    // The text view replaced the three invalid UTF-8 bytes (3 bytes each): only `bytes` carries them.
    expect(received[4]).toBe(10);
  });
});
