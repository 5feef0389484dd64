/**
 * GitHub issues as the issue-tracker interface (`shared/interfaces/issue-tracker.ts`), for workflows that
 * treat Jira, GitLab and GitHub alike: a project is `owner/repo`, an issue key its number. It speaks the
 * same declared provider as the connector (`githubApi`: errors, Link pagination, rate limits) and reads
 * GitHub's answers with the connector's response shapes.
 */
import {
  NotSupportedError,
  parseInput,
  type RequestAuth,
  type RestClient,
  ValidationError,
} from '@circle-core/core';
import * as z from 'zod';
import type { IssueTracker, IssueTrackerCapability } from '#shared/interfaces/issue-tracker.ts';
import {
  CommentOnTrackerIssueInput,
  CreateTrackerIssueInput,
  SearchTrackerIssuesInput,
  type TrackerComment,
  type TrackerIssue,
  type TrackerIssuePage,
  TrackerIssueRef,
  TransitionTrackerIssueInput,
  UpdateTrackerIssueInput,
} from '#shared/models/issue-tracker.ts';
import { githubApi } from './client.ts';
import { RawComment, RawIssue, toIssue } from './responses.ts';

/** Labels and assignees (logins); GitHub issues have no types, workflow statuses or query language here. */
export const GITHUB_TRACKER_CAPABILITIES: readonly IssueTrackerCapability[] = ['labels', 'assignees'];

const RawTrackerIssue = RawIssue.extend({ id: z.number() });

/** `owner/repo` as the API path, or a ValidationError on `/project`. */
function repoPath(project: string): string {
  const parts = project.split('/');
  if (parts.length !== 2) {
    throw new ValidationError('A GitHub project is owner/repo', [
      { pointer: '/project', message: 'expected owner/repo' },
    ]);
  }
  return `/repos/${parts.map(encodeURIComponent).join('/')}`;
}

function toTrackerIssue(raw: z.output<typeof RawTrackerIssue>, project: string): TrackerIssue {
  const issue = toIssue(raw);
  return {
    key: String(issue.number),
    id: String(raw.id),
    project,
    title: issue.title,
    description: issue.body || null,
    state: issue.state,
    status: issue.state,
    labels: issue.labels,
    assignee: issue.assignees[0] ?? null,
    issueType: null,
    url: issue.url,
    createdAt: issue.createdAt,
    updatedAt: issue.updatedAt,
  };
}

export interface GitHubIssueTrackerOptions {
  /** `https://api.github.com`, a GitHub Enterprise Server's `https://HOST/api/v3`, a fake's URL. */
  baseUrl?: string;
  /** A token (`GITHUB_TOKEN`, a fine-grained token with Issues read/write)... */
  token?: string;
  /** ...or a ready auth (a GitHub App installation: `githubAppAuth`). */
  auth?: RequestAuth;
  /** A ready REST client of `githubApi` instead (tests, a connector's own). */
  rest?: RestClient;
}

/**
 * The issue-tracker interface over GitHub issues, parsing each input once. Creations and comments are sent
 * once (GitHub has no idempotency keys); updates and transitions are PATCHes of the same fields.
 *
 * @example
 * ```ts
 * const tracker = new GitHubIssueTracker({ token: process.env.GITHUB_TOKEN });
 * const issue = await tracker.createIssue({ project: 'octo/hello', title: 'Disk full', labels: ['incident'] });
 * await tracker.transitionIssue({ project: 'octo/hello', key: issue.key, state: 'closed' });
 * ```
 */
export class GitHubIssueTracker implements IssueTracker {
  readonly capabilities: ReadonlySet<IssueTrackerCapability> = new Set(GITHUB_TRACKER_CAPABILITIES);
  readonly #rest: RestClient;

  constructor(options: GitHubIssueTrackerOptions) {
    this.#rest =
      options.rest ??
      githubApi.client({
        baseUrl: options.baseUrl,
        ...(options.auth === undefined ? { credential: options.token } : { auth: options.auth }),
      });
  }

  async createIssue(input: z.input<typeof CreateTrackerIssueInput>): Promise<TrackerIssue> {
    const { project, title, description, labels, assignee, issueType } = parseInput(
      CreateTrackerIssueInput,
      input,
    );
    if (issueType !== undefined) throw new NotSupportedError('GitHub issues have no types ("issue-types")');
    const json: Record<string, unknown> = { title };
    if (description !== undefined) json['body'] = description;
    if (labels !== undefined) json['labels'] = labels;
    if (assignee !== undefined) json['assignees'] = [assignee];
    const raw = await this.#rest.post(`${repoPath(project)}/issues`, RawTrackerIssue, {
      json,
      what: 'an issue',
      notFound: `Repository ${project}`,
    });
    return toTrackerIssue(raw, project);
  }

  async getIssue(input: TrackerIssueRef): Promise<TrackerIssue> {
    const { project, key } = parseInput(TrackerIssueRef, input);
    return this.#read(project, key);
  }

  async #read(project: string, key: string): Promise<TrackerIssue> {
    const raw = await this.#rest.get(
      `${repoPath(project)}/issues/${encodeURIComponent(key)}`,
      RawTrackerIssue,
      {
        what: 'an issue',
        notFound: `Issue #${key} in ${project}`,
      },
    );
    // GitHub serves pull requests on the same path; they are not issues here.
    if (raw.pull_request !== undefined && raw.pull_request !== null) {
      throw new ValidationError(`#${key} in ${project} is a pull request`, [
        { pointer: '/key', message: 'expected an issue, not a pull request' },
      ]);
    }
    return toTrackerIssue(raw, project);
  }

  async #patch(project: string, key: string, json: Record<string, unknown>): Promise<TrackerIssue> {
    const raw = await this.#rest.patch(
      `${repoPath(project)}/issues/${encodeURIComponent(key)}`,
      RawTrackerIssue,
      {
        json,
        what: 'an issue',
        notFound: `Issue #${key} in ${project}`,
      },
    );
    return toTrackerIssue(raw, project);
  }

  async updateIssue(input: z.input<typeof UpdateTrackerIssueInput>): Promise<TrackerIssue> {
    const { project, key, title, description, labels, assignee } = parseInput(UpdateTrackerIssueInput, input);
    const json: Record<string, unknown> = {};
    if (title !== undefined) json['title'] = title;
    if (description !== undefined) json['body'] = description;
    if (labels !== undefined) json['labels'] = labels;
    if (assignee !== undefined) json['assignees'] = assignee === null ? [] : [assignee];
    return this.#patch(project, key, json);
  }

  async commentOnIssue(input: z.input<typeof CommentOnTrackerIssueInput>): Promise<TrackerComment> {
    const { project, key, body } = parseInput(CommentOnTrackerIssueInput, input);
    const raw = await this.#rest.post(
      `${repoPath(project)}/issues/${encodeURIComponent(key)}/comments`,
      RawComment,
      {
        json: { body },
        what: 'a comment',
        notFound: `Issue #${key} in ${project}`,
      },
    );
    return {
      id: String(raw.id),
      key,
      body: raw.body ?? '',
      author: raw.user?.login ?? null,
      createdAt: raw.created_at,
    };
  }

  /** Closes or reopens (`state`); already there answers the issue as it is. */
  async transitionIssue(input: z.input<typeof TransitionTrackerIssueInput>): Promise<TrackerIssue> {
    const { project, key, state, status } = parseInput(TransitionTrackerIssueInput, input);
    if (status !== undefined) {
      throw new NotSupportedError(
        'GitHub issues are open or closed; named statuses ("custom-statuses") are not supported',
      );
    }
    const issue = await this.#read(project, key);
    return issue.state === state ? issue : this.#patch(project, key, { state });
  }

  /** One page of `GET /repos/{owner}/{repo}/issues`, newest first, pull requests left out. */
  async searchIssues(input: z.input<typeof SearchTrackerIssuesInput>): Promise<TrackerIssuePage> {
    const { project, state, labels, text, query, limit, cursor } = parseInput(
      SearchTrackerIssuesInput,
      input,
    );
    if (text !== undefined)
      throw new NotSupportedError('GitHub issue lists have no text filter ("text-search")');
    if (query !== undefined)
      throw new NotSupportedError('GitHub has no issue query language here ("native-query")');
    const page = await this.#rest.list(`${repoPath(project)}/issues`, z.array(RawTrackerIssue), {
      query: {
        state,
        sort: 'created',
        direction: 'desc',
        per_page: limit,
        page: 1,
        labels: labels === undefined || labels.length === 0 ? undefined : labels.join(','),
      },
      cursor,
      what: 'an issue list',
      notFound: `Repository ${project}`,
      items: (raws) =>
        raws
          .filter((raw) => raw.pull_request === undefined || raw.pull_request === null)
          .map((raw) => toTrackerIssue(raw, project)),
    });
    return page.nextCursor === undefined
      ? { issues: page.items }
      : { issues: page.items, nextCursor: page.nextCursor };
  }

  close(): void {
    this.#rest.close();
  }
}
