/**
 * The issue-tracker interface: what every tracker (Jira, GitHub issues, GitLab issues, ...) offers to
 * workflows, whatever its own API looks like. Models live in `shared/models/issue-tracker.ts`.
 */
import type {
  CommentOnTrackerIssueInput,
  CreateTrackerIssueInput,
  SearchTrackerIssuesInput,
  TrackerComment,
  TrackerIssue,
  TrackerIssuePage,
  TrackerIssueRef,
  TransitionTrackerIssueInput,
  UpdateTrackerIssueInput,
} from '../models/issue-tracker.ts';
import type { HasCapabilities } from './capabilities.ts';

/**
 * Optional abilities of an issue tracker:
 * - `labels`: issues carry labels; create and update set them, search filters on them;
 * - `assignees`: create and update assign someone;
 * - `issue-types`: `createIssue` takes an `issueType` (Bug, Task);
 * - `custom-statuses`: `transitionIssue` moves to a named workflow status besides open and closed;
 * - `text-search`: `searchIssues` takes `text` (words in the title or description);
 * - `native-query`: `searchIssues` takes `query` in the provider's own language (JQL).
 */
export type IssueTrackerCapability =
  | 'labels'
  | 'assignees'
  | 'issue-types'
  | 'custom-statuses'
  | 'text-search'
  | 'native-query';

/**
 * An issue tracker client. Every method validates its input (ValidationError naming the field) before any
 * call, and maps provider failures onto the core error taxonomy: an unknown project or issue is a
 * `NotFoundError`, a status the workflow cannot reach from where the issue is a `ConflictError`, refused
 * credentials an `AuthError`, throttling a `RateLimitedError`; a missing capability a `NotSupportedError`.
 *
 * @example
 * ```ts
 * async function openTicket(tracker: IssueTracker, project: string, text: string): Promise<string> {
 *   const issue = await tracker.createIssue({ project, title: 'Incident', description: text });
 *   await tracker.transitionIssue({ project, key: issue.key, state: 'closed' });
 *   return issue.key;
 * }
 * ```
 */
export interface IssueTracker extends HasCapabilities<IssueTrackerCapability> {
  /** Creates an issue, open. Sent once: trackers offer no idempotency key for it. */
  createIssue(input: CreateTrackerIssueInput): Promise<TrackerIssue>;
  /** Reads one issue. */
  getIssue(input: TrackerIssueRef): Promise<TrackerIssue>;
  /** Changes the given fields and returns the issue as it now is. */
  updateIssue(input: UpdateTrackerIssueInput): Promise<TrackerIssue>;
  /** Adds a comment. Sent once. */
  commentOnIssue(input: CommentOnTrackerIssueInput): Promise<TrackerComment>;
  /** Moves an issue to open, closed, or a named status; returns it as it now is. Already there is no error. */
  transitionIssue(input: TransitionTrackerIssueInput): Promise<TrackerIssue>;
  /** One page of a project's issues, newest first, and the cursor of the next. */
  searchIssues(input: SearchTrackerIssuesInput): Promise<TrackerIssuePage>;
}
