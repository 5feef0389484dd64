import { createSign, generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type GitHubFake, githubFaults, startGitHubFake } from '../../scripts/local/sandboxes/github.ts';

const TOKEN = 'ghp_fake_test';
const NOW = 1_700_000_000_000;
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
let github: GitHubFake;

/** Calls the fake the way any GitHub client would: plain fetch, no connector code. */
async function call(
  path: string,
  init: { method?: string; body?: unknown; token?: string | null; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: Headers; json: unknown }> {
  const headers: Record<string, string> = { accept: 'application/vnd.github+json', ...init.headers };
  if (init.token !== null) headers['authorization'] = `Bearer ${init.token ?? TOKEN}`;
  const response = await fetch(`${github.baseUrl}${path}`, {
    method: init.method ?? 'GET',
    headers,
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    json: text === '' ? undefined : JSON.parse(text),
  };
}

function appJwt(claims: Record<string, unknown>): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const signed = `${part({ alg: 'RS256', typ: 'JWT' })}.${part(claims)}`;
  return `${signed}.${createSign('sha256').update(signed).sign(privateKey).toString('base64url')}`;
}

describe('Function: startGitHubFake', () => {
  beforeAll(async () => {
    github = await startGitHubFake({
      tokens: [TOKEN],
      now: () => NOW,
      rateLimit: 100,
      app: {
        appId: 42,
        publicKey: publicKey.export({ type: 'spki', format: 'pem' }) as string,
        installations: [7],
      },
      repos: { 'octo/hello': { files: { 'README.md': 'hello', 'docs/a.md': 'A' } } },
    });
    for (let day = 1; day <= 5; day += 1) {
      github.addIssue('octo/hello', { title: `Issue ${day}`, createdAt: `2024-01-0${day}T00:00:00Z` });
    }
  });
  afterAll(async () => {
    await github.close();
  });
  beforeEach(() => {
    github.clearFaults();
  });

  describe('authentication and headers', () => {
    it('answers 401 Bad credentials with documentation_url for an unknown token, and counts known ones', async () => {
      // Act
      const refused = await call('/repos/octo/hello/issues', { token: 'ghp_wrong' });
      const first = await call('/repos/octo/hello/issues');
      const second = await call('/repos/octo/hello/issues');
      // Assess
      expect([refused.status, refused.json]).toEqual([
        401,
        { message: 'Bad credentials', documentation_url: 'https://docs.github.com/rest', status: '401' },
      ]);
      const remaining = [first, second].map((answer) => Number(answer.headers.get('x-ratelimit-remaining')));
      expect(remaining[0] ?? 0).toBeGreaterThan(remaining[1] ?? 0);
      expect(first.headers.get('x-ratelimit-reset')).toBe(String(NOW / 1000 + 3600));
    });

    it('refuses an unsupported X-GitHub-Api-Version with 400, before routing', async () => {
      // Act
      const answer = await call('/nowhere', { headers: { 'x-github-api-version': '1999-01-01' } });
      // Assess
      expect(answer.status).toBe(400);
      expect(answer.json).toMatchObject({ message: "Unsupported 'X-GitHub-Api-Version': 1999-01-01" });
    });

    it('exchanges a valid app JWT for an installation token that then authenticates', async () => {
      // Prepare
      const jwt = appJwt({ iat: NOW / 1000 - 60, exp: NOW / 1000 + 540, iss: 42 });
      const tooLong = appJwt({ iat: NOW / 1000 - 60, exp: NOW / 1000 + 900, iss: 42 });
      // Act
      const issued = await call('/app/installations/7/access_tokens', { method: 'POST', token: jwt });
      const refused = await call('/app/installations/7/access_tokens', { method: 'POST', token: tooLong });
      const token = (issued.json as { token: string }).token;
      const used = await call('/', { token });
      // Assess
      expect(issued.status).toBe(201);
      expect(github.issuedTokens).toContain(token);
      expect(refused.status).toBe(401);
      expect(used.status).toBe(200);
    });
  });

  describe('endpoints', () => {
    it('pages issues with a Link header (next, last, prev, first)', async () => {
      // Act
      const page = await call('/repos/octo/hello/issues?per_page=2&page=2');
      // Assess
      const link = page.headers.get('link') ?? '';
      expect(link).toContain('page=3>; rel="next"');
      expect(link).toContain('page=3>; rel="last"');
      expect(link).toContain('page=1>; rel="prev"');
      expect((page.json as Array<{ title: string }>).map((issue) => issue.title)).toEqual([
        'Issue 3',
        'Issue 2',
      ]);
    });

    it('creates an issue (201 with Location) and refuses one without a title (422)', async () => {
      // Act
      const created = await call('/repos/octo/hello/issues', { method: 'POST', body: { title: 'New' } });
      const invalid = await call('/repos/octo/hello/issues', { method: 'POST', body: {} });
      // Assess
      expect(created.status).toBe(201);
      expect(created.headers.get('location')).toBe((created.json as { url: string }).url);
      expect([invalid.status, invalid.json]).toMatchObject([
        422,
        { message: 'Validation Failed', errors: [{ field: 'title', code: 'missing_field' }] },
      ]);
    });

    it('serves a file as wrapped base64, a directory as an array, and 404 for a missing path or ref', async () => {
      // Act
      const file = await call('/repos/octo/hello/contents/README.md');
      const dir = await call('/repos/octo/hello/contents/docs');
      const missing = await call('/repos/octo/hello/contents/nope.md');
      const ref = await call('/repos/octo/hello/contents/README.md?ref=nope');
      // Assess
      expect(file.json).toMatchObject({ type: 'file', encoding: 'base64', content: 'aGVsbG8=\n' });
      expect(dir.json).toMatchObject([{ type: 'file', path: 'docs/a.md' }]);
      expect([missing.status, ref.status]).toEqual([404, 404]);
      expect(ref.json).toMatchObject({ message: 'No commit found for the ref nope' });
    });
  });

  describe('Method: failNext', () => {
    it('answers a fault only where `when` holds, `times` times, and records every request', async () => {
      // Prepare
      github.failNext('list-issues', {
        ...githubFaults.serverError(502),
        times: 2,
        when: (r) => r.query['page'] === '2',
      });
      // Act
      const statuses: number[] = [];
      for (const page of ['1', '2', '2', '2']) {
        statuses.push((await call(`/repos/octo/hello/issues?page=${page}`)).status);
      }
      // Assess
      expect(statuses).toEqual([200, 502, 502, 200]);
      expect(github.requests.slice(-4).map((request) => request.route)).toEqual(Array(4).fill('list-issues'));
    });

    it('sends a primary rate limit with x-ratelimit-remaining 0 and the reset', async () => {
      // Prepare
      github.failNext('*', githubFaults.primaryRateLimit(NOW / 1000 + 60, 429));
      // Act
      const answer = await call('/rate_limit');
      // Assess
      expect(answer.status).toBe(429);
      expect(answer.headers.get('x-ratelimit-remaining')).toBe('0');
      expect(answer.headers.get('x-ratelimit-reset')).toBe(String(NOW / 1000 + 60));
    });
  });

  describe('Method: inject', () => {
    it.each([
      ['unauthorized', 401, 'Bad credentials'],
      ['forbidden', 403, 'Resource not accessible by integration'],
      ['not-found', 404, 'Not Found'],
      ['conflict', 409, 'Conflict'],
    ] as const)(
      'answers %s as GitHub does: %i with message and documentation_url',
      async (kind, status, message) => {
        // Prepare
        github.inject('get-content', { kind });
        // Act
        const faulted = await call('/repos/octo/hello/contents/README.md');
        const normal = await call('/repos/octo/hello/contents/README.md');
        // Assess
        expect([faulted.status, faulted.json]).toEqual([
          status,
          { message, documentation_url: 'https://docs.github.com/rest', status: String(status) },
        ]);
        expect(faulted.headers.get('x-ratelimit-limit')).toBe('100');
        expect(normal.status).toBe(200);
      },
    );

    it('answers throttled as a secondary rate limit with retry-after, 429 or the 403 GitHub also uses', async () => {
      // Prepare
      github.inject('root', { kind: 'throttled', retryAfterSeconds: 60 });
      github.inject('root', { kind: 'throttled', retryAfterSeconds: 5, status: 403 });
      // Act
      const first = await call('/');
      const second = await call('/');
      // Assess
      expect([first.status, first.headers.get('retry-after')]).toEqual([429, '60']);
      expect(first.json).toMatchObject({ message: expect.stringContaining('secondary rate limit') });
      expect([second.status, second.headers.get('retry-after')]).toEqual([403, '5']);
    });

    it('gives a wrong-shaped issue list (an object, not an array) and an oversized one', async () => {
      // Prepare
      github.inject('list-issues', { kind: 'wrong-shape' });
      github.inject('list-issues', { kind: 'oversized', bytes: 7 * 1024 * 1024 });
      // Act
      const shape = await call('/repos/octo/hello/issues');
      const large = await call('/repos/octo/hello/issues');
      // Assess
      expect(Array.isArray(shape.json)).toBe(false);
      expect(shape.json).toHaveProperty('items');
      expect(large.headers.get('content-length')).toBe(String(7 * 1024 * 1024));
      expect(Array.isArray(large.json)).toBe(true);
    });
  });
});
