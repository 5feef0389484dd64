/**
 * What the CLI scripts share: finding the running stack (`.local/stack.json`), or starting a short-lived
 * one for a single command when none runs, and speaking the AWS JSON protocol to its endpoint.
 */
import { readFile } from 'node:fs/promises';
import { settingDigest } from '../functions/environment.ts';
import { createStackLog } from '../log.ts';
import { buildDir, localDir, stackFile } from '../paths.ts';
import { type Stack, startStack } from '../stack.ts';

/** A running stack as the CLI reaches it. */
export interface StackAddress {
  apiUrl: string;
  awsUrl: string;
  pid: number;
  /** The stage and region the stack resolved serverless.yml for. */
  stage?: string;
  region?: string;
  /** Per function, digests of the shell-settable variables it runs with (see `environmentDigests`). */
  environments?: Record<string, Record<string, string | null>>;
}

async function readAdvertisement(dir: string): Promise<(StackAddress & { status?: string }) | undefined> {
  try {
    const address = JSON.parse(await readFile(stackFile(dir), 'utf8')) as StackAddress & { status?: string };
    process.kill(address.pid, 0);
    return address;
  } catch {
    return undefined;
  }
}

/** How long the CLI waits for an advertised, live stack to answer its health check. */
const HEALTH_WAIT_MS = 15_000;

/** One health check of an advertised stack: true when it answers OK within `timeoutMs`. */
async function answersHealth(awsUrl: string, timeoutMs: number): Promise<boolean> {
  try {
    const response = await fetch(`${awsUrl}/_local/health`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return response.ok;
  } catch {
    return false;
  }
}

/**
 * The stack `npm start` runs, when its advertised process is alive and answers; waits while it starts.
 * Undefined only when no live process is advertised: a live stack that is slow to answer (busy with
 * many calls) is waited for, and one that still does not answer is an error, never a reason to open
 * its state folder (PGlite, LevelDB) a second time with a temporary stack.
 *
 * @example
 * ```ts
 * const running = await runningStack();
 * if (running) console.log(running.awsUrl);
 * ```
 */
export async function runningStack(
  dir: string = localDir(),
  options: { healthWaitMs?: number } = {},
): Promise<StackAddress | undefined> {
  let address = await readAdvertisement(dir);
  const deadline = Date.now() + 60_000;
  if (address?.status === 'starting') process.stderr.write('waiting for the stack to finish starting...\n');
  while (address?.status === 'starting' && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    address = await readAdvertisement(dir);
  }
  if (address === undefined) return undefined;
  if (address.status === 'starting') {
    throw new Error(
      `the stack at pid ${address.pid} (npm start) is still starting after 60 s; wait for its "ready" line ` +
        `and run this again, or stop it (it uses ${dir})`,
    );
  }
  const waitMs = options.healthWaitMs ?? HEALTH_WAIT_MS;
  const healthDeadline = Date.now() + waitMs;
  let said = false;
  for (;;) {
    const left = healthDeadline - Date.now();
    if (await answersHealth(address.awsUrl, Math.max(250, Math.min(5000, left)))) return address;
    if (Date.now() >= healthDeadline) break;
    if (!said) {
      process.stderr.write(`the stack at pid ${address.pid} is slow to answer; waiting...\n`);
      said = true;
    }
    await new Promise((resolve) =>
      setTimeout(resolve, Math.min(500, Math.max(0, healthDeadline - Date.now()))),
    );
    // The stack may have stopped (and removed stack.json) while we waited: then no stack runs.
    const again = await readAdvertisement(dir);
    if (again === undefined) return undefined;
    address = again;
  }
  throw new Error(
    `the stack at pid ${address.pid} (npm start) does not answer on ${address.awsUrl}/_local/health ` +
      `within ${Math.round(waitMs / 1000)} s; wait until it is less busy and run this again, or stop it ` +
      `(Ctrl+C in its terminal, or kill ${address.pid}); this command does not start a second stack on ${dir}`,
  );
}

/**
 * Refuses to run a function of the running stack when this shell sets a variable the function takes from
 * the shell (`PG_URL`, `GITHUB_API_URL`, ...) to a value it does not run with: a running function cannot
 * take new environment variables, and ignoring them silently sends the call where the user did not mean.
 *
 * @example
 * ```ts
 * refuseIgnoredSettings(running, 'postgres', process.env); // throws when PG_URL here differs from the stack's
 * ```
 */
export function refuseIgnoredSettings(
  running: StackAddress,
  functionKey: string,
  shell: NodeJS.ProcessEnv = process.env,
): void {
  const recorded = running.environments?.[functionKey];
  if (recorded === undefined) return;
  const ignored = Object.entries(recorded)
    .filter(([name, digest]) => {
      const value = shell[name];
      return value !== undefined && value !== '' && settingDigest(value) !== digest;
    })
    .map(([name]) => name);
  if (ignored.length === 0) return;
  const names = ignored.join(', ');
  const example = ignored.map((name) => `${name}=...`).join(' ');
  throw new Error(
    `${names} ${ignored.length === 1 ? 'is' : 'are'} set in this shell, but the running stack (pid ${running.pid}) ` +
      `started ${functionKey} with ${ignored.length === 1 ? 'another value' : 'other values'}, and a running ` +
      `function cannot take new environment variables. Restart the stack with ${ignored.length === 1 ? 'it' : 'them'} ` +
      `(${example} npm start), or stop the stack: without one, this command starts the function itself with ` +
      "this shell's settings. Unset them here to use the running stack as it is.",
  );
}

/**
 * Starts a stack for one command: ephemeral ports, no build unless asked, logs on stderr.
 *
 * @example
 * ```ts
 * const stack = await temporaryStack({ only: ['s3'] });
 * try { await stack.invoke('s3', event); } finally { await stack.stop(); }
 * ```
 */
export function temporaryStack(options: { only?: string[]; build?: boolean } = {}): Promise<Stack> {
  process.stderr.write('No running stack (npm start); starting the functions for this command...\n');
  return startStack({
    apiPort: 0,
    awsPort: 0,
    build: options.build ?? false,
    localDir: localDir(),
    buildDir: buildDir(),
    log: createStackLog({ write: (text) => process.stderr.write(text) }),
    postgres: process.env['CIRCLE_LOCAL_PG'] === 'memory' ? 'memory' : 'file',
    ...(options.only === undefined ? {} : { only: options.only }),
  });
}

/**
 * Calls an AWS JSON-protocol operation on the stack's endpoint; throws with the AWS error type.
 *
 * @example
 * ```ts
 * const { executionArn } = await awsJson(awsUrl, 'AWSStepFunctions.StartExecution', { stateMachineArn, input });
 * ```
 */
export async function awsJson<T = Record<string, unknown>>(
  awsUrl: string,
  target: string,
  body: unknown,
  version: '1.0' | '1.1' = '1.0',
): Promise<T> {
  const response = await fetch(awsUrl, {
    method: 'POST',
    headers: { 'content-type': `application/x-amz-json-${version}`, 'x-amz-target': target },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const parsed = (text === '' ? {} : JSON.parse(text)) as T & { __type?: string; message?: string };
  if (!response.ok) {
    throw new Error(`${parsed.__type ?? response.status}: ${parsed.message ?? text}`);
  }
  return parsed;
}

/** An argument as a message quotes it: at most 80 characters. */
function quoted(value: string): string {
  return `'${value.length > 80 ? `${value.slice(0, 80)}...` : value}'`;
}

/**
 * Reads a JSON argument: inline JSON, or the path of a JSON file. Text that is not JSON is taken as a
 * path; when there is no such file either, the error names both (the JSON error and the missing file).
 *
 * @example
 * ```ts
 * const event = await readJsonArgument('events/put.json');
 * ```
 */
export async function readJsonArgument(value: string, what: string): Promise<unknown> {
  const trimmed = value.trim();
  let notJson: string;
  try {
    return JSON.parse(trimmed);
  } catch (error) {
    notJson = (error as Error).message;
  }
  // An object, array or string that does not parse is broken JSON, never a file name.
  if (/^[[{"]/.test(trimmed)) throw new Error(`${what} is not valid JSON: ${notJson}`);
  let text: string;
  try {
    text = await readFile(trimmed, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const file =
      code === 'ENOENT' || code === 'ENOTDIR' || trimmed === ''
        ? `no file named ${quoted(trimmed)}`
        : `the file ${quoted(trimmed)} cannot be read (${code ?? (error as Error).message})`;
    throw new Error(`${what}: not JSON (${notJson}) and ${file}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${what}: file ${quoted(trimmed)} is not valid JSON (${(error as Error).message})`);
  }
}

/**
 * Prints a failure and sets the exit code; the CLI scripts end with it.
 *
 * @example
 * ```ts
 * main().catch(fail);
 * ```
 */
export function fail(error: unknown): void {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
}
