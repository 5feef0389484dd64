import { createServer } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { withInvocation } from '../context.ts';
import {
  CircuitOpenError,
  RateLimitedError,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '../errors.ts';
import { resetCircuitBreakers } from './circuit-breaker.ts';
import { rejection, reply, sequence, startServer, type TestServer, testClients } from './testing/server.ts';

let server: TestServer;
const clients = testClients(() => server.origin);
const client = clients.make;

/** Runs `fn` inside an invocation that ends `ms` from now. */
function within<T>(ms: number, fn: () => Promise<T>): Promise<T> {
  return withInvocation({ deadline: Date.now() + ms, correlationId: 'c-1' }, fn);
}

/** A port on 127.0.0.1 that refuses connections (opened, then closed again). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

const hang = () => undefined;

/**
 * Fakes the clock the client reads (`Date`, `setTimeout`): time moves only when the test advances it, so
 * a deadline is checked to the millisecond however busy the machine is. Sockets and the client's backoff
 * sleep (node:timers/promises) stay real.
 */
function fakeClock(): void {
  vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
}

/** Resolves once the server has received `count` requests (polled on the real event loop). */
async function untilReceived(count: number): Promise<void> {
  while (server.requests.length < count) await new Promise((resolve) => setImmediate(resolve));
}

/** Tracks whether a promise has settled yet. */
function watch<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  return { promise: tracked, settled: () => done };
}

beforeAll(async () => {
  server = await startServer();
});

afterEach(() => {
  vi.useRealTimers();
  clients.closeAll();
  resetCircuitBreakers();
  server.requests.length = 0;
  server.handle(reply(200, { ok: true }));
});

afterAll(() => server.close());

describe('Class: HttpClient', () => {
  describe('Method: request (retries)', () => {
    it('retries a GET after 5xx answers and returns the first success', async () => {
      // Prepare
      server.handle(sequence(reply(503), reply(502), reply(200, { ok: true })));
      const acme = client();

      // Act
      const response = await acme.request({ method: 'GET', path: '/r' });

      // Assess
      expect(response.body).toEqual({ ok: true });
      expect(acme.stats.attempts).toBe(3);
    });

    it.each([408, 425, 500, 504])('retries HTTP %i', async (status) => {
      // Prepare
      server.handle(sequence(reply(status), reply(200, { ok: true })));

      // Act
      const response = await client().request({ method: 'DELETE', path: '/r' });

      // Assess
      expect(response.status).toBe(200);
      expect(server.requests).toHaveLength(2);
    });

    it('stops after maxAttempts with the last error', async () => {
      // Prepare
      server.handle(reply(500));
      const acme = client({ maxAttempts: 4 });

      // Act
      const error = await rejection(acme.request({ method: 'PUT', path: '/r', json: {} }));

      // Assess
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.message).toBe('Acme is unavailable (HTTP 500)');
      expect(acme.stats.attempts).toBe(4);
    });

    it('lets a request override maxAttempts', async () => {
      // Prepare
      server.handle(reply(500));

      // Act
      await rejection(client().request({ method: 'GET', path: '/r', maxAttempts: 1 }));

      // Assess
      expect(server.requests).toHaveLength(1);
    });

    it('never retries a POST without an idempotency key', async () => {
      // Prepare
      server.handle(reply(503));

      // Act
      const error = await rejection(
        client().request({ method: 'POST', path: '/charges', json: { amount: 1 } }),
      );

      // Assess
      expect(error).toBeInstanceOf(UnavailableError);
      expect(server.requests).toHaveLength(1);
    });

    it('never retries a PATCH without an idempotency key', async () => {
      // Prepare
      server.handle(reply(502));

      // Act
      await rejection(client().request({ method: 'PATCH', path: '/charges/1', json: {} }));

      // Assess
      expect(server.requests).toHaveLength(1);
    });

    it('retries a POST with an idempotency key, sending the same key each time', async () => {
      // Prepare
      server.handle(sequence(reply(503), reply(500), reply(201, { id: 'ch_1' })));
      const stripe = client({ idempotencyHeader: 'Idempotency-Key' });

      // Act
      const response = await stripe.request({
        method: 'POST',
        path: '/charges',
        json: { amount: 1 },
        idempotencyKey: 'key-123',
      });

      // Assess
      expect(response.status).toBe(201);
      expect(server.requests.map((request) => request.headers['idempotency-key'])).toEqual([
        'key-123',
        'key-123',
        'key-123',
      ]);
    });

    it('retries a read-only POST (a GraphQL query) like a GET, sending no idempotency header', async () => {
      // Prepare
      server.handle(sequence(reply(503), reply(200, { data: { shop: { name: 'Sandbox' } } })));

      // Act
      const response = await client().request({
        method: 'POST',
        path: '/graphql.json',
        json: { query: '{ shop { name } }' },
        readOnly: true,
      });

      // Assess
      expect(response.status).toBe(200);
      expect(server.requests).toHaveLength(2);
      expect(server.requests.map((request) => request.headers['idempotency-key'])).toEqual([
        undefined,
        undefined,
      ]);
    });

    it('sends the key under a custom header name', async () => {
      // Act
      await client({ idempotencyHeader: 'X-Request-Key' }).request({
        method: 'PATCH',
        path: '/x',
        idempotencyKey: 'k-9',
      });

      // Assess
      expect(server.requests[0]?.headers['x-request-key']).toBe('k-9');
      expect(server.requests[0]?.headers['idempotency-key']).toBeUndefined();
    });

    it('sends a key beyond visible ASCII percent-encoded, the same on every attempt, never failing the call', async () => {
      // Prepare: a key made from a caller's text (a PagerDuty dedup key, an order name); a header holds Latin-1
      server.handle(sequence(reply(503), reply(201, { id: 'ch_1' })));
      const stripe = client({ idempotencyHeader: 'Idempotency-Key' });

      // Act
      const response = await stripe.request({
        method: 'POST',
        path: '/charges',
        idempotencyKey: 'Zoë-日本-🔥 100%\n',
      });

      // Assess
      expect(response.status).toBe(201);
      const sent = server.requests.map((request) => request.headers['idempotency-key']);
      expect(sent).toEqual([
        'Zo%C3%AB-%E6%97%A5%E6%9C%AC-%F0%9F%94%A5%20100%25%0A',
        'Zo%C3%AB-%E6%97%A5%E6%9C%AC-%F0%9F%94%A5%20100%25%0A',
      ]);
    });

    it('retries a connection reset and maps it to UnavailableError', async () => {
      // Prepare
      server.handle(sequence((_request, _response, raw) => raw.socket.destroy(), reply(200, { ok: true })));
      const acme = client();

      // Act
      const response = await acme.request({ method: 'GET', path: '/r' });

      // Assess
      expect(response.status).toBe(200);
      expect(acme.stats.attempts).toBe(2);
      expect(acme.stats.socketsOpened).toBe(2);
    });

    it('maps a refused connection to a retryable UnavailableError', async () => {
      // Prepare
      const port = await closedPort();
      const acme = client({ baseUrl: `http://127.0.0.1:${port}` });

      // Act
      const error = await rejection(acme.request({ method: 'GET', path: '/r' }));

      // Assess
      expect(error).toBeInstanceOf(UnavailableError);
      expect(error.message).toBe('Acme could not be reached (ECONNREFUSED)');
      expect(acme.stats.attempts).toBe(3);
    });

    it('maps a body cut short to UnavailableError', async () => {
      // Prepare
      server.handle((_request, response, raw) => {
        response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        response.write('{"partial":');
        setTimeout(() => raw.socket.destroy(), 10);
      });

      // Act
      const error = await rejection(client({ maxAttempts: 1 }).request({ method: 'GET', path: '/r' }));

      // Assess
      expect(error).toBeInstanceOf(UnavailableError);
    });
  });

  describe('Method: request (deadlines)', () => {
    it('aborts an attempt the server never answers with a TimeoutError, then retries', async () => {
      // Prepare
      server.handle(hang);
      const acme = client({ timeoutMs: 100, maxAttempts: 2 });
      fakeClock();

      // Act
      const call = watch(rejection(acme.request({ method: 'GET', path: '/slow' })));
      await untilReceived(1);
      await vi.advanceTimersByTimeAsync(100);
      await untilReceived(2);
      await vi.advanceTimersByTimeAsync(99);
      const pendingBeforeTimeout = !call.settled();
      await vi.advanceTimersByTimeAsync(1);
      const error = await call.promise;

      // Assess
      expect(pendingBeforeTimeout).toBe(true);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error.message).toBe('Acme did not answer within 100 ms');
      expect(acme.stats.attempts).toBe(2);
    });

    it('lets a request override the timeout', async () => {
      // Prepare
      server.handle(hang);

      // Act
      const error = await rejection(client({ maxAttempts: 1 }).request({ method: 'GET', timeoutMs: 50 }));

      // Assess
      expect(error.message).toBe('Acme did not answer within 50 ms');
    });

    it('caps the attempt timeout by the invocation time left, keeping a safety margin', async () => {
      // Prepare
      server.handle(hang);
      const acme = client({ timeoutMs: 10_000 });
      fakeClock();

      // Act: 600 ms left minus the 200 ms margin leaves a 400 ms attempt, then no time for another.
      const call = watch(rejection(within(600, () => acme.request({ method: 'GET', path: '/slow' }))));
      await untilReceived(1);
      await vi.advanceTimersByTimeAsync(399);
      const pendingBeforeTimeout = !call.settled();
      await vi.advanceTimersByTimeAsync(1);
      const error = await call.promise;

      // Assess
      expect(pendingBeforeTimeout).toBe(true);
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error.message).toBe('Acme did not answer within 400 ms');
      expect(acme.stats.attempts).toBe(1);
    });

    it('throws TimeoutError without sending when no time is left', async () => {
      // Prepare
      const acme = client();

      // Act
      const error = await rejection(within(100, () => acme.request({ method: 'GET', path: '/r' })));

      // Assess
      expect(error).toBeInstanceOf(TimeoutError);
      expect(error.message).toBe('No time left to call Acme');
      expect(acme.stats.attempts).toBe(0);
      expect(server.requests).toHaveLength(0);
    });

    it('stops with the last error when the backoff delay does not fit the time left', async () => {
      // Prepare
      server.handle(reply(503));
      const acme = client({ baseDelayMs: 1e9, maxDelayMs: 1e9 });

      // Act: a client that waited would not settle before the test times out.
      const error = await rejection(within(1_000, () => acme.request({ method: 'GET', path: '/r' })));

      // Assess
      expect(error).toBeInstanceOf(UnavailableError);
      expect(acme.stats.attempts).toBe(1);
    });
  });

  describe('Method: request (Retry-After)', () => {
    it('waits exactly the Retry-After of a 429 before retrying', async () => {
      // Prepare
      server.handle(sequence(reply(429, undefined, { 'retry-after': '1' }), reply(200, { ok: true })));
      const acme = client();
      const started = Date.now();

      // Act
      const response = await acme.request({ method: 'GET', path: '/r' });

      // Assess
      expect(response.status).toBe(200);
      expect(Date.now() - started).toBeGreaterThanOrEqual(990);
    });

    it('waits for a 503 Retry-After given as an HTTP-date', async () => {
      // Prepare
      server.handle(
        sequence(
          (request, response, raw) =>
            reply(503, undefined, { 'retry-after': new Date(Date.now() + 1_000).toUTCString() })(
              request,
              response,
              raw,
            ),
          reply(200, { ok: true }),
        ),
      );

      // Act
      const response = await client().request({ method: 'GET', path: '/r' });

      // Assess
      expect(response.status).toBe(200);
      expect(server.requests).toHaveLength(2);
    });

    it('fails at once with RateLimitedError when Retry-After exceeds the time left', async () => {
      // Prepare
      server.handle(reply(429, undefined, { 'retry-after': '30' }));
      const acme = client();

      // Act: waiting 30 s would outlast the test's timeout; this message is only thrown instead of waiting.
      const error = await rejection(within(2_000, () => acme.request({ method: 'GET', path: '/r' })));

      // Assess
      expect(error).toBeInstanceOf(RateLimitedError);
      expect((error as RateLimitedError).retryAfterMs).toBe(30_000);
      expect(error.message).toBe('Acme asked to wait 30 s, more than the time left');
      expect(acme.stats.attempts).toBe(1);
    });

    it('turns a 503 whose Retry-After exceeds the time left into RateLimitedError', async () => {
      // Prepare
      server.handle(reply(503, undefined, { 'retry-after': '120' }));

      // Act
      const error = await rejection(within(5_000, () => client().request({ method: 'GET', path: '/r' })));

      // Assess
      expect(error).toBeInstanceOf(RateLimitedError);
      expect((error as RateLimitedError).retryAfterMs).toBe(120_000);
      expect((error as RateLimitedError).details).toEqual({ status: 503, provider: 'Acme' });
    });

    it('fails at once outside an invocation when Retry-After exceeds maxRetryAfterMs', async () => {
      // Prepare
      server.handle(reply(429, undefined, { 'retry-after': '3' }));
      const acme = client({ maxRetryAfterMs: 2_000 });

      // Act
      const error = await rejection(acme.request({ method: 'GET', path: '/r' }));

      // Assess
      expect((error as RateLimitedError).retryAfterMs).toBe(3_000);
      expect(acme.stats.attempts).toBe(1);
    });

    it('surfaces a 429 with its retryAfterMs when no attempt is left', async () => {
      // Prepare
      server.handle(reply(429, undefined, { 'retry-after': '1' }));

      // Act
      const error = await rejection(client({ maxAttempts: 1 }).request({ method: 'GET', path: '/r' }));

      // Assess
      expect(error).toMatchObject({ name: 'RateLimitedError', retryAfterMs: 1_000 });
    });

    it('computes retryAfterMs from the declared reset header when the provider reports no requests remaining', async () => {
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
      const error = await rejection(
        client({
          provider: 'GitHub',
          rateLimit: {
            remaining: 'x-ratelimit-remaining',
            reset: 'x-ratelimit-reset',
            resetFormat: 'epoch-seconds',
            throttleStatuses: [403],
          },
        }).request({ method: 'GET', path: '/repos/o/r' }),
      );

      // Assess
      expect(error).toBeInstanceOf(RateLimitedError);
      const wait = (error as RateLimitedError).retryAfterMs ?? 0;
      expect(wait).toBeGreaterThan(590_000);
      expect(wait).toBeLessThanOrEqual(600_000);
      expect(server.requests).toHaveLength(1);
    });

    it('retries a 429 without hints after a jittered backoff', async () => {
      // Prepare
      server.handle(sequence(reply(429), reply(200, { ok: true })));

      // Act
      const response = await client().request({ method: 'GET', path: '/r' });

      // Assess
      expect(response.status).toBe(200);
    });
  });

  describe('Method: request (circuit breaker)', () => {
    it('opens after failureThreshold failures and then fails fast without a connection', async () => {
      // Prepare
      server.handle(reply(503));
      const acme = client({ maxAttempts: 1, circuitBreaker: { failureThreshold: 2, resetAfterMs: 60_000 } });
      await rejection(acme.request({ method: 'GET', path: '/a' }));
      await rejection(acme.request({ method: 'GET', path: '/b' }));
      const connections = server.connections;

      // Act
      const error = await rejection(acme.request({ method: 'GET', path: '/c' }));

      // Assess
      expect(error).toBeInstanceOf(CircuitOpenError);
      expect(error.message).toBe(
        `Calls to 127.0.0.1:${server.port} are paused after repeated failures (circuit open)`,
      );
      expect(server.requests).toHaveLength(2);
      expect(server.connections).toBe(connections);
      expect(acme.stats.attempts).toBe(2);
    });

    it('is shared by every client of the same host', async () => {
      // Prepare
      server.handle(reply(500));
      const first = client({ maxAttempts: 1, circuitBreaker: { failureThreshold: 1 } });
      await rejection(first.request({ method: 'GET', path: '/a' }));
      const second = client();

      // Act
      const error = await rejection(second.request({ method: 'GET', path: '/a' }));

      // Assess
      expect(error).toBeInstanceOf(CircuitOpenError);
      expect(second.stats.socketsOpened).toBe(0);
    });

    it('stops retrying as soon as the circuit opens', async () => {
      // Prepare
      server.handle(reply(503));
      const acme = client({ maxAttempts: 5, circuitBreaker: { failureThreshold: 2 } });

      // Act
      const error = await rejection(acme.request({ method: 'GET', path: '/a' }));

      // Assess
      expect(error).toBeInstanceOf(CircuitOpenError);
      expect(server.requests).toHaveLength(2);
    });

    it('counts timeouts and network failures, not 4xx answers', async () => {
      // Prepare
      server.handle(reply(404));
      const acme = client({ maxAttempts: 1, circuitBreaker: { failureThreshold: 2 } });
      for (let i = 0; i < 5; i += 1) await rejection(acme.request({ method: 'GET', path: '/missing' }));
      server.handle(hang);
      await rejection(acme.request({ method: 'GET', path: '/slow', timeoutMs: 50 }));
      await rejection(acme.request({ method: 'GET', path: '/slow', timeoutMs: 50 }));

      // Act
      const error = await rejection(acme.request({ method: 'GET', path: '/x' }));

      // Assess
      expect(error).toBeInstanceOf(CircuitOpenError);
      expect(server.requests).toHaveLength(7);
    });

    it('lets one probe through after resetAfterMs and closes on its success', async () => {
      // Prepare
      server.handle(sequence(reply(503), reply(200, { ok: true })));
      const acme = client({ maxAttempts: 1, circuitBreaker: { failureThreshold: 1, resetAfterMs: 100 } });
      await rejection(acme.request({ method: 'GET', path: '/a' }));
      await new Promise((resolve) => setTimeout(resolve, 120));

      // Act
      const probe = await acme.request({ method: 'GET', path: '/probe' });
      const after = await acme.request({ method: 'GET', path: '/after' });

      // Assess
      expect(probe.status).toBe(200);
      expect(after.status).toBe(200);
    });

    it('re-opens when the probe fails', async () => {
      // Prepare
      server.handle(reply(503));
      const acme = client({ maxAttempts: 1, circuitBreaker: { failureThreshold: 1, resetAfterMs: 100 } });
      await rejection(acme.request({ method: 'GET', path: '/a' }));
      await new Promise((resolve) => setTimeout(resolve, 120));

      // Act
      const probe = await rejection(acme.request({ method: 'GET', path: '/probe' }));
      const next = await rejection(acme.request({ method: 'GET', path: '/next' }));

      // Assess
      expect(probe).toBeInstanceOf(UnavailableError);
      expect(probe).not.toBeInstanceOf(CircuitOpenError);
      expect(next).toBeInstanceOf(CircuitOpenError);
      expect(server.requests).toHaveLength(2);
    });

    it('can be switched off', async () => {
      // Prepare
      server.handle(reply(503));
      const acme = client({ maxAttempts: 1, circuitBreaker: false });

      // Act
      for (let i = 0; i < 6; i += 1) await rejection(acme.request({ method: 'GET', path: '/a' }));

      // Assess
      expect(server.requests).toHaveLength(6);
    });

    it('does not blame the host for a refusal before sending', async () => {
      // Prepare
      const acme = client({
        maxAttempts: 1,
        circuitBreaker: { failureThreshold: 1 },
        auth: {
          apply: async () => {
            throw new UnavailableError('Secrets Manager is unavailable');
          },
        },
      });
      await rejection(acme.request({ method: 'GET', path: '/a' }));
      const plain = client();

      // Act
      const response = await plain.request({ method: 'GET', path: '/a' });

      // Assess
      expect(response.status).toBe(200);
    });
  });

  describe('Method: request (size cap)', () => {
    it('refuses an answer whose Content-Length exceeds maxResponseBytes', async () => {
      // Prepare
      server.handle((_request, response) => {
        response.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2048' });
        response.end('x'.repeat(2048));
      });
      const acme = client({ maxResponseBytes: 1024 });

      // Act
      const error = await rejection(acme.request({ method: 'GET', path: '/big' }));

      // Assess
      expect(error).toBeInstanceOf(UnexpectedResponseError);
      expect(error.message).toBe('response from Acme exceeds 1024 bytes');
      expect(acme.stats.attempts).toBe(1);
    });

    it('aborts a streamed answer once it exceeds maxResponseBytes and drops the socket', async () => {
      // Prepare
      server.handle((_request, response) => {
        response.writeHead(200, { 'content-type': 'text/plain' });
        const chunk = 'y'.repeat(512);
        let sent = 0;
        const timer = setInterval(() => {
          if (response.destroyed || sent > 200) {
            clearInterval(timer);
            response.destroy();
            return;
          }
          sent += 1;
          response.write(chunk);
        }, 1);
      });
      const acme = client({ maxResponseBytes: 2_000 });

      // Act
      const error = await rejection(acme.request({ method: 'GET', path: '/stream' }));
      server.handle(reply(200, { ok: true }));
      await acme.request({ method: 'GET', path: '/after' });

      // Assess
      expect(error.message).toBe('response from Acme exceeds 2000 bytes');
      expect(acme.stats.socketsOpened).toBe(2);
    });

    it('does not apply the Content-Length check to a HEAD answer', async () => {
      // Prepare
      server.handle((_request, response) => {
        response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': '4096' });
        response.end();
      });

      // Act
      const response = await client({ maxResponseBytes: 1024 }).request({ method: 'HEAD', path: '/big' });

      // Assess
      expect(response.headers['content-length']).toBe('4096');
      expect(response.body).toBeUndefined();
    });

    it('accepts an answer of exactly maxResponseBytes', async () => {
      // Prepare
      server.handle((_request, response) => {
        response.setHeader('content-type', 'text/plain');
        response.end('z'.repeat(1024));
      });

      // Act
      const response = await client({ maxResponseBytes: 1024 }).request({ method: 'GET', path: '/edge' });

      // Assess
      expect(response.body).toHaveLength(1024);
    });
  });

  describe('Method: request (errors)', () => {
    it('puts no header values into any error', async () => {
      // Prepare
      server.handle(reply(400, { error: 'bad' }));

      // Act
      const error = await rejection(
        client({ headers: { authorization: 'Bearer s3cr3t' } }).request({ method: 'GET', path: '/r' }),
      );

      // Assess
      expect(error).toBeInstanceOf(ValidationError);
      expect(`${error.message} ${JSON.stringify(error)}`).not.toContain('s3cr3t');
    });
  });
});
