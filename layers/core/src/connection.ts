/**
 * The one connection a container keeps to a connection-based provider (PostgreSQL, MySQL, Redis, AMQP,
 * NATS, MQTT): opened on first use within the time left, reused across invocations, lent to one unit of
 * work at a time, discarded when it broke, reopened once after a credential rotation, and a unit of work
 * replayed on a new connection only when that cannot duplicate an effect. What a connection is, how it
 * opens and how its errors read stay with the provider's driver.
 */
import { ANSWER_RESERVE_MS, callBudget } from './budget.ts';
import { remainingTimeMs } from './context.ts';
import { AuthError, TimeoutError } from './errors.ts';

/** Whether a unit of work may run a second time on a new connection when the first broke under it. */
export type Replay = 'read' | 'write';

/** What the kit needs to know about one provider's connections. */
export interface ConnectionDriver<C> {
  /** Provider name for messages, e.g. `PostgreSQL`. */
  readonly name: string;
  /** Opens a connection; `timeoutMs` is already bounded by the invocation's time left. */
  open(timeoutMs: number): Promise<C>;
  /** Closes a connection, best effort (never rejects). */
  close(connection: C): Promise<void>;
  /** The error means the connection cannot be used any more (socket closed, reset, terminated). */
  isConnectionLost(error: unknown): boolean;
  /**
   * The error means the server ended the session and undid its work (e.g. PostgreSQL's
   * admin shutdown rolls back the open transaction): safe to run even a write again.
   */
  wasUndone?(error: unknown): boolean;
  /** The open failed because the server refused the credentials (they may have rotated). */
  isAuthFailure?(error: unknown): boolean;
  /** Fetches the credentials again; resolves true when one more open is worthwhile. */
  refreshCredentials?(): Promise<boolean>;
  /**
   * Called after a unit of work failed while the connection still works, to leave it clean for the next
   * one (e.g. roll back an open transaction). Rejecting discards the connection.
   */
  afterFailure?(connection: C): Promise<void>;
}

export interface ReusedConnectionOptions {
  /** Upper bound of one open, before the invocation's time left applies. */
  connectTimeoutMs: number;
  /** Milliseconds left in the invocation; default the current invocation's (tests inject a clock). */
  remainingTimeMs?: () => number;
}

/**
 * One reused connection with serialised use.
 *
 * @example
 * ```ts
 * const connection = new ReusedConnection(driver, { connectTimeoutMs: 5_000 });
 * const rows = await connection.use((client) => client.query('select 1'), 'read');
 * ```
 */
export class ReusedConnection<C> {
  readonly #driver: ConnectionDriver<C>;
  readonly #options: ReusedConnectionOptions;
  #live: C | undefined;
  readonly #broken = new WeakSet<object>();
  #tail: Promise<void> = Promise.resolve();
  /** Units of work holding or waiting for the connection: a new one waits (with a deadline) only when > 0. */
  #pending = 0;

  constructor(driver: ConnectionDriver<C>, options: ReusedConnectionOptions) {
    this.#driver = driver;
    this.#options = options;
  }

  /**
   * Runs `work` with the connection, one unit of work at a time (an SQS batch runs records concurrently,
   * and two transactions must never interleave on one session). When the connection breaks under the
   * work it is discarded, and the work runs once more on a new connection when that cannot duplicate an
   * effect: the server undid the work, or the work only reads. Errors are the driver's, unchanged.
   *
   * A unit of work that has to wait for another (concurrent invocations in one worker thread with Lambda
   * Managed Instances, or records of a batch) waits at most until its own invocation's deadline, less the
   * time to answer: then it fails with a TimeoutError and its work is never run, so a write the caller
   * was told had timed out cannot happen later behind its back. The queue order stays as it was.
   */
  async use<T>(work: (connection: C) => Promise<T>, replay: Replay): Promise<T> {
    const previous = this.#tail;
    let release = (): void => undefined;
    this.#tail = new Promise<void>((resolve) => {
      release = resolve;
    });
    const contended = this.#pending > 0;
    this.#pending += 1;
    try {
      if (contended) await this.#waitTurn(previous);
      else await previous;
    } catch (error) {
      // Gave up: the next in line still waits for the unit of work this one waited for.
      this.#pending -= 1;
      void previous.then(release);
      throw error;
    }
    try {
      try {
        return await this.#attempt(work);
      } catch (error) {
        const undone = this.#driver.wasUndone?.(error) ?? false;
        if (!(undone || (replay === 'read' && this.#driver.isConnectionLost(error)))) throw error;
        return await this.#attempt(work);
      }
    } finally {
      this.#pending -= 1;
      release();
    }
  }

  /** Waits for `previous` until the invocation's deadline (less the answer reserve), or fails. */
  async #waitTurn(previous: Promise<void>): Promise<void> {
    const waitMs = (this.#options.remainingTimeMs ?? remainingTimeMs)() - ANSWER_RESERVE_MS;
    if (waitMs === Number.POSITIVE_INFINITY) {
      await previous;
      return;
    }
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<'expired'>((resolve) => {
      timer = setTimeout(resolve, Math.max(0, waitMs), 'expired');
    });
    try {
      if ((await Promise.race([previous, expired])) === 'expired') {
        throw new TimeoutError(
          `${this.#driver.name} stayed busy with other work until the invocation's time ran out; the work was not attempted`,
        );
      }
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Marks a connection unusable (its socket emitted `error` or `end`): the next use opens a new one.
   * Without a listener calling this, an idle connection the server closes could crash the process.
   */
  markBroken(connection: C): void {
    if (typeof connection === 'object' && connection !== null) this.#broken.add(connection);
  }

  /** Closes the connection; the next use opens a new one. */
  async close(): Promise<void> {
    const live = this.#live;
    this.#live = undefined;
    if (live !== undefined) await this.#driver.close(live);
  }

  async #attempt<T>(work: (connection: C) => Promise<T>): Promise<T> {
    const live = await this.#acquire();
    try {
      return await work(live);
    } catch (error) {
      if (this.#isBroken(live) || this.#driver.isConnectionLost(error)) this.discard(live);
      else await this.#driver.afterFailure?.(live).catch(() => this.discard(live));
      throw error;
    }
  }

  /** Drops a connection that must not be used again (e.g. a statement still runs on it after a timeout). */
  discard(connection: C): void {
    this.markBroken(connection);
    if (this.#live === connection) this.#live = undefined;
    void this.#driver.close(connection);
  }

  #isBroken(connection: C): boolean {
    return typeof connection === 'object' && connection !== null && this.#broken.has(connection);
  }

  async #acquire(): Promise<C> {
    if (this.#live !== undefined && !this.#isBroken(this.#live)) return this.#live;
    this.#live = undefined;
    let live: C;
    try {
      live = await this.#open();
    } catch (error) {
      const rotated = this.#driver.isAuthFailure?.(error) ?? false;
      if (!rotated || !(await (this.#driver.refreshCredentials?.() ?? Promise.resolve(false)))) throw error;
      // The password may have rotated since the secret was cached: one more open with the fresh one.
      try {
        live = await this.#open();
      } catch (retryError) {
        if (!(this.#driver.isAuthFailure?.(retryError) ?? false)) throw retryError;
        throw new AuthError(
          `${this.#driver.name} refused the credentials even after the secret was fetched again`,
          { cause: retryError },
        );
      }
    }
    this.#live = live;
    return live;
  }

  #open(): Promise<C> {
    const remaining = (this.#options.remainingTimeMs ?? remainingTimeMs)();
    const timeoutMs = callBudget(
      this.#options.connectTimeoutMs,
      `Connecting to ${this.#driver.name}`,
      remaining,
    );
    return this.#driver.open(timeoutMs);
  }
}
