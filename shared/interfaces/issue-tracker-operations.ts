/**
 * The issue-tracker interface's operations, declared once for every tracker connector (Jira, GitLab,
 * GitHub): a connector whose client implements {@link IssueTracker} gets `create-issue`, `get-issue`,
 * `update-issue`, `comment-on-issue`, `transition-issue` and `search-issues` with the interface's models,
 * giving only the words that say how its provider does each.
 */
import type { OperationBuilder } from '@circle-core/core';
import {
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
import type { IssueTracker } from './issue-tracker.ts';

/** What the operations call: the tracker's methods (the connector's API on parsed input, or an {@link IssueTracker}). */
export type IssueTrackerCalls = Pick<
  IssueTracker,
  'createIssue' | 'getIssue' | 'updateIssue' | 'commentOnIssue' | 'transitionIssue' | 'searchIssues'
>;

/** Each operation's description, in the provider's terms (what a comment or a transition is there). */
export interface IssueTrackerWording {
  create: string;
  get: string;
  comment: string;
  transition: string;
  search: string;
}

/**
 * The operation table of a tracker connector; spread it into `operations` beside the provider's own.
 *
 * @example
 * ```ts
 * operations: (op) => ({ ...issueTrackerOperations(op, { create: 'Creates an issue; sent once', ... }), ...own }),
 * ```
 */
export function issueTrackerOperations<Config, Client extends IssueTrackerCalls, Services>(
  op: OperationBuilder<Config, Client, Services>,
  wording: IssueTrackerWording,
) {
  return {
    'create-issue': op({
      effect: 'write',
      description: wording.create,
      input: CreateTrackerIssueInput,
      output: TrackerIssue,
      run: (input, { client }) => client.createIssue(input),
    }),
    'get-issue': op({
      description: wording.get,
      input: TrackerIssueRef,
      output: TrackerIssue,
      run: (input, { client }) => client.getIssue(input),
    }),
    'update-issue': op({
      effect: 'write',
      description: 'Changes the title, description, labels or assignee of an issue',
      input: UpdateTrackerIssueInput,
      output: TrackerIssue,
      run: (input, { client }) => client.updateIssue(input),
    }),
    'comment-on-issue': op({
      effect: 'write',
      description: wording.comment,
      input: CommentOnTrackerIssueInput,
      output: TrackerComment,
      run: (input, { client }) => client.commentOnIssue(input),
    }),
    'transition-issue': op({
      effect: 'write',
      description: wording.transition,
      input: TransitionTrackerIssueInput,
      output: TrackerIssue,
      run: (input, { client }) => client.transitionIssue(input),
    }),
    'search-issues': op({
      description: wording.search,
      input: SearchTrackerIssuesInput,
      output: TrackerIssuePage,
      run: (input, { client }) => client.searchIssues(input),
    }),
  };
}
