/**
 * A CONTRACT FAKE of GitHub's REST API (version 2022-11-28) on 127.0.0.1, built on the contract-fake kit
 * (`./kit/`), for tests that drive a real client over HTTP and for the local stack's sandbox. It follows the REST reference for the endpoints below: status codes, error bodies
 * (`{ message, documentation_url, status }`), pagination (`Link` with rel="next"/"prev"/"first"/"last"),
 * rate-limit headers, and bearer/app authentication.
 *
 * Endpoints
 * - `GET /` and `GET /rate_limit` (the latter does not count against the rate limit)
 * - `GET /repos/{owner}/{repo}/issues` (`state` open|closed|all, `labels` a,b, `since` ISO on updated_at,
 *   `sort` created|updated|comments, `direction` asc|desc, `per_page` 1..100 (default 30), `page`);
 *   pull requests are listed too, carrying a `pull_request` key, exactly as GitHub does
 * - `POST /repos/{owner}/{repo}/issues` (201, `Location`; 422 Validation Failed without a title)
 * - `POST /repos/{owner}/{repo}/issues/{number}/comments` (201; 404 for an unknown issue)
 * - `GET` and `PATCH /repos/{owner}/{repo}/issues/{number}` (title, body, labels, assignees, `state` open|closed;
 *   422 Validation Failed naming `title` or `state`; 404 for an unknown issue)
 * - `POST /repos/{owner}/{repo}/issues/{number}/labels` (`{ labels: [names] }` added to the issue's labels,
 *   a name it already has is not added twice; answers 200 with every label of the issue; 422 Validation
 *   Failed without a non-empty array of non-empty names; 404 for an unknown issue)
 * - `GET /repos/{owner}/{repo}/contents/{path}` (`ref`; a file is `{ type: 'file', encoding: 'base64',
 *   content }` with the base64 wrapped every 60 characters, a directory is an array, files over 1 MB have
 *   `encoding: 'none'` and empty content; 404 `Not Found`, or `No commit found for the ref x`)
 * - `POST /app/installations/{id}/access_tokens` (needs an RS256 app JWT verified with the app's public
 *   key: iss = app id, iat/exp numeric, exp in the future and at most 10 minutes after iat; answers 201
 *   `{ token, expires_at, permissions, repository_selection }`; the token is then accepted until it expires)
 *
 * Authentication: `Authorization: Bearer <token>` (or `token <token>`) with a token from `options.tokens`,
 * `addToken()` or an issued installation token; anything else is 401 `{"message":"Bad credentials"}`.
 * Every answer carries `x-ratelimit-limit/remaining/used/reset/resource` and `x-github-request-id`.
 *
 * Test controls
 * - `fake.failNext(route, fault)`: the next matching request (optionally only when `fault.when(request)`
 *   holds, `fault.times` times) answers the fault instead; `githubFaults` builds the usual ones: bad
 *   credentials, primary rate limit (`x-ratelimit-remaining: 0` + `x-ratelimit-reset`), secondary rate
 *   limit (403 + `retry-after`), 5xx, malformed JSON, a slow answer (timeouts).
 * - `fake.inject(route, fault)`: one of the contract-fake kit's faults (`./kit/faults.ts`), the error kinds
 *   rendered as GitHub answers them (401 Bad credentials, 403 Resource not accessible by integration, 404,
 *   409, 429/403 secondary rate limit with `retry-after`, 5xx Server Error), or a malformed, wrong-shaped or
 *   oversized answer, a hang or a dropped connection.
 * - `fake.requests`: every request received (route, method, path, query, headers, parsed body).
 * - a seeded store: `options.repos` or `addRepo`, `addIssue` (explicit timestamps for `since` tests),
 *   `putFile`, `issues(repo)`, `comments(repo, number)`.
 * - `options.now`: the fake's clock (issue timestamps, JWT checks, token expiry, rate-limit reset).
 *
 * @example
 * ```ts
 * const github = await startGitHubFake({ tokens: ['ghp_test'], repos: { 'octo/hello': { files: { 'README.md': 'hi' } } } });
 * github.failNext('list-issues', githubFaults.serverError());
 * // ... point GITHUB_API_URL at github.baseUrl ...
 * await github.close();
 * ```
 */
import {
  createHash,
  createPublicKey,
  type KeyObject,
  randomBytes,
  verify as verifySignature,
} from 'node:crypto';
import {
  type Answer,
  type ErrorDialect,
  type FakeRequest,
  type Fault,
  type FaultTarget,
  json,
  type RouteContext,
  refuse,
  type StartOptions,
  startFake,
} from './kit/index.ts';

/** Route names for `failNext` and `requests[].route`. */
export type GitHubRoute =
  | 'root'
  | 'rate-limit'
  | 'list-issues'
  | 'create-issue'
  | 'create-comment'
  | 'add-labels'
  | 'get-content'
  | 'create-installation-token'
  | 'unknown';

/** One request as the fake received it. */
export interface RecordedRequest {
  route: GitHubRoute;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Lower-cased names. */
  headers: Record<string, string>;
  /** Parsed JSON, the raw text when it is not JSON, undefined when empty. */
  body: unknown;
}

/** What an injected failure answers. */
export interface GitHubFault {
  status?: number;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is (wins over `body`), with `contentType`. */
  rawBody?: string;
  contentType?: string;
  /** Wait this long before answering (a client with a shorter timeout gives up first). */
  delayMs?: number;
  /** How many matching requests answer the fault; default 1. */
  times?: number;
  /** Only requests for which this holds (e.g. `(r) => r.query['page'] === '2'`). */
  when?: (request: RecordedRequest) => boolean;
}

/** A seeded issue (or pull request); omitted fields get GitHub-like defaults. */
export interface FakeIssueSeed {
  number?: number;
  title: string;
  body?: string | null;
  state?: 'open' | 'closed';
  labels?: string[];
  assignees?: string[];
  user?: string;
  createdAt?: string;
  updatedAt?: string;
  closedAt?: string | null;
  comments?: number;
  pullRequest?: boolean;
}

/** An issue as the fake stores it (GitHub's JSON is rendered from this). */
export interface FakeIssue {
  id: number;
  number: number;
  title: string;
  body: string | null;
  state: 'open' | 'closed';
  labels: string[];
  assignees: string[];
  user: string;
  createdAt: string;
  updatedAt: string;
  closedAt: string | null;
  comments: number;
  pullRequest: boolean;
}

/** A stored comment. */
export interface FakeComment {
  id: number;
  issueNumber: number;
  body: string;
  user: string;
  createdAt: string;
}

/** Seed data of one repository. */
export interface FakeRepoSeed {
  defaultBranch?: string;
  issues?: FakeIssueSeed[];
  /** Path -> content on the default branch. */
  files?: Record<string, string | Buffer>;
}

/** A GitHub App the fake knows: its id, the public half of its key, its installations. */
export interface FakeApp {
  appId: number;
  publicKey: string | KeyObject;
  installations: number[];
  /** Life of issued installation tokens; default 3600 (GitHub's one hour). */
  tokenLifetimeSeconds?: number;
}

export interface GitHubFakeOptions {
  tokens?: string[];
  app?: FakeApp;
  repos?: Record<string, FakeRepoSeed>;
  /** Requests per hour announced in the rate-limit headers; default 5000. */
  rateLimit?: number;
  /** The fake's clock in epoch ms; default `Date.now`. */
  now?: () => number;
  /** Default 0: an ephemeral port (tests); the local stack may pin one. */
  port?: number;
  /** Called with the HTTP server before it listens (the local stack's Host/Origin gate). */
  prepare?: StartOptions['prepare'];
}

export interface GitHubFake {
  /** e.g. `http://127.0.0.1:43123`; use as the API base URL. */
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  /** Installation tokens issued so far, in order. */
  readonly issuedTokens: string[];
  failNext(route: GitHubRoute | '*', fault: GitHubFault): void;
  /** Queues a kit fault (malformed, wrong-shape, oversized, throttled, ...) for `route` (`'*'`: any). */
  inject(route: GitHubRoute | '*', fault: Fault, target?: Omit<FaultTarget, 'route'>): void;
  /** Drops pending faults. */
  clearFaults(): void;
  addToken(token: string): void;
  revokeToken(token: string): void;
  addRepo(fullName: string, seed?: FakeRepoSeed): void;
  addIssue(fullName: string, seed: FakeIssueSeed): FakeIssue;
  putFile(fullName: string, path: string, content: string | Buffer, ref?: string): void;
  issues(fullName: string): FakeIssue[];
  comments(fullName: string, issueNumber: number): FakeComment[];
  close(): Promise<void>;
}

/**
 * Ready-made faults, shaped as GitHub sends them.
 *
 * @example
 * ```ts
 * github.failNext('get-content', githubFaults.secondaryRateLimit(1));
 * ```
 */
export const githubFaults = {
  badCredentials: (): GitHubFault => ({ status: 401, body: errorBody(401, 'Bad credentials') }),
  /** `x-ratelimit-remaining: 0` with the reset time; GitHub answers 403 or 429. */
  primaryRateLimit: (resetEpochSeconds: number, status: 403 | 429 = 403): GitHubFault => ({
    status,
    headers: {
      'x-ratelimit-remaining': '0',
      'x-ratelimit-used': '5000',
      'x-ratelimit-reset': String(resetEpochSeconds),
    },
    body: {
      message: 'API rate limit exceeded for installation ID 1.',
      documentation_url:
        'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-primary-rate-limits',
      status: String(status),
    },
  }),
  secondaryRateLimit: (retryAfterSeconds?: number): GitHubFault => ({
    status: 403,
    headers: retryAfterSeconds === undefined ? {} : { 'retry-after': String(retryAfterSeconds) },
    body: secondaryLimitBody(403),
  }),
  serverError: (status = 502): GitHubFault => ({ status, body: serverErrorBody(status) }),
  malformedJson: (status = 200): GitHubFault => ({
    status,
    rawBody: '{"number": 1, "title": ',
    contentType: 'application/json; charset=utf-8',
  }),
  slow: (delayMs: number): GitHubFault => ({ delayMs }),
};

const DOCS = 'https://docs.github.com/rest';
const API_VERSIONS = new Set(['2022-11-28', '2026-03-10']);
const MAX_CONTENT_BYTES = 1024 * 1024;

/** GitHub's error body: `{ message, documentation_url, status }` (status as a string). */
function errorBody(
  status: number,
  message: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { message, documentation_url: DOCS, status: String(status), ...extra };
}

function secondaryLimitBody(status: number): Record<string, unknown> {
  return {
    message:
      'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.',
    documentation_url:
      'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
    status: String(status),
  };
}

function serverErrorBody(status: number): Record<string, unknown> {
  return { message: 'Server Error', status: String(status) };
}

function fail(status: number, message: string, extra: Record<string, unknown> = {}): never {
  refuse(json(status, errorBody(status, message, extra)));
}

/** What GitHub says for each error kind that has one message. */
const ERROR_MESSAGES = {
  unauthorized: 'Bad credentials',
  forbidden: 'Resource not accessible by integration',
  'not-found': 'Not Found',
  conflict: 'Conflict',
} as const;

/** The kit's error kinds as GitHub answers them (a throttle is a secondary rate limit, 403 or 429). */
const githubErrors: ErrorDialect = (kind, { status }) => {
  if (kind === 'throttled') return json(status, secondaryLimitBody(status));
  if (kind === 'server-error') return json(status, serverErrorBody(status));
  return json(status, errorBody(status, ERROR_MESSAGES[kind]));
};

interface Repo {
  owner: string;
  name: string;
  defaultBranch: string;
  issues: FakeIssue[];
  comments: FakeComment[];
  /** ref -> path -> bytes */
  files: Map<string, Map<string, Buffer>>;
  nextNumber: number;
}

function iso(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

function gitBlobSha(bytes: Buffer): string {
  return createHash('sha1')
    .update(Buffer.concat([Buffer.from(`blob ${bytes.length}\0`), bytes]))
    .digest('hex');
}

function base64UrlDecode(text: string): Buffer {
  return Buffer.from(text, 'base64url');
}

function objectBody(body: unknown): Record<string, unknown> {
  return (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
}

function parseBody(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
interface ListQuery {
  state: string;
  sort: string;
  direction: string;
  perPage: number;
  page: number;
  since: number | undefined;
  labels: string[];
}

function oneOf(value: string, allowed: string[]): string {
  if (!allowed.includes(value)) fail(422, 'Validation Failed');
  return value;
}

function listQuery(query: Record<string, string>): ListQuery {
  let since: number | undefined;
  if (query['since'] !== undefined) {
    since = Date.parse(query['since']);
    if (Number.isNaN(since)) fail(422, 'Invalid value for since');
  }
  return {
    state: oneOf(query['state'] ?? 'open', ['open', 'closed', 'all']),
    sort: oneOf(query['sort'] ?? 'created', ['created', 'updated', 'comments']),
    direction: oneOf(query['direction'] ?? 'desc', ['asc', 'desc']),
    // GitHub clamps per_page to 100 rather than refusing it.
    perPage: Math.min(100, Math.max(1, Number(query['per_page'] ?? 30) || 30)),
    page: Math.max(1, Number(query['page'] ?? 1) || 1),
    since,
    labels: (query['labels'] ?? '')
      .split(',')
      .map((label) => label.trim())
      .filter((label) => label !== ''),
  };
}

function matchingIssues(issues: FakeIssue[], q: ListQuery): FakeIssue[] {
  const sortKey = (issue: FakeIssue): number => {
    if (q.sort === 'comments') return issue.comments;
    return Date.parse(q.sort === 'updated' ? issue.updatedAt : issue.createdAt);
  };
  const sign = q.direction === 'asc' ? 1 : -1;
  return issues
    .filter((issue) => q.state === 'all' || issue.state === q.state)
    .filter((issue) => q.since === undefined || Date.parse(issue.updatedAt) >= q.since)
    .filter((issue) => q.labels.every((label) => issue.labels.includes(label)))
    .sort((a, b) => (sortKey(a) - sortKey(b) || a.number - b.number) * sign);
}

/** GitHub's Link header for page `page` of `lastPage`. */
function linkHeader(target: (page: number) => string, page: number, lastPage: number): string | undefined {
  const links: string[] = [];
  if (page > 1) links.push(`<${target(Math.min(page - 1, lastPage))}>; rel="prev"`);
  if (page < lastPage) links.push(`<${target(page + 1)}>; rel="next"`, `<${target(lastPage)}>; rel="last"`);
  if (page > 1) links.push(`<${target(1)}>; rel="first"`);
  return links.length === 0 ? undefined : links.join(', ');
}

/** GitHub wraps base64 content every 60 characters and ends it with a newline. */
function wrappedBase64(bytes: Buffer): string {
  const lines = bytes.toString('base64').match(/.{1,60}/g) ?? [];
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

function decodeJwtPart(part: string): Record<string, unknown> {
  const value: unknown = JSON.parse(base64UrlDecode(part).toString('utf8'));
  if (typeof value !== 'object' || value === null) throw new Error('not an object');
  return value as Record<string, unknown>;
}

/** A {@link GitHubFault} as a kit fault: an answer instead of the route's, or only a delay. */
function kitFault(fault: GitHubFault): Fault {
  if (fault.status === undefined && fault.rawBody === undefined) return { kind: 'slow', delayMs: 0 };
  const answer: Answer = { status: fault.status ?? 200 };
  if (fault.headers !== undefined) answer.headers = fault.headers;
  if (fault.rawBody !== undefined) {
    answer.body = fault.rawBody;
    if (fault.contentType !== undefined) answer.contentType = fault.contentType;
  } else if (fault.body !== undefined) answer.json = fault.body;
  return { kind: 'answer', answer };
}

/** The store behind the fake: tokens, rate-limit counters, repositories. */
class GitHubStore {
  /** token -> expiry in epoch ms (Infinity for static tokens). */
  readonly tokens = new Map<string, number>();
  readonly used = new Map<string, number>();
  readonly repos = new Map<string, Repo>();
  readonly issuedTokens: string[] = [];
  nextId = 1000;
  readonly #now: () => number;

  constructor(options: GitHubFakeOptions, now: () => number) {
    this.#now = now;
    for (const token of options.tokens ?? []) this.tokens.set(token, Number.POSITIVE_INFINITY);
    for (const [fullName, seed] of Object.entries(options.repos ?? {})) this.addRepo(fullName, seed);
  }

  addRepo(fullName: string, seed: FakeRepoSeed = {}): void {
    const [owner = '', name = ''] = fullName.split('/');
    const defaultBranch = seed.defaultBranch ?? 'main';
    this.repos.set(fullName.toLowerCase(), {
      owner,
      name,
      defaultBranch,
      issues: [],
      comments: [],
      files: new Map([[defaultBranch, new Map()]]),
      nextNumber: 1,
    });
    for (const issue of seed.issues ?? []) this.addIssue(fullName, issue);
    for (const [path, content] of Object.entries(seed.files ?? {})) this.putFile(fullName, path, content);
  }

  addIssue(fullName: string, seed: FakeIssueSeed): FakeIssue {
    const repo = this.repoOrCreate(fullName);
    const number = seed.number ?? repo.nextNumber;
    repo.nextNumber = Math.max(repo.nextNumber, number + 1);
    const created = seed.createdAt ?? iso(this.#now());
    const updated = seed.updatedAt ?? created;
    const state = seed.state ?? 'open';
    const issue: FakeIssue = {
      id: this.nextId++,
      number,
      title: seed.title,
      body: seed.body ?? null,
      state,
      labels: seed.labels ?? [],
      assignees: seed.assignees ?? [],
      user: seed.user ?? 'octocat',
      createdAt: created,
      updatedAt: updated,
      closedAt: seed.closedAt ?? (state === 'closed' ? updated : null),
      comments: seed.comments ?? 0,
      pullRequest: seed.pullRequest ?? false,
    };
    repo.issues.push(issue);
    return issue;
  }

  putFile(fullName: string, path: string, content: string | Buffer, ref?: string): void {
    const repo = this.repoOrCreate(fullName);
    const branch = ref ?? repo.defaultBranch;
    const tree = repo.files.get(branch) ?? new Map<string, Buffer>();
    repo.files.set(branch, tree);
    tree.set(path.replace(/^\/+/, ''), typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
  }

  repo(fullName: string): Repo {
    const repo = this.repos.get(fullName.toLowerCase());
    if (repo === undefined) throw new Error(`GitHub fake: no repository ${fullName}; addRepo first`);
    return repo;
  }

  repoOrCreate(fullName: string): Repo {
    if (!this.repos.has(fullName.toLowerCase())) this.addRepo(fullName);
    return this.repo(fullName);
  }
}

/** GitHub's JSON for a user login. */
function userJson(api: string, login: string) {
  return {
    login,
    id: login.length * 1000 + 1,
    node_id: `U_${login}`,
    type: 'User',
    site_admin: false,
    url: `${api}/users/${login}`,
    html_url: `https://github.com/${login}`,
  };
}

/** GitHub's JSON for an issue (a pull request carries `pull_request`). */
function issueJson(baseUrl: string, repo: Repo, issue: FakeIssue): Record<string, unknown> {
  const api = `${baseUrl}/repos/${repo.owner}/${repo.name}`;
  const html = `https://github.com/${repo.owner}/${repo.name}`;
  const rendered: Record<string, unknown> = {
    id: issue.id,
    node_id: `I_${issue.id}`,
    url: `${api}/issues/${issue.number}`,
    repository_url: api,
    labels_url: `${api}/issues/${issue.number}/labels{/name}`,
    comments_url: `${api}/issues/${issue.number}/comments`,
    events_url: `${api}/issues/${issue.number}/events`,
    html_url: `${html}/${issue.pullRequest ? 'pull' : 'issues'}/${issue.number}`,
    number: issue.number,
    state: issue.state,
    state_reason: issue.state === 'closed' ? 'completed' : null,
    title: issue.title,
    body: issue.body,
    user: userJson(baseUrl, issue.user),
    labels: issue.labels.map((name, index) => ({
      id: 200 + index,
      node_id: `LA_${name}`,
      url: `${api}/labels/${encodeURIComponent(name)}`,
      name,
      color: 'f29513',
      default: false,
      description: null,
    })),
    assignee: issue.assignees[0] === undefined ? null : userJson(baseUrl, issue.assignees[0]),
    assignees: issue.assignees.map((login) => userJson(baseUrl, login)),
    milestone: null,
    locked: false,
    active_lock_reason: null,
    comments: issue.comments,
    closed_at: issue.closedAt,
    created_at: issue.createdAt,
    updated_at: issue.updatedAt,
    author_association: 'OWNER',
  };
  if (issue.pullRequest) {
    rendered['pull_request'] = {
      url: `${api}/pulls/${issue.number}`,
      html_url: `${html}/pull/${issue.number}`,
      diff_url: `${html}/pull/${issue.number}.diff`,
      patch_url: `${html}/pull/${issue.number}.patch`,
      merged_at: null,
    };
  }
  return rendered;
}

/** One entry of a contents answer: a file or a directory. */
function contentEntry(
  baseUrl: string,
  repo: Repo,
  ref: string,
  path: string,
  bytes: Buffer | undefined,
): Record<string, unknown> {
  const type = bytes === undefined ? 'dir' : 'file';
  const sha = gitBlobSha(bytes ?? Buffer.from(path));
  const self = `${baseUrl}/repos/${repo.owner}/${repo.name}/contents/${path}?ref=${encodeURIComponent(ref)}`;
  const html = `https://github.com/${repo.owner}/${repo.name}/${type === 'file' ? 'blob' : 'tree'}/${ref}/${path}`;
  const git = `${baseUrl}/repos/${repo.owner}/${repo.name}/git/${type === 'file' ? 'blobs' : 'trees'}/${sha}`;
  return {
    type,
    name: path.slice(path.lastIndexOf('/') + 1),
    path,
    sha,
    size: bytes?.length ?? 0,
    url: self,
    html_url: html,
    git_url: git,
    download_url:
      type === 'file' ? `https://raw.githubusercontent.com/${repo.owner}/${repo.name}/${ref}/${path}` : null,
    _links: { self, git, html },
  };
}

/** The repository a `/repos/:owner/:repo/...` request names (404 when unknown), counted against the rate limit. */
function repoOf({ request, params, state }: RouteContext<GitHubStore>): Repo {
  const token = request.token ?? '';
  state.used.set(token, (state.used.get(token) ?? 0) + 1);
  const repo = state.repos.get(`${params['owner']}/${params['repo']}`.toLowerCase());
  if (repo === undefined) fail(404, 'Not Found');
  return repo;
}

function listIssues(context: RouteContext<GitHubStore>): Answer {
  const { request, url } = context;
  const repo = repoOf(context);
  const q = listQuery(request.query);
  const matching = matchingIssues(repo.issues, q);
  const lastPage = Math.max(1, Math.ceil(matching.length / q.perPage));
  const items = matching.slice((q.page - 1) * q.perPage, q.page * q.perPage);
  const target = (page: number): string => {
    const params = new URLSearchParams(request.query);
    params.set('per_page', String(q.perPage));
    params.set('page', String(page));
    return `${url}${request.path}?${params.toString()}`;
  };
  const link = linkHeader(target, q.page, lastPage);
  return json(
    200,
    items.map((issue) => issueJson(url, repo, issue)),
    link === undefined ? {} : { link },
  );
}

function createIssue(context: RouteContext<GitHubStore>): Answer {
  const repo = repoOf(context);
  const input = objectBody(parseBody(context.request.rawBody));
  const title = input['title'];
  if (typeof title !== 'string' && typeof title !== 'number') {
    fail(422, 'Validation Failed', {
      errors: [{ resource: 'Issue', code: 'missing_field', field: 'title' }],
    });
  }
  const issue = context.state.addIssue(`${repo.owner}/${repo.name}`, {
    title: String(title),
    body: typeof input['body'] === 'string' ? input['body'] : null,
    labels: Array.isArray(input['labels']) ? input['labels'].map(String) : [],
    assignees: Array.isArray(input['assignees']) ? input['assignees'].map(String) : [],
    user: 'circle-core[bot]',
  });
  const rendered = issueJson(context.url, repo, issue);
  return json(201, rendered, { location: String(rendered['url']) });
}

/** The issue `:number` of the repository, or GitHub's 404. */
function issueOf(context: RouteContext<GitHubStore>): { repo: Repo; issue: FakeIssue } {
  const repo = repoOf(context);
  const issue = repo.issues.find((candidate) => String(candidate.number) === context.params['number']);
  if (issue === undefined) fail(404, 'Not Found');
  return { repo, issue };
}

/** `GET /repos/{owner}/{repo}/issues/{number}`. */
function getIssue(context: RouteContext<GitHubStore>): Answer {
  const { repo, issue } = issueOf(context);
  return json(200, issueJson(context.url, repo, issue));
}

/**
 * `PATCH /repos/{owner}/{repo}/issues/{number}`: title, body, labels and assignees replace what was there;
 * `state` open or closed (anything else is a 422 on `state`).
 */
function updateIssue(context: RouteContext<GitHubStore>, now: () => number): Answer {
  const { repo, issue } = issueOf(context);
  const input = objectBody(parseBody(context.request.rawBody));
  const invalid = (field: string): never =>
    fail(422, 'Validation Failed', { errors: [{ resource: 'Issue', code: 'invalid', field }] });
  if ('title' in input && (typeof input['title'] !== 'string' || input['title'] === '')) invalid('title');
  if ('state' in input && input['state'] !== 'open' && input['state'] !== 'closed') invalid('state');
  if (typeof input['title'] === 'string') issue.title = input['title'];
  if ('body' in input) issue.body = typeof input['body'] === 'string' ? input['body'] : null;
  if (Array.isArray(input['labels'])) issue.labels = input['labels'].map(String);
  if (Array.isArray(input['assignees'])) issue.assignees = input['assignees'].map(String);
  const at = iso(now());
  if (input['state'] !== undefined && input['state'] !== issue.state) {
    issue.state = input['state'] as 'open' | 'closed';
    issue.closedAt = issue.state === 'closed' ? at : null;
  }
  issue.updatedAt = at;
  return json(200, issueJson(context.url, repo, issue));
}

/**
 * `POST /repos/{owner}/{repo}/issues/{number}/labels`: adds the names to the issue's labels (a label the
 * repository does not have yet is created, as on GitHub) and answers every label the issue now has.
 */
function addLabels(context: RouteContext<GitHubStore>, now: () => number): Answer {
  const { repo, issue } = issueOf(context);
  const names = objectBody(parseBody(context.request.rawBody))['labels'];
  if (
    !Array.isArray(names) ||
    names.length === 0 ||
    names.some((name) => typeof name !== 'string' || name === '' || name.length > 50)
  ) {
    fail(422, 'Validation Failed', { errors: [{ resource: 'Label', code: 'invalid', field: 'labels' }] });
  }
  const added = (names as string[]).filter((name) => !issue.labels.includes(name));
  if (added.length > 0) {
    issue.labels = [...issue.labels, ...new Set(added)];
    issue.updatedAt = iso(now());
  }
  return json(200, issueJson(context.url, repo, issue)['labels']);
}

function createComment(context: RouteContext<GitHubStore>, now: () => number): Answer {
  const { state, url, params } = context;
  const repo = repoOf(context);
  const issue = repo.issues.find((candidate) => String(candidate.number) === params['number']);
  if (issue === undefined) fail(404, 'Not Found');
  const text = objectBody(parseBody(context.request.rawBody))['body'];
  if (typeof text !== 'string' || text === '') {
    fail(422, 'Validation Failed', {
      errors: [{ resource: 'IssueComment', code: 'missing_field', field: 'body' }],
    });
  }
  const comment: FakeComment = {
    id: state.nextId++,
    issueNumber: issue.number,
    body: text,
    user: 'circle-core[bot]',
    createdAt: iso(now()),
  };
  repo.comments.push(comment);
  issue.comments += 1;
  issue.updatedAt = comment.createdAt;
  const api = `${url}/repos/${repo.owner}/${repo.name}`;
  return json(
    201,
    {
      id: comment.id,
      node_id: `IC_${comment.id}`,
      url: `${api}/issues/comments/${comment.id}`,
      html_url: `https://github.com/${repo.owner}/${repo.name}/issues/${issue.number}#issuecomment-${comment.id}`,
      issue_url: `${api}/issues/${issue.number}`,
      body: comment.body,
      user: userJson(url, comment.user),
      created_at: comment.createdAt,
      updated_at: comment.createdAt,
      author_association: 'NONE',
    },
    { location: `${api}/issues/comments/${comment.id}` },
  );
}

function getContent(context: RouteContext<GitHubStore>): Answer {
  const { url, params, request } = context;
  const repo = repoOf(context);
  const ref = request.query['ref'] ?? repo.defaultBranch;
  const tree = repo.files.get(ref);
  if (tree === undefined) fail(404, `No commit found for the ref ${ref}`);
  const path = (params['path'] ?? '').replace(/^\/+|\/+$/g, '');
  const bytes = tree.get(path);
  if (bytes !== undefined) {
    // The contents API returns no content for files over 1 MB.
    const large = bytes.length > MAX_CONTENT_BYTES;
    return json(200, {
      ...contentEntry(url, repo, ref, path, bytes),
      encoding: large ? 'none' : 'base64',
      content: large ? '' : wrappedBase64(bytes),
    });
  }
  const prefix = path === '' ? '' : `${path}/`;
  const children = new Map<string, Record<string, unknown>>();
  for (const [filePath, fileBytes] of tree) {
    if (!filePath.startsWith(prefix)) continue;
    const rest = filePath.slice(prefix.length);
    const slash = rest.indexOf('/');
    const child = prefix + (slash === -1 ? rest : rest.slice(0, slash));
    children.set(child, contentEntry(url, repo, ref, child, slash === -1 ? fileBytes : undefined));
  }
  if (children.size === 0 && path !== '') fail(404, 'Not Found');
  return json(200, [...children.values()]);
}

/** Checks an RS256 app JWT as GitHub does: signature by the app's key, `iat`, `exp` (at most 10 minutes), `iss`. */
function checkAppJwt(
  request: FakeRequest,
  app: FakeApp | undefined,
  key: KeyObject | undefined,
  now: number,
): void {
  const undecodable = (): never => fail(401, 'A JSON web token could not be decoded');
  const parts = /^bearer\s+(\S+)$/i.exec(request.headers['authorization'] ?? '')?.[1]?.split('.') ?? [];
  const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
  if (app === undefined || key === undefined || parts.length !== 3) undecodable();
  let header: Record<string, unknown> = {};
  let claims: Record<string, unknown> = {};
  try {
    header = decodeJwtPart(headerPart);
    claims = decodeJwtPart(payloadPart);
  } catch {
    undecodable();
  }
  const signed = Buffer.from(`${headerPart}.${payloadPart}`);
  if (
    header['alg'] !== 'RS256' ||
    !verifySignature('sha256', signed, key as KeyObject, base64UrlDecode(signaturePart))
  ) {
    undecodable();
  }
  const seconds = Math.floor(now / 1000);
  const { iat, exp, iss } = claims;
  if (typeof iat !== 'number' || !Number.isInteger(iat) || iat > seconds + 60) {
    fail(
      401,
      "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued",
    );
  }
  if (typeof exp !== 'number' || exp <= seconds || exp - iat > 600) {
    fail(
      401,
      "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
    );
  }
  if (String(iss) !== String(app?.appId)) fail(401, 'Integration not found');
}

/**
 * Starts the fake on 127.0.0.1 with an ephemeral port (or `options.port`).
 *
 * @example
 * ```ts
 * const github = await startGitHubFake({ tokens: ['ghp_test'] });
 * github.addIssue('octo/hello', { title: 'First', updatedAt: '2024-01-01T00:00:00Z' });
 * ```
 */
export async function startGitHubFake(options: GitHubFakeOptions = {}): Promise<GitHubFake> {
  const now = options.now ?? Date.now;
  const limit = options.rateLimit ?? 5000;
  const { app } = options;
  const appKey = typeof app?.publicKey === 'string' ? createPublicKey(app.publicKey) : app?.publicKey;
  const requests: RecordedRequest[] = [];
  const records = new WeakMap<FakeRequest, RecordedRequest>();

  const rateHeaders = (state: GitHubStore, token: string | undefined): Record<string, string> => {
    const count = token === undefined ? 0 : (state.used.get(token) ?? 0);
    return {
      'x-ratelimit-limit': String(limit),
      'x-ratelimit-remaining': String(Math.max(0, limit - count)),
      'x-ratelimit-used': String(count),
      'x-ratelimit-reset': String(Math.floor(now() / 1000) + 3600),
      'x-ratelimit-resource': 'core',
    };
  };

  const createInstallationToken = ({ request, params, state }: RouteContext<GitHubStore>): Answer => {
    checkAppJwt(request, app, appKey, now());
    if (!(app as FakeApp).installations.map(String).includes(params['id'] ?? '')) fail(404, 'Not Found');
    const token = `ghs_${randomBytes(18).toString('base64url')}`;
    const expiresAt = now() + ((app as FakeApp).tokenLifetimeSeconds ?? 3600) * 1000;
    state.tokens.set(token, expiresAt);
    state.issuedTokens.push(token);
    return json(201, {
      token,
      expires_at: iso(expiresAt),
      permissions: { issues: 'write', contents: 'read', metadata: 'read' },
      repository_selection: 'all',
    });
  };

  const rateLimit = ({ request, state }: RouteContext<GitHubStore>): Answer => {
    const headers = rateHeaders(state, request.token);
    const core = {
      limit,
      remaining: Number(headers['x-ratelimit-remaining']),
      reset: Number(headers['x-ratelimit-reset']),
      used: Number(headers['x-ratelimit-used']),
      resource: 'core',
    };
    return json(200, { resources: { core }, rate: core });
  };

  const fake = await startFake<GitHubStore>(
    {
      name: 'GitHub',
      seed: () => new GitHubStore(options, now),
      errors: githubErrors,
      authorize: ({ request, state }) => {
        const expiry = request.token === undefined ? undefined : state.tokens.get(request.token);
        return expiry === undefined || expiry <= now() ? 'unauthorized' : undefined;
      },
      before: ({ request }) => {
        const version = request.headers['x-github-api-version'];
        if (version !== undefined && !API_VERSIONS.has(version)) {
          fail(400, `Unsupported 'X-GitHub-Api-Version': ${version.slice(0, 32)}`);
        }
        return undefined;
      },
      headers: ({ request, state }) => ({
        'x-github-api-version-selected': '2022-11-28',
        'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
        // Counted for a token the fake knows (expired included), as the headers of a refused call show.
        ...rateHeaders(
          state,
          request.token !== undefined && state.tokens.has(request.token) ? request.token : undefined,
        ),
      }),
      onRequest: (request) => {
        const record: RecordedRequest = {
          route: (request.route ?? 'unknown') as GitHubRoute,
          method: request.method,
          path: request.path,
          query: request.query,
          headers: request.headers,
          body: parseBody(request.rawBody),
        };
        requests.push(record);
        records.set(request, record);
      },
      routes: [
        {
          name: 'root',
          method: 'GET',
          path: '/',
          handle: ({ url }) =>
            json(200, { current_user_url: `${url}/user`, rate_limit_url: `${url}/rate_limit` }),
        },
        { name: 'rate-limit', method: 'GET', path: '/rate_limit', handle: rateLimit },
        { name: 'list-issues', method: 'GET', path: '/repos/:owner/:repo/issues', handle: listIssues },
        { name: 'create-issue', method: 'POST', path: '/repos/:owner/:repo/issues', handle: createIssue },
        { name: 'get-issue', method: 'GET', path: '/repos/:owner/:repo/issues/:number', handle: getIssue },
        {
          name: 'update-issue',
          method: 'PATCH',
          path: '/repos/:owner/:repo/issues/:number',
          handle: (context) => updateIssue(context, now),
        },
        {
          name: 'create-comment',
          method: 'POST',
          path: '/repos/:owner/:repo/issues/:number/comments',
          handle: (context) => createComment(context, now),
        },
        {
          name: 'add-labels',
          method: 'POST',
          path: '/repos/:owner/:repo/issues/:number/labels',
          handle: (context) => addLabels(context, now),
        },
        {
          name: 'get-content',
          method: 'GET',
          path: '/repos/:owner/:repo/contents/*path',
          handle: getContent,
        },
        {
          name: 'create-installation-token',
          method: 'POST',
          path: '/app/installations/:id/access_tokens',
          // Authenticated by the app's JWT, not by a token.
          auth: false,
          handle: createInstallationToken,
        },
      ],
    },
    {
      ...(options.port === undefined ? {} : { port: options.port }),
      ...(options.prepare === undefined ? {} : { prepare: options.prepare }),
    },
  );

  /** Requests of `route` (`'*'`: any) for which `when` holds, judged on their recorded form. */
  const matching =
    (route: GitHubRoute | '*', when?: (request: RecordedRequest) => boolean) =>
    (request: FakeRequest): boolean => {
      const record = records.get(request);
      return record !== undefined && (route === '*' || record.route === route) && (when?.(record) ?? true);
    };
  const { state } = fake;

  return {
    baseUrl: fake.url,
    requests,
    issuedTokens: state.issuedTokens,
    failNext: (route, fault) =>
      fake.inject(kitFault(fault), {
        when: matching(route, fault.when),
        times: fault.times ?? 1,
        delayMs: fault.delayMs ?? 0,
      }),
    inject: (route, fault, target = {}) => fake.inject(fault, { ...target, when: matching(route) }),
    clearFaults: () => fake.clearFaults(),
    addToken: (token) => {
      state.tokens.set(token, Number.POSITIVE_INFINITY);
    },
    revokeToken: (token) => {
      state.tokens.delete(token);
    },
    addRepo: (fullName, seed) => state.addRepo(fullName, seed),
    addIssue: (fullName, seed) => state.addIssue(fullName, seed),
    putFile: (fullName, path, content, ref) => state.putFile(fullName, path, content, ref),
    issues: (fullName) => [...state.repo(fullName).issues],
    comments: (fullName, issueNumber) =>
      state.repo(fullName).comments.filter((comment) => comment.issueNumber === issueNumber),
    close: () => fake.close(),
  };
}
