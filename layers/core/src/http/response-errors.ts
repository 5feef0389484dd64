/** The default mapping of provider answers and network failures onto the error taxonomy. */
import {
  AuthError,
  ConflictError,
  type ConnectorError,
  ForbiddenError,
  NotFoundError,
  RateLimitedError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '../errors.ts';
import { exhausted, parseRetryAfter, type RateLimitHeaders, rateLimitWaitMs } from './backoff.ts';

/** A failed response: the error to surface, and how long the provider asked us to wait, if it did. */
export interface ResponseFailure {
  error: ConnectorError;
  retryAfterMs: number | undefined;
}

const MAX_PROVIDER_MESSAGE = 200;

function clean(text: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is stripped
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  if (flat === '') return undefined;
  return flat.length > MAX_PROVIDER_MESSAGE ? `${flat.slice(0, MAX_PROVIDER_MESSAGE - 1)}…` : flat;
}

/**
 * The provider's own short explanation from an error body (`message`, `error_description`, `error`, or
 * `error.message`), flattened to one line and truncated to 200 characters.
 *
 * @example
 * ```ts
 * providerMessage({ error: 'channel_not_found' }); // 'channel_not_found'
 * ```
 */
export function providerMessage(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const record = body as Record<string, unknown>;
  for (const key of ['message', 'error_description', 'error']) {
    const value = record[key];
    if (typeof value === 'string') return clean(value);
    if (typeof value === 'object' && value !== null) {
      const nested = (value as Record<string, unknown>)['message'];
      if (typeof nested === 'string') return clean(nested);
    }
  }
  return undefined;
}

/**
 * Maps a final response to its failure, or `undefined` for success (2xx and 3xx). Messages carry the
 * provider name, the status and, for client errors, the provider's short message; never a request body,
 * a header value or a URL. Auth failures get no provider message: those are the answers most likely to
 * quote the credential that was refused. A 429 is a rate limit; so is a status the provider declares in
 * `rateLimit.throttleStatuses` when the answer announces a wait or no requests remain.
 *
 * @example
 * ```ts
 * const failure = failureForResponse({ status: 404, headers: {}, body: { message: 'No such repo' } }, 'GitHub');
 * // failure.error: NotFoundError 'GitHub found no such resource (HTTP 404): No such repo'
 * ```
 */
export function failureForResponse(
  response: { status: number; headers: Record<string, string>; body: unknown },
  provider: string,
  now: number = Date.now(),
  rateLimit: RateLimitHeaders = {},
): ResponseFailure | undefined {
  const { status, headers } = response;
  if (status < 400) return undefined;
  const options = { details: { status, provider } };
  const said = providerMessage(response.body);
  const suffix = said === undefined ? '' : `: ${said}`;
  const fail = (error: ConnectorError, retryAfterMs?: number): ResponseFailure => ({ error, retryAfterMs });
  const rateLimited = (): ResponseFailure => {
    const retryAfterMs = rateLimitWaitMs(headers, rateLimit, now);
    return fail(
      new RateLimitedError(`${provider} rate limit reached (HTTP ${status})`, { ...options, retryAfterMs }),
      retryAfterMs,
    );
  };
  const announced = headers[rateLimit.retryAfter ?? 'retry-after'] !== undefined;
  if (rateLimit.throttleStatuses?.includes(status) && (announced || exhausted(headers, rateLimit))) {
    return rateLimited();
  }
  switch (status) {
    case 400:
    case 422:
      return fail(
        new ValidationError(`${provider} rejected the request (HTTP ${status})${suffix}`, [], options),
      );
    case 401:
      return fail(new AuthError(`${provider} rejected the credentials (HTTP 401)`, options));
    case 403:
      return fail(new ForbiddenError(`${provider} refused access (HTTP 403)`, options));
    case 404:
    case 410:
      return fail(new NotFoundError(`${provider} found no such resource (HTTP ${status})${suffix}`, options));
    case 409:
      return fail(new ConflictError(`${provider} reported a conflict (HTTP 409)${suffix}`, options));
    case 429:
      return rateLimited();
    default:
      if (status >= 500 || status === 408 || status === 425) {
        const wait =
          status === 503 ? parseRetryAfter(headers[rateLimit.retryAfter ?? 'retry-after'], now) : undefined;
        return fail(new UnavailableError(`${provider} is unavailable (HTTP ${status})`, options), wait);
      }
      return fail(new UnexpectedResponseError(`${provider} answered HTTP ${status} unexpectedly`, options));
  }
}

/**
 * Maps a socket-level failure (refused, reset, hang-up, DNS) to a retryable UnavailableError. Only the
 * error code reaches the message; the original error is kept as `cause` for the log.
 *
 * @example
 * ```ts
 * req.on('error', (err) => reject(networkError(err, 'Slack'))); // 'Slack could not be reached (ECONNRESET)'
 * ```
 */
export function networkError(error: unknown, provider: string): UnavailableError {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'network error';
  return new UnavailableError(`${provider} could not be reached (${code})`, {
    cause: error,
    details: { provider },
  });
}
