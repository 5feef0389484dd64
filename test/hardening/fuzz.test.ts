/**
 * Property-based fuzzing of every HTTP route of every connector with fast-check: arbitrary JSON and
 * strings as bodies, mutated valid inputs, header mutations (content types, idempotency keys, correlation
 * ids, forged and correctly signed webhook signatures, arbitrary names and values), method and path
 * mutations, base64 bodies, missing authorizers. Every provider is a reachable peer, so any 5xx is a bug.
 * No answer may be a 5xx, every error must be problem+json without internals, and nothing may reject
 * unhandled.
 *
 * Runs: CIRCLE_FUZZ_RUNS per property (default 1 000; 10 000 with CIRCLE_LONG=1, `npm run test:long`).
 * The seed is printed before any property runs; CIRCLE_FUZZ_SEED=<seed> replays a run. A failure is
 * shrunk to a minimal counterexample before it is reported.
 */
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  type SqsMessage,
  sqsEvent,
} from '@circle-core/core/testing';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { assertNoInternals, assertNoPollution } from './support/hostile.ts';
import type { ConnectorName, HttpResult, RouteEntry, Suite } from './support/suite.ts';
import { CONNECTOR_NAMES, isNotSupportedAnswer, startSuite } from './support/suite.ts';

const RUNS = Number(process.env['CIRCLE_FUZZ_RUNS'] ?? (process.env['CIRCLE_LONG'] === '1' ? 10_000 : 1_000));
const SEED = Number(process.env['CIRCLE_FUZZ_SEED'] ?? Date.now() % 2_147_483_647);
/** Each property gets a share of the vitest timeout proportional to its runs. */
const TIMEOUT_MS = Math.max(60_000, RUNS * 60);

let suite: Suite;
let logs: CapturedLogs;
/** How many captured log lines the internal-error check has already read. */
let read = 0;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown): void => {
  unhandled.push(reason);
};

interface Request {
  route: RouteEntry;
  method: string;
  path: string;
  body: string | undefined;
  headers: Record<string, string>;
  base64: boolean;
  authorizer: 'iam' | 'jwt' | 'none';
  sign: boolean;
}

const METHODS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD'];
const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'application/problem+json',
  'application/vnd.api+json',
  'application/x-www-form-urlencoded',
  'text/plain',
  'multipart/form-data; boundary=x',
  '',
  'APPLICATION/JSON',
];

function mutatePath(path: string): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(path) },
    fc.constant(`${path}/`),
    fc.constant(path.toUpperCase()),
    fc.constant(path.replace(/^\//, '//')),
    fc.constant(`${path}/../health`),
    fc.constant(`${path}%00`),
    fc.string({ maxLength: 20 }).map((suffix) => `${path}${suffix}`),
    fc.string({ maxLength: 40 }).map((any) => `/${any}`),
  );
}

/** A valid sample with one field replaced, removed or added, or an arbitrary value altogether. */
function mutateSample(sample: Record<string, unknown>): fc.Arbitrary<unknown> {
  const fields = Object.keys(sample);
  const field = fields.length === 0 ? fc.string({ maxLength: 10 }) : fc.constantFrom(...fields);
  return fc.oneof(
    fc.tuple(field, fc.jsonValue({ maxDepth: 3 })).map(([name, value]) => ({ ...sample, [name]: value })),
    field.map((name) => {
      const { [name]: _removed, ...rest } = sample;
      return rest;
    }),
    fc
      .tuple(fc.string({ maxLength: 12 }), fc.jsonValue({ maxDepth: 2 }))
      .map(([name, value]) => ({ ...sample, [name]: value })),
    fc.constant(sample),
  );
}

function requestFor(route: RouteEntry, samples: Suite['samples']): fc.Arbitrary<Request> {
  const sample = (samples[route.connector][route.operation ?? ''] ?? {}) as Record<string, unknown>;
  const body = fc.oneof(
    { weight: 3, arbitrary: mutateSample(sample).map((value) => JSON.stringify(value)) },
    { weight: 2, arbitrary: fc.json({ maxDepth: 4 }) },
    fc.string({ maxLength: 200 }),
    fc.constant(undefined),
    fc.constant(''),
  );
  const headerValue = fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom('sha256=', 'v0=', '0', '-1'));
  const headers = fc.record(
    {
      'content-type': fc.oneof(fc.constantFrom(...CONTENT_TYPES), fc.string({ maxLength: 40 })),
      'idempotency-key': fc.string({ maxLength: 300 }),
      'x-correlation-id': fc.string({ maxLength: 200 }),
      'x-slack-request-timestamp': fc.oneof(
        fc.integer().map(String),
        fc.constant(String(Math.floor(Date.now() / 1000))),
        headerValue,
      ),
      'x-slack-signature': headerValue,
      'x-hub-signature-256': headerValue,
      'x-hub-signature': headerValue,
      'x-atlassian-webhook-identifier': headerValue,
      'x-pagerduty-signature': headerValue,
      'stripe-signature': headerValue,
      'x-gitlab-token': headerValue,
      'x-github-event': fc.oneof(fc.constantFrom('issues', 'ping', 'push', 'pull_request'), headerValue),
      'x-github-delivery': fc.oneof(fc.uuid(), headerValue),
      'x-slack-retry-num': headerValue,
    },
    { requiredKeys: [] },
  );
  const extra = fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ maxLength: 60 }), {
    maxKeys: 3,
  });
  return fc
    .record({
      method: fc.oneof({ weight: 8, arbitrary: fc.constant(route.method) }, fc.constantFrom(...METHODS)),
      path: mutatePath(route.path),
      body,
      headers,
      extra,
      base64: fc.boolean(),
      authorizer: fc.oneof(
        { weight: 6, arbitrary: fc.constant(route.kind === 'signature' ? 'none' : 'iam') },
        fc.constantFrom<'iam' | 'jwt' | 'none'>('iam', 'jwt', 'none'),
      ),
      sign: fc.boolean(),
    })
    .map(({ extra: more, headers: known, ...rest }) => ({
      route,
      ...rest,
      headers: { ...more, ...(known as Record<string, string>) },
    }));
}

async function send(request: Request): Promise<HttpResult> {
  const headers = { ...request.headers };
  if (request.sign && request.route.kind === 'signature' && request.body !== undefined) {
    // Correctly signed, so the fuzzer reaches the payload handling behind the signature check.
    Object.assign(
      headers,
      suite.webhookHeaders(request.route.connector, request.body, headers['x-github-event'] ?? 'issues'),
    );
  }
  const event = httpEvent({
    method: request.method,
    path: request.path,
    headers,
    base64: request.base64,
    authorizer: request.authorizer,
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  return (await suite.connectors[request.route.connector].handler(event, lambdaContext())) as HttpResult;
}

const seen = new Map<string, number>();

function check(request: Request, response: HttpResult): void {
  const tally = `${request.route.connector} ${response.statusCode}`;
  seen.set(tally, (seen.get(tally) ?? 0) + 1);
  const where = `${request.method} ${request.path}`;
  if (!isNotSupportedAnswer(request.route.connector, request.route.operation, response.statusCode))
    expect(response.statusCode, `${where}: ${response.body.slice(0, 300)}`).toBeLessThan(500);
  expect(response.statusCode, where).toBeGreaterThanOrEqual(200);
  assertNoInternals(response, where);
  if (response.statusCode >= 400) {
    expect(response.headers['content-type'], where).toBe('application/problem+json');
    expect(JSON.parse(response.body), where).toMatchObject({ status: response.statusCode });
  }
  assertNoPollution();
}

beforeAll(async () => {
  console.log(`fuzz: ${RUNS} runs per property, seed ${SEED} (replay with CIRCLE_FUZZ_SEED=${SEED})`);
  process.on('unhandledRejection', onUnhandled);
  suite = await startSuite({ env: { GITHUB_MAX_ATTEMPTS: '1', SLACK_MAX_ATTEMPTS: '1' } });
}, 60_000);

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  console.log(`fuzz answers: ${JSON.stringify(Object.fromEntries([...seen].sort()))}`);
  await suite?.close();
});

beforeEach(() => {
  logs = captureLogs();
  read = 0;
});

afterEach(() => {
  logs.restore();
});

describe('Fuzz: every HTTP route of every connector', () => {
  it(
    'answers arbitrary bodies, headers, methods and paths without a 5xx, internals or pollution',
    async () => {
      // Prepare
      const arbitrary = fc.oneof(...suite.routes.map((route) => requestFor(route, suite.samples)));
      // Act & Assess
      await fc.assert(
        fc.asyncProperty(arbitrary, async (request) => {
          check(request, await send(request));
        }),
        { numRuns: RUNS, seed: SEED },
      );
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    },
    TIMEOUT_MS,
  );

  it(
    'answers mutated valid inputs on every operation route without a 5xx (the provider calls run)',
    async () => {
      // Prepare
      const operations = suite.routes.filter((route) => route.kind === 'operation');
      const arbitrary = fc.oneof(
        ...operations.map((route) => {
          const sample = (suite.samples[route.connector][route.operation ?? ''] ?? {}) as Record<
            string,
            unknown
          >;
          return fc.tuple(mutateSample(sample), fc.option(fc.string({ minLength: 1, maxLength: 64 }))).map(
            ([input, key]): Request => ({
              route,
              method: 'POST',
              path: route.path,
              body: JSON.stringify(input),
              headers: key === null ? {} : { 'idempotency-key': key },
              base64: false,
              authorizer: 'iam',
              sign: false,
            }),
          );
        }),
      );
      // Act & Assess
      await fc.assert(
        fc.asyncProperty(arbitrary, async (request) => {
          check(request, await send(request));
        }),
        { numRuns: RUNS, seed: SEED + 1 },
      );
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    },
    TIMEOUT_MS,
  );
});

describe('Fuzz: queue and task triggers of every connector', () => {
  /** An envelope for one of the connector's operations (a mutated sample), or anything at all. */
  function envelope(connector: ConnectorName): fc.Arbitrary<unknown> {
    const operations = Object.keys(suite.samples[connector]);
    const operation = fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...operations) },
      fc.string({ maxLength: 70 }),
    );
    const input = fc.oneof(
      ...operations.map((name) =>
        mutateSample((suite.samples[connector][name] ?? {}) as Record<string, unknown>),
      ),
      fc.jsonValue({ maxDepth: 3 }),
    );
    return fc.oneof(
      { weight: 4, arbitrary: fc.record({ operation, input }, { requiredKeys: ['operation'] }) },
      fc.record({
        operation,
        input,
        idempotencyKey: fc.string({ maxLength: 300 }),
        correlationId: fc.string({ maxLength: 200 }),
      }),
      fc.jsonValue({ maxDepth: 3 }),
    );
  }

  /** Failures logged as unexpected (internal_error) since the last call: a 5xx on HTTP, a bug anywhere. */
  const internalErrors = (): string[] => {
    const fresh = logs.lines.slice(read);
    read = logs.lines.length;
    return fresh.filter((line) => line.includes('"errorCode":"internal_error"'));
  };

  it(
    'reports only real, unique message ids of failed records and never fails unexpectedly (SQS)',
    async () => {
      // Prepare
      const batch = fc.constantFrom(...CONNECTOR_NAMES).chain((connector) =>
        fc.tuple(
          fc.constant(connector),
          fc.uniqueArray(
            fc.record({
              messageId: fc.uuid(),
              body: fc.oneof(
                envelope(connector).map((value) => JSON.stringify(value)),
                fc.string({ maxLength: 80 }),
              ),
            }),
            { minLength: 1, maxLength: 10, selector: (record) => record.messageId },
          ),
        ),
      );
      // Act & Assess
      await fc.assert(
        fc.asyncProperty(batch, async ([connector, messages]) => {
          const event = sqsEvent(messages as SqsMessage[], { queue: `${connector}-requests` });
          const response = (await suite.connectors[connector].handler(event, lambdaContext())) as {
            batchItemFailures: { itemIdentifier: string }[];
          };
          const ids = new Set(messages.map((message) => message.messageId));
          const failed = response.batchItemFailures.map((failure) => failure.itemIdentifier);
          expect(failed.every((id) => ids.has(id))).toBe(true);
          expect(new Set(failed).size).toBe(failed.length);
          expect(internalErrors()).toEqual([]);
          assertNoPollution();
        }),
        { numRuns: Math.max(100, Math.floor(RUNS / 5)), seed: SEED + 2 },
      );
    },
    TIMEOUT_MS,
  );

  it(
    'throws only taxonomy errors with stable names for Step Functions, never an internal error (task)',
    async () => {
      // Prepare
      const names = new Set([
        'ValidationError',
        'NotFoundError',
        'ConflictError',
        'AuthError',
        'ForbiddenError',
        'RateLimitedError',
        'UnavailableError',
        'TimeoutError',
        'UnexpectedResponseError',
        'NotSupportedError',
        'PayloadTooLargeError',
        'UnsupportedMediaTypeError',
      ]);
      const task = fc
        .constantFrom(...CONNECTOR_NAMES)
        .chain((connector) => fc.tuple(fc.constant(connector), envelope(connector)));
      // Act & Assess
      await fc.assert(
        fc.asyncProperty(task, async ([connector, event]) => {
          const payload =
            typeof event === 'object' && event !== null && !Array.isArray(event)
              ? { ...event, trigger: 'task' }
              : event;
          try {
            await suite.connectors[connector].handler(payload, lambdaContext());
          } catch (error) {
            expect(
              names.has((error as Error).name),
              `${(error as Error).name}: ${(error as Error).message}`,
            ).toBe(true);
          }
          expect(internalErrors()).toEqual([]);
          assertNoPollution();
        }),
        { numRuns: Math.max(100, Math.floor(RUNS / 2)), seed: SEED + 3 },
      );
    },
    TIMEOUT_MS,
  );
});
