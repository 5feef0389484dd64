/**
 * Jira Cloud REST v3: the only code that talks to Jira. `jiraApi` states Jira's facts for the core's REST
 * kit (basic auth, status-based errors with Jira's `{ errorMessages, errors }` bodies, `nextPageToken`
 * pagination); `JiraApi` holds the calls on parsed input; `JiraClient` is the library face, the
 * issue-tracker interface, which parses its input once.
 */
import {
  ConflictError,
  type ConnectorError,
  defineRestProvider,
  type HttpResponse,
  NotFoundError,
  opaqueToken,
  parseInput,
  RateLimitedError,
  type RequestAuth,
  type RestClient,
  ValidationError,
} from '@circle-core/core';
import * as z from 'zod';
import type { IssueTracker, IssueTrackerCapability } from '#shared/interfaces/issue-tracker.ts';
import { fromAdf, toAdf } from './adf.ts';
import {
  CommentAnswer,
  CommentOnTrackerIssueInput,
  CreatedAnswer,
  CreateTrackerIssueInput,
  IssueAnswer,
  MyselfAnswer,
  SearchAnswer,
  SearchTrackerIssuesInput,
  type TrackerComment,
  type TrackerIssue,
  type TrackerIssuePage,
  TrackerIssueRef,
  TransitionsAnswer,
  TransitionTrackerIssueInput,
  UpdateTrackerIssueInput,
} from './models.ts';

const ErrorBody = z.object({
  errorMessages: z.array(z.string()).optional(),
  errors: z.record(z.string(), z.string()).optional(),
});

/**
 * Jira's 400s: `errors` names the fields it refused. An unknown project on create is a 400 on the
 * `project` field, which the interface calls a NotFoundError.
 *
 * @example
 * ```ts
 * inspectJiraResponse({ status: 400, body: { errors: { project: 'valid project is required' } }, ... }); // NotFoundError
 * ```
 */
export function inspectJiraResponse(response: HttpResponse): ConnectorError | undefined {
  if (response.status === 429) return throttled(response);
  if (response.status !== 400) return undefined;
  const parsed = ErrorBody.safeParse(response.body);
  const errors = parsed.success ? (parsed.data.errors ?? {}) : {};
  const fields = Object.keys(errors).filter((field) => /^[\w.-]{1,64}$/.test(field));
  if (fields.includes('project')) return new NotFoundError('Jira project was not found (or is not visible)');
  const issues = fields.map((field) => ({
    pointer: `/${field}`,
    message: (errors[field] ?? '').slice(0, 200),
  }));
  const said = parsed.success ? (parsed.data.errorMessages?.[0] ?? '') : '';
  const summary = fields.length > 0 ? `fields ${fields.join(', ')}` : said.slice(0, 200) || 'the request';
  return new ValidationError(`Jira refused ${summary}`, issues);
}

/** Jira's `X-RateLimit-Reset`: ISO 8601 to the minute, `yyyy-MM-ddTHH:mmZ` (not an HTTP date). */
const ISO_RESET = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/;

/**
 * A 429 without `Retry-After` waits until `X-RateLimit-Reset`, which Jira writes in ISO 8601 (the core
 * reads reset headers as epoch numbers or HTTP dates only); with `Retry-After`, or without a readable
 * reset still ahead, the core's mapping stands.
 *
 * @example
 * ```ts
 * throttled({ status: 429, headers: { 'x-ratelimit-reset': '2026-12-07T16:10Z' }, body: {}, url }); // RateLimitedError
 * ```
 */
function throttled(response: HttpResponse, now: number = Date.now()): ConnectorError | undefined {
  const { headers } = response;
  if (headers['retry-after'] !== undefined) return undefined;
  const reset = headers['x-ratelimit-reset']?.trim() ?? '';
  const at = ISO_RESET.test(reset) ? Date.parse(reset) : Number.NaN;
  if (Number.isNaN(at) || at <= now) return undefined;
  return new RateLimitedError('Jira rate limit reached (HTTP 429)', {
    retryAfterMs: at - now,
    details: { status: 429, provider: 'Jira' },
  });
}

/** Jira Cloud REST v3 as data; its settings are `JIRA_API_URL`, `JIRA_TIMEOUT_MS`, ... */
export const jiraApi = defineRestProvider({
  name: 'Jira',
  settingsPrefix: 'JIRA',
  baseUrl: 'https://your-site.atlassian.net',
  baseUrlNote: 'with OAuth 2.0 (3LO): `https://api.atlassian.com/ex/jira/CLOUD_ID`',
  auth: { kind: 'basic' },
  headers: { accept: 'application/json' },
  errors: { codeIn: 'status' },
  inspect: inspectJiraResponse,
  pagination: opaqueToken({ field: 'nextPageToken', param: 'nextPageToken' }),
  // X-RateLimit-Reset is ISO 8601, which the core does not read: `inspectJiraResponse` turns it into the wait.
  rateLimit: { remaining: 'x-ratelimit-remaining' },
});

/** All of the interface: Jira has labels, assignees, issue types, workflows, text search and JQL. */
export const JIRA_CAPABILITIES: readonly IssueTrackerCapability[] = [
  'labels',
  'assignees',
  'issue-types',
  'custom-statuses',
  'text-search',
  'native-query',
];

const FIELDS = 'summary,description,status,labels,assignee,issuetype,project,created,updated';

const JQL_ESCAPES: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/**
 * A JQL string literal: `"` and `\` escaped with a backslash, as are characters Jira's lexer refuses raw in a
 * string (control characters and the non-characters U+FDD0-U+FDEF, U+FFFE, U+FFFF): `\t`, `\n`, `\r`, else
 * `\uXXXX`. Everything else, non-ASCII included, is sent as it is.
 *
 * @example
 * ```ts
 * quote('say "hi"\n'); // '"say \\"hi\\"\\n"'
 * ```
 */
const quote = (value: string): string =>
  `"${value.replace(/[\\"\p{Cc}\uFDD0-\uFDEF\uFFFE\uFFFF]/gu, (char) =>
    char === '\\' || char === '"'
      ? `\\${char}`
      : (JQL_ESCAPES[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`),
  )}"`;

type Created = z.output<typeof CreateTrackerIssueInput>;
type Updated = z.output<typeof UpdateTrackerIssueInput>;
type Transition = z.output<typeof TransitionTrackerIssueInput>;
type Search = z.output<typeof SearchTrackerIssuesInput>;

const invalidQuery = (message: string): ValidationError =>
  new ValidationError(`Invalid input: /query: ${message}`, [{ pointer: '/query', message }]);

/**
 * Refuses a native query that could leave the parentheses it is ANDed in: read outside JQL string
 * literals (`"..."` and `'...'`, with backslash escapes), its parentheses must never close more than
 * they opened and must balance, no parenthesis may be escaped (`\(`), every string must end, and it must
 * not order (`ORDER BY`; the connector orders newest first). Otherwise `statusCategory = Done) OR
 * (project = WEB` would reach another project's issues.
 *
 * @example
 * ```ts
 * checkJqlQuery('summary ~ "a (b"'); // passes
 * checkJqlQuery('a = 1) OR (project = WEB'); // throws ValidationError naming /query
 * ```
 */
export function checkJqlQuery(query: string): void {
  const outside = outsideStrings(query);
  let depth = 0;
  for (const char of outside) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (depth < 0) throw invalidQuery('expected balanced parentheses: a ) closes more than was opened');
  }
  if (depth !== 0) throw invalidQuery('expected balanced parentheses: a ( is never closed');
  if (/\border\s+by\b/i.test(outside)) throw invalidQuery('expected no ORDER BY; issues come newest first');
}

/** The end of the string literal opened at `start` (the index of its closing quote). */
function literalEnd(query: string, start: number): number {
  const quote = query[start];
  for (let at = start + 1; at < query.length; at += 1) {
    if (query[at] === '\\') at += 1;
    else if (query[at] === quote) return at;
  }
  throw invalidQuery('expected every string literal to end');
}

/** A query with each string literal and escaped character as one space: the JQL syntax around them. */
function outsideStrings(query: string): string {
  let outside = '';
  for (let at = 0; at < query.length; at += 1) {
    const char = query[at] ?? '';
    if (char === '"' || char === "'") {
      at = literalEnd(query, at);
      outside += ' ';
    } else if (char === '\\') {
      at += 1;
      if (query[at] === '(' || query[at] === ')') {
        throw invalidQuery('expected no escaped parenthesis outside a string literal; quote the value');
      }
      outside += ' ';
    } else {
      outside += char;
    }
  }
  return outside;
}

/**
 * The JQL of a search: the project, the filters, newest first. A native query is checked by
 * {@link checkJqlQuery} first.
 *
 * @example
 * ```ts
 * searchJql({ project: 'OPS', state: 'open', limit: 50 }); // 'project = "OPS" AND statusCategory != Done ORDER BY created DESC'
 * ```
 */
export function searchJql(input: Search): string {
  const clauses = [`project = ${quote(input.project)}`];
  if (input.state === 'open') clauses.push('statusCategory != Done');
  if (input.state === 'closed') clauses.push('statusCategory = Done');
  for (const label of input.labels ?? []) clauses.push(`labels = ${quote(label)}`);
  if (input.text !== undefined) clauses.push(`text ~ ${quote(input.text)}`);
  if (input.query !== undefined) {
    checkJqlQuery(input.query);
    clauses.push(`(${input.query})`);
  }
  return `${clauses.join(' AND ')} ORDER BY created DESC`;
}

function toIssue(answer: IssueAnswer, site: string): TrackerIssue {
  const { fields } = answer;
  return {
    key: answer.key,
    id: answer.id,
    project: fields.project.key,
    title: fields.summary,
    description: fromAdf(fields.description),
    state: fields.status.statusCategory.key === 'done' ? 'closed' : 'open',
    status: fields.status.name,
    labels: fields.labels,
    assignee: fields.assignee?.accountId ?? null,
    issueType: fields.issuetype?.name ?? null,
    url: `${site}/browse/${answer.key}`,
    createdAt: fields.created,
    updatedAt: fields.updated,
  };
}

const issuePath = (key: string): string => `/rest/api/3/issue/${encodeURIComponent(key)}`;

/**
 * Jira's issues on parsed input. GETs are retried by the core; writes (create, comment, transition) are
 * sent once, since Jira has no idempotency keys; an update (PUT of the same fields) is idempotent.
 *
 * @example
 * ```ts
 * const jira = new JiraApi(jiraApi.client({ credential: defineSecret('circle-core/jira/credentials') }), { site });
 * const issue = await jira.createIssue({ project: 'OPS', title: 'Disk full' });
 * ```
 */
export class JiraApi {
  readonly #rest: RestClient;
  readonly #site: string;
  readonly #issueType: string;

  constructor(rest: RestClient, options: { site: string; defaultIssueType?: string }) {
    this.#rest = rest;
    this.#site = options.site.replace(/\/+$/, '');
    this.#issueType = options.defaultIssueType ?? 'Task';
  }

  async createIssue(input: Created): Promise<TrackerIssue> {
    const fields: Record<string, unknown> = {
      project: { key: input.project },
      summary: input.title,
      issuetype: { name: input.issueType ?? this.#issueType },
    };
    if (input.description !== undefined) fields['description'] = toAdf(input.description);
    if (input.labels !== undefined) fields['labels'] = input.labels;
    if (input.assignee !== undefined) fields['assignee'] = { accountId: input.assignee };
    const created = await this.#rest.post('/rest/api/3/issue', CreatedAnswer, {
      json: { fields },
      what: 'a created issue',
      notFound: `Jira project ${input.project}`,
    });
    return this.getIssue({ project: input.project, key: created.key });
  }

  async getIssue(input: TrackerIssueRef): Promise<TrackerIssue> {
    const answer = await this.#rest.get(issuePath(input.key), IssueAnswer, {
      query: { fields: FIELDS },
      what: 'an issue',
      notFound: `Jira issue ${input.key}`,
    });
    // A key names its project; another project's issue is not this project's.
    if (answer.fields.project.key !== input.project) {
      throw new NotFoundError(`Jira issue ${input.key} was not found in project ${input.project}`);
    }
    return toIssue(answer, this.#site);
  }

  async updateIssue(input: Updated): Promise<TrackerIssue> {
    await this.getIssue(input);
    const fields: Record<string, unknown> = {};
    if (input.title !== undefined) fields['summary'] = input.title;
    if (input.description !== undefined) fields['description'] = toAdf(input.description);
    if (input.labels !== undefined) fields['labels'] = input.labels;
    if (input.assignee !== undefined) {
      fields['assignee'] = input.assignee === null ? null : { accountId: input.assignee };
    }
    await this.#rest.put(issuePath(input.key), z.unknown(), {
      json: { fields },
      what: 'an issue update',
      notFound: `Jira issue ${input.key}`,
    });
    return this.getIssue(input);
  }

  async commentOnIssue(input: z.output<typeof CommentOnTrackerIssueInput>): Promise<TrackerComment> {
    await this.getIssue(input);
    const answer = await this.#rest.post(`${issuePath(input.key)}/comment`, CommentAnswer, {
      json: { body: toAdf(input.body) },
      what: 'a comment',
      notFound: `Jira issue ${input.key}`,
    });
    return {
      id: answer.id,
      key: input.key,
      body: fromAdf(answer.body) ?? '',
      author: answer.author?.accountId ?? null,
      createdAt: answer.created,
    };
  }

  /**
   * Moves an issue through its workflow: to the first transition into the wanted status category
   * (closed: done; open: to do, else in progress) or status name. Already there answers the issue as
   * is; no transition to the target is a ConflictError.
   */
  async transitionIssue(input: Transition): Promise<TrackerIssue> {
    const issue = await this.getIssue(input);
    const wanted = input.status?.toLowerCase();
    if (wanted === undefined ? issue.state === input.state : issue.status.toLowerCase() === wanted) {
      return issue;
    }
    const { transitions } = await this.#rest.get(`${issuePath(input.key)}/transitions`, TransitionsAnswer, {
      what: 'the transitions',
      notFound: `Jira issue ${input.key}`,
    });
    const category = (t: (typeof transitions)[number]) => t.to.statusCategory.key;
    const chosen =
      wanted !== undefined
        ? transitions.find((t) => t.to.name.toLowerCase() === wanted)
        : input.state === 'closed'
          ? transitions.find((t) => category(t) === 'done')
          : (transitions.find((t) => category(t) === 'new') ??
            transitions.find((t) => category(t) === 'indeterminate'));
    if (chosen === undefined) {
      const target = input.status ?? input.state ?? '';
      throw new ConflictError(`Jira issue ${input.key} has no transition from ${issue.status} to ${target}`);
    }
    await this.#rest.post(`${issuePath(input.key)}/transitions`, z.unknown(), {
      json: { transition: { id: chosen.id } },
      what: 'a transition',
      notFound: `Jira issue ${input.key}`,
    });
    return this.getIssue(input);
  }

  async searchIssues(input: Search): Promise<TrackerIssuePage> {
    const page = await this.#rest.list('/rest/api/3/search/jql', SearchAnswer, {
      query: { jql: searchJql(input), maxResults: input.limit, fields: FIELDS },
      cursor: input.cursor,
      what: 'a search',
      // The query is ANDed with the project; should Jira still answer another project's issue, it is dropped.
      items: (answer) =>
        answer.issues
          .filter((issue) => issue.fields.project.key === input.project)
          .map((issue) => toIssue(issue, this.#site)),
    });
    return page.nextCursor === undefined
      ? { issues: page.items }
      : { issues: page.items, nextCursor: page.nextCursor };
  }

  /** `GET /rest/api/3/myself`: proves the credentials and the URL for `health`. */
  async ping(): Promise<void> {
    await this.#rest.get('/rest/api/3/myself', MyselfAnswer);
  }

  close(): void {
    this.#rest.close();
  }
}

export interface JiraClientOptions {
  /** The site or API base URL (`https://acme.atlassian.net`, a fake's URL). */
  baseUrl: string;
  /** Basic auth (email and API token as `{ username, password }`) or an OAuth2 grant. */
  auth: RequestAuth;
  /** The site people browse, for issue URLs; default `baseUrl`. */
  site?: string;
  defaultIssueType?: string;
}

/**
 * The library face: the issue-tracker interface over Jira, parsing each input once.
 *
 * @example
 * ```ts
 * const jira = new JiraClient({ baseUrl: 'https://acme.atlassian.net', auth: basicAuth({ credentials }) });
 * const { issues, nextCursor } = await jira.searchIssues({ project: 'OPS', state: 'open' });
 * ```
 */
export class JiraClient implements IssueTracker {
  readonly capabilities: ReadonlySet<IssueTrackerCapability> = new Set(JIRA_CAPABILITIES);
  readonly api: JiraApi;

  constructor(options: JiraClientOptions) {
    const rest = jiraApi.client({ baseUrl: options.baseUrl, auth: options.auth });
    this.api = new JiraApi(rest, {
      site: options.site ?? options.baseUrl,
      ...(options.defaultIssueType === undefined ? {} : { defaultIssueType: options.defaultIssueType }),
    });
  }

  async createIssue(input: z.input<typeof CreateTrackerIssueInput>): Promise<TrackerIssue> {
    return this.api.createIssue(parseInput(CreateTrackerIssueInput, input));
  }

  async getIssue(input: TrackerIssueRef): Promise<TrackerIssue> {
    return this.api.getIssue(parseInput(TrackerIssueRef, input));
  }

  async updateIssue(input: z.input<typeof UpdateTrackerIssueInput>): Promise<TrackerIssue> {
    return this.api.updateIssue(parseInput(UpdateTrackerIssueInput, input));
  }

  async commentOnIssue(input: z.input<typeof CommentOnTrackerIssueInput>): Promise<TrackerComment> {
    return this.api.commentOnIssue(parseInput(CommentOnTrackerIssueInput, input));
  }

  async transitionIssue(input: z.input<typeof TransitionTrackerIssueInput>): Promise<TrackerIssue> {
    return this.api.transitionIssue(parseInput(TransitionTrackerIssueInput, input));
  }

  async searchIssues(input: z.input<typeof SearchTrackerIssuesInput>): Promise<TrackerIssuePage> {
    return this.api.searchIssues(parseInput(SearchTrackerIssuesInput, input));
  }

  close(): void {
    this.api.close();
  }
}
