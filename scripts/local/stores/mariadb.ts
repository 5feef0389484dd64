/**
 * The local stack's default MySQL/MariaDB: no embedded MySQL exists for Node.js, so a MySQL function with
 * no server of its own configured talks to the machine's MariaDB (root without a password on
 * 127.0.0.1:3306, database `test`; `CIRCLE_LOCAL_MYSQL_URL` names another). The stack checks that it
 * answers and says clearly when it does not, instead of letting the first call time out.
 */
import { connect } from 'node:net';
import type { LocalFunction } from '../config/model.ts';

/** The machine's MariaDB as the project's machines provide it. */
export const MACHINE_MYSQL_URL = 'mysql://root@127.0.0.1:3306/test';

/** Whether a function talks to MySQL (the mysql connector, or any function with MYSQL_ settings). */
export function usesMysql(fn: LocalFunction): boolean {
  return fn.key === 'mysql' || Object.keys(fn.environment).some((name) => name.startsWith('MYSQL_'));
}

/**
 * Whether a MySQL function needs the local default: no `MYSQL_URL` in its definition or the shell, and no
 * `MYSQL_SECRET` that the local secret store holds.
 *
 * @example
 * ```ts
 * const local = selected.filter((fn) => needsLocalMysql(fn, process.env, secretNames));
 * ```
 */
export function needsLocalMysql(
  fn: LocalFunction,
  shell: NodeJS.ProcessEnv,
  secretNames: ReadonlySet<string>,
): boolean {
  if (!usesMysql(fn)) return false;
  if ((shell['MYSQL_URL'] ?? '') !== '' || fn.environment['MYSQL_URL'] !== undefined) return false;
  const secret = fn.environment['MYSQL_SECRET'];
  return secret === undefined || !secretNames.has(secret);
}

/** The URL of the local default server. */
export function localMysqlUrl(shell: NodeJS.ProcessEnv): string {
  return shell['CIRCLE_LOCAL_MYSQL_URL'] || MACHINE_MYSQL_URL;
}

/**
 * Points a MySQL function at `MYSQL_URL` from the shell, or at the local default when it needs it (plain
 * TCP: the machine's server has no TLS). Either replaces its `MYSQL_SECRET`.
 *
 * @example
 * ```ts
 * applyMysqlEnvironment(fn, env, process.env, needsLocal ? localMysqlUrl(process.env) : undefined);
 * ```
 */
export function applyMysqlEnvironment(
  fn: LocalFunction,
  env: Record<string, string>,
  shell: NodeJS.ProcessEnv,
  localUrl: string | undefined,
): void {
  if (!usesMysql(fn)) return;
  const url = shell['MYSQL_URL'] || localUrl;
  if (url === undefined) return;
  env['MYSQL_URL'] = url;
  env['MYSQL_SSL'] = shell['MYSQL_URL']
    ? (shell['MYSQL_SSL'] ?? env['MYSQL_SSL'] ?? 'verify-full')
    : 'disable';
  delete env['MYSQL_SECRET'];
}

/**
 * Whether something accepts TCP connections at the URL's host and port within `timeoutMs`.
 *
 * @example
 * ```ts
 * if (!(await mysqlAnswers(MACHINE_MYSQL_URL))) log.warn('MariaDB is not running');
 * ```
 */
export function mysqlAnswers(url: string, timeoutMs = 1_000): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname.replace(/^\[|\]$/g, ''), port: Number(port || 3306) });
    const done = (answer: boolean): void => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** What `npm start` prints when the default server does not answer. */
export const MYSQL_ABSENT =
  'MySQL/MariaDB is not running: the mysql function needs a server and no embedded MySQL exists. Start the ' +
  "machine's MariaDB (start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd, or " +
  'bash scripts/ensure-services.sh), or set MYSQL_URL=mysql://user:password@host:3306/db (and MYSQL_SSL) ' +
  'before npm start';
