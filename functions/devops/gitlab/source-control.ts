/**
 * GitLab as the source control interface (`shared/interfaces/source-control.ts`), for workflows written
 * against GitHub's shape: `owner`/`repo` name a project `owner/repo` (a top-level group or user and its
 * project; a subgroup project has no owner/repo form and is reached through `GitlabClient` instead), an
 * issue number is its `iid`. Same declared provider as the connector (`gitlabApi`).
 */
import {
  linkHeader,
  NotFoundError,
  NotSupportedError,
  parseInput,
  type RequestAuth,
  type RestClient,
  ValidationError,
} from '@circle-core/core';
import * as z from 'zod';
import { utcTimestamp } from '#shared/data/timestamps.ts';
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
import { gitlabApi } from './client.ts';
import { FileAnswer, IssueAnswer, NoteAnswer, TreeAnswer, UsersAnswer } from './models.ts';

/** Labels, assignees (usernames), `since` (GitLab's `updated_after`) and binary files; GitLab lists no merge requests among issues. */
export const GITLAB_SOURCE_CONTROL_CAPABILITIES: readonly SourceControlCapability[] = [
  'labels',
  'assignees',
  'since-filter',
  'binary-files',
];

/** The Link header's next page carries every filter, so a cursor alone reads on with the first call's. */
const LINKED_PAGES = linkHeader({
  keys: ['state', 'labels', 'updated_after', 'order_by', 'sort', 'per_page'],
});

const SourceIssue = IssueAnswer.extend({
  author: z.looseObject({ username: z.string() }).nullish(),
  user_notes_count: z.number().default(0),
  closed_at: z.string().transform(utcTimestamp).nullish(),
});

function toSourceIssue(answer: z.output<typeof SourceIssue>): Issue {
  return {
    number: answer.iid,
    title: answer.title,
    body: answer.description || null,
    state: answer.state === 'closed' ? 'closed' : 'open',
    labels: answer.labels,
    assignees: answer.assignees.map((user) => user.username),
    author: answer.author?.username ?? null,
    comments: answer.user_notes_count,
    url: answer.web_url,
    createdAt: answer.created_at,
    updatedAt: answer.updated_at,
    closedAt: answer.closed_at ?? null,
    isPullRequest: false,
  };
}

const projectPath = ({ owner, repo }: { owner: string; repo: string }): string =>
  `/projects/${encodeURIComponent(`${owner}/${repo}`)}`;

/**
 * Label names as GitLab's comma-separated `labels` parameter. GitLab label titles have no comma, and one in
 * a name would be read as two labels (creating both, or filtering by both), so it is refused, naming it.
 */
function labelList(labels: readonly string[]): string {
  const at = labels.findIndex((label) => label.includes(','));
  if (at !== -1) {
    const message = 'expected a label without a comma (GitLab separates labels with commas)';
    throw new ValidationError(`Invalid input: /labels/${at}: ${message}`, [
      { pointer: `/labels/${at}`, message },
    ]);
  }
  return labels.join(',');
}

export interface GitlabSourceControlOptions {
  /** `https://gitlab.com/api/v4`, a self-managed instance's, a fake's. */
  baseUrl: string;
  /** An access token sent as `PRIVATE-TOKEN`... */
  token?: string;
  /** ...or a ready auth (OAuth 2.0). */
  auth?: RequestAuth;
}

/**
 * The source control interface over GitLab, parsing each input once.
 *
 * @example
 * ```ts
 * const scm = new GitlabSourceControl({ baseUrl: 'https://gitlab.com/api/v4', token: process.env.GITLAB_TOKEN });
 * const { issues } = await scm.listIssues({ owner: 'ops', repo: 'platform', state: 'open' });
 * ```
 */
export class GitlabSourceControl implements SourceControl {
  readonly capabilities: ReadonlySet<SourceControlCapability> = new Set(GITLAB_SOURCE_CONTROL_CAPABILITIES);
  readonly #rest: RestClient;
  /** Where people browse: GitLab serves its pages on the API's host (`https://gitlab.com`). */
  readonly #web: string;

  constructor(options: GitlabSourceControlOptions) {
    this.#web = options.baseUrl.replace(/\/api\/v4\/?$/, '');
    this.#rest = gitlabApi.client({
      baseUrl: options.baseUrl,
      ...(options.auth === undefined ? { credential: options.token } : { auth: options.auth }),
    });
  }

  async createIssue(input: z.input<typeof CreateIssueInput>): Promise<Issue> {
    const parsed = parseInput(CreateIssueInput, input);
    const json: Record<string, unknown> = { title: parsed.title };
    if (parsed.body !== undefined) json['description'] = parsed.body;
    if (parsed.labels !== undefined) json['labels'] = labelList(parsed.labels);
    if (parsed.assignees !== undefined) {
      const ids = [];
      for (const username of parsed.assignees) {
        const users = await this.#rest.get('/users', UsersAnswer, {
          query: { username },
          what: 'a user lookup',
        });
        const user = users.find((candidate) => candidate.username === username);
        if (user === undefined) {
          throw new ValidationError(`GitLab has no user ${username}`, [
            { pointer: '/assignees', message: 'unknown username' },
          ]);
        }
        ids.push(user.id);
      }
      json['assignee_ids'] = ids;
    }
    const answer = await this.#rest.post(`${projectPath(parsed)}/issues`, SourceIssue, {
      json,
      what: 'a created issue',
      notFound: `GitLab project ${parsed.owner}/${parsed.repo}`,
    });
    return toSourceIssue(answer);
  }

  async commentOnIssue(input: z.input<typeof CommentOnIssueInput>): Promise<IssueComment> {
    const parsed = parseInput(CommentOnIssueInput, input);
    const path = `${projectPath(parsed)}/issues/${parsed.issueNumber}/notes`;
    const answer = await this.#rest.post(path, NoteAnswer, {
      json: { body: parsed.body },
      what: 'a note',
      notFound: `GitLab issue ${parsed.owner}/${parsed.repo}#${parsed.issueNumber}`,
    });
    return {
      id: answer.id,
      issueNumber: parsed.issueNumber,
      body: answer.body,
      author: answer.author?.username ?? null,
      url: `${this.#web}/${parsed.owner}/${parsed.repo}/-/issues/${parsed.issueNumber}#note_${answer.id}`,
      createdAt: answer.created_at,
    };
  }

  async listIssues(input: z.input<typeof ListIssuesInput>): Promise<IssuePage> {
    const parsed = parseInput(ListIssuesInput, input);
    const filter = parsed.labels?.length ? labelList(parsed.labels) : undefined;
    if (parsed.sort === 'comments') {
      throw new NotSupportedError('GitLab does not order issues by comment count (sort "comments")');
    }
    const states = { open: 'opened', closed: 'closed', all: 'all' } as const;
    const { items, ...position } = await this.#rest.list(
      `${projectPath(parsed)}/issues`,
      z.array(SourceIssue),
      {
        query: {
          state: states[parsed.state],
          order_by: parsed.sort === 'updated' ? 'updated_at' : 'created_at',
          sort: parsed.direction,
          per_page: parsed.perPage,
          page: parsed.page ?? 1,
          labels: filter,
          // GitLab's reference writes updated_after in UTC (2019-03-15T08:00:00Z): an offset is converted.
          updated_after: parsed.since === undefined ? undefined : utcTimestamp(parsed.since),
        },
        cursor: parsed.cursor,
        pagination: LINKED_PAGES,
        what: 'an issue list',
        notFound: `GitLab project ${parsed.owner}/${parsed.repo}`,
        items: (answers) => answers.map(toSourceIssue),
      },
    );
    return { issues: items, ...position };
  }

  /** A file at a ref (default: the project's default branch); a directory is a ValidationError. */
  async getFile(input: z.input<typeof GetFileInput>): Promise<RepositoryFile> {
    const parsed = parseInput(GetFileInput, input);
    const path = parsed.path.replace(/^\/+|\/+$/g, '');
    const ref =
      parsed.ref ??
      (
        await this.#rest.get(projectPath(parsed), z.looseObject({ default_branch: z.string() }), {
          what: 'a project',
          notFound: `GitLab project ${parsed.owner}/${parsed.repo}`,
        })
      ).default_branch;
    try {
      const answer = await this.#rest.get(
        `${projectPath(parsed)}/repository/files/${encodeURIComponent(path)}`,
        FileAnswer,
        { query: { ref }, what: 'a file', notFound: `GitLab file ${path.slice(0, 200)} at ${ref}` },
      );
      const bytes = Buffer.from(answer.content, 'base64');
      const text = utf8(bytes);
      const sha = typeof answer['blob_id'] === 'string' ? answer['blob_id'] : answer.content_sha256;
      return text === undefined
        ? { path, sha, size: answer.size, encoding: 'base64', content: answer.content }
        : { path, sha, size: answer.size, encoding: 'utf8', content: text };
    } catch (error) {
      if (!(error instanceof NotFoundError) || !(await this.#isDirectory(parsed, path, ref))) throw error;
      throw new ValidationError(`${path.slice(0, 200)} is a directory, not a file`, [
        { pointer: '/path', message: 'expected a file, found a directory' },
      ]);
    }
  }

  async #isDirectory(project: { owner: string; repo: string }, path: string, ref: string): Promise<boolean> {
    const entries = await this.#rest
      .get(`${projectPath(project)}/repository/tree`, TreeAnswer, { query: { path, ref, per_page: 1 } })
      .catch((error: unknown) => {
        if (error instanceof NotFoundError) return [];
        throw error;
      });
    return entries.length > 0;
  }

  close(): void {
    this.#rest.close();
  }
}

const decoder = new TextDecoder('utf-8', { fatal: true });

function utf8(bytes: Buffer): string | undefined {
  try {
    const text = decoder.decode(bytes);
    return text.includes('\u0000') ? undefined : text;
  } catch {
    return undefined;
  }
}
