/**
 * GitLab REST v4: the only code that talks to GitLab. `gitlabApi` states GitLab's facts for the core's
 * REST kit (`PRIVATE-TOKEN` auth, status-based errors with GitLab's `{ message }` / `{ error }` bodies,
 * offset pagination read from `X-Next-Page`, `RateLimit-*` headers); `GitlabApi` holds the calls on parsed
 * input; `GitlabClient` is the library face, the issue-tracker interface, which parses its input once.
 */
import {
  ConflictError,
  type ConnectorError,
  defineRestProvider,
  type HttpResponse,
  linkHeader,
  NotFoundError,
  NotSupportedError,
  pageNumber,
  parseInput,
  type RequestAuth,
  type RestClient,
  ValidationError,
} from '@circle-core/core';
import * as z from 'zod';
import type { IssueTracker, IssueTrackerCapability } from '#shared/interfaces/issue-tracker.ts';
import { isBase64 } from '#shared/models/object-storage.ts';
import {
  CommentOnTrackerIssueInput,
  type CreateMergeRequestInput,
  CreateTrackerIssueInput,
  CurrentUserAnswer,
  FileAnswer,
  FileWriteAnswer,
  type GetFileInput,
  IssueAnswer,
  type ListFilesInput,
  type ListMergeRequestsInput,
  type MergeRequest,
  MergeRequestAnswer,
  type MergeRequestRef,
  NoteAnswer,
  type Pipeline,
  PipelineAnswer,
  type PipelineRef,
  type PutFileInput,
  SearchTrackerIssuesInput,
  type TrackerComment,
  type TrackerIssue,
  type TrackerIssuePage,
  TrackerIssueRef,
  TransitionTrackerIssueInput,
  TreeAnswer,
  type TriggerPipelineInput,
  UpdateTrackerIssueInput,
  UsersAnswer,
} from './models.ts';

const FIELD = /^[a-z_]{1,64}$/;

/**
 * GitLab's refusals whose body says more than the status: `{ message: { field: [..] } }` (a model's
 * validation) names the fields; `{ message: [..] }` on a 409 or 422 (merge requests) is the reason; the
 * repository files API answers 400 for a file that exists ("A file with this name already exists"), is
 * missing ("doesn't exist") or changed since `last_commit_id`, which the interface calls a conflict or a
 * not found.
 *
 * @example
 * ```ts
 * inspectGitlabResponse({ status: 400, body: { message: { title: ["can't be blank"] } }, ... }); // ValidationError on /title
 * ```
 */
export function inspectGitlabResponse(response: HttpResponse): ConnectorError | undefined {
  const { status } = response;
  if (status !== 400 && status !== 409 && status !== 422) return undefined;
  const said = (response.body as { message?: unknown } | null)?.message;
  if (typeof said === 'string') {
    if (status !== 400) return undefined;
    if (/already exists|has changed since/i.test(said))
      return new ConflictError(`GitLab: ${said.slice(0, 200)}`);
    if (/doesn't exist/i.test(said)) return new NotFoundError(`GitLab: ${said.slice(0, 200)}`);
    return undefined;
  }
  if (Array.isArray(said)) {
    const reason = said
      .filter((item) => typeof item === 'string')
      .join('; ')
      .slice(0, 300);
    if (status === 400) return new ValidationError(`GitLab refused the request: ${reason}`);
    return status === 409 ? new ConflictError(`GitLab: ${reason}`) : new ValidationError(`GitLab: ${reason}`);
  }
  if (typeof said !== 'object' || said === null) return undefined;
  const fields = Object.entries(said as Record<string, unknown>).filter(([field]) => FIELD.test(field));
  const issues = fields.map(([field, messages]) => ({
    pointer: field === 'base' ? '' : `/${field}`,
    message: (Array.isArray(messages) ? messages.map(String).join('; ') : String(messages)).slice(0, 200),
  }));
  const summary = issues.map((issue) => `${issue.pointer || 'request'}: ${issue.message}`).join(', ');
  return new ValidationError(`GitLab refused ${summary || 'the request'}`, issues);
}

/** GitLab REST v4 as data; its settings are `GITLAB_API_URL`, `GITLAB_TIMEOUT_MS`, ... */
export const gitlabApi = defineRestProvider({
  name: 'GitLab',
  settingsPrefix: 'GITLAB',
  baseUrl: 'https://gitlab.com/api/v4',
  baseUrlNote: 'self-managed: `https://gitlab.example.com/api/v4`',
  // A personal, project or group access token; OAuth 2.0 passes a ready Bearer auth instead.
  auth: { kind: 'api-key', header: 'PRIVATE-TOKEN' },
  headers: { accept: 'application/json' },
  errors: { codeIn: 'status' },
  inspect: inspectGitlabResponse,
  // Offset pagination: `page`/`per_page`, the next page in `X-Next-Page` (empty on the last).
  pagination: pageNumber({ pageParam: 'page', sizeParam: 'per_page', nextPageHeader: 'x-next-page' }),
  rateLimit: { remaining: 'ratelimit-remaining', reset: 'ratelimit-reset', resetFormat: 'epoch-seconds' },
});

/** Keyset pagination (`pagination=keyset`): the next page is the `Link` header's, its `page_token` opaque. */
const KEYSET_TREE = linkHeader({
  keys: ['pagination', 'per_page', 'path', 'ref', 'recursive'],
  pageParam: 'page_token',
  pageValue: /^[A-Za-z0-9+/=_-]{1,1024}$/,
});

/** Labels, assignees (usernames), issue types (issue, incident, task, test_case) and text search. */
export const GITLAB_CAPABILITIES: readonly IssueTrackerCapability[] = [
  'labels',
  'assignees',
  'issue-types',
  'text-search',
];

const FINISHED = new Set(['success', 'failed', 'canceled', 'skipped']);

type Created = z.output<typeof CreateTrackerIssueInput>;
type Updated = z.output<typeof UpdateTrackerIssueInput>;
type Search = z.output<typeof SearchTrackerIssuesInput>;

const projectPath = (project: string): string => `/projects/${encodeURIComponent(project)}`;
const issuePath = (project: string, key: string): string =>
  `${projectPath(project)}/issues/${encodeURIComponent(key)}`;

function toIssue(answer: IssueAnswer, project: string): TrackerIssue {
  return {
    key: String(answer.iid),
    id: String(answer.id),
    project,
    title: answer.title,
    description: answer.description || null,
    state: answer.state === 'closed' ? 'closed' : 'open',
    status: answer.state === 'closed' ? 'closed' : 'open',
    labels: answer.labels,
    assignee: answer.assignees[0]?.username ?? null,
    issueType: answer.issue_type ?? null,
    url: answer.web_url,
    createdAt: answer.created_at,
    updatedAt: answer.updated_at,
  };
}

function toMergeRequest(answer: MergeRequestAnswer): MergeRequest {
  return {
    iid: answer.iid,
    id: answer.id,
    title: answer.title,
    description: answer.description || null,
    state: answer.state,
    sourceBranch: answer.source_branch,
    targetBranch: answer.target_branch,
    author: answer.author?.username ?? null,
    url: answer.web_url,
    createdAt: answer.created_at,
    updatedAt: answer.updated_at,
  };
}

function toPipeline(answer: PipelineAnswer): Pipeline {
  return {
    id: answer.id,
    iid: answer.iid ?? null,
    ref: answer.ref,
    sha: answer.sha,
    status: answer.status,
    finished: FINISHED.has(answer.status),
    source: answer.source ?? null,
    url: answer.web_url,
    createdAt: answer.created_at,
    updatedAt: answer.updated_at ?? null,
  };
}

/** A repository path without leading or trailing slashes (`/docs/` is `docs`). */
const trimmed = (path: string): string => path.replace(/^\/+|\/+$/g, '');

/** Text when the bytes are UTF-8 without NULs, else base64. */
function fileContent(bytes: Buffer): { encoding: 'utf-8' | 'base64'; content: string } {
  try {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    if (!text.includes('\u0000')) return { encoding: 'utf-8', content: text };
  } catch {
    // Not UTF-8: binary.
  }
  return { encoding: 'base64', content: bytes.toString('base64') };
}

/**
 * GitLab's calls on parsed input. GETs (and idempotent PUTs) are retried by the core; creations are sent
 * once, since GitLab has no idempotency keys (the runtime runs each write once per idempotency key).
 *
 * @example
 * ```ts
 * const gitlab = new GitlabApi(gitlabApi.client({ credential: defineSecret('circle-core/gitlab/token') }));
 * const issue = await gitlab.createIssue({ project: 'ops/platform', title: 'Disk full' });
 * ```
 */
export class GitlabApi {
  readonly #rest: RestClient;

  constructor(rest: RestClient) {
    this.#rest = rest;
  }

  /** The user id of a username (`GET /users?username=`); an unknown one is a 400 on `pointer`. */
  async #userId(username: string, pointer: string): Promise<number> {
    const users = await this.#rest.get('/users', UsersAnswer, { query: { username }, what: 'a user lookup' });
    const user = users.find((candidate) => candidate.username === username);
    if (user === undefined) {
      throw new ValidationError(`GitLab has no user ${username}`, [{ pointer, message: 'unknown username' }]);
    }
    return user.id;
  }

  async createIssue(input: Created): Promise<TrackerIssue> {
    const json: Record<string, unknown> = { title: input.title };
    if (input.description !== undefined) json['description'] = input.description;
    if (input.labels !== undefined) json['labels'] = input.labels.join(',');
    if (input.assignee !== undefined)
      json['assignee_ids'] = [await this.#userId(input.assignee, '/assignee')];
    if (input.issueType !== undefined) json['issue_type'] = input.issueType;
    const answer = await this.#rest.post(`${projectPath(input.project)}/issues`, IssueAnswer, {
      json,
      what: 'a created issue',
      notFound: `GitLab project ${input.project}`,
    });
    return toIssue(answer, input.project);
  }

  async getIssue(input: TrackerIssueRef): Promise<TrackerIssue> {
    const answer = await this.#rest.get(issuePath(input.project, input.key), IssueAnswer, {
      what: 'an issue',
      notFound: `GitLab issue ${input.project}#${input.key}`,
    });
    return toIssue(answer, input.project);
  }

  async #put(ref: TrackerIssueRef, json: Record<string, unknown>): Promise<TrackerIssue> {
    const answer = await this.#rest.put(issuePath(ref.project, ref.key), IssueAnswer, {
      json,
      what: 'an issue update',
      notFound: `GitLab issue ${ref.project}#${ref.key}`,
    });
    return toIssue(answer, ref.project);
  }

  async updateIssue(input: Updated): Promise<TrackerIssue> {
    const json: Record<string, unknown> = {};
    if (input.title !== undefined) json['title'] = input.title;
    if (input.description !== undefined) json['description'] = input.description;
    if (input.labels !== undefined) json['labels'] = input.labels.join(',');
    if (input.assignee === null) json['assignee_ids'] = [];
    else if (input.assignee !== undefined)
      json['assignee_ids'] = [await this.#userId(input.assignee, '/assignee')];
    return this.#put(input, json);
  }

  async commentOnIssue(input: z.output<typeof CommentOnTrackerIssueInput>): Promise<TrackerComment> {
    const answer = await this.#rest.post(`${issuePath(input.project, input.key)}/notes`, NoteAnswer, {
      json: { body: input.body },
      what: 'a note',
      notFound: `GitLab issue ${input.project}#${input.key}`,
    });
    const { id, body, author, created_at: createdAt } = answer;
    return { id: String(id), key: input.key, body, author: author?.username ?? null, createdAt };
  }

  /** Closes or reopens (`state_event`); GitLab has no other statuses. Already there answers the issue. */
  async transitionIssue(input: z.output<typeof TransitionTrackerIssueInput>): Promise<TrackerIssue> {
    if (input.status !== undefined) {
      throw new NotSupportedError(
        'GitLab issues are open or closed; named statuses ("custom-statuses") are not supported',
      );
    }
    const issue = await this.getIssue(input);
    if (issue.state === input.state) return issue;
    return this.#put(input, { state_event: input.state === 'closed' ? 'close' : 'reopen' });
  }

  async searchIssues(input: Search): Promise<TrackerIssuePage> {
    if (input.query !== undefined) {
      throw new NotSupportedError('GitLab has no issue query language ("native-query"); use labels and text');
    }
    const states = { open: 'opened', closed: 'closed', all: 'all' } as const;
    const query: Record<string, string | number> = {
      state: states[input.state],
      order_by: 'created_at',
      sort: 'desc',
      per_page: input.limit,
    };
    if (input.labels !== undefined) query['labels'] = input.labels.join(',');
    if (input.text !== undefined) query['search'] = input.text;
    const page = await this.#rest.list(`${projectPath(input.project)}/issues`, z.array(IssueAnswer), {
      query,
      cursor: input.cursor,
      what: 'an issue list',
      notFound: `GitLab project ${input.project}`,
      items: (answers) => answers.map((answer) => toIssue(answer, input.project)),
    });
    return page.nextCursor === undefined
      ? { issues: page.items }
      : { issues: page.items, nextCursor: page.nextCursor };
  }

  async listMergeRequests(input: ListMergeRequestsInput) {
    const page = await this.#rest.list(
      `${projectPath(input.project)}/merge_requests`,
      z.array(MergeRequestAnswer),
      {
        query: { state: input.state, order_by: 'created_at', sort: 'desc', per_page: input.limit },
        cursor: input.cursor,
        what: 'a merge request list',
        notFound: `GitLab project ${input.project}`,
        items: (answers) => answers.map(toMergeRequest),
      },
    );
    const mergeRequests = page.items;
    return page.nextCursor === undefined ? { mergeRequests } : { mergeRequests, nextCursor: page.nextCursor };
  }

  async getMergeRequest(input: MergeRequestRef): Promise<MergeRequest> {
    const path = `${projectPath(input.project)}/merge_requests/${input.iid}`;
    const notFound = `GitLab merge request ${input.project}!${input.iid}`;
    return toMergeRequest(
      await this.#rest.get(path, MergeRequestAnswer, { what: 'a merge request', notFound }),
    );
  }

  async createMergeRequest(input: z.output<typeof CreateMergeRequestInput>): Promise<MergeRequest> {
    const json: Record<string, unknown> = {
      source_branch: input.sourceBranch,
      target_branch: input.targetBranch,
      title: input.title,
    };
    if (input.description !== undefined) json['description'] = input.description;
    if (input.removeSourceBranch !== undefined) json['remove_source_branch'] = input.removeSourceBranch;
    const answer = await this.#rest.post(`${projectPath(input.project)}/merge_requests`, MergeRequestAnswer, {
      json,
      what: 'a created merge request',
      notFound: `GitLab project ${input.project}`,
    });
    return toMergeRequest(answer);
  }

  /** `POST /projects/:id/pipeline`: runs the ref's CI/CD pipeline with the given variables. */
  async triggerPipeline(input: TriggerPipelineInput): Promise<Pipeline> {
    const variables = Object.entries(input.variables ?? {}).map(([key, value]) => ({
      key,
      value,
      variable_type: 'env_var',
    }));
    const answer = await this.#rest.post(`${projectPath(input.project)}/pipeline`, PipelineAnswer, {
      json: { ref: input.ref, variables },
      what: 'a created pipeline',
      notFound: `GitLab project ${input.project}`,
    });
    return toPipeline(answer);
  }

  async getPipeline(input: PipelineRef): Promise<Pipeline> {
    const path = `${projectPath(input.project)}/pipelines/${input.pipelineId}`;
    const notFound = `GitLab pipeline ${input.pipelineId} of ${input.project}`;
    return toPipeline(await this.#rest.get(path, PipelineAnswer, { what: 'a pipeline', notFound }));
  }

  async #defaultBranch(project: string): Promise<string> {
    const answer = await this.#rest.get(projectPath(project), z.looseObject({ default_branch: z.string() }), {
      what: 'a project',
      notFound: `GitLab project ${project}`,
    });
    return answer.default_branch;
  }

  async getFile(input: GetFileInput) {
    const ref = input.ref ?? (await this.#defaultBranch(input.project));
    const file = trimmed(input.path);
    const path = `${projectPath(input.project)}/repository/files/${encodeURIComponent(file)}`;
    const answer = await this.#rest.get(path, FileAnswer, {
      query: { ref },
      what: 'a file',
      notFound: `GitLab file ${file.slice(0, 200)} at ${ref} in ${input.project}`,
    });
    const { encoding, content } = fileContent(Buffer.from(answer.content, 'base64'));
    const { size, content_sha256: sha256, last_commit_id: lastCommitId } = answer;
    return { path: answer.file_path, ref, encoding, content, size, sha256, lastCommitId };
  }

  /**
   * Creates the file (`POST`), or updates it (`PUT`) when it exists or `lastCommitId` is given; a file
   * changed since `lastCommitId` is a ConflictError, an update of a missing one a NotFoundError. With
   * `encoding: 'base64'`, content that is not standard padded base64 is a ValidationError, before any call.
   */
  async putFile(input: PutFileInput) {
    // GitLab decodes base64 leniently (bad characters skipped), so a typo would commit garbled bytes.
    if (input.encoding === 'base64' && !isBase64(input.content)) {
      const message = 'expected standard padded base64';
      throw new ValidationError(`Invalid input: /content: ${message}`, [{ pointer: '/content', message }]);
    }
    const path = `${projectPath(input.project)}/repository/files/${encodeURIComponent(trimmed(input.path))}`;
    const json: Record<string, unknown> = {
      branch: input.branch,
      content: input.content,
      commit_message: input.commitMessage,
      // utf-8 is get-file's name for text, accepted so a read file's encoding can be passed back as it is.
      encoding: input.encoding === 'base64' ? 'base64' : 'text',
    };
    const options = { json, what: 'a file commit', notFound: `GitLab project ${input.project}` };
    const update = async () => {
      if (input.lastCommitId !== undefined) json['last_commit_id'] = input.lastCommitId;
      const answer = await this.#rest.put(path, FileWriteAnswer, options);
      return { path: answer.file_path, branch: answer.branch, created: false };
    };
    if (input.lastCommitId !== undefined) return update();
    try {
      const answer = await this.#rest.post(path, FileWriteAnswer, options);
      return { path: answer.file_path, branch: answer.branch, created: true };
    } catch (error) {
      if (error instanceof ConflictError) return update();
      throw error;
    }
  }

  /** One page of the repository tree with keyset pagination (`pagination=keyset`, the `Link` header). */
  async listFiles(input: ListFilesInput) {
    const query: Record<string, string | number | boolean> = {
      pagination: 'keyset',
      per_page: input.limit,
      recursive: input.recursive,
    };
    if (input.path !== undefined && trimmed(input.path) !== '') query['path'] = trimmed(input.path);
    if (input.ref !== undefined) query['ref'] = input.ref;
    const page = await this.#rest.list(`${projectPath(input.project)}/repository/tree`, TreeAnswer, {
      query,
      cursor: input.cursor,
      pagination: KEYSET_TREE,
      what: 'a repository tree',
      notFound: `GitLab path ${input.path ?? '/'} in ${input.project}`,
      items: (entries) => entries.map(({ path, name, type }) => ({ path, name, type })),
    });
    return page.nextCursor === undefined
      ? { entries: page.items }
      : { entries: page.items, nextCursor: page.nextCursor };
  }

  /** `GET /user`: proves the token and the URL for `health`. */
  async ping(): Promise<void> {
    await this.#rest.get('/user', CurrentUserAnswer);
  }

  close(): void {
    this.#rest.close();
  }
}

export interface GitlabClientOptions {
  /** The API base URL (`https://gitlab.com/api/v4`, a self-managed instance's, a fake's). */
  baseUrl: string;
  /** A token sent as `PRIVATE-TOKEN` (personal, project or group access token)... */
  token?: string;
  /** ...or a ready auth (OAuth 2.0: `bearerAuth`, `oauth2RefreshToken`). */
  auth?: RequestAuth;
}

/**
 * The library face: the issue-tracker interface over GitLab issues, parsing each input once; `api` has
 * the merge request, pipeline and file calls.
 *
 * @example
 * ```ts
 * const gitlab = new GitlabClient({ baseUrl: 'https://gitlab.com/api/v4', token: process.env.GITLAB_TOKEN });
 * const { issues, nextCursor } = await gitlab.searchIssues({ project: 'ops/platform', state: 'open' });
 * ```
 */
export class GitlabClient implements IssueTracker {
  readonly capabilities: ReadonlySet<IssueTrackerCapability> = new Set(GITLAB_CAPABILITIES);
  readonly api: GitlabApi;

  constructor(options: GitlabClientOptions) {
    this.api = new GitlabApi(
      gitlabApi.client({
        baseUrl: options.baseUrl,
        ...(options.auth === undefined ? { credential: options.token } : { auth: options.auth }),
      }),
    );
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
