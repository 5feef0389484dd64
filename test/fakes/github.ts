/**
 * A CONTRACT FAKE of GitHub's REST API (version 2022-11-28) on 127.0.0.1, for tests that drive a real
 * client over HTTP. It follows the REST reference for the endpoints below: status codes, error bodies
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
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Route names for `failNext` and `requests[].route`. */
export type GitHubRoute =
  | 'root'
  | 'rate-limit'
  | 'list-issues'
  | 'create-issue'
  | 'create-comment'
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
}

export interface GitHubFake {
  /** e.g. `http://127.0.0.1:43123`; use as the API base URL. */
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  /** Installation tokens issued so far, in order. */
  readonly issuedTokens: string[];
  failNext(route: GitHubRoute | '*', fault: GitHubFault): void;
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
  badCredentials: (): GitHubFault => ({
    status: 401,
    body: { message: 'Bad credentials', documentation_url: DOCS, status: '401' },
  }),
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
    body: {
      message:
        'You have exceeded a secondary rate limit. Please wait a few minutes before you try again. If you reach out to GitHub Support for help, please include the request ID.',
      documentation_url:
        'https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits',
      status: '403',
    },
  }),
  serverError: (status = 502): GitHubFault => ({
    status,
    body: { message: 'Server Error', status: String(status) },
  }),
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

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
  raw?: string;
  contentType?: string;
}

class HttpAnswer extends Error {
  readonly answer: Answer;
  constructor(answer: Answer) {
    super(`HTTP ${answer.status}`);
    this.answer = answer;
  }
}

function fail(status: number, message: string, extra: Record<string, unknown> = {}): never {
  throw new HttpAnswer({
    status,
    body: { message, documentation_url: DOCS, status: String(status), ...extra },
  });
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

/** Routes a request path; `undefined` groups mean no match. */
function routeOf(method: string, path: string): { route: GitHubRoute; params: string[] } {
  const table: Array<[string, RegExp, GitHubRoute]> = [
    ['GET', /^\/$/, 'root'],
    ['GET', /^\/rate_limit$/, 'rate-limit'],
    ['GET', /^\/repos\/([^/]+)\/([^/]+)\/issues$/, 'list-issues'],
    ['POST', /^\/repos\/([^/]+)\/([^/]+)\/issues$/, 'create-issue'],
    ['POST', /^\/repos\/([^/]+)\/([^/]+)\/issues\/([^/]+)\/comments$/, 'create-comment'],
    ['GET', /^\/repos\/([^/]+)\/([^/]+)\/contents(?:\/(.*))?$/, 'get-content'],
    ['POST', /^\/app\/installations\/([^/]+)\/access_tokens$/, 'create-installation-token'],
  ];
  for (const [verb, pattern, route] of table) {
    const match = pattern.exec(path);
    if (match !== null && verb === method) {
      return { route, params: match.slice(1).map((part) => decodeURIComponent(part ?? '')) };
    }
  }
  return { route: 'unknown', params: [] };
}

interface FaultEntry {
  route: GitHubRoute | '*';
  fault: GitHubFault;
  left: number;
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

function bearerOf(headers: Record<string, string>): string | undefined {
  return /^(?:bearer|token)\s+(\S+)$/i.exec(headers['authorization'] ?? '')?.[1];
}

function faultAnswer(fault: GitHubFault): Answer | undefined {
  if (fault.status === undefined && fault.rawBody === undefined) return undefined;
  const answer: Answer = { status: fault.status ?? 200 };
  if (fault.headers !== undefined) answer.headers = fault.headers;
  if (fault.rawBody !== undefined) answer.raw = fault.rawBody;
  else if (fault.body !== undefined) answer.body = fault.body;
  if (fault.contentType !== undefined) answer.contentType = fault.contentType;
  return answer;
}

/** The validated parameters of an issue listing. */
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

class GitHubFakeServer implements GitHubFake {
  baseUrl = '';
  readonly requests: RecordedRequest[] = [];
  readonly issuedTokens: string[] = [];
  readonly #options: GitHubFakeOptions;
  readonly #now: () => number;
  readonly #limit: number;
  /** token -> expiry in epoch ms (Infinity for static tokens). */
  readonly #tokens = new Map<string, number>();
  readonly #used = new Map<string, number>();
  readonly #repos = new Map<string, Repo>();
  readonly #faults: FaultEntry[] = [];
  readonly #appKey: KeyObject | undefined;
  readonly #server = createServer((req, res) => this.#receive(req, res));
  #nextId = 1000;

  constructor(options: GitHubFakeOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#limit = options.rateLimit ?? 5000;
    for (const token of options.tokens ?? []) this.#tokens.set(token, Number.POSITIVE_INFINITY);
    const publicKey = options.app?.publicKey;
    this.#appKey = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
    for (const [fullName, seed] of Object.entries(options.repos ?? {})) this.addRepo(fullName, seed);
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.baseUrl = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  failNext(route: GitHubRoute | '*', fault: GitHubFault): void {
    this.#faults.push({ route, fault, left: fault.times ?? 1 });
  }

  clearFaults(): void {
    this.#faults.length = 0;
  }

  addToken(token: string): void {
    this.#tokens.set(token, Number.POSITIVE_INFINITY);
  }

  revokeToken(token: string): void {
    this.#tokens.delete(token);
  }

  addRepo(fullName: string, seed: FakeRepoSeed = {}): void {
    const [owner = '', name = ''] = fullName.split('/');
    const defaultBranch = seed.defaultBranch ?? 'main';
    this.#repos.set(fullName.toLowerCase(), {
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
    const repo = this.#repoOrCreate(fullName);
    const number = seed.number ?? repo.nextNumber;
    repo.nextNumber = Math.max(repo.nextNumber, number + 1);
    const created = seed.createdAt ?? iso(this.#now());
    const updated = seed.updatedAt ?? created;
    const state = seed.state ?? 'open';
    const issue: FakeIssue = {
      id: this.#nextId++,
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
    const repo = this.#repoOrCreate(fullName);
    const branch = ref ?? repo.defaultBranch;
    const tree = repo.files.get(branch) ?? new Map<string, Buffer>();
    repo.files.set(branch, tree);
    tree.set(path.replace(/^\/+/, ''), typeof content === 'string' ? Buffer.from(content, 'utf8') : content);
  }

  issues(fullName: string): FakeIssue[] {
    return [...this.#repo(fullName).issues];
  }

  comments(fullName: string, issueNumber: number): FakeComment[] {
    return this.#repo(fullName).comments.filter((comment) => comment.issueNumber === issueNumber);
  }

  close(): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#server.closeAllConnections();
      this.#server.close(() => resolve());
    });
  }

  #repo(fullName: string): Repo {
    const repo = this.#repos.get(fullName.toLowerCase());
    if (repo === undefined) throw new Error(`GitHub fake: no repository ${fullName}; addRepo first`);
    return repo;
  }

  #repoOrCreate(fullName: string): Repo {
    if (!this.#repos.has(fullName.toLowerCase())) this.addRepo(fullName);
    return this.#repo(fullName);
  }

  #receive(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const method = (req.method ?? 'GET').toUpperCase();
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
      }
      const { route, params } = routeOf(method, url.pathname);
      const request: RecordedRequest = {
        route,
        method,
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers,
        body: parseBody(Buffer.concat(chunks).toString('utf8')),
      };
      this.requests.push(request);
      const fault = this.#takeFault(request);
      const respond = (): void => this.#respond(res, request, params, fault);
      if (fault?.delayMs !== undefined) setTimeout(respond, fault.delayMs).unref();
      else respond();
    });
  }

  #respond(
    res: ServerResponse,
    request: RecordedRequest,
    params: string[],
    fault: GitHubFault | undefined,
  ): void {
    const token = bearerOf(request.headers);
    const known = token !== undefined && this.#tokens.has(token) ? token : undefined;
    const injected = fault === undefined ? undefined : faultAnswer(fault);
    if (injected !== undefined) {
      this.#send(res, injected, known);
      return;
    }
    try {
      this.#send(res, this.#handle(request, params), known);
    } catch (error) {
      const answer =
        error instanceof HttpAnswer ? error.answer : { status: 500, body: { message: 'Server Error' } };
      this.#send(res, answer, known);
    }
  }

  #takeFault(request: RecordedRequest): GitHubFault | undefined {
    const index = this.#faults.findIndex(
      (entry) =>
        (entry.route === '*' || entry.route === request.route) && (entry.fault.when?.(request) ?? true),
    );
    const entry = this.#faults[index];
    if (entry === undefined) return undefined;
    entry.left -= 1;
    if (entry.left <= 0) this.#faults.splice(index, 1);
    return entry.fault;
  }

  #handle(request: RecordedRequest, params: string[]): Answer {
    const version = request.headers['x-github-api-version'];
    if (version !== undefined && !API_VERSIONS.has(version)) {
      fail(400, `Unsupported 'X-GitHub-Api-Version': ${version.slice(0, 32)}`);
    }
    if (request.route === 'create-installation-token') {
      return this.#createInstallationToken(params[0] ?? '', request.headers);
    }
    if (request.route === 'unknown') fail(404, 'Not Found');
    const token = this.#authenticate(request.headers);
    if (request.route === 'root') {
      return {
        status: 200,
        body: { current_user_url: `${this.baseUrl}/user`, rate_limit_url: `${this.baseUrl}/rate_limit` },
      };
    }
    if (request.route === 'rate-limit') return this.#rateLimit(token);
    this.#used.set(token, (this.#used.get(token) ?? 0) + 1);
    const [owner = '', name = '', extra = ''] = params;
    const repo = this.#repos.get(`${owner}/${name}`.toLowerCase());
    if (repo === undefined) fail(404, 'Not Found');
    switch (request.route) {
      case 'list-issues':
        return this.#listIssues(repo, request.query, request.path);
      case 'create-issue':
        return this.#createIssue(repo, request.body);
      case 'create-comment':
        return this.#createComment(repo, extra, request.body);
      default:
        return this.#getContent(repo, extra, request.query);
    }
  }

  #authenticate(headers: Record<string, string>): string {
    const token = bearerOf(headers);
    const expiry = token === undefined ? undefined : this.#tokens.get(token);
    if (token === undefined || expiry === undefined || expiry <= this.#now()) fail(401, 'Bad credentials');
    return token;
  }

  #checkAppJwt(headers: Record<string, string>): void {
    const undecodable = (): never => fail(401, 'A JSON web token could not be decoded');
    const parts = /^bearer\s+(\S+)$/i.exec(headers['authorization'] ?? '')?.[1]?.split('.') ?? [];
    const [headerPart = '', payloadPart = '', signaturePart = ''] = parts;
    if (this.#options.app === undefined || this.#appKey === undefined || parts.length !== 3) undecodable();
    let header: Record<string, unknown> = {};
    let claims: Record<string, unknown> = {};
    try {
      header = decodeJwtPart(headerPart);
      claims = decodeJwtPart(payloadPart);
    } catch {
      undecodable();
    }
    const signed = Buffer.from(`${headerPart}.${payloadPart}`);
    const key = this.#appKey as KeyObject;
    if (
      header['alg'] !== 'RS256' ||
      !verifySignature('sha256', signed, key, base64UrlDecode(signaturePart))
    ) {
      undecodable();
    }
    const seconds = Math.floor(this.#now() / 1000);
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
    if (String(iss) !== String(this.#options.app?.appId)) fail(401, 'Integration not found');
  }

  #createInstallationToken(installation: string, headers: Record<string, string>): Answer {
    this.#checkAppJwt(headers);
    const app = this.#options.app as FakeApp;
    if (!app.installations.map(String).includes(installation)) fail(404, 'Not Found');
    const token = `ghs_${randomBytes(18).toString('base64url')}`;
    const expiresAt = this.#now() + (app.tokenLifetimeSeconds ?? 3600) * 1000;
    this.#tokens.set(token, expiresAt);
    this.issuedTokens.push(token);
    return {
      status: 201,
      body: {
        token,
        expires_at: iso(expiresAt),
        permissions: { issues: 'write', contents: 'read', metadata: 'read' },
        repository_selection: 'all',
      },
    };
  }

  #rateHeaders(token: string | undefined): Record<string, string> {
    const count = token === undefined ? 0 : (this.#used.get(token) ?? 0);
    return {
      'x-ratelimit-limit': String(this.#limit),
      'x-ratelimit-remaining': String(Math.max(0, this.#limit - count)),
      'x-ratelimit-used': String(count),
      'x-ratelimit-reset': String(Math.floor(this.#now() / 1000) + 3600),
      'x-ratelimit-resource': 'core',
    };
  }

  #rateLimit(token: string): Answer {
    const headers = this.#rateHeaders(token);
    const core = {
      limit: this.#limit,
      remaining: Number(headers['x-ratelimit-remaining']),
      reset: Number(headers['x-ratelimit-reset']),
      used: Number(headers['x-ratelimit-used']),
      resource: 'core',
    };
    return { status: 200, body: { resources: { core }, rate: core } };
  }

  #user(login: string) {
    return {
      login,
      id: login.length * 1000 + 1,
      node_id: `U_${login}`,
      type: 'User',
      site_admin: false,
      url: `${this.baseUrl}/users/${login}`,
      html_url: `https://github.com/${login}`,
    };
  }

  #renderIssue(repo: Repo, issue: FakeIssue): Record<string, unknown> {
    const api = `${this.baseUrl}/repos/${repo.owner}/${repo.name}`;
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
      user: this.#user(issue.user),
      labels: issue.labels.map((name, index) => ({
        id: 200 + index,
        node_id: `LA_${name}`,
        url: `${api}/labels/${encodeURIComponent(name)}`,
        name,
        color: 'f29513',
        default: false,
        description: null,
      })),
      assignee: issue.assignees[0] === undefined ? null : this.#user(issue.assignees[0]),
      assignees: issue.assignees.map((login) => this.#user(login)),
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

  #listIssues(repo: Repo, query: Record<string, string>, path: string): Answer {
    const q = listQuery(query);
    const matching = matchingIssues(repo.issues, q);
    const lastPage = Math.max(1, Math.ceil(matching.length / q.perPage));
    const items = matching.slice((q.page - 1) * q.perPage, q.page * q.perPage);
    const target = (page: number): string => {
      const params = new URLSearchParams(query);
      params.set('per_page', String(q.perPage));
      params.set('page', String(page));
      return `${this.baseUrl}${path}?${params.toString()}`;
    };
    const link = linkHeader(target, q.page, lastPage);
    return {
      status: 200,
      headers: link === undefined ? {} : { link },
      body: items.map((issue) => this.#renderIssue(repo, issue)),
    };
  }

  #createIssue(repo: Repo, body: unknown): Answer {
    const input = objectBody(body);
    const title = input['title'];
    if (typeof title !== 'string' && typeof title !== 'number') {
      fail(422, 'Validation Failed', {
        errors: [{ resource: 'Issue', code: 'missing_field', field: 'title' }],
      });
    }
    const issue = this.addIssue(`${repo.owner}/${repo.name}`, {
      title: String(title),
      body: typeof input['body'] === 'string' ? input['body'] : null,
      labels: Array.isArray(input['labels']) ? input['labels'].map(String) : [],
      assignees: Array.isArray(input['assignees']) ? input['assignees'].map(String) : [],
      user: 'circle-core[bot]',
    });
    const rendered = this.#renderIssue(repo, issue);
    return { status: 201, headers: { location: String(rendered['url']) }, body: rendered };
  }

  #createComment(repo: Repo, numberText: string, body: unknown): Answer {
    const issue = repo.issues.find((candidate) => String(candidate.number) === numberText);
    if (issue === undefined) fail(404, 'Not Found');
    const text = objectBody(body)['body'];
    if (typeof text !== 'string' || text === '') {
      fail(422, 'Validation Failed', {
        errors: [{ resource: 'IssueComment', code: 'missing_field', field: 'body' }],
      });
    }
    const comment: FakeComment = {
      id: this.#nextId++,
      issueNumber: issue.number,
      body: text,
      user: 'circle-core[bot]',
      createdAt: iso(this.#now()),
    };
    repo.comments.push(comment);
    issue.comments += 1;
    issue.updatedAt = comment.createdAt;
    const api = `${this.baseUrl}/repos/${repo.owner}/${repo.name}`;
    return {
      status: 201,
      headers: { location: `${api}/issues/comments/${comment.id}` },
      body: {
        id: comment.id,
        node_id: `IC_${comment.id}`,
        url: `${api}/issues/comments/${comment.id}`,
        html_url: `https://github.com/${repo.owner}/${repo.name}/issues/${issue.number}#issuecomment-${comment.id}`,
        issue_url: `${api}/issues/${issue.number}`,
        body: comment.body,
        user: this.#user(comment.user),
        created_at: comment.createdAt,
        updated_at: comment.createdAt,
        author_association: 'NONE',
      },
    };
  }

  #contentEntry(repo: Repo, ref: string, path: string, bytes: Buffer | undefined): Record<string, unknown> {
    const type = bytes === undefined ? 'dir' : 'file';
    const sha = gitBlobSha(bytes ?? Buffer.from(path));
    const self = `${this.baseUrl}/repos/${repo.owner}/${repo.name}/contents/${path}?ref=${encodeURIComponent(ref)}`;
    const html = `https://github.com/${repo.owner}/${repo.name}/${type === 'file' ? 'blob' : 'tree'}/${ref}/${path}`;
    const git = `${this.baseUrl}/repos/${repo.owner}/${repo.name}/git/${type === 'file' ? 'blobs' : 'trees'}/${sha}`;
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
        type === 'file'
          ? `https://raw.githubusercontent.com/${repo.owner}/${repo.name}/${ref}/${path}`
          : null,
      _links: { self, git, html },
    };
  }

  #getContent(repo: Repo, rawPath: string, query: Record<string, string>): Answer {
    const ref = query['ref'] ?? repo.defaultBranch;
    const tree = repo.files.get(ref);
    if (tree === undefined) fail(404, `No commit found for the ref ${ref}`);
    const path = rawPath.replace(/^\/+|\/+$/g, '');
    const bytes = tree.get(path);
    if (bytes !== undefined) {
      // The contents API returns no content for files over 1 MB.
      const large = bytes.length > MAX_CONTENT_BYTES;
      return {
        status: 200,
        body: {
          ...this.#contentEntry(repo, ref, path, bytes),
          encoding: large ? 'none' : 'base64',
          content: large ? '' : wrappedBase64(bytes),
        },
      };
    }
    const prefix = path === '' ? '' : `${path}/`;
    const children = new Map<string, Record<string, unknown>>();
    for (const [filePath, fileBytes] of tree) {
      if (!filePath.startsWith(prefix)) continue;
      const rest = filePath.slice(prefix.length);
      const slash = rest.indexOf('/');
      const child = prefix + (slash === -1 ? rest : rest.slice(0, slash));
      children.set(child, this.#contentEntry(repo, ref, child, slash === -1 ? fileBytes : undefined));
    }
    if (children.size === 0 && path !== '') fail(404, 'Not Found');
    return { status: 200, body: [...children.values()] };
  }

  #send(res: ServerResponse, answer: Answer, token: string | undefined): void {
    if (res.destroyed) return;
    const headers: Record<string, string> = {
      'x-github-api-version-selected': '2022-11-28',
      'x-github-request-id': randomBytes(8).toString('hex').toUpperCase(),
      ...this.#rateHeaders(token),
      ...answer.headers,
    };
    let payload: string | undefined;
    if (answer.raw !== undefined) {
      headers['content-type'] = answer.contentType ?? 'text/plain; charset=utf-8';
      payload = answer.raw;
    } else if (answer.body !== undefined) {
      headers['content-type'] = 'application/json; charset=utf-8';
      payload = JSON.stringify(answer.body);
    }
    res.writeHead(answer.status, headers);
    res.end(payload);
  }
}

/**
 * Starts the fake on 127.0.0.1 with an ephemeral port.
 *
 * @example
 * ```ts
 * const github = await startGitHubFake({ tokens: ['ghp_test'] });
 * github.addIssue('octo/hello', { title: 'First', updatedAt: '2024-01-01T00:00:00Z' });
 * ```
 */
export async function startGitHubFake(options: GitHubFakeOptions = {}): Promise<GitHubFake> {
  const fake = new GitHubFakeServer(options);
  await fake.listen();
  return fake;
}
