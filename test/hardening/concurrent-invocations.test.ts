/**
 * Lambda Managed Instances: many invocations of one function at once in one Node.js worker thread, sharing
 * the handler and all module-level state ("Node.js runtime for Lambda Managed Instances",
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-managed-instances-nodejs-runtime.html). The Slack
 * reference connector, against its contract fake and the Secrets Manager fake, is driven with HTTP, SQS
 * and Step Functions task invocations at once. A proxy in front of the fake holds every provider call until
 * all of them have arrived and then answers them in reverse order, so every invocation is in flight
 * together and they finish in another order than they started. Each answer, each invocation line (request
 * id, correlation id, operation, trigger, metrics) and each provider call (its x-correlation-id) must
 * belong to its own invocation.
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type SlackFake, type SlackFakeUser, startSlackFake } from '../../scripts/local/sandboxes/slack.ts';
import { type SecretsManagerFake, startSecretsManagerFake } from '../fakes/secrets-manager.ts';
import type { HttpResult, LoadedConnector } from './support/suite.ts';

const TOKEN_SECRET = 'circle-core/slack/concurrency-bot-token';
const SIGNING_SECRET = 'circle-core/slack/concurrency-signing-secret';
const TOKEN = 'xoxb-concurrency-0000';
const LOOKUP = '/api/users.lookupByEmail';

/** One provider call held by the barrier proxy. */
interface Held {
  correlationId: string | undefined;
  body: string;
  forward(): void;
}

/**
 * Forwards to `upstream`, but holds `users.lookupByEmail` calls until `expect(n)` of them have arrived, then
 * answers them last-arrived first. Every other call goes straight through.
 */
async function startBarrierProxy(upstream: string) {
  const target = new URL(upstream);
  let expected = Number.POSITIVE_INFINITY;
  let held: Held[] = [];
  const seen: { correlationId: string | undefined; body: string }[] = [];
  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse): void => {
    const outbound = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    outbound.on('error', () => res.destroy());
    outbound.end(body);
  };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      if ((req.url ?? '').split('?')[0] !== LOOKUP) {
        forward(req, body, res);
        return;
      }
      const header = req.headers['x-correlation-id'];
      const correlationId = Array.isArray(header) ? header[0] : header;
      // users.lookupByEmail is a GET: the email is in the query (a POST form body would carry it too).
      const text = `${req.url ?? ''} ${body.toString('utf8')}`;
      seen.push({ correlationId, body: text });
      held.push({ correlationId, body: text, forward: () => forward(req, body, res) });
      if (held.length >= expected) {
        const release = held.reverse();
        held = [];
        for (const call of release) call.forward();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    seen,
    expect(count: number): void {
      expected = count;
      held = [];
      seen.length = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

type Proxy = Awaited<ReturnType<typeof startBarrierProxy>>;

const USERS: SlackFakeUser[] = Array.from({ length: 16 }, (_, i) => ({
  id: `U0CONC${String(i).padStart(2, '0')}`,
  name: `member${i}`,
  realName: `Member ${i}`,
  email: `member${i}@example.com`,
}));

let slack: SlackFake;
let secrets: SecretsManagerFake;
let proxy: Proxy;
let logs: CapturedLogs;
const saved = new Map<string, string | undefined>();

beforeAll(async () => {
  slack = await startSlackFake({ tokens: [TOKEN], users: USERS });
  secrets = await startSecretsManagerFake({ [TOKEN_SECRET]: TOKEN, [SIGNING_SECRET]: 'signing-secret' });
  proxy = await startBarrierProxy(slack.url);
  const env = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    SLACK_BOT_TOKEN_SECRET: TOKEN_SECRET,
    SLACK_SIGNING_SECRET_SECRET: SIGNING_SECRET,
    SLACK_API_URL: proxy.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
  };
  for (const name of Object.keys(env)) saved.set(name, process.env[name]);
  Object.assign(process.env, env);
});

afterAll(async () => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await Promise.all([proxy.close(), slack.close(), secrets.close()]);
});

beforeEach(() => {
  logs = captureLogs();
  slack.reset();
  secrets.calls.length = 0;
});

afterEach(() => {
  logs.restore();
});

/** A fresh container (worker thread) of the Slack connector. */
async function coldStart(): Promise<LoadedConnector> {
  vi.resetModules();
  const { connector } = await import('../../functions/notifications/slack/index.ts');
  return connector as unknown as LoadedConnector;
}

/** What one invocation asked for and how to check what it got. */
interface Plan {
  trigger: 'http' | 'sqs' | 'task';
  context: ReturnType<typeof lambdaContext>;
  /** The correlation id its invocation line must carry. */
  correlationId: string;
  /** The users it looked up (an SQS batch looks up two), and the correlation id each lookup carries. */
  lookups: { user: SlackFakeUser; correlationId: string }[];
  event: unknown;
}

function plans(): Plan[] {
  const list: Plan[] = [];
  let next = 0;
  const user = (): SlackFakeUser => USERS[next++ % USERS.length] as SlackFakeUser;
  for (let i = 0; i < 4; i += 1) {
    const http = user();
    const httpId = `corr-http-${i}`;
    list.push({
      trigger: 'http',
      context: lambdaContext(),
      correlationId: httpId,
      lookups: [{ user: http, correlationId: httpId }],
      event: httpEvent({
        path: '/slack/find-user-by-email',
        body: { email: http.email },
        headers: { 'x-correlation-id': httpId },
      }),
    });
    const task = user();
    const taskId = `corr-task-${i}`;
    list.push({
      trigger: 'task',
      context: lambdaContext(),
      correlationId: taskId,
      lookups: [{ user: task, correlationId: taskId }],
      event: {
        trigger: 'task',
        operation: 'find-user-by-email',
        input: { email: task.email },
        correlationId: taskId,
      },
    });
    const [first, second] = [user(), user()];
    const context = lambdaContext();
    const records = [first, second].map((member, r) => ({
      user: member,
      correlationId: `corr-sqs-${i}-${r}`,
    }));
    list.push({
      trigger: 'sqs',
      context,
      // A batch's line carries its request id; each record's calls carry the record's own correlation id.
      correlationId: context.awsRequestId,
      lookups: records,
      event: sqsEvent(
        records.map((record) => ({
          body: { operation: 'find-user-by-email', input: { email: record.user.email } },
          correlationId: record.correlationId,
        })),
      ),
    });
  }
  return list;
}

describe('Hardening: concurrent invocations in one worker thread (Lambda Managed Instances)', () => {
  it('keeps every answer, log line and provider call with its own invocation', async () => {
    // Prepare
    const connector = await coldStart();
    const invocations = plans();
    const lookups = invocations.flatMap((plan) => plan.lookups);
    proxy.expect(lookups.length);
    // Act: all at once; the proxy answers only when every lookup is in flight, the last one first.
    const answers = await Promise.all(invocations.map((plan) => connector.handler(plan.event, plan.context)));
    // Assess: the answers.
    invocations.forEach((plan, i) => {
      const answer = answers[i];
      const expectedId = plan.lookups[0]?.user.id;
      if (plan.trigger === 'http') {
        expect((answer as HttpResult).statusCode).toBe(200);
        expect((answer as HttpResult).headers['x-correlation-id']).toBe(plan.correlationId);
        expect(JSON.parse((answer as HttpResult).body)).toMatchObject({ id: expectedId });
      } else if (plan.trigger === 'task') {
        expect(answer).toMatchObject({ id: expectedId });
      } else {
        expect(answer).toEqual({ batchItemFailures: [] });
      }
    });
    // Every provider call carried the correlation id of the invocation (or record) that asked for that user.
    expect(proxy.seen).toHaveLength(lookups.length);
    for (const call of proxy.seen) {
      const asked = lookups.find((lookup) => call.body.includes(encodeURIComponent(lookup.user.email ?? '')));
      expect(asked, call.body).toBeDefined();
      expect(call.correlationId).toBe(asked?.correlationId);
    }
    // One invocation line each, with its own request id, correlation id, operation, trigger and metrics.
    const lines = logs.records().filter((record) => record['message'] === 'invocation');
    expect(lines).toHaveLength(invocations.length);
    for (const plan of invocations) {
      const own = lines.filter((line) => line['function_request_id'] === plan.context.awsRequestId);
      expect(own).toHaveLength(1);
      expect(own[0]).toMatchObject({
        level: 'INFO',
        trigger: plan.trigger,
        correlationId: plan.correlationId,
        operation: 'find-user-by-email',
        invocations: plan.lookups.length,
        errors: 0,
        ...(plan.trigger === 'sqs' ? { records: 2, failed: 0 } : {}),
        ...(plan.trigger === 'http' ? { status: 200 } : {}),
      });
    }
    // Exactly one invocation of the worker thread was its cold start, and it is the first one started.
    expect(lines.filter((line) => line['cold_start'] === true)).toHaveLength(1);
    expect(lines.find((line) => line['cold_start'] === true)?.['function_request_id']).toBe(
      invocations[0]?.context.awsRequestId,
    );
    // No EMF document stray from its invocation line; the bot token was read once for them all.
    expect(logs.records().filter((record) => record['_aws'] !== undefined)).toHaveLength(invocations.length);
    expect(secrets.calls.filter((name) => name === TOKEN_SECRET)).toHaveLength(1);
  });
});
