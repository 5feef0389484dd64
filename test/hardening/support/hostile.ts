/**
 * Hostile request bodies and the checks every answer to one must pass: a 4xx RFC 9457 problem, never a
 * 5xx, never a stack trace or an internal path, and no prototype polluted afterwards.
 */
import { createHmac, randomUUID } from 'node:crypto';
import { expect } from 'vitest';
import type { HttpResult } from './suite.ts';

/** `levels` nested arrays: `[[[...]]]`. */
export function deepArray(levels: number): string {
  return `${'['.repeat(levels)}${']'.repeat(levels)}`;
}

/** `levels` nested objects: `{"a":{"a":...1}}`. */
export function deepObject(levels: number): string {
  return `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`;
}

/** Bodies that are not JSON at all, or not quite. */
export const MALFORMED_JSON: readonly string[] = [
  '{"a":',
  "{'single':'quotes'}",
  '{"a":1,}',
  '[1,2,',
  'NaN',
  '{"a":01}',
  '\u0000',
  '{"a":"\ud800"', // lone surrogate, unterminated
  '<?xml version="1.0"?><a/>',
  '}{',
];

/** Payloads that try to reach Object.prototype through JSON keys. */
export const POLLUTING_JSON: readonly string[] = [
  '{"__proto__":{"polluted":"yes"}}',
  '{"constructor":{"prototype":{"polluted":"yes"}}}',
  '{"a":[{"b":{"__proto__":{"polluted":"yes"}}}]}',
  '{"\\u005f\\u005fproto__":{"polluted":"yes"}}',
  '{"constructor":{"\\u0070rototype":{"polluted":"yes"}}}',
  '{"input":{"__proto__":{"isAdmin":true}},"operation":"x"}',
];

/** Content types an operation route must refuse (415) or a webhook route must not choke on. */
export const WRONG_CONTENT_TYPES: readonly string[] = [
  'text/plain',
  'application/xml',
  'multipart/form-data; boundary=----x',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
  'image/png',
  'text/html; charset=utf-8',
  'application/jsonp',
];

/** Keys a hostile body may have added to Object.prototype; checked after every request. */
export function assertNoPollution(): void {
  const probe: Record<string, unknown> = {};
  expect(probe['polluted'], 'Object.prototype.polluted').toBeUndefined();
  expect(probe['isAdmin'], 'Object.prototype.isAdmin').toBeUndefined();
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTOTYPE_KEYS);
}

const PROTOTYPE_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();

/** Text that would betray internals: a stack frame, a file path, an engine error class. */
const INTERNALS = [
  /\n\s+at\s/,
  /\bat\s+\S+\s+\(.*:\d+:\d+\)/,
  /node_modules/,
  /\/work\//,
  /\.ts:\d+/,
  /RangeError|TypeError|ReferenceError/,
];

/**
 * Asserts an answer is a client error as RFC 9457 problem+json without internals.
 *
 * @example
 * ```ts
 * assertClientProblem(await suite.http('s3', { path: '/s3/put-object', body: '{"a":' }), 'malformed');
 * ```
 */
export function assertClientProblem(response: HttpResult, where: string, status?: number): void {
  expect(response.statusCode, `${where}: ${response.body.slice(0, 300)}`).toBeGreaterThanOrEqual(400);
  expect(response.statusCode, `${where}: ${response.body.slice(0, 300)}`).toBeLessThan(500);
  if (status !== undefined) expect(response.statusCode, where).toBe(status);
  expect(response.headers['content-type'], where).toBe('application/problem+json');
  const problem = JSON.parse(response.body) as Record<string, unknown>;
  expect(problem, where).toMatchObject({ status: response.statusCode, type: expect.any(String) });
  assertNoInternals(response, where);
}

/** No stack trace, path or engine error name in an answer's body or headers. */
export function assertNoInternals(response: HttpResult, where: string): void {
  const text = `${response.body}\n${JSON.stringify(response.headers)}`;
  for (const pattern of INTERNALS) expect(text, `${where} leaks ${String(pattern)}`).not.toMatch(pattern);
}

/** Slack's v0 signature headers for `body`, computed independently of the connector. */
export function slackHeaders(
  secret: string,
  body: string | Buffer,
  timestamp = Math.floor(Date.now() / 1000),
) {
  const digest = createHmac('sha256', secret)
    .update(Buffer.concat([Buffer.from(`v0:${timestamp}:`), Buffer.from(body)]))
    .digest('hex');
  return { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': `v0=${digest}` };
}

/** GitHub's X-Hub-Signature-256 headers for `body`, computed independently of the connector. */
export function githubHeaders(
  secret: string,
  body: string | Buffer,
  event = 'issues',
  delivery = randomUUID(),
) {
  const digest = createHmac('sha256', secret).update(Buffer.from(body)).digest('hex');
  return {
    'x-hub-signature-256': `sha256=${digest}`,
    'x-github-event': event,
    'x-github-delivery': delivery,
  };
}
