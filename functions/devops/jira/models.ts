/**
 * The Jira connector's models: the issue-tracker interface's inputs and outputs (`shared/models`), and
 * the shapes of Jira Cloud REST v3 answers the client reads (open objects: Jira adds fields freely).
 */
import * as z from 'zod';
import { utcTimestamp } from '#shared/data/timestamps.ts';

export {
  CommentOnTrackerIssueInput,
  CreateTrackerIssueInput,
  SearchTrackerIssuesInput,
  TrackerComment,
  TrackerIssue,
  TrackerIssuePage,
  TrackerIssueRef,
  TransitionTrackerIssueInput,
  UpdateTrackerIssueInput,
} from '#shared/models/issue-tracker.ts';

/**
 * A Jira timestamp as RFC 3339 in UTC. Jira writes `2026-01-02T03:04:05.000+0100`: an offset without a
 * colon, which Step Functions' timestamp comparisons and strict RFC 3339 parsers refuse. A text that is
 * not such a timestamp is passed on as Jira sent it.
 *
 * @example
 * ```ts
 * JiraTime.parse('2026-01-02T03:04:05.000+0100'); // '2026-01-02T02:04:05.000Z'
 * ```
 */
export const JiraTime = z.string().transform(utcTimestamp);

/** An Atlassian Document Format node, read loosely: only text, paragraphs and breaks matter here. */
export interface AdfNode {
  type: string;
  text?: string | undefined;
  content?: AdfNode[] | undefined;
}
export const AdfNode: z.ZodType<AdfNode> = z.lazy(() =>
  z.looseObject({ type: z.string(), text: z.string().optional(), content: z.array(AdfNode).optional() }),
);

const StatusAnswer = z.looseObject({
  name: z.string(),
  statusCategory: z.looseObject({ key: z.string() }),
});

/** `GET /rest/api/3/issue/{key}` with the fields the connector asks for. */
export const IssueAnswer = z.looseObject({
  id: z.string(),
  key: z.string(),
  fields: z.looseObject({
    summary: z.string(),
    description: AdfNode.nullish(),
    status: StatusAnswer,
    labels: z.array(z.string()).default([]),
    assignee: z.looseObject({ accountId: z.string() }).nullish(),
    issuetype: z.looseObject({ name: z.string() }).nullish(),
    project: z.looseObject({ key: z.string() }),
    created: JiraTime,
    updated: JiraTime,
  }),
});
export type IssueAnswer = z.output<typeof IssueAnswer>;

/** `POST /rest/api/3/issue`: 201 with the new issue's id and key. */
export const CreatedAnswer = z.looseObject({ id: z.string(), key: z.string() });

/** `GET /rest/api/3/issue/{key}/transitions`. */
export const TransitionsAnswer = z.looseObject({
  transitions: z.array(z.looseObject({ id: z.string(), name: z.string(), to: StatusAnswer })),
});

/** `POST /rest/api/3/issue/{key}/comment`: 201 with the comment. */
export const CommentAnswer = z.looseObject({
  id: z.string(),
  body: AdfNode.nullish(),
  author: z.looseObject({ accountId: z.string() }).nullish(),
  created: JiraTime,
});

/** `GET /rest/api/3/search/jql`: a page and, unless it is the last, `nextPageToken`. */
export const SearchAnswer = z.looseObject({
  issues: z.array(IssueAnswer),
  nextPageToken: z.string().nullish(),
});

/** `GET /rest/api/3/myself`, the health check. */
export const MyselfAnswer = z.looseObject({ accountId: z.string() });
