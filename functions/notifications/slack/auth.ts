/**
 * How Slack authenticates inbound requests (Events API, slash commands): an HMAC-SHA256 signature made
 * with the app's signing secret. Outbound calls carry the bot token as a bearer token, declared in
 * `slackApi` (client.ts); a rejected token makes the core re-read the secret once and retry.
 */
import { assertFreshTimestamp, verifyHmacSignature } from '@circle-core/core';

/** Slack's replay window for signed requests: five minutes either way. */
export const SLACK_SIGNATURE_TOLERANCE_SECONDS = 300;

/** A signed inbound request as Slack sends it. */
export interface SlackSignedRequest {
  /** Lower-cased header names. */
  headers: Record<string, string | undefined>;
  /** The body bytes exactly as received. */
  rawBody: Uint8Array;
}

/**
 * Rejects a request whose `X-Slack-Request-Timestamp` is missing, malformed, or more than five minutes
 * from now in either direction (a replay, or a forged clock). Throws AuthError.
 *
 * @example
 * ```ts
 * assertSlackTimestamp(request.headers);
 * ```
 */
export function assertSlackTimestamp(
  headers: SlackSignedRequest['headers'],
  options: { now?: number; toleranceSeconds?: number } = {},
): void {
  assertFreshTimestamp(headers['x-slack-request-timestamp'], {
    toleranceSeconds: options.toleranceSeconds ?? SLACK_SIGNATURE_TOLERANCE_SECONDS,
    now: options.now ?? Date.now(),
  });
}

/**
 * Checks `X-Slack-Signature`: `v0=` + hex HMAC-SHA256 of `v0:<X-Slack-Request-Timestamp>:<raw body>` under
 * the signing secret, compared in constant time. Throws AuthError (missing or not matching); the message
 * never echoes what was received. Check the timestamp too ({@link verifySlackSignature} does both).
 *
 * @example
 * ```ts
 * verifySlackHmac(request, signingSecret);
 * ```
 */
export function verifySlackHmac(request: SlackSignedRequest, signingSecret: string): void {
  const timestamp = request.headers['x-slack-request-timestamp'] ?? '';
  verifyHmacSignature({
    secret: signingSecret,
    signedContent: Buffer.concat([Buffer.from(`v0:${timestamp}:`, 'utf8'), request.rawBody]),
    signature: request.headers['x-slack-signature'],
    prefix: 'v0=',
  });
}

/**
 * Verifies a signed Slack request completely: a fresh timestamp ({@link assertSlackTimestamp}), then the
 * signature ({@link verifySlackHmac}). Throws AuthError.
 *
 * @example
 * ```ts
 * verifySlackSignature({ headers: request.headers, rawBody: request.rawBody }, signingSecret);
 * ```
 */
export function verifySlackSignature(
  request: SlackSignedRequest,
  signingSecret: string,
  options: { now?: number; toleranceSeconds?: number } = {},
): void {
  assertSlackTimestamp(request.headers, options);
  verifySlackHmac(request, signingSecret);
}
