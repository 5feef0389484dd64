/**
 * A contract fake of Jira Cloud REST v3, on the contract-fake kit: what the Jira connector's tests run
 * against, and the local stack's Jira sandbox (`npx node scripts/local/sandboxes/jira.ts [port]`).
 *
 * It follows Jira's published REST reference for what the connector uses:
 * - `POST /rest/api/3/issue` `{ fields }` -> 201 `{ id, key, self }`; descriptions must be Atlassian
 *   Document Format; a bad field is 400 `{ errorMessages: [], errors: { <field>: <message> } }` (an unknown
 *   project is an error on `project`, as Jira answers it);
 * - `GET`/`PUT /rest/api/3/issue/{key}` (PUT answers 204), 404 `{ errorMessages: ["Issue does not exist or
 *   you do not have permission to see it."], errors: {} }` for an unknown key;
 * - `GET`/`POST /rest/api/3/issue/{key}/transitions` (a simplified workflow: To Do, In Progress and Done,
 *   any to any; the current status is not offered), `POST /rest/api/3/issue/{key}/comment` -> 201;
 * - `GET`/`POST /rest/api/3/search/jql` with `jql`, `maxResults`, `fields`, `nextPageToken`: pages carry
 *   `nextPageToken` (opaque, bound to its JQL) and `isLast`; a token it did not issue is a 400. The JQL it
 *   understands: `AND`, parentheses, `=`, `!=`, `~` and `in (...)` on project, status, statusCategory,
 *   labels, assignee, issuetype, summary and text, and `ORDER BY created|updated ASC|DESC`; string literals
 *   with Jira's escapes (`\"`, `\\`, `\t`, `\n`, `\r`, `\uXXXX`), a raw control character in one a 400;
 * - `GET /rest/api/3/myself`;
 * - `POST /oauth/token` (Atlassian's `auth.atlassian.com`): the refresh-token grant, rotating the refresh
 *   token on every use (a used one is `403 invalid_grant`), access tokens then sent as Bearer;
 * - auth: HTTP Basic (an account email and API token) or an OAuth Bearer token, else 401; throttling is
 *   429 with `Retry-After` and `X-RateLimit-Reset` (ISO 8601 to the minute, `yyyy-MM-ddTHH:mmZ`) and
 *   `RateLimit-Reason` (faults add 403, 404, 5xx, slow, malformed, oversized).
 *
 * Seed: project `OPS` (Operations) with OPS-1 to OPS-3, project `WEB`; users {@link JIRA_SANDBOX_ACCOUNT}
 * and `5b10ac8d82e05b22cc7d4ef5`; credentials {@link JIRA_SANDBOX_EMAIL} / {@link JIRA_SANDBOX_TOKEN}.
 *
 * @example
 * ```ts
 * const fake = await startJiraFake();
 * process.env['JIRA_API_URL'] = fake.url;
 * fake.inject({ kind: 'throttled', retryAfterSeconds: 1 }, { route: 'search-issues' });
 * ```
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
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

/** The sandbox account's email and API token: sandbox credentials, not secrets. */
export const JIRA_SANDBOX_EMAIL = 'sandbox@example.com';
export const JIRA_SANDBOX_TOKEN = 'jira-sandbox-token';
/** The secret value the local stack stores for the sandbox (basic auth's `{ username, password }`). */
export const JIRA_SANDBOX_SECRET = JSON.stringify({
  username: JIRA_SANDBOX_EMAIL,
  password: JIRA_SANDBOX_TOKEN,
});
/** The sandbox's webhook secret (the local stack stores it when none is set). */
export const JIRA_SANDBOX_WEBHOOK_SECRET = 'jira-sandbox-webhook-secret';
/** The sandbox user's accountId (assignable). */
export const JIRA_SANDBOX_ACCOUNT = '5b10a2844c20165700ede21g';

export interface JiraFakeIssue {
  id: string;
  key: string;
  project: string;
  summary: string;
  description: unknown;
  status: string;
  labels: string[];
  assignee: string | null;
  issuetype: string;
  created: string;
  updated: string;
  comments: { id: string; body: unknown; author: string; created: string }[];
}

export interface JiraFakeState {
  /** `email:token` pairs (basic) and access tokens (bearer) accepted. */
  tokens: Set<string>;
  /** OAuth clients: client id -> secret. */
  clients: Map<string, string>;
  /** Refresh tokens still valid -> client id. */
  refreshTokens: Map<string, string>;
  projects: Map<string, { name: string; next: number }>;
  users: Set<string>;
  issues: JiraFakeIssue[];
  nextId: number;
}

/** The simplified workflow: status -> category key. */
export const JIRA_STATUSES: Readonly<Record<string, 'new' | 'indeterminate' | 'done'>> = {
  'To Do': 'new',
  'In Progress': 'indeterminate',
  Done: 'done',
};
const TRANSITION_IDS: Readonly<Record<string, string>> = { 'To Do': '11', 'In Progress': '21', Done: '31' };
const ISSUE_TYPES = new Set(['Task', 'Bug', 'Story', 'Incident']);

const errorBody = (status: number, messages: string[], errors: Record<string, string> = {}): Answer =>
  json(status, { errorMessages: messages, errors });

const WORDS: Readonly<Record<string, string>> = {
  unauthorized: 'Client must be authenticated to access this resource.',
  forbidden: 'You do not have permission to perform this operation.',
  'not-found': 'The requested resource does not exist.',
  conflict: 'The resource was changed by another request.',
  throttled: 'Rate limit exceeded.',
  'server-error': 'Internal server error.',
};

/**
 * Jira's error bodies: `{ errorMessages, errors }` with the status. A throttled answer also carries
 * `X-RateLimit-Reset`, the request time plus the wait in ISO 8601 to the minute (`yyyy-MM-ddTHH:mmZ`),
 * and `RateLimit-Reason`, as Jira's rate-limiting reference describes.
 */
export const jiraErrors: ErrorDialect = (kind, { status, retryAfterSeconds }) => {
  const answer = errorBody(status, [WORDS[kind] ?? kind]);
  if (kind !== 'throttled') return answer;
  const reset = new Date(Date.now() + (retryAfterSeconds ?? 0) * 1000).toISOString().slice(0, 16);
  return { ...answer, headers: { 'x-ratelimit-reset': `${reset}Z`, 'ratelimit-reason': 'jira-burst-based' } };
};

const isAdf = (value: unknown): boolean =>
  typeof value === 'object' &&
  value !== null &&
  (value as { type?: unknown }).type === 'doc' &&
  (value as { version?: unknown }).version === 1 &&
  Array.isArray((value as { content?: unknown }).content);

function adfText(node: unknown): string {
  if (typeof node !== 'object' || node === null) return '';
  const { text, content } = node as { text?: unknown; content?: unknown };
  const own = typeof text === 'string' ? text : '';
  return Array.isArray(content) ? own + content.map(adfText).join(' ') : own;
}

// --- JQL: the subset the connector and the READMEs use -------------------------------------------------

type Predicate = (issue: JiraFakeIssue) => boolean;

function jqlError(message: string): never {
  return refuse(errorBody(400, [`Error in the JQL Query: ${message}`]));
}

function tokenize(jql: string): string[] {
  const tokens: string[] = [];
  const pattern = /\s*("(?:[^"\\]|\\.)*"|!=|[()=~,]|[^\s()=~,!"]+)/gy;
  let match: RegExpExecArray | null;
  let at = 0;
  for (;;) {
    pattern.lastIndex = at;
    match = pattern.exec(jql);
    if (match === null) break;
    tokens.push(match[1] ?? '');
    at = pattern.lastIndex;
  }
  if (jql.slice(at).trim() !== '') jqlError(`cannot read the query at character ${at}`);
  return tokens;
}

const ESCAPED: Readonly<Record<string, string>> = {
  t: '\t',
  n: '\n',
  r: '\r',
  '"': '"',
  "'": "'",
  '\\': '\\',
  ' ': ' ',
};

/** Characters Jira's JQL grammar refuses raw in a string (its lexer's `CONTROLCHARS`: a tab, not a line break). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
const JQL_CONTROL = /[\u0000-\u0009\u000b\u000c\u000e-\u001f\u007f-\u009f\ufdd0-\ufdef\ufffe\uffff]/;

/**
 * A token's value: a quoted string's escapes decoded as Jira's lexer does (`\"`, `\'`, `\\`, `\ `, `\t`,
 * `\n`, `\r`, `\uXXXX`); a control character (a tab, not a line break) or non-character written raw in a
 * string is refused, as Jira's grammar refuses it.
 */
function unquote(token: string): string {
  if (!token.startsWith('"')) return token;
  const body = token.slice(1, -1);
  const raw = JQL_CONTROL.exec(body);
  if (raw !== null) {
    jqlError(
      `The character '\\u${raw[0].charCodeAt(0).toString(16).padStart(4, '0')}' is not allowed in a string; escape it`,
    );
  }
  return body.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, sequence: string) => {
    if (sequence.length === 5) return String.fromCharCode(Number.parseInt(sequence.slice(1), 16));
    return ESCAPED[sequence] ?? jqlError(`'\\${sequence}' is an illegal JQL escape sequence`);
  });
}

function fieldValues(issue: JiraFakeIssue, field: string): string[] {
  switch (field) {
    case 'project':
      return [issue.project];
    case 'status':
      return [issue.status];
    case 'statuscategory':
      return [
        { new: 'To Do', indeterminate: 'In Progress', done: 'Done' }[JIRA_STATUSES[issue.status] ?? 'new'],
      ];
    case 'labels':
      return issue.labels;
    case 'assignee':
      return issue.assignee === null ? [] : [issue.assignee];
    case 'issuetype':
      return [issue.issuetype];
    case 'summary':
      return [issue.summary];
    case 'text':
      return [issue.summary, adfText(issue.description), ...issue.comments.map((c) => adfText(c.body))];
    default:
      return jqlError(`Field '${field}' does not exist or you do not have permission to view it.`);
  }
}

class JqlParser {
  #at = 0;
  readonly tokens: string[];
  readonly projects: Map<string, unknown>;

  constructor(tokens: string[], projects: Map<string, unknown>) {
    this.tokens = tokens;
    this.projects = projects;
  }

  peek(): string | undefined {
    return this.tokens[this.#at];
  }

  take(): string {
    const token = this.tokens[this.#at];
    if (token === undefined) jqlError('the query ends too early');
    this.#at += 1;
    return token;
  }

  or(): Predicate {
    const parts = [this.and()];
    while (this.peek()?.toUpperCase() === 'OR') {
      this.take();
      parts.push(this.and());
    }
    return (issue) => parts.some((part) => part(issue));
  }

  and(): Predicate {
    const parts = [this.term()];
    while (this.peek()?.toUpperCase() === 'AND') {
      this.take();
      parts.push(this.term());
    }
    return (issue) => parts.every((part) => part(issue));
  }

  term(): Predicate {
    if (this.peek() === '(') {
      this.take();
      const inner = this.or();
      if (this.take() !== ')') jqlError('expected )');
      return inner;
    }
    const field = this.take().toLowerCase();
    const operator = this.take().toLowerCase();
    const values = this.values(operator);
    if (field === 'project') {
      const unknown = values.find((value) => !this.projects.has(value));
      if (unknown !== undefined) jqlError(`The value '${unknown}' does not exist for the field 'project'.`);
    }
    const lower = values.map((value) => value.toLowerCase());
    const matches = (actual: string): boolean =>
      operator === '~'
        ? lower.every((word) => actual.toLowerCase().includes(word))
        : lower.includes(actual.toLowerCase());
    const has = (issue: JiraFakeIssue): boolean => fieldValues(issue, field).some(matches);
    return operator === '!=' || operator === 'not' ? (issue) => !has(issue) : has;
  }

  values(operator: string): string[] {
    if (['=', '!=', '~'].includes(operator)) return [unquote(this.take())];
    if (operator !== 'in' && !(operator === 'not' && this.take().toLowerCase() === 'in')) {
      jqlError(`the operator '${operator}' is not supported`);
    }
    if (this.take() !== '(') jqlError('expected ( after in');
    const values: string[] = [];
    for (let token = this.take(); token !== ')'; token = this.take()) {
      if (token !== ',') values.push(unquote(token));
    }
    return values;
  }

  order(): (a: JiraFakeIssue, b: JiraFakeIssue) => number {
    if (this.peek() === undefined) return (a, b) => Number(b.id) - Number(a.id);
    if (this.take().toUpperCase() !== 'ORDER' || this.take().toUpperCase() !== 'BY')
      jqlError('expected ORDER BY');
    const field = this.take().toLowerCase();
    const direction = this.peek()?.toUpperCase() === 'ASC' ? 1 : -1;
    if (this.peek() !== undefined) this.take();
    if (field !== 'created' && field !== 'updated' && field !== 'key') jqlError(`cannot order by ${field}`);
    const by = field === 'updated' ? 'updated' : 'id';
    return (a, b) =>
      direction * (by === 'id' ? Number(a.id) - Number(b.id) : a.updated.localeCompare(b.updated));
  }
}

/** The issues a JQL query selects, in its order. */
export function runJql(jql: string, state: JiraFakeState): JiraFakeIssue[] {
  const tokens = tokenize(jql);
  const orderAt = tokens.findIndex(
    (token, i) => token.toUpperCase() === 'ORDER' && tokens[i + 1]?.toUpperCase() === 'BY',
  );
  const where = orderAt === -1 ? tokens : tokens.slice(0, orderAt);
  const parser = new JqlParser(where, state.projects);
  const predicate: Predicate = where.length === 0 ? () => true : parser.or();
  if (parser.peek() !== undefined) jqlError(`unexpected '${parser.peek()}'`);
  const order = new JqlParser(orderAt === -1 ? [] : tokens.slice(orderAt), state.projects).order();
  return state.issues.filter(predicate).sort(order);
}

// --- answers ---------------------------------------------------------------------------------------------

function issueAnswer(issue: JiraFakeIssue, url: string): Record<string, unknown> {
  const category = JIRA_STATUSES[issue.status] ?? 'new';
  return {
    id: issue.id,
    key: issue.key,
    self: `${url}/rest/api/3/issue/${issue.id}`,
    fields: {
      summary: issue.summary,
      description: issue.description,
      status: { name: issue.status, statusCategory: { key: category } },
      labels: issue.labels,
      assignee: issue.assignee === null ? null : { accountId: issue.assignee },
      issuetype: { name: issue.issuetype },
      project: { key: issue.project },
      created: issue.created,
      updated: issue.updated,
    },
  };
}

function findIssue(state: JiraFakeState, key: string | undefined): JiraFakeIssue {
  const issue = state.issues.find((candidate) => candidate.key === key || candidate.id === key);
  if (issue === undefined) {
    refuse(errorBody(404, ['Issue does not exist or you do not have permission to see it.']));
  }
  return issue;
}

const fieldsOf = (request: FakeRequest): Record<string, unknown> => {
  const fields = (request.body as { fields?: unknown } | undefined)?.fields;
  if (typeof fields !== 'object' || fields === null) refuse(errorBody(400, ['fields is required']));
  return fields as Record<string, unknown>;
};

type FieldRule = (
  value: unknown,
  state: JiraFakeState,
) => { set: Partial<JiraFakeIssue> } | { error: string };

/** How each settable field is checked and stored, with Jira's per-field error messages. */
const FIELD_RULES: Readonly<Record<string, FieldRule>> = {
  summary: (value) =>
    typeof value === 'string' && value.trim() !== ''
      ? { set: { summary: value } }
      : { error: 'You must specify a summary of the issue.' },
  description: (value) =>
    value === null || isAdf(value)
      ? { set: { description: value } }
      : { error: 'Operation value must be an Atlassian Document (see the Atlassian Document Format)' },
  labels: (value) =>
    Array.isArray(value) && value.every((label) => typeof label === 'string' && !/\s/.test(label))
      ? { set: { labels: value as string[] } }
      : { error: 'The label must not contain spaces.' },
  assignee: (value, state) => {
    if (value === null) return { set: { assignee: null } };
    const id = (value as { accountId?: unknown } | undefined)?.accountId;
    return typeof id === 'string' && state.users.has(id)
      ? { set: { assignee: id } }
      : { error: 'Specify a valid value for assignee' };
  },
};

/** Applies settable fields (create and edit), collecting Jira's per-field errors. */
function applyFields(
  issue: Partial<JiraFakeIssue>,
  fields: Record<string, unknown>,
  state: JiraFakeState,
  errors: Record<string, string>,
): void {
  for (const [name, rule] of Object.entries(FIELD_RULES)) {
    if (!(name in fields)) continue;
    const outcome = rule(fields[name], state);
    if ('error' in outcome) errors[name] = outcome.error;
    else Object.assign(issue, outcome.set);
  }
}

function searchPage(request: FakeRequest, state: JiraFakeState, url: string): Answer {
  const params = {
    ...request.query,
    ...(typeof request.body === 'object' && request.body !== null
      ? (request.body as Record<string, unknown>)
      : {}),
  };
  const jql = typeof params['jql'] === 'string' ? params['jql'] : '';
  if (jql.trim() === '')
    refuse(
      errorBody(400, [
        'Unbounded JQL queries are not allowed here. Please add a search restriction to your query.',
      ]),
    );
  const maxResults = Number(params['maxResults'] ?? 50);
  if (!Number.isInteger(maxResults) || maxResults < 1)
    refuse(errorBody(400, ["The value for 'maxResults' is invalid."]));
  const limit = Math.min(maxResults, 100);
  const binding = createHash('sha256').update(jql).digest('base64url').slice(0, 16);
  let offset = 0;
  const token = params['nextPageToken'];
  if (token !== undefined) {
    const [tokenBinding, at] = String(token).split('.');
    offset = Number(at);
    if (tokenBinding !== binding || !Number.isInteger(offset) || offset < 0) {
      refuse(errorBody(400, ['The provided next page token is invalid or expired.']));
    }
  }
  const matches = runJql(jql, state);
  const issues = matches.slice(offset, offset + limit).map((issue) => issueAnswer(issue, url));
  const isLast = offset + limit >= matches.length;
  return json(
    200,
    isLast ? { issues, isLast } : { issues, isLast, nextPageToken: `${binding}.${offset + limit}` },
  );
}

function basicOrBearer(request: FakeRequest): string | undefined {
  const header = request.headers['authorization'] ?? '';
  const basic = /^Basic\s+(\S+)$/i.exec(header)?.[1];
  if (basic !== undefined) return Buffer.from(basic, 'base64').toString('utf8');
  return /^Bearer\s+(\S+)$/i.exec(header)?.[1];
}

function oauthToken(request: FakeRequest, state: JiraFakeState): Answer {
  const form = (typeof request.body === 'object' && request.body !== null ? request.body : {}) as Record<
    string,
    unknown
  >;
  const invalid = (description: string): Answer =>
    json(403, { error: 'invalid_grant', error_description: description });
  if (form['grant_type'] !== 'refresh_token') return json(400, { error: 'unsupported_grant_type' });
  const clientId = String(form['client_id'] ?? '');
  if (state.clients.get(clientId) !== form['client_secret'])
    return json(401, { error: 'access_denied', error_description: 'Unauthorized' });
  const refreshToken = String(form['refresh_token'] ?? '');
  if (state.refreshTokens.get(refreshToken) !== clientId) return invalid('Unknown or invalid refresh token.');
  state.refreshTokens.delete(refreshToken);
  const rotated = `jira-refresh-${randomUUID()}`;
  const access = `jira-access-${randomUUID()}`;
  state.refreshTokens.set(rotated, clientId);
  state.tokens.add(access);
  return json(200, {
    access_token: access,
    refresh_token: rotated,
    expires_in: 3600,
    token_type: 'Bearer',
    scope: 'read:jira-work write:jira-work offline_access',
  });
}

/**
 * The `X-Hub-Signature` value Jira sends with a webhook whose secret is `secret`.
 *
 * @example
 * ```ts
 * const signature = signJiraWebhook(JIRA_SANDBOX_WEBHOOK_SECRET, body); // 'sha256=...'
 * ```
 */
export function signJiraWebhook(secret: string, body: string | Buffer): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

function seedIssues(): JiraFakeIssue[] {
  const doc = (text: string) => ({
    type: 'doc',
    version: 1,
    content: [{ type: 'paragraph', content: [{ type: 'text', text }] }],
  });
  const base = { labels: [] as string[], assignee: null, issuetype: 'Task', comments: [] };
  return [
    {
      ...base,
      id: '10001',
      key: 'OPS-1',
      project: 'OPS',
      summary: 'Rotate the database password',
      description: doc('Quarterly rotation'),
      status: 'Done',
      created: '2024-05-01T09:00:00.000+0000',
      updated: '2024-05-02T09:00:00.000+0000',
    },
    {
      ...base,
      id: '10002',
      key: 'OPS-2',
      project: 'OPS',
      summary: 'Disk almost full on db-1',
      description: doc('90% used on /var'),
      status: 'In Progress',
      labels: ['incident'],
      assignee: JIRA_SANDBOX_ACCOUNT,
      issuetype: 'Bug',
      created: '2024-05-03T09:00:00.000+0000',
      updated: '2024-05-03T10:00:00.000+0000',
    },
    {
      ...base,
      id: '10003',
      key: 'OPS-3',
      project: 'OPS',
      summary: 'Renew the TLS certificate',
      description: null,
      status: 'To Do',
      created: '2024-05-04T09:00:00.000+0000',
      updated: '2024-05-04T09:00:00.000+0000',
    },
  ];
}

/**
 * The fake's definition, for `startFake` or a sandbox.
 *
 * @example
 * ```ts
 * const fake = await startFake(jiraFake());
 * ```
 */
export function jiraFake(): FakeDefinition<JiraFakeState> {
  return {
    name: 'Jira',
    seed: () => ({
      tokens: new Set([`${JIRA_SANDBOX_EMAIL}:${JIRA_SANDBOX_TOKEN}`]),
      clients: new Map([['jira-sandbox-client', 'jira-sandbox-client-secret']]),
      refreshTokens: new Map([['jira-sandbox-refresh-1', 'jira-sandbox-client']]),
      projects: new Map([
        ['OPS', { name: 'Operations', next: 4 }],
        ['WEB', { name: 'Website', next: 1 }],
      ]),
      users: new Set([JIRA_SANDBOX_ACCOUNT, '5b10ac8d82e05b22cc7d4ef5']),
      issues: seedIssues(),
      nextId: 10004,
    }),
    errors: jiraErrors,
    token: basicOrBearer,
    authorize: ({ request, state }) => (state.tokens.has(request.token ?? '') ? undefined : 'unauthorized'),
    secretFields: ['client_secret', 'refresh_token', 'access_token'],
    routes: [
      {
        name: 'oauth-token',
        method: 'POST',
        path: '/oauth/token',
        auth: false,
        handle: ({ request, state }) => oauthToken(request, state),
      },
      {
        name: 'myself',
        method: 'GET',
        path: '/rest/api/3/myself',
        handle: () =>
          json(200, { accountId: JIRA_SANDBOX_ACCOUNT, emailAddress: JIRA_SANDBOX_EMAIL, active: true }),
      },
      {
        name: 'create-issue',
        method: 'POST',
        path: '/rest/api/3/issue',
        handle: ({ request, state, url }) => {
          const fields = fieldsOf(request);
          const errors: Record<string, string> = {};
          const projectKey = (fields['project'] as { key?: unknown } | undefined)?.key;
          const project = typeof projectKey === 'string' ? state.projects.get(projectKey) : undefined;
          if (project === undefined) errors['project'] = 'valid project is required';
          const type = (fields['issuetype'] as { name?: unknown } | undefined)?.name;
          if (typeof type !== 'string' || !ISSUE_TYPES.has(type))
            errors['issuetype'] = 'Specify a valid issue type';
          if (!('summary' in fields)) errors['summary'] = 'You must specify a summary of the issue.';
          const now = new Date().toISOString().replace('Z', '+0000');
          const draft: Partial<JiraFakeIssue> = {};
          applyFields(draft, fields, state, errors);
          if (Object.keys(errors).length > 0 || project === undefined) return errorBody(400, [], errors);
          const issue: JiraFakeIssue = {
            id: String(state.nextId++),
            key: `${String(projectKey)}-${project.next++}`,
            project: String(projectKey),
            summary: draft.summary ?? '',
            description: draft.description ?? null,
            status: 'To Do',
            labels: draft.labels ?? [],
            assignee: draft.assignee ?? null,
            issuetype: String(type),
            created: now,
            updated: now,
            comments: [],
          };
          state.issues.push(issue);
          return json(201, { id: issue.id, key: issue.key, self: `${url}/rest/api/3/issue/${issue.id}` });
        },
      },
      {
        name: 'get-issue',
        method: 'GET',
        path: '/rest/api/3/issue/:key',
        handle: ({ params, state, url }) => json(200, issueAnswer(findIssue(state, params['key']), url)),
      },
      {
        name: 'edit-issue',
        method: 'PUT',
        path: '/rest/api/3/issue/:key',
        handle: ({ request, params, state }) => {
          const issue = findIssue(state, params['key']);
          const errors: Record<string, string> = {};
          const draft: Partial<JiraFakeIssue> = {};
          applyFields(draft, fieldsOf(request), state, errors);
          if (Object.keys(errors).length > 0) return errorBody(400, [], errors);
          Object.assign(issue, draft, { updated: new Date().toISOString().replace('Z', '+0000') });
          return { status: 204 };
        },
      },
      {
        name: 'get-transitions',
        method: 'GET',
        path: '/rest/api/3/issue/:key/transitions',
        handle: ({ params, state }) => {
          const issue = findIssue(state, params['key']);
          const transitions = Object.entries(JIRA_STATUSES)
            .filter(([name]) => name !== issue.status)
            .map(([name, key]) => ({
              id: TRANSITION_IDS[name],
              name,
              to: { name, statusCategory: { key } },
            }));
          return json(200, { transitions });
        },
      },
      {
        name: 'do-transition',
        method: 'POST',
        path: '/rest/api/3/issue/:key/transitions',
        handle: ({ request, params, state }) => {
          const issue = findIssue(state, params['key']);
          const id = (request.body as { transition?: { id?: unknown } } | undefined)?.transition?.id;
          const target = Object.entries(TRANSITION_IDS).find(
            ([name, tid]) => tid === id && name !== issue.status,
          )?.[0];
          if (target === undefined)
            return errorBody(400, [], { transition: 'Transition id is not valid for this issue.' });
          issue.status = target;
          issue.updated = new Date().toISOString().replace('Z', '+0000');
          return { status: 204 };
        },
      },
      {
        name: 'add-comment',
        method: 'POST',
        path: '/rest/api/3/issue/:key/comment',
        handle: ({ request, params, state, url }) => {
          const issue = findIssue(state, params['key']);
          const body = (request.body as { body?: unknown } | undefined)?.body;
          if (!isAdf(body))
            return errorBody(400, [], { comment: 'Comment body must be an Atlassian Document.' });
          const comment = {
            id: String(20_000 + state.issues.reduce((n, i) => n + i.comments.length, 0) + 1),
            body,
            author: JIRA_SANDBOX_ACCOUNT,
            created: new Date().toISOString().replace('Z', '+0000'),
          };
          issue.comments.push(comment);
          return json(201, {
            ...comment,
            self: `${url}/rest/api/3/issue/${issue.id}/comment/${comment.id}`,
            author: { accountId: comment.author },
          });
        },
      },
      {
        name: 'search-issues',
        method: ['GET', 'POST'],
        path: '/rest/api/3/search/jql',
        handle: ({ request, state, url }) => searchPage(request, state, url),
      },
    ],
  };
}

/**
 * Starts the fake on 127.0.0.1 (an ephemeral port unless told).
 *
 * @example
 * ```ts
 * const fake = await startJiraFake();
 * ```
 */
export function startJiraFake(options?: StartOptions): Promise<FakeServer<JiraFakeState>> {
  return startFake(jiraFake(), options);
}

// As a sandbox: `npx node scripts/local/sandboxes/jira.ts [port]` serves the fake until stopped.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === import.meta.filename) {
  const fake = await startJiraFake({ port: Number(process.argv[2] ?? 0) });
  console.log(`Jira sandbox: JIRA_API_URL=${fake.url} (${JIRA_SANDBOX_EMAIL} / ${JIRA_SANDBOX_TOKEN})`);
}
