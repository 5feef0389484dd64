/**
 * Verification of inbound webhook signatures: an HMAC over provider-specific signed content, compared in
 * constant time, plus a freshness check on the provider's timestamp against replays.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { AuthError, ConfigurationError } from './errors.ts';

export type HmacAlgorithm = 'sha256' | 'sha1' | 'sha512';
export type SignatureEncoding = 'hex' | 'base64';

export interface HmacVerification {
  /**
   * The signing secret; several while one is being rotated (the new and the old: a signature made with
   * any of them passes). See {@link webhookSecrets}.
   */
  secret: string | readonly string[];
  /** The exact bytes that were signed (raw body, or a provider-specific base string). */
  signedContent: string | Uint8Array;
  /** The signature header value as received (may be undefined: missing header). */
  signature: string | undefined;
  /** Default sha256. */
  algorithm?: HmacAlgorithm;
  /** e.g. 'v0=' or 'sha256='; a wrong prefix fails. */
  prefix?: string;
  /** Default hex. */
  encoding?: SignatureEncoding;
}

/**
 * Computes an HMAC signature over `content`, encoded as hex (default) or base64.
 *
 * @example
 * ```ts
 * const signature = `sha256=${hmacSignature(secret, rawBody)}`; // GitHub's X-Hub-Signature-256
 * ```
 */
export function hmacSignature(
  secret: string,
  content: string | Uint8Array,
  options: { algorithm?: HmacAlgorithm; encoding?: SignatureEncoding } = {},
): string {
  return createHmac(options.algorithm ?? 'sha256', secret)
    .update(content)
    .digest(options.encoding ?? 'hex');
}

/**
 * Checks an inbound webhook's HMAC signature in constant time. Throws an {@link AuthError} ('Webhook
 * signature is missing' or 'Webhook signature does not match'); neither message echoes what was received.
 *
 * @example
 * ```ts
 * // Slack
 * verifyHmacSignature({
 *   secret: signingSecret,
 *   signedContent: `v0:${headers['x-slack-request-timestamp']}:${rawBody}`,
 *   signature: headers['x-slack-signature'],
 *   prefix: 'v0=',
 * });
 * // GitHub
 * verifyHmacSignature({ secret, signedContent: rawBody, signature: headers['x-hub-signature-256'], prefix: 'sha256=' });
 * ```
 */
export function verifyHmacSignature(v: HmacVerification): void {
  const secrets = typeof v.secret === 'string' ? [v.secret] : v.secret;
  // An empty key would make any sender able to forge a valid signature.
  if (secrets.length === 0 || secrets.includes('')) {
    throw new ConfigurationError('The webhook signing secret is empty');
  }
  const { signature, prefix = '', encoding = 'hex' } = v;
  if (signature === undefined || signature.trim() === '') throw new AuthError('Webhook signature is missing');
  if (!signature.startsWith(prefix)) throw new AuthError('Webhook signature does not match');
  const received = signature.slice(prefix.length).trim();
  // Hex digits are case-insensitive; base64 is not.
  const a = Buffer.from(encoding === 'hex' ? received.toLowerCase() : received, 'utf8');
  let matched = false;
  // Every secret is tried, so the time taken does not say which one matched.
  for (const secret of secrets) {
    const expected = hmacSignature(secret, v.signedContent, { algorithm: v.algorithm ?? 'sha256', encoding });
    const b = Buffer.from(expected, 'utf8');
    // timingSafeEqual throws on unequal lengths; the length of a digest is public, so checking it first leaks nothing.
    if (a.length === b.length && timingSafeEqual(a, b)) matched = true;
  }
  if (!matched) throw new AuthError('Webhook signature does not match');
}

/**
 * The signing secrets a stored webhook secret holds: one per line (trimmed, blank lines skipped), so that
 * while a provider's secret is rotated the secret can hold the new one and the old one, and deliveries
 * signed with either pass {@link verifyHmacSignature} until the old one is removed.
 *
 * @example
 * ```ts
 * verifyHmacSignature({ secret: webhookSecrets(await secret.text()), signedContent: rawBody, signature, encoding: 'base64' });
 * webhookSecrets('new-secret\nold-secret'); // ['new-secret', 'old-secret']
 * ```
 */
export function webhookSecrets(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
}

/**
 * Checks a shared token a provider sends as is (GitLab's `X-Gitlab-Token`) against the configured one in
 * constant time: both are hashed first, so neither their contents nor the expected length leak through
 * timing. Throws an {@link AuthError} ('Webhook token is missing' or 'Webhook token does not match')
 * that never echoes what was received; an empty configured token is a {@link ConfigurationError}.
 *
 * @example
 * ```ts
 * verifySharedToken({ secret: await webhookSecret.text(), token: headers['x-gitlab-token'] });
 * ```
 */
export function verifySharedToken(v: {
  /** The configured token; several while it is rotated (the new and the old: either passes). */
  secret: string | readonly string[];
  token: string | undefined;
}): void {
  const secrets = typeof v.secret === 'string' ? [v.secret] : v.secret;
  if (secrets.length === 0 || secrets.includes('')) {
    throw new ConfigurationError('The webhook secret token is empty');
  }
  if (v.token === undefined || v.token === '') throw new AuthError('Webhook token is missing');
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  const received = digest(v.token);
  let matched = false;
  // Every configured token is compared, so the time taken does not say which one matched.
  for (const secret of secrets) if (timingSafeEqual(received, digest(secret))) matched = true;
  if (!matched) throw new AuthError('Webhook token does not match');
}

/**
 * Checks that at least one of several received signatures (a provider sends one per secret while a
 * secret is being rotated: Stripe's `v1=`, PagerDuty's `v1=`) is the HMAC of `signedContent`, in constant
 * time; every candidate is compared, so the time taken does not say which one matched. Throws an
 * {@link AuthError} ('Webhook signature is missing' without candidates, else 'Webhook signature does not
 * match'), never echoing what was received.
 *
 * @example
 * ```ts
 * verifyAnyHmacSignature({ secret, signedContent: `${t}.${rawBody}`, signatures: ['5257a8...', 'e3b0c4...'] });
 * ```
 */
export function verifyAnyHmacSignature(v: {
  secret: string;
  signedContent: string | Uint8Array;
  signatures: readonly string[];
  algorithm?: HmacAlgorithm;
}): void {
  if (v.secret === '') throw new ConfigurationError('The webhook signing secret is empty');
  if (v.signatures.length === 0) throw new AuthError('Webhook signature is missing');
  const expected = Buffer.from(
    hmacSignature(v.secret, v.signedContent, { algorithm: v.algorithm ?? 'sha256' }),
  );
  let matched = false;
  for (const signature of v.signatures) {
    const candidate = Buffer.from(signature.trim().toLowerCase());
    if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) matched = true;
  }
  if (!matched) throw new AuthError('Webhook signature does not match');
}

/**
 * Rejects a webhook whose timestamp (Unix seconds, as Slack and Stripe send it) is missing, not a number,
 * older than the tolerance (a replay) or further ahead than the tolerance (a forged or skewed clock).
 * A timestamp exactly at the tolerance passes.
 *
 * @example
 * ```ts
 * assertFreshTimestamp(headers['x-slack-request-timestamp']); // 5 minutes either way
 * assertFreshTimestamp(stripeT, { toleranceSeconds: 300, now: Date.now() });
 * ```
 */
export function assertFreshTimestamp(
  timestamp: string | number | undefined,
  options: { toleranceSeconds?: number; now?: number } = {},
): void {
  const { toleranceSeconds = 300, now = Date.now() } = options;
  if (timestamp === undefined || timestamp === '') throw new AuthError('Webhook timestamp is missing');
  if (typeof timestamp === 'string' && !/^\d{1,15}$/.test(timestamp.trim())) {
    throw new AuthError('Webhook timestamp is not a number');
  }
  const seconds = Number(timestamp);
  if (!Number.isFinite(seconds)) throw new AuthError('Webhook timestamp is not a number');
  const ageMs = now - seconds * 1000;
  const toleranceMs = toleranceSeconds * 1000;
  if (ageMs > toleranceMs) throw new AuthError('Webhook timestamp is too old');
  if (-ageMs > toleranceMs) throw new AuthError('Webhook timestamp is in the future');
}
