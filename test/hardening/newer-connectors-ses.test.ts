/**
 * The shared suites' checks for the Amazon SES connector, which holds no secret of its own: its credential
 * is the function's role (the SDK's default chain), so the leak check looks for a distinctive
 * AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, every SigV4 signature sent, and the message content (a
 * body and a subject marker; message content never reaches a log line). The connector speaks to the local
 * stack's SES v2 endpoint through a fault-injecting proxy (503 and 429 until the SDK gives up, an
 * access-denied 403), with claim-check attachments and raw messages on s3rver. Also: strict inputs on every
 * operation, the write declarations, idempotency end to end (CIRCLE_IDEMPOTENCY_TABLE on dynalite) and
 * the authorizer on every route.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { resetCircuitBreakers } from '@circle-core/core';
import {
  type CapturedLogs,
  captureLogs,
  httpEvent,
  lambdaContext,
  sqsEvent,
} from '@circle-core/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AwsEndpoint, startAwsEndpoint } from '../../scripts/local/aws/server.ts';
import { SesMail, sesService } from '../../scripts/local/aws/ses.ts';
import { createStackLog } from '../../scripts/local/log.ts';
import { createTable, type DynalitePeer, startDynalite } from '../peers/dynalite.ts';
import { type S3rverPeer, startS3rver } from '../peers/s3rver.ts';
import { type FaultProxy, startFaultProxy } from './support/fault-proxy.ts';

interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

interface Loaded {
  handler: (event: unknown, context: ReturnType<typeof lambdaContext>) => Promise<unknown>;
  runtime: {
    operations: Record<string, { effect?: string }>;
    routes: { method: string; path: string; auth: 'signature' | 'authorizer' }[];
  };
}

const distinct = (prefix: string): string => `${prefix}${randomBytes(10).toString('hex')}`;
const SECRET_ACCESS_KEY = distinct('ses-leak-check-secret-key-');
const SESSION_TOKEN = distinct('ses-leak-check-session-token-');
const BODY_MARKER = distinct('ses-body-leak-check-');
const SUBJECT_MARKER = distinct('ses-subject-leak-check-');
const BUCKET = 'ses-hardening';
const FROM = 'alerts@example.com';
const TO = 'oncall@example.com';
const CONFIGURATION_SET = 'circle-core-hardening-ses';
const IDEMPOTENCY_TABLE = 'hardening-ses-idempotency';

const SAMPLES: Record<string, unknown> = {
  'send-email': { to: [TO], subject: 'Disk full', text: 'db-1 is at 97%' },
  'send-templated-email': { to: [TO], template: 'hardening-opened', data: { service: 'db-1' } },
  'send-raw-email': { source: { key: 'outbox/report.eml' } },
  'create-template': { name: 'hardening-probe', subject: 's', text: 't' },
  'get-template': { name: 'hardening-opened' },
  'list-templates': {},
  'get-account': {},
  'post-message': { channel: TO, text: 'Captured' },
};
const WRITES = ['create-template', 'post-message', 'send-email', 'send-raw-email', 'send-templated-email'];

let aws: AwsEndpoint;
let proxy: FaultProxy;
let s3rver: S3rverPeer;
let dynamo: DynalitePeer;
let mail: SesMail;
let logs: CapturedLogs;
let connector: Loaded;
const savedEnv = { ...process.env };
const outputs: string[] = [];
const statuses: number[] = [];
let leakLogs = '';

async function call(
  operation: string,
  body: unknown,
  key: string | null = randomUUID(),
): Promise<HttpResult> {
  const event = httpEvent({
    path: `/ses/${operation}`,
    body,
    headers: key === null ? {} : { 'idempotency-key': key },
  });
  const response = (await connector.handler(event, lambdaContext())) as HttpResult;
  outputs.push(JSON.stringify(response));
  statuses.push(response.statusCode);
  return response;
}

async function task(operation: string, input: unknown): Promise<void> {
  try {
    outputs.push(
      JSON.stringify(
        await connector.handler(
          { operation, input, trigger: 'task', idempotencyKey: randomUUID() },
          lambdaContext(),
        ),
      ),
    );
  } catch (error) {
    outputs.push(String(error), (error as Error).stack ?? '', JSON.stringify(error));
  }
}

/** The SigV4 signatures the connector sent (each as secret as the key that made it). */
function signatures(): string[] {
  return proxy.requests.flatMap(
    (request) => /Signature=([0-9a-f]{64})/.exec(request.headers['authorization'] ?? '')?.slice(1) ?? [],
  );
}

beforeAll(async () => {
  [s3rver, dynamo] = await Promise.all([startS3rver({ buckets: [BUCKET] }), startDynalite()]);
  await createTable(dynamo.endpoint, IDEMPOTENCY_TABLE, { partitionKey: 'id' });
  mail = new SesMail({
    region: 'us-east-1',
    accountId: '000000000000',
    identities: ['example.com'],
    configurationSets: [CONFIGURATION_SET],
  });
  aws = await startAwsEndpoint({
    port: 0,
    log: createStackLog({ pretty: false, write: () => undefined }),
    services: { accountId: '000000000000', ses: sesService(mail), mail },
  });
  proxy = await startFaultProxy(aws.url);
  const s3 = new S3Client({
    endpoint: s3rver.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  await s3.send(
    new PutObjectCommand({
      Bucket: BUCKET,
      Key: 'outbox/report.eml',
      Body: `From: ${FROM}\r\nTo: ${TO}\r\nSubject: ${SUBJECT_MARKER}\r\n\r\n${BODY_MARKER}\r\n`,
      ContentType: 'message/rfc822',
    }),
  );
  await s3.send(
    new PutObjectCommand({ Bucket: BUCKET, Key: 'reports/summary.pdf', Body: `%PDF-1.4 ${BODY_MARKER}` }),
  );
  Object.assign(process.env, {
    POWERTOOLS_LOG_LEVEL: 'DEBUG',
    CIRCLE_IDEMPOTENCY_TABLE: IDEMPOTENCY_TABLE,
    AWS_ENDPOINT_URL: proxy.url,
    AWS_ENDPOINT_URL_S3: s3rver.endpoint,
    AWS_ENDPOINT_URL_DYNAMODB: dynamo.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
    AWS_SESSION_TOKEN: SESSION_TOKEN,
    SES_FROM_ADDRESS: FROM,
    SES_CONFIGURATION_SET: CONFIGURATION_SET,
    SES_ATTACHMENT_BUCKETS: BUCKET,
    SES_S3_FORCE_PATH_STYLE: 'true',
    SES_TIMEOUT_MS: '3000',
    SES_MAX_ATTEMPTS: '2',
  });
  connector = (await import('../../functions/notifications/ses/index.ts')).connector as unknown as Loaded;

  logs = captureLogs();
  // Happy paths: every operation, a template sent, attachments and a raw message read from S3.
  await call('create-template', {
    name: 'hardening-opened',
    subject: `{{service}} ${SUBJECT_MARKER}`,
    text: `{{service}} ${BODY_MARKER}`,
  });
  for (const [operation, input] of Object.entries(SAMPLES)) await call(operation, input);
  await call('send-email', {
    to: [TO],
    subject: SUBJECT_MARKER,
    text: BODY_MARKER,
    html: `<p>${BODY_MARKER}</p>`,
    attachments: [{ key: 'reports/summary.pdf' }],
  });
  // Refusals: unknown template, unverified sender and recipient, a bucket not allowed, a missing object,
  // a template that exists, bad input.
  await call('send-templated-email', { to: [TO], template: 'never-made', data: { x: BODY_MARKER } });
  await call('send-email', {
    from: 'x@not-verified.test',
    to: [TO],
    subject: SUBJECT_MARKER,
    text: BODY_MARKER,
  });
  await call('send-email', { to: ['someone@not-verified.test'], subject: SUBJECT_MARKER, text: BODY_MARKER });
  await call('send-email', {
    to: [TO],
    subject: SUBJECT_MARKER,
    text: BODY_MARKER,
    attachments: [{ bucket: 'someone-elses', key: 'x.pdf' }],
  });
  await call('send-raw-email', { source: { key: 'outbox/missing.eml' } });
  await call('create-template', { name: 'hardening-opened', subject: 's', text: 't' });
  await call('send-email', { to: ['not-an-address'], subject: SUBJECT_MARKER, text: BODY_MARKER });
  // Provider failures: 503 and 429 until the SDK gives up, an access denied.
  proxy.always({
    status: 503,
    headers: { 'x-amzn-errortype': 'ServiceUnavailable' },
    body: { message: 'down' },
  });
  await call('send-email', { to: [TO], subject: SUBJECT_MARKER, text: BODY_MARKER });
  proxy.always({
    status: 429,
    headers: { 'x-amzn-errortype': 'TooManyRequestsException' },
    body: { message: 'Too many requests' },
  });
  await call('post-message', { channel: TO, text: BODY_MARKER });
  resetCircuitBreakers();
  proxy.always({
    status: 403,
    headers: { 'x-amzn-errortype': 'AccessDeniedException' },
    body: { message: `User is not authorized to perform ses:SendEmail on ${FROM}` },
  });
  await call('send-email', { to: [TO], subject: SUBJECT_MARKER, text: BODY_MARKER });
  proxy.always(undefined);
  resetCircuitBreakers();
  // Queue and task triggers.
  const event = sqsEvent(
    [
      { operation: 'send-email', input: { to: [TO], subject: SUBJECT_MARKER, text: BODY_MARKER } },
      { operation: 'send-email', input: { to: ['bad'], subject: SUBJECT_MARKER, text: BODY_MARKER } },
      'not json',
    ].map((body) => ({ body, messageId: randomUUID() })),
  );
  outputs.push(JSON.stringify(await connector.handler(event, lambdaContext())));
  await task('send-templated-email', { to: [TO], template: 'never-made', data: { x: BODY_MARKER } });
  await task('send-email', { to: [TO], subject: SUBJECT_MARKER, text: BODY_MARKER });
  leakLogs = logs.text();
  logs.restore();
}, 120_000);

afterAll(async () => {
  process.env = savedEnv;
  await proxy?.close();
  await Promise.all([aws?.close(), s3rver?.close(), dynamo?.close()]);
});

describe('Secrets in output: Amazon SES, every path', () => {
  it('exercised the paths it claims (successes, refusals, 503, 429, 403)', () => {
    expect(statuses).toEqual(expect.arrayContaining([200, 400, 403, 404, 409]));
    expect(statuses.some((status) => status === 503 || status === 429)).toBe(true);
    // send-email twice, send-templated-email, send-raw-email (read from S3), post-message.
    expect(mail.messages().map((message) => message.kind)).toEqual(expect.arrayContaining(['simple', 'raw']));
    expect(mail.messages().length).toBeGreaterThanOrEqual(5);
    expect(signatures().length).toBeGreaterThan(10);
    expect(proxy.requests.some((request) => request.headers['x-amz-security-token'] === SESSION_TOKEN)).toBe(
      true,
    );
    expect(leakLogs).toContain('"service":"ses"');
  });

  it('shows no credential or SigV4 signature in any response, error or log line', () => {
    const seen = `${outputs.join('\n')}\n${leakLogs}`;
    const secrets = [SECRET_ACCESS_KEY, SESSION_TOKEN, ...signatures()];
    expect(secrets.filter((value) => seen.includes(value))).toEqual([]);
    expect(seen).not.toMatch(/AWS4-HMAC-SHA256 Credential/);
  });

  it('writes no message content (subject or body) to any log line', () => {
    expect(leakLogs).not.toContain(BODY_MARKER);
    expect(leakLogs).not.toContain(SUBJECT_MARKER);
    // It was sent: the check looks where it could have leaked from.
    expect(JSON.stringify(mail.messages())).toContain(BODY_MARKER);
  });
});

describe('Strict inputs, declarations and authorization: Amazon SES', () => {
  it('has a sample for exactly its operations', () => {
    expect(Object.keys(SAMPLES).sort()).toEqual(Object.keys(connector.runtime.operations).sort());
  });

  it('declares effect write on exactly its writes and has no public route', () => {
    const declared = Object.entries(connector.runtime.operations)
      .filter(([, definition]) => definition.effect === 'write')
      .map(([operation]) => operation)
      .sort();
    expect(declared).toEqual(WRITES);
    expect(connector.runtime.routes.filter((route) => route.auth === 'signature')).toEqual([]);
  });

  it.each(Object.keys(SAMPLES))('%s answers 400 naming /unexpectedFieldX, no SES call', async (operation) => {
    const before = proxy.requests.length;
    const response = await call(operation, { ...(SAMPLES[operation] as object), unexpectedFieldX: 1 });
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body).errors).toContainEqual({
      pointer: '/unexpectedFieldX',
      message: 'unknown field',
    });
    expect(proxy.requests.length).toBe(before);
  });

  it.each(Object.keys(SAMPLES))(
    '%s without the gateway authorizer is 401, no SES call',
    async (operation) => {
      const before = proxy.requests.length;
      const response = (await connector.handler(
        httpEvent({ path: `/ses/${operation}`, body: SAMPLES[operation], authorizer: 'none' }),
        lambdaContext(),
      )) as HttpResult;
      expect(response.statusCode).toBe(401);
      expect(proxy.requests.length).toBe(before);
    },
  );
});

describe('Idempotency through Amazon SES', () => {
  it('sends a message retried with the same key once and answers the stored result', async () => {
    const subject = distinct('idempotent-');
    const key = randomUUID();
    const first = await call('send-email', { to: [TO], subject, text: 'x' }, key);
    const retry = await call('send-email', { to: [TO], subject, text: 'x' }, key);
    expect(first.statusCode).toBe(200);
    expect(retry.body).toBe(first.body);
    expect(mail.messages().filter((message) => JSON.stringify(message).includes(subject))).toHaveLength(1);
  });

  it('lets a send that failed (503) be retried with its key, and refuses the key with another input (409)', async () => {
    const subject = distinct('after-outage-');
    const key = randomUUID();
    proxy.always({ status: 503, headers: { 'x-amzn-errortype': 'ServiceUnavailable' }, body: {} });
    const failed = await call('send-email', { to: [TO], subject, text: 'x' }, key);
    proxy.always(undefined);
    resetCircuitBreakers();
    const retried = await call('send-email', { to: [TO], subject, text: 'x' }, key);
    const before = proxy.requests.length;
    const reused = await call('send-email', { to: [TO], subject: 'other', text: 'x' }, key);
    expect(failed.statusCode).toBeGreaterThanOrEqual(500);
    expect(retried.statusCode).toBe(200);
    expect(reused.statusCode).toBe(409);
    expect(proxy.requests.length).toBe(before);
    expect(mail.messages().filter((message) => JSON.stringify(message).includes(subject))).toHaveLength(1);
  });

  it.each(WRITES)(
    'refuses %s without a key: 400 over HTTP, ValidationError as a task, no SES call',
    async (operation) => {
      const before = proxy.requests.length;
      const http = await call(operation, SAMPLES[operation], null);
      const failure = await connector
        .handler({ operation, input: SAMPLES[operation], trigger: 'task' }, lambdaContext())
        .catch((error: unknown) => error);
      expect(http.statusCode).toBe(400);
      expect(JSON.parse(http.body).detail).toContain('Idempotency-Key');
      expect(failure).toMatchObject({ name: 'ValidationError' });
      expect(proxy.requests.length).toBe(before);
    },
  );
});

describe('Well-formed text through Amazon SES', () => {
  // A lone surrogate (half an emoji, from text cut with `slice`) cannot be encoded as UTF-8: SES would get
  // U+FFFD or refuse the message. The notifier models refuse it with a 400 naming where it is.
  it.each([
    ['send-email', { to: [TO], subject: 'Disk \uD83D', text: 'db-1' }, '/subject'],
    ['send-email', { to: [TO], subject: 'Disk full', text: 'db-1 \uDE00 97%' }, '/text'],
    ['send-email', { to: [TO], subject: 'Disk full', html: '<p>\uD83D</p>' }, '/html'],
    ['create-template', { name: 'hardening-half-emoji', subject: '{{x}} \uD83D', text: 't' }, '/subject'],
    ['create-template', { name: 'hardening-half-emoji', subject: 's', html: '<b>\uDE00</b>' }, '/html'],
    [
      'send-templated-email',
      { to: [TO], template: 'hardening-opened', data: { service: 'db\uD83D' } },
      '/data/service',
    ],
  ])(
    'refuses a lone surrogate in %s (case %#) with a 400 naming it, before any SES call',
    async (operation, input, pointer) => {
      const before = proxy.requests.length;
      const response = await call(operation, input);
      const problem = JSON.parse(response.body) as { errors?: { pointer: string; message: string }[] };
      expect(response.statusCode).toBe(400);
      expect(problem.errors).toContainEqual({ pointer, message: expect.stringContaining('well-formed') });
      expect(proxy.requests.length).toBe(before);
    },
  );
});
