/**
 * Hostile bodies on every HTTP route of every connector (operation routes and signed webhook receivers):
 * malformed JSON, prototype-polluting keys, bodies over the limit, 100 000 levels of nesting (as the body
 * and inside every field of a valid input), wrong content types. Each answer must be a 4xx problem+json
 * without internals, never a 5xx, and Object.prototype must be untouched afterwards.
 */
import { DEFAULT_MAX_BODY_BYTES } from '@circle-core/core';
import { type CapturedLogs, captureLogs } from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  assertClientProblem,
  assertNoInternals,
  assertNoPollution,
  deepArray,
  deepObject,
  MALFORMED_JSON,
  POLLUTING_JSON,
  WRONG_CONTENT_TYPES,
} from './support/hostile.ts';
import type { HttpResult, RouteEntry, Suite } from './support/suite.ts';
import { startSuite } from './support/suite.ts';

const DEPTH = 100_000;
let suite: Suite;
let logs: CapturedLogs;

const postRoutes = (): RouteEntry[] => suite.routes.filter((route) => route.method === 'POST');
const operationRoutes = (): RouteEntry[] => suite.routes.filter((route) => route.kind === 'operation');

async function send(
  route: RouteEntry,
  body: string,
  headers: Record<string, string> = {},
  base64 = false,
): Promise<HttpResult> {
  return suite.http(route.connector, {
    method: route.method,
    path: route.path,
    body,
    headers,
    base64,
    authorizer: route.kind === 'signature' ? 'none' : 'iam',
  });
}

/** Signature headers a webhook route accepts for `body` (content type included). */
function signed(route: RouteEntry, body: string): Record<string, string> {
  const contentType =
    route.path === '/slack/commands' ? 'application/x-www-form-urlencoded' : 'application/json';
  return { ...suite.webhookHeaders(route.connector, body), 'content-type': contentType };
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
  assertNoPollution();
});

describe('Hostile bodies: every POST route', () => {
  it('covers the operation routes and the webhook receivers of every connector', () => {
    // Assess
    expect(
      postRoutes()
        .filter((route) => route.kind === 'signature')
        .map((route) => route.path),
    ).toEqual([
      '/slack/events',
      '/slack/commands',
      '/github/webhook',
      '/jira/webhook',
      '/pagerduty/webhook',
      '/stripe/webhook',
      '/gitlab/webhook',
    ]);
    expect(operationRoutes().length).toBeGreaterThanOrEqual(21);
  });

  it.each(MALFORMED_JSON)('answers malformed JSON %j with a 4xx problem', async (body) => {
    for (const route of postRoutes()) {
      // Act
      const response = await send(route, body);
      // Assess
      assertClientProblem(
        response,
        `${route.path} ${JSON.stringify(body)}`,
        route.kind === 'signature' ? 401 : 400,
      );
    }
  });

  it.each(POLLUTING_JSON)('refuses the polluting payload %s and pollutes nothing', async (body) => {
    for (const route of postRoutes()) {
      // Act
      const response = await send(route, body);
      // Assess
      assertClientProblem(response, `${route.path} ${body}`, route.kind === 'signature' ? 401 : 400);
      assertNoPollution();
    }
  });

  it('answers 413 to a body one byte over the limit, raw or base64, on every route', async () => {
    // Prepare
    const oversized = `"${'x'.repeat(DEFAULT_MAX_BODY_BYTES - 1)}"`;
    for (const route of postRoutes()) {
      // Act
      const raw = await send(route, oversized);
      const base64 = await send(route, oversized, {}, true);
      // Assess
      assertClientProblem(raw, `${route.path} raw`, 413);
      assertClientProblem(base64, `${route.path} base64`, 413);
    }
  });

  it('answers 100 000 levels of array nesting as the body with a 4xx problem', async () => {
    for (const route of postRoutes()) {
      // Act
      const response = await send(route, deepArray(DEPTH));
      // Assess
      assertClientProblem(response, `${route.path} deep array`);
    }
  });

  it('never answers 100 000 levels of object nesting as the body with a 5xx or internals', async () => {
    for (const route of postRoutes()) {
      // Act
      const response = await send(route, deepObject(DEPTH));
      // Assess: operation inputs ignore unknown keys, so `{"a":{...}}` may be a valid (empty) input.
      expect(response.statusCode, `${route.path}: ${response.body.slice(0, 200)}`).toBeLessThan(500);
      assertNoInternals(response, route.path);
    }
  });

  // Without parseJson's nesting limit (MAX_JSON_DEPTH), such a body parses and the first JSON.stringify of it
  // (a hand-on, a provider request, a log line) throws RangeError: a 500.
  it('refuses a body nested deeper than the limit with 400 on every POST route', async () => {
    for (const route of postRoutes()) {
      // Act
      const response = await send(route, deepObject(DEPTH));
      // Assess
      assertClientProblem(response, `${route.path} deep object`, route.kind === 'signature' ? 401 : 400);
    }
  });

  it('refuses wrong content types on operation routes with 415', async () => {
    for (const route of operationRoutes()) {
      const body = JSON.stringify(suite.samples[route.connector][route.operation ?? ''] ?? {});
      for (const contentType of WRONG_CONTENT_TYPES) {
        // Act
        const response = await send(route, body, { 'content-type': contentType });
        // Assess
        assertClientProblem(response, `${route.path} ${contentType}`, 415);
      }
    }
  });

  it('answers a health GET with a hostile body as usual: the body is ignored', async () => {
    for (const route of suite.routes.filter((entry) => entry.kind === 'health')) {
      // Act
      const response = await suite.http(route.connector, {
        method: 'GET',
        path: route.path,
        body: POLLUTING_JSON[0],
      });
      // Assess
      expect(response.statusCode, `${route.path}: ${response.body}`).toBe(200);
    }
  });
});

describe('Hostile bodies: nested 100 000 levels inside a valid input', () => {
  /** Every way of putting `deep` into the sample input: replacing each field, and into each array. */
  function variants(sample: Record<string, unknown>, deep: unknown): [string, string][] {
    const out: [string, string][] = [];
    const splice = (path: string, value: unknown): void => {
      out.push([path, JSON.stringify(value)]);
    };
    for (const [field, value] of Object.entries(sample)) {
      splice(`/${field}`, { ...sample, [field]: MARKER });
      if (Array.isArray(value)) splice(`/${field}/-`, { ...sample, [field]: [...value, MARKER] });
    }
    splice('/extra', { ...sample, extra: MARKER });
    // JSON.stringify cannot write the deep value itself (that is the point), so it is spliced in as text.
    // (A replacer that dropped the marker once made every variant the sample minus a field: check it is there.)
    return out.map(([path, text]) => {
      if (!text.includes(`"${MARKER}"`)) throw new Error(`no marker to replace at ${path}`);
      return [path, text.replace(`"${MARKER}"`, deep as string)];
    });
  }
  const MARKER = '__DEEP_VALUE_MARKER__';

  /** Sends every deep variant of one route's sample; returns the answers that were not a 400. */
  async function serverErrors(route: RouteEntry): Promise<string[]> {
    const sample = (suite.samples[route.connector][route.operation ?? ''] ?? {}) as Record<string, unknown>;
    const failures: string[] = [];
    for (const deep of [deepArray(DEPTH), deepObject(DEPTH)]) {
      for (const [pointer, body] of variants(sample, deep)) {
        const response = await send(route, body, { 'idempotency-key': `deep-${pointer}` });
        const where = `${route.path} ${pointer} ${deep.slice(0, 5)}`;
        // The nesting limit applies inside a valid input too: a 400 before the operation runs, never a 5xx.
        if (response.statusCode !== 400) failures.push(`${where}: ${response.statusCode} ${response.body}`);
        assertNoInternals(response, where);
        if (response.statusCode >= 400) {
          expect(response.headers['content-type'], where).toBe('application/problem+json');
        }
      }
    }
    return failures;
  }

  // Every field of every operation's sample, twice, each body a few hundred kilobytes of nesting: over a
  // thousand requests, so it gets minutes rather than the default 20 s (30 s was hit on a loaded machine).
  it('refuses each with a 400 (never a 5xx), a problem without internals', { timeout: 300_000 }, async () => {
    // Act
    const failures: string[] = [];
    for (const route of operationRoutes()) failures.push(...(await serverErrors(route)));
    // Assess
    expect(failures).toEqual([]);
  });
});

describe('Hostile bodies: signed webhooks', () => {
  const webhookRoutes = (): RouteEntry[] => suite.routes.filter((route) => route.kind === 'signature');

  it('answers signed malformed and polluting bodies, and signed deep arrays, with a 4xx problem', async () => {
    // Prepare
    const bodies = [...MALFORMED_JSON, ...POLLUTING_JSON, deepArray(DEPTH)];
    for (const route of webhookRoutes()) {
      for (const body of bodies) {
        // Act
        const response = await send(route, body, signed(route, body));
        // Assess
        assertClientProblem(response, `${route.path} signed ${JSON.stringify(body.slice(0, 40))}`);
        assertNoPollution();
      }
    }
  });

  it('answers a signed Slack event nesting 100 000 levels inside a valid envelope without a 5xx', async () => {
    // Prepare
    const body = `{"type":"event_callback","team_id":"T0CIRCLE","api_app_id":"A1","event_id":"Ev1","event_time":1700000000,"event":{"type":"message","deep":${deepObject(DEPTH)}}}`;
    const route = webhookRoutes().find((entry) => entry.path === '/slack/events') as RouteEntry;
    // Act
    const response = await send(route, body, signed(route, body));
    // Assess
    expect(response.statusCode, response.body.slice(0, 300)).toBeLessThan(500);
    assertNoInternals(response, route.path);
  });

  // A 5xx here would make GitHub redeliver, forever, a delivery that can never succeed.
  it('answers a signed GitHub delivery nesting 100 000 levels with a 4xx', async () => {
    // Prepare
    const body = `{"action":"opened","repository":{"full_name":"octo/hello"},"deep":${deepArray(DEPTH)}}`;
    const route = webhookRoutes().find((entry) => entry.path === '/github/webhook') as RouteEntry;
    // Act
    const response = await send(route, body, signed(route, body));
    // Assess
    assertClientProblem(response, route.path);
  });

  it('answers a signed webhook with a wrong content type with a 4xx problem', async () => {
    for (const route of webhookRoutes()) {
      for (const contentType of ['text/plain', 'application/xml', 'multipart/form-data; boundary=x']) {
        // Prepare
        const body = '{"type":"url_verification","challenge":"c"}';
        const headers = { ...signed(route, body), 'content-type': contentType };
        // Act
        const response = await send(route, body, headers);
        // Assess: the signature proves Slack sent it, so /slack/events may read it anyway; never a 5xx.
        expect(response.statusCode, `${route.path} ${contentType}`).toBeLessThan(500);
        assertNoInternals(response, route.path);
        if (route.path !== '/slack/events') assertClientProblem(response, `${route.path} ${contentType}`);
      }
    }
  });
});
