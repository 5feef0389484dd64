/**
 * The source control interface: what every code-hosting provider client (GitHub, GitLab, ...) offers to
 * workflows, whatever its own API looks like. Models live in `shared/models/source-control.ts`.
 */
import type {
  CommentOnIssueInput,
  CreateIssueInput,
  GetFileInput,
  Issue,
  IssueComment,
  IssuePage,
  ListIssuesInput,
  RepositoryFile,
} from '../models/source-control.ts';
import type { HasCapabilities } from './capabilities.ts';

/**
 * Optional abilities a source control client may offer:
 * - `labels`: issues carry labels, `create-issue` sets them and `list-issues` filters on them;
 * - `assignees`: `create-issue` assigns users;
 * - `since-filter`: `list-issues` honours `since` (updated at or after);
 * - `binary-files`: `get-file` returns non-text content base64 encoded instead of refusing it;
 * - `pull-requests-as-issues`: the provider lists pull requests among issues (`includePullRequests`).
 */
export type SourceControlCapability =
  | 'labels'
  | 'assignees'
  | 'since-filter'
  | 'binary-files'
  | 'pull-requests-as-issues';

/**
 * A source control provider client. Every method maps provider failures onto the core error taxonomy:
 * a missing repository, issue or file is a `NotFoundError`, refused credentials an `AuthError`,
 * throttling a `RateLimitedError` (with `retryAfterMs` when the provider says), a directory where a file
 * was expected a `ValidationError`.
 *
 * @example
 * ```ts
 * async function openIncident(scm: SourceControl, text: string): Promise<number> {
 *   const issue = await scm.createIssue({ owner: 'acme', repo: 'ops', title: 'Incident', body: text });
 *   return issue.number;
 * }
 * ```
 */
export interface SourceControl extends HasCapabilities<SourceControlCapability> {
  /** Opens an issue. Not retried by the client: providers offer no idempotency key for it. */
  createIssue(input: CreateIssueInput): Promise<Issue>;
  /** Adds a comment to an issue. Not retried by the client, for the same reason. */
  commentOnIssue(input: CommentOnIssueInput): Promise<IssueComment>;
  /** One page of issues and how to get the next one (`nextCursor`), newest first by default. */
  listIssues(input: ListIssuesInput): Promise<IssuePage>;
  /** A file's content at a ref: text as is, binary base64 encoded. */
  getFile(input: GetFileInput): Promise<RepositoryFile>;
}
