import { ConfigurationError } from '../errors.ts';
import { type CredentialSource, type RequestAuth, readCredential, refreshCredential } from './types.ts';

export interface ApiKeyAuthOptions {
  key: CredentialSource;
  /** Send the key in this header (e.g. `x-api-key`). Exactly one of `header` and `query`. */
  header?: string;
  /** Send the key in this query parameter (e.g. `api_key`). Exactly one of `header` and `query`. */
  query?: string;
  /** Put before the key, e.g. `Token ` or `Api-Key `. Default none. */
  prefix?: string;
}

// RFC 9110 token characters: anything else is not a valid field name.
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * An API key sent in a header or a query parameter. After a provider 401/403, `refresh()` fetches a secret
 * source again (the key may have rotated) and reports whether one retry is worthwhile.
 *
 * @example
 * ```ts
 * const auth = apiKeyAuth({ key: defineSecret(config.API_KEY_SECRET), header: 'x-api-key' });
 * const byQuery = apiKeyAuth({ key: 'test-key', query: 'api_key' });
 * ```
 */
export function apiKeyAuth(options: ApiKeyAuthOptions): RequestAuth {
  const { key, header, query, prefix = '' } = options;
  if ((header === undefined) === (query === undefined)) {
    throw new ConfigurationError('apiKeyAuth needs exactly one of header or query');
  }
  if (header !== undefined && !HEADER_NAME.test(header)) {
    throw new ConfigurationError(`apiKeyAuth header "${header}" is not a valid header name`);
  }
  if (query === '') throw new ConfigurationError('apiKeyAuth query parameter name is empty');
  // Header names are case-insensitive; one spelling keeps a client's own defaults from being duplicated.
  const headerName = header?.toLowerCase();
  return {
    async apply(request) {
      const value = prefix + (await readCredential(key, 'the API key'));
      if (headerName !== undefined) request.headers[headerName] = value;
      else request.url.searchParams.set(query as string, value);
    },
    refresh: () => refreshCredential(key),
  };
}
