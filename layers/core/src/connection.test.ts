import { describe, expect, it } from 'vitest';
import { ANSWER_RESERVE_MS } from './budget.ts';
import { type ConnectionDriver, ReusedConnection } from './connection.ts';
import { withInvocation } from './context.ts';
import { AuthError, TimeoutError } from './errors.ts';

interface FakeConnection {
  id: number;
  closed: boolean;
}

class Lost extends Error {
  override readonly name = 'Lost';
}
class Undone extends Error {
  override readonly name = 'Undone';
}
class Refused extends Error {
  override readonly name = 'Refused';
}

/** A driver whose opens, closes and clean-ups are recorded; `openFailures` fail the next opens in order. */
function driver(options: { openFailures?: Error[]; refresh?: boolean; afterFailure?: 'ok' | 'fail' } = {}) {
  const opened: FakeConnection[] = [];
  const cleaned: number[] = [];
  const timeouts: number[] = [];
  let refreshes = 0;
  const failures = [...(options.openFailures ?? [])];
  const subject: ConnectionDriver<FakeConnection> = {
    name: 'FakeDB',
    open: async (timeoutMs) => {
      timeouts.push(timeoutMs);
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
      const connection = { id: opened.length + 1, closed: false };
      opened.push(connection);
      return connection;
    },
    close: async (connection) => {
      connection.closed = true;
    },
    isConnectionLost: (error) => error instanceof Lost,
    wasUndone: (error) => error instanceof Undone,
    isAuthFailure: (error) => error instanceof Refused,
    refreshCredentials: async () => {
      refreshes += 1;
      return options.refresh ?? true;
    },
    afterFailure: async (connection) => {
      cleaned.push(connection.id);
      if (options.afterFailure === 'fail') throw new Error('rollback failed');
    },
  };
  return { subject, opened, cleaned, timeouts, refreshes: () => refreshes };
}

describe('Class: ReusedConnection', () => {
  describe('Method: use', () => {
    it('opens once and reuses the connection across units of work', async () => {
      // Prepare
      const fake = driver();
      const connection = new ReusedConnection(fake.subject, { connectTimeoutMs: 5_000 });
      // Act
      const ids = [
        await connection.use(async (c) => c.id, 'read'),
        await connection.use(async (c) => c.id, 'write'),
      ];
      // Assess
      expect(ids).toEqual([1, 1]);
      expect(fake.opened).toHaveLength(1);
      expect(fake.timeouts).toEqual([5_000]);
    });

    it('runs one unit of work at a time, in order', async () => {
      // Prepare
      const connection = new ReusedConnection(driver().subject, { connectTimeoutMs: 5_000 });
      const events: string[] = [];
      const unit = (name: string, ms: number) => async () => {
        events.push(`${name}:start`);
        await new Promise((resolve) => setTimeout(resolve, ms));
        events.push(`${name}:end`);
      };
      // Act
      await Promise.all([connection.use(unit('a', 20), 'read'), connection.use(unit('b', 0), 'read')]);
      // Assess
      expect(events).toEqual(['a:start', 'a:end', 'b:start', 'b:end']);
    });

    it('gives up waiting for the connection at its own invocation deadline, and never runs that work later', async () => {
      // Lambda Managed Instances runs several invocations at once in one worker thread, each with its own
      // deadline (https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html):
      // a waiter must stop at its own, not sit behind another invocation's long unit of work.
      // Prepare: A holds the connection until the test lets it go; B has little time left; C has plenty.
      const fake = driver();
      const connection = new ReusedConnection(fake.subject, { connectTimeoutMs: 1_000 });
      const ran: string[] = [];
      let letGo = (): void => undefined;
      const held = new Promise<void>((resolve) => {
        letGo = resolve;
      });
      let holding = (): void => undefined;
      const aHolds = new Promise<void>((resolve) => {
        holding = resolve;
      });
      const a = connection.use(async () => {
        ran.push('a');
        holding();
        await held;
        return 'a';
      }, 'write');
      await aHolds;
      const b = withInvocation({ deadline: Date.now() + ANSWER_RESERVE_MS + 20, correlationId: 'b' }, () =>
        connection.use(async () => {
          ran.push('b');
          return 'b';
        }, 'write'),
      );
      const c = withInvocation({ deadline: Date.now() + 60_000, correlationId: 'c' }, () =>
        connection.use(async () => {
          ran.push('c');
          return 'c';
        }, 'write'),
      );
      // Act: B's time runs out while A still holds the connection; then A lets go.
      const bError = await b.then(
        () => undefined,
        (error: unknown) => error,
      );
      letGo();
      // Assess
      expect(bError).toBeInstanceOf(TimeoutError);
      expect((bError as Error).message).toMatch(/FakeDB.*not attempted/);
      await expect(a).resolves.toBe('a');
      await expect(c).resolves.toBe('c');
      expect(ran).toEqual(['a', 'c']);
    });

    it('replays a read on a new connection when the connection was lost under it', async () => {
      // Prepare
      const fake = driver();
      const connection = new ReusedConnection(fake.subject, { connectTimeoutMs: 5_000 });
      let calls = 0;
      // Act
      const id = await connection.use(async (c) => {
        calls += 1;
        if (calls === 1) throw new Lost('socket closed');
        return c.id;
      }, 'read');
      // Assess
      expect(id).toBe(2);
      expect(fake.opened[0]?.closed).toBe(true);
    });

    it('does not replay a write when the connection was lost, and discards it', async () => {
      // Prepare
      const fake = driver();
      const connection = new ReusedConnection(fake.subject, { connectTimeoutMs: 5_000 });
      let calls = 0;
      // Act
      const attempt = connection.use(async () => {
        calls += 1;
        throw new Lost('socket closed');
      }, 'write');
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(Lost);
      expect(calls).toBe(1);
      expect(await connection.use(async (c) => c.id, 'read')).toBe(2);
    });

    it('replays a write the server undid', async () => {
      // Prepare
      const connection = new ReusedConnection(driver().subject, { connectTimeoutMs: 5_000 });
      let calls = 0;
      // Act
      const result = await connection.use(async () => {
        calls += 1;
        if (calls === 1) throw new Undone('terminated by administrator');
        return 'written';
      }, 'write');
      // Assess
      expect(result).toBe('written');
      expect(calls).toBe(2);
    });

    it('cleans up after a failed unit of work and keeps the connection', async () => {
      // Prepare
      const fake = driver();
      const connection = new ReusedConnection(fake.subject, { connectTimeoutMs: 5_000 });
      // Act
      await expect(
        connection.use(async () => {
          throw new Error('syntax error');
        }, 'write'),
      ).rejects.toThrow('syntax error');
      const next = await connection.use(async (c) => c.id, 'read');
      // Assess
      expect(fake.cleaned).toEqual([1]);
      expect(next).toBe(1);
    });

    it('discards the connection when cleaning up fails', async () => {
      // Prepare
      const fake = driver({ afterFailure: 'fail' });
      const connection = new ReusedConnection(fake.subject, { connectTimeoutMs: 5_000 });
      // Act
      await expect(
        connection.use(async () => {
          throw new Error('syntax error');
        }, 'write'),
      ).rejects.toThrow('syntax error');
      const next = await connection.use(async (c) => c.id, 'read');
      // Assess
      expect(next).toBe(2);
      expect(fake.opened[0]?.closed).toBe(true);
    });

    it('opens a new connection after one was marked broken by its socket', async () => {
      // Prepare
      const fake = driver();
      const connection = new ReusedConnection(fake.subject, { connectTimeoutMs: 5_000 });
      const first = await connection.use(async (c) => c, 'read');
      // Act
      connection.markBroken(first);
      const next = await connection.use(async (c) => c.id, 'read');
      // Assess
      expect(next).toBe(2);
    });

    it('fetches the credentials again once after a refused open, and opens with them', async () => {
      // Prepare
      const fake = driver({ openFailures: [new Refused('password authentication failed')] });
      const connection = new ReusedConnection(fake.subject, { connectTimeoutMs: 5_000 });
      // Act
      const id = await connection.use(async (c) => c.id, 'read');
      // Assess
      expect(id).toBe(1);
      expect(fake.refreshes()).toBe(1);
    });

    it('answers AuthError when the fresh credentials are refused too', async () => {
      // Prepare
      const fake = driver({ openFailures: [new Refused('no'), new Refused('still no')] });
      const connection = new ReusedConnection(fake.subject, { connectTimeoutMs: 5_000 });
      // Act
      const error = await connection.use(async () => 1, 'read').catch((e: unknown) => e);
      // Assess
      expect(error).toBeInstanceOf(AuthError);
      expect((error as Error).message).toBe(
        'FakeDB refused the credentials even after the secret was fetched again',
      );
      expect(fake.refreshes()).toBe(1);
    });

    it('passes other open failures through without a refresh', async () => {
      // Prepare
      const fake = driver({ openFailures: [new Lost('ECONNREFUSED')] });
      const connection = new ReusedConnection(fake.subject, { connectTimeoutMs: 5_000 });
      // Act & Assess (a write: a read would try a second open, as after any lost connection)
      await expect(connection.use(async () => 1, 'write')).rejects.toBeInstanceOf(Lost);
      expect(fake.refreshes()).toBe(0);
    });

    it('passes the refused open through when the credentials cannot change', async () => {
      // Prepare
      const fake = driver({ openFailures: [new Refused('no')], refresh: false });
      const connection = new ReusedConnection(fake.subject, { connectTimeoutMs: 5_000 });
      // Act & Assess
      await expect(connection.use(async () => 1, 'read')).rejects.toBeInstanceOf(Refused);
    });

    it('bounds the open by the time left and refuses it when none is left', async () => {
      // Prepare
      const fake = driver();
      let remaining = 1_000;
      const connection = new ReusedConnection(fake.subject, {
        connectTimeoutMs: 5_000,
        remainingTimeMs: () => remaining,
      });
      // Act
      await connection.use(async () => 1, 'read');
      await connection.close();
      remaining = ANSWER_RESERVE_MS;
      const late = await connection.use(async () => 1, 'read').catch((e: unknown) => e);
      // Assess
      expect(fake.timeouts).toEqual([1_000 - ANSWER_RESERVE_MS]);
      expect(late).toBeInstanceOf(TimeoutError);
    });
  });

  describe('Method: close', () => {
    it('closes the connection and opens a new one on the next use', async () => {
      // Prepare
      const fake = driver();
      const connection = new ReusedConnection(fake.subject, { connectTimeoutMs: 5_000 });
      await connection.use(async () => 1, 'read');
      // Act
      await connection.close();
      await connection.close();
      const id = await connection.use(async (c) => c.id, 'read');
      // Assess
      expect(fake.opened[0]?.closed).toBe(true);
      expect(id).toBe(2);
    });
  });
});
