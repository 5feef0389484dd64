/**
 * Pagination as data: the styles real APIs use (Link header, a cursor in the body, offset/limit, page
 * number, an opaque token in a header or field), each turning "the next page" into an opaque cursor a
 * caller hands back, and one helper that reads pages within the invocation's time left and stops with a
 * cursor to resume from.
 */
import { ANSWER_RESERVE_MS } from '../budget.ts';
import { remainingTimeMs } from '../context.ts';
import { ValidationError } from '../errors.ts';
import { fieldAt } from './errors.ts';

/** Query parameters of one page request. */
export type PageQuery = Record<string, string | number | boolean | undefined>;

/** What a style reads the next page from. */
export interface PageAnswer {
  headers: Record<string, string>;
  body: unknown;
  /** The query that was sent. */
  query: PageQuery;
  /** Items on the page as the provider sent it (before a connector filters any out). */
  count: number;
  /** What was listed: the request path and the first page's query (filters), when the caller says. */
  listing?: Listing;
}

/** One listing: a request path and the caller's first-page query. */
export interface Listing {
  path: string;
  first: PageQuery;
}

/** Where the next page is. */
export interface PagePosition {
  /** Hand back as `cursor` to read the next page; absent on the last page. */
  nextCursor?: string;
  /** The next page's number, for styles that have one. */
  nextPage?: number;
  /** The last page's number, when the provider says. */
  lastPage?: number;
}

/** A pagination style: how a cursor becomes a request, and how an answer becomes the next cursor. */
export interface PaginationStyle {
  readonly name: string;
  /**
   * The query for the page `cursor` points to (the first page's query without one). A cursor this style
   * did not issue is a ValidationError on `/cursor`.
   */
  query(first: PageQuery, cursor: string | undefined, listing?: Listing): PageQuery;
  next(answer: PageAnswer): PagePosition;
}

const MAX_VALUE_LENGTH = 1024;
/** The cursor field holding {@link listingKey}; no provider query parameter is spelt so. */
const LISTING_KEY = '~listing';

function invalidCursor(): ValidationError {
  return new ValidationError('cursor is not one this connector issued', [
    { pointer: '/cursor', message: 'expected the nextCursor of a previous page' },
  ]);
}

/**
 * A short digest of a listing (FNV-1a, 32 bits: it catches a cursor handed to another listing by mistake,
 * it proves nothing), over the path and the first query without `skip` (the keys the cursor itself sets).
 */
function listingKey({ path, first }: Listing, skip: ReadonlySet<string>): string {
  const filters = Object.entries(first)
    .filter(([key, value]) => value !== undefined && !skip.has(key))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  let hash = 0x811c9dc5;
  for (const char of JSON.stringify([path, filters])) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(36);
}

/** A cursor for another listing (another repository, other filters) than the one it was issued for. */
function otherListing(): ValidationError {
  return new ValidationError('cursor belongs to another listing', [
    {
      pointer: '/cursor',
      message: 'expected the nextCursor of a previous page of this listing, with the same path and filters',
    },
  ]);
}

function decodeJson(cursor: string): unknown {
  try {
    return JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidCursor();
  }
}

const encodeJson = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A position (offset, page number) as an opaque cursor. */
function encodePosition(at: number): string {
  return encodeJson({ at });
}

function decodePosition(cursor: string): number {
  const value = decodeJson(cursor) as { at?: unknown } | null;
  const at = typeof value === 'object' && value !== null ? value.at : undefined;
  if (typeof at !== 'number' || !Number.isInteger(at) || at < 0 || at > 1e9) throw invalidCursor();
  return at;
}

/** The pages a `Link` header (RFC 8288) points to. */
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
export function pageOf(url: URL | undefined, pageParam = 'page'): number | undefined {
  const page = Number(url?.searchParams.get(pageParam));
  return Number.isInteger(page) && page > 0 ? page : undefined;
}

/**
 * Link-header pagination (GitHub, GitLab): the answer's `Link: <...>; rel="next"` names the next page.
 * The cursor carries that link's query, restricted to `keys` (so a cursor cannot smuggle other
 * parameters), and replaces the first page's query when handed back.
 *
 * @example
 * ```ts
 * const style = linkHeader({ keys: ['state', 'per_page', 'page'] });
 * const keyset = linkHeader({ keys: ['pagination', 'per_page'], pageParam: 'page_token', pageValue: /^.{1,1024}$/ });
 * ```
 */
export function linkHeader(options: {
  keys: readonly string[];
  pageParam?: string;
  /**
   * What the page parameter holds; default a page number. Keyset pagination (GitLab's
   * `pagination=keyset`) puts an opaque position there instead (`page_token`, `cursor`, `id_after`).
   */
  pageValue?: RegExp;
}): PaginationStyle {
  const keys = new Set(options.keys);
  const pageParam = options.pageParam ?? 'page';
  const pageValue = options.pageValue ?? /^\d{1,6}$/;
  const isPosition = (value: string | null | undefined): value is string =>
    typeof value === 'string' && value.length <= MAX_VALUE_LENGTH && pageValue.test(value);
  keys.add(pageParam);
  return {
    name: 'link-header',
    query(first, cursor, listing) {
      if (cursor === undefined) return first;
      const value = decodeJson(cursor);
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalidCursor();
      const query: Record<string, string> = {};
      let issuedFor: unknown;
      for (const [key, item] of Object.entries(value)) {
        if (key === LISTING_KEY) {
          issuedFor = item;
          continue;
        }
        if (!keys.has(key) || typeof item !== 'string' || item.length > MAX_VALUE_LENGTH)
          throw invalidCursor();
        query[key] = item;
      }
      if (!isPosition(query[pageParam])) throw invalidCursor();
      // A cursor replaces the first query: from another listing it would read that listing's next page.
      if (listing !== undefined && issuedFor !== undefined && issuedFor !== listingKey(listing, keys)) {
        throw otherListing();
      }
      return query;
    },
    next({ headers, listing }) {
      const links = parseLinkHeader(headers['link']);
      const position: PagePosition = {};
      if (links.next !== undefined && isPosition(links.next.searchParams.get(pageParam))) {
        const query: Record<string, string> = {};
        for (const [key, value] of links.next.searchParams) if (keys.has(key)) query[key] = value;
        const nextPage = pageOf(links.next, pageParam);
        if (nextPage !== undefined) position.nextPage = nextPage;
        if (listing !== undefined) query[LISTING_KEY] = listingKey(listing, keys);
        position.nextCursor = encodeJson(query);
      }
      const lastPage = pageOf(links.last, pageParam);
      if (lastPage !== undefined) position.lastPage = lastPage;
      return position;
    },
  };
}

/** A provider-issued token handed back verbatim (the provider checks it). */
function tokenStyle(name: string, read: (answer: PageAnswer) => unknown, param: string): PaginationStyle {
  return {
    name,
    query: (first, cursor) => (cursor === undefined ? first : { ...first, [param]: cursor }),
    next(answer) {
      const token = read(answer);
      return typeof token === 'string' && token !== '' ? { nextCursor: token } : {};
    },
  };
}

/**
 * A cursor in the answer's body, sent back as a query parameter (Slack's `response_metadata.next_cursor`
 * and `cursor`); an empty or missing value ends the listing.
 *
 * @example
 * ```ts
 * const style = bodyCursor({ field: 'response_metadata.next_cursor', param: 'cursor' });
 * ```
 */
export function bodyCursor(options: { field: string; param?: string }): PaginationStyle {
  return tokenStyle('body-cursor', ({ body }) => fieldAt(body, options.field), options.param ?? 'cursor');
}

/**
 * An opaque page token in a response header or body field, sent back as a query parameter (Google's
 * `nextPageToken`/`pageToken`, a `x-next-page-token` header).
 *
 * @example
 * ```ts
 * const style = opaqueToken({ field: 'nextPageToken', param: 'pageToken' });
 * ```
 */
export function opaqueToken(
  options: ({ header: string } | { field: string }) & { param: string },
): PaginationStyle {
  const read =
    'header' in options
      ? ({ headers }: PageAnswer) => headers[options.header.toLowerCase()]
      : ({ body }: PageAnswer) => fieldAt(body, options.field);
  return tokenStyle('opaque-token', read, options.param);
}

/** A number from the query (a string from a cursor, a number from the caller). */
function numberIn(query: PageQuery, key: string): number | undefined {
  const value = Number(query[key]);
  return query[key] === undefined || !Number.isFinite(value) ? undefined : value;
}

/**
 * Offset/limit pagination: the next page starts after the items read so far. A `moreField` (PagerDuty's
 * `more`) says whether another page exists; else a `totalField` counts the items; without either a page
 * shorter than the limit (or an empty one) is the last.
 *
 * @example
 * ```ts
 * const style = offsetLimit({ offsetParam: 'offset', limitParam: 'limit', totalField: 'total' });
 * const pagerDuty = offsetLimit({ moreField: 'more' });
 * ```
 */
export function offsetLimit(
  options: { offsetParam?: string; limitParam?: string; totalField?: string; moreField?: string } = {},
): PaginationStyle {
  const offsetParam = options.offsetParam ?? 'offset';
  const limitParam = options.limitParam ?? 'limit';
  return {
    name: 'offset-limit',
    query: (first, cursor) =>
      cursor === undefined ? first : { ...first, [offsetParam]: decodePosition(cursor) },
    next({ query, count, body }) {
      const offset = numberIn(query, offsetParam) ?? 0;
      const limit = numberIn(query, limitParam);
      const total = options.totalField === undefined ? undefined : fieldAt(body, options.totalField);
      const said = options.moreField === undefined ? undefined : fieldAt(body, options.moreField);
      const more =
        typeof said === 'boolean'
          ? said && count > 0
          : typeof total === 'number'
            ? offset + count < total
            : count > 0 && (limit === undefined || count >= limit);
      return more ? { nextCursor: encodePosition(offset + count) } : {};
    },
  };
}

/** The next page a response header names (GitLab's `x-next-page`, empty on the last page). */
function headerPage(headers: Record<string, string>, header: string): PagePosition {
  const said = headers[header.toLowerCase()]?.trim() ?? '';
  const next = /^\d{1,9}$/.test(said) ? Number(said) : 0;
  return next > 0 ? { nextPage: next, nextCursor: encodePosition(next) } : {};
}

/**
 * Page-number pagination: the next page is this one plus one. Without a `totalPagesField` a page shorter
 * than the page size (or an empty one) is the last.
 *
 * @example
 * ```ts
 * const style = pageNumber({ pageParam: 'page', sizeParam: 'per_page', totalPagesField: 'total_pages' });
 * const gitlab = pageNumber({ nextPageHeader: 'x-next-page' });
 * ```
 */
export function pageNumber(
  options: {
    pageParam?: string;
    sizeParam?: string;
    firstPage?: number;
    totalPagesField?: string;
    /**
     * A response header naming the next page, empty on the last (GitLab's `x-next-page`): when set, it
     * alone says whether there is another page.
     */
    nextPageHeader?: string;
  } = {},
): PaginationStyle {
  const pageParam = options.pageParam ?? 'page';
  const sizeParam = options.sizeParam ?? 'per_page';
  const firstPage = options.firstPage ?? 1;
  return {
    name: 'page-number',
    query: (first, cursor) =>
      cursor === undefined ? first : { ...first, [pageParam]: decodePosition(cursor) },
    next({ query, count, body, headers }) {
      if (options.nextPageHeader !== undefined) return headerPage(headers, options.nextPageHeader);
      const page = numberIn(query, pageParam) ?? firstPage;
      const size = numberIn(query, sizeParam);
      const total =
        options.totalPagesField === undefined ? undefined : fieldAt(body, options.totalPagesField);
      const position: PagePosition = {};
      // The total is a count of pages; numbering may start at 0.
      if (typeof total === 'number') position.lastPage = firstPage + total - 1;
      const more =
        typeof total === 'number'
          ? page - firstPage + 1 < total
          : count > 0 && (size === undefined || count >= size);
      if (more) {
        position.nextPage = page + 1;
        position.nextCursor = encodePosition(page + 1);
      }
      return position;
    },
  };
}

/** One page as a list operation returns it. */
export interface Page<T> extends PagePosition {
  items: T[];
}

export interface CollectOptions {
  /** Resume from this cursor. */
  cursor?: string | undefined;
  /** Stop after this many pages. */
  maxPages?: number;
  /** Stop once this many items are read (whole pages: the cursor points after the last one read). */
  maxItems?: number;
  /**
   * The least time a page is assumed to take; the helper starts another page only when the time left
   * (less the core's answer reserve) exceeds the slowest page so far and this. Default 500.
   */
  minPageMs?: number;
}

/** What {@link collectPages} read, and where to resume. */
export interface Collected<T> {
  items: T[];
  pages: number;
  /** Resume here; absent when the listing is complete. */
  nextCursor?: string;
  /** Why it stopped: the end of the listing, the time left, or a limit. */
  stoppedBy: 'end' | 'time' | 'max-pages' | 'max-items';
}

/**
 * Reads pages until the listing ends, a limit is reached, or the invocation's time left would not fit
 * another page (the slowest page so far, at least `minPageMs`, plus the answer reserve); then returns
 * the items and the cursor to resume from. The first page is always asked for: with no time at all it
 * fails as its call does.
 *
 * @example
 * ```ts
 * const { items, nextCursor } = await collectPages((cursor) => slack.listChannels({ cursor }), { maxPages: 20 });
 * ```
 */
export async function collectPages<T>(
  fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor?: string | undefined }>,
  options: CollectOptions = {},
): Promise<Collected<T>> {
  const items: T[] = [];
  let cursor = options.cursor;
  let pages = 0;
  let slowestMs = options.minPageMs ?? 500;
  const stop = (stoppedBy: Collected<T>['stoppedBy']): Collected<T> =>
    cursor === undefined ? { items, pages, stoppedBy } : { items, pages, nextCursor: cursor, stoppedBy };
  for (;;) {
    if (pages > 0) {
      if (options.maxPages !== undefined && pages >= options.maxPages) return stop('max-pages');
      if (options.maxItems !== undefined && items.length >= options.maxItems) return stop('max-items');
      if (remainingTimeMs() - ANSWER_RESERVE_MS < slowestMs) return stop('time');
    }
    const started = Date.now();
    const page = await fetchPage(cursor);
    slowestMs = Math.max(slowestMs, Date.now() - started);
    pages += 1;
    items.push(...page.items);
    cursor = page.nextCursor;
    if (cursor === undefined) return stop('end');
  }
}
