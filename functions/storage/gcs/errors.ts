/**
 * Google Cloud Storage's failures as rows of the core's REST error table. The JSON API answers
 * `{ "error": { "code": <status>, "message", "errors": [{ "domain", "reason", "message" }] } }`; the status
 * decides (its `reason`s refine it without changing the class), so the rows are keyed by status.
 */
import {
  type ConnectorError,
  type ErrorRow,
  fieldAt,
  type HttpResponse,
  tableFailure,
  ValidationError,
} from '@circle-core/core';

export const GCS_ERRORS: Readonly<Record<string, ErrorRow>> = {
  '400': {
    kind: 'validation',
    meaning: 'Google Cloud Storage refused the request as invalid (invalid, badRequest)',
  },
  '401': { kind: 'auth', meaning: 'the access token is missing, expired or revoked (authError, required)' },
  '403': { kind: 'forbidden', meaning: 'the service account may not do this on the bucket (forbidden)' },
  '404': { kind: 'not-found', meaning: 'the bucket or object does not exist (notFound)' },
  '409': { kind: 'conflict', meaning: 'a conflicting change is in progress (conflict)' },
  '412': {
    kind: 'conflict',
    meaning: 'a precondition such as ifGenerationMatch=0 failed: the object exists (conditionNotMet)',
  },
  '429': { kind: 'rate-limited', meaning: 'too many requests; wait as Retry-After says (rateLimitExceeded)' },
  '500': { kind: 'unavailable', meaning: 'Google Cloud Storage failed; try again (backendError)' },
  '502': {
    kind: 'unavailable',
    meaning: 'Google Cloud Storage is unreachable behind its front end; try again',
  },
  '503': { kind: 'unavailable', meaning: 'Google Cloud Storage is unavailable; try again (backendError)' },
  '504': { kind: 'unavailable', meaning: 'Google Cloud Storage timed out; try again' },
};

/**
 * The JSON API method a call's URL stands for, as messages name it. The core's default, the last path
 * segment, would say `o` (objects.list, objects.insert) or an object's name. A metadata read and a delete
 * share their URL; `alt=media` is the download.
 *
 * @example
 * ```ts
 * gcsCall('https://storage.googleapis.com/storage/v1/b/data/o?pageToken=x'); // 'objects.list'
 * ```
 */
export function gcsCall(url: string): string {
  let path = '';
  let media = false;
  try {
    const parsed = new URL(url, 'http://x');
    path = parsed.pathname;
    media = parsed.searchParams.get('alt') === 'media';
  } catch {
    return 'call';
  }
  if (/^\/upload\/storage\/v1\/b\/[^/]+\/o\/?$/.test(path)) return 'objects.insert';
  if (/^\/storage\/v1\/b\/[^/]+\/o\/[^/]+\/rewriteTo\//.test(path)) return 'objects.rewrite';
  if (/^\/storage\/v1\/b\/[^/]+\/o\/?$/.test(path)) return 'objects.list';
  if (/^\/storage\/v1\/b\/[^/]+\/o\/[^/]+$/.test(path))
    return media ? 'objects.get' : 'objects.get-or-delete';
  if (/^\/storage\/v1\/b\/[^/]+\/?$/.test(path)) return 'buckets.get';
  return 'call';
}

const PROVIDER = 'Google Cloud Storage';

/**
 * Failed answers through {@link GCS_ERRORS}, naming the JSON API method ({@link gcsCall}). An `objects.list`
 * refused for its `pageToken` (`Invalid page token`) points at the input's `continuationToken`.
 */
export function gcsFailure(response: HttpResponse): ConnectorError | undefined {
  const call = gcsCall(response.url);
  const error = tableFailure(
    { ...response, url: `https://storage.googleapis.com/${call}` },
    { codeIn: 'status', rows: GCS_ERRORS },
    { provider: PROVIDER },
  );
  const said = fieldAt(response.body, 'error.message');
  if (
    error instanceof ValidationError &&
    call === 'objects.list' &&
    typeof said === 'string' &&
    /\bpage ?token\b/i.test(said)
  ) {
    return new ValidationError(
      `${error.message}: the page token is not valid`,
      [
        {
          pointer: '/continuationToken',
          message:
            'Google Cloud Storage does not accept this token: pass back the nextContinuationToken of the previous page, with the same prefix and delimiter',
        },
      ],
      error.details === undefined ? {} : { details: error.details },
    );
  }
  return error;
}
