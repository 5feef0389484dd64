/**
 * Inbound authorization, end to end through every connector: every operation route (and health) refuses
 * a request that carries no trace of the gateway's authorizer with a 401 problem, and the operation does not
 * run. The deployment side (every non-webhook route has an authorizer in the packaged template) is proved by
 * test/packaging/template.test.ts ('authorizes every HTTP route except provider webhooks'); here the
 * function.yml sources are checked against the code: a route is public only when the connector declares it
 * `auth: 'signature'`, i.e. it verifies a provider signature itself.
 */
import { readFile } from 'node:fs/promises';
import { type CapturedLogs, captureLogs, httpEvent, lambdaContext } from '@circle-core/core/testing';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { connectorFolder } from './support/connectors.ts';
import {
  CONNECTOR_NAMES,
  type HttpResult,
  isNotSupportedAnswer,
  type RouteEntry,
  type Suite,
  startSuite,
} from './support/suite.ts';

let suite: Suite;
let logs: CapturedLogs;

/** Authorizer traces a gateway never produces for an authorized call, or that are empty. */
const FORGED_AUTHORIZERS: [string, unknown][] = [
  ['no authorizer', undefined],
  ['an empty authorizer', {}],
  ['an unknown authorizer kind', { custom: { principalId: 'attacker' } }],
];

function unauthorizedEvent(route: RouteEntry, body: unknown, authorizer: unknown): APIGatewayProxyEventV2 {
  const event = httpEvent({
    method: route.method,
    path: route.path,
    body: route.method === 'GET' ? undefined : body,
    authorizer: 'none',
    // A caller can send any header; only the gateway's requestContext counts.
    headers: { authorization: 'Bearer forged', 'x-amzn-oidc-identity': 'admin' },
  });
  if (authorizer !== undefined) {
    (event.requestContext as unknown as Record<string, unknown>)['authorizer'] = authorizer;
  }
  return event;
}

beforeAll(async () => {
  suite = await startSuite();
}, 60_000);

afterAll(async () => {
  await suite?.close();
});

beforeEach(() => {
  logs = captureLogs();
});

afterEach(() => {
  logs.restore();
  vi.restoreAllMocks();
});

describe('Inbound: operation routes without the gateway authorizer', () => {
  const guarded = (): RouteEntry[] =>
    suite.routes.filter((route) => route.kind === 'operation' || route.kind === 'health');

  it('covers every operation of every connector', () => {
    // Act
    const covered = new Set(guarded().map((route) => route.connector));
    // Assess
    expect([...covered].sort()).toEqual([...CONNECTOR_NAMES].sort());
    expect(guarded().filter((route) => route.kind === 'operation').length).toBeGreaterThanOrEqual(21);
  });

  it.each(FORGED_AUTHORIZERS)(
    'answers 401 problem+json with %s, and no operation runs',
    async (_what, authorizer) => {
      // Prepare
      const runs = new Map<string, ReturnType<typeof vi.fn>>();
      for (const route of guarded()) {
        if (route.operation === undefined) continue;
        const operation = suite.connectors[route.connector].runtime.operations[route.operation] as {
          run: (...args: unknown[]) => unknown;
        };
        runs.set(`${route.connector}/${route.operation}`, vi.spyOn(operation, 'run'));
      }
      const slackMessages = suite.slack.messages.length;
      const githubIssues = suite.github.issues('octo/hello').length;
      const secretCalls = suite.secrets.calls.length;
      // Act
      const answers: [RouteEntry, HttpResult][] = [];
      for (const route of guarded()) {
        const sample = suite.samples[route.connector][route.operation ?? ''] ?? {};
        const event = unauthorizedEvent(route, sample, authorizer);
        answers.push([
          route,
          (await suite.connectors[route.connector].handler(event, lambdaContext())) as HttpResult,
        ]);
      }
      // Assess
      for (const [route, response] of answers) {
        const where = `${route.method} ${route.path}`;
        expect(response.statusCode, where).toBe(401);
        expect(response.headers['content-type'], where).toBe('application/problem+json');
        expect(JSON.parse(response.body), where).toMatchObject({ status: 401, code: 'unauthorized' });
      }
      for (const [name, run] of runs) expect(run, name).not.toHaveBeenCalled();
      expect(suite.slack.messages).toHaveLength(slackMessages);
      expect(suite.github.issues('octo/hello')).toHaveLength(githubIssues);
      expect(suite.secrets.calls).toHaveLength(secretCalls);
      expect(await suite.rows('items')).toEqual([]);
    },
  );

  // A null authorizer is not an object: the check must refuse it, not throw on it.
  it('answers 401, not 500, when the authorizer is null', async () => {
    // Prepare
    const route = guarded().find((entry) => entry.path === '/s3/put-object') as RouteEntry;
    const event = unauthorizedEvent(route, suite.samples.s3['put-object'], null);
    // Act
    const response = (await suite.connectors.s3.handler(event, lambdaContext())) as HttpResult;
    // Assess
    expect(response.statusCode).toBe(401);
  });

  it('lets the same requests through with an IAM or JWT authorizer (the refusal is the authorizer, not the input)', async () => {
    // Act
    const answers: [RouteEntry, HttpResult][] = [];
    for (const route of guarded().filter((entry) => entry.operation !== 'sync-issues')) {
      const body =
        route.method === 'GET' ? undefined : (suite.samples[route.connector][route.operation ?? ''] ?? {});
      const authorizer = answers.length % 2 === 0 ? 'iam' : 'jwt';
      const event = httpEvent({ method: route.method, path: route.path, body, authorizer });
      answers.push([
        route,
        (await suite.connectors[route.connector].handler(event, lambdaContext())) as HttpResult,
      ]);
    }
    // Assess
    for (const [route, response] of answers) {
      // Some samples are refused by the provider (update-message of a message the bot did not post): any
      // answer but 401 shows the request was let through to the operation.
      expect(response.statusCode, `${route.method} ${route.path}: ${response.body}`).not.toBe(401);
      if (!isNotSupportedAnswer(route.connector, route.operation, response.statusCode))
        expect(response.statusCode, `${route.method} ${route.path}: ${response.body}`).toBeLessThan(500);
    }
  });
});

describe('Inbound: public routes are exactly the signature-verified ones', () => {
  interface HttpApiEvent {
    method: string;
    path: string;
    authorizer?: unknown;
  }

  async function httpApiEvents(connector: string): Promise<HttpApiEvent[]> {
    const file = parse(await readFile(connectorFolder(connector).functionFile, 'utf8')) as {
      function: Record<string, { events: Record<string, unknown>[] }>;
    };
    const definition = Object.values(file.function)[0];
    return (definition?.events ?? [])
      .filter((event) => 'httpApi' in event)
      .map((event) => event['httpApi'] as HttpApiEvent);
  }

  it.each(CONNECTOR_NAMES)(
    '%s: every route without an authorizer is a route that verifies a signature',
    async (connector) => {
      // Prepare
      const signatureRoutes = suite.routes
        .filter((route) => route.connector === connector && route.kind === 'signature')
        .map((route) => `${route.method} ${route.path}`)
        .sort();
      // Act
      const events = await httpApiEvents(connector);
      const publicRoutes = events
        .filter((event) => event.authorizer === undefined)
        .map((event) => `${event.method.toUpperCase()} ${event.path}`)
        .sort();
      // Assess
      expect(events.length).toBeGreaterThan(0);
      expect(publicRoutes).toEqual(signatureRoutes);
      for (const event of events.filter((candidate) => candidate.authorizer !== undefined)) {
        expect(event.authorizer, event.path).toMatchObject({
          type: expect.stringMatching(/^(aws_iam|jwt)$/),
        });
      }
    },
  );

  it('refuses an unsigned request on every public route with 401 and hands nothing on', async () => {
    // Prepare
    const publicRoutes = suite.routes.filter((route) => route.kind === 'signature');
    const handedOn = suite.aws.calls.length;
    // Act
    const answers: HttpResult[] = [];
    for (const route of publicRoutes) {
      answers.push(
        await suite.http(route.connector, {
          method: route.method,
          path: route.path,
          body: { type: 'event_callback', action: 'opened' },
          authorizer: 'none',
        }),
      );
    }
    // Assess
    expect(publicRoutes.map((route) => route.path)).toEqual([
      '/slack/events',
      '/slack/commands',
      '/github/webhook',
      '/jira/webhook',
      '/pagerduty/webhook',
      '/stripe/webhook',
      '/gitlab/webhook',
    ]);
    for (const response of answers) {
      expect(response.statusCode).toBe(401);
      expect(response.headers['content-type']).toBe('application/problem+json');
    }
    expect(suite.aws.calls).toHaveLength(handedOn);
    expect(logs.text()).not.toContain('Slack event received');
  });
});
