/**
 * The GitHub REST API: the only code that talks to GitHub. `githubApi` states GitHub's facts for the
 * core's REST kit (headers, rate-limit headers, Link pagination, its quirks); `GitHubApi` holds the calls on
 * parsed input (the runtime's parse is the one parse); `GitHubClient` is the library face, the source
 * control interface for callers outside the runtime, which parses their input once.
 */
import {
  type ConnectorError,
  defineRestProvider,
  type FieldIssue,
  type HttpResponse,
  linkHeader,
  NotFoundError,
  NotSupportedError,
  parseInput,
  providerMessage,
  RateLimitedError,
  type RequestAuth,
  type RestClient,
  ValidationError,
} from '@circle-core/core';
import * as z from 'zod';
import { utcSeconds } from '#shared/data/timestamps.ts';
import type { SourceControl, SourceControlCapability } from '#shared/interfaces/source-control.ts';
import {
  CommentOnIssueInput,
  CreateIssueInput,
  GetFileInput,
  type Issue,
  type IssueComment,
  type IssuePage,
  ListIssuesInput,
  type ListIssuesQuery,
  type RepositoryFile,
} from '#shared/models/source-control.ts';
import type { AddLabelsInput, AddLabelsOutput } from './models.ts';
import {
  ContentAnswer,
  decodeFile,
  RawComment,
  RawIssue,
  RawLabels,
  toComment,
  toIssue,
} from './responses.ts';

/** GitHub answers a secondary rate limit without `Retry-After` sometimes; its docs say wait a minute. */
const SECONDARY_LIMIT_WAIT_MS = 60_000;
const MAX_PATH_IN_MESSAGE = 200;

const ValidationFailure = z.object({
  errors: z.array(z.object({ field: z.string().optional(), code: z.string().optional() })).optional(),
});

/** Why git cannot name anything with `ref` (the rules of `git check-ref-format`), or undefined. */
export function refProblem(ref: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f]/.test(ref)) return 'contains a control character (NUL, tab, newline, ...)';
  if (/[ ~^:?*[\\]/.test(ref)) return 'contains a space or one of ~ ^ : ? * [ \\';
  if (ref.includes('..')) return 'contains ..';
  if (ref.includes('@{')) return 'contains @{';
  if (ref === '@') return 'is @ alone';
  if (ref.startsWith('/') || ref.endsWith('/') || ref.includes('//')) {
    return 'starts or ends with /, or has an empty component (//)';
  }
  if (ref.endsWith('.')) return 'ends with .';
  for (const component of ref.split('/')) {
    if (component.startsWith('.')) return 'has a component starting with .';
    if (component.endsWith('.lock')) return 'has a component ending with .lock';
  }
  return undefined;
}

/**
 * Refuses a branch, tag or ref git cannot name (the run-time check of every operation taking one), before
 * any call: GitHub would only answer 404 for it.
 *
 * @example
 * ```ts
 * checkRef('main\u0000', '/ref'); // ValidationError naming /ref
 * ```
 */
export function checkRef(ref: string, pointer: string): void {
  const problem = refProblem(ref);
  if (problem === undefined) return;
  throw new ValidationError(`The ref at ${pointer} cannot name a branch, tag or commit: it ${problem}`, [
    { pointer, message: `not a valid git ref: ${problem}` },
  ]);
}

/**
 * GitHub-specific failures the error table cannot say: a 422's field errors, and a secondary rate limit
 * announced by its message alone.
 *
 * @example
 * ```ts
 * inspectGitHubResponse({ status: 422, headers: {}, body: { message: 'Validation Failed' }, url }); // ValidationError
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

/** GitHub's REST API as data; its settings are `GITHUB_API_URL`, `GITHUB_TIMEOUT_MS`, ... */
export const githubApi = defineRestProvider({
  name: 'GitHub',
  settingsPrefix: 'GITHUB',
  baseUrl: 'https://api.github.com',
  baseUrlNote: 'GitHub Enterprise Server: `https://HOST/api/v3`',
  auth: { kind: 'bearer' },
  headers: { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' },
  // Statuses map as the core maps them; a 404 may also mean "hidden from these credentials".
  errors: { codeIn: 'status', notFoundHint: 'or is not visible to these credentials' },
  inspect: inspectGitHubResponse,
  pagination: linkHeader({ keys: ['state', 'labels', 'since', 'sort', 'direction', 'per_page'] }),
  // Both rate limits answer 403 as well as 429.
  rateLimit: {
    remaining: 'x-ratelimit-remaining',
    reset: 'x-ratelimit-reset',
    resetFormat: 'epoch-seconds',
    throttleStatuses: [403],
  },
  // 5,000 requests an hour per token or installation; shared by every container through the coordination table.
  rateBudget: { limit: 4_500, perMs: 3_600_000 },
});

/** GitHub's remaining core request budget, from `GET /rate_limit`. */
export interface RateLimitStatus {
  limit: number;
  remaining: number;
  /** When the budget resets, ISO 8601. */
  resetAt: string;
}

const RateLimitAnswer = z.object({
  resources: z.object({ core: z.object({ limit: z.number(), remaining: z.number(), reset: z.number() }) }),
});

function repoPath(owner: string, repo: string): string {
  return `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
}

function shortPath(path: string): string {
  return path.length > MAX_PATH_IN_MESSAGE ? `${path.slice(0, MAX_PATH_IN_MESSAGE - 1)}…` : path;
}

/**
 * GitHub's issues, comments and file contents on parsed input. GETs are retried by the core; POSTs are
 * sent once (GitHub has no idempotency keys, so a POST that failed after sending is never repeated). A
 * 404 names what was missing, since GitHub also answers 404 for what it hides.
 *
 * @example
 * ```ts
 * const github = new GitHubApi(githubApi.client({ credential: process.env.GITHUB_TOKEN ?? '' }));
 * const issue = await github.createIssue({ owner: 'octo', repo: 'hello', title: 'Found a bug' });
 * ```
 */
export class GitHubApi {
  readonly #rest: RestClient;

  constructor(rest: RestClient) {
    this.#rest = rest;
  }

  /**
   * Opens an issue (`POST /repos/{owner}/{repo}/issues`), sent once.
   *
   * @example
   * ```ts
   * await github.createIssue({ owner: 'octo', repo: 'hello', title: 'Bug', labels: ['bug'] });
   * ```
   */
  async createIssue(input: CreateIssueInput): Promise<Issue> {
    const { owner, repo, ...json } = input;
    const notFound = `Repository ${owner}/${repo}`;
    const options = { json, what: 'an issue', notFound };
    return toIssue(await this.#rest.post(`${repoPath(owner, repo)}/issues`, RawIssue, options));
  }

  /**
   * Comments on an issue or pull request (`POST .../issues/{number}/comments`), sent once.
   *
   * @example
   * ```ts
   * await github.commentOnIssue({ owner: 'octo', repo: 'hello', issueNumber: 7, body: 'Deployed' });
   * ```
   */
  async commentOnIssue(input: CommentOnIssueInput): Promise<IssueComment> {
    const { owner, repo, issueNumber, body } = input;
    const raw = await this.#rest.post(`${repoPath(owner, repo)}/issues/${issueNumber}/comments`, RawComment, {
      json: { body },
      what: 'a comment',
      notFound: `Issue #${issueNumber} in ${owner}/${repo}`,
    });
    return toComment(raw, issueNumber);
  }

  /**
   * Adds labels to an issue (`POST .../issues/{number}/labels`). Adding a label the issue already has
   * changes nothing, so a repeat is harmless.
   *
   * @example
   * ```ts
   * await github.addLabels({ owner: 'octo', repo: 'hello', issueNumber: 7, labels: ['bug'] }); // { labels: ['bug'] }
   * ```
   */
  async addLabels(input: AddLabelsInput): Promise<AddLabelsOutput> {
    const { owner, repo, issueNumber, labels } = input;
    const raw = await this.#rest.post(`${repoPath(owner, repo)}/issues/${issueNumber}/labels`, RawLabels, {
      json: { labels },
      what: 'labels',
      notFound: `Issue #${issueNumber} in ${owner}/${repo}`,
    });
    return { issueNumber, labels: raw.map((label) => label.name) };
  }

  /**
   * One page of issues (`GET /repos/{owner}/{repo}/issues`), following GitHub's Link header: the answer
   * carries `nextPage` and an opaque `nextCursor` (the next link's filters) until the last page. GitHub
   * lists pull requests among issues; they are removed unless `includePullRequests` is set, so a page may
   * hold fewer than `perPage`.
   *
   * @example
   * ```ts
   * let page = await github.listIssues({ ...ListIssuesInput.parse({ owner: 'octo', repo: 'hello' }) });
   * ```
   */
  async listIssues(input: ListIssuesQuery): Promise<IssuePage> {
    const { owner, repo, labels } = input;
    // `labels` is one comma-separated value: a comma inside a name would filter by two labels.
    const comma = labels?.findIndex((label) => label.includes(',')) ?? -1;
    if (comma !== -1) {
      const message = 'expected a label without a comma (GitHub separates the labels filter with commas)';
      throw new ValidationError(`Invalid input: /labels/${comma}: ${message}`, [
        { pointer: `/labels/${comma}`, message },
      ]);
    }
    const { items, ...position } = await this.#rest.list(
      `${repoPath(owner, repo)}/issues`,
      z.array(RawIssue),
      {
        query: {
          state: input.state,
          sort: input.sort,
          direction: input.direction,
          per_page: input.perPage,
          page: input.page ?? 1,
          // GitHub documents `since` as YYYY-MM-DDTHH:MM:SSZ: an offset or a fraction is sent as that UTC second.
          since: input.since === undefined ? undefined : utcSeconds(input.since),
          labels: labels !== undefined && labels.length > 0 ? labels.join(',') : undefined,
        },
        cursor: input.cursor,
        items: (raw) => raw.map(toIssue),
        what: 'an issue list',
        notFound: `Repository ${owner}/${repo}`,
      },
    );
    return {
      issues: input.includePullRequests ? items : items.filter((issue) => !issue.isPullRequest),
      ...position,
    };
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
    const { owner, repo, path, ref } = input;
    if (ref !== undefined) checkRef(ref, '/ref');
    const clean = path.replace(/^\/+|\/+$/g, '');
    const shown = shortPath(clean);
    const directory = (what: string): ValidationError =>
      new ValidationError(`${shown || '/'} is ${what}, not a file`, [
        { pointer: '/path', message: `is ${what}` },
      ]);
    if (clean === '') throw directory('the repository root');
    const entry = await this.#rest.get(
      `${repoPath(owner, repo)}/contents/${clean.split('/').map(encodeURIComponent).join('/')}`,
      ContentAnswer,
      {
        ...(ref === undefined ? {} : { query: { ref } }),
        what: 'a file',
        notFound: `File ${shown} in ${owner}/${repo}${ref === undefined ? '' : ` at ${ref}`}`,
      },
    );
    if (Array.isArray(entry)) throw directory('a directory');
    if (entry.type !== 'file') throw directory(`a ${entry.type}`);
    if (entry.encoding !== 'base64') {
      throw new NotSupportedError(
        `${shown} is larger than 1 MB; the GitHub contents API does not return its content`,
      );
    }
    return decodeFile(entry);
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
    const { resources } = await this.#rest.get('/rate_limit', RateLimitAnswer, {
      what: 'GET /rate_limit',
      notFound: 'The rate limit endpoint',
    });
    const { limit, remaining, reset } = resources.core;
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
      await this.#rest.get('/', z.unknown(), { notFound: 'The API root' });
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
    this.#rest.close();
  }
}

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

/**
 * GitHub as a {@link SourceControl} for library use: each method parses its caller's input (a
 * ValidationError before any call to GitHub), then runs the {@link GitHubApi} call. The connector's
 * operations call `GitHubApi` directly, with the input the runtime already parsed.
 *
 * @example
 * ```ts
 * const github = new GitHubClient({ auth: bearerAuth({ token: process.env.GITHUB_TOKEN ?? '' }) });
 * const page = await github.listIssues({ owner: 'octo', repo: 'hello', state: 'open' });
 * ```
 */
/** What the source-control interface may ask of GitHub; the connector adds what it does beyond it. */
export const GITHUB_CAPABILITIES: readonly SourceControlCapability[] = [
  'labels',
  'assignees',
  'since-filter',
  'binary-files',
  'pull-requests-as-issues',
];

export class GitHubClient implements SourceControl {
  readonly capabilities: ReadonlySet<SourceControlCapability> = new Set(GITHUB_CAPABILITIES);
  readonly api: GitHubApi;

  constructor(options: GitHubClientOptions = {}, rest: RestClient = githubApi.client(options)) {
    this.api = new GitHubApi(rest);
  }

  async createIssue(input: CreateIssueInput): Promise<Issue> {
    return this.api.createIssue(parseInput(CreateIssueInput, input));
  }

  async commentOnIssue(input: CommentOnIssueInput): Promise<IssueComment> {
    return this.api.commentOnIssue(parseInput(CommentOnIssueInput, input));
  }

  async listIssues(input: ListIssuesInput): Promise<IssuePage> {
    return this.api.listIssues(parseInput(ListIssuesInput, input));
  }

  async getFile(input: GetFileInput): Promise<RepositoryFile> {
    return this.api.getFile(parseInput(GetFileInput, input));
  }

  rateLimit(): Promise<RateLimitStatus> {
    return this.api.rateLimit();
  }

  ping(): Promise<void> {
    return this.api.ping();
  }

  close(): void {
    this.api.close();
  }
}
