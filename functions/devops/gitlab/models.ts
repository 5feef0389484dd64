/**
 * The GitLab connector's models: the issue-tracker interface's inputs and outputs (`shared/models`), the
 * merge request, pipeline and repository file operations' own (every field described; inputs refuse
 * unknown fields), and the shapes of GitLab REST v4 answers the client reads (open: GitLab adds fields).
 */
import * as z from 'zod';
import { utcTimestamp } from '#shared/data/timestamps.ts';
import { TrackerProject } from '#shared/models/issue-tracker.ts';
import { safePath } from '#shared/models/paths.ts';

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

const Project = TrackerProject.describe('The project path, e.g. "ops/platform" (group/subgroup/project)');
const Iid = z.int().min(1).max(2_147_483_647);
const Branch = z
  .string()
  .regex(/^(?![/.-])(?!.*(?:\/\/|\.\.|\/$|\.lock$))[\w.+/-]{1,255}$/, 'expected a branch name')
  .describe('A branch name, e.g. "main" or "feature/alerts"');
const Limit = z.int().min(1).max(100).default(20).describe('Page size, 1 to 100, default 20');
const Cursor = z.string().min(1).max(4096).optional().describe('The nextCursor of the previous page');

// --- Merge requests --------------------------------------------------------------------------------

export const MergeRequest = z.object({
  iid: z.number().describe('The merge request number within its project (!iid)'),
  id: z.number().describe("GitLab's global id"),
  title: z.string().describe('The title'),
  description: z.string().nullable().describe('The description (Markdown), null when empty'),
  state: z.string().describe('opened, closed, locked or merged'),
  sourceBranch: z.string().describe('The branch with the changes'),
  targetBranch: z.string().describe('The branch it merges into'),
  author: z.string().nullable().describe('Username of the author'),
  url: z.string().describe('The merge request page for people'),
  createdAt: z.string().describe('When it was opened, ISO 8601'),
  updatedAt: z.string().describe('When it last changed, ISO 8601'),
});
export type MergeRequest = z.output<typeof MergeRequest>;

export const ListMergeRequestsInput = z.strictObject({
  project: Project,
  state: z
    .enum(['opened', 'closed', 'merged', 'locked', 'all'])
    .default('opened')
    .describe('Which merge requests, default opened'),
  limit: Limit,
  cursor: Cursor,
});
export type ListMergeRequestsInput = z.output<typeof ListMergeRequestsInput>;

export const MergeRequestPage = z.object({
  mergeRequests: z.array(MergeRequest).describe('One page, newest first'),
  nextCursor: z.string().optional().describe('Pass as cursor for the next page; absent on the last'),
});

export const MergeRequestRef = z.strictObject({
  project: Project,
  iid: Iid.describe('The merge request number, e.g. 1 for !1'),
});
export type MergeRequestRef = z.output<typeof MergeRequestRef>;

export const CreateMergeRequestInput = z.strictObject({
  project: Project,
  sourceBranch: Branch.describe('The branch with the changes, e.g. "feature/runbook"'),
  targetBranch: Branch.describe('The branch to merge into, e.g. "main"'),
  title: z.string().trim().min(1).max(255).describe('The title'),
  description: z.string().max(1_000_000).optional().describe('The description (Markdown)'),
  removeSourceBranch: z.boolean().optional().describe('Delete the source branch once merged'),
});
export type CreateMergeRequestInput = z.output<typeof CreateMergeRequestInput>;

// --- Pipelines ---------------------------------------------------------------------------------------

export const Pipeline = z.object({
  id: z.number().describe('The pipeline id'),
  iid: z.number().nullable().describe('The pipeline number within its project'),
  ref: z.string().describe('The branch or tag it runs for'),
  sha: z.string().describe('The commit it runs for'),
  status: z
    .string()
    .describe(
      'created, waiting_for_resource, preparing, pending, running, success, failed, canceled, skipped, manual or scheduled',
    ),
  finished: z.boolean().describe('True once the status is final (success, failed, canceled, skipped)'),
  source: z.string().nullable().describe('What started it: push, api, trigger, schedule, ...'),
  url: z.string().describe('The pipeline page for people'),
  createdAt: z.string().describe('When it was created, ISO 8601'),
  updatedAt: z.string().nullable().describe('When it last changed, ISO 8601'),
});
export type Pipeline = z.output<typeof Pipeline>;

export const TriggerPipelineInput = z.strictObject({
  project: Project,
  ref: Branch.describe('The branch or tag to run, e.g. "main"'),
  variables: z
    .record(
      z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,254}$/, 'expected a CI variable name'),
      z.string().max(10_000),
    )
    .refine((vars) => Object.keys(vars).length <= 50, 'expected at most 50 variables')
    .optional()
    .describe('CI/CD variables for this run, name -> value, e.g. { "DEPLOY_ENV": "staging" }'),
});
export type TriggerPipelineInput = z.output<typeof TriggerPipelineInput>;

export const PipelineRef = z.strictObject({
  project: Project,
  pipelineId: z.int().min(1).max(Number.MAX_SAFE_INTEGER).describe('The pipeline id, e.g. 100'),
});
export type PipelineRef = z.output<typeof PipelineRef>;

// --- Repository files --------------------------------------------------------------------------------

// Leading slashes are ignored rather than refused, as for every repository path: the client strips them.
const FilePath = safePath('repository-path', { leadingSlashes: 'ignore' })
  .min(1)
  .max(1024)
  .describe('The file path in the repository, e.g. "docs/runbook.md"');

export const GetFileInput = z.strictObject({
  project: Project,
  path: FilePath,
  ref: Branch.optional().describe('The branch, tag or commit; default the project default branch "main"'),
});
export type GetFileInput = z.output<typeof GetFileInput>;

export const RepositoryFile = z.object({
  path: z.string().describe('The file path'),
  ref: z.string().describe('The ref it was read at'),
  encoding: z.enum(['utf-8', 'base64']).describe('utf-8: content is the text; base64: binary content'),
  content: z.string().describe('The content: text, or base64 for binary files'),
  size: z.number().describe('Size in bytes'),
  sha256: z.string().describe("SHA-256 of the content, GitLab's content_sha256"),
  lastCommitId: z.string().describe('The last commit that changed it; pass to put-file to update safely'),
});

export const PutFileInput = z.strictObject({
  project: Project,
  path: FilePath,
  branch: Branch.describe('The branch to commit to, e.g. "main"'),
  content: z.string().max(5_000_000).describe('The new content: text, or base64 with encoding base64'),
  encoding: z
    .enum(['text', 'utf-8', 'base64'])
    .default('text')
    .describe("How content is given, default text; utf-8 (get-file's answer for text) is the same as text"),
  commitMessage: z.string().trim().min(1).max(10_000).describe('The commit message'),
  lastCommitId: z
    .string()
    .regex(/^[0-9a-f]{7,64}$/, 'expected a commit id')
    .optional()
    .describe('Update only if the file last changed in this commit (else 409); creates when absent'),
});
export type PutFileInput = z.output<typeof PutFileInput>;

export const PutFileOutput = z.object({
  path: z.string().describe('The file path'),
  branch: z.string().describe('The branch committed to'),
  created: z.boolean().describe('True when the file was created, false when updated'),
});

export const ListFilesInput = z.strictObject({
  project: Project,
  path: FilePath.optional().describe('A directory to list, e.g. "docs"; default the root'),
  ref: Branch.optional().describe('The branch, tag or commit; default the project default branch'),
  recursive: z.boolean().default(false).describe('Include every subdirectory'),
  limit: Limit,
  cursor: Cursor,
});
export type ListFilesInput = z.output<typeof ListFilesInput>;

export const FileEntry = z.object({
  path: z.string().describe('The path'),
  name: z.string().describe('The last path segment'),
  type: z.enum(['blob', 'tree', 'commit']).describe('blob: a file; tree: a directory; commit: a submodule'),
});

export const FileListPage = z.object({
  entries: z.array(FileEntry).describe('One page, in path order (keyset pagination)'),
  nextCursor: z.string().optional().describe('Pass as cursor for the next page; absent on the last'),
});

// --- GitLab's answers --------------------------------------------------------------------------------

const UserAnswer = z.looseObject({ id: z.number(), username: z.string() });

/** `GET /projects/:id/issues/:iid` and the list and write answers. */
/** A time GitLab wrote in the instance's time zone (`...+01:00` where one is configured), answered in UTC. */
const UtcTime = z.string().transform(utcTimestamp);

export const IssueAnswer = z.looseObject({
  id: z.number(),
  iid: z.number(),
  title: z.string(),
  description: z.string().nullish(),
  state: z.enum(['opened', 'closed']),
  labels: z.array(z.string()).default([]),
  assignees: z.array(UserAnswer).default([]),
  issue_type: z.string().nullish(),
  web_url: z.string(),
  created_at: UtcTime,
  updated_at: UtcTime,
});
export type IssueAnswer = z.output<typeof IssueAnswer>;

export const NoteAnswer = z.looseObject({
  id: z.number(),
  body: z.string(),
  author: UserAnswer.nullish(),
  created_at: UtcTime,
});

export const UsersAnswer = z.array(UserAnswer);
export const CurrentUserAnswer = UserAnswer;

export const MergeRequestAnswer = z.looseObject({
  id: z.number(),
  iid: z.number(),
  title: z.string(),
  description: z.string().nullish(),
  state: z.string(),
  source_branch: z.string(),
  target_branch: z.string(),
  author: UserAnswer.nullish(),
  web_url: z.string(),
  created_at: UtcTime,
  updated_at: UtcTime,
});
export type MergeRequestAnswer = z.output<typeof MergeRequestAnswer>;

export const PipelineAnswer = z.looseObject({
  id: z.number(),
  iid: z.number().nullish(),
  ref: z.string(),
  sha: z.string(),
  status: z.string(),
  source: z.string().nullish(),
  web_url: z.string(),
  created_at: UtcTime,
  updated_at: UtcTime.nullish(),
});
export type PipelineAnswer = z.output<typeof PipelineAnswer>;

export const FileAnswer = z.looseObject({
  file_path: z.string(),
  size: z.number(),
  encoding: z.literal('base64'),
  content: z.string(),
  content_sha256: z.string(),
  ref: z.string(),
  last_commit_id: z.string(),
});

export const FileWriteAnswer = z.looseObject({ file_path: z.string(), branch: z.string() });

export const TreeAnswer = z.array(
  z.looseObject({ path: z.string(), name: z.string(), type: z.enum(['blob', 'tree', 'commit']) }),
);
