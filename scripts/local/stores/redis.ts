/**
 * The local stack's default Redis: no embedded Redis exists for Node.js, so a Redis function with no server
 * of its own configured talks to the machine's Redis (127.0.0.1:6379, no AUTH; `CIRCLE_LOCAL_REDIS_URL`
 * names another, `redis://[user:password@]host:port`). The stack checks that it answers and says clearly
 * when it does not, instead of letting the first call time out.
 */
import { connect } from 'node:net';
import type { LocalFunction } from '../config/model.ts';

/** The machine's Redis as the project's machines provide it. */
export const MACHINE_REDIS_URL = 'redis://127.0.0.1:6379';

/** What `npm start` prints when the default server does not answer. */
export const REDIS_ABSENT =
  "Redis is not running: the redis function needs a server and no embedded Redis exists. Start the machine's " +
  'Redis (redis-server --daemonize yes, or bash scripts/ensure-services.sh), or set REDIS_HOST (and REDIS_PORT, ' +
  'REDIS_TLS, a stored REDIS_SECRET) or CIRCLE_LOCAL_REDIS_URL before npm start';

/** Whether a function talks to Redis (the redis connector, or any function with REDIS_ settings). */
export function usesRedis(fn: LocalFunction): boolean {
  return fn.key === 'redis' || Object.keys(fn.environment).some((name) => name.startsWith('REDIS_'));
}

/**
 * Whether a Redis function needs the local default: no `REDIS_HOST` in the shell and no `REDIS_SECRET` the
 * local secret store holds (a deployed-like setup the user chose).
 *
 * @example
 * ```ts
 * const local = selected.filter((fn) => needsLocalRedis(fn, process.env, secretNames));
 * ```
 */
export function needsLocalRedis(
  fn: LocalFunction,
  shell: NodeJS.ProcessEnv,
  secretNames: ReadonlySet<string>,
): boolean {
  if (!usesRedis(fn) || (shell['REDIS_HOST'] ?? '') !== '') return false;
  const secret = fn.environment['REDIS_SECRET'];
  return secret === undefined || !secretNames.has(secret);
}

/** The URL of the local default server. */
export function localRedisUrl(shell: NodeJS.ProcessEnv): string {
  return shell['CIRCLE_LOCAL_REDIS_URL'] || MACHINE_REDIS_URL;
}

/**
 * Points a Redis function at the local default: plain TCP and no AUTH (a user and password in the URL are
 * ignored: the connector reads credentials from a secret only; store one and name it in REDIS_SECRET).
 *
 * @example
 * ```ts
 * applyRedisEnvironment(fn, env, needsLocal ? localRedisUrl(process.env) : undefined);
 * ```
 */
export function applyRedisEnvironment(
  fn: LocalFunction,
  env: Record<string, string>,
  localUrl: string | undefined,
): void {
  if (!usesRedis(fn) || localUrl === undefined) return;
  const url = new URL(localUrl);
  env['REDIS_HOST'] = url.hostname.replace(/^\[|\]$/g, '');
  env['REDIS_PORT'] = url.port || '6379';
  env['REDIS_TLS'] = 'disable';
  delete env['REDIS_SECRET'];
}

/**
 * Whether something accepts TCP connections at the URL's host and port within `timeoutMs`.
 *
 * @example
 * ```ts
 * if (!(await redisAnswers(MACHINE_REDIS_URL))) log.warn(REDIS_ABSENT);
 * ```
 */
export function redisAnswers(url: string, timeoutMs = 1_000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 6379) });
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Which selected functions talk to the local default Redis, where it is, and whether it answers. */
export interface LocalRedis {
  url: string;
  functions: Set<string>;
  up: boolean;
}

/**
 * Decides which functions use the local default Redis and checks it answers, warning with
 * {@link REDIS_ABSENT} when it does not.
 *
 * @example
 * ```ts
 * const localRedis = await planLocalRedis(selected, process.env, secretNames, (message, fields) => log.warn(message, fields));
 * ```
 */
export async function planLocalRedis(
  selected: LocalFunction[],
  shell: NodeJS.ProcessEnv,
  secretNames: ReadonlySet<string>,
  warn: (message: string, fields: Record<string, unknown>) => void,
): Promise<LocalRedis> {
  const url = localRedisUrl(shell);
  const functions = new Set(
    selected.filter((fn) => needsLocalRedis(fn, shell, secretNames)).map((fn) => fn.key),
  );
  const up = functions.size > 0 && (await redisAnswers(url));
  if (functions.size > 0 && !up) warn(REDIS_ABSENT, { url });
  return { url, functions, up };
}

/** The start-up summary's line for the local default Redis. */
export function localRedisSummary(plan: LocalRedis): string {
  if (plan.functions.size === 0)
    return 'not used (every Redis function has REDIS_HOST or a stored REDIS_SECRET)';
  return `${plan.url} (the machine's Redis${plan.up ? '' : ': NOT RUNNING'})`;
}
