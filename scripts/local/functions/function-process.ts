/**
 * One local function: a child process (its own environment, like a Lambda container) running the built
 * handler through `function-host.ts`. Started eagerly, restarted after a crash or a timeout (the next
 * invocation is a cold start), and stopped with the stack. Invocations may overlap in the process; the
 * core keeps per-invocation state in AsyncLocalStorage, so that is safe, and it keeps the stack light.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { LocalFunction } from '../config/model.ts';
import type { StackLog } from '../log.ts';

const HOST = fileURLToPath(new URL('./function-host.ts', import.meta.url));
// Lambda gives an init 10 s of a sandbox of its own; here every function of the stack (39 processes) starts at
// once on the machine's shared cores, and under a test run's load a healthy init took longer than 10 s (the
// fresh-clone .ci/run at 4b8cfaf: fhir and others killed, the stack 'degraded'). 30 s still stops a hung init.
const INIT_TIMEOUT_MS = 30_000;
const TAIL_BYTES = 4096;

/**
 * Lambda's limit on a function's response, in bytes of the serialised payload. The documentation says
 * 6 MB; the service's own error names this number (6 MiB and 100 bytes), so that is where it fails.
 */
export const RESPONSE_LIMIT_BYTES = 6_291_556;
/** The error type Lambda reports for a response over {@link RESPONSE_LIMIT_BYTES}. */
export const RESPONSE_TOO_LARGE = 'Function.ResponseSizeTooLarge';

/**
 * The handler's result as Lambda delivers it: a result over the limit becomes Lambda's own error, on every
 * path (Invoke, the HTTP API, queues, schedules, workflows), as the runtime API refuses it in AWS.
 */
function delivered(result: { payload?: string; error?: LambdaErrorPayload }): {
  payload?: string;
  error?: LambdaErrorPayload;
} {
  if (result.error !== undefined) return result;
  const size = Buffer.byteLength(result.payload ?? 'null');
  if (size <= RESPONSE_LIMIT_BYTES) return result;
  return {
    error: {
      errorType: RESPONSE_TOO_LARGE,
      errorMessage: `Response payload size (${size} bytes) exceeded maximum allowed payload size (${RESPONSE_LIMIT_BYTES} bytes).`,
    },
  };
}

/** How a streaming invocation's response reaches its caller (see {@link FunctionProcess.invoke}). */
export interface StreamingInvocation {
  onChunk: (chunk: Buffer) => void;
  signal?: AbortSignal;
}

/** An error payload in Lambda's shape. */
export interface LambdaErrorPayload {
  errorType: string;
  errorMessage: string;
  trace?: string[];
}

/** The outcome of one invocation. */
export interface InvokeOutcome {
  requestId: string;
  /** The handler's result as JSON text (`null` for undefined); present when `error` is not. */
  payload?: string;
  /** Present when the handler threw, timed out or the runtime died. */
  error?: LambdaErrorPayload;
  durationMs: number;
  /** The function's output while the invocation ran (last 4 KB), for `LogType: Tail`. */
  logTail: string;
}

/** The most recent invocation of a function, for the local console. */
export interface LastInvocation {
  requestId: string;
  startedAt: number;
  durationMs: number;
  /** The error type when it failed. */
  errorType?: string;
  /** The function's output while it ran (last 4 KB). */
  logTail: string;
}

interface Pending {
  resolve: (outcome: { payload?: string; error?: LambdaErrorPayload }) => void;
}

type ChildMessage =
  | { type: 'ready' }
  | { type: 'init-error'; error: LambdaErrorPayload }
  | { type: 'chunk'; id: string; data: string }
  | { type: 'result'; id: string; ok: true; payload: string }
  | { type: 'result'; id: string; ok: false; error: LambdaErrorPayload };

/** A running (or restartable) local function. */
export class FunctionProcess {
  readonly spec: LocalFunction;
  readonly #taskRoot: string;
  readonly #env: Record<string, string>;
  readonly #log: StackLog;
  #child: ChildProcess | undefined;
  #ready: Promise<void> | undefined;
  #pending = new Map<string, Pending>();
  /** Streaming invocations in flight: where their chunks go. */
  #chunks = new Map<string, (chunk: Buffer) => void>();
  #lines: { at: number; text: string }[] = [];
  #state: 'stopped' | 'starting' | 'ready' | 'failed' = 'stopped';
  #initError: string | undefined;
  #stopping = false;
  #last: LastInvocation | undefined;

  constructor(
    spec: LocalFunction,
    options: { taskRoot: string; env: Record<string, string>; log: StackLog },
  ) {
    this.spec = spec;
    this.#taskRoot = options.taskRoot;
    this.#env = options.env;
    this.#log = options.log;
  }

  /** The environment the process runs with (Lambda's variables, serverless.yml's, the local endpoints). */
  get environment(): Readonly<Record<string, string>> {
    return this.#env;
  }

  /** `ready`, `starting`, `failed` (its init threw; the next invocation retries) or `stopped`. */
  get state(): string {
    return this.#state;
  }

  /** The most recent invocation (undefined before the first), for the local console. */
  get lastInvocation(): LastInvocation | undefined {
    return this.#last;
  }

  /** Why the last init failed (the runtime's own message). */
  get initError(): string | undefined {
    return this.#initError;
  }

  /**
   * Starts the process and waits for the handler module to load (init, including `connector.prepare()`).
   *
   * @example
   * ```ts
   * await fn.start();
   * ```
   */
  start(): Promise<void> {
    this.#ready ??= this.#spawn().catch((error: unknown) => {
      this.#ready = undefined;
      throw error;
    });
    return this.#ready;
  }

  #spawn(): Promise<void> {
    this.#state = 'starting';
    const execArgv = [`--max-old-space-size=${Math.max(64, Math.floor(this.spec.memorySize * 0.9))}`];
    if (existsSync(join(this.#taskRoot, 'index.mjs.map'))) execArgv.push('--enable-source-maps');
    const child = fork(HOST, [], {
      cwd: this.#taskRoot,
      env: this.#env,
      execArgv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
      // Its own process group: Ctrl-C reaches the stack, which stops functions in order; a function whose
      // stack died exits when the IPC channel closes (function-host.ts).
      detached: true,
    });
    this.#child = child;
    for (const [stream, name] of [
      [child.stdout, 'stdout'],
      [child.stderr, 'stderr'],
    ] as const) {
      if (stream === null) continue;
      createInterface({ input: stream, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) => {
        this.#remember(line);
        this.#log.functionLine(this.spec.key, line, name);
      });
    }
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#initError = `init did not finish within ${INIT_TIMEOUT_MS / 1000} s`;
        child.kill('SIGKILL');
        reject(new Error(`${this.spec.key}: ${this.#initError}`));
      }, INIT_TIMEOUT_MS);
      child.on('message', (message: ChildMessage) => {
        if (message.type === 'ready') {
          clearTimeout(timer);
          this.#state = 'ready';
          this.#initError = undefined;
          resolve();
        } else if (message.type === 'init-error') {
          clearTimeout(timer);
          this.#state = 'failed';
          this.#initError = `${message.error.errorType}: ${message.error.errorMessage}`;
          reject(new Error(`${this.spec.key}: ${this.#initError}`));
        } else if (message.type === 'chunk') {
          this.#chunks.get(message.id)?.(Buffer.from(message.data, 'base64'));
        } else if (message.type === 'result') {
          const pending = this.#pending.get(message.id);
          this.#pending.delete(message.id);
          pending?.resolve(message.ok ? { payload: message.payload } : { error: message.error });
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        if (this.#child === child) {
          this.#child = undefined;
          this.#ready = undefined;
          if (this.#state !== 'failed') this.#state = 'stopped';
        }
        if (!this.#stopping && this.#state !== 'failed') {
          this.#log.warn('function process exited', { function: this.spec.key, code, signal });
        }
        const reason = signal === null ? `exit status ${code}` : `signal: ${signal}`;
        for (const [id, pending] of this.#pending) {
          this.#pending.delete(id);
          pending.resolve({
            error: { errorType: 'Runtime.ExitError', errorMessage: `Runtime exited with error: ${reason}` },
          });
        }
        reject(new Error(`${this.spec.key}: runtime exited during init (${reason})`));
      });
    });
  }

  #remember(text: string): void {
    const now = Date.now();
    this.#lines.push({ at: now, text });
    // Enough history for the longest invocation's tail, without growing forever.
    if (this.#lines.length > 500) this.#lines.splice(0, this.#lines.length - 500);
  }

  #tail(since: number): string {
    const text = this.#lines
      .filter((line) => line.at >= since)
      .map((line) => line.text)
      .join('\n');
    return Buffer.from(text).subarray(-TAIL_BYTES).toString('utf8');
  }

  /**
   * Runs one invocation with the function's timeout. Never rejects: failures come back as `error`.
   *
   * @example
   * ```ts
   * const outcome = await fn.invoke({ operation: 'health' });
   * if (outcome.error === undefined) console.log(JSON.parse(outcome.payload ?? 'null'));
   * ```
   */
  async invoke(
    event: unknown,
    options: {
      requestId?: string;
      /**
       * A streaming handler's response, as it writes it (`awslambda.streamifyResponse`): the JSON prelude of
       * `HttpResponseStream.from`, 8 NUL bytes, then the body. The outcome's payload is then `null`.
       */
      onChunk?: (chunk: Buffer) => void;
      /** Aborted when the caller of a streaming invocation went away: its response stream is closed. */
      signal?: AbortSignal;
    } = {},
  ): Promise<InvokeOutcome> {
    const requestId = options.requestId ?? randomUUID();
    const started = Date.now();
    const finish = (result: { payload?: string; error?: LambdaErrorPayload }): InvokeOutcome => {
      const outcome: InvokeOutcome = {
        requestId,
        durationMs: Date.now() - started,
        logTail: this.#tail(started),
      };
      const answer = delivered(result);
      if (answer !== result) {
        this.#log.warn('function response over the Lambda limit', {
          function: this.spec.key,
          requestId,
          error: answer.error?.errorMessage,
        });
      }
      if (answer.error !== undefined) outcome.error = answer.error;
      else outcome.payload = answer.payload ?? 'null';
      this.#last = {
        requestId,
        startedAt: started,
        durationMs: outcome.durationMs,
        logTail: outcome.logTail,
        ...(answer.error === undefined ? {} : { errorType: answer.error.errorType }),
      };
      return outcome;
    };
    if (this.#stopping) {
      return finish({
        error: { errorType: 'Runtime.ExitError', errorMessage: 'The local stack is stopping' },
      });
    }
    try {
      await this.start();
    } catch (error) {
      return finish({ error: { errorType: 'Runtime.InitError', errorMessage: (error as Error).message } });
    }
    const child = this.#child;
    if (child === undefined || !child.connected) {
      return finish({ error: { errorType: 'Runtime.ExitError', errorMessage: 'Runtime is not running' } });
    }
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    const deadline = started + timeoutMs;
    const result = await new Promise<{ payload?: string; error?: LambdaErrorPayload }>((resolve) => {
      const id = randomUUID();
      const onChunk = options.onChunk;
      if (onChunk !== undefined) this.#chunks.set(id, onChunk);
      options.signal?.addEventListener('abort', () => {
        if (child.connected) child.send({ type: 'abort', id });
      });
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        this.#chunks.delete(id);
        resolve({
          error: {
            errorType: 'Sandbox.Timedout',
            errorMessage: `${new Date().toISOString()} ${requestId} Task timed out after ${this.spec.timeoutSeconds.toFixed(2)} seconds`,
          },
        });
        // Lambda freezes and recycles a timed-out container; the next invocation is a cold start.
        this.#log.warn('function timed out; restarting it', { function: this.spec.key, requestId });
        child.kill('SIGKILL');
      }, timeoutMs);
      this.#pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          this.#chunks.delete(id);
          resolve(value);
        },
      });
      child.send({
        type: 'invoke',
        id,
        event,
        context: {
          awsRequestId: requestId,
          deadline,
          functionName: this.spec.name,
          invokedFunctionArn: this.spec.arn,
          memoryLimitInMB: String(this.spec.memorySize),
        },
      });
    });
    return finish(result);
  }

  /**
   * Stops the process: SIGTERM, then SIGKILL after two seconds.
   *
   * @example
   * ```ts
   * await fn.stop();
   * ```
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    const child = this.#child;
    if (child === undefined || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}
