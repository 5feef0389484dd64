/**
 * The local console at `<HTTP API>/_console`: server-rendered pages over the running stack. Connectors
 * with their health and a form per operation (from `GET /openapi.json`) that runs it through the HTTP API
 * and shows the answer or the problem; queues with their counts and a redrive button for dead letters;
 * schedules with "run now"; state machines drawn from their ASL, executions with their path, each state's
 * input and output and the failure; the last invocation's log lines per function. Sign-in with the local
 * API key (session.ts); changes are POSTs with a CSRF token.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SesMail } from '../aws/ses.ts';
import type { FunctionProcess } from '../functions/function-process.ts';
import type { StackLog } from '../log.ts';
import type { MessageMoveTasks } from '../queues/message-move.ts';
import type { QueueEngine } from '../queues/queue-engine.ts';
import { ScheduleIndexError, type Scheduler } from '../schedules/scheduler.ts';
import type { ExecutionRecord, StepFunctionsEngine } from '../workflows/step-functions.ts';
import { aslDiagram } from './asl-diagram.ts';
import { CONSOLE_CSS, CONSOLE_JS } from './assets.ts';
import { bodyOf, FormError, type Operation, operationForm, operations } from './forms.ts';
import { html, type Markup, page, postButton, pretty, table } from './html.ts';
import { mailMessagePage, mailPage } from './mail.ts';
import { type Session, Sessions, sameSecret } from './session.ts';

/** What the console reads and acts on. */
export interface ConsoleSources {
  apiUrl: string;
  apiKey: string;
  health: () => Record<string, unknown>;
  openApi: () => unknown;
  processes: FunctionProcess[];
  queues: QueueEngine;
  moves: MessageMoveTasks;
  scheduler: Scheduler;
  workflows: StepFunctionsEngine;
  log: StackLog;
  /** The mail the local SES endpoint captured (the Mail pages). */
  mail?: SesMail | undefined;
}

/** Serves one request under `/_console`. */
export type ConsoleHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

const ASSETS: Record<string, { body: string; type: string }> = {
  '/_console/assets/console.css': { body: CONSOLE_CSS, type: 'text/css; charset=utf-8' },
  '/_console/assets/console.js': { body: CONSOLE_JS, type: 'text/javascript; charset=utf-8' },
};

const FORM_LIMIT = 1024 * 1024;
const CALL_TIMEOUT_MS = 35_000;

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // Not no-referrer: under it Chromium sends `Origin: null` with a form POST, which the gate refuses.
  'referrer-policy': 'same-origin',
  'cache-control': 'no-store',
};

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'text/html; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    ...headers,
  });
  res.end(body);
}

function redirect(res: ServerResponse, location: string, headers: Record<string, string> = {}): void {
  res.writeHead(303, { ...SECURITY_HEADERS, location, 'content-length': 0, ...headers });
  res.end();
}

function readForm(req: IncomingMessage): Promise<Record<string, string> | undefined> {
  return new Promise((resolve, reject) => {
    const type = String(req.headers['content-type'] ?? '')
      .split(';')[0]
      ?.trim();
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= FORM_LIMIT) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > FORM_LIMIT || type !== 'application/x-www-form-urlencoded') {
        resolve(undefined);
        return;
      }
      resolve(Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    });
    req.on('error', reject);
  });
}

/** An answer of the HTTP API, as the console shows it. */
interface Answer {
  status: number;
  contentType: string;
  body: string;
  durationMs: number;
}

async function callApi(
  sources: ConsoleSources,
  request: { method: string; path: string; body?: unknown; idempotencyKey?: string | undefined },
): Promise<Answer> {
  const started = Date.now();
  const headers: Record<string, string> = { authorization: `Bearer ${sources.apiKey}` };
  if (request.body !== undefined) headers['content-type'] = 'application/json';
  if (request.idempotencyKey !== undefined && request.idempotencyKey !== '')
    headers['idempotency-key'] = request.idempotencyKey;
  try {
    const response = await fetch(`${sources.apiUrl}${request.path}`, {
      method: request.method,
      headers,
      ...(request.body === undefined ? {} : { body: JSON.stringify(request.body) }),
      signal: AbortSignal.timeout(CALL_TIMEOUT_MS),
    });
    return {
      status: response.status,
      contentType: response.headers.get('content-type') ?? '',
      body: await response.text(),
      durationMs: Date.now() - started,
    };
  } catch (error) {
    return {
      status: 0,
      contentType: 'text/plain',
      body: `The HTTP API did not answer: ${(error as Error).message}`,
      durationMs: Date.now() - started,
    };
  }
}

function answerBlock(answer: Answer): Markup {
  const ok = answer.status >= 200 && answer.status < 300;
  return html`<section id="answer"><h2>Answer</h2>
<p><span class="status ${ok ? 'status-ok' : 'status-bad'}" data-test="answer-status">${answer.status}</span> ${answer.contentType} · ${answer.durationMs} ms${answer.contentType.includes('problem') ? ' · a problem (RFC 9457)' : ''}</p>
<pre data-test="answer-body">${pretty(answer.body)}</pre></section>`;
}

type Row = Record<string, unknown>;

function healthOf(sources: ConsoleSources): {
  connectors: Row[];
  functions: Row[];
  queues: Row[];
  schedules: Row[];
} {
  const report = sources.health() as Record<string, Row[] | undefined>;
  return {
    connectors: report['connectors'] ?? [],
    functions: report['functions'] ?? [],
    queues: report['queues'] ?? [],
    schedules: report['schedules'] ?? [],
  };
}

function loginPage(message?: string): string {
  return page({
    title: 'Sign in',
    body: html`${message === undefined ? '' : html`<p class="flash bad">${message}</p>`}
<p>The console acts with the local API key: the one <code>npm start</code> printed (also in <code>.local/api-key</code>, or <code>CIRCLE_LOCAL_API_KEY</code>). The browser keeps only a session cookie (HttpOnly, SameSite=Strict), never the key.</p>
<form method="post" action="/_console/login" class="operation"><div class="field"><label for="api-key">API key</label><input type="password" name="apiKey" id="api-key" autocomplete="current-password" autofocus></div><button type="submit" data-test="sign-in">Sign in</button></form>`,
  });
}

function overview(sources: ConsoleSources, session: Session): string {
  const { connectors, functions } = healthOf(sources);
  const ops = operations(sources.openApi());
  const rows = connectors.map((reach) => {
    const key = String(reach['connector']);
    const fn = functions.find((entry) => entry['function'] === key);
    const state = String(fn?.['state'] ?? 'unknown');
    return [
      html`<a href="/_console/connectors/${encodeURIComponent(key)}" data-test="connector-${key}">${key}</a>`,
      html`<span class="state-${state}">${state}</span>${fn?.['initError'] === undefined ? '' : html`<br><small>${String(fn['initError'])}</small>`}`,
      String(reach['kind']),
      `${String(reach['target'])}${reach['note'] === undefined ? '' : ` (${String(reach['note'])})`}`,
      ops.filter((op) => op.connector === key && !op.open).length,
    ];
  });
  return page({
    title: 'Connectors',
    csrf: session.csrf,
    body: html`<p>Each connector runs as its own local function; open one for its live health and a form per operation.</p>
${table(['connector', 'function', 'talks to', 'where', 'operations'], rows)}`,
  });
}

async function connectorPage(
  sources: ConsoleSources,
  session: Session,
  key: string,
): Promise<string | undefined> {
  const { connectors } = healthOf(sources);
  const reach = connectors.find((entry) => entry['connector'] === key);
  if (reach === undefined) return undefined;
  const ops = operations(sources.openApi()).filter((op) => op.connector === key);
  const healthOp = ops.find((op) => op.method === 'GET' && op.path.endsWith('/health'));
  const health =
    healthOp === undefined ? undefined : await callApi(sources, { method: 'GET', path: healthOp.path });
  const rows = ops
    .filter((op) => op !== healthOp)
    .map((op) => [
      op.open
        ? html`${op.method} ${op.path}`
        : html`<a href="/_console/operations/${encodeURIComponent(op.operationId)}" data-test="operation-${op.operationId}">${op.method} ${op.path}</a>`,
      op.open ? `${op.summary} (open route: webhooks, signed by the provider)` : op.summary,
    ]);
  return page({
    title: `Connector ${key}`,
    csrf: session.csrf,
    body: html`<p>Talks to: <strong>${String(reach['kind'])}</strong> ${String(reach['target'])}</p>
<h2>Health</h2>${health === undefined ? html`<p class="empty">(no health route)</p>` : answerBlock(health)}
<h2>Operations</h2>${table(['operation', 'what it does'], rows)}`,
  });
}

function operationPage(
  session: Session,
  operation: Operation,
  state: { values: Record<string, string>; answer?: Answer; error?: string },
): string {
  return page({
    title: `${operation.method} ${operation.path}`,
    csrf: session.csrf,
    body: html`<p><a href="/_console/connectors/${encodeURIComponent(operation.connector)}">← ${operation.connector}</a> · ${operation.summary}</p>
${operationForm(operation, {
  action: `/_console/operations/${encodeURIComponent(operation.operationId)}`,
  csrf: session.csrf,
  values: state.values,
  idempotencyKey: `console-${randomUUID()}`,
})}
${state.error === undefined ? '' : html`<p class="flash bad" data-test="form-error">${state.error}</p>`}
${state.answer === undefined ? '' : answerBlock(state.answer)}`,
  });
}

async function runOperation(
  sources: ConsoleSources,
  session: Session,
  operation: Operation,
  values: Record<string, string>,
): Promise<string> {
  let body: unknown;
  try {
    body = bodyOf(operation, values);
  } catch (error) {
    if (error instanceof FormError)
      return operationPage(session, operation, { values, error: error.message });
    throw error;
  }
  const answer = await callApi(sources, {
    method: operation.method,
    path: operation.path,
    body,
    idempotencyKey: operation.idempotent ? values['_idempotency'] : undefined,
  });
  return operationPage(session, operation, { values, answer });
}

function redriveCell(sources: ConsoleSources, session: Session, entry: Row): Markup | string {
  const name = String(entry['name']);
  const queue = sources.queues.get(name);
  const deadLetterSources = queue === undefined ? [] : sources.queues.deadLetterSources(queue);
  if (queue === undefined || deadLetterSources.length === 0) return '';
  const latest = sources.moves.list(queue.arn, 1)[0];
  const button =
    Number(entry['visible'] ?? 0) > 0
      ? postButton({
          action: '/_console/queues/redrive',
          csrf: session.csrf,
          label: `Redrive to ${deadLetterSources.map((source) => source.name).join(', ')}`,
          fields: { queue: name },
          testId: `redrive-${name}`,
        })
      : '';
  if (latest === undefined) return html`${button}`;
  const reason = latest['FailureReason'] === undefined ? '' : ` (${String(latest['FailureReason'])})`;
  return html`${button}<br><small>last move: ${String(latest['Status'])}, ${String(latest['ApproximateNumberOfMessagesMoved'])} of ${String(latest['ApproximateNumberOfMessagesToMove'])} moved${reason}</small>`;
}

function queueRow(sources: ConsoleSources, session: Session, entry: Row, queues: Row[]): unknown[] {
  const name = String(entry['name']);
  const depth = (of: unknown): number =>
    Number(queues.find((queue) => queue['name'] === of)?.['visible'] ?? 0);
  const consumers = ((entry['mappings'] as Row[] | undefined) ?? []).map((mapping) =>
    String(mapping['function']),
  );
  const queue = sources.queues.get(name);
  const isDeadLetter = queue !== undefined && sources.queues.deadLetterSources(queue).length > 0;
  const dlq = entry['deadLetterQueue'];
  return [
    html`<span data-test="queue-${name}">${name}</span>`,
    html`<span data-test="depth-${name}">${depth(name)}</span>`,
    Number(entry['inFlight'] ?? 0),
    Number(entry['delayed'] ?? 0),
    dlq === undefined
      ? ''
      : `${String(dlq)}: ${depth(dlq)} (after ${String(entry['maxReceiveCount'])} receives)`,
    consumers.join(', ') || (isDeadLetter ? '(dead-letter queue)' : '(no consumer)'),
    redriveCell(sources, session, entry),
  ];
}

function queuesPage(sources: ConsoleSources, session: Session, flash?: string): string {
  const { queues } = healthOf(sources);
  const rows = queues.map((entry) => queueRow(sources, session, entry, queues));
  return page({
    title: 'Queues',
    csrf: session.csrf,
    body: html`${flash === undefined ? '' : html`<p class="flash" data-test="flash">${flash}</p>`}
<p>Depth is the messages waiting (visible); in flight are received and not yet deleted. Redrive moves a dead-letter queue's messages back to its source queue (SQS StartMessageMoveTask, as <code>npm run redrive</code> does).</p>
${table(['queue', 'depth', 'in flight', 'delayed', 'dead-letter queue', 'consumer', ''], rows)}`,
  });
}

function redrive(sources: ConsoleSources, name: string): string {
  const queue = sources.queues.get(name);
  if (queue === undefined) return `No queue ${name}.`;
  const deadLetterSources = sources.queues.deadLetterSources(queue);
  try {
    // One source: named explicitly, since SQS cannot tell the source of a message sent to the DLQ directly
    // (the core moves poison records there itself). Several: each message back to where it came from.
    const only = deadLetterSources.length === 1 ? deadLetterSources[0] : undefined;
    sources.moves.start({ sourceArn: queue.arn, destinationArn: only?.arn });
    return `Redrive of ${name} started: its messages go back to ${deadLetterSources.map((source) => source.name).join(', ')}.`;
  } catch (error) {
    return `Redrive of ${name} refused: ${(error as Error).message}`;
  }
}

function schedulesPage(sources: ConsoleSources, session: Session, result?: Markup): string {
  const { schedules } = healthOf(sources);
  const seen = new Map<string, number>();
  const rows = schedules.map((rule) => {
    const target = String(rule['target']);
    const index = seen.get(target) ?? 0;
    seen.set(target, index + 1);
    return [
      `${String(rule['kind'])} ${target}`,
      String(rule['rule']),
      String(rule['expression']),
      rule['enabled'] === true ? `next ${String(rule['next'] ?? '-')}` : 'disabled (dev stage)',
      rule['input'] === undefined ? '' : html`<pre>${pretty(rule['input'])}</pre>`,
      postButton({
        action: '/_console/schedules/run',
        csrf: session.csrf,
        label: 'Run now',
        fields: { target, index: String(index) },
        testId: `run-${target}-${index}`,
      }),
    ];
  });
  return page({
    title: 'Schedules',
    csrf: session.csrf,
    body: html`${result ?? ''}<p>"Run now" sends the rule's scheduled event to its target, as <code>npm run schedule</code> does; disabled rules too.</p>
${table(['target', 'rule', 'expression', 'state', 'input', ''], rows)}`,
  });
}

async function runSchedule(
  sources: ConsoleSources,
  session: Session,
  form: Record<string, string>,
): Promise<{ status: number; body: string }> {
  const target = form['target'] ?? '';
  const index = Number(form['index'] ?? '0');
  let fired: Awaited<ReturnType<Scheduler['fire']>>;
  try {
    fired = await sources.scheduler.fire(target, Number.isInteger(index) ? index : 0);
  } catch (error) {
    if (!(error instanceof ScheduleIndexError)) throw error;
    return {
      status: 400,
      body: schedulesPage(
        sources,
        session,
        html`<section id="answer"><h2>Not run: ${target}</h2><p class="flash bad" data-test="form-error">${error.message}.</p></section>`,
      ),
    };
  }
  const result = html`<section id="answer"><h2>Ran ${target}</h2>${
    fired.length === 0
      ? html`<p class="flash bad">No schedule targets ${target}.</p>`
      : fired.map(
          ({ rule, outcome }) =>
            html`<p>${rule}: <span class="status ${outcome.error === undefined ? 'status-ok' : 'status-bad'}" data-test="answer-status">${outcome.error === undefined ? 'ok' : outcome.error.errorType}</span> in ${outcome.durationMs} ms</p>
<pre data-test="answer-body">${pretty(outcome.error ?? outcome.payload ?? '')}</pre>${outcome.logTail === '' ? '' : html`<details><summary>log</summary><pre>${outcome.logTail}</pre></details>`}`,
        )
  }</section>`;
  return { status: 200, body: schedulesPage(sources, session, result) };
}

function executionLink(name: string, execution: ExecutionRecord): Markup {
  return html`<a href="/_console/workflows/${encodeURIComponent(name)}/executions/${encodeURIComponent(execution.name)}">${execution.name}</a>`;
}

function workflowsPage(sources: ConsoleSources, session: Session): string {
  const rows = sources.workflows.machines().map((machine) => {
    const latest = sources.workflows.executions(machine.arn)[0];
    return [
      html`<a href="/_console/workflows/${encodeURIComponent(machine.name)}" data-test="workflow-${machine.name}">${machine.name}</a>`,
      machine.type,
      Object.keys((machine.definition['States'] ?? {}) as object).length,
      latest === undefined
        ? ''
        : html`${executionLink(machine.name, latest)} <span class="status-${latest.status}">${latest.status}</span>`,
    ];
  });
  return page({
    title: 'Workflows',
    csrf: session.csrf,
    body: table(['state machine', 'type', 'states', 'latest execution'], rows),
  });
}

function workflowPage(sources: ConsoleSources, session: Session, name: string): string | undefined {
  const machine = sources.workflows.machines().find((candidate) => candidate.name === name);
  if (machine === undefined) return undefined;
  const executions = sources.workflows.executions(machine.arn).slice(0, 20);
  return page({
    title: `Workflow ${name}`,
    csrf: session.csrf,
    body: html`${aslDiagram(machine.definition)}
<h2>Start an execution</h2>
<form method="post" action="/_console/workflows/${encodeURIComponent(name)}/start" class="operation"><input type="hidden" name="_csrf" value="${session.csrf}">
<div class="field"><label for="field-input">input <small>JSON</small></label><textarea name="input" id="field-input" rows="5" class="json">{}</textarea></div>
<button type="submit" data-test="start-execution">Start ${name}</button></form>
<h2>Executions</h2>
${table(
  ['execution', 'status', 'started', 'error'],
  executions.map((execution) => [
    executionLink(name, execution),
    html`<span class="status-${execution.status}">${execution.status}</span>`,
    new Date(execution.startedAt).toISOString(),
    execution.error ?? '',
  ]),
)}`,
  });
}

/** One state of an execution's path. */
export interface StepRecord {
  name: string;
  type: string;
  input: string;
  output?: string;
  error?: string;
  cause?: string;
}

function applyEvent(steps: StepRecord[], event: Record<string, unknown>): void {
  const entered = event['stateEnteredEventDetails'] as { name: string; input: string } | undefined;
  const exited = event['stateExitedEventDetails'] as { name: string; output: string } | undefined;
  const failed = event['taskFailedEventDetails'] as
    | { resource: string; error?: string; cause?: string }
    | undefined;
  if (entered !== undefined) {
    steps.push({
      name: entered.name,
      type: String(event['type']).replace(/StateEntered$/, ''),
      input: entered.input,
    });
    return;
  }
  if (exited !== undefined) {
    const step = steps.findLast(
      (candidate) => candidate.name === exited.name && candidate.output === undefined,
    );
    if (step !== undefined) step.output = exited.output;
    return;
  }
  const step =
    failed === undefined ? undefined : steps.findLast((candidate) => candidate.name === failed.resource);
  if (step === undefined || failed === undefined) return;
  if (failed.error !== undefined) step.error = failed.error;
  if (failed.cause !== undefined) step.cause = failed.cause;
}

/** Each state entered, in order, with its input, output and failure, from an execution's history. */
export function statesOf(execution: ExecutionRecord): StepRecord[] {
  const steps: StepRecord[] = [];
  for (const event of execution.events) applyEvent(steps, event);
  return steps;
}

function executionPage(
  sources: ConsoleSources,
  session: Session,
  name: string,
  executionName: string,
): string | undefined {
  const machine = sources.workflows.machines().find((candidate) => candidate.name === name);
  if (machine === undefined) return undefined;
  const execution = sources.workflows
    .executions(machine.arn)
    .find((candidate) => candidate.name === executionName);
  if (execution === undefined) return undefined;
  const steps = statesOf(execution);
  const visited = new Set(steps.map((step) => step.name));
  const failedStep =
    execution.status === 'FAILED'
      ? (steps.findLast((step) => step.error !== undefined || step.type === 'Fail') ?? steps.at(-1))
      : undefined;
  return page({
    title: `Execution ${execution.name}`,
    csrf: session.csrf,
    ...(execution.status === 'RUNNING' ? { refreshSeconds: 1 } : {}),
    body: html`<p><a href="/_console/workflows/${encodeURIComponent(name)}">← ${name}</a> · status <span class="status status-${execution.status}" data-test="execution-status">${execution.status}</span> · started ${new Date(execution.startedAt).toISOString()}${execution.stoppedAt === undefined ? '' : ` · ${execution.stoppedAt - execution.startedAt} ms`}</p>
${execution.error === undefined ? '' : html`<section class="flash bad" data-test="execution-failure"><strong>${execution.error}</strong><pre>${pretty(execution.cause ?? '')}</pre></section>`}
<h2>Path taken</h2><p data-test="execution-path">${steps.map((step) => step.name).join(' → ')}</p>
${aslDiagram(machine.definition, { visited, failed: failedStep?.name })}
<h2>States</h2>
${table(
  ['#', 'state', 'input', 'output', 'failure'],
  steps.map((step, index) => [
    index + 1,
    html`${step.name}<br><small>${step.type}</small>`,
    html`<pre>${pretty(step.input)}</pre>`,
    step.output === undefined ? '' : html`<pre>${pretty(step.output)}</pre>`,
    step.error === undefined
      ? ''
      : html`<strong>${step.error}</strong><pre>${pretty(step.cause ?? '')}</pre>`,
  ]),
  'states',
)}
<h2>Input</h2><pre>${pretty(execution.input)}</pre>
${execution.output === undefined ? '' : html`<h2>Output</h2><pre data-test="execution-output">${pretty(execution.output)}</pre>`}`,
  });
}

function startExecution(
  sources: ConsoleSources,
  name: string,
  input: string,
): { location?: string; error?: string } {
  try {
    const machine = sources.workflows.machine(name);
    const execution = sources.workflows.start(machine.arn, input.trim() === '' ? '{}' : input);
    return {
      location: `/_console/workflows/${encodeURIComponent(name)}/executions/${encodeURIComponent(execution.name)}`,
    };
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function functionsPage(sources: ConsoleSources, session: Session): string {
  const sections = [...sources.processes]
    .sort((a, b) => a.spec.key.localeCompare(b.spec.key))
    .map((fn) => {
      const last = fn.lastInvocation;
      return html`<section><h2>${fn.spec.key} <small class="state-${fn.state}">${fn.state}</small></h2>
${
  last === undefined
    ? html`<p class="empty">Not invoked yet.</p>`
    : html`<p>Last invocation ${last.requestId} at ${new Date(last.startedAt).toISOString()}, ${last.durationMs} ms${last.errorType === undefined ? '' : html`, <span class="bad">${last.errorType}</span>`}</p>
<pre data-test="log-${fn.spec.key}">${last.logTail === '' ? '(no log lines)' : last.logTail}</pre>`
}</section>`;
    });
  return page({ title: 'Last invocation log lines', csrf: session.csrf, body: html`${sections}` });
}

function findOperation(sources: ConsoleSources, operationId: string): Operation | undefined {
  return operations(sources.openApi()).find((op) => op.operationId === operationId && !op.open);
}

function notFound(res: ServerResponse, session: Session | undefined, what: string): void {
  send(
    res,
    404,
    page({
      title: 'Not found',
      body: html`<p>${what}</p><p><a href="/_console">Back to the console</a></p>`,
      ...(session === undefined ? {} : { csrf: session.csrf }),
    }),
  );
}

/**
 * Creates the console's request handler (mounted by the HTTP API under `/_console`).
 *
 * @example
 * ```ts
 * api.setConsole(createConsole({ apiUrl, apiKey, health, openApi, processes, queues, moves, scheduler, workflows, log }));
 * ```
 */
export function createConsole(sources: ConsoleSources): ConsoleHandler {
  const sessions = new Sessions();
  // Status messages of the console's own redirects, by a random id bound to the session that caused them:
  // the URL carries only the id, so no link can make the console show text of its choosing.
  const flashes = new Map<string, { csrf: string; text: string }>();
  const keepFlash = (session: Session, text: string): string => {
    const id = randomUUID();
    flashes.set(id, { csrf: session.csrf, text });
    while (flashes.size > 100) flashes.delete(flashes.keys().next().value as string);
    return id;
  };
  const flashOf = (session: Session, id: string | null): string | undefined => {
    const entry = id === null ? undefined : flashes.get(id);
    return entry !== undefined && entry.csrf === session.csrf ? entry.text : undefined;
  };

  const pages: [
    RegExp,
    (
      session: Session,
      match: RegExpExecArray,
      query: URLSearchParams,
    ) => Promise<string | undefined> | string | undefined,
  ][] = [
    [/^\/_console\/?$/, (session) => overview(sources, session)],
    [
      /^\/_console\/queues$/,
      (session, _match, query) => queuesPage(sources, session, flashOf(session, query.get('flash'))),
    ],
    [/^\/_console\/schedules$/, (session) => schedulesPage(sources, session)],
    [/^\/_console\/workflows$/, (session) => workflowsPage(sources, session)],
    [/^\/_console\/functions$/, (session) => functionsPage(sources, session)],
    [/^\/_console\/mail$/, (session) => mailPage(sources.mail, session.csrf)],
    [
      /^\/_console\/mail\/([\w-]+)$/,
      (session, match) => mailMessagePage(sources.mail, session.csrf, match[1] ?? ''),
    ],
    [
      /^\/_console\/connectors\/([\w-]+)$/,
      (session, match) => connectorPage(sources, session, match[1] ?? ''),
    ],
    [
      /^\/_console\/operations\/([\w-]+)$/,
      (session, match) => {
        const operation = findOperation(sources, match[1] ?? '');
        return operation === undefined ? undefined : operationPage(session, operation, { values: {} });
      },
    ],
    [
      /^\/_console\/workflows\/([\w-]+)\/executions\/([\w-]+)$/,
      (session, match) => executionPage(sources, session, match[1] ?? '', match[2] ?? ''),
    ],
    [/^\/_console\/workflows\/([\w-]+)$/, (session, match) => workflowPage(sources, session, match[1] ?? '')],
  ];

  const get = async (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    session: Session,
  ): Promise<void> => {
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    for (const [pattern, render] of pages) {
      const match = pattern.exec(path);
      if (match === null) continue;
      const body = await render(session, match, query);
      return body === undefined
        ? notFound(res, session, 'No such connector, operation, workflow or execution.')
        : send(res, 200, body);
    }
    return notFound(res, session, 'No such console page.');
  };

  const post = async (
    res: ServerResponse,
    path: string,
    session: Session,
    form: Record<string, string>,
  ): Promise<void> => {
    if (path === '/_console/logout') {
      sessions.end(session);
      return redirect(res, '/_console/login', { 'set-cookie': Sessions.clearCookie() });
    }
    if (path === '/_console/queues/redrive') {
      const flash = redrive(sources, form['queue'] ?? '');
      return redirect(res, `/_console/queues?flash=${keepFlash(session, flash)}`);
    }
    if (path === '/_console/schedules/run') {
      const ran = await runSchedule(sources, session, form);
      return send(res, ran.status, ran.body);
    }
    const operationId = /^\/_console\/operations\/([\w-]+)$/.exec(path)?.[1];
    if (operationId !== undefined) {
      const operation = findOperation(sources, operationId);
      if (operation === undefined) return notFound(res, session, `No operation ${operationId}.`);
      return send(res, 200, await runOperation(sources, session, operation, form));
    }
    const start = /^\/_console\/workflows\/([\w-]+)\/start$/.exec(path)?.[1];
    if (start !== undefined) {
      const started = startExecution(sources, start, form['input'] ?? '{}');
      if (started.location !== undefined) return redirect(res, started.location);
      return send(
        res,
        400,
        page({
          title: 'Not started',
          csrf: session.csrf,
          body: html`<p class="flash bad" data-test="form-error">${started.error ?? ''}</p><p><a href="/_console/workflows/${encodeURIComponent(start)}">Back</a></p>`,
        }),
      );
    }
    return notFound(res, session, 'No such console action.');
  };

  const signIn = async (
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    session: Session | undefined,
  ): Promise<void> => {
    if (method === 'GET')
      return session === undefined ? send(res, 200, loginPage()) : redirect(res, '/_console');
    const form = await readForm(req);
    if (form === undefined || !sameSecret(form['apiKey'] ?? '', sources.apiKey)) {
      return send(res, 401, loginPage('That is not the local API key.'));
    }
    return redirect(res, '/_console', { 'set-cookie': Sessions.setCookie(sessions.create()) });
  };

  const signedIn = async (
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    path: string,
    session: Session,
  ): Promise<void> => {
    if (method === 'GET') return get(req, res, path, session);
    const form = await readForm(req);
    if (form === undefined || !sameSecret(form['_csrf'] ?? '', session.csrf)) {
      return send(
        res,
        403,
        page({
          title: 'Refused',
          csrf: session.csrf,
          body: html`<p class="flash bad">Refused: the form did not carry this session's CSRF token. Reload the console page and try again.</p>`,
        }),
      );
    }
    return post(res, path, session, form);
  };

  return async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const method = (req.method ?? 'GET').toUpperCase();
    const asset = method === 'GET' ? ASSETS[path] : undefined;
    if (asset !== undefined) return send(res, 200, asset.body, { 'content-type': asset.type });
    if (method !== 'GET' && method !== 'POST') {
      req.resume();
      return send(
        res,
        405,
        page({ title: 'Method not allowed', body: html`<p>The console takes GET and POST.</p>` }),
        {
          allow: 'GET, POST',
        },
      );
    }
    const session = sessions.of(req);
    if (path === '/_console/login') return signIn(req, res, method, session);
    if (session === undefined) {
      req.resume();
      return method === 'GET'
        ? redirect(res, '/_console/login')
        : send(res, 401, loginPage('Sign in first.'));
    }
    return signedIn(req, res, method, path, session);
  };
}
