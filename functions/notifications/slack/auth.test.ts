import { createHmac } from 'node:crypto';
import { AuthError } from '@circle-core/core';
import { describe, expect, it } from 'vitest';
import { verifySlackSignature } from './auth.ts';
import { slackApi } from './client.ts';

const SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const NOW = 1_531_420_618_000;
const BODY = Buffer.from(
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fweather&text=94070',
  'utf8',
);

/** Signs like Slack does, independently of the code under test. */
function headersFor(body: Buffer, timestamp = Math.floor(NOW / 1000), prefix = 'v0=') {
  const digest = createHmac('sha256', SECRET).update(`v0:${timestamp}:`).update(body).digest('hex');
  return { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': `${prefix}${digest}` };
}

describe('Function: slackApi.auth', () => {
  it('sends the token as a bearer token and cannot refresh a literal', async () => {
    // Prepare
    const auth = slackApi.auth('xoxb-literal');
    const target = { url: new URL('https://slack.com/api/auth.test'), headers: {} as Record<string, string> };
    // Act
    await auth.apply(target);
    const refreshed = await auth.refresh?.();
    // Assess
    expect(target.headers['authorization']).toBe('Bearer xoxb-literal');
    expect(target.url.search).toBe('');
    expect(refreshed).toBe(false);
  });
});

describe('Function: verifySlackSignature', () => {
  it('accepts a signature over the exact raw bytes', () => {
    // Act
    const verify = () =>
      verifySlackSignature({ headers: headersFor(BODY), rawBody: BODY }, SECRET, { now: NOW });
    // Assess
    expect(verify).not.toThrow();
  });

  it.each([
    ['one changed byte', () => ({ headers: headersFor(BODY), rawBody: Buffer.from(BODY).fill(0x41, 5, 6) })],
    ['a stale timestamp', () => ({ headers: headersFor(BODY, NOW / 1000 - 301), rawBody: BODY })],
    ['a future timestamp', () => ({ headers: headersFor(BODY, NOW / 1000 + 301), rawBody: BODY })],
    ['the v1= prefix', () => ({ headers: headersFor(BODY, NOW / 1000, 'v1='), rawBody: BODY })],
    [
      'no signature header',
      () => ({ headers: { 'x-slack-request-timestamp': String(NOW / 1000) }, rawBody: BODY }),
    ],
  ])('throws AuthError for %s', (_label, build) => {
    // Act
    const verify = () => verifySlackSignature(build(), SECRET, { now: NOW });
    // Assess
    expect(verify).toThrow(AuthError);
  });

  it('accepts a timestamp at the edge of a custom tolerance', () => {
    // Act
    const verify = () =>
      verifySlackSignature({ headers: headersFor(BODY, NOW / 1000 - 60), rawBody: BODY }, SECRET, {
        now: NOW,
        toleranceSeconds: 60,
      });
    // Assess
    expect(verify).not.toThrow();
  });
});
