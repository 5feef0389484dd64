import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RequestAuth } from '../auth/types.ts';
import { withInvocation } from '../context.ts';
import { NotFoundError, TimeoutError, UnavailableError, ValidationError } from '../errors.ts';
import { resetCircuitBreakers } from './circuit-breaker.ts';
import { reply, sequence, startServer, type TestServer, testClients } from './testing/server.ts';

let server: TestServer;
const clients = testClients(() => server.origin);
const client = clients.make;

beforeAll(async () => {
  server = await startServer();
});

afterEach(() => {
  clients.closeAll();
  resetCircuitBreakers();
  server.requests.length = 0;
});

afterAll(async () => {
  await server.close();
});

/** A gate the test opens: the server writes its next chunk only then. */
function gate(): { wait: Promise<void>; open: () => void } {
  let open = () => {};
  const wait = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { wait, open };
}

/** Answers 200 text/event-stream: chunk one at once, chunk two only after `second` opens, then ends. */
function twoChunks(second: Promise<void>, written: string[]): (req: unknown, res: ServerResponse) => void {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    res.write('data: one\n\n');
    written.push('one');
    void second.then(() => {
      res.write('data: two\n\n');
      written.push('two');
      res.end();
    });
  };
}

const text = (chunk: Uint8Array) => Buffer.from(chunk).toString('utf8');

describe('Class: HttpClient', () => {
  describe('Method: stream', () => {
    it('hands over the first chunk before the server wrote the second', async () => {
      // Prepare
      const second = gate();
      const written: string[] = [];
      server.handle(twoChunks(second.wait, written));

      // Act
      const response = await client().stream({ method: 'POST', path: '/chat', json: { stream: true } });
      const read: string[] = [];
      for await (const chunk of response.body) {
        read.push(text(chunk));
        if (read.length === 1) {
          expect(written).toEqual(['one']);
          second.open();
        }
      }

      // Assess
      expect(response.status).toBe(200);
      expect(response.headers['content-type']).toBe('text/event-stream');
      expect(read.join('')).toBe('data: one\n\ndata: two\n\n');
      expect(written).toEqual(['one', 'two']);
      expect(server.requests[0]?.body).toBe('{"stream":true}');
    });

    it('retries a 503 before the headers, applies credentials and refreshes them once on 401', async () => {
      // Prepare
      const auth: RequestAuth & { token: string } = {
        token: 'stale',
        async apply(request) {
          request.headers['Authorization'] = `Bearer ${auth.token}`;
        },
        async refresh() {
          auth.token = 'fresh';
          return true;
        },
      };
      const second = gate();
      second.open();
      server.handle(sequence(reply(401), reply(503), twoChunks(second.wait, [])));
      const acme = client({ auth });

      // Act
      const response = await acme.stream({ method: 'GET', path: '/events' });
      const read: string[] = [];
      for await (const chunk of response.body) read.push(text(chunk));

      // Assess
      expect(read.join('')).toBe('data: one\n\ndata: two\n\n');
      expect(server.requests.map((r) => r.headers['authorization'])).toEqual([
        'Bearer stale',
        'Bearer fresh',
        'Bearer fresh',
      ]);
      expect(acme.stats.attempts).toBe(3);
    });

    it('maps a failed answer as request does, before any chunk', async () => {
      // Prepare
      server.handle(reply(404, { message: 'no such model' }));

      // Act
      const error = await client()
        .stream({ method: 'POST', path: '/chat', json: {} })
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(NotFoundError);
      expect(server.requests).toHaveLength(1);
    });

    it('times out waiting for the headers after the per-attempt timeout', async () => {
      // Prepare
      server.handle(() => undefined);

      // Act
      const error = await client({ timeoutMs: 100, maxAttempts: 1 })
        .stream({ method: 'GET', path: '/slow' })
        .catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(TimeoutError);
    });

    it('bounds the body by the time left, not the per-attempt timeout, and never retries it', async () => {
      // Prepare: the headers and one chunk, then nothing
      server.handle((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: one\n\n');
      });
      const acme = client({ timeoutMs: 100, maxAttempts: 3 });

      // Act
      const { read, error } = await withInvocation(
        { deadline: Date.now() + 1_500, correlationId: 'c-1' },
        async () => {
          const response = await acme.stream({ method: 'GET', path: '/events' });
          const chunks: string[] = [];
          try {
            for await (const chunk of response.body) chunks.push(text(chunk));
          } catch (e) {
            return { read: chunks, error: e };
          }
          return { read: chunks, error: undefined };
        },
      );

      // Assess
      expect(read).toEqual(['data: one\n\n']);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(server.requests).toHaveLength(1);
    });

    it("ends the body when the caller's signal aborts, with the signal's reason", async () => {
      // Prepare
      const written: string[] = [];
      server.handle(twoChunks(new Promise(() => undefined), written));
      const controller = new AbortController();
      const reason = new TimeoutError('The stream ran out of time');

      // Act
      const response = await client().stream({ method: 'GET', path: '/events' }, controller.signal);
      const read: string[] = [];
      const error = await (async () => {
        for await (const chunk of response.body) {
          read.push(text(chunk));
          controller.abort(reason);
        }
      })().catch((e: unknown) => e);

      // Assess
      expect(read).toEqual(['data: one\n\n']);
      expect(error).toBe(reason);
    });

    it('fails the iteration with UnavailableError when the connection drops mid-body', async () => {
      // Prepare
      server.handle((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write('data: one\n\n', () => res.socket?.destroy());
      });

      // Act
      const response = await client().stream({ method: 'GET', path: '/events' });
      const error = await (async () => {
        for await (const _chunk of response.body) {
          // reading
        }
      })().catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(UnavailableError);
      expect(server.requests).toHaveLength(1);
    });

    it('keeps the SSRF guard: a loopback URL is refused before connecting', async () => {
      // Prepare
      const acme = client({ ssrfGuard: true });
      const connections = server.connections;

      // Act
      const error = await acme.stream({ method: 'GET', url: `${server.origin}/x` }).catch((e: unknown) => e);

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect(server.connections).toBe(connections);
      expect(acme.stats.attempts).toBe(0);
    });
  });
});
