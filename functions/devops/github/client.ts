/**
 * The GitHub REST client: the only code that talks to GitHub. It implements the source control interface
 * on the core HttpClient and maps GitHub's own failure shapes (422 validation errors, the secondary rate
 * limit) onto the error taxonomy. Usable outside Lambda as a library.
 */
import {
  type ConnectorError,
  type FieldIssue,
  HttpClient,
  type HttpRequest,
  type HttpResponse,
  NotFoundError,
  NotSupportedError,
  parseInput,
  providerMessage,
  RateLimitedError,
  type RequestAuth,
  UnexpectedResponseError,
  ValidationError,
} from '@circle-core/core';
import * as z from 'zod';
import type { SourceControl, SourceControlCapability } from '#shared/interfaces/source-control.ts';
import {
  CommentOnIssueInput,
  CreateIssueInput,
  GetFileInput,
  type Issue,
  type IssueComment,
  type IssuePage,
  ListIssuesInput,
  type RepositoryFile,
} from '#shared/models/source-control.ts';
import { GITHUB_HEADERS, GITHUB_RATE_LIMIT } from './auth.ts';
import { decodeCursor, encodeCursor, pageOf, parseLinkHeader } from './pagination.ts';
import { commentFrom, contentEntryFrom, decodeFile, issueFrom, issuesFrom } from './responses.ts';

/** GitHub answers a secondary rate limit without `Retry-After` sometimes; its docs say wait a minute. */
const SECONDARY_LIMIT_WAIT_MS = 60_000;
const MAX_PATH_IN_MESSAGE = 200;

export interface GitHubClientOptions {
  /** Default `https://api.github.com` (GitHub Enterprise Server: `https://HOST/api/v3`). */
  baseUrl?: string;
  /** Token or app auth, see `auth.ts`. */
  auth?: RequestAuth;
  /** Per attempt; default 10 000. */
  timeoutMs?: number;
  /** Attempts of idempotent calls; default 3. POSTs are never retried. */
  maxAttempts?: number;
  /** The longest Retry-After waited for; default 60 000. */
  maxRetryAfterMs?: number;
}

/** GitHub's remaining core request budget, from `GET /rate_limit`. */
export interface RateLimitStatus {
  limit: number;
  remaining: number;
  /** When the budget resets, ISO 8601. */
  resetAt: string;
}

const RateLimitAnswer = z.object({
  resources: z.object({
    core: z.object({ limit: z.number(), remaining: z.number(), reset: z.number() }),
  }),
});

const ValidationFailure = z.object({
  errors: z
    .array(
      z.object({
        field: z.string().optional(),
        code: z.string().optional(),
      }),
    )
    .optional(),
});

/**
 * GitHub-specific failures the core's default mapping cannot know: a 422's field errors, and a secondary
 * rate limit announced by its message alone.
 *
 * @example
 * ```ts
 * new HttpClient({ provider: 'GitHub', inspect: inspectGitHubResponse });
 * ```
 */
export function inspectGitHubResponse(response: HttpResponse): ConnectorError | undefined {
  const { status, headers, body } = response;
  const said = providerMessage(body);
  if (
    (status === 403 || status === 429) &&
    headers['retry-after'] === undefined &&
    headers['x-ratelimit-remaining']?.trim() !== '0' &&
    /secondary rate limit/i.test(said ?? '')
  ) {
    return new RateLimitedError(`GitHub secondary rate limit reached (HTTP ${status})`, {
      retryAfterMs: SECONDARY_LIMIT_WAIT_MS,
      details: { status, provider: 'GitHub' },
    });
  }
  if (status === 422) {
    const parsed = ValidationFailure.safeParse(body);
    const issues: FieldIssue[] = (parsed.success ? (parsed.data.errors ?? []) : []).map((error) => ({
      pointer: error.field === undefined ? '' : `/${error.field}`,
      message: error.code ?? 'invalid',
    }));
    const summary = issues.map((issue) => `${issue.pointer || '/'} ${issue.message}`).join(', ');
    return new ValidationError(
      `GitHub rejected the request (HTTP 422): ${said ?? 'Validation Failed'}${summary === '' ? '' : ` (${summary})`}`,
      issues,
      { details: { status, provider: 'GitHub' } },
    );
  }
  return undefined;
}

function repoPath(owner: string, repo: string): string {
  return `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
}

function shortPath(path: string): string {
  return path.length > MAX_PATH_IN_MESSAGE ? `${path.slice(0, MAX_PATH_IN_MESSAGE - 1)}…` : path;
}

/**
 * GitHub as a {@link SourceControl}: issues, comments and file contents over the REST API, with the core
 * HTTP client's retries (GETs only: GitHub has no idempotency keys, so a POST that failed after sending is
 * never repeated), Retry-After and rate-limit handling, token refresh on 401 and circuit breaker.
 *
 * @example
 * ```ts
 * const github = new GitHubClient({ auth: bearerAuth({ token: process.env.GITHUB_TOKEN ?? '' }) });
 * const issue = await github.createIssue({ owner: 'octo', repo: 'hello', title: 'Found a bug' });
 * const page = await github.listIssues({ owner: 'octo', repo: 'hello', state: 'open' });
 * ```
 */
export class GitHubClient implements SourceControl {
  readonly capabilities: ReadonlySet<SourceControlCapability> = new Set<SourceControlCapability>([
    'labels',
    'assignees',
    'since-filter',
    'binary-files',
    'pull-requests-as-issues',
  ]);
  readonly #http: HttpClient;

  constructor(options: GitHubClientOptions = {}, http: HttpClient = GitHubClient.httpClient(options)) {
    this.#http = http;
  }

  /**
   * The core HTTP client configured for GitHub (headers, response inspection, limits).
   *
   * @example
   * ```ts
   * const http = GitHubClient.httpClient({ baseUrl: 'https://github.example.com/api/v3', auth });
   * ```
   */
  static httpClient(options: GitHubClientOptions): HttpClient {
    return new HttpClient({
      provider: 'GitHub',
      baseUrl: options.baseUrl ?? 'https://api.github.com',
      headers: { ...GITHUB_HEADERS },
      inspect: inspectGitHubResponse,
      rateLimit: GITHUB_RATE_LIMIT,
      ...(options.auth === undefined ? {} : { auth: options.auth }),
      ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
      ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
      ...(options.maxRetryAfterMs === undefined ? {} : { maxRetryAfterMs: options.maxRetryAfterMs }),
    });
  }

  /**
   * Opens an issue (`POST /repos/{owner}/{repo}/issues`). Sent once: GitHub offers no idempotency key,
   * so a retry after an ambiguous failure could open the issue twice.
   *
   * @example
   * ```ts
   * await github.createIssue({ owner: 'octo', repo: 'hello', title: 'Bug', labels: ['bug'] });
   * ```
   */
  async createIssue(input: CreateIssueInput): Promise<Issue> {
    const { owner, repo, ...fields } = parseInput(CreateIssueInput, input);
    const { body } = await this.#send(`Repository ${owner}/${repo}`, {
      method: 'POST',
      path: `${repoPath(owner, repo)}/issues`,
      json: fields,
    });
    return issueFrom(body);
  }

  /**
   * Comments on an issue or pull request (`POST .../issues/{number}/comments`); sent once, like createIssue.
   *
   * @example
   * ```ts
   * await github.commentOnIssue({ owner: 'octo', repo: 'hello', issueNumber: 7, body: 'Deployed' });
   * ```
   */
  async commentOnIssue(input: CommentOnIssueInput): Promise<IssueComment> {
    const { owner, repo, issueNumber, body: text } = parseInput(CommentOnIssueInput, input);
    const { body } = await this.#send(`Issue #${issueNumber} in ${owner}/${repo}`, {
      method: 'POST',
      path: `${repoPath(owner, repo)}/issues/${issueNumber}/comments`,
      json: { body: text },
    });
    return commentFrom(body, issueNumber);
  }

  /**
   * One page of issues (`GET /repos/{owner}/{repo}/issues`), following GitHub's Link header: the answer
   * carries `nextPage` and an opaque `nextCursor` until the last page. GitHub lists pull requests among
   * issues; they are removed unless `includePullRequests` is set, so a page may hold fewer than `perPage`.
   *
   * @example
   * ```ts
   * let page = await github.listIssues({ owner: 'octo', repo: 'hello', state: 'all', perPage: 100 });
   * while (page.nextCursor) page = await github.listIssues({ owner: 'octo', repo: 'hello', cursor: page.nextCursor });
   * ```
   */
  async listIssues(input: ListIssuesInput): Promise<IssuePage> {
    const request = parseInput(ListIssuesInput, input);
    const query: Record<string, string> =
      request.cursor === undefined
        ? {
            state: request.state,
            sort: request.sort,
            direction: request.direction,
            per_page: String(request.perPage),
            page: String(request.page ?? 1),
          }
        : decodeCursor(request.cursor);
    if (request.cursor === undefined && request.since !== undefined) query['since'] = request.since;
    if (request.cursor === undefined && request.labels !== undefined && request.labels.length > 0) {
      query['labels'] = request.labels.join(',');
    }
    const response = await this.#send(`Repository ${request.owner}/${request.repo}`, {
      method: 'GET',
      path: `${repoPath(request.owner, request.repo)}/issues`,
      query,
    });
    const issues = issuesFrom(response.body);
    const links = parseLinkHeader(response.headers['link']);
    const page: IssuePage = {
      issues: request.includePullRequests ? issues : issues.filter((issue) => !issue.isPullRequest),
    };
    const nextPage = pageOf(links.next);
    if (links.next !== undefined && nextPage !== undefined) {
      page.nextPage = nextPage;
      page.nextCursor = encodeCursor(links.next);
    }
    const lastPage = pageOf(links.last);
    if (lastPage !== undefined) page.lastPage = lastPage;
    return page;
  }

  /**
   * A file's content (`GET /repos/{owner}/{repo}/contents/{path}`): UTF-8 text as is, anything else
   * base64. A directory is a ValidationError; a file over 1 MB (which the contents API does not return)
   * a NotSupportedError.
   *
   * @example
   * ```ts
   * const readme = await github.getFile({ owner: 'octo', repo: 'hello', path: 'README.md', ref: 'main' });
   * ```
   */
  async getFile(input: GetFileInput): Promise<RepositoryFile> {
    const { owner, repo, path, ref } = parseInput(GetFileInput, input);
    const clean = path.replace(/^\/+|\/+$/g, '');
    const shown = shortPath(clean);
    const directory = (what: string): ValidationError =>
      new ValidationError(`${shown || '/'} is ${what}, not a file`, [
        { pointer: '/path', message: `is ${what}` },
      ]);
    if (clean === '') throw directory('the repository root');
    const response = await this.#send(
      `File ${shown} in ${owner}/${repo}${ref === undefined ? '' : ` at ${ref}`}`,
      {
        method: 'GET',
        path: `${repoPath(owner, repo)}/contents/${clean.split('/').map(encodeURIComponent).join('/')}`,
        ...(ref === undefined ? {} : { query: { ref } }),
      },
    );
    const entry = contentEntryFrom(response.body);
    if (!('file' in entry)) throw directory(entry.kind === 'dir' ? 'a directory' : `a ${entry.kind}`);
    if (entry.file.encoding !== 'base64') {
      throw new NotSupportedError(
        `${shown} is larger than 1 MB; the GitHub contents API does not return its content`,
      );
    }
    return decodeFile(entry.file);
  }

  /**
   * The core request budget (`GET /rate_limit`, which GitHub does not count): the connector's health check.
   *
   * @example
   * ```ts
   * const { remaining } = await github.rateLimit();
   * ```
   */
  async rateLimit(): Promise<RateLimitStatus> {
    const { body } = await this.#send('The rate limit endpoint', { method: 'GET', path: '/rate_limit' });
    const parsed = RateLimitAnswer.safeParse(body);
    if (!parsed.success) {
      throw new UnexpectedResponseError('GitHub answered GET /rate_limit without the core budget', {
        details: { provider: 'GitHub' },
      });
    }
    const { limit, remaining, reset } = parsed.data.resources.core;
    return { limit, remaining, resetAt: new Date(reset * 1000).toISOString() };
  }

  /**
   * Proves reachability and credentials cheaply: `GET /rate_limit`, or `GET /` on a GitHub Enterprise
   * Server whose rate limiting is off (it answers 404 for `/rate_limit` then).
   *
   * @example
   * ```ts
   * await github.ping();
   * ```
   */
  async ping(): Promise<void> {
    try {
      await this.rateLimit();
    } catch (error) {
      if (!(error instanceof NotFoundError)) throw error;
      await this.#send('The API root', { method: 'GET', path: '/' });
    }
  }

  /**
   * Closes the connection pool (library use; Lambda keeps it for the container's life).
   *
   * @example
   * ```ts
   * github.close();
   * ```
   */
  close(): void {
    this.#http.close();
  }

  /** Sends a request; a 404 names what was missing (GitHub also answers 404 for what it hides). */
  async #send(subject: string, request: HttpRequest): Promise<HttpResponse> {
    try {
      return await this.#http.request(request);
    } catch (error) {
      if (error instanceof NotFoundError) {
        throw new NotFoundError(
          `${subject} was not found, or is not visible to these credentials (${error.message})`,
          { cause: error, ...(error.details === undefined ? {} : { details: error.details }) },
        );
      }
      throw error;
    }
  }
}
