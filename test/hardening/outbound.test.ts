/**
 * Outbound promises, end to end through the GitHub connector's handler against the GitHub contract fake
 * behind a fault-injecting proxy on 127.0.0.1: attempts stay within the maximum, each wait is the
 * full-jitter draw (Math.random stubbed, waits measured where the requests arrive, lower bounds only), and
 * no attempt starts that the Lambda's remaining time cannot fit; Retry-After 2 is waited for, Retry-After
 * 120 fails at once with the delay; 400/404/422 are never retried and 401/403 get exactly one re-send after
 * a forced credential refresh; a POST without an idempotency key is sent once, with a key every attempt
 * carries the same key; a silent server is cut at the attempt timeout; the circuit opens and fails fast
 * without a request until a probe succeeds; an oversized answer is cut with a clear error. Deadlines are
 * checked on a fake clock, never against wall time, so a busy machine cannot fail them. The core's own
 * unit tests (layers/core/src/http/*.test.ts) cover the client in isolation.
 */
import { type CapturedLogs, captureLogs, httpEvent, lambdaContext } from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type GitHubFake, startGitHubFake } from '../../scripts/local/sandboxes/github.ts';
import { type SecretsManagerFake, startSecretsManagerFake } from '../fakes/secrets-manager.ts';
import { type FaultProxy, startFaultProxy } from './support/fault-proxy.ts';
import type { HttpResult } from './support/suite.ts';

type Core = typeof import('@circle-core/core');
interface Loaded {
  handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
  core: Core;
}

const TOKEN = 'ghp_outbound0123456789abcdef0123456789';
const REPO = { owner: 'octo', repo: 'hello' };
/** A timer may fire up to a millisecond early against performance.now(): the only slack a lower bound needs. */
const TIMER_SLACK_MS = 1;
const BASE_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'test',
  AWS_SECRET_ACCESS_KEY: 'test',
  GITHUB_TOKEN_SECRET: 'circle-core/github/token',
  GITHUB_WEBHOOK_SECRET_SECRET: 'circle-core/github/webhook-secret',
};

let github: GitHubFake;
let secrets: SecretsManagerFake;
let proxy: FaultProxy;
let logs: CapturedLogs;
const saved = new Map<string, string | undefined>();

/** A fresh container of the GitHub connector (cold start) with these settings. */
async function loadGitHub(env: Record<string, string> = {}): Promise<Loaded> {
  for (const name of ['GITHUB_MAX_ATTEMPTS', 'GITHUB_TIMEOUT_MS', 'GITHUB_MAX_RETRY_AFTER_MS']) {
    delete process.env[name];
  }
  Object.assign(process.env, BASE_ENV, { GITHUB_API_URL: proxy.url }, env);
  vi.resetModules();
  const [{ connector }, core] = await Promise.all([
    import('../../functions/devops/github/index.ts'),
    import('@circle-core/core'),
  ]);
  await connector.runtime.client();
  return { handler: connector.handler as Loaded['handler'], core };
}

async function call(
  loaded: Loaded,
  operation: string,
  body: unknown,
  remainingMs = 25_000,
): Promise<{ response: HttpResult }> {
  const event = httpEvent({ path: `/github/${operation}`, body });
  const response = (await loaded.handler(event, lambdaContext({ remainingMs }))) as HttpResult;
  return { response };
}

/** Time between the proxy finishing answer k and receiving request k+1: the client's wait. */
function gaps(): number[] {
  const out: number[] = [];
  for (let index = 1; index < proxy.requests.length; index += 1) {
    const previous = proxy.requests[index - 1];
    const current = proxy.requests[index];
    if (previous?.answeredAt !== undefined && current !== undefined) {
      out.push(current.receivedAt - previous.answeredAt);
    }
  }
  return out;
}

const problem = (response: HttpResult): Record<string, unknown> =>
  JSON.parse(response.body) as Record<string, unknown>;

/** Resolves once the proxy has received `count` requests (polled on the real event loop). */
async function untilReceived(count: number): Promise<void> {
  while (proxy.requests.length < count) await new Promise((resolve) => setImmediate(resolve));
}

/** Tracks whether a promise has settled yet. */
function watch<T>(promise: Promise<T>): { promise: Promise<T>; settled: () => boolean } {
  let done = false;
  const tracked = promise.finally(() => {
    done = true;
  });
  return { promise: tracked, settled: () => done };
}

/**
 * Fakes the clock the client reads (`Date`, `setTimeout`): time moves only when the test advances it.
 * Sockets and the client's backoff sleep (node:timers/promises) stay real.
 */
function fakeClock(): void {
  vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
}

beforeAll(async () => {
  for (const name of [...Object.keys(BASE_ENV), 'GITHUB_API_URL', 'AWS_ENDPOINT_URL_SECRETS_MANAGER']) {
    saved.set(name, process.env[name]);
  }
  github = await startGitHubFake({
    tokens: [TOKEN],
    repos: { 'octo/hello': { issues: [{ title: 'Seeded' }], files: { 'README.md': 'hi' } } },
  });
  secrets = await startSecretsManagerFake({
    'circle-core/github/token': TOKEN,
    'circle-core/github/webhook-secret': 'whsec-outbound',
  });
  process.env['AWS_ENDPOINT_URL_SECRETS_MANAGER'] = secrets.endpoint;
  proxy = await startFaultProxy(github.baseUrl);
});

afterAll(async () => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await Promise.all([proxy.close(), github.close(), secrets.close()]);
});

beforeEach(() => {
  logs = captureLogs();
  proxy.reset();
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
  logs.restore();
});

describe('Outbound: 5xx retries', () => {
  it('stays within the maximum attempts and waits out each draw from the doubling full-jitter range', async () => {
    // Prepare: the top of every range, so each wait must reach its cap: 99, 199, 399 ms.
    const loaded = await loadGitHub({ GITHUB_MAX_ATTEMPTS: '4' });
    proxy.always({ status: 503, body: { message: 'Service Unavailable' } });
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.999);
    // Act
    const { response } = await call(loaded, 'list-issues', REPO);
    // Assess
    expect(response.statusCode).toBe(503);
    expect(problem(response)).toMatchObject({ code: 'provider_unavailable' });
    expect(proxy.requests).toHaveLength(4);
    expect(random).toHaveBeenCalledTimes(3);
    // Retry n waits floor(draw * min(5000, 100 * 2^(n-1))).
    const waits = gaps();
    expect(waits).toHaveLength(3);
    waits.forEach((gap, index) => {
      const drawn = Math.floor(0.999 * 100 * 2 ** index);
      expect(gap, `wait before attempt ${index + 2}`).toBeGreaterThanOrEqual(drawn - TIMER_SLACK_MS);
    });
  });

  it('draws each wait at random (full jitter), not from a fixed schedule', async () => {
    // Prepare
    const loaded = await loadGitHub({ GITHUB_MAX_ATTEMPTS: '2' });
    proxy.always({ status: 502, body: { message: 'Bad Gateway' } });
    const random = vi.spyOn(Math, 'random');
    const draws = Array.from({ length: 12 }, (_, run) => (run + 0.5) / 12);
    const waits: number[] = [];
    // Act
    for (const draw of draws) {
      loaded.core.resetCircuitBreakers();
      proxy.requests.length = 0;
      random.mockReturnValue(draw);
      await call(loaded, 'list-issues', REPO);
      waits.push(...gaps());
    }
    // Assess: one draw per retry, and each wait lasts at least what its draw asked for.
    expect(random).toHaveBeenCalledTimes(12);
    expect(waits).toHaveLength(12);
    waits.forEach((wait, run) => {
      const drawn = Math.floor((draws[run] ?? 0) * 100);
      expect(wait, `run ${run}, drawn ${drawn} ms`).toBeGreaterThanOrEqual(drawn - TIMER_SLACK_MS);
    });
  });

  it('starts no attempt the remaining time cannot fit, however many attempts are allowed', async () => {
    // Prepare: the invocation's clock moves on 400 ms with every request the proxy receives, and every
    // backoff draw is 0; 1500 ms left, a 200 ms margin and a 50 ms minimum attempt leave room for four.
    const loaded = await loadGitHub({ GITHUB_MAX_ATTEMPTS: '10' });
    proxy.always({ status: 503, body: { message: 'Service Unavailable' } });
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const start = Date.now();
    vi.spyOn(Date, 'now').mockImplementation(() => start + 400 * proxy.requests.length);
    // Act
    const { response } = await call(loaded, 'list-issues', REPO, 1_500);
    // Assess: attempts at 0, 400, 800 and 1200 ms; the next would start with 100 ms, below 200 + 50.
    expect(response.statusCode).toBe(503);
    expect(proxy.requests).toHaveLength(4);
  });
});

describe('Outbound: Retry-After', () => {
  it.each([
    [
      '429 Too Many Requests',
      { status: 429, headers: { 'retry-after': '2' }, body: { message: 'Too Many Requests' } },
    ],
    [
      'GitHub secondary rate limit (403)',
      {
        status: 403,
        headers: { 'retry-after': '2' },
        body: { message: 'You have exceeded a secondary rate limit.' },
      },
    ],
  ])('waits the 2 seconds a %s asks for, then succeeds', async (_what, fault) => {
    // Prepare
    const loaded = await loadGitHub();
    proxy.push(fault);
    // Act
    const { response } = await call(loaded, 'list-issues', REPO);
    // Assess
    expect(response.statusCode).toBe(200);
    expect(proxy.requests).toHaveLength(2);
    const [wait] = gaps();
    expect(wait).toBeGreaterThanOrEqual(2_000 - TIMER_SLACK_MS);
  });

  it('fails at once with 429 and the delay when Retry-After is 120 s, beyond the budget', async () => {
    // Prepare
    const loaded = await loadGitHub();
    proxy.always({ status: 429, headers: { 'retry-after': '120' }, body: { message: 'Too Many Requests' } });
    // Act: a client that waited 120 s would not answer before the test times out.
    const { response } = await call(loaded, 'list-issues', REPO);
    // Assess
    expect(response.statusCode).toBe(429);
    expect(response.headers['retry-after']).toBe('120');
    expect(problem(response)).toMatchObject({ code: 'rate_limited', retryAfterMs: 120_000 });
    expect(proxy.requests).toHaveLength(1);
  });

  it('does not clamp a Retry-After longer than the time left: it fails with the delay', async () => {
    // Prepare
    const loaded = await loadGitHub();
    proxy.always({ status: 503, headers: { 'retry-after': '5' }, body: { message: 'Service Unavailable' } });
    // Act
    const { response } = await call(loaded, 'list-issues', REPO, 3_000);
    // Assess: a clamped wait would have been followed by a second request.
    expect(response.statusCode).toBe(429);
    expect(problem(response)).toMatchObject({ retryAfterMs: 5_000 });
    expect(proxy.requests).toHaveLength(1);
  });
});

describe('Outbound: answers that are never retried', () => {
  it.each([
    [400, 400],
    [404, 404],
    [422, 400],
  ])('sends a GET answered %i exactly once and answers %i', async (status, answered) => {
    // Prepare
    const loaded = await loadGitHub({ GITHUB_MAX_ATTEMPTS: '5' });
    proxy.always({ status, body: { message: 'Refused' } });
    // Act
    const { response } = await call(loaded, 'list-issues', REPO);
    // Assess
    expect(response.statusCode).toBe(answered);
    expect(proxy.requests).toHaveLength(1);
  });

  it.each([401, 403])(
    're-sends a %i once, after one forced credential refresh, never more',
    async (status) => {
      // Prepare
      const loaded = await loadGitHub({ GITHUB_MAX_ATTEMPTS: '5' });
      const before = secrets.calls.length;
      proxy.always({ status, body: { message: 'Bad credentials' } });
      // Act
      const { response } = await call(loaded, 'list-issues', REPO);
      // Assess
      expect(response.statusCode).toBe(status);
      expect(proxy.requests).toHaveLength(2);
      expect(secrets.calls.length - before).toBe(1);
    },
  );

  it('sends a POST without an idempotency key once, even after a 503 or a timeout', async () => {
    // Prepare
    const loaded = await loadGitHub({ GITHUB_MAX_ATTEMPTS: '5', GITHUB_TIMEOUT_MS: '300' });
    // Act
    proxy.always({ status: 503, body: { message: 'Service Unavailable' } });
    const unavailable = await call(loaded, 'create-issue', { ...REPO, title: 'Once' });
    const afterUnavailable = proxy.requests.length;
    proxy.always({ hang: true });
    const silent = await call(loaded, 'create-issue', { ...REPO, title: 'Once' });
    // Assess
    expect(unavailable.response.statusCode).toBe(503);
    expect(afterUnavailable).toBe(1);
    expect(silent.response.statusCode).toBe(504);
    expect(proxy.requests).toHaveLength(2);
  });

  it('retries a POST with an idempotency key through a timeout and a 503, with the same key and body each time', async () => {
    // Prepare
    const { core } = await loadGitHub();
    const client = new core.HttpClient({
      provider: 'GitHub',
      baseUrl: proxy.url,
      auth: core.bearerAuth({ token: TOKEN }),
      timeoutMs: 300,
      maxAttempts: 3,
      circuitBreaker: false,
    });
    proxy.push({ hang: true }, { status: 503, body: { message: 'Service Unavailable' } });
    // Act
    const response = await client.request({
      method: 'POST',
      path: '/repos/octo/hello/issues',
      json: { title: 'Exactly once' },
      idempotencyKey: 'issue-42',
    });
    client.close();
    // Assess
    expect(response.status).toBe(201);
    expect(proxy.requests).toHaveLength(3);
    expect(proxy.requests.map((request) => request.headers['idempotency-key'])).toEqual([
      'issue-42',
      'issue-42',
      'issue-42',
    ]);
    expect(new Set(proxy.requests.map((request) => request.body)).size).toBe(1);
  });
});

describe('Outbound: silent servers, the circuit breaker, oversized answers', () => {
  it('cuts an attempt the server never answers at the attempt timeout', async () => {
    // Prepare
    const loaded = await loadGitHub({ GITHUB_TIMEOUT_MS: '300', GITHUB_MAX_ATTEMPTS: '2' });
    proxy.always({ hang: true });
    fakeClock();
    // Act
    const answer = watch(call(loaded, 'list-issues', REPO));
    await untilReceived(1);
    await vi.advanceTimersByTimeAsync(300);
    await untilReceived(2);
    await vi.advanceTimersByTimeAsync(299);
    const pendingBeforeTimeout = !answer.settled();
    await vi.advanceTimersByTimeAsync(1);
    const { response } = await answer.promise;
    // Assess
    expect(pendingBeforeTimeout).toBe(true);
    expect(response.statusCode).toBe(504);
    expect(problem(response)).toMatchObject({ code: 'timeout' });
    expect(proxy.requests).toHaveLength(2);
  });

  it('cuts a silent server at the remaining time when that comes first', async () => {
    // Prepare: 1000 ms left minus the 200 ms margin is an 800 ms attempt, well below GITHUB_TIMEOUT_MS.
    const loaded = await loadGitHub({ GITHUB_TIMEOUT_MS: '10000' });
    proxy.always({ hang: true });
    fakeClock();
    // Act
    const answer = watch(call(loaded, 'list-issues', REPO, 1_000));
    await untilReceived(1);
    await vi.advanceTimersByTimeAsync(799);
    const pendingBeforeTimeout = !answer.settled();
    await vi.advanceTimersByTimeAsync(1);
    const { response } = await answer.promise;
    // Assess: cut at 800 ms, and no time left for a second attempt.
    expect(pendingBeforeTimeout).toBe(true);
    expect(response.statusCode).toBe(504);
    expect(proxy.requests).toHaveLength(1);
  });

  it('opens the circuit after consecutive failures, fails fast without a request, and closes after a successful probe', async () => {
    // Prepare
    const loaded = await loadGitHub({ GITHUB_MAX_ATTEMPTS: '1' });
    const host = new URL(proxy.url);
    // The first caller's options win for a host: a short reset keeps the test fast.
    loaded.core.circuitBreakerFor(`${host.hostname}:${host.port}`, {
      failureThreshold: 3,
      resetAfterMs: 400,
    });
    proxy.always({ status: 503, body: { message: 'Service Unavailable' } });
    for (let attempt = 0; attempt < 3; attempt += 1) await call(loaded, 'list-issues', REPO);
    const requestsWhenOpened = proxy.requests.length;
    const connectionsWhenOpened = proxy.connections;
    // Act
    const open: HttpResult[] = [];
    for (let attempt = 0; attempt < 5; attempt += 1)
      open.push((await call(loaded, 'list-issues', REPO)).response);
    const requestsWhileOpen = proxy.requests.length;
    proxy.always(undefined);
    // The probe is answered slowly, so the other callers certainly meet the half-open circuit.
    proxy.push({ delayMs: 200 });
    await new Promise((resolve) => setTimeout(resolve, 450));
    const probes = await Promise.all(
      Array.from({ length: 4 }, () => call(loaded, 'list-issues', REPO).then((result) => result.response)),
    );
    const after = await call(loaded, 'list-issues', REPO);
    // Assess
    expect(requestsWhenOpened).toBe(3);
    for (const response of open)
      expect(problem(response)).toMatchObject({ status: 503, code: 'circuit_open' });
    // Failing fast means failing without a request, not within some wall time.
    expect(requestsWhileOpen).toBe(requestsWhenOpened);
    expect(proxy.requests.length - requestsWhenOpened).toBe(2);
    expect(proxy.connections).toBeLessThanOrEqual(connectionsWhenOpened + 1);
    // One probe goes out while half-open; the others keep failing fast until it reports back.
    expect(probes.filter((response) => response.statusCode === 200)).toHaveLength(1);
    expect(probes.filter((response) => problem(response)['code'] === 'circuit_open')).toHaveLength(3);
    expect(after.response.statusCode).toBe(200);
  });

  it.each([
    ['announced by Content-Length', false],
    ['streamed without a length', true],
  ])('cuts an answer over the 5 MiB cap %s with a clear 502', async (_what, chunked) => {
    // Prepare
    const loaded = await loadGitHub({ GITHUB_MAX_ATTEMPTS: '3' });
    proxy.push({ bytes: 6 * 1024 * 1024, chunked });
    // Act
    const { response } = await call(loaded, 'get-file', { ...REPO, path: 'README.md' });
    // Assess
    expect(response.statusCode).toBe(502);
    expect(problem(response)).toMatchObject({ code: 'unexpected_response' });
    expect(String(problem(response)['detail'])).toContain('exceeds 5242880 bytes');
    expect(proxy.requests).toHaveLength(1);
  });
});
