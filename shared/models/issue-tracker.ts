/**
 * The zod models of the issue-tracker interface (Jira, GitHub issues, GitLab issues, ...): a project, an
 * issue key, and what a caller sends to create, update, comment on, transition and search issues.
 * Everything a provider names differently is a string here: a project is `OPS` (Jira), `octo/hello`
 * (GitHub) or `group/project` (GitLab); an issue key is `OPS-12`, `42` or `42`. Text is plain text (with
 * the provider's light markup); a connector converts it (Jira's Atlassian Document Format) both ways.
 * Input objects are strict (`z.strictObject`): an unknown field is refused with a 400 naming it.
 */
import * as z from 'zod';

/** A project (Jira key), repository (GitHub `owner/repo`) or project path (GitLab `group/sub/project`). */
export const TrackerProject = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}(?:\/[A-Za-z0-9_.-]{1,100}){0,4}$/,
    'expected a project key or path',
  )
  .refine(
    (value) => !value.split('/').some((part) => part === '.' || part === '..'),
    'expected a project key or path',
  )
  .describe(
    'The project: a Jira project key, e.g. "OPS"; a GitHub owner/repo, e.g. "octo/hello"; a GitLab group/project path',
  );

/** An issue's key within its tracker. */
export const IssueKey = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'expected an issue key')
  .describe('The issue key: a Jira key, e.g. "OPS-2"; the issue number (GitHub, GitLab), e.g. "42"');

const Title = z.string().trim().min(1).max(255).describe('The one-line summary (Jira summary, GitHub title)');
const Description = z
  .string()
  .max(32_767)
  .describe('The description as plain text; blank lines separate paragraphs');
const Labels = z
  .array(z.string().regex(/^[^\s,]{1,100}$/, 'expected a label without spaces or commas'))
  .max(50)
  .describe('Label names (capability "labels")');
const Assignee = z
  .string()
  .min(1)
  .max(128)
  .describe('Who to assign: a Jira accountId, a GitHub login, a GitLab username (capability "assignees")');

/** Input of `create-issue`. */
export const CreateTrackerIssueInput = z.strictObject({
  project: TrackerProject,
  title: Title,
  description: Description.optional(),
  labels: Labels.optional(),
  assignee: Assignee.optional(),
  issueType: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe('The issue type by name, e.g. Bug, Task (capability "issue-types"); default the provider\'s'),
});
export type CreateTrackerIssueInput = z.input<typeof CreateTrackerIssueInput>;

/** Identifies one issue. */
export const TrackerIssueRef = z.strictObject({ project: TrackerProject, key: IssueKey });
export type TrackerIssueRef = z.infer<typeof TrackerIssueRef>;

/** Input of `update-issue`: the fields to change; at least one. */
export const UpdateTrackerIssueInput = TrackerIssueRef.extend({
  title: Title.optional(),
  description: Description.optional(),
  labels: Labels.optional().describe('Replaces every label (capability "labels")'),
  assignee: Assignee.nullable()
    .optional()
    .describe('Replaces the assignee; null unassigns (capability "assignees")'),
}).refine(
  (input) =>
    input.title !== undefined ||
    input.description !== undefined ||
    input.labels !== undefined ||
    input.assignee !== undefined,
  { message: 'expected at least one of title, description, labels, assignee' },
);
export type UpdateTrackerIssueInput = z.input<typeof UpdateTrackerIssueInput>;

/** Input of `comment-on-issue`. */
export const CommentOnTrackerIssueInput = TrackerIssueRef.extend({
  body: z.string().trim().min(1).max(32_767).describe('The comment as plain text'),
});
export type CommentOnTrackerIssueInput = z.input<typeof CommentOnTrackerIssueInput>;

/** Input of `transition-issue`: a generic state every tracker has, or a named workflow status. */
export const TransitionTrackerIssueInput = TrackerIssueRef.extend({
  state: z
    .enum(['open', 'closed'])
    .optional()
    .describe(
      'Move to an open or a closed (done) state; Jira picks the transition into that status category',
    ),
  status: z
    .string()
    .min(1)
    .max(100)
    .optional()
    .describe('Move to this workflow status by name, e.g. In Progress (capability "custom-statuses")'),
}).refine((input) => (input.state === undefined) !== (input.status === undefined), {
  message: 'expected exactly one of state, status',
});
export type TransitionTrackerIssueInput = z.input<typeof TransitionTrackerIssueInput>;

/** Input of `search-issues`: one page, and the cursor of the next. */
export const SearchTrackerIssuesInput = z.strictObject({
  project: TrackerProject,
  state: z.enum(['open', 'closed', 'all']).default('all').describe('Which issues, default all'),
  labels: Labels.optional().describe('Only issues carrying every one of these labels (capability "labels")'),
  text: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('Only issues whose title or description contains these words (capability "text-search")'),
  query: z
    .string()
    .min(1)
    .max(4000)
    .optional()
    .describe(
      'A query in the provider\'s own language, ANDed with the project (Jira JQL; capability "native-query")',
    ),
  limit: z.number().int().min(1).max(100).default(50).describe('Page size, 1 to 100, default 50'),
  cursor: z
    .string()
    .min(1)
    .max(4096)
    .optional()
    .describe('The nextCursor of a previous page, with the same filters'),
});
export type SearchTrackerIssuesInput = z.input<typeof SearchTrackerIssuesInput>;

/** An issue as the interface returns it. */
export const TrackerIssue = z.object({
  key: z.string().describe('The issue key (OPS-12, 42)'),
  id: z.string().describe("The provider's internal id"),
  project: z.string().describe('The project it belongs to'),
  title: z.string().describe('The one-line summary'),
  description: z.string().nullable().describe('The description as plain text, null when empty'),
  state: z.enum(['open', 'closed']).describe('open, or closed (Jira: status category done)'),
  status: z
    .string()
    .describe("The provider's status name (In Progress; open and closed where there are no others)"),
  labels: z.array(z.string()).describe('Label names'),
  assignee: z.string().nullable().describe('Who is assigned (accountId, login, username), null when nobody'),
  issueType: z.string().nullable().describe('The issue type name, null where the provider has none'),
  url: z.string().describe('The issue page for people'),
  createdAt: z.string().describe('When it was created, ISO 8601'),
  updatedAt: z.string().describe('When it last changed, ISO 8601'),
});
export type TrackerIssue = z.infer<typeof TrackerIssue>;

/** A comment as the interface returns it. */
export const TrackerComment = z.object({
  id: z.string().describe('The comment id'),
  key: z.string().describe('The issue it belongs to'),
  body: z.string().describe('The comment as plain text'),
  author: z.string().nullable().describe('Who wrote it (accountId, login), null when unknown'),
  createdAt: z.string().describe('When it was written, ISO 8601'),
});
export type TrackerComment = z.infer<typeof TrackerComment>;

/** One page of a search. */
export const TrackerIssuePage = z.object({
  issues: z.array(TrackerIssue).describe('The issues of this page'),
  nextCursor: z
    .string()
    .optional()
    .describe('Pass as cursor (same filters) for the next page; absent on the last'),
});
export type TrackerIssuePage = z.infer<typeof TrackerIssuePage>;
