import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UnavailableError } from '../errors.ts';
import { resetCircuitBreakers } from '../http/circuit-breaker.ts';
import { reply, startServer, type TestServer, testClients } from '../http/testing/server.ts';
import { cachedTokenAuth, type IssuedToken } from './cached-token.ts';

/** An exchange that issues `tok-1`, `tok-2`, ... and can be held open or made to fail. */
function issuer(lifeMs = 3_600_000) {
  const state = {
    issued: 0,
    failNext: false,
    gate: undefined as Promise<void> | undefined,
    async exchange(): Promise<IssuedToken> {
      await state.gate;
      if (state.failNext) {
        state.failNext = false;
        throw new UnavailableError('issuer down');
      }
      state.issued += 1;
      return { value: `tok-${state.issued}`, expiresInMs: lifeMs };
    },
  };
  return state;
}

function target() {
  return { url: new URL('https://api.example.com/x'), headers: {} as Record<string, string> };
}

describe('Function: cachedTokenAuth', () => {
  describe('Method: token', () => {
    it('runs one exchange for 20 concurrent callers on a cold cache', async () => {
      // Prepare
      const source = issuer();
      let open: () => void = () => undefined;
      source.gate = new Promise((resolve) => {
        open = resolve;
      });
      const auth = cachedTokenAuth({ exchange: source.exchange });

      // Act
      const pending = Promise.all(Array.from({ length: 20 }, () => auth.token()));
      open();
      const tokens = await pending;

      // Assess
      expect(new Set(tokens)).toEqual(new Set(['tok-1']));
      expect(source.issued).toBe(1);
    });

    it.each([
      ['renews refreshAheadMs before an absolute expiry', { expiresAt: 3_600_000 }, 3_540_000],
      ['renews a relative life refreshAheadMs before its end', { expiresInMs: 3_600_000 }, 3_540_000],
      ['uses a life shorter than refreshAheadMs for half of it', { expiresInMs: 30_000 }, 15_000],
      ['assumes the default life when the issuer gives none', {}, 240_000],
    ] as const)('%s', async (_title, life, renewAt) => {
      // Prepare
      let now = 0;
      let issued = 0;
      const auth = cachedTokenAuth({
        exchange: async () => ({ value: `tok-${++issued}`, ...life }),
        now: () => now,
      });
      await auth.token();
      now = renewAt - 1;
      const cached = await auth.token();

      // Act
      now = renewAt;
      const renewed = await auth.token();

      // Assess
      expect(cached).toBe('tok-1');
      expect(renewed).toBe('tok-2');
    });

    it('does not cache a failure: the next call exchanges again', async () => {
      // Prepare
      const source = issuer();
      source.failNext = true;
      const auth = cachedTokenAuth({ exchange: source.exchange });
      const failed = await auth.token().catch((error: unknown) => error);

      // Act
      const token = await auth.token();

      // Assess
      expect(failed).toBeInstanceOf(UnavailableError);
      expect(token).toBe('tok-1');
    });
  });

  describe('Method: refresh', () => {
    it('shares one exchange among concurrent invocations refused with the same token', async () => {
      // Lambda Managed Instances runs invocations concurrently in one worker thread
      // (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html): several
      // can be refused with the same revoked token and each asks for a refresh.
      // Prepare: tok-1 is cached and then refused; the next exchange is held open.
      const source = issuer();
      const auth = cachedTokenAuth({ exchange: source.exchange });
      await expect(auth.token()).resolves.toBe('tok-1');
      let open: () => void = () => undefined;
      source.gate = new Promise((resolve) => {
        open = resolve;
      });
      const refusedWith = (token: string) => ({ ...target(), headers: { authorization: `Bearer ${token}` } });
      // Act: A refreshes and starts the new exchange; B, refused with tok-1 too, refreshes while it runs.
      await expect(auth.refresh(refusedWith('tok-1'))).resolves.toBe(true);
      const a = auth.token();
      await expect(auth.refresh(refusedWith('tok-1'))).resolves.toBe(true);
      const b = auth.token();
      open();
      const tokens = await Promise.all([a, b]);
      // C was refused with tok-1 as well, and asks only now, with tok-2 cached.
      await expect(auth.refresh(refusedWith('tok-1'))).resolves.toBe(true);
      const c = await auth.token();
      // Assess: one new token for all three; tok-2 was never thrown away.
      expect([...tokens, c]).toEqual(['tok-2', 'tok-2', 'tok-2']);
      expect(source.issued).toBe(2);
    });

    it('drops the token, runs onRefresh once and reports a retry is worthwhile', async () => {
      // Prepare
      const source = issuer();
      let reread = 0;
      const onRefresh = async (): Promise<void> => {
        reread += 1;
      };
      const auth = cachedTokenAuth({ exchange: source.exchange, onRefresh });
      await auth.token();

      // Act
      const retry = await auth.refresh();
      const token = await auth.token();

      // Assess
      expect(retry).toBe(true);
      expect(reread).toBe(1);
      expect(token).toBe('tok-2');
    });

    it('keeps a token exchanged before the refresh out of the cache', async () => {
      // Prepare
      const source = issuer();
      let open: () => void = () => undefined;
      source.gate = new Promise((resolve) => {
        open = resolve;
      });
      const auth = cachedTokenAuth({ exchange: source.exchange });
      const early = auth.token();

      // Act
      await auth.refresh();
      source.gate = undefined;
      const late = await auth.token();
      open();
      const again = await auth.token();

      // Assess
      expect(await early).toBe('tok-2');
      expect(late).toBe('tok-1');
      expect(again).toBe('tok-1');
      expect(source.issued).toBe(2);
    });
  });

  describe('Method: apply', () => {
    it('sets the authorization header with the declared scheme', async () => {
      // Prepare
      const auth = cachedTokenAuth({ exchange: issuer().exchange, scheme: 'token' });
      const request = target();

      // Act
      await auth.apply(request);

      // Assess
      expect(request.headers['authorization']).toBe('token tok-1');
    });
  });
});

describe('Function: cachedTokenAuth (with the HTTP client)', () => {
  let server: TestServer;
  const clients = testClients(() => server.origin);

  beforeAll(async () => {
    server = await startServer();
  });
  afterEach(() => {
    clients.closeAll();
    resetCircuitBreakers();
    server.requests.length = 0;
  });
  afterAll(() => server.close());

  it('exchanges a new token after the provider refuses the cached one, and sends the call once more', async () => {
    // Prepare
    const source = issuer();
    const auth = cachedTokenAuth({ exchange: source.exchange });
    server.handle((request, response, raw) =>
      request.headers.authorization === 'Bearer tok-2'
        ? reply(200, { ok: true })(request, response, raw)
        : reply(401, { message: 'token revoked' })(request, response, raw),
    );

    // Act
    const answer = await clients.make({ auth }).request({ method: 'GET', path: '/me' });

    // Assess
    expect(answer.status).toBe(200);
    expect(server.requests.map((request) => request.headers.authorization)).toEqual([
      'Bearer tok-1',
      'Bearer tok-2',
    ]);
  });
});
