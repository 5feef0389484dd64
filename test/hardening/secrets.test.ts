/**
 * Secrets, end to end through the Slack connector and the Secrets Manager contract fake: 100 invocations
 * within the cache age make one GetSecretValue call (also when they arrive together on a cold container);
 * after the age passes exactly one more; after a rotation, the provider's 401 triggers one forced refresh
 * and one retry; a second 401 surfaces as an auth error without looping. The PostgreSQL rotation path
 * (password gate) is proved in functions/database/postgres/index.test.ts; GitHub's single refresh on
 * 401/403 in outbound.test.ts.
 */

import { INVALID_SECRET_RETRY_MS } from '@circle-core/core';
import { type CapturedLogs, captureLogs, httpEvent, lambdaContext } from '@circle-core/core/testing';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { type SlackFake, startSlackFake } from '../../scripts/local/sandboxes/slack.ts';
import { type SecretsManagerFake, startSecretsManagerFake } from '../fakes/secrets-manager.ts';
import type { HttpResult, LoadedConnector } from './support/suite.ts';

const TOKEN_SECRET = 'circle-core/slack/bot-token';
const SIGNING_SECRET = 'circle-core/slack/signing-secret';
const TOKEN = 'xoxb-secrets-original-0000';
const ROTATED = 'xoxb-secrets-rotated-1111';

let slack: SlackFake;
let secrets: SecretsManagerFake;
let logs: CapturedLogs;
const saved = new Map<string, string | undefined>();

/** A fresh container (cold start) of the Slack connector. */
async function coldStart(env: Record<string, string> = {}): Promise<LoadedConnector> {
  delete process.env['SLACK_SECRET_MAX_AGE_SECONDS'];
  Object.assign(process.env, env);
  vi.resetModules();
  const { connector } = await import('../../functions/notifications/slack/index.ts');
  return connector as unknown as LoadedConnector;
}

async function listChannels(connector: LoadedConnector): Promise<HttpResult> {
  const event = httpEvent({ path: '/slack/list-channels', body: {} });
  return (await connector.handler(event, lambdaContext())) as HttpResult;
}

const tokenCalls = (): number => secrets.calls.filter((name) => name === TOKEN_SECRET).length;

beforeAll(async () => {
  const env = {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    SLACK_BOT_TOKEN_SECRET: TOKEN_SECRET,
    SLACK_SIGNING_SECRET_SECRET: SIGNING_SECRET,
    SLACK_MAX_ATTEMPTS: '3',
  };
  slack = await startSlackFake({ tokens: [TOKEN] });
  secrets = await startSecretsManagerFake({ [TOKEN_SECRET]: TOKEN, [SIGNING_SECRET]: 'signing-secret' });
  for (const name of [
    ...Object.keys(env),
    'SLACK_API_URL',
    'AWS_ENDPOINT_URL_SECRETS_MANAGER',
    'SLACK_SECRET_MAX_AGE_SECONDS',
  ]) {
    saved.set(name, process.env[name]);
  }
  Object.assign(process.env, env, {
    SLACK_API_URL: slack.url,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: secrets.endpoint,
  });
});

afterAll(async () => {
  for (const [name, value] of saved) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await Promise.all([slack.close(), secrets.close()]);
});

beforeEach(() => {
  logs = captureLogs();
  secrets.calls.length = 0;
  secrets.set(TOKEN_SECRET, TOKEN);
  slack.reset();
  slack.tokens.clear();
  slack.tokens.add(TOKEN);
});

afterEach(() => {
  logs.restore();
  vi.useRealTimers();
});

describe('Secrets: cache age', () => {
  it('serves 100 invocations within the age from one call, and makes exactly one more after it', async () => {
    // Prepare
    const connector = await coldStart({ SLACK_SECRET_MAX_AGE_SECONDS: '300' });
    vi.useFakeTimers({ toFake: ['Date'] });
    // Act
    const first: HttpResult[] = [];
    for (let index = 0; index < 100; index += 1) first.push(await listChannels(connector));
    const withinAge = tokenCalls();
    vi.setSystemTime(Date.now() + 301_000);
    const second: HttpResult[] = [];
    for (let index = 0; index < 100; index += 1) second.push(await listChannels(connector));
    // Assess
    expect([...first, ...second].every((response) => response.statusCode === 200)).toBe(true);
    expect(withinAge).toBe(1);
    expect(tokenCalls()).toBe(2);
    expect(slack.requestsFor('conversations.list')).toHaveLength(200);
  });

  it('makes one call for 100 invocations arriving together on a cold container', async () => {
    // Prepare
    const connector = await coldStart();
    // Act
    const responses = await Promise.all(Array.from({ length: 100 }, () => listChannels(connector)));
    // Assess
    expect(responses.every((response) => response.statusCode === 200)).toBe(true);
    expect(tokenCalls()).toBe(1);
  });
});

describe('Secrets: rotation', () => {
  it('refreshes the token once after the provider refuses it, and retries once with the rotated value', async () => {
    // Prepare
    const connector = await coldStart();
    expect((await listChannels(connector)).statusCode).toBe(200);
    const callsBefore = tokenCalls();
    secrets.set(TOKEN_SECRET, ROTATED);
    slack.reset();
    slack.tokens.clear();
    slack.tokens.add(ROTATED);
    // Act
    const response = await listChannels(connector);
    const next = await listChannels(connector);
    // Assess
    expect(response.statusCode).toBe(200);
    expect(next.statusCode).toBe(200);
    expect(tokenCalls() - callsBefore).toBe(1);
    expect(slack.requestsFor('conversations.list').map((request) => request.token)).toEqual([
      TOKEN,
      ROTATED,
      ROTATED,
    ]);
  });

  it('surfaces a second refusal as an auth error after one refresh and one retry, without looping', async () => {
    // Prepare
    const connector = await coldStart();
    await listChannels(connector);
    const callsBefore = tokenCalls();
    slack.reset();
    slack.tokens.clear();
    slack.tokens.add('xoxb-nobody-has-this');
    // Act
    const response = await listChannels(connector);
    // Assess
    expect(response.statusCode).toBe(401);
    expect(JSON.parse(response.body)).toMatchObject({ code: 'unauthorized' });
    expect(slack.requestsFor('conversations.list')).toHaveLength(2);
    expect(tokenCalls() - callsBefore).toBe(1);
  });

  it('re-sends a refused post-message once with the rotated token, and posts it once', async () => {
    // Prepare
    const connector = await coldStart();
    await listChannels(connector);
    secrets.set(TOKEN_SECRET, ROTATED);
    slack.reset();
    slack.tokens.clear();
    slack.tokens.add(ROTATED);
    // Act
    const event = httpEvent({
      path: '/slack/post-message',
      body: { channel: 'C0GENERAL', text: 'after rotation' },
    });
    const response = (await connector.handler(event, lambdaContext())) as HttpResult;
    // Assess
    expect(response.statusCode).toBe(200);
    expect(slack.requestsFor('chat.postMessage')).toHaveLength(2);
    expect(slack.messages.filter((message) => message.text === 'after rotation')).toHaveLength(1);
  });
});

describe('Secrets: values that fail validation', () => {
  it('fetches a malformed token again within seconds instead of serving it for the max age', async () => {
    // Prepare
    secrets.set(TOKEN_SECRET, 'xoxb-broken\nhalf-pasted');
    const connector = await coldStart({ SLACK_SECRET_MAX_AGE_SECONDS: '300' });
    vi.useFakeTimers({ toFake: ['Date'] });
    // Act
    const broken = [await listChannels(connector), await listChannels(connector)];
    const callsWhileBroken = tokenCalls();
    secrets.set(TOKEN_SECRET, TOKEN);
    vi.setSystemTime(Date.now() + INVALID_SECRET_RETRY_MS + 1);
    const fixed = await listChannels(connector);
    const again = await listChannels(connector);
    // Assess
    for (const response of broken) {
      expect(response.statusCode).toBe(500);
      expect(response.body).not.toContain('half-pasted');
    }
    expect(logs.text()).toContain(`contains control characters (secret ${TOKEN_SECRET})`);
    expect(logs.text()).not.toContain('half-pasted');
    // The broken value is not fetched on every call: within the retry window the cache still answers.
    expect(callsWhileBroken).toBe(1);
    expect(fixed.statusCode).toBe(200);
    expect(again.statusCode).toBe(200);
    // One more fetch for the fix, then the good value is cached for the full max age.
    expect(tokenCalls()).toBe(2);
  });
});
