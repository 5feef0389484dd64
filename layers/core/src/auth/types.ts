/**
 * The contract every outbound auth kind implements, and the helpers they share to read a credential that
 * is either a {@link Secret} handle (refreshable after rotation) or a literal.
 */
import { ConfigurationError } from '../errors.ts';
import type { Secret } from '../secrets.ts';

/** The parts of an outbound request an auth kind may change. */
export interface AuthTarget {
  url: URL;
  headers: Record<string, string>;
}

/** Adds credentials to an outbound request. */
export interface RequestAuth {
  apply(request: AuthTarget): Promise<void>;
  /**
   * Called once after a provider 401/403: force-refresh the credentials (secret rotation, new token).
   * Returns true when one retry is worthwhile. `refused` is the request as it was sent (the credentials
   * the provider refused), so an auth kind can tell a credential another invocation already replaced.
   */
  refresh?(refused?: AuthTarget): Promise<boolean>;
}

/** Where a credential comes from: a Secret handle (refreshable), or a literal (tests, library use). */
export type CredentialSource = Secret | string;

/**
 * Reads a credential: the literal itself, or the secret's current text. Surrounding whitespace is
 * dropped because a trailing newline is the usual leftover of `aws secretsmanager create-secret
 * --secret-string file://token.txt`, and no header value may carry one.
 *
 * @example
 * ```ts
 * const key = await readCredential(defineSecret('app/api-key'), 'API key');
 * ```
 */
export async function readCredential(source: CredentialSource, what: string): Promise<string> {
  const value = (typeof source === 'string' ? source : await source.text()).trim();
  let problem: string | undefined;
  if (value === '') problem = 'is empty';
  // Control characters would be rejected by the HTTP stack with a less helpful message, or split a header.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: detecting them is the point.
  else if (/[\u0000-\u001f\u007f]/.test(value)) problem = 'contains control characters';
  if (problem === undefined) return value;
  // Not served from the cache again: a value fixed in the store is picked up within seconds.
  if (typeof source !== 'string') source.reject();
  throw new ConfigurationError(`${what} ${problem} (${describeSource(source)})`);
}

/**
 * Forces a secret source to be fetched again; a literal cannot change, so there is nothing to retry with.
 *
 * @example
 * ```ts
 * const worthRetrying = await refreshCredential(source);
 * ```
 */
export async function refreshCredential(source: CredentialSource): Promise<boolean> {
  if (typeof source === 'string') return false;
  await source.refresh();
  return true;
}

/**
 * Names where a credential comes from, for error messages: the secret's name, never a value.
 *
 * @example
 * ```ts
 * describeSource(defineSecret('app/token')); // 'secret app/token'
 * ```
 */
export function describeSource(source: CredentialSource): string {
  return typeof source === 'string' ? 'a literal value' : `secret ${source.name}`;
}
