import { describe, expect, it } from 'vitest';
import { withInvocation } from '../context.ts';
import { ValidationError } from '../errors.ts';
import {
  bodyCursor,
  collectPages,
  linkHeader,
  offsetLimit,
  opaqueToken,
  type PageAnswer,
  pageNumber,
  pageOf,
  parseLinkHeader,
} from './pagination.ts';

const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function answer(overrides: Partial<PageAnswer> = {}): PageAnswer {
  return { headers: {}, body: {}, query: {}, count: 0, ...overrides };
}

describe('Function: parseLinkHeader', () => {
  it('reads next and last among the links, ignoring the others', () => {
    // Prepare
    const header =
      '<https://api.github.com/repositories/1/issues?page=1>; rel="prev", ' +
      '<https://api.github.com/repositories/1/issues?page=3>; rel="next", ' +
      '<https://api.github.com/repositories/1/issues?page=9>; rel="last"';

    // Act
    const links = parseLinkHeader(header);

    // Assess
    expect(pageOf(links.next)).toBe(3);
    expect(pageOf(links.last)).toBe(9);
  });

  it('ignores links that are not URLs and tolerates a missing header', () => {
    // Act & Assess
    expect(parseLinkHeader('<not a url>; rel="next"')).toEqual({});
    expect(parseLinkHeader(undefined)).toEqual({});
    expect(pageOf(new URL('https://x.test/?page=zero'))).toBeUndefined();
  });
});

describe('Function: linkHeader', () => {
  const style = linkHeader({ keys: ['state', 'labels', 'since', 'sort', 'direction', 'per_page'] });
  const link = (query: string, rel = 'next') => ({ link: `<https://x.test/issues?${query}>; rel="${rel}"` });

  it('round-trips the query of a next link, keeping only the declared parameters', () => {
    // Act
    const position = style.next(answer({ headers: link('state=all&page=2&per_page=5&access_token=nope') }));
    const query = style.query({ state: 'open' }, position.nextCursor);

    // Assess
    expect(position.nextPage).toBe(2);
    expect(query).toEqual({ state: 'all', page: '2', per_page: '5' });
  });

  it('sends the first page query as is and reports the last page', () => {
    // Act
    const first = style.query({ state: 'open', page: 1 }, undefined);
    const position = style.next(answer({ headers: link('page=7', 'last') }));

    // Assess
    expect(first).toEqual({ state: 'open', page: 1 });
    expect(position).toEqual({ lastPage: 7 });
  });

  it('binds a cursor to the listing it came from: another path or other filters are refused on /cursor', () => {
    // Prepare: issues of octo/hello, filters the cursor does not carry (a milestone)
    const hello = { path: '/repos/octo/hello/issues', first: { milestone: '3', state: 'open', page: 1 } };
    const position = style.next({ ...answer({ headers: link('state=open&page=2') }), listing: hello });

    // Act
    const same = style.query({ ...hello.first, state: 'closed' }, position.nextCursor, hello);
    const other = () =>
      style.query(hello.first, position.nextCursor, { ...hello, path: '/repos/octo/other/issues' });
    const filtered = () =>
      style.query({ milestone: '4' }, position.nextCursor, { ...hello, first: { milestone: '4' } });

    // Assess: the cursor's own keys (state, page) travel in it, so a caller may leave them out or differ
    expect(same).toEqual({ state: 'open', page: '2' });
    expect(other).toThrow('cursor belongs to another listing');
    expect(filtered).toThrow(ValidationError);
    expect(style.query({}, encode({ page: '2' }), hello)).toEqual({ page: '2' });
  });

  it.each([
    ['not base64 JSON', 'not-a-cursor'],
    ['an array', encode(['page', '2'])],
    ['an unknown key', encode({ page: '2', url: 'https://evil.test' })],
    ['a non-string value', encode({ page: 2 })],
    ['an overlong value', encode({ page: '2', state: 'x'.repeat(1025) })],
    ['no page', encode({ state: 'open' })],
  ])('throws a ValidationError on /cursor for %s', (_title, cursor) => {
    // Act
    const attempt = () => style.query({}, cursor);

    // Assess
    expect(attempt).toThrow(ValidationError);
    expect(attempt).toThrow('cursor is not one this connector issued');
  });
});

describe('Function: bodyCursor', () => {
  const style = bodyCursor({ field: 'response_metadata.next_cursor', param: 'cursor' });

  it('hands the body cursor back verbatim as the query parameter, keeping the other arguments', () => {
    // Act
    const position = style.next(answer({ body: { response_metadata: { next_cursor: 'dGVhbTpDMDE=' } } }));
    const query = style.query({ limit: 100 }, position.nextCursor);

    // Assess
    expect(position).toEqual({ nextCursor: 'dGVhbTpDMDE=' });
    expect(query).toEqual({ limit: 100, cursor: 'dGVhbTpDMDE=' });
  });

  it.each([
    ['an empty cursor', { response_metadata: { next_cursor: '' } }],
    ['no metadata', {}],
    ['a body that is not an object', 'text'],
  ])('ends the listing on %s', (_title, body) => {
    // Act & Assess
    expect(style.next(answer({ body }))).toEqual({});
  });
});

describe('Function: opaqueToken', () => {
  it('reads the token from a header', () => {
    // Prepare
    const style = opaqueToken({ header: 'X-Next-Page-Token', param: 'page_token' });

    // Act
    const position = style.next(answer({ headers: { 'x-next-page-token': 't-2' } }));

    // Assess
    expect(style.query({ q: 'a' }, position.nextCursor)).toEqual({ q: 'a', page_token: 't-2' });
  });

  it('reads the token from a body field', () => {
    // Prepare
    const style = opaqueToken({ field: 'nextPageToken', param: 'pageToken' });

    // Act & Assess
    expect(style.next(answer({ body: { nextPageToken: 'n-1' } }))).toEqual({ nextCursor: 'n-1' });
    expect(style.next(answer({ body: { nextPageToken: null } }))).toEqual({});
  });
});

describe('Function: offsetLimit', () => {
  const style = offsetLimit();

  it('moves the offset by the items read while full pages come back', () => {
    // Act
    const first = style.next(answer({ query: { limit: 2 }, count: 2 }));
    const second = style.query({ limit: 2 }, first.nextCursor);
    const last = style.next(answer({ query: second, count: 1 }));

    // Assess
    expect(second).toEqual({ limit: 2, offset: 2 });
    expect(last).toEqual({});
  });

  it('reads the total when the provider gives one', () => {
    // Prepare
    const counted = offsetLimit({ offsetParam: 'start', limitParam: 'size', totalField: 'meta.total' });

    // Act
    const more = counted.next(
      answer({ query: { start: '0', size: '10' }, count: 3, body: { meta: { total: 5 } } }),
    );
    const done = counted.next(answer({ query: { start: '3' }, count: 2, body: { meta: { total: 5 } } }));

    // Assess
    expect(counted.query({}, more.nextCursor)).toEqual({ start: 3 });
    expect(done).toEqual({});
  });

  it('follows a "more" flag when the provider gives one (PagerDuty), over the page size', () => {
    // Prepare
    const flagged = offsetLimit({ moreField: 'more', totalField: 'total' });

    // Act
    const more = flagged.next(answer({ query: { offset: 0, limit: 25 }, count: 1, body: { more: true } }));
    const done = flagged.next(answer({ query: { offset: 25, limit: 25 }, count: 25, body: { more: false } }));
    const emptyButMore = flagged.next(answer({ query: { offset: 50 }, count: 0, body: { more: true } }));
    const unsaid = flagged.next(answer({ query: { offset: 0 }, count: 2, body: { total: 5 } }));

    // Assess
    expect(flagged.query({ limit: 25 }, more.nextCursor)).toEqual({ limit: 25, offset: 1 });
    expect(done).toEqual({});
    expect(emptyButMore).toEqual({});
    expect(flagged.query({}, unsaid.nextCursor)).toEqual({ offset: 2 });
  });

  it('keeps going without a limit until an empty page', () => {
    // Act & Assess
    expect(style.next(answer({ count: 4 })).nextCursor).toBeDefined();
    expect(style.next(answer({ count: 0 }))).toEqual({});
  });

  it.each([
    ['a link cursor', encode({ page: '2' })],
    ['a negative position', encode({ at: -1 })],
    ['a fraction', encode({ at: 1.5 })],
    ['null', encode(null)],
  ])('throws a ValidationError for %s', (_title, cursor) => {
    // Act & Assess
    expect(() => style.query({}, cursor)).toThrow(ValidationError);
  });
});

describe('Function: linkHeader (keyset)', () => {
  const style = linkHeader({
    keys: ['pagination', 'per_page', 'ref'],
    pageParam: 'page_token',
    pageValue: /^[\w./-]{1,200}$/,
  });
  const link = (query: string) => ({ link: `<https://x.test/tree?${query}>; rel="next"` });

  it('carries the opaque position of the next link (GitLab pagination=keyset), without a page number', () => {
    // Act
    const position = style.next(
      answer({ headers: link('pagination=keyset&per_page=2&page_token=docs/b.md') }),
    );
    const query = style.query({ pagination: 'keyset', per_page: 2 }, position.nextCursor);

    // Assess
    expect(position.nextPage).toBeUndefined();
    expect(query).toEqual({ pagination: 'keyset', per_page: '2', page_token: 'docs/b.md' });
  });

  it('ends where the next link has no position of the declared shape', () => {
    // Act & Assess
    expect(style.next(answer({ headers: link('per_page=2') }))).toEqual({});
    expect(style.next(answer({ headers: link('page_token=a%20b') }))).toEqual({});
    expect(style.next(answer())).toEqual({});
  });

  it('refuses a cursor whose position is not of the declared shape', () => {
    // Act & Assess
    expect(() => style.query({}, encode({ page_token: 'a b' }))).toThrow(ValidationError);
  });
});

describe('Function: pageNumber', () => {
  it('follows a next-page header when declared (GitLab x-next-page), empty on the last page', () => {
    // Prepare
    const style = pageNumber({ nextPageHeader: 'X-Next-Page' });

    // Act
    const first = style.next(answer({ query: { per_page: 2 }, count: 2, headers: { 'x-next-page': '2' } }));
    const next = style.query({ per_page: 2 }, first.nextCursor);
    const last = style.next(answer({ query: next, count: 2, headers: { 'x-next-page': '' } }));
    const garbled = style.next(answer({ count: 2, headers: { 'x-next-page': 'two' } }));
    const missing = style.next(answer({ count: 2 }));

    // Assess
    expect(first.nextPage).toBe(2);
    expect(next).toEqual({ per_page: 2, page: 2 });
    expect(last).toEqual({});
    expect(garbled).toEqual({});
    expect(missing).toEqual({});
  });

  it('asks for the next page while pages are full', () => {
    // Prepare
    const style = pageNumber();

    // Act
    const first = style.next(answer({ query: { per_page: 2 }, count: 2 }));
    const next = style.query({ per_page: 2 }, first.nextCursor);
    const last = style.next(answer({ query: next, count: 1 }));

    // Assess
    expect(first.nextPage).toBe(2);
    expect(next).toEqual({ per_page: 2, page: 2 });
    expect(last).toEqual({});
  });

  it('follows the total page count when the provider gives one', () => {
    // Prepare
    const style = pageNumber({ pageParam: 'p', sizeParam: 'n', firstPage: 0, totalPagesField: 'pages' });

    // Act
    const first = style.next(answer({ query: {}, count: 1, body: { pages: 2 } }));
    const last = style.next(answer({ query: { p: '1' }, count: 1, body: { pages: 2 } }));

    // Assess
    expect(first).toMatchObject({ nextPage: 1, lastPage: 1 });
    expect(last).toEqual({ lastPage: 1 });
  });
});

describe('Function: collectPages', () => {
  /** A listing of `total` numbers in pages of `size`, each page taking `tookMs` on a fake clock. */
  function listing(total: number, size: number, clock?: { now: number; tookMs: number }) {
    const calls: Array<string | undefined> = [];
    const fetchPage = async (cursor: string | undefined) => {
      calls.push(cursor);
      const start = cursor === undefined ? 0 : Number(cursor);
      if (clock !== undefined) clock.now += clock.tookMs;
      const items = Array.from({ length: Math.min(size, total - start) }, (_, index) => start + index);
      const next = start + size;
      return next < total ? { items, nextCursor: String(next) } : { items };
    };
    return { calls, fetchPage };
  }

  it('reads every page to the end outside an invocation', async () => {
    // Prepare
    const { fetchPage, calls } = listing(5, 2);

    // Act
    const collected = await collectPages(fetchPage);

    // Assess
    expect(collected).toEqual({ items: [0, 1, 2, 3, 4], pages: 3, stoppedBy: 'end' });
    expect(calls).toEqual([undefined, '2', '4']);
  });

  it('resumes from a cursor and stops at maxPages with the cursor of the next page', async () => {
    // Prepare
    const { fetchPage } = listing(10, 2);

    // Act
    const collected = await collectPages(fetchPage, { cursor: '2', maxPages: 2 });

    // Assess
    expect(collected).toEqual({ items: [2, 3, 4, 5], pages: 2, nextCursor: '6', stoppedBy: 'max-pages' });
  });

  it('stops at maxItems after a whole page', async () => {
    // Act
    const collected = await collectPages(listing(10, 3).fetchPage, { maxItems: 4 });

    // Assess
    expect(collected).toMatchObject({ items: [0, 1, 2, 3, 4, 5], nextCursor: '6', stoppedBy: 'max-items' });
  });

  it('stops before a page the time left cannot fit, with the cursor to resume', async () => {
    // Prepare: each page takes 1 s on the fake clock; 3.5 s are left, 200 ms of them reserved.
    const clock = { now: 1_000_000, tookMs: 1_000 };
    const { fetchPage } = listing(100, 10, clock);

    // Act
    const collected = await withInvocation({ deadline: clock.now + 3_500, correlationId: 'c' }, () => {
      const realNow = Date.now;
      Date.now = () => clock.now;
      return collectPages(fetchPage).finally(() => {
        Date.now = realNow;
      });
    });

    // Assess: after 3 pages 500 ms are left, less than the slowest page plus the reserve.
    expect(collected).toMatchObject({ pages: 3, nextCursor: '30', stoppedBy: 'time' });
  });

  it('passes the failure of a page on, and never catches it', async () => {
    // Act
    const attempt = collectPages(async () => {
      throw new ValidationError('bad cursor');
    });

    // Assess
    await expect(attempt).rejects.toThrow('bad cursor');
  });
});
