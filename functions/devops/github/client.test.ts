import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import {
  AuthError,
  bearerAuth,
  configureSecrets,
  defineSecret,
  ForbiddenError,
  NotFoundError,
  NotSupportedError,
  RateLimitedError,
  resetCircuitBreakers,
  TimeoutError,
  UnavailableError,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { describeSourceControlConformance } from '#shared/interfaces/source-control.conformance.ts';
import { type GitHubFake, githubFaults, startGitHubFake } from '../../../scripts/local/sandboxes/github.ts';
import { type SecretsManagerFake, startSecretsManagerFake } from '../../../test/fakes/secrets-manager.ts';
import { GitHubClient, type GitHubClientOptions, inspectGitHubResponse } from './client.ts';

const TOKEN = 'ghp_client_test_token';
const REPO = { owner: 'octo', repo: 'hello' };
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0xff, 0xfe]);

let github: GitHubFake;

function client(options: GitHubClientOptions = {}): GitHubClient {
  return new GitHubClient({ baseUrl: github.baseUrl, auth: bearerAuth({ token: TOKEN }), ...options });
}

beforeAll(async () => {
  github = await startGitHubFake({
    tokens: [TOKEN],
    repos: {
      'octo/hello': {
        files: {
          'README.md': '# Hello\n',
          'docs/guide with space.md': 'Grüße ✓',
          'assets/logo.png': PNG,
          'big.bin': Buffer.alloc(1024 * 1024 + 1, 1),
        },
        issues: [
          {
            title: 'Old bug',
            createdAt: '2024-01-01T00:00:00Z',
            updatedAt: '2024-01-02T00:00:00Z',
            labels: ['bug'],
          },
          { title: 'A pull request', createdAt: '2024-01-03T00:00:00Z', pullRequest: true },
          { title: 'Closed one', state: 'closed', createdAt: '2024-01-04T00:00:00Z' },
        ],
      },
    },
  });
  github.putFile('octo/hello', 'README.md', '# Hello from a branch\n', 'feature');
});

afterAll(async () => {
  await github.close();
});

beforeEach(() => {
  github.clearFaults();
  github.requests.length = 0;
  resetCircuitBreakers();
});

describe('Class: GitHubClient', () => {
  describe('Method: createIssue', () => {
    it('posts the issue with GitHub headers and returns it mapped to the model', async () => {
      // Act
      const issue = await client().createIssue({
        ...REPO,
        title: 'Deploy failed',
        body: 'See the logs',
        labels: ['ops'],
        assignees: ['hubot'],
      });
      // Assess
      expect(issue).toMatchObject({
        title: 'Deploy failed',
        body: 'See the logs',
        state: 'open',
        labels: ['ops'],
        assignees: ['hubot'],
        author: 'circle-core[bot]',
        isPullRequest: false,
      });
      const [request] = github.requests;
      expect(request?.headers).toMatchObject({
        accept: 'application/vnd.github+json',
        'x-github-api-version': '2022-11-28',
        authorization: `Bearer ${TOKEN}`,
      });
      expect(request?.body).toEqual({
        title: 'Deploy failed',
        body: 'See the logs',
        labels: ['ops'],
        assignees: ['hubot'],
      });
    });

    it('does not retry a POST that failed with 502 (GitHub has no idempotency keys)', async () => {
      // Prepare
      github.failNext('create-issue', { ...githubFaults.serverError(502), times: 3 });
      // Act
      const attempt = client().createIssue({ ...REPO, title: 'Once only' });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(UnavailableError);
      expect(github.requests.filter((request) => request.route === 'create-issue')).toHaveLength(1);
    });

    it('throws ValidationError naming the field when GitHub answers 422', async () => {
      // Prepare
      github.failNext('create-issue', {
        status: 422,
        body: {
          message: 'Validation Failed',
          errors: [{ resource: 'Issue', code: 'invalid', field: 'assignees' }],
        },
      });
      // Act
      const attempt = client().createIssue({ ...REPO, title: 'Bad assignee', assignees: ['ghost'] });
      // Assess
      await expect(attempt).rejects.toMatchObject({
        name: 'ValidationError',
        issues: [{ pointer: '/assignees', message: 'invalid' }],
      });
    });

    it('throws NotFoundError naming the repository when it does not exist', async () => {
      // Act
      const attempt = client().createIssue({ owner: 'octo', repo: 'missing', title: 'x' });
      // Assess
      await expect(attempt).rejects.toThrow(/Repository octo\/missing was not found/);
    });
  });

  describe('Method: commentOnIssue', () => {
    it('posts the comment and returns its id, author and link', async () => {
      // Prepare
      const issue = await client().createIssue({ ...REPO, title: 'Needs a comment' });
      // Act
      const comment = await client().commentOnIssue({ ...REPO, issueNumber: issue.number, body: 'Done' });
      // Assess
      expect(comment).toMatchObject({ issueNumber: issue.number, body: 'Done', author: 'circle-core[bot]' });
      expect(comment.url).toContain(`/issues/${issue.number}#issuecomment-${comment.id}`);
      expect(github.comments('octo/hello', issue.number)).toHaveLength(1);
    });
  });

  describe('Method: listIssues', () => {
    it('leaves out pull requests by default and keeps them when asked', async () => {
      // Act
      const plain = await client().listIssues({ ...REPO, state: 'all', perPage: 100 });
      const withPulls = await client().listIssues({
        ...REPO,
        state: 'all',
        perPage: 100,
        includePullRequests: true,
      });
      // Assess
      expect(plain.issues.some((issue) => issue.isPullRequest)).toBe(false);
      expect(withPulls.issues.filter((issue) => issue.isPullRequest).map((issue) => issue.title)).toEqual([
        'A pull request',
      ]);
    });

    it('sends the filters as GitHub query parameters', async () => {
      // Act
      await client().listIssues({
        ...REPO,
        state: 'closed',
        since: '2024-01-01T00:00:00Z',
        labels: ['bug', 'ops'],
        perPage: 5,
        page: 2,
        sort: 'updated',
        direction: 'asc',
      });
      // Assess
      expect(github.requests[0]?.query).toEqual({
        state: 'closed',
        since: '2024-01-01T00:00:00Z',
        labels: 'bug,ops',
        per_page: '5',
        page: '2',
        sort: 'updated',
        direction: 'asc',
      });
    });

    it("sends since in GitHub's documented form, YYYY-MM-DDTHH:MM:SSZ, whatever offset or fraction it came with", async () => {
      // Act
      await client().listIssues({ ...REPO, since: '2024-01-01T03:04:05+01:00' });
      await client().listIssues({ ...REPO, since: '2024-01-01T02:04:05.999Z' });
      await client().listIssues({ ...REPO, since: '2023-12-31T23:30:00.5-05:30' });
      // Assess
      expect(github.requests.map((request) => request.query['since'])).toEqual([
        '2024-01-01T02:04:05Z',
        '2024-01-01T02:04:05Z',
        '2024-01-01T05:00:00Z',
      ]);
    });

    it('returns nextPage, lastPage and a cursor that keeps the filters of the first page', async () => {
      // Act
      const first = await client().listIssues({
        ...REPO,
        state: 'all',
        perPage: 1,
        includePullRequests: true,
      });
      const second = await client().listIssues({
        ...REPO,
        cursor: first.nextCursor ?? '',
        includePullRequests: true,
      });
      // Assess
      expect(first.nextPage).toBe(2);
      expect(first.lastPage).toBeGreaterThanOrEqual(3);
      expect(github.requests[1]?.query).toMatchObject({ state: 'all', per_page: '1', page: '2' });
      expect(second.issues[0]?.number).not.toBe(first.issues[0]?.number);
    });

    it('retries a 5xx and then returns the page', async () => {
      // Prepare
      github.failNext('list-issues', githubFaults.serverError(503));
      // Act
      const page = await client().listIssues({ ...REPO, state: 'all' });
      // Assess
      expect(page.issues.length).toBeGreaterThan(0);
      expect(github.requests).toHaveLength(2);
    });

    it('waits a secondary rate limit with Retry-After: 1 and then succeeds', async () => {
      // Prepare
      github.failNext('list-issues', githubFaults.secondaryRateLimit(1));
      const started = Date.now();
      // Act
      const page = await client().listIssues({ ...REPO });
      // Assess
      expect(page.issues.length).toBeGreaterThan(0);
      expect(Date.now() - started).toBeGreaterThanOrEqual(950);
      expect(github.requests).toHaveLength(2);
    });

    it('throws RateLimitedError carrying 120000 ms for a secondary rate limit with Retry-After: 120', async () => {
      // Prepare
      github.failNext('list-issues', githubFaults.secondaryRateLimit(120));
      // Act
      const attempt = client().listIssues({ ...REPO });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(RateLimitedError);
      await expect(attempt).rejects.toMatchObject({ retryAfterMs: 120_000 });
      expect(github.requests).toHaveLength(1);
    });

    it('treats a secondary rate limit without Retry-After as a one-minute wait', async () => {
      // Prepare
      github.failNext('list-issues', githubFaults.secondaryRateLimit());
      // Act
      const attempt = client({ maxRetryAfterMs: 1_000 }).listIssues({ ...REPO });
      // Assess
      await expect(attempt).rejects.toMatchObject({ name: 'RateLimitedError', retryAfterMs: 60_000 });
    });

    it('throws RateLimitedError until the reset time when x-ratelimit-remaining is 0', async () => {
      // Prepare
      const reset = Math.floor(Date.now() / 1000) + 600;
      github.failNext('list-issues', githubFaults.primaryRateLimit(reset, 429));
      // Act
      const error = await client()
        .listIssues({ ...REPO })
        .catch((caught: unknown) => caught);
      // Assess
      expect(error).toBeInstanceOf(RateLimitedError);
      const wait = (error as RateLimitedError).retryAfterMs ?? 0;
      expect(wait).toBeGreaterThan(590_000);
      expect(wait).toBeLessThanOrEqual(600_000);
    });

    it('throws TimeoutError when every attempt outlasts the timeout, and recovers from one slow answer', async () => {
      // Prepare
      github.failNext('list-issues', { ...githubFaults.slow(1_000), times: 2 });
      // Act
      const attempt = client({ timeoutMs: 150, maxAttempts: 2 }).listIssues({ ...REPO });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(TimeoutError);
      github.failNext('list-issues', githubFaults.slow(1_000));
      await expect(
        client({ timeoutMs: 150, maxAttempts: 2 }).listIssues({ ...REPO }),
      ).resolves.toHaveProperty('issues');
    });

    it('throws UnexpectedResponseError for malformed JSON and for an unexpected shape', async () => {
      // Prepare
      github.failNext('list-issues', githubFaults.malformedJson());
      github.failNext('list-issues', { status: 200, body: [{ number: 'one' }] });
      // Act
      const malformed = client().listIssues({ ...REPO });
      await expect(malformed).rejects.toBeInstanceOf(UnexpectedResponseError);
      const shape = client().listIssues({ ...REPO });
      // Assess
      await expect(shape).rejects.toThrow(/without the expected fields/);
    });

    it('throws ForbiddenError for a 403 that is not a rate limit', async () => {
      // Prepare
      github.failNext('list-issues', {
        status: 403,
        body: { message: 'Resource not accessible by integration' },
      });
      // Act
      const attempt = client().listIssues({ ...REPO });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(ForbiddenError);
    });
  });

  describe('Method: getFile', () => {
    it('decodes a UTF-8 file, addressing a path with spaces', async () => {
      // Act
      const file = await client().getFile({ ...REPO, path: '/docs/guide with space.md' });
      // Assess
      expect(file).toMatchObject({ path: 'docs/guide with space.md', encoding: 'utf8', content: 'Grüße ✓' });
      expect(github.requests[0]?.path).toBe('/repos/octo/hello/contents/docs/guide%20with%20space.md');
    });

    it('reads the file at a ref', async () => {
      // Act
      const file = await client().getFile({ ...REPO, path: 'README.md', ref: 'feature' });
      // Assess
      expect(file.content).toBe('# Hello from a branch\n');
      expect(github.requests[0]?.query).toEqual({ ref: 'feature' });
    });

    it('returns binary content base64 encoded', async () => {
      // Act
      const file = await client().getFile({ ...REPO, path: 'assets/logo.png' });
      // Assess
      expect(file.encoding).toBe('base64');
      expect(Buffer.from(file.content, 'base64').equals(PNG)).toBe(true);
      expect(file.size).toBe(PNG.length);
    });

    it('throws ValidationError for a directory and for the repository root', async () => {
      // Act & Assess
      await expect(client().getFile({ ...REPO, path: 'docs' })).rejects.toThrow(
        'docs is a directory, not a file',
      );
      await expect(client().getFile({ ...REPO, path: '/' })).rejects.toBeInstanceOf(ValidationError);
      expect(github.requests).toHaveLength(1);
    });

    it('throws ValidationError for a path with .. segments, before calling GitHub', async () => {
      // Act
      const attempt = client().getFile({ ...REPO, path: 'docs/../../etc/passwd' });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(ValidationError);
      expect(github.requests).toHaveLength(0);
    });

    it('throws ValidationError naming /ref for a ref git cannot name (NUL, control, .., ~^:?*[\\, space, .lock, @{), before calling GitHub', async () => {
      // Prepare
      const bad = [
        'main\u0000',
        'ma\tin',
        'main\u007f',
        'a..b',
        'main~1',
        'main^',
        'a:b',
        'ma?n',
        'ma*n',
        'ma[n',
        'a\\b',
        'my branch',
        'topic.lock',
        'topic/',
        '/topic',
        'a//b',
        'main@{1}',
        '@',
        '.hidden',
        'a/.b',
        'main.',
      ];
      // Act
      const errors = await Promise.all(
        bad.map((ref) =>
          client()
            .getFile({ ...REPO, path: 'README.md', ref })
            .catch((error: unknown) => error),
        ),
      );
      // Assess
      for (const error of errors) {
        expect(error).toBeInstanceOf(ValidationError);
        expect((error as ValidationError).issues).toEqual([expect.objectContaining({ pointer: '/ref' })]);
      }
      expect(github.requests).toHaveLength(0);
    });

    it('still reads at a slashed branch, a tag with dots and a commit SHA', async () => {
      // Act
      const refs = ['feature/x-1', 'v1.2.3', 'a'.repeat(40), 'release@2026'];
      await Promise.all(
        refs.map((ref) =>
          client()
            .getFile({ ...REPO, path: 'README.md', ref })
            .catch(() => undefined),
        ),
      );
      // Assess
      expect(github.requests.map((r) => r.query)).toEqual(refs.map((ref) => ({ ref })));
    });

    it('throws NotFoundError naming the file, and for an unknown ref', async () => {
      // Act & Assess
      await expect(client().getFile({ ...REPO, path: 'nope.txt' })).rejects.toThrow(
        /File nope.txt in octo\/hello/,
      );
      await expect(client().getFile({ ...REPO, path: 'README.md', ref: 'gone' })).rejects.toThrow(
        /No commit found for the ref gone/,
      );
    });

    it('throws NotSupportedError for a file over 1 MB', async () => {
      // Act
      const attempt = client().getFile({ ...REPO, path: 'big.bin' });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(NotSupportedError);
    });

    it('throws UnexpectedResponseError when the content does not match the size', async () => {
      // Prepare
      github.failNext('get-content', {
        status: 200,
        body: { type: 'file', path: 'a', sha: 'x', size: 10, encoding: 'base64', content: 'aGk=' },
      });
      // Act
      const attempt = client().getFile({ ...REPO, path: 'a' });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(UnexpectedResponseError);
    });

    it('throws ValidationError for a symlink or submodule entry', async () => {
      // Prepare
      github.failNext('get-content', {
        status: 200,
        body: { type: 'submodule', path: 'lib', sha: 'x', size: 0 },
      });
      // Act
      const attempt = client().getFile({ ...REPO, path: 'lib' });
      // Assess
      await expect(attempt).rejects.toThrow('lib is a submodule, not a file');
    });
  });

  describe('Method: ping', () => {
    it('reads the rate limit, which GitHub does not count', async () => {
      // Act
      const status = await client().rateLimit();
      await client().ping();
      // Assess
      expect(status.limit).toBe(5000);
      expect(github.requests.map((request) => request.route)).toEqual(['rate-limit', 'rate-limit']);
    });

    it('falls back to GET / when /rate_limit is disabled (GitHub Enterprise Server)', async () => {
      // Prepare
      github.failNext('rate-limit', { status: 404, body: { message: 'Not Found' } });
      // Act
      await client().ping();
      // Assess
      expect(github.requests.map((request) => request.route)).toEqual(['rate-limit', 'root']);
    });

    it('throws UnexpectedResponseError when /rate_limit has no core budget', async () => {
      // Prepare
      github.failNext('rate-limit', { status: 200, body: { resources: {} } });
      // Act & Assess
      await expect(client().rateLimit()).rejects.toBeInstanceOf(UnexpectedResponseError);
    });
  });

  describe('Token rotation', () => {
    let secrets: SecretsManagerFake;
    beforeAll(async () => {
      secrets = await startSecretsManagerFake({ 'test/github/token': 'ghp_old_token' });
      configureSecrets({
        client: new SecretsManagerClient({
          endpoint: secrets.endpoint,
          region: 'us-east-1',
          credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        }),
      });
    });
    afterAll(async () => {
      configureSecrets({});
      await secrets.close();
    });

    it('refreshes a rotated token once after a 401 and retries with it', async () => {
      // Prepare
      github.addToken('ghp_old_token');
      const rotating = client({ auth: bearerAuth({ token: defineSecret('test/github/token') }) });
      await rotating.listIssues({ ...REPO });
      github.revokeToken('ghp_old_token');
      secrets.set('test/github/token', 'ghp_new_token');
      github.addToken('ghp_new_token');
      // Act
      const page = await rotating.listIssues({ ...REPO });
      // Assess
      expect(page.issues.length).toBeGreaterThan(0);
      expect(github.requests.map((request) => request.headers['authorization'])).toEqual([
        'Bearer ghp_old_token',
        'Bearer ghp_old_token',
        'Bearer ghp_new_token',
      ]);
    });

    it('throws AuthError after one refresh when the credentials stay bad', async () => {
      // Prepare
      github.failNext('list-issues', { ...githubFaults.badCredentials(), times: 5 });
      const before = secrets.calls.length;
      // Act
      const attempt = client({ auth: bearerAuth({ token: defineSecret('test/github/token') }) }).listIssues({
        ...REPO,
      });
      // Assess
      await expect(attempt).rejects.toBeInstanceOf(AuthError);
      expect(github.requests).toHaveLength(2);
      expect(secrets.calls.length - before).toBeGreaterThanOrEqual(1);
    });
  });
});

describe('Function: inspectGitHubResponse', () => {
  it('leaves ordinary answers to the default mapping', () => {
    // Act
    const error = inspectGitHubResponse({
      status: 404,
      headers: {},
      body: { message: 'Not Found' },
      url: '',
    });
    // Assess
    expect(error).toBeUndefined();
  });

  it('maps a 422 without field errors to a ValidationError with GitHub message', () => {
    // Act
    const error = inspectGitHubResponse({
      status: 422,
      headers: {},
      body: { message: 'Validation Failed' },
      url: '',
    });
    // Assess
    expect(error).toBeInstanceOf(ValidationError);
    expect(error?.message).toBe('GitHub rejected the request (HTTP 422): Validation Failed');
  });
});

describeSourceControlConformance('GitHub', async () => {
  const fake = await startGitHubFake({
    tokens: [TOKEN],
    repos: {
      'conformance/repo': {
        files: { 'notes.txt': 'plain text\n', 'docs/index.md': '# Docs', 'image.bin': PNG },
      },
    },
  });
  fake.addIssue('conformance/repo', { title: 'Already closed', state: 'closed' });
  const pullRequest = fake.addIssue('conformance/repo', { title: 'A pull request', pullRequest: true });
  return {
    client: new GitHubClient({ baseUrl: fake.baseUrl, auth: bearerAuth({ token: TOKEN }) }),
    repository: { owner: 'conformance', repo: 'repo' },
    missingRepository: { owner: 'conformance', repo: 'absent' },
    textFile: { path: 'notes.txt', content: 'plain text\n' },
    binaryFile: { path: 'image.bin', bytes: PNG },
    pullRequest: { number: pullRequest.number },
    directory: 'docs',
    assignee: 'hubot',
    close: () => fake.close(),
  };
});

describe('Class: GitHubClient (construction)', () => {
  it('throws NotFoundError, not a crash, against a base URL with a path prefix it cannot find', async () => {
    // Prepare
    const enterprise = new GitHubClient({
      baseUrl: `${github.baseUrl}/api/v3`,
      auth: bearerAuth({ token: TOKEN }),
    });
    // Act
    const attempt = enterprise.listIssues({ ...REPO });
    // Assess
    await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
    enterprise.close();
  });
});
