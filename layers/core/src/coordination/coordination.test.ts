/**
 * Coordination across containers, with many "containers" (each its own auth, HTTP client and table handle,
 * sharing nothing in memory) against dynalite (DynamoDB's protocol) and real HTTP servers on 127.0.0.1 that
 * count what a provider would see: token requests, and calls over its rate limit.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DeleteTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createTable, type DynalitePeer, startDynalite } from '../../../../test/peers/dynalite.ts';
import { cachedTokenAuth, type IssuedToken } from '../auth/cached-token.ts';
import { oauth2RefreshToken } from '../auth/oauth2-refresh-token.ts';
import { withInvocation } from '../context.ts';
import { RateLimitedError } from '../errors.ts';
import { resetCircuitBreakers } from '../http/circuit-breaker.ts';
import { HttpClient } from '../http/client.ts';
import { defineRestProvider } from '../rest/provider.ts';
import { configureSecrets, defineSecret } from '../secrets.ts';
import { captureLogs } from '../testing/logs.ts';
import { DailyQuota } from './daily-quota.ts';
import { SharedRateBudget } from './rate-budget.ts';
import { type CoordinationLog, CoordinationTable, coordinationFromEnv } from './table.ts';
import { SharedTokenCache } from './tokens.ts';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
let dynamo: DynalitePeer;
const documents: DynamoDBDocumentClient[] = [];
let run = 0;
let tableName: string;

beforeAll(async () => {
  dynamo = await startDynalite();
});

afterAll(async () => {
  for (const client of documents) client.destroy();
  await dynamo.close();
});

beforeEach(async () => {
  run += 1;
  tableName = `coordination-${run}`;
  await createTable(dynamo.endpoint, tableName);
  resetCircuitBreakers();
});

/** A container's own handle on the table, with its own DynamoDB client. */
function containerTable(log?: CoordinationLog, table = tableName): CoordinationTable {
  const client = DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials, maxAttempts: 1 }),
  );
  documents.push(client);
  return new CoordinationTable({ table, connector: 'acme', client, ...(log === undefined ? {} : { log }) });
}

function recordingLog(): CoordinationLog & { lines: string[] } {
  const lines: string[] = [];
  return { lines, warn: (message) => lines.push(message) };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('Class: SharedTokenCache', () => {
  /** A token issuer that counts exchanges; each takes a while, as a real token endpoint does. */
  function issuer(lifeMs: number) {
    const state = { exchanges: 0, fail: 0 };
    const exchange = async (): Promise<IssuedToken> => {
      state.exchanges += 1;
      const n = state.exchanges;
      await new Promise((resolve) => setTimeout(resolve, 150));
      if (state.fail > 0) {
        state.fail -= 1;
        throw new Error('token endpoint down');
      }
      return { value: `tok-${n}`, expiresAt: clock + lifeMs };
    };
    return { state, exchange };
  }
  let clock = 1_900_000_000_000;
  const now = () => clock;

  function containers(count: number, exchange: () => Promise<IssuedToken>) {
    return Array.from({ length: count }, () =>
      cachedTokenAuth({
        exchange,
        now,
        refreshAheadMs: 60_000,
        share: new SharedTokenCache({ table: containerTable(), key: 'install-7', now, pollMs: 50 }),
      }),
    );
  }

  it('makes one token request per expiry for twelve concurrent containers, which all use its token', async () => {
    // Prepare
    const { state, exchange } = issuer(3_600_000);
    const fleet = containers(12, exchange);

    // Act
    const first = await Promise.all(fleet.map((auth) => auth.token()));
    clock += 3_600_000; // every container's token is now past its renewal point
    const second = await Promise.all(fleet.map((auth) => auth.token()));

    // Assess
    expect(state.exchanges).toBe(2);
    expect(new Set(first)).toEqual(new Set(['tok-1']));
    expect(new Set(second)).toEqual(new Set(['tok-2']));
  });

  it('never hands out a token the provider refused, even while it is still in the table', async () => {
    // Prepare
    const { state, exchange } = issuer(3_600_000);
    const [a, b] = containers(2, exchange);
    await a?.token();

    // Act: the provider answers 401 to a's token; a refreshes, b (fresh) arrives after
    await a?.refresh();
    const renewed = await a?.token();
    const other = await b?.token();

    // Assess
    expect(renewed).toBe('tok-2');
    expect(other).toBe('tok-2');
    expect(state.exchanges).toBe(2);
  });

  it('frees the lease when an exchange fails, so the next container exchanges at once', async () => {
    // Prepare
    const { state, exchange } = issuer(3_600_000);
    state.fail = 1;
    const [a, b] = containers(2, exchange);

    // Act
    const failed = await a?.token().catch((error: Error) => error.message);
    const started = Date.now();
    const token = await b?.token();

    // Assess: not the 15 s lease, only b's own exchange
    expect(failed).toBe('token endpoint down');
    expect(token).toBe('tok-2');
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('exchanges alone, with one warning, when the table cannot be reached', async () => {
    // Prepare
    const log = recordingLog();
    const { state, exchange } = issuer(3_600_000);
    const share = new SharedTokenCache({ table: containerTable(log, 'no-such-table'), key: 'k', now });
    const fleet = [0, 1].map(() => cachedTokenAuth({ exchange, now, share }));

    // Act
    const tokens = await Promise.all(fleet.map((auth) => auth.token()));

    // Assess
    expect(tokens.sort()).toEqual(['tok-1', 'tok-2']);
    expect(state.exchanges).toBe(2);
    expect(log.lines).toEqual([
      'Coordination table unreachable; tokens are exchanged without the other containers',
    ]);
  });

  it('exchanges for itself rather than wait for a lease it has no time to wait out', async () => {
    // Prepare: a's exchange hangs, holding the lease
    let release: () => void = () => undefined;
    const hanging = new Promise<void>((resolve) => (release = resolve));
    let exchanges = 0;
    const exchange = async (): Promise<IssuedToken> => {
      exchanges += 1;
      const n = exchanges;
      if (n === 1) await hanging;
      return { value: `tok-${n}`, expiresAt: clock + 3_600_000 };
    };
    const [a, b] = containers(2, exchange);
    const pending = a?.token();
    await new Promise((resolve) => setTimeout(resolve, 300));

    // Act: b has one second left in its invocation
    const token = await withInvocation({ deadline: Date.now() + 1_000, correlationId: 'c' }, () =>
      b?.token(),
    );
    release();

    // Assess
    expect(token).toBe('tok-2');
    expect(await pending).toBe('tok-1');
  });

  it('keeps a token it could not publish, with a warning, when the table goes away mid-exchange', async () => {
    // Prepare
    const log = recordingLog();
    const admin = new DynamoDBClient({ endpoint: dynamo.endpoint, region: 'us-east-1', credentials });
    const exchange = async (): Promise<IssuedToken> => {
      await admin.send(new DeleteTableCommand({ TableName: tableName }));
      return { value: 'tok-kept', expiresInMs: 3_600_000 };
    };
    const auth = cachedTokenAuth({
      exchange,
      now,
      share: new SharedTokenCache({ table: containerTable(log), key: 'k', now }),
    });

    // Act
    const token = await auth.token();
    admin.destroy();

    // Assess
    expect(token).toBe('tok-kept');
    expect(log.lines).toEqual([
      'Coordination table unreachable; a token was not shared without the other containers',
    ]);
  });

  it('builds its DynamoDB client on first use, and works alone when that fails', async () => {
    // Prepare
    const log = recordingLog();
    const broken = new CoordinationTable({
      table: tableName,
      connector: 'acme',
      client: () => Promise.reject('no credentials'),
      log,
    });
    const { state, exchange } = issuer(3_600_000);

    // Act
    const token = await cachedTokenAuth({
      exchange,
      now,
      share: new SharedTokenCache({ table: broken, key: 'k' }),
    }).token();

    // Assess
    expect(token).toBe('tok-1');
    expect(state.exchanges).toBe(1);
    expect(log.lines).toHaveLength(1);
  });

  it('spends a rotating refresh token once across ten containers and writes the new one back once', async () => {
    // Prepare: a token endpoint whose refresh tokens work once (reuse is invalid_grant)
    let valid = 'rt-0';
    let grants = 0;
    let reuses = 0;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const presented = new URLSearchParams(body).get('refresh_token');
        res.setHeader('content-type', 'application/json');
        if (presented !== valid) {
          reuses += 1;
          res.writeHead(400).end(JSON.stringify({ error: 'invalid_grant' }));
          return;
        }
        grants += 1;
        valid = `rt-${grants}`;
        const answer = {
          access_token: `at-${grants}`,
          token_type: 'Bearer',
          expires_in: 3600,
          refresh_token: valid,
        };
        setTimeout(() => res.end(JSON.stringify(answer)), 100);
      });
    });
    const origin = await listen(server);
    const stored = new Map([
      ['acme/oauth', JSON.stringify({ clientId: 'c', clientSecret: 's', refreshToken: 'rt-0' })],
    ]);
    const writes: string[] = [];
    const sm = mockClient(SecretsManagerClient);
    sm.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => ({
      SecretString: stored.get(input.SecretId),
    }));
    configureSecrets({ client: new SecretsManagerClient({ region: 'us-east-1' }) });
    const fleet = Array.from({ length: 10 }, () =>
      oauth2RefreshToken({
        tokenUrl: `${origin}/token`,
        credentials: defineSecret('acme/oauth'),
        store: (name, value) => {
          writes.push(value);
          stored.set(name, value);
          return Promise.resolve();
        },
        share: new SharedTokenCache({ table: containerTable(), key: 'oauth', pollMs: 50 }),
      }),
    );

    try {
      // Act
      const tokens = await Promise.all(fleet.map((auth) => auth.token()));

      // Assess
      expect(new Set(tokens)).toEqual(new Set(['at-1']));
      expect(grants).toBe(1);
      expect(reuses).toBe(0);
      expect(writes.map((value) => JSON.parse(value).refreshToken)).toEqual(['rt-1']);
    } finally {
      sm.restore();
      await close(server);
    }
  });
});

describe('Class: SharedRateBudget', () => {
  /** A provider allowing `limit` calls in any sliding second, answering 429 (Retry-After: 1) beyond it. */
  async function provider(limit: number) {
    const arrivals: number[] = [];
    const state = { served: 0, refused: 0, arrivals, forced429: 0 };
    const server = createServer((_req, res) => {
      const at = Date.now();
      const recent = arrivals.filter((t) => t > at - 1000).length;
      arrivals.push(at);
      res.setHeader('content-type', 'application/json');
      if (state.forced429 > 0 || recent >= limit) {
        if (state.forced429 > 0) state.forced429 -= 1;
        state.refused += 1;
        res.writeHead(429, { 'retry-after': '1' }).end('{"error":"rate_limited"}');
        return;
      }
      state.served += 1;
      res.end('{"ok":true}');
    });
    const origin = await listen(server);
    return { state, origin, close: () => close(server) };
  }

  function client(origin: string, budget: SharedRateBudget | undefined): HttpClient {
    return new HttpClient({
      provider: 'Acme',
      baseUrl: origin,
      maxAttempts: 1,
      circuitBreaker: false,
      ...(budget === undefined ? {} : { budget }),
    });
  }

  async function burst(clients: HttpClient[], each: number): Promise<void> {
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < each; i += 1)
          await c.request({ method: 'GET', path: '/thing' }).catch(() => undefined);
      }),
    );
  }

  it('keeps twenty containers under the provider limit: every call served, none refused', async () => {
    // Prepare: the provider allows 20 a second; the shared budget declares 8 (room for a loaded machine's
    // delays between taking a unit and the call's arrival)
    const peer = await provider(20);
    const fleet = Array.from({ length: 20 }, () =>
      client(
        peer.origin,
        new SharedRateBudget({ table: containerTable(), provider: 'Acme', limit: 8, perMs: 1000 }),
      ),
    );

    try {
      // Act
      await burst(fleet, 2);

      // Assess
      expect(peer.state.refused).toBe(0);
      expect(peer.state.served).toBe(40);
    } finally {
      for (const c of fleet) c.close();
      await peer.close();
    }
  });

  it('is what keeps them under it: the same burst without the budget is refused', async () => {
    // Prepare
    const peer = await provider(20);
    const fleet = Array.from({ length: 20 }, () => client(peer.origin, undefined));

    try {
      // Act
      await burst(fleet, 2);

      // Assess
      expect(peer.state.refused).toBeGreaterThan(0);
    } finally {
      for (const c of fleet) c.close();
      await peer.close();
    }
  });

  it('pauses every container for the Retry-After one container was given', async () => {
    // Prepare
    const peer = await provider(1000);
    peer.state.forced429 = 1;
    const first = client(
      peer.origin,
      new SharedRateBudget({ table: containerTable(), provider: 'Acme', limit: 100, perMs: 1000 }),
    );
    const others = Array.from({ length: 10 }, () =>
      client(
        peer.origin,
        new SharedRateBudget({ table: containerTable(), provider: 'Acme', limit: 100, perMs: 1000 }),
      ),
    );

    try {
      // Act
      const refusal = await first.request({ method: 'GET', path: '/thing' }).catch((error: unknown) => error);
      const refusedAt = peer.state.arrivals[0] ?? 0;
      await burst(others, 1);

      // Assess: nobody reached the provider during the second it asked for
      expect(refusal).toBeInstanceOf(RateLimitedError);
      const later = peer.state.arrivals.slice(1);
      expect(later).toHaveLength(10);
      expect(Math.min(...later) - refusedAt).toBeGreaterThanOrEqual(990);
      expect(peer.state.served).toBe(10);
    } finally {
      for (const c of [first, ...others]) c.close();
      await peer.close();
    }
  });

  it('fails a call at once, with the wait, when the budget has no room within the time left', async () => {
    // Prepare
    const budget = new SharedRateBudget({
      table: containerTable(),
      provider: 'Acme',
      limit: 1,
      perMs: 3_600_000,
    });
    await budget.take();

    // Act
    const error = await withInvocation({ deadline: Date.now() + 2_000, correlationId: 'c' }, () =>
      budget.take().catch((caught: unknown) => caught),
    );

    // Assess
    expect(error).toBeInstanceOf(RateLimitedError);
    expect((error as RateLimitedError).retryAfterMs).toBeGreaterThan(2_000);
    expect((error as Error).message).toBe(
      'The Acme rate budget shared by every container has no room within the time left',
    );
  });

  it('fails an HTTP call before sending it when the budget has no room, naming the wait', async () => {
    // Prepare
    const peer = await provider(1000);
    const budget = new SharedRateBudget({
      table: containerTable(),
      provider: 'Acme',
      limit: 1,
      perMs: 3_600_000,
    });
    const acme = client(peer.origin, budget);
    await acme.request({ method: 'GET', path: '/thing' });

    try {
      // Act
      const error = await withInvocation({ deadline: Date.now() + 2_000, correlationId: 'c' }, () =>
        acme.request({ method: 'GET', path: '/thing' }).catch((caught: unknown) => caught),
      );

      // Assess
      expect(error).toBeInstanceOf(RateLimitedError);
      expect((error as RateLimitedError).retryAfterMs).toBeGreaterThan(2_000);
      expect(peer.state.arrivals).toHaveLength(1);
    } finally {
      acme.close();
      await peer.close();
    }
  });

  it('lets calls through, with one warning, when the table cannot be reached', async () => {
    // Prepare
    const log = recordingLog();
    const budget = new SharedRateBudget({
      table: containerTable(log, 'no-such-table'),
      provider: 'Acme',
      limit: 1,
      perMs: 3_600_000,
    });

    // Act
    await budget.take();
    await budget.take();
    await budget.pause(Date.now() + 10);

    // Assess
    expect(log.lines).toEqual([
      'Coordination table unreachable; Acme calls are sent without the other containers',
    ]);
  });

  it('refuses a limit that is not a whole number of calls', () => {
    // Act & Assess
    expect(
      () => new SharedRateBudget({ table: containerTable(), provider: 'Acme', limit: 0.5, perMs: 1000 }),
    ).toThrow('A rate limit needs a whole limit >= 1 and a period > 0, got 0.5 per 1000 ms');
  });
});

describe('Function: defineRestProvider (rateBudget)', () => {
  const acme = defineRestProvider({
    name: 'Acme',
    settingsPrefix: 'ACME',
    baseUrl: 'https://api.acme.example',
    auth: { kind: 'none' },
    rateBudget: { limit: 1, perMs: 3_600_000 },
  });

  async function countingServer() {
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      res.end('{"ok":true}');
    });
    return { seen, origin: await listen(server), close: () => close(server) };
  }

  it('draws every client of the provider from the one budget in the coordination table', async () => {
    // Prepare: two containers' clients, one shared budget of one call a minute
    const peer = await countingServer();
    const [a, b] = [0, 1].map(() => acme.client({ baseUrl: peer.origin, coordination: containerTable() }));

    try {
      // Act
      await a?.http.request({ method: 'GET', path: '/one' });
      const second = await withInvocation({ deadline: Date.now() + 2_000, correlationId: 'c' }, () =>
        b?.http.request({ method: 'GET', path: '/two' }).catch((error: unknown) => error),
      );

      // Assess
      expect(second).toBeInstanceOf(RateLimitedError);
      expect(peer.seen).toEqual(['/one']);
    } finally {
      a?.http.close();
      b?.http.close();
      await peer.close();
    }
  });

  it('leaves each container alone without a table, or with coordination off', async () => {
    // Prepare
    const peer = await countingServer();
    const alone = acme.client({ baseUrl: peer.origin, coordination: false });
    const unset = acme.client({ baseUrl: peer.origin });

    try {
      // Act
      for (const path of ['/1', '/2']) await alone.http.request({ method: 'GET', path });
      for (const path of ['/3', '/4']) await unset.http.request({ method: 'GET', path });

      // Assess
      expect(peer.seen).toEqual(['/1', '/2', '/3', '/4']);
    } finally {
      alone.http.close();
      unset.http.close();
      await peer.close();
    }
  });

  it('takes its limit from <PREFIX>_RATE_LIMIT, where 0 shares no budget', async () => {
    // Prepare
    const peer = await countingServer();
    const settings = (limit: string) =>
      z.object(acme.settings).parse({ ACME_API_URL: peer.origin, ACME_RATE_LIMIT: limit });
    const saved = { ...process.env };
    Object.assign(process.env, {
      CIRCLE_COORDINATION_TABLE: tableName,
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    const off = acme.clientFromSettings(settings('0'), {});
    // 20 an hour: two calls in each 6 min window (the wait for the next is longer than the time left)
    const twenty = acme.clientFromSettings(settings('20'), {});
    // The windows are aligned to the clock: start the three calls well inside one, or a window boundary
    // between them would hand the third call the next window's share (a CI run at 21:54 met that).
    const windowMs = 360_000;
    const left = windowMs - (Date.now() % windowMs);
    if (left < 15_000) await new Promise((resolve) => setTimeout(resolve, left + 50));

    try {
      // Act
      for (const path of ['/a', '/b', '/c']) await off.http.request({ method: 'GET', path });
      const third = await withInvocation({ deadline: Date.now() + 2_000, correlationId: 'c' }, async () => {
        for (const path of ['/1', '/2']) await twenty.http.request({ method: 'GET', path });
        return twenty.http.request({ method: 'GET', path: '/3' }).catch((error: unknown) => error);
      });

      // Assess
      expect(peer.seen).toEqual(['/a', '/b', '/c', '/1', '/2']);
      expect(third).toBeInstanceOf(RateLimitedError);
      expect(acme.settings.ACME_RATE_LIMIT.description).toContain(
        'Calls per 3600 s that every container shares',
      );
    } finally {
      process.env = saved;
      off.http.close();
      twenty.http.close();
      await peer.close();
    }
  }, 30_000);

  it('writes its fallback warning as a JSON log line of the connector when no log is given', async () => {
    // Prepare
    const table = new CoordinationTable({
      table: 'missing',
      connector: 'acme',
      client: () => Promise.reject(new Error('no route')),
    });
    const budget = new SharedRateBudget({ table, provider: 'Acme', limit: 5, perMs: 1000 });
    const logs = captureLogs();

    // Act
    try {
      await budget.take();
    } finally {
      logs.restore();
    }

    // Assess
    const [record] = logs.records();
    expect(record?.['message']).toBe(
      'Coordination table unreachable; Acme calls are sent without the other containers',
    );
    expect(record?.['service']).toBe('acme');
    expect(record?.['error']).toBe('DynamoDB connect on missing failed: no route');
  });
});

describe('Class: DailyQuota', () => {
  const day = Date.parse('2026-12-06T10:00:00Z');
  const quota = (table: CoordinationTable | undefined, now: () => number, limit = 100) =>
    new DailyQuota({
      table,
      connector: 'acme',
      unit: 'tokens',
      limit,
      setting: 'ACME_DAILY_TOKEN_BUDGET',
      now,
    });

  it('is one total for every container, refused once spent, until the next UTC day', async () => {
    // Prepare: three containers, each its own table handle
    let now = day;
    const clock = () => now;
    const containers = [
      quota(containerTable(), clock),
      quota(containerTable(), clock),
      quota(containerTable(), clock),
    ];
    // Act: 30 + 30 + 30 spent across them, then 15 more by the first
    await Promise.all(
      containers.map(async (container) => {
        await container.ensureRoom();
        await container.spend(30);
      }),
    );
    await containers[0]?.ensureRoom();
    await containers[0]?.spend(15);
    // Assess: 105 of 100: the crossing call went through, the next is refused in every container
    for (const container of containers) {
      const refusal = await container.ensureRoom().catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(RateLimitedError);
      expect((refusal as RateLimitedError).message).toBe(
        'The daily tokens budget of acme is spent: 105 of 100 used today (UTC, ACME_DAILY_TOKEN_BUDGET); it resets at 2026-12-07T00:00:00.000Z',
      );
      expect((refusal as RateLimitedError).retryAfterMs).toBe(14 * 3_600_000);
    }
    // A new UTC day starts afresh, for every container.
    now = Date.parse('2026-12-07T00:00:01Z');
    for (const container of containers) await expect(container.ensureRoom()).resolves.toBeUndefined();
  });

  it('counts in the container alone without a table, and when the table is unreachable (with a warning)', async () => {
    // Prepare
    const log = recordingLog();
    const alone = quota(undefined, () => day, 10);
    const cut = quota(containerTable(log, 'no-such-table'), () => day, 10);
    // Act
    for (const container of [alone, cut]) {
      await container.ensureRoom();
      await container.spend(6);
      await container.ensureRoom();
      await container.spend(6);
    }
    // Assess
    await expect(alone.ensureRoom()).rejects.toBeInstanceOf(RateLimitedError);
    await expect(cut.ensureRoom()).rejects.toThrow('12 of 10 used today');
    expect(log.lines).toContain(
      'Coordination table unreachable; the daily tokens budget is counted without the other containers',
    );
  });

  it('refuses a limit that is not a whole number >= 1, and ignores spending nothing', async () => {
    expect(() => quota(undefined, () => day, 0)).toThrow('A daily quota needs a whole limit >= 1, got 0');
    expect(() => quota(undefined, () => day, 1.5)).toThrow(RangeError);
    const one = quota(undefined, () => day, 1);
    await one.spend(0);
    await one.spend(Number.NaN);
    await expect(one.ensureRoom()).resolves.toBeUndefined();
  });
});

describe('Function: coordinationFromEnv', () => {
  it('reaches the table with the AWS kit client it builds from the environment', async () => {
    // Prepare
    const saved = { ...process.env };
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
    });
    const log = recordingLog();
    const table = coordinationFromEnv('acme', log, { CIRCLE_COORDINATION_TABLE: tableName });

    try {
      // Act
      const made = await table?.update('probe', {
        update: 'SET n = :n',
        condition: 'attribute_not_exists(n)',
        values: { ':n': 1 },
      });
      const again = await table?.update('probe', {
        update: 'SET n = :n',
        condition: 'attribute_not_exists(n)',
        values: { ':n': 2 },
      });
      const item = await table?.get('probe');

      // Assess
      expect([made, again, item?.['n']]).toEqual([true, false, 1]);
      expect(log.lines).toEqual([]);
    } finally {
      process.env = saved;
    }
  });

  it('names the table from CIRCLE_COORDINATION_TABLE, and is off without it', () => {
    // Act
    const on = coordinationFromEnv('acme', undefined, {
      CIRCLE_COORDINATION_TABLE: ' circle-dev-coordination ',
    });
    const off = coordinationFromEnv('acme', undefined, { CIRCLE_COORDINATION_TABLE: '' });

    // Assess
    expect(on?.name).toBe('circle-dev-coordination');
    expect(on?.connector).toBe('acme');
    expect(off).toBeUndefined();
  });
});
