/**
 * A contract fake of GitLab's REST API v4, on the contract-fake kit: what the GitLab connector's tests run
 * against, and the local stack's GitLab sandbox (`npx node scripts/local/sandboxes/gitlab.ts [port]`).
 *
 * It follows GitLab's published REST reference for what the connector uses, under `/api/v4`:
 * - `:id` is a numeric project id or the URL-encoded path (`ops%2Fplatform`); an unknown one is 404
 *   `{ "message": "404 Project Not Found" }`, an unknown issue, merge request, pipeline or file 404
 *   `{ "message": "404 <Thing> Not Found" }`;
 * - issues: `GET /projects/:id/issues` (`state` opened/closed/all, `labels` comma-separated, all required,
 *   `search` in title and description, `updated_after`, `order_by` created_at/updated_at, `sort`), `POST`
 *   (201; no title: 400 `{ "error": "title is missing" }`), `GET`/`PUT /projects/:id/issues/:iid`
 *   (`state_event` close/reopen, `assignee_ids`, `[]` unassigns), `POST /projects/:id/issues/:iid/notes`
 *   (201; blank: 400 `{ "message": { "note": ["can't be blank"] } }`);
 * - merge requests: `GET /projects/:id/merge_requests` (`state`), `GET .../merge_requests/:iid`, `POST`
 *   (201; an unknown branch or another open one from the same source is 409 `{ "message": [...] }`, the
 *   same source and target 422);
 * - pipelines: `POST /projects/:id/pipeline` `{ ref, variables }` (201; an unknown ref 400 `{ "message":
 *   { "base": ["Reference not found"] } }`), `GET /projects/:id/pipelines/:pipeline_id`;
 * - files: `GET /projects/:id/repository/files/:file_path?ref=` (base64 content, `last_commit_id`),
 *   `POST` (create: exists is 400 "A file with this name already exists") and `PUT` (update: missing is
 *   400 "A file with this name doesn't exist"; a stale `last_commit_id` is 400), `GET
 *   /projects/:id/repository/tree` with keyset pagination (`pagination=keyset`, `page_token`, the next
 *   page in the `Link` header);
 * - `GET /user`, `GET /users?username=`;
 * - offset pagination on every other list: `page`, `per_page` (1-100, larger is 100), answers carrying
 *   `X-Page`, `X-Per-Page`, `X-Next-Page` (empty on the last page), `X-Prev-Page`, `X-Total`,
 *   `X-Total-Pages` and a `Link` header; a page that is not a positive integer is 400 `{ "error": "page is
 *   invalid" }`;
 * - auth: `PRIVATE-TOKEN` (personal, project or group access token) or `Authorization: Bearer` (OAuth2),
 *   else 401 `{ "message": "401 Unauthorized" }`; `POST /oauth/token` refresh-token grant rotating the
 *   refresh token (a used one is 400 `invalid_grant`);
 * - `RateLimit-Limit`, `RateLimit-Observed`, `RateLimit-Remaining`, `RateLimit-Reset` on every answer;
 *   throttling is 429 `Retry later` (text) with `Retry-After` (faults add 403, 404, 5xx, slow, ...).
 *
 * Seed: project `ops/platform` (id 7, issues #1 closed, #2 open labelled `incident`, #3 open; merge request
 * !1 from `feature/alerts`; branches `main`, `feature/alerts`, `feature/runbook`; files `README.md`,
 * `docs/runbook.md`, `docs/oncall.md`, `ci/deploy.yml`; pipeline 100), project `ops/web`; users
 * `sandbox-bot` and `alice`; token {@link GITLAB_SANDBOX_TOKEN}.
 *
 * @example
 * ```ts
 * const fake = await startGitlabFake();
 * process.env['GITLAB_API_URL'] = `${fake.url}/api/v4`;
 * fake.inject({ kind: 'throttled', retryAfterSeconds: 1 }, { route: 'list-issues' });
 * ```
 */
import { createHash, randomUUID } from 'node:crypto';
import { resolve } from 'node:path';
import {
  type Answer,
  type ErrorDialect,
  type FakeDefinition,
  type FakeRequest,
  type FakeServer,
  json,
  refuse,
  type StartOptions,
  startFake,
} from './kit/index.ts';

/** The token the fake accepts unless a test changes `state.tokens`: a sandbox credential, not a secret. */
export const GITLAB_SANDBOX_TOKEN = 'glpat-sandbox-token';
/** The sandbox webhook's secret token (the local stack stores it when none is set). */
export const GITLAB_SANDBOX_WEBHOOK_SECRET = 'gitlab-sandbox-webhook-token';
/** The sandbox OAuth application. */
export const GITLAB_SANDBOX_CLIENT = {
  clientId: 'gitlab-sandbox-app',
  clientSecret: 'gitlab-sandbox-app-secret',
};

export interface GitlabFakeUser {
  id: number;
  username: string;
  name: string;
}

export interface GitlabFakeIssue {
  id: number;
  iid: number;
  title: string;
  description: string | null;
  state: 'opened' | 'closed';
  labels: string[];
  assignees: number[];
  issue_type: string;
  created_at: string;
  updated_at: string;
  closed_at: string | null;
  notes: { id: number; body: string; author: number; created_at: string }[];
}

export interface GitlabFakeMergeRequest {
  id: number;
  iid: number;
  title: string;
  description: string | null;
  state: 'opened' | 'closed' | 'merged';
  source_branch: string;
  target_branch: string;
  author: number;
  created_at: string;
  updated_at: string;
}

export interface GitlabFakePipeline {
  id: number;
  iid: number;
  ref: string;
  sha: string;
  status: string;
  source: string;
  variables: { key: string; value: string }[];
  created_at: string;
  updated_at: string;
}

export interface GitlabFakeFile {
  content: Buffer;
  last_commit_id: string;
}

export interface GitlabFakeProject {
  id: number;
  path: string;
  default_branch: string;
  issues: GitlabFakeIssue[];
  mergeRequests: GitlabFakeMergeRequest[];
  pipelines: GitlabFakePipeline[];
  /** branch -> file path -> file. */
  branches: Map<string, Map<string, GitlabFakeFile>>;
}

export interface GitlabFakeState {
  tokens: Set<string>;
  users: GitlabFakeUser[];
  /** The user every token acts as. */
  me: number;
  projects: GitlabFakeProject[];
  /** OAuth applications: client id -> secret. */
  clients: Map<string, string>;
  /** Refresh tokens still valid -> client id. */
  refreshTokens: Map<string, string>;
  nextId: number;
  /**
   * The instance's time zone offset (`+00:00`, `+01:00`): GitLab writes the times it answers in the
   * `time_zone` of its configuration (UTC by default), with that offset and milliseconds.
   */
  timeZoneOffset: string;
}

/** A stored UTC time (`...Z`) as GitLab writes it in the instance's time zone: `+01:00` gives `...+01:00`. */
function rendered(utc: string, offset: string): string;
function rendered(utc: string | null, offset: string): string | null;
function rendered(utc: string | null, offset: string): string | null {
  if (utc === null) return null;
  const sign = offset.startsWith('-') ? -1 : 1;
  const minutes = sign * (Number(offset.slice(1, 3)) * 60 + Number(offset.slice(4, 6)));
  if (minutes === 0) return utc;
  return `${new Date(Date.parse(utc) + minutes * 60_000).toISOString().slice(0, 23)}${offset}`;
}

const STATUS_TEXT: Record<number, string> = {
  401: '401 Unauthorized',
  403: '403 Forbidden',
  404: '404 Not Found',
  409: '409 Conflict',
  500: '500 Internal Server Error',
  502: '502 Bad Gateway',
  503: '503 Service Unavailable',
};

/** GitLab's error bodies: `{ message }` (a string, a list, or field -> messages), throttling as text. */
export const gitlabErrors: ErrorDialect = (kind, { status }) =>
  kind === 'throttled'
    ? { status, body: 'Retry later\n' }
    : json(status, { message: STATUS_TEXT[status] ?? `${status} Error` });

const ISSUE_TYPES = new Set(['issue', 'incident', 'test_case', 'task']);

const message = (status: number, text: unknown): never => refuse(json(status, { message: text }));
const notFound = (what: string): never => message(404, `404 ${what} Not Found`);
const badParam = (text: string): never => refuse(json(400, { error: text }));

const now = (): string => new Date().toISOString();
const sha = (text: string): string => createHash('sha1').update(text).digest('hex');

function project(state: GitlabFakeState, id: string): GitlabFakeProject {
  const found = state.projects.find((p) => String(p.id) === id || p.path === id);
  return found ?? notFound('Project');
}

function body(request: FakeRequest): Record<string, unknown> {
  const value = request.body;
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function userEntity(state: GitlabFakeState, id: number, url: string): Record<string, unknown> {
  const user = state.users.find((u) => u.id === id);
  return {
    id,
    username: user?.username ?? 'ghost',
    name: user?.name ?? 'Ghost User',
    state: 'active',
    web_url: `${url}/${user?.username ?? 'ghost'}`,
  };
}

function issueEntity(state: GitlabFakeState, p: GitlabFakeProject, issue: GitlabFakeIssue, url: string) {
  const assignees = issue.assignees.map((id) => userEntity(state, id, url));
  return {
    id: issue.id,
    iid: issue.iid,
    project_id: p.id,
    title: issue.title,
    description: issue.description,
    state: issue.state,
    labels: issue.labels,
    assignees,
    assignee: assignees[0] ?? null,
    author: userEntity(state, state.me, url),
    issue_type: issue.issue_type,
    user_notes_count: issue.notes.length,
    created_at: rendered(issue.created_at, state.timeZoneOffset),
    updated_at: rendered(issue.updated_at, state.timeZoneOffset),
    closed_at: rendered(issue.closed_at, state.timeZoneOffset),
    web_url: `${url}/${p.path}/-/issues/${issue.iid}`,
    references: { short: `#${issue.iid}`, full: `${p.path}#${issue.iid}` },
  };
}

function mergeRequestEntity(
  state: GitlabFakeState,
  p: GitlabFakeProject,
  mr: GitlabFakeMergeRequest,
  url: string,
) {
  return {
    id: mr.id,
    iid: mr.iid,
    project_id: p.id,
    title: mr.title,
    description: mr.description,
    state: mr.state,
    source_branch: mr.source_branch,
    target_branch: mr.target_branch,
    author: userEntity(state, mr.author, url),
    draft: false,
    merge_status: 'can_be_merged',
    created_at: rendered(mr.created_at, state.timeZoneOffset),
    updated_at: rendered(mr.updated_at, state.timeZoneOffset),
    web_url: `${url}/${p.path}/-/merge_requests/${mr.iid}`,
  };
}

function pipelineEntity(
  state: GitlabFakeState,
  p: GitlabFakeProject,
  pipeline: GitlabFakePipeline,
  url: string,
) {
  const { variables: _variables, ...rest } = pipeline;
  return {
    ...rest,
    created_at: rendered(pipeline.created_at, state.timeZoneOffset),
    updated_at: rendered(pipeline.updated_at, state.timeZoneOffset),
    project_id: p.id,
    web_url: `${url}/${p.path}/-/pipelines/${pipeline.id}`,
  };
}

/** Offset pagination as GitLab answers it: the page and its `X-*` and `Link` headers. */
function paginate<T>(request: FakeRequest, items: T[], url: string): Answer {
  const pageText = request.query['page'] ?? '1';
  const sizeText = request.query['per_page'] ?? '20';
  if (!/^\d{1,9}$/.test(pageText) || Number(pageText) < 1) badParam('page is invalid');
  if (!/^\d{1,9}$/.test(sizeText) || Number(sizeText) < 1) badParam('per_page is invalid');
  const page = Number(pageText);
  const size = Math.min(100, Number(sizeText));
  const totalPages = Math.max(1, Math.ceil(items.length / size));
  const next = page < totalPages ? String(page + 1) : '';
  const link = (to: number, rel: string): string => {
    const query = new URLSearchParams({ ...request.query, page: String(to), per_page: String(size) });
    return `<${url}${request.path}?${query}>; rel="${rel}"`;
  };
  const links = [link(1, 'first'), link(totalPages, 'last')];
  if (next !== '') links.unshift(link(page + 1, 'next'));
  if (page > 1) links.unshift(link(page - 1, 'prev'));
  return json(200, items.slice((page - 1) * size, page * size), {
    'x-page': String(page),
    'x-per-page': String(size),
    'x-next-page': next,
    'x-prev-page': page > 1 ? String(page - 1) : '',
    'x-total': String(items.length),
    'x-total-pages': String(totalPages),
    link: links.join(', '),
  });
}

const labelList = (value: unknown): string[] =>
  typeof value === 'string'
    ? value
        .split(',')
        .map((label) => label.trim())
        .filter((label) => label !== '')
    : Array.isArray(value)
      ? value.map(String)
      : [];

function assigneeIds(state: GitlabFakeState, value: unknown): number[] {
  const ids = (Array.isArray(value) ? value : [value]).map(Number).filter((id) => id !== 0);
  for (const id of ids) {
    if (!state.users.some((u) => u.id === id)) message(404, '404 User Not Found');
  }
  return ids;
}

function issueOf(p: GitlabFakeProject, iid: string): GitlabFakeIssue {
  return p.issues.find((i) => String(i.iid) === iid) ?? notFound('Issue');
}

function branchFiles(p: GitlabFakeProject, ref: string | undefined): Map<string, GitlabFakeFile> {
  if (ref === undefined || ref === '') return badParam('ref is missing');
  return p.branches.get(ref) ?? notFound('Commit');
}

/** `GET /projects/:id/issues` filters: state, labels (all), search, updated_after; order_by and sort. */
function matchingIssues(issues: GitlabFakeIssue[], query: Record<string, string>): GitlabFakeIssue[] {
  const { state: wanted = 'all', search, updated_after: after } = query;
  if (!['opened', 'closed', 'all'].includes(wanted)) badParam('state does not have a valid value');
  if (after !== undefined && Number.isNaN(Date.parse(after))) badParam('updated_after is invalid');
  const labels = labelList(query['labels']);
  const words = search?.toLowerCase();
  const sort = query['sort'] === 'asc' ? 1 : -1;
  const key = query['order_by'] === 'updated_at' ? 'updated_at' : 'created_at';
  return issues
    .filter((i) => wanted === 'all' || i.state === wanted)
    .filter((i) => labels.every((label) => i.labels.includes(label)))
    .filter((i) => words === undefined || `${i.title}\n${i.description ?? ''}`.toLowerCase().includes(words))
    .filter((i) => after === undefined || Date.parse(i.updated_at) >= Date.parse(after))
    .sort((a, b) => sort * (a[key].localeCompare(b[key]) || a.id - b.id));
}

/** `PUT /projects/:id/issues/:iid`: the fields given, and `state_event` close or reopen. */
function applyIssueUpdate(
  state: GitlabFakeState,
  issue: GitlabFakeIssue,
  input: Record<string, unknown>,
): void {
  const known = ['title', 'description', 'labels', 'assignee_ids', 'state_event'];
  if (!known.some((key) => key in input)) {
    badParam(`${known.join(', ')} are missing, at least one parameter must be provided`);
  }
  if ('title' in input) {
    if (typeof input['title'] !== 'string' || input['title'].trim() === '') {
      message(400, { title: ["can't be blank"] });
    }
    issue.title = String(input['title']);
  }
  if (typeof input['description'] === 'string') issue.description = input['description'] || null;
  if ('labels' in input) issue.labels = labelList(input['labels']);
  if ('assignee_ids' in input) issue.assignees = assigneeIds(state, input['assignee_ids']);
  const event = input['state_event'];
  if (event !== undefined && event !== 'close' && event !== 'reopen') {
    badParam('state_event does not have a valid value');
  }
  if (event === 'close' && issue.state === 'opened') {
    issue.state = 'closed';
    issue.closed_at = now();
  }
  if (event === 'reopen' && issue.state === 'closed') {
    issue.state = 'opened';
    issue.closed_at = null;
  }
}

type TreeEntry = { id: string; name: string; type: 'blob' | 'tree'; path: string; mode: string };

/** The repository tree under `path` (one level, or every level), in path order; an unknown path is 404. */
function treeEntries(files: Map<string, GitlabFakeFile>, path: string, recursive: boolean): TreeEntry[] {
  const under = path.replace(/\/+$/, '');
  const prefix = under === '' ? '' : `${under}/`;
  const entries = new Map<string, 'blob' | 'tree'>();
  for (const file of files.keys()) {
    if (!file.startsWith(prefix)) continue;
    const parts = file.slice(prefix.length).split('/');
    if (!recursive) {
      entries.set(prefix + (parts[0] ?? ''), parts.length > 1 ? 'tree' : 'blob');
      continue;
    }
    for (let i = 1; i < parts.length; i += 1) entries.set(prefix + parts.slice(0, i).join('/'), 'tree');
    entries.set(file, 'blob');
  }
  if (under !== '' && entries.size === 0) notFound('Tree');
  return [...entries]
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([entry, type]) => ({
      id: sha(entry),
      name: entry.split('/').pop() ?? entry,
      type,
      path: entry,
      mode: type === 'tree' ? '040000' : '100644',
    }));
}

/** The path in a page token (Gitaly's cursor: base64 of `{ file_name }`), or a 400. */
function tokenPath(token: string): string {
  let after: unknown;
  try {
    after = (JSON.parse(Buffer.from(token, 'base64').toString('utf8')) as { file_name?: unknown }).file_name;
  } catch {
    after = undefined;
  }
  return typeof after === 'string' ? after : badParam('page_token is invalid');
}

/** Keyset pagination (`pagination=keyset`): the page after `page_token`, the next one in `Link`. */
function keysetPage(request: FakeRequest, items: TreeEntry[], url: string, id: number): Answer {
  const size = Math.min(100, Number(request.query['per_page'] ?? 20) || 20);
  const token = request.query['page_token'];
  const after = token === undefined ? undefined : tokenPath(token);
  const start = after === undefined ? 0 : items.findIndex((item) => item.path > after);
  const page = start < 0 ? [] : items.slice(start, start + size);
  const last = page[page.length - 1];
  const headers: Record<string, string> = {};
  if (last !== undefined && start + size < items.length) {
    const next = Buffer.from(JSON.stringify({ file_name: last.path })).toString('base64');
    const query = new URLSearchParams({ ...request.query, id: String(id), page: '1', page_token: next });
    headers['link'] = `<${url}${request.path}?${query}>; rel="next"`;
  }
  return json(200, page, headers);
}

/** The checks of a files API write: the branch, and whether the file exists as the method expects. */
function checkWrite(
  p: GitlabFakeProject,
  path: string,
  method: string,
  input: Record<string, unknown>,
): Map<string, GitlabFakeFile> {
  const files =
    p.branches.get(String(input['branch'])) ??
    message(400, 'You can only create or edit files when you are on a branch');
  const existing = files.get(path);
  if (method === 'POST' && existing !== undefined) message(400, 'A file with this name already exists');
  if (method === 'PUT' && existing === undefined) message(400, "A file with this name doesn't exist");
  const lastCommit = input['last_commit_id'];
  if (existing !== undefined && typeof lastCommit === 'string' && lastCommit !== existing.last_commit_id) {
    message(400, 'You are attempting to update a file that has changed since you started editing it.');
  }
  return files;
}

function oauthToken(request: FakeRequest, state: GitlabFakeState): Answer {
  const form = body(request);
  if (form['grant_type'] !== 'refresh_token') return json(400, { error: 'unsupported_grant_type' });
  const clientId = String(form['client_id'] ?? '');
  if (state.clients.get(clientId) !== form['client_secret']) {
    return json(401, { error: 'invalid_client', error_description: 'Client authentication failed' });
  }
  const refreshToken = String(form['refresh_token'] ?? '');
  if (state.refreshTokens.get(refreshToken) !== clientId) {
    return json(400, {
      error: 'invalid_grant',
      error_description: 'The provided authorization grant is invalid',
    });
  }
  state.refreshTokens.delete(refreshToken);
  const rotated = `gitlab-refresh-${randomUUID()}`;
  const access = `gitlab-oauth-${randomUUID()}`;
  state.refreshTokens.set(rotated, clientId);
  state.tokens.add(access);
  return json(200, {
    access_token: access,
    refresh_token: rotated,
    token_type: 'Bearer',
    expires_in: 7200,
    scope: 'api',
    created_at: Math.floor(Date.now() / 1000),
  });
}

function seedProjects(): GitlabFakeProject[] {
  const at = (day: number): string => `2026-11-0${day}T09:00:00.000Z`;
  const files = (entries: Record<string, string>): Map<string, GitlabFakeFile> =>
    new Map(
      Object.entries(entries).map(([path, text]) => [
        path,
        { content: Buffer.from(text), last_commit_id: sha(`${path}:${text}`) },
      ]),
    );
  const main = {
    'README.md': '# Platform\n\nThe platform team runbooks and CI.\n',
    'docs/runbook.md': '# Runbook\n\n1. Check the dashboards.\n2. Page the on-call.\n',
    'docs/oncall.md': '# On-call\n\nalice this week.\n',
    'ci/deploy.yml': 'deploy:\n  script: ./deploy.sh\n',
  };
  const issue = (iid: number, title: string, extra: Partial<GitlabFakeIssue> = {}): GitlabFakeIssue => ({
    id: 500 + iid,
    iid,
    title,
    description: null,
    state: 'opened',
    labels: [],
    assignees: [],
    issue_type: 'issue',
    created_at: at(iid),
    updated_at: at(iid),
    closed_at: null,
    notes: [],
    ...extra,
  });
  return [
    {
      id: 7,
      path: 'ops/platform',
      default_branch: 'main',
      issues: [
        issue(1, 'Rotate the deploy key', { state: 'closed', closed_at: at(2) }),
        issue(2, 'Disk full on db-1', { labels: ['incident'], description: 'Alert fired at 03:00' }),
        issue(3, 'Document the failover'),
      ],
      mergeRequests: [
        {
          id: 900,
          iid: 1,
          title: 'Add alert rules',
          description: 'Adds the disk alerts',
          state: 'opened',
          source_branch: 'feature/alerts',
          target_branch: 'main',
          author: 2,
          created_at: at(3),
          updated_at: at(3),
        },
      ],
      pipelines: [
        {
          id: 100,
          iid: 1,
          ref: 'main',
          sha: sha('main'),
          status: 'success',
          source: 'push',
          variables: [],
          created_at: at(4),
          updated_at: at(4),
        },
      ],
      branches: new Map([
        ['main', files(main)],
        ['feature/alerts', files({ ...main, 'alerts.yml': 'disk: 90%\n' })],
        ['feature/runbook', files(main)],
      ]),
    },
    {
      id: 8,
      path: 'ops/web',
      default_branch: 'main',
      issues: [],
      mergeRequests: [],
      pipelines: [],
      branches: new Map([['main', new Map()]]),
    },
  ];
}

/**
 * The fake's definition, for `startFake` or a sandbox.
 *
 * @example
 * ```ts
 * const fake = await startFake(gitlabFake());
 * ```
 */
export function gitlabFake(): FakeDefinition<GitlabFakeState> {
  let observed = 0;
  return {
    name: 'GitLab',
    seed: () => ({
      tokens: new Set([GITLAB_SANDBOX_TOKEN]),
      users: [
        { id: 1, username: 'sandbox-bot', name: 'Sandbox Bot' },
        { id: 2, username: 'alice', name: 'Alice Example' },
      ],
      me: 1,
      projects: seedProjects(),
      clients: new Map([[GITLAB_SANDBOX_CLIENT.clientId, GITLAB_SANDBOX_CLIENT.clientSecret]]),
      refreshTokens: new Map(),
      nextId: 10_000,
      timeZoneOffset: '+00:00',
    }),
    errors: gitlabErrors,
    secretHeaders: ['private-token', 'x-gitlab-token'],
    token: (request) =>
      request.headers['private-token'] ??
      /^Bearer\s+(\S+)$/i.exec(request.headers['authorization'] ?? '')?.[1],
    authorize: ({ request, state }) => (state.tokens.has(request.token ?? '') ? undefined : 'unauthorized'),
    headers: () => {
      observed += 1;
      return {
        'ratelimit-limit': '2000',
        'ratelimit-observed': String(observed % 2000),
        'ratelimit-remaining': String(2000 - (observed % 2000)),
        'ratelimit-reset': String(Math.floor(Date.now() / 60_000) * 60 + 60),
      };
    },
    routes: [
      {
        name: 'oauth-token',
        method: 'POST',
        path: '/oauth/token',
        auth: false,
        handle: ({ request, state }) => oauthToken(request, state),
      },
      {
        name: 'current-user',
        method: 'GET',
        path: '/api/v4/user',
        handle: ({ state, url }) => json(200, userEntity(state, state.me, url)),
      },
      {
        name: 'list-users',
        method: 'GET',
        path: '/api/v4/users',
        handle: ({ request, state, url }) => {
          const name = request.query['username'];
          const users = state.users.filter((u) => name === undefined || u.username === name);
          return paginate(
            request,
            users.map((u) => userEntity(state, u.id, url)),
            url,
          );
        },
      },
      {
        name: 'get-project',
        method: 'GET',
        path: '/api/v4/projects/:id',
        handle: ({ params, state, url }) => {
          const p = project(state, params['id'] ?? '');
          return json(200, {
            id: p.id,
            path_with_namespace: p.path,
            default_branch: p.default_branch,
            web_url: `${url}/${p.path}`,
          });
        },
      },
      {
        name: 'list-issues',
        method: 'GET',
        path: '/api/v4/projects/:id/issues',
        handle: ({ request, params, state, url }) => {
          const p = project(state, params['id'] ?? '');
          const found = matchingIssues(p.issues, request.query);
          return paginate(
            request,
            found.map((i) => issueEntity(state, p, i, url)),
            url,
          );
        },
      },
      {
        name: 'create-issue',
        method: 'POST',
        path: '/api/v4/projects/:id/issues',
        handle: ({ request, params, state, url }) => {
          const p = project(state, params['id'] ?? '');
          const input = body(request);
          if (typeof input['title'] !== 'string' || input['title'].trim() === '')
            badParam('title is missing');
          const type = input['issue_type'] ?? 'issue';
          if (typeof type !== 'string' || !ISSUE_TYPES.has(type))
            badParam('issue_type does not have a valid value');
          const at = now();
          const issue: GitlabFakeIssue = {
            id: state.nextId++,
            iid: Math.max(0, ...p.issues.map((i) => i.iid)) + 1,
            title: String(input['title']),
            description: typeof input['description'] === 'string' ? input['description'] : null,
            state: 'opened',
            labels: labelList(input['labels']),
            assignees: input['assignee_ids'] === undefined ? [] : assigneeIds(state, input['assignee_ids']),
            issue_type: String(type),
            created_at: at,
            updated_at: at,
            closed_at: null,
            notes: [],
          };
          p.issues.push(issue);
          return json(201, issueEntity(state, p, issue, url));
        },
      },
      {
        name: 'get-issue',
        method: 'GET',
        path: '/api/v4/projects/:id/issues/:iid',
        handle: ({ params, state, url }) => {
          const p = project(state, params['id'] ?? '');
          return json(200, issueEntity(state, p, issueOf(p, params['iid'] ?? ''), url));
        },
      },
      {
        name: 'update-issue',
        method: 'PUT',
        path: '/api/v4/projects/:id/issues/:iid',
        handle: ({ request, params, state, url }) => {
          const p = project(state, params['id'] ?? '');
          const issue = issueOf(p, params['iid'] ?? '');
          applyIssueUpdate(state, issue, body(request));
          issue.updated_at = now();
          return json(200, issueEntity(state, p, issue, url));
        },
      },
      {
        name: 'create-note',
        method: 'POST',
        path: '/api/v4/projects/:id/issues/:iid/notes',
        handle: ({ request, params, state, url }) => {
          const p = project(state, params['id'] ?? '');
          const issue = issueOf(p, params['iid'] ?? '');
          const text = body(request)['body'];
          if (typeof text !== 'string') badParam('body is missing');
          if (String(text).trim() === '') message(400, { note: ["can't be blank"] });
          const note = { id: state.nextId++, body: String(text), author: state.me, created_at: now() };
          issue.notes.push(note);
          return json(201, {
            id: note.id,
            type: null,
            body: note.body,
            author: userEntity(state, note.author, url),
            created_at: rendered(note.created_at, state.timeZoneOffset),
            updated_at: rendered(note.created_at, state.timeZoneOffset),
            system: false,
            noteable_id: issue.id,
            noteable_type: 'Issue',
            noteable_iid: issue.iid,
          });
        },
      },
      {
        name: 'list-merge-requests',
        method: 'GET',
        path: '/api/v4/projects/:id/merge_requests',
        handle: ({ request, params, state, url }) => {
          const p = project(state, params['id'] ?? '');
          const wanted = request.query['state'] ?? 'all';
          if (!['opened', 'closed', 'merged', 'locked', 'all'].includes(wanted)) {
            badParam('state does not have a valid value');
          }
          const found = p.mergeRequests
            .filter((mr) => wanted === 'all' || mr.state === wanted)
            .sort((a, b) => b.created_at.localeCompare(a.created_at) || b.id - a.id);
          return paginate(
            request,
            found.map((mr) => mergeRequestEntity(state, p, mr, url)),
            url,
          );
        },
      },
      {
        name: 'get-merge-request',
        method: 'GET',
        path: '/api/v4/projects/:id/merge_requests/:iid',
        handle: ({ params, state, url }) => {
          const p = project(state, params['id'] ?? '');
          const mr =
            p.mergeRequests.find((m) => String(m.iid) === params['iid']) ?? notFound('Merge Request');
          return json(200, mergeRequestEntity(state, p, mr, url));
        },
      },
      {
        name: 'create-merge-request',
        method: 'POST',
        path: '/api/v4/projects/:id/merge_requests',
        handle: ({ request, params, state, url }) => {
          const p = project(state, params['id'] ?? '');
          const input = body(request);
          for (const key of ['source_branch', 'target_branch', 'title']) {
            if (typeof input[key] !== 'string' || input[key] === '') badParam(`${key} is missing`);
          }
          const source = String(input['source_branch']);
          const target = String(input['target_branch']);
          if (source === target) message(422, ['You can not use same project/branch for source and target']);
          for (const [branch, side] of [
            [source, 'Source'],
            [target, 'Target'],
          ] as const) {
            if (!p.branches.has(branch)) message(409, [`${side} branch "${branch}" does not exist`]);
          }
          const open = p.mergeRequests.find(
            (m) => m.state === 'opened' && m.source_branch === source && m.target_branch === target,
          );
          if (open !== undefined) {
            message(409, [`Another open merge request already exists for this source branch: !${open.iid}`]);
          }
          const at = now();
          const mr: GitlabFakeMergeRequest = {
            id: state.nextId++,
            iid: Math.max(0, ...p.mergeRequests.map((m) => m.iid)) + 1,
            title: String(input['title']),
            description: typeof input['description'] === 'string' ? input['description'] : null,
            state: 'opened',
            source_branch: source,
            target_branch: target,
            author: state.me,
            created_at: at,
            updated_at: at,
          };
          p.mergeRequests.push(mr);
          return json(201, mergeRequestEntity(state, p, mr, url));
        },
      },
      {
        name: 'create-pipeline',
        method: 'POST',
        path: '/api/v4/projects/:id/pipeline',
        handle: ({ request, params, state, url }) => {
          const p = project(state, params['id'] ?? '');
          const input = body(request);
          if (typeof input['ref'] !== 'string' || input['ref'] === '') badParam('ref is missing');
          const ref = String(input['ref']);
          if (!p.branches.has(ref)) message(400, { base: ['Reference not found'] });
          const variables = Array.isArray(input['variables'])
            ? (input['variables'] as { key?: unknown; value?: unknown }[]).map((v) => ({
                key: String(v.key),
                value: String(v.value),
              }))
            : [];
          const at = now();
          const pipeline: GitlabFakePipeline = {
            id: state.nextId++,
            iid: p.pipelines.length + 1,
            ref,
            sha: sha(`${ref}:${at}`),
            status: 'created',
            source: 'api',
            variables,
            created_at: at,
            updated_at: at,
          };
          p.pipelines.push(pipeline);
          return json(201, pipelineEntity(state, p, pipeline, url));
        },
      },
      {
        name: 'get-pipeline',
        method: 'GET',
        path: '/api/v4/projects/:id/pipelines/:pipeline_id',
        handle: ({ params, state, url }) => {
          const p = project(state, params['id'] ?? '');
          const pipeline =
            p.pipelines.find((x) => String(x.id) === params['pipeline_id']) ?? notFound('Pipeline');
          // Each read moves a fresh pipeline on, as a runner would.
          const next: Record<string, string> = { created: 'pending', pending: 'running', running: 'success' };
          const status = pipeline.status;
          pipeline.status = next[status] ?? status;
          return json(200, { ...pipelineEntity(state, p, pipeline, url), status });
        },
      },
      {
        name: 'list-tree',
        method: 'GET',
        path: '/api/v4/projects/:id/repository/tree',
        handle: ({ request, params, state, url }) => {
          const p = project(state, params['id'] ?? '');
          const files = branchFiles(p, request.query['ref'] ?? p.default_branch);
          const items = treeEntries(
            files,
            request.query['path'] ?? '',
            request.query['recursive'] === 'true',
          );
          if (request.query['pagination'] !== 'keyset') return paginate(request, items, url);
          return keysetPage(request, items, url, p.id);
        },
      },
      {
        name: 'get-file',
        method: 'GET',
        path: '/api/v4/projects/:id/repository/files/:file_path',
        handle: ({ request, params, state }) => {
          const p = project(state, params['id'] ?? '');
          const ref = request.query['ref'];
          const file = branchFiles(p, ref).get(params['file_path'] ?? '') ?? notFound('File');
          const path = params['file_path'] ?? '';
          return json(200, {
            file_name: path.split('/').pop(),
            file_path: path,
            size: file.content.length,
            encoding: 'base64',
            content: file.content.toString('base64'),
            content_sha256: createHash('sha256').update(file.content).digest('hex'),
            ref,
            blob_id: sha(file.content.toString('binary')),
            commit_id: file.last_commit_id,
            last_commit_id: file.last_commit_id,
          });
        },
      },
      {
        name: 'write-file',
        method: ['POST', 'PUT'],
        path: '/api/v4/projects/:id/repository/files/:file_path',
        handle: ({ request, params, state }) => {
          const p = project(state, params['id'] ?? '');
          const input = body(request);
          for (const key of ['branch', 'content', 'commit_message']) {
            if (typeof input[key] !== 'string') badParam(`${key} is missing`);
          }
          const path = params['file_path'] ?? '';
          const files = checkWrite(p, path, request.method, input);
          const content =
            input['encoding'] === 'base64'
              ? Buffer.from(String(input['content']), 'base64')
              : Buffer.from(String(input['content']));
          files.set(path, { content, last_commit_id: sha(`${path}:${randomUUID()}`) });
          return json(request.method === 'POST' ? 201 : 200, { file_path: path, branch: input['branch'] });
        },
      },
    ],
  };
}

/**
 * Starts the fake on 127.0.0.1 (an ephemeral port unless told).
 *
 * @example
 * ```ts
 * const fake = await startGitlabFake();
 * ```
 */
export function startGitlabFake(options?: StartOptions): Promise<FakeServer<GitlabFakeState>> {
  return startFake(gitlabFake(), options);
}

// As a sandbox: `npx node scripts/local/sandboxes/gitlab.ts [port]` serves the fake until stopped.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const fake = await startGitlabFake({ port: Number(process.argv[2] ?? 0) });
  console.log(`GitLab sandbox: GITLAB_API_URL=${fake.url}/api/v4 (token ${GITLAB_SANDBOX_TOKEN})`);
}
