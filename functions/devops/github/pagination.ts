/**
 * GitHub's page-based pagination: the `Link` response header (RFC 8288) names the next and last pages;
 * the connector hands the next page's query back to callers as an opaque cursor.
 */
import { ValidationError } from '@circle-core/core';

/** Query parameters GitHub's issue listing accepts; a cursor may carry only these. */
const CURSOR_KEYS = new Set(['state', 'labels', 'since', 'sort', 'direction', 'per_page', 'page']);
const MAX_VALUE_LENGTH = 1024;

/** The pages a `Link` header points to. */
export interface PageLinks {
  next?: URL;
  last?: URL;
}

/**
 * Reads the `next` and `last` links of a `Link` header; anything unparsable is ignored.
 *
 * @example
 * ```ts
 * parseLinkHeader('<https://api.github.com/repos/o/r/issues?page=2>; rel="next"').next?.searchParams.get('page'); // '2'
 * ```
 */
export function parseLinkHeader(header: string | undefined): PageLinks {
  const links: PageLinks = {};
  for (const match of (header ?? '').matchAll(/<([^>]*)>\s*((?:;\s*[^;,]*)*)/g)) {
    const rel = /;\s*rel\s*=\s*"?([^";]+)"?/i.exec(match[2] ?? '')?.[1];
    let url: URL;
    try {
      url = new URL(match[1] ?? '');
    } catch {
      continue;
    }
    for (const name of (rel ?? '').trim().split(/\s+/)) {
      if (name === 'next' || name === 'last') links[name] = url;
    }
  }
  return links;
}

/**
 * The page number a link points to, when it has a valid one.
 *
 * @example
 * ```ts
 * pageOf(new URL('https://api.github.com/x?page=3')); // 3
 * ```
 */
export function pageOf(url: URL | undefined): number | undefined {
  const page = Number(url?.searchParams.get('page'));
  return Number.isInteger(page) && page > 0 ? page : undefined;
}

/**
 * Encodes the query of the next page as an opaque cursor (base64url JSON).
 *
 * @example
 * ```ts
 * const cursor = encodeCursor(links.next); // 'eyJzdGF0ZSI6Im9wZW4i...'
 * ```
 */
export function encodeCursor(url: URL): string {
  const query: Record<string, string> = {};
  for (const [key, value] of url.searchParams) if (CURSOR_KEYS.has(key)) query[key] = value;
  return Buffer.from(JSON.stringify(query)).toString('base64url');
}

/**
 * Decodes a cursor made by {@link encodeCursor}; anything else is a ValidationError.
 *
 * @example
 * ```ts
 * const query = decodeCursor(input.cursor); // { state: 'open', page: '2', per_page: '30' }
 * ```
 */
export function decodeCursor(cursor: string): Record<string, string> {
  const invalid = (): ValidationError =>
    new ValidationError('cursor is not one this connector issued', [
      { pointer: '/cursor', message: 'expected the nextCursor of a previous page' },
    ]);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid();
  const query: Record<string, string> = {};
  for (const [key, item] of Object.entries(value)) {
    if (!CURSOR_KEYS.has(key) || typeof item !== 'string' || item.length > MAX_VALUE_LENGTH) throw invalid();
    query[key] = item;
  }
  if (query['page'] === undefined || !/^\d{1,6}$/.test(query['page'])) throw invalid();
  return query;
}
