/**
 * The zod models of the source control interface (GitHub, GitLab, ...): repositories, issues, comments,
 * file contents. Provider connectors reuse these in their operation schemas and may extend them.
 * Input objects are strict (`z.strictObject`, kept by `.extend()`): a misspelled or unknown field is refused
 * with a 400 naming it instead of being dropped; `test/hardening/strict-inputs.test.ts` checks every input.
 */
import * as z from 'zod';
import { safePath } from './paths.ts';

/** A repository owner (user or organisation): GitHub's rules, which GitLab's namespaces also satisfy. */
export const RepositoryOwner = z
  .string()
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,98})$/, 'expected a user or organisation name')
  .describe('The user or organisation that owns the repository, e.g. "octo-org"');

/** A repository name (no slashes, not `.` or `..`). */
export const RepositoryName = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,100}$/, 'expected a repository name')
  .refine((name) => name !== '.' && name !== '..', 'expected a repository name')
  .describe('The repository name, e.g. "hello-world"');

/** Identifies one repository. */
export const RepositoryRef = z.strictObject({
  owner: RepositoryOwner,
  repo: RepositoryName,
});
export type RepositoryRef = z.infer<typeof RepositoryRef>;

/** Labels and assignees share the same bounds: short names, a handful per issue. */
const NameList = (what: string) => z.array(z.string().min(1).max(100)).max(100).describe(what);

/** Input of `create-issue`. */
export const CreateIssueInput = RepositoryRef.extend({
  title: z.string().min(1).max(256).describe('The issue title'),
  body: z.string().max(65_536).optional().describe('The issue body (Markdown)'),
  labels: NameList('Label names to set (capability "labels")').optional(),
  assignees: NameList('Logins of the users to assign (capability "assignees")').optional(),
});
export type CreateIssueInput = z.infer<typeof CreateIssueInput>;

/** An issue as the interface returns it, whatever the provider's own shape. */
export const Issue = z.object({
  number: z.number().int().positive().describe('The issue number within its repository'),
  title: z.string().describe('The issue title'),
  body: z.string().nullable().describe('The issue body (Markdown), null when empty'),
  state: z.enum(['open', 'closed']).describe('Whether the issue is open or closed'),
  labels: z.array(z.string()).describe('Label names'),
  assignees: z.array(z.string()).describe('Logins of the assigned users'),
  author: z.string().nullable().describe('Login of the user who opened it (null for a deleted user)'),
  comments: z.number().int().nonnegative().describe('Number of comments'),
  url: z.string().describe('The issue page for people (html URL)'),
  createdAt: z.string().describe('When it was opened, ISO 8601'),
  updatedAt: z.string().describe('When it last changed, ISO 8601'),
  closedAt: z.string().nullable().describe('When it was closed, ISO 8601, null while open'),
  isPullRequest: z.boolean().describe('True when the item is a pull request listed among issues'),
});
export type Issue = z.infer<typeof Issue>;

/** Input of `comment-on-issue`. */
export const CommentOnIssueInput = RepositoryRef.extend({
  issueNumber: z.number().int().positive().describe('The number of the issue to comment on'),
  body: z.string().min(1).max(65_536).describe('The comment text (Markdown)'),
});
export type CommentOnIssueInput = z.infer<typeof CommentOnIssueInput>;

/** A comment as the interface returns it. */
export const IssueComment = z.object({
  id: z.number().int().positive().describe('The comment id'),
  issueNumber: z.number().int().positive().describe('The issue the comment belongs to'),
  body: z.string().describe('The comment text'),
  author: z.string().nullable().describe('Login of the commenter'),
  url: z.string().describe('The comment on the issue page (html URL)'),
  createdAt: z.string().describe('When it was written, ISO 8601'),
});
export type IssueComment = z.infer<typeof IssueComment>;

/** Input of `list-issues`. */
export const ListIssuesInput = RepositoryRef.extend({
  state: z.enum(['open', 'closed', 'all']).default('open').describe('Which issues to list, default open'),
  since: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('Only issues updated at or after this time, ISO 8601 (capability "since-filter")'),
  labels: NameList('Only issues carrying every one of these labels (capability "labels")').optional(),
  perPage: z.number().int().min(1).max(100).default(30).describe('Page size, 1 to 100, default 30'),
  page: z.number().int().min(1).optional().describe('Page number, from 1 (or pass cursor instead)'),
  cursor: z
    .string()
    .min(1)
    .max(2048)
    .optional()
    .describe('The nextCursor of a previous page; the filters it was made with win over the others'),
  sort: z.enum(['created', 'updated', 'comments']).default('created').describe('Sort key, default created'),
  direction: z.enum(['asc', 'desc']).default('desc').describe('Sort direction, default desc'),
  includePullRequests: z
    .boolean()
    .default(false)
    .describe('Keep pull requests, which some providers list among issues; default false'),
});
export type ListIssuesInput = z.input<typeof ListIssuesInput>;
export type ListIssuesQuery = z.output<typeof ListIssuesInput>;

/** One page of issues. */
export const IssuePage = z.object({
  issues: z.array(Issue).describe('The issues of this page (pull requests removed unless asked for)'),
  nextPage: z.number().int().positive().optional().describe('The next page number; absent on the last page'),
  nextCursor: z.string().optional().describe('Pass as cursor to read the next page; absent on the last page'),
  lastPage: z.number().int().positive().optional().describe('The last page number, when the provider says'),
});
export type IssuePage = z.infer<typeof IssuePage>;

/** Input of `get-file`. */
export const GetFileInput = RepositoryRef.extend({
  // Leading slashes are ignored rather than refused: the client strips them (and "/" is the root).
  path: safePath('repository-path', { leadingSlashes: 'ignore' })
    .min(1)
    .max(4096)
    .describe('Path of the file in the repository, e.g. "docs/README.md"'),
  ref: z
    .string()
    .min(1)
    .max(255)
    .optional()
    .describe('Branch, tag or commit SHA; default the repository default branch'),
});
export type GetFileInput = z.infer<typeof GetFileInput>;

/** A file's content: UTF-8 text as is, anything else base64 encoded. */
export const RepositoryFile = z.object({
  path: z.string().describe('Path of the file in the repository'),
  sha: z.string().describe('The blob SHA of the content'),
  size: z.number().int().nonnegative().describe('Size in bytes'),
  encoding: z.enum(['utf8', 'base64']).describe('utf8 for text, base64 for binary content'),
  content: z.string().describe('The content, decoded text or base64 as encoding says'),
});
export type RepositoryFile = z.infer<typeof RepositoryFile>;
