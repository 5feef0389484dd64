/**
 * `npm run invoke -- <function> [options]`: invokes one function once, on the running stack (Lambda Invoke)
 * or on a stack started for this command, and prints what the handler returned.
 *
 *   --event <file|json>        the raw event
 *   --operation <op> --input <file|json>   with one of:
 *     --http                   an API Gateway HTTP API event (POST /<function>/<op>; --method, --path, --header k:v, --body)
 *     --sqs                    an SQS batch of one record from the function's queue
 *     --schedule               a schedule input ({ operation, input, trigger: 'schedule' }); without
 *                              --operation, the function's first schedule rule's input
 *     --task                   a Step Functions task payload ({ operation, input, trigger: 'task' })
 *     (none)                   a direct invoke ({ operation, input })
 *   --idempotency-key <key>    the write's key (Idempotency-Key header or envelope idempotencyKey); without
 *                              it every call sends a new one, and an SQS record is keyed by its message id
 *   --build                    build first when no stack runs
 *
 * With `--sqs` it also says what became of the record, from the batch response and the function's log
 * (Lambda's `LogType: Tail`): succeeded; failed and left for retry; or moved to the dead-letter queue, each
 * failure with its reason, and the queue's name for a dead letter. It exits 1 unless the record succeeded.
 *
 * With a running stack, a variable the function takes from the shell (PG_URL, GITHUB_API_URL, ...) set here
 * to another value than the stack gave it is refused with a message: it could not reach the function.
 */
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { fail, readJsonArgument, refuseIgnoredSettings, runningStack, temporaryStack } from './cli/common.ts';
import {
  httpInvokeEvent,
  type OperationInput,
  scheduleInvokeEvent,
  sqsInvokeEvent,
  taskInvokeEvent,
} from './cli/events.ts';
import type { HttpRoute } from './config/model.ts';

interface HealthView {
  functions: { function: string; name: string; arn: string }[];
  routes: { function: string; method: string; path: string; auth: string }[];
  queues: { arn: string; deadLetterQueue?: string; mappings: { function: string }[] }[];
  schedules: { kind: string; target: string; input?: unknown }[];
}

function routesOf(health: HealthView): HttpRoute[] {
  return health.routes.map((route) => ({
    functionKey: route.function,
    method: route.method,
    path: route.path,
    routeKey: route.path === '$default' ? '$default' : `${route.method} ${route.path}`,
    authorized: route.auth !== 'open',
  }));
}

/** The caller's key, or a new one per call: writes need one (root README, Idempotency), reads ignore it. */
function idempotencyKey(values: Record<string, unknown>): string {
  const given = values['idempotency-key'];
  return typeof given === 'string' ? given : `invoke-${randomUUID()}`;
}

function httpEvent(fn: string, values: Record<string, unknown>, health: HealthView, input: unknown): unknown {
  const headers: Record<string, string> = {};
  for (const header of (values['header'] as string[] | undefined) ?? []) {
    const colon = header.indexOf(':');
    if (colon > 0) headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
  }
  if (!Object.keys(headers).some((name) => name.toLowerCase() === 'idempotency-key'))
    headers['idempotency-key'] = idempotencyKey(values);
  const text = (name: string): Record<string, string> =>
    typeof values[name] === 'string' ? { [name]: values[name] as string } : {};
  return httpInvokeEvent({
    functionKey: fn,
    routes: routesOf(health),
    input,
    headers,
    ...text('operation'),
    ...text('method'),
    ...text('path'),
    ...text('body'),
  });
}

function requestEvent(
  fn: string,
  values: Record<string, unknown>,
  health: HealthView,
  input: unknown,
): unknown {
  const operation = values['operation'];
  if (values['schedule'] === true && operation === undefined) {
    const rule = health.schedules.find(
      (candidate) => candidate.kind === 'function' && candidate.target === fn,
    );
    if (rule === undefined) throw new Error(`${fn} has no schedule event; pass --operation and --input`);
    return rule.input ?? {};
  }
  if (typeof operation !== 'string')
    throw new Error('pass --event, or --operation (with --input) and an event kind');
  const request: OperationInput = { operation, input };
  // A queue keys a record without one by its message id, as SQS delivers it.
  if (values['sqs'] !== true || values['idempotency-key'] !== undefined)
    request.idempotencyKey = idempotencyKey(values);
  if (values['sqs'] === true) {
    const queue = health.queues.find((candidate) =>
      candidate.mappings.some((mapping) => mapping.function === fn),
    );
    if (queue === undefined) throw new Error(`${fn} has no sqs event in serverless.yml`);
    return sqsInvokeEvent(request, queue.arn);
  }
  if (values['schedule'] === true) return scheduleInvokeEvent(request);
  if (values['task'] === true) return taskInvokeEvent(request);
  return request;
}

async function buildEvent(fn: string, values: Record<string, unknown>, health: HealthView): Promise<unknown> {
  if (typeof values['event'] === 'string') return readJsonArgument(values['event'], '--event');
  const input = typeof values['input'] === 'string' ? await readJsonArgument(values['input'], '--input') : {};
  return values['http'] === true
    ? httpEvent(fn, values, health, input)
    : requestEvent(fn, values, health, input);
}

/** The queue adapter's log line about a record that failed (layers/core/src/connector/queue-adapter.ts). */
interface RecordLine {
  message: string;
  messageId?: string;
  errorName?: string;
  errorCode?: string;
  error?: string;
}

const MOVED = 'Poison record moved to the dead-letter queue';
const PARTLY_MOVED = 'Record partly done; what is left moved to the dead-letter queue';
const RECORD_MESSAGES = new Set([
  MOVED,
  PARTLY_MOVED,
  'Record partly done; left whole for the redrive policy',
  'Record failed, will be retried',
  'Poison record, left for the DLQ',
  'Record failed on credentials or configuration, left for the redrive policy',
]);

/** The queue adapter's lines about failed records in a log, by message id. */
function recordLines(log: string): Map<string, RecordLine> {
  const found = new Map<string, RecordLine>();
  for (const line of log.split('\n')) {
    const start = line.indexOf('{');
    if (start < 0) continue;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line.slice(start));
    } catch {
      continue;
    }
    const entry = parsed as Partial<RecordLine> | null;
    if (typeof entry?.message !== 'string' || !RECORD_MESSAGES.has(entry.message)) continue;
    if (typeof entry.messageId === 'string') found.set(entry.messageId, entry as RecordLine);
  }
  return found;
}

/** `NotFoundError (NOT_FOUND): no operation nope`, from a record line. */
function reasonOf(line: RecordLine): string {
  const name = line.errorName ?? 'Error';
  return `${name}${line.errorCode === undefined ? '' : ` (${line.errorCode})`}: ${line.error ?? '(no message)'}`;
}

/**
 * Says on stderr what became of the one record of an `--sqs` invoke and sets the exit code: 0 only when it
 * succeeded. `payload` is the batch response, `log` the function's output during the invocation.
 */
function reportRecord(
  event: unknown,
  outcome: { payload: string; failed: boolean; log: string },
  health: HealthView,
): void {
  const record = (event as { Records?: { messageId?: string; eventSourceARN?: string }[] }).Records?.[0];
  if (record?.messageId === undefined) return;
  const id = record.messageId;
  const say = (text: string, ok = false) => {
    process.stderr.write(`record ${id} ${text}\n`);
    if (!ok) process.exitCode = 1;
  };
  if (outcome.failed) {
    say('failed: the invocation failed, so SQS would deliver the whole batch again');
    return;
  }
  let failures: string[] = [];
  try {
    const response = JSON.parse(outcome.payload) as { batchItemFailures?: { itemIdentifier?: string }[] };
    failures = (response?.batchItemFailures ?? []).map((failure) => String(failure.itemIdentifier));
  } catch {
    // Not a batch response: judged by the log alone.
  }
  const line = recordLines(outcome.log).get(id);
  const dlq = health.queues.find((queue) => queue.arn === record.eventSourceARN)?.deadLetterQueue;
  if (line?.message === PARTLY_MOVED && !failures.includes(id)) {
    say(
      `was done in part; what was left moved to the dead-letter queue ${dlq ?? "(the function's DLQ)"}: ${line.error ?? ''}`,
    );
    return;
  }
  if (line?.message === MOVED && !failures.includes(id)) {
    say(`failed and was moved to the dead-letter queue ${dlq ?? "(the function's DLQ)"}: ${reasonOf(line)}`);
    return;
  }
  if (failures.includes(id)) {
    const why =
      line === undefined
        ? "its reason is not in the function's log tail (see the stack's log)"
        : line.message === MOVED
          ? reasonOf(line)
          : `${reasonOf(line)} (${line.message})`;
    // The record was handed to the function, not sent to the queue: nothing will deliver it again.
    say(
      `failed and left for retry: ${why}; from its queue it would come back after the visibility ` +
        `timeout and reach ${dlq ?? 'its dead-letter queue'} after maxReceiveCount receives`,
    );
    return;
  }
  say('succeeded', true);
}

function print(payload: string, error: { errorType: string; errorMessage: string } | undefined): void {
  if (error !== undefined) {
    process.stderr.write(`${JSON.stringify(error, null, 2)}\n`);
    process.exitCode = 1;
    return;
  }
  let value: unknown = payload;
  try {
    value = JSON.parse(payload);
  } catch {
    // Printed as received.
  }
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      event: { type: 'string' },
      operation: { type: 'string', short: 'o' },
      input: { type: 'string', short: 'i' },
      http: { type: 'boolean' },
      sqs: { type: 'boolean' },
      schedule: { type: 'boolean' },
      task: { type: 'boolean' },
      method: { type: 'string' },
      path: { type: 'string' },
      header: { type: 'string', multiple: true },
      body: { type: 'string' },
      'idempotency-key': { type: 'string' },
      build: { type: 'boolean' },
    },
  });
  const [fn] = positionals;
  if (fn === undefined)
    throw new Error(
      'usage: npm run invoke -- <function> --event <file|json> | --operation <op> [--input <json>] [--http|--sqs|--schedule|--task]',
    );

  const running = await runningStack();
  if (running !== undefined) {
    const health = (await (await fetch(`${running.awsUrl}/_local/health`)).json()) as HealthView;
    const target = health.functions.find((candidate) =>
      [candidate.function, candidate.name, candidate.arn].includes(fn),
    );
    if (target === undefined) {
      const known = health.functions.map((candidate) => candidate.function).join(', ');
      throw new Error(`no function ${fn} in the running stack; it runs: ${known}`);
    }
    refuseIgnoredSettings(running, target.function);
    const event = await buildEvent(target.function, values, health);
    const response = await fetch(
      `${running.awsUrl}/2015-03-31/functions/${encodeURIComponent(fn)}/invocations`,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-amz-log-type': 'Tail' },
        body: JSON.stringify(event),
      },
    );
    const text = await response.text();
    if (response.status === 404) throw new Error(`no function ${fn} in the running stack`);
    const functionError = response.headers.get('x-amz-function-error');
    print(
      text,
      functionError === null ? undefined : (JSON.parse(text) as { errorType: string; errorMessage: string }),
    );
    if (values.sqs === true && values.event === undefined) {
      const log = Buffer.from(response.headers.get('x-amz-log-result') ?? '', 'base64').toString('utf8');
      reportRecord(event, { payload: text, failed: functionError !== null, log }, health);
    }
    return;
  }

  const stack = await temporaryStack({ only: [fn], build: values.build === true });
  try {
    const health = stack.health() as unknown as HealthView;
    const event = await buildEvent(fn, values, health);
    const outcome = await stack.invoke(fn, event);
    if (outcome === undefined) throw new Error(`no function ${fn}`);
    print(outcome.payload ?? 'null', outcome.error);
    if (values.sqs === true && values.event === undefined) {
      const payload = outcome.payload ?? 'null';
      reportRecord(event, { payload, failed: outcome.error !== undefined, log: outcome.logTail }, health);
    }
  } finally {
    await stack.stop();
  }
}

await main().catch(fail);
