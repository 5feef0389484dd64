/**
 * The GitHub connector's operation schemas: the source control models from `shared/models`, plus the
 * connector's own `add-labels` and `sync-issues` inputs and outputs.
 */
import * as z from 'zod';
import { RepositoryName, RepositoryOwner, RepositoryRef } from '#shared/models/source-control.ts';

export {
  CommentOnIssueInput,
  CreateIssueInput,
  GetFileInput,
  Issue,
  IssueComment,
  IssuePage,
  ListIssuesInput,
  RepositoryFile,
} from '#shared/models/source-control.ts';

/** Input of `sync-issues`; the schedule passes the repository, or the config names a default one. */
export const SyncIssuesInput = z.strictObject({
  owner: RepositoryOwner.optional().describe('Repository owner; default GITHUB_SYNC_OWNER'),
  repo: RepositoryName.optional().describe('Repository name; default GITHUB_SYNC_REPO'),
  since: z.iso
    .datetime({ offset: true })
    .optional()
    .describe('Start from this time instead of the checkpoint (catching up or replaying), ISO 8601'),
  includePullRequests: z.boolean().default(false).describe('Hand on pull requests too; default false'),
});
export type SyncIssuesInput = z.input<typeof SyncIssuesInput>;

/** Output of `sync-issues`. */
export const SyncIssuesOutput = z.object({
  repository: z.string().describe('owner/repo that was synced'),
  since: z.string().describe('The time the run listed from, ISO 8601'),
  pages: z.number().int().nonnegative().describe('Pages read from GitHub'),
  handedOn: z.number().int().nonnegative().describe('Issues handed on to the events sink'),
  skipped: z.number().int().nonnegative().describe('Issues left out as already handed on'),
  sink: z.string().describe('Where the issues went: sqs, step-functions, both, or log'),
  checkpoint: z.string().describe('The checkpoint after the run, ISO 8601'),
  checkpointOutcome: z
    .enum(['advanced', 'unchanged', 'superseded'])
    .describe('advanced; unchanged (nothing newer); superseded (an overlapping run moved it further)'),
});
export type SyncIssuesOutput = z.infer<typeof SyncIssuesOutput>;

/** Input of `add-labels`: names added to what the issue has (GitHub's limit is 50 characters a name). */
export const AddLabelsInput = RepositoryRef.extend({
  issueNumber: z
    .number()
    .int()
    .positive()
    .describe('The number of the issue or pull request to label, e.g. 7'),
  labels: z
    .array(z.string().min(1).max(50))
    .min(1)
    .max(100)
    .describe('Label names to add, e.g. ["bug"]; one the repository lacks is created by GitHub'),
});
export type AddLabelsInput = z.infer<typeof AddLabelsInput>;

/** Output of `add-labels`. */
export const AddLabelsOutput = z.object({
  issueNumber: z.number().int().positive().describe('The issue that was labelled'),
  labels: z.array(z.string()).describe('Every label the issue has now, the added ones included'),
});
export type AddLabelsOutput = z.infer<typeof AddLabelsOutput>;
