/**
 * Inbound webhook verification through the Slack and GitHub handlers, with signatures made here by an
 * independent signer following each provider's published scheme (node:crypto HMAC-SHA256):
 * - Slack: `v0=` + hex HMAC of `v0:<X-Slack-Request-Timestamp>:<raw body>` under the signing secret; requests
 *   older or newer than 5 minutes are refused. Slack retries carry the same event_id; within the window a
 *   replay is answered 200 as a duplicate and not handed on again (the core's delivery ledger, keyed by
 *   event_id, and by the request signature for slash commands); after it the replay is refused.
 * - GitHub: `X-Hub-Signature-256: sha256=` + hex HMAC of the raw body under the webhook secret. GitHub signs
 *   no timestamp; a replayed X-GitHub-Delivery is recognised by the DynamoDB ledger and not handed on again.
 * A signing secret that cannot be loaded fails closed: 5xx, never an unverified 2xx.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { type CapturedLogs, captureLogs, lambdaContext } from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { githubHeaders, slackHeaders } from './support/hostile.ts';
import { type HttpResult, type LoadedConnector, type Suite, startSuite } from './support/suite.ts';

let suite: Suite;
let logs: CapturedLogs;

const slackEvent = (eventId = `Ev${randomUUID().slice(0, 8)}`): string =>
  JSON.stringify({
    token: 'deprecated-verification-token',
    team_id: 'T0CIRCLE',
    api_app_id: 'A0CIRCLE',
    type: 'event_callback',
    event_id: eventId,
    event_time: Math.floor(Date.now() / 1000),
    event: { type: 'app_mention', user: 'U0ALICE', text: '<@U0BOT> hello', channel: 'C0GENERAL' },
  });

/** How many times the Slack connector handed the event with this id to its events queue. */
const slackHandedOn = (eventId: string): number =>
  suite.aws.calls.filter(
    (call) =>
      call.target === 'AmazonSQS.SendMessage' &&
      String(call.body['QueueUrl']).endsWith('/slack-events') &&
      (JSON.parse(String(call.body['MessageBody'])) as { deliveryId?: string }).deliveryId === eventId,
  ).length;

const githubIssue = (title = 'Webhook'): string =>
  JSON.stringify({
    action: 'opened',
    issue: { number: 7, title },
    repository: { full_name: 'octo/hello' },
    sender: { login: 'alice' },
  });

function slackPost(
  path: string,
  body: string | Buffer,
  headers: Record<string, string>,
): Promise<HttpResult> {
  return suite.http('slack', {
    path,
    body: Buffer.isBuffer(body) ? body.toString('base64') : body,
    base64: Buffer.isBuffer(body),
    headers: { 'content-type': 'application/json', ...headers },
    authorizer: 'none',
  });
}

function githubPost(body: string | Buffer, headers: Record<string, string>, connector?: LoadedConnector) {
  const event = {
    path: '/github/webhook',
    body: Buffer.isBuffer(body) ? body.toString('base64') : body,
    base64: Buffer.isBuffer(body),
    headers: { 'content-type': 'application/json', ...headers },
    authorizer: 'none' as const,
  };
  if (connector === undefined) return suite.http('github', event);
  return import('@circle-core/core/testing').then(
    async ({ httpEvent }) => (await connector.handler(httpEvent(event), lambdaContext())) as HttpResult,
  );
}

/** One byte of the body changed after signing. */
function tamper(body: string): Buffer {
  const bytes = Buffer.from(body);
  const index = bytes.indexOf('hello') >= 0 ? bytes.indexOf('hello') : bytes.length - 3;
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  return bytes;
}

/** A fresh container of one connector whose signing secret setting names a secret it cannot read. */
async function containerWithSecret(
  module: 'slack' | 'github',
  env: Record<string, string>,
): Promise<LoadedConnector> {
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  try {
    vi.resetModules();
    const loaded =
      module === 'slack'
        ? await import('../../functions/notifications/slack/index.ts')
        : await import('../../functions/devops/github/index.ts');
    return loaded.connector as unknown as LoadedConnector;
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

const expectUnauthorized = (response: HttpResult): void => {
  expect(response.statusCode, response.body).toBe(401);
  expect(response.headers['content-type']).toBe('application/problem+json');
};

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
});

describe('Webhooks: Slack (v0 signatures)', () => {
  const secret = (): string => suite.values.slackSigningSecret;

  it('accepts a correctly signed URL verification and event, and hands the event on', async () => {
    // Prepare
    const verification = JSON.stringify({ token: 't', challenge: 'c-123', type: 'url_verification' });
    const event = slackEvent('EvValid1');
    // Act
    const answered = await slackPost('/slack/events', verification, slackHeaders(secret(), verification));
    const received = await slackPost('/slack/events', event, slackHeaders(secret(), event));
    // Assess
    expect(answered.statusCode).toBe(200);
    expect(JSON.parse(answered.body)).toEqual({ challenge: 'c-123' });
    expect(received.statusCode).toBe(200);
    expect(slackHandedOn('EvValid1')).toBe(1);
  });

  it('accepts a correctly signed slash command', async () => {
    // Prepare
    const body = new URLSearchParams({
      command: '/deploy',
      text: 'api',
      team_id: 'T0CIRCLE',
      channel_id: 'C0GENERAL',
      user_id: 'U0ALICE',
      response_url: 'https://hooks.slack.com/commands/T0CIRCLE/1/abc',
      trigger_id: '1.2.3',
    }).toString();
    // Act
    const response = await slackPost('/slack/commands', body, {
      ...slackHeaders(secret(), body),
      'content-type': 'application/x-www-form-urlencoded',
    });
    // Assess
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ response_type: 'ephemeral' });
  });

  it('refuses one changed body byte', async () => {
    // Prepare
    const body = slackEvent();
    const headers = slackHeaders(secret(), body);
    // Act
    const response = await slackPost('/slack/events', tamper(body), headers);
    // Assess
    expectUnauthorized(response);
  });

  it.each([
    ['301 s old', -301],
    ['an hour old', -3600],
    ['301 s in the future', 301],
    ['a day in the future', 86_400],
  ])('refuses a correctly signed request whose timestamp is %s', async (_what, offset) => {
    // Prepare
    const body = slackEvent();
    const headers = slackHeaders(secret(), body, Math.floor(Date.now() / 1000) + offset);
    // Act
    const response = await slackPost('/slack/events', body, headers);
    // Assess
    expectUnauthorized(response);
  });

  it('accepts a timestamp just inside the 5-minute window', async () => {
    // Prepare
    const body = slackEvent();
    const headers = slackHeaders(secret(), body, Math.floor(Date.now() / 1000) - 295);
    // Act
    const response = await slackPost('/slack/events', body, headers);
    // Assess
    expect(response.statusCode).toBe(200);
  });

  it.each([
    [
      'a wrong prefix',
      (headers: Record<string, string>) => ({
        ...headers,
        'x-slack-signature': headers['x-slack-signature']?.replace('v0=', 'v1=') ?? '',
      }),
    ],
    [
      'no prefix',
      (headers: Record<string, string>) => ({
        ...headers,
        'x-slack-signature': headers['x-slack-signature']?.slice(3) ?? '',
      }),
    ],
    [
      'a truncated digest',
      (headers: Record<string, string>) => ({
        ...headers,
        'x-slack-signature': headers['x-slack-signature']?.slice(0, -2) ?? '',
      }),
    ],
    ['no signature header', ({ 'x-slack-signature': _gone, ...rest }: Record<string, string>) => rest],
    [
      'no timestamp header',
      ({ 'x-slack-request-timestamp': _gone, ...rest }: Record<string, string>) => rest,
    ],
    [
      'a non-numeric timestamp',
      (headers: Record<string, string>) => ({ ...headers, 'x-slack-request-timestamp': '1e9' }),
    ],
    ['an empty signature', (headers: Record<string, string>) => ({ ...headers, 'x-slack-signature': '' })],
  ])('refuses %s', async (_what, mutate) => {
    // Prepare
    const body = slackEvent();
    // Act
    const response = await slackPost('/slack/events', body, mutate(slackHeaders(secret(), body)));
    // Assess
    expectUnauthorized(response);
  });

  it('refuses a signature made with another secret', async () => {
    // Prepare
    const body = slackEvent();
    // Act
    const response = await slackPost('/slack/events', body, slackHeaders('not-the-signing-secret', body));
    // Assess
    expectUnauthorized(response);
  });

  it('answers a replay inside the window as a duplicate without handing it on again, and refuses it after', async () => {
    // Prepare: signed 296 s ago, so the very same bytes go stale within five seconds (the first two posts
    // have four seconds to land inside the 300 s window, on a loaded machine too).
    const body = slackEvent('EvReplay1');
    const signedAt = Math.floor(Date.now() / 1000) - 296;
    const headers = slackHeaders(secret(), body, signedAt);
    const first = await slackPost('/slack/events', body, headers);
    // Act
    const within = await slackPost('/slack/events', body, headers);
    await vi.waitFor(() => expect(Date.now() / 1000 - signedAt).toBeGreaterThan(301), {
      timeout: 8_000,
      interval: 50,
    });
    const after = await slackPost('/slack/events', body, headers);
    // Assess
    expect(first.statusCode).toBe(200);
    expect(within.statusCode).toBe(200);
    expect(JSON.parse(within.body)).toEqual({ ok: true, duplicate: true });
    expect(slackHandedOn('EvReplay1')).toBe(1);
    expectUnauthorized(after);
  });

  it('hands a replayed slash command request on once', async () => {
    // Prepare
    const body = new URLSearchParams({
      command: '/replayed',
      text: 'once',
      team_id: 'T0CIRCLE',
      channel_id: 'C0GENERAL',
      user_id: 'U0ALICE',
      response_url: 'https://hooks.slack.com/commands/T0CIRCLE/1/abc',
      trigger_id: '1.2.3',
    }).toString();
    const headers = { ...slackHeaders(secret(), body), 'content-type': 'application/x-www-form-urlencoded' };
    // Act
    const responses = [
      await slackPost('/slack/commands', body, headers),
      await slackPost('/slack/commands', body, headers),
    ];
    // Assess
    expect(responses.map((response) => response.statusCode)).toEqual([200, 200]);
    const commands = suite.aws.calls.filter((call) => String(call.body['MessageBody']).includes('/replayed'));
    expect(commands).toHaveLength(1);
  });

  it.each([['does not exist', { SLACK_SIGNING_SECRET_SECRET: 'circle-core/slack/missing-signing-secret' }]])(
    'fails closed with a 5xx when the signing secret %s',
    async (_what, env) => {
      // Prepare
      const connector = await containerWithSecret('slack', env);
      const body = slackEvent();
      const { httpEvent } = await import('@circle-core/core/testing');
      // Act
      const response = (await connector.handler(
        httpEvent({
          path: '/slack/events',
          body,
          headers: { 'content-type': 'application/json', ...slackHeaders(secret(), body) },
          authorizer: 'none',
        }),
        lambdaContext(),
      )) as HttpResult;
      // Assess
      expect(response.statusCode).toBeGreaterThanOrEqual(500);
      expect(response.headers['content-type']).toBe('application/problem+json');
      expect(logs.text()).not.toContain('Slack event received');
    },
  );

  it('fails closed with a 5xx when Secrets Manager refuses access to the signing secret', async () => {
    // Prepare
    const connector = await containerWithSecret('slack', { SLACK_SECRET_MAX_AGE_SECONDS: '0' });
    await connector.runtime.client();
    const body = slackEvent();
    const { httpEvent } = await import('@circle-core/core/testing');
    suite.secrets.failNext('AccessDeniedException');
    // Act
    const response = (await connector.handler(
      httpEvent({
        path: '/slack/events',
        body,
        headers: { 'content-type': 'application/json', ...slackHeaders(secret(), body) },
        authorizer: 'none',
      }),
      lambdaContext(),
    )) as HttpResult;
    // Assess
    expect(response.statusCode).toBeGreaterThanOrEqual(500);
    expect(logs.text()).not.toContain('Slack event received');
  });
});

describe('Webhooks: GitHub (X-Hub-Signature-256)', () => {
  const secret = (): string => suite.values.githubWebhookSecret;
  const handedOn = (): number =>
    suite.aws.calls.filter((call) => call.target === 'AmazonSQS.SendMessage').length;

  it('accepts a correctly signed delivery and hands it on once', async () => {
    // Prepare
    const body = githubIssue();
    const before = handedOn();
    // Act
    const response = await githubPost(body, githubHeaders(secret(), body));
    // Assess
    expect(response.statusCode).toBe(202);
    expect(JSON.parse(response.body)).toMatchObject({ accepted: true, event: 'issue-opened' });
    expect(handedOn() - before).toBe(1);
  });

  it('answers a signed ping without handing anything on', async () => {
    // Prepare
    const body = JSON.stringify({ zen: 'Keep it logically awesome.', hook_id: 1 });
    const before = handedOn();
    // Act
    const response = await githubPost(body, githubHeaders(secret(), body, 'ping'));
    // Assess
    expect(response.statusCode).toBe(200);
    expect(handedOn()).toBe(before);
  });

  it.each([
    [
      'one changed body byte',
      (body: string, headers: Record<string, string>) => ({ body: tamper(body), headers }),
    ],
    [
      'the sha1 scheme (X-Hub-Signature style, correctly computed)',
      (body: string, headers: Record<string, string>) => ({
        body,
        headers: {
          ...headers,
          'x-hub-signature-256': `sha1=${createHmac('sha1', secret()).update(body).digest('hex')}`,
        },
      }),
    ],
    [
      'a bare digest without the sha256= prefix',
      (body: string, headers: Record<string, string>) => ({
        body,
        headers: { ...headers, 'x-hub-signature-256': headers['x-hub-signature-256']?.slice(7) ?? '' },
      }),
    ],
    [
      'no signature header',
      (body: string, { 'x-hub-signature-256': _gone, ...headers }: Record<string, string>) => ({
        body,
        headers,
      }),
    ],
    [
      'a signature made with another secret',
      (body: string, headers: Record<string, string>) => ({
        body,
        headers: {
          ...headers,
          ...githubHeaders('another-secret', body),
          'x-github-delivery': headers['x-github-delivery'] ?? '',
        },
      }),
    ],
  ])('refuses %s and hands nothing on', async (_what, mutate) => {
    // Prepare
    const original = githubIssue();
    const { body, headers } = mutate(original, githubHeaders(secret(), original));
    const before = handedOn();
    // Act
    const response = await githubPost(body, headers);
    // Assess
    expectUnauthorized(response);
    expect(handedOn()).toBe(before);
  });

  it('ignores a replayed delivery id: 200 duplicate, not handed on again, even with another signed body', async () => {
    // Prepare
    const body = githubIssue('Replayed');
    const headers = githubHeaders(secret(), body);
    await githubPost(body, headers);
    const before = handedOn();
    const otherBody = githubIssue('Other payload, same delivery id');
    // Act
    const replay = await githubPost(body, headers);
    const swapped = await githubPost(otherBody, {
      ...githubHeaders(secret(), otherBody),
      'x-github-delivery': headers['x-github-delivery'],
    });
    // Assess
    for (const response of [replay, swapped]) {
      expect(response.statusCode).toBe(200);
      expect(JSON.parse(response.body)).toMatchObject({ duplicate: true });
    }
    expect(handedOn()).toBe(before);
  });

  it('fails closed with a 5xx when the webhook secret cannot be loaded, and hands nothing on', async () => {
    // Prepare
    const connector = await containerWithSecret('github', {
      GITHUB_WEBHOOK_SECRET_SECRET: 'circle-core/github/missing-webhook-secret',
    });
    const body = githubIssue();
    const before = handedOn();
    // Act
    const response = await githubPost(body, githubHeaders(secret(), body), connector);
    // Assess
    expect(response.statusCode).toBeGreaterThanOrEqual(500);
    expect(response.headers['content-type']).toBe('application/problem+json');
    expect(handedOn()).toBe(before);
  });
});
